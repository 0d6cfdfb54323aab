"""Replicated clusters under broker failures, checked like Jepsen's Kafka workload.

Two tests, both with confluent-kafka (librdkafka) as the client:

* in-process: ``_core.LocalCluster`` with three brokers; the leader of a partition is stopped and
  restarted while an idempotent ``acks=all`` producer keeps writing;
* process-level: three ``kafkacore-server`` processes; the leader of partition 0 is killed with
  SIGKILL three times (and restarted with the same arguments) while a producer thread writes
  sequential values to three partitions.

Afterwards every partition is read back and checked as Jepsen's Kafka checker does (see
../shared/reference/reliability-security.md §1.8): no lost write, no duplicate, no inconsistent
offset, acknowledged order kept, offsets contiguous (no poll skip, no going backwards).
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

confluent_kafka = pytest.importorskip("confluent_kafka")
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

from pykafkacore._process import ServerProcess, find_server, free_ports  # noqa: E402

# The fast failure detection the C++ cluster tests use as well.
FAST = {
    "broker.session.timeout.ms": "1000",
    "broker.heartbeat.interval.ms": "100",
    "controller.quorum.election.timeout.ms": "300",
    "replica.lag.time.max.ms": "2000",
    "replica.fetch.backoff.ms": "50",
    "replica.fetch.wait.max.ms": "100",
    "kafkacore.tick.ms": "100",
    "group.initial.rebalance.delay.ms": "0",
}

# librdkafka: notice a dead leader and find the new one quickly, never give up on a record.
CLIENT_FAST = {
    "socket.connection.setup.timeout.ms": 2000,
    "reconnect.backoff.ms": 20,
    "reconnect.backoff.max.ms": 200,
    "retry.backoff.ms": 20,
    "retry.backoff.max.ms": 200,
    "topic.metadata.refresh.interval.ms": 1000,
    "log_level": 2,  # connection failures are expected here; keep librdkafka quiet
}


# ---------------------------------------------------------------------------------------------
# Jepsen-style history and checker


@dataclass
class Ack:
    partition: int
    seq: int
    value: bytes
    offset: int
    produced_at: float
    acked_at: float


@dataclass
class History:
    """What the producer learnt: acknowledged records (in delivery-report order per partition)
    and failed ones (indefinite: an idempotent producer's failure may still have been written)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    acked: dict[int, list[Ack]] = field(default_factory=lambda: defaultdict(list))
    failed: dict[int, list[tuple[int, str]]] = field(default_factory=lambda: defaultdict(list))
    sent: int = 0

    def callback(self, partition: int, seq: int, value: bytes, produced_at: float) -> Any:
        def on_delivery(err: Any, msg: Any) -> None:
            now = time.monotonic()
            with self.lock:
                if err is not None:
                    self.failed[partition].append((seq, str(err)))
                else:
                    assert msg.partition() == partition
                    self.acked[partition].append(
                        Ack(partition, seq, value, msg.offset(), produced_at, now))

        return on_delivery

    def acked_count(self) -> int:
        with self.lock:
            return sum(len(v) for v in self.acked.values())

    def first_ack_produced_after(self, partition: int, t0: float) -> Ack | None:
        with self.lock:
            for ack in self.acked[partition]:
                if ack.produced_at > t0:
                    return ack
        return None


def value_of(partition: int, seq: int) -> bytes:
    return b"p%d-%d" % (partition, seq)


def check_history(history: History, read: dict[int, list[tuple[int, bytes]]],
                  partitions: int) -> list[str]:
    """The anomalies Jepsen's Kafka checker reports, for a history without transactions."""
    problems: list[str] = []
    for p in range(partitions):
        records = read.get(p, [])
        acks = history.acked.get(p, [])
        offsets = [o for o, _ in records]
        # poll-skip / nonmonotonic-poll: one pass from the start reads offsets 0, 1, 2, ...
        if offsets != list(range(len(offsets))):
            bad = next(i for i, o in enumerate(offsets) if o != i)
            problems.append(f"p{p}: offsets not contiguous from 0 (index {bad}: "
                            f"{offsets[max(0, bad - 2):bad + 3]})")
        at_offset = dict(records)
        where: dict[bytes, list[int]] = defaultdict(list)
        for offset, value in records:
            where[value].append(offset)
        duplicates = {v: o for v, o in where.items() if len(o) > 1}
        if duplicates:
            sample = sorted(duplicates.items())[:5]
            problems.append(f"p{p}: duplicate: {len(duplicates)} values at several offsets, "
                            f"e.g. {sample}")
        lost = [a for a in acks if a.value not in where]
        if lost:
            problems.append(f"p{p}: lost-write: {len(lost)} of {len(acks)} acknowledged records "
                            f"never read, e.g. {[(a.seq, a.offset) for a in lost[:5]]}")
        inconsistent = [a for a in acks
                        if a.offset in at_offset and at_offset[a.offset] != a.value]
        if inconsistent:
            problems.append(
                f"p{p}: inconsistent-offsets: {len(inconsistent)} acknowledged offsets hold "
                f"another value, e.g. "
                f"{[(a.offset, a.value, at_offset[a.offset]) for a in inconsistent[:5]]}")
        missing_offset = [a for a in acks if a.offset not in at_offset]
        if missing_offset and not lost:
            problems.append(f"p{p}: {len(missing_offset)} acknowledged offsets beyond the log, "
                            f"e.g. {[(a.seq, a.offset) for a in missing_offset[:5]]}")
        # nonmonotonic-send: one producer's records to one partition land in the order sent, and
        # their delivery reports come in that order.
        by_seq = sorted(acks, key=lambda a: a.seq)
        if any(b.offset <= a.offset for a, b in zip(by_seq, by_seq[1:])):
            bad = next((a, b) for a, b in zip(by_seq, by_seq[1:]) if b.offset <= a.offset)
            problems.append(f"p{p}: nonmonotonic-send: seq {bad[0].seq}@{bad[0].offset} then "
                            f"seq {bad[1].seq}@{bad[1].offset}")
        if any(b.offset <= a.offset for a, b in zip(acks, acks[1:])):
            problems.append(f"p{p}: delivery reports out of offset order")
        # Acknowledged values appear in the log in acknowledged order.
        positions = [where[a.value][0] for a in by_seq if a.value in where]
        if positions != sorted(positions):
            problems.append(f"p{p}: acknowledged values read out of acknowledged order")
    return problems


def read_all(bootstrap: str, topic: str, partitions: int, timeout: float = 30.0
             ) -> dict[int, list[tuple[int, bytes]]]:
    """Every record of every partition, from offset 0 up to the high watermark, by assignment."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "checker-read",
                         "enable.auto.commit": False, "enable.partition.eof": True,
                         "auto.offset.reset": "earliest", **CLIENT_FAST})
    try:
        high = {}
        for p in range(partitions):
            _, high[p] = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
        consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
        read: dict[int, list[tuple[int, bytes]]] = defaultdict(list)
        done = {p for p in range(partitions) if high[p] == 0}
        deadline = time.monotonic() + timeout
        while len(done) < partitions:
            assert time.monotonic() < deadline, (
                f"final read stalled: read {({p: len(v) for p, v in read.items()})}, "
                f"high watermarks {high}")
            for msg in consumer.consume(1000, timeout=0.5):
                if msg.error():
                    if msg.error().code() == KafkaError._PARTITION_EOF:
                        if msg.offset() >= high[msg.partition()]:
                            done.add(msg.partition())
                        continue
                    raise AssertionError(f"final read: {msg.error()}")
                read[msg.partition()].append((msg.offset(), msg.value()))
                if msg.offset() + 1 >= high[msg.partition()]:
                    done.add(msg.partition())
        return dict(read)
    finally:
        consumer.close()


def partition_metadata(admin: AdminClient, topic: str) -> dict[int, Any]:
    md = admin.list_topics(topic, timeout=5)
    t = md.topics[topic]
    if t.error is not None:
        return {}
    return dict(t.partitions)


def leader_of(admin: AdminClient, topic: str, partition: int, timeout: float = 15.0,
              not_in: tuple[int, ...] = ()) -> int:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            parts = partition_metadata(admin, topic)
            last = parts.get(partition)
            if last is not None and last.leader >= 0 and last.leader not in not_in:
                return int(last.leader)
        except Exception as e:  # noqa: BLE001 - a broker may be down; ask again
            last = repr(e)  # not the exception: its traceback would form a reference cycle
        time.sleep(0.1)
    raise AssertionError(f"no leader for {topic}-{partition} (last metadata: {last})")


def wait_in_all_isrs(admin: AdminClient, topic: str, broker_id: int, partitions: int,
                     timeout: float) -> float | None:
    """Seconds until `broker_id` is in the ISR of every partition; None on timeout."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        try:
            parts = partition_metadata(admin, topic)
            if len(parts) == partitions and all(broker_id in parts[p].isrs for p in parts):
                return time.monotonic() - start
        except Exception:  # noqa: BLE001
            pass
        time.sleep(0.1)
    return None


def wait_out_of_all_isrs(admin: AdminClient, topic: str, broker_id: int, partitions: int,
                         timeout: float) -> float | None:
    """The monotonic time at which `broker_id` was in no ISR; None on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            parts = partition_metadata(admin, topic)
            if len(parts) == partitions and all(broker_id not in m.isrs for m in parts.values()):
                return time.monotonic()
        except Exception:  # noqa: BLE001
            pass
        time.sleep(0.05)
    return None


def isrs(admin: AdminClient, topic: str) -> dict[int, list[int]]:
    try:
        return {p: list(m.isrs) for p, m in partition_metadata(admin, topic).items()}
    except Exception as e:  # noqa: BLE001
        return {-1: [repr(e)]}  # type: ignore[list-item]


def create_topic(admin: AdminClient, topic: str, partitions: int, min_isr: int = 2) -> None:
    futures = admin.create_topics([NewTopic(topic, num_partitions=partitions,
                                            replication_factor=3,
                                            config={"min.insync.replicas": str(min_isr)})],
                                  operation_timeout=10, request_timeout=15)
    futures[topic].result(timeout=20)
    deadline = time.monotonic() + 20
    while True:
        parts = partition_metadata(admin, topic)
        if (len(parts) == partitions
                and all(m.leader >= 0 and len(m.isrs) == 3 for m in parts.values())):
            return
        assert time.monotonic() < deadline, f"topic {topic} not fully replicated: {parts}"
        time.sleep(0.1)


def make_producer(bootstrap: str) -> Producer:
    return Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True,
                     "linger.ms": 5, "message.timeout.ms": 60000, "request.timeout.ms": 5000,
                     **CLIENT_FAST})


# ---------------------------------------------------------------------------------------------
# (a) in-process cluster


def produce_batch(producer: Producer, history: History, topic: str, partitions: int,
                  seqs: range) -> None:
    for seq in seqs:
        for p in range(partitions):
            value = value_of(p, seq)
            while True:
                try:
                    producer.produce(topic, value, key=b"k%d" % p, partition=p,
                                     on_delivery=history.callback(p, seq, value,
                                                                  time.monotonic()))
                    break
                except BufferError:
                    producer.poll(0.05)
            history.sent += 1
        producer.poll(0)


def test_in_process_cluster_survives_leader_stop(tmp_path: Path) -> None:
    from pykafkacore._core import LocalCluster

    topic, partitions = "acked", 3
    with LocalCluster(3, str(tmp_path), FAST) as cluster:
        assert cluster.broker_ids == [1, 2, 3]
        bootstrap = cluster.bootstrap_servers
        assert bootstrap.count(",") == 2
        for i in cluster.broker_ids:
            assert cluster.running(i)
            assert f"127.0.0.1:{cluster.broker_port(i)}" in bootstrap
        admin = AdminClient({"bootstrap.servers": bootstrap, **CLIENT_FAST})
        create_topic(admin, topic, partitions)

        history = History()
        producer = make_producer(bootstrap)
        produce_batch(producer, history, topic, partitions, range(0, 200))
        assert producer.flush(30) == 0

        leader = leader_of(admin, topic, 0)
        port = cluster.broker_port(leader)
        t0 = time.monotonic()
        cluster.stop_broker(leader)
        assert not cluster.running(leader)
        assert cluster.broker_port(leader) == port  # kept while stopped
        produce_batch(producer, history, topic, partitions, range(200, 400))
        assert producer.flush(30) == 0, "records still unacknowledged with a broker stopped"
        first = history.first_ack_produced_after(0, t0)
        assert first is not None
        print(f"\nin-process: broker {leader} stopped; first acks=all on partition 0 after "
              f"{(first.acked_at - t0) * 1000:.0f} ms")
        new_leader = leader_of(admin, topic, 0, not_in=(leader,))
        assert new_leader != leader

        cluster.restart_broker(leader)
        assert cluster.running(leader)
        assert cluster.broker_port(leader) == port
        produce_batch(producer, history, topic, partitions, range(400, 500))
        assert producer.flush(30) == 0
        rejoined = wait_in_all_isrs(admin, topic, leader, partitions, timeout=20)
        assert rejoined is not None, f"broker {leader} not back in every ISR: " \
            f"{partition_metadata(admin, topic)}"

        assert not any(history.failed.values()), dict(history.failed)
        assert history.acked_count() == history.sent == 500 * partitions
        read = read_all(bootstrap, topic, partitions)
        problems = check_history(history, read, partitions)
        assert not problems, "\n".join(problems)
        # Nothing unacknowledged either: every record was acknowledged exactly once.
        assert sum(len(v) for v in read.values()) == history.sent
        # With everything acknowledged, the log is exactly the sends in order.
        for p in range(partitions):
            assert [v for _, v in read[p]] == [value_of(p, s) for s in range(500)]

        # Clean stop / restart API edges.
        with pytest.raises(ValueError):
            cluster.restart_broker(leader)  # running
        with pytest.raises(ValueError):
            cluster.broker_port(9)


# ---------------------------------------------------------------------------------------------
# (b) three kafkacore-server processes, SIGKILL of the leader


class ProducerThread(threading.Thread):
    """Writes value_of(p, seq) to every partition p for seq = 0, 1, ... until halted, then flushes.

    The producer lives and dies in this thread (created, polled, flushed and dropped here):
    confluent-kafka objects shared between threads have crashed in garbage collection
    (confluentinc/confluent-kafka-python#1761)."""

    def __init__(self, bootstrap: str, history: History, topic: str, partitions: int,
                 interval: float = 0.004) -> None:
        super().__init__(daemon=True)
        self.bootstrap, self.history, self.topic = bootstrap, history, topic
        self.partitions, self.interval = partitions, interval
        self.halt = threading.Event()
        self.error: str | None = None
        self.unflushed: int | None = None
        self.next_seq = 0

    def run(self) -> None:
        try:
            producer = make_producer(self.bootstrap)
            while not self.halt.is_set():
                produce_batch(producer, self.history, self.topic, self.partitions,
                              range(self.next_seq, self.next_seq + 1))
                self.next_seq += 1
                producer.poll(self.interval)
            self.unflushed = producer.flush(30)
            del producer
        except BaseException as e:  # noqa: BLE001 - reported by the test
            self.error = repr(e)


def test_process_cluster_survives_sigkill_of_the_leader(tmp_path: Path) -> None:
    command = find_server()  # kafkacore-server, or `python -m pykafkacore serve` if not built
    test_start = time.monotonic()
    ports = free_ports(6)
    kafka_ports, controller_ports = ports[:3], ports[3:]
    voters = ",".join(f"{i + 1}@127.0.0.1:{controller_ports[i]}" for i in range(3))
    servers = {
        i + 1: ServerProcess(command, i + 1, kafka_ports[i], controller_ports[i], voters,
                             tmp_path / f"broker-{i + 1}", tmp_path / f"broker-{i + 1}.log",
                             properties=FAST)
        for i in range(3)
    }
    bootstrap = ",".join(f"127.0.0.1:{p}" for p in kafka_ports)
    topic, partitions = "jepsen", 3
    writer: ProducerThread | None = None
    problems: list[str] = []
    try:
        for s in servers.values():
            s.start()
        for s in servers.values():
            s.wait_ready(30)
        print(f"\ncluster ready after {time.monotonic() - test_start:.1f} s ({bootstrap})")

        admin = AdminClient({"bootstrap.servers": bootstrap, **CLIENT_FAST})
        create_topic(admin, topic, partitions)

        history = History()
        writer = ProducerThread(bootstrap, history, topic, partitions)
        writer.start()
        deadline = time.monotonic() + 15
        while history.acked_count() < 100:
            assert time.monotonic() < deadline, f"no progress before faults: {dict(history.failed)}"
            time.sleep(0.05)

        failovers_ms: list[float] = []
        rejoin_s: list[float] = []
        for round_ in range(3):
            leader = leader_of(admin, topic, 0)
            victim = servers[leader]
            t0 = time.monotonic()
            victim.kill()
            # Failover: the first acks=all delivery to partition 0 of a record produced after the
            # kill (the dead broker cannot have acknowledged it).
            first = None
            while first is None and time.monotonic() - t0 < 20:
                time.sleep(0.01)
                first = history.first_ack_produced_after(0, t0)
            if first is None:
                problems.append(f"round {round_}: no acks=all delivery to partition 0 within 20 s "
                                f"of killing broker {leader}")
            else:
                failovers_ms.append((first.acked_at - t0) * 1000)
            new_leader = leader_of(admin, topic, 0, not_in=(leader,))
            print(f"round {round_}: killed broker {leader} (leader of {topic}-0); new leader "
                  f"{new_leader}; failover "
                  f"{'n/a' if first is None else f'{failovers_ms[-1]:.0f} ms'}")
            # The dead broker leaves every ISR (fenced once its session expires, or dropped by
            # the leaders after replica.lag.time.max.ms), so its return below means something.
            shrunk = wait_out_of_all_isrs(admin, topic, leader, partitions, timeout=8)
            if shrunk is None:
                problems.append(f"round {round_}: killed broker {leader} still in an ISR 8 s "
                                f"later: {isrs(admin, topic)}")
            else:
                print(f"round {round_}: broker {leader} out of every ISR "
                      f"{(shrunk - t0) * 1000:.0f} ms after the kill")
            time.sleep(max(0.0, 1.5 - (time.monotonic() - t0)))
            victim.start()
            ready_s = victim.wait_ready(30)
            back = wait_in_all_isrs(admin, topic, leader, partitions, timeout=15)
            print(f"round {round_}: broker {leader} restarted, ready after {ready_s:.2f} s, "
                  f"{'NOT back in every ISR within 15 s' if back is None else f'back in every ISR after {back:.2f} s'}")
            if back is None:
                problems.append(f"round {round_}: broker {leader} not back in the ISR of every "
                                f"partition 15 s after restarting: "
                                f"{isrs(admin, topic)}")
            else:
                rejoin_s.append(back)

        writer.halt.set()
        writer.join(40)
        assert not writer.is_alive(), "the producer thread did not finish"
        assert writer.error is None, f"producer thread failed: {writer.error}"
        assert writer.unflushed == 0, \
            f"{writer.unflushed} records unacknowledged 30 s after the last fault"

        read = read_all(bootstrap, topic, partitions)
        problems += check_history(history, read, partitions)
        acked = history.acked_count()
        failed = sum(len(v) for v in history.failed.values())
        total_read = sum(len(v) for v in read.values())
        print(f"sent {history.sent}, acknowledged {acked}, failed {failed}, read {total_read}; "
              f"failover ms {[round(f) for f in failovers_ms]}, "
              f"ISR rejoin s {[round(r, 2) for r in rejoin_s]}")
        if failed:
            problems.append(f"{failed} deliveries failed (message.timeout.ms 60 s): "
                            f"{ {p: v[:3] for p, v in history.failed.items() if v} }")
        # Every record the idempotent producer sent is eventually acknowledged exactly once.
        if total_read != history.sent:
            problems.append(f"read {total_read} records, the producer sent {history.sent}")

        # Group coordination works after the faults: a subscribed group member reads the topic.
        group = Consumer({"bootstrap.servers": bootstrap, "group.id": "after-faults",
                          "auto.offset.reset": "earliest", "enable.auto.commit": False,
                          "session.timeout.ms": 6000, "heartbeat.interval.ms": 500,
                          **CLIENT_FAST})
        try:
            group.subscribe([topic])
            got: dict[int, int] = defaultdict(int)
            deadline = time.monotonic() + 30
            while sum(got.values()) < total_read and time.monotonic() < deadline:
                for msg in group.consume(1000, timeout=0.5):
                    if msg.error() is None:
                        got[msg.partition()] += 1
            if sum(got.values()) != total_read:
                problems.append(f"group consumer read {dict(got)}, expected {total_read} records")
            else:
                committed = group.commit(asynchronous=False)
                offsets = {tp.partition: tp.offset for tp in committed or []}
                expected = {p: len(read.get(p, [])) for p in range(partitions)}
                if offsets != expected:
                    problems.append(f"group commit: {offsets}, expected {expected}")
        finally:
            group.close()
        print(f"process test took {time.monotonic() - test_start:.1f} s")
        assert not problems, "\n".join(problems) + "\n" + "\n".join(
            s.tail() for s in servers.values())
    finally:
        if writer is not None:
            writer.halt.set()
            writer.join(10)
        for s in servers.values():
            s.stop()
