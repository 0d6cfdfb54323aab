"""The brokers under test, behind one interface (`start_cluster(system, nodes)`):

  bootstrap            "127.0.0.1:port,..."
  start(wait=True)     start every node; with wait, return once a produce is accepted, and
                       set ready_after: seconds from the processes' start to that produce
  stop()               clean shutdown (SIGTERM), data kept until cleanup()
  pids()               process ids (resident memory is summed over them)
  kill_node(id), restart_node(id), quorum_leader()   for the failover scenario
  cleanup()            remove the data directory

pykafkacore's N-node shape is N `kafkacore-server` processes, each a broker and a controller
voter (combined mode, as the Kafka side runs), with Kafka's default liveness settings on both.
"""

from __future__ import annotations

import atexit
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import (BUILD, ProcessCluster, bench_dir, free_ports, quiet_config, wait_for_port,
                    wait_until_produce)
from kafka_peer import COMMON_BROKER_SETTINGS, KafkaCluster

SYSTEMS = ("pykafkacore", "kafka")
LABELS = {"pykafkacore": "pykafkacore", "kafka": "Apache Kafka", "mock": "librdkafka mock"}


class Unavailable(Exception):
    """The system cannot run this shape yet (the reason is printed in the table)."""


def default_server() -> str:
    """The Release server of `make bench` if built, else the one `make build` makes."""
    for tree in ("bench", "py"):
        path = BUILD / tree / "cpp" / "tools" / "kafkacore-server"
        if path.exists():
            return str(path)
    return "python"


_live: list[subprocess.Popen] = []


@atexit.register
def _kill_leftovers() -> None:
    for proc in _live:
        if proc.poll() is None:
            proc.kill()


class PykafkacoreNode:
    def __init__(self, node_id: int, port: int, directory: Path):
        self.node_id = node_id
        self.port = port
        self.dir = directory
        self.proc: subprocess.Popen | None = None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc and self.proc.poll() is None else None


class PykafkacoreCluster(ProcessCluster):
    name = "pykafkacore"

    def __init__(self, nodes: int = 1, base_dir: Path | None = None,
                 settings: dict[str, str] | None = None, server: str | None = None,
                 keep: bool = False):
        self.server = server or default_server()
        self.keep = keep
        self.base = Path(tempfile.mkdtemp(prefix="pykafkacore-", dir=base_dir or bench_dir()))
        self.settings = {**COMMON_BROKER_SETTINGS, **(settings or {})}
        ports = free_ports(2 * nodes)
        self.nodes = [PykafkacoreNode(i + 1, ports[i], self.base / f"node-{i + 1}")
                      for i in range(nodes)]
        # Every node is a controller voter (combined mode), like the Kafka side.
        self.controller_ports = {i + 1: ports[nodes + i] for i in range(nodes)}
        self.voters = ",".join(f"{i}@127.0.0.1:{p}" for i, p in self.controller_ports.items())

    @property
    def bootstrap(self) -> str:
        return ",".join(f"127.0.0.1:{n.port}" for n in self.nodes)

    def _node_command(self, node: PykafkacoreNode) -> list[str]:
        """One broker: the C++ kafkacore-server, or `python -m pykafkacore serve` when the server
        is "python". The Kafka side's common settings go in as --set key=value."""
        sets = [arg for k, v in self.settings.items() for arg in ("--set", f"{k}={v}")]
        common = ["--port", str(node.port), "--data-dir", str(node.dir), "--log-level", "warn"]
        if len(self.nodes) > 1:
            common += ["--controller-port", str(self.controller_ports[node.node_id]),
                       "--controller-quorum-voters", self.voters]
        if self.server == "python":
            return [sys.executable, "-m", "pykafkacore", "serve", "--host", "127.0.0.1",
                    *common, *sets]
        return [self.server, "--host", "127.0.0.1", "--node-id", str(node.node_id), *common, *sets]

    def start_node(self, node: PykafkacoreNode) -> None:
        node.dir.mkdir(parents=True, exist_ok=True)
        log = open(node.dir.parent / f"node-{node.node_id}.log", "ab")
        node.proc = subprocess.Popen(self._node_command(node), stdout=subprocess.DEVNULL,
                                     stderr=log, stdin=subprocess.DEVNULL)
        log.close()
        _live.append(node.proc)

    def start(self, timeout: float = 60.0, wait: bool = True) -> "PykafkacoreCluster":
        self.started_at = time.monotonic()
        for node in self.nodes:
            self.start_node(node)
        if wait:
            self.wait_ready(timeout)
        return self

    def quorum_leader(self) -> int | None:
        """The active controller: brokers report it as the cluster's controller."""
        if len(self.nodes) == 1:
            return None
        from confluent_kafka.admin import AdminClient

        admin = AdminClient(quiet_config({"bootstrap.servers": self.bootstrap}))
        return admin.describe_cluster(request_timeout=10).result(10).controller.id


def start_cluster(system: str, nodes: int, server: str | None = None,
                  settings: dict[str, str] | None = None):
    """A started cluster of `system` ("pykafkacore" or "kafka") with `nodes` nodes, accepting
    produces. Raises Unavailable when the system cannot take that shape."""
    if system == "pykafkacore":
        cluster = PykafkacoreCluster(nodes, settings=settings, server=server)
    elif system == "kafka":
        cluster = KafkaCluster(nodes, settings=settings)
    else:
        raise ValueError(system)
    try:
        return cluster.start()
    except BaseException:
        cluster.stop()
        cluster.cleanup()
        raise
