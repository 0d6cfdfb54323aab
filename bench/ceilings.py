#!/usr/bin/env python3
"""The machine's ceilings, measured in the same run as the brokers:

* loopback TCP bandwidth: one stream, 1 MiB sends, sender and receiver in two processes;
* loopback TCP round trip: 100-byte ping-pong between two processes (p50/p99), the floor under
  any request/response latency;
* disk write bandwidth in the benchmark's data directory: sequential 1 MiB write()s, both the
  buffered rate (what a broker without fsync sees) and the rate including the final fsync (what
  reaches the disk).

  bench/ceilings.py            prints them as JSON
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import bench_dir  # noqa: E402

CHUNK = 1 << 20


def _peer(mode: str, port: int, seconds: float) -> None:
    """The other end, in its own process: `sink` reads until EOF, `echo` echoes 100-byte pings."""
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if mode == "sink":
        buf = bytearray(CHUNK)
        view = memoryview(buf)
        while s.recv_into(view):
            pass
    else:
        while True:
            data = s.recv(100, socket.MSG_WAITALL)
            if len(data) < 100:
                break
            s.sendall(data)
    s.close()


def _listen() -> tuple[socket.socket, int]:
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    return srv, srv.getsockname()[1]


def loopback_bandwidth(seconds: float = 1.0) -> float:
    """MB/s (10^6) of one TCP stream over loopback."""
    srv, port = _listen()
    peer = subprocess.Popen([sys.executable, __file__, "sink", str(port), str(seconds)])
    conn, _ = srv.accept()
    payload = b"\0" * CHUNK
    warm_until = time.perf_counter() + 0.2
    while time.perf_counter() < warm_until:
        conn.sendall(payload)
    sent = 0
    start = time.perf_counter()
    end = start + seconds
    while time.perf_counter() < end:
        conn.sendall(payload)
        sent += CHUNK
    elapsed = time.perf_counter() - start
    conn.close()
    srv.close()
    peer.wait(10)
    return sent / elapsed / 1e6


def loopback_rtt(count: int = 5000) -> dict[str, float]:
    """Round trips of 100 bytes over loopback TCP, in microseconds."""
    srv, port = _listen()
    peer = subprocess.Popen([sys.executable, __file__, "echo", str(port), "0"])
    conn, _ = srv.accept()
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    ping = b"p" * 100
    samples = []
    for i in range(count + 200):
        t = time.perf_counter_ns()
        conn.sendall(ping)
        conn.recv(100, socket.MSG_WAITALL)
        if i >= 200:
            samples.append(time.perf_counter_ns() - t)
    conn.close()
    srv.close()
    peer.wait(10)
    samples.sort()
    return {"rtt_p50_us": samples[len(samples) // 2] / 1e3,
            "rtt_p99_us": samples[int(len(samples) * 0.99)] / 1e3}


def disk_write(megabytes: int = 512, directory: Path | None = None) -> dict[str, float]:
    """Sequential 1 MiB writes to a new file: buffered MB/s, and MB/s including the fsync."""
    path = (directory or bench_dir()) / f"ceiling-{os.getpid()}.tmp"
    block = os.urandom(CHUNK)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        start = time.perf_counter()
        for _ in range(megabytes):
            os.write(fd, block)
        written = time.perf_counter()
        os.fsync(fd)
        synced = time.perf_counter()
    finally:
        os.close(fd)
        path.unlink()
    size = megabytes * CHUNK / 1e6
    return {"disk_buffered_mb_s": size / (written - start),
            "disk_fsync_mb_s": size / (synced - start)}


def measure(seconds: float = 1.0, disk_mb: int = 512) -> dict[str, float]:
    return {"loopback_mb_s": loopback_bandwidth(seconds), **loopback_rtt(),
            **disk_write(disk_mb)}


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] in ("sink", "echo"):
        _peer(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]))
    else:
        print(json.dumps(measure(), indent=1))
