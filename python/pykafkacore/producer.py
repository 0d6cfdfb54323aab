"""pykafkacore.Producer: the native producer (C++ core) with a Pythonic surface."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from . import _core
from ._config import kafka_config
from .errors import KafkaError, KafkaTimeoutError, error_for
from .records import RecordMetadata
from .serde import Serializer, serializer

# One per send(): a native type (see python/bindings/delivery_future.h) with done(),
# result(timeout), exception(timeout) and add_done_callback(fn).
DeliveryFuture = _core.DeliveryFuture


class DeliveryBatch:
    """The outcome of one ``send_many()``: one object for the whole batch, so sending many
    records creates no Python object per record. ``result(timeout)`` waits until every record
    is reported and returns their RecordMetadata (built on demand), or raises the first
    error; ``failed`` counts failures."""

    __slots__ = ("_producer", "_tracker")

    def __init__(self, producer: Producer, tracker: _core.BatchTracker) -> None:
        self._producer = producer
        self._tracker = tracker

    def __len__(self) -> int:
        """How many records the batch queued."""
        return self._tracker.queued

    def done(self) -> bool:
        """Whether every record of the batch has its delivery report."""
        return self._tracker.reported >= self._tracker.queued

    @property
    def failed(self) -> int:
        """How many records of the batch failed so far."""
        return self._tracker.failed

    def result(self, timeout: float | None = None) -> list[RecordMetadata]:
        """Waits up to ``timeout`` seconds (None: for ever) until every record is reported;
        returns their RecordMetadata in send order, or raises the first record's error."""
        if not self.done():
            self._producer._wait_until(self.done, timeout)
        error = self._tracker.first_error
        if error is not None:
            raise error_for(*error)
        topic = self._tracker.topic
        partitions, offsets, timestamps = self._tracker.results()
        return [RecordMetadata(topic, p, o, t) for p, o, t in zip(partitions, offsets, timestamps)]

    def __repr__(self) -> str:
        t = self._tracker
        return f"<DeliveryBatch {t.topic} {t.reported}/{t.queued} reported, {t.failed} failed>"


class Producer:
    """Sends records to Kafka (pykafkacore or Apache Kafka alike).

    ``Producer(bootstrap_servers, key_serializer=None, value_serializer=None, config=None,
    **kafka_configs)``: ``bootstrap_servers`` is a string, a list or a ``Cluster``; Kafka configs
    come as a dict or keywords with dots spelled as underscores (``linger_ms=5``,
    ``compression_type="zstd"``, ``acks="all"``). Idempotence is on by default.

    ``send()`` returns a DeliveryFuture; reports are served on the caller's thread by ``poll()``,
    ``flush()`` or ``future.result()`` — callbacks never run on a background thread.
    """

    def __init__(self, bootstrap_servers: Any = None, *, key_serializer: str | Serializer | None = None,
                 value_serializer: str | Serializer | None = None,
                 config: dict[str, Any] | None = None, **kafka_configs: Any) -> None:
        self._key_ser = serializer(key_serializer)
        self._value_ser = serializer(value_serializer)
        self._native = _core.Producer(kafka_config(bootstrap_servers, config, kafka_configs))
        self._closed = False
        if self._key_ser is None and self._value_ser is None and type(self).send is Producer.send:
            # Nothing to do in Python per record: the native send takes the same arguments.
            self.send = self._native.send  # type: ignore[method-assign]

    # ---- sending

    def send(self, topic: str, value: Any = None, key: Any = None,
             headers: Iterable[tuple[str, Any]] | dict[str, Any] | None = None,
             partition: int | None = None, timestamp: int | None = None) -> DeliveryFuture:
        """Queues one record. Raises at once for what can be known at once (too large, buffer
        full for max.block.ms, closed); everything else arrives through the future."""
        if self._value_ser is not None:
            value = self._value_ser(value)
        if self._key_ser is not None and key is not None:
            key = self._key_ser(key)
        return self._native.send(topic, value, key, headers, partition, timestamp)

    def send_many(self, topic: str, values: Sequence[Any], keys: Sequence[Any] | None = None,
                  partition: int | None = None, *,
                  headers: Sequence[Iterable[tuple[str, Any]] | dict[str, Any] | None] | None = None,
                  timestamps: Sequence[int | None] | None = None) -> DeliveryBatch:
        """Queues many records of one topic in one native call (the fast path); one
        DeliveryBatch reports them all. ``keys``, ``headers`` (each record's dict or pairs, or
        None) and ``timestamps`` (ms, or None for now), when given, have one entry per value."""
        if self._value_ser is not None:
            values = [self._value_ser(v) for v in values]
        elif not isinstance(values, list):
            values = list(values)
        if keys is not None and self._key_ser is not None:
            keys = [None if k is None else self._key_ser(k) for k in keys]
        return DeliveryBatch(self, self._native.send_many(topic, values, keys, partition,
                                                          headers, timestamps))

    # ---- reports

    def poll(self, timeout: float = 0.0) -> int:
        """Serves delivery reports, waiting up to ``timeout`` seconds for the first; returns how
        many records were reported."""
        return self._native.poll(timeout)

    def flush(self, timeout: float | None = None) -> None:
        """Sends everything now and waits until every record is reported. Raises
        KafkaTimeoutError if some are still outstanding after ``timeout`` seconds."""
        self._native.flush(_seconds(timeout))

    def __len__(self) -> int:
        """Records sent and not yet reported."""
        return self._native.outstanding

    def partitions_for(self, topic: str, timeout: float = 60.0) -> list[int]:
        """The partition numbers of ``topic``, from the cluster's metadata."""
        return self._native.partitions_for(topic, timeout)

    @property
    def producer_id(self) -> tuple[int, int]:
        """(producer id, epoch) of the idempotent producer; (-1, -1) before it has one."""
        return self._native.producer_id

    def close(self, timeout: float | None = None) -> None:
        """Flushes (up to ``timeout`` seconds), then fails whatever is left and stops."""
        if self._closed:
            return
        self._closed = True
        self._native.close(_seconds(timeout))

    def __del__(self) -> None:
        # Pending futures keep the native producer alive; closing it without waiting completes
        # them (as failed) and stops its thread, as dropping an unclosed producer always did.
        if not getattr(self, "_closed", True):
            self._native.close(0)

    def __enter__(self) -> Producer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"{len(self)} outstanding"
        return f"<pykafkacore.Producer {state}>"

    # ---- internals

    def _wait_until(self, done: Callable[[], bool], timeout: float | None) -> None:
        import time

        deadline = None if timeout is None else time.monotonic() + timeout
        while not done():
            left = 0.1 if deadline is None else min(0.1, deadline - time.monotonic())
            if left <= 0:
                raise KafkaTimeoutError("no delivery report within the timeout")
            self.poll(left)


def _seconds(timeout: float | None) -> float:
    return 1e9 if timeout is None else max(0.0, timeout)
