"""Helpers shared by the benchmark harness (bench/compare.py), the peers it starts and the client
benchmarks: paths, free ports, one `pykafkacore serve` broker, readiness by produce, topic
creation, metadata look-ups, resident memory and results files.

Everything here talks to a broker through confluent-kafka (librdkafka), the same client for
pykafkacore and Apache Kafka.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from pykafkacore._process import free_ports  # noqa: E402,F401 - shared with Cluster(mode="process")

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build"


def bench_dir() -> Path:
    """Where brokers keep their data during a benchmark: $KAFKACORE_BENCH_DIR or build/bench-data
    (the same disk as /tmp and build/ on the project's machines)."""
    path = Path(os.environ.get("KAFKACORE_BENCH_DIR") or BUILD / "bench-data")
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextlib.contextmanager
def serve_one_broker(*settings: str) -> Iterator[str]:
    """One `pykafkacore serve` broker on a free port, its data in a temporary directory, for as
    long as the block runs; yields its bootstrap address. `settings` are `key=value` broker
    properties."""
    port, _ = free_ports(2)
    with tempfile.TemporaryDirectory() as data:
        command = [sys.executable, "-m", "pykafkacore", "serve", "--port", str(port),
                   "--data-dir", data, "--log-level", "warn"]
        for setting in settings:
            command += ["--set", setting]
        server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        try:
            while "ready" not in (server.stdout.readline() or "ready"):
                pass
            yield f"127.0.0.1:{port}"
        finally:
            server.terminate()
            server.wait(10)


def write_results(out: Path | None, records: int, runs: int, rows: list[dict]) -> None:
    """The client benchmarks' JSON file, if asked for."""
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps({"records": records, "runs": runs, "rows": rows}, indent=2))


def wait_for_port(port: int, deadline: float, proc: subprocess.Popen | None = None,
                  interval: float = 0.002) -> None:
    """Polls a TCP connect to 127.0.0.1:port until it succeeds (every `interval` s)."""
    while True:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listens on 127.0.0.1:{port}") from None
            time.sleep(interval)


def quiet_config(config: dict[str, object]) -> dict[str, object]:
    """librdkafka logs connection refusals and mock-cluster notices at levels 3-5; the harness
    reports errors itself."""
    return {"log_level": 2, **config}


def create_topic(bootstrap: str, name: str, partitions: int = 1, replication: int = 1,
                 configs: dict[str, str] | None = None, timeout: float = 60.0) -> None:
    """Creates a topic and waits until every partition has a leader; retries while the cluster is
    still forming (too few brokers registered, controller not elected)."""
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient(quiet_config({"bootstrap.servers": bootstrap}))
    deadline = time.monotonic() + timeout
    while True:
        try:
            futures = admin.create_topics(
                [NewTopic(name, partitions, replication, config=configs or {})],
                operation_timeout=min(30.0, timeout))
            futures[name].result(timeout)
            break
        except KafkaException as e:
            err = e.args[0]
            if err.name() == "TOPIC_ALREADY_EXISTS":
                break
            if time.monotonic() > deadline:
                raise
            time.sleep(0.01)
    while True:
        meta = admin.list_topics(name, timeout=10).topics.get(name)
        if (meta is not None and meta.error is None and len(meta.partitions) == partitions
                and all(p.leader >= 0 and len(p.isrs) == replication
                        for p in meta.partitions.values())):
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"topic {name} has no leader for every partition")
        time.sleep(0.01)


def produce_one(bootstrap: str, topic: str, acks: str = "1", timeout: float = 60.0,
                partition: int = 0) -> None:
    """Produces one record and waits for its acknowledgement (retrying quickly while the broker
    still refuses it: no leader yet, not ready)."""
    from confluent_kafka import Producer

    producer = Producer(quiet_config({
        "bootstrap.servers": bootstrap, "acks": acks, "linger.ms": 0,
        "enable.idempotence": False, "message.timeout.ms": int(timeout * 1000),
        "retry.backoff.ms": 10, "retry.backoff.max.ms": 20, "reconnect.backoff.ms": 10,
        "reconnect.backoff.max.ms": 20, "topic.metadata.refresh.fast.interval.ms": 10,
    }))
    outcome: list[object] = []
    producer.produce(topic, b"ready", partition=partition,
                     on_delivery=lambda err, _msg: outcome.append(err))
    deadline = time.monotonic() + timeout
    while not outcome and time.monotonic() < deadline:
        producer.poll(0.001)
    producer.flush(1)
    if not outcome:
        raise TimeoutError(f"no acknowledgement from {bootstrap} within {timeout} s")
    if outcome[0] is not None:
        raise RuntimeError(f"produce to {bootstrap} failed: {outcome[0]}")


