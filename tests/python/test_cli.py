"""The ``pykafkacore`` command line, run as a real subprocess against the in-process cluster of
the pytest fixtures. Interpreter starts cost ~0.2 s each, so every test batches several checks
and the setup that is not under test (creating topics, reading offsets) is done in-process."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from typing import Any

import pytest

from pykafkacore import AdminClient, Producer


def cli(*args: str, cluster: Any = None, stdin: bytes | None = None,
        timeout: float = 30) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if k != "PYKAFKACORE_BOOTSTRAP_SERVERS"}
    if cluster is not None:  # through the environment, as a user would set it once
        env["PYKAFKACORE_BOOTSTRAP_SERVERS"] = cluster.bootstrap_servers
    return subprocess.run([sys.executable, "-m", "pykafkacore", *args], input=stdin,
                          capture_output=True, timeout=timeout, env=env)


def ok(proc: subprocess.CompletedProcess[bytes]) -> str:
    assert proc.returncode == 0, proc.stderr.decode()
    return proc.stdout.decode()


def one_line_error(proc: subprocess.CompletedProcess[bytes], code: int, *needles: str) -> str:
    err = proc.stderr.decode()
    assert proc.returncode == code, (proc.returncode, err)
    assert "Traceback" not in err, err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("pykafkacore: error: "), err
    for needle in needles:
        assert needle in lines[0], err
    return lines[0]


def lines(text: str) -> list[str]:
    return text.splitlines()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ------------------------------------------------------------------------------------------------
# topics


def test_topics_create_list_describe_delete(kafka_cluster):
    bs = kafka_cluster.bootstrap_servers
    out = ok(cli("topics", "create", "cli-a", "--partitions", "3", "--config",
                 "retention.ms=123456", cluster=kafka_cluster))
    assert out == "Created topic cli-a.\n"

    # Connection options before the command work as well as after it.
    listed = ok(cli("-b", bs, "-X", "client.id=cli-test", "topics", "list"))
    header, row = lines(listed)
    assert header.split() == ["TOPIC", "PARTITIONS", "RF"] and row.split() == ["cli-a", "3", "1"]
    assert json.loads(ok(cli("topics", "list", "--json", cluster=kafka_cluster))) == [
        {"name": "cli-a", "partitions": 3, "replication_factor": 1, "internal": False}]

    text = ok(cli("topics", "describe", "cli-a", cluster=kafka_cluster))
    assert "Partitions: 3" in text and "Configs: retention.ms=123456" in text
    table = lines(text)[1:]
    assert table[0].split() == ["PARTITION", "LEADER", "REPLICAS", "ISR"]
    assert [r.split() for r in table[1:]] == [[str(p), "1", "1", "1"] for p in range(3)]

    [described] = json.loads(ok(cli("topics", "describe", "cli-a", "--configs", "--json",
                                    cluster=kafka_cluster)))
    assert [p["partition"] for p in described["partitions"]] == [0, 1, 2]
    assert all(p["leader"] == 1 and p["replicas"] == [1] == p["isr"]
               for p in described["partitions"])
    assert described["configs"]["retention.ms"] == "123456"
    assert described["configs"]["cleanup.policy"] == "delete"  # --configs: defaults too

    one_line_error(cli("topics", "create", "cli-a", cluster=kafka_cluster), 1,
                   "cli-a", "(TOPIC_ALREADY_EXISTS)")
    assert ok(cli("topics", "create", "cli-a", "--if-not-exists", cluster=kafka_cluster)) \
        == "Topic cli-a exists already.\n"
    assert json.loads(ok(cli("topics", "delete", "cli-a", "--json", cluster=kafka_cluster))) \
        == {"deleted": ["cli-a"], "missing": []}
    assert AdminClient(kafka_cluster).list_topics(timeout=10) == []


# ------------------------------------------------------------------------------------------------
# produce and consume


def test_produce_keys_headers_and_consume_formats(kafka_cluster, kafka_topic_factory):
    topic = kafka_topic_factory(partitions=3)
    stdin = b"".join(b"user-%d:event-%d\n" % (i % 5, i) for i in range(20)) + b"no-key-line\n"
    proc = cli("produce", topic, "-K:", "-H", "source=cli", "-H", "n=1", "--acks", "all",
               "--compression", "lz4", stdin=stdin, cluster=kafka_cluster)
    ok(proc)
    assert proc.stderr.decode() == f"Delivered 21 records to {topic}.\n"
    # Without headers records go out in batches (send_many): same partitioner.
    ok(cli("produce", topic, "-K", ":", "-Z", stdin=b"user-1:plain\ntomb:\n",
           cluster=kafka_cluster))
    ok(cli("produce", topic, "--value", "single", "--key", "user-0", "-q",
           cluster=kafka_cluster))

    out = ok(cli("consume", topic, "-e", "-f", r"%t|%p|%o|%k|%s|%S|%K|%h\n",
                 cluster=kafka_cluster))
    rows = [line.split("|") for line in lines(out)]
    assert len(rows) == 24 and {r[0] for r in rows} == {topic}
    partition_of: dict[str, set[str]] = {}
    for t, p, o, k, v, vsize, ksize, headers in rows:
        partition_of.setdefault(k, set()).add(p)
        assert vsize == ("-1" if k == "tomb" else str(len(v)))  # -Z: a tombstone
        assert ksize == (str(len(k)) if k else "-1")
        assert headers == ("" if v in ("single", "plain", "") else "source=cli,n=1")
    assert all(len(ps) == 1 for ps in partition_of.values())  # same key, same partition
    assert sorted(r[4] for r in rows if r[3] == "user-0") == ["event-0", "event-10",
                                                                "event-15", "event-5", "single"]
    assert [r[4] for r in rows if r[3] == ""] == ["no-key-line"]  # no delimiter: null key

    records = [json.loads(line) for line in lines(
        ok(cli("consume", topic, "-e", "--json", "-q", cluster=kafka_cluster)))]
    assert next(r for r in records if r["key"] == "tomb")["value"] is None
    nokey = next(r for r in records if r["value"] == "no-key-line")
    assert nokey["key"] is None and nokey["headers"] == [["source", "cli"], ["n", "1"]]
    assert nokey["timestamp_type"] == "create" and nokey["timestamp"] > 0

    interop_check(kafka_cluster, topic, rows)


def interop_check(cluster: Any, topic: str, rows: list[list[str]]) -> None:
    """confluent-kafka reads what the CLI produced, and its murmur2 partitioner puts each key
    where the CLI did."""
    ck = pytest.importorskip("confluent_kafka")
    consumer = ck.Consumer({"bootstrap.servers": cluster.bootstrap_servers,
                            "group.id": "interop", "enable.auto.commit": False})
    consumer.assign([ck.TopicPartition(topic, p, ck.OFFSET_BEGINNING) for p in range(3)])
    seen = []
    deadline = time.monotonic() + 20
    while len(seen) < len(rows) and time.monotonic() < deadline:
        for m in consumer.consume(100, 0.2):
            assert m.error() is None, m.error()
            seen.append((str(m.partition()), m.offset(), (m.key() or b"").decode(),
                         (m.value() or b"").decode(), m.headers() or []))
    consumer.close()
    assert sorted(s[:4] for s in seen) == sorted((p, int(o), k, v)
                                                 for _, p, o, k, v, *_ in rows)
    assert ("source", b"cli") in next(s[4] for s in seen if s[3] == "event-3")

    producer = ck.Producer({"bootstrap.servers": cluster.bootstrap_servers,
                            "partitioner": "murmur2_random"})
    theirs: dict[str, str] = {}
    for key in {r[3] for r in rows if r[3]}:
        producer.produce(topic, b"probe", key.encode(), on_delivery=lambda err, msg: theirs.
                         __setitem__(msg.key().decode(), str(msg.partition())))
    producer.flush(10)
    ours = {r[3]: r[1] for r in rows if r[3]}
    assert theirs == ours


def test_consume_offsets_count_and_exit(kafka_cluster, kafka_topic):
    ok(cli("produce", kafka_topic, "-q", stdin=b"".join(b"%d\n" % i for i in range(10)),
           cluster=kafka_cluster))

    def consume(*args: str) -> list[str]:
        return lines(ok(cli("consume", kafka_topic, "-q", *args, cluster=kafka_cluster)))

    assert consume("-e") == [str(i) for i in range(10)]
    assert consume("-o", "7", "-e") == ["7", "8", "9"]
    assert consume("-o", "-2", "-e", "-p", "0") == ["8", "9"]
    assert consume("-o", "end", "-e") == []
    assert consume("-o", "100", "-e") == []  # past the end: clamped, nothing yet
    assert consume("-c", "3") == ["0", "1", "2"]  # no -e: -c alone ends it
    assert consume("-o", "-3", "-K", "=", "-e") == ["=7", "=8", "=9"]  # null key
    proc = cli("consume", kafka_topic, "-o", "beginning", "-c", "2", "-e",
               cluster=kafka_cluster)
    assert ok(proc) == "0\n1\n" and "Consumed 2 records" in proc.stderr.decode()


def test_produce_delivery_failure_exits_1(kafka_cluster, kafka_topic_factory):
    topic = kafka_topic_factory(configs={"max.message.bytes": "200"})
    proc = cli("produce", topic, stdin=b"x" * 1000 + b"\n" + b"y" * 1000 + b"\n",
               cluster=kafka_cluster)
    err = proc.stderr.decode()
    assert proc.returncode == 1 and "Traceback" not in err, err
    report, error = err.splitlines()
    assert report == f"Delivered 0 records to {topic}, 2 failed."
    assert error.startswith(f"pykafkacore: error: 2 of 2 records not delivered to {topic}: ")
    assert error.endswith("(MESSAGE_TOO_LARGE)")


# ------------------------------------------------------------------------------------------------
# groups


def _committed(admin: AdminClient, group: str) -> dict[int, int]:
    return {tp.partition: o for tp, o in admin.list_group_offsets(group, timeout=10).items()}


def test_group_consume_then_list_describe_lag_reset(kafka_cluster, kafka_topic_factory):
    topic = kafka_topic_factory(partitions=2)
    admin = AdminClient(kafka_cluster)
    with Producer(kafka_cluster) as producer:
        for i in range(6):
            producer.send(topic, b"v%d" % i, partition=i % 2)
        producer.flush(10)

    out = ok(cli("consume", topic, "-G", "cli-g", "-e", cluster=kafka_cluster))
    assert sorted(lines(out)) == [f"v{i}" for i in range(6)]
    assert _committed(admin, "cli-g") == {0: 3, 1: 3}

    assert {"group": "cli-g", "state": "Empty", "protocol_type": "consumer"} in json.loads(
        ok(cli("groups", "list", "--json", cluster=kafka_cluster)))
    described = ok(cli("groups", "describe", "cli-g", cluster=kafka_cluster))
    assert "State: Empty" in described
    offsets = [line.split() for line in lines(described) if line.startswith(topic)]
    assert offsets == [[topic, "0", "3", "3", "0", "-"], [topic, "1", "3", "3", "0", "-"]]

    with Producer(kafka_cluster) as producer:
        for i in range(4):
            producer.send(topic, b"late", partition=0)
        producer.flush(10)
    lag = json.loads(ok(cli("groups", "lag", "cli-g", "--json", cluster=kafka_cluster)))
    assert lag["total_lag"] == 4
    assert [(p["partition"], p["committed"], p["end"], p["lag"]) for p in lag["partitions"]] \
        == [(0, 3, 7, 4), (1, 3, 3, 0)]
    assert lines(ok(cli("groups", "lag", "cli-g", cluster=kafka_cluster)))[-1] == "Total lag: 4"

    dry = cli("groups", "reset-offsets", "cli-g", "--topic", topic, "--to-earliest",
              cluster=kafka_cluster)
    plan = [line.split() for line in lines(ok(dry))[1:]]
    assert plan == [[topic, "0", "3", "0"], [topic, "1", "3", "0"]]
    assert "Dry run" in dry.stderr.decode()
    assert _committed(admin, "cli-g") == {0: 3, 1: 3}  # nothing changed
    executed = json.loads(ok(cli("groups", "reset-offsets", "cli-g", "--topic", f"{topic}:0",
                                 "--to-offset", "1", "--execute", "--json",
                                 cluster=kafka_cluster)))
    assert executed["executed"] and executed["partitions"] == [
        {"topic": topic, "partition": 0, "current": 3, "new": 1}]
    assert _committed(admin, "cli-g") == {0: 1, 1: 3}

    # -c commits exactly what was printed, though more was fetched.
    out = ok(cli("consume", topic, "-G", "cli-g", "-c", "2", "-q", cluster=kafka_cluster))
    assert lines(out) == ["v2", "v4"]
    assert _committed(admin, "cli-g") == {0: 3, 1: 3}

    assert ok(cli("groups", "delete", "cli-g", cluster=kafka_cluster)) == "Deleted group cli-g.\n"
    one_line_error(cli("groups", "describe", "cli-g", cluster=kafka_cluster), 1,
                   "(GROUP_ID_NOT_FOUND)")
    admin.close()


def test_ctrl_c_leaves_the_group(kafka_cluster, kafka_topic):
    # SIG_DFL → Python's own handler: a child of a non-interactive shell may inherit SIG_IGN.
    proc = subprocess.Popen(
        [sys.executable, "-m", "pykafkacore", "-b", kafka_cluster.bootstrap_servers, "consume",
         kafka_topic, "-G", "cli-sigint"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    admin = AdminClient(kafka_cluster)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            groups = {g.group_id: g.state for g in admin.list_groups(timeout=5)}
            if groups.get("cli-sigint") == "Stable":
                break
            time.sleep(0.05)
        else:
            pytest.fail("the CLI consumer never joined its group")
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=15)
        assert proc.returncode == 130 and b"Traceback" not in err, err.decode()
        description = admin.describe_groups("cli-sigint", timeout=5)["cli-sigint"]
        assert description.state == "Empty" and description.members == []  # LeaveGroup sent
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        admin.close()


# ------------------------------------------------------------------------------------------------
# bench


def test_bench_produce_and_consume(kafka_cluster):
    result = json.loads(ok(cli("bench", "produce", "--topic", "cli-bench", "--records", "2000",
                               "--record-size", "64", "--acks", "1", "--linger-ms", "2",
                               "--batch-size", "65536", "--json", cluster=kafka_cluster)))
    assert result["records"] == 2000 and result["records_per_s"] > 0 and result["mb_per_s"] > 0
    assert 0 < result["latency_ms"]["p50"] <= result["latency_ms"]["p99"]
    consumed = json.loads(ok(cli("bench", "consume", "--topic", "cli-bench", "--records",
                                 "2000", "--json", cluster=kafka_cluster)))
    assert consumed["records"] == 2000 and consumed["records_per_s"] > 0
    assert consumed["record_size"] == 64

    text = ok(cli("bench", "produce", "--inprocess-brokers", "1", "--records", "2000"))
    rate = next(line for line in lines(text) if line.startswith("records/s")).split()[-1]
    assert int(rate.replace(",", "")) > 0 and "latency p99" in text


# ------------------------------------------------------------------------------------------------
# errors and help


def test_runtime_errors_are_one_line(kafka_cluster):
    one_line_error(cli("consume", "no-such-topic", "-e", cluster=kafka_cluster), 1,
                   "no-such-topic", "(UNKNOWN_TOPIC_OR_PARTITION)")
    one_line_error(cli("topics", "describe", "no-such-topic", cluster=kafka_cluster), 1,
                   "no-such-topic", "(UNKNOWN_TOPIC_OR_PARTITION)")
    assert "no-such-topic" not in AdminClient(kafka_cluster).list_topics(timeout=10)
    one_line_error(cli("topics", "list", "-X", "bogus.key=1", cluster=kafka_cluster), 1,
                   "bogus.key", "(INVALID_CONFIG)")
    one_line_error(cli("topics", "create", "t", "--config", "bogus=1", cluster=kafka_cluster),
                   1, "bogus", "(INVALID_CONFIG)")


def test_unreachable_cluster_fails_fast():
    port = closed_port()
    commands = [["topics", "list"], ["consume", "t"], ["produce", "t", "--value", "x"]]
    start = time.monotonic()
    # In parallel: each waits out its --timeout.
    procs = [subprocess.Popen([sys.executable, "-m", "pykafkacore", *c, "-b",
                               f"127.0.0.1:{port}", "--timeout", "2"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for c in commands]
    for p in procs:
        out, err = p.communicate(timeout=20)
        one_line_error(subprocess.CompletedProcess(p.args, p.returncode, out, err), 1,
                       f"127.0.0.1:{port}", "within 2 s", "(REQUEST_TIMED_OUT)")
    assert time.monotonic() - start < 8


@pytest.mark.parametrize("args, needle", [
    ([], "required: COMMAND"),
    (["consume"], "required: TOPIC"),
    (["consume", "t", "-f", "%x"], "unknown format token %x"),
    (["consume", "t", "-o", "middle"], "--offset"),
    (["consume", "t", "-G", "g", "-p", "0"], "--partition"),
    (["produce", "t", "-X", "no-equals-sign"], "-X: expected key=value"),
    (["topics", "create"], "required: TOPIC"),
    (["groups", "reset-offsets", "g", "--topic", "t"], "one of the arguments --to-earliest"),
    (["bench", "produce", "--records", "0"], "--records"),
])
def test_usage_errors_exit_2(args, needle):
    # No cluster needed: usage is checked before connecting (the -b port is closed anyway).
    one_line_error(cli(*args, "-b", f"127.0.0.1:{closed_port()}") if args else cli(), 2, needle)


def test_help_and_kept_commands():
    top = ok(cli("--help"))
    for command in ("topics", "produce", "consume", "groups", "bench", "serve", "version"):
        assert command in top
    consume_help = ok(cli("consume", "--help"))
    assert "--bootstrap-servers" in consume_help and "%k key" in consume_help
    assert ok(cli("version")).startswith("pykafkacore ")
