#!/usr/bin/env python3
"""Apache Kafka as the benchmarks' peer: fetched from Maven Central by bench/kafka/pom.xml and
started from its jars in KRaft combined mode (every node is broker and controller) on loopback.

  bench/kafka_peer.py fetch                  jars into build/kafka-lib (cached: a rerun is a no-op)
  bench/kafka_peer.py start [--nodes 3]      a cluster in the foreground until Ctrl-C; prints
                                             bootstrap.servers=... once it accepts a produce

Settings are Kafka's defaults except where the benchmark needs both systems alike (see
`COMMON_BROKER_SETTINGS`): same partition count, replication factor and group delay as the
pykafkacore side, Kafka's default flush policy (no fsync per message; the OS writes back), data
under build/bench-data (or $KAFKACORE_BENCH_DIR) on the same disk as pykafkacore's, heap and GC
options of Kafka's own start script (-Xmx1G -Xms1G, G1).
"""

from __future__ import annotations

import argparse
import atexit
import base64
import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import BUILD, ROOT, ProcessCluster, bench_dir, free_ports, log, wait_for_port, wait_until_produce  # noqa: E402

POM = ROOT / "bench" / "kafka" / "pom.xml"
LIB = BUILD / "kafka-lib"
BROKER_LOG_CONFIG = ROOT / "bench" / "kafka" / "log4j2.properties"
TOOLS_LOG_CONFIG = ROOT / "bench" / "kafka" / "tools-log4j2.properties"
# kafka-server-start.sh: KAFKA_HEAP_OPTS and KAFKA_JVM_PERFORMANCE_OPTS.
BROKER_JVM = ["-Xmx1G", "-Xms1G", "-server", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20",
              "-XX:InitiatingHeapOccupancyPercent=35", "-XX:+ExplicitGCInvokesConcurrent",
              "-XX:MaxInlineLevel=15", "-Djava.awt.headless=true"]
# kafka-run-class.sh for tools (the perf-test scripts set -Xmx512M).
TOOLS_JVM = ["-Xmx512M", "-server", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20",
             "-XX:InitiatingHeapOccupancyPercent=35", "-XX:+ExplicitGCInvokesConcurrent",
             "-XX:MaxInlineLevel=15", "-Djava.awt.headless=true"]

# Broker settings both systems get (bench/systems.py passes the same to pykafkacore).
COMMON_BROKER_SETTINGS = {
    "num.partitions": "1",
    "auto.create.topics.enable": "true",
    # Kafka's shipped config/server.properties sets 0 (the default, 3 s, delays every first join).
    "group.initial.rebalance.delay.ms": "0",
}


def kafka_version() -> str:
    match = re.search(r"<kafka\.version>([^<]+)</kafka\.version>", POM.read_text())
    assert match, "bench/kafka/pom.xml has no kafka.version"
    return match.group(1)


