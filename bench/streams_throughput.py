"""Streams throughput: the same two pipelines as a pykafkacore StreamsApp and as a plain Python
loop over confluent-kafka (librdkafka) on the same broker (one `pykafkacore serve` process),
alternating runs; prints a Markdown table of input records/s (median) and the ratio.

    .venv/bin/python bench/streams_throughput.py [--records N] [--runs R] [--out results.json]

Input: N records of about 100 B (str keys from 1,000 users, str values, increasing event
times) in one partition. Pipelines, each from group join to everything processed, flushed and
committed:
  stateless  map_values(str.upper) -> filter (keeps 90%) -> to(out); Python callables per record
  windowed   group_by_key -> 60 s tumbling windows -> count -> to(out), one update per record;
             ours runs natively (no Python per record) and also writes the store's changelog,
             the loop keeps a dict that a crash would lose.
Both sides: acks=all, idempotent producer, linger.ms=10, commits every second.
"""

from __future__ import annotations

import argparse
import statistics
import struct
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import confluent_kafka

from pykafkacore import AdminClient, NewTopic, Producer, StreamsApp, TimeWindows

from common import serve_one_broker, write_results

WINDOW_MS = 60_000
CLIENT = {"acks": "all", "enable.idempotence": True, "linger.ms": 10}


def fill(bootstrap: str, topic: str, n: int) -> None:
    _create(bootstrap, topic)
    p = Producer(bootstrap, config={"linger.ms": 5, "batch.size": 1 << 20})
    base = int(time.time() * 1000) - n * 10
    pad = "p" * 80
    for i in range(n):
        p.send(topic, f"{i:08d},{pad}".encode(), key=f"user-{i % 1000}".encode(),
               timestamp=base + i * 10)
        if i % 10_000 == 0:
            p.poll(0)
    p.flush(120)
    p.close()


