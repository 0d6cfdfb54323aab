"""``pykafkacore.Cluster``: a whole Kafka-compatible cluster for tests and notebooks.

::

    from pykafkacore import Cluster

    with Cluster(brokers=3) as cluster:
        cluster.create_topic("orders", partitions=3)      # RF 3, ready on every broker
        producer = confluent_kafka.Producer({"bootstrap.servers": cluster.bootstrap_servers})
        ...
        cluster.kill(cluster.topics()["orders"].partitions[0].leader)

Two modes behind one class:

``mode="inprocess"`` (default)
    Every broker runs inside this process on its own threads (``_core.LocalCluster``), each a
    controller voter (KRaft combined mode), with its own data directory and ports. Starting three
    brokers takes milliseconds. Admin calls and white-box reads go straight to the brokers; no
    Kafka client is needed.

``mode="process"``
    One ``kafkacore-server`` process per broker (or ``python -m pykafkacore serve`` when the
    binary is not built), so ``kill`` is a real SIGKILL and ``pause`` a real SIGSTOP. Topic
    admin goes through confluent-kafka's AdminClient for now (see ``_ClientAdmin``); network
    partitions and ``records()`` are in-process only.

``controllers=K`` (either mode): KRaft's dedicated controllers. K controller-only nodes (ids
3000.., ``controller_ids``; data in ``data_dir/controller-<id>``) form the Raft quorum and the
brokers (ids 1..N) are broker-only: they follow the quorum, never vote, and serve clients.
Controllers never appear in Metadata answers; ``kill``/``stop``/``restart``/``pause``/
``resume``/``isolate`` take their ids like brokers' ids.

Every blocking call releases the GIL and can be interrupted with Ctrl-C. Calls on one Cluster
are serialised by a lock, so threads may share it. No thread or process is left after
``close()`` (or the ``with`` block).

Next to ``kill``/``pause``/``partition``, in-process clusters break per request: error answers,
latency, dropped connections and black holes by API, topic and client id, the log of received
requests, and disk faults (``inject_error``, ``requests``, ``disk_full``, ...; ``faults.py``).
``advance_time`` is not here yet (issue 6).
"""

from __future__ import annotations

import html
import shutil
import tempfile
import threading
import time
import weakref
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from ._process import FIRST_CONTROLLER_ID
from .faults import FaultRule, Faults, RequestRecord
from .records import Record, TopicPartition

if TYPE_CHECKING:
    from ._core import LocalCluster

__all__ = [
    "BrokerHandle",
    "Cluster",
    "FaultRule",
    "RequestRecord",
    "PartitionInfo",
    "PartitionLag",
    "TopicInfo",
    "TEST_DEFAULTS",
    "MULTI_BROKER_DEFAULTS",
]

Mode = Literal["inprocess", "process"]

# Broker settings where Kafka's defaults hurt tests (docs/testing.md says why, one by one).
TEST_DEFAULTS: dict[str, str] = {
    # Kafka waits 3 s for more members before a new group's first rebalance.
    "group.initial.rebalance.delay.ms": "0",
    # Retention, flush.ms, compaction and the high-watermark checkpoint run every 100 ms
    # instead of every second, so a test that shortens retention sees it act quickly.
    "kafkacore.tick.ms": "100",
    # fsyncs succeed without waiting for the disk: a killed broker (SIGKILL, Cluster.kill) keeps
    # everything it wrote, as the OS holds it; only a power cut would lose acknowledged data.
    # On a busy CI disk one fsync takes tens of milliseconds and start-up makes hundreds.
    "kafkacore.unsafe.bypass.fsync": "true",
}

# With several brokers: failures are detected in about a second instead of Kafka's 9-18 s, so
# a killed leader's partitions fail over well under 2 s.
MULTI_BROKER_DEFAULTS: dict[str, str] = {
    "broker.session.timeout.ms": "1000",  # Kafka: 9000
    "broker.heartbeat.interval.ms": "100",  # Kafka: 2000
    "controller.quorum.election.timeout.ms": "300",  # Kafka: 1000
    "replica.lag.time.max.ms": "2000",  # Kafka: 30000
    "replica.fetch.backoff.ms": "50",  # Kafka: 1000
    "replica.fetch.wait.max.ms": "100",  # Kafka: 500
    "leader.imbalance.check.interval.seconds": "5",  # Kafka: 300
}


def config_properties(configs: Mapping[str, Any] | None = None, **kwargs: Any) -> dict[str, str]:
    """Kafka-named broker properties from a ``configs`` dict (names as they are) and keyword
    arguments (``num_partitions=3`` becomes ``num.partitions``); True/False become
    ``"true"``/``"false"``."""

    def text(value: Any) -> str:
        return str(value).lower() if isinstance(value, bool) else str(value)

    props = {str(k): text(v) for k, v in (configs or {}).items()}
    props.update({k.replace("_", "."): text(v) for k, v in kwargs.items()})
    return props


# ------------------------------------------------------------------------------------------------
# What the cluster reports


@dataclass(frozen=True)
class PartitionInfo:
    topic: str
    partition: int
    leader: int | None  # None while the partition has no leader
    replicas: tuple[int, ...]
    isr: tuple[int, ...]
    leader_epoch: int | None = None
    # Eligible leader replicas (KIP-966): out of the ISR but holding every committed record.
    # Known for in-process clusters (empty when read through Metadata).
    elr: tuple[int, ...] = ()


@dataclass(frozen=True)
class TopicInfo:
    name: str
    partitions: tuple[PartitionInfo, ...]
    id: str | None = None
    configs: Mapping[str, str] = field(default_factory=dict)

    @property
    def replication_factor(self) -> int:
        return len(self.partitions[0].replicas) if self.partitions else 0

    @property
    def leaders(self) -> dict[int, int | None]:
        return {p.partition: p.leader for p in self.partitions}

    def __len__(self) -> int:
        return len(self.partitions)

    def __getitem__(self, partition: int) -> PartitionInfo:
        return self.partitions[partition]

    def _repr_html_(self) -> str:
        return _topics_table({self.name: self})


class PartitionLag(NamedTuple):
    committed: int | None  # None: the group committed nothing for this partition
    end_offset: int
    lag: int


