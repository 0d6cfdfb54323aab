"""pykafkacore.streams: stream processing in the style of Kafka Streams, on the native engine.

::

    from pykafkacore import StreamsApp

    app = StreamsApp("wordcount", bootstrap_servers=cluster, default_key_serde="str")
    lines = app.stream("text", value_serde="str")
    counts = (lines.flat_map_values(lambda v: v.lower().split())
                   .group_by(lambda k, v: v)          # a new key: through a repartition topic
                   .count())                          # a table, backed by a changelog
    counts.to_stream().to("counts", value_serde="int64")
    app.run()                                         # until Ctrl-C

The topology runs in C++ (``cpp/src/streams``): one stream thread per app consuming the source
topics in the consumer group ``application_id``, one task per partition, in-memory state stores
restored from their changelog topics, at-least-once commits. Python functions given to the DSL
(``filter``, ``map``, ``reduce``...) and Python serdes are called on that thread with the GIL
held (taken once per batch of records), so keep them quick. Native serdes (``"bytes"``,
``"str"``, ``"int64"``, ``"double"``) and native aggregations (``count``, ``sum``, ``min``,
``max``) do not enter Python at all.

Keys and values reach Python as what the serdes give. ``None``, ``bytes``, ``str``, ``int`` (64
bits) and ``float`` travel natively between operators; any other object (``dict``, ``bool``,
``list``...) travels as itself. After a windowed aggregation a key is a
``Windowed(key, start, end)`` (milliseconds).

docs/streams.md describes the semantics (windows, grace, joins, internal topics).
"""

from __future__ import annotations

import atexit
import datetime
import inspect
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

from . import _core
from ._config import kafka_config
from .errors import KafkaError
from .serde import _DESERIALIZERS, _SERIALIZERS

__all__ = [
    "GroupedStream",
    "JoinWindows",
    "OutputRecord",
    "SessionWindowedStream",
    "SessionWindows",
    "Stream",
    "StreamsApp",
    "StreamsError",
    "Table",
    "TimeWindowedStream",
    "TimeWindows",
    "Windowed",
]

SerdeSpec = Any  # "str" | "json" | ... | (serialize, deserialize) | obj with serialize/deserialize
Duration = float | int | datetime.timedelta

_NATIVE_SERDES = {"bytes", "str", "string", "int64", "long", "double", "number"}
_PYTHON_SERDES = {"json", "msgpack"}


class Windowed(NamedTuple):
    """The key of a windowed aggregation's result: the grouping key and the window
    ``[start, end)`` in milliseconds since the epoch (session windows include ``end``)."""

    key: Any
    start: int
    end: int


_core._streams_set_windowed(Windowed)


@dataclass(slots=True)
class OutputRecord:
    """A record the app wrote to one of its output topics (what ``run(count=...)`` returns).
    ``key`` is a ``Windowed`` for the results of windowed aggregations."""

    topic: str
    key: Any
    value: Any
    timestamp: int
    headers: list[tuple[str, bytes | None]] = field(default_factory=list)


class StreamsError(KafkaError):
    """The app stopped on an error that was not a Python exception of a user function (a serde
    mismatch, a fatal client error...)."""


def _ms(duration: Duration, what: str) -> int:
    """Milliseconds from seconds (int or float) or a timedelta."""
    if isinstance(duration, datetime.timedelta):
        seconds = duration.total_seconds()
    elif isinstance(duration, (int, float)) and not isinstance(duration, bool):
        seconds = float(duration)
    else:
        raise TypeError(f"{what} must be seconds (a number) or a datetime.timedelta, "
                        f"not {type(duration).__name__}")
    if seconds < 0:
        raise ValueError(f"{what} must be >= 0")
    return round(seconds * 1000)


@dataclass(frozen=True)
class TimeWindows:
    """Fixed-size windows on event time: ``size`` and ``advance`` in seconds (or timedeltas).
    Tumbling (back to back) when ``advance`` is None, hopping (overlapping) otherwise. A record
    later than its window's end + ``grace`` (by stream time: the largest timestamp the task has
    seen) is dropped and counted in ``metrics()["dropped_by_reason"]["late"]``."""

    size: Duration
    advance: Duration | None = None
    grace: Duration = 0

    def _spec(self) -> tuple[int, int, int]:
        size = _ms(self.size, "size")
        advance = size if self.advance is None else _ms(self.advance, "advance")
        if size <= 0 or advance <= 0 or advance > size:
            raise ValueError("time windows need 0 < advance <= size")
        return size, advance, _ms(self.grace, "grace")


