"""pykafkacore.AdminClient against real in-process brokers, every method, with results compared
to confluent-kafka's AdminClient on the same cluster."""

from __future__ import annotations

import base64
import time
from typing import Any

import pytest

from pykafkacore import (AdminClient, AlterConfigOp, ConfigResource, NewTopic, OffsetAndMetadata,
                         TopicPartition)
from pykafkacore.admin import ConfigSource, ListedOffset
from pykafkacore.testing import external
from pykafkacore.testing.external import ExternalCluster
from pykafkacore.errors import (GroupIdNotFoundError, InvalidPartitionsError, KafkaError,
                                KafkaTimeoutError, NetworkError, NonEmptyGroupError,
                                TopicAlreadyExistsError, UnknownTopicOrPartitionError)

ck = pytest.importorskip("confluent_kafka")
from confluent_kafka.admin import AdminClient as CkAdmin  # noqa: E402
from confluent_kafka.admin import ConfigResource as CkResource  # noqa: E402
from confluent_kafka.admin import OffsetSpec as CkOffsetSpec  # noqa: E402
from confluent_kafka import ConsumerGroupTopicPartitions  # noqa: E402
from confluent_kafka import TopicCollection  # noqa: E402
from confluent_kafka import TopicPartition as CkTP  # noqa: E402


def _ck_admin(target: Any) -> CkAdmin:
    return CkAdmin({"bootstrap.servers": target.bootstrap_servers, "log_level": 2})


def _produce(target: Any, topic: str, count: int, partition: int = 0,
             timestamp: int | None = None) -> None:
    p = ck.Producer({"bootstrap.servers": target.bootstrap_servers, "linger.ms": 0})
    for i in range(count):
        kwargs = {} if timestamp is None else {"timestamp": timestamp + i}
        p.produce(topic, value=b"v%d" % i, partition=partition, **kwargs)
    assert p.flush(10) == 0


def _uuid_bytes(text: str) -> bytes:
    return base64.b64decode(text.replace("-", "+").replace("_", "/") + "==")


@pytest.fixture
def admin(kafka_broker: Any) -> Any:
    with AdminClient(kafka_broker, request_timeout_ms=5000) as client:
        yield client


# ------------------------------------------------------------------------------------------------
# Topics


def test_create_list_describe_delete_topics_like_confluent(kafka_broker, admin):
    node = kafka_broker.node_id
    admin.create_topics([NewTopic("t-a", 3, 1),
                         NewTopic("t-b", config={"cleanup.policy": "compact",
                                                 "retention.ms": 1000}),
                         NewTopic("t-manual", replica_assignment=[[node], [node]])])
    admin.create_topics("t-one")  # a name alone: the broker's defaults
    theirs = _ck_admin(kafka_broker)
    listed = admin.list_topics()
    assert listed == sorted(listed)
    assert {"t-a", "t-b", "t-manual", "t-one"} <= set(listed)
    assert set(listed) == {t for t in theirs.list_topics(timeout=10).topics
                           if not t.startswith("__")}

    described = admin.describe_topics(["t-a", "t-b", "t-manual"])
    futures = theirs.describe_topics(TopicCollection(["t-a", "t-b", "t-manual"]),
                                     request_timeout=10)
    for name, future in futures.items():
        want = future.result(10)
        got = described[name]
        assert got.name == want.name and got.internal == want.is_internal
        # Kafka's text form is URL-safe base64; librdkafka prints the standard alphabet.
        assert _uuid_bytes(got.topic_id) == _uuid_bytes(str(want.topic_id))
        assert len(got) == len(want.partitions)
        for p, q in zip(got.partitions, want.partitions):
            assert p.partition == q.id
            assert p.leader == q.leader.id
            assert p.replicas == [r.id for r in q.replicas]
            assert p.isr == [r.id for r in q.isr]
            assert p.offline == []
    assert [len(described[t]) for t in ("t-a", "t-b", "t-manual")] == [3, 1, 2]
    assert described["t-a"].replication_factor == 1

    # Grow a topic; shrinking is refused.
    admin.create_partitions({"t-a": 5})
    assert len(admin.describe_topics("t-a")["t-a"]) == 5
    assert len(theirs.describe_topics(TopicCollection(["t-a"]))["t-a"].result(10).partitions) == 5
    with pytest.raises(InvalidPartitionsError):
        admin.create_partitions({"t-a": 2})
    admin.create_partitions({"t-one": 4}, validate_only=True)
    assert len(admin.describe_topics("t-one")["t-one"]) == 1

    # Without waiting for leaders (Java's behaviour) the topic still appears.
    admin.create_topics(NewTopic("t-nowait", 2, 1), wait_for_leaders=False)
    assert "t-nowait" in admin.list_topics()

    # validate_only creates nothing.
    admin.create_topics(NewTopic("t-validated", 2, 1), validate_only=True)
    assert "t-validated" not in admin.list_topics()

    admin.delete_topics(["t-a", "t-b"])
    assert not {"t-a", "t-b"} & set(admin.list_topics())
    assert not {"t-a", "t-b"} & set(theirs.list_topics(timeout=10).topics)


