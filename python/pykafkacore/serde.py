"""Serializers and deserializers for record keys and values.

Anywhere a client takes ``key_serializer=``/``value_serializer=`` (or ``..._deserializer=``) it
accepts a callable or one of the names ``"bytes"``, ``"str"`` (UTF-8), ``"json"``,
``"msgpack"``, ``"int64"`` and ``"double"`` (8 bytes big-endian, Kafka's LongSerde and
DoubleSerde). ``None`` passes through unchanged either way (a null key or a tombstone).
"""

from __future__ import annotations

import json
import struct
from collections.abc import Callable
from typing import Any

Serializer = Callable[[Any], bytes | None]
Deserializer = Callable[[bytes | None], Any]


def _to_bytes(value: Any) -> bytes | None:
    if value is None or isinstance(value, bytes):
        return value
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, str):
        return value.encode()
    raise TypeError(f"cannot send {type(value).__name__} as bytes; give a serializer "
                    "(value_serializer='json', 'str', 'msgpack' or a callable)")


def _json_dumps(value: Any) -> bytes | None:
    return None if value is None else json.dumps(value, separators=(",", ":")).encode()


def _json_loads(data: bytes | None) -> Any:
    return None if data is None else json.loads(data)


def _str_dumps(value: Any) -> bytes | None:
    return None if value is None else str(value).encode()


def _str_loads(data: bytes | None) -> str | None:
    return None if data is None else data.decode()


def _msgpack_dumps(value: Any) -> bytes | None:
    import msgpack  # optional dependency

    return None if value is None else msgpack.packb(value, use_bin_type=True)


def _msgpack_loads(data: bytes | None) -> Any:
    import msgpack

    return None if data is None else msgpack.unpackb(data, raw=False)


def _int64_dumps(value: Any) -> bytes | None:
    return None if value is None else _INT64.pack(value)


def _int64_loads(data: bytes | None) -> int | None:
    return None if data is None else _INT64.unpack(data)[0]


def _double_dumps(value: Any) -> bytes | None:
    return None if value is None else _DOUBLE.pack(value)


def _double_loads(data: bytes | None) -> float | None:
    return None if data is None else _DOUBLE.unpack(data)[0]


# Kafka's LongSerde and DoubleSerde layouts (8 bytes, big-endian): what Streams counts and
# sums are written as.
_INT64 = struct.Struct(">q")
_DOUBLE = struct.Struct(">d")

_SERIALIZERS: dict[str, Serializer] = {
    "bytes": _to_bytes, "str": _str_dumps, "json": _json_dumps, "msgpack": _msgpack_dumps,
    "int64": _int64_dumps, "double": _double_dumps,
}
_DESERIALIZERS: dict[str, Deserializer] = {
    "bytes": lambda b: b, "str": _str_loads, "json": _json_loads, "msgpack": _msgpack_loads,
    "int64": _int64_loads, "double": _double_loads,
}


def serializer(spec: str | Serializer | None) -> Serializer | None:
    """The serializer a spec names (None: values must already be bytes-like)."""
    if spec is None or callable(spec):
        return spec
    try:
        return _SERIALIZERS[spec]
    except KeyError:
        raise ValueError(f"unknown serializer {spec!r}; use one of {sorted(_SERIALIZERS)} "
                         "or a callable") from None


def deserializer(spec: str | Deserializer | None) -> Deserializer | None:
    if spec is None or callable(spec):
        return spec
    try:
        return _DESERIALIZERS[spec]
    except KeyError:
        raise ValueError(f"unknown deserializer {spec!r}; use one of {sorted(_DESERIALIZERS)} "
                         "or a callable") from None
