"""Helpers shared by the consumer-group compatibility tests (test_groups_confluent.py,
test_groups_kafka_python.py).

- ``group_broker`` / ``broker_process_factory`` fixtures: an in-process broker with the group
  configs the tests rely on, and a broker run as a separate ``pykafkacore.cli serve`` process (so a
  restart is a real process restart and SIGKILL a real crash).
- ``EventLog``: what every group member saw, in order (assignments, revocations, records, commits,
  errors, start and end of life). In-process members (``Member``, one thread each) and member
  processes (``ConsumerProcess``) report to the same log; events carry ``time.monotonic()`` stamps
  (CLOCK_MONOTONIC is system-wide on Linux, so stamps taken in a child process order correctly
  against ours). The checks replay the log in time order.
- ``confluent_loop`` / ``kafka_python_loop``: the poll loop of one member (subscribe, poll, report,
  commit after processing), used by both ``Member`` and the child process.
- Expected assignments of the range and roundrobin assignors, and views of a group as the broker
  describes it (``GroupView``), so both test files assert the same shapes.

Run as a script (``python group_helpers.py '<json config>'``) this module is one group member in a
process of its own; it prints one JSON event per line on stdout (see ``_child_main``).
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
import traceback
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from compat_helpers import TEST_TIMEOUT, wait_for

# --- broker configs and fixtures ------------------------------------------------------------------

# Timeouts the clients use (the broker's group.min.session.timeout.ms is lowered to allow them).
SESSION_TIMEOUT_MS = 2000
STATIC_SESSION_TIMEOUT_MS = 6000
HEARTBEAT_INTERVAL_MS = 200
MAX_POLL_INTERVAL_MS = 10_000
# How long a test watches for a rebalance that must not happen (>> heartbeat interval: a member
# learns of a rebalance from its next heartbeat).
QUIET_PERIOD_S = 1.5

OFFSETS_TOPIC = "__consumer_offsets"
OFFSETS_TOPIC_PARTITIONS = 3

# Broker configs (Kafka's names) of every group test.
GROUP_BROKER_CONFIG = {
    "group.initial.rebalance.delay.ms": "0",
    "group.min.session.timeout.ms": "1000",
    "offsets.topic.num.partitions": str(OFFSETS_TOPIC_PARTITIONS),
}

# Kafka protocol error codes of the group APIs (the same numbers every client exposes).
OFFSET_METADATA_TOO_LARGE = 12
ILLEGAL_GENERATION = 22
UNKNOWN_MEMBER_ID = 25
REBALANCE_IN_PROGRESS = 27
NON_EMPTY_GROUP = 68
GROUP_ID_NOT_FOUND = 69
FENCED_INSTANCE_ID = 82
GROUP_SUBSCRIBED_TO_TOPIC = 86
# What a coordinator may answer while __consumer_offsets is created or loaded:
# COORDINATOR_LOAD_IN_PROGRESS, COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR.
TRANSIENT_COORDINATOR_ERRORS = frozenset({14, 15, 16})

TopicPartitionKey = tuple[str, int]


def group_name(prefix: str = "group") -> str:
    """A fresh group id."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def wait_for_group_coordinator(broker: Any, timeout: float = 20.0) -> None:
    """Waits until the broker's group coordinator answers an OffsetFetch without a transient
    error (on first use __consumer_offsets is created; after a restart it is loaded). Client-neutral
    setup like create_topic, through a confluent-kafka consumer's committed().

    Not through AdminClient.list_consumer_group_offsets: in librdkafka 2.16 an admin OffsetFetch
    answered with NOT_COORDINATOR or COORDINATOR_NOT_AVAILABLE crashes the process (SIGSEGV:
    rd_kafka_handle_OffsetFetch asks the client's consumer-group handle, which an admin client
    does not have, to re-query the coordinator). The tests use that admin call only after this.
    """
    from confluent_kafka import Consumer, KafkaException, TopicPartition

    consumer = Consumer({"bootstrap.servers": broker.bootstrap_servers,
                         "group.id": "pykafkacore-warm-up", "socket.timeout.ms": 5000,
                         "enable.auto.commit": False})
    last: list[Any] = []

    def answered() -> bool:
        try:
            consumer.committed([TopicPartition("pykafkacore-warm-up", 0)], timeout=5)
        except KafkaException as e:
            last[:] = [e]
            if e.args[0].code() in TRANSIENT_COORDINATOR_ERRORS:
                return False
            raise
        return True

    try:
        wait_for(answered, timeout=timeout, interval=0.1, what="the group coordinator to answer")
    except AssertionError as e:
        raise AssertionError(f"{e} (last error: {last})") from None
    finally:
        consumer.close()


