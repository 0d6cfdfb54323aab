"""Fault injection: kill a partition's leader and check that no acknowledged record is lost.

    .venv/bin/python examples/kill_a_leader.py                   # brokers on threads of this process
    .venv/bin/python examples/kill_a_leader.py --mode process    # one process per broker: SIGKILL

It needs a cluster it controls (`cluster.kill`), so it always starts its own three brokers.
The topic has three replicas and min.insync.replicas=2, and the producer uses acks=all: a record
is acknowledged only once every in-sync replica has it, so whichever replica becomes the new
leader has it too.
"""

from __future__ import annotations

import argparse
import time

from pykafkacore import Cluster, Consumer, Producer
from pykafkacore import set_log_level

TOPIC = "payments"


def produce(producer: Producer, start: int, count: int) -> None:
    futures = [producer.send(TOPIC, str(i).encode(), partition=0)
               for i in range(start, start + count)]
    producer.flush(60)
    for future in futures:
        future.result()  # raises if a record was not acknowledged


def wait_until(condition, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting until {what}")
        time.sleep(0.02)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=["inprocess", "process"], default="inprocess",
                        help="brokers on threads of this process, or one OS process each")
    args = parser.parse_args()

    set_log_level("error")  # a killed broker makes the others log connection warnings
    with Cluster(brokers=3, mode=args.mode) as cluster:
        cluster.create_topic(TOPIC, partitions=1, replication_factor=3,
                             configs={"min.insync.replicas": 2})
        print(f"{args.mode} cluster of 3 brokers; {TOPIC}: {cluster.topic(TOPIC)[0]}")

        producer = Producer(cluster, acks="all")
        produce(producer, 0, 500)
        print("500 records acknowledged")

        leader = cluster.topic(TOPIC)[0].leader
        killed_at = time.monotonic()
        cluster.kill(leader)
        print(f"killed broker {leader}, the partition's leader")

        # These wait in the producer until the controller has moved the leadership (the dead
        # broker's session expires after broker.session.timeout.ms, 1 s in a test cluster) and
        # the producer has found the new leader; then they are retried there.
        produce(producer, 500, 500)
        new_leader = cluster.topic(TOPIC)[0].leader
        print(f"500 more records acknowledged {time.monotonic() - killed_at:.1f} s after the "
              f"kill; broker {new_leader} leads now, ISR {cluster.topic(TOPIC)[0].isr}")
        producer.close()

        cluster.restart(leader)
        wait_until(lambda: len(cluster.topic(TOPIC)[0].isr) == 3,
                   f"broker {leader} is back in the ISR")
        print(f"restarted broker {leader}: it caught up and is back in the ISR "
              f"{cluster.topic(TOPIC)[0].isr}")

        with Consumer(bootstrap_servers=cluster, auto_offset_reset="earliest") as consumer:
            consumer.assign([(TOPIC, 0)])
            values: list[int] = []
            deadline = time.monotonic() + 30
            while len(values) < 1000 and time.monotonic() < deadline:
                values += [int(r.value) for r in consumer.poll(timeout=1.0)]
        if values != list(range(1000)):
            raise SystemExit(f"expected records 0..999 in order, read {len(values)} records")
        print("read back all 1000 acknowledged records, in order, none duplicated")


if __name__ == "__main__":
    main()
