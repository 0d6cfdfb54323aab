"""Breaking an in-process ``Cluster`` on purpose, request by request: error answers, added
latency, dropped connections and black holes for the requests that clients (any client: librdkafka,
kafka-python, Java, ...) send; the log of what each broker received; a full disk, slow or failing
fsyncs. ``cluster.faults`` is a ``Faults`` object; ``Cluster`` offers the same calls directly::

    with Cluster(brokers=3) as cluster:
        cluster.create_topic("orders")
        with cluster.inject_error("Produce", "NOT_LEADER_OR_FOLLOWER", times=2) as rule:
            ...                                   # the next two Produce requests fail
        assert rule.applied == 2
        cluster.requests(api="Produce")           # what the clients sent, per broker

How rules match and trigger (``server/request_faults.h`` has the details):

- ``api`` (a name such as ``"Produce"``, any case, or a key), ``topic`` (the request names that
  topic anywhere; the whole request then gets the fault) and ``client_id`` (the request header's,
  exactly) must all hold when given.
- ``after=N`` lets the first N matching requests through; ``times=N`` applies the fault to the
  next N (``None``: until cleared); ``probability`` with ``seed`` applies it to that share of the
  matching requests, the same ones for the same seed and the same requests.
- Rules live on brokers: ``brokers=None`` puts one on every broker, and ``times``, ``after`` and
  the probability draws count per broker (``brokers=[id]`` for an exact count on one broker).
  ``applied``/``matched`` add up every broker.
- Rules are tried in the order they were added; the first one applied to a request decides.
- Follower replication (Fetch from another broker) is never touched unless
  ``include_replication=True``; controller (Raft) traffic has its own listener and is never
  touched.
- A broker that is killed or stopped and restarted gets its rules back, with ``times`` and
  ``after`` reduced by what it had already counted (the probability sequence starts over), and
  its disk faults back (a full disk stays full). Its request log is kept by the Cluster.

Only ``mode="inprocess"`` has these; in process mode they raise ``NotImplementedError``.
"""

from __future__ import annotations

import difflib
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from .errors import ERROR_CODES, error_code

if TYPE_CHECKING:
    from .cluster import Cluster

__all__ = ["FaultRule", "Faults", "RequestRecord"]

FaultKind = Literal["error", "latency", "drop_connection", "black_hole"]
_ACTIONS: dict[str, str] = {"error": "error", "latency": "delay",
                            "drop_connection": "drop_connection", "black_hole": "black_hole"}


@dataclass(frozen=True)
class RequestRecord:
    """One request a broker received on its Kafka listener."""

    broker: int
    api: str             # "Produce", "Fetch", ...
    api_key: int
    version: int         # the API version the client chose
    client_id: str       # "" when the client sent none
    correlation_id: int
    time: float          # when it arrived, seconds since the epoch
    connection_id: int   # per broker: requests on one connection share it
    peer: str            # the client's host:port


# ------------------------------------------------------------------------------------------------
# Names


_API_KEYS: dict[str, int] | None = None
_API_NAMES: dict[int, str] = {}


def _api_table() -> dict[str, int]:
    global _API_KEYS
    if _API_KEYS is None:
        from ._core import api_table

        table = api_table()
        _API_NAMES.update({key: name for key, name, _, _ in table})
        _API_KEYS = {_normal(name): key for key, name, _, _ in table}
    return _API_KEYS


def _normal(name: str) -> str:
    return name.replace("_", "").replace("-", "").replace(" ", "").lower()


def api_key(api: int | str) -> int:
    """The key of an API given by name (``"Produce"``, ``"list_offsets"``, any case) or key."""
    keys = _api_table()
    if isinstance(api, bool) or not isinstance(api, (int, str)):
        raise TypeError(f"an API is a name or a key, not {api!r}")
    if isinstance(api, int):
        if api not in _API_NAMES:
            raise ValueError(f"unknown API key {api}")
        return api
    if _normal(api) in keys:
        return keys[_normal(api)]
    by_normal = {_normal(n): n for n in _API_NAMES.values()}
    close = difflib.get_close_matches(_normal(api), list(by_normal), n=5, cutoff=0.6)
    hint = f"; did you mean {', '.join(by_normal[c] for c in close)}?" if close else ""
    raise ValueError(f"unknown Kafka API {api!r}{hint}")