@pytest.fixture
def group_broker(kafka_broker_factory: Callable[..., Any]) -> Any:
    """An in-process broker with GROUP_BROKER_CONFIG, its group coordinator ready."""
    broker = kafka_broker_factory(GROUP_BROKER_CONFIG)
    wait_for_group_coordinator(broker)
    return broker


class BrokerProcess:
    """A broker run as ``python -m pykafkacore.cli serve`` in a process of its own, on a data
    directory that outlives it: ``stop()`` is a clean shutdown (SIGTERM), ``kill()`` a crash
    (SIGKILL), ``start()`` again runs a new process on the same data (and a new port).

    Has ``bootstrap_servers``, ``port`` and ``data_dir`` like the in-process ``Broker``, so the
    compat helpers (create_topic, stored_batches) accept it.
    """

    def __init__(self, data_dir: Path, configs: dict[str, str]) -> None:
        self.data_dir = data_dir
        self.configs = dict(configs)
        self.proc: subprocess.Popen[str] | None = None
        self.bootstrap_servers = ""
        self.port = 0
        self.starts = 0

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout: float = 30.0) -> BrokerProcess:
        assert not self.running, "broker process already running"
        cmd = [sys.executable, "-m", "pykafkacore.cli", "serve", "--port", "0",
               "--host", "127.0.0.1", "--data-dir", str(self.data_dir)]
        for key, value in self.configs.items():
            cmd += ["--set", f"{key}={value}"]
        # stderr (the broker's logs) goes where ours goes: pytest's fd capture shows it.
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        self.starts += 1
        line = self._read_line(timeout)
        if not line.startswith("bootstrap.servers="):
            self.kill()
            raise AssertionError(f"{cmd} printed {line!r} instead of bootstrap.servers=...")
        self.bootstrap_servers = line.split("=", 1)[1].strip()
        self.port = int(self.bootstrap_servers.rsplit(":", 1)[1])
        wait_for_group_coordinator(self)
        return self

    def _read_line(self, timeout: float) -> str:
        assert self.proc is not None and self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not ready:
            self.kill()
            raise AssertionError(f"broker process printed nothing within {timeout}s")
        return self.proc.stdout.readline()

    def stop(self, timeout: float = 20.0) -> int:
        """Clean shutdown (SIGTERM); returns the exit status (0 expected)."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        finally:
            self._reap()

    def kill(self) -> None:
        """A crash: SIGKILL, nothing gets flushed or closed."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)
        self._reap()

    def _reap(self) -> None:
        if self.proc is not None and self.proc.stdout is not None:
            self.proc.stdout.close()

    def cleanup(self) -> None:
        if self.running:
            self.kill()


@pytest.fixture
def broker_process_factory(
        tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., BrokerProcess]]:
    """``broker_process_factory(**configs)`` starts a BrokerProcess with GROUP_BROKER_CONFIG plus
    `configs` (Kafka names, ``{"a.b": "1"}`` or ``a_b=1``); every one still running is killed
    after the test."""
    started: list[BrokerProcess] = []

    def start(configs: dict[str, Any] | None = None, **kwargs: Any) -> BrokerProcess:
        props = {"kafkacore.tick.ms": "100", **GROUP_BROKER_CONFIG}
        for key, value in {**(configs or {}), **kwargs}.items():
            text = str(value).lower() if isinstance(value, bool) else str(value)
            props[key.replace("_", ".")] = text
        broker = BrokerProcess(tmp_path_factory.mktemp("broker-process"), props)
        started.append(broker)
        return broker.start()

    yield start
    for broker in started:
        broker.cleanup()


# --- the event log --------------------------------------------------------------------------------

ENDS_LIFE = frozenset({"closed", "killed", "exited"})
REBALANCE_KINDS = frozenset({"assigned", "revoked", "lost"})


@dataclass
class Event:
    ts: float
    member: str
    # started assigned revoked lost record committed commit_failed error closed killed exited
    kind: str
    partitions: frozenset[TopicPartitionKey] = frozenset()
    record: tuple[str, int, int, bytes | None, bytes | None] | None = None
    offsets: dict[TopicPartitionKey, int] | None = None
    code: int | None = None
    info: str = ""


