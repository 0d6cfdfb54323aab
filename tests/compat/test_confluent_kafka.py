"""confluent-kafka (librdkafka) against the broker: produce/consume, codecs, big records, many
partitions, offset lookups, the admin API, idempotence and acks.

Consumers use manual assignment only (no consumer groups yet): librdkafka wants a group.id
value, but nothing here subscribes or commits.
"""

from __future__ import annotations

import os
import warnings
from enum import Enum
from typing import Any

import pytest
from confluent_kafka import (
    OFFSET_BEGINNING,
    OFFSET_END,
    TIMESTAMP_CREATE_TIME,
    TIMESTAMP_LOG_APPEND_TIME,
    Consumer,
    KafkaError,
    KafkaException,
    Producer,
    TopicPartition,
)
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    NewPartitions,
    NewTopic,
    OffsetSpec,
    ResourceType,
)

from compat_helpers import (
    BIG_TOPIC_CONFIG,
    INVALID_CONFIG,
    INVALID_PARTITIONS,
    INVALID_REPLICATION_FACTOR,
    INVALID_TOPIC_EXCEPTION,
    MESSAGE_TOO_LARGE,
    MIB,
    NOT_ENOUGH_REPLICAS,
    OFFSET_OUT_OF_RANGE,
    TOPIC_ALREADY_EXISTS,
    TOPIC_DEFAULTS,
    UNKNOWN_TOPIC_OR_PARTITION,
    check_idempotent_batches,
    create_topic,
    now_ms,
    stored_batches,
    topic_name,
)

TIMEOUT = 10.0

# ConfigSource numbers (protocol facts).
DYNAMIC_TOPIC_CONFIG = 1
STATIC_BROKER_CONFIG = 4
DEFAULT_CONFIG = 5


# --- helpers --------------------------------------------------------------------------------------


def make_producer(broker: Any, **conf: Any) -> Producer:
    config = {
        "bootstrap.servers": broker.bootstrap_servers,
        "linger.ms": 5,
        "message.timeout.ms": 8000,
        "socket.timeout.ms": 5000,
    }
    config.update({k.replace("_", "."): v for k, v in conf.items()})
    return Producer(config)


def make_consumer(broker: Any, **conf: Any) -> Consumer:
    config = {
        "bootstrap.servers": broker.bootstrap_servers,
        # librdkafka insists on a group.id; nothing subscribes or commits.
        "group.id": "compat-unused",
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "enable.partition.eof": False,
        "auto.offset.reset": "error",
        "fetch.wait.max.ms": 100,
        "socket.timeout.ms": 5000,
    }
    config.update({k.replace("_", "."): v for k, v in conf.items()})
    return Consumer(config)


def make_admin(broker: Any) -> AdminClient:
    return AdminClient({"bootstrap.servers": broker.bootstrap_servers, "socket.timeout.ms": 5000})


def produce_all(producer: Producer, topic: str, records: list[dict[str, Any]]) -> list[Any]:
    """Produces records (kwargs of Producer.produce) and returns their delivery reports in
    production order; fails on any delivery error."""
    reports: list[Any] = [None] * len(records)
    errors: list[str] = []

    def on_delivery(index: int) -> Any:
        def cb(err: KafkaError | None, msg: Any) -> None:
            if err is not None:
                errors.append(f"record {index}: {err}")
            reports[index] = msg

        return cb

    for i, record in enumerate(records):
        producer.produce(topic, on_delivery=on_delivery(i), **record)
        producer.poll(0)
    remaining = producer.flush(TIMEOUT)
    assert remaining == 0, f"{remaining} records still undelivered after {TIMEOUT}s"
    assert not errors, errors
    return reports


def delivery_errors(producer: Producer, topic: str, records: list[dict[str, Any]]) -> list[Any]:
    """Produces records and returns each one's delivery error (None if delivered)."""
    out: list[Any] = [None] * len(records)
    done = [False] * len(records)

    def on_delivery(index: int) -> Any:
        def cb(err: KafkaError | None, msg: Any) -> None:
            out[index] = err
            done[index] = True

        return cb

    for i, record in enumerate(records):
        producer.produce(topic, on_delivery=on_delivery(i), **record)
    producer.flush(TIMEOUT)
    assert all(done), "some delivery reports never arrived"
    return out


def consume(consumer: Consumer, count: int, timeout: float = 5.0) -> list[Any]:
    """Polls until `count` messages arrived (fails on a message error or the timeout)."""
    import time

    out: list[Any] = []
    deadline = time.monotonic() + timeout
    while len(out) < count:
        left = deadline - time.monotonic()
        assert left > 0, f"got {len(out)} of {count} messages within {timeout}s"
        for msg in consumer.consume(num_messages=count - len(out), timeout=min(left, 0.5)):
            assert msg.error() is None, f"consume error: {msg.error()}"
            out.append(msg)
    return out