class BrokerHandle:
    """One broker (or dedicated controller) of a Cluster: its id and address, whether it runs or
    is paused, and the faults that apply to it alone. Stays valid across restarts."""

    def __init__(self, cluster: Cluster, broker_id: int, dedicated_controller: bool = False
                 ) -> None:
        self._cluster = cluster
        self.id = broker_id
        self._dedicated = dedicated_controller

    @property
    def role(self) -> str:
        """KRaft's process.roles of this node: ``"broker,controller"`` (combined),
        ``"broker"`` (with dedicated controllers) or ``"controller"``."""
        if self._dedicated:
            return "controller"
        return "broker" if self._cluster._controller_ids else "broker,controller"

    @property
    def host(self) -> str:
        return self._cluster._host

    @property
    def port(self) -> int:
        """The Kafka port; a dedicated controller's controller (Raft) port."""
        return self._cluster._backend_or_raise().port(self.id)

    @property
    def bootstrap_servers(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        backend = self._cluster._backend
        return backend is not None and backend.running(self.id)

    @property
    def paused(self) -> bool:
        backend = self._cluster._backend
        return backend is not None and backend.paused(self.id)

    @property
    def is_controller(self) -> bool:
        return self._cluster.controller == self.id

    @property
    def data_dir(self) -> Path:
        kind = "controller" if self._dedicated else "broker"
        return self._cluster.data_dir / f"{kind}-{self.id}"

    @property
    def pid(self) -> int | None:
        """The process id in process mode (None in-process or while stopped)."""
        backend = self._cluster._backend
        return backend.pid(self.id) if backend is not None else None

    def kill(self) -> None:
        self._cluster.kill(self.id)

    def stop(self) -> None:
        self._cluster.stop(self.id)

    def restart(self) -> None:
        self._cluster.restart(self.id)

    def pause(self) -> None:
        self._cluster.pause(self.id)

    def resume(self) -> None:
        self._cluster.resume(self.id)

    def state(self) -> str:
        if not self.running:
            return "stopped"
        return "paused" if self.paused else "running"

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, BrokerHandle) and other._cluster is self._cluster
                and other.id == self.id)

    def __hash__(self) -> int:
        return hash((id(self._cluster), self.id))

    def __repr__(self) -> str:
        if self._cluster._backend is None:
            return f"<Broker {self.id} (cluster not running)>"
        kind = "Controller" if self._dedicated else "Broker"
        controller = ", active controller" if self.is_controller else ""
        return f"<{kind} {self.id} {self.bootstrap_servers} {self.state()}{controller}>"


# ------------------------------------------------------------------------------------------------
# The cluster


