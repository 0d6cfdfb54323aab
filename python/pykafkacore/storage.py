"""The storage engine, white-box: a data directory's partition logs, for tests and notebooks.

A broker owns its LogManager; use this directly only on a directory no running broker uses.

    >>> from pykafkacore import build_batch, decode_batches
    >>> from pykafkacore.storage import LogManager
    >>> with LogManager("/tmp/data") as logs:                       # doctest: +SKIP
    ...     log = logs.partition("orders", 0)
    ...     log.append(build_batch([(0, b"key", b"value", [])]))
    ...     decode_batches(log.read(0))
"""

from __future__ import annotations

from ._core import LogManager, PartitionLog

__all__ = ["LogManager", "PartitionLog"]