def consume_nothing(consumer: Consumer, seconds: float = 1.0) -> None:
    msgs = consumer.consume(num_messages=10, timeout=seconds)
    assert [(m.partition(), m.offset(), m.error()) for m in msgs] == []


def as_tuple(msg: Any) -> tuple[Any, ...]:
    return (msg.partition(), msg.offset(), msg.key(), msg.value(), msg.headers(), msg.timestamp())


def source_of(entry: ConfigEntry) -> int:
    s = entry.source
    return s.value if isinstance(s, Enum) else int(s)


def error_code_of(exc_info: pytest.ExceptionInfo[KafkaException]) -> int:
    return exc_info.value.args[0].code()


# --- metadata -------------------------------------------------------------------------------------


def test_metadata_brokers_and_topics(kafka_broker: Any) -> None:
    topic = create_topic(kafka_broker, topic_name(), partitions=3)
    admin = make_admin(kafka_broker)
    md = admin.list_topics(timeout=TIMEOUT)
    assert list(md.brokers) == [1]
    b = md.brokers[1]
    assert (b.id, b.host, b.port) == (1, "127.0.0.1", kafka_broker.port)
    assert md.controller_id == 1
    assert md.cluster_id
    t = md.topics[topic]
    assert t.error is None
    assert sorted(t.partitions) == [0, 1, 2]
    for p in t.partitions.values():
        assert (p.leader, p.replicas, p.isrs, p.error) == (1, [1], [1], None)


def test_auto_create_on_produce_uses_num_partitions(kafka_broker_factory: Any) -> None:
    broker = kafka_broker_factory(**{"num.partitions": "4"})
    topic = topic_name("auto")
    reports = produce_all(make_producer(broker), topic, [{"value": b"x", "partition": 3}])
    assert (reports[0].partition(), reports[0].offset()) == (3, 0)
    md = make_admin(broker).list_topics(topic=topic, timeout=TIMEOUT)
    assert sorted(md.topics[topic].partitions) == [0, 1, 2, 3]


def test_no_auto_create_when_disabled(kafka_broker_factory: Any) -> None:
    broker = kafka_broker_factory(**{"auto.create.topics.enable": "false"})
    topic = topic_name("absent")
    producer = make_producer(broker, **{"message.timeout.ms": 2000})
    md = producer.list_topics(topic=topic, timeout=TIMEOUT)
    assert md.topics[topic].error is not None
    assert md.topics[topic].error.code() == UNKNOWN_TOPIC_OR_PARTITION
    assert topic not in make_admin(broker).list_topics(timeout=TIMEOUT).topics


# --- produce and consume --------------------------------------------------------------------------


def test_keyed_records_with_headers_and_timestamps(kafka_broker: Any) -> None:
    topic = create_topic(kafka_broker, topic_name(), partitions=2)
    base = now_ms() - 60_000
    records = [
        {"key": b"k0", "value": b"v0", "partition": 0, "timestamp": base,
         "headers": [("h1", b"a"), ("h1", b"b"), ("empty", b"")]},
        {"key": b"k1", "value": b"v1", "partition": 1, "timestamp": base + 1,
         "headers": [("trace-id", b"\x00\x01\xff")]},
        {"key": None, "value": b"no key", "partition": 0, "timestamp": base + 2},
        {"key": b"tombstone", "value": None, "partition": 0, "timestamp": base + 3},
        {"key": b"", "value": b"", "partition": 1, "timestamp": base + 4,
         "headers": [("null-value", None)]},
        {"key": "unicode-κλειδί".encode(), "value": "τιμή".encode(), "partition": 0,
         "timestamp": base + 5},
    ]
    reports = produce_all(make_producer(kafka_broker), topic, records)
    assert [(r.partition(), r.offset()) for r in reports] == [(0, 0), (1, 0), (0, 1), (0, 2),
                                                              (1, 1), (0, 3)]
    for r, rec in zip(reports, records):
        assert r.timestamp() == (TIMESTAMP_CREATE_TIME, rec["timestamp"])

    consumer = make_consumer(kafka_broker)
    try:
        consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING),
                         TopicPartition(topic, 1, OFFSET_BEGINNING)])
        got = sorted((as_tuple(m) for m in consume(consumer, len(records))),
                     key=lambda t: (t[0], t[1]))
    finally:
        consumer.close()
    expected = sorted(
        ((rep.partition(), rep.offset(), rec["key"], rec["value"], rec.get("headers"),
          (TIMESTAMP_CREATE_TIME, rec["timestamp"])) for rep, rec in zip(reports, records)),
        key=lambda t: (t[0], t[1]),
    )
    assert got == expected