def fetch(quiet: bool = True) -> Path:
    """Fills build/kafka-lib with the jars of bench/kafka/pom.xml through Maven (which caches them
    in ~/.m2 too); does nothing when the directory was filled from the same pom."""
    stamp = LIB / ".pom-sha256"
    digest = hashlib.sha256(POM.read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text().strip() == digest:
        return LIB
    mvn = shutil.which("mvn")
    if not mvn:
        raise RuntimeError("mvn is not installed (apt-get install maven)")
    if LIB.exists():
        shutil.rmtree(LIB)
    log(f"kafka_peer: fetching Apache Kafka {kafka_version()} jars into {LIB} (Maven)")
    cmd = [mvn, "-f", str(POM), "-B", "-Dstyle.color=never", "dependency:copy-dependencies",
           f"-DoutputDirectory={LIB}"]
    if quiet:
        cmd.insert(1, "-q")
    subprocess.run(cmd, check=True)
    stamp.write_text(digest + "\n")
    return LIB


def classpath() -> str:
    return f"{LIB}/*"


def java(main: str, args: list[str], jvm: list[str] | None = None) -> list[str]:
    """The command line of a Kafka main class run from the fetched jars (a tool by default)."""
    options = TOOLS_JVM if jvm is None else jvm
    return ["java", *options, f"-Dlog4j2.configurationFile={TOOLS_LOG_CONFIG}", "-cp",
            classpath(), main, *args]


def new_cluster_id() -> str:
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not cid.startswith("-"):
            return cid


_live: list[subprocess.Popen] = []


@atexit.register
def _kill_leftovers() -> None:
    for proc in _live:
        if proc.poll() is None:
            proc.kill()


class KafkaNode:
    def __init__(self, node_id: int, port: int, controller_port: int, directory: Path):
        self.node_id = node_id
        self.port = port
        self.controller_port = controller_port
        self.dir = directory
        self.proc: subprocess.Popen | None = None

    @property
    def config_file(self) -> Path:
        return self.dir / "server.properties"

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc and self.proc.poll() is None else None


class KafkaCluster(ProcessCluster):
    """N Apache Kafka nodes in KRaft combined mode on 127.0.0.1, with a static controller quorum
    of all nodes. Same interface as systems.PykafkacoreCluster."""

    name = "Apache Kafka"

    def __init__(self, nodes: int = 1, base_dir: Path | None = None,
                 settings: dict[str, str] | None = None, keep: bool = False):
        fetch()
        self.keep = keep
        self.base = Path(tempfile.mkdtemp(prefix="kafka-", dir=base_dir or bench_dir()))
        ports = free_ports(2 * nodes)
        self.nodes = [KafkaNode(i + 1, ports[2 * i], ports[2 * i + 1], self.base / f"node-{i + 1}")
                      for i in range(nodes)]
        self.settings = {**COMMON_BROKER_SETTINGS, **(settings or {})}
        self.cluster_id = new_cluster_id()
        self._write_configs()

    @property
    def bootstrap(self) -> str:
        return ",".join(f"127.0.0.1:{n.port}" for n in self.nodes)

    def _write_configs(self) -> None:
        n = len(self.nodes)
        voters = ",".join(f"{x.node_id}@127.0.0.1:{x.controller_port}" for x in self.nodes)
        for node in self.nodes:
            node.dir.mkdir(parents=True, exist_ok=True)
            props = {
                "process.roles": "broker,controller",
                "node.id": str(node.node_id),
                "controller.quorum.voters": voters,
                "listeners": f"PLAINTEXT://127.0.0.1:{node.port},"
                             f"CONTROLLER://127.0.0.1:{node.controller_port}",
                "advertised.listeners": f"PLAINTEXT://127.0.0.1:{node.port}",
                "controller.listener.names": "CONTROLLER",
                "inter.broker.listener.name": "PLAINTEXT",
                "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
                "log.dirs": str(node.dir / "data"),
                # Internal topics as replicated as the cluster allows (Kafka's defaults are 3 and
                # min ISR 2, which a single node cannot satisfy).
                "default.replication.factor": "1",
                "offsets.topic.replication.factor": str(min(3, n)),
                "transaction.state.log.replication.factor": str(min(3, n)),
                "transaction.state.log.min.isr": str(min(2, n)),
                "share.coordinator.state.topic.replication.factor": str(min(3, n)),
                "share.coordinator.state.topic.min.isr": str(min(2, n)),
                **self.settings,
            }
            node.config_file.write_text("".join(f"{k}={v}\n" for k, v in props.items()))

    def format(self) -> None:
        """kafka-storage format for every node (in parallel: each is a JVM start)."""
        def one(node: KafkaNode) -> None:
            subprocess.run(java("kafka.tools.StorageTool",
                                ["format", "-t", self.cluster_id, "-c", str(node.config_file),
                                 "--ignore-formatted"]),
                           check=True, stdout=subprocess.DEVNULL)
        with ThreadPoolExecutor(len(self.nodes)) as pool:
            list(pool.map(one, self.nodes))

    def start_node(self, node: KafkaNode) -> None:
        env = {**os.environ, "LOG_DIR": str(node.dir)}
        cmd = ["java", *BROKER_JVM, f"-Dlog4j2.configurationFile={BROKER_LOG_CONFIG}",
               f"-Dkafka.logs.dir={node.dir}", "-cp", classpath(), "kafka.Kafka",
               str(node.config_file)]
        out = open(node.dir / "stdout.log", "ab")
        node.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env,
                                     stdin=subprocess.DEVNULL)
        out.close()
        _live.append(node.proc)

    def start(self, timeout: float = 180.0, wait: bool = True) -> "KafkaCluster":
        """Formats (first start only) and starts every node; with `wait`, returns once a topic
        replicated to all nodes accepts an acks=all produce."""
        if not any((n.dir / "data" / "meta.properties").exists() for n in self.nodes):
            self.format()
        self.started_at = time.monotonic()
        for node in self.nodes:
            self.start_node(node)
        if wait:
            self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float = 180.0) -> None:
        """Kafka starts slowly: a longer default (the storage format before it is not counted)."""
        super().wait_ready(timeout)

    def quorum_leader(self) -> int | None:
        """The active controller (KRaft quorum leader), from MetadataQuorumCommand."""
        try:
            out = subprocess.run(
                java("org.apache.kafka.tools.MetadataQuorumCommand",
                     ["--bootstrap-server", self.bootstrap, "describe", "--status"]),
                capture_output=True, text=True, timeout=60).stdout
        except subprocess.TimeoutExpired:
            return None
        match = re.search(r"LeaderId:\s*(\d+)", out)
        return int(match.group(1)) if match else None

    def __enter__(self) -> "KafkaCluster":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
        self.cleanup()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("fetch", help="fetch the jars into build/kafka-lib (cached)")
    start = sub.add_parser("start", help="run a cluster in the foreground until Ctrl-C")
    start.add_argument("--nodes", type=int, default=1)
    start.add_argument("--dir", type=Path, help="parent of the cluster's directory")
    start.add_argument("--keep", action="store_true", help="keep the data when stopping")
    start.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    if args.command == "fetch":
        print(fetch(quiet=False))
        return 0
    settings = dict(item.split("=", 1) for item in args.set)
    t0 = time.monotonic()
    with KafkaCluster(args.nodes, args.dir, settings, keep=args.keep) as cluster:
        cluster.start()
        log(f"kafka_peer: {args.nodes} node(s) accept produces after "
            f"{time.monotonic() - t0:.1f} s; data in {cluster.base}")
        print(f"bootstrap.servers={cluster.bootstrap}", flush=True)
        stop = []
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.append(1))
        while not stop and all(n.proc.poll() is None for n in cluster.nodes):
            time.sleep(0.2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