class EventLog:
    """Thread-safe, append-only log of what the group members saw. Reads replay it in time order.

    Ownership semantics are the same for eager and cooperative members: ``assigned`` adds
    partitions, ``revoked`` / ``lost`` remove them (an eager member revokes everything and is then
    assigned its whole new set; a cooperative one revokes and gets only what changes), and a
    member that closed, was killed or exited owns nothing.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: list[Event] = []

    def add(self, member: str, kind: str, *, ts: float | None = None,
            partitions: Iterable[TopicPartitionKey] = (),
            record: tuple[str, int, int, bytes | None, bytes | None] | None = None,
            offsets: dict[TopicPartitionKey, int] | None = None, code: int | None = None,
            info: str = "") -> Event:
        event = Event(ts=time.monotonic() if ts is None else ts, member=member, kind=kind,
                      partitions=frozenset((t, int(p)) for t, p in partitions), record=record,
                      offsets=dict(offsets) if offsets is not None else None, code=code, info=info)
        with self._lock:
            self._events.append(event)
        return event

    def add_json(self, member: str, data: dict[str, Any]) -> None:
        """An event as a member process printed it (see ``_json_emitter``)."""
        record = data.get("record")
        if record is not None:
            t, p, o, k, v = record
            record = (t, p, o, _unlatin(k), _unlatin(v))
        offsets = data.get("offsets")
        if offsets is not None:
            offsets = {(t, p): o for t, p, o in offsets}
        self.add(member, data["kind"], ts=data["ts"],
                 partitions=[tuple(tp) for tp in data.get("partitions") or ()], record=record,
                 offsets=offsets, code=data.get("code"), info=data.get("info", ""))

    def events(self, member: str | None = None, kinds: Iterable[str] | None = None,
               since: float = float("-inf")) -> list[Event]:
        wanted = set(kinds) if kinds is not None else None
        with self._lock:
            events = list(self._events)
        events.sort(key=lambda e: e.ts)  # stable: equal stamps keep the order they were added
        return [e for e in events
                if (member is None or e.member == member)
                and (wanted is None or e.kind in wanted) and e.ts >= since]

    def rebalances(self, member: str, since: float = float("-inf")) -> list[Event]:
        """The member's assigned / revoked / lost events (its rebalance callbacks)."""
        return self.events(member, REBALANCE_KINDS, since)

    def errors(self, member: str | None = None) -> list[Event]:
        return self.events(member, {"error"})

    def _replay(self) -> tuple[dict[str, set[TopicPartitionKey]], list[str]]:
        live: dict[str, set[TopicPartitionKey]] = {}
        violations: list[str] = []
        for e in self.events():
            if e.kind == "started":
                live[e.member] = set()
            elif e.kind == "assigned":
                owned = live.setdefault(e.member, set())
                for tp in e.partitions:
                    others = [m for m, parts in live.items() if m != e.member and tp in parts]
                    if others:
                        violations.append(f"{e.member} was assigned {tp} at {e.ts:.3f} while "
                                          f"{others} still owned it")
                owned |= e.partitions
            elif e.kind in ("revoked", "lost"):
                if e.member in live:
                    live[e.member] -= e.partitions
            elif e.kind in ENDS_LIFE:
                live.pop(e.member, None)
        return live, violations

    def owned(self) -> dict[str, frozenset[TopicPartitionKey]]:
        """Live members (started, not closed / killed / exited) and what each owns now."""
        live, _ = self._replay()
        return {m: frozenset(parts) for m, parts in live.items()}

    def ownership_violations(self) -> list[str]:
        """Every time a member was assigned a partition another live member had not given up."""
        return self._replay()[1]

    def records(self, member: str | None = None) -> list[tuple[str, int, int, bytes | None,
                                                               bytes | None]]:
        return [e.record for e in self.events(member, {"record"}) if e.record is not None]

    def offsets_seen(self, topic: str) -> dict[int, set[int]]:
        seen: dict[int, set[int]] = defaultdict(set)
        for t, p, o, _, _ in self.records():
            if t == topic:
                seen[p].add(o)
        return seen

    def dump(self, limit: int = 200) -> str:
        """The log's non-record events, for assertion messages."""
        lines = []
        for e in self.events():
            if e.kind == "record":
                continue
            detail = sorted(e.partitions) if e.partitions else (e.offsets or e.info or "")
            lines.append(f"{e.ts:.3f} {e.member} {e.kind} {detail}")
        return "\n".join(lines[-limit:])


def _latin(b: bytes | None) -> str | None:
    return None if b is None else b.decode("latin-1")


def _unlatin(s: str | None) -> bytes | None:
    return None if s is None else s.encode("latin-1")