def test_log_append_time_topic(kafka_broker: Any) -> None:
    topic = create_topic(kafka_broker, topic_name(),
                         configs={"message.timestamp.type": "LogAppendTime"})
    before = now_ms()
    reports = produce_all(make_producer(kafka_broker), topic,
                          [{"value": b"a", "timestamp": 1000}, {"value": b"b", "timestamp": 2000}])
    after = now_ms()
    for r in reports:
        ts_type, ts = r.timestamp()
        assert ts_type == TIMESTAMP_LOG_APPEND_TIME
        assert before <= ts <= after
    consumer = make_consumer(kafka_broker)
    try:
        consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
        msgs = consume(consumer, 2)
    finally:
        consumer.close()
    for m in msgs:
        ts_type, ts = m.timestamp()
        assert ts_type == TIMESTAMP_LOG_APPEND_TIME
        assert before <= ts <= after, (before, ts, after)


# librdkafka enables LZ4 only if the broker advertises FindCoordinator (its marker for Kafka
# >= 0.8.2, rdkafka_feature.c); without it, it sends lz4 batches uncompressed. The broker
# advertises it, so lz4 must arrive compressed like the others.
@pytest.mark.parametrize("codec", ["gzip", "snappy", "lz4", "zstd"])
def test_compression_codecs(kafka_broker: Any, codec: str) -> None:
    topic = create_topic(kafka_broker, topic_name(codec))
    producer = make_producer(kafka_broker, **{"compression.type": codec, "linger.ms": 50})
    records = [{"key": f"key-{i}".encode(), "value": (f"value {i} " * 40).encode(),
                "headers": [("i", str(i).encode())]} for i in range(200)]
    reports = produce_all(producer, topic, records)
    assert [r.offset() for r in reports] == list(range(200))
    consumer = make_consumer(kafka_broker)
    try:
        consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
        msgs = consume(consumer, 200)
    finally:
        consumer.close()
    assert [(m.offset(), m.key(), m.value(), m.headers()) for m in msgs] == [
        (i, r["key"], r["value"], r["headers"]) for i, r in enumerate(records)
    ]
    # The client really compressed: the stored batches carry the codec.
    assert {b["compression"] for b in stored_batches(kafka_broker, topic, 0, 200)} == {codec}


def test_topic_compression_type_recompresses(kafka_broker: Any) -> None:
    """compression.type=zstd on the topic: uncompressed batches are stored compressed and read
    back unchanged."""
    topic = create_topic(kafka_broker, topic_name(), configs={"compression.type": "zstd"})
    records = [{"key": b"k%d" % i, "value": b"x" * 1000} for i in range(20)]
    produce_all(make_producer(kafka_broker, **{"compression.type": "none"}), topic, records)
    consumer = make_consumer(kafka_broker)
    try:
        consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
        msgs = consume(consumer, 20)
    finally:
        consumer.close()
    assert [(m.offset(), m.key(), m.value()) for m in msgs] == [
        (i, r["key"], r["value"]) for i, r in enumerate(records)
    ]
    assert {b["compression"] for b in stored_batches(kafka_broker, topic, 0, 20)} == {"zstd"}


def test_one_mib_records(kafka_broker: Any) -> None:
    topic = create_topic(kafka_broker, topic_name("big"), configs=BIG_TOPIC_CONFIG)
    values = [os.urandom(MIB), os.urandom(MIB + 100_000), os.urandom(10)]
    producer = make_producer(kafka_broker, **{"message.max.bytes": 2_000_000})
    reports = produce_all(producer, topic, [{"key": b"k%d" % i, "value": v}
                                            for i, v in enumerate(values)])
    assert [r.offset() for r in reports] == [0, 1, 2]
    consumer = make_consumer(kafka_broker, **{"fetch.message.max.bytes": 2_000_000,
                                              "fetch.max.bytes": 10_000_000})
    try:
        consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
        msgs = consume(consumer, 3)
    finally:
        consumer.close()
    assert [(m.offset(), m.key(), len(m.value())) for m in msgs] == [
        (0, b"k0", MIB), (1, b"k1", MIB + 100_000), (2, b"k2", 10)]
    assert [m.value() for m in msgs] == values


