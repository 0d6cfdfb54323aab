"""Failover time of a pykafkacore cluster: from kill -9 of a partition leader to the first
acknowledged acks=all write produced after the kill (bench/compare.py scenario 10, alone, with
the test defaults of pykafkacore.Cluster: broker.session.timeout.ms=1000 etc.).

    .venv/bin/python bench/failover.py [--runs 5] [--mode process|inprocess]
                                       [--controllers 0|3] [--victim leader|controller]
                                       [--client confluent|pykafkacore]

``--victim leader``: a partition leader that is not the active controller; ``controller``: a
partition leader that is also the active controller (combined mode only). ``--client``: the
producer, librdkafka (confluent-kafka) or pykafkacore's own. Prints each run and the median.

librdkafka adds up to a second or two of its own: with only the dead leader connected it skips
the metadata refresh ("no usable brokers") and asks again on its 1 s leader scan; a partition
whose leader's broker left the Metadata broker list detours through its internal broker for
another scan.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient

from pykafkacore import Cluster

from common import ms_to_first_ack_after_kill

PRODUCER = {
    "acks": "all", "linger.ms": 0, "enable.idempotence": False, "message.timeout.ms": 60000,
    "retry.backoff.ms": 10, "retry.backoff.max.ms": 100, "reconnect.backoff.ms": 10,
    "reconnect.backoff.max.ms": 100, "topic.metadata.refresh.fast.interval.ms": 10,
    "log_level": 0,
}


def wait_isr(bootstrap: str, topic: str, timeout: float = 60) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 0})
    deadline = time.monotonic() + timeout
    while True:
        md = admin.list_topics(topic, timeout=10).topics[topic]
        if md.partitions and all(len(p.isrs) == 3 and p.leader >= 0
                                 for p in md.partitions.values()):
            return
        if time.monotonic() > deadline:
            raise TimeoutError("replicas not in sync")
        time.sleep(0.1)


class _NativeProducer:
    """pykafkacore's Producer behind the confluent-kafka calls one_run makes."""

    def __init__(self, bootstrap: str) -> None:
        from pykafkacore import Producer as Native

        self._p = Native(bootstrap, acks="all", linger_ms=0, enable_idempotence=False,
                         delivery_timeout_ms=60000, retry_backoff_ms=10, retry_backoff_max_ms=100,
                         reconnect_backoff_ms=10, reconnect_backoff_max_ms=100)

    def produce(self, topic: str, value: bytes, partition: int, on_delivery) -> None:
        future = self._p.send(topic, value, partition=partition)
        future.add_done_callback(lambda f: on_delivery(f.exception(), None))

    def poll(self, timeout: float) -> None:
        self._p.poll(timeout)

    def purge(self) -> None:
        pass

    def flush(self, timeout: float) -> None:
        try:
            self._p.flush(timeout)
        except Exception:  # noqa: BLE001 - outstanding records are of no interest here
            pass
        self._p.close(0)


def one_run(cluster: Cluster, topic: str, victim_kind: str, client: str = "confluent",
            spread: bool = False, kill_after: float = 1.0) -> tuple[float, int, int | None]:
    wait_isr(cluster.bootstrap_servers, topic)
    # Everything in place, including leaders the imbalance check moves back.
    time.sleep(0.5)
    controller = cluster.controller
    leaders = {p.partition: p.leader for p in cluster.topic(topic).partitions}
    if victim_kind == "controller":
        candidates = [p for p, node in sorted(leaders.items()) if node == controller]
    else:
        candidates = [p for p, node in sorted(leaders.items()) if node != controller]
    if not candidates:
        raise RuntimeError(f"no partition led by a {victim_kind}: {leaders}, controller "
                           f"{controller}")
    partition = candidates[0]
    victim = leaders[partition]
    producer = (Producer({"bootstrap.servers": cluster.bootstrap_servers, **PRODUCER})
                if client == "confluent" else _NativeProducer(cluster.bootstrap_servers))
    ms = ms_to_first_ack_after_kill(producer, topic, partition, lambda: cluster.kill(victim),
                                    partitions=len(leaders) if spread else 1,
                                    kill_after=kill_after)
    cluster.restart(victim)
    return ms, victim, controller


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--mode", default="process", choices=["process", "inprocess"])
    parser.add_argument("--controllers", type=int, default=0)
    parser.add_argument("--victim", default="leader", choices=["leader", "controller"])
    parser.add_argument("--client", default="confluent", choices=["confluent", "pykafkacore"])
    parser.add_argument("--spread", action="store_true",
                        help="write to every partition round-robin, not only the victim's")
    parser.add_argument("--phase", default="random", choices=["random", "tick"],
                        help="kill at a random point of librdkafka's 1 s leader-scan cycle "
                             "(seeded), or exactly on a tick (1.0 s in: its worst case)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    times = []
    rng = random.Random(args.seed)
    with Cluster(3, mode=args.mode, controllers=args.controllers) as cluster:
        cluster.create_topic("failover", partitions=3, configs={"min.insync.replicas": "2"})
        for run in range(args.runs):
            ms, victim, controller = one_run(
                cluster, "failover", args.victim, args.client, args.spread,
                kill_after=1.0 + (rng.random() if args.phase == "random" else 0.0))
            times.append(ms)
            print(f"run {run}: killed node {victim} (active controller {controller}); first "
                  f"acks=all write acknowledged after {ms:,.0f} ms", flush=True)
    print(f"median {statistics.median(times):,.0f} ms over {len(times)} runs "
          f"(min {min(times):,.0f}, max {max(times):,.0f})")


if __name__ == "__main__":
    main()
