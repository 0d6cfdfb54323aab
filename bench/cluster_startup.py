"""Start-up and teardown of a pykafkacore.Cluster, as a test suite sees them.

    .venv/bin/python bench/cluster_startup.py [--brokers 3] [--runs 10] [--mode inprocess]

Start-up: from Cluster(...).start() until every broker serves and a topic with replication
factor min(3, brokers) has a leader for every partition on every broker (create_topic returns).
Teardown: close() until every broker stopped cleanly and the temporary directory is gone.
Prints the median of --runs runs (after one warm-up run) and the spread.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

from pykafkacore import Cluster
from pykafkacore._core import set_log_level


def one_run(brokers: int, mode: str, partitions: int) -> tuple[float, float, float]:
    t0 = time.perf_counter()
    cluster = Cluster(brokers, mode=mode)  # type: ignore[arg-type]
    cluster.start()
    t1 = time.perf_counter()
    cluster.create_topic("bench", partitions=partitions)
    t2 = time.perf_counter()
    cluster.close()
    t3 = time.perf_counter()
    return t1 - t0, t2 - t0, t3 - t2


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--brokers", type=int, default=3)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--partitions", type=int, default=1)
    parser.add_argument("--mode", default="inprocess", choices=["inprocess", "process"])
    args = parser.parse_args()
    set_log_level("warn")
    one_run(args.brokers, args.mode, args.partitions)  # warm-up: page cache, lazy imports
    runs = [one_run(args.brokers, args.mode, args.partitions) for _ in range(args.runs)]

    def show(label: str, values: list[float]) -> None:
        ms = sorted(v * 1000 for v in values)
        print(f"{label:<34} median {statistics.median(ms):7.1f} ms   "
              f"(min {ms[0]:.1f}, max {ms[-1]:.1f})")

    print(f"{args.brokers}-broker {args.mode} cluster, RF={min(3, args.brokers)} topic with "
          f"{args.partitions} partition(s), {args.runs} runs")
    show("start (brokers serving)", [r[0] for r in runs])
    show("start-up incl. ready topic", [r[1] for r in runs])
    show("teardown", [r[2] for r in runs])
    return 0


if __name__ == "__main__":
    sys.exit(main())