def _fresh(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _create(bootstrap: str, topic: str) -> None:
    admin = AdminClient(bootstrap)
    admin.create_topics(NewTopic(topic, num_partitions=1))
    admin.close()


def _run_app(app: StreamsApp, n: int) -> float:
    start = time.perf_counter()
    app.start()
    try:
        if not app.wait_until_idle(600):
            raise RuntimeError(f"streams app not idle: {app.state}")
        elapsed = time.perf_counter() - start
        processed = app.metrics()["records_processed"]
        if processed < n:
            raise RuntimeError(f"processed {processed} of {n}")
    finally:
        app.stop()
    return n / elapsed


def ours_stateless(bootstrap: str, topic: str, n: int) -> float:
    out = _fresh("out")
    _create(bootstrap, out)
    app = StreamsApp(_fresh("bench-stateless"), bootstrap, default_key_serde="str",
                     default_value_serde="str", config={f"producer.{k}": str(v).lower()
                                                        for k, v in CLIENT.items()})
    app.stream(topic).map_values(str.upper).filter(lambda k, v: v[7] != "0").to(out)
    return _run_app(app, n)


def ours_windowed(bootstrap: str, topic: str, n: int) -> float:
    out = _fresh("out")
    _create(bootstrap, out)
    app = StreamsApp(_fresh("bench-windowed"), bootstrap, default_key_serde="str",
                     default_value_serde="str", config={f"producer.{k}": str(v).lower()
                                                        for k, v in CLIENT.items()})
    (app.stream(topic).group_by_key().windowed_by(TimeWindows(WINDOW_MS / 1000)).count()
        .to_stream().to(out, value_serde="int64"))
    return _run_app(app, n)


def _loop(bootstrap: str, topic: str, n: int,
          handle: Callable[[confluent_kafka.Message, confluent_kafka.Producer, str], None]) -> float:
    """A consume-transform-produce loop as one would write it with confluent-kafka: flush the
    producer, then commit, once a second (the same at-least-once order the app uses)."""
    out = _fresh("out")
    _create(bootstrap, out)
    # fetch.queue.backoff.ms: librdkafka's default (1000) idles its fetcher for a second each
    # time 100 k records are queued, which would cap the loop, not measure it.
    c = confluent_kafka.Consumer({"bootstrap.servers": bootstrap, "group.id": _fresh("loop"),
                                  "auto.offset.reset": "earliest", "enable.auto.commit": False,
                                  "fetch.queue.backoff.ms": 10})
    p = confluent_kafka.Producer({"bootstrap.servers": bootstrap, **CLIENT})
    start = time.perf_counter()
    c.subscribe([topic])
    done = 0
    last_commit = time.monotonic()
    while done < n:
        for m in c.consume(1000, 0.5):
            if m.error():
                raise RuntimeError(m.error())
            handle(m, p, out)
            done += 1
        p.poll(0)
        if time.monotonic() - last_commit >= 1.0:
            p.flush(60)
            _commit(c)
            last_commit = time.monotonic()
    p.flush(60)
    _commit(c)
    elapsed = time.perf_counter() - start
    c.close()
    return n / elapsed


def _commit(c: confluent_kafka.Consumer) -> None:
    try:
        c.commit(asynchronous=False)
    except confluent_kafka.KafkaException as e:
        if e.args[0].code() != confluent_kafka.KafkaError._NO_OFFSET:  # nothing new since
            raise


def loop_stateless(bootstrap: str, topic: str, n: int) -> float:
    def handle(m: confluent_kafka.Message, p: confluent_kafka.Producer, out: str) -> None:
        key = m.key().decode()
        value = m.value().decode().upper()
        if value[7] != "0":
            p.produce(out, value.encode(), key.encode())

    return _loop(bootstrap, topic, n, handle)


def loop_windowed(bootstrap: str, topic: str, n: int) -> float:
    counts: dict[tuple[str, int], int] = {}
    pack = struct.Struct(">q").pack

    def handle(m: confluent_kafka.Message, p: confluent_kafka.Producer, out: str) -> None:
        key = m.key().decode()
        ts = m.timestamp()[1]
        start = ts - ts % WINDOW_MS
        k = (key, start)
        counts[k] = counts.get(k, 0) + 1
        p.produce(out, pack(counts[k]), key.encode() + pack(start))

    return _loop(bootstrap, topic, n, handle)


PIPELINES = {
    "stateless map_values → filter → to (Python callables)": (ours_stateless, loop_stateless),
    "windowed count, 60 s tumbling (native)": (ours_windowed, loop_windowed),
}


def measure(bootstrap: str, records: int, runs: int) -> list[dict]:
    topic = _fresh("in")
    fill(bootstrap, topic, records)
    rows = []
    for name, (ours, theirs) in PIPELINES.items():
        rates: dict[str, list[float]] = {"pykafkacore": [], "confluent-kafka": []}
        for run in range(runs):
            order = [("pykafkacore", ours), ("confluent-kafka", theirs)]
            for label, fn in order if run % 2 == 0 else reversed(order):
                rates[label].append(fn(bootstrap, topic, records))
        rows.append({"pipeline": name, "records": records,
                     "rates": {k: statistics.median(v) for k, v in rates.items()},
                     "runs": rates})
    return rows


def print_table(rows: list[dict]) -> None:
    print("| pipeline | pykafkacore Streams rec/s | confluent-kafka loop rec/s | ratio |")
    print("|---|---|---|---|")
    for row in rows:
        ours, theirs = row["rates"]["pykafkacore"], row["rates"]["confluent-kafka"]
        print(f"| {row['pipeline']} | {ours:,.0f} | {theirs:,.0f} | {ours / theirs:.2f}x |")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--records", type=int, default=200_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--out", type=Path, help="also write the results as JSON here")
    args = ap.parse_args()
    # Both sides join a fresh group per run: no 3 s join delay.
    with serve_one_broker("group.initial.rebalance.delay.ms=0") as bootstrap:
        rows = measure(bootstrap, args.records, args.runs)
    print_table(rows)
    write_results(args.out, args.records, args.runs, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
