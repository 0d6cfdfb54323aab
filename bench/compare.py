#!/usr/bin/env python3
"""pykafkacore side by side with Apache Kafka (issue 8): the scenarios of the classic Kafka
benchmark, the same load generators against both, runs alternating between the systems, medians
in one Markdown table (stdout) and every run in a JSON file.

  bench/compare.py [--profile short|full|smoke] [--systems pykafkacore,kafka,mock]
                   [--scenarios 1,5,6] [--generators librdkafka,c,java] [--out FILE.json]
                   [--server PATH|python]
  bench/compare.py --table FILE.json        the table of an earlier run

`make bench` runs the short profile, `make bench-full` the full one. Scenarios (docs/benchmarks.md
says more): 1 one producer, 100 B, RF=1, acks=1; 2 RF=3 acks=1; 3 RF=3 acks=all; 4 three
producers, RF=3; 5 consumer on a pre-filled topic; 6 end-to-end latency at a fixed rate; 7 1 KiB
and 100 KiB records; 8 process start to the first acknowledged produce; 9 resident memory, idle
and under load; 10 kill -9 of a partition leader to the first acks=all write acknowledged.

Load generators: `librdkafka` through confluent-kafka (bench/loadgen.py), `c` the same library
through its C API (bench/rdkafka_loadgen), `java` Kafka's ProducerPerformance/ConsumerPerformance.

Every system runs on the same loopback and disk, one at a time; a round starts each system afresh
(new data directory), in rotating order, and the machine's ceilings are measured again in every
round. Three-node scenarios (2, 3, 4, 10) run `kafkacore-server` processes forming a KRaft-style
quorum, as Kafka's three combined nodes do.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))
import ceilings  # noqa: E402
import loadgen  # noqa: E402
from common import (ROOT, create_topic, log, ms_to_first_ack_after_kill, partition_leaders,  # noqa: E402
                    quiet_config, rss_mb)
from systems import LABELS, SYSTEMS, Unavailable, default_server, start_cluster  # noqa: E402


@dataclass(frozen=True)
class Profile:
    rounds: int              # single-node rounds (each system started afresh once per round)
    rounds3: int             # three-node rounds
    warmup: int              # 100 B records produced and consumed before measuring (JIT, caches)
    records: int             # scenario 1 and 5, librdkafka
    c_records: int           # scenario 1 and 5, librdkafka's C API (several times faster)
    java_records: int        # scenario 1 and 5, ProducerPerformance/ConsumerPerformance
    java_warmup: int         # ProducerPerformance --warmup-records (left out of its figures)
    kib_records: int         # scenario 7, 1 KiB
    big_records: int         # scenario 7, 100 KiB
    lat_rate: int            # scenario 6, records/s
    lat_seconds: float       # scenario 6, duration (the first 0.5 s is left out)
    rf3_records: int         # scenarios 2-4, per producer
    rf3_runs: int            # scenarios 2-4, runs per three-node round
    failover_runs: int       # scenario 10, per three-node round
    ceiling_seconds: float
    disk_mb: int


PROFILES = {
    "smoke": Profile(rounds=1, rounds3=0, warmup=0, records=20_000, c_records=20_000,
                     java_records=20_000, java_warmup=0, kib_records=2_000, big_records=20,
                     lat_rate=1000, lat_seconds=1.5, rf3_records=20_000, rf3_runs=1,
                     failover_runs=1, ceiling_seconds=0.2, disk_mb=16),
    "short": Profile(rounds=3, rounds3=1, warmup=200_000, records=500_000, c_records=2_000_000,
                     java_records=500_000, java_warmup=150_000, kib_records=100_000,
                     big_records=1_000, lat_rate=1000, lat_seconds=5, rf3_records=150_000,
                     rf3_runs=2, failover_runs=3, ceiling_seconds=1.0, disk_mb=512),
    "full": Profile(rounds=5, rounds3=3, warmup=1_000_000, records=5_000_000, c_records=5_000_000,
                    java_records=5_000_000, java_warmup=1_000_000, kib_records=1_000_000,
                    big_records=10_000, lat_rate=1000, lat_seconds=20, rf3_records=1_000_000,
                    rf3_runs=1, failover_runs=5, ceiling_seconds=2.0, disk_mb=2048),
}


@dataclass(frozen=True)
class Row:
    key: str
    scenario: int
    label: str
    generator: str
    unit: str                 # rec/s, MB/s, ms, MiB, CPU s
    better: str               # higher | lower
    ceiling: str = ""         # produce | consume | p50 | p99 | ""
    size: int = 100           # record size, to show rec/s next to MB/s and back


RDK, RDKC = "librdkafka", "librdkafka C API"
PP, CP = "ProducerPerformance", "ConsumerPerformance"
ROWS = [
    Row("1.rdkafka", 1, "1 producer, 100 B, RF=1, acks=1", RDK, "rec/s", "higher", "produce"),
    Row("1.c", 1, "1 producer, 100 B, RF=1, acks=1", RDKC, "rec/s", "higher", "produce"),
    Row("1.java", 1, "1 producer, 100 B, RF=1, acks=1", PP, "rec/s", "higher", "produce"),
    Row("1.cpu", 1, "broker CPU time per 1 M records of scenario 1", RDK, "CPU s", "lower"),
    # What the producer itself spends, on the same two cores the broker runs on.
    Row("1.gencpu", 1, "load generator CPU time per 1 M records of scenario 1", RDK, "CPU s",
        "lower"),
    Row("1.c.gencpu", 1, "load generator CPU time per 1 M records of scenario 1", RDKC, "CPU s",
        "lower"),
    Row("2.rdkafka", 2, "1 producer, 100 B, RF=3, acks=1", RDK, "rec/s", "higher", "produce"),
    Row("2.java", 2, "1 producer, 100 B, RF=3, acks=1", PP, "rec/s", "higher", "produce"),
    Row("3.rdkafka", 3, "1 producer, 100 B, RF=3, acks=all", RDK, "rec/s", "higher", "produce"),
    Row("3.java", 3, "1 producer, 100 B, RF=3, acks=all", PP, "rec/s", "higher", "produce"),
    Row("4.rdkafka", 4, "3 producers, 100 B, RF=3, acks=1", RDK, "rec/s", "higher", "produce"),
    Row("4.java", 4, "3 producers, 100 B, RF=3, acks=1", PP, "rec/s", "higher", "produce"),
    Row("5.rdkafka", 5, "1 consumer, 100 B, pre-filled topic", RDK, "rec/s", "higher", "consume"),
    Row("5.c", 5, "1 consumer, 100 B, pre-filled topic", RDKC, "rec/s", "higher", "consume"),
    Row("5.cpu", 5, "broker CPU time per 1 M records of scenario 5", RDK, "CPU s", "lower"),
    Row("5.java", 5, "1 consumer, 100 B, pre-filled topic", CP, "rec/s", "higher", "consume"),
    Row("6.p50", 6, "end-to-end latency p50, 1,000 rec/s, 100 B, acks=1", RDK, "ms", "lower", "p50"),
    Row("6.p99", 6, "end-to-end latency p99, 1,000 rec/s, 100 B, acks=1", RDK, "ms", "lower", "p99"),
    Row("6.p999", 6, "end-to-end latency p99.9, 1,000 rec/s, 100 B, acks=1", RDK, "ms", "lower", "p99"),
    Row("7.1k.rdkafka", 7, "1 producer, 1 KiB, RF=1, acks=1", RDK, "MB/s", "higher", "produce", 1024),
    Row("7.1k.java", 7, "1 producer, 1 KiB, RF=1, acks=1", PP, "MB/s", "higher", "produce", 1024),
    Row("7.100k.rdkafka", 7, "1 producer, 100 KiB, RF=1, acks=1", RDK, "MB/s", "higher", "produce",
        102400),
    Row("7.100k.java", 7, "1 producer, 100 KiB, RF=1, acks=1", PP, "MB/s", "higher", "produce",
        102400),
    Row("8.start", 8, "process start to first acked produce (new topic)", RDK, "ms", "lower"),
    Row("9.idle", 9, "resident memory, idle", "-", "MiB", "lower"),
    Row("9.load", 9, "resident memory, peak during scenario 1", RDK, "MiB", "lower"),
    Row("10.failover", 10, "kill -9 of a partition leader to first acked acks=all write", RDK, "ms",
        "lower"),
    Row("10.fast", 10, "the same with a 1 s broker session (heartbeats every 100 ms) on both",
        RDK, "ms", "lower"),
]
ROW = {r.key: r for r in ROWS}
SINGLE_NODE_SCENARIOS = {1, 5, 6, 7, 8, 9}
THREE_NODE_SCENARIOS = {2, 3, 4, 10}
# Scenario 10 again on clusters that notice a dead broker within 1 s, as a test suite would set
# them (pykafkacore.Cluster's defaults); Kafka's own defaults (9 s session) dominate 10.failover.
FAST_FAILOVER_SETTINGS = {"broker.session.timeout.ms": "1000", "broker.heartbeat.interval.ms": "100"}


@dataclass
class Results:
    values: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    na: dict[str, dict[str, str]] = field(default_factory=dict)
    errors: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    extra: dict[str, dict[str, list[dict]]] = field(default_factory=dict)
    ceilings: list[dict[str, float]] = field(default_factory=list)

    def add(self, key: str, system: str, value: float, detail: dict | None = None) -> None:
        self.values.setdefault(key, {}).setdefault(system, []).append(value)
        if detail:
            self.extra.setdefault(key, {}).setdefault(system, []).append(detail)

    def mark_na(self, keys: list[str], system: str, reason: str) -> None:
        for key in keys:
            self.na.setdefault(key, {})[system] = reason

    def fail(self, keys: list[str], system: str, error: BaseException) -> None:
        message = f"{type(error).__name__}: {error}".strip()
        log(f"  !! {system} {','.join(keys)}: {message[:800]}")
        for key in keys:
            self.errors.setdefault(key, {}).setdefault(system, []).append(message[:2000])

    def median(self, key: str, system: str) -> float | None:
        runs = self.values.get(key, {}).get(system)
        return statistics.median(runs) if runs else None

    def ceiling(self, name: str) -> float | None:
        """The best of the rounds (bandwidth: highest; round trip: lowest)."""
        runs = [c[name] for c in self.ceilings if name in c]
        if not runs:
            return None
        return min(runs) if name.startswith("rtt") else max(runs)

    def to_json(self) -> dict:
        return {"values": self.values, "na": self.na, "errors": self.errors, "extra": self.extra,
                "ceilings": self.ceilings}

    @classmethod
    def from_json(cls, data: dict) -> "Results":
        return cls(data["values"], data["na"], data["errors"], data.get("extra", {}),
                   data["ceilings"])


def attempt(res: Results, keys: list[str], system: str, fn: Callable[[], None]) -> None:
    """Runs one measurement; a failure is recorded against its rows and the benchmark goes on."""
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - one failed scenario must not lose the others
        res.fail(keys, system, e)


class RssSampler:
    """Peak resident memory of some processes, sampled every 50 ms in a thread."""

    def __init__(self, pids: list[int]):
        self.pids = pids
        self.peak = rss_mb(pids)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, rss_mb(self.pids))

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return max(self.peak, rss_mb(self.pids))


def cpu_seconds(pids: list[int]) -> float:
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
        except FileNotFoundError:
            pass
    return total


class Bench:
    def __init__(self, profile: Profile, systems: list[str], scenarios: set[int],
                 generators: set[str], server: str):
        self.p = profile
        self.systems = systems
        self.scenarios = scenarios
        self.generators = generators
        self.server = server
        self.res = Results()

    def want(self, *scenarios: int) -> bool:
        return any(s in self.scenarios for s in scenarios)

    def java(self) -> bool:
        return "java" in self.generators

    def rdkafka(self) -> bool:
        return "librdkafka" in self.generators

    def c_api(self) -> bool:
        return "c" in self.generators

    def selected(self, row: Row) -> bool:
        """Whether this run measures the row (its scenario and load generator were chosen)."""
        if not self.want(row.scenario):
            return False
        if row.generator in (PP, CP):
            return self.java()
        if row.generator == RDKC:
            return self.c_api()
        return row.generator == "-" or self.rdkafka()

    # --- phases ---------------------------------------------------------------------------------

    def run(self) -> Results:
        brokers = [s for s in self.systems if s in SYSTEMS]
        for rnd in range(self.p.rounds):
            shift = rnd % max(1, len(brokers))
            order = brokers[shift:] + brokers[:shift]
            log(f"== round {rnd + 1}/{self.p.rounds}: ceilings, {', '.join(order)}"
                f"{', mock' if 'mock' in self.systems else ''}")
            self.measure_ceilings()
            if self.want(*SINGLE_NODE_SCENARIOS):
                for system in order:
                    self.with_cluster(system, 1, SINGLE_NODE_SCENARIOS, self.single_node)
            if "mock" in self.systems and (self.rdkafka() or self.c_api()) and self.want(1, 7):
                self.mock()
        if self.want(*THREE_NODE_SCENARIOS):
            for rnd in range(self.p.rounds3):
                shift = rnd % max(1, len(brokers))
                order = brokers[shift:] + brokers[:shift]
                log(f"== three-node round {rnd + 1}/{self.p.rounds3}: {', '.join(order)}")
                for system in order:
                    self.with_cluster(system, 3, THREE_NODE_SCENARIOS, self.three_nodes)
        if self.want(10) and self.selected(ROW["10.fast"]) and self.p.rounds3 > 0:
            for system in brokers:
                self.with_cluster(system, 3, {10}, self.fast_failover, settings=FAST_FAILOVER_SETTINGS,
                                  rows=["10.fast"])
        return self.res

    def measure_ceilings(self) -> None:
        def go() -> None:
            measured = ceilings.measure(self.p.ceiling_seconds, self.p.disk_mb)
            measured["loadavg_1min"] = os.getloadavg()[0]  # others' load on the box, if any
            self.res.ceilings.append(measured)
        attempt(self.res, ["ceilings"], "machine", go)

    def with_cluster(self, system: str, nodes: int, scenarios: set[int],
                     suite: Callable[[str, object], None], settings: dict[str, str] | None = None,
                     rows: list[str] | None = None) -> None:
        keys = rows or [r.key for r in ROWS if r.scenario in scenarios and self.selected(r)
                        and r.key != "10.fast"]
        t0 = time.monotonic()
        try:
            cluster = start_cluster(system, nodes, server=self.server, settings=settings)
        except Unavailable as e:
            self.res.mark_na(keys, system, str(e))
            log(f"  {LABELS[system]} x{nodes}: n/a ({e})")
            return
        except Exception as e:  # noqa: BLE001
            self.res.fail(keys, system, e)
            return
        log(f"  {LABELS[system]} x{nodes} up in {time.monotonic() - t0:.1f} s, accepted a "
            f"produce {cluster.ready_after * 1000:,.0f} ms after its start ({cluster.bootstrap})")
        if nodes == 1 and self.want(8):
            self.res.add("8.start", system, cluster.ready_after * 1000)
        try:
            suite(system, cluster)
        finally:
            t1 = time.monotonic()
            cluster.stop()
            cluster.cleanup()
        log(f"  {LABELS[system]} x{nodes} done in {time.monotonic() - t0:.1f} s "
            f"(stopping took {time.monotonic() - t1:.1f} s)")

    def warm_up(self, cluster, replication: int) -> None:
        """Records through the paths the scenarios take, unmeasured, so that a JVM's JIT has
        compiled them (Kafka's first run on three fresh nodes is otherwise half as fast)."""
        if not self.p.warmup:
            return
        bs = cluster.bootstrap
        if replication == 1:
            create_topic(bs, "warmup", 1, 1)
            loadgen.run("produce", bootstrap=bs, topic="warmup", records=self.p.warmup,
                        size=100, acks="1", partition=0)
        else:
            create_topic(bs, "warmup", 3, replication)
            for acks in ("1", "all"):
                loadgen.run("produce", bootstrap=bs, topic="warmup", records=self.p.warmup,
                            size=100, acks=acks)
        loadgen.run("consume", bootstrap=bs, topic="warmup",
                    records=self.p.warmup * (1 if replication == 1 else 2))

    def single_node(self, system: str, cluster) -> None:
        p, res, bs = self.p, self.res, cluster.bootstrap
        attempt(res, ["warmup"], system, lambda: self.warm_up(cluster, 1))

        if self.want(9):
            def idle() -> None:
                time.sleep(2.0)
                res.add("9.idle", system, rss_mb(cluster.pids()))
            attempt(res, ["9.idle"], system, idle)

        if self.want(1, 5, 9) and self.rdkafka():
            def scenario1() -> None:
                create_topic(bs, "s1", 1, 1)
                pids = cluster.pids()
                sampler = RssSampler(pids)
                cpu0 = cpu_seconds(pids)
                r = loadgen.run("produce", bootstrap=bs, topic="s1", records=p.records, size=100,
                                acks="1", partition=0)
                cpu = cpu_seconds(pids) - cpu0
                res.add("1.rdkafka", system, r["rec_s"], r)
                res.add("1.cpu", system, cpu / (p.records / 1e6))
                res.add("1.gencpu", system, r["cpu_s"] / (p.records / 1e6))
                res.add("9.load", system, sampler.stop())
                log(f"    1 librdkafka: {r['rec_s']:,.0f} rec/s, broker {cpu:.2f} CPU s")
                if self.want(5):
                    cpu0 = cpu_seconds(pids)
                    c = loadgen.run("consume", bootstrap=bs, topic="s1", records=p.records)
                    cpu = cpu_seconds(pids) - cpu0
                    res.add("5.rdkafka", system, c["rec_s"], c)
                    # Both brokers serve a librdkafka consumer about as fast as it reads: what
                    # they spend doing it is where they differ.
                    res.add("5.cpu", system, cpu / (p.records / 1e6))
                    log(f"    5 librdkafka: {c['rec_s']:,.0f} rec/s, broker {cpu:.2f} CPU s")
            attempt(res, ["1.rdkafka", "1.cpu", "1.gencpu", "5.rdkafka", "5.cpu", "9.load"], system,
                    scenario1)

        if self.want(1, 5) and self.c_api():
            def scenario1_c() -> None:
                create_topic(bs, "s1c", 1, 1)
                r = loadgen.c_run("produce", bs, "s1c", p.c_records)
                res.add("1.c", system, r["rec_s"], r)
                res.add("1.c.gencpu", system, r["cpu_s"] / (p.c_records / 1e6))
                log(f"    1 librdkafka C API: {r['rec_s']:,.0f} rec/s, generator "
                    f"{r['cpu_s']:.2f} CPU s")
                if self.want(5):
                    c = loadgen.c_run("consume", bs, "s1c", p.c_records)
                    res.add("5.c", system, c["rec_s"], c)
                    log(f"    5 librdkafka C API: {c['rec_s']:,.0f} rec/s")
            attempt(res, ["1.c", "1.c.gencpu", "5.c"], system, scenario1_c)

        if self.want(1, 5) and self.java():
            def scenario1_java() -> None:
                create_topic(bs, "s1j", 1, 1)
                r = loadgen.java_produce(bs, "s1j", p.java_records, 100, "1", p.java_warmup)
                res.add("1.java", system, r["rec_s"], r)
                log(f"    1 ProducerPerformance: {r['rec_s']:,.0f} rec/s")
                if self.want(5):
                    c = loadgen.java_consume(bs, "s1j", p.java_records)
                    res.add("5.java", system, c["rec_s"], c)
                    log(f"    5 ConsumerPerformance: {c['rec_s']:,.0f} rec/s")
            attempt(res, ["1.java", "5.java"], system, scenario1_java)

        if self.want(6) and self.rdkafka():
            def scenario6() -> None:
                create_topic(bs, "s6", 1, 1)
                # A discarded pass first: a cold JVM serves one-record requests slower than they
                # arrive at this rate and a backlog builds that the run never drains.
                loadgen.run("latency", bootstrap=bs, topic="s6", rate=p.lat_rate,
                            seconds=min(2.0, p.lat_seconds), size=100, acks="1")
                r = loadgen.run("latency", bootstrap=bs, topic="s6", rate=p.lat_rate,
                                seconds=p.lat_seconds, size=100, acks="1")
                res.add("6.p50", system, r["p50_ms"], r)
                res.add("6.p99", system, r["p99_ms"])
                res.add("6.p999", system, r["p999_ms"])
                log(f"    6: p50 {r['p50_ms']:.2f} ms, p99 {r['p99_ms']:.2f} ms, "
                    f"p99.9 {r['p999_ms']:.2f} ms")
            attempt(res, ["6.p50", "6.p99", "6.p999"], system, scenario6)

        if self.want(7):
            for label, size, records in (("1k", 1024, p.kib_records),
                                         ("100k", 102400, p.big_records)):
                if self.rdkafka():
                    def s7(label: str = label, size: int = size, records: int = records) -> None:
                        create_topic(bs, f"s7-{label}", 1, 1)
                        r = loadgen.run("produce", bootstrap=bs, topic=f"s7-{label}",
                                        records=records, size=size, acks="1", partition=0)
                        res.add(f"7.{label}.rdkafka", system, r["mb_s"], r)
                        log(f"    7 {label} librdkafka: {r['mb_s']:,.0f} MB/s")
                    attempt(res, [f"7.{label}.rdkafka"], system, s7)
                if self.java():
                    def s7j(label: str = label, size: int = size, records: int = records) -> None:
                        create_topic(bs, f"s7j-{label}", 1, 1)
                        r = loadgen.java_produce(bs, f"s7j-{label}", records, size, "1",
                                                 records * 3 // 10)
                        res.add(f"7.{label}.java", system, r["mb_s"], r)
                        log(f"    7 {label} ProducerPerformance: {r['mb_s']:,.0f} MB/s")
                    attempt(res, [f"7.{label}.java"], system, s7j)

    def mock(self) -> None:
        res, p = self.res, self.p
        if self.want(1) and self.c_api():
            def c_api() -> None:
                r = loadgen.c_run("produce", "mock", "bench", p.c_records)
                res.add("1.c", "mock", r["rec_s"], r)
            attempt(res, ["1.c"], "mock", c_api)
        for key, size, records in (("1.rdkafka", 100, p.records),
                                   ("7.1k.rdkafka", 1024, p.kib_records),
                                   ("7.100k.rdkafka", 102400, p.big_records)):
            if not self.want(ROW[key].scenario) or not self.rdkafka():
                continue

            def go(key: str = key, size: int = size, records: int = records) -> None:
                r = loadgen.run("produce", bootstrap="mock", topic="bench", records=records,
                                size=size, acks="1", partition=0)
                res.add(key, "mock", r["rec_s"] if ROW[key].unit == "rec/s" else r["mb_s"], r)
            attempt(res, [key], "mock", go)
        log(f"  mock: {res.median('1.rdkafka', 'mock') or 0:,.0f} rec/s, C API "
            f"{res.median('1.c', 'mock') or 0:,.0f} rec/s")

    def three_nodes(self, system: str, cluster) -> None:
        p, res, bs = self.p, self.res, cluster.bootstrap
        attempt(res, ["warmup"], system, lambda: self.warm_up(cluster, 3))
        for run in range(p.rf3_runs):
            for scenario, acks, producers in ((2, "1", 1), (3, "all", 1), (4, "1", 3)):
                if not self.want(scenario):
                    continue
                if self.rdkafka():
                    def rdk(scenario: int = scenario, acks: str = acks, producers: int = producers,
                            run: int = run) -> None:
                        topic = f"s{scenario}-{run}"
                        create_topic(bs, topic, 3, 3)
                        procs = [loadgen.spawn("produce", bootstrap=bs, topic=topic,
                                               records=p.rf3_records, size=100, acks=acks)
                                 for _ in range(producers)]
                        rs = [loadgen.collect(proc) for proc in procs]
                        rate = sum(r["rec_s"] for r in rs)
                        res.add(f"{scenario}.rdkafka", system, rate, {"producers": rs})
                        log(f"    {scenario} librdkafka: {rate:,.0f} rec/s")
                    attempt(res, [f"{scenario}.rdkafka"], system, rdk)
                if self.java():
                    def jv(scenario: int = scenario, acks: str = acks, producers: int = producers,
                           run: int = run) -> None:
                        topic = f"s{scenario}j-{run}"
                        create_topic(bs, topic, 3, 3)
                        out: list[dict] = []
                        errors: list[BaseException] = []

                        def one() -> None:
                            try:
                                out.append(loadgen.java_produce(bs, topic, p.rf3_records, 100,
                                                                acks, p.rf3_records * 3 // 10))
                            except Exception as e:  # noqa: BLE001
                                errors.append(e)
                        threads = [threading.Thread(target=one) for _ in range(producers)]
                        for t in threads:
                            t.start()
                        for t in threads:
                            t.join()
                        if errors:
                            raise errors[0]
                        rate = sum(r["rec_s"] for r in out)
                        res.add(f"{scenario}.java", system, rate, {"producers": out})
                        log(f"    {scenario} ProducerPerformance: {rate:,.0f} rec/s")
                    attempt(res, [f"{scenario}.java"], system, jv)
        if self.want(10):
            for run in range(p.failover_runs):
                attempt(res, ["10.failover"], system,
                        lambda run=run: self.failover(system, cluster, run))

    def fast_failover(self, system: str, cluster) -> None:
        for run in range(self.p.failover_runs):
            attempt(self.res, ["10.fast"], system,
                    lambda run=run: self.failover(system, cluster, run, row="10.fast"))

    def failover(self, system: str, cluster, run: int, row: str = "10.failover") -> None:
        """kill -9 of the leader of a partition (one that is not the active controller's when
        the system says which that is) while a producer writes to the topic with acks=all every
        2 ms; the time until a record produced to that partition after the kill is
        acknowledged."""
        from confluent_kafka import Producer

        bs = cluster.bootstrap
        topic = "failover"
        create_topic(bs, topic, 3, 3, configs={"min.insync.replicas": "2"})
        deadline = time.monotonic() + 120
        while True:  # every replica back in sync (after an earlier run's restart)
            from confluent_kafka.admin import AdminClient
            meta = AdminClient(quiet_config({"bootstrap.servers": bs})).list_topics(topic, timeout=10)
            if all(len(pt.isrs) == 3 for pt in meta.topics[topic].partitions.values()):
                break
            if time.monotonic() > deadline:
                raise TimeoutError("replicas did not catch up after the previous failover")
            time.sleep(0.2)
        leaders = partition_leaders(bs, topic)
        controller = cluster.quorum_leader()
        partition = next((pt for pt, node in sorted(leaders.items()) if node != controller), 0)
        victim = leaders[partition]
        producer = Producer(quiet_config({
            "bootstrap.servers": bs, "acks": "all", "linger.ms": 0, "enable.idempotence": False,
            "message.timeout.ms": 60000, "retry.backoff.ms": 10, "retry.backoff.max.ms": 100,
            "reconnect.backoff.ms": 10, "reconnect.backoff.max.ms": 100,
            "topic.metadata.refresh.fast.interval.ms": 10,
        }))
        # Records go to every partition, as a producer of the topic sends them (so librdkafka
        # holds connections to the live leaders too), and the kill falls at a point of its 1 s
        # leader-scan cycle drawn per run, the same for both systems.
        ms = ms_to_first_ack_after_kill(producer, topic, partition,
                                        lambda: cluster.kill_node(victim),
                                        partitions=len(leaders),
                                        kill_after=1.0 + random.Random(run).random())
        self.res.add(row, system, ms,
                     {"victim": victim, "controller": controller, "partition": partition})
        log(f"    {row}: node {victim} (controller: {controller}) killed; first acks=all write "
            f"acknowledged after {ms:,.0f} ms")
        cluster.restart_node(victim)


# --- the table -----------------------------------------------------------------------------------

def fmt_value(row: Row, value: float) -> str:
    if row.unit == "rec/s":
        return f"{value / 1e3:,.0f} k rec/s ({value * row.size / 1e6:,.0f} MB/s)"
    if row.unit == "MB/s":
        return f"{value:,.0f} MB/s ({value * 1e6 / row.size / 1e3:,.1f} k rec/s)"
    if row.unit == "ms":
        return f"{value:,.2f} ms" if value < 10 else f"{value:,.0f} ms"
    if row.unit == "MiB":
        return f"{value:,.0f} MiB"
    if row.unit == "CPU s":
        return f"{value:,.2f} CPU s"
    return f"{value:g} {row.unit}"


def cell(res: Results, row: Row, system: str) -> str:
    value = res.median(row.key, system)
    if value is not None:
        return fmt_value(row, value)
    if system in res.na.get(row.key, {}):
        return f"n/a ({res.na[row.key][system]})"
    if system in res.errors.get(row.key, {}):
        return "failed (see the JSON file)"
    return "–"


def ceiling_cell(res: Results, row: Row) -> str:
    loop, disk = res.ceiling("loopback_mb_s"), res.ceiling("disk_buffered_mb_s")
    fsync = res.ceiling("disk_fsync_mb_s")
    if row.ceiling == "produce" and loop and disk and fsync:
        return (f"loopback {loop:,.0f} MB/s; disk {disk:,.0f} MB/s buffered, "
                f"{fsync:,.0f} MB/s with fsync")
    if row.ceiling == "consume" and loop:
        return f"loopback {loop:,.0f} MB/s"
    if row.ceiling in ("p50", "p99"):
        rtt = res.ceiling(f"rtt_{row.ceiling}_us")
        if rtt:
            return f"TCP round trip {row.ceiling} {rtt:,.0f} µs"
    return ""


def table(res: Results) -> str:
    lines = ["| # | scenario | load generator | pykafkacore | Apache Kafka | ratio | "
             "librdkafka mock | machine ceiling |",
             "|---|---|---|---|---|---|---|---|"]
    for row in ROWS:
        if not (row.key in res.values or row.key in res.na or row.key in res.errors):
            continue  # not run (scenario or generator not selected)
        ours, theirs = res.median(row.key, "pykafkacore"), res.median(row.key, "kafka")
        ratio = f"{ours / theirs:.2f}×" if ours is not None and theirs else ""
        mock = res.median(row.key, "mock")
        mock_cell = ""
        if mock is not None:
            mock_cell = fmt_value(row, mock)
            if ours is not None:
                mock_cell += f"; pykafkacore {ours / mock:.2f}×"
        lines.append(f"| {row.scenario} | {row.label} | {row.generator} | "
                     f"{cell(res, row, 'pykafkacore')} | {cell(res, row, 'kafka')} | {ratio} | "
                     f"{mock_cell} | {ceiling_cell(res, row)} |")
    return "\n".join(lines)


def footnote(meta: dict) -> str:
    p = meta["profile"]
    return (f"Medians of {meta['runs_note']}; ratio = pykafkacore ÷ Apache Kafka (throughput: higher "
            f"is better; latency, time, memory and CPU: lower is better); machine ceilings: the best of the "
            f"rounds. Profile `{p}`, "
            f"{meta['date']}, {meta['nproc']} cores, Apache Kafka {meta['kafka_version']}, "
            f"librdkafka {meta['librdkafka']}, pykafkacore {meta['git']}; took "
            f"{meta['seconds'] / 60:.1f} min; 1-min load average {meta.get('loadavg_1min_start', 0):.1f} "
            f"at the start, {meta.get('loadavg_1min_end', 0):.1f} at the end.")


def metadata(args: argparse.Namespace, profile: Profile) -> dict:
    import confluent_kafka

    from kafka_peer import kafka_version

    def git() -> str:
        try:
            rev = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                                 capture_output=True, text=True).stdout.strip()
            dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain",
                                    "--untracked-files=no"], capture_output=True,
                                   text=True).stdout.strip()
            return rev + ("+changes" if dirty else "")
        except OSError:
            return "unknown"

    java_version = ""
    try:
        java_version = subprocess.run(["java", "-version"], capture_output=True,
                                      text=True).stderr.splitlines()[0]
    except (OSError, IndexError):
        pass
    return {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": " ".join(["bench/compare.py", *sys.argv[1:]]),
        "profile": args.profile, "settings": profile.__dict__,
        "systems": args.systems, "scenarios": sorted(args.scenario_set),
        "generators": args.generators, "server": args.server,
        "nproc": os.cpu_count(), "kernel": platform.release(),
        "kafka_version": kafka_version(), "java": java_version,
        "librdkafka": confluent_kafka.libversion()[0],
        "confluent_kafka": confluent_kafka.version()[0],
        "git": git(),
        "loadavg_1min_start": os.getloadavg()[0],
        "runs_note": (f"{profile.rounds} single-node rounds and {profile.rounds3} three-node "
                      f"round(s) × {profile.rf3_runs} run(s)"),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--profile", choices=sorted(PROFILES), default="short")
    parser.add_argument("--systems", default="pykafkacore,kafka,mock",
                        help="comma-separated: pykafkacore, kafka, mock")
    parser.add_argument("--scenarios", default="1,2,3,4,5,6,7,8,9,10")
    parser.add_argument("--generators", default="librdkafka,c,java",
                        help="comma-separated: librdkafka (confluent-kafka), c (librdkafka's C "
                             "API), java")
    parser.add_argument("--server", default=default_server(),
                        help="kafkacore-server binary, or 'python' for `python -m pykafkacore "
                             "serve` (default: build/bench's, else build/py's)")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "bench" / "results" /
                        "compare.json")
    parser.add_argument("--rounds", type=int, help="override the profile's single-node rounds")
    parser.add_argument("--rounds3", type=int, help="override the profile's three-node rounds")
    parser.add_argument("--table", type=Path, help="print the table of an earlier JSON file")
    args = parser.parse_args()

    if args.table:
        data = json.loads(args.table.read_text())
        print(table(Results.from_json(data["results"])))
        print(f"\n{footnote(data['meta'])}")
        return 0

    args.scenario_set = {int(s) for s in args.scenarios.split(",") if s}
    systems = [s for s in args.systems.split(",") if s]
    generators = {g for g in args.generators.split(",") if g}
    unknown = set(systems) - {"pykafkacore", "kafka", "mock"}
    if unknown or not generators <= {"librdkafka", "c", "java"}:
        parser.error(f"unknown system or generator: {unknown or generators}")
    profile = PROFILES[args.profile]
    if args.rounds is not None:
        profile = dataclasses.replace(profile, rounds=args.rounds)
    if args.rounds3 is not None:
        profile = dataclasses.replace(profile, rounds3=args.rounds3)
    if "kafka" in systems or "java" in generators:
        from kafka_peer import fetch
        fetch()
    meta = metadata(args, profile)
    t0 = time.monotonic()
    res = Bench(profile, systems, args.scenario_set, generators, args.server).run()
    meta["seconds"] = time.monotonic() - t0
    meta["loadavg_1min_end"] = os.getloadavg()[0]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"meta": meta, "results": res.to_json(),
                                    "rows": [r.__dict__ for r in ROWS]}, indent=1) + "\n")
    print()
    print(table(res))
    print(f"\n{footnote(meta)}")
    print(f"\n(every run in {args.out}; `bench/plot.py {args.out}` draws it)")
    failed = sorted(k for k, v in res.errors.items() if k != "warmup" for _ in v)
    if failed:
        log(f"compare.py: some runs failed: {', '.join(failed)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
