"""pykafkacore.Cluster: lifecycle, admin, faults (kill/restart, pause/resume, network
partitions), white-box reads, process mode, and what it shows in a REPL or notebook.

Clients are confluent-kafka (librdkafka) until pykafkacore's own land.
"""

from __future__ import annotations

import os
import signal
import socket
import struct
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pykafkacore import Cluster

confluent_kafka = pytest.importorskip("confluent_kafka")
from confluent_kafka import Consumer, Producer  # noqa: E402

# librdkafka: notice a dead leader and find the new one quickly.
CLIENT_FAST = {
    "socket.connection.setup.timeout.ms": 2000,
    "reconnect.backoff.ms": 20,
    "reconnect.backoff.max.ms": 200,
    "retry.backoff.ms": 20,
    "retry.backoff.max.ms": 200,
    "topic.metadata.refresh.interval.ms": 500,
    "log_level": 2,  # connection failures are expected here
}


def native_threads() -> int:
    return len(os.listdir("/proc/self/task"))


def eventually(check: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {timeout} s")
        time.sleep(0.01)


def acks_all_producer(bootstrap: str) -> Producer:
    return Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True,
                     "linger.ms": 1, "message.timeout.ms": 20000, "request.timeout.ms": 3000,
                     **CLIENT_FAST})


def produce(producer: Producer, topic: str, values: list[bytes],
            acked: list[tuple[bytes, float]] | None = None) -> None:
    def on_delivery(err: Any, msg: Any) -> None:
        assert err is None, err
        if acked is not None:
            acked.append((msg.value(), time.monotonic()))

    for v in values:
        producer.produce(topic, v, partition=0, on_delivery=on_delivery)
    producer.poll(0)


def api_versions_frame(correlation_id: int) -> bytes:
    client = b"test"
    body = struct.pack(">hhih", 18, 0, correlation_id, len(client)) + client
    return struct.pack(">i", len(body)) + body


# ------------------------------------------------------------------------------------------------


def test_lifecycle_leaves_no_thread_and_removes_the_temporary_directory() -> None:
    py_before = set(threading.enumerate())
    native_before = native_threads()
    cluster = Cluster(3)
    assert not cluster.started
    assert "not running" in repr(cluster)
    with pytest.raises(RuntimeError, match="not running"):
        _ = cluster.bootstrap_servers
    with cluster as c:
        assert c is cluster and c.started
        assert c.bootstrap_servers.count(",") == 2
        assert [b.id for b in c.brokers] == [1, 2, 3]
        assert all(b.running and not b.paused for b in c.brokers)
        assert c.controller in (1, 2, 3)
        assert {b.bootstrap_servers for b in c.brokers} == set(c.bootstrap_servers.split(","))
        data_dir = c.data_dir
        assert (data_dir / "broker-1").is_dir()
        assert native_threads() > native_before  # brokers run on threads of this process
    assert not data_dir.exists()
    assert set(threading.enumerate()) == py_before
    eventually(lambda: native_threads() == native_before, 2, "native threads back to before")
    cluster.close()  # idempotent
    with pytest.raises(ValueError):
        Cluster(0)
    with pytest.raises(ValueError):
        Cluster(mode="docker")  # type: ignore[arg-type]


def test_explicit_start_close_and_a_given_data_dir_is_kept(tmp_path: Path) -> None:
    kept = tmp_path / "kept"
    cluster = Cluster(1, data_dir=kept, num_partitions=2).start()
    try:
        assert cluster.properties["num.partitions"] == "2"
        info = cluster.create_topic("keep")
        assert info.replication_factor == 1  # min(3, brokers)
        assert len(info) == 1
    finally:
        cluster.close()
    assert (kept / "broker-1" / "keep-0").is_dir()
    with Cluster(data_dir=kept) as again:  # the same directory: the topic is still there
        assert "keep" in again.topics()
        assert again.records("keep") == []


def test_create_topic_is_ready_on_every_broker_with_leaders() -> None:
    with Cluster(3) as c:
        info = c.create_topic("orders", partitions=3)
        assert info.replication_factor == 3
        assert [p.partition for p in info.partitions] == [0, 1, 2]
        for p in info.partitions:
            assert p.leader in p.replicas
            assert sorted(p.isr) == sorted(p.replicas) == [1, 2, 3]
        assert {p.leader for p in info.partitions} == {1, 2, 3}
        # Every broker's own metadata shows it already (white box: each broker's image).
        native = c._backend._cluster  # type: ignore[union-attr]
        for b in c.brokers:
            topic = native.metadata(b.id)["topics"]["orders"]
            assert all(p["leader"] >= 0 for p in topic["partitions"])
        assert c.topic("orders") == info
        assert list(c.topics()) == ["orders"]

        with pytest.raises(ValueError, match="TOPIC_ALREADY_EXISTS"):
            c.create_topic("orders")
        with pytest.raises(ValueError):
            c.create_topic("bad name!")
        with pytest.raises(ValueError):
            c.create_topic("too-wide", replication_factor=4)
        compacted = c.create_topic("compacted", replication_factor=2,
                                   configs={"cleanup.policy": "compact"})
        assert compacted.replication_factor == 2
        assert compacted.configs["cleanup.policy"] == "compact"

        c.delete_topic("orders")
        assert "orders" not in c.topics()
        with pytest.raises(ValueError, match="UNKNOWN_TOPIC"):
            c.delete_topic("orders")
        with pytest.raises(KeyError):
            c.topic("orders")


