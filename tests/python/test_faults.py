"""Breaking an in-process Cluster on purpose (pykafkacore.faults): injected error answers,
latency, dropped connections and black holes as real clients see them (confluent-kafka /
librdkafka, and pykafkacore's own Producer), the request log, and disk faults.

Every timing assertion is a lower bound; clients are tuned to notice failures within a second.
"""

from __future__ import annotations

import socket
import struct
import time
from collections.abc import Callable
from typing import Any

import pytest

from pykafkacore import Cluster
from pykafkacore.faults import FaultRule

pytest_plugins = ["pytester"]

confluent_kafka = pytest.importorskip("confluent_kafka")
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition  # noqa: E402

FAST = {
    "socket.connection.setup.timeout.ms": 2000,
    "reconnect.backoff.ms": 20,
    "reconnect.backoff.max.ms": 200,
    "retry.backoff.ms": 20,
    "retry.backoff.max.ms": 200,
    "log_level": 0,  # injected failures are expected: keep librdkafka quiet
}

INVALID_RECORD = 87
KAFKA_STORAGE_ERROR = 56


@pytest.fixture
def producers(kafka_cluster: Cluster) -> Any:
    """make(client_id, **config) -> a confluent-kafka Producer for kafka_cluster; all flushed
    (briefly) and dropped after the test."""
    made: list[Producer] = []

    def make(client_id: str, **config: Any) -> Producer:
        producer = Producer({"bootstrap.servers": kafka_cluster.bootstrap_servers,
                             "client.id": client_id, "linger.ms": 1, **FAST, **config})
        made.append(producer)
        return producer

    yield make
    for producer in made:
        producer.purge()
        producer.flush(1)
    made.clear()


class Deliveries:
    """Delivery reports of one producer: (error code or None, value)."""

    def __init__(self) -> None:
        self.reports: list[tuple[int | None, bytes]] = []

    def __call__(self, err: Any, msg: Any) -> None:
        self.reports.append((None if err is None else err.code(), msg.value()))

    @property
    def errors(self) -> list[int]:
        return [code for code, _ in self.reports if code is not None]

    @property
    def delivered(self) -> list[bytes]:
        return [value for code, value in self.reports if code is None]


def produce_one(producer: Producer, topic: str, value: bytes, timeout: float = 10.0) -> int | None:
    """Produces one record and waits for its report; returns its error code (None: delivered)."""
    report = Deliveries()
    producer.produce(topic, value, partition=0, on_delivery=report)
    assert producer.flush(timeout) == 0, f"{value!r} not reported within {timeout} s"
    assert len(report.reports) == 1
    return report.reports[0][0]


def values_in(cluster: Cluster, topic: str) -> list[bytes]:
    return [r.value for r in cluster.records(topic, 0)]


