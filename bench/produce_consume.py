#!/usr/bin/env python3
"""Produce/consume throughput and end-to-end latency over loopback, with librdkafka
(confluent-kafka) as the load generator against:

  * pykafkacore: a kafkacore-server process (data on disk, Kafka's default flush policy), and
  * librdkafka's in-process mock broker (memory only): the "client + trivial broker" ceiling of
    this machine, measured in the same run.

100-byte records, one producer, acks=1. Prints a Markdown table (median of --runs runs).

Usage: bench/produce_consume.py --server build/bench/cpp/tools/kafkacore-server [--records N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import time

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

VALUE = b"x" * 100


def start_server(binary: str, data_dir: str) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [binary, "--port", "0", "--data-dir", data_dir, "--log-level", "warn"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    if not line.startswith("bootstrap.servers="):
        raise RuntimeError(f"server did not start: {line!r}")
    return proc, line.split("=", 1)[1]


def producer_config(bootstrap: str | None) -> dict[str, object]:
    config: dict[str, object] = {
        "acks": 1,
        "linger.ms": 5,
        "batch.num.messages": 10000,
        "queue.buffering.max.messages": 1000000,
        "enable.idempotence": False,
    }
    if bootstrap:
        config["bootstrap.servers"] = bootstrap
    else:
        config["test.mock.num.brokers"] = 1
    return config


def produce(config: dict[str, object], topic: str, records: int) -> tuple[float, Producer]:
    producer = Producer(config)
    producer.produce(topic, VALUE)  # warm-up: metadata and connection
    producer.flush(10)
    start = time.perf_counter()
    for _ in range(records):
        while True:
            try:
                producer.produce(topic, VALUE)
                break
            except BufferError:
                producer.poll(0.001)
    producer.flush(60)
    return records / (time.perf_counter() - start), producer


def consume(bootstrap: str, topic: str, records: int) -> float:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "bench",
                         "enable.auto.commit": False, "fetch.wait.max.ms": 10})
    consumer.assign([TopicPartition(topic, 0, 0)])
    got = 0
    start = time.perf_counter()
    while got < records:
        msgs = consumer.consume(10000, timeout=5)
        if not msgs:
            break
        got += sum(1 for m in msgs if not m.error())
    rate = got / (time.perf_counter() - start)
    consumer.close()
    return rate


def latency(bootstrap: str, topic: str, count: int, rate: int) -> tuple[float, float]:
    producer = Producer({"bootstrap.servers": bootstrap, "acks": 1, "linger.ms": 0})
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "lat",
                         "enable.auto.commit": False, "fetch.wait.max.ms": 100,
                         "fetch.min.bytes": 1})
    consumer.assign([TopicPartition(topic, 0, 0)])
    consumer.consume(1, timeout=1)
    samples = []
    interval = 1.0 / rate
    for i in range(count):
        sent = time.perf_counter()
        producer.produce(topic, str(sent).encode())
        producer.poll(0)
        msgs = consumer.consume(1, timeout=2)
        if msgs and not msgs[0].error():
            samples.append((time.perf_counter() - float(msgs[0].value())) * 1000)
        delay = interval - (time.perf_counter() - sent)
        if delay > 0:
            time.sleep(delay)
    producer.flush(5)
    consumer.close()
    samples.sort()
    return samples[len(samples) // 2], samples[int(len(samples) * 0.99) - 1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--server", required=True)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    ours_produce, ours_consume, mock_produce, p50s, p99s = [], [], [], [], []
    for run in range(args.runs):
        with tempfile.TemporaryDirectory(dir=os.environ.get("KAFKACORE_BENCH_DIR")) as data:
            proc, bootstrap = start_server(args.server, data)
            try:
                admin = AdminClient({"bootstrap.servers": bootstrap})
                for future in admin.create_topics(
                        [NewTopic("bench", 1, 1), NewTopic("latency", 1, 1)]).values():
                    future.result(10)
                rate, _ = produce(producer_config(bootstrap), "bench", args.records)
                ours_produce.append(rate)
                ours_consume.append(consume(bootstrap, "bench", args.records))
                p50, p99 = latency(bootstrap, "latency", 2000, 1000)
                p50s.append(p50)
                p99s.append(p99)
            finally:
                proc.terminate()
                proc.wait(30)
        rate, _ = produce(producer_config(None), "bench", args.records)
        mock_produce.append(rate)
        print(f"run {run + 1}: ours {ours_produce[-1]:,.0f}/s produce, "
              f"{ours_consume[-1]:,.0f}/s consume; mock {mock_produce[-1]:,.0f}/s", flush=True)

    med = statistics.median
    mb = lambda r: r * len(VALUE) / 1e6  # noqa: E731
    print()
    print("| 100 B records, 1 producer, acks=1 | pykafkacore | librdkafka mock (memory) | ratio |")
    print("|---|---|---|---|")
    print(f"| produce | {med(ours_produce):,.0f} rec/s ({mb(med(ours_produce)):.0f} MB/s) | "
          f"{med(mock_produce):,.0f} rec/s | {med(ours_produce) / med(mock_produce):.2f} |")
    print(f"| consume | {med(ours_consume):,.0f} rec/s ({mb(med(ours_consume)):.0f} MB/s) | | |")
    print(f"| end-to-end latency at 1000 rec/s | p50 {med(p50s):.2f} ms, p99 {med(p99s):.2f} ms | | |")
    print(f"\n(median of {args.runs} runs, {args.records:,} records each)")


if __name__ == "__main__":
    main()