@dataclass(frozen=True)
class SessionWindows:
    """Per-key sessions of activity: a session ends after ``gap`` seconds without records for
    its key; a record that falls between two sessions merges them. ``grace`` as for
    TimeWindows."""

    gap: Duration
    grace: Duration = 0

    def _spec(self) -> tuple[int, int]:
        gap = _ms(self.gap, "gap")
        if gap <= 0:
            raise ValueError("session windows need gap > 0")
        return gap, _ms(self.grace, "grace")


@dataclass(frozen=True)
class JoinWindows:
    """Stream-stream joins: a left record at time t joins right records with timestamps in
    ``[t - before, t + after]`` (seconds or timedeltas; ``after`` defaults to ``before``).
    Left and outer joins emit unmatched records (with None) once the window closes, i.e. once
    stream time passes t + after + ``grace``."""

    before: Duration
    after: Duration | None = None
    grace: Duration = 0

    def _spec(self) -> tuple[int, int, int]:
        before = _ms(self.before, "before")
        after = before if self.after is None else _ms(self.after, "after")
        return before, after, _ms(self.grace, "grace")


def _joiner_takes_key(joiner: Callable[..., Any]) -> bool:
    """joiner(left, right), or joiner(key, left, right) when it takes three arguments."""
    try:
        params = inspect.signature(joiner).parameters.values()
    except (TypeError, ValueError):
        return False
    positional = [p for p in params
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
                  and p.default is p.empty]
    return len(positional) == 3


