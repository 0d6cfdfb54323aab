#!/usr/bin/env python3
"""The load generators of the side-by-side benchmarks, the same for every broker:

* librdkafka through confluent-kafka. Each run is a fresh process (`loadgen.py produce|consume|
  latency ...`, one JSON line on stdout), so runs do not share a client and several producers are
  several processes. The producer hands librdkafka 10,000 records per `produce_batch` call, so
  Python costs well under a microsecond per record; with `--bootstrap mock` it produces to
  librdkafka's in-process mock broker (memory only) instead.
* librdkafka through its C API (bench/rdkafka_loadgen.cc, built against Debian's librdkafka-dev):
  `c_run` below. Without Python's per-record cost the client sets the pace, and what the broker
  leaves of the box's two cores shows.
* Apache Kafka's own ProducerPerformance / ConsumerPerformance (kafka-tools, run with java -cp
  from build/kafka-lib): `java_produce` and `java_consume` below.

Client settings are the same for every broker: no compression, no idempotence, linger.ms=5.
Producers and consumers report `cpu_s`, their own process's CPU time while the clock ran.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import struct
import subprocess
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import quiet_config  # noqa: E402

BATCH_BYTES = 4 << 20  # records handed to librdkafka per produce_batch call, at most


def _producer_config(bootstrap: str, acks: str, linger_ms: float) -> dict[str, object]:
    config: dict[str, object] = {
        "acks": acks,
        "linger.ms": linger_ms,
        "batch.num.messages": 10000,
        "queue.buffering.max.messages": 1000000,
        "enable.idempotence": False,
        "compression.type": "none",
        "message.timeout.ms": 120000,
        "delivery.report.only.error": True,
    }
    if bootstrap == "mock":
        config["test.mock.num.brokers"] = 1
    else:
        config["bootstrap.servers"] = bootstrap
    return quiet_config(config)


def produce(bootstrap: str, topic: str, records: int, size: int, acks: str = "1",
            partition: int | None = 0, linger_ms: float = 5) -> dict[str, float]:
    """Produces `records` records of `size` bytes as fast as librdkafka takes them; the clock runs
    from the first record handed over to the last acknowledgement."""
    from confluent_kafka import Producer

    failed: list[str] = []
    config = _producer_config(bootstrap, acks, linger_ms)
    config["on_delivery"] = lambda err, _msg: failed.append(str(err)) if err else None
    producer = Producer(config)
    value = b"x" * size
    extra = {} if partition is None else {"partition": partition}
    producer.produce(topic, value, **extra)  # metadata and connection before the clock starts
    producer.flush(60)
    per_call = max(1, min(10000, BATCH_BYTES // max(1, size), records))

    def fresh(n: int) -> list[dict[str, bytes]]:
        return [{"value": value} for _ in range(n)]

    batch = fresh(per_call)
    sent = 0
    cpu0 = time.process_time()
    start = time.perf_counter()
    while sent < records:
        want = min(per_call, records - sent)
        chunk = batch if want == per_call else batch[:want]
        n = producer.produce_batch(topic, chunk, **extra)
        sent += n
        if n < want:  # queue full: the rest were marked failed; let librdkafka drain a little
            batch = fresh(per_call)
            producer.poll(0.001)
        else:
            producer.poll(0)
    remaining = producer.flush(300)
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu0
    if remaining or failed:
        raise RuntimeError(f"{remaining} records unsent, {len(failed)} failed "
                           f"({failed[:1]})")
    return {"records": records, "seconds": elapsed, "rec_s": records / elapsed,
            "mb_s": records * size / elapsed / 1e6, "cpu_s": cpu}


def consume(bootstrap: str, topic: str, records: int, idle_timeout: float = 10.0) -> dict[str, float]:
    """Reads `records` records from the start of every partition of `topic` (assigned, no group
    membership); the clock runs from the first fetch to the last record."""
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

    consumer = Consumer(quiet_config({
        "bootstrap.servers": bootstrap, "group.id": f"bench-{uuid.uuid4().hex[:8]}",
        "enable.auto.commit": False, "enable.partition.eof": False,
        # The default, 1000 ms, idles the fetcher for a second whenever its local queue holds
        # queued.min.messages (100,000): that alone caps a consumer near 180 k rec/s.
        "fetch.queue.backoff.ms": 10,
    }))
    meta = consumer.list_topics(topic, timeout=10).topics[topic]
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in meta.partitions])
    got = size = 0
    cpu0 = time.process_time()
    start = time.perf_counter()
    last = start
    while got < records:
        msgs = consumer.consume(min(10000, records - got), timeout=0.5)
        now = time.perf_counter()
        if not msgs:
            if now - last > idle_timeout:
                break
            continue
        last = now
        for m in msgs:
            if m.error() is None:
                got += 1
                size += len(m.value())
    cpu = time.process_time() - cpu0
    elapsed = last - start
    consumer.close()
    if got < records:
        raise RuntimeError(f"consumed {got} of {records} records")
    return {"records": got, "seconds": elapsed, "rec_s": got / elapsed, "mb_s": size / elapsed / 1e6,
            "cpu_s": cpu}


def pace(bootstrap: str, topic: str, rate: float, seconds: float, size: int, acks: str) -> None:
    """Produces at a fixed rate, one record per request (linger.ms=0); each record carries its
    send time (CLOCK_MONOTONIC, shared by all processes)."""
    from confluent_kafka import Producer

    producer = Producer(_producer_config(bootstrap, acks, 0))
    pad = b"x" * max(0, size - 8)
    count = int(rate * seconds)
    start = time.monotonic()
    for i in range(count):
        due = start + i / rate
        while True:
            delay = due - time.monotonic()
            if delay <= 0:
                break
            time.sleep(delay if delay > 0.002 else 0)  # the last ~2 ms spin (sleep(0) yields)
        producer.produce(topic, struct.pack("<q", time.monotonic_ns()) + pad, partition=0)
        producer.poll(0)
    producer.flush(30)


def latency(bootstrap: str, topic: str, rate: float, seconds: float, size: int = 100,
            acks: str = "1", warmup: float = 0.5) -> dict[str, float]:
    """End-to-end latency (produce call to the record in the consumer's hands) at a fixed rate:
    a consumer here, a paced producer in another process (so neither waits on the other's GIL)."""
    from confluent_kafka import OFFSET_END, Consumer, TopicPartition

    consumer = Consumer(quiet_config({
        "bootstrap.servers": bootstrap, "group.id": f"lat-{uuid.uuid4().hex[:8]}",
        "enable.auto.commit": False, "fetch.wait.max.ms": 500, "fetch.min.bytes": 1,
    }))
    consumer.assign([TopicPartition(topic, 0, OFFSET_END)])
    consumer.consume(1, timeout=1.0)  # connection, offset lookup and the first long poll
    producer = subprocess.Popen([sys.executable, __file__, "pace", "--bootstrap", bootstrap,
                                 "--topic", topic, "--rate", str(rate), "--seconds", str(seconds),
                                 "--size", str(size), "--acks", acks])
    expected = int(rate * seconds)
    samples: list[int] = []
    got = 0
    first_send = None
    deadline = time.monotonic() + seconds + 30
    while got < expected and time.monotonic() < deadline:
        # poll() returns as soon as a record is there (consume(n, timeout) would wait for n or
        # the timeout); consume(n, 0) then drains what already arrived without blocking.
        first = consumer.poll(0.2)
        if first is None:
            continue
        for m in [first, *consumer.consume(1000, timeout=0)]:
            now = time.monotonic_ns()
            if m.error() is not None:
                continue
            sent = struct.unpack_from("<q", m.value())[0]
            first_send = first_send or sent
            got += 1
            if sent - first_send >= warmup * 1e9:
                samples.append(now - sent)
    producer.wait(60)
    consumer.close()
    if producer.returncode != 0 or got < expected:
        raise RuntimeError(f"latency run received {got} of {expected} records")
    samples.sort()

    def pct(q: float) -> float:
        return samples[min(len(samples) - 1, int(q * len(samples)))] / 1e6

    return {"samples": len(samples), "p50_ms": pct(0.50), "p99_ms": pct(0.99),
            "p999_ms": pct(0.999), "max_ms": samples[-1] / 1e6}


# --- Apache Kafka's own tools ------------------------------------------------------------------

_PRODUCER_LINE = re.compile(
    r"(\d+) (?:steady state )?records sent, ([\d.]+) records/sec .*?([\d.]+) ms avg latency, "
    r"([\d.]+) ms max latency, (\d+) ms 50th, (\d+) ms 95th, (\d+) ms 99th, (\d+) ms 99.9th")


def java_produce(bootstrap: str, topic: str, records: int, size: int, acks: str = "1",
                 warmup: int = 0, throughput: int = -1) -> dict[str, float]:
    """org.apache.kafka.tools.ProducerPerformance (kafka-producer-perf-test); with `warmup`, the
    steady-state figures (records after the first `warmup`, i.e. after the JIT warmed up)."""
    from kafka_peer import java

    args = ["--topic", topic, "--num-records", str(records), "--record-size", str(size),
            "--throughput", str(throughput), "--command-property", f"bootstrap.servers={bootstrap}",
            f"acks={acks}", "linger.ms=5", "batch.size=131072", "enable.idempotence=false",
            "compression.type=none"]
    if warmup:
        args += ["--warmup-records", str(warmup)]
    out = _run(java("org.apache.kafka.tools.ProducerPerformance", args))
    lines = [m for m in _PRODUCER_LINE.finditer(out)]
    if not lines:
        raise RuntimeError(f"ProducerPerformance printed no summary:\n{out[-2000:]}")
    m = lines[-1]  # the steady-state line comes last when there is one
    n, rate = int(m.group(1)), float(m.group(2))
    return {"records": n, "rec_s": rate, "mb_s": rate * size / 1e6, "p50_ms": float(m.group(5)),
            "p99_ms": float(m.group(7)), "p999_ms": float(m.group(8))}


def java_consume(bootstrap: str, topic: str, records: int) -> dict[str, float]:
    """org.apache.kafka.tools.ConsumerPerformance (kafka-consumer-perf-test): a group consumer;
    the fetch rate, which leaves out the time the group join took."""
    from kafka_peer import java

    out = _run(java("org.apache.kafka.tools.ConsumerPerformance",
                    ["--bootstrap-server", bootstrap, "--topic", topic, "--num-records",
                     str(records), "--timeout", "30000"]))
    lines = out.strip().splitlines()
    header = next((i for i, line in enumerate(lines) if line.startswith("start.time")), None)
    if header is None or header + 1 >= len(lines):
        raise RuntimeError(f"ConsumerPerformance printed no result:\n{out[-2000:]}")
    names = [x.strip() for x in lines[header].split(",")]
    values = dict(zip(names, (x.strip() for x in lines[header + 1].split(","))))
    got = int(values["data.consumed.in.nMsg"])
    if got < records:
        raise RuntimeError(f"ConsumerPerformance consumed {got} of {records} records")
    return {"records": got, "rec_s": float(values["fetch.nMsg.sec"]),
            "mb_s": float(values["fetch.MB.sec"]) * 1024 * 1024 / 1e6,
            "rebalance_ms": float(values["rebalance.time.ms"])}


def _run(cmd: list[str], timeout: float = 900) -> str:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[-8:])} exited with {proc.returncode}:\n"
                           f"{(proc.stdout + proc.stderr)[-2000:]}")
    return proc.stdout


