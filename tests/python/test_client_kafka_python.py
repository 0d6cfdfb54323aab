"""pykafkacore's Producer and Consumer side by side with kafka-python (a pure-Python client, Java's
partitioner and assignors re-implemented): same keys land on the same partitions, each reads what
the other wrote (keys, headers, timestamps), and one consumer group holds members of both.
Runs against Apache Kafka too (make test-kafka)."""

from __future__ import annotations

import time

import pytest

from pykafkacore import Consumer, Producer, TopicPartition

kafka = pytest.importorskip("kafka")

FAST_GROUP = {"heartbeat_interval_ms": 200, "session_timeout_ms": 6000}


def _create(target, topic: str, partitions: int) -> None:
    from pykafkacore import AdminClient, NewTopic

    with AdminClient(target) as admin:
        admin.create_topics(NewTopic(topic, partitions, 1))


def _kp_producer(target) -> kafka.KafkaProducer:
    return kafka.KafkaProducer(bootstrap_servers=target.bootstrap_servers, linger_ms=5)


def test_same_key_same_partition_both_ways(kafka_broker):
    _create(kafka_broker, "kp-keys", 7)
    keys = [f"key-{i}".encode() for i in range(60)]
    theirs_producer = _kp_producer(kafka_broker)
    theirs = {k: theirs_producer.send("kp-keys", b"v", key=k).get(10).partition for k in keys}
    theirs_producer.close(5)
    with Producer(kafka_broker) as producer:
        ours = {k: producer.send("kp-keys", b"v", key=k).result(10).partition for k in keys}
    assert ours == theirs
    assert len(set(ours.values())) > 3  # the keys really spread


def test_each_reads_what_the_other_wrote(kafka_broker):
    _create(kafka_broker, "kp-records", 1)
    tp = TopicPartition("kp-records", 0)
    # Recent explicit timestamps: older ones would fall to the 7-day retention at once.
    t0 = int(time.time() * 1000) - 60_000
    with Producer(kafka_broker) as ours:
        for i in range(5):
            ours.send("kp-records", b"ours-%d" % i, key=b"k%d" % i, partition=0,
                      headers=[("origin", b"pykafkacore")], timestamp=t0 + i)
        ours.flush(10)
    theirs = _kp_producer(kafka_broker)
    for i in range(5):
        theirs.send("kp-records", b"theirs-%d" % i, key=None, partition=0,
                    headers=[("origin", b"kafka-python")], timestamp_ms=t0 + 1000 + i)
    theirs.flush(10)
    theirs.close(5)

    reader = kafka.KafkaConsumer(bootstrap_servers=kafka_broker.bootstrap_servers,
                                 auto_offset_reset="earliest", enable_auto_commit=False,
                                 consumer_timeout_ms=10000)
    reader.assign([kafka.TopicPartition("kp-records", 0)])
    seen = []
    for m in reader:
        seen.append(m)
        if len(seen) == 10:
            break
    reader.close()
    assert [m.offset for m in seen] == list(range(10))
    assert [m.value for m in seen[:5]] == [b"ours-%d" % i for i in range(5)]
    assert [m.key for m in seen[:5]] == [b"k%d" % i for i in range(5)]
    assert [m.timestamp for m in seen[:5]] == [t0 + i for i in range(5)]
    assert all(m.headers == [("origin", b"pykafkacore")] for m in seen[:5])

    with Consumer(bootstrap_servers=kafka_broker, auto_offset_reset="earliest") as consumer:
        consumer.assign([tp])
        records = []
        deadline = time.monotonic() + 10
        while len(records) < 10 and time.monotonic() < deadline:
            records += consumer.poll(0.2)
    assert [r.offset for r in records] == list(range(10))
    assert [r.value for r in records[5:]] == [b"theirs-%d" % i for i in range(5)]
    assert all(r.key is None for r in records[5:])
    assert [r.timestamp for r in records[5:]] == [t0 + 1000 + i for i in range(5)]
    assert all(r.headers == (("origin", b"kafka-python"),) for r in records[5:])


@pytest.mark.parametrize("strategy", ["range", "roundrobin"])
def test_one_group_with_members_of_both_clients(kafka_broker, strategy):
    from kafka.coordinator.assignors.range import RangePartitionAssignor
    from kafka.coordinator.assignors.roundrobin import RoundRobinPartitionAssignor

    topic = f"kp-group-{strategy}"
    group = f"kp-{strategy}"
    _create(kafka_broker, topic, 4)
    ours = Consumer(topic, bootstrap_servers=kafka_broker, group_id=group,
                    auto_offset_reset="earliest", partition_assignment_strategy=strategy,
                    **FAST_GROUP)
    assignor = RangePartitionAssignor if strategy == "range" else RoundRobinPartitionAssignor
    theirs = kafka.KafkaConsumer(topic, bootstrap_servers=kafka_broker.bootstrap_servers,
                                 group_id=group, auto_offset_reset="earliest",
                                 partition_assignment_strategy=[assignor], **FAST_GROUP)
    try:
        mine: list = []
        other: list = []

        def step() -> None:
            mine.extend(ours.poll(0.05))
            for records in theirs.poll(50).values():
                other.extend(records)

        def their_tps() -> set[TopicPartition]:
            return {TopicPartition(t.topic, t.partition) for t in theirs.assignment()}

        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            step()
            if len(ours.assignment()) == 2 and len(their_tps()) == 2:
                break
        assert len(ours.assignment()) == 2 and len(their_tps()) == 2
        assert ours.assignment() | their_tps() == {TopicPartition(topic, p) for p in range(4)}

        with Producer(kafka_broker) as p:
            p.send_many(topic, [b"%d" % i for i in range(400)],
                        keys=[b"%d" % i for i in range(400)]).result(10)
        deadline = time.monotonic() + 20
        while len(mine) + len(other) < 400 and time.monotonic() < deadline:
            step()
        values = [r.value for r in mine] + [m.value for m in other]
        assert sorted(values) == sorted(b"%d" % i for i in range(400))  # each exactly once
        assert mine and other
        assert {r.topic_partition for r in mine} <= ours.assignment()
        assert {TopicPartition(m.topic, m.partition) for m in other} <= their_tps()
    finally:
        ours.close(5)
        theirs.close()
