"""Test mode for Streams applications: the topology under test runs against a real cluster
(usually an in-process ``Cluster``, with ``manual_clock=True`` if the test moves broker time),
fed with records carrying explicit event times, so windows open and close exactly where the
test says; instances can be added, stopped cleanly or killed (SIGKILL, for instances in their
own process) to force rebalances and task migrations.

    def build(app):
        app.stream("clicks").group_by_key().windowed_by(TimeWindows(60), emit="final") \\
            .count().to_stream().to("counts", value_serde="int64")

    with StreamsTester(cluster, build, default_key_serde="str") as t:
        t.send("clicks", "c1", key="alice", timestamp=0)
        t.send("clicks", "c2", key="alice", timestamp=61_000)  # closes [0, 60 s)
        t.process()
        assert [(r.key, r.value) for r in t.output("counts", value_serde="int64",
                                                    windowed="time", window_size=60)] == \\
            [(Windowed("alice", 0, 60_000), 1)]

Event times given to ``send`` are relative to ``t.epoch`` (an hour ago, on a whole hour): far
enough back to be in the past, recent enough that the broker's retention keeps the records.
``process()`` waits until the application's group has committed every input and repartition
partition up to its end, which (the app flushes before it commits) means every output is
written. Instances started with ``process=True`` run ``build`` in a child process, so ``build``
must then be a module-level function.
"""

from __future__ import annotations

import json
import os
import signal
import struct
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from ..admin import AdminClient
from ..consumer import Consumer
from ..producer import Producer
from ..serde import deserializer, serializer
from ..streams import OutputRecord, StreamsApp, Windowed

Build = Callable[[StreamsApp], None]


class _Instance:
    def __init__(self, app: StreamsApp | None, process: subprocess.Popen[str] | None) -> None:
        self.app = app
        self.process = process
        self.running = True