def test_record_over_max_message_bytes_is_rejected(kafka_broker: Any) -> None:
    topic = create_topic(kafka_broker, topic_name("toobig"))  # default max.message.bytes 1048588
    producer = make_producer(kafka_broker, **{"message.max.bytes": 3_000_000, "retries": 0})
    errs = delivery_errors(producer, topic,
                           [{"value": os.urandom(MIB + 1000)}, {"value": b"small"}])
    assert errs[0] is not None and errs[0].code() == MESSAGE_TOO_LARGE, errs[0]
    assert errs[1] is None
    consumer = make_consumer(kafka_broker)
    try:
        consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
        msgs = consume(consumer, 1)
    finally:
        consumer.close()
    assert (msgs[0].offset(), msgs[0].value()) == (0, b"small")


def test_hundred_partitions(kafka_broker: Any) -> None:
    topic = create_topic(kafka_broker, topic_name("p100"), partitions=100)
    producer = make_producer(kafka_broker)
    records = [{"key": b"k%d" % p, "value": b"v%d" % p, "partition": p} for p in range(100)]
    records += [{"key": b"k%d" % p, "value": b"w%d" % p, "partition": p} for p in range(100)]
    reports = produce_all(producer, topic, records)
    assert [(r.partition(), r.offset()) for r in reports] == (
        [(p, 0) for p in range(100)] + [(p, 1) for p in range(100)])
    consumer = make_consumer(kafka_broker)
    try:
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(100)])
        msgs = consume(consumer, 200, timeout=20)
        consume_nothing(consumer, 0.5)
        lows_highs = [consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=TIMEOUT)
                      for p in (0, 57, 99)]
    finally:
        consumer.close()
    got = sorted((m.partition(), m.offset(), m.key(), m.value()) for m in msgs)
    assert got == sorted([(p, 0, b"k%d" % p, b"v%d" % p) for p in range(100)]
                         + [(p, 1, b"k%d" % p, b"w%d" % p) for p in range(100)])
    assert lows_highs == [(0, 2)] * 3


# --- offsets: earliest, latest, given, timestamp, seek -----------------------------------------


@pytest.fixture
def ten_records(kafka_broker: Any) -> tuple[str, int]:
    """A one-partition topic with offsets 0..9, timestamps base + 1000*i."""
    topic = create_topic(kafka_broker, topic_name("ten"))
    base = now_ms() - 100_000
    produce_all(make_producer(kafka_broker), topic,
                [{"key": b"k%d" % i, "value": b"v%d" % i, "timestamp": base + 1000 * i}
                 for i in range(10)])
    return topic, base


def test_consume_from_earliest_given_and_latest(kafka_broker: Any,
                                                ten_records: tuple[str, int]) -> None:
    topic, _ = ten_records
    consumer = make_consumer(kafka_broker)
    try:
        assert consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=TIMEOUT) == (0, 10)
        consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
        assert [m.offset() for m in consume(consumer, 10)] == list(range(10))

        consumer.assign([TopicPartition(topic, 0, 7)])
        assert [(m.offset(), m.value()) for m in consume(consumer, 3)] == [
            (7, b"v7"), (8, b"v8"), (9, b"v9")]

        consumer.assign([TopicPartition(topic, 0, OFFSET_END)])
        consume_nothing(consumer, 1.0)
        produce_all(make_producer(kafka_broker), topic, [{"value": b"new"}])
        msgs = consume(consumer, 1)
        assert (msgs[0].offset(), msgs[0].value()) == (10, b"new")
    finally:
        consumer.close()


def test_offset_out_of_range_resets_per_policy(kafka_broker: Any,
                                               ten_records: tuple[str, int]) -> None:
    topic, _ = ten_records
    consumer = make_consumer(kafka_broker, **{"auto.offset.reset": "earliest"})
    try:
        consumer.assign([TopicPartition(topic, 0, 50)])  # beyond the log end
        msgs = consume(consumer, 10)
        assert [m.offset() for m in msgs] == list(range(10))
    finally:
        consumer.close()


def test_offsets_for_times(kafka_broker: Any, ten_records: tuple[str, int]) -> None:
    topic, base = ten_records
    consumer = make_consumer(kafka_broker)
    try:
        found = consumer.offsets_for_times(
            [TopicPartition(topic, 0, base + 3500)], timeout=TIMEOUT)
        assert [(tp.partition, tp.offset, tp.error) for tp in found] == [(0, 4, None)]
        found = consumer.offsets_for_times([TopicPartition(topic, 0, base)], timeout=TIMEOUT)
        assert found[0].offset == 0
        found = consumer.offsets_for_times([TopicPartition(topic, 0, base + 9000)], timeout=TIMEOUT)
        assert found[0].offset == 9
        # After the last record: no offset (librdkafka reports OFFSET_END, -1).
        found = consumer.offsets_for_times([TopicPartition(topic, 0, base + 60_000)],
                                           timeout=TIMEOUT)
        assert found[0].offset == -1
        consumer.assign([TopicPartition(topic, 0, 4)])
        msgs = consume(consumer, 6)
        assert [(m.offset(), m.timestamp()[1]) for m in msgs] == [
            (i, base + 1000 * i) for i in range(4, 10)]
    finally:
        consumer.close()