def eventually(check: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {timeout} s")
        time.sleep(0.01)


# ------------------------------------------------------------------------------------------------
# Error answers


def test_retriable_produce_error_is_retried_and_delivered_exactly_once(
        kafka_cluster: Cluster, kafka_topic: str, kafka_faults: Any, producers: Any) -> None:
    producer = producers("idempotent", **{"enable.idempotence": True})
    assert produce_one(producer, kafka_topic, b"warm-up") is None
    kafka_cluster.clear_requests()

    rule = kafka_faults.inject_error("Produce", "NOT_LEADER_OR_FOLLOWER", topic=kafka_topic,
                                     times=2)
    report = Deliveries()
    values = [f"v{i}".encode() for i in range(200)]
    for v in values:
        producer.produce(kafka_topic, v, partition=0, on_delivery=report)
    assert producer.flush(15) == 0
    assert report.errors == []
    assert rule.applied == 2

    # Exactly once, in order: the refused requests appended nothing, the retries no duplicate.
    assert values_in(kafka_cluster, kafka_topic) == [b"warm-up"] + values
    # The log shows the refused Produce requests and the retries that succeeded.
    produce_requests = kafka_cluster.requests(api="Produce", client_id="idempotent")
    assert len(produce_requests) >= 3
    assert rule.matched == 2  # a spent rule matches nothing more


def test_non_retriable_produce_error_reaches_the_delivery_callback(
        kafka_cluster: Cluster, kafka_topic: str, kafka_faults: Any, producers: Any) -> None:
    # INVALID_RECORD rather than TOPIC_AUTHORIZATION_FAILED: librdkafka remembers an authorization
    # failure on the topic and refuses later produce() calls itself until a metadata refresh.
    producer = producers("app")
    rule = kafka_faults.inject_error("produce", "INVALID_RECORD", times=None)
    assert produce_one(producer, kafka_topic, b"denied") == INVALID_RECORD
    assert produce_one(producer, kafka_topic, b"denied again") == INVALID_RECORD
    assert rule.applied == 2

    rule.clear()
    assert not rule.active and rule.applied == 2  # counters stay readable
    assert produce_one(producer, kafka_topic, b"allowed") is None
    assert values_in(kafka_cluster, kafka_topic) == [b"allowed"]


def test_native_producer_sees_the_injected_error(kafka_cluster: Cluster, kafka_topic: str,
                                                 kafka_faults: Any) -> None:
    from pykafkacore import Producer as NativeProducer
    from pykafkacore.errors import KafkaError as NativeKafkaError

    with NativeProducer(kafka_cluster, **{"client.id": "native", "linger.ms": 1}) as producer:
        with kafka_faults.inject_error("Produce", 87, client_id="native", times=None) as rule:
            with pytest.raises(NativeKafkaError) as raised:
                producer.send(kafka_topic, b"x", partition=0).result(10)
            assert raised.value.code == INVALID_RECORD
        assert rule.applied >= 1 and not rule.active  # cleared by the with block
        assert producer.send(kafka_topic, b"y", partition=0).result(10).offset == 0


def test_fetch_errors_then_the_consumer_reads_everything(
        kafka_cluster: Cluster, kafka_topic: str, kafka_faults: Any, producers: Any) -> None:
    producer = producers("writer")
    values = [f"m{i}".encode() for i in range(30)]
    for v in values:
        producer.produce(kafka_topic, v, partition=0)
    assert producer.flush(10) == 0

    rule = kafka_faults.inject_error("Fetch", "NOT_LEADER_OR_FOLLOWER", client_id="reader",
                                     times=None)
    consumer = Consumer({"bootstrap.servers": kafka_cluster.bootstrap_servers,
                         "group.id": "fetch-errors", "client.id": "reader",
                         "enable.auto.commit": False, "fetch.error.backoff.ms": 20, **FAST})
    try:
        consumer.assign([TopicPartition(kafka_topic, 0, 0)])
        got: list[bytes] = []

        def poll_until_faulted() -> bool:
            msg = consumer.poll(0.05)
            if msg is not None and msg.error() is None:
                got.append(msg.value())
            return rule.applied >= 3

        eventually(poll_until_faulted, what="three refused fetches")
        assert got == []  # every fetch so far was refused
        rule.clear()

        def poll_all() -> bool:
            msg = consumer.poll(0.1)
            if msg is not None and msg.error() is None:
                got.append(msg.value())
            return len(got) >= len(values)

        eventually(poll_all, what="every record consumed")
        assert got == values
    finally:
        consumer.close()


# ------------------------------------------------------------------------------------------------
# Latency, black holes, dropped connections


def test_injected_latency_delays_the_produce(kafka_topic: str, kafka_faults: Any,
                                            producers: Any) -> None:
    producer = producers("slow")
    assert produce_one(producer, kafka_topic, b"warm-up") is None  # connected, metadata known
    rule = kafka_faults.inject_latency("Produce", 0.3, times=1)
    start = time.monotonic()
    assert produce_one(producer, kafka_topic, b"late") is None
    assert time.monotonic() - start >= 0.3
    assert rule.applied == 1
    assert rule.delay == 0.3 and rule.kind == "latency"


def test_black_hole_times_the_client_out_until_cleared(
        kafka_cluster: Cluster, kafka_topic: str, kafka_faults: Any, producers: Any) -> None:
    leader = kafka_cluster.topics()[kafka_topic].partitions[0].leader
    producer = producers("victim", **{"request.timeout.ms": 500, "message.timeout.ms": 2000})
    bystander = producers("bystander")
    assert produce_one(producer, kafka_topic, b"before") is None

    # Everything this client sends to the leader vanishes; the connection stays open.
    rule = kafka_faults.black_hole(client_id="victim", brokers=[leader])
    assert produce_one(producer, kafka_topic, b"lost", timeout=10) == KafkaError._MSG_TIMED_OUT
    assert rule.applied >= 1
    assert produce_one(bystander, kafka_topic, b"others are served") is None

    rule.clear()  # held requests are released (their connections close); the client reconnects
    assert produce_one(producer, kafka_topic, b"after", timeout=10) is None
    assert values_in(kafka_cluster, kafka_topic) == [b"before", b"others are served", b"after"]


def test_dropped_connection_is_reconnected_and_the_record_delivered_once(
        kafka_cluster: Cluster, kafka_topic: str, kafka_faults: Any, producers: Any) -> None:
    producer = producers("dropper")
    assert produce_one(producer, kafka_topic, b"first") is None
    rule = kafka_faults.drop_connections("Produce", client_id="dropper")  # times=1
    assert produce_one(producer, kafka_topic, b"second") is None
    assert rule.applied == 1
    # The dropped request was never handled, so the retry is the only copy.
    assert values_in(kafka_cluster, kafka_topic) == [b"first", b"second"]
    produce_requests = kafka_cluster.requests(api="Produce", client_id="dropper")
    assert len(produce_requests) == 3
    # The retry came over a new connection.
    assert produce_requests[2].connection_id != produce_requests[1].connection_id


# ------------------------------------------------------------------------------------------------
# Targeting and triggers


def test_client_id_targets_one_producer(kafka_cluster: Cluster, kafka_topic: str,
                                        kafka_faults: Any, producers: Any) -> None:
    target = producers("target")
    other = producers("other")
    rule = kafka_faults.inject_error("Produce", "INVALID_RECORD", client_id="target",
                                     times=None)
    for i in range(3):
        assert produce_one(target, kafka_topic, f"t{i}".encode()) == INVALID_RECORD
        assert produce_one(other, kafka_topic, f"o{i}".encode()) is None
    assert rule.applied == rule.matched == 3  # the other client's requests never matched
    assert values_in(kafka_cluster, kafka_topic) == [b"o0", b"o1", b"o2"]


def test_probability_with_a_seed_repeats_exactly(kafka_cluster: Cluster, kafka_faults: Any,
                                                 kafka_topic_factory: Any, producers: Any) -> None:
    def run(name: str) -> tuple[list[bool], int]:
        topic = kafka_topic_factory(name=f"prob-{name}")
        producer = producers(name)
        rule = kafka_faults.inject_error("Produce", "INVALID_RECORD",
                                         client_id=name, times=None, probability=0.4, seed=1234)
        # One request per record: each is one draw of the rule's generator.
        failed = [produce_one(producer, topic, f"{i}".encode()) is not None for i in range(25)]
        rule.clear()
        assert rule.applied == sum(failed) and rule.matched == 25
        return failed, rule.applied

    first, applied_first = run("a")
    second, applied_second = run("b")
    assert applied_first == applied_second
    assert first == second  # the same requests, not just as many
    assert 0 < applied_first < 25  # the probability really decided


def test_after_skips_the_first_matching_requests(kafka_topic: str, kafka_faults: Any,
                                                 producers: Any) -> None:
    producer = producers("counted")
    rule = kafka_faults.inject_error("Produce", "INVALID_RECORD", after=2, times=1)
    outcomes = [produce_one(producer, kafka_topic, f"{i}".encode()) for i in range(5)]
    assert outcomes == [None, None, INVALID_RECORD, None, None]
    assert (rule.matched, rule.applied) == (3, 1)


def test_rules_survive_a_broker_restart(kafka_cluster: Cluster, kafka_topic: str,
                                        kafka_faults: Any, producers: Any) -> None:
    rule = kafka_faults.inject_error("Produce", "INVALID_RECORD", times=3)
    producer = producers("before-restart")
    assert produce_one(producer, kafka_topic, b"a") == INVALID_RECORD
    assert kafka_cluster.requests(api="Produce")
    kafka_cluster.kill(1)
    kafka_cluster.restart(1)
    # Back on the restarted broker with what is left of times=3, its counters carried over.
    producer = producers("after-restart")
    outcomes = [produce_one(producer, kafka_topic, f"{i}".encode()) for i in range(3)]
    assert outcomes == [INVALID_RECORD, INVALID_RECORD, None]
    assert rule.applied == 3
    # The request log kept what the killed broker had received.
    assert {r.client_id for r in kafka_cluster.requests(api="Produce")} == {
        "before-restart", "after-restart"}


def test_bad_names_and_unsupported_rules_are_refused(kafka_cluster: Cluster) -> None:
    with pytest.raises(ValueError, match="Produce"):
        kafka_cluster.inject_error("Produse", "NOT_LEADER_OR_FOLLOWER")
    with pytest.raises(ValueError, match="NOT_LEADER_OR_FOLLOWER"):
        kafka_cluster.inject_error("Produce", "NOT_LEADER")
    with pytest.raises(ValueError, match="ApiVersions"):
        kafka_cluster.inject_error("ApiVersions", "UNSUPPORTED_VERSION")
    with pytest.raises(ValueError, match="probability"):
        kafka_cluster.inject_latency("Fetch", 0.1, probability=0)
    with pytest.raises(ValueError, match="no broker 7"):
        kafka_cluster.black_hole(brokers=[7])
    # Aliases and codes work; nothing refused was left behind.
    rule = kafka_cluster.inject_error("list_offsets", "not_leader_for_partition")
    assert (rule.api, rule.api_key, rule.error, rule.error_code) == (
        "ListOffsets", 2, "NOT_LEADER_OR_FOLLOWER", 6)
    assert kafka_cluster.faults.rules == [rule]
    assert "ListOffsets" in repr(rule)
    kafka_cluster.clear_faults()
    assert kafka_cluster.faults.rules == [] and not rule.active


def test_process_mode_says_it_needs_an_in_process_cluster(tmp_path: Any) -> None:
    with Cluster(1, data_dir=tmp_path, mode="process") as cluster:
        with pytest.raises(NotImplementedError, match="inprocess"):
            cluster.inject_error("Produce", "NOT_LEADER_OR_FOLLOWER")
        with pytest.raises(NotImplementedError, match="inprocess"):
            cluster.requests()
        with pytest.raises(NotImplementedError, match="inprocess"):
            cluster.disk_full(1)


# ------------------------------------------------------------------------------------------------
# Disk faults


def test_full_disk_fails_produce_with_a_storage_error_and_loses_nothing_acknowledged(
        kafka_cluster: Cluster, kafka_topic: str, kafka_faults: Any, producers: Any) -> None:
    # retries=0: librdkafka retries KAFKA_STORAGE_ERROR; here its report shows the broker's code.
    producer = producers("disk", **{"acks": "all", "retries": 0})
    acked = [f"ok{i}".encode() for i in range(10)]
    for v in acked:
        assert produce_one(producer, kafka_topic, v) is None

    kafka_faults.disk_full(1)
    assert produce_one(producer, kafka_topic, b"no room") == KAFKA_STORAGE_ERROR
    assert values_in(kafka_cluster, kafka_topic) == acked  # reads still work

    # The failed write took the log directory offline (as in Kafka): room again is not enough...
    kafka_faults.disk_full(1, False)
    assert produce_one(producer, kafka_topic, b"still offline") == KAFKA_STORAGE_ERROR
    # ...until the broker restarts on its data directory.
    kafka_cluster.kill(1)
    kafka_cluster.restart(1)
    assert produce_one(producers("disk-after"), kafka_topic, b"after restart") is None
    assert values_in(kafka_cluster, kafka_topic) == acked + [b"after restart"]


def test_slow_fsync_delays_a_durable_produce_that_still_succeeds(
        kafka_cluster: Cluster, kafka_faults: Any, kafka_topic_factory: Any,
        producers: Any) -> None:
    # flush.messages=1: an acks=all produce is answered once its fsync is done.
    topic = kafka_topic_factory(configs={"flush.messages": "1"})
    producer = producers("durable", **{"acks": "all"})
    assert produce_one(producer, topic, b"warm-up") is None
    kafka_faults.slow_fsync(1, 0.25)
    start = time.monotonic()
    assert produce_one(producer, topic, b"synced") is None
    assert time.monotonic() - start >= 0.25
    kafka_faults.slow_fsync(1, 0)
    assert values_in(kafka_cluster, topic) == [b"warm-up", b"synced"]


# ------------------------------------------------------------------------------------------------
# The request log


def _frame(api_key: int, version: int, correlation_id: int, client_id: bytes, body: bytes) -> bytes:
    header = struct.pack(">hhih", api_key, version, correlation_id, len(client_id)) + client_id
    return struct.pack(">i", len(header) + len(body)) + header + body


def test_request_log_filters_and_records_the_versions_sent(
        kafka_cluster: Cluster, kafka_topic: str, producers: Any) -> None:
    kafka_cluster.clear_requests()
    producer = producers("logged")
    assert produce_one(producer, kafka_topic, b"x") is None

    # Requests with exactly known versions: ApiVersions v0 and Metadata v1 (all topics: null).
    port = kafka_cluster.broker(1).port
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(_frame(18, 0, 41, b"raw", b""))
        s.sendall(_frame(3, 1, 42, b"raw", struct.pack(">i", -1)))
        for _ in range(2):
            size = struct.unpack(">i", s.recv(4, socket.MSG_WAITALL))[0]
            s.recv(size, socket.MSG_WAITALL)

    raw = kafka_cluster.requests(client_id="raw")
    assert [(r.api, r.api_key, r.version, r.correlation_id) for r in raw] == [
        ("ApiVersions", 18, 0, 41), ("Metadata", 3, 1, 42)]
    assert raw[0].broker == 1 and raw[0].peer.startswith("127.0.0.1:")
    assert raw[0].connection_id == raw[1].connection_id

    logged = kafka_cluster.requests(client_id="logged")
    apis = {r.api for r in logged}
    assert {"ApiVersions", "Metadata", "Produce"} <= apis
    produce_requests = kafka_cluster.requests(api="Produce", client_id="logged")
    assert produce_requests == kafka_cluster.requests(api=0, client_id="logged")
    assert len(produce_requests) == 1
    # What librdkafka negotiated: ApiVersions v3+ and a Produce version the broker serves.
    assert min(r.version for r in logged if r.api == "ApiVersions") >= 3
    assert 3 <= produce_requests[0].version <= 11
    assert abs(raw[-1].time - time.time()) < 60  # seconds since the epoch

    kafka_cluster.clear_requests()
    assert kafka_cluster.requests(client_id="logged") == []


INNER = '''
left = []

def test_leaves_faults_behind(kafka_cluster, kafka_faults):
    assert kafka_faults is kafka_cluster.faults
    left.append((kafka_faults, kafka_faults.black_hole("Metadata", times=None)))
    kafka_faults.disk_full(1)

def test_the_fixture_cleared_them():
    faults, rule = left[0]
    assert not rule.active and faults.rules == [] and faults._disk == {}
'''


def test_kafka_faults_fixture_clears_what_a_test_leaves(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(INNER)
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