# --- librdkafka's C API --------------------------------------------------------------------------

C_LOADGEN_ENV = "KAFKACORE_RDKAFKA_LOADGEN"


def c_loadgen() -> str | None:
    """bench/rdkafka_loadgen as built by `make bench` (build/bench) or `make test` (build/py), or
    the path in $KAFKACORE_RDKAFKA_LOADGEN; None when neither tree has it (no librdkafka-dev)."""
    root = Path(__file__).resolve().parents[1]
    for path in (os.environ.get(C_LOADGEN_ENV), root / "build" / "bench" / "bench" / "rdkafka_loadgen",
                 root / "build" / "py" / "bench" / "rdkafka_loadgen"):
        if path and Path(path).exists():
            return str(path)
    return None


def c_run(command: str, bootstrap: str, topic: str, records: int, size: int = 100,
          acks: str = "1", partition: int | None = 0) -> dict[str, float]:
    """`rdkafka_loadgen produce|consume ...` with loadgen.py's client settings; its JSON line."""
    binary = c_loadgen()
    if binary is None:
        raise RuntimeError("bench/rdkafka_loadgen is not built (Debian package librdkafka-dev)")
    args = [binary, command, bootstrap, topic, str(records)]
    if command == "produce":
        args += [str(size), acks, str(-1 if partition is None else partition)]
    return json.loads(_run(args).strip().splitlines()[-1])


