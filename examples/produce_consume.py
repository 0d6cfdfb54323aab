"""Produce a few records and read them back in a consumer group.

    .venv/bin/python examples/produce_consume.py                  # starts its own 1-broker cluster
    .venv/bin/python examples/produce_consume.py --bootstrap-servers 127.0.0.1:9092

Keys pick the partition (the same key always lands in the same partition, so its records stay in
order); values are JSON; a header travels with each record.
"""

from __future__ import annotations

import argparse
import contextlib
import time
import uuid
from collections.abc import Iterator

from pykafkacore import AdminClient, Cluster, Consumer, NewTopic, Producer
from pykafkacore import set_log_level


@contextlib.contextmanager
def kafka(bootstrap_servers: str | None) -> Iterator[str]:
    """The given cluster, or a fresh in-process one for the duration of the block."""
    if bootstrap_servers:
        yield bootstrap_servers
        return
    set_log_level("warn")  # the in-process broker logs to stderr at "info" otherwise
    with Cluster(brokers=1) as cluster:
        yield cluster.bootstrap_servers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap-servers", help="a running cluster (default: start one)")
    parser.add_argument("--count", type=int, default=6, help="records to produce")
    args = parser.parse_args()

    with kafka(args.bootstrap_servers) as bootstrap:
        topic = f"orders-{uuid.uuid4().hex[:8]}"  # unique, so reruns on one cluster do not mix
        with AdminClient(bootstrap) as admin:
            admin.create_topics([NewTopic(topic, num_partitions=3)])
        print(f"created topic {topic} with 3 partitions on {bootstrap}")

        customers = ["alice", "bob", "carol"]
        with Producer(bootstrap, acks="all", key_serializer="str",
                      value_serializer="json") as producer:
            futures = [producer.send(topic, {"order": i, "amount": 10 * (i + 1)},
                                     key=customers[i % len(customers)],
                                     headers={"source": "produce_consume.py"})
                       for i in range(args.count)]
            producer.flush(30)
            for i, future in enumerate(futures):
                meta = future.result()
                print(f"produced order {i} of {customers[i % len(customers)]} to partition "
                      f"{meta.partition} at offset {meta.offset}")

        received = []
        with Consumer(topic, bootstrap_servers=bootstrap, group_id=f"{topic}-readers",
                      auto_offset_reset="earliest", enable_auto_commit=False,
                      key_deserializer="str", value_deserializer="json") as consumer:
            deadline = time.monotonic() + 30
            while len(received) < args.count and time.monotonic() < deadline:
                received += consumer.poll(timeout=1.0)
            consumer.commit()  # the group continues after these records next time
            for r in sorted(received, key=lambda r: (r.partition, r.offset)):
                print(f"consumed partition {r.partition} offset {r.offset}: key={r.key} "
                      f"value={r.value} headers={dict(r.headers)}")
        print(f"consumed {len(received)} of {args.count} records")

        if args.bootstrap_servers:  # leave a shared cluster as it was
            with AdminClient(bootstrap) as admin:
                admin.delete_topics(topic)
        if len(received) != args.count:
            raise SystemExit("some records did not arrive")


if __name__ == "__main__":
    main()
