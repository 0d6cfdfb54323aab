"""The pytest plugin (pykafkacore.testing.plugin, loaded through its pytest11 entry point): its
fixtures and markers, run in an inner pytest session with `pytester`, also under pytest-xdist."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

USES_FIXTURES = '''
import pytest

def test_cluster_defaults(kafka_cluster):
    assert len(kafka_cluster.brokers) == 1
    assert kafka_cluster.properties["group.initial.rebalance.delay.ms"] == "0"

@pytest.mark.kafka_cluster(brokers=3, num_partitions=2)
def test_marker_sizes_the_cluster(kafka_cluster):
    assert [b.id for b in kafka_cluster.brokers] == [1, 2, 3]
    assert kafka_cluster.properties["num.partitions"] == "2"

@pytest.mark.kafka_topic(partitions=3)
def test_topic(kafka_cluster, kafka_topic, kafka_topic_factory):
    info = kafka_cluster.topics()[kafka_topic]
    assert len(info.partitions) == 3
    other = kafka_topic_factory(partitions=2)
    assert other != kafka_topic and len(kafka_cluster.topics()[other].partitions) == 2

def test_produce_consume(kafka_topic, kafka_producer, kafka_consumer_factory):
    kafka_producer.send(kafka_topic, b"hello").result(10)
    kafka_producer.send(kafka_topic, b"world").result(10)
    consumer = kafka_consumer_factory(max_poll_records=1)
    consumer.subscribe([kafka_topic])
    seen = []
    for _ in range(100):
        batch = consumer.poll(0.2)
        assert len(batch) <= 1  # max_poll_records reached the consumer as max.poll.records
        seen += [record.value for record in batch]
        if len(seen) == 2:
            assert seen == [b"hello", b"world"]
            return
    raise AssertionError("nothing consumed")

def test_broker(kafka_broker):
    assert kafka_broker.running and kafka_broker.port > 0

@pytest.mark.kafka_cluster(brokers=3)
def test_fault(kafka_cluster, kafka_topic):
    leader = kafka_cluster.topics()[kafka_topic].partitions[0].leader
    kafka_cluster.kill(leader)
    kafka_cluster.restart(leader)
    assert kafka_cluster.broker(leader).running
'''


def test_fixtures_and_markers(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(USES_FIXTURES)
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "--strict-markers")
    result.assert_outcomes(passed=6)


def test_markers_are_registered(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_inprocess("--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.kafka_cluster(*", "@pytest.mark.kafka_topic(*"])


def test_clusters_per_xdist_worker(pytester: pytest.Pytester) -> None:
    pytest.importorskip("xdist")
    pytester.makepyfile(USES_FIXTURES)
    result = pytester.runpytest_subprocess("-n", "2", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=6)