# --- running the librdkafka generator in its own process ---------------------------------------

def spawn(command: str, **kwargs: object) -> subprocess.Popen:
    """Starts `loadgen.py COMMAND --key value ...` (its result is one JSON line on stdout)."""
    args = [sys.executable, __file__, command]
    for key, value in kwargs.items():
        if value is not None:
            args += [f"--{key.replace('_', '-')}", str(value)]
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def collect(proc: subprocess.Popen, timeout: float = 900) -> dict[str, float]:
    out, err = proc.communicate(timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"load generator failed: {err.strip()[-2000:]}")
    return json.loads(out.strip().splitlines()[-1])


def run(command: str, **kwargs: object) -> dict[str, float]:
    return collect(spawn(command, **kwargs))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("produce", "consume", "latency", "pace"):
        p = sub.add_parser(name)
        p.add_argument("--bootstrap", required=True, help="host:port,... or 'mock'")
        p.add_argument("--topic", required=True)
        if name in ("produce", "consume"):
            p.add_argument("--records", type=int, required=True)
        if name != "consume":
            p.add_argument("--size", type=int, default=100)
            p.add_argument("--acks", default="1")
        if name == "produce":
            p.add_argument("--partition", type=int, default=None,
                           help="one partition for every record (default: the partitioner)")
            p.add_argument("--linger-ms", type=float, default=5)
        if name in ("latency", "pace"):
            p.add_argument("--rate", type=float, default=2000)
            p.add_argument("--seconds", type=float, default=5)
    args = parser.parse_args()
    if args.command == "produce":
        result = produce(args.bootstrap, args.topic, args.records, args.size, args.acks,
                         args.partition, args.linger_ms)
    elif args.command == "consume":
        result = consume(args.bootstrap, args.topic, args.records)
    elif args.command == "latency":
        result = latency(args.bootstrap, args.topic, args.rate, args.seconds, args.size, args.acks)
    else:
        pace(args.bootstrap, args.topic, args.rate, args.seconds, args.size, args.acks)
        return 0
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
