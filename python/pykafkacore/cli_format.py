"""How ``pykafkacore consume`` renders a record: kcat-style ``-f`` format strings and
``--json`` lines.

Format tokens (as kcat's): ``%t`` topic, ``%p`` partition, ``%o`` offset, ``%k`` key, ``%s``
value, ``%K`` key size, ``%S`` value size (-1 for null), ``%T`` timestamp (ms), ``%h`` headers
(``k=v,k2=v2``), ``%%`` a percent sign. Escapes: ``\\n``, ``\\r``, ``\\t``, ``\\0``, ``\\\\``.
Keys and values are written as their raw bytes (null: nothing).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

from .records import Record

DEFAULT_FORMAT = "%s\\n"

_ESCAPES = {"n": b"\n", "r": b"\r", "t": b"\t", "0": b"\0", "\\": b"\\"}


def _size(data: bytes | None) -> bytes:
    return b"-1" if data is None else str(len(data)).encode()


def _headers(record: Record) -> bytes:
    return b",".join(k.encode() + b"=" + (v if v is not None else b"")
                     for k, v in record.headers)


_TOKENS: dict[str, Callable[[Record], bytes]] = {
    "t": lambda r: r.topic.encode(),
    "p": lambda r: str(r.partition).encode(),
    "o": lambda r: str(r.offset).encode(),
    "k": lambda r: r.key or b"",
    "s": lambda r: r.value or b"",
    "K": lambda r: _size(r.key),
    "S": lambda r: _size(r.value),
    "T": lambda r: str(r.timestamp).encode(),
    "h": _headers,
}


def compile_format(fmt: str) -> Callable[[Record], bytes]:
    """A function rendering one record; ValueError names the first bad token or escape."""
    parts: list[bytes | Callable[[Record], bytes]] = []
    literal = bytearray()
    i = 0
    while i < len(fmt):
        ch = fmt[i]
        if ch in "%\\":
            if i + 1 >= len(fmt):
                raise ValueError(f"format ends with a lone {ch!r}")
            nxt = fmt[i + 1]
            if ch == "%" and nxt == "%":
                literal += b"%"
            elif ch == "%":
                if nxt not in _TOKENS:
                    raise ValueError(f"unknown format token %{nxt} (known: "
                                     f"{' '.join('%' + t for t in _TOKENS)} %%)")
                if literal:
                    parts.append(bytes(literal))
                    literal.clear()
                parts.append(_TOKENS[nxt])
            elif nxt in _ESCAPES:
                literal += _ESCAPES[nxt]
            else:
                raise ValueError(f"unknown escape \\{nxt} in format (known: \\n \\r \\t \\0 \\\\)")
            i += 2
        else:
            literal += ch.encode()
            i += 1
    if literal:
        parts.append(bytes(literal))
    fixed = tuple(parts)

    def render(record: Record) -> bytes:
        return b"".join(p if isinstance(p, bytes) else p(record) for p in fixed)

    return render


def _text(data: bytes | None) -> Any:
    """null, a string (valid UTF-8), or {"base64": ...} for binary data — never lossy."""
    if data is None:
        return None
    try:
        return data.decode()
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(data).decode()}


def json_line(record: Record) -> bytes:
    return json.dumps({
        "topic": record.topic, "partition": record.partition, "offset": record.offset,
        "timestamp": record.timestamp,
        "timestamp_type": "log_append" if record.timestamp_type == 1 else "create",
        "key": _text(record.key), "value": _text(record.value),
        "headers": [[k, _text(v)] for k, v in record.headers],
    }, separators=(",", ":")).encode() + b"\n"