def test_kill_fails_over_for_an_acks_all_producer_and_restart_rejoins() -> None:
    with Cluster(3) as c:
        c.create_topic("acked", configs={"min.insync.replicas": 2})
        producer = acks_all_producer(c.bootstrap_servers)
        acked: list[tuple[bytes, float]] = []
        produce(producer, "acked", [b"a%d" % i for i in range(10)], acked)
        assert producer.flush(10) == 0

        leader = c.topic("acked")[0].leader
        assert leader is not None
        t0 = time.monotonic()
        c.kill(leader)
        assert not c.broker(leader).running
        assert "stopped" in repr(c.broker(leader))
        produce(producer, "acked", [b"b%d" % i for i in range(10)], acked)
        assert producer.flush(15) == 0, "not acknowledged after the leader was killed"
        failover = acked[10][1] - t0
        print(f"\nkill: first acks=all delivery after {failover * 1000:.0f} ms")
        assert failover < 5.0
        new_leader = c.topic("acked")[0].leader
        assert new_leader not in (None, leader)
        assert leader not in c.topic("acked")[0].isr

        c.restart(leader)
        assert c.broker(leader).running
        eventually(lambda: leader in c.topic("acked")[0].isr, 10, "restarted broker in the ISR")
        values = [r.value for r in c.records("acked")]
        assert values == [b"a%d" % i for i in range(10)] + [b"b%d" % i for i in range(10)]
        # The restarted broker's own copy catches up too.
        eventually(lambda: len(c.records("acked", broker=leader)) == 20, 10, "replica caught up")
        assert [r.offset for r in c.records("acked", start=15)] == [15, 16, 17, 18, 19]

        c.stop(new_leader)  # a clean stop of one broker
        assert not c.broker(new_leader).running
        with pytest.raises(ValueError):
            c.kill(new_leader)  # not running
        c.restart(new_leader)
        with pytest.raises(ValueError):
            c.restart(new_leader)  # running
        with pytest.raises(ValueError):
            c.kill(7)
        del producer


def test_pause_hangs_a_broker_with_its_sockets_open_and_resume_serves_again() -> None:
    with Cluster(3) as c:
        c.create_topic("paused", configs={"min.insync.replicas": 2})
        leader = c.topic("paused")[0].leader
        assert leader is not None
        broker = c.broker(leader)
        with socket.create_connection(("127.0.0.1", broker.port), timeout=5) as s:
            c.pause(leader)
            assert broker.paused and broker.running
            assert "paused" in repr(c)
            # The socket is open and takes the request, but no answer comes.
            s.sendall(api_versions_frame(7))
            s.settimeout(0.3)
            with pytest.raises(TimeoutError):
                s.recv(4)
            # A produce fails over: the silent broker's session expires.
            producer = acks_all_producer(c.bootstrap_servers)
            t0 = time.monotonic()
            acked: list[tuple[bytes, float]] = []
            produce(producer, "paused", [b"during"], acked)
            assert producer.flush(15) == 0
            print(f"\npause: acks=all delivery after {(acked[0][1] - t0) * 1000:.0f} ms "
                  f"(broker {leader} paused)")
            assert c.topic("paused")[0].leader != leader
            # White-box reads still work on the paused broker.
            assert c.records("paused", broker=leader, committed=False) == []

            c.resume(leader)
            assert not broker.paused
            s.settimeout(5)
            size, correlation = struct.unpack(">ii", s.recv(8))
            assert correlation == 7  # the request sent while paused is answered now
        eventually(lambda: leader in c.topic("paused")[0].isr, 10, "resumed broker in the ISR")
        produce(producer, "paused", [b"after"])
        assert producer.flush(10) == 0
        # The resumed broker's copy catches up (its high watermark follows the leader's).
        eventually(lambda: [r.value for r in c.records("paused", broker=leader)]
                   == [b"during", b"after"], 10, "resumed replica caught up")
        c.pause(leader)  # closing a cluster with a paused broker works
        del producer


def test_isolate_moves_leadership_and_heal_restores_the_isr() -> None:
    with Cluster(3) as c:
        c.create_topic("cut")
        leader = c.topic("cut")[0].leader
        assert leader is not None
        c.isolate(leader)
        moved = eventually(lambda: (p := c.topic("cut")[0]).leader not in (None, leader) and p,
                           10, "a new leader")
        assert leader not in moved.isr  # ISR shrank
        c.heal()
        eventually(lambda: leader in c.topic("cut")[0].isr, 10, "healed broker in the ISR")
        others = [b.id for b in c.brokers if b.id != leader]
        c.partition([leader], others)  # the same cut, spelled out
        c.heal()