class Stream:
    """A record stream (Kafka Streams' KStream). Operations return new streams; nothing runs
    until the app starts. Functions take ``(key, value)`` unless said otherwise."""

    def __init__(self, app: StreamsApp, handle: int, key_serde: Any, value_serde: Any) -> None:
        self._app = app
        self._h = handle
        # What the engine uses for this stream's keys/values, None when unknown (after map and
        # friends): then the app's defaults apply where a serde is needed.
        self._key_serde = key_serde
        self._value_serde = value_serde

    def _new(self, handle: int, key_changes: bool = False, value_changes: bool = False) -> Stream:
        return Stream(self._app, handle, None if key_changes else self._key_serde,
                      None if value_changes else self._value_serde)

    @property
    def _b(self) -> Any:
        return self._app._builder

    @property
    def node(self) -> str:
        """The name of the topology node that produces this stream (see ``app.describe()``)."""
        node: str = self._b.stream_node(self._h)
        return node

    # ---- stateless

    def filter(self, predicate: Callable[[Any, Any], bool], *, name: str | None = None) -> Stream:
        """The records for which ``predicate(key, value)`` is true."""
        return self._new(self._b.filter(self._h, predicate, False, name or ""))

    def filter_not(self, predicate: Callable[[Any, Any], bool], *,
                   name: str | None = None) -> Stream:
        """The records for which ``predicate(key, value)`` is false."""
        return self._new(self._b.filter(self._h, predicate, True, name or ""))

    def map(self, mapper: Callable[[Any, Any], tuple[Any, Any]], *,
            name: str | None = None) -> Stream:
        """``mapper(key, value) -> (new_key, new_value)``. A new key: grouping or joining
        afterwards goes through a repartition topic."""
        return self._new(self._b.map(self._h, mapper, name or ""), True, True)

    def map_values(self, mapper: Callable[[Any], Any], *, name: str | None = None) -> Stream:
        """``mapper(value) -> new_value``; the key stays (no repartition needed)."""
        return self._new(self._b.map_values(self._h, mapper, name or ""), value_changes=True)

    def flat_map(self, mapper: Callable[[Any, Any], Iterable[tuple[Any, Any]]], *,
                 name: str | None = None) -> Stream:
        """``mapper(key, value) -> iterable of (key, value)``: zero or more records each."""
        return self._new(self._b.flat_map(self._h, mapper, name or ""), True, True)

    def flat_map_values(self, mapper: Callable[[Any], Iterable[Any]], *,
                        name: str | None = None) -> Stream:
        """``mapper(value) -> iterable of values``, each a record with the same key."""
        return self._new(self._b.flat_map_values(self._h, mapper, name or ""),
                         value_changes=True)

    def select_key(self, selector: Callable[[Any, Any], Any], *,
                   name: str | None = None) -> Stream:
        """A new key ``selector(key, value)``, the value kept."""
        return self._new(self._b.select_key(self._h, selector, name or ""), key_changes=True)

    def peek(self, action: Callable[[Any, Any], None], *, name: str | None = None) -> Stream:
        """Calls ``action(key, value)`` for each record and passes it on."""
        return self._new(self._b.peek(self._h, action, name or ""))

    def foreach(self, action: Callable[[Any, Any], None], *, name: str | None = None) -> None:
        """Calls ``action(key, value)`` for each record (a terminal operation)."""
        self._b.foreach(self._h, action, name or "")

    def branch(self, *predicates: Callable[[Any, Any], bool], default: bool = False,
               name: str | None = None) -> list[Stream]:
        """One stream per predicate: a record goes to the first whose ``predicate(key, value)``
        holds, else to a last, extra stream when ``default`` (else it is dropped)."""
        if not predicates:
            raise ValueError("branch needs at least one predicate")
        handles = self._b.branch(self._h, list(predicates), default, name or "")
        return [self._new(h) for h in handles]

    split = branch

    def merge(self, other: Stream, *, name: str | None = None) -> Stream:
        """The records of both streams."""
        self._app._check_same(other)
        merged = Stream(self._app, self._b.merge(self._h, other._h, name or ""),
                        self._key_serde if self._key_serde is other._key_serde else None,
                        self._value_serde if self._value_serde is other._value_serde else None)
        return merged

    def with_timestamps(self, extractor: Callable[[Any, Any, int], int], *,
                        name: str | None = None) -> Stream:
        """Sets each record's timestamp (event time, ms) to ``extractor(key, value,
        timestamp)``; windows downstream use it."""
        return self._new(self._b.with_timestamps(self._h, extractor, name or ""))

    def to(self, topic: str, *, key_serde: SerdeSpec = None, value_serde: SerdeSpec = None,
           name: str | None = None) -> None:
        """Writes the stream to ``topic`` (which must exist), with the stream's serdes unless
        given. Windowed keys are written in Kafka Streams' windowed-key layout."""
        app = self._app
        self._b.to(self._h, topic, app._serde(key_serde) or self._key_serde,
                   app._serde(value_serde) or self._value_serde, name or "")

    def repartition(self, *, key_serde: SerdeSpec = None, value_serde: SerdeSpec = None,
                    name: str | None = None) -> Stream:
        """Through the internal topic ``<application_id>-<name>-repartition``, partitioned by
        the current key."""
        app = self._app
        ks = app._serde(key_serde) or self._key_serde or app._default_key
        vs = app._serde(value_serde) or self._value_serde or app._default_value
        return Stream(app, self._b.repartition(self._h, ks, vs, name or ""), ks, vs)

    # ---- grouping

    def group_by(self, selector: Callable[[Any, Any], Any], *, key_serde: SerdeSpec = None,
                 value_serde: SerdeSpec = None, name: str | None = None) -> GroupedStream:
        """Groups by a new key ``selector(key, value)`` (through a repartition topic, written
        with ``key_serde``/``value_serde``: the app's default key serde and the stream's value
        serde unless given)."""
        app = self._app
        ks = app._serde(key_serde) or app._default_key
        vs = app._serde(value_serde) or self._value_serde or app._default_value
        h = self._b.group_by(self._h, selector, ks, vs, name or "")
        return GroupedStream(app, h, ks, vs)

    def group_by_key(self, *, key_serde: SerdeSpec = None, value_serde: SerdeSpec = None,
                     name: str | None = None) -> GroupedStream:
        """Groups by the current key (repartitioning first only if the key changed since the
        source)."""
        app = self._app
        ks = app._serde(key_serde) or self._key_serde or app._default_key
        vs = app._serde(value_serde) or self._value_serde or app._default_value
        h = self._b.group_by_key(self._h, ks, vs, name or "")
        return GroupedStream(app, h, ks, vs)

    # ---- joins

    def join(self, other: Stream | Table, joiner: Callable[..., Any], *,
             windows: JoinWindows | None = None,
             how: Literal["inner", "left", "outer"] = "inner",
             name: str | None = None) -> Stream:
        """Joins on the key. ``joiner(left_value, right_value)`` (or ``joiner(key, left,
        right)``) makes the output value.

        With a ``Table`` (stream-table join): each stream record looks the table up; ``how``
        is ``"inner"`` (records without a match are dropped) or ``"left"`` (joined with None).
        Table updates produce nothing. Both must be partitioned alike (same partition count,
        same key serde).

        With a ``Stream`` (``windows=JoinWindows(...)`` required): records of both sides whose
        timestamps are within the window; ``how`` may also be ``"outer"``.
        """
        app = self._app
        app._check_same(other)
        with_key = _joiner_takes_key(joiner)
        if isinstance(other, Table):
            if windows is not None:
                raise TypeError("a stream-table join takes no windows")
            if how not in ("inner", "left"):
                raise ValueError("a stream-table join is 'inner' or 'left'")
            ks = self._key_serde or other._key_serde or app._default_key
            vs = self._value_serde or app._default_value
            h = self._b.join_table(self._h, other._h, joiner, with_key, how, ks, vs, name or "")
            return Stream(app, h, ks, None)
        if isinstance(other, Stream):
            if not isinstance(windows, JoinWindows):
                raise TypeError("a stream-stream join needs windows=JoinWindows(...)")
            before, after, grace = windows._spec()
            ks = self._key_serde or other._key_serde or app._default_key
            h = self._b.join_stream(self._h, other._h, joiner, with_key, before, after, grace, how,
                                    ks, self._value_serde or app._default_value,
                                    other._value_serde or app._default_value, name or "")
            return Stream(app, h, ks, None)
        raise TypeError(f"cannot join a stream with {type(other).__name__}")

    def __repr__(self) -> str:
        return f"<Stream {self.node}>"