def test_per_item_errors_carry_every_error_and_the_successes(admin):
    admin.create_topics(["e-1", "e-2"])
    with pytest.raises(TopicAlreadyExistsError) as info:
        admin.create_topics(["e-1", "e-2", "e-3"])
    e = info.value
    assert e.code == 36 and e.name == "TOPIC_ALREADY_EXISTS" and not e.retriable
    assert "e-1" in str(e) and "1 more" in str(e)
    assert set(e.errors) == {"e-1", "e-2"}
    assert all(isinstance(err, TopicAlreadyExistsError) for err in e.errors.values())
    assert "e-3" in admin.list_topics()  # the others were created

    with pytest.raises(UnknownTopicOrPartitionError) as info:
        admin.describe_topics(["e-1", "missing"])
    assert set(info.value.errors) == {"missing"}
    assert set(info.value.results) == {"e-1"}  # what succeeded
    assert len(info.value.results["e-1"]) == 1

    with pytest.raises(UnknownTopicOrPartitionError) as info:
        admin.delete_topics(["e-3", "missing"])
    assert set(info.value.errors) == {"missing"}
    assert "e-3" not in admin.list_topics()

    with pytest.raises(KafkaError) as info:  # INVALID_REPLICATION_FACTOR or POLICY_VIOLATION
        admin.create_topics(NewTopic("e-rf", 1, 3))
    assert set(info.value.errors) == {"e-rf"}

    with pytest.raises(TypeError):
        admin.create_topics([42])


# ------------------------------------------------------------------------------------------------
# Configs


