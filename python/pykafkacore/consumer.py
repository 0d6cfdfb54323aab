"""pykafkacore.Consumer: the native consumer (C++ core) with a Pythonic surface."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Literal, overload

from . import _core
from ._config import kafka_config
from .errors import KafkaError, error_for
from .records import OffsetAndMetadata, Record, TopicPartition
from .serde import Deserializer, deserializer

PartitionsCallback = Callable[[list[TopicPartition]], None]
CommitCallback = Callable[["dict[TopicPartition, int | OffsetAndMetadata] | None",
                           "KafkaError | None"], None]
TopicPartitionLike = TopicPartition | tuple[str, int]


def _tp(tp: TopicPartitionLike) -> tuple[str, int]:
    topic, partition = tp
    return (topic, int(partition))


def _tps(tps: Iterable[TopicPartitionLike]) -> list[tuple[str, int]]:
    return [_tp(tp) for tp in tps]


def _wrap(callback: PartitionsCallback | None) -> Callable[[list[tuple[str, int]]], None] | None:
    if callback is None:
        return None

    def call(partitions: list[tuple[str, int]]) -> None:
        callback([TopicPartition(t, p) for t, p in partitions])

    return call


class Consumer:
    """Reads records from Kafka (pykafkacore or Apache Kafka alike), in a consumer group or from
    a manual assignment.

    ``Consumer(*topics, bootstrap_servers=..., group_id=None, key_deserializer=None,
    value_deserializer=None, on_assign=None, on_revoke=None, on_lost=None, config=None,
    **kafka_configs)``: topics given here are subscribed at once (in the group ``group_id``).
    ``bootstrap_servers`` is a string, a list or a ``Cluster``; Kafka configs come as a dict or
    keywords with dots spelled as underscores (``auto_offset_reset="earliest"``,
    ``enable_auto_commit=False``). ``consumer_timeout_ms`` (as kafka-python) ends iteration after
    that long without a record.

    Deserializers (``"str"``, ``"json"``, ``"msgpack"``, ``"bytes"`` or a callable) apply to keys
    and values that are not None. Rebalance callbacks (``on_assign``, ``on_revoke``,
    ``on_lost``) get a list of TopicPartition and run on the thread calling ``poll()`` (or
    ``commit()``/``close()``); an exception they raise leaves that call. Nothing runs on a
    background thread.

    One thread at a time uses a consumer; ``close()`` may come from another thread to stop a
    blocked ``poll()`` or iteration.
    """

    def __init__(self, *topics: str, bootstrap_servers: Any = None, group_id: str | None = None,
                 key_deserializer: str | Deserializer | None = None,
                 value_deserializer: str | Deserializer | None = None,
                 on_assign: PartitionsCallback | None = None,
                 on_revoke: PartitionsCallback | None = None,
                 on_lost: PartitionsCallback | None = None,
                 config: dict[str, Any] | None = None, **kafka_configs: Any) -> None:
        timeout_ms = kafka_configs.pop("consumer_timeout_ms", None)
        self._iter_timeout: float | None = None if timeout_ms is None else float(timeout_ms) / 1000
        if group_id is not None:
            kafka_configs["group_id"] = group_id
        self._key_de = deserializer(key_deserializer)
        self._value_de = deserializer(value_deserializer)
        self._listener = self._listener_of(on_assign, on_revoke, on_lost)
        self._closed = True  # until the native consumer exists (so __del__/close are safe)
        self._native = _core.Consumer(kafka_config(bootstrap_servers, config, kafka_configs))
        # Records are built natively, deserializers applied (python/bindings/record_factory.h).
        self._native.set_record_factory(Record, self._key_de, self._value_de)
        self._closed = False
        self._buffer: deque[Record] = deque()  # fetched, not yet returned (max_records)
        self._commit_callbacks: dict[int, tuple[CommitCallback | None, Any]] = {}
        if topics:
            self.subscribe(list(topics))

    # ---- subscription and assignment

    def subscribe(self, topics: Iterable[str] | str | None = None, *, pattern: str | None = None,
                  on_assign: PartitionsCallback | None = None,
                  on_revoke: PartitionsCallback | None = None,
                  on_lost: PartitionsCallback | None = None) -> None:
        """Joins the group (``group_id`` needed) for ``topics`` or every topic whose whole name
        matches the regular expression ``pattern``; replaces an earlier subscription. Callbacks
        given here replace those given to the constructor."""
        if (topics is None) == (pattern is None):
            raise ValueError("subscribe() takes topics or pattern=, not both")
        listener = self._listener
        if on_assign or on_revoke or on_lost:
            listener = self._listener = self._listener_of(on_assign, on_revoke, on_lost)
        self._buffer.clear()
        if pattern is not None:
            self._native.subscribe_pattern(pattern, listener)
        else:
            names = [topics] if isinstance(topics, str) else list(topics or [])
            self._native.subscribe(names, listener)

    def unsubscribe(self) -> None:
        """Revokes the assignment (callbacks run), leaves the group, forgets the subscription."""
        self._buffer.clear()
        self._native.unsubscribe()

    def subscription(self) -> set[str]:
        """The subscribed topics (for a pattern: the topics it matches now)."""
        return set(self._native.subscription())

    def assign(self, partitions: Iterable[TopicPartitionLike]) -> None:
        """Reads exactly these partitions, outside group membership; positions start at the
        committed offset (with a group_id), else per ``auto.offset.reset``."""
        self._buffer.clear()
        self._native.assign(_tps(partitions))

    def assignment(self) -> set[TopicPartition]:
        """The partitions this consumer reads now (from the group, or from ``assign()``)."""
        return {TopicPartition(t, p) for t, p in self._native.assignment()}

    # ---- reading

    def poll(self, timeout: float | None = 1.0, max_records: int | None = None) -> list[Record]:
        """Records fetched for the assigned partitions (at most ``max.poll.records``, and at
        most ``max_records``), waiting up to ``timeout`` seconds (None: until some arrive) for
        the first. Completes rebalances and runs commit callbacks on this thread."""
        if not self._buffer:
            records: list[Record] = self._native.poll(1e9 if timeout is None else max(0.0, timeout))
            self._dispatch_commits()
            if max_records is None or len(records) <= max_records:
                return records
            self._buffer.extend(records)
        elif max_records is None:
            records = list(self._buffer)
            self._buffer.clear()
            return records
        n = min(max_records, len(self._buffer))
        return [self._buffer.popleft() for _ in range(n)]

    def __iter__(self) -> Iterator[Record]:
        """Records one by one, until ``close()`` (or ``consumer_timeout_ms`` without any).
        Records fetched but not yet yielded stay with the consumer when the loop breaks: the
        next ``poll()`` or iteration returns them, and ``position()``/``commit()`` count them
        as not consumed."""
        last = time.monotonic()
        wait = 0.5 if self._iter_timeout is None else min(0.5, max(0.0, self._iter_timeout))
        while not self._closed:
            if not self._buffer:
                try:
                    raw = self._native.poll(wait)
                except KafkaError:
                    if self._closed:  # closed from another thread
                        return
                    raise
                self._dispatch_commits()
                if not raw:
                    if (self._iter_timeout is not None
                            and time.monotonic() - last >= self._iter_timeout):
                        return
                    continue
                self._buffer.extend(raw)
            while self._buffer:
                yield self._buffer.popleft()
            last = time.monotonic()

    # ---- positions

    def seek(self, partition: TopicPartitionLike, offset: int) -> None:
        """The next offset ``poll()`` returns for an assigned partition."""
        tp = _tp(partition)
        self._drop_buffered({tp})
        self._native.seek(tp, offset)

    def seek_to_beginning(self, *partitions: TopicPartitionLike) -> None:
        """These partitions (none: every assigned one) to their first offset."""
        tps = _tps(partitions)
        self._drop_buffered(set(tps) if tps else None)
        self._native.seek_to_beginning(tps)

    def seek_to_end(self, *partitions: TopicPartitionLike) -> None:
        """These partitions (none: every assigned one) to their end."""
        tps = _tps(partitions)
        self._drop_buffered(set(tps) if tps else None)
        self._native.seek_to_end(tps)

    def position(self, partition: TopicPartitionLike, timeout: float = 60.0) -> int:
        """The offset of the next record ``poll()`` returns for this partition."""
        tp = _tp(partition)
        for record in self._buffer:
            if (record.topic, record.partition) == tp:
                return record.offset
        return self._native.position(tp, timeout)

    @overload
    def committed(self, partitions: Iterable[TopicPartitionLike] | TopicPartitionLike,
                  timeout: float = ..., *,
                  with_metadata: Literal[False] = ...) -> dict[TopicPartition, int | None]: ...

    @overload
    def committed(self, partitions: Iterable[TopicPartitionLike] | TopicPartitionLike,
                  timeout: float = ..., *, with_metadata: Literal[True]
                  ) -> dict[TopicPartition, OffsetAndMetadata | None]: ...

    def committed(self, partitions: Iterable[TopicPartitionLike] | TopicPartitionLike,
                  timeout: float = 60.0, *, with_metadata: bool = False
                  ) -> dict[TopicPartition, int | None] | dict[TopicPartition,
                                                                OffsetAndMetadata | None]:
        """The group's committed offsets (None: nothing committed). With
        ``with_metadata=True`` the values are ``OffsetAndMetadata`` (offset, the metadata
        string committed with it, leader epoch)."""
        tps = [_tp(partitions)] if _is_tp(partitions) else _tps(partitions)  # type: ignore[arg-type]
        answer = self._native.committed(tps, timeout)
        if with_metadata:
            return {TopicPartition(*tp): None if om is None else OffsetAndMetadata(*om)
                    for tp, om in answer.items()}
        return {TopicPartition(*tp): None if om is None else om[0] for tp, om in answer.items()}

    def commit(self, offsets: Mapping[TopicPartitionLike, int | OffsetAndMetadata] | None = None,
               *, asynchronous: bool = False, callback: CommitCallback | None = None,
               timeout: float = 60.0) -> None:
        """Commits ``offsets`` (the next offset to read per partition, or an
        ``OffsetAndMetadata`` carrying a metadata string and leader epoch too), or the
        positions of every assigned partition. Synchronous by default (raises KafkaError on
        failure); ``asynchronous=True`` returns at once and ``callback(offsets, error)`` runs in
        a later ``poll()``/``commit()``/``close()`` on this thread."""
        native_offsets: dict[tuple[str, int], int | tuple[int, str, int | None]] | None = None
        if offsets is not None:
            native_offsets = {_tp(tp): _native_offset(o) for tp, o in offsets.items()}
        elif self._buffer:  # records held back by max_records are not consumed yet
            native_offsets = {tp: self.position(tp, timeout) for tp in
                              self._native.assignment()}
        token = self._native.commit(native_offsets, asynchronous, timeout)
        if token is not None:
            user_offsets = None if offsets is None else {
                TopicPartition(*_tp(tp)): o if isinstance(o, OffsetAndMetadata) else int(o)
                for tp, o in offsets.items()}
            self._commit_callbacks[token] = (callback, user_offsets)
        self._dispatch_commits()

    def current_lag(self, partition: TopicPartitionLike) -> int | None:
        """Records between the position and the high watermark (the last stable offset with
        read_committed) as of the latest fetch answer, without asking the broker (Java's
        ``currentLag``); None when not known yet or the partition is not assigned."""
        return self._native.current_lag(_tp(partition))

    # ---- offsets lookups

    def offsets_for_times(self, timestamps: Mapping[TopicPartitionLike, int],
                          timeout: float = 60.0) -> dict[TopicPartition, tuple[int, int] | None]:
        """(offset, timestamp) of the first record at or after each timestamp (ms); None when
        there is none."""
        answer = self._native.offsets_for_times({_tp(tp): ts for tp, ts in timestamps.items()},
                                                timeout)
        return {TopicPartition(*tp): v for tp, v in answer.items()}

    def beginning_offsets(self, partitions: Iterable[TopicPartitionLike],
                          timeout: float = 60.0) -> dict[TopicPartition, int]:
        """The log start offsets, asked of each partition's leader."""
        answer = self._native.beginning_offsets(_tps(partitions), timeout)
        return {TopicPartition(*tp): o for tp, o in answer.items()}

    def end_offsets(self, partitions: Iterable[TopicPartitionLike],
                    timeout: float = 60.0) -> dict[TopicPartition, int]:
        """The high watermarks (last stable offsets with ``isolation.level=read_committed``)."""
        answer = self._native.end_offsets(_tps(partitions), timeout)
        return {TopicPartition(*tp): o for tp, o in answer.items()}

    # ---- flow control

    def pause(self, *partitions: TopicPartitionLike) -> None:
        """Stops fetching these partitions until ``resume()``; records already buffered for
        them are dropped and fetched again later."""
        tps = _tps(partitions)
        self._drop_buffered(set(tps))
        self._native.pause(tps)

    def resume(self, *partitions: TopicPartitionLike) -> None:
        """Fetches these paused partitions again, from their positions."""
        self._native.resume(_tps(partitions))

    def paused(self) -> set[TopicPartition]:
        """The partitions paused by ``pause()``."""
        return {TopicPartition(t, p) for t, p in self._native.paused()}

    # ---- metadata and membership

    def partitions_for(self, topic: str, timeout: float = 60.0) -> set[int]:
        """The partition numbers of ``topic``, from the cluster's metadata."""
        return set(self._native.partitions_for(topic, timeout))

    def topics(self, timeout: float = 60.0) -> set[str]:
        """Every topic name in the cluster's metadata."""
        return set(self._native.list_topics(timeout))

    @property
    def member_id(self) -> str:
        """The group member id ("" when not a member)."""
        return self._native.member_id

    @property
    def generation(self) -> int:
        """The group generation (-1 when not a member)."""
        return self._native.generation

    @property
    def group_id(self) -> str | None:
        """The ``group.id`` this consumer was made with (None without one)."""
        return self._native.group_id

    # ---- closing

    def close(self, timeout: float = 30.0) -> None:
        """Auto-commits (if enabled), revokes the assignment (callbacks run), leaves the group
        and stops, within ``timeout`` seconds. Idempotent; may come from another thread to stop
        a blocked ``poll()``."""
        if self._closed:
            return
        self._closed = True
        self._buffer.clear()
        try:
            self._native.close(max(0.0, timeout))
        finally:
            self._dispatch_commits()

    @property
    def closed(self) -> bool:
        """Whether ``close()`` has been called."""
        return self._closed

    def __enter__(self) -> Consumer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        if self._closed:
            return "<pykafkacore.Consumer closed>"
        group = self._native.group_id
        parts = [f"group={group!r}" if group else "no group"]
        subscription = self._native.subscription()
        if subscription:
            parts.append(f"subscription={sorted(subscription)}")
        parts.append(f"{len(self._native.assignment())} partitions assigned")
        return f"<pykafkacore.Consumer {' '.join(parts)}>"

    # ---- internals

    @staticmethod
    def _listener_of(on_assign: PartitionsCallback | None, on_revoke: PartitionsCallback | None,
                     on_lost: PartitionsCallback | None) -> tuple[Any, Any, Any] | None:
        if on_assign is None and on_revoke is None and on_lost is None:
            return None
        return (_wrap(on_revoke), _wrap(on_assign), _wrap(on_lost))

    def _drop_buffered(self, tps: set[tuple[str, int]] | None) -> None:
        if not self._buffer:
            return
        if tps is None:
            self._buffer.clear()
        else:
            self._buffer = deque(r for r in self._buffer if (r.topic, r.partition) not in tps)

    def _dispatch_commits(self) -> None:
        results = self._native.take_commit_results()
        for token, code, message in results:
            callback, offsets = self._commit_callbacks.pop(token, (None, None))
            if callback is not None:
                callback(offsets, error_for(code, message) if code else None)


def _native_offset(offset: int | OffsetAndMetadata) -> int | tuple[int, str, int | None]:
    if isinstance(offset, OffsetAndMetadata):
        return (int(offset.offset), str(offset.metadata), offset.leader_epoch)
    return int(offset)


def _is_tp(value: Any) -> bool:
    return (isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], str)
            and isinstance(value[1], int))