def wait_until_produce(bootstrap: str, nodes: int, timeout: float = 120.0) -> None:
    """Ready means: a topic replicated to every node accepts an acks=all produce."""
    deadline = time.monotonic() + timeout
    create_topic(bootstrap, "bench-ready", 1, nodes, timeout=timeout)
    produce_one(bootstrap, "bench-ready", acks="all", timeout=max(1.0, deadline - time.monotonic()))


def partition_leaders(bootstrap: str, topic: str) -> dict[int, int]:
    from confluent_kafka.admin import AdminClient

    admin = AdminClient(quiet_config({"bootstrap.servers": bootstrap}))
    meta = admin.list_topics(topic, timeout=10).topics[topic]
    return {p.id: p.leader for p in meta.partitions.values()}


def ms_to_first_ack_after_kill(producer, topic: str, partition: int, kill,
                               partitions: int = 1, kill_after: float = 1.0) -> float:
    """Sends a 100 B record every 2 ms and calls kill() `kill_after` seconds in; returns the
    milliseconds from the kill to the first acknowledged record sent to `partition` after it. With
    `partitions` > 1 the records go round-robin to partitions 0..partitions-1, as a producer
    writing the whole topic would send them, so the client also holds connections to the live
    leaders. `producer` has confluent-kafka's produce/poll/purge/flush. TimeoutError if none
    within 60 s.

    librdkafka re-asks for leaders on a 1 s timer started with the producer: a kill exactly
    1.0 s in lands on a tick, before anything has moved, the worst phase. Callers pass a
    `kill_after` drawn from [1, 2) so runs sample the whole cycle, as a real crash would."""
    acked: list[int] = []
    kill_ns = [0]

    def delivered(sent_ns: int):
        def cb(err, _msg) -> None:
            if err is None and kill_ns[0] and sent_ns >= kill_ns[0]:
                acked.append(time.monotonic_ns())
        return cb

    def ignored(_err, _msg) -> None:
        pass

    start = time.monotonic()
    sent = 0
    while time.monotonic() < start + kill_after + 60 and not acked:
        if not kill_ns[0] and time.monotonic() - start >= kill_after:
            kill_ns[0] = time.monotonic_ns()
            kill()
        target = sent % partitions if partitions > 1 else partition
        sent += 1
        producer.produce(topic, b"f" * 100, partition=target,
                         on_delivery=delivered(time.monotonic_ns()) if target == partition
                         else ignored)
        producer.poll(0.002)
    producer.purge()
    producer.flush(1)
    if not acked:
        raise TimeoutError("no acks=all write was acknowledged within 60 s of the kill")
    return (acked[0] - kill_ns[0]) / 1e6


def rss_mb(pids: list[int]) -> float:
    """Resident memory of the processes together, in MiB (VmRSS from /proc)."""
    total_kb = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total_kb += int(line.split()[1])
                        break
        except FileNotFoundError:
            pass
    return total_kb / 1024


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class ProcessCluster:
    """What the broker clusters of the harness share: nodes run as processes (each with
    `node_id`, `port`, `proc`, `pid`), started by the subclass's `start_node`."""

    nodes: list
    keep: bool
    base: Path
    bootstrap: str
    started_at: float
    ready_after: float

    def start_node(self, node) -> None:  # pragma: no cover - each system starts its own way
        raise NotImplementedError

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Returns once a produce is accepted; `ready_after` is then the time since the processes
        were started."""
        deadline = time.monotonic() + timeout
        for node in self.nodes:
            wait_for_port(node.port, deadline, node.proc)
        wait_until_produce(self.bootstrap, len(self.nodes), max(1.0, deadline - time.monotonic()))
        self.ready_after = time.monotonic() - self.started_at

    def node_by_id(self, node_id: int):
        return next(n for n in self.nodes if n.node_id == node_id)

    def pids(self) -> list[int]:
        return [n.pid for n in self.nodes if n.pid]

    def kill_node(self, node_id: int) -> None:
        node = self.node_by_id(node_id)
        if node.proc and node.proc.poll() is None:
            node.proc.send_signal(signal.SIGKILL)
            node.proc.wait()

    def restart_node(self, node_id: int) -> None:
        self.start_node(self.node_by_id(node_id))

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM to every node at once (a clean shutdown), SIGKILL after `timeout`."""
        running = [n.proc for n in self.nodes if n.proc and n.proc.poll() is None]
        for proc in running:
            proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for proc in running:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def cleanup(self) -> None:
        if not self.keep:
            shutil.rmtree(self.base, ignore_errors=True)