def test_configs_describe_alter_incremental_like_confluent(kafka_broker, admin):
    admin.create_topics(NewTopic("c-topic", 1, 1, config={"retention.ms": 123456}))
    theirs = _ck_admin(kafka_broker)
    node = str(kafka_broker.node_id)

    ours = admin.describe_configs([("topic", "c-topic"), ("broker", kafka_broker.node_id)])
    assert set(ours) == {ConfigResource("topic", "c-topic"), ConfigResource("broker", node)}
    futures = theirs.describe_configs([CkResource("topic", "c-topic"), CkResource("broker", node)])
    for resource, future in futures.items():
        want = future.result(10)
        got = ours[(resource.restype.name.lower(), resource.name)]
        assert set(got) == set(want)
        for name, entry in want.items():
            mine = got[name]
            assert (mine.value, mine.is_default, mine.read_only, mine.sensitive) == \
                (entry.value, entry.is_default, entry.is_read_only, entry.is_sensitive), name
            assert int(mine.source) == int(entry.source), name

    topic = ours[("topic", "c-topic")]
    assert topic["retention.ms"].value == "123456"
    assert topic["retention.ms"].source is ConfigSource.DYNAMIC_TOPIC_CONFIG
    assert topic["cleanup.policy"].is_default

    # Incremental: set, append to a list, delete (back to the default).
    admin.incremental_alter_configs({("topic", "c-topic"): {"segment.ms": 60000,
                                                           "retention.ms": None}})
    admin.incremental_alter_configs({("topic", "c-topic"): [
        AlterConfigOp("cleanup.policy", "append", "compact")]})
    got = admin.describe_configs({"topic": "c-topic"})[("topic", "c-topic")]
    assert got["segment.ms"].value == "60000"
    assert got["retention.ms"].is_default
    assert set(got["cleanup.policy"].value.split(",")) == {"delete", "compact"}
    admin.incremental_alter_configs({("topic", "c-topic"): [
        ("cleanup.policy", "subtract", "delete")]})
    assert admin.describe_configs(("topic", "c-topic"))[("topic", "c-topic")][
        "cleanup.policy"].value == "compact"

    # Legacy alter: the given set replaces every override.
    admin.alter_configs({("topic", "c-topic"): {"max.message.bytes": 5000}})
    got = admin.describe_configs(("topic", "c-topic"))[("topic", "c-topic")]
    assert got["max.message.bytes"].value == "5000"
    assert got["segment.ms"].is_default and got["cleanup.policy"].is_default
    # What our alters did, as confluent-kafka's AdminClient sees it.
    seen = theirs.describe_configs([CkResource("topic", "c-topic")])
    want = next(iter(seen.values())).result(10)
    assert {n: (e.value, e.is_default) for n, e in want.items()} == \
        {n: (e.value, e.is_default) for n, e in got.items()}

    with pytest.raises(UnknownTopicOrPartitionError) as info:
        admin.describe_configs([("topic", "c-topic"), ("topic", "c-missing")])
    assert set(info.value.errors) == {("topic", "c-missing")}
    assert set(info.value.results) == {("topic", "c-topic")}
    with pytest.raises(KafkaError) as info:
        admin.incremental_alter_configs({("topic", "c-topic"): {"no.such.config": 1}})
    assert info.value.code in (40, 42)  # INVALID_CONFIG / INVALID_REQUEST
    with pytest.raises(ValueError):
        admin.describe_configs([("group", "g")])
    with pytest.raises(ValueError):
        admin.incremental_alter_configs({("topic", "c-topic"): [("x", "replace", "1")]})


# ------------------------------------------------------------------------------------------------
# Consumer groups


def _consume_in_group(target: Any, topic: str, group: str, count: int) -> Any:
    consumer = ck.Consumer({"bootstrap.servers": target.bootstrap_servers, "group.id": group,
                            "auto.offset.reset": "earliest", "enable.auto.commit": False,
                            "client.id": "ck-member"})
    consumer.subscribe([topic])
    seen = 0
    deadline = time.monotonic() + 15
    while seen < count and time.monotonic() < deadline:
        msgs = consumer.consume(100, 0.2)
        seen += sum(1 for m in msgs if m.error() is None)
    assert seen == count
    consumer.commit(asynchronous=False)
    return consumer


