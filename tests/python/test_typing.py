"""The package's type information, checked the way a user's type checker sees it: mypy --strict
over pykafkacore (inline annotations, PEP 561 py.typed) and over a typed sample of the client
API (tests/python/typing/client_usage.py), and mypy's stubtest comparing the native module's
stubs (_core.pyi) with the built module."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("mypy")
ROOT = Path(__file__).resolve().parents[2]
TYPING = Path(__file__).resolve().parent / "typing"


def _mypy(*args: str) -> subprocess.CompletedProcess[str]:
    # Its own cache directory: pytest-xdist workers and a developer's mypy runs do not share one.
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)


def test_package_and_client_usage_type_check_strictly(tmp_path):
    result = _mypy("mypy", "--cache-dir", str(tmp_path / "cache"), "python/pykafkacore",
                   str(TYPING / "client_usage.py"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_native_module_stubs_match_the_built_module(tmp_path):
    result = _mypy("mypy.stubtest", "pykafkacore._core", "--mypy-config-file",
                   str(ROOT / "pyproject.toml"), "--allowlist",
                   str(TYPING / "stubtest_allowlist.txt"))
    assert result.returncode == 0, result.stdout + result.stderr