class Cluster:
    """A Kafka-compatible cluster of ``brokers`` brokers (ids 1..N), started by ``start()`` or
    the ``with`` statement and ready when either returns; stopped by ``close()``.

    ``controllers``: 0 (default) makes every broker a controller voter (KRaft combined mode);
    K > 0 adds K dedicated controllers (ids 3000..3000+K-1) that alone form the quorum, the
    brokers following it (``Cluster(brokers=3, controllers=3)``).

    ``data_dir``: where broker i keeps its logs (``data_dir/broker-<i>``); kept after close. By
    default a temporary directory, removed on close.
    ``mode``: ``"inprocess"`` (brokers on threads of this process) or ``"process"`` (one OS
    process per broker).
    ``configs`` / keyword arguments: broker settings under Kafka's names, for every broker:
    ``Cluster(3, num_partitions=6, configs={"log.retention.ms": 1000})``. They override the
    test-friendly defaults (``TEST_DEFAULTS``, and ``MULTI_BROKER_DEFAULTS`` with several
    brokers; see docs/testing.md).
    ``ready_timeout``: seconds to wait for start-up (and for a restarted broker).
    ``manual_clock``: the brokers' clock starts at the current time and moves only with
    ``advance_time()`` (group session and rebalance deadlines, offsets expiry, retention,
    LogAppendTime); in-process only. Liveness (broker sessions, Raft, replica lag) stays real.
    """

    def __init__(self, brokers: int = 1, data_dir: str | Path | None = None,
                 mode: Mode = "inprocess", *, ready_timeout: float = 30.0,
                 configs: Mapping[str, Any] | None = None, host: str = "127.0.0.1",
                 manual_clock: bool = False, controllers: int = 0, **broker_configs: Any) -> None:
        if brokers < 1:
            raise ValueError("a cluster needs at least one broker")
        if controllers < 0:
            raise ValueError("controllers must be 0 (combined mode) or more")
        if mode not in ("inprocess", "process"):
            raise ValueError(f"mode must be 'inprocess' or 'process', not {mode!r}")
        if manual_clock and mode != "inprocess":
            raise ValueError("manual_clock needs mode='inprocess'")
        self._manual_clock = manual_clock
        self._size = brokers
        self._mode: Mode = mode
        self._host = host
        self._ready_timeout = ready_timeout
        self._given_dir = Path(data_dir) if data_dir is not None else None
        self._data_dir: Path | None = None
        self.properties: dict[str, str] = dict(TEST_DEFAULTS)
        if brokers > 1 or controllers > 1:
            self.properties.update(MULTI_BROKER_DEFAULTS)
            # Auto-created topics are replicated like create_topic's default.
            self.properties["default.replication.factor"] = str(min(3, brokers))
        self.properties.update(config_properties(configs, **broker_configs))
        self.properties.setdefault("kafkacore.startup.timeout.ms", str(int(ready_timeout * 1000)))
        self._lock = threading.RLock()
        self._backend: _Backend | None = None
        self._finalizer: weakref.finalize[[_Backend, Path | None], Cluster] | None = None
        self._handles = {i: BrokerHandle(self, i) for i in range(1, brokers + 1)}
        # Numbered as the C++ LocalCluster numbers them (kFirstControllerId).
        self._controller_ids = [FIRST_CONTROLLER_ID + i for i in range(controllers)]
        self._nodes = {**self._handles,
                       **{c: BrokerHandle(self, c, True) for c in self._controller_ids}}
        self._faults = Faults(self)

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> Cluster:
        """Starts every broker; returns once each serves in the cluster. Returns self."""
        with self._lock:
            if self._backend is not None:
                raise RuntimeError("the cluster is already started")
            if self._given_dir is not None:
                self._given_dir.mkdir(parents=True, exist_ok=True)
                data_dir, temporary = self._given_dir, False
            else:
                data_dir, temporary = Path(tempfile.mkdtemp(prefix="pykafkacore-")), True
            try:
                backend: _Backend
                if self._mode == "inprocess":
                    backend = _InProcess(self._size, data_dir, self.properties, self._host,
                                         self._ready_timeout, self._manual_clock,
                                         len(self._controller_ids))
                else:
                    backend = _Processes(self._size, data_dir, self.properties, self._host,
                                         self._ready_timeout, len(self._controller_ids))
            except BaseException:
                if temporary:
                    shutil.rmtree(data_dir, ignore_errors=True)
                raise
            self._data_dir = data_dir
            self._backend = backend
            # Brokers (threads or processes) never outlive the Cluster object or the interpreter.
            self._finalizer = weakref.finalize(self, _shutdown, backend,
                                               data_dir if temporary else None)
            return self

    def close(self) -> None:
        """Stops every broker cleanly (paused ones too) and removes a temporary data directory.
        Idempotent."""
        with self._lock:
            if self._finalizer is not None:
                self._finalizer()
                self._finalizer = None
            self._backend = None

    def __enter__(self) -> Cluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- what it is ------------------------------------------------------------------------------

    @property
    def mode(self) -> Mode:
        return self._mode

    @property
    def started(self) -> bool:
        return self._backend is not None

    @property
    def data_dir(self) -> Path:
        if self._data_dir is None:
            if self._given_dir is not None:
                return self._given_dir
            raise RuntimeError("the cluster is not started (its data directory is made then)")
        return self._data_dir

    @property
    def bootstrap_servers(self) -> str:
        """``host:port,...`` of every broker (stopped ones too: clients skip them)."""
        with self._lock:
            return self._backend_or_raise().bootstrap_servers

    @property
    def brokers(self) -> list[BrokerHandle]:
        """The brokers (dedicated controllers are in ``controllers``)."""
        return list(self._handles.values())

    @property
    def controllers(self) -> list[BrokerHandle]:
        """The dedicated controllers (empty in combined mode)."""
        return [self._nodes[c] for c in self._controller_ids]

    @property
    def controller_ids(self) -> list[int]:
        """The controller quorum's voters: the dedicated controllers (3000..) with
        ``controllers=K``, else every broker (combined mode)."""
        return list(self._controller_ids) or list(self._handles)

    def broker(self, broker_id: int) -> BrokerHandle:
        """The handle of a broker or of a dedicated controller."""
        try:
            return self._nodes[broker_id]
        except KeyError:
            raise ValueError(f"no broker {broker_id} ({self._ids_text()})") from None

    @property
    def controller(self) -> int | None:
        """The id of the active controller (the controller quorum's leader), None while there
        is none."""
        with self._lock:
            return self._backend_or_raise().controller()

    def topics(self, *, internal: bool = False) -> dict[str, TopicInfo]:
        """Every topic (``__consumer_offsets`` only with ``internal=True``) with its partitions'
        leaders, replicas and ISR, as the cluster's latest metadata says."""
        with self._lock:
            topics = self._backend_or_raise().topics()
        return {n: t for n, t in sorted(topics.items()) if internal or not n.startswith("__")}

    def topic(self, name: str) -> TopicInfo:
        topics = self.topics(internal=True)
        if name not in topics:
            raise KeyError(f"no topic {name!r}")
        return topics[name]

    # -- admin -----------------------------------------------------------------------------------

    def create_topic(self, name: str, partitions: int = 1, replication_factor: int | None = None,
                     configs: Mapping[str, Any] | None = None, *, timeout: float = 30.0
                     ) -> TopicInfo:
        """Creates a topic (``replication_factor`` defaults to min(3, brokers)) and returns
        once every live broker's metadata shows it with a leader for each partition, so any
        client sees it at once. Raises ValueError (``TOPIC_ALREADY_EXISTS: ...``, ...)."""
        if replication_factor is None:
            replication_factor = min(3, self._size)
        with self._lock:
            backend = self._backend_or_raise()
            backend.create_topic(name, partitions, replication_factor,
                                 config_properties(configs), timeout)
            return backend.topics()[name]

    def delete_topic(self, name: str, *, timeout: float = 30.0) -> None:
        """Deletes a topic; returns once no live broker's metadata shows it."""
        with self._lock:
            self._backend_or_raise().delete_topic(name, timeout)

    def elect_leaders(self, topic: str | None = None, partitions: Iterable[int] | None = None,
                      *, timeout: float = 30.0) -> dict[tuple[str, int], int]:
        """Preferred leader election (Kafka's ElectLeaders, through pykafkacore's AdminClient)
        for ``partitions`` of ``topic`` (all of them by default), or every partition of every
        topic; returns once the cluster's metadata shows each of those partitions led by its
        preferred (first) replica, as ``{(topic, partition): leader}``. Raises the
        ``KafkaError`` of a partition whose preferred replica cannot lead (not alive or not in
        sync: ``PreferredLeaderNotAvailable``), and TimeoutError."""
        from .admin import AdminClient

        if partitions is not None and topic is None:
            raise ValueError("partitions need a topic")
        with self._lock:
            bootstrap = self._backend_or_raise().bootstrap_servers
        wanted: list[tuple[str, int]] | None = None
        if topic is not None:
            ids = (list(partitions) if partitions is not None
                   else [p.partition for p in self.topic(topic).partitions])
            wanted = [(topic, p) for p in ids]
        deadline = time.monotonic() + timeout
        with AdminClient(bootstrap) as admin:
            admin.elect_leaders(wanted, timeout=timeout)

        def leaders() -> dict[tuple[str, int], int] | None:
            out = {}
            for name, info in self.topics(internal=True).items():
                for p in info.partitions:
                    if wanted is not None and (name, p.partition) not in wanted:
                        continue
                    if p.leader is None or (p.replicas and p.leader != p.replicas[0]):
                        return None
                    out[(name, p.partition)] = p.leader
            return out

        while (led := leaders()) is None:
            if time.monotonic() > deadline:
                raise TimeoutError("the preferred replicas did not all lead within "
                                   f"{timeout} s")
            time.sleep(0.02)
        return led

    # -- faults ----------------------------------------------------------------------------------

    def kill(self, broker_id: int) -> None:
        """Abrupt stop. Process mode: SIGKILL. In-process: connections drop at once and the
        broker stops without flushing, without its high-watermark checkpoint and without the
        clean-shutdown marker, so ``restart`` recovers its logs as after a crash (what the OS
        already had stays, as with a killed process)."""
        with self._lock:
            backend = self._backend_or_raise(broker_id)
            if broker_id in self._handles:  # controllers have no request or disk faults
                self._faults._broker_stopping(broker_id)
            backend.kill(broker_id)

    def stop(self, broker_id: int) -> None:
        """Clean stop of one broker (flushed, closed; SIGTERM in process mode). Its partitions
        fail over once its session expires (``broker.session.timeout.ms``)."""
        with self._lock:
            backend = self._backend_or_raise(broker_id)
            if broker_id in self._handles:
                self._faults._broker_stopping(broker_id)
            backend.stop(broker_id)

    def restart(self, broker_id: int) -> None:
        """Starts a stopped or killed broker again on its ports and data directory; returns once
        it serves in the cluster. Its request faults and disk faults are back before it serves."""
        with self._lock:
            started = self._faults._broker_started if broker_id in self._handles else None
            self._backend_or_raise(broker_id).restart(broker_id, started)

    def pause(self, broker_id: int) -> None:
        """The broker stops processing entirely, sockets open (SIGSTOP in process mode): clients
        and peers see a hung broker, not a dead one. Its heartbeats stop, so after
        ``broker.session.timeout.ms`` the controller fences it and its partitions fail over."""
        with self._lock:
            self._backend_or_raise(broker_id).pause(broker_id)

    def resume(self, broker_id: int) -> None:
        with self._lock:
            self._backend_or_raise(broker_id).resume(broker_id)

    def partition(self, side_a: Iterable[int], side_b: Iterable[int]) -> None:
        """Cuts every broker-to-broker link between the two sides (Raft, controller and
        replication traffic); clients still reach every broker. In-process only."""
        with self._lock:
            self._backend_or_raise().partition(list(side_a), list(side_b))

    def isolate(self, broker_id: int) -> None:
        """Cuts one broker off from every other broker (clients still reach it)."""
        with self._lock:
            self._backend_or_raise(broker_id).isolate(broker_id)

    def heal(self) -> None:
        """Restores every broker-to-broker link."""
        with self._lock:
            self._backend_or_raise().heal()

    # -- request and disk faults (in-process; faults.py has the rules' semantics) ---------------

    @property
    def faults(self) -> Faults:
        """The request-fault, request-log and disk-fault API (the methods below delegate to it);
        what the ``kafka_faults`` pytest fixture gives."""
        return self._faults

    def inject_error(self, api: int | str, error: int | str, *, topic: str | None = None,
                     client_id: str | None = None, brokers: Iterable[int] | None = None,
                     times: int | None = 1, after: int = 0, probability: float = 1.0,
                     seed: int | None = None, include_replication: bool = False) -> FaultRule:
        """Answers matching ``api`` requests (name or key) with ``error`` (Kafka error name or
        code) in every error field of a well-formed answer. ``times=None``: until cleared. See
        ``Faults.inject_error``."""
        return self._faults.inject_error(
            api, error, topic=topic, client_id=client_id, brokers=brokers, times=times,
            after=after, probability=probability, seed=seed,
            include_replication=include_replication)

    def inject_latency(self, api: int | str | None = None, seconds: float = 0.2, *,
                       topic: str | None = None, client_id: str | None = None,
                       brokers: Iterable[int] | None = None, times: int | None = None,
                       after: int = 0, probability: float = 1.0, seed: int | None = None,
                       include_replication: bool = False) -> FaultRule:
        """Handles matching requests ``seconds`` late (``api=None``: every API)."""
        return self._faults.inject_latency(
            api, seconds, topic=topic, client_id=client_id, brokers=brokers, times=times,
            after=after, probability=probability, seed=seed,
            include_replication=include_replication)

    def drop_connections(self, api: int | str | None = None, *, topic: str | None = None,
                         client_id: str | None = None, brokers: Iterable[int] | None = None,
                         times: int | None = 1, after: int = 0, probability: float = 1.0,
                         seed: int | None = None, include_replication: bool = False) -> FaultRule:
        """Closes the client's connection instead of answering matching requests."""
        return self._faults.drop_connections(
            api, topic=topic, client_id=client_id, brokers=brokers, times=times, after=after,
            probability=probability, seed=seed, include_replication=include_replication)

    def black_hole(self, api: int | str | None = None, *, topic: str | None = None,
                   client_id: str | None = None, brokers: Iterable[int] | None = None,
                   times: int | None = None, after: int = 0, probability: float = 1.0,
                   seed: int | None = None, include_replication: bool = False) -> FaultRule:
        """Never answers matching requests (connections stay open: clients time out); with
        ``api=None`` the network between clients and ``brokers`` is cut. Clearing releases them."""
        return self._faults.black_hole(
            api, topic=topic, client_id=client_id, brokers=brokers, times=times, after=after,
            probability=probability, seed=seed, include_replication=include_replication)

    def clear_faults(self) -> None:
        """Removes every request fault rule on every broker and every disk fault."""
        self._faults.clear()

    def requests(self, broker: int | None = None, api: int | str | None = None,
                 client_id: str | None = None) -> list[RequestRecord]:
        """The requests the brokers received (the last 10,000 per broker), oldest first."""
        return self._faults.requests(broker, api, client_id)

    def clear_requests(self, broker: int | None = None) -> None:
        self._faults.clear_requests(broker)

    def disk_full(self, broker_id: int, full: bool = True) -> None:
        """Writes to the broker's partition logs fail with ENOSPC (produce: KAFKA_STORAGE_ERROR).
        The failed write takes its log directory offline until the broker restarts."""
        self._faults.disk_full(broker_id, full)

    def slow_fsync(self, broker_id: int, seconds: float) -> None:
        """Every fsync of the broker's partition logs takes ``seconds`` longer (0: off)."""
        self._faults.slow_fsync(broker_id, seconds)

    def fail_fsyncs(self, broker_id: int, count: int = 1) -> None:
        """The broker's next ``count`` fsyncs fail with EIO (its log directory goes offline)."""
        self._faults.fail_fsyncs(broker_id, count)

    # Still to come here (issue 6): advance_time (the brokers' Clock is injectable:
    # LocalClusterOptions::clock).

    # -- white box -------------------------------------------------------------------------------

    def records(self, topic: str, partition: int = 0, *, broker: int | None = None,
                start: int = 0, committed: bool = True) -> list[Record]:
        """The records of one partition read straight from a broker's log (the leader's unless
        ``broker`` is given), from ``start`` up to the high watermark (the log end with
        ``committed=False``); control records are left out. In-process only; works while the
        broker is paused."""
        with self._lock:
            backend = self._backend_or_raise()
            if broker is None:
                info = backend.topics().get(topic)
                if info is None or partition >= len(info.partitions):
                    raise KeyError(f"no partition {topic}-{partition}")
                p = info.partitions[partition]
                live = [r for r in p.replicas if backend.running(r)]
                if p.leader is not None and backend.running(p.leader):
                    broker = p.leader
                elif live:
                    broker = live[0]
                else:
                    raise ValueError(f"no running broker holds {topic}-{partition}")
            return backend.records(broker, topic, partition, start, committed)

    def describe_groups(self, *groups: str) -> dict[str, Any]:
        """Consumer groups (all of them without arguments) as pykafkacore.admin
        GroupDescriptions: state, assignor, coordinator, members with their assignments."""
        from .admin import AdminClient

        with self._lock:
            bootstrap = self._backend_or_raise().bootstrap_servers
        with AdminClient(bootstrap) as admin:
            names = list(groups) or [g.group_id for g in admin.list_groups()]
            return admin.describe_groups(names) if names else {}

    def lag(self, group: str) -> dict[tuple[str, int], PartitionLag]:
        """Per partition the group committed to: committed offset, end offset (high
        watermark) and lag."""
        from .admin import AdminClient

        with self._lock:
            bootstrap = self._backend_or_raise().bootstrap_servers
        with AdminClient(bootstrap) as admin:
            return {(tp.topic, tp.partition): lag for tp, lag in admin.lag(group).items()}

    def reset_offsets(self, group: str, to: str | int | Mapping[tuple[str, int], int] = "earliest",
                      *, topic: str | None = None) -> dict[tuple[str, int], int]:
        """Moves the committed offsets of ``group`` (which must have no active members, as
        with kafka-consumer-groups.sh) for every partition it committed to, or every partition
        of ``topic``: ``to`` is ``"earliest"``, ``"latest"``, an offset (clamped to each
        partition's range) or a ``{(topic, partition): offset}`` mapping. Returns what was
        committed."""
        from .admin import AdminClient

        with self._lock:
            backend = self._backend_or_raise()
            bootstrap = backend.bootstrap_servers
            partitions = ([(topic, p.partition) for p in backend.topics()[topic].partitions]
                          if topic is not None else None)
        with AdminClient(bootstrap) as admin:
            if isinstance(to, Mapping):
                target = {(t, p): int(o) for (t, p), o in to.items()}
            else:
                if partitions is None:
                    partitions = [(tp.topic, tp.partition)
                                  for tp in admin.list_group_offsets(group)]
                if not partitions:
                    return {}
                earliest = admin.list_offsets(partitions, spec="earliest")
                latest = admin.list_offsets(partitions, spec="latest")
                target = {}
                for tp in partitions:
                    key = TopicPartition(*tp)
                    low, high = earliest[key].offset, latest[key].offset
                    if to == "earliest":
                        target[tp] = low
                    elif to == "latest":
                        target[tp] = high
                    elif isinstance(to, int) and not isinstance(to, bool):
                        target[tp] = min(max(to, low), high)
                    else:
                        raise ValueError(f"to must be 'earliest', 'latest', an offset or a "
                                         f"mapping, not {to!r}")
            admin.alter_group_offsets(group, target)
        return target

    def advance_time(self, seconds: float) -> None:
        """Moves the brokers' manual clock (``Cluster(manual_clock=True)``) forward and has
        every broker do its time-based work at once: when this returns, expired group members
        are gone, expired offsets and retention-expired segments deleted."""
        if not self._manual_clock:
            raise RuntimeError("advance_time needs Cluster(manual_clock=True)")
        with self._lock:
            backend = self._backend_or_raise()
            assert isinstance(backend, _InProcess)  # manual_clock needs mode='inprocess'
            backend.native.advance_time(int(seconds * 1000))

    def now(self) -> float:
        """The brokers' time in seconds since the epoch (the manual clock's, if any)."""
        if not self._manual_clock:
            return time.time()
        with self._lock:
            backend = self._backend_or_raise()
            assert isinstance(backend, _InProcess)  # manual_clock needs mode='inprocess'
            return backend.native.now_ms / 1000

    # -- display ---------------------------------------------------------------------------------

    def __repr__(self) -> str:
        controllers = (f", {len(self._controller_ids)} controller(s)"
                       if self._controller_ids else "")
        if self._backend is None:
            return f"<Cluster {self._mode}, {self._size} broker(s){controllers}, not running>"
        states = ", ".join(f"{b.id}:{b.state()}" for b in self._nodes.values())
        return (f"<Cluster {self._mode}, {self._size} broker(s){controllers} [{states}], "
                f"controller {self.controller}, bootstrap_servers={self.bootstrap_servers!r}>")

    def _repr_html_(self) -> str:
        if self._backend is None:
            return f"<p>{html.escape(repr(self))}</p>"
        controller = self.controller
        rows = "".join(
            f"<tr><td>{b.id}</td><td>{html.escape(b.bootstrap_servers)}</td>"
            f"<td>{b.state()}</td><td>{'yes' if b.id == controller else ''}</td></tr>"
            for b in self._nodes.values())
        brokers = ("<table><thead><tr><th>node</th><th>address</th><th>state</th>"
                   f"<th>controller</th></tr></thead><tbody>{rows}</tbody></table>")
        topics = self.topics()
        title = (f"<p><b>pykafkacore cluster</b> ({self._mode}, {self._size} broker(s)) "
                 f"<code>{html.escape(self.bootstrap_servers)}</code></p>")
        return (title + brokers + (_topics_table(topics) if topics else "<p>no topics</p>")
                + self._groups_html())

    def _groups_html(self) -> str:
        """Consumer groups with their state, members and total lag; a cluster that does not
        answer in time shows none rather than blocking the notebook."""
        from .admin import AdminClient
        from .errors import KafkaError

        try:
            with AdminClient(self.bootstrap_servers, request_timeout_ms=2000) as admin:
                names = [g.group_id for g in admin.list_groups(timeout=2)]
                if not names:
                    return ""
                described = admin.describe_groups(names, timeout=2)
                rows = []
                for name in sorted(described):
                    g = described[name]
                    lags = admin.lag(name, timeout=2).values()
                    total = sum(lag.lag for lag in lags if lag.lag >= 0)
                    rows.append(f"<tr><td>{html.escape(name)}</td><td>{html.escape(g.state)}</td>"
                                f"<td>{len(g.members)}</td><td>{len(lags)}</td><td>{total}</td></tr>")
        except KafkaError:
            return ""
        return ("<table><thead><tr><th>group</th><th>state</th><th>members</th>"
                "<th>partitions committed</th><th>lag</th></tr></thead><tbody>"
                + "".join(rows) + "</tbody></table>")

    # -- internals -------------------------------------------------------------------------------

    def _backend_or_raise(self, broker_id: int | None = None) -> _Backend:
        if self._backend is None:
            raise RuntimeError("the cluster is not running (use `with Cluster() as c:` or "
                               "c = Cluster().start())")
        if broker_id is not None and broker_id not in self._nodes:
            raise ValueError(f"no broker {broker_id} ({self._ids_text()})")
        return self._backend

    def _ids_text(self) -> str:
        text = f"ids are 1..{self._size}"
        if self._controller_ids:
            text += f", controllers {self._controller_ids[0]}..{self._controller_ids[-1]}"
        return text


