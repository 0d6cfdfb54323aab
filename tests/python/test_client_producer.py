"""pykafkacore.Producer against a real in-process broker, cross-checked with confluent-kafka."""

from __future__ import annotations

import pytest

from pykafkacore import Producer
from pykafkacore.errors import KafkaError, MessageTooLargeError, UnknownTopicOrPartitionError

confluent_kafka = pytest.importorskip("confluent_kafka")


def _create(broker, topic: str, partitions: int) -> None:
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": broker.bootstrap_servers})
    admin.create_topics([NewTopic(topic, partitions, 1)])[topic].result(10)


def _consume_all(broker, topic: str, expected: int) -> list:
    consumer = confluent_kafka.Consumer({
        "bootstrap.servers": broker.bootstrap_servers, "group.id": f"check-{topic}",
        "auto.offset.reset": "earliest", "enable.auto.commit": False})
    consumer.subscribe([topic])
    out = []
    try:
        for _ in range(200):
            for m in consumer.consume(1000, 0.1):
                assert m.error() is None, m.error()
                out.append(m)
            if len(out) >= expected:
                break
    finally:
        consumer.close()
    return out


def test_futures_resolve_and_confluent_reads_the_same_records(kafka_broker):
    _create(kafka_broker, "p-interop", 4)
    with Producer(kafka_broker, value_serializer="json", key_serializer="str") as producer:
        futures = [producer.send("p-interop", {"n": i}, key=f"user-{i % 17}",
                                 headers={"h": b"x"}) for i in range(500)]
        producer.flush(20)
        metas = [f.result(0) for f in futures]
    assert all(m.topic == "p-interop" and m.offset >= 0 for m in metas)
    seen = _consume_all(kafka_broker, "p-interop", 500)
    assert len(seen) == 500
    by_value = {m.value(): m for m in seen}
    for i, meta in enumerate(metas):
        m = by_value[f'{{"n":{i}}}'.encode()]
        assert (m.partition(), m.offset()) == (meta.partition, meta.offset)
        assert m.key() == f"user-{i % 17}".encode()
        assert m.headers() == [("h", b"x")]


def test_same_key_same_partition_as_librdkafka_murmur2(kafka_broker):
    _create(kafka_broker, "p-murmur", 7)
    keys = [f"key-{i}" for i in range(60)]
    theirs: dict[str, int] = {}
    p = confluent_kafka.Producer({"bootstrap.servers": kafka_broker.bootstrap_servers,
                                  "partitioner": "murmur2_random"})
    for k in keys:
        p.produce("p-murmur", b"v", k.encode(),
                  on_delivery=lambda err, msg: theirs.__setitem__(msg.key().decode(), msg.partition()))
    p.flush(10)
    producer = Producer(kafka_broker)
    ours = {k: producer.send("p-murmur", b"v", key=k).result(10).partition for k in keys}
    producer.close()
    assert ours == theirs


def test_send_many_callbacks_and_len(kafka_broker):
    _create(kafka_broker, "p-many", 2)
    producer = Producer(kafka_broker.bootstrap_servers, linger_ms=20, compression_type="lz4")
    done = []
    batch = producer.send_many("p-many", [b"%d" % i for i in range(2000)],
                               keys=[b"k%d" % (i % 5) for i in range(2000)])
    single = producer.send("p-many", b"one")
    single.add_done_callback(lambda f: done.append(f.result().offset))
    assert len(producer) > 0 and len(batch) == 2000
    producer.flush(20)
    assert len(producer) == 0 and batch.done() and batch.failed == 0
    assert done == [single.result().offset]
    metas = batch.result(0)
    assert len(metas) == 2000
    # Offsets per partition are distinct and dense.
    by_partition: dict[int, list[int]] = {}
    for m in metas:
        by_partition.setdefault(m.partition, []).append(m.offset)
    assert set(by_partition) == {0, 1}
    for p, offsets in by_partition.items():
        assert sorted(offsets) == list(range(len(offsets))) or single.result().partition == p
    assert producer.producer_id[0] >= 0  # idempotent by default
    producer.close()


def test_errors_are_kafka_errors_with_codes(kafka_broker):
    with pytest.raises(KafkaError) as bad:
        Producer(kafka_broker, lingerr_ms=1)
    assert "lingerr.ms" in str(bad.value) and bad.value.name == "INVALID_CONFIG"
    _create(kafka_broker, "p-errors", 1)
    producer = Producer(kafka_broker, max_request_size=2048)
    with pytest.raises(MessageTooLargeError) as big:
        producer.send("p-errors", b"x" * 4096)
    assert big.value.code == 10 and not big.value.retriable
    future = producer.send("p-errors", b"v", partition=5)
    with pytest.raises(UnknownTopicOrPartitionError) as missing:
        future.result(10)
    assert missing.value.retriable
    with pytest.raises(TypeError):
        producer.send("p-errors", 123)
    producer.close()
