"""Fixtures shared by the Python suites (the broker fixtures come from pykafkacore's plugin)."""

from __future__ import annotations

import signal
from typing import Iterator

import pytest


@pytest.fixture
def python_sigint() -> Iterator[None]:
    """SIGINT raises KeyboardInterrupt during the test, as in an interactive Python. A job that a
    non-interactive shell starts in the background inherits SIGINT ignored, and Python then
    installs no handler of its own (nor does `_thread.interrupt_main()` do anything)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
