"""Python client throughput: pykafkacore's native Producer against confluent-kafka's, same
broker (one `pykafkacore serve` process), same record sizes, alternating runs; prints a Markdown
table of records/s (median) and their ratio.

    .venv/bin/python bench/client_throughput.py [--records N] [--runs R]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

import confluent_kafka

from pykafkacore import Producer
from pykafkacore._process import free_ports


def _ours(bootstrap: str, topic: str, n: int, size: int) -> float:
    payload = b"x" * size
    p = Producer(bootstrap, acks="1", linger_ms=5, batch_size=1 << 20)
    start = time.perf_counter()
    chunk = 10_000
    for i in range(0, n, chunk):
        p.send_many(topic, [payload] * min(chunk, n - i))
        p.poll(0)
    p.flush(120)
    elapsed = time.perf_counter() - start
    p.close()
    return n / elapsed


def _ours_single(bootstrap: str, topic: str, n: int, size: int) -> float:
    payload = b"x" * size
    p = Producer(bootstrap, acks="1", linger_ms=5, batch_size=1 << 20)
    start = time.perf_counter()
    send = p.send
    for i in range(n):
        send(topic, payload)
        if i % 10_000 == 0:
            p.poll(0)
    p.flush(120)
    elapsed = time.perf_counter() - start
    p.close()
    return n / elapsed


def _confluent(bootstrap: str, topic: str, n: int, size: int) -> float:
    payload = b"x" * size
    p = confluent_kafka.Producer({"bootstrap.servers": bootstrap, "acks": "1", "linger.ms": 5,
                                  "batch.size": 1 << 20, "queue.buffering.max.messages": 2_000_000})
    start = time.perf_counter()
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
    return n / (time.perf_counter() - start)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=300_000)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    port, cport = free_ports(2)
    with tempfile.TemporaryDirectory() as data:
        server = subprocess.Popen([sys.executable, "-m", "pykafkacore", "serve", "--port", str(port),
                                   "--data-dir", data, "--log-level", "warn"],
                                  stdout=subprocess.PIPE, text=True)
        try:
            while "ready" not in (server.stdout.readline() or "ready"):
                pass
            bootstrap = f"127.0.0.1:{port}"
            rows = []
            for size in (100, 1024):
                n = args.records if size == 100 else args.records // 4
                results: dict[str, list[float]] = {"ours (send_many)": [], "ours (send)": [],
                                                   "confluent-kafka": []}
                for _ in range(args.runs):
                    for name, fn in (("confluent-kafka", _confluent), ("ours (send_many)", _ours),
                                     ("ours (send)", _ours_single)):
                        results[name].append(fn(bootstrap, f"t-{uuid.uuid4().hex[:8]}", n, size))
                med = {k: statistics.median(v) for k, v in results.items()}
                rows.append((size, med))
            print("| record | pykafkacore send_many | pykafkacore send | confluent-kafka | "
                  "ratio send_many | ratio send |")
            print("|---|---|---|---|---|---|")
            for size, med in rows:
                c = med["confluent-kafka"]
                print(f"| {size} B | {med['ours (send_many)']:,.0f}/s | {med['ours (send)']:,.0f}/s | "
                      f"{c:,.0f}/s | {med['ours (send_many)'] / c:.2f}x | {med['ours (send)'] / c:.2f}x |")
        finally:
            server.terminate()
            server.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
