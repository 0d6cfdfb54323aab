"""pytest plugin for pykafkacore, registered through the ``pytest11`` entry point.

Fixtures:

``kafka_broker``
    A real broker in this process (its own thread, a temporary data directory, a free port on
    127.0.0.1), started for the test and stopped cleanly after it. Use
    ``kafka_broker.bootstrap_servers`` with any Kafka client.

``kafka_broker_factory``
    ``kafka_broker_factory(**configs)`` starts one more broker with Kafka-named configs
    (``num_partitions=3`` or ``{"log.retention.ms": "1000"}`` style keys); all are stopped after
    the test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

# Defaults that suit tests better than Kafka's (documented in docs/testing.md when the Cluster
# API arrives): the broker ticks often so retention and flush.ms act quickly, and a new consumer
# group does not wait 3 s for more members before its first rebalance.
_TEST_DEFAULTS = {"kafkacore.tick.ms": "100", "group.initial.rebalance.delay.ms": "0"}


def _properties(data_dir: Path, configs: dict[str, Any]) -> dict[str, str]:
    props = dict(_TEST_DEFAULTS)
    props.update({"port": "0", "host": "127.0.0.1", "log.dirs": str(data_dir)})
    for key, value in configs.items():
        props[key.replace("_", ".")] = str(value).lower() if isinstance(value, bool) else str(value)
    return props


@pytest.fixture
def kafka_broker_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Any]]:
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
    return kafka_broker_factory()
