"""pykafkacore.Consumer against a real in-process broker, cross-checked with confluent-kafka."""

from __future__ import annotations

import threading
import time

import pytest

from pykafkacore import Consumer, Producer, TopicPartition
from pykafkacore.errors import KafkaError
from pykafkacore.records import Record

confluent_kafka = pytest.importorskip("confluent_kafka")

FAST_GROUP = {"heartbeat_interval_ms": 200, "session_timeout_ms": 6000}
# Lookups (position, offsets, metadata) queue behind a long-polling Fetch on the same connection
# (as in Kafka), so an idle consumer's fetch.max.wait.ms (500) adds to each; keep it short here.
FAST_FETCH = {"fetch_max_wait_ms": 50}


def _create(broker, topic: str, partitions: int) -> None:
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": broker.bootstrap_servers})
    admin.create_topics([NewTopic(topic, partitions, 1)])[topic].result(10)


def _poll_until(consumer: Consumer, count: int, deadline_s: float = 10.0) -> list[Record]:
    out: list[Record] = []
    deadline = time.monotonic() + deadline_s
    while len(out) < count and time.monotonic() < deadline:
        out.extend(consumer.poll(0.2))
    return out


def test_assign_seek_poll_records_from_both_producers(kafka_broker):
    _create(kafka_broker, "c-basic", 1)
    with Producer(kafka_broker) as ours:
        for i in range(5):
            ours.send("c-basic", f"v{i}".encode(), key=f"k{i}".encode(), partition=0,
                      headers=[("h", b"x"), ("n", None)])
        ours.flush(10)
    theirs = confluent_kafka.Producer({"bootstrap.servers": kafka_broker.bootstrap_servers})
    for i in range(5, 10):
        theirs.produce("c-basic", value=f"v{i}".encode(), key=None, partition=0,
                       headers=[("h", b"y")])
    assert theirs.flush(10) == 0

    tp = TopicPartition("c-basic", 0)
    with Consumer(bootstrap_servers=kafka_broker, auto_offset_reset="earliest",
                  **FAST_FETCH) as consumer:
        consumer.assign([tp])
        assert consumer.assignment() == {tp}
        records = _poll_until(consumer, 10)
        assert [r.offset for r in records] == list(range(10))
        assert records[0].value == b"v0" and records[0].key == b"k0"
        assert records[0].headers == (("h", b"x"), ("n", None))
        assert records[7].key is None and records[7].headers == (("h", b"y"),)
        assert records[0].timestamp > 0 and records[0].timestamp_type == 0
        assert records[0].topic_partition == tp
        assert consumer.position(tp) == 10
        assert consumer.end_offsets([tp]) == {tp: 10}
        assert consumer.beginning_offsets([tp]) == {tp: 0}

        consumer.seek(tp, 6)
        assert consumer.position(tp) == 6
        assert [r.offset for r in _poll_until(consumer, 4)] == [6, 7, 8, 9]
        consumer.seek_to_beginning()
        assert consumer.position(tp) == 0
        consumer.seek_to_end(tp)
        assert consumer.position(tp) == 10

        # max_records hands out the rest on the next poll, positions stay honest
        consumer.seek(tp, 0)
        first = []
        deadline = time.monotonic() + 10
        while not first and time.monotonic() < deadline:
            first = consumer.poll(0.2, max_records=3)
        assert [r.offset for r in first] == [0, 1, 2]
        assert consumer.position(tp) == 3
        assert consumer.poll(0, max_records=2)[0].offset == 3

        ts = records[4].timestamp
        found = consumer.offsets_for_times({tp: ts, ("c-basic", 0): ts})
        assert found[tp] is not None and found[tp][0] <= 4
        assert consumer.offsets_for_times({tp: ts + 10**9}) == {tp: None}
        assert consumer.partitions_for("c-basic") == {0}
        assert "c-basic" in consumer.topics()
        assert "Consumer" in repr(consumer)
    assert "closed" in repr(consumer)


