"""Record types shared by the Producer and Consumer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple


class TopicPartition(NamedTuple):
    topic: str
    partition: int


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
        return TopicPartition(self.topic, self.partition)