class StreamsTester:
    """Runs one Streams application (``build(app)`` adds its topology) as one or more
    instances against ``cluster``; see the module docstring."""

    def __init__(self, cluster: Any, build: Build, *, application_id: str | None = None,
                 default_key_serde: Any = "json", default_value_serde: Any = "json",
                 commit_interval: float = 0.1, session_timeout: float = 6.0,
                 config: dict[str, Any] | None = None) -> None:
        self.cluster = cluster
        self.build = build
        self.application_id = application_id or f"test-app-{uuid.uuid4().hex[:8]}"
        self.bootstrap_servers = getattr(cluster, "bootstrap_servers", cluster)
        self.epoch = (int(time.time()) - 3600) // 3600 * 3_600_000
        self._serdes = (default_key_serde, default_value_serde)
        # A killed instance's tasks move once its session expires: the shortest brokers allow
        # by default (group.min.session.timeout.ms).
        self._config = {"commit.interval.ms": str(max(1, round(commit_interval * 1000))),
                        "poll.ms": "20",
                        "consumer.session.timeout.ms": str(round(session_timeout * 1000)),
                        "consumer.heartbeat.interval.ms": str(max(10, round(session_timeout * 100))),
                        **{k: str(v) for k, v in (config or {}).items()}}
        self.instances: list[_Instance] = []
        self._producer: Producer | None = None
        self._admin = AdminClient(self.bootstrap_servers)
        self._readers: dict[str, Consumer] = {}
        self._source_topics: list[str] | None = None

    # ---- instances

    def start(self, instances: int = 1, *, process: bool = False) -> StreamsTester:
        for _ in range(instances):
            self.add_instance(process=process)
        return self

    def _new_app(self, index: int) -> StreamsApp:
        app = StreamsApp(self.application_id, self.bootstrap_servers,
                         default_key_serde=self._serdes[0], default_value_serde=self._serdes[1],
                         config={**self._config, "client.id": f"{self.application_id}-{index}"})
        self.build(app)
        return app

    def add_instance(self, *, process: bool = False) -> int:
        """Starts one more instance (a rebalance follows); returns its index. ``process=True``
        runs it in a child process (``build`` must be importable: a module-level function)."""
        index = len(self.instances)
        if self._source_topics is None:
            self._source_topics = self._new_app(index).source_topics
        if not process:
            app = self._new_app(index)
            app.start()
            self.instances.append(_Instance(app, None))
            return index
        target = f"{self.build.__module__}:{self.build.__qualname__}"
        if "<" in target:
            raise ValueError("process=True needs build to be a module-level function")
        spec = {"build": target, "application_id": self.application_id,
                "bootstrap_servers": self.bootstrap_servers,
                "default_key_serde": self._serdes[0], "default_value_serde": self._serdes[1],
                "config": {**self._config, "client.id": f"{self.application_id}-{index}"}}
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        child = subprocess.Popen([sys.executable, "-m", "pykafkacore.testing.streams_worker",
                                  json.dumps(spec)], stdout=subprocess.PIPE, text=True, env=env)
        line = child.stdout.readline() if child.stdout else ""
        if not line.startswith("started"):
            child.kill()
            raise RuntimeError(f"streams worker did not start: {line!r} (exit {child.wait()})")
        self.instances.append(_Instance(None, child))
        return index

    def stop_instance(self, index: int, timeout: float = 30.0) -> None:
        """Stops an instance cleanly: it commits and leaves the group, its tasks move at once."""
        inst = self.instances[index]
        if not inst.running:
            return
        inst.running = False
        if inst.app is not None:
            inst.app.stop(timeout)
        else:
            assert inst.process is not None  # an instance has an app or a process
            inst.process.send_signal(signal.SIGTERM)
            inst.process.wait(timeout)

    def kill_instance(self, index: int) -> None:
        """SIGKILLs a process instance: no commit, no LeaveGroup. Its tasks move when its
        session expires; what it processed since its last commit is processed again."""
        inst = self.instances[index]
        if inst.process is None:
            raise ValueError("only instances started with process=True can be killed")
        inst.running = False
        inst.process.kill()
        inst.process.wait(10)

    def app(self, index: int = 0) -> StreamsApp:
        """The StreamsApp of an in-process instance (metrics, tasks, state stores)."""
        app = self.instances[index].app
        if app is None:
            raise ValueError(f"instance {index} runs in a child process")
        return app

    def advance_time(self, seconds: float) -> None:
        """Moves the brokers' clock (a ``Cluster(manual_clock=True)``): retention, offsets
        expiry, group timers. Stream time moves only with the event times of records."""
        self.cluster.advance_time(seconds)

    # ---- input

    def send(self, topic: str, value: Any = None, key: Any = None, *, timestamp: int | None = None,
             headers: Any = None, key_serde: Any = None, value_serde: Any = None) -> None:
        """Writes one record and waits for its acknowledgement. ``timestamp``: event time in
        ms after ``epoch`` (None: now)."""
        self.send_many(topic, [(key, value, timestamp)], headers=headers, key_serde=key_serde,
                       value_serde=value_serde)

    def send_many(self, topic: str, records: Iterable[tuple[Any, Any, int | None]], *,
                  headers: Any = None, key_serde: Any = None, value_serde: Any = None) -> None:
        """(key, value, timestamp) in order, each acknowledged before returning."""
        ks = serializer(key_serde or self._serdes[0])
        vs = serializer(value_serde or self._serdes[1])
        if self._producer is None:
            self._producer = Producer(self.bootstrap_servers, config={"linger.ms": 1})
        futures = [self._producer.send(topic, vs(v) if vs else v, key=ks(k) if ks else k,
                                       headers=headers,
                                       timestamp=None if ts is None else self.epoch + ts)
                   for k, v, ts in records]
        self._producer.flush(30)
        for f in futures:
            f.result(30)

    # ---- processing

    def process(self, timeout: float = 30.0) -> None:
        """Waits until the application has consumed and committed everything there is to read
        (inputs and its own repartition topics), so every output has been written."""
        assert self._source_topics is not None, "start() first"
        deadline = time.monotonic() + timeout
        stable = 0
        while time.monotonic() < deadline:
            self._raise_app_errors()
            if self._caught_up():
                stable += 1
                if stable == 2:  # twice: nothing in flight between the two looks
                    return
            else:
                stable = 0
            time.sleep(0.05)
        raise TimeoutError(f"{self.application_id} did not process everything in {timeout} s")

    def _caught_up(self) -> bool:
        assert self._source_topics is not None
        described = self._admin.describe_topics(self._source_topics)
        partitions = [(t, p) for t, info in described.items() for p in range(len(info.partitions))]
        ends = self._admin.list_offsets(partitions, spec="latest")
        committed = self._admin.list_group_offsets(self.application_id, partitions)
        return all(committed.get(tp, 0) >= listed.offset for tp, listed in ends.items())

    def _raise_app_errors(self) -> None:
        for inst in self.instances:
            if inst.running and inst.app is not None and inst.app.state == "ERROR":
                inst.app.stop()  # re-raises the cause
            if inst.running and inst.process is not None and inst.process.poll() is not None:
                raise RuntimeError(f"streams worker exited with {inst.process.returncode}")

    # ---- output

    def output(self, topic: str, *, key_serde: Any = None, value_serde: Any = None,
               windowed: str | None = None, window_size: float | None = None) -> list[OutputRecord]:
        """Records written to ``topic`` since the previous call, by partition then offset, with
        timestamps relative to ``epoch``.
        ``windowed="time"`` or ``"session"`` decodes Kafka Streams' windowed keys into
        ``Windowed(key, start, end)`` with times relative to ``epoch``; the topic holds only a
        time window's start, so its end is start + ``window_size`` (seconds; -1 without)."""
        size = None if window_size is None else round(window_size * 1000)
        values = deserializer(value_serde or self._serdes[1])
        return [OutputRecord(r.topic, self._key(r.key, key_serde, windowed, size),
                             values(r.value) if values else r.value, r.timestamp - self.epoch,
                             r.headers)
                for r in self._read(topic)]

    def latest(self, topic: str, **kwargs: Any) -> dict[Any, Any]:
        """The latest value per key among the records ``output`` returns (a None value
        deletes the key): what a compacted topic or a table of it would hold."""
        table: dict[Any, Any] = {}
        for r in self.output(topic, **kwargs):
            if r.value is None:
                table.pop(r.key, None)
            else:
                table[r.key] = r.value
        return table

    def _read(self, topic: str) -> list[Any]:
        reader = self._readers.get(topic)
        if reader is None:
            reader = Consumer(bootstrap_servers=self.bootstrap_servers,
                              auto_offset_reset="earliest")
            reader.assign([(topic, p) for p in sorted(reader.partitions_for(topic, 30))])
            self._readers[topic] = reader
        ends = reader.end_offsets(reader.assignment(), timeout=30)
        out: list[Any] = []
        deadline = time.monotonic() + 30
        while any(reader.position(tp) < end for tp, end in ends.items()):
            if time.monotonic() > deadline:
                raise TimeoutError(f"could not read {topic} to its end")
            out.extend(r for r in reader.poll(0.2) if r.offset < ends[r.topic_partition])
        return sorted(out, key=lambda r: (r.partition, r.offset))

    def _key(self, raw: bytes | None, key_serde: Any, windowed: str | None,
             size: int | None) -> Any:
        des = deserializer(key_serde or self._serdes[0])
        if raw is None or windowed is None:
            return des(raw) if des else raw
        if windowed == "time":
            start = struct.unpack(">q", raw[-8:])[0]
            start -= self.epoch
            return Windowed(des(raw[:-8]) if des else raw[:-8], start,
                            -1 if size is None else start + size)
        if windowed == "session":
            end, start = struct.unpack(">qq", raw[-16:])
            return Windowed(des(raw[:-16]) if des else raw[:-16], start - self.epoch,
                            end - self.epoch)
        raise ValueError("windowed must be None, 'time' or 'session'")

    # ---- lifecycle

    def close(self) -> None:
        for i, inst in enumerate(self.instances):
            if inst.running:
                try:
                    self.stop_instance(i, timeout=15)
                except Exception:  # noqa: BLE001 - closing everything matters more here
                    pass
            if inst.process is not None and inst.process.poll() is None:
                inst.process.kill()
                inst.process.wait(10)
        for reader in self._readers.values():
            reader.close()
        if self._producer is not None:
            self._producer.close()
        self._admin.close()

    def __enter__(self) -> StreamsTester:
        if not self.instances:
            self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