def test_seek_and_rewind(kafka_broker: Any, ten_records: tuple[str, int]) -> None:
    topic, _ = ten_records
    consumer = make_consumer(kafka_broker)
    try:
        consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
        assert [m.offset() for m in consume(consumer, 6)] == list(range(6))
        consumer.seek(TopicPartition(topic, 0, 2))
        assert [m.offset() for m in consume(consumer, 3)] == [2, 3, 4]
        consumer.seek(TopicPartition(topic, 0, 8))
        assert [m.value() for m in consume(consumer, 2)] == [b"v8", b"v9"]
        consumer.seek(TopicPartition(topic, 0, OFFSET_BEGINNING))
        assert consume(consumer, 1)[0].offset() == 0
        assert consumer.position([TopicPartition(topic, 0)])[0].offset == 1
    finally:
        consumer.close()


def test_admin_list_offsets(kafka_broker: Any, ten_records: tuple[str, int]) -> None:
    topic, base = ten_records
    admin = make_admin(kafka_broker)
    tp = TopicPartition(topic, 0)
    specs = {"earliest": OffsetSpec.earliest(), "latest": OffsetSpec.latest(),
             "max": OffsetSpec.max_timestamp(), "ts": OffsetSpec.for_timestamp(base + 2500)}
    got = {}
    for name, spec in specs.items():
        futures = admin.list_offsets({tp: spec}, request_timeout=TIMEOUT)
        got[name] = futures[tp].result(timeout=TIMEOUT)
    assert got["earliest"].offset == 0
    assert got["latest"].offset == 10
    assert (got["max"].offset, got["max"].timestamp) == (9, base + 9000)
    assert (got["ts"].offset, got["ts"].timestamp) == (3, base + 3000)


# --- admin ----------------------------------------------------------------------------------------


def test_create_and_delete_topics(kafka_broker: Any) -> None:
    admin = make_admin(kafka_broker)
    a, b = topic_name("a"), topic_name("b")
    futures = admin.create_topics([NewTopic(a, num_partitions=3, replication_factor=1),
                                   NewTopic(b, num_partitions=1, replication_factor=1,
                                            config={"retention.ms": "3600000"})],
                                  request_timeout=TIMEOUT)
    for f in futures.values():
        assert f.result(timeout=TIMEOUT) is None
    md = admin.list_topics(timeout=TIMEOUT)
    assert len(md.topics[a].partitions) == 3
    assert len(md.topics[b].partitions) == 1

    # Already exists.
    futures = admin.create_topics([NewTopic(a, num_partitions=1, replication_factor=1)],
                                  request_timeout=TIMEOUT)
    with pytest.raises(KafkaException) as exc:
        futures[a].result(timeout=TIMEOUT)
    assert error_code_of(exc) == TOPIC_ALREADY_EXISTS

    # validate_only creates nothing.
    c = topic_name("c")
    futures = admin.create_topics([NewTopic(c, num_partitions=2, replication_factor=1)],
                                  validate_only=True, request_timeout=TIMEOUT)
    assert futures[c].result(timeout=TIMEOUT) is None
    assert c not in admin.list_topics(timeout=TIMEOUT).topics

    futures = admin.delete_topics([a, b], request_timeout=TIMEOUT)
    for f in futures.values():
        assert f.result(timeout=TIMEOUT) is None
    topics = admin.list_topics(timeout=TIMEOUT).topics
    assert a not in topics and b not in topics

    futures = admin.delete_topics([a], request_timeout=TIMEOUT)
    with pytest.raises(KafkaException) as exc:
        futures[a].result(timeout=TIMEOUT)
    assert error_code_of(exc) == UNKNOWN_TOPIC_OR_PARTITION


def test_recreated_topic_starts_empty(kafka_broker: Any) -> None:
    admin = make_admin(kafka_broker)
    topic = create_topic(kafka_broker, topic_name())
    produce_all(make_producer(kafka_broker), topic, [{"value": b"old"}] * 3)
    admin.delete_topics([topic], request_timeout=TIMEOUT)[topic].result(timeout=TIMEOUT)
    create_topic(kafka_broker, topic)
    consumer = make_consumer(kafka_broker)
    try:
        assert consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=TIMEOUT) == (0, 0)
    finally:
        consumer.close()


