"""Fixtures of the client compatibility tests (tests/compat); helpers are in compat_helpers.py.

Every test gets a real in-process broker from the ``kafka_broker`` / ``kafka_broker_factory``
fixtures of pykafkacore's pytest plugin. The broker logs to stderr (logfmt); pytest's fd-level
capture shows those lines next to a failing test's report.

Nothing here may hang: each test runs under a SIGALRM deadline (``COMPAT_TEST_TIMEOUT`` seconds,
default 30), and a faulthandler watchdog dumps every thread's stack and exits the session if even
that does not fire (a C call that never returns to the interpreter).
"""

from __future__ import annotations

import faulthandler
import signal
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from compat_helpers import TEST_TIMEOUT


class CompatTimeout(Exception):
    """A compatibility test ran past its deadline."""


@pytest.fixture(autouse=True)
def _deadline(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fails a test that runs longer than TEST_TIMEOUT instead of letting it hang."""

    def expired(signum: int, frame: Any) -> None:
        raise CompatTimeout(f"{request.node.nodeid} ran longer than {TEST_TIMEOUT:.0f}s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, TEST_TIMEOUT)
    # Last resort: a call stuck in C code with the GIL held never sees SIGALRM.
    faulthandler.dump_traceback_later(TEST_TIMEOUT + 60, exit=True, file=sys.__stderr__)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        faulthandler.cancel_dump_traceback_later()