class _Aggregations:
    """count/sum/min/max/reduce/aggregate, shared by the grouped and windowed streams."""

    _kind = "grouped"
    _windowed = False

    def __init__(self, app: StreamsApp, handle: int, key_serde: Any, value_serde: Any) -> None:
        self._app = app
        self._h = handle
        self._key_serde = key_serde  # of the grouping key: the store's key serde
        self._value_serde = value_serde  # of the values being aggregated

    def _table(self, op: str, name: str | None, store_serde: Any, result_serde: Any,
               aggregate_serde: Any = None, **functions: Any) -> Table:
        b = self._app._builder
        h = b.aggregate(self._kind, self._h, op, name or "", self._key_serde, aggregate_serde,
                        **functions)
        return Table(self._app, h, self._key_serde, result_serde, store_serde=store_serde,
                     windowed=self._windowed)

    def count(self, name: str | None = None) -> Table:
        """Records per key (null values are not counted). ``name`` names the store (and its
        changelog ``<application_id>-<name>-changelog``)."""
        int64 = self._app._serde("int64")
        return self._table("count", name, int64, int64)

    def sum(self, name: str | None = None) -> Table:
        """Sum of the (int or float) values per key, natively."""
        return self._table("sum", name, self._app._serde("number"), self._value_serde)

    def min(self, name: str | None = None) -> Table:
        """Smallest (int or float) value per key, natively."""
        return self._table("min", name, self._app._serde("number"), self._value_serde)

    def max(self, name: str | None = None) -> Table:
        """Largest (int or float) value per key, natively."""
        return self._table("max", name, self._app._serde("number"), self._value_serde)

    def reduce(self, reducer: Callable[[Any, Any], Any], name: str | None = None, *,
               serde: SerdeSpec = None) -> Table:
        """``reducer(aggregate, value) -> aggregate``; the first value of a key is its first
        aggregate. Kept with ``serde`` (default: the stream's value serde)."""
        s = self._app._serde(serde) or self._value_serde or self._app._default_value
        return self._table("reduce", name, s, s, s, reducer=reducer)