def _topics_table(topics: Mapping[str, TopicInfo]) -> str:
    def ids(values: Sequence[int]) -> str:
        return ", ".join(str(v) for v in values)

    rows = []
    for name, t in topics.items():
        for p in t.partitions:
            rows.append(
                f"<tr><td>{html.escape(name)}</td><td>{p.partition}</td>"
                f"<td>{'' if p.leader is None else p.leader}</td><td>{ids(p.replicas)}</td>"
                f"<td>{ids(p.isr)}</td></tr>")
    return ("<table><thead><tr><th>topic</th><th>partition</th><th>leader</th><th>replicas</th>"
            f"<th>ISR</th></tr></thead><tbody>{''.join(rows)}</tbody></table>")


def _shutdown(backend: _Backend, temporary_dir: Path | None) -> None:
    try:
        backend.close()
    finally:
        if temporary_dir is not None:
            shutil.rmtree(temporary_dir, ignore_errors=True)


# ------------------------------------------------------------------------------------------------
# Backends: what differs between brokers on threads and brokers in processes


class _Backend(ABC):
    bootstrap_servers: str

    @abstractmethod
    def close(self) -> None: ...
    @abstractmethod
    def port(self, broker_id: int) -> int: ...
    @abstractmethod
    def running(self, broker_id: int) -> bool: ...
    @abstractmethod
    def paused(self, broker_id: int) -> bool: ...
    @abstractmethod
    def pid(self, broker_id: int) -> int | None: ...
    @abstractmethod
    def controller(self) -> int | None: ...
    @abstractmethod
    def topics(self) -> dict[str, TopicInfo]: ...
    @abstractmethod
    def create_topic(self, name: str, partitions: int, replication_factor: int,
                     configs: dict[str, str], timeout: float) -> None: ...
    @abstractmethod
    def delete_topic(self, name: str, timeout: float) -> None: ...
    @abstractmethod
    def kill(self, broker_id: int) -> None: ...
    @abstractmethod
    def stop(self, broker_id: int) -> None: ...
    @abstractmethod
    def restart(self, broker_id: int, on_started: Callable[[int], None] | None = None
                ) -> None: ...
    @abstractmethod
    def pause(self, broker_id: int) -> None: ...
    @abstractmethod
    def resume(self, broker_id: int) -> None: ...
    @abstractmethod
    def partition(self, side_a: list[int], side_b: list[int]) -> None: ...
    @abstractmethod
    def isolate(self, broker_id: int) -> None: ...
    @abstractmethod
    def heal(self) -> None: ...
    @abstractmethod
    def records(self, broker_id: int, topic: str, partition: int, start: int,
                committed: bool) -> list[Record]: ...


