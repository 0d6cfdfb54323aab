"""The storage engine through pykafkacore.storage, on real files, including a killed writer."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from pykafkacore import build_batch, decode_batches
from pykafkacore.storage import LogManager


def records_of(data: bytes) -> list[tuple[int, bytes | None, bytes | None]]:
    return [(r["offset"], r["key"], r["value"]) for b in decode_batches(data) for r in b["records"]]


def test_append_read_restart(tmp_path: Path) -> None:
    with LogManager(str(tmp_path)) as logs:
        assert logs.recovered_from_crash  # a fresh directory has no clean-shutdown marker
        log = logs.partition("orders", 0)
        first = log.append(build_batch([(1000, b"k1", b"v1", []), (1001, b"k2", None, [])]))
        second = log.append(build_batch([(2000, b"k3", b"v3", [("h", b"x")])], compression="zstd"))
        assert (first["first_offset"], first["last_offset"]) == (0, 1)
        assert second["first_offset"] == 2
        assert log.offset_for_timestamp(1500) == (2, 2000)
    assert (tmp_path / ".kafkacore_clean_shutdown").exists()
    with LogManager(str(tmp_path)) as logs:
        assert not logs.recovered_from_crash
        assert logs.partitions() == [("orders", 0)]
        log = logs.partition("orders", 0)
        assert records_of(log.read(0)) == [(0, b"k1", b"v1"), (1, b"k2", None), (2, b"k3", b"v3")]
        assert records_of(log.read(2)) == [(2, b"k3", b"v3")]


def test_bad_input_is_refused_and_loses_nothing(tmp_path: Path) -> None:
    with LogManager(str(tmp_path)) as logs:
        log = logs.partition("t", 0)
        log.append(build_batch([(1, b"a", b"1", [])]))
        good = bytearray(build_batch([(2, b"b", b"2", [])]))
        good[-1] ^= 0xFF
        with pytest.raises(ValueError, match="CORRUPT_MESSAGE"):
            log.append(bytes(good))
        with pytest.raises(ValueError, match="OFFSET_OUT_OF_RANGE"):
            log.read(5)
        with pytest.raises(ValueError, match="retention.ms"):
            logs.set_topic_config("t", {"retention.ms": "forever"})
        assert log.log_end_offset == 1
        assert records_of(log.read(0)) == [(0, b"a", b"1")]


def test_delete_records_and_truncate(tmp_path: Path) -> None:
    with LogManager(str(tmp_path), {"segment.bytes": "200"}) as logs:
        log = logs.partition("t", 0)
        now = int(time.time() * 1000)  # old timestamps would fall to time retention
        for i in range(10):
            log.append(build_batch([(now + i, f"k{i}".encode(), b"v" * 50, [])]))
        assert log.segment_count > 3
        assert log.delete_records_before(6) == 6
        with pytest.raises(ValueError, match="OFFSET_OUT_OF_RANGE"):
            log.read(2)
        log.truncate_to(8)
        assert log.log_end_offset == 8
        assert [o for o, _, _ in records_of(log.read(6))] == [6, 7]


WRITER = textwrap.dedent(
    """
    import sys
    from pykafkacore import build_batch
    from pykafkacore.storage import LogManager
    logs = LogManager(sys.argv[1], {"flush.messages": "1", "segment.bytes": "4096"})
    log = logs.partition("crash", 0)
    i = log.log_end_offset
    while True:
        log.append(build_batch([(i, b"key%d" % i, b"value%d" % i, [])]))
        log.flush()
        print(log.durable_offset, flush=True)
        i += 1
    """
)


@pytest.mark.parametrize("cycle", range(5))
def test_killed_writer_loses_no_flushed_record(tmp_path: Path, cycle: int) -> None:
    data = tmp_path / "data"
    acknowledged = 0
    for _ in range(3):
        proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(data)], stdout=subprocess.PIPE, text=True
        )
        assert proc.stdout is not None
        deadline = time.monotonic() + 0.2 + 0.05 * cycle
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            acknowledged = max(acknowledged, int(line))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        logs = LogManager(str(data))
        assert logs.recovered_from_crash
        log = logs.partition("crash", 0)
        got = records_of(log.read(0, max_bytes=1 << 30))
        assert len(got) >= acknowledged
        assert got == [(i, b"key%d" % i, b"value%d" % i) for i in range(len(got))]
        logs.shutdown()
    assert acknowledged > 0


def test_serve_shuts_down_cleanly_on_sigterm(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "pykafkacore.cli", "serve", "--port", "0", "--data-dir", str(tmp_path)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.startswith("bootstrap.servers=127.0.0.1:"), line
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 0
    proc.stdout.close()
    assert (tmp_path / ".kafkacore_clean_shutdown").exists()