def test_ctrl_c_interrupts_a_wait_and_the_cluster_still_closes(python_sigint: None) -> None:
    with Cluster(3) as c:
        c.pause(2)
        c.pause(3)  # no majority: a topic cannot be created
        timer = threading.Timer(0.3, lambda: os.kill(os.getpid(), signal.SIGINT))
        t0 = time.monotonic()
        timer.start()
        with pytest.raises(KeyboardInterrupt):
            c.create_topic("never", timeout=20)
        assert time.monotonic() - t0 < 3
        timer.join()
    assert not c.started


def test_describe_groups_and_lag() -> None:
    with Cluster(1) as c:
        c.create_topic("lagging", partitions=2)
        producer = Producer({"bootstrap.servers": c.bootstrap_servers, **CLIENT_FAST})
        for i in range(6):
            producer.produce("lagging", b"%d" % i, partition=i % 2)
        assert producer.flush(10) == 0
        consumer = Consumer({"bootstrap.servers": c.bootstrap_servers, "group.id": "g1",
                             "auto.offset.reset": "earliest", "enable.auto.commit": False,
                             **CLIENT_FAST})
        consumer.subscribe(["lagging"])
        got = []
        deadline = time.monotonic() + 15
        while len(got) < 6 and time.monotonic() < deadline:
            msg = consumer.poll(0.2)
            if msg is not None and msg.error() is None:
                got.append(msg)
        assert len(got) == 6
        first = next(m for m in got if m.partition() == 0)
        consumer.commit(message=first, asynchronous=False)  # partition 0: offset 1 of 3
        groups = c.describe_groups()
        assert "g1" in groups and len(groups["g1"].members) == 1
        assert groups["g1"].state == "Stable" and groups["g1"].protocol == "range"
        lag = c.lag("g1")
        assert lag[("lagging", 0)] == (1, 3, 2)
        page = c._repr_html_()
        assert "<th>group</th>" in page
        assert "<tr><td>g1</td><td>Stable</td><td>1</td><td>1</td><td>2</td></tr>" in page
        consumer.close()
        del producer


def test_repr_and_html() -> None:
    with Cluster(3) as c:
        c.create_topic("shown", partitions=2)
        text = repr(c)
        assert "inprocess" in text and c.bootstrap_servers in text
        assert repr(c.broker(1)).startswith("<Broker 1 127.0.0.1:")
        page = c._repr_html_()
        assert "<table>" in page and "shown" in page and "ISR" in page
        assert page.count("<tr>") == 1 + 3 + 1 + 2  # headers and rows: brokers, partitions
        assert "<table>" in c.topic("shown")._repr_html_()
    assert "not running" in c._repr_html_()
    assert "not running" in repr(c.broker(1))


def test_process_mode_kill_restart_pause(tmp_path: Path) -> None:
    py_before = set(threading.enumerate())
    with Cluster(3, mode="process", data_dir=tmp_path / "procs") as c:
        pids = [b.pid for b in c.brokers]
        assert None not in pids and os.getpid() not in pids and len(set(pids)) == 3
        c.create_topic("proc", configs={"min.insync.replicas": 2})
        leader = c.topic("proc")[0].leader
        assert leader is not None and c.controller in (1, 2, 3)
        producer = acks_all_producer(c.bootstrap_servers)
        produce(producer, "proc", [b"before"])
        assert producer.flush(10) == 0

        pid = c.broker(leader).pid
        c.kill(leader)  # SIGKILL
        assert not c.broker(leader).running and c.broker(leader).pid is None
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)  # type: ignore[arg-type]
        produce(producer, "proc", [b"after-kill"])
        assert producer.flush(15) == 0
        t0 = time.monotonic()
        c.restart(leader)
        print(f"\nprocess mode: broker {leader} restarted in {time.monotonic() - t0:.2f} s")
        assert c.broker(leader).running and c.broker(leader).pid != pid

        c.pause(leader)  # SIGSTOP
        assert c.broker(leader).paused
        with open(f"/proc/{c.broker(leader).pid}/stat") as f:
            assert f.read().rsplit(")", 1)[1].split()[0] in "Tt"  # stopped
        c.resume(leader)
        assert not c.broker(leader).paused

        with pytest.raises(NotImplementedError, match="in-process"):
            c.isolate(1)
        with pytest.raises(NotImplementedError):
            c.records("proc")
        assert "process" in repr(c)
        c.pause(3)  # closing with a paused broker works
        pids = [b.pid for b in c.brokers]
        del producer
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)  # type: ignore[arg-type]
    assert (tmp_path / "procs" / "broker-1.log").exists()
    assert set(threading.enumerate()) == py_before
