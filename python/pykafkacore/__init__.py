"""pykafkacore: a Kafka-compatible broker cluster as a library.

The native core lives in the private module ``pykafkacore._core``; this package re-exports the
parts that form the public API.
"""

from __future__ import annotations

from . import errors
from ._core import build_batch, crc32c, crc32c_hardware, decode_batches
from .errors import KafkaError
from .producer import DeliveryFuture, Producer
from .records import RecordMetadata, TopicPartition

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "DeliveryFuture",
    "KafkaError",
    "Producer",
    "RecordMetadata",
    "TopicPartition",
    "errors",
    "build_batch",
    "crc32c",
    "crc32c_hardware",
    "decode_batches",
]