# --- checks on the log ----------------------------------------------------------------------------


def all_records_seen(log: EventLog, topic: str, end_offsets: dict[int, int]) -> bool:
    seen = log.offsets_seen(topic)
    return all(set(range(end)) <= seen.get(p, set()) for p, end in end_offsets.items())


def check_at_least_once(log: EventLog, topic: str, end_offsets: dict[int, int],
                        per_key: int) -> dict[str, int]:
    """Every record reached some member, and records were re-delivered only where a rebalance
    handed a partition over before its last records were committed.

    Replays the log in time order; a *session* is one member's ownership of one partition, from
    the assignment to the revocation (or the member's end). Checks:
      - a member gets records only of partitions it owns;
      - within a session offsets are consecutive (nothing skipped, nothing read twice);
      - a session starts no earlier than the last offset committed (and acknowledged) for the
        partition before the session was assigned, and no later than one past the highest
        offset anyone had received (no gap);
      - every offset below the end offset was received, and every key (``k<partition>``, values
        are sequence numbers) has every sequence number 0..per_key-1.
    Returns counts for messages: records, duplicates, sessions.
    """
    problems: list[str] = []
    owned: dict[str, set[int]] = defaultdict(set)
    floor: dict[int, int] = defaultdict(int)  # highest acknowledged commit per partition
    highest: dict[int, int] = defaultdict(lambda: -1)  # highest offset received per partition
    sessions: dict[tuple[str, int], dict[str, int | None]] = {}
    n_sessions = 0
    seqs: dict[bytes, set[int]] = defaultdict(set)
    total = 0
    for e in log.events():
        mine = {p for t, p in e.partitions if t == topic}
        if e.kind == "started":
            owned[e.member] = set()
        elif e.kind == "assigned":
            owned[e.member] |= mine
            for p in mine:
                sessions[(e.member, p)] = {"next": None, "floor": floor[p]}
        elif e.kind in ("revoked", "lost"):
            owned[e.member] -= mine
            for p in mine:
                sessions.pop((e.member, p), None)
        elif e.kind in ENDS_LIFE:
            for p in owned.pop(e.member, set()):
                sessions.pop((e.member, p), None)
        elif e.kind == "committed" and e.offsets:
            for (t, p), offset in e.offsets.items():
                if t == topic:
                    floor[p] = max(floor[p], offset)
        elif e.kind == "record" and e.record is not None:
            t, p, offset, key, value = e.record
            if t != topic:
                continue
            total += 1
            if key is not None and value is not None:
                seqs[key].add(int(value))
            session = sessions.get((e.member, p))
            if p not in owned[e.member] or session is None:
                problems.append(f"{e.member} received {t}-{p}@{offset} without owning it")
            elif session["next"] is None:
                n_sessions += 1
                start_floor = session["floor"]
                assert start_floor is not None
                if offset < start_floor:
                    problems.append(f"{e.member} started {t}-{p} at {offset}, before the committed "
                                    f"offset {start_floor}")
                if offset > highest[p] + 1:
                    problems.append(f"{e.member} started {t}-{p} at {offset}: offsets "
                                    f"{highest[p] + 1}..{offset - 1} skipped")
            elif offset != session["next"]:
                problems.append(f"{e.member} read {t}-{p}@{offset} after @{session['next'] - 1} "
                                f"in one session")
            if session is not None:
                session["next"] = offset + 1
            highest[p] = max(highest[p], offset)
    seen = log.offsets_seen(topic)
    for p, end in end_offsets.items():
        missing = sorted(set(range(end)) - seen.get(p, set()))
        if missing:
            problems.append(f"{topic}-{p}: offsets never received: {missing[:20]}")
        beyond = sorted(o for o in seen.get(p, set()) if o >= end)
        if beyond:
            problems.append(f"{topic}-{p}: offsets beyond the end {end}: {beyond[:20]}")
    for p in end_offsets:
        key = b"k%d" % p
        missing = sorted(set(range(per_key)) - seqs.get(key, set()))
        if missing:
            problems.append(f"key {key!r}: sequence numbers never received: {missing[:20]}")
    distinct = sum(len(s) for s in seen.values())
    assert not problems, "\n".join(problems[:40]) + "\n--- events ---\n" + log.dump()
    return {"records": total, "duplicates": total - distinct, "sessions": n_sessions}


# --- the broker's view of a group -----------------------------------------------------------------


@dataclass(frozen=True)
class MemberView:
    member_id: str
    client_id: str
    host: str
    instance_id: str | None
    assignment: frozenset[TopicPartitionKey]
    topics: tuple[str, ...] = ()  # subscription, where the client decodes it


