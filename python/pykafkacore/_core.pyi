"""Type stubs for the private native module pykafkacore._core (python/bindings/)."""

from collections.abc import Iterable, Sequence
from typing import Any

from typing_extensions import Buffer

_BytesLike = bytes | bytearray | memoryview
_Header = tuple[str | _BytesLike, _BytesLike | None]
_Record = (
    tuple[int, _BytesLike | None, _BytesLike | None]
    | tuple[int, _BytesLike | None, _BytesLike | None, Iterable[_Header] | None]
)

def crc32c(data: Buffer) -> int: ...
def crc32c_hardware() -> bool: ...
def build_batch(
    records: Sequence[_Record],
    compression: str = "none",
    base_offset: int = 0,
    producer_id: int = -1,
    producer_epoch: int = -1,
    base_sequence: int = -1,
    *,
    partition_leader_epoch: int = -1,
    transactional: bool = False,
    control: bool = False,
    compression_level: int = -1,
) -> bytes: ...
def decode_batches(
    data: _BytesLike, *, max_decompressed: int = 67108864
) -> list[dict[str, Any]]: ...
