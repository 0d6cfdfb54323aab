"""pykafkacore's own clients under failure: injected error answers, a killed and restarted
broker, a leader change. What must hold: no acknowledged record lost, none duplicated by an
idempotent producer, consumers never skip or re-read, groups resume at committed offsets."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from pykafkacore import Consumer, Producer, TopicPartition

FAST_CLIENT = {"retry_backoff_ms": 20, "reconnect_backoff_ms": 20,
               "reconnect_backoff_max_ms": 200, "metadata_max_age_ms": 1000}


def _read_all(cluster: Any, topic: str, partitions: int, expected: int,
              timeout: float = 20.0) -> list:
    records: list = []
    with Consumer(bootstrap_servers=cluster, auto_offset_reset="earliest",
                  **FAST_CLIENT) as consumer:
        consumer.assign([(topic, p) for p in range(partitions)])
        deadline = time.monotonic() + timeout
        while len(records) < expected and time.monotonic() < deadline:
            records += consumer.poll(0.2)
        records += consumer.poll(0.3)  # anything beyond what was expected: a duplicate
    return records


def test_idempotent_producer_retries_injected_errors_without_duplicates(kafka_cluster,
                                                                        kafka_topic,
                                                                        kafka_faults):
    rule = kafka_faults.inject_error("Produce", "NOT_LEADER_OR_FOLLOWER", topic=kafka_topic,
                                     times=3)
    with Producer(kafka_cluster, linger_ms=2, **FAST_CLIENT) as producer:
        futures = [producer.send(kafka_topic, b"%d" % i, partition=0) for i in range(300)]
        offsets = [f.result(20).offset for f in futures]
    assert rule.applied == 3
    assert offsets == list(range(300))  # in order, once each
    values = [r.value for r in _read_all(kafka_cluster, kafka_topic, 1, 300)]
    assert values == [b"%d" % i for i in range(300)]


def test_producer_id_reset_resends_restamped_batches_once(kafka_cluster, kafka_topic,
                                                         kafka_faults):
    """UNKNOWN_PRODUCER_ID makes the producer take a new id and resend its batches under it:
    the already-built bytes get the new id, epoch and sequence (and CRC) stamped in place."""
    with Producer(kafka_cluster, linger_ms=2, **FAST_CLIENT) as producer:
        producer.send(kafka_topic, b"first", partition=0).result(20)
        first_id = producer.producer_id
        rule = kafka_faults.inject_error("Produce", "UNKNOWN_PRODUCER_ID", topic=kafka_topic,
                                         times=1)
        futures = [producer.send(kafka_topic, b"%d" % i, partition=0) for i in range(200)]
        offsets = [f.result(20).offset for f in futures]
        assert rule.applied == 1
        assert producer.producer_id != first_id
        second_id = producer.producer_id
    assert offsets == list(range(1, 201))
    values = [r.value for r in _read_all(kafka_cluster, kafka_topic, 1, 201)]
    assert values == [b"first"] + [b"%d" % i for i in range(200)]
    # White-box: the log's batches carry the ids they were (re)stamped with.
    from pykafkacore import decode_batches

    backend = kafka_cluster._backend_or_raise()
    leader = backend.topics()[kafka_topic].partitions[0].leader
    read = backend._cluster.read_partition(leader, kafka_topic, 0, 0, committed=True)
    batches = decode_batches(read["batches"])
    assert batches[0]["producer_id"] == first_id[0]
    assert {b["producer_id"] for b in batches[1:]} == {second_id[0]}
    assert batches[1]["base_sequence"] == 0  # the new id's sequences start over


def test_consumer_rides_out_injected_fetch_errors(kafka_cluster, kafka_topic, kafka_faults):
    with Producer(kafka_cluster) as producer:
        producer.send_many(kafka_topic, [b"%d" % i for i in range(100)], partition=0).result(10)
    rule = kafka_faults.inject_error("Fetch", "NOT_LEADER_OR_FOLLOWER", topic=kafka_topic,
                                     times=3)
    records = _read_all(kafka_cluster, kafka_topic, 1, 100)
    assert rule.applied == 3
    assert [r.offset for r in records] == list(range(100))


def test_commit_retries_a_moved_coordinator_and_the_group_resumes_there(kafka_cluster,
                                                                       kafka_topic,
                                                                       kafka_faults):
    with Producer(kafka_cluster) as producer:
        producer.send_many(kafka_topic, [b"%d" % i for i in range(20)], partition=0).result(10)
    group = f"{kafka_topic}-g"
    with Consumer(kafka_topic, bootstrap_servers=kafka_cluster, group_id=group,
                  auto_offset_reset="earliest", enable_auto_commit=False,
                  **FAST_CLIENT) as consumer:
        seen: list = []
        deadline = time.monotonic() + 15
        while len(seen) < 12 and time.monotonic() < deadline:
            seen += consumer.poll(0.2, max_records=12 - len(seen))
        assert [r.offset for r in seen] == list(range(12))
        rule = kafka_faults.inject_error("OffsetCommit", "NOT_COORDINATOR", times=2)
        consumer.commit()
        assert rule.applied == 2
    with Consumer(kafka_topic, bootstrap_servers=kafka_cluster, group_id=group,
                  **FAST_CLIENT) as consumer:
        rest: list = []
        deadline = time.monotonic() + 15
        while len(rest) < 8 and time.monotonic() < deadline:
            rest += consumer.poll(0.2)
    assert [r.offset for r in rest] == list(range(12, 20))


def test_consumer_resumes_after_its_broker_is_killed_and_restarted(kafka_cluster, kafka_topic):
    with Producer(kafka_cluster) as producer:
        producer.send_many(kafka_topic, [b"a%d" % i for i in range(50)], partition=0).result(10)
    with Consumer(bootstrap_servers=kafka_cluster, auto_offset_reset="earliest",
                  **FAST_CLIENT) as consumer:
        consumer.assign([(kafka_topic, 0)])
        records: list = []
        deadline = time.monotonic() + 15
        while len(records) < 50 and time.monotonic() < deadline:
            records += consumer.poll(0.2)
        kafka_cluster.kill(1)
        kafka_cluster.restart(1)
        with Producer(kafka_cluster, **FAST_CLIENT) as producer:
            producer.send_many(kafka_topic, [b"b%d" % i for i in range(50)],
                               partition=0).result(20)
        deadline = time.monotonic() + 20
        while len(records) < 100 and time.monotonic() < deadline:
            records += consumer.poll(0.2)
        records += consumer.poll(0.3)
    assert [r.offset for r in records] == list(range(100))


@pytest.mark.kafka_cluster(brokers=3)
@pytest.mark.kafka_topic(partitions=1, replication_factor=3, configs={"min.insync.replicas": 2})
def test_acks_all_producer_loses_nothing_when_the_leader_is_killed(kafka_cluster, kafka_topic):
    acknowledged: list[int] = []
    failed: list[int] = []
    stop = threading.Event()

    def produce() -> None:
        with Producer(kafka_cluster, acks="all", linger_ms=1, delivery_timeout_ms=30000,
                      **FAST_CLIENT) as producer:
            i = 0
            pending = []
            while not stop.is_set():
                pending.append((i, producer.send(kafka_topic, b"%d" % i, partition=0)))
                i += 1
                if len(pending) >= 20:
                    for n, f in pending:
                        (acknowledged if f.exception(30) is None else failed).append(n)
                    pending.clear()
            for n, f in pending:
                (acknowledged if f.exception(30) is None else failed).append(n)

    thread = threading.Thread(target=produce)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while len(acknowledged) < 200 and time.monotonic() < deadline:
            time.sleep(0.01)
        leader = kafka_cluster.topics()[kafka_topic].partitions[0].leader
        kafka_cluster.kill(leader)
        before = len(acknowledged)
        deadline = time.monotonic() + 15
        while len(acknowledged) < before + 200 and time.monotonic() < deadline:
            time.sleep(0.01)
        kafka_cluster.restart(leader)
    finally:
        stop.set()
        thread.join(60)
    assert len(acknowledged) >= before + 200, "production did not continue after the failover"
    assert not failed
    values = [int(r.value) for r in _read_all(kafka_cluster, kafka_topic, 1, len(acknowledged))]
    assert values == sorted(acknowledged)  # every acknowledged record once, in order