def _topic_info(name: str, d: Mapping[str, Any]) -> TopicInfo:
    parts = tuple(
        PartitionInfo(name, p["partition"], p["leader"] if p["leader"] >= 0 else None,
                      tuple(p["replicas"]), tuple(p["isr"]), p.get("leader_epoch"),
                      tuple(p.get("elr", ())))
        for p in d["partitions"])
    return TopicInfo(name, parts, d.get("id"), dict(d.get("configs") or {}))


class _InProcess(_Backend):
    def __init__(self, size: int, data_dir: Path, properties: dict[str, str], host: str,
                 ready_timeout: float, manual_clock: bool = False, controllers: int = 0) -> None:
        from ._core import LocalCluster

        props = {**properties, "host": host}
        self._cluster = LocalCluster(size, str(data_dir), props,
                                     ready_timeout_ms=int(ready_timeout * 1000),
                                     manual_clock=manual_clock, controllers=controllers)
        self._controller_ports = {c: int(self._cluster.controller_port(c))
                                  for c in self._cluster.controller_ids}
        self._ready_timeout_ms = int(ready_timeout * 1000)
        self.bootstrap_servers = self._cluster.bootstrap_servers

    @property
    def native(self) -> LocalCluster:
        """The _core.LocalCluster (request and disk faults, request logs)."""
        return self._cluster

    def close(self) -> None:
        self._cluster.stop()

    def port(self, broker_id: int) -> int:
        if broker_id in self._controller_ports:  # kept while it is stopped, like broker ports
            return self._controller_ports[broker_id]
        return int(self._cluster.broker_port(broker_id))

    def running(self, broker_id: int) -> bool:
        return bool(self._cluster.running(broker_id))

    def paused(self, broker_id: int) -> bool:
        return bool(self._cluster.paused(broker_id))

    def pid(self, broker_id: int) -> int | None:
        return None

    def controller(self) -> int | None:
        leader = self._cluster.controller_id
        return None if leader < 0 else int(leader)

    def topics(self) -> dict[str, TopicInfo]:
        image = self._cluster.metadata()
        if image is None:
            return {}
        return {name: _topic_info(name, t) for name, t in image["topics"].items()}

    def create_topic(self, name: str, partitions: int, replication_factor: int,
                     configs: dict[str, str], timeout: float) -> None:
        self._cluster.create_topic(name, partitions, replication_factor, configs,
                                   timeout_ms=int(timeout * 1000))

    def delete_topic(self, name: str, timeout: float) -> None:
        self._cluster.delete_topic(name, timeout_ms=int(timeout * 1000))

    def kill(self, broker_id: int) -> None:
        self._cluster.kill_broker(broker_id)

    def stop(self, broker_id: int) -> None:
        self._cluster.stop_broker(broker_id)

    def restart(self, broker_id: int, on_started: Callable[[int], None] | None = None) -> None:
        # Faults go back on before the broker serves: it listens now, it accepts clients only
        # once it has rejoined the cluster (wait_ready).
        self._cluster.restart_broker(broker_id, timeout_ms=self._ready_timeout_ms, wait=False)
        if on_started is not None:
            on_started(broker_id)
        self._cluster.wait_ready(self._ready_timeout_ms)

    def pause(self, broker_id: int) -> None:
        self._cluster.pause_broker(broker_id)

    def resume(self, broker_id: int) -> None:
        self._cluster.resume_broker(broker_id)

    def partition(self, side_a: list[int], side_b: list[int]) -> None:
        self._cluster.partition(side_a, side_b)

    def isolate(self, broker_id: int) -> None:
        self._cluster.isolate(broker_id)

    def heal(self) -> None:
        self._cluster.heal()

    def records(self, broker_id: int, topic: str, partition: int, start: int,
                committed: bool) -> list[Record]:
        from ._core import decode_batches

        out: list[Record] = []
        offset = start
        while True:
            read = self._cluster.read_partition(broker_id, topic, partition, offset,
                                                committed=committed)
            end = read["high_watermark"] if committed else read["log_end_offset"]
            batches = decode_batches(read["batches"]) if read["batches"] else []
            for batch in batches:
                if batch["is_control"]:
                    continue
                log_append = 1 if batch["timestamp_type"] == "log_append_time" else 0
                for r in batch["records"]:
                    if offset <= r["offset"] < end:
                        out.append(Record(topic, partition, r["offset"], r["timestamp"],
                                          r["key"], r["value"], r["headers"], log_append,
                                          batch["partition_leader_epoch"]))
            if not batches:
                return out
            last = batches[-1]
            offset = max(offset, last["base_offset"] + last["last_offset_delta"] + 1)
            if offset >= end:
                return out


