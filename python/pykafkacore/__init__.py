"""pykafkacore: a Kafka-compatible broker cluster as a library.

The native core lives in the private module ``pykafkacore._core``; this package re-exports the
parts that form the public API.
"""

from __future__ import annotations

from ._core import build_batch, crc32c, crc32c_hardware, decode_batches, set_log_level
from . import errors
from .admin import (AdminClient, AlterConfigOp, ConfigEntry, ConfigResource, NewTopic,
                    OffsetAndMetadata)
from .consumer import Consumer
from .errors import KafkaError
from .producer import DeliveryFuture, Producer
from .cluster import BrokerHandle, Cluster, PartitionInfo, PartitionLag, TopicInfo
from .records import Record, RecordMetadata, TopicPartition
from .streams import JoinWindows, SessionWindows, StreamsApp, TimeWindows, Windowed

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "AdminClient",
    "AlterConfigOp",
    "BrokerHandle",
    "Cluster",
    "ConfigEntry",
    "ConfigResource",
    "Consumer",
    "DeliveryFuture",
    "JoinWindows",
    "KafkaError",
    "NewTopic",
    "OffsetAndMetadata",
    "PartitionInfo",
    "PartitionLag",
    "Producer",
    "Record",
    "RecordMetadata",
    "SessionWindows",
    "StreamsApp",
    "TimeWindows",
    "TopicInfo",
    "TopicPartition",
    "Windowed",
    "errors",
    "build_batch",
    "crc32c",
    "crc32c_hardware",
    "decode_batches",
    "set_log_level",
]
