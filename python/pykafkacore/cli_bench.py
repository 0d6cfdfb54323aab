"""``pykafkacore bench produce|consume``: throughput (and produce latency) of pykafkacore's own
clients against a cluster, or against a temporary in-process one (--inprocess-brokers)."""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .cli_common import CliError, UsageError, admin_client, client_config, timeout
from .cli_output import Progress, info, print_json, table
from .errors import KafkaError, UnknownTopicOrPartitionError
from .records import TopicPartition

_CHUNK = 500  # records per send_many: latency is measured per chunk, so keep it small
_MB = 1024 * 1024  # as Kafka's perf tools count MB/s


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text!r}")
    return value


@contextmanager
def _target(args: argparse.Namespace) -> Iterator[None]:
    """Points args at a temporary in-process cluster for --inprocess-brokers."""
    if not args.inprocess_brokers:
        yield
        return
    if "bootstrap_servers" in vars(args):
        raise UsageError("--inprocess-brokers starts its own cluster; drop -b")
    from .cluster import Cluster

    with Cluster(args.inprocess_brokers) as cluster:
        args.bootstrap_servers = cluster.bootstrap_servers
        yield


def _partitions(args: argparse.Namespace) -> list[TopicPartition]:
    """The topic's partitions, creating it (--partitions, the broker's replication factor)
    when missing."""
    from .admin import NewTopic

    with admin_client(args, only_admin_keys=True) as admin:
        try:
            topic = admin.describe_topics([args.topic], timeout=timeout(args))[args.topic]
        except UnknownTopicOrPartitionError:
            admin.create_topics([NewTopic(args.topic, args.partitions)], timeout=timeout(args))
            topic = admin.describe_topics([args.topic], timeout=timeout(args))[args.topic]
    return [TopicPartition(args.topic, p.partition) for p in topic.partitions]


def _producer(args: argparse.Namespace) -> Any:
    from .producer import Producer

    defaults: dict[str, Any] = {}
    for key, value in (("acks", args.acks), ("batch.size", args.batch_size),
                       ("linger.ms", args.linger_ms), ("compression.type", args.compression)):
        if value is not None:
            defaults[key] = value
    return Producer(config=client_config(args, defaults))


def _percentile(samples: list[tuple[float, int]], q: float) -> float:
    """The q-quantile of latencies given as (latency, how many records had it)."""
    ordered = sorted(samples)
    total = sum(n for _, n in ordered)
    seen = 0
    for latency, n in ordered:
        seen += n
        if seen >= q * total:
            return latency
    return ordered[-1][0]


def _error_of(batch: Any) -> KafkaError | None:
    try:
        batch.result(0)
    except KafkaError as e:
        return e
    return None


def _produce(args: argparse.Namespace, count: int, label: str) -> dict[str, Any]:
    # Distinct random payloads, so compression and the broker see realistic data.
    pool = [os.urandom(args.record_size) for _ in range(min(64, count))]
    values = [pool[i % len(pool)] for i in range(min(_CHUNK, count))]
    producer = _producer(args)
    progress = Progress(label, count)
    try:
        producer.partitions_for(args.topic, timeout(args))  # metadata outside the timing
        pending: list[tuple[float, Any]] = []
        samples: list[tuple[float, int]] = []
        sent = acked = failed = 0
        first_error: KafkaError | None = None
        start = time.perf_counter()

        def reap() -> None:
            nonlocal acked, failed, first_error
            now = time.perf_counter()
            still = []
            for sent_at, batch in pending:
                if batch.done():
                    samples.append((now - sent_at, len(batch)))
                    acked += len(batch)
                    if batch.failed:
                        failed += batch.failed
                        first_error = first_error or _error_of(batch)
                else:
                    still.append((sent_at, batch))
            pending[:] = still

        while sent < count:
            n = min(_CHUNK, count - sent)
            pending.append((time.perf_counter(), producer.send_many(args.topic, values[:n])))
            sent += n
            producer.poll(0)
            reap()
            progress.update(acked)
        while pending:
            producer.poll(0.01)
            reap()
            progress.update(acked)
        elapsed = time.perf_counter() - start
    finally:
        progress.close()
        producer.close(0)
    if failed and first_error is not None:
        raise CliError(f"{failed} of {count} records not delivered: "
                       f"{first_error.message or first_error.name}", first_error.name)
    return {"records": count, "elapsed": elapsed, "bytes": count * args.record_size,
            "samples": samples}


