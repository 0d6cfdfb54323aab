"""pykafkacore: a Kafka-compatible broker cluster as a library.

The native core lives in the private module ``pykafkacore._core``; this package re-exports the
parts that form the public API.
"""

from __future__ import annotations

from ._core import build_batch, crc32c, crc32c_hardware, decode_batches

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "build_batch",
    "crc32c",
    "crc32c_hardware",
    "decode_batches",
]