class _ClientAdmin:
    """Topic and group admin over the Kafka protocol, with confluent-kafka's AdminClient until
    pykafkacore's own AdminClient lands (issue: native clients); then only this class changes."""

    def __init__(self, bootstrap: str) -> None:
        try:
            from confluent_kafka.admin import AdminClient
        except ImportError as e:  # pragma: no cover - confluent-kafka is a test dependency
            raise RuntimeError("this needs confluent-kafka for now (pip install confluent-kafka)"
                               ) from e
        self._admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 2,
                                   "reconnect.backoff.max.ms": 200,
                                   "socket.connection.setup.timeout.ms": 2000})

    # librdkafka binds a metadata request to one broker and retries it there after a transport
    # error: asked just as that broker was killed, it waits out the whole timeout for a broker
    # that never comes back. Short attempts let the next one pick a live broker.
    _METADATA_ATTEMPT_S = 1.0

    def metadata(self, topic: str | None = None, timeout: float = 5.0) -> Any:
        from confluent_kafka import KafkaError, KafkaException

        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            try:
                return self._admin.list_topics(
                    topic, timeout=max(0.05, min(remaining, self._METADATA_ATTEMPT_S)))
            except KafkaException as e:
                transient = e.args[0].code() in (KafkaError._TIMED_OUT, KafkaError._TRANSPORT,
                                                  KafkaError._ALL_BROKERS_DOWN)
                if not transient or time.monotonic() >= deadline:
                    raise
                time.sleep(0.05)

    def topics(self, timeout: float = 5.0) -> dict[str, TopicInfo]:
        md = self.metadata(timeout=timeout)
        out = {}
        for name, t in md.topics.items():
            if t.error is not None:
                continue
            parts = tuple(
                PartitionInfo(name, p.id, p.leader if p.leader >= 0 else None,
                              tuple(p.replicas), tuple(p.isrs))
                for p in sorted(t.partitions.values(), key=lambda p: p.id))
            out[name] = TopicInfo(name, parts)
        return out

    def controller(self) -> int | None:
        controller = self.metadata().controller_id
        return None if controller < 0 else int(controller)

    def create_topic(self, name: str, partitions: int, replication_factor: int,
                     configs: dict[str, str], timeout: float) -> None:
        from confluent_kafka import KafkaException
        from confluent_kafka.admin import NewTopic

        futures = self._admin.create_topics(
            [NewTopic(name, num_partitions=partitions, replication_factor=replication_factor,
                      config=configs)], operation_timeout=timeout, request_timeout=timeout)
        try:
            futures[name].result(timeout=timeout)
        except KafkaException as e:
            raise ValueError(f"{e.args[0].name()}: {e.args[0].str()}") from None

    def delete_topic(self, name: str, timeout: float) -> None:
        from confluent_kafka import KafkaException

        futures = self._admin.delete_topics([name], operation_timeout=timeout,
                                            request_timeout=timeout)
        try:
            futures[name].result(timeout=timeout)
        except KafkaException as e:
            raise ValueError(f"{e.args[0].name()}: {e.args[0].str()}") from None

    def describe_groups(self, groups: list[str], timeout: float = 10.0) -> dict[str, Any]:
        if not groups:
            listed = self._admin.list_consumer_groups(request_timeout=timeout).result(timeout)
            groups = [g.group_id for g in listed.valid]
        if not groups:
            return {}
        futures = self._admin.describe_consumer_groups(groups, request_timeout=timeout)
        return {g: f.result(timeout) for g, f in futures.items()}

    def lag(self, group: str, timeout: float = 10.0) -> dict[tuple[str, int], PartitionLag]:
        from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition
        from confluent_kafka.admin import OffsetSpec

        futures = self._admin.list_consumer_group_offsets(
            [ConsumerGroupTopicPartitions(group)], request_timeout=timeout)
        committed = futures[group].result(timeout).topic_partitions or []
        if not committed:
            return {}
        # OffsetSpec.latest is unannotated in confluent_kafka.
        latest = OffsetSpec.latest()  # type: ignore[no-untyped-call]
        futures_by_tp = self._admin.list_offsets(
            {TopicPartition(tp.topic, tp.partition): latest for tp in committed},
            request_timeout=timeout)
        ends = {(tp.topic, tp.partition): f.result(timeout).offset
                for tp, f in futures_by_tp.items()}
        out = {}
        for tp in sorted(committed, key=lambda tp: (tp.topic, tp.partition)):
            end = ends[(tp.topic, tp.partition)]
            done = tp.offset if tp.offset >= 0 else None
            out[(tp.topic, tp.partition)] = PartitionLag(done, end, end - (done or 0))
        return out


