"""How the CLI prints: aligned tables, JSON documents and a progress line."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterable, Sequence
from typing import Any, TextIO


def cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value) or "-"
    return str(value)


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], out: TextIO | None = None) -> None:
    """Columns separated by two spaces; numeric columns right-aligned so digits line up."""
    out = out or sys.stdout
    rows = [list(r) for r in rows]
    numeric = [all(isinstance(r[i], int) and not isinstance(r[i], bool) or r[i] is None
                   for r in rows) and any(r[i] is not None for r in rows)
               for i in range(len(headers))]
    text = [[cell(v) for v in r] for r in rows]
    widths = [max([len(h)] + [len(r[i]) for r in text]) for i, h in enumerate(headers)]

    def line(values: Sequence[str]) -> str:
        parts = [v.rjust(w) if num else v.ljust(w)
                 for v, w, num in zip(values, widths, numeric)]
        return "  ".join(parts).rstrip()

    out.write(line(list(headers)) + "\n")
    for r in text:
        out.write(line(r) + "\n")


def print_json(document: Any, out: TextIO | None = None) -> None:
    out = out or sys.stdout
    json.dump(document, out, indent=2, sort_keys=False)
    out.write("\n")


def info(message: str) -> None:
    """A human-facing note on stderr (stdout stays data only)."""
    print(message, file=sys.stderr, flush=True)


class Progress:
    """A one-line ``\\r`` progress bar on stderr, drawn only when stderr is a terminal (so
    logs and pipes never see it) and at most ten times a second."""

    def __init__(self, label: str, total: int) -> None:
        self._label = label
        self._total = max(1, total)
        self._enabled = sys.stderr.isatty()
        self._last = 0.0
        self._drawn = False

    def update(self, done: int) -> None:
        if not self._enabled:
            return
        now = time.monotonic()
        if now - self._last < 0.1 and done < self._total:
            return
        self._last = now
        fraction = min(1.0, done / self._total)
        filled = int(fraction * 30)
        sys.stderr.write(f"\r{self._label} [{'#' * filled}{'.' * (30 - filled)}] "
                         f"{fraction * 100:5.1f}% {done}/{self._total}")
        sys.stderr.flush()
        self._drawn = True

    def close(self) -> None:
        if self._drawn:
            sys.stderr.write("\r\033[K")  # clears the line so the result stands alone
            sys.stderr.flush()
            self._drawn = False
