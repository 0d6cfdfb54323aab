"""Hostile and malformed input on the Kafka port: the broker answers with an error or closes that
one connection, never crashes, keeps its memory bounded and keeps serving everyone else."""

from __future__ import annotations

import resource
import socket
import struct
import time
from typing import Any

import pytest

API_VERSIONS = 18
METADATA = 3
PRODUCE = 0


def frame(api_key: int, version: int, correlation_id: int, body: bytes, client_id: bytes = b"t",
          flexible: bool = False) -> bytes:
    header = struct.pack(">hhi", api_key, version, correlation_id)
    header += struct.pack(">h", len(client_id)) + client_id
    if flexible:
        header += b"\x00"  # empty tagged-field section of request header v2
    payload = header + body
    return struct.pack(">i", len(payload)) + payload


def connect(broker: Any) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", broker.port), timeout=5)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def read_frame(s: socket.socket) -> bytes:
    size = struct.unpack(">i", recv_exactly(s, 4))[0]
    return recv_exactly(s, size)


def recv_exactly(s: socket.socket, n: int) -> bytes:
    out = b""
    while len(out) < n:
        chunk = s.recv(n - len(out))
        if not chunk:
            raise ConnectionError("closed by broker")
        out += chunk
    return out


def closed_by_broker(s: socket.socket, timeout: float = 5.0) -> bool:
    s.settimeout(timeout)
    try:
        while True:
            data = s.recv(65536)
            if not data:
                return True
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def api_versions_v0(s: socket.socket, correlation_id: int = 1) -> dict[int, tuple[int, int]]:
    s.sendall(frame(API_VERSIONS, 0, correlation_id, b""))
    body = read_frame(s)
    corr, error, count = struct.unpack(">ihi", body[:10])
    assert corr == correlation_id
    assert error == 0
    ranges = {}
    for i in range(count):
        key, lo, hi = struct.unpack(">hhh", body[10 + 6 * i : 16 + 6 * i])
        ranges[key] = (lo, hi)
    return ranges


def still_serves(broker: Any) -> None:
    with connect(broker) as s:
        assert API_VERSIONS in api_versions_v0(s, 77)


def test_api_versions_advertises_the_registry(kafka_broker: Any) -> None:
    with connect(kafka_broker) as s:
        ranges = api_versions_v0(s)
    assert ranges[API_VERSIONS] == (0, 4)
    assert ranges[PRODUCE][0] == 0  # advertised from v0 like Kafka 4.x
    assert ranges[1] == (4, 12)  # Fetch
    assert 71 not in ranges and 72 not in ranges  # never telemetry


def test_unknown_api_versions_version_gets_v0_error_answer(kafka_broker: Any) -> None:
    with connect(kafka_broker) as s:
        s.sendall(frame(API_VERSIONS, 99, 5, b"", flexible=True))
        body = read_frame(s)
        corr, error, count = struct.unpack(">ihi", body[:10])
        assert (corr, error, count) == (5, 35, 1)
        assert struct.unpack(">hhh", body[10:16]) == (API_VERSIONS, 0, 4)
        # The connection stays usable for the retry.
        assert API_VERSIONS in api_versions_v0(s, 6)


@pytest.mark.parametrize(
    "payload",
    [
        frame(9999, 0, 1, b""),  # unknown api key
        frame(PRODUCE, 1, 1, b"\x00" * 20),  # a version below what we serve
        frame(METADATA, 1, 1, struct.pack(">i", -2)),  # negative array size
        frame(METADATA, 1, 1, struct.pack(">i", 0x7FFFFFFF)),  # absurd array size, no elements
        struct.pack(">i", 4) + b"\x00\x03",  # shorter than any header
        struct.pack(">i", -5),  # negative frame size
        struct.pack(">i", 0x7FFFFFFF),  # 2 GiB frame announced
        b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n",  # HTTP on the Kafka port
        bytes.fromhex("160301020001000200"),  # start of a TLS ClientHello
    ],
    ids=["unknown-key", "old-version", "negative-array", "huge-array", "tiny-frame",
         "negative-size", "huge-size", "http", "tls"],
)
def test_bad_frames_close_only_that_connection(kafka_broker: Any, payload: bytes) -> None:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with connect(kafka_broker) as bystander, connect(kafka_broker) as s:
        s.sendall(payload)
        assert closed_by_broker(s)
        assert API_VERSIONS in api_versions_v0(bystander)
    still_serves(kafka_broker)
    grown_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown_kb < 64 * 1024, f"peak memory grew by {grown_kb} KiB"


def test_truncated_frame_then_disconnect_is_harmless(kafka_broker: Any) -> None:
    with connect(kafka_broker) as s:
        s.sendall(struct.pack(">i", 100) + b"\x00\x12\x00\x00")
    still_serves(kafka_broker)


def test_pipelined_requests_answered_in_order_then_garbage_closes(kafka_broker: Any) -> None:
    with connect(kafka_broker) as s:
        s.sendall(b"".join(frame(API_VERSIONS, 0, i, b"") for i in range(1, 21)) + b"\xff" * 8)
        for i in range(1, 21):
            body = read_frame(s)
            assert struct.unpack(">i", body[:4])[0] == i
        assert closed_by_broker(s)
    still_serves(kafka_broker)


def test_trailing_bytes_inside_a_frame_are_tolerated(kafka_broker: Any) -> None:
    with connect(kafka_broker) as s:
        s.sendall(frame(API_VERSIONS, 0, 9, b"trailing garbage"))
        assert struct.unpack(">i", read_frame(s)[:4])[0] == 9


def test_request_size_limit(kafka_broker_factory: Any) -> None:
    broker = kafka_broker_factory(**{"socket.request.max.bytes": "1024"})
    with connect(broker) as s:
        s.sendall(frame(API_VERSIONS, 0, 1, b"x" * 2000))
        assert closed_by_broker(s)
    still_serves(broker)


def test_many_idle_and_slow_connections_do_not_block_others(kafka_broker: Any) -> None:
    idle = [connect(kafka_broker) for _ in range(200)]
    slow = connect(kafka_broker)
    request = frame(API_VERSIONS, 0, 42, b"")
    try:
        for b in request[:6]:  # a slow client dribbling its request
            slow.sendall(bytes([b]))
            still_serves(kafka_broker)
            time.sleep(0.02)
        slow.sendall(request[6:])
        assert struct.unpack(">i", read_frame(slow)[:4])[0] == 42
    finally:
        for s in idle:
            s.close()
        slow.close()
    still_serves(kafka_broker)


def test_idle_connections_are_closed_after_the_idle_timeout(kafka_broker_factory: Any) -> None:
    broker = kafka_broker_factory(**{"connections.max.idle.ms": "300"})
    with connect(broker) as s:
        assert closed_by_broker(s, timeout=5)