@pytest.mark.parametrize(
    ("name", "partitions", "replication", "configs", "code"),
    [
        ("bad name!", 1, 1, {}, INVALID_TOPIC_EXCEPTION),
        ("x" * 250, 1, 1, {}, INVALID_TOPIC_EXCEPTION),
        ("..", 1, 1, {}, INVALID_TOPIC_EXCEPTION),
        ("ok-name-rf", 1, 3, {}, INVALID_REPLICATION_FACTOR),
        ("ok-name-cfg", 1, 1, {"retention.ms": "soon"}, INVALID_CONFIG),
        ("ok-name-key", 1, 1, {"no.such.config": "1"}, INVALID_CONFIG),
    ],
    ids=["invalid-char", "too-long", "dotdot", "replication-factor", "bad-value", "unknown-key"],
)
def test_create_topic_errors(kafka_broker: Any, name: str, partitions: int, replication: int,
                             configs: dict[str, str], code: int) -> None:
    admin = make_admin(kafka_broker)
    futures = admin.create_topics(
        [NewTopic(name, num_partitions=partitions, replication_factor=replication, config=configs)],
        request_timeout=TIMEOUT)
    with pytest.raises(KafkaException) as exc:
        futures[name].result(timeout=TIMEOUT)
    assert error_code_of(exc) == code, exc.value
    assert name not in admin.list_topics(timeout=TIMEOUT).topics


def test_create_partitions(kafka_broker: Any) -> None:
    admin = make_admin(kafka_broker)
    topic = create_topic(kafka_broker, topic_name(), partitions=2)
    futures = admin.create_partitions([NewPartitions(topic, 5)], request_timeout=TIMEOUT)
    assert futures[topic].result(timeout=TIMEOUT) is None
    md = admin.list_topics(topic=topic, timeout=TIMEOUT)
    assert sorted(md.topics[topic].partitions) == [0, 1, 2, 3, 4]

    # The new partitions take records.
    reports = produce_all(make_producer(kafka_broker), topic, [{"value": b"p4", "partition": 4}])
    assert (reports[0].partition(), reports[0].offset()) == (4, 0)

    for bad in (5, 3):  # not an increase
        futures = admin.create_partitions([NewPartitions(topic, bad)], request_timeout=TIMEOUT)
        with pytest.raises(KafkaException) as exc:
            futures[topic].result(timeout=TIMEOUT)
        assert error_code_of(exc) == INVALID_PARTITIONS

    missing = topic_name("missing")
    futures = admin.create_partitions([NewPartitions(missing, 3)], request_timeout=TIMEOUT)
    with pytest.raises(KafkaException) as exc:
        futures[missing].result(timeout=TIMEOUT)
    assert error_code_of(exc) == UNKNOWN_TOPIC_OR_PARTITION


def describe_topic(admin: AdminClient, topic: str) -> dict[str, ConfigEntry]:
    res = ConfigResource(ResourceType.TOPIC, topic)
    return admin.describe_configs([res], request_timeout=TIMEOUT)[res].result(timeout=TIMEOUT)


def test_describe_configs_defaults_and_sources(kafka_broker: Any) -> None:
    admin = make_admin(kafka_broker)
    topic = create_topic(kafka_broker, topic_name(), configs={"retention.ms": "3600000",
                                                              "cleanup.policy": "compact"})
    configs = describe_topic(admin, topic)
    for name, value in TOPIC_DEFAULTS.items():
        if name in ("retention.ms", "cleanup.policy"):
            continue
        entry = configs[name]
        assert entry.value == value, name
        assert source_of(entry) == DEFAULT_CONFIG, name
        assert entry.is_default, name
    for name, value in (("retention.ms", "3600000"), ("cleanup.policy", "compact")):
        entry = configs[name]
        assert (entry.value, source_of(entry), entry.is_default) == (
            value, DYNAMIC_TOPIC_CONFIG, False)
    assert not configs["retention.ms"].is_read_only

    missing = ConfigResource(ResourceType.TOPIC, topic_name("missing"))
    with pytest.raises(KafkaException) as exc:
        admin.describe_configs([missing], request_timeout=TIMEOUT)[missing].result(timeout=TIMEOUT)
    assert error_code_of(exc) == UNKNOWN_TOPIC_OR_PARTITION


def test_describe_configs_static_broker_source(kafka_broker_factory: Any) -> None:
    broker = kafka_broker_factory(**{"log.retention.ms": "7200000", "num.partitions": "2"})
    admin = make_admin(broker)
    topic = create_topic(broker, topic_name())
    entry = describe_topic(admin, topic)["retention.ms"]
    assert (entry.value, source_of(entry)) == ("7200000", STATIC_BROKER_CONFIG)
    synonyms = {name: (s.value, source_of(s)) for name, s in entry.synonyms.items()}
    assert synonyms.get("log.retention.ms") == ("7200000", STATIC_BROKER_CONFIG), synonyms

    res = ConfigResource(ResourceType.BROKER, "1")
    configs = admin.describe_configs([res], request_timeout=TIMEOUT)[res].result(timeout=TIMEOUT)
    assert (configs["num.partitions"].value, source_of(configs["num.partitions"])) == (
        "2", STATIC_BROKER_CONFIG)
    assert configs["log.retention.ms"].value == "7200000"
    assert configs["log.dirs"].value == str(broker.data_dir)
    assert source_of(configs["auto.create.topics.enable"]) == DEFAULT_CONFIG
    assert configs["auto.create.topics.enable"].value == "true"


