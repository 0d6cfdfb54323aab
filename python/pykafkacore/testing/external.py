"""Running the client suites against a cluster pykafkacore did not start (Apache Kafka, say).

``pytest --kafka-bootstrap-servers=HOST:PORT`` (or ``PYKAFKACORE_TEST_BOOTSTRAP_SERVERS``) makes
the ``kafka_broker`` fixtures hand out that cluster instead of starting a broker. Tests were
written for a fresh broker each, so before each one every topic and consumer group the previous
test left is deleted (and waited for). A test that needs to configure or control the broker
itself cannot run there and is skipped with the reason.
"""

from __future__ import annotations

import os
import time
from typing import Any

import pytest

OPTION = "--kafka-bootstrap-servers"
ENVIRONMENT = "PYKAFKACORE_TEST_BOOTSTRAP_SERVERS"
_CLEANUP_TIMEOUT = 30.0


def add_option(parser: pytest.Parser) -> None:
    parser.addoption(
        OPTION, default=os.environ.get(ENVIRONMENT) or None, metavar="HOST:PORT[,...]",
        help="run the kafka_broker fixtures' tests against this already running cluster "
             f"(e.g. Apache Kafka; scripts/test-against-kafka) instead of in-process brokers; "
             f"default ${ENVIRONMENT}")


def bootstrap_servers(config: pytest.Config) -> str | None:
    value = config.getoption(OPTION, default=None)
    return str(value) if value else None


class ExternalCluster:
    """What the tests use of a broker (``bootstrap_servers``, ``node_id``), for a cluster that
    runs elsewhere."""

    def __init__(self, bootstrap: str) -> None:
        self.bootstrap_servers = bootstrap
        self.node_id = _lowest_broker_id(bootstrap)

    def stop(self) -> None:
        """Not ours to stop."""

    def create_topic(self, name: str, partitions: int = 1,
                     replication_factor: int | None = None) -> None:
        """As ``Cluster.create_topic``, through the AdminClient."""
        from pykafkacore import AdminClient, NewTopic

        with AdminClient(self.bootstrap_servers) as admin:
            admin.create_topics(NewTopic(name, num_partitions=partitions,
                                         replication_factor=replication_factor or -1))

    def __repr__(self) -> str:
        return f"ExternalCluster({self.bootstrap_servers!r}, node_id={self.node_id})"


def _lowest_broker_id(bootstrap: str) -> int:
    from pykafkacore import AdminClient

    with AdminClient(bootstrap, request_timeout_ms=10000) as admin:
        return min(node.id for node in admin.describe_cluster(timeout=30).brokers)


def reset(bootstrap: str) -> None:
    """Deletes every non-internal topic and every consumer group, and waits until the cluster
    no longer lists them (topic deletion is asynchronous in Kafka)."""
    from pykafkacore import AdminClient
    from pykafkacore.errors import KafkaError

    with AdminClient(bootstrap, request_timeout_ms=10000) as admin:
        deadline = time.monotonic() + _CLEANUP_TIMEOUT
        while True:
            groups = [g.group_id for g in admin.list_groups(timeout=10)]
            topics = list(admin.list_topics(timeout=10))
            if not groups and not topics:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"{bootstrap}: could not clean up topics {topics} and "
                                   f"groups {groups} left by the previous test")
            for delete, names in ((admin.delete_groups, groups), (admin.delete_topics, topics)):
                if names:
                    try:
                        delete(names, timeout=10)
                    except KafkaError:
                        pass  # already going, or a member still leaving: looked at again below
            time.sleep(0.2)


def cluster_for_test(bootstrap: str, configs: dict[str, Any]) -> ExternalCluster:
    if configs:
        pytest.skip(f"sets broker configs {sorted(configs)}: not possible on the external "
                    f"cluster {bootstrap}")
    reset(bootstrap)
    return ExternalCluster(bootstrap)