def _consume(args: argparse.Namespace, tps: list[TopicPartition]) -> dict[str, Any]:
    from .consumer import Consumer

    consumer = Consumer(config=client_config(args, {"allow.auto.create.topics": "false",
                                                    "auto.offset.reset": "earliest"}))
    progress = Progress("consume", args.records)
    try:
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        got = size = 0
        start = last = time.perf_counter()
        while got < args.records:
            records = consumer.poll(0.5, max_records=args.records - got)
            now = time.perf_counter()
            if records:
                last = now
            elif now - last > timeout(args):
                raise CliError(f"no records for {timeout(args):g} s after {got} of "
                               f"{args.records}", "REQUEST_TIMED_OUT")
            got += len(records)
            size += sum(len(r.value or b"") + len(r.key or b"") for r in records)
            progress.update(got)
        elapsed = time.perf_counter() - start
    finally:
        progress.close()
        consumer.close(timeout(args))
    return {"records": got, "elapsed": elapsed, "bytes": size, "samples": []}


def _available(args: argparse.Namespace, tps: list[TopicPartition]) -> int:
    with admin_client(args, only_admin_keys=True) as admin:
        low = admin.list_offsets(tps, spec="earliest", timeout=timeout(args))
        high = admin.list_offsets(tps, spec="latest", timeout=timeout(args))
    return sum(high[tp].offset - low[tp].offset for tp in tps)


def _report(args: argparse.Namespace, result: dict[str, Any]) -> None:
    elapsed = max(result["elapsed"], 1e-9)
    rate = result["records"] / elapsed
    mb = result["bytes"] / _MB / elapsed
    # Consumed records are whatever the topic holds: report their real (key + value) size.
    size = round(result["bytes"] / max(1, result["records"]))
    latency = None
    if result["samples"]:
        latency = {"p50": _percentile(result["samples"], 0.5) * 1000,
                   "p99": _percentile(result["samples"], 0.99) * 1000}
    if args.json:
        print_json({"mode": args.mode, "topic": args.topic, "records": result["records"],
                    "record_size": size, "elapsed_s": round(elapsed, 6),
                    "records_per_s": round(rate, 1), "mb_per_s": round(mb, 3),
                    "latency_ms": latency and {k: round(v, 3) for k, v in latency.items()}})
        return
    rows = [("mode", args.mode), ("records", f"{result['records']:,}"),
            ("record size", f"{size} B" + (" (average)" if args.mode == "consume" else "")),
            ("elapsed", f"{elapsed:.3f} s"),
            ("records/s", f"{rate:,.0f}"), ("MB/s", f"{mb:,.2f}")]
    if latency:
        rows += [("latency p50", f"{latency['p50']:.2f} ms"),
                 ("latency p99", f"{latency['p99']:.2f} ms")]
    table(["METRIC", "VALUE"], rows)


def run(args: argparse.Namespace) -> int:
    with _target(args):
        tps = _partitions(args)
        if args.mode == "produce":
            result = _produce(args, args.records, "produce")
        else:
            missing = args.records - _available(args, tps)
            if missing > 0:
                info(f"Producing {missing} records into {args.topic} first (not timed).")
                _produce(args, missing, "prefill")
            result = _consume(args, tps)
    _report(args, result)
    return 0


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    bench = sub.add_parser(
        "bench", help="measure produce or consume throughput",
        description="Measure the throughput of pykafkacore's clients.")
    modes = bench.add_subparsers(dest="mode", required=True, metavar="MODE")
    for mode, text in (("produce", "send --records records; records/s, MB/s, latency "
                                   "p50/p99 (send to delivery report, per chunk of "
                                   f"{_CHUNK} records)"),
                       ("consume", "read --records records from the beginning (producing "
                                   "them first, untimed, if the topic holds fewer); "
                                   "records/s, MB/s")):
        p = modes.add_parser(mode, parents=[common], help=text.split(";")[0],
                             description=text[0].upper() + text[1:] + ".",
                             epilog="example: pykafkacore bench produce --inprocess-brokers 1 "
                                    "--records 200000 --record-size 512")
        p.add_argument("--topic", default="pykafkacore-bench",
                       help="topic to use, created if missing (default: pykafkacore-bench)")
        p.add_argument("--records", type=_positive, default=100_000, metavar="N",
                       help="number of records (default: 100000)")
        p.add_argument("--record-size", type=int, default=100, metavar="BYTES",
                       help="value size in bytes (default: 100)")
        p.add_argument("--partitions", type=_positive, default=1, metavar="N",
                       help="partitions of the topic when it is created (default: 1)")
        p.add_argument("--acks", choices=["0", "1", "all", "-1"], help="producer acks")
        p.add_argument("--batch-size", type=int, metavar="BYTES", help="producer batch.size")
        p.add_argument("--linger-ms", type=int, metavar="MS", help="producer linger.ms")
        p.add_argument("--compression", choices=["none", "gzip", "snappy", "lz4", "zstd"],
                       help="producer compression.type")
        p.add_argument("--inprocess-brokers", type=_positive, metavar="N",
                       help="bench against a temporary in-process cluster of N brokers "
                            "instead of -b")
        p.add_argument("--json", action="store_true", help="machine-readable output")
        p.set_defaults(func=run)
