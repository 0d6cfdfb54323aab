"""aiokafka (asyncio) against the broker: produce/consume, codecs, big records, many partitions,
offset lookups, the idempotent producer, acks, and the basic admin client.

Consumers have group_id=None (no consumer groups yet) and use assign() + seek. Each test body
runs under asyncio.run with its own deadline.
"""

from __future__ import annotations

import asyncio
import functools
import os
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewPartitions, NewTopic, RecordsToDelete
from aiokafka.errors import (
    KafkaError,
    MessageSizeTooLargeError,
    NotEnoughReplicasError,
)

from compat_helpers import (
    BIG_TOPIC_CONFIG,
    MIB,
    TOPIC_ALREADY_EXISTS,
    UNKNOWN_TOPIC_OR_PARTITION,
    check_idempotent_batches,
    create_topic,
    now_ms,
    stored_batches,
    topic_name,
)

TIMEOUT = 10.0
BODY_TIMEOUT = 25.0
CREATE_TIME, LOG_APPEND_TIME = 0, 1


def run_async(fn: Callable[..., Awaitable[None]]) -> Callable[..., None]:
    """Runs an async test body in a fresh event loop with a deadline."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        asyncio.run(asyncio.wait_for(fn(*args, **kwargs), BODY_TIMEOUT))

    return wrapper


async def start_producer(broker: Any, **conf: Any) -> AIOKafkaProducer:
    config: dict[str, Any] = {"bootstrap_servers": broker.bootstrap_servers, "linger_ms": 5,
                              "request_timeout_ms": 5000}
    config.update(conf)
    producer = AIOKafkaProducer(**config)
    await producer.start()
    return producer


async def start_consumer(broker: Any, **conf: Any) -> AIOKafkaConsumer:
    config: dict[str, Any] = {"bootstrap_servers": broker.bootstrap_servers, "group_id": None,
                              "enable_auto_commit": False, "auto_offset_reset": "earliest",
                              "fetch_max_wait_ms": 100, "request_timeout_ms": 5000}
    config.update(conf)
    consumer = AIOKafkaConsumer(**config)
    await consumer.start()
    return consumer


async def send_all(producer: AIOKafkaProducer, topic: str,
                   records: list[dict[str, Any]]) -> list[Any]:
    futures = [await producer.send(topic, **r) for r in records]
    return list(await asyncio.wait_for(asyncio.gather(*futures), TIMEOUT))


async def consume(consumer: AIOKafkaConsumer, count: int, timeout: float = 5.0) -> list[Any]:
    out: list[Any] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while len(out) < count:
        left = deadline - loop.time()
        assert left > 0, f"got {len(out)} of {count} records within {timeout}s"
        got = await consumer.getmany(timeout_ms=int(min(left, 0.5) * 1000),
                                     max_records=count - len(out))
        for records in got.values():
            out.extend(records)
    return out


async def consume_nothing(consumer: AIOKafkaConsumer, seconds: float = 1.0) -> None:
    got = await consumer.getmany(timeout_ms=int(seconds * 1000))
    assert {tp: [r.offset for r in rs] for tp, rs in got.items() if rs} == {}


def as_tuple(r: Any) -> tuple[Any, ...]:
    return (r.partition, r.offset, r.key, r.value, list(r.headers), r.timestamp, r.timestamp_type)


# --- produce and consume --------------------------------------------------------------------------


@run_async
async def test_keyed_records_with_headers_and_timestamps(kafka_broker: Any) -> None:
    topic = create_topic(kafka_broker, topic_name(), partitions=2)
    base = now_ms() - 60_000
    records = [
        {"key": b"k0", "value": b"v0", "partition": 0, "timestamp_ms": base,
         "headers": [("h1", b"a"), ("h1", b"b"), ("empty", b"")]},
        {"key": b"k1", "value": b"v1", "partition": 1, "timestamp_ms": base + 1,
         "headers": [("trace-id", b"\x00\x01\xff")]},
        {"key": None, "value": b"no key", "partition": 0, "timestamp_ms": base + 2},
        {"key": b"tombstone", "value": None, "partition": 0, "timestamp_ms": base + 3},
        {"key": b"", "value": b"", "partition": 1, "timestamp_ms": base + 4},
        {"key": "κλειδί".encode(), "value": "τιμή".encode(), "partition": 0,
         "timestamp_ms": base + 5},
    ]
    producer = await start_producer(kafka_broker)
    try:
        metas = await send_all(producer, topic, records)
    finally:
        await producer.stop()
    assert [(m.partition, m.offset) for m in metas] == [(0, 0), (1, 0), (0, 1), (0, 2), (1, 1),
                                                        (0, 3)]
    # (aiokafka reports the first record's timestamp for every record of a batch when the broker
    # answers -1 (CreateTime), a client quirk: only the type and the first one are checked here;
    # the consumer checks every timestamp.)
    assert {m.timestamp_type for m in metas} == {CREATE_TIME}
    assert metas[0].timestamp == records[0]["timestamp_ms"]

    consumer = await start_consumer(kafka_broker)
    try:
        tps = [TopicPartition(topic, 0), TopicPartition(topic, 1)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        got = sorted((as_tuple(r) for r in await consume(consumer, len(records))),
                     key=lambda t: (t[0], t[1]))
    finally:
        await consumer.stop()
    expected = sorted(
        ((m.partition, m.offset, r["key"], r["value"], r.get("headers", []), r["timestamp_ms"],
          CREATE_TIME) for m, r in zip(metas, records)),
        key=lambda t: (t[0], t[1]),
    )
    assert got == expected


@run_async
async def test_log_append_time_topic(kafka_broker: Any) -> None:
    topic = create_topic(kafka_broker, topic_name(),
                         configs={"message.timestamp.type": "LogAppendTime"})
    before = now_ms()
    producer = await start_producer(kafka_broker)
    try:
        meta = await producer.send_and_wait(topic, b"a", timestamp_ms=1000)
    finally:
        await producer.stop()
    after = now_ms()
    assert meta.timestamp_type == LOG_APPEND_TIME
    assert before <= meta.timestamp <= after, (before, meta.timestamp, after)
    consumer = await start_consumer(kafka_broker)
    try:
        consumer.assign([TopicPartition(topic, 0)])
        consumer.seek(TopicPartition(topic, 0), 0)
        r = (await consume(consumer, 1))[0]
    finally:
        await consumer.stop()
    assert (r.timestamp_type, r.timestamp) == (LOG_APPEND_TIME, meta.timestamp)


@pytest.mark.parametrize("codec", ["gzip", "snappy", "lz4", "zstd"])
@run_async
async def test_compression_codecs(kafka_broker: Any, codec: str) -> None:
    topic = create_topic(kafka_broker, topic_name(codec))
    producer = await start_producer(kafka_broker, compression_type=codec, linger_ms=50)
    records = [{"key": f"key-{i}".encode(), "value": (f"value {i} " * 40).encode(),
                "headers": [("i", str(i).encode())]} for i in range(200)]
    try:
        metas = await send_all(producer, topic, records)
    finally:
        await producer.stop()
    assert [m.offset for m in metas] == list(range(200))
    consumer = await start_consumer(kafka_broker)
    try:
        consumer.assign([TopicPartition(topic, 0)])
        consumer.seek(TopicPartition(topic, 0), 0)
        got = await consume(consumer, 200)
    finally:
        await consumer.stop()
    assert [(r.offset, r.key, r.value, list(r.headers)) for r in got] == [
        (i, rec["key"], rec["value"], rec["headers"]) for i, rec in enumerate(records)]
    assert {b["compression"] for b in stored_batches(kafka_broker, topic, 0, 200)} == {codec}


@run_async
async def test_one_mib_records(kafka_broker: Any) -> None:
    topic = create_topic(kafka_broker, topic_name("big"), configs=BIG_TOPIC_CONFIG)
    values = [os.urandom(MIB), os.urandom(MIB + 100_000), os.urandom(10)]
    producer = await start_producer(kafka_broker, max_request_size=2_000_000)
    try:
        metas = [await producer.send_and_wait(topic, v, key=b"k%d" % i)
                 for i, v in enumerate(values)]
    finally:
        await producer.stop()
    assert [m.offset for m in metas] == [0, 1, 2]
    consumer = await start_consumer(kafka_broker, max_partition_fetch_bytes=2_000_000,
                                    fetch_max_bytes=10_000_000)
    try:
        consumer.assign([TopicPartition(topic, 0)])
        consumer.seek(TopicPartition(topic, 0), 0)
        got = await consume(consumer, 3)
    finally:
        await consumer.stop()
    assert [(r.offset, r.key, len(r.value)) for r in got] == [
        (0, b"k0", MIB), (1, b"k1", MIB + 100_000), (2, b"k2", 10)]
    assert [r.value for r in got] == values


@run_async
async def test_record_over_max_message_bytes_is_rejected(kafka_broker: Any) -> None:
    topic = create_topic(kafka_broker, topic_name("toobig"))
    producer = await start_producer(kafka_broker, max_request_size=3_000_000)
    try:
        with pytest.raises(MessageSizeTooLargeError):
            await producer.send_and_wait(topic, os.urandom(MIB + 1000))
        assert (await producer.send_and_wait(topic, b"small")).offset == 0
    finally:
        await producer.stop()


@run_async
async def test_hundred_partitions(kafka_broker: Any) -> None:
    topic = create_topic(kafka_broker, topic_name("p100"), partitions=100)
    producer = await start_producer(kafka_broker)
    records = [{"key": b"k%d" % p, "value": b"v%d" % p, "partition": p} for p in range(100)]
    records += [{"key": b"k%d" % p, "value": b"w%d" % p, "partition": p} for p in range(100)]
    try:
        assert await producer.partitions_for(topic) == set(range(100))
        metas = await send_all(producer, topic, records)
    finally:
        await producer.stop()
    assert [(m.partition, m.offset) for m in metas] == (
        [(p, 0) for p in range(100)] + [(p, 1) for p in range(100)])
    consumer = await start_consumer(kafka_broker)
    try:
        tps = [TopicPartition(topic, p) for p in range(100)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        got = await consume(consumer, 200, timeout=20)
        await consume_nothing(consumer, 0.5)
        ends = await consumer.end_offsets(tps)
    finally:
        await consumer.stop()
    assert sorted((r.partition, r.offset, r.key, r.value) for r in got) == sorted(
        [(p, 0, b"k%d" % p, b"v%d" % p) for p in range(100)]
        + [(p, 1, b"k%d" % p, b"w%d" % p) for p in range(100)])
    assert ends == {tp: 2 for tp in tps}


# --- offsets: earliest, latest, given, timestamp, seek -----------------------------------------


@pytest.fixture
def ten_records(kafka_broker: Any) -> tuple[str, int]:
    """A one-partition topic with offsets 0..9, timestamps base + 1000*i."""
    topic = create_topic(kafka_broker, topic_name("ten"))
    base = now_ms() - 100_000

    async def fill() -> None:
        producer = await start_producer(kafka_broker)
        try:
            await send_all(producer, topic, [{"key": b"k%d" % i, "value": b"v%d" % i,
                                              "timestamp_ms": base + 1000 * i} for i in range(10)])
        finally:
            await producer.stop()

    asyncio.run(asyncio.wait_for(fill(), BODY_TIMEOUT))
    return topic, base


@run_async
async def test_consume_from_earliest_given_and_latest(kafka_broker: Any,
                                                      ten_records: tuple[str, int]) -> None:
    topic, _ = ten_records
    tp = TopicPartition(topic, 0)
    consumer = await start_consumer(kafka_broker)
    try:
        consumer.assign([tp])
        assert await consumer.beginning_offsets([tp]) == {tp: 0}
        assert await consumer.end_offsets([tp]) == {tp: 10}
        await consumer.seek_to_beginning(tp)
        assert [r.offset for r in await consume(consumer, 10)] == list(range(10))
        consumer.seek(tp, 7)
        assert [(r.offset, r.value) for r in await consume(consumer, 3)] == [
            (7, b"v7"), (8, b"v8"), (9, b"v9")]
        await consumer.seek_to_end(tp)
        assert await consumer.position(tp) == 10
        await consume_nothing(consumer, 1.0)
        producer = await start_producer(kafka_broker)
        try:
            await producer.send_and_wait(topic, b"new")
        finally:
            await producer.stop()
        r = (await consume(consumer, 1))[0]
        assert (r.offset, r.value) == (10, b"new")
        assert consumer.highwater(tp) == 11
    finally:
        await consumer.stop()


@run_async
async def test_latest_reset_policy(kafka_broker: Any, ten_records: tuple[str, int]) -> None:
    topic, _ = ten_records
    tp = TopicPartition(topic, 0)
    consumer = await start_consumer(kafka_broker, auto_offset_reset="latest")
    try:
        consumer.assign([tp])
        assert await consumer.position(tp) == 10
    finally:
        await consumer.stop()


@run_async
async def test_offset_out_of_range_resets_to_earliest(kafka_broker: Any,
                                                      ten_records: tuple[str, int]) -> None:
    topic, _ = ten_records
    tp = TopicPartition(topic, 0)
    consumer = await start_consumer(kafka_broker, auto_offset_reset="earliest")
    try:
        consumer.assign([tp])
        consumer.seek(tp, 50)
        assert [r.offset for r in await consume(consumer, 10)] == list(range(10))
    finally:
        await consumer.stop()


@run_async
async def test_offsets_for_times(kafka_broker: Any, ten_records: tuple[str, int]) -> None:
    topic, base = ten_records
    tp = TopicPartition(topic, 0)
    consumer = await start_consumer(kafka_broker)
    try:
        found = await consumer.offsets_for_times({tp: base + 3500})
        assert (found[tp].offset, found[tp].timestamp) == (4, base + 4000)
        assert (await consumer.offsets_for_times({tp: base}))[tp].offset == 0
        assert (await consumer.offsets_for_times({tp: base + 9000}))[tp].offset == 9
        assert await consumer.offsets_for_times({tp: base + 60_000}) == {tp: None}
        consumer.assign([tp])
        consumer.seek(tp, found[tp].offset)
        got = await consume(consumer, 6)
        assert [(r.offset, r.timestamp) for r in got] == [
            (i, base + 1000 * i) for i in range(4, 10)]
    finally:
        await consumer.stop()


@run_async
async def test_seek_and_rewind(kafka_broker: Any, ten_records: tuple[str, int]) -> None:
    topic, _ = ten_records
    tp = TopicPartition(topic, 0)
    consumer = await start_consumer(kafka_broker)
    try:
        consumer.assign([tp])
        await consumer.seek_to_beginning(tp)
        assert [r.offset for r in await consume(consumer, 6)] == list(range(6))
        assert await consumer.position(tp) == 6
        consumer.seek(tp, 2)
        assert [r.offset for r in await consume(consumer, 3)] == [2, 3, 4]
        consumer.seek(tp, 8)
        assert [r.value for r in await consume(consumer, 2)] == [b"v8", b"v9"]
        await consumer.seek_to_beginning(tp)
        assert (await consume(consumer, 1))[0].offset == 0
        # getone() yields records one by one, in order.
        assert (await asyncio.wait_for(consumer.getone(), TIMEOUT)).offset == 1
    finally:
        await consumer.stop()


# --- admin (aiokafka's client speaks older protocol versions) ------------------------------------


@run_async
async def test_admin_topics_partitions_records(kafka_broker: Any) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_broker.bootstrap_servers,
                                request_timeout_ms=5000)
    await admin.start()
    try:
        topic = topic_name("adm")
        response = await admin.create_topics([NewTopic(topic, 2, 1)])
        errors = [(t[0], t[1]) for t in response.topic_errors]
        assert errors == [(topic, 0)]
        response = await admin.create_topics([NewTopic(topic, 2, 1)])
        assert [(t[0], t[1]) for t in response.topic_errors] == [(topic, TOPIC_ALREADY_EXISTS)]
        assert topic in await admin.list_topics()

        await admin.create_partitions({topic: NewPartitions(4)})
        described = await admin.describe_topics([topic])
        assert sorted(p["partition"] for p in described[0]["partitions"]) == [0, 1, 2, 3]

        producer = await start_producer(kafka_broker)
        try:
            await send_all(producer, topic, [{"value": b"v%d" % i, "partition": 3}
                                             for i in range(10)])
        finally:
            await producer.stop()
        low = await admin.delete_records({TopicPartition(topic, 3): RecordsToDelete(6)})
        assert low == {TopicPartition(topic, 3): 6}

        consumer = await start_consumer(kafka_broker)
        try:
            tp = TopicPartition(topic, 3)
            consumer.assign([tp])
            await consumer.seek_to_beginning(tp)
            assert [r.offset for r in await consume(consumer, 4)] == [6, 7, 8, 9]
        finally:
            await consumer.stop()

        cluster = await admin.describe_cluster()
        assert [(b["node_id"], b["host"], b["port"]) for b in cluster["brokers"]] == [
            (1, "127.0.0.1", kafka_broker.port)]

        response = await admin.delete_topics([topic])
        assert [(t[0], t[1]) for t in response.topic_error_codes] == [(topic, 0)]
        response = await admin.delete_topics([topic])
        assert [(t[0], t[1]) for t in response.topic_error_codes] == [
            (topic, UNKNOWN_TOPIC_OR_PARTITION)]
    finally:
        await admin.close()


# --- idempotence and acks -------------------------------------------------------------------------


@run_async
async def test_idempotent_producer(kafka_broker: Any) -> None:
    topic = create_topic(kafka_broker, topic_name("idem"), partitions=2)
    producer = await start_producer(kafka_broker, enable_idempotence=True, max_batch_size=1000)
    records = [{"key": b"k%d" % i, "value": b"v%d" % i, "partition": i % 2} for i in range(400)]
    try:
        metas = await send_all(producer, topic, records)
        metas += await send_all(producer, topic, records[:10])
    finally:
        await producer.stop()
    for p in (0, 1):
        assert [m.offset for m in metas if m.partition == p] == list(range(205))
        check_idempotent_batches(stored_batches(kafka_broker, topic, p, 205))
    consumer = await start_consumer(kafka_broker)
    try:
        consumer.assign([TopicPartition(topic, 0)])
        consumer.seek(TopicPartition(topic, 0), 0)
        got = await consume(consumer, 205)
    finally:
        await consumer.stop()
    assert [r.value for r in got] == [b"v%d" % i for i in range(0, 400, 2)] + [
        b"v%d" % i for i in range(0, 10, 2)]


@pytest.mark.parametrize("acks", [0, 1, "all"])
@run_async
async def test_acks(kafka_broker: Any, acks: Any) -> None:
    topic = create_topic(kafka_broker, topic_name("acks"))
    producer = await start_producer(kafka_broker, acks=acks)
    records = [{"key": b"k%d" % i, "value": b"v%d" % i} for i in range(50)]
    try:
        metas = await send_all(producer, topic, records)
    finally:
        await producer.stop()
    if acks != 0:
        assert [m.offset for m in metas] == list(range(50))
    consumer = await start_consumer(kafka_broker)
    try:
        consumer.assign([TopicPartition(topic, 0)])
        consumer.seek(TopicPartition(topic, 0), 0)
        got = await consume(consumer, 50)
    finally:
        await consumer.stop()
    assert [(r.offset, r.key, r.value) for r in got] == [
        (i, b"k%d" % i, b"v%d" % i) for i in range(50)]
    assert {b["producer_id"] for b in stored_batches(kafka_broker, topic, 0, 50)} == {-1}


@run_async
async def test_acks_all_with_min_insync_replicas_above_replication(kafka_broker: Any) -> None:
    topic = create_topic(kafka_broker, topic_name(), configs={"min.insync.replicas": "2"})
    producer = await start_producer(kafka_broker, acks="all", request_timeout_ms=3000)
    try:
        # aiokafka retries retriable errors until request_timeout_ms, then reports them.
        with pytest.raises((NotEnoughReplicasError, KafkaError)) as exc:
            await asyncio.wait_for(producer.send_and_wait(topic, b"x"), TIMEOUT)
        assert isinstance(exc.value, NotEnoughReplicasError) or "NotEnoughReplicas" in repr(
            exc.value), repr(exc.value)
    finally:
        await producer.stop()
    producer = await start_producer(kafka_broker, acks=1)
    try:
        assert (await producer.send_and_wait(topic, b"y")).offset == 0
    finally:
        await producer.stop()