def test_deserializers_iteration_and_pause_resume(kafka_broker):
    _create(kafka_broker, "c-serde", 2)
    with Producer(kafka_broker, value_serializer="json", key_serializer="str") as p:
        for i in range(20):
            p.send("c-serde", {"n": i}, key=f"user-{i}", partition=i % 2)
        p.send("c-serde", None, key="tomb", partition=0)
        p.flush(10)
    tp0, tp1 = TopicPartition("c-serde", 0), TopicPartition("c-serde", 1)
    consumer = Consumer(bootstrap_servers=kafka_broker.bootstrap_servers,
                        key_deserializer="str", value_deserializer="json",
                        auto_offset_reset="earliest", consumer_timeout_ms=1000, **FAST_FETCH)
    try:
        consumer.assign([tp0, ("c-serde", 1)])
        consumer.pause(tp1)
        assert consumer.paused() == {tp1}
        seen = []
        for record in consumer:
            seen.append(record)
            if len(seen) == 11:
                break
        assert {r.partition for r in seen} == {0}
        assert seen[0].key == "user-0" and seen[0].value == {"n": 0}
        assert seen[-1].key == "tomb" and seen[-1].value is None
        consumer.resume(tp1)
        assert consumer.paused() == set()
        rest = list(consumer)  # ends after consumer_timeout_ms without records
        assert sorted(r.value["n"] for r in rest) == list(range(1, 20, 2))
    finally:
        consumer.close()


