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


def test_send_takes_bytes_str_buffers_and_header_forms(kafka_broker):
    _create(kafka_broker, "p-forms", 1)
    producer = Producer(kafka_broker)
    futures = [
        producer.send("p-forms", b"bytes", key="k-str"),
        producer.send("p-forms", "str-é", headers=[("a", b"1"), ("b", None)]),
        producer.send("p-forms", bytearray(b"bytearray"), headers={"c": "3"}),
        producer.send(topic="p-forms", value=memoryview(b"xmemoryviewx")[1:-1], timestamp=1_700_000_000_000),
        producer.send("p-forms", None, key=b"tombstone"),
    ]
    producer.flush(10)
    assert [f.result().offset for f in futures] == [0, 1, 2, 3, 4]
    assert futures[3].result().timestamp == 1_700_000_000_000
    got = _consume_all(kafka_broker, "p-forms", 5)
    assert [m.value() for m in got] == [b"bytes", "str-é".encode(), b"bytearray", b"memoryview", None]
    assert got[0].key() == b"k-str" and got[4].key() == b"tombstone"
    assert got[1].headers() == [("a", b"1"), ("b", None)] and got[2].headers() == [("c", b"3")]
    with pytest.raises(TypeError, match="cannot send int as bytes"):
        producer.send("p-forms", b"v", key=5)
    with pytest.raises(TypeError, match="unexpected keyword argument 'partiton'"):
        producer.send("p-forms", b"v", partiton=0)
    with pytest.raises(TypeError, match="multiple values"):
        producer.send("p-forms", b"v", value=b"w")
    with pytest.raises(TypeError, match="topic"):
        producer.send(b"p-forms", b"v")
    with pytest.raises(ValueError, match="pairs"):
        producer.send("p-forms", b"v", headers=[("a", b"1", b"2")])
    with pytest.raises(TypeError, match="partition must be an int"):
        producer.send("p-forms", b"v", partition="0")
    producer.close()


def test_done_callbacks_run_on_poll_and_errors_propagate_after_all_complete(kafka_broker):
    _create(kafka_broker, "p-callbacks", 1)
    producer = Producer(kafka_broker, linger_ms=50)
    seen = []

    def boom(future):
        seen.append("boom")
        raise RuntimeError("callback failed")

    first = producer.send("p-callbacks", b"1")
    first.add_done_callback(boom)
    rest = [producer.send("p-callbacks", b"%d" % i) for i in range(2, 5)]
    for f in rest:
        f.add_done_callback(lambda f: seen.append(f.result().offset))
    assert not first.done() and seen == []  # nothing runs before reports are served
    with pytest.raises(RuntimeError, match="callback failed"):
        producer.flush(10)
    assert all(f.done() for f in [first, *rest])
    assert seen == ["boom", 1, 2, 3]
    late = []
    first.add_done_callback(lambda f: late.append(f.exception()))  # already done: runs now
    assert late == [None]
    assert "p-callbacks-0@0" in repr(first)
    producer.close()


def test_full_buffer_waits_for_space_and_delivers_everything(kafka_broker):
    _create(kafka_broker, "p-full", 1)
    # 64 KiB of buffer for 2 MiB of records: most sends find it full and wait (GIL released).
    producer = Producer(kafka_broker, buffer_memory=65536, batch_size=16384, linger_ms=0)
    futures = [producer.send("p-full", b"x" * 1000) for _ in range(2000)]
    producer.flush(30)
    assert [f.result().offset for f in futures] == list(range(2000))
    producer.close()


def test_sends_from_threads_and_an_unclosed_producer_completes_its_futures(kafka_broker):
    _create(kafka_broker, "p-threads", 3)
    import gc
    import threading

    producer = Producer(kafka_broker)
    futures: list = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        mine = [producer.send("p-threads", b"%d-%d" % (n, i), key=b"%d" % i) for i in range(500)]
        with lock:
            futures.extend(mine)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    producer.flush(20)
    placed = {(f.result().partition, f.result().offset) for f in futures}
    assert len(placed) == 2000  # every record has its own slot
    producer.close()

    dropped = Producer(kafka_broker, linger_ms=60_000)
    pending = [dropped.send("p-threads", b"never-sent") for _ in range(10)]
    del dropped
    gc.collect()
    assert all(f.done() for f in pending)  # failed as "producer closed", not left hanging
    assert all(f.exception() is not None for f in pending)


def test_send_many_with_headers_timestamps_and_str_values(kafka_broker):
    _create(kafka_broker, "p-many-headers", 1)
    producer = Producer(kafka_broker)
    batch = producer.send_many(
        "p-many-headers", ["a", b"b", bytearray(b"c")], keys=[None, "kb", b"kc"],
        headers=[{"h": b"1"}, None, [("x", "2"), ("y", None)]],
        timestamps=[1_700_000_000_001, None, 1_700_000_000_003])
    metas = batch.result(10)
    assert [m.offset for m in metas] == [0, 1, 2]
    assert metas[0].timestamp == 1_700_000_000_001 and metas[2].timestamp == 1_700_000_000_003
    got = _consume_all(kafka_broker, "p-many-headers", 3)
    assert [m.value() for m in got] == [b"a", b"b", b"c"]
    assert [m.key() for m in got] == [None, b"kb", b"kc"]
    assert got[0].headers() == [("h", b"1")] and got[1].headers() is None
    assert got[2].headers() == [("x", b"2"), ("y", None)]
    with pytest.raises(ValueError, match="headers and values differ"):
        producer.send_many("p-many-headers", [b"1", b"2"], headers=[None])
    with pytest.raises(TypeError, match="cannot send int"):
        producer.send_many("p-many-headers", [b"1", 2])
    producer.close()