@dataclass(frozen=True)
class GroupView:
    """A group as DescribeGroups reports it; members keyed by client id (tests give every member
    its own client.id, its name in the EventLog)."""

    state: str  # Kafka's names: Stable, Empty, PreparingRebalance, CompletingRebalance, Dead
    protocol: str  # the assignor chosen
    members: dict[str, MemberView] = field(default_factory=dict)
    protocol_type: str = ""


def wait_for_steady(log: EventLog, view: Callable[[], GroupView], names: Iterable[str],
                    partitions: Iterable[TopicPartitionKey], counts: Iterable[int] | None = None,
                    timeout: float = 20.0) -> dict[str, frozenset[TopicPartitionKey]]:
    """Waits until exactly the members `names` are live, their assignments (as their callbacks
    told) cover `partitions` once each (sizes `counts` in any order, if given), and the broker
    describes the group as Stable with the same members owning the same partitions. Returns the
    assignment."""
    names = set(names)
    partitions = frozenset(partitions)
    want_counts = sorted(counts) if counts is not None else None
    last: dict[str, Any] = {}

    def steady() -> dict[str, frozenset[TopicPartitionKey]] | None:
        owned = log.owned()
        last["clients"] = owned
        if set(owned) != names:
            return None
        sets = [owned[n] for n in names]
        if sum(map(len, sets)) != len(partitions) or frozenset().union(*sets) != partitions:
            return None
        if want_counts is not None and sorted(map(len, sets)) != want_counts:
            return None
        group = view()
        last["broker"] = group
        if group.state != "Stable" or set(group.members) != names:
            return None
        if any(group.members[n].assignment != owned[n] for n in names):
            return None
        return owned

    try:
        return wait_for(steady, timeout=timeout, interval=0.1,
                        what=f"members {sorted(names)} to own {len(partitions)} partitions")
    except AssertionError as e:
        raise AssertionError(f"{e}\nclients: {last.get('clients')}\nbroker: {last.get('broker')}"
                             f"\n--- events ---\n{log.dump()}") from None


def wait_for_settled(log: EventLog, view: Callable[[], GroupView], names: Iterable[str],
                     partitions: Iterable[TopicPartitionKey], counts: Iterable[int] | None = None,
                     timeout: float = 30.0) -> dict[str, frozenset[TopicPartitionKey]]:
    """wait_for_steady, then no member sees a rebalance for QUIET_PERIOD_S, for tests that then
    assert that something causes none. kafka-python's leader can assign from a metadata snapshot
    taken before its subscription reached the metadata, and rejoins once the topic's partitions
    arrive (need_rejoin: "assignment_snapshot != metadata_snapshot"): one more rebalance, by the
    client, a moment after the group first looked steady."""
    names = list(names)
    partitions = frozenset(partitions)
    deadline = time.monotonic() + timeout
    while True:
        owned = wait_for_steady(log, view, names, partitions, counts,
                                timeout=max(1.0, deadline - time.monotonic()))
        mark = time.monotonic()
        time.sleep(QUIET_PERIOD_S)
        if all(log.rebalances(n, since=mark) == [] for n in names) and view().state == "Stable":
            return owned
        assert time.monotonic() < deadline, f"the group kept rebalancing\n{log.dump()}"


def check_exclusive_cover(assignment: dict[str, frozenset[TopicPartitionKey]],
                          partitions: Iterable[TopicPartitionKey]) -> None:
    every = [tp for parts in assignment.values() for tp in parts]
    assert len(every) == len(set(every)), f"a partition owned twice: {assignment}"
    assert set(every) == set(partitions), assignment


def expected_range(member_ids: Iterable[str],
                   topics: dict[str, int]) -> dict[str, frozenset[TopicPartitionKey]]:
    """Kafka's RangeAssignor: per topic, partitions in order split into contiguous runs over the
    members sorted by member id, the first ones getting one extra."""
    members = sorted(member_ids)
    out: dict[str, set[TopicPartitionKey]] = {m: set() for m in members}
    for topic, n in topics.items():
        per, extra = divmod(n, len(members))
        start = 0
        for i, m in enumerate(members):
            length = per + (1 if i < extra else 0)
            out[m].update((topic, p) for p in range(start, start + length))
            start += length
    return {m: frozenset(parts) for m, parts in out.items()}


