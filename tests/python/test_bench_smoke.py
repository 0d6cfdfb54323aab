"""The side-by-side benchmark harness (bench/compare.py) itself, so it cannot rot: one tiny
scenario against pykafkacore only (no Java, no Apache Kafka), then the table from its JSON file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def server() -> str:
    # The tree `make test` builds; build/bench may be older than the sources.
    binary = ROOT / "build" / "py" / "cpp" / "tools" / "kafkacore-server"
    return str(binary) if binary.exists() else "python"


def test_compare_smoke(tmp_path: Path) -> None:
    out = tmp_path / "compare.json"
    env = {**os.environ, "KAFKACORE_BENCH_DIR": str(tmp_path / "data")}
    # The C load generator of the same tree, not an older build/bench one.
    c_loadgen = ROOT / "build" / "py" / "bench" / "rdkafka_loadgen"
    if c_loadgen.exists():
        env["KAFKACORE_RDKAFKA_LOADGEN"] = str(c_loadgen)
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "compare.py"), "--profile", "smoke",
         "--systems", "pykafkacore,mock", "--scenarios", "1,5,8,10", "--generators", "librdkafka,c",
         "--rounds3", "1", "--server", server(), "--out", str(out)],
        capture_output=True, text=True, timeout=60, env=env, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]

    data = json.loads(out.read_text())
    results = data["results"]
    assert not results["errors"], results["errors"]
    assert results["values"]["1.rdkafka"]["pykafkacore"][0] > 0
    assert results["values"]["1.rdkafka"]["mock"][0] > 0
    # librdkafka's C API generator (bench/rdkafka_loadgen, built with the tests).
    assert results["values"]["1.c"]["pykafkacore"][0] > 0
    assert results["values"]["1.c"]["mock"][0] > 0
    assert results["values"]["5.c"]["pykafkacore"][0] > 0
    assert results["values"]["5.rdkafka"]["pykafkacore"][0] > 0
    assert 0 < results["values"]["1.gencpu"]["pykafkacore"][0] < 100
    assert 0 < results["values"]["1.c.gencpu"]["pykafkacore"][0] < 100
    assert 0 < results["values"]["8.start"]["pykafkacore"][0] < 10_000
    assert results["values"]["9.load"]["pykafkacore"][0] > 0
    # Scenario 10 runs three replicated nodes (Kafka's default 9 s broker session bounds it).
    assert 0 < results["values"]["10.failover"]["pykafkacore"][0] < 60_000
    assert 0 < results["values"]["10.fast"]["pykafkacore"][0] < 60_000
    assert len(results["ceilings"]) == 1 and results["ceilings"][0]["loopback_mb_s"] > 0

    lines = proc.stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("| # | scenario"))
    row = next(line for line in lines[header:] if line.startswith("| 1 | 1 producer, 100 B"))
    assert "k rec/s" in row.split("|")[4]  # the pykafkacore column

    again = subprocess.run([sys.executable, str(ROOT / "bench" / "compare.py"), "--table",
                            str(out)], capture_output=True, text=True, timeout=30, cwd=ROOT)
    assert again.returncode == 0, again.stderr
    assert row in again.stdout.splitlines()


def test_client_throughput_smoke(kafka_broker) -> None:
    """bench/client_throughput.py's measurements and table, tiny, against an in-process broker."""
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import client_throughput
    finally:
        sys.path.remove(str(ROOT / "bench"))
    rows = client_throughput.measure(kafka_broker.bootstrap_servers, records=4000, runs=1)
    assert [(r["client"], r["record_bytes"]) for r in rows] == [
        ("producer", 100), ("consumer", 100), ("producer", 1024), ("consumer", 1024)]
    for row in rows:
        assert set(row["rates"]) >= {"confluent-kafka"} and len(row["rates"]) >= 2
        assert all(rate > 0 for rate in row["rates"].values()), row


def test_streams_throughput_smoke(kafka_broker) -> None:
    """bench/streams_throughput.py's pipelines and table, tiny, against an in-process broker."""
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import streams_throughput
    finally:
        sys.path.remove(str(ROOT / "bench"))
    rows = streams_throughput.measure(kafka_broker.bootstrap_servers, records=2000, runs=1)
    assert [row["pipeline"] for row in rows] == list(streams_throughput.PIPELINES)
    for row in rows:
        assert row["rates"]["pykafkacore"] > 0 and row["rates"]["confluent-kafka"] > 0
    streams_throughput.print_table(rows)