class GroupedStream(_Aggregations):
    """A stream grouped by key (Kafka Streams' KGroupedStream): aggregate it into a Table, or
    window it first with ``windowed_by``."""

    def aggregate(self, initializer: Callable[[], Any], adder: Callable[[Any, Any, Any], Any],
                  name: str | None = None, *, serde: SerdeSpec = None) -> Table:
        """``initializer() -> aggregate`` for a new key, then ``adder(key, value, aggregate) ->
        aggregate`` per record. Kept with ``serde`` (default: the app's default value serde,
        as the aggregate's type usually differs from the values')."""
        s = self._app._serde(serde) or self._app._default_value
        return self._table("aggregate", name, s, s, s, initializer=initializer, adder=adder)

    def windowed_by(self, windows: TimeWindows | SessionWindows,
                    emit: Literal["update", "final"] = "update") -> Any:
        """Aggregations per key and window. ``emit="update"`` sends every change of a window's
        result downstream; ``emit="final"`` one result per window, once stream time passes the
        window's end + grace."""
        if emit not in ("update", "final"):
            raise ValueError("emit must be 'update' or 'final'")
        b = self._app._builder
        if isinstance(windows, TimeWindows):
            size, advance, grace = windows._spec()
            h = b.windowed_by_time(self._h, size, advance, grace, emit == "final")
            return TimeWindowedStream(self._app, h, self._key_serde, self._value_serde)
        if isinstance(windows, SessionWindows):
            gap, grace = windows._spec()
            h = b.windowed_by_session(self._h, gap, grace, emit == "final")
            return SessionWindowedStream(self._app, h, self._key_serde, self._value_serde)
        raise TypeError("windowed_by takes TimeWindows or SessionWindows")


class TimeWindowedStream(_Aggregations):
    """A grouped stream in time windows: the aggregations give a table keyed by
    ``Windowed(key, start, end)``."""

    _kind = "time"
    _windowed = True

    def aggregate(self, initializer: Callable[[], Any], adder: Callable[[Any, Any, Any], Any],
                  name: str | None = None, *, serde: SerdeSpec = None) -> Table:
        """As GroupedStream.aggregate, per window."""
        s = self._app._serde(serde) or self._app._default_value
        return self._table("aggregate", name, s, s, s, initializer=initializer, adder=adder)


class SessionWindowedStream(_Aggregations):
    """A grouped stream in session windows: the aggregations give a table keyed by
    ``Windowed(key, start, end)``. When sessions merge, the replaced sessions' results are
    deleted downstream (a None value) and the merged one follows (with ``emit="update"``)."""

    _kind = "session"
    _windowed = True

    def aggregate(self, initializer: Callable[[], Any], adder: Callable[[Any, Any, Any], Any],
                  merger: Callable[[Any, Any, Any], Any], name: str | None = None, *,
                  serde: SerdeSpec = None) -> Table:
        """As GroupedStream.aggregate, plus ``merger(key, aggregate_a, aggregate_b) ->
        aggregate`` for sessions a record joins together."""
        s = self._app._serde(serde) or self._app._default_value
        return self._table("aggregate", name, s, s, s, initializer=initializer, adder=adder,
                           merger=merger)