def expected_roundrobin(member_ids: Iterable[str],
                        topics: dict[str, int]) -> dict[str, frozenset[TopicPartitionKey]]:
    """Kafka's RoundRobinAssignor (all members subscribe to all topics): every partition of the
    topics sorted by name dealt in turn to the members sorted by member id."""
    members = sorted(member_ids)
    out: dict[str, set[TopicPartitionKey]] = {m: set() for m in members}
    every = sorted((t, p) for t, n in topics.items() for p in range(n))
    for i, tp in enumerate(every):
        out[members[i % len(members)]].add(tp)
    return {m: frozenset(parts) for m, parts in out.items()}


# --- member poll loops (in-process threads and child processes) -----------------------------------

Emit = Callable[..., None]


def confluent_loop(consumer: Any, topics: list[str], emit: Emit, stop: threading.Event,
                   deadline: float, commit: bool) -> None:
    """One confluent-kafka member: subscribe, poll one message at a time (a message returned by
    poll() after a revocation never belongs to the revoked partitions), report, and with `commit`
    commit the processed offsets synchronously every ~100 ms and in the revocation callback
    (before the partitions are given up). Closes the consumer at the end."""
    from confluent_kafka import KafkaException, TopicPartition

    pending: dict[TopicPartitionKey, int] = {}

    def do_commit(only: set[TopicPartitionKey] | None = None) -> None:
        offsets = {tp: o for tp, o in pending.items() if only is None or tp in only}
        if not offsets:
            return
        try:
            result = consumer.commit(
                offsets=[TopicPartition(t, p, o) for (t, p), o in offsets.items()],
                asynchronous=False)
            failed = [f"{r.topic}-{r.partition}: {r.error}" for r in result or () if r.error]
            code = next((r.error.code() for r in result or () if r.error), None)
        except KafkaException as e:
            failed, code = [str(e)], e.args[0].code()
        if failed:
            emit("commit_failed", code=code, info="; ".join(failed))
            return
        for tp, o in offsets.items():
            if pending.get(tp) == o:
                del pending[tp]
        emit("committed", offsets=offsets)

    def keys(parts: list[Any]) -> set[TopicPartitionKey]:
        return {(p.topic, p.partition) for p in parts}

    def on_assign(_consumer: Any, parts: list[Any]) -> None:
        emit("assigned", partitions=keys(parts))

    def on_revoke(_consumer: Any, parts: list[Any]) -> None:
        revoked = keys(parts)
        if commit:
            do_commit(revoked)
        for tp in revoked:
            pending.pop(tp, None)
        emit("revoked", partitions=revoked)

    def on_lost(_consumer: Any, parts: list[Any]) -> None:
        lost = keys(parts)
        for tp in lost:
            pending.pop(tp, None)
        emit("lost", partitions=lost)

    emit("started")
    try:
        consumer.subscribe(topics, on_assign=on_assign, on_revoke=on_revoke, on_lost=on_lost)
        last_commit = time.monotonic()
        while not stop.is_set() and time.monotonic() < deadline:
            msg = consumer.poll(0.05)
            if msg is not None:
                err = msg.error()
                if err is not None:
                    emit("error", code=err.code(), info=str(err))
                else:
                    emit("record", record=(msg.topic(), msg.partition(), msg.offset(), msg.key(),
                                           msg.value()))
                    pending[(msg.topic(), msg.partition())] = msg.offset() + 1
            if commit and pending and (msg is None or time.monotonic() - last_commit > 0.1):
                do_commit()
                last_commit = time.monotonic()
    finally:
        consumer.close()


def warm_up_topics(consumer: Any, topics: Iterable[str], timeout: float = 10.0) -> None:
    """Makes a kafka-python consumer learn its topics' partitions before it subscribes: its group
    leader can stall after assigning without them (see WarmConsumer in
    test_groups_kafka_python.py)."""
    deadline = time.monotonic() + timeout
    for topic in topics:
        while not consumer.partitions_for_topic(topic) and time.monotonic() < deadline:
            time.sleep(0.05)