def test_subscribe_commit_committed_and_resume_after_recreate(kafka_broker):
    _create(kafka_broker, "c-commit", 2)
    with Producer(kafka_broker) as p:
        for partition in (0, 1):
            p.send_many("c-commit", [b"%d" % i for i in range(10)], partition=partition).result(10)

    def make(**kw):
        return Consumer("c-commit", bootstrap_servers=kafka_broker, group_id="g-commit",
                        auto_offset_reset="earliest", enable_auto_commit=False, **FAST_GROUP, **kw)

    tps = [TopicPartition("c-commit", 0), TopicPartition("c-commit", 1)]
    with make() as consumer:
        assert consumer.subscription() == {"c-commit"}
        got = _poll_until(consumer, 20)
        assert len(got) == 20 and consumer.assignment() == set(tps)
        assert consumer.member_id and consumer.generation >= 1 and consumer.group_id == "g-commit"
        assert consumer.committed(tps) == {tps[0]: None, tps[1]: None}
        by_tp = {tp: sum(1 for r in got if r.topic_partition == tp) for tp in tps}
        # commit the first half of partition 0 synchronously, all of partition 1 asynchronously
        consumer.commit({tps[0]: by_tp[tps[0]] // 2})
        outcome = []
        consumer.commit({tps[1]: by_tp[tps[1]]}, asynchronous=True,
                        callback=lambda offsets, error: outcome.append((offsets, error)))
        deadline = time.monotonic() + 5
        while not outcome and time.monotonic() < deadline:
            consumer.poll(0.05)
        assert outcome == [({tps[1]: by_tp[tps[1]]}, None)]
        assert consumer.committed(tps) == {tps[0]: by_tp[tps[0]] // 2, tps[1]: by_tp[tps[1]]}
        assert consumer.committed(tps[0]) == {tps[0]: by_tp[tps[0]] // 2}

    with make() as again:
        rest = _poll_until(again, by_tp[tps[0]] - by_tp[tps[0]] // 2)
        assert {r.partition for r in rest} == {0}
        assert rest[0].offset == by_tp[tps[0]] // 2
        assert again.poll(0.3) == []
        again.commit()  # current positions
        assert again.committed(tps) == {tps[0]: by_tp[tps[0]], tps[1]: by_tp[tps[1]]}


def test_group_mixing_pykafkacore_and_confluent_consumers(kafka_broker):
    topic = "c-mixed"
    _create(kafka_broker, topic, 4)
    ours = Consumer(topic, bootstrap_servers=kafka_broker, group_id="g-mixed",
                    auto_offset_reset="earliest", partition_assignment_strategy="range",
                    **FAST_GROUP)
    theirs = confluent_kafka.Consumer({
        "bootstrap.servers": kafka_broker.bootstrap_servers, "group.id": "g-mixed",
        "auto.offset.reset": "earliest", "partition.assignment.strategy": "range",
        "heartbeat.interval.ms": 200, "session.timeout.ms": 6000})
    theirs.subscribe([topic])
    try:
        mine: list[Record] = []
        other: list = []

        def step() -> None:
            mine.extend(ours.poll(0.05))
            for m in theirs.consume(500, 0.05):
                assert m.error() is None, m.error()
                other.append(m)

        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            step()
            if len(ours.assignment()) == 2 and len(theirs.assignment()) == 2:
                break
        assert len(ours.assignment()) == 2 and len(theirs.assignment()) == 2
        their_tps = {TopicPartition(t.topic, t.partition) for t in theirs.assignment()}
        assert ours.assignment() | their_tps == {TopicPartition(topic, p) for p in range(4)}

        with Producer(kafka_broker) as p:
            p.send_many(topic, [b"%d" % i for i in range(400)], keys=[b"%d" % i for i in range(400)]
                        ).result(10)
        deadline = time.monotonic() + 15
        while len(mine) + len(other) < 400 and time.monotonic() < deadline:
            step()
        step()
        values = [r.value for r in mine] + [m.value() for m in other]
        assert sorted(values) == sorted(b"%d" % i for i in range(400))  # each exactly once
        assert mine and other
        assert {r.topic_partition for r in mine} <= ours.assignment()
        assert {TopicPartition(m.topic(), m.partition()) for m in other} <= their_tps
    finally:
        ours.close(5)
        theirs.close()


def test_rebalance_listener_runs_on_polling_thread(kafka_broker):
    _create(kafka_broker, "c-listen", 3)
    calls: list[tuple[str, list[TopicPartition], int]] = []
    consumer = Consumer(
        bootstrap_servers=kafka_broker, group_id="g-listen", **FAST_GROUP,
        on_assign=lambda tps: calls.append(("assign", tps, threading.get_ident())),
        on_revoke=lambda tps: calls.append(("revoke", tps, threading.get_ident())))
    consumer.subscribe(["c-listen"])
    deadline = time.monotonic() + 10
    while not any(c[0] == "assign" for c in calls) and time.monotonic() < deadline:
        consumer.poll(0.1)
    assigned = [c for c in calls if c[0] == "assign"]
    assert assigned and sorted(assigned[-1][1]) == [TopicPartition("c-listen", p) for p in range(3)]
    consumer.close(5)
    assert calls[-1][0] == "revoke" and len(calls[-1][1]) == 3
    assert {c[2] for c in calls} == {threading.get_ident()}


def test_exception_in_on_assign_leaves_poll(kafka_broker):
    _create(kafka_broker, "c-raise", 1)

    class Boom(Exception):
        pass

    def on_assign(tps):
        raise Boom(f"assigned {tps}")

    with Consumer("c-raise", bootstrap_servers=kafka_broker, group_id="g-raise",
                  on_assign=on_assign, **FAST_GROUP) as consumer:
        deadline = time.monotonic() + 10
        with pytest.raises(Boom, match="c-raise"):
            while time.monotonic() < deadline:
                consumer.poll(0.1)
        # the rebalance step completed: the consumer owns its partition and keeps working
        assert consumer.assignment() == {TopicPartition("c-raise", 0)}
        consumer.poll(0.1)


def test_close_from_another_thread_stops_iteration(kafka_broker):
    _create(kafka_broker, "c-close", 1)
    consumer = Consumer(bootstrap_servers=kafka_broker)
    consumer.assign([("c-close", 0)])
    timer = threading.Timer(0.3, consumer.close)
    timer.start()
    started = time.monotonic()
    assert list(consumer) == []
    assert time.monotonic() - started < 5
    timer.join()


def test_ctrl_c_interrupts_a_long_poll(kafka_broker, python_sigint):
    import _thread

    _create(kafka_broker, "c-sigint", 1)
    with Consumer(bootstrap_servers=kafka_broker) as consumer:
        consumer.assign([("c-sigint", 0)])
        timer = threading.Timer(0.3, _thread.interrupt_main)
        timer.start()
        started = time.monotonic()
        with pytest.raises(KeyboardInterrupt):
            consumer.poll(30)
        assert time.monotonic() - started < 5
        timer.join()


def test_records_are_record_dataclasses_and_deserializer_errors_surface(kafka_broker):
    import dataclasses

    _create(kafka_broker, "c-records", 1)
    with Producer(kafka_broker) as p:
        p.send("c-records", b"\x00not json", key=b"k", headers={"h": b"v"}, timestamp=1_700_000_000_000)
        p.send("c-records", b'{"ok": 1}')
        p.flush(10)
    raw = Consumer(bootstrap_servers=kafka_broker.bootstrap_servers, auto_offset_reset="earliest",
                   **FAST_FETCH)
    try:
        raw.assign([("c-records", 0)])
        records = []
        while len(records) < 2:
            records += raw.poll(5.0)
        first = records[0]
        assert type(first) is Record
        assert first == Record("c-records", 0, 0, 1_700_000_000_000, b"k", b"\x00not json",
                               (("h", b"v"),), 0, first.leader_epoch)
        assert dataclasses.replace(first, value=b"x").value == b"x"
        first.value = b"mutable like any dataclass"
        assert first.topic_partition == ("c-records", 0)
        assert records[1].headers == () and records[1].key is None
    finally:
        raw.close()
    strict = Consumer(bootstrap_servers=kafka_broker.bootstrap_servers, auto_offset_reset="earliest",
                      value_deserializer="json", **FAST_FETCH)
    try:
        strict.assign([("c-records", 0)])
        with pytest.raises(ValueError):  # json.JSONDecodeError, raised from poll()
            for _ in range(50):
                strict.poll(0.2)
    finally:
        strict.close()


def _poll_both(ours: Consumer, theirs, mine: list, other: list) -> None:
    mine.extend(ours.poll(0.05))
    for m in theirs.consume(500, 0.05):
        assert m.error() is None, m.error()
        other.append(m)


def test_read_committed_drops_aborted_transactions_like_confluent(kafka_broker):
    from pykafkacore.testing.external import ExternalCluster

    if not isinstance(kafka_broker, ExternalCluster):
        pytest.skip("pykafkacore's broker has no transactions yet (a transactional producer gets "
                    "COORDINATOR_NOT_AVAILABLE); runs against Apache Kafka under make test-kafka")
    topic = "c-txn"
    _create(kafka_broker, topic, 1)
    txn = confluent_kafka.Producer({"bootstrap.servers": kafka_broker.bootstrap_servers,
                                    "transactional.id": "c-txn-producer"})
    txn.init_transactions(30)

    def transaction(values: list[bytes], commit: bool) -> None:
        txn.begin_transaction()
        for v in values:
            txn.produce(topic, v, partition=0)
        txn.flush(10)
        if values[0] == b"a0":  # a plain record lands inside the aborted span
            with Producer(kafka_broker) as plain:
                plain.send(topic, b"p0", partition=0).result(10)
        if commit:
            txn.commit_transaction(30)
        else:
            txn.abort_transaction(30)

    transaction([b"a0", b"a1", b"a2"], commit=False)
    transaction([b"c0", b"c1"], commit=True)
    transaction([b"a3"], commit=False)
    with Producer(kafka_broker) as plain:
        plain.send(topic, b"p1", partition=0).result(10)
    transaction([b"c2"], commit=True)

    everything = [b"a0", b"a1", b"a2", b"p0", b"c0", b"c1", b"a3", b"p1", b"c2"]
    committed = [b"p0", b"c0", b"c1", b"p1", b"c2"]
    tp = TopicPartition(topic, 0)
    for isolation, expected in (("read_committed", committed), ("read_uncommitted", everything)):
        with Consumer(bootstrap_servers=kafka_broker, auto_offset_reset="earliest",
                      isolation_level=isolation, **FAST_FETCH) as ours:
            ours.assign([tp])
            got = _poll_until(ours, len(expected))
            assert [r.value for r in got] == expected, isolation
            assert ours.poll(0.5) == [], isolation
            # Markers and aborted batches are consumed too: the position reaches the end.
            assert ours.position(tp) == ours.end_offsets([tp])[tp]
        theirs = confluent_kafka.Consumer({
            "bootstrap.servers": kafka_broker.bootstrap_servers, "group.id": f"c-txn-{isolation}",
            "auto.offset.reset": "earliest", "isolation.level": isolation,
            "fetch.queue.backoff.ms": 10})
        try:
            theirs.assign([confluent_kafka.TopicPartition(topic, 0, 0)])
            seen = [m.value() for m in theirs.consume(100, 5) if m.error() is None]
            assert seen == expected, f"confluent-kafka with {isolation}"
        finally:
            theirs.close()


def test_pattern_subscription_picks_up_new_matching_topics(kafka_broker):
    for name in ("c-pat-a", "c-pat-b", "c-other"):
        _create(kafka_broker, name, 1)
    with Consumer(bootstrap_servers=kafka_broker, group_id="g-pattern",
                  metadata_max_age_ms=300, **FAST_GROUP, **FAST_FETCH) as consumer:
        consumer.subscribe(pattern=r"c-pat-.*")

        def wait_for(expected: set[TopicPartition]) -> None:
            deadline = time.monotonic() + 15
            while consumer.assignment() != expected and time.monotonic() < deadline:
                consumer.poll(0.1)
            assert consumer.assignment() == expected

        wait_for({TopicPartition("c-pat-a", 0), TopicPartition("c-pat-b", 0)})
        assert consumer.subscription() == {"c-pat-a", "c-pat-b"}
        _create(kafka_broker, "c-pat-c", 2)
        wait_for({TopicPartition("c-pat-a", 0), TopicPartition("c-pat-b", 0),
                  TopicPartition("c-pat-c", 0), TopicPartition("c-pat-c", 1)})
        with pytest.raises(ValueError):
            consumer.subscribe(["c-pat-a"], pattern="x")


def test_cooperative_sticky_group_mixed_with_confluent_moves_only_what_it_must(kafka_broker):
    topic = "c-coop"
    _create(kafka_broker, topic, 4)
    revoked: list[set[TopicPartition]] = []
    assigned: list[set[TopicPartition]] = []
    ours = Consumer(topic, bootstrap_servers=kafka_broker, group_id="g-coop",
                    auto_offset_reset="earliest",
                    partition_assignment_strategy="cooperative-sticky",
                    on_assign=lambda tps: assigned.append(set(tps)),
                    on_revoke=lambda tps: revoked.append(set(tps)), **FAST_GROUP)
    theirs = confluent_kafka.Consumer({
        "bootstrap.servers": kafka_broker.bootstrap_servers, "group.id": "g-coop",
        "auto.offset.reset": "earliest", "partition.assignment.strategy": "cooperative-sticky",
        "heartbeat.interval.ms": 200, "session.timeout.ms": 6000, "fetch.queue.backoff.ms": 10})
    try:
        mine: list[Record] = []
        other: list = []
        deadline = time.monotonic() + 15
        while len(ours.assignment()) < 4 and time.monotonic() < deadline:
            mine.extend(ours.poll(0.1))
        everything = {TopicPartition(topic, p) for p in range(4)}
        assert ours.assignment() == everything
        theirs.subscribe([topic])
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            _poll_both(ours, theirs, mine, other)
            if len(ours.assignment()) == 2 and len(theirs.assignment()) == 2:
                break
        assert len(ours.assignment()) == 2 and len(theirs.assignment()) == 2
        # Incremental: only the two partitions that moved were revoked, never the whole set.
        assert revoked and all(len(r) <= 2 for r in revoked)
        assert set().union(*revoked) == everything - ours.assignment()
        assert assigned[0] == everything

        their_tps = {TopicPartition(t.topic, t.partition) for t in theirs.assignment()}
        assert ours.assignment() | their_tps == everything
        with Producer(kafka_broker) as p:
            p.send_many(topic, [b"%d" % i for i in range(400)],
                        keys=[b"%d" % i for i in range(400)]).result(10)
        deadline = time.monotonic() + 15
        while len(mine) + len(other) < 400 and time.monotonic() < deadline:
            _poll_both(ours, theirs, mine, other)
        values = [r.value for r in mine] + [m.value() for m in other]
        assert sorted(values) == sorted(b"%d" % i for i in range(400))  # each exactly once
    finally:
        ours.close(5)
        theirs.close()


def test_static_member_restart_keeps_its_partitions_without_moving_the_others(kafka_broker):
    topic = "c-static"
    _create(kafka_broker, topic, 4)
    revoked_from_a: list[list[TopicPartition]] = []

    def member(instance: str, **kw) -> Consumer:
        return Consumer(topic, bootstrap_servers=kafka_broker, group_id="g-static",
                        group_instance_id=instance, heartbeat_interval_ms=200,
                        session_timeout_ms=10000, **kw)

    a = member("a", on_revoke=revoked_from_a.append)
    b = member("b")
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            a.poll(0.05)
            b.poll(0.05)
            if len(a.assignment()) == 2 and len(b.assignment()) == 2:
                break
        assert len(a.assignment()) == 2 and len(b.assignment()) == 2
        a_generation, b_partitions = a.generation, b.assignment()
        revoked_from_a.clear()  # the eager rebalance when b first joined
        b.close(5)  # a static member leaves no LeaveGroup: the group waits for it
        b = member("b")
        deadline = time.monotonic() + 10
        while b.assignment() != b_partitions and time.monotonic() < deadline:
            a.poll(0.05)
            b.poll(0.05)
        assert b.assignment() == b_partitions
        for _ in range(10):
            a.poll(0.05)
        assert a.generation == a_generation and revoked_from_a == []
    finally:
        a.close(5)
        b.close(5)


def test_unsubscribe_revokes_and_a_missed_poll_interval_reports_partitions_lost(kafka_broker):
    _create(kafka_broker, "c-lost", 2)
    calls: list[tuple[str, set[TopicPartition]]] = []
    both = {TopicPartition("c-lost", 0), TopicPartition("c-lost", 1)}
    with Consumer("c-lost", bootstrap_servers=kafka_broker, group_id="g-lost",
                  max_poll_interval_ms=1000, **FAST_GROUP,
                  on_assign=lambda tps: calls.append(("assign", set(tps))),
                  on_revoke=lambda tps: calls.append(("revoke", set(tps))),
                  on_lost=lambda tps: calls.append(("lost", set(tps)))) as consumer:
        deadline = time.monotonic() + 10
        while consumer.assignment() != both and time.monotonic() < deadline:
            consumer.poll(0.1)
        assert calls == [("assign", both)]
        time.sleep(2.5)  # past max.poll.interval.ms: the consumer leaves the group
        deadline = time.monotonic() + 10
        while len(calls) < 3 and time.monotonic() < deadline:
            consumer.poll(0.1)
        assert calls[1:3] == [("lost", both), ("assign", both)], calls
        consumer.unsubscribe()
        assert calls[-1] == ("revoke", both)
        assert consumer.assignment() == set() and consumer.subscription() == set()


def test_msgpack_serializers_round_trip(kafka_broker):
    _create(kafka_broker, "c-msgpack", 1)
    values = [{"n": 1, "tags": ["a", "b"], "blob": b"\x00\xff"}, [1, 2.5, None], "text", None]
    with Producer(kafka_broker, key_serializer="msgpack", value_serializer="msgpack") as p:
        for i, v in enumerate(values):
            p.send("c-msgpack", v, key={"id": i}, partition=0)
        p.flush(10)
    with Consumer(bootstrap_servers=kafka_broker, auto_offset_reset="earliest",
                  key_deserializer="msgpack", value_deserializer="msgpack",
                  **FAST_FETCH) as consumer:
        consumer.assign([("c-msgpack", 0)])
        got = _poll_until(consumer, len(values))
    assert [r.value for r in got] == values
    assert [r.key for r in got] == [{"id": i} for i in range(len(values))]


def test_commit_metadata_committed_and_current_lag_like_confluent(kafka_broker):
    from pykafkacore import OffsetAndMetadata

    _create(kafka_broker, "c-meta", 2)
    with Producer(kafka_broker) as p:
        p.send_many("c-meta", [b"%d" % i for i in range(10)], partition=0).result(10)
    tp0, tp1 = TopicPartition("c-meta", 0), TopicPartition("c-meta", 1)
    with Consumer(bootstrap_servers=kafka_broker, group_id="g-meta", auto_offset_reset="earliest",
                  enable_auto_commit=False, **FAST_FETCH) as consumer:
        consumer.assign([tp0, tp1])
        assert consumer.current_lag(tp0) is None  # nothing fetched yet
        assert len(_poll_until(consumer, 10)) == 10
        assert consumer.current_lag(tp0) == 0 and consumer.current_lag(tp1) == 0
        consumer.seek(tp0, 4)
        assert consumer.current_lag(tp0) == 6  # from the last fetch's high watermark
        assert consumer.current_lag(("c-missing", 0)) is None

        epoch = _poll_until(consumer, 6)[-1].leader_epoch
        consumer.commit({tp0: OffsetAndMetadata(10, "checkpoint-7", epoch), tp1: 0})
        assert consumer.committed([tp0, tp1]) == {tp0: 10, tp1: 0}
        assert consumer.committed([tp0, tp1], with_metadata=True) == {
            tp0: OffsetAndMetadata(10, "checkpoint-7", epoch), tp1: OffsetAndMetadata(0, "", None)}
        done = []
        consumer.commit({tp1: OffsetAndMetadata(0, "async")}, asynchronous=True,
                        callback=lambda offsets, error: done.append((offsets, error)))
        deadline = time.monotonic() + 5
        while not done and time.monotonic() < deadline:
            consumer.poll(0.05)
        assert done == [({tp1: OffsetAndMetadata(0, "async")}, None)]

    # kafka-python reads the metadata back; confluent-kafka's Python TopicPartition.metadata
    # reads past the string's end (garbage after it: a client bug), so only its offsets
    # and epochs are compared.
    import kafka

    theirs = kafka.KafkaConsumer(bootstrap_servers=kafka_broker.bootstrap_servers,
                                 group_id="g-meta", enable_auto_commit=False)
    try:
        want = [theirs.committed(kafka.TopicPartition("c-meta", p), metadata=True) for p in (0, 1)]
    finally:
        theirs.close()
    assert [(w.offset, w.metadata, w.leader_epoch) for w in want] == \
        [(10, "checkpoint-7", epoch), (0, "async", -1)]  # kafka-python: -1 for "no epoch"
    ck = confluent_kafka.Consumer({"bootstrap.servers": kafka_broker.bootstrap_servers,
                                   "group.id": "g-meta"})
    try:
        got = ck.committed([confluent_kafka.TopicPartition("c-meta", 0),
                            confluent_kafka.TopicPartition("c-meta", 1)], timeout=10)
    finally:
        ck.close()
    assert [(t.partition, t.offset, t.leader_epoch) for t in got] == [(0, 10, epoch), (1, 0, None)]


def test_blocking_calls_release_the_gil(kafka_broker):
    """While poll(), flush() or an admin call waits in the core, other Python threads run."""
    from pykafkacore import AdminClient

    _create(kafka_broker, "c-gil", 1)
    ticks = 0
    stop = threading.Event()

    def spin() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1

    def ticks_during(call, raises: type[BaseException] | None = None) -> int:
        before = ticks
        if raises is None:
            call()
        else:
            with pytest.raises(raises):
                call()
        return ticks - before

    spinner = threading.Thread(target=spin)
    spinner.start()
    try:
        with Consumer(bootstrap_servers=kafka_broker, **FAST_FETCH) as consumer:
            consumer.assign([("c-gil", 0)])
            assert ticks_during(lambda: consumer.poll(0.5)) > 1000
        # Nothing listens on port 1: these wait out their whole timeouts in the core.
        with Producer("127.0.0.1:1", delivery_timeout_ms=60000) as stuck:
            stuck.send("c-gil", b"never")
            assert ticks_during(lambda: stuck.flush(0.5), KafkaError) > 1000
            stuck.close(0)
        with AdminClient("127.0.0.1:1") as admin:
            assert ticks_during(lambda: admin.list_topics(timeout=0.5), KafkaError) > 1000
    finally:
        stop.set()
        spinner.join()
