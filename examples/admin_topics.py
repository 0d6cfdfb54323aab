"""Topic administration with pykafkacore.AdminClient: create, describe, configure, grow, delete.

    .venv/bin/python examples/admin_topics.py                     # starts its own 3-broker cluster
    .venv/bin/python examples/admin_topics.py --bootstrap-servers 127.0.0.1:9092

The AdminClient speaks the Kafka protocol, so the same calls work against Apache Kafka.
"""

from __future__ import annotations

import argparse
import contextlib
import time
import uuid
from collections.abc import Iterator

from pykafkacore import AdminClient, Cluster, ConfigResource, NewTopic
from pykafkacore import set_log_level
from pykafkacore.errors import TopicAlreadyExistsError


@contextlib.contextmanager
def kafka(bootstrap_servers: str | None) -> Iterator[str]:
    """The given cluster, or a fresh in-process one for the duration of the block."""
    if bootstrap_servers:
        yield bootstrap_servers
        return
    set_log_level("warn")  # the in-process brokers log to stderr at "info" otherwise
    with Cluster(brokers=3) as cluster:
        yield cluster.bootstrap_servers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap-servers", help="a running cluster (default: start one)")
    args = parser.parse_args()

    with kafka(args.bootstrap_servers) as bootstrap, AdminClient(bootstrap) as admin:
        cluster = admin.describe_cluster()
        print(f"cluster {cluster.cluster_id}: controller {cluster.controller}, brokers "
              f"{[f'{b.id}@{b.host}:{b.port}' for b in cluster.brokers]}")
        replication = min(3, len(cluster.brokers))

        suffix = uuid.uuid4().hex[:8]
        events, audit = f"events-{suffix}", f"audit-{suffix}"
        admin.create_topics([
            NewTopic(events, num_partitions=3, replication_factor=replication),
            # A compacted topic keeps the latest record per key instead of expiring by age.
            NewTopic(audit, num_partitions=1, replication_factor=replication,
                     config={"cleanup.policy": "compact", "min.insync.replicas": 1}),
        ])
        print(f"created {events} and {audit}")
        print("topics:", [t for t in admin.list_topics() if t.endswith(suffix)])

        try:
            admin.create_topics(NewTopic(events, num_partitions=1))
        except TopicAlreadyExistsError as e:
            print(f"creating {events} again fails: {type(e).__name__}")

        for name, topic in admin.describe_topics([events, audit]).items():
            print(f"{name} (id {topic.topic_id}): replication factor {topic.replication_factor}")
            for p in topic.partitions:
                print(f"  partition {p.partition}: leader {p.leader}, replicas {p.replicas}, "
                      f"isr {p.isr}")

        # Configs: only those set on the topic itself, not the defaults it inherits.
        resource = ConfigResource("topic", audit)
        overrides = {name: entry.value
                     for name, entry in admin.describe_configs(resource)[resource].items()
                     if not entry.is_default}
        print(f"{audit} overrides: {overrides}")

        # Incremental: set one config, leave the others as they are (None would delete one).
        admin.incremental_alter_configs({("topic", events): {"retention.ms": 3_600_000}})
        retention = admin.describe_configs(("topic", events))[("topic", events)]["retention.ms"]
        print(f"{events} retention.ms = {retention.value} ({retention.source.name})")

        # Partitions can only be added; keys then map to different partitions than before.
        # create_partitions returns before the new partitions have leaders: wait for those.
        admin.create_partitions({events: 6})
        wait_until(lambda: [p.leader is not None for p in
                            admin.describe_topics(events)[events].partitions] == [True] * 6,
                   f"{events} has 6 partitions with leaders")
        print(f"{events} now has 6 partitions")

        admin.delete_topics([events, audit])
        wait_until(lambda: not [t for t in admin.list_topics() if t.endswith(suffix)],
                   "both topics are gone")
        print("deleted both topics")


def wait_until(condition, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting until {what}")
        time.sleep(0.05)


if __name__ == "__main__":
    main()