def kafka_python_loop(consumer: Any, topics: list[str], emit: Emit, stop: threading.Event,
                      deadline: float, commit: bool) -> None:
    """One kafka-python member: subscribe with a rebalance listener, poll, report, and with
    `commit` commit the processed offsets synchronously after every poll (kafka-python rebalances
    only inside poll(), and its listener runs on the IO thread where commit() cannot be called).
    Closes the consumer at the end."""
    import kafka.errors as Errors
    from kafka import ConsumerRebalanceListener, TopicPartition
    from kafka.structs import OffsetAndMetadata

    pending: dict[TopicPartitionKey, int] = {}

    def keys(parts: Iterable[Any]) -> set[TopicPartitionKey]:
        return {(tp.topic, tp.partition) for tp in parts}

    class Listener(ConsumerRebalanceListener):
        def on_partitions_revoked(self, revoked: Any) -> None:
            for tp in keys(revoked):
                pending.pop(tp, None)  # only offsets whose commit failed are left here
            emit("revoked", partitions=keys(revoked))

        def on_partitions_assigned(self, assigned: Any) -> None:
            emit("assigned", partitions=keys(assigned))

        def on_partitions_lost(self, lost: Any) -> None:
            for tp in keys(lost):
                pending.pop(tp, None)
            emit("lost", partitions=keys(lost))

    emit("started")
    try:
        warm_up_topics(consumer, topics)
        consumer.subscribe(topics, listener=Listener())
        while not stop.is_set() and time.monotonic() < deadline:
            try:
                batches = consumer.poll(timeout_ms=100, max_records=200)
            except Errors.KafkaError as e:
                emit("error", code=getattr(e, "errno", None), info=repr(e))
                time.sleep(0.1)
                continue
            for records in batches.values():
                for r in records:
                    emit("record", record=(r.topic, r.partition, r.offset, r.key, r.value))
                    pending[(r.topic, r.partition)] = r.offset + 1
            if commit and pending:
                offsets = dict(pending)
                try:
                    consumer.commit({TopicPartition(t, p): OffsetAndMetadata(o, "", -1)
                                     for (t, p), o in offsets.items()}, timeout_ms=5000)
                except Errors.KafkaError as e:
                    emit("commit_failed", code=getattr(e, "errno", None), info=repr(e))
                    continue
                for tp, o in offsets.items():
                    if pending.get(tp) == o:
                        del pending[tp]
                emit("committed", offsets=offsets)
    finally:
        consumer.close(timeout_ms=5000)


class Member:
    """A group member in this process: `consumer` polled by `loop` (confluent_loop or
    kafka_python_loop) on a thread of its own, reporting to `log` under `name`.

    ``close()`` stops the loop, which closes the consumer (a dynamic member leaves the group, a
    static one does not). ``cleanup()`` does the same but never raises (for finally blocks).
    """

    def __init__(self, log: EventLog, name: str, consumer: Any, topics: list[str],
                 loop: Callable[..., None], *, commit: bool = False) -> None:
        self.log = log
        self.name = name
        self.consumer = consumer
        self.topics = topics
        self.loop = loop
        self.commit = commit
        self.failure: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"member-{name}", daemon=True)

    def start(self) -> Member:
        self._thread.start()
        return self

    def emit(self, kind: str, **fields: Any) -> None:
        self.log.add(self.name, kind, **fields)

    def _run(self) -> None:
        try:
            self.loop(self.consumer, self.topics, self.emit, self._stop,
                      time.monotonic() + TEST_TIMEOUT + 10, self.commit)
        except BaseException as e:  # reported by close() / check()
            self.failure = e
            self.emit("error", info=traceback.format_exc())
        finally:
            self.emit("closed")

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def owned(self) -> frozenset[TopicPartitionKey]:
        return self.log.owned().get(self.name, frozenset())

    def check(self) -> None:
        if self.failure is not None:
            raise AssertionError(f"member {self.name} failed: {self.failure!r}") from self.failure

    def close(self, timeout: float = 20.0) -> None:
        self._stop.set()
        if self._thread.ident is not None:
            self._thread.join(timeout)
            assert not self._thread.is_alive(), f"member {self.name} did not close in {timeout}s"
        self.check()

    def cleanup(self) -> None:
        try:
            self.close()
        except BaseException:
            pass