def test_incremental_alter_configs(kafka_broker: Any) -> None:
    admin = make_admin(kafka_broker)
    topic = create_topic(kafka_broker, topic_name(), configs={"segment.bytes": "10485760"})

    def alter(*entries: ConfigEntry, validate_only: bool = False) -> None:
        res = ConfigResource(ResourceType.TOPIC, topic, incremental_configs=list(entries))
        admin.incremental_alter_configs([res], validate_only=validate_only,
                                        request_timeout=TIMEOUT)[res].result(timeout=TIMEOUT)

    alter(ConfigEntry("retention.ms", "1000", incremental_operation=AlterConfigOpType.SET),
          ConfigEntry("max.message.bytes", "2000000", incremental_operation=AlterConfigOpType.SET))
    c = describe_topic(admin, topic)
    assert (c["retention.ms"].value, source_of(c["retention.ms"])) == ("1000", DYNAMIC_TOPIC_CONFIG)
    assert c["max.message.bytes"].value == "2000000"
    assert c["segment.bytes"].value == "10485760"  # untouched

    alter(ConfigEntry("cleanup.policy", "compact", incremental_operation=AlterConfigOpType.APPEND))
    assert describe_topic(admin, topic)["cleanup.policy"].value == "delete,compact"
    alter(ConfigEntry("cleanup.policy", "delete", incremental_operation=AlterConfigOpType.SUBTRACT))
    assert describe_topic(admin, topic)["cleanup.policy"].value == "compact"

    alter(ConfigEntry("retention.ms", None, incremental_operation=AlterConfigOpType.DELETE))
    c = describe_topic(admin, topic)
    assert (c["retention.ms"].value, source_of(c["retention.ms"])) == ("604800000", DEFAULT_CONFIG)

    alter(ConfigEntry("retention.ms", "5", incremental_operation=AlterConfigOpType.SET),
          validate_only=True)
    assert describe_topic(admin, topic)["retention.ms"].value == "604800000"

    with pytest.raises(KafkaException) as exc:
        alter(ConfigEntry("retention.ms", "not-a-number",
                          incremental_operation=AlterConfigOpType.SET))
    assert error_code_of(exc) == INVALID_CONFIG
    with pytest.raises(KafkaException) as exc:
        alter(ConfigEntry("no.such.config", "1", incremental_operation=AlterConfigOpType.SET))
    assert error_code_of(exc) == INVALID_CONFIG
    assert describe_topic(admin, topic)["segment.bytes"].value == "10485760"


