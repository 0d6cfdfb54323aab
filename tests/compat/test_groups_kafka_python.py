"""kafka-python (3.x) consumer groups against the broker's group coordinator: partitions spread
over members and moved when members join, close or die; the range, roundrobin, sticky and
cooperative-sticky assignors; static membership and fencing; the member/generation checks of
OffsetCommit (raw requests and CommitFailedError); offsets surviving a broker restart (clean and
kill -9); auto-commit; commit metadata; at-least-once delivery while members come and go;
KafkaAdminClient (list, describe, offsets, lag, alter, delete offsets, delete groups).

Members run on threads of their own (group_helpers.Member) or, when they must die without leaving
the group, in processes of their own (group_helpers.ConsumerProcess); both report to an EventLog
that the checks replay. Broker configs: group_helpers.GROUP_BROKER_CONFIG.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Any

import kafka.errors as Errors
import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.coordinator.assignors.cooperative_sticky import CooperativeStickyAssignor
from kafka.coordinator.assignors.range import RangePartitionAssignor
from kafka.coordinator.assignors.roundrobin import RoundRobinPartitionAssignor
from kafka.coordinator.assignors.sticky.sticky_assignor import StickyPartitionAssignor
from kafka.protocol.consumer import OffsetCommitRequest, OffsetSpec
from kafka.structs import MemberState, OffsetAndMetadata

from compat_helpers import create_topic, topic_name, wait_for
from group_helpers import (  # noqa: F401  (fixtures are found by name in this module)
    FENCED_INSTANCE_ID,
    GROUP_BROKER_CONFIG,
    HEARTBEAT_INTERVAL_MS,
    ILLEGAL_GENERATION,
    MAX_POLL_INTERVAL_MS,
    OFFSETS_TOPIC,
    OFFSETS_TOPIC_PARTITIONS,
    QUIET_PERIOD_S,
    SESSION_TIMEOUT_MS,
    STATIC_SESSION_TIMEOUT_MS,
    UNKNOWN_MEMBER_ID,
    ConsumerProcess,
    EventLog,
    GroupView,
    Member,
    MemberView,
    all_records_seen,
    broker_process_factory,
    check_at_least_once,
    check_exclusive_cover,
    cleanup,
    expected_range,
    expected_roundrobin,
    group_broker,
    group_name,
    kafka_python_loop,
    wait_for_group_coordinator,
    wait_for_settled,
    wait_for_steady,
    warm_up_topics,
)

TIMEOUT = 10.0
TIMEOUT_MS = 10_000


# --- helpers --------------------------------------------------------------------------------------


def consumer_kwargs(broker: Any, group: str | None, name: str, **overrides: Any) -> dict[str, Any]:
    """A group consumer's configuration: client_id = its name in the EventLog and the group
    view. JSON-serializable (a ConsumerProcess gets it as is)."""
    kwargs: dict[str, Any] = {
        "bootstrap_servers": broker.bootstrap_servers,
        "group_id": group,
        "client_id": name,
        "session_timeout_ms": SESSION_TIMEOUT_MS,
        "heartbeat_interval_ms": HEARTBEAT_INTERVAL_MS,
        "max_poll_interval_ms": MAX_POLL_INTERVAL_MS,
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "fetch_max_wait_ms": 100,
        "request_timeout_ms": 5000,
        "bootstrap_timeout_ms": 8000,
    }
    kwargs.update(overrides)
    return kwargs


class WarmConsumer(KafkaConsumer):
    """Learns its topics' partitions before subscribing. kafka-python's group leader can stall
    after an assignment made without them (it joins before its own metadata request is
    answered, a client-side race a fast broker exposes); real applications rarely subscribe
    within milliseconds of creating the topic."""

    def subscribe(self, topics=(), pattern=None, listener=None):  # type: ignore[override]
        warm_up_topics(self, topics)
        return super().subscribe(topics, pattern=pattern, listener=listener)


def make_consumer(broker: Any, group: str | None, name: str, **overrides: Any) -> KafkaConsumer:
    return WarmConsumer(**consumer_kwargs(broker, group, name, **overrides))


def member(log: EventLog, broker: Any, group: str, name: str, topics: list[str], *,
           commit: bool = False, **overrides: Any) -> Member:
    return Member(log, name, make_consumer(broker, group, name, **overrides), topics,
                  kafka_python_loop, commit=commit)


def member_process(log: EventLog, broker: Any, group: str, name: str, topics: list[str], *,
                   commit: bool = False, **overrides: Any) -> ConsumerProcess:
    return ConsumerProcess(log, name, "kafka-python",
                           consumer_kwargs(broker, group, name, **overrides), topics,
                           commit=commit)


def make_admin(broker: Any) -> KafkaAdminClient:
    return KafkaAdminClient(bootstrap_servers=broker.bootstrap_servers, request_timeout_ms=5000,
                            bootstrap_timeout_ms=8000)


@pytest.fixture
def admin(group_broker: Any) -> Iterator[KafkaAdminClient]:
    client = make_admin(group_broker)
    yield client
    client.close()


def produce(broker: Any, topic: str, records: list[tuple[int, bytes | None, bytes]]) -> None:
    """Produces (partition, key, value) records and waits for every acknowledgement."""
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap_servers, linger_ms=5,
                             request_timeout_ms=5000, delivery_timeout_ms=8000, max_block_ms=8000,
                             bootstrap_timeout_ms=8000)
    try:
        futures = [producer.send(topic, key=k, value=v, partition=p) for p, k, v in records]
        producer.flush(timeout=TIMEOUT)
        for f in futures:
            f.get(timeout=TIMEOUT)
    finally:
        producer.close(timeout=TIMEOUT)


def consume(consumer: KafkaConsumer, count: int, timeout: float = 15.0) -> list[Any]:
    """Polls until `count` records arrived (a subscribed consumer joins its group meanwhile)."""
    out: list[Any] = []
    deadline = time.monotonic() + timeout
    while len(out) < count:
        left = deadline - time.monotonic()
        assert left > 0, f"got {len(out)} of {count} records within {timeout}s"
        for records in consumer.poll(timeout_ms=int(min(left, 0.2) * 1000),
                                     max_records=count - len(out)).values():
            out.extend(records)
    return out


def consume_nothing(consumer: KafkaConsumer, seconds: float = 0.5) -> None:
    got = consumer.poll(timeout_ms=int(seconds * 1000))
    assert {tp: [r.offset for r in rs] for tp, rs in got.items() if rs} == {}


def poll_until(consumer: KafkaConsumer, predicate: Callable[[], Any], timeout: float = 15.0,
               what: str = "condition") -> list[Any]:
    """Polls (joining, heartbeating, fetching) until predicate() holds; returns the records
    polled meanwhile."""
    out: list[Any] = []

    def done() -> Any:
        for records in consumer.poll(timeout_ms=100).values():
            out.extend(records)
        return predicate()

    wait_for(done, timeout=timeout, interval=0.0, what=what)
    return out


def poll_until_settled(consumer: KafkaConsumer, count: int, timeout: float = 15.0) -> None:
    """Polls until the consumer owns `count` partitions in a generation that stays the same for
    QUIET_PERIOD_S of polling. kafka-python's leader may rejoin once right after its first
    assignment (see group_helpers.wait_for_settled); a test that then adds a member must not
    start while that rejoin is under way."""
    deadline = time.monotonic() + timeout

    def stable_generation() -> tuple[int, str] | None:
        generation = consumer._coordinator.generation_if_stable()  # no public accessor
        return None if generation is None else (generation.generation_id, generation.member_id)

    while True:
        poll_until(consumer, lambda: len(consumer.assignment()) == count,
                   timeout=max(1.0, deadline - time.monotonic()), what=f"{count} partitions")
        before = stable_generation()
        quiet_until = time.monotonic() + QUIET_PERIOD_S
        while time.monotonic() < quiet_until:
            consumer.poll(timeout_ms=50)
        if before is not None and stable_generation() == before \
                and len(consumer.assignment()) == count:
            return
        assert time.monotonic() < deadline, "the consumer kept rebalancing"


def partitions_of(topic: str, n: int) -> set[tuple[str, int]]:
    return {(topic, p) for p in range(n)}


def tps_of(keys: set[tuple[str, int]]) -> list[TopicPartition]:
    return [TopicPartition(t, p) for t, p in sorted(keys)]


def describe(admin: KafkaAdminClient, group: str) -> GroupView:
    d = admin.describe_groups([group])[group]
    assert d["error"] is None, d
    members = {}
    for m in d["members"]:
        assignment = m["member_assignment"]
        parts = frozenset((t["topic"], p) for t in assignment["assigned_partitions"]
                          for p in t["partitions"]) if isinstance(assignment, dict) else frozenset()
        metadata = m["member_metadata"]
        topics = tuple(sorted(metadata["topics"])) if isinstance(metadata, dict) else ()
        members[m["client_id"]] = MemberView(
            member_id=m["member_id"], client_id=m["client_id"], host=m["client_host"],
            instance_id=m.get("group_instance_id"), assignment=parts, topics=topics)
    return GroupView(state=d["group_state"], protocol=d["protocol_data"], members=members,
                     protocol_type=d["protocol_type"])


def committed(admin: KafkaAdminClient, group: str,
              keys: set[tuple[str, int]] | None = None) -> dict[tuple[str, int], OffsetAndMetadata]:
    """OffsetFetch through the admin client (offset -1 where none); every committed partition
    if `keys` is None."""
    spec = {group: tps_of(keys) if keys is not None else None}
    return {(tp.topic, tp.partition): oam
            for tp, oam in admin.list_group_offsets(spec)[group].items()}


def committed_offsets(admin: KafkaAdminClient, group: str,
                      keys: set[tuple[str, int]] | None = None) -> dict[tuple[str, int], int]:
    return {key: oam.offset for key, oam in committed(admin, group, keys).items()}


def end_offsets(admin: KafkaAdminClient, keys: set[tuple[str, int]]) -> dict[tuple[str, int], int]:
    """ListOffsets (latest) through the admin client."""
    got = admin.list_partition_offsets({tp: OffsetSpec.LATEST for tp in tps_of(keys)})
    return {(tp.topic, tp.partition): info.offset for tp, info in got.items()}


def listed_groups(admin: KafkaAdminClient, states: list[str] | None = None
                  ) -> dict[str, dict[str, Any]]:
    return {g["group_id"]: g for g in admin.list_groups(states_filter=states)}


def raw_commit(admin: KafkaAdminClient, coordinator: int, group: str, generation: int,
               member_id: str, offsets: dict[TopicPartition, int],
               instance_id: str | None = None) -> dict[TopicPartition, int]:
    """An OffsetCommit request as a consumer would send it with this generation and member id;
    the error code per partition."""
    _Topic = OffsetCommitRequest.OffsetCommitRequestTopic
    _Partition = _Topic.OffsetCommitRequestPartition
    by_topic: dict[str, list[Any]] = defaultdict(list)
    for tp, offset in offsets.items():
        by_topic[tp.topic].append(_Partition(partition_index=tp.partition, committed_offset=offset,
                                             committed_leader_epoch=-1, committed_metadata=""))
    request = OffsetCommitRequest(
        group_id=group, generation_id_or_member_epoch=generation, member_id=member_id,
        group_instance_id=instance_id, retention_time_ms=-1,
        topics=[_Topic(name=t, partitions=ps) for t, ps in by_topic.items()], max_version=8)
    response = admin._manager.run(admin._manager.send, request, coordinator)
    return {TopicPartition(t.name, p.partition_index): p.error_code
            for t in response.topics for p in t.partitions}


# --- membership and rebalancing -------------------------------------------------------------------


def test_partitions_spread_and_move_on_join_close_and_crash(group_broker: Any,
                                                            admin: KafkaAdminClient) -> None:
    """3 members share 6 partitions 2-2-2; a 4th joins (2-2-1-1); one closes (its partitions go
    to the rest at once); one is SIGKILLed (its partitions move after the session timeout). No
    partition is ever owned by two members, and the broker's view matches the members'."""
    topic = create_topic(group_broker, topic_name("spread"), partitions=6)
    everything = partitions_of(topic, 6)
    group = group_name()
    log = EventLog()

    def view() -> GroupView:
        return describe(admin, group)

    members = [member(log, group_broker, group, f"m{i}", [topic]).start() for i in range(3)]
    crashing = None
    try:
        wait_for_steady(log, view, ["m0", "m1", "m2"], everything, counts=[2, 2, 2])

        crashing = member_process(log, group_broker, group, "m3", [topic]).start()
        wait_for_steady(log, view, ["m0", "m1", "m2", "m3"], everything, counts=[1, 1, 2, 2])

        members[2].close()
        wait_for_steady(log, view, ["m0", "m1", "m3"], everything, counts=[2, 2, 2])

        killed_at = time.monotonic()
        crashing.kill()
        wait_for_steady(log, view, ["m0", "m1"], everything, counts=[3, 3],
                        timeout=SESSION_TIMEOUT_MS / 1000 + 15)
        elapsed = time.monotonic() - killed_at
        assert elapsed >= SESSION_TIMEOUT_MS / 2000, (
            f"the dead member's partitions moved {elapsed:.2f}s after the kill, before its "
            f"session ({SESSION_TIMEOUT_MS} ms) could have timed out")
        assert not log.ownership_violations(), log.ownership_violations()
        for m in members:
            m.check()
    finally:
        cleanup(*members, crashing)


@pytest.mark.parametrize("assignor", [RangePartitionAssignor, RoundRobinPartitionAssignor],
                         ids=["range", "roundrobin"])
def test_assignor_shapes(group_broker: Any, admin: KafkaAdminClient, assignor: Any) -> None:
    """2 members, 2 topics x 3 partitions: range gives the member with the lower member id
    partitions 0-1 of both topics and the other partition 2 of both; roundrobin deals all six in
    turn. The broker relays the subscriptions to the leader and its assignment back."""
    base = topic_name(assignor.name)
    topics = {f"{base}-a": 3, f"{base}-b": 3}
    for t, n in topics.items():
        create_topic(group_broker, t, partitions=n)
    everything = {(t, p) for t, n in topics.items() for p in range(n)}
    group = group_name()
    log = EventLog()
    members = [member(log, group_broker, group, name, sorted(topics),
                      partition_assignment_strategy=[assignor]).start()
               for name in ("c0", "c1")]
    try:
        owned = wait_for_steady(log, lambda: describe(admin, group), ["c0", "c1"], everything,
                                counts=[2, 4] if assignor.name == "range" else [3, 3])
        view = describe(admin, group)
        assert (view.protocol_type, view.protocol) == ("consumer", assignor.name)
        assert {n: view.members[n].topics for n in view.members} == {
            n: tuple(sorted(topics)) for n in ("c0", "c1")}
        name_of = {view.members[n].member_id: n for n in ("c0", "c1")}
        expected = (expected_range if assignor.name == "range" else expected_roundrobin)(
            name_of, topics)
        assert {name_of[m]: parts for m, parts in expected.items()} == owned
    finally:
        cleanup(*members)


@pytest.mark.parametrize("assignor", [CooperativeStickyAssignor, StickyPartitionAssignor],
                         ids=["cooperative-sticky", "sticky"])
def test_sticky_assignors_keep_partitions(group_broker: Any, admin: KafkaAdminClient,
                                          assignor: Any) -> None:
    """When a 4th member joins 3 owning 2 partitions each, the old members keep their partitions
    except the ones that move to the newcomer. cooperative-sticky revokes only those
    (incremental); the eager sticky assignor revokes everything and gives the same back (its
    memory of the previous assignment travels in the member metadata the broker relays)."""
    topic = create_topic(group_broker, topic_name("sticky"), partitions=6)
    everything = partitions_of(topic, 6)
    group = group_name()
    log = EventLog()

    def view() -> GroupView:
        return describe(admin, group)

    names = ["a", "b", "c"]
    members = [member(log, group_broker, group, n, [topic],
                      partition_assignment_strategy=[assignor]).start() for n in names]
    try:
        before = wait_for_steady(log, view, names, everything, counts=[2, 2, 2])
        assert view().protocol == assignor.name
        mark = time.monotonic()
        members.append(member(log, group_broker, group, "d", [topic],
                              partition_assignment_strategy=[assignor]).start())
        after = wait_for_steady(log, view, names + ["d"], everything, counts=[1, 1, 2, 2])
        moved: set[tuple[str, int]] = set()
        for n in names:
            assert after[n] <= before[n], (n, before[n], after[n])
            revoked = {tp for e in log.events(n, {"revoked", "lost"}, since=mark)
                       for tp in e.partitions}
            if assignor is CooperativeStickyAssignor:
                added = {tp for e in log.events(n, {"assigned"}, since=mark)
                         for tp in e.partitions}
                assert revoked == before[n] - after[n], (n, revoked, before[n], after[n])
                assert added == set(), (n, added)
            else:
                assert revoked == before[n], (n, revoked, before[n])
            moved |= before[n] - after[n]
        assert after["d"] == moved
        assert not log.ownership_violations(), log.ownership_violations()
    finally:
        cleanup(*members)


# --- static membership ----------------------------------------------------------------------------


def test_static_member_restart_gets_its_partitions_back_without_rebalance(
        group_broker: Any, admin: KafkaAdminClient) -> None:
    """A static member (group_instance_id) that closes sends no LeaveGroup; started again with
    the same instance id within its session timeout it gets the same partitions back, under a new
    member id and in the same generation; the other (static) members see no rebalance (no
    listener call, generation unchanged)."""
    topic = create_topic(group_broker, topic_name("static"), partitions=6)
    everything = partitions_of(topic, 6)
    group = group_name()
    log = EventLog()
    # Every member static: kafka-python's range assignor drops a member when static and dynamic
    # ones are mixed (it groups them with itertools.groupby on an unsorted list).
    def static(name: str) -> dict[str, Any]:
        return {"group_instance_id": f"{group}-{name}",
                "session_timeout_ms": STATIC_SESSION_TIMEOUT_MS}

    def view() -> GroupView:
        return describe(admin, group)

    members = [member(log, group_broker, group, n, [topic], **static(n)).start()
               for n in ("a", "b", "s")]
    try:
        before = wait_for_settled(log, view, ["a", "b", "s"], everything, counts=[2, 2, 2])
        view_before = view()
        assert view_before.members["s"].instance_id == f"{group}-s"
        generation = {n: m.consumer.group_metadata().generation_id
                      for n, m in zip("abs", members)}
        assert len(set(generation.values())) == 1, generation
        mark = time.monotonic()

        members[2].close()
        still = view()
        assert still.state == "Stable", still
        assert still.members["s"].member_id == view_before.members["s"].member_id, still

        restarted = member(log, group_broker, group, "s", [topic], **static("s")).start()
        members.append(restarted)
        after = wait_for_steady(log, view, ["a", "b", "s"], everything, counts=[2, 2, 2])
        assert after == before
        view_after = view()
        assert view_after.members["s"].instance_id == f"{group}-s"
        assert view_after.members["s"].member_id != view_before.members["s"].member_id
        wait_for(lambda: restarted.consumer.group_metadata().state == MemberState.STABLE,
                 what="the restarted member to be stable")
        assert restarted.consumer.group_metadata().generation_id == generation["s"]

        time.sleep(QUIET_PERIOD_S)  # a rebalance would reach the others with their next heartbeat
        for n, m in zip("ab", members):
            assert log.rebalances(n, since=mark) == [], (n, log.dump())
            assert m.consumer.group_metadata().generation_id == generation[n]
        final = view()
        assert final.state == "Stable"
        for n in ("a", "b"):
            assert final.members[n].member_id == view_before.members[n].member_id
        assert log.owned() == before
        assert not log.ownership_violations(), log.ownership_violations()
    finally:
        cleanup(*members)


def test_second_static_member_with_same_instance_id_fences_the_first(
        group_broker: Any, admin: KafkaAdminClient) -> None:
    """A second live consumer joining with the instance id of a live static member takes its
    place (and partitions); the first is fenced: its commit fails with FENCED_INSTANCE_ID."""
    topic = create_topic(group_broker, topic_name("fence"), partitions=2)
    everything = partitions_of(topic, 2)
    group = group_name()
    instance = f"{group}-x"
    log = EventLog()
    static = {"group_instance_id": instance, "session_timeout_ms": STATIC_SESSION_TIMEOUT_MS}
    first = make_consumer(group_broker, group, "first", **static)
    second = None
    try:
        first.subscribe([topic])
        poll_until_settled(first, 2)
        second = member(log, group_broker, group, "second", [topic], **static).start()

        def took_over() -> bool:
            # One member, under the instance id (Kafka keeps the replaced member's client id).
            v = describe(admin, group)
            return (v.state == "Stable" and len(v.members) == 1
                    and next(iter(v.members.values())).instance_id == instance
                    and second.owned() == everything)

        wait_for(took_over, timeout=15, what="the second instance to replace the first")
        replacement = next(iter(describe(admin, group).members.values())).member_id
        assert replacement == second.consumer.group_metadata().member_id
        tp0 = TopicPartition(topic, 0)
        with pytest.raises(Errors.FencedInstanceIdError) as exc:
            first.commit({tp0: OffsetAndMetadata(1, "", -1)}, timeout_ms=TIMEOUT_MS)
        assert exc.value.errno == FENCED_INSTANCE_ID
        assert committed_offsets(admin, group, {(topic, 0)}) == {(topic, 0): -1}
        first.close()  # static: no LeaveGroup, the replacement stays
        first = None
        time.sleep(QUIET_PERIOD_S)
        v = describe(admin, group)
        assert v.state == "Stable", v
        assert [(m.member_id, m.instance_id) for m in v.members.values()] == [
            (replacement, instance)], v
        assert log.errors("second") == []
    finally:
        cleanup(second)
        if first is not None:
            first.close()


# --- commits and generations ----------------------------------------------------------------------


def test_offset_commit_checks_member_and_generation(group_broker: Any,
                                                    admin: KafkaAdminClient) -> None:
    """OffsetCommit as the coordinator must judge it: the member's current generation is
    accepted; a wrong or stale generation gets ILLEGAL_GENERATION, an unknown member
    UNKNOWN_MEMBER_ID, and a commit without membership (generation -1, the admin client's alter)
    UNKNOWN_MEMBER_ID while the group has members. A member keeps its member id across a
    rebalance."""
    topic = create_topic(group_broker, topic_name("generation"), partitions=2)
    group = group_name()
    node = group_broker.node_id
    tp0 = TopicPartition(topic, 0)
    log = EventLog()
    a = make_consumer(group_broker, group, "a")
    b = None
    try:
        a.subscribe([topic])
        poll_until_settled(a, 2)
        first = a.group_metadata()
        gen, mid = first.generation_id, first.member_id
        assert gen >= 1 and mid, first

        assert raw_commit(admin, node, group, gen, mid, {tp0: 1}) == {tp0: 0}
        assert raw_commit(admin, node, group, gen + 1, mid, {tp0: 2}) == {tp0: ILLEGAL_GENERATION}
        assert raw_commit(admin, node, group, gen, "no-such-member", {tp0: 2}) == {
            tp0: UNKNOWN_MEMBER_ID}
        assert raw_commit(admin, node, group, -1, "", {tp0: 2}) == {tp0: UNKNOWN_MEMBER_ID}
        assert admin.alter_group_offsets(group, {tp0: OffsetAndMetadata(2, "", -1)}) == {
            tp0: Errors.UnknownMemberIdError}
        assert committed_offsets(admin, group, {(topic, 0)}) == {(topic, 0): 1}

        # A rebalance: b joins, a (polled here) rejoins under a new generation.
        b = member(log, group_broker, group, "b", [topic]).start()

        def rebalanced() -> bool:
            md = a.group_metadata()
            v = describe(admin, group)
            return (md.state == MemberState.STABLE and md.generation_id > gen
                    and v.state == "Stable" and set(v.members) == {"a", "b"}
                    and len(b.owned()) == 1)

        poll_until(a, rebalanced, what="a rebalance with a and b")
        second = a.group_metadata()
        assert second.member_id == mid
        assert raw_commit(admin, node, group, gen, mid, {tp0: 3}) == {tp0: ILLEGAL_GENERATION}
        assert raw_commit(admin, node, group, second.generation_id, mid, {tp0: 4}) == {tp0: 0}
        assert committed_offsets(admin, group, {(topic, 0)}) == {(topic, 0): 4}
    finally:
        cleanup(b)
        a.close()


def test_commit_after_rebalance_behind_its_back_fails(group_broker: Any,
                                                      admin: KafkaAdminClient) -> None:
    """A member that goes silent (its heartbeats stopped: a long GC pause, a frozen VM) is
    expelled after its session timeout and the group rebalances without it. It still believes it
    is a stable member of its old generation; its commit is refused by the broker and surfaces as
    CommitFailedError, and the committed offset is left alone."""
    topic = create_topic(group_broker, topic_name("behind"), partitions=2)
    everything = partitions_of(topic, 2)
    produce(group_broker, topic, [(p, None, b"v%d" % i) for i in range(5) for p in (0, 1)])
    group = group_name()
    log = EventLog()
    silent = make_consumer(group_broker, group, "silent")
    newer = None
    try:
        silent.subscribe([topic])
        records = poll_until(silent, lambda: len(silent.assignment()) == 2,
                             what="the first member's join")
        records += consume(silent, 10 - len(records))
        poll_until_settled(silent, 2)  # every record is consumed: these polls return none
        stale_generation = silent._coordinator.generation_if_stable()
        assert stale_generation is not None
        # Internal: stop its heartbeat loop, nothing else (kafka-python heartbeats from its IO
        # thread even when poll() is not called).
        silent._coordinator._close_heartbeat()

        newer = member(log, group_broker, group, "newer", [topic]).start()
        wait_for_steady(log, lambda: describe(admin, group), ["newer"], everything,
                        timeout=SESSION_TIMEOUT_MS / 1000 + 15)
        assert silent._coordinator.generation_if_stable() == stale_generation  # still unaware
        with pytest.raises(Errors.CommitFailedError) as exc:
            silent.commit({TopicPartition(topic, 0): OffsetAndMetadata(7, "", -1)},
                          timeout_ms=TIMEOUT_MS)
        assert isinstance(exc.value.args[0],
                          (Errors.UnknownMemberIdError, Errors.IllegalGenerationError)), exc.value
        assert committed_offsets(admin, group, {(topic, 0)})[(topic, 0)] != 7
    finally:
        cleanup(newer)
        silent.close()


def test_offset_fetch_of_group_that_never_committed(group_broker: Any,
                                                    admin: KafkaAdminClient) -> None:
    """OffsetFetch for a group that never committed: no offset (None from the consumer, -1 from
    the admin client) per partition, nothing when asking for every partition, and asking creates
    no group."""
    topic = create_topic(group_broker, topic_name("nocommit"), partitions=2)
    keys = partitions_of(topic, 2)
    group = group_name()
    consumer = make_consumer(group_broker, group, "probe")
    try:
        assert [consumer.committed(tp) for tp in tps_of(keys)] == [None, None]
    finally:
        consumer.close()
    assert committed_offsets(admin, group, keys) == {key: -1 for key in keys}
    assert committed(admin, group) == {}
    assert group not in listed_groups(admin)


def test_manual_assign_and_commit_without_membership(group_broker: Any,
                                                     admin: KafkaAdminClient) -> None:
    """assign() + commit with a group_id but no subscription: the commit (no generation, no member
    id) is stored for the memberless group, the next standalone consumer starts there, and the
    broker lists the group as Empty with no protocol type and no members."""
    topic = create_topic(group_broker, topic_name("manual"), partitions=2)
    produce(group_broker, topic, [(0, None, b"v%d" % i) for i in range(6)])
    group = group_name()
    tp0 = TopicPartition(topic, 0)
    first = make_consumer(group_broker, group, "manual-1")
    try:
        first.assign([tp0])
        assert [r.offset for r in consume(first, 6)] == list(range(6))
        first.commit({tp0: OffsetAndMetadata(4, "", -1)}, timeout_ms=TIMEOUT_MS)
        assert first.committed(tp0) == 4
    finally:
        first.close()
    second = make_consumer(group_broker, group, "manual-2")
    try:
        second.assign([tp0])
        assert second.position(tp0) == 4
        assert [(r.offset, r.value) for r in consume(second, 2)] == [(4, b"v4"), (5, b"v5")]
        consume_nothing(second)
    finally:
        second.close()
    assert committed_offsets(admin, group, {(topic, 0)}) == {(topic, 0): 4}
    listing = listed_groups(admin)
    assert group in listing
    assert listing[group]["protocol_type"] == ""
    assert listing[group]["group_state"] == "Empty"
    view = describe(admin, group)
    assert (view.state, view.members) == ("Empty", {})


def test_commit_metadata_round_trips_and_is_size_limited(kafka_broker_factory: Any) -> None:
    """Metadata strings committed with offsets (OffsetAndMetadata) come back from OffsetFetch
    (consumer and admin); metadata longer than offset.metadata.max.bytes is refused with
    OFFSET_METADATA_TOO_LARGE and leaves the committed offset alone. (Exactly the limit is left
    out: Kafka 3.9 refuses it, the 4.x coordinator accepts it.)"""
    broker = kafka_broker_factory({**GROUP_BROKER_CONFIG, "offset.metadata.max.bytes": "64"})
    wait_for_group_coordinator(broker)
    topic = create_topic(broker, topic_name("meta"), partitions=2)
    group = group_name()
    tp0, tp1 = TopicPartition(topic, 0), TopicPartition(topic, 1)
    metadata = {0: "checkpoint é/✓ 1", 1: '{"batch": [1, 2], "host": "h"}'}
    consumer = make_consumer(broker, group, "meta")
    admin = make_admin(broker)
    try:
        consumer.assign([tp0, tp1])
        consumer.commit({tp0: OffsetAndMetadata(3, metadata[0], -1),
                         tp1: OffsetAndMetadata(5, metadata[1], -1)}, timeout_ms=TIMEOUT_MS)
        got = [consumer.committed(tp, metadata=True) for tp in (tp0, tp1)]
        assert [(m.offset, m.metadata) for m in got] == [(3, metadata[0]), (5, metadata[1])]
        fetched = committed(admin, group, partitions_of(topic, 2))
        assert {p: (fetched[(topic, p)].offset, fetched[(topic, p)].metadata) for p in (0, 1)} == {
            0: (3, metadata[0]), 1: (5, metadata[1])}

        with pytest.raises(Errors.OffsetMetadataTooLargeError):
            consumer.commit({tp0: OffsetAndMetadata(4, "x" * 100, -1)}, timeout_ms=TIMEOUT_MS)
        m = consumer.committed(tp0, metadata=True)
        assert (m.offset, m.metadata) == (3, metadata[0])

        consumer.commit({tp0: OffsetAndMetadata(4, "y" * 32, -1)}, timeout_ms=TIMEOUT_MS)
        m = consumer.committed(tp0, metadata=True)
        assert (m.offset, m.metadata) == (4, "y" * 32)
    finally:
        consumer.close()
        admin.close()


def test_auto_commit_then_new_member_resumes_after_consumed_records(
        group_broker: Any, admin: KafkaAdminClient) -> None:
    """enable_auto_commit with a 200 ms interval commits what was consumed while the member runs
    (the member then closes without its final commit); a new member of the group starts right
    after those records."""
    topic = create_topic(group_broker, topic_name("autocommit"), partitions=2)
    keys = partitions_of(topic, 2)
    produce(group_broker, topic, [(p, None, b"a%d" % i) for i in range(5) for p in (0, 1)])
    group = group_name()
    first = make_consumer(group_broker, group, "auto-1", enable_auto_commit=True,
                          auto_commit_interval_ms=200)
    try:
        first.subscribe([topic])
        assert len(consume(first, 10)) == 10
        poll_until(first, lambda: committed_offsets(admin, group, keys) == {k: 5 for k in keys},
                   timeout=10, what="the auto-commit of the consumed offsets")
    finally:
        first.close(autocommit=False)
    produce(group_broker, topic, [(p, None, b"b%d" % i) for i in range(2) for p in (0, 1)])
    second = make_consumer(group_broker, group, "auto-2")
    try:
        second.subscribe([topic])
        got = consume(second, 4)
        consume_nothing(second)
    finally:
        second.close()
    assert sorted((r.partition, r.offset, r.value) for r in got) == [
        (0, 5, b"b0"), (0, 6, b"b1"), (1, 5, b"b0"), (1, 6, b"b1")]


@pytest.mark.parametrize("how", ["sigterm", "sigkill"])
def test_committed_offsets_survive_broker_restart(broker_process_factory: Any, how: str) -> None:
    """Offsets (and their metadata) committed before the broker process stops — cleanly or by
    SIGKILL — are there after it starts again on the same data directory, and a member of the
    group resumes exactly at them: not earlier (re-reading), not later (skipping)."""
    broker = broker_process_factory()
    topic = create_topic(broker, topic_name("restart"), partitions=3)
    keys = partitions_of(topic, 3)
    produce(broker, topic,
            [(p, b"k%d" % p, b"%d-%d" % (p, i)) for i in range(10) for p in range(3)])
    group = group_name()
    commits = {0: 3, 1: 10, 2: 7}
    before = make_consumer(broker, group, "before")
    try:
        before.subscribe([topic])
        assert len(consume(before, 30)) == 30
        before.commit({TopicPartition(topic, p): OffsetAndMetadata(o, f"{how}-{p}", -1)
                       for p, o in commits.items()}, timeout_ms=TIMEOUT_MS)
    finally:
        before.close()
    admin = make_admin(broker)
    try:
        assert committed_offsets(admin, group, keys) == {(topic, p): o for p, o in commits.items()}
    finally:
        admin.close()

    if how == "sigterm":
        assert broker.stop() == 0
    else:
        broker.kill()
    broker.start()

    admin = make_admin(broker)
    try:
        fetched = committed(admin, group, keys)
        assert {p: (fetched[(topic, p)].offset, fetched[(topic, p)].metadata)
                for p in range(3)} == {p: (o, f"{how}-{p}") for p, o in commits.items()}
        assert end_offsets(admin, keys) == {k: 10 for k in keys}
    finally:
        admin.close()
    produce(broker, topic, [(p, b"k%d" % p, b"%d-new" % p) for p in range(3)])
    # Right after a restart the leader may assign before it has the topic's metadata (then it
    # assigns nothing and rejoins only when its metadata changes): refresh metadata often.
    after = make_consumer(broker, group, "after", metadata_max_age_ms=1000)
    try:
        after.subscribe([topic])
        got = consume(after, sum(11 - o for o in commits.values()))
        consume_nothing(after)
    finally:
        after.close()
    by_partition: dict[int, list[int]] = {p: [] for p in range(3)}
    for r in sorted(got, key=lambda r: (r.partition, r.offset)):
        by_partition[r.partition].append(r.offset)
    assert by_partition == {p: list(range(o, 11)) for p, o in commits.items()}


def test_offsets_topic_is_internal_with_configured_partitions(group_broker: Any,
                                                              admin: KafkaAdminClient) -> None:
    """Commits land in __consumer_offsets: an internal topic with offsets.topic.num.partitions
    partitions."""
    topic = create_topic(group_broker, topic_name("internal"), partitions=1)
    group = group_name()
    tp0 = TopicPartition(topic, 0)
    consumer = make_consumer(group_broker, group, "internal")
    try:
        consumer.assign([tp0])
        consumer.commit({tp0: OffsetAndMetadata(0, "", -1)}, timeout_ms=TIMEOUT_MS)
    finally:
        consumer.close()
    (desc,) = admin.describe_topics([OFFSETS_TOPIC])
    assert desc["is_internal"] is True
    assert len(desc["partitions"]) == OFFSETS_TOPIC_PARTITIONS


# --- at-least-once while members come and go ------------------------------------------------------


def test_every_record_consumed_while_members_come_and_go(group_broker: Any,
                                                         admin: KafkaAdminClient) -> None:
    """6 keys (one per partition) x 120 sequence numbers produced over ~3 s while the group
    changes: A alone, B joins, C (a process) joins, A closes, C is SIGKILLed, D joins. Members
    commit after processing. Every sequence number of every key is consumed; re-deliveries only
    start at a rebalance and never before the last acknowledged commit; no gaps."""
    partitions, per_key = 6, 120
    topic = create_topic(group_broker, topic_name("churn"), partitions=partitions)
    everything = partitions_of(topic, partitions)
    group = group_name()
    log = EventLog()
    members: dict[str, Member] = {}
    crashing: ConsumerProcess | None = None
    producer = KafkaProducer(bootstrap_servers=group_broker.bootstrap_servers, linger_ms=5,
                             request_timeout_ms=5000, delivery_timeout_ms=10000,
                             max_block_ms=8000, bootstrap_timeout_ms=8000)
    futures: list[Any] = []

    def start(name: str) -> None:
        members[name] = member(log, group_broker, group, name, [topic], commit=True).start()

    try:
        start("a")
        wait_for(lambda: members["a"].owned() == everything, timeout=15,
                 what="the first member to own every partition")
        for seq in range(per_key):
            if seq == 20:
                start("b")
            elif seq == 40:
                crashing = member_process(log, group_broker, group, "c", [topic],
                                          commit=True).start()
            elif seq == 60:
                members["a"].close()
            elif seq == 80:
                assert crashing is not None
                crashing.kill()
            elif seq == 100:
                start("d")
            for p in range(partitions):
                futures.append(producer.send(topic, key=b"k%d" % p, value=b"%d" % seq,
                                             partition=p))
            time.sleep(0.02)
        producer.flush(timeout=TIMEOUT)
        for f in futures:
            f.get(timeout=TIMEOUT)
        end = {p: per_key for p in range(partitions)}
        wait_for(lambda: all_records_seen(log, topic, end), timeout=25,
                 what="every record to be consumed")
        wait_for(lambda: committed_offsets(admin, group, everything) == {
            (topic, p): per_key for p in range(partitions)}, timeout=10,
                 what="the last commits")
        stats = check_at_least_once(log, topic, end, per_key)
        assert stats["records"] >= partitions * per_key, stats
        assert not log.ownership_violations(), log.ownership_violations()
        for m in members.values():
            m.check()
    finally:
        cleanup(*members.values(), crashing)
        producer.close(timeout=TIMEOUT)


# --- admin ----------------------------------------------------------------------------------------


def test_lag_is_end_offset_minus_committed(group_broker: Any, admin: KafkaAdminClient) -> None:
    """Lag per partition = end offset (ListOffsets, and the consumer's end_offsets agree) -
    committed offset; a partition without a commit has no committed offset (-1)."""
    topic = create_topic(group_broker, topic_name("lag"), partitions=3)
    keys = partitions_of(topic, 3)
    sizes = {0: 8, 1: 3, 2: 5}
    produce(group_broker, topic, [(p, None, b"%d" % i) for p, n in sizes.items() for i in range(n)])
    group = group_name()
    consumer = make_consumer(group_broker, group, "lagger")
    try:
        consumer.subscribe([topic])
        assert len(consume(consumer, sum(sizes.values()))) == sum(sizes.values())
        consumer.commit({TopicPartition(topic, 0): OffsetAndMetadata(2, "", -1),
                         TopicPartition(topic, 1): OffsetAndMetadata(3, "", -1)},
                        timeout_ms=TIMEOUT_MS)
    finally:
        consumer.close()
    produce(group_broker, topic, [(0, None, b"more%d" % i) for i in range(4)])
    offsets = committed_offsets(admin, group, keys)
    assert offsets == {(topic, 0): 2, (topic, 1): 3, (topic, 2): -1}
    ends = end_offsets(admin, keys)
    assert ends == {(topic, 0): 12, (topic, 1): 3, (topic, 2): 5}
    lag = {k: ends[k] - offsets[k] for k in keys if offsets[k] >= 0}
    assert lag == {(topic, 0): 10, (topic, 1): 0}
    probe = make_consumer(group_broker, None, "watermarks")
    try:
        assert probe.end_offsets(tps_of(keys)) == {
            TopicPartition(topic, p): n for p, n in {0: 12, 1: 3, 2: 5}.items()}
    finally:
        probe.close()


def test_admin_lists_describes_and_deletes_groups(group_broker: Any,
                                                  admin: KafkaAdminClient) -> None:
    """ListGroups (with a state filter), DescribeGroups (state, protocol, members, subscriptions,
    assignments), OffsetFetch for the whole group; while members are active DeleteGroups is
    refused (NON_EMPTY_GROUP), OffsetDelete of a subscribed topic too (GROUP_SUBSCRIBED_TO_TOPIC)
    and an alter (commit without membership) gets UNKNOWN_MEMBER_ID; once the group is empty all
    three work; then the group is gone (GROUP_ID_NOT_FOUND)."""
    topic = create_topic(group_broker, topic_name("admin"), partitions=4)
    everything = partitions_of(topic, 4)
    produce(group_broker, topic, [(p, None, b"%d" % i) for i in range(3) for p in range(4)])
    group = group_name()
    log = EventLog()
    tp0, tp1 = TopicPartition(topic, 0), TopicPartition(topic, 1)
    members = [member(log, group_broker, group, n, [topic], commit=True).start()
               for n in ("a", "b")]
    try:
        owned = wait_for_steady(log, lambda: describe(admin, group), ["a", "b"], everything,
                                counts=[2, 2])
        wait_for(lambda: committed_offsets(admin, group, everything) == {
            k: 3 for k in everything}, timeout=10, what="the members' commits")

        listing = listed_groups(admin)
        assert group in listing
        assert listing[group]["protocol_type"] == "consumer"
        assert listing[group]["group_state"] == "Stable"
        assert group in listed_groups(admin, ["Stable"])
        assert group not in listed_groups(admin, ["Empty"])

        view = describe(admin, group)
        assert (view.state, view.protocol_type, view.protocol) == ("Stable", "consumer", "range")
        assert set(view.members) == {"a", "b"}
        for n in ("a", "b"):
            m = view.members[n]
            assert m.member_id and m.host and m.instance_id is None
            assert m.topics == (topic,)
            assert m.assignment == owned[n]
        assert view.members["a"].member_id != view.members["b"].member_id
        check_exclusive_cover({n: view.members[n].assignment for n in view.members}, everything)

        assert committed_offsets(admin, group) == {k: 3 for k in everything}
        assert end_offsets(admin, everything) == {k: 3 for k in everything}

        assert admin.delete_groups([group]) == {group: "NonEmptyGroupError"}
        assert admin.delete_group_offsets(group, [tp0]) == {tp0: Errors.GroupSubscribedToTopicError}
        assert admin.alter_group_offsets(group, {tp0: OffsetAndMetadata(1, "", -1)}) == {
            tp0: Errors.UnknownMemberIdError}
        assert committed_offsets(admin, group, {(topic, 0)}) == {(topic, 0): 3}

        for m in members:
            m.close()
        wait_for(lambda: describe(admin, group).state == "Empty", timeout=10,
                 what="the group to be empty")
        assert describe(admin, group).members == {}
        assert listed_groups(admin)[group]["group_state"] == "Empty"
        assert committed_offsets(admin, group) == {k: 3 for k in everything}

        assert admin.alter_group_offsets(group, {tp0: OffsetAndMetadata(1, "", -1)}) == {
            tp0: Errors.NoError}
        assert committed_offsets(admin, group, {(topic, 0)}) == {(topic, 0): 1}
        assert admin.delete_group_offsets(group, [tp1]) == {tp1: Errors.NoError}
        assert committed_offsets(admin, group, {(topic, 0), (topic, 1)}) == {
            (topic, 0): 1, (topic, 1): -1}

        assert admin.delete_groups([group]) == {group: "OK"}
        assert group not in listed_groups(admin)
        assert committed_offsets(admin, group, everything) == {k: -1 for k in everything}
        assert admin.delete_groups([group]) == {group: "GroupIdNotFoundError"}
        with pytest.raises(Errors.GroupIdNotFoundError):
            admin.delete_group_offsets(group, [tp0])
    finally:
        cleanup(*members)
