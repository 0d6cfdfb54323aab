"""Record types shared by the Producer and Consumer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple


class TopicPartition(NamedTuple):
    """One partition of a topic; a plain ``(topic, partition)`` tuple is accepted wherever
    one is expected."""

    topic: str
    partition: int


class OffsetAndMetadata(NamedTuple):
    """A consumer group's committed position: the offset, the metadata string committed with
    it, and the leader epoch of the record before it (None if unknown)."""

    offset: int
    metadata: str = ""
    leader_epoch: int | None = None


@dataclass(frozen=True, slots=True)
class RecordMetadata:
    """Where a produced record landed. ``offset`` is -1 with acks=0 (the broker does not say)."""

    topic: str
    partition: int
    offset: int
    timestamp: int


@dataclass(slots=True)
class Record:
    """A consumed record. ``key``/``value`` are deserialized when the consumer has
    deserializers, else bytes (or None). ``headers`` is a tuple of ``(key, value)`` pairs, in
    the order they were sent (``()`` when there are none). ``timestamp_type`` is 0 for create
    time, 1 for the broker's log-append time."""

    topic: str
    partition: int
    offset: int
    timestamp: int
    key: Any
    value: Any
    headers: tuple[tuple[str, bytes | None], ...] = ()
    timestamp_type: int = 0
    leader_epoch: int = -1

    @property
    def topic_partition(self) -> TopicPartition:
        """The record's (topic, partition)."""
        return TopicPartition(self.topic, self.partition)