class ConsumerProcess:
    """A group member in a process of its own (this file run as a script), so it can be
    SIGKILLed: it then stops heartbeating without leaving the group, like a crashed host.

    `client` is "confluent" or "kafka-python"; `conf` the consumer's configuration (confluent:
    the config dict; kafka-python: KafkaConsumer keyword arguments, JSON-serializable, with
    ``assignors`` as a list of names if needed). Its events land in `log` under `name`; a kill is
    logged as ``killed`` at the moment of the signal.
    """

    def __init__(self, log: EventLog, name: str, client: str, conf: dict[str, Any],
                 topics: list[str], *, commit: bool = False, max_seconds: float | None = None
                 ) -> None:
        self.log = log
        self.name = name
        self.config = {"client": client, "conf": conf, "topics": topics, "commit": commit,
                       "max_seconds": max_seconds or TEST_TIMEOUT + 10}
        self.proc: subprocess.Popen[str] | None = None
        self._reader: threading.Thread | None = None
        self._killed = False

    def start(self) -> ConsumerProcess:
        here = Path(__file__).resolve()
        self.proc = subprocess.Popen([sys.executable, str(here), json.dumps(self.config)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                     cwd=str(here.parent))
        self._reader = threading.Thread(target=self._read, name=f"reader-{self.name}",
                                        daemon=True)
        self._reader.start()
        return self

    def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                data = json.loads(line)
            except ValueError:
                continue  # a line cut short by SIGKILL
            self.log.add_json(self.name, data)
        if not self._killed:
            self.log.add(self.name, "exited")

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL: no LeaveGroup, no commit, no more heartbeats."""
        assert self.proc is not None
        self._killed = True
        ts = time.monotonic()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)
        self.log.add(self.name, "killed", ts=ts)
        self._finish()

    def stop(self, timeout: float = 20.0) -> int:
        """SIGTERM: the member closes its consumer and exits."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        finally:
            self._finish()

    def _finish(self) -> None:
        if self._reader is not None:
            self._reader.join(5)
        assert self.proc is not None
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                try:
                    pipe.close()
                except OSError:
                    pass

    def cleanup(self) -> None:
        try:
            if self.proc is not None and self.proc.poll() is None:
                self.kill()
        except BaseException:
            pass


def cleanup(*things: Any) -> None:
    """Closes / kills members, member processes and broker processes without raising."""
    for thing in things:
        if thing is None:
            continue
        try:
            thing.cleanup()
        except BaseException:
            pass


# --- the member process ---------------------------------------------------------------------------


def _json_emitter(lock: threading.Lock) -> Emit:
    def emit(kind: str, **fields: Any) -> None:
        data: dict[str, Any] = {"kind": kind, "ts": time.monotonic()}
        if fields.get("partitions"):
            data["partitions"] = sorted([t, p] for t, p in fields["partitions"])
        if fields.get("record") is not None:
            t, p, o, k, v = fields["record"]
            data["record"] = [t, p, o, _latin(k), _latin(v)]
        if fields.get("offsets") is not None:
            data["offsets"] = [[t, p, o] for (t, p), o in fields["offsets"].items()]
        if fields.get("code") is not None:
            data["code"] = fields["code"]
        if fields.get("info"):
            data["info"] = str(fields["info"])
        line = json.dumps(data)
        with lock:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()
    return emit


def _kafka_python_assignors(names: list[str]) -> list[Any]:
    from kafka.coordinator.assignors.cooperative_sticky import CooperativeStickyAssignor
    from kafka.coordinator.assignors.range import RangePartitionAssignor
    from kafka.coordinator.assignors.roundrobin import RoundRobinPartitionAssignor
    from kafka.coordinator.assignors.sticky.sticky_assignor import StickyPartitionAssignor

    known = {"range": RangePartitionAssignor, "roundrobin": RoundRobinPartitionAssignor,
             "sticky": StickyPartitionAssignor, "cooperative-sticky": CooperativeStickyAssignor}
    return [known[n] for n in names]


def _child_main(config_json: str) -> int:
    """One group member in this process. Stops (closing its consumer) on SIGTERM or after
    max_seconds; exits at once if stdin reaches EOF (the parent is gone)."""
    config = json.loads(config_json)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())

    def watch_parent() -> None:
        sys.stdin.read()
        os._exit(3)

    threading.Thread(target=watch_parent, daemon=True).start()
    emit = _json_emitter(threading.Lock())
    deadline = time.monotonic() + float(config["max_seconds"])
    try:
        if config["client"] == "confluent":
            from confluent_kafka import Consumer

            confluent_loop(Consumer(config["conf"]), config["topics"], emit, stop, deadline,
                           config["commit"])
        elif config["client"] == "kafka-python":
            from kafka import KafkaConsumer

            conf = dict(config["conf"])
            if "assignors" in conf:
                conf["partition_assignment_strategy"] = _kafka_python_assignors(
                    conf.pop("assignors"))
            kafka_python_loop(KafkaConsumer(**conf), config["topics"], emit, stop, deadline,
                              config["commit"])
        else:
            raise ValueError(f"unknown client {config['client']!r}")
    except BaseException:
        emit("error", info=traceback.format_exc())
        return 1
    finally:
        emit("closed")
    return 0


if __name__ == "__main__":
    sys.exit(_child_main(sys.argv[1]))