class Table:
    """A changelog stream seen as a table, one value per key (Kafka Streams' KTable): a topic
    read with ``app.table``, or an aggregation's result. ``store`` names its state store ("" when
    not materialized); ``app.get(table.store, key)`` reads it."""

    def __init__(self, app: StreamsApp, handle: int, key_serde: Any, value_serde: Any, *,
                 store_serde: Any = None, windowed: bool = False) -> None:
        self._app = app
        self._h = handle
        self._key_serde = key_serde
        self._value_serde = value_serde
        self._windowed = windowed
        self.store: str = app._builder.table_store(handle)
        if self.store:
            app._stores[self.store] = (key_serde, store_serde or value_serde, windowed)

    def to_stream(self, *, name: str | None = None) -> Stream:
        """The table's updates as a stream (windowed tables: keys are ``Windowed``)."""
        return Stream(self._app, self._app._builder.table_to_stream(self._h, name or ""),
                      self._key_serde, self._value_serde)

    def filter(self, predicate: Callable[[Any, Any], bool], *, name: str | None = None) -> Table:
        """The rows for which ``predicate(key, value)`` holds (not materialized)."""
        return Table(self._app, self._app._builder.table_filter(self._h, predicate, False,
                                                                name or ""),
                     self._key_serde, self._value_serde, windowed=self._windowed)

    def map_values(self, mapper: Callable[[Any], Any], *, name: str | None = None) -> Table:
        """Every value mapped with ``mapper(value)`` (not materialized)."""
        return Table(self._app, self._app._builder.table_map_values(self._h, mapper, name or ""),
                     self._key_serde, None, windowed=self._windowed)

    def __repr__(self) -> str:
        return f"<Table store={self.store!r}>"


_RUNNING: weakref.WeakSet[StreamsApp] = weakref.WeakSet()


@atexit.register
def _close_running_apps() -> None:
    # The stream thread takes the GIL; stop it before the interpreter goes away.
    for app in list(_RUNNING):
        try:
            app._close_native(10.0)
        except Exception:  # noqa: BLE001 - exiting anyway
            pass


