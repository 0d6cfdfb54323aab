"""kafka-python (3.x, pure Python) against the broker: produce/consume, codecs, big records,
many partitions, offset lookups, KafkaAdminClient, the default idempotent producer and acks.

Consumers have group_id=None (no consumer groups yet) and use assign() + seek.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

import kafka.errors as Errors
import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType

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
    wait_for,
)

TIMEOUT = 10.0
TIMEOUT_MS = 10_000
CREATE_TIME, LOG_APPEND_TIME = 0, 1



# --- helpers --------------------------------------------------------------------------------------


def make_producer(broker: Any, **conf: Any) -> KafkaProducer:
    config: dict[str, Any] = {
        "bootstrap_servers": broker.bootstrap_servers,
        "linger_ms": 5,
        "request_timeout_ms": 5000,
        "delivery_timeout_ms": 8000,
        "max_block_ms": 8000,
        "bootstrap_timeout_ms": 8000,
    }
    config.update(conf)
    return KafkaProducer(**config)


def make_consumer(broker: Any, **conf: Any) -> KafkaConsumer:
    config: dict[str, Any] = {
        "bootstrap_servers": broker.bootstrap_servers,
        "group_id": None,
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "fetch_max_wait_ms": 100,
        "request_timeout_ms": 5000,
        "bootstrap_timeout_ms": 8000,
    }
    config.update(conf)
    return KafkaConsumer(**config)


@pytest.fixture
def admin(kafka_broker: Any) -> Iterator[KafkaAdminClient]:
    client = KafkaAdminClient(bootstrap_servers=kafka_broker.bootstrap_servers,
                              request_timeout_ms=5000, bootstrap_timeout_ms=8000)
    yield client
    client.close()


def send_all(producer: KafkaProducer, topic: str, records: list[dict[str, Any]]) -> list[Any]:
    """Sends records (kwargs of KafkaProducer.send) and returns their RecordMetadata."""
    futures = [producer.send(topic, **r) for r in records]
    producer.flush(timeout=TIMEOUT)
    return [f.get(timeout=TIMEOUT) for f in futures]


def consume(consumer: KafkaConsumer, count: int, timeout: float = 5.0) -> list[Any]:
    out: list[Any] = []
    deadline = time.monotonic() + timeout
    while len(out) < count:
        left = deadline - time.monotonic()
        assert left > 0, f"got {len(out)} of {count} records within {timeout}s"
        for records in consumer.poll(timeout_ms=int(min(left, 0.5) * 1000),
                                     max_records=count - len(out)).values():
            out.extend(records)
    return out


def consume_nothing(consumer: KafkaConsumer, seconds: float = 1.0) -> None:
    got = consumer.poll(timeout_ms=int(seconds * 1000))
    assert {tp: [r.offset for r in rs] for tp, rs in got.items() if rs} == {}


def as_tuple(r: Any) -> tuple[Any, ...]:
    return (r.partition, r.offset, r.key, r.value, r.headers, r.timestamp, r.timestamp_type)


def configs_of(admin: KafkaAdminClient, topic: str) -> dict[str, dict[str, Any]]:
    described = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)],
                                       include_synonyms=True, config_filter="all")
    return described["topic"][topic]


# --- produce and consume --------------------------------------------------------------------------


def test_keyed_records_with_headers_and_timestamps(kafka_broker: Any) -> None:
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
         "timestamp_ms": base + 5, "headers": [("ünï", "çødé".encode())]},
    ]
    producer = make_producer(kafka_broker)
    try:
        metas = send_all(producer, topic, records)
    finally:
        producer.close(timeout=TIMEOUT)
    assert [(m.partition, m.offset) for m in metas] == [(0, 0), (1, 0), (0, 1), (0, 2), (1, 1),
                                                        (0, 3)]
    assert [m.timestamp for m in metas] == [r["timestamp_ms"] for r in records]

    consumer = make_consumer(kafka_broker)
    try:
        tps = [TopicPartition(topic, 0), TopicPartition(topic, 1)]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        got = sorted((as_tuple(r) for r in consume(consumer, len(records))),
                     key=lambda t: (t[0], t[1]))
    finally:
        consumer.close()
    expected = sorted(
        ((m.partition, m.offset, r["key"], r["value"], r.get("headers", []), r["timestamp_ms"],
          CREATE_TIME) for m, r in zip(metas, records)),
        key=lambda t: (t[0], t[1]),
    )
    assert got == expected


def test_log_append_time_topic(kafka_broker: Any) -> None:
    topic = create_topic(kafka_broker, topic_name(),
                         configs={"message.timestamp.type": "LogAppendTime"})
    before = now_ms()
    producer = make_producer(kafka_broker)
    try:
        metas = send_all(producer, topic, [{"value": b"a", "timestamp_ms": 1000}])
    finally:
        producer.close(timeout=TIMEOUT)
    after = now_ms()
    # The produce response carries the broker's append time.
    assert before <= metas[0].timestamp <= after, (before, metas[0].timestamp, after)
    consumer = make_consumer(kafka_broker)
    try:
        consumer.assign([TopicPartition(topic, 0)])
        consumer.seek(TopicPartition(topic, 0), 0)
        r = consume(consumer, 1)[0]
    finally:
        consumer.close()
    assert r.timestamp_type == LOG_APPEND_TIME
    assert r.timestamp == metas[0].timestamp


@pytest.mark.parametrize("codec", ["gzip", "snappy", "lz4", "zstd"])
def test_compression_codecs(kafka_broker: Any, codec: str) -> None:
    topic = create_topic(kafka_broker, topic_name(codec))
    producer = make_producer(kafka_broker, compression_type=codec, linger_ms=50)
    records = [{"key": f"key-{i}".encode(), "value": (f"value {i} " * 40).encode(),
                "headers": [("i", str(i).encode())]} for i in range(200)]
    try:
        metas = send_all(producer, topic, records)
    finally:
        producer.close(timeout=TIMEOUT)
    assert [m.offset for m in metas] == list(range(200))
    consumer = make_consumer(kafka_broker)
    try:
        consumer.assign([TopicPartition(topic, 0)])
        consumer.seek(TopicPartition(topic, 0), 0)
        got = consume(consumer, 200)
    finally:
        consumer.close()
    assert [(r.offset, r.key, r.value, r.headers) for r in got] == [
        (i, rec["key"], rec["value"], rec["headers"]) for i, rec in enumerate(records)]
    assert {b["compression"] for b in stored_batches(kafka_broker, topic, 0, 200)} == {codec}


def test_one_mib_records(kafka_broker: Any) -> None:
    topic = create_topic(kafka_broker, topic_name("big"), configs=BIG_TOPIC_CONFIG)
    values = [os.urandom(MIB), os.urandom(MIB + 100_000), os.urandom(10)]
    producer = make_producer(kafka_broker, max_request_size=2_000_000)
    try:
        metas = send_all(producer, topic, [{"key": b"k%d" % i, "value": v}
                                           for i, v in enumerate(values)])
    finally:
        producer.close(timeout=TIMEOUT)
    assert [m.offset for m in metas] == [0, 1, 2]
    consumer = make_consumer(kafka_broker, max_partition_fetch_bytes=2_000_000,
                             fetch_max_bytes=10_000_000)
    try:
        consumer.assign([TopicPartition(topic, 0)])
        consumer.seek(TopicPartition(topic, 0), 0)
        got = consume(consumer, 3)
    finally:
        consumer.close()
    assert [(r.offset, r.key, len(r.value)) for r in got] == [
        (0, b"k0", MIB), (1, b"k1", MIB + 100_000), (2, b"k2", 10)]
    assert [r.value for r in got] == values


def test_record_over_max_message_bytes_is_rejected(kafka_broker: Any) -> None:
    topic = create_topic(kafka_broker, topic_name("toobig"))  # max.message.bytes 1048588
    producer = make_producer(kafka_broker, max_request_size=3_000_000, enable_idempotence=False,
                             retries=0)
    try:
        future = producer.send(topic, value=os.urandom(MIB + 1000))
        with pytest.raises(Errors.MessageSizeTooLargeError) as exc:
            future.get(timeout=TIMEOUT)
        assert exc.value.errno == MESSAGE_TOO_LARGE
        meta = producer.send(topic, value=b"small").get(timeout=TIMEOUT)
        assert meta.offset == 0
    finally:
        producer.close(timeout=TIMEOUT)


def test_hundred_partitions(kafka_broker: Any) -> None:
    topic = create_topic(kafka_broker, topic_name("p100"), partitions=100)
    producer = make_producer(kafka_broker)
    records = [{"key": b"k%d" % p, "value": b"v%d" % p, "partition": p} for p in range(100)]
    records += [{"key": b"k%d" % p, "value": b"w%d" % p, "partition": p} for p in range(100)]
    try:
        assert producer.partitions_for(topic) == set(range(100))
        metas = send_all(producer, topic, records)
    finally:
        producer.close(timeout=TIMEOUT)
    assert [(m.partition, m.offset) for m in metas] == (
        [(p, 0) for p in range(100)] + [(p, 1) for p in range(100)])
    consumer = make_consumer(kafka_broker)
    try:
        assert consumer.partitions_for_topic(topic) == set(range(100))
        tps = [TopicPartition(topic, p) for p in range(100)]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        got = consume(consumer, 200, timeout=20)
        consume_nothing(consumer, 0.5)
        ends = consumer.end_offsets(tps)
    finally:
        consumer.close()
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
    producer = make_producer(kafka_broker)
    try:
        send_all(producer, topic, [{"key": b"k%d" % i, "value": b"v%d" % i,
                                    "timestamp_ms": base + 1000 * i} for i in range(10)])
    finally:
        producer.close(timeout=TIMEOUT)
    return topic, base


def test_consume_from_earliest_given_and_latest(kafka_broker: Any,
                                                ten_records: tuple[str, int]) -> None:
    topic, _ = ten_records
    tp = TopicPartition(topic, 0)
    consumer = make_consumer(kafka_broker)
    try:
        consumer.assign([tp])
        assert consumer.beginning_offsets([tp]) == {tp: 0}
        assert consumer.end_offsets([tp]) == {tp: 10}

        consumer.seek_to_beginning(tp)
        assert [r.offset for r in consume(consumer, 10)] == list(range(10))

        consumer.seek(tp, 7)
        assert [(r.offset, r.value) for r in consume(consumer, 3)] == [
            (7, b"v7"), (8, b"v8"), (9, b"v9")]

        consumer.seek_to_end(tp)
        assert consumer.position(tp) == 10
        consume_nothing(consumer, 1.0)
        producer = make_producer(kafka_broker)
        try:
            send_all(producer, topic, [{"value": b"new"}])
        finally:
            producer.close(timeout=TIMEOUT)
        r = consume(consumer, 1)[0]
        assert (r.offset, r.value) == (10, b"new")
        assert consumer.highwater(tp) == 11
    finally:
        consumer.close()


def test_latest_reset_policy(kafka_broker: Any, ten_records: tuple[str, int]) -> None:
    topic, _ = ten_records
    tp = TopicPartition(topic, 0)
    consumer = make_consumer(kafka_broker, auto_offset_reset="latest")
    try:
        consumer.assign([tp])
        assert consumer.position(tp) == 10
    finally:
        consumer.close()


def test_offset_out_of_range_resets_to_earliest(kafka_broker: Any,
                                                ten_records: tuple[str, int]) -> None:
    topic, _ = ten_records
    tp = TopicPartition(topic, 0)
    consumer = make_consumer(kafka_broker, auto_offset_reset="earliest")
    try:
        consumer.assign([tp])
        consumer.seek(tp, 50)
        assert [r.offset for r in consume(consumer, 10)] == list(range(10))
    finally:
        consumer.close()


def test_offset_out_of_range_without_reset_policy_raises(kafka_broker: Any,
                                                         ten_records: tuple[str, int]) -> None:
    topic, _ = ten_records
    tp = TopicPartition(topic, 0)
    consumer = make_consumer(kafka_broker, auto_offset_reset="none")
    try:
        consumer.assign([tp])
        consumer.seek(tp, 50)
        with pytest.raises(Errors.OffsetOutOfRangeError):
            deadline = time.monotonic() + TIMEOUT
            while time.monotonic() < deadline:
                consumer.poll(timeout_ms=200)
    finally:
        consumer.close()


def test_offsets_for_times(kafka_broker: Any, ten_records: tuple[str, int]) -> None:
    topic, base = ten_records
    tp = TopicPartition(topic, 0)
    consumer = make_consumer(kafka_broker)
    try:
        found = consumer.offsets_for_times({tp: base + 3500})
        assert (found[tp].offset, found[tp].timestamp) == (4, base + 4000)
        assert consumer.offsets_for_times({tp: base})[tp].offset == 0
        assert consumer.offsets_for_times({tp: 0})[tp].offset == 0
        assert consumer.offsets_for_times({tp: base + 9000})[tp].offset == 9
        assert consumer.offsets_for_times({tp: base + 60_000}) == {tp: None}
        consumer.assign([tp])
        consumer.seek(tp, found[tp].offset)
        got = consume(consumer, 6)
        assert [(r.offset, r.timestamp) for r in got] == [
            (i, base + 1000 * i) for i in range(4, 10)]
    finally:
        consumer.close()


def test_seek_and_rewind(kafka_broker: Any, ten_records: tuple[str, int]) -> None:
    topic, _ = ten_records
    tp = TopicPartition(topic, 0)
    consumer = make_consumer(kafka_broker)
    try:
        consumer.assign([tp])
        consumer.seek_to_beginning(tp)
        assert [r.offset for r in consume(consumer, 6)] == list(range(6))
        assert consumer.position(tp) == 6
        consumer.seek(tp, 2)
        assert [r.offset for r in consume(consumer, 3)] == [2, 3, 4]
        consumer.seek(tp, 8)
        assert [r.value for r in consume(consumer, 2)] == [b"v8", b"v9"]
        consumer.seek_to_beginning(tp)
        assert consume(consumer, 1)[0].offset == 0
        assert consumer.position(tp) == 1
    finally:
        consumer.close()


def test_incremental_fetch_session(kafka_broker: Any) -> None:
    """kafka-python uses incremental fetch sessions (KIP-227) by default (librdkafka and aiokafka
    do not): a full fetch opens the session, then incremental fetches with epochs 1, 2, ...
    each bring the records appended since."""
    topic = create_topic(kafka_broker, topic_name())
    tp = TopicPartition(topic, 0)
    producer = make_producer(kafka_broker)
    consumer = make_consumer(kafka_broker, enable_incremental_fetch_sessions=True)
    try:
        consumer.assign([tp])
        consumer.seek(tp, 0)
        for round_ in range(4):
            send_all(producer, topic, [{"value": b"r%d-%d" % (round_, i)} for i in range(3)])
            got = consume(consumer, 3)
            assert [(r.offset, r.value) for r in got] == [
                (3 * round_ + i, b"r%d-%d" % (round_, i)) for i in range(3)]
        handler = consumer._fetcher._session_handlers[1]
        assert handler.next_metadata.session_id > 0
        assert handler.next_metadata.epoch >= 4
    finally:
        consumer.close()
        producer.close(timeout=TIMEOUT)


# KIP-227: a full fetch naming an existing session with epoch 0 closes it and opens a new one;
# kafka-python sends exactly that after any session error.
def test_fetch_session_close_and_reopen(kafka_broker: Any) -> None:
    topic = create_topic(kafka_broker, topic_name())
    tp = TopicPartition(topic, 0)
    producer = make_producer(kafka_broker)
    consumer = make_consumer(kafka_broker, enable_incremental_fetch_sessions=True)
    try:
        send_all(producer, topic, [{"value": b"a"}])
        consumer.assign([tp])
        consumer.seek(tp, 0)
        assert [r.value for r in consume(consumer, 1)] == [b"a"]
        handler = consumer._fetcher._session_handlers[1]
        old_session = handler.next_metadata.session_id
        assert old_session > 0
        # What the client does after an error answer: (session id, epoch 0).
        handler.next_metadata = handler.next_metadata.next_close_existing()
        send_all(producer, topic, [{"value": b"b"}])
        got = consume(consumer, 1)
        assert [(r.offset, r.value) for r in got] == [(1, b"b")]
        assert handler.next_metadata.session_id > 0
        assert handler.next_metadata.epoch == 1
    finally:
        consumer.close()
        producer.close(timeout=TIMEOUT)


# --- admin ----------------------------------------------------------------------------------------


def test_create_and_delete_topics(kafka_broker: Any, admin: KafkaAdminClient) -> None:
    a, b = topic_name("a"), topic_name("b")
    result = admin.create_topics({a: {"num_partitions": 3, "replication_factor": 1},
                                  b: {"configs": {"retention.ms": "3600000"}}},
                                 timeout_ms=TIMEOUT_MS)
    by_name = {t["name"]: t for t in result["topics"]}
    assert by_name[a]["error_code"] == 0 and by_name[b]["error_code"] == 0
    assert by_name[a]["num_partitions"] == 3
    assert by_name[b]["num_partitions"] == 1  # the broker's num.partitions
    assert by_name[b]["replication_factor"] == 1
    assert by_name[b]["configs"]["retention.ms"]["value"] == "3600000"
    assert by_name[b]["configs"]["retention.ms"]["config_source"] == "DYNAMIC_TOPIC_CONFIG"
    admin.wait_for_topics([a, b], timeout_ms=TIMEOUT_MS)
    described = {t["name"]: t for t in admin.describe_topics([a, b])}
    assert sorted(p["partition_index"] for p in described[a]["partitions"]) == [0, 1, 2]
    assert all((p["leader_id"], p["replica_nodes"], p["isr_nodes"]) == (1, [1], [1])
               for p in described[a]["partitions"])
    assert {a, b} <= set(admin.list_topics())

    with pytest.raises(Errors.TopicAlreadyExistsError) as exc:
        admin.create_topics({a: {"num_partitions": 1}}, timeout_ms=TIMEOUT_MS)
    assert exc.value.errno == TOPIC_ALREADY_EXISTS
    result = admin.create_topics({a: {"num_partitions": 1}}, raise_errors=False)
    assert result["topics"][0]["error_code"] == TOPIC_ALREADY_EXISTS

    c = topic_name("c")
    admin.create_topics({c: {"num_partitions": 2}}, validate_only=True)
    assert c not in admin.list_topics()

    result = admin.delete_topics([a, b], timeout_ms=TIMEOUT_MS)
    assert sorted((t["name"], t["error_code"]) for t in result["topics"]) == sorted(
        [(a, 0), (b, 0)])
    wait_for(lambda: not {a, b} & set(admin.list_topics()), what="deleted topics to disappear")

    with pytest.raises(Errors.UnknownTopicOrPartitionError) as exc:
        admin.delete_topics([a], timeout_ms=TIMEOUT_MS)
    assert exc.value.errno == UNKNOWN_TOPIC_OR_PARTITION


def test_delete_topic_by_id(kafka_broker: Any, admin: KafkaAdminClient) -> None:
    import uuid

    topic = create_topic(kafka_broker, topic_name())
    topic_id = uuid.UUID(str(admin.describe_topics([topic])[0]["topic_id"]))
    assert topic_id.int != 0
    result = admin.delete_topics([topic_id], timeout_ms=TIMEOUT_MS)
    assert [(t["name"], t["error_code"]) for t in result["topics"]] == [(topic, 0)]
    assert topic not in admin.list_topics()


@pytest.mark.parametrize(
    ("name", "spec", "error"),
    [
        ("bad name!", {"num_partitions": 1}, Errors.InvalidTopicError),
        ("x" * 250, {"num_partitions": 1}, Errors.InvalidTopicError),
        (".", {"num_partitions": 1}, Errors.InvalidTopicError),
        ("ok-zero-partitions", {"num_partitions": 0, "replication_factor": 1},
         Errors.InvalidPartitionsError),
        ("ok-rf", {"num_partitions": 1, "replication_factor": 2},
         Errors.InvalidReplicationFactorError),
        ("ok-cfg", {"configs": {"retention.ms": "soon"}}, Errors.InvalidConfigurationError),
        ("ok-assignment", {"assignments": {0: [2]}}, Errors.InvalidReplicationAssignmentError),
    ],
    ids=["invalid-char", "too-long", "dot", "zero-partitions", "replication-factor",
         "bad-config", "bad-assignment"],
)
def test_create_topic_errors(admin: KafkaAdminClient, name: str, spec: dict[str, Any],
                             error: type[Exception]) -> None:
    with pytest.raises(error) as exc:
        admin.create_topics({name: spec}, timeout_ms=TIMEOUT_MS)
    expected = {Errors.InvalidTopicError: INVALID_TOPIC_EXCEPTION,
                Errors.InvalidPartitionsError: INVALID_PARTITIONS,
                Errors.InvalidReplicationFactorError: INVALID_REPLICATION_FACTOR,
                Errors.InvalidConfigurationError: INVALID_CONFIG,
                Errors.InvalidReplicationAssignmentError: 39}[error]
    assert exc.value.errno == expected
    assert name not in admin.list_topics()


def test_create_topic_with_replica_assignment(kafka_broker: Any, admin: KafkaAdminClient) -> None:
    topic = topic_name()
    admin.create_topics({topic: {"assignments": {0: [1], 1: [1]}}}, timeout_ms=TIMEOUT_MS)
    admin.wait_for_topics([topic], timeout_ms=TIMEOUT_MS)
    parts = admin.describe_topics([topic])[0]["partitions"]
    assert sorted((p["partition_index"], p["replica_nodes"]) for p in parts) == [(0, [1]), (1, [1])]


def test_create_partitions(kafka_broker: Any, admin: KafkaAdminClient) -> None:
    topic = create_topic(kafka_broker, topic_name(), partitions=2)
    response = admin.create_partitions({topic: 5}, timeout_ms=TIMEOUT_MS)
    assert [(r.name, r.error_code) for r in response.results] == [(topic, 0)]
    admin.wait_for_topics([topic], timeout_ms=TIMEOUT_MS)
    parts = admin.describe_topics([topic])[0]["partitions"]
    assert sorted(p["partition_index"] for p in parts) == [0, 1, 2, 3, 4]

    producer = make_producer(kafka_broker, metadata_max_age_ms=100)
    try:
        meta = producer.send(topic, value=b"p4", partition=4).get(timeout=TIMEOUT)
    finally:
        producer.close(timeout=TIMEOUT)
    assert (meta.partition, meta.offset) == (4, 0)

    with pytest.raises(Errors.InvalidPartitionsError):
        admin.create_partitions({topic: 5}, timeout_ms=TIMEOUT_MS)
    with pytest.raises(Errors.InvalidPartitionsError):
        admin.create_partitions({topic: 3}, timeout_ms=TIMEOUT_MS)
    with pytest.raises(Errors.UnknownTopicOrPartitionError):
        admin.create_partitions({topic_name("missing"): 3}, timeout_ms=TIMEOUT_MS)
    # validate_only adds nothing.
    admin.create_partitions({topic: 8}, validate_only=True, timeout_ms=TIMEOUT_MS)
    assert len(admin.describe_topics([topic])[0]["partitions"]) == 5


def test_describe_configs_defaults_and_sources(kafka_broker: Any, admin: KafkaAdminClient) -> None:
    topic = create_topic(kafka_broker, topic_name(),
                         configs={"retention.ms": "3600000", "cleanup.policy": "compact"})
    configs = configs_of(admin, topic)
    for name, value in TOPIC_DEFAULTS.items():
        if name in ("retention.ms", "cleanup.policy"):
            continue
        assert (configs[name]["value"], configs[name]["config_source"]) == (
            value, "DEFAULT_CONFIG"), name
    for name, value in (("retention.ms", "3600000"), ("cleanup.policy", "compact")):
        assert (configs[name]["value"], configs[name]["config_source"]) == (
            value, "DYNAMIC_TOPIC_CONFIG"), name
        assert configs[name]["read_only"] is False
    assert configs["cleanup.policy"]["config_type"] == "LIST"
    assert configs["retention.ms"]["config_type"] == "LONG"
    synonyms = [(s["name"], s["value"], s["source"]) for s in configs["retention.ms"]["synonyms"]]
    assert synonyms[0] == ("retention.ms", "3600000", "DYNAMIC_TOPIC_CONFIG")
    assert ("log.retention.ms", "604800000", "DEFAULT_CONFIG") in synonyms

    # The default filter ("modified") keeps only the overrides.
    modified = admin.describe_configs([ConfigResource("TOPIC", topic)])["topic"][topic]
    assert set(modified) == {"retention.ms", "cleanup.policy"}

    # Named keys only.
    named = admin.describe_configs([ConfigResource("TOPIC", topic, ["segment.bytes"])],
                                   config_filter="all")["topic"][topic]
    assert list(named) == ["segment.bytes"]

    # An unknown topic: UNKNOWN_TOPIC_OR_PARTITION in the result.
    from kafka.protocol.admin import DescribeConfigsRequest

    missing = topic_name("missing")
    response = admin._manager.run(
        admin._manager.send,
        DescribeConfigsRequest(resources=[(ConfigResourceType.TOPIC, missing, None)],
                               include_synonyms=False))
    assert [(r.resource_name, r.error_code) for r in response.results] == [
        (missing, UNKNOWN_TOPIC_OR_PARTITION)]


def test_describe_configs_static_broker_source(kafka_broker_factory: Any) -> None:
    broker = kafka_broker_factory(**{"log.retention.ms": "7200000", "num.partitions": "2"})
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap_servers, request_timeout_ms=5000)
    try:
        topic = create_topic(broker, topic_name())
        entry = configs_of(admin, topic)["retention.ms"]
        assert (entry["value"], entry["config_source"]) == ("7200000", "STATIC_BROKER_CONFIG")
        synonyms = [(s["name"], s["value"], s["source"]) for s in entry["synonyms"]]
        assert synonyms == [("log.retention.ms", "7200000", "STATIC_BROKER_CONFIG")]

        described = admin.describe_configs([ConfigResource("BROKER", "1")], config_filter="all")
        configs = described["broker"]["1"]
        assert (configs["num.partitions"]["value"], configs["num.partitions"]["config_source"]) == (
            "2", "STATIC_BROKER_CONFIG")
        assert configs["log.dirs"]["value"] == str(broker.data_dir)
        assert configs["auto.create.topics.enable"]["value"] == "true"
        assert configs["auto.create.topics.enable"]["config_source"] == "DEFAULT_CONFIG"
    finally:
        admin.close()


def test_incremental_alter_configs(kafka_broker: Any, admin: KafkaAdminClient) -> None:
    topic = create_topic(kafka_broker, topic_name(), configs={"segment.bytes": "10485760"})

    def alter(configs: dict[str, Any], **kwargs: Any) -> str:
        result = admin.alter_configs([ConfigResource("TOPIC", topic, configs)], incremental=True,
                                     **kwargs)
        return result["topic"][topic]

    assert alter({"retention.ms": "1000", "max.message.bytes": "2000000"}) == "OK"
    c = configs_of(admin, topic)
    assert (c["retention.ms"]["value"], c["retention.ms"]["config_source"]) == (
        "1000", "DYNAMIC_TOPIC_CONFIG")
    assert c["max.message.bytes"]["value"] == "2000000"
    assert c["segment.bytes"]["value"] == "10485760"

    assert alter({"cleanup.policy": ("APPEND", "compact")}) == "OK"
    assert configs_of(admin, topic)["cleanup.policy"]["value"] == "delete,compact"
    assert alter({"cleanup.policy": ("SUBTRACT", "delete")}) == "OK"
    assert configs_of(admin, topic)["cleanup.policy"]["value"] == "compact"

    assert alter({"retention.ms": ("DELETE", None)}) == "OK"
    c = configs_of(admin, topic)
    assert (c["retention.ms"]["value"], c["retention.ms"]["config_source"]) == (
        "604800000", "DEFAULT_CONFIG")

    assert alter({"retention.ms": "5"}, validate_only=True) == "OK"
    assert configs_of(admin, topic)["retention.ms"]["value"] == "604800000"

    result = alter({"retention.ms": "not-a-number"})
    assert "[Error 40] InvalidConfigurationError" in result, result
    result = alter({"no.such.config": "1"}, raise_on_unknown=False)
    assert "[Error 40] InvalidConfigurationError" in result, result
    # APPEND on a non-list config is refused.
    result = alter({"retention.ms": ("APPEND", "5")})
    assert "[Error 40] InvalidConfigurationError" in result, result

    # reset_configs: DELETE of every override ({} = all keys; None trips a kafka-python bug).
    admin.reset_configs([ConfigResource("TOPIC", topic, {})], incremental=True)
    c = configs_of(admin, topic)
    assert {k for k, v in c.items() if v["config_source"] == "DYNAMIC_TOPIC_CONFIG"} == set()


def test_legacy_alter_configs(kafka_broker: Any, admin: KafkaAdminClient) -> None:
    topic = create_topic(kafka_broker, topic_name(), configs={"segment.bytes": "10485760"})
    # kafka-python's legacy path re-sends the other overrides itself (AlterConfigs replaces the
    # whole set), so segment.bytes survives.
    result = admin.alter_configs([ConfigResource("TOPIC", topic, {"retention.ms": "2000"})],
                                 incremental=False)
    assert result == {"topic": {topic: "OK"}}
    c = configs_of(admin, topic)
    assert (c["retention.ms"]["value"], c["retention.ms"]["config_source"]) == (
        "2000", "DYNAMIC_TOPIC_CONFIG")
    assert (c["segment.bytes"]["value"], c["segment.bytes"]["config_source"]) == (
        "10485760", "DYNAMIC_TOPIC_CONFIG")

    # The raw protocol semantics: an AlterConfigs with one key drops every other override.
    from kafka.protocol.admin import AlterConfigsRequest

    request = AlterConfigsRequest(
        resources=[(ConfigResourceType.TOPIC, topic, [("retention.ms", "3000")])],
        validate_only=False)
    response = admin._manager.run(admin._manager.send, request)
    assert [(r.resource_name, r.error_code) for r in response.responses] == [(topic, 0)]
    c = configs_of(admin, topic)
    assert c["retention.ms"]["value"] == "3000"
    assert (c["segment.bytes"]["value"], c["segment.bytes"]["config_source"]) == (
        "1073741824", "DEFAULT_CONFIG")

    result = admin.alter_configs([ConfigResource("TOPIC", topic, {"retention.ms": "soon"})],
                                 incremental=False)
    assert "[Error 40] InvalidConfigurationError" in result["topic"][topic], result


def test_delete_records_moves_low_watermark(kafka_broker: Any, admin: KafkaAdminClient,
                                            ten_records: tuple[str, int]) -> None:
    topic, _ = ten_records
    tp = TopicPartition(topic, 0)
    result = admin.delete_records({tp: 4}, timeout_ms=TIMEOUT_MS)
    assert result[tp]["low_watermark"] == 4
    assert result[tp]["error_code"] == 0

    consumer = make_consumer(kafka_broker)
    try:
        assert consumer.beginning_offsets([tp]) == {tp: 4}
        assert consumer.end_offsets([tp]) == {tp: 10}
        consumer.assign([tp])
        consumer.seek_to_beginning(tp)
        got = consume(consumer, 6)
        assert [(r.offset, r.value) for r in got] == [(i, b"v%d" % i) for i in range(4, 10)]
        # A position before the new start is out of range: reset to the earliest, 4.
        consumer.seek(tp, 1)
        assert consume(consumer, 1)[0].offset == 4
    finally:
        consumer.close()

    with pytest.raises(Errors.OffsetOutOfRangeError) as exc:
        admin.delete_records({tp: 11}, timeout_ms=TIMEOUT_MS)
    assert exc.value.errno == OFFSET_OUT_OF_RANGE
    # -1: up to the high watermark.
    assert admin.delete_records({tp: -1}, timeout_ms=TIMEOUT_MS)[tp]["low_watermark"] == 10


def test_describe_cluster(kafka_broker: Any, admin: KafkaAdminClient) -> None:
    desc = admin.describe_cluster()
    assert desc["cluster_id"]
    assert desc["controller_id"] == 1
    assert [(b["broker_id"], b["host"], b["port"]) for b in desc["brokers"]] == [
        (1, "127.0.0.1", kafka_broker.port)]


def test_list_partition_offsets(kafka_broker: Any, admin: KafkaAdminClient,
                                ten_records: tuple[str, int]) -> None:
    from kafka.protocol.consumer import OffsetSpec

    topic, base = ten_records
    tp = TopicPartition(topic, 0)
    got = admin.list_partition_offsets({tp: OffsetSpec.EARLIEST})
    assert got[tp].offset == 0
    got = admin.list_partition_offsets({tp: OffsetSpec.LATEST})
    assert got[tp].offset == 10
    got = admin.list_partition_offsets({tp: OffsetSpec.MAX_TIMESTAMP})
    assert (got[tp].offset, got[tp].timestamp) == (9, base + 9000)


def test_api_versions(kafka_broker: Any, admin: KafkaAdminClient) -> None:
    """The broker advertises the APIs the brief lists (and kafka-python sees them)."""
    versions = admin.api_versions()
    keys = set(versions) if isinstance(versions, dict) else {v[0] for v in versions}
    # Produce, Fetch, ListOffsets, Metadata, ApiVersions, CreateTopics, DeleteTopics,
    # DeleteRecords, InitProducerId, OffsetForLeaderEpoch, DescribeConfigs, AlterConfigs,
    # CreatePartitions, IncrementalAlterConfigs, DescribeCluster.
    assert {0, 1, 2, 3, 18, 19, 20, 21, 22, 23, 32, 33, 37, 44, 60} <= keys, sorted(keys)


# --- idempotence and acks -------------------------------------------------------------------------


def test_default_producer_is_idempotent(kafka_broker: Any) -> None:
    topic = create_topic(kafka_broker, topic_name("idem"), partitions=2)
    producer = make_producer(kafka_broker, batch_size=1000)  # enable_idempotence defaults to True
    records = [{"key": b"k%d" % i, "value": b"v%d" % i, "partition": i % 2} for i in range(400)]
    try:
        assert producer.config["enable_idempotence"] is True
        assert producer.config["acks"] == -1
        metas = send_all(producer, topic, records)
        pid = producer._transaction_manager.producer_id_and_epoch
        assert pid.producer_id >= 0 and pid.epoch == 0, pid
        metas += send_all(producer, topic, records[:10])
    finally:
        producer.close(timeout=TIMEOUT)
    for p in (0, 1):
        assert [m.offset for m in metas if m.partition == p] == list(range(205))
    for p in (0, 1):
        batches = stored_batches(kafka_broker, topic, p, 205)
        check_idempotent_batches(batches)
        assert batches[0]["producer_id"] == pid.producer_id
    consumer = make_consumer(kafka_broker)
    try:
        consumer.assign([TopicPartition(topic, 1)])
        consumer.seek(TopicPartition(topic, 1), 0)
        got = consume(consumer, 205)
    finally:
        consumer.close()
    assert [r.value for r in got] == [b"v%d" % i for i in range(1, 400, 2)] + [
        b"v%d" % i for i in range(1, 10, 2)]


def test_two_idempotent_producers_get_distinct_ids(kafka_broker: Any) -> None:
    topic = create_topic(kafka_broker, topic_name())
    ids = []
    for _ in range(2):
        producer = make_producer(kafka_broker)
        try:
            send_all(producer, topic, [{"value": b"x"}])
            ids.append(producer._transaction_manager.producer_id_and_epoch.producer_id)
        finally:
            producer.close(timeout=TIMEOUT)
    assert ids[0] >= 0 and ids[1] >= 0 and ids[0] != ids[1], ids


@pytest.mark.parametrize("acks", [0, 1, "all"])
def test_acks(kafka_broker: Any, acks: Any) -> None:
    topic = create_topic(kafka_broker, topic_name("acks"))
    producer = make_producer(kafka_broker, acks=acks, enable_idempotence=False)
    records = [{"key": b"k%d" % i, "value": b"v%d" % i} for i in range(50)]
    try:
        metas = send_all(producer, topic, records)
    finally:
        producer.close(timeout=TIMEOUT)
    if acks != 0:  # acks=0: no response, so no offsets
        assert [m.offset for m in metas] == list(range(50))
    consumer = make_consumer(kafka_broker)
    try:
        consumer.assign([TopicPartition(topic, 0)])
        consumer.seek(TopicPartition(topic, 0), 0)
        got = consume(consumer, 50)
    finally:
        consumer.close()
    assert [(r.offset, r.key, r.value) for r in got] == [
        (i, b"k%d" % i, b"v%d" % i) for i in range(50)]
    assert {b["producer_id"] for b in stored_batches(kafka_broker, topic, 0, 50)} == {-1}


def test_acks_all_with_min_insync_replicas_above_replication(kafka_broker: Any) -> None:
    topic = create_topic(kafka_broker, topic_name(), configs={"min.insync.replicas": "2"})
    producer = make_producer(kafka_broker, acks="all", enable_idempotence=False, retries=0)
    try:
        with pytest.raises(Errors.NotEnoughReplicasError) as exc:
            producer.send(topic, value=b"x").get(timeout=TIMEOUT)
        assert exc.value.errno == NOT_ENOUGH_REPLICAS
    finally:
        producer.close(timeout=TIMEOUT)
    producer = make_producer(kafka_broker, acks=1, enable_idempotence=False)
    try:
        assert producer.send(topic, value=b"y").get(timeout=TIMEOUT).offset == 0
    finally:
        producer.close(timeout=TIMEOUT)
