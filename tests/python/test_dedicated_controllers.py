"""Dedicated KRaft controllers from Python: ``Cluster(brokers=3, controllers=3)`` in-process and
in processes, and ``pykafkacore serve --brokers 3 --controllers 3``. Controllers have ids 3000..,
never appear in Metadata answers, and any one of three may die without stopping metadata
changes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from pykafkacore import Cluster

ck = pytest.importorskip("confluent_kafka")

CLIENT = {"socket.connection.setup.timeout.ms": 2000, "reconnect.backoff.max.ms": 200,
          "retry.backoff.ms": 20, "log_level": 2}


def produce(bootstrap: str, topic: str, values: list[bytes]) -> None:
    producer = ck.Producer({"bootstrap.servers": bootstrap, "acks": "all",
                            "enable.idempotence": True, **CLIENT})
    errors: list[object] = []
    for v in values:
        producer.produce(topic, v, on_delivery=lambda err, _m: err and errors.append(err))
    assert producer.flush(30) == 0
    assert not errors, errors


def consume(bootstrap: str, topic: str, count: int) -> list[bytes]:
    consumer = ck.Consumer({"bootstrap.servers": bootstrap, "group.id": f"g-{topic}",
                            "auto.offset.reset": "earliest", **CLIENT})
    consumer.subscribe([topic])
    out: list[bytes] = []
    deadline = time.monotonic() + 30
    try:
        while len(out) < count and time.monotonic() < deadline:
            m = consumer.poll(0.5)
            if m is not None and m.error() is None:
                out.append(m.value())
    finally:
        consumer.close()
    return out


def wait_for(predicate, timeout: float = 15.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def test_in_process_three_brokers_three_controllers() -> None:
    with Cluster(brokers=3, controllers=3) as cluster:
        assert cluster.controller_ids == [3000, 3001, 3002]
        assert [b.id for b in cluster.brokers] == [1, 2, 3]
        assert [c.role for c in cluster.controllers] == ["controller"] * 3
        assert cluster.broker(1).role == "broker"
        assert cluster.broker(3000).data_dir.name == "controller-3000"
        active = wait_for(lambda: cluster.controller, what="an active controller")
        assert active in cluster.controller_ids

        info = cluster.create_topic("orders", partitions=3)
        assert info.replication_factor == 3
        assert all(set(p.replicas) <= {1, 2, 3} for p in info.partitions)
        # Clients see brokers only.
        md = ck.admin.AdminClient({"bootstrap.servers": cluster.bootstrap_servers,
                                   **CLIENT}).list_topics(timeout=10)
        assert sorted(md.brokers) == [1, 2, 3]
        produce(cluster.bootstrap_servers, "orders", [b"v%d" % i for i in range(30)])
        assert sorted(consume(cluster.bootstrap_servers, "orders", 30)) == sorted(
            b"v%d" % i for i in range(30))

        # The active controller dies: the other two elect a new one and metadata changes go on.
        cluster.kill(active)
        assert not cluster.broker(active).running
        new = wait_for(lambda: (c := cluster.controller) not in (None, active) and c,
                       what="a new active controller")
        assert new in cluster.controller_ids
        cluster.create_topic("after-kill", partitions=2)
        produce(cluster.bootstrap_servers, "after-kill", [b"a", b"b", b"c"])
        assert sorted(consume(cluster.bootstrap_servers, "after-kill", 3)) == [b"a", b"b", b"c"]

        # The killed controller comes back and follows the quorum again.
        cluster.restart(active)
        assert cluster.broker(active).running
        # Stop and restart a broker too: it rejoins through the controllers.
        cluster.stop(2)
        cluster.restart(2)
        cluster.create_topic("after-restarts")
        assert "after-restarts" in cluster.topics()
    with pytest.raises(ValueError, match="controllers"):
        Cluster(brokers=1, controllers=-1)


def test_unknown_ids_are_refused() -> None:
    with Cluster(brokers=1, controllers=1) as cluster:
        assert cluster.controller_ids == [3000]
        with pytest.raises(ValueError, match="controllers 3000..3000"):
            cluster.kill(3001)
        with pytest.raises(ValueError):
            cluster.kill(2)
    with Cluster(brokers=2) as combined:
        # Combined mode: every broker is a voter.
        assert combined.controller_ids == [1, 2]
        assert combined.controllers == []
        assert combined.broker(1).role == "broker,controller"


def test_process_mode_with_dedicated_controllers() -> None:
    with Cluster(brokers=2, controllers=3, mode="process") as cluster:
        servers = cluster._backend._servers  # type: ignore[union-attr]
        assert sorted(servers) == [1, 2, 3000, 3001, 3002]
        assert (cluster.data_dir / "controller-3000").is_dir()
        active = wait_for(lambda: cluster.controller, what="an active controller")
        assert active in (3000, 3001, 3002)
        cluster.create_topic("procs", partitions=1, replication_factor=2)
        produce(cluster.bootstrap_servers, "procs", [b"x"])
        cluster.kill(active)  # SIGKILL
        wait_for(lambda: (c := cluster.controller) not in (None, active) and c,
                 what="a new active controller")
        cluster.create_topic("procs-after", partitions=1, replication_factor=2)
        cluster.restart(active)
        assert cluster.broker(active).running


def test_serve_brokers_and_controllers(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "pykafkacore", "serve", "--brokers", "3", "--controllers", "3",
         "--port", "0", "--data-dir", str(tmp_path), "--log-level", "error",
         "--set", "kafkacore.unsafe.bypass.fsync=true"],
        stdout=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    lines: list[str] = []

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line.strip())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        wait_for(lambda: "ready" in lines, timeout=30, what=f"ready, got {lines}")
        bootstrap = next(line.split("=", 1)[1] for line in lines
                         if line.startswith("bootstrap.servers="))
        controllers = next(line.split("=", 1)[1] for line in lines
                           if line.startswith("controllers="))
        assert [c.split("@")[0] for c in controllers.split(",")] == ["3000", "3001", "3002"]
        assert len(bootstrap.split(",")) == 3
        md = ck.admin.AdminClient({"bootstrap.servers": bootstrap, **CLIENT}).list_topics(
            timeout=10)
        assert sorted(md.brokers) == [1, 2, 3]
        assert sorted(p.name for p in tmp_path.iterdir() if p.is_dir()) == [
            "broker-1", "broker-2", "broker-3", "controller-3000", "controller-3001",
            "controller-3002"]
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
        reader.join(5)
