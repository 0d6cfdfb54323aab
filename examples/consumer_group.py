"""A consumer group: several consumers, each on its own thread, share a topic's partitions.

    .venv/bin/python examples/consumer_group.py                   # starts its own 1-broker cluster
    .venv/bin/python examples/consumer_group.py --bootstrap-servers 127.0.0.1:9092

Three consumers join one group on a 6-partition topic and get two partitions each. Each
processes what it polls and commits it before polling again, so a partition that moves to
another member continues after the last record processed (at-least-once). Then one member
leaves: its partitions move to the others (cooperative-sticky: the others keep theirs), more
records arrive, and the group's lag goes back to zero.
"""

from __future__ import annotations

import argparse
import contextlib
import threading
import time
import uuid
from collections.abc import Iterator

from pykafkacore import AdminClient, Cluster, Consumer, NewTopic, Producer
from pykafkacore import set_log_level

PARTITIONS = 6
_print_lock = threading.Lock()


def say(line: str) -> None:
    with _print_lock:  # the members' callbacks print from their own threads
        print(line, flush=True)


@contextlib.contextmanager
def kafka(bootstrap_servers: str | None) -> Iterator[str]:
    """The given cluster, or a fresh in-process one for the duration of the block."""
    if bootstrap_servers:
        yield bootstrap_servers
        return
    set_log_level("warn")  # the in-process broker logs to stderr at "info" otherwise
    with Cluster(brokers=1) as cluster:
        yield cluster.bootstrap_servers


class Member(threading.Thread):
    """One group member: polls, "processes" (counts) and commits until told to stop."""

    def __init__(self, name: str, bootstrap: str, topic: str, group: str) -> None:
        super().__init__(name=name)
        self.processed = 0
        self.partitions: set[int] = set()
        self._stop_requested = threading.Event()
        self._args = (bootstrap, topic, group)

    def run(self) -> None:
        bootstrap, topic, group = self._args
        # The consumer lives and dies on this thread: one thread at a time may use it.
        with Consumer(topic, bootstrap_servers=bootstrap, group_id=group, client_id=self.name,
                      auto_offset_reset="earliest", enable_auto_commit=False,
                      partition_assignment_strategy="cooperative-sticky",
                      # Members learn of a rebalance through heartbeats (Kafka: every 3 s).
                      heartbeat_interval_ms=300,
                      on_assign=self._assigned, on_revoke=self._revoked) as consumer:
            while not self._stop_requested.is_set():
                records = consumer.poll(timeout=0.2)
                self.processed += len(records)
                if records:
                    consumer.commit()  # processed: commit before the next poll

    def stop(self) -> None:
        self._stop_requested.set()
        self.join()

    def _assigned(self, partitions) -> None:
        if partitions:
            say(f"  {self.name} assigned {sorted(tp.partition for tp in partitions)}")
        self.partitions |= {tp.partition for tp in partitions}

    def _revoked(self, partitions) -> None:
        say(f"  {self.name} revoked  {sorted(tp.partition for tp in partitions)}")
        self.partitions -= {tp.partition for tp in partitions}


def produce(bootstrap: str, topic: str, start: int, count: int) -> None:
    with Producer(bootstrap, key_serializer="str", value_serializer="json") as producer:
        for i in range(start, start + count):
            producer.send(topic, {"event": i}, key=f"device-{i % 40}")
        producer.flush(30)


def wait_until(condition, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting until {what}")
        time.sleep(0.05)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap-servers", help="a running cluster (default: start one)")
    args = parser.parse_args()

    with kafka(args.bootstrap_servers) as bootstrap:
        topic = f"telemetry-{uuid.uuid4().hex[:8]}"
        group = f"{topic}-processors"
        admin = AdminClient(bootstrap)
        admin.create_topics([NewTopic(topic, num_partitions=PARTITIONS)])
        produce(bootstrap, topic, 0, 600)
        say(f"topic {topic}: {PARTITIONS} partitions, 600 records")

        say("three members join:")
        members = [Member(f"member-{i}", bootstrap, topic, group) for i in (1, 2, 3)]
        for m in members:
            m.start()

        def balanced() -> bool:
            owned = sorted(p for m in members for p in m.partitions)
            return owned == list(range(PARTITIONS)) and all(m.partitions for m in members)

        wait_until(balanced, "every member has partitions")
        wait_until(lambda: sum(m.processed for m in members) >= 600, "600 records are processed")
        for m in members:
            say(f"{m.name}: partitions {sorted(m.partitions)}, processed {m.processed}")

        say("member-3 leaves:")
        leaving = members.pop()
        leaving.stop()
        wait_until(balanced, "member-3's partitions are reassigned")
        produce(bootstrap, topic, 600, 300)
        wait_until(lambda: sum(m.processed for m in members) + leaving.processed >= 900,
                   "all 900 records are processed")
        for m in members:
            say(f"{m.name}: partitions {sorted(m.partitions)}, processed {m.processed}")

        # Every record processed was committed before the next poll, so the group is caught up.
        wait_until(lambda: sum(lag.lag for lag in admin.lag(group).values()) == 0,
                   "the group's lag is zero")
        lags = admin.lag(group)
        say(f"group {group}: committed offsets on {len(lags)} partitions, total lag "
            f"{sum(lag.lag for lag in lags.values())}")
        total = sum(m.processed for m in members) + leaving.processed
        say(f"processed {total} records for 900 produced ({total - 900} processed twice)")

        for m in members:
            m.stop()
        if args.bootstrap_servers:
            admin.delete_groups(group)
            admin.delete_topics(topic)
        admin.close()


if __name__ == "__main__":
    main()