def api_name(key: int) -> str:
    _api_table()
    return _API_NAMES.get(key, str(key))


def _error_name(code: int) -> str:
    for name, c in ERROR_CODES.items():
        if c == code:
            return name
    return str(code)


# ------------------------------------------------------------------------------------------------
# Rules


class FaultRule:
    """A request fault on one or more brokers, made by ``Cluster.inject_error``,
    ``inject_latency``, ``drop_connections`` or ``black_hole``. ``matched`` and ``applied`` count
    the requests it matched and changed, summed over its brokers (including before a broker
    restart). ``clear()`` removes it everywhere (black-holed requests are then released: their
    connections close); as a context manager it clears itself on exit."""

    def __init__(self, faults: Faults, kind: FaultKind, *, api: int | None, topic: str | None,
                 client_id: str | None, brokers: tuple[int, ...], times: int | None, after: int,
                 probability: float, seed: int | None, include_replication: bool,
                 error: int = 0, delay: float = 0.0) -> None:
        self._faults = faults
        self.kind: FaultKind = kind
        self.api_key = api
        self.topic = topic
        self.client_id = client_id
        self.brokers = brokers
        self.times = times
        self.after = after
        self.probability = probability
        self.seed = seed
        self.include_replication = include_replication
        self.error_code = error
        self.delay = delay
        self._installed: dict[int, int] = {}  # broker id -> rule id on that broker
        # Counters of rule instances that are gone (broker stopped or rule cleared), per broker.
        self._carried: dict[int, tuple[int, int]] = {}
        self._cleared = False

    @property
    def api(self) -> str | None:
        return None if self.api_key is None else api_name(self.api_key)

    @property
    def error(self) -> str | None:
        return _error_name(self.error_code) if self.kind == "error" else None

    @property
    def active(self) -> bool:
        """False once cleared."""
        return not self._cleared

    @property
    def matched(self) -> int:
        return self._faults._counts(self)[0]

    @property
    def applied(self) -> int:
        return self._faults._counts(self)[1]

    def clear(self) -> None:
        self._faults._remove(self)

    def __enter__(self) -> FaultRule:
        return self

    def __exit__(self, *exc: object) -> None:
        self.clear()

    def __repr__(self) -> str:
        what = {"error": f"error {self.error}", "latency": f"latency {self.delay:g} s",
                "drop_connection": "drop_connection", "black_hole": "black_hole"}[self.kind]
        where = [f"api={self.api}" if self.api else "every API"]
        if self.topic is not None:
            where.append(f"topic={self.topic!r}")
        if self.client_id is not None:
            where.append(f"client_id={self.client_id!r}")
        where.append(f"brokers={list(self.brokers)}")
        if self.times is not None:
            where.append(f"times={self.times}")
        if self.after:
            where.append(f"after={self.after}")
        if self.probability < 1.0:
            where.append(f"probability={self.probability:g}, seed={self.seed}")
        state = "" if self.active else ", cleared"
        try:
            counts = self._faults._counts(self)
            state = f": matched {counts[0]}, applied {counts[1]}{state}"
        except Exception:  # a closed cluster: show the rule without its counters
            pass
        return f"<FaultRule {what}, {', '.join(where)}{state}>"


# ------------------------------------------------------------------------------------------------
# The API


