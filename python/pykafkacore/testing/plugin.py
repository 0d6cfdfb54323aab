"""pytest plugin for pykafkacore, registered through the ``pytest11`` entry point (installing
pykafkacore is enough; docs/testing.md has a copyable example).

Fixtures:

``kafka_cluster``
    A fresh ``pykafkacore.Cluster`` for the test (in-process, one broker, a temporary data
    directory), ready when the test starts and closed after it. Size, mode and broker configs
    come from the marker: ``@pytest.mark.kafka_cluster(brokers=3, num_partitions=3)`` (keyword
    arguments as for ``Cluster``, e.g. ``mode="process"``, ``configs={...}``).

``kafka_cluster_factory``
    ``kafka_cluster_factory(brokers=1, **configs)`` starts one more cluster; all are closed
    after the test.

``kafka_topic``
    The name of a fresh, uniquely named topic on ``kafka_cluster``, ready on every broker.
    ``@pytest.mark.kafka_topic(partitions=3, replication_factor=2, configs={...})`` shapes it.

``kafka_topic_factory``
    ``kafka_topic_factory(partitions=1, replication_factor=None, configs=None, name=None)``
    creates one more topic on ``kafka_cluster`` and returns its name.

``kafka_producer`` / ``kafka_consumer``
    confluent-kafka clients connected to ``kafka_cluster`` (the test is skipped if
    confluent-kafka is not installed). The consumer has its own group id and reads from the
    earliest offset; subscribe or assign it yourself. Both are closed after the test.
    ``kafka_producer_factory(**config)`` / ``kafka_consumer_factory(**config)`` make more.
    They switch to pykafkacore's own clients when those land (issue: native clients).

``kafka_broker`` / ``kafka_broker_factory``
    A single ``_core.Broker`` in this process (the lower-level object; kept for existing tests).

Under pytest-xdist every worker is its own process, so every worker gets its own clusters (free
ports, its own temporary directories); nothing is shared between workers.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

_MARKERS = (
    "kafka_cluster(brokers=1, mode='inprocess', configs=None, **broker_configs): the size, "
    "mode and Kafka-named broker configs of the kafka_cluster fixture (pykafkacore)",
    "kafka_topic(partitions=1, replication_factor=None, configs=None): the shape of the "
    "kafka_topic fixture's topic (pykafkacore)",
)


def pytest_configure(config: pytest.Config) -> None:
    for line in _MARKERS:
        config.addinivalue_line("markers", line)


# ------------------------------------------------------------------------------------------------
# Clusters and topics


@pytest.fixture
def kafka_cluster_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Any]]:
    from pykafkacore.cluster import Cluster

    started: list[Cluster] = []

    def start(brokers: int = 1, **kwargs: Any) -> Cluster:
        kwargs.setdefault("data_dir", tmp_path_factory.mktemp("kafka-cluster"))
        cluster = Cluster(brokers, **kwargs)
        started.append(cluster)
        return cluster.start()

    yield start
    for cluster in reversed(started):
        cluster.close()


@pytest.fixture
def kafka_cluster(request: pytest.FixtureRequest,
                  kafka_cluster_factory: Callable[..., Any]) -> Any:
    marker = request.node.get_closest_marker("kafka_cluster")
    args = marker.args if marker else ()
    kwargs = dict(marker.kwargs) if marker else {}
    return kafka_cluster_factory(*args, **kwargs)


def _unique_topic_name(request: pytest.FixtureRequest) -> str:
    base = re.sub(r"[^a-zA-Z0-9._-]+", "-", request.node.name).strip("-")[:180] or "topic"
    return f"{base}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def kafka_topic_factory(request: pytest.FixtureRequest, kafka_cluster: Any) -> Callable[..., str]:
    def create(partitions: int = 1, replication_factor: int | None = None,
               configs: dict[str, Any] | None = None, name: str | None = None) -> str:
        name = name or _unique_topic_name(request)
        kafka_cluster.create_topic(name, partitions, replication_factor, configs)
        return name

    return create


@pytest.fixture
def kafka_topic(request: pytest.FixtureRequest, kafka_topic_factory: Callable[..., str]) -> str:
    marker = request.node.get_closest_marker("kafka_topic")
    return kafka_topic_factory(*(marker.args if marker else ()),
                               **(marker.kwargs if marker else {}))


# ------------------------------------------------------------------------------------------------
# Clients: confluent-kafka until pykafkacore's own Producer/Consumer land, then those.


def _confluent_kafka() -> Any:
    return pytest.importorskip(
        "confluent_kafka",
        reason="the kafka_producer/kafka_consumer fixtures use confluent-kafka for now "
               "(pip install confluent-kafka)")


@pytest.fixture
def kafka_producer_factory(kafka_cluster: Any) -> Iterator[Callable[..., Any]]:
    ck = _confluent_kafka()
    made: list[Any] = []

    def make(**config: Any) -> Any:
        producer = ck.Producer({"bootstrap.servers": kafka_cluster.bootstrap_servers,
                                "linger.ms": 5, **config})
        made.append(producer)
        return producer

    yield make
    # Dropping the last reference destroys a producer (its threads end; unsent records are
    # purged): flush in the test what must arrive.
    made.clear()


@pytest.fixture
def kafka_producer(kafka_producer_factory: Callable[..., Any]) -> Any:
    return kafka_producer_factory()


@pytest.fixture
def kafka_consumer_factory(request: pytest.FixtureRequest,
                           kafka_cluster: Any) -> Iterator[Callable[..., Any]]:
    ck = _confluent_kafka()
    made: list[Any] = []

    def make(**config: Any) -> Any:
        consumer = ck.Consumer({"bootstrap.servers": kafka_cluster.bootstrap_servers,
                                "group.id": _unique_topic_name(request),
                                "auto.offset.reset": "earliest", **config})
        made.append(consumer)
        return consumer

    yield make
    for consumer in made:
        consumer.close()
    made.clear()


@pytest.fixture
def kafka_consumer(kafka_consumer_factory: Callable[..., Any]) -> Any:
    return kafka_consumer_factory()


# ------------------------------------------------------------------------------------------------
# One broker, the lower-level object


def _properties(data_dir: Path, configs: dict[str, Any]) -> dict[str, str]:
    from pykafkacore.cluster import TEST_DEFAULTS, config_properties

    props = dict(TEST_DEFAULTS)
    props.update({"port": "0", "host": "127.0.0.1", "log.dirs": str(data_dir)})
    props.update(config_properties(**configs))
    return props


@pytest.fixture
def kafka_broker_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Any]]:
    """``kafka_broker_factory(**configs)`` starts one more broker with Kafka-named configs
    (``num_partitions=3`` or ``{"log.retention.ms": "1000"}`` style keys); all are stopped after
    the test."""
    from pykafkacore._core import Broker

    started: list[Any] = []

    def start(configs: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        data_dir = tmp_path_factory.mktemp("broker")
        broker = Broker(_properties(data_dir, {**(configs or {}), **kwargs}))
        broker.data_dir = data_dir  # type: ignore[attr-defined]
        started.append(broker)
        return broker

    yield start
    for broker in started:
        broker.stop()


@pytest.fixture
def kafka_broker(kafka_broker_factory: Callable[..., Any]) -> Any:
    """A real broker in this process (its own thread, a temporary data directory, a free port
    on 127.0.0.1), started for the test and stopped cleanly after it."""
    return kafka_broker_factory()
