"""Brokers as separate OS processes: one ``kafkacore-server`` (or ``python -m pykafkacore serve``)
per broker, each a controller voter of the cluster's quorum; or, with dedicated controllers,
controller-only processes (ids 3000..) forming the quorum and broker-only processes following it.

Shared by ``Cluster(mode="process")``, the kill -9 test (tests/python/test_replicated_cluster.py)
and anything else that needs real processes to SIGKILL or SIGSTOP.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[2]

# Ids of dedicated controllers, as the C++ LocalCluster (and Kafka's test kit) number them.
FIRST_CONTROLLER_ID = 3000


def find_server() -> list[str]:
    """The command that runs one broker: ``$KAFKACORE_SERVER``, else the ``kafkacore-server``
    of a source tree's build (build/py, build/dev) or on PATH, else this interpreter running
    ``-m pykafkacore serve`` (same flags, slower to start)."""
    if env := os.environ.get("KAFKACORE_SERVER"):
        return [env]
    for tree in ("py", "dev"):
        path = _ROOT / "build" / tree / "cpp" / "tools" / "kafkacore-server"
        if path.exists():
            return [str(path)]
    if found := shutil.which("kafkacore-server"):
        return [found]
    return [sys.executable, "-m", "pykafkacore", "serve"]


def free_ports(count: int, host: str = "127.0.0.1") -> list[int]:
    """Ports that were free a moment ago (bound together, so they are distinct)."""
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind((host, 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


class ServerProcess:
    """One broker (or controller) process. Its stdout is watched for ``bootstrap.servers=`` or
    ``controller.listener=`` (listening) and ``ready`` (serving in its cluster); its stderr goes
    to `log` (appended across restarts). `start()` may be called again after the process ended
    (same arguments: a restart).

    ``process_roles``: None (combined: a Kafka port and a controller port), ``"controller"``
    (``port`` unused: only the controller listener) or ``"broker"`` (``controller_port``
    unused: it follows the voters)."""

    def __init__(self, command: Sequence[str], node_id: int, port: int | None,
                 controller_port: int | None, voters: str, data_dir: Path, log: Path, *,
                 host: str = "127.0.0.1", properties: Mapping[str, str] | None = None,
                 log_level: str = "info", process_roles: str | None = None) -> None:
        self.node_id = node_id
        self.host = host
        self.port = port if process_roles != "controller" else None
        self.controller_port = controller_port if process_roles != "broker" else None
        self.process_roles = process_roles
        self.data_dir = Path(data_dir)
        self.args = [*command, "--host", host, "--node-id", str(node_id)]
        if process_roles is not None:
            self.args += ["--process-roles", process_roles]
        if self.port is not None:
            self.args += ["--port", str(self.port)]
        if self.controller_port is not None:
            self.args += ["--controller-port", str(self.controller_port)]
        self.args += ["--controller-quorum-voters", voters, "--data-dir", str(data_dir),
                      "--log-level", log_level]
        for key, value in (properties or {}).items():
            self.args += ["--set", f"{key}={value}"]
        self.log = Path(log)
        self.proc: subprocess.Popen[str] | None = None
        self.listening = threading.Event()
        self.ready = threading.Event()
        self._watcher: threading.Thread | None = None
        self.paused = False

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None and self.proc.poll() is None else None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> None:
        if self.running:
            raise RuntimeError(f"broker {self.node_id} is running")
        self._join_watcher()
        self.listening = threading.Event()
        self.ready = threading.Event()
        self.paused = False
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log, "a") as f:
            f.write(f"==== start {' '.join(self.args)}\n")
        stderr = open(self.log, "a")  # noqa: SIM115 - owned by the child from here on
        try:
            self.proc = subprocess.Popen(self.args, stdout=subprocess.PIPE, stderr=stderr,
                                         stdin=subprocess.DEVNULL, text=True)
        finally:
            stderr.close()
        proc, listening, ready = self.proc, self.listening, self.ready

        def watch() -> None:
            assert proc.stdout is not None
            with proc.stdout:
                for line in proc.stdout:
                    if line.startswith(("bootstrap.servers=", "controller.listener=")):
                        listening.set()
                    elif line.strip() == "ready":
                        ready.set()

        # Ends when the process's stdout closes (it exits); joined by stop()/kill()/start().
        self._watcher = threading.Thread(target=watch, name=f"pykafkacore-broker-{self.node_id}",
                                         daemon=True)
        self._watcher.start()

    def wait_ready(self, timeout: float) -> float:
        """Seconds until the broker printed ``ready``; raises RuntimeError if it exited first
        or TimeoutError."""
        start = time.monotonic()
        while not self.ready.wait(0.005):
            if self.proc is None or self.proc.poll() is not None:
                code = None if self.proc is None else self.proc.returncode
                raise RuntimeError(f"broker {self.node_id} exited with {code}\n{self.tail()}")
            if time.monotonic() - start > timeout:
                raise TimeoutError(f"broker {self.node_id} not ready after {timeout} s"
                                   f"\n{self.tail()}")
        return time.monotonic() - start

    def kill(self) -> None:
        """SIGKILL, and wait for the process to be gone."""
        if self.running:
            assert self.proc is not None
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
        self.paused = False
        self._join_watcher()

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM (a clean shutdown; SIGCONT first if paused), SIGKILL after `timeout`."""
        if self.running:
            assert self.proc is not None
            self.proc.send_signal(signal.SIGTERM)
            if self.paused:
                self.proc.send_signal(signal.SIGCONT)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.paused = False
        self._join_watcher()

    def pause(self) -> None:
        """SIGSTOP; returns once the process is stopped."""
        if not self.running:
            raise RuntimeError(f"broker {self.node_id} is not running")
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)
        self.paused = True
        self._wait_state(lambda state: state in "Tt")

    def resume(self) -> None:
        """SIGCONT; returns once the process runs again."""
        if self.running and self.paused:
            assert self.proc is not None
            self.proc.send_signal(signal.SIGCONT)
            self._wait_state(lambda state: state not in "Tt")
        self.paused = False

    def _wait_state(self, wanted: Callable[[str], bool], timeout: float = 2.0) -> None:
        """Until the process's state (/proc/PID/stat) satisfies `wanted` (signals are
        delivered asynchronously); gives up silently after `timeout` or if it is gone."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.proc is not None:
            try:
                with open(f"/proc/{self.proc.pid}/stat") as f:
                    state = f.read().rsplit(")", 1)[1].split()[0]
            except (OSError, IndexError):
                return
            if wanted(state):
                return
            time.sleep(0.001)

    def last_active_term(self) -> int | None:
        """The highest Raft term in which this controller logged becoming the active controller
        (``component=controller msg=active term=N``, info level), None if never."""
        best = None
        try:
            with open(self.log, errors="replace") as f:
                for line in f:
                    if "component=controller msg=active " in line:
                        for field in line.split():
                            if field.startswith("term=") and field[5:].isdigit():
                                best = max(best or 0, int(field[5:]))
        except OSError:
            return None
        return best

    def tail(self, lines: int = 40) -> str:
        try:
            text = self.log.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return f"--- broker {self.node_id} stderr (last {lines} lines):\n" + "\n".join(
            text[-lines:])

    def _join_watcher(self) -> None:
        if self._watcher is not None and self._watcher is not threading.current_thread():
            self._watcher.join(5)
            self._watcher = None


def start_servers(count: int, data_dir: Path, *, properties: Mapping[str, str] | None = None,
                  command: Sequence[str] | None = None, host: str = "127.0.0.1",
                  log_level: str = "info", ready_timeout: float = 30.0, controllers: int = 0
                  ) -> dict[int, ServerProcess]:
    """`count` broker processes (ids 1..count) on free ports, data in data_dir/broker-<id>,
    stderr in data_dir/broker-<id>.log; returns once all are ready. Every broker is a controller
    voter, or with `controllers` > 0 the quorum is that many controller-only processes (ids
    3000.., data in data_dir/controller-<id>) and the brokers are broker-only. On failure (or
    Ctrl-C) every started process is stopped."""
    command = list(command or find_server())
    servers: dict[int, ServerProcess] = {}
    if controllers == 0:
        ports = free_ports(2 * count, host)
        voters = ",".join(f"{i + 1}@{host}:{ports[count + i]}" for i in range(count))
        for i in range(count):
            servers[i + 1] = ServerProcess(
                command, i + 1, ports[i], ports[count + i], voters, data_dir / f"broker-{i + 1}",
                data_dir / f"broker-{i + 1}.log", host=host, properties=properties,
                log_level=log_level)
    else:
        ports = free_ports(count + controllers, host)
        ids = [FIRST_CONTROLLER_ID + i for i in range(controllers)]
        voters = ",".join(f"{c}@{host}:{ports[count + i]}" for i, c in enumerate(ids))
        for i, c in enumerate(ids):
            servers[c] = ServerProcess(
                command, c, None, ports[count + i], voters, data_dir / f"controller-{c}",
                data_dir / f"controller-{c}.log", host=host, properties=properties,
                log_level=log_level, process_roles="controller")
        for i in range(count):
            servers[i + 1] = ServerProcess(
                command, i + 1, ports[i], None, voters, data_dir / f"broker-{i + 1}",
                data_dir / f"broker-{i + 1}.log", host=host, properties=properties,
                log_level=log_level, process_roles="broker")
    try:
        for s in servers.values():
            s.start()
        deadline = time.monotonic() + ready_timeout
        for s in servers.values():
            s.wait_ready(max(0.0, deadline - time.monotonic()))
    except BaseException:
        for s in servers.values():
            s.stop()
        raise
    return servers