class _Processes(_Backend):
    def __init__(self, size: int, data_dir: Path, properties: dict[str, str], host: str,
                 ready_timeout: float, controllers: int = 0) -> None:
        from ._process import start_servers

        self._ready_timeout = ready_timeout
        self._servers = start_servers(size, data_dir, properties=properties, host=host,
                                      ready_timeout=ready_timeout, controllers=controllers)
        self.bootstrap_servers = ",".join(f"{host}:{s.port}" for s in self._servers.values()
                                          if s.port is not None)
        self._admin: _ClientAdmin | None = None

    def admin(self) -> _ClientAdmin:
        if self._admin is None:
            self._admin = _ClientAdmin(self.bootstrap_servers)
        return self._admin

    def close(self) -> None:
        self._admin = None  # its librdkafka threads end with it
        for s in self._servers.values():  # SIGTERM to all first, then wait for each
            if s.running:
                if s.proc is not None:
                    s.proc.terminate()
                s.resume()
        for s in self._servers.values():
            s.stop()

    def port(self, broker_id: int) -> int:
        server = self._servers[broker_id]
        port = server.port if server.port is not None else server.controller_port
        assert port is not None
        return port

    def running(self, broker_id: int) -> bool:
        return self._servers[broker_id].running

    def paused(self, broker_id: int) -> bool:
        return self._servers[broker_id].running and self._servers[broker_id].paused

    def pid(self, broker_id: int) -> int | None:
        return self._servers[broker_id].pid

    def controller(self) -> int | None:
        dedicated = [s for s in self._servers.values() if s.process_roles == "controller"]
        if not dedicated:
            return self.admin().controller()
        # Broker-only nodes name themselves in Metadata answers (as KRaft brokers do), so the
        # quorum leader comes from the controllers' own logs: the running one that last became
        # active in the highest term (its `controller active term=N` line; info level).
        best: tuple[int, int] | None = None
        for s in dedicated:
            if not s.running or s.paused:
                continue
            term = s.last_active_term()
            if term is not None and (best is None or term > best[0]):
                best = (term, s.node_id)
        return None if best is None else best[1]

    def topics(self) -> dict[str, TopicInfo]:
        return self.admin().topics()

    def create_topic(self, name: str, partitions: int, replication_factor: int,
                     configs: dict[str, str], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        self.admin().create_topic(name, partitions, replication_factor, configs, timeout)
        # Ready: a leader for every partition and the full ISR, as the cluster's metadata says.
        # (In-process mode checks every broker's own view; over the protocol this asks one.)
        while True:
            info = self.admin().topics().get(name)
            if (info is not None and len(info.partitions) == partitions
                    and all(p.leader is not None and len(p.isr) == len(p.replicas)
                            for p in info.partitions)):
                return
            if time.monotonic() > deadline:
                raise ValueError(f"REQUEST_TIMED_OUT: topic {name!r} created, but not ready "
                                 f"after {timeout} s: {info}")
            time.sleep(0.01)

    def delete_topic(self, name: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        self.admin().delete_topic(name, timeout)
        while name in self.admin().topics():
            if time.monotonic() > deadline:
                raise ValueError(f"REQUEST_TIMED_OUT: topic {name!r} still listed {timeout} s "
                                 f"after its deletion")
            time.sleep(0.01)

    def kill(self, broker_id: int) -> None:
        self._check_running(broker_id)
        self._servers[broker_id].kill()

    def stop(self, broker_id: int) -> None:
        self._check_running(broker_id)
        self._servers[broker_id].stop()

    def restart(self, broker_id: int, on_started: Callable[[int], None] | None = None) -> None:
        server = self._servers[broker_id]
        if server.running:
            raise ValueError(f"INVALID_REQUEST: broker {broker_id} is running")
        server.start()
        try:
            server.wait_ready(self._ready_timeout)
        except BaseException:
            server.kill()
            raise

    def pause(self, broker_id: int) -> None:
        self._check_running(broker_id)
        self._servers[broker_id].pause()

    def resume(self, broker_id: int) -> None:
        self._check_running(broker_id)
        self._servers[broker_id].resume()

    def partition(self, side_a: list[int], side_b: list[int]) -> None:
        raise NotImplementedError(
            "network partitions need the in-process cluster (mode='inprocess'): brokers in "
            "separate processes talk over real sockets that pykafkacore does not filter yet")

    def isolate(self, broker_id: int) -> None:
        self.partition([broker_id], [])

    def heal(self) -> None:
        self.partition([], [])

    def records(self, broker_id: int, topic: str, partition: int, start: int,
                committed: bool) -> list[Record]:
        raise NotImplementedError(
            "records() reads a broker's log in this process: use mode='inprocess' (or a "
            "consumer)")

    def _check_running(self, broker_id: int) -> None:
        if not self._servers[broker_id].running:
            raise ValueError(f"INVALID_REQUEST: broker {broker_id} is not running")
