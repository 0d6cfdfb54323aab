"""Python client throughput: pykafkacore's native Producer and Consumer against confluent-kafka's
(librdkafka), same broker (one `pykafkacore serve` process), same record sizes, alternating runs;
prints Markdown tables of records/s (median of the runs) and the ratio to confluent-kafka.

    .venv/bin/python bench/client_throughput.py [--records N] [--runs R] [--out results.json]

Producers send N records of 100 B (N/4 of 1 KiB) with acks=1, linger.ms=5 and 1 MiB batches
to a topic created beforehand, and each producer learns the topic's metadata before the clock
starts, so the rates are steady-state throughput, not topic creation; consumers read a topic pre-filled with N records from offset 0 of its one partition, without a
group, and touch every value (len) so lazily built records are paid for. A consumer's clock
starts at its first record (connection set-up is not throughput), and both take records in
lists of 500 (our max.poll.records; confluent-kafka's consume(500)).

Every measurement runs in a fresh interpreter: garbage-collector state left by earlier runs
(Python's full collections walk every live object) made the same client's rate swing by up to
5x depending on what ran before it in the same process.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import confluent_kafka

from pykafkacore import AdminClient, Consumer, NewTopic, Producer

from common import serve_one_broker, write_results

SIZES = (100, 1024)
PRODUCER_CONFIG = {"acks": "1", "linger.ms": 5, "batch.size": 1 << 20}


def _timed(run: Callable[[], None], n: int) -> float:
    start = time.perf_counter()
    run()
    return n / (time.perf_counter() - start)


def produce_ours_many(bootstrap: str, topic: str, n: int, size: int) -> float:
    payload = b"x" * size
    p = Producer(bootstrap, config=PRODUCER_CONFIG)
    p.partitions_for(topic)

    def run() -> None:
        chunk = 10_000
        for i in range(0, n, chunk):
            p.send_many(topic, [payload] * min(chunk, n - i))
            p.poll(0)
        p.flush(120)

    rate = _timed(run, n)
    p.close()
    return rate


def produce_ours_send(bootstrap: str, topic: str, n: int, size: int) -> float:
    payload = b"x" * size
    p = Producer(bootstrap, config=PRODUCER_CONFIG)
    p.partitions_for(topic)

    def run() -> None:
        send = p.send
        for i in range(n):
            send(topic, payload)
            if i % 10_000 == 0:
                p.poll(0)
        p.flush(120)

    rate = _timed(run, n)
    p.close()
    return rate


def produce_confluent(bootstrap: str, topic: str, n: int, size: int) -> float:
    payload = b"x" * size
    p = confluent_kafka.Producer({"bootstrap.servers": bootstrap, **PRODUCER_CONFIG,
                                  "queue.buffering.max.messages": 2_000_000})
    p.list_topics(topic, timeout=30)

    def run() -> None:
        produce = p.produce
        for i in range(n):
            while True:
                try:
                    produce(topic, payload)
                    break
                except BufferError:
                    p.poll(0.001)
            if i % 10_000 == 0:
                p.poll(0)
        p.flush(120)

    return _timed(run, n)


def consume_ours(bootstrap: str, topic: str, n: int) -> float:
    c = Consumer(bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    c.assign([(topic, 0)])

    first = c.poll(30.0)
    start = time.perf_counter()
    seen = len(first)
    for record in first:
        len(record.value)
    while seen < n:
        for record in c.poll(5.0):
            seen += 1
            len(record.value)
    rate = (n - len(first)) / (time.perf_counter() - start)
    c.close()
    return rate


def consume_confluent(bootstrap: str, topic: str, n: int) -> float:
    # fetch.queue.backoff.ms: librdkafka (2.1+) stops fetching for 1 s (the default) once its
    # prefetch queue passes queued.min.messages; draining a pre-filled topic then stalls for
    # most of a second in 2 of 3 runs, which measured librdkafka's back-off, not its speed.
    c = confluent_kafka.Consumer({"bootstrap.servers": bootstrap, "group.id": "unused",
                                  "enable.auto.commit": False, "auto.offset.reset": "earliest",
                                  "fetch.queue.backoff.ms": 10})
    c.assign([confluent_kafka.TopicPartition(topic, 0, 0)])

    first: list = []
    while not first:
        first = [m for m in c.consume(500, 30.0) if m.error() is None]
    start = time.perf_counter()
    seen = len(first)
    for m in first:
        len(m.value())
    while seen < n:
        for m in c.consume(min(500, n - seen), 5.0):
            if m.error() is None:
                seen += 1
                len(m.value())
    rate = (n - len(first)) / (time.perf_counter() - start)
    c.close()
    return rate


def _fresh_topic(admin: AdminClient) -> str:
    name = f"t-{uuid.uuid4().hex[:8]}"
    admin.create_topics([NewTopic(name, 1)])
    return name


CLIENTS = {f.__name__: f for f in (produce_ours_many, produce_ours_send, produce_confluent,
                                    consume_ours, consume_confluent)}


def _fresh(fn: Callable, *args: object) -> float:
    """fn(*args) in a new interpreter (see the module docstring); returns its rate."""
    out = subprocess.run([sys.executable, __file__, "--one", fn.__name__, *map(str, args)],
                         check=True, capture_output=True, text=True, timeout=600)
    return float(out.stdout.strip().splitlines()[-1])


def _rotated(clients: dict[str, Callable], run: int) -> list[tuple[str, Callable]]:
    """Each run starts with another client: the broker's page cache and the box's state drift
    during a run, and whoever always went first would always get the fresher machine."""
    items = list(clients.items())
    k = run % len(items)
    return items[k:] + items[:k]


def measure(bootstrap: str, records: int, runs: int) -> list[dict]:
    admin = AdminClient(bootstrap)
    rows = []
    for size in SIZES:
        n = records if size == 100 else records // 4
        producers = {"confluent-kafka": produce_confluent, "pykafkacore send_many": produce_ours_many,
                     "pykafkacore send": produce_ours_send}
        rates: dict[str, list[float]] = {name: [] for name in producers}
        for run in range(runs):
            for name, fn in _rotated(producers, run):
                rates[name].append(_fresh(fn, bootstrap, _fresh_topic(admin), n, size))
        rows.append({"client": "producer", "record_bytes": size, "records": n,
                     "rates": {k: statistics.median(v) for k, v in rates.items()}})

        topic = _fresh_topic(admin)
        produce_confluent(bootstrap, topic, n, size)
        consumers = {"confluent-kafka": consume_confluent, "pykafkacore poll": consume_ours}
        rates = {name: [] for name in consumers}
        for run in range(runs):
            for name, fn in _rotated(consumers, run):
                rates[name].append(_fresh(fn, bootstrap, topic, n))
        rows.append({"client": "consumer", "record_bytes": size, "records": n,
                     "rates": {k: statistics.median(v) for k, v in rates.items()}})
    admin.close()
    return rows


def print_table(rows: list[dict]) -> None:
    print("| client | record | pykafkacore | records/s | confluent-kafka records/s | ratio |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        theirs = row["rates"]["confluent-kafka"]
        for name, rate in row["rates"].items():
            if name == "confluent-kafka":
                continue
            print(f"| {row['client']} | {row['record_bytes']} B | {name.split(' ', 1)[1]} | "
                  f"{rate:,.0f} | {theirs:,.0f} | {rate / theirs:.2f}x |")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--records", type=int, default=300_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--out", type=Path, help="also write the results as JSON here")
    ap.add_argument("--one", nargs="+", metavar=("CLIENT", "ARG"),
                    help="internal: run one measurement and print its rate")
    args = ap.parse_args()
    if args.one:
        name, bootstrap, topic, *numbers = args.one
        print(CLIENTS[name](bootstrap, topic, *map(int, numbers)))
        return 0
    with serve_one_broker() as bootstrap:
        rows = measure(bootstrap, args.records, args.runs)
    print_table(rows)
    write_results(args.out, args.records, args.runs, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