class StreamsApp:
    """A Streams application: build its topology with ``stream``/``table`` and the operations
    on them, then ``start()``/``stop()``, ``run()`` until Ctrl-C, or ``run(count=N,
    timeout=s)`` to get the first outputs back (tests, notebooks).

    ``StreamsApp(application_id, bootstrap_servers, default_key_serde="json",
    default_value_serde="json", commit_interval=1.0, config=None, **kafka_config)``:
    ``application_id`` is the consumer group and the prefix of internal topics;
    ``bootstrap_servers`` a string, a list or a ``Cluster``; the default serdes apply where a
    stream's serde is unknown (after ``map`` and friends); ``commit_interval`` in seconds. Other
    engine configs come as a dict (``config={"poll.ms": 50}``) or keywords with ``_`` for ``.``;
    client configs with a ``consumer.``, ``producer.`` or ``admin.`` prefix.

    Serdes (everywhere ``*_serde`` is taken): ``"bytes"``, ``"str"``, ``"int64"``,
    ``"double"`` (native), ``"json"``, ``"msgpack"``, a ``(serialize, deserialize)`` pair, or
    an object with ``serialize``/``deserialize`` methods.

    Processing is at-least-once: after a crash, records since the last commit are processed
    again (outputs may repeat; counts may count them twice).
    """

    def __init__(self, application_id: str, bootstrap_servers: Any = None, *,
                 default_key_serde: SerdeSpec = "json", default_value_serde: SerdeSpec = "json",
                 commit_interval: float = 1.0, config: dict[str, Any] | None = None,
                 **kafka_configs: Any) -> None:
        if not application_id:
            raise ValueError("application_id is required")
        self.application_id = application_id
        props = kafka_config(bootstrap_servers, config, kafka_configs)
        props.setdefault("commit.interval.ms", str(max(1, round(commit_interval * 1000))))
        props["application.id"] = application_id
        if "bootstrap.servers" not in props:
            raise ValueError("bootstrap_servers is required")
        self._config = props
        self._serdes: dict[Any, Any] = {}
        self._serde_refs: list[Any] = []  # keeps specs cached by id() alive
        # Serdes are made by the builder (they share its error slot), defaults first.
        self._builder = _core.StreamsBuilder()
        self._default_key = self._serde(default_key_serde)
        self._default_value = self._serde(default_value_serde)
        self._builder.set_defaults(self._default_key, self._default_value)
        self._stores: dict[str, tuple[Any, Any, bool]] = {}
        self._native: Any = None
        self._lock = threading.Lock()

    # ---- building

    def stream(self, topics: str | Sequence[str], *, key_serde: SerdeSpec = None,
               value_serde: SerdeSpec = None,
               timestamp_extractor: Callable[[Any, Any, int], int] | None = None,
               name: str | None = None) -> Stream:
        """A stream of the records of ``topics`` (one name or several; they must exist).
        ``timestamp_extractor(key, value, timestamp) -> ms`` sets event time (default: the
        record's timestamp)."""
        names = [topics] if isinstance(topics, str) else list(topics)
        ks = self._serde(key_serde) or self._default_key
        vs = self._serde(value_serde) or self._default_value
        h = self._builder.stream(names, ks, vs, timestamp_extractor, name or "")
        return Stream(self, h, ks, vs)

    def table(self, topic: str, *, key_serde: SerdeSpec = None, value_serde: SerdeSpec = None,
              name: str | None = None) -> Table:
        """A table of the latest value per key of ``topic`` (preferably compacted; a None
        value deletes the key). Restored from the topic itself, so no changelog. ``name``
        names its store."""
        ks = self._serde(key_serde) or self._default_key
        vs = self._serde(value_serde) or self._default_value
        h = self._builder.table(topic, ks, vs, name or "")
        return Table(self, h, ks, vs)

    def describe(self) -> str:
        """The topology: its sub-topologies, nodes, topics and stores (Kafka Streams'
        TopologyDescription). Builds it: no more operations can be added afterwards."""
        return self._builder.describe()

    @property
    def source_topics(self) -> list[str]:
        """Every topic the application consumes: its input topics and its repartition topics
        (``<application_id>-<name>-repartition``). Builds the topology."""
        return [f"{self.application_id}-{t}" if internal else t
                for t, internal in self._builder.source_topics()]

    # ---- running

    def start(self) -> StreamsApp:
        """Creates the internal topics, joins the group and starts processing (in the
        background). A stopped app can be started again (it continues from its committed
        offsets and changelogs)."""
        with self._lock:
            self._start(capture=False)
        return self

    def _start(self, capture: bool) -> None:
        if self._native is not None and self._native.state in ("RUNNING", "REBALANCING"):
            raise RuntimeError(f"{self.application_id} is running already")
        self._builder.describe()  # build (and check) the topology
        self._native = _core.KafkaStreams(self._builder, self._config)
        self._native.set_capture(capture)
        self._native.start()
        _RUNNING.add(self)

    def stop(self, timeout: float = 30.0) -> None:
        """Stops processing, commits what was processed and leaves the group. Raises the
        original exception if a user function (or serde) failed, else StreamsError if the app
        stopped on an error. Idempotent."""
        with self._lock:
            native = self._native
            if native is None:
                return
            failed = native.state == "ERROR"
            close_error: KafkaError | None = None
            try:
                self._close_native(timeout)
            except KafkaError as e:  # close reports the error the app stopped on, if any
                close_error = e
            _RUNNING.discard(self)
            if failed or native.error() is not None:
                self._raise_error(native)
            if close_error is not None:
                raise close_error

    def _close_native(self, timeout: float) -> None:
        if self._native is not None:
            self._native.close(timeout)

    @staticmethod
    def _raise_error(native: Any) -> None:
        exc = native.take_python_error()
        error = native.error()
        if exc is not None and (error is None or type(exc).__name__ in error[1]):
            raise exc
        if error is not None:
            raise StreamsError(error[1], error[0])

    def run(self, count: int | None = None, timeout: float | None = None) -> list[OutputRecord] | None:
        """Without arguments: starts the app and blocks until Ctrl-C (then stops cleanly and
        returns) or until it fails (then stops and raises the original exception).

        With ``count`` and/or ``timeout`` (seconds): runs until the app has written ``count``
        records to its output topics or ``timeout`` passed, stops, and returns the records
        written meanwhile (possibly more than ``count``) as ``OutputRecord``s."""
        bounded = count is not None or timeout is not None
        with self._lock:
            self._start(capture=bounded)
            native = self._native
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            while True:
                state = native.state
                if state in ("ERROR", "CLOSED"):
                    break
                if count is not None and native.output_count >= count:
                    break
                if deadline is not None and time.monotonic() >= deadline:
                    break
                time.sleep(0.05 if bounded else 0.1)
        except KeyboardInterrupt:
            if bounded:
                self.stop()
                raise
        self.stop()
        if not bounded:
            return None
        return [OutputRecord(*t) for t in native.take_outputs()]

    def wait_until_idle(self, timeout: float = 30.0) -> bool:
        """Waits until every source partition of this instance is read to its end (as of the
        call) and the outputs are flushed; False on timeout or error."""
        if self._native is None:
            raise RuntimeError("the app is not started")
        idle: bool = self._native.wait_until_idle(timeout)
        return idle

    @property
    def state(self) -> str:
        """``"CREATED"``, ``"REBALANCING"``, ``"RUNNING"``, ``"ERROR"`` or ``"CLOSED"``."""
        return "CREATED" if self._native is None else self._native.state

    @property
    def active_tasks(self) -> list[str]:
        """The tasks (``"<sub-topology>_<partition>"``) running on this instance."""
        return [] if self._native is None else self._native.active_tasks()

    def metrics(self) -> dict[str, Any]:
        """Counters since start: records_processed, records_produced, records_dropped (with
        ``dropped_by_reason``, e.g. ``"late"``), commits, rebalances, records_restored."""
        if self._native is None:
            return {"records_processed": 0, "records_produced": 0, "records_dropped": 0,
                    "commits": 0, "rebalances": 0, "records_restored": 0,
                    "dropped_by_reason": {}}
        metrics: dict[str, Any] = self._native.metrics()
        return metrics

    def get(self, store: str | Table, key: Any) -> Any:
        """The value of ``key`` in a (non-windowed) store of this instance: a table's
        ``.store`` or the table itself. None when absent or when the key's partition is
        processed by another instance."""
        name = store.store if isinstance(store, Table) else store
        try:
            key_serde, value_serde, windowed = self._stores[name]
        except KeyError:
            raise KeyError(f"no store named {name!r}; stores: {sorted(self._stores)}") from None
        if windowed:
            raise TypeError(f"{name} is a windowed store; lookups take plain key-value stores")
        if self._native is None:
            return None
        data = self._native.query(name, key_serde.serialize(key) or b"")
        return None if data is None else value_serde.deserialize(data)

    def __enter__(self) -> StreamsApp:
        return self.start()

    def __exit__(self, exc_type: Any, *exc: Any) -> None:
        if exc_type is None:
            self.stop()
        else:
            try:
                self.stop()
            except Exception:  # noqa: BLE001 - the exception in flight matters more
                pass

    def __repr__(self) -> str:
        try:
            text = self.describe()
        except Exception as e:  # noqa: BLE001 - a repr must not fail
            text = f"(topology does not build: {e})"
        return f"<StreamsApp {self.application_id} {self.state}>\n{text}"

    # ---- helpers

    def _serde(self, spec: SerdeSpec) -> Any:
        """The engine serde for a spec (None for None)."""
        if spec is None:
            return None
        if isinstance(spec, _core.StreamsSerde):
            return spec
        key: Any = spec if isinstance(spec, str) else id(spec)
        cached = self._serdes.get(key)
        if cached is not None:
            return cached
        b = self._builder
        if isinstance(spec, str):
            if spec in _NATIVE_SERDES:
                serde = b.native_serde(spec)
            elif spec in _PYTHON_SERDES:
                serde = b.python_serde(spec, _SERIALIZERS[spec], _DESERIALIZERS[spec])
            else:
                raise ValueError(f"unknown serde {spec!r}; use one of "
                                 f"{sorted(_NATIVE_SERDES | _PYTHON_SERDES)}, a (serialize, "
                                 "deserialize) pair or an object with those methods")
        elif (isinstance(spec, (tuple, list)) and len(spec) == 2
              and all(callable(f) for f in spec)):
            ser, de = spec
            serde = b.python_serde(getattr(ser, "__name__", "custom"), ser, de)
        elif callable(getattr(spec, "serialize", None)) and callable(getattr(spec, "deserialize",
                                                                              None)):
            serde = b.python_serde(type(spec).__name__, spec.serialize, spec.deserialize)
        else:
            raise TypeError(f"not a serde: {spec!r}")
        self._serdes[key] = serde
        self._serde_refs.append(spec)
        return serde

    def _check_same(self, other: Any) -> None:
        if getattr(other, "_app", self) is not self:
            raise ValueError("streams and tables of different apps cannot be combined")