def test_groups_like_confluent(kafka_broker, admin):
    admin.create_topics(NewTopic("g-topic", 2, 1))
    _produce(kafka_broker, "g-topic", 5, partition=0)
    _produce(kafka_broker, "g-topic", 3, partition=1)
    consumer = _consume_in_group(kafka_broker, "g-topic", "g-active", 8)
    theirs = _ck_admin(kafka_broker)
    try:
        listed = {g.group_id: g for g in admin.list_groups()}
        assert listed["g-active"].protocol_type == "consumer"
        assert listed["g-active"].state == "Stable"
        their_list = theirs.list_consumer_groups(request_timeout=10).result(10)
        assert {g.group_id for g in their_list.valid} == set(listed)
        for g in their_list.valid:
            assert g.is_simple_consumer_group == listed[g.group_id].is_simple_consumer_group
            assert g.state.name.lower() == listed[g.group_id].state.lower()

        ours = admin.describe_groups("g-active")["g-active"]
        want = theirs.describe_consumer_groups(["g-active"], request_timeout=10)[
            "g-active"].result(10)
        assert (ours.group_id, ours.protocol, ours.coordinator) == \
            (want.group_id, want.partition_assignor, want.coordinator.id)
        assert ours.state.lower() == want.state.name.lower()
        assert ours.protocol_type == "consumer"
        assert [(m.member_id, m.client_id, m.host, m.group_instance_id) for m in ours.members] == \
            [(m.member_id, m.client_id, m.host, m.group_instance_id) for m in want.members]
        assert [sorted(m.assignment) for m in ours.members] == \
            [sorted(TopicPartition(tp.topic, tp.partition) for tp in m.assignment.topic_partitions)
             for m in want.members]
        assert sorted(ours.members[0].assignment) == [("g-topic", 0), ("g-topic", 1)]

        committed = admin.list_group_offsets("g-active")
        assert committed == {TopicPartition("g-topic", 0): 5, TopicPartition("g-topic", 1): 3}
        request = [ConsumerGroupTopicPartitions("g-active")]
        want_offsets = theirs.list_consumer_group_offsets(request)["g-active"].result(10)
        assert committed == {TopicPartition(tp.topic, tp.partition): tp.offset
                             for tp in want_offsets.topic_partitions}
        rich = admin.list_group_offsets("g-active", [("g-topic", 1)], with_metadata=True)
        assert list(rich) == [TopicPartition("g-topic", 1)]
        their_tp = next(tp for tp in want_offsets.topic_partitions if tp.partition == 1)
        assert rich[TopicPartition("g-topic", 1)] == \
            OffsetAndMetadata(3, their_tp.metadata or "", their_tp.leader_epoch)

        _produce(kafka_broker, "g-topic", 4, partition=1)
        lag = admin.lag("g-active")
        assert lag[TopicPartition("g-topic", 0)] == (5, 5, 0)
        assert lag[TopicPartition("g-topic", 1)] == (3, 7, 4)

        with pytest.raises(NonEmptyGroupError):
            admin.delete_groups("g-active")
        with pytest.raises(KafkaError) as info:
            admin.delete_group_offsets("g-active", [("g-topic", 0)])
        assert info.value.code == 86  # GROUP_SUBSCRIBED_TO_TOPIC
        assert set(info.value.errors) == {TopicPartition("g-topic", 0)}
    finally:
        consumer.close()

    # Once empty: offsets can be altered and deleted by an admin, then the group deleted.
    admin.alter_group_offsets("g-active", {("g-topic", 0): 1,
                                           ("g-topic", 1): OffsetAndMetadata(2, "meta")})
    got = admin.list_group_offsets("g-active", with_metadata=True)
    assert got[TopicPartition("g-topic", 0)].offset == 1
    assert got[TopicPartition("g-topic", 1)][:2] == (2, "meta")

    def their_offsets() -> dict[TopicPartition, int]:
        answer = theirs.list_consumer_group_offsets(
            [ConsumerGroupTopicPartitions("g-active")])["g-active"].result(10)
        return {TopicPartition(tp.topic, tp.partition): tp.offset
                for tp in answer.topic_partitions if tp.offset >= 0}

    assert their_offsets() == {TopicPartition("g-topic", 0): 1, TopicPartition("g-topic", 1): 2}
    admin.delete_group_offsets("g-active", [TopicPartition("g-topic", 0)])
    assert admin.list_group_offsets("g-active") == {TopicPartition("g-topic", 1): 2}
    assert their_offsets() == {TopicPartition("g-topic", 1): 2}
    assert admin.describe_groups("g-active")["g-active"].state == "Empty"
    admin.delete_groups(["g-active"])
    assert "g-active" not in {g.group_id for g in admin.list_groups()}
    assert "g-active" not in {g.group_id for g in
                              theirs.list_consumer_groups(request_timeout=10).result(10).valid}
    with pytest.raises(GroupIdNotFoundError) as info:
        admin.delete_groups(["g-active", "g-never"])
    assert set(info.value.errors) == {"g-active", "g-never"}


