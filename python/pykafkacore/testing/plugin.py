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
    pykafkacore's own ``Producer`` / ``Consumer`` connected to ``kafka_cluster``. The consumer
    has its own group id and reads from the earliest offset; subscribe or assign it yourself.
    Both are closed after the test. ``kafka_producer_factory(**config)`` /
    ``kafka_consumer_factory(**config)`` make more (Kafka config names, ``_`` for ``.``).

``kafka_faults``
    ``kafka_cluster.faults``: request faults (``inject_error``, ``inject_latency``,
    ``drop_connections``, ``black_hole``), the request log (``requests``) and disk faults
    (``disk_full``, ``slow_fsync``, ``fail_fsyncs``) of the test's cluster; every fault is cleared
    after the test, even one the test left behind. In-process clusters only.

``kafka_broker`` / ``kafka_broker_factory``
    A single ``_core.Broker`` in this process (the lower-level object; kept for existing tests).
    ``pytest --kafka-bootstrap-servers=HOST:PORT`` makes them hand out that running cluster
    instead (Apache Kafka, say; ``make test-kafka``), emptied of topics and groups before each
    test.

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

from pykafkacore.testing import external

_MARKERS = (
    "kafka_cluster(brokers=1, mode='inprocess', configs=None, **broker_configs): the size, "
    "mode and Kafka-named broker configs of the kafka_cluster fixture (pykafkacore)",
    "kafka_topic(partitions=1, replication_factor=None, configs=None): the shape of the "
    "kafka_topic fixture's topic (pykafkacore)",
)


def pytest_addoption(parser: pytest.Parser) -> None:
    external.add_option(parser)


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


@pytest.fixture
def kafka_faults(kafka_cluster: Any) -> Iterator[Any]:
    faults = kafka_cluster.faults  # in process mode its calls raise NotImplementedError
    yield faults
    # Held (black-holed) requests are released here, before the cluster closes.
    if kafka_cluster.started and kafka_cluster.mode == "inprocess":
        faults.clear()


# ------------------------------------------------------------------------------------------------
# Clients: pykafkacore's own (any other client connects to kafka_cluster.bootstrap_servers).


@pytest.fixture
def kafka_producer_factory(kafka_cluster: Any) -> Iterator[Callable[..., Any]]:
    """``kafka_producer_factory(**config)``: a pykafkacore.Producer for ``kafka_cluster``;
    Kafka-named configs (``**{"acks": "all"}`` or ``acks="all"``). Closed after the test."""
    from pykafkacore import Producer

    made: list[Any] = []

    def make(**config: Any) -> Any:
        producer = Producer(kafka_cluster, config={"linger.ms": 5, **_dotted(config)})
        made.append(producer)
        return producer

    yield make
    for producer in made:
        producer.close(timeout=5)


@pytest.fixture
def kafka_streams_tester(kafka_cluster: Any) -> Iterator[Callable[..., Any]]:
    """``kafka_streams_tester(build, **options)``: a started
    ``pykafkacore.testing.streams.StreamsTester`` running ``build(app)``'s topology on
    ``kafka_cluster`` (one in-process instance; add more with ``add_instance``). Closed after
    the test."""
    from pykafkacore.testing.streams import StreamsTester

    made: list[Any] = []

    def make(build: Callable[[Any], None], **options: Any) -> Any:
        tester = StreamsTester(kafka_cluster, build, **options).start()
        made.append(tester)
        return tester

    yield make
    for tester in made:
        tester.close()


@pytest.fixture
def kafka_producer(kafka_producer_factory: Callable[..., Any]) -> Any:
    return kafka_producer_factory()


@pytest.fixture
def kafka_consumer_factory(request: pytest.FixtureRequest,
                           kafka_cluster: Any) -> Iterator[Callable[..., Any]]:
    """``kafka_consumer_factory(**config)``: a pykafkacore.Consumer for ``kafka_cluster`` in a
    group of its own (``group.id`` unique to the test unless given), reading from the earliest
    offset, not subscribed. Closed (leaving its group) after the test."""
    from pykafkacore import Consumer

    made: list[Any] = []

    def make(**config: Any) -> Any:
        consumer = Consumer(bootstrap_servers=kafka_cluster,
                            config={"group.id": _unique_topic_name(request),
                                    "auto.offset.reset": "earliest", **_dotted(config)})
        made.append(consumer)
        return consumer

    yield make
    for consumer in made:
        consumer.close()


def _dotted(config: dict[str, Any]) -> dict[str, Any]:
    return {key.replace("_", "."): value for key, value in config.items()}


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
def kafka_broker_factory(request: pytest.FixtureRequest,
                         tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Any]]:
    """``kafka_broker_factory(**configs)`` starts one more broker with Kafka-named configs
    (``num_partitions=3`` or ``{"log.retention.ms": "1000"}`` style keys); all are stopped after
    the test. With ``--kafka-bootstrap-servers`` it hands out that cluster instead, emptied of
    the previous test's topics and groups (see pykafkacore.testing.external)."""
    from pykafkacore._core import Broker

    started: list[Any] = []
    bootstrap = external.bootstrap_servers(request.config)

    def start(configs: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        if bootstrap:
            return external.cluster_for_test(bootstrap, {**(configs or {}), **kwargs})
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
