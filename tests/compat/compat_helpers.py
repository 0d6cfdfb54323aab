"""Helpers shared by the client compatibility tests (tests/compat); conftest.py holds the
fixtures.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable
from typing import Any

TEST_TIMEOUT = float(os.environ.get("COMPAT_TEST_TIMEOUT", "30"))

# Kafka protocol error codes used in assertions (the same numbers every client exposes).
UNKNOWN_TOPIC_OR_PARTITION = 3
MESSAGE_TOO_LARGE = 10
INVALID_TOPIC_EXCEPTION = 17
NOT_ENOUGH_REPLICAS = 19
TOPIC_ALREADY_EXISTS = 36
INVALID_PARTITIONS = 37
INVALID_REPLICATION_FACTOR = 38
INVALID_CONFIG = 40
OFFSET_OUT_OF_RANGE = 1

# The broker's default topic configs (Kafka's defaults), as DescribeConfigs reports them.
TOPIC_DEFAULTS = {
    "cleanup.policy": "delete",
    "compression.type": "producer",
    "max.message.bytes": "1048588",
    "message.timestamp.type": "CreateTime",
    "min.insync.replicas": "1",
    "retention.bytes": "-1",
    "retention.ms": "604800000",
    "segment.bytes": "1073741824",
}

# Topic config for records of 1 MiB and more (the default max.message.bytes is 1048588, which a
# 1 MiB value plus record and batch overhead exceeds).
BIG_TOPIC_CONFIG = {"max.message.bytes": "2000000"}
MIB = 1024 * 1024


def topic_name(prefix: str = "compat") -> str:
    """A fresh, valid topic name."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def now_ms() -> int:
    return int(time.time() * 1000)


def wait_for(predicate: Callable[[], Any], timeout: float = 10.0, interval: float = 0.05,
             what: str = "condition") -> Any:
    """Polls until predicate() is truthy; returns its value or fails after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def create_topic(broker: Any, name: str, partitions: int = 1,
                 configs: dict[str, str] | None = None, timeout: float = 10.0) -> str:
    """Creates a topic through confluent-kafka's AdminClient (client-neutral test setup) and
    waits until its metadata shows every partition with a leader."""
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": broker.bootstrap_servers})
    futures = admin.create_topics(
        [NewTopic(name, num_partitions=partitions, replication_factor=1, config=configs or {})],
        request_timeout=timeout,
    )
    futures[name].result(timeout=timeout)

    def ready() -> bool:
        md = admin.list_topics(topic=name, timeout=timeout)
        t = md.topics.get(name)
        return bool(t and t.error is None and len(t.partitions) == partitions
                    and all(p.leader >= 0 for p in t.partitions.values()))

    wait_for(ready, timeout=timeout, what=f"metadata of topic {name}")
    return name


def stored_batches(broker: Any, topic: str, partition: int = 0, min_records: int = 0,
                   timeout: float = 5.0) -> list[dict[str, Any]]:
    """The record batches of a partition as the broker stored them, read from its segment files
    (docs/log_format.md: a .log file is the producer's batches byte for byte). Waits until at
    least `min_records` records are there. Lets tests check what a client really sent: the
    codec of each batch, producer ids and sequence numbers."""
    from pathlib import Path

    from pykafkacore import decode_batches

    directory = Path(broker.data_dir) / f"{topic}-{partition}"
    last_error: list[str] = []

    def read() -> list[dict[str, Any]] | None:
        data = b"".join(p.read_bytes() for p in sorted(directory.glob("*.log")))
        try:
            batches = decode_batches(data)
        except ValueError as e:  # a batch still being written
            last_error[:] = [str(e)]
            return None
        if sum(b["record_count"] for b in batches) >= min_records:
            return batches
        return None

    return wait_for(read, timeout=timeout,
                    what=f"{min_records} records in {directory} {last_error}")


def check_idempotent_batches(batches: list[dict[str, Any]]) -> None:
    """Every batch carries one producer id (>= 0) and epoch, and base sequences continue exactly
    where the previous batch ended."""
    assert batches, "no batches"
    ids = {(b["producer_id"], b["producer_epoch"]) for b in batches}
    assert len(ids) == 1, ids
    pid, epoch = ids.pop()
    assert pid >= 0 and epoch >= 0, (pid, epoch)
    expected_sequence = 0
    for b in batches:
        assert b["base_sequence"] == expected_sequence, (b["base_offset"], b["base_sequence"])
        expected_sequence += b["record_count"]