def test_describe_unknown_group(admin):
    with pytest.raises(GroupIdNotFoundError) as info:
        admin.describe_groups(["nobody-here"])
    assert set(info.value.errors) == {"nobody-here"}
    assert admin.list_group_offsets("nobody-here") == {}
    assert admin.lag("nobody-here") == {}


# ------------------------------------------------------------------------------------------------
# Records and offsets


def test_list_offsets_and_delete_records_like_confluent(kafka_broker, admin):
    admin.create_topics(NewTopic("o-topic", 2, 1))
    base = int(time.time() * 1000) - 60_000  # recent: older records would fall to retention
    _produce(kafka_broker, "o-topic", 10, partition=0, timestamp=base)
    tp0, tp1 = TopicPartition("o-topic", 0), TopicPartition("o-topic", 1)
    theirs = _ck_admin(kafka_broker)

    specs = {"earliest": CkOffsetSpec.earliest(), "latest": CkOffsetSpec.latest(),
             "max_timestamp": CkOffsetSpec.max_timestamp(),
             base + 4: CkOffsetSpec.for_timestamp(base + 4)}
    for spec, their_spec in specs.items():
        ours = admin.list_offsets({tp0: spec, tp1: spec})
        futures = theirs.list_offsets({CkTP("o-topic", 0): their_spec,
                                       CkTP("o-topic", 1): their_spec})
        for ck_tp, future in futures.items():
            want = future.result(10)
            got = ours[TopicPartition(ck_tp.topic, ck_tp.partition)]
            assert (got.offset, got.timestamp, got.leader_epoch) == \
                (want.offset, want.timestamp, want.leader_epoch), spec
    assert admin.list_offsets([tp0, tp1]) == {tp0: ListedOffset(10, -1, 0),
                                              tp1: ListedOffset(0, -1, 0)}
    assert admin.list_offsets([tp0], spec="max_timestamp")[tp0] == (9, base + 9, 0)
    assert admin.list_offsets({tp0: base + 100})[tp0].offset == -1
    assert admin.list_offsets([tp0], isolation_level="read_committed")[tp0].offset == 10

    assert admin.delete_records({tp0: 4}) == {tp0: 4}
    assert admin.list_offsets([tp0], spec="earliest")[tp0].offset == 4
    assert theirs.list_offsets({CkTP("o-topic", 0): CkOffsetSpec.earliest()})[
        CkTP("o-topic", 0)].result(10).offset == 4
    assert admin.delete_records({tp0: -1}) == {tp0: 10}

    with pytest.raises(KafkaError) as info:  # UNKNOWN_TOPIC_OR_PARTITION or a timeout
        admin.list_offsets({tp0: "latest", ("o-missing", 0): "latest"}, timeout=0.5)
    assert set(info.value.errors) == {("o-missing", 0)}
    assert info.value.results == {tp0: ListedOffset(10, -1, 0)}
    with pytest.raises(KafkaError) as info:
        admin.delete_records({("o-topic", 7): 1}, timeout=0.5)
    assert set(info.value.errors) == {("o-topic", 7)}
    with pytest.raises(ValueError):
        admin.list_offsets([tp0], spec="newest")
    with pytest.raises(ValueError):
        admin.list_offsets([tp0], isolation_level="dirty")


# ------------------------------------------------------------------------------------------------
# Three brokers


