"""kcat (the Debian binary, its own bundled librdkafka) against the broker: -L metadata, -P produce
(keys, headers, codecs, big records, acks, idempotence), -C consume with -J (offsets, keys,
headers, timestamps), start offsets, -Q offsets for times.

kcat's consumer (-C without -G) uses manual assignment, no consumer group.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from compat_helpers import (
    BIG_TOPIC_CONFIG,
    MIB,
    check_idempotent_batches,
    create_topic,
    now_ms,
    stored_batches,
    topic_name,
)

KCAT = shutil.which("kcat") or shutil.which("kafkacat")
pytestmark = pytest.mark.skipif(KCAT is None, reason="kcat is not installed (scripts/bootstrap)")
TIMEOUT = 20.0


def kcat(broker: Any, *args: str, stdin: bytes | None = None, check: bool = True,
         timeout: float = TIMEOUT) -> subprocess.CompletedProcess[bytes]:
    cmd = [KCAT or "kcat", "-b", broker.bootstrap_servers, "-m", "5", *args]
    proc = subprocess.run(cmd, input=stdin, capture_output=True, timeout=timeout)
    if check:
        assert proc.returncode == 0, (
            f"{cmd} exited {proc.returncode}\nstderr:\n{proc.stderr.decode(errors='replace')}")
    return proc


def consume_json(broker: Any, topic: str, *args: str) -> list[dict[str, Any]]:
    """kcat -C -J -e: one JSON object per record, from the given offset args."""
    proc = kcat(broker, "-C", "-t", topic, "-J", "-e", "-q", *args)
    return [json.loads(line) for line in proc.stdout.decode().splitlines() if line.strip()]


def produce(broker: Any, topic: str, lines: list[str], *args: str) -> None:
    kcat(broker, "-P", "-t", topic, *args, stdin=("\n".join(lines) + "\n").encode())


def test_metadata_list(kafka_broker: Any) -> None:
    topic = create_topic(kafka_broker, topic_name(), partitions=3)
    md = json.loads(kcat(kafka_broker, "-L", "-J").stdout)
    assert md["controllerid"] == 1
    assert md["brokers"] == [{"id": 1, "name": f"127.0.0.1:{kafka_broker.port}"}]
    topics = {t["topic"]: t for t in md["topics"]}
    assert topic in topics
    parts = sorted(topics[topic]["partitions"], key=lambda p: p["partition"])
    assert [(p["partition"], p["leader"], [r["id"] for r in p["replicas"]],
             [r["id"] for r in p["isrs"]]) for p in parts] == [(i, 1, [1], [1]) for i in range(3)]

    one = json.loads(kcat(kafka_broker, "-L", "-J", "-t", topic).stdout)
    assert [t["topic"] for t in one["topics"]] == [topic]
    text = kcat(kafka_broker, "-L", "-t", topic).stdout.decode()
    assert f'topic "{topic}" with 3 partitions' in text
    assert "broker 1 at 127.0.0.1:%d" % kafka_broker.port in text


def test_produce_keys_and_headers_then_consume_json(kafka_broker: Any) -> None:
    topic = create_topic(kafka_broker, topic_name(), partitions=2)
    before = now_ms()
    produce(kafka_broker, topic, ["k1:v1", "k2:v2 with spaces", ":empty key", "k4:"],
            "-K:", "-p", "1", "-H", "h1=a", "-H", "h1=b", "-H", "trace=xyz")
    after = now_ms()
    recs = consume_json(kafka_broker, topic, "-o", "beginning")
    assert [(r["partition"], r["offset"], r["key"], r["payload"]) for r in recs] == [
        (1, 0, "k1", "v1"), (1, 1, "k2", "v2 with spaces"), (1, 2, "", "empty key"),
        (1, 3, "k4", "")]
    for r in recs:
        assert r["topic"] == topic
        assert r["headers"] == ["h1", "a", "h1", "b", "trace", "xyz"]
        assert r["tstype"] == "create"
        assert before <= r["ts"] <= after + 1000
        assert r["broker"] == 1
    assert consume_json(kafka_broker, topic, "-o", "beginning", "-p", "0") == []


def test_null_values_with_Z(kafka_broker: Any) -> None:
    topic = create_topic(kafka_broker, topic_name())
    # -Z sends empty messages as NULL: "k:" is a tombstone.
    produce(kafka_broker, topic, ["k:", "j:x"], "-K:", "-Z")
    recs = consume_json(kafka_broker, topic, "-o", "beginning")
    assert [(r["offset"], r["key"], r["payload"]) for r in recs] == [(0, "k", None), (1, "j", "x")]


def test_consume_records_of_another_client(kafka_broker: Any) -> None:
    """Timestamps, null keys, binary-safe headers written by librdkafka, read by kcat."""
    from confluent_kafka import Producer

    topic = create_topic(kafka_broker, topic_name())
    base = now_ms() - 50_000
    p = Producer({"bootstrap.servers": kafka_broker.bootstrap_servers})
    for i in range(10):
        p.produce(topic, key=None if i == 3 else b"k%d" % i, value=b"v%d" % i,
                  timestamp=base + 1000 * i, headers=[("n", str(i).encode())])
    assert p.flush(10) == 0
    recs = consume_json(kafka_broker, topic, "-o", "beginning")
    assert [(r["offset"], r["key"], r["payload"], r["ts"], r["headers"]) for r in recs] == [
        (i, None if i == 3 else "k%d" % i, "v%d" % i, base + 1000 * i, ["n", str(i)])
        for i in range(10)]

    # Absolute, relative-to-end, timestamp and end start positions; -c limits the count.
    assert [r["offset"] for r in consume_json(kafka_broker, topic, "-o", "6")] == [6, 7, 8, 9]
    assert [r["offset"] for r in consume_json(kafka_broker, topic, "-o", "-3")] == [7, 8, 9]
    assert [r["offset"] for r in consume_json(kafka_broker, topic, "-o", f"s@{base + 4500}")] == [
        5, 6, 7, 8, 9]
    assert [r["offset"] for r in consume_json(kafka_broker, topic, "-o", "beginning",
                                              "-c", "2")] == [0, 1]
    assert consume_json(kafka_broker, topic, "-o", "end") == []
    assert [r["offset"] for r in consume_json(kafka_broker, topic, "-o", "beginning",
                                              "-o", f"e@{base + 2000}")] == [0, 1]


def test_query_offsets_for_times(kafka_broker: Any) -> None:
    from confluent_kafka import Producer

    topic = create_topic(kafka_broker, topic_name())
    base = now_ms() - 50_000
    p = Producer({"bootstrap.servers": kafka_broker.bootstrap_servers})
    for i in range(10):
        p.produce(topic, value=b"v%d" % i, timestamp=base + 1000 * i)
    assert p.flush(10) == 0
    out = kcat(kafka_broker, "-Q", "-J", "-t", f"{topic}:0:{base + 2500}").stdout
    result = json.loads(out)
    entry = result[topic]["0"] if topic in result else result
    assert entry["offset"] == 3, result


@pytest.mark.parametrize("codec", ["gzip", "snappy", "lz4", "zstd"])
def test_compression_codecs(kafka_broker: Any, codec: str) -> None:
    topic = create_topic(kafka_broker, topic_name(codec))
    lines = [f"key{i}:" + f"value {i} " * 30 for i in range(100)]
    produce(kafka_broker, topic, lines, "-K:", "-p", "0", "-X", f"compression.codec={codec}",
            "-X", "linger.ms=50")
    recs = consume_json(kafka_broker, topic, "-o", "beginning")
    assert [(r["offset"], r["key"], r["payload"]) for r in recs] == [
        (i, f"key{i}", (f"value {i} " * 30)) for i in range(100)]
    assert {b["compression"] for b in stored_batches(kafka_broker, topic, 0, 100)} == {codec}


def test_one_mib_record(kafka_broker: Any, tmp_path: Path) -> None:
    topic = create_topic(kafka_broker, topic_name("big"), configs=BIG_TOPIC_CONFIG)
    payload = os.urandom(MIB // 2).hex().encode()  # 1 MiB of text
    assert len(payload) == MIB
    f = tmp_path / "big.bin"
    f.write_bytes(payload)
    # A file argument is sent whole, as one message.
    kcat(kafka_broker, "-P", "-t", topic, "-p", "0", "-k", "big",
         "-X", "message.max.bytes=2000000", str(f))
    kcat(kafka_broker, "-P", "-t", topic, "-p", "0", "-k", "small", stdin=b"tiny\n")
    proc = kcat(kafka_broker, "-C", "-t", topic, "-o", "beginning", "-e", "-q",
                "-X", "fetch.message.max.bytes=2000000", "-f", "%o %k %S\n")
    assert proc.stdout.decode().splitlines() == [f"0 big {MIB}", "1 small 4"]
    recs = consume_json(kafka_broker, topic, "-o", "0", "-c", "1")
    assert recs[0]["payload"].encode() == payload


def test_hundred_partitions(kafka_broker: Any) -> None:
    topic = create_topic(kafka_broker, topic_name("p100"), partitions=100)
    # Random partitioner over all 100 partitions, keyed records.
    lines = [f"k{i}:v{i}" for i in range(2000)]
    produce(kafka_broker, topic, lines, "-K:", "-p", "-1")
    recs = consume_json(kafka_broker, topic, "-o", "beginning")
    assert len(recs) == 2000
    assert sorted((r["key"], r["payload"]) for r in recs) == sorted(
        (f"k{i}", f"v{i}") for i in range(2000))
    per_partition = Counter(r["partition"] for r in recs)
    assert set(per_partition) <= set(range(100))
    assert len(per_partition) > 90  # random spread over (nearly) every partition
    for p, n in per_partition.items():
        assert sorted(r["offset"] for r in recs if r["partition"] == p) == list(range(n))
    # And one explicit record per partition, read back per partition.
    for p in (0, 42, 99):
        produce(kafka_broker, topic, [f"explicit:{p}"], "-K:", "-p", str(p))
        last = consume_json(kafka_broker, topic, "-p", str(p), "-o", "-1")
        assert [(r["partition"], r["offset"], r["key"], r["payload"]) for r in last] == [
            (p, per_partition[p], "explicit", str(p))]


@pytest.mark.parametrize("acks", ["0", "1", "all"])
def test_acks(kafka_broker: Any, acks: str) -> None:
    topic = create_topic(kafka_broker, topic_name("acks"))
    produce(kafka_broker, topic, [f"k{i}:v{i}" for i in range(30)], "-K:", "-X", f"acks={acks}")
    recs = consume_json(kafka_broker, topic, "-o", "beginning")
    assert [(r["offset"], r["key"], r["payload"]) for r in recs] == [
        (i, f"k{i}", f"v{i}") for i in range(30)]


def test_idempotent_producer(kafka_broker: Any) -> None:
    topic = create_topic(kafka_broker, topic_name("idem"))
    produce(kafka_broker, topic, [f"k{i}:v{i}" for i in range(300)], "-K:",
            "-X", "enable.idempotence=true", "-X", "batch.num.messages=25")
    check_idempotent_batches(stored_batches(kafka_broker, topic, 0, 300))
    recs = consume_json(kafka_broker, topic, "-o", "beginning")
    assert [(r["offset"], r["payload"]) for r in recs] == [(i, f"v{i}") for i in range(300)]


def test_consume_after_delete_records_starts_at_low_watermark(kafka_broker: Any) -> None:
    from confluent_kafka import TopicPartition
    from confluent_kafka.admin import AdminClient

    topic = create_topic(kafka_broker, topic_name())
    produce(kafka_broker, topic, [f"v{i}" for i in range(10)])
    admin = AdminClient({"bootstrap.servers": kafka_broker.bootstrap_servers})
    futures = admin.delete_records([TopicPartition(topic, 0, 7)], request_timeout=10)
    assert next(iter(futures.values())).result(timeout=10).low_watermark == 7
    recs = consume_json(kafka_broker, topic, "-o", "beginning")
    assert [(r["offset"], r["payload"]) for r in recs] == [(7, "v7"), (8, "v8"), (9, "v9")]