class Faults:
    """Request faults, the request log and disk faults of one in-process ``Cluster``
    (``cluster.faults``). Every call is serialised with the cluster's other calls and releases
    the GIL while it talks to the brokers."""

    def __init__(self, cluster: Cluster) -> None:
        self._cluster = cluster
        self._lock: threading.RLock = cluster._lock
        self._rules: list[FaultRule] = []
        # Wanted disk fault settings per broker (re-applied after a restart).
        self._disk: dict[int, dict[str, int]] = {}
        # Request logs of brokers that stopped (the native log goes with the broker).
        self._old_requests: dict[int, list[tuple[Any, ...]]] = {}

    # -- request faults --------------------------------------------------------------------------

    def inject_error(self, api: int | str, error: int | str, *, topic: str | None = None,
                     client_id: str | None = None, brokers: Iterable[int] | None = None,
                     times: int | None = 1, after: int = 0, probability: float = 1.0,
                     seed: int | None = None, include_replication: bool = False) -> FaultRule:
        """Answers matching ``api`` requests with ``error`` (a Kafka error name such as
        ``"NOT_LEADER_OR_FOLLOWER"``, or a code) in every error code field of a well-formed
        answer, instead of handling them. Produce with acks=0 gets no answer (as from Kafka) and
        its records are dropped. ``times=None``: until cleared."""
        return self._add("error", api, topic=topic, client_id=client_id, brokers=brokers,
                         times=times, after=after, probability=probability, seed=seed,
                         include_replication=include_replication, error=error_code(error))

    def inject_latency(self, api: int | str | None = None, seconds: float = 0.2, *,
                       topic: str | None = None, client_id: str | None = None,
                       brokers: Iterable[int] | None = None, times: int | None = None,
                       after: int = 0, probability: float = 1.0, seed: int | None = None,
                       include_replication: bool = False) -> FaultRule:
        """Handles matching requests normally but ``seconds`` late (later requests on the same
        connection are handled meanwhile; answers still go out in request order)."""
        if seconds < 0:
            raise ValueError("latency must be >= 0 seconds")
        return self._add("latency", api, topic=topic, client_id=client_id, brokers=brokers,
                         times=times, after=after, probability=probability, seed=seed,
                         include_replication=include_replication, delay=seconds)

    def drop_connections(self, api: int | str | None = None, *, topic: str | None = None,
                         client_id: str | None = None, brokers: Iterable[int] | None = None,
                         times: int | None = 1, after: int = 0, probability: float = 1.0,
                         seed: int | None = None, include_replication: bool = False) -> FaultRule:
        """Closes the client's connection instead of answering matching requests (after the
        answers owed before them)."""
        return self._add("drop_connection", api, topic=topic, client_id=client_id,
                         brokers=brokers, times=times, after=after, probability=probability,
                         seed=seed, include_replication=include_replication)

    def black_hole(self, api: int | str | None = None, *, topic: str | None = None,
                   client_id: str | None = None, brokers: Iterable[int] | None = None,
                   times: int | None = None, after: int = 0, probability: float = 1.0,
                   seed: int | None = None, include_replication: bool = False) -> FaultRule:
        """Never answers matching requests while their connections stay open, so clients see
        request timeouts. With ``api=None`` on a broker it is the network between clients and
        that broker cut (new connections are accepted, nothing is answered). Clearing the rule
        closes the connections of the requests it held."""
        return self._add("black_hole", api, topic=topic, client_id=client_id, brokers=brokers,
                         times=times, after=after, probability=probability, seed=seed,
                         include_replication=include_replication)

    @property
    def rules(self) -> list[FaultRule]:
        """The rules not cleared yet, oldest first."""
        with self._lock:
            return list(self._rules)

    def clear(self) -> None:
        """Removes every request fault rule on every broker and every disk fault."""
        with self._lock:
            for rule in list(self._rules):
                self._remove(rule)
            native = self._native()
            for broker_id in list(self._disk):
                if self._cluster._backend_or_raise().running(broker_id):
                    native.set_disk_faults(broker_id, write_budget_bytes=-1, sync_delay_us=0,
                                           fail_next_syncs=0)
            self._disk.clear()

    # -- the request log -------------------------------------------------------------------------

    def requests(self, broker: int | None = None, api: int | str | None = None,
                 client_id: str | None = None) -> list[RequestRecord]:
        """The requests the brokers received (each broker keeps its last 10,000), oldest first,
        optionally only those of one broker, one API (name or key) or one client id."""
        key = None if api is None else api_key(api)
        with self._lock:
            native = self._native()
            backend = self._cluster._backend_or_raise()
            ids = [b.id for b in self._cluster.brokers] if broker is None else [broker]
            raw: list[tuple[int, tuple[Any, ...]]] = []
            for broker_id in ids:
                self._cluster._backend_or_raise(broker_id)
                raw.extend((broker_id, r) for r in self._old_requests.get(broker_id, ()))
                if backend.running(broker_id):
                    raw.extend((broker_id, r) for r in native.requests(broker_id))
        out = []
        for broker_id, (time_ms, key_, name, version, client, correlation, conn, peer) in raw:
            if key is not None and key_ != key:
                continue
            if client_id is not None and client != client_id:
                continue
            out.append(RequestRecord(broker_id, name, key_, version, client, correlation,
                                     time_ms / 1000.0, conn, peer))
        out.sort(key=lambda r: r.time)  # stable: each broker's own order is kept within a ms
        return out

    def clear_requests(self, broker: int | None = None) -> None:
        with self._lock:
            native = self._native()
            backend = self._cluster._backend_or_raise()
            ids = [b.id for b in self._cluster.brokers] if broker is None else [broker]
            for broker_id in ids:
                self._cluster._backend_or_raise(broker_id)
                self._old_requests.pop(broker_id, None)
                if backend.running(broker_id):
                    native.clear_requests(broker_id)

    # -- disk ------------------------------------------------------------------------------------

    def disk_full(self, broker_id: int, full: bool = True) -> None:
        """Every write to the broker's partition logs fails with ENOSPC (``full=False``: the
        disk has room again). A produce then fails with KAFKA_STORAGE_ERROR, and as in Kafka the
        failed write takes the broker's log directory offline: every later write to it fails too,
        also after ``disk_full(id, False)``, until the broker restarts
        (``cluster.kill(id); cluster.restart(id)``)."""
        self._set_disk(broker_id, write_budget_bytes=0 if full else -1)

    def slow_fsync(self, broker_id: int, seconds: float) -> None:
        """Every fsync of the broker's partition logs takes ``seconds`` longer (0: off). Also
        with ``kafkacore.unsafe.bypass.fsync`` (the test default): the delay comes first."""
        if seconds < 0:
            raise ValueError("seconds must be >= 0")
        self._set_disk(broker_id, sync_delay_us=int(seconds * 1_000_000))

    def fail_fsyncs(self, broker_id: int, count: int = 1) -> None:
        """The broker's next ``count`` fsyncs of partition logs fail with EIO, which takes its log
        directory offline until it restarts (Kafka's log-directory failure)."""
        if count < 0:
            raise ValueError("count must be >= 0")
        self._set_disk(broker_id, fail_next_syncs=count)

    # -- internals -------------------------------------------------------------------------------

    def _native(self) -> Any:
        backend = self._cluster._backend_or_raise()
        native = getattr(backend, "native", None)
        if native is None:
            raise NotImplementedError(
                "request faults, the request log and disk faults need the in-process cluster "
                "(Cluster(..., mode='inprocess')): they act inside the brokers")
        return native

    def _targets(self, brokers: Iterable[int] | None) -> tuple[int, ...]:
        if brokers is None:
            return tuple(b.id for b in self._cluster.brokers)
        if isinstance(brokers, int):
            brokers = [brokers]
        ids = tuple(dict.fromkeys(int(b) for b in brokers))
        for b in ids:
            self._cluster.broker(b)  # ValueError for an unknown id
        if not ids:
            raise ValueError("brokers is empty (None means every broker)")
        return ids

    def _add(self, kind: FaultKind, api: int | str | None, *, topic: str | None,
             client_id: str | None, brokers: Iterable[int] | None, times: int | None, after: int,
             probability: float, seed: int | None, include_replication: bool, error: int = 0,
             delay: float = 0.0) -> FaultRule:
        key = None if api is None else api_key(api)
        if kind == "error" and key is None:
            raise ValueError("inject_error needs an API: an error answer is built per API")
        if times is not None and times < 1:
            raise ValueError("times must be >= 1, or None for no limit")
        if after < 0:
            raise ValueError("after must be >= 0")
        if not 0.0 < probability <= 1.0:
            raise ValueError(f"probability must be in (0, 1], not {probability}")
        with self._lock:
            native = self._native()
            rule = FaultRule(self, kind, api=key, topic=topic, client_id=client_id,
                             brokers=self._targets(brokers), times=times, after=after,
                             probability=probability, seed=seed,
                             include_replication=include_replication, error=error, delay=delay)
            backend = self._cluster._backend_or_raise()
            try:
                for broker_id in rule.brokers:
                    if backend.running(broker_id):
                        self._install(native, rule, broker_id)
            except BaseException:
                for broker_id, rule_id in rule._installed.items():
                    native.remove_fault(broker_id, rule_id)
                raise
            self._rules.append(rule)
            return rule

    def _install(self, native: Any, rule: FaultRule, broker_id: int) -> None:
        matched, applied = rule._carried.get(broker_id, (0, 0))
        times = -1 if rule.times is None else rule.times - applied
        if times == 0:
            return  # spent on this broker before it restarted
        rule._installed[broker_id] = native.add_fault(
            broker_id, _ACTIONS[rule.kind], api_key=rule.api_key, topic=rule.topic,
            client_id=rule.client_id, include_replication=rule.include_replication,
            error_code=rule.error_code, delay_ms=int(round(rule.delay * 1000)),
            after=max(0, rule.after - matched), times=times, probability=rule.probability,
            seed=rule.seed)

    def _live_counts(self, native: Any, broker_id: int) -> dict[int, tuple[int, int]]:
        return {r["id"]: (r["matched"], r["applied"]) for r in native.fault_rules(broker_id)}

    def _counts(self, rule: FaultRule) -> tuple[int, int]:
        with self._lock:
            matched = sum(m for m, _ in rule._carried.values())
            applied = sum(a for _, a in rule._carried.values())
            if rule._installed:
                native = self._native()
                for broker_id, rule_id in rule._installed.items():
                    m, a = self._live_counts(native, broker_id).get(rule_id, (0, 0))
                    matched += m
                    applied += a
            return matched, applied

    def _carry(self, native: Any, rule: FaultRule, broker_id: int,
               live: dict[int, tuple[int, int]]) -> None:
        rule_id = rule._installed.pop(broker_id)
        m, a = live.get(rule_id, (0, 0))
        cm, ca = rule._carried.get(broker_id, (0, 0))
        rule._carried[broker_id] = (cm + m, ca + a)

    def _remove(self, rule: FaultRule) -> None:
        with self._lock:
            if rule._cleared:
                return
            if rule._installed:
                native = self._native()
                for broker_id in list(rule._installed):
                    live = self._live_counts(native, broker_id)
                    rule_id = rule._installed[broker_id]
                    self._carry(native, rule, broker_id, live)
                    native.remove_fault(broker_id, rule_id)
            rule._cleared = True
            self._rules.remove(rule)

    def _set_disk(self, broker_id: int, **settings: int) -> None:
        with self._lock:
            native = self._native()
            self._cluster._backend_or_raise(broker_id)
            wanted = self._disk.setdefault(broker_id, {})
            wanted.update(settings)
            if self._cluster._backend_or_raise().running(broker_id):
                native.set_disk_faults(broker_id, **settings)

    # Called by Cluster (holding its lock) around a broker's stop/kill and restart.

    def _broker_stopping(self, broker_id: int) -> None:
        backend = self._cluster._backend
        native = getattr(backend, "native", None)
        if backend is None or native is None or not backend.running(broker_id):
            return
        live = self._live_counts(native, broker_id)
        for rule in self._rules:
            if broker_id in rule._installed:
                self._carry(native, rule, broker_id, live)
        self._old_requests.setdefault(broker_id, []).extend(native.requests(broker_id))
        if broker_id in self._disk and "fail_next_syncs" in self._disk[broker_id]:
            # What is left of a fail_fsyncs budget carries over.
            self._disk[broker_id]["fail_next_syncs"] = native.disk_faults(broker_id).get(
                "fail_next_syncs", 0)

    def _broker_started(self, broker_id: int) -> None:
        native = getattr(self._cluster._backend, "native", None)
        if native is None:
            return
        for rule in self._rules:
            if broker_id in rule.brokers and broker_id not in rule._installed:
                self._install(native, rule, broker_id)
        if self._disk.get(broker_id):
            native.set_disk_faults(broker_id, **self._disk[broker_id])