@pytest.fixture(scope="module")
def cluster3(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Three brokers with ids 1-3: pykafkacore's, or with --kafka-bootstrap-servers that
    cluster when it has three (scripts/test-against-kafka runs this test on a 3-node Kafka)."""
    from pykafkacore import Cluster
    bootstrap = external.bootstrap_servers(request.config)
    if bootstrap:
        with AdminClient(bootstrap) as admin:
            ids = sorted(b.id for b in admin.describe_cluster(timeout=30).brokers)
        if ids != [1, 2, 3]:
            pytest.skip(f"needs brokers 1, 2 and 3; {bootstrap} has {ids} "
                        "(scripts/test-against-kafka runs it on three Kafka nodes)")
        yield external.cluster_for_test(bootstrap, {})
        return
    with Cluster(brokers=3, data_dir=tmp_path_factory.mktemp("admin3")) as cluster:
        yield cluster


def test_three_brokers_rf3_and_describe_cluster_like_confluent(cluster3):
    theirs = _ck_admin(cluster3)
    with AdminClient(cluster3) as admin:
        desc = admin.describe_cluster()
        want = theirs.describe_cluster(request_timeout=10).result(10)
        assert desc.cluster_id == want.cluster_id
        # Kafka's brokers name a random live broker as "controller" (KRaft controllers are not
        # reachable by clients), so two answers need not agree there.
        assert desc.controller in (1, 2, 3) and want.controller.id in (1, 2, 3)
        if not isinstance(cluster3, ExternalCluster):
            assert desc.controller == want.controller.id
        assert [(b.id, b.host, b.port, b.rack) for b in desc.brokers] == \
            sorted((n.id, n.host, n.port, n.rack) for n in want.nodes)
        assert [b.id for b in desc.brokers] == [1, 2, 3]

        admin.create_topics([NewTopic("rf3", 6, 3), NewTopic("rf3-manual",
                                                             replica_assignment={0: [3, 1, 2]})])
        ours = admin.describe_topics(["rf3", "rf3-manual"])
        got = ours["rf3"]
        assert got.replication_factor == 3
        assert all(sorted(p.replicas) == [1, 2, 3] and p.leader in p.replicas
                   and sorted(p.isr) == [1, 2, 3] for p in got.partitions)
        assert len({p.leader for p in got.partitions}) == 3, got  # leaders spread over the brokers
        assert ours["rf3-manual"].partitions[0].replicas == [3, 1, 2]
        want_topic = theirs.describe_topics(TopicCollection(["rf3"]))["rf3"].result(10)
        assert [(p.partition, p.leader, p.replicas) for p in got.partitions] == \
            [(p.id, p.leader.id, [r.id for r in p.replicas]) for p in want_topic.partitions]

        # Every broker's configs come from that broker.
        configs = admin.describe_configs({"broker": [1, 2, 3]})
        assert [configs[("broker", str(i))]["node.id"].value for i in (1, 2, 3)] == ["1", "2", "3"]

        # Groups coordinated by several brokers are all listed.
        groups = [f"admin3-g{i}" for i in range(6)]
        for g in groups:
            admin.alter_group_offsets(g, {("rf3", 0): 1})
        listed = {g.group_id: g for g in admin.list_groups()}
        assert set(groups) <= set(listed)
        assert all(listed[g].protocol_type == "" and listed[g].is_simple_consumer_group
                   for g in groups)
        described = admin.describe_groups(groups)
        assert len({d.coordinator for d in described.values()}) > 1
        admin.delete_groups(groups)


# ------------------------------------------------------------------------------------------------
# Lifecycle and failures


def test_close_context_manager_and_repr(kafka_broker):
    admin = AdminClient(bootstrap_servers=[kafka_broker.bootstrap_servers],
                        config={"client.id": "adm"})
    assert repr(admin) == f"<pykafkacore.AdminClient {kafka_broker.bootstrap_servers} open>"
    assert isinstance(admin.list_topics(), list)
    admin.close()
    admin.close()  # idempotent
    assert admin.closed and "closed" in repr(admin)
    with pytest.raises(NetworkError):
        admin.list_topics()

    with AdminClient(kafka_broker) as inside:
        inside.describe_cluster()
    assert inside.closed


def test_unreachable_bootstrap_times_out_and_bad_config_fails():
    with AdminClient("127.0.0.1:1", default_api_timeout_ms=300, reconnect_backoff_ms=20) as admin:
        started = time.monotonic()
        with pytest.raises(KafkaTimeoutError):
            admin.list_topics()
        with pytest.raises(KafkaTimeoutError):
            admin.describe_topics("x", timeout=0.2)
        assert time.monotonic() - started < 5
    with pytest.raises(KafkaError):
        AdminClient("127.0.0.1:1", no_such_setting=1)
    with pytest.raises(ValueError):
        AdminClient("")