def test_legacy_alter_configs_replaces_overrides(kafka_broker: Any) -> None:
    admin = make_admin(kafka_broker)
    topic = create_topic(kafka_broker, topic_name(), configs={"segment.bytes": "10485760"})
    res = ConfigResource(ResourceType.TOPIC, topic, set_config={"retention.ms": "2000"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        futures = admin.alter_configs([res], request_timeout=TIMEOUT)
    futures[res].result(timeout=TIMEOUT)
    c = describe_topic(admin, topic)
    assert (c["retention.ms"].value, source_of(c["retention.ms"])) == ("2000", DYNAMIC_TOPIC_CONFIG)
    # AlterConfigs replaces the whole set: the earlier override is back to its default.
    assert (c["segment.bytes"].value, source_of(c["segment.bytes"])) == (
        "1073741824", DEFAULT_CONFIG)


def test_delete_records_moves_low_watermark(kafka_broker: Any,
                                            ten_records: tuple[str, int]) -> None:
    topic, _ = ten_records
    admin = make_admin(kafka_broker)
    tp = TopicPartition(topic, 0, 4)
    result = admin.delete_records([tp], request_timeout=TIMEOUT)
    deleted = next(iter(result.values())).result(timeout=TIMEOUT)
    assert deleted.low_watermark == 4

    consumer = make_consumer(kafka_broker)
    try:
        assert consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=TIMEOUT) == (4, 10)
        consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
        msgs = consume(consumer, 6)
        assert [(m.offset(), m.value()) for m in msgs] == [(i, b"v%d" % i) for i in range(4, 10)]
    finally:
        consumer.close()

    # Beyond the high watermark: OFFSET_OUT_OF_RANGE.
    result = admin.delete_records([TopicPartition(topic, 0, 11)], request_timeout=TIMEOUT)
    with pytest.raises(KafkaException) as exc:
        next(iter(result.values())).result(timeout=TIMEOUT)
    assert error_code_of(exc) == OFFSET_OUT_OF_RANGE

    # OFFSET_END (-1): everything up to the high watermark.
    result = admin.delete_records([TopicPartition(topic, 0, OFFSET_END)], request_timeout=TIMEOUT)
    assert next(iter(result.values())).result(timeout=TIMEOUT).low_watermark == 10


def test_describe_cluster(kafka_broker: Any) -> None:
    admin = make_admin(kafka_broker)
    desc = admin.describe_cluster(request_timeout=TIMEOUT).result(timeout=TIMEOUT)
    assert desc.cluster_id
    assert desc.cluster_id == admin.list_topics(timeout=TIMEOUT).cluster_id
    assert [(n.id, n.host, n.port) for n in desc.nodes] == [(1, "127.0.0.1", kafka_broker.port)]
    assert desc.controller.id == 1


def test_describe_topics(kafka_broker: Any) -> None:
    from confluent_kafka import TopicCollection

    admin = make_admin(kafka_broker)
    topic = create_topic(kafka_broker, topic_name(), partitions=3)
    futures = admin.describe_topics(TopicCollection([topic]), request_timeout=TIMEOUT)
    desc = futures[topic].result(timeout=TIMEOUT)
    assert desc.name == topic
    assert not desc.is_internal
    assert [(p.id, p.leader.id, [r.id for r in p.replicas], [r.id for r in p.isr])
            for p in desc.partitions] == [(i, 1, [1], [1]) for i in range(3)]


# --- idempotence and acks -------------------------------------------------------------------------


def test_idempotent_producer(kafka_broker: Any) -> None:
    topic = create_topic(kafka_broker, topic_name("idem"), partitions=2)
    producer = make_producer(kafka_broker, **{"enable.idempotence": True, "linger.ms": 2,
                                              "batch.num.messages": 17})
    records = [{"key": b"k%d" % i, "value": b"v%d" % i, "partition": i % 2} for i in range(400)]
    reports = produce_all(producer, topic, records)
    for p in (0, 1):
        assert [r.offset() for r in reports if r.partition() == p] == list(range(200))
    # A second round on the same producer (sequence numbers continue).
    reports = produce_all(producer, topic, records[:10])
    assert [(r.partition(), r.offset()) for r in reports] == [
        (i % 2, 200 + i // 2) for i in range(10)]
    consumer = make_consumer(kafka_broker)
    try:
        consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
        msgs = consume(consumer, 205)
        consume_nothing(consumer, 0.5)
    finally:
        consumer.close()
    assert [m.value() for m in msgs] == [b"v%d" % i for i in range(0, 400, 2)] + [
        b"v%d" % i for i in range(0, 10, 2)]
    for p in (0, 1):
        check_idempotent_batches(stored_batches(kafka_broker, topic, p, 205))


@pytest.mark.parametrize("acks", ["0", "1", "all"])
def test_acks(kafka_broker: Any, acks: str) -> None:
    topic = create_topic(kafka_broker, topic_name("acks"))
    producer = make_producer(kafka_broker, acks=acks)
    records = [{"key": b"k%d" % i, "value": b"v%d" % i} for i in range(50)]
    reports = produce_all(producer, topic, records)
    if acks != "0":
        assert [r.offset() for r in reports] == list(range(50))
    consumer = make_consumer(kafka_broker)
    try:
        consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
        msgs = consume(consumer, 50)
    finally:
        consumer.close()
    assert [(m.offset(), m.key(), m.value()) for m in msgs] == [
        (i, b"k%d" % i, b"v%d" % i) for i in range(50)]
    # Not idempotent: no producer id in the batches.
    assert {b["producer_id"] for b in stored_batches(kafka_broker, topic, 0, 50)} == {-1}


def test_acks_all_with_min_insync_replicas_above_replication(kafka_broker: Any) -> None:
    topic = create_topic(kafka_broker, topic_name(), configs={"min.insync.replicas": "2"})
    producer = make_producer(kafka_broker, acks="all", retries=0, **{"message.timeout.ms": 3000})
    errs = delivery_errors(producer, topic, [{"value": b"x"}])
    assert errs[0] is not None and errs[0].code() == NOT_ENOUGH_REPLICAS, errs[0]
    # acks=1 does not need the ISR.
    reports = produce_all(make_producer(kafka_broker, acks="1"), topic, [{"value": b"y"}])
    assert reports[0].offset() == 0
