"""RecordBatch v2 interop: pykafkacore's builder/decoder against kafka-python's own record code."""

from __future__ import annotations

import struct

import pytest
from kafka import codec as kafka_codec
from kafka.record.default_records import DefaultRecordBatch
from kafka.record.memory_records import MemoryRecords, MemoryRecordsBuilder

import pykafkacore
from pykafkacore import build_batch, crc32c, decode_batches

CODEC_IDS = {"none": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}
_HAS_CODEC = {
    "none": lambda: True,
    "gzip": kafka_codec.has_gzip,
    "snappy": kafka_codec.has_snappy,
    "lz4": kafka_codec.has_lz4,
    "zstd": kafka_codec.has_zstd,
}
CODECS = [
    pytest.param(
        name,
        marks=pytest.mark.skipif(not has(), reason=f"kafka-python has no {name} codec here"),
    )
    for name, has in _HAS_CODEC.items()
]

# Repetitive enough that every codec shrinks it (kafka-python silently sends a batch uncompressed
# when compression does not pay off).
BIG = b"pykafkacore record batch " * 4000

Record = tuple[int, bytes | None, bytes | None, list[tuple[str, bytes | None]]]

SAMPLE: list[Record] = [
    (1_700_000_000_000, b"key-0", b"value-0", []),
    (1_700_000_000_005, None, b"null key", [("trace", b"abc"), ("empty", b"")]),
    (1_699_999_999_990, b"earlier timestamp", None, [("null-value", None)]),
    (1_700_000_000_100, b"", b"", [("ключ", "значение".encode())]),
    (1_700_000_000_050, b"big", BIG, [("a", b"1"), ("b", b"2"), ("a", b"3")]),
]


def kafka_batches(data: bytes) -> list[DefaultRecordBatch]:
    records = MemoryRecords(bytes(data))
    batches = []
    while records.has_next():
        batches.append(records.next_batch())
    return batches


def kafka_records(batch: DefaultRecordBatch) -> list[tuple]:
    return [(r.offset, r.timestamp, r.key, r.value, list(r.headers)) for r in batch]


def expected_records(base_offset: int, records: list[Record]) -> list[tuple]:
    return [
        (base_offset + i, ts, key, value, [(k, v) for k, v in headers])
        for i, (ts, key, value, headers) in enumerate(records)
    ]


# --- (a) built by pykafkacore, read by kafka-python ---------------------------------------------


@pytest.mark.parametrize("compression", CODECS)
def test_kafka_python_reads_our_batch(compression: str) -> None:
    data = build_batch(
        SAMPLE,
        compression=compression,
        base_offset=1000,
        producer_id=42,
        producer_epoch=3,
        base_sequence=7,
    )
    assert isinstance(data, bytes)
    [batch] = kafka_batches(data)
    assert isinstance(batch, DefaultRecordBatch)
    assert batch.validate_crc()
    assert batch.magic == 2
    assert batch.base_offset == 1000
    assert batch.size_in_bytes == len(data)
    assert batch.compression_type == CODEC_IDS[compression]
    assert batch.timestamp_type == 0  # CreateTime
    assert not batch.is_transactional
    assert not batch.is_control_batch
    assert batch.last_offset_delta == len(SAMPLE) - 1
    assert batch.records_count == len(SAMPLE)
    assert batch.first_timestamp == SAMPLE[0][0]
    assert batch.max_timestamp == max(r[0] for r in SAMPLE)
    assert batch.producer_id == 42
    assert batch.producer_epoch == 3
    assert batch.base_sequence == 7
    assert batch.last_sequence == 7 + len(SAMPLE) - 1
    assert batch.leader_epoch == -1
    assert kafka_records(batch) == expected_records(1000, SAMPLE)


@pytest.mark.parametrize("compression", CODECS)
def test_kafka_python_reads_concatenated_batches(compression: str) -> None:
    first = build_batch(SAMPLE[:2], compression=compression, base_offset=0)
    second = build_batch(SAMPLE[2:], compression=compression, base_offset=2)
    batches = kafka_batches(first + second)
    assert [b.base_offset for b in batches] == [0, 2]
    got = [r for b in batches for r in kafka_records(b)]
    assert got == expected_records(0, SAMPLE)


def test_kafka_python_reads_transactional_batch() -> None:
    data = build_batch(
        [(5, b"k", b"v", [])],
        producer_id=9,
        producer_epoch=1,
        base_sequence=0,
        transactional=True,
        partition_leader_epoch=4,
    )
    [batch] = kafka_batches(data)
    assert batch.validate_crc()
    assert batch.is_transactional
    assert batch.leader_epoch == 4
    assert kafka_records(batch) == [(0, 5, b"k", b"v", [])]


def test_header_keys_may_be_bytes_and_values_bytes_like() -> None:
    data = build_batch([(1, bytearray(b"k"), memoryview(b"v"), [(b"h", bytearray(b"x"))])])
    [batch] = kafka_batches(data)
    assert kafka_records(batch) == [(0, 1, b"k", b"v", [("h", b"x")])]


def test_headers_may_be_omitted() -> None:
    [decoded] = decode_batches(build_batch([(1, b"k", b"v")]))
    assert decoded["records"][0]["headers"] == []


# --- (b) built by kafka-python, read by pykafkacore ---------------------------------------------


@pytest.mark.parametrize("compression", CODECS)
def test_we_read_kafka_python_batch(compression: str) -> None:
    builder = MemoryRecordsBuilder(
        magic=2,
        compression_type=CODEC_IDS[compression],
        batch_size=1 << 20,
        offset=500,
        producer_id=77,
        producer_epoch=2,
        base_sequence=100,
    )
    for ts, key, value, headers in SAMPLE:
        assert builder.append(ts, key, value, headers) is not None
    builder.close()
    data = bytes(builder.buffer())

    [batch] = decode_batches(data)
    [reference] = kafka_batches(data)
    assert batch["compression"] == compression
    assert batch["magic"] == 2
    # kafka-python always writes baseOffset 0 (the broker assigns offsets) and uses the builder's
    # offsets as deltas.
    assert batch["base_offset"] == reference.base_offset == 0
    assert batch["batch_length"] == len(data) - 12
    assert batch["crc"] == reference.crc
    assert batch["attributes"] == reference.attributes
    assert batch["partition_leader_epoch"] == reference.leader_epoch
    assert batch["last_offset_delta"] == reference.last_offset_delta == 500 + len(SAMPLE) - 1
    assert batch["base_timestamp"] == SAMPLE[0][0]
    assert batch["max_timestamp"] == max(r[0] for r in SAMPLE)
    assert batch["timestamp_type"] == "create_time"
    assert batch["producer_id"] == 77
    assert batch["producer_epoch"] == 2
    assert batch["base_sequence"] == 100
    assert batch["record_count"] == len(SAMPLE)
    assert batch["is_transactional"] is False
    assert batch["is_control"] is False
    got = [
        (r["offset"], r["timestamp"], r["key"], r["value"], r["headers"]) for r in batch["records"]
    ]
    assert got == expected_records(500, SAMPLE) == kafka_records(reference)


def test_we_read_kafka_python_transactional_batch_and_offset_gaps() -> None:
    builder = MemoryRecordsBuilder(
        magic=2,
        compression_type=0,
        batch_size=1 << 16,
        transactional=True,
        producer_id=5,
        producer_epoch=0,
        base_sequence=0,
    )
    builder.append(100, b"a", b"1")
    builder.skip(3)  # as compaction leaves it: offsets 0, 4
    builder.append(101, b"b", b"2")
    builder.close()
    [batch] = decode_batches(bytes(builder.buffer()))
    assert batch["is_transactional"] is True
    assert batch["last_offset_delta"] == 4
    assert [r["offset"] for r in batch["records"]] == [0, 4]


@pytest.mark.parametrize("compression", CODECS)
def test_our_batches_round_trip(compression: str) -> None:
    data = build_batch(SAMPLE, compression, 3, 11, 1, 0, partition_leader_epoch=8)
    [batch] = decode_batches(data)
    assert batch["compression"] == compression
    assert batch["partition_leader_epoch"] == 8
    assert (batch["producer_id"], batch["producer_epoch"], batch["base_sequence"]) == (11, 1, 0)
    assert batch["crc"] == crc32c(data[21:])
    got = [
        (r["offset"], r["timestamp"], r["key"], r["value"], r["headers"]) for r in batch["records"]
    ]
    assert got == expected_records(3, SAMPLE)


def test_empty_input_decodes_to_no_batches() -> None:
    assert decode_batches(b"") == []


# --- (c) bad input -------------------------------------------------------------------------------


def _batch(compression: str = "none") -> bytes:
    return build_batch(SAMPLE, compression=compression)


def test_truncated_batch_is_rejected() -> None:
    data = _batch()
    with pytest.raises(ValueError, match=r"CORRUPT_MESSAGE: record batch truncated"):
        decode_batches(data[:-1])
    with pytest.raises(ValueError, match=r"truncated"):
        decode_batches(data[:5])


def test_truncated_second_batch_reports_its_position() -> None:
    data = _batch()
    with pytest.raises(ValueError, match=rf"batch at byte {len(data)} of"):
        decode_batches(data + data[:40])


def test_flipped_bit_fails_the_crc() -> None:
    data = bytearray(_batch())
    data[-3] ^= 0x01
    with pytest.raises(ValueError, match=r"CORRUPT_MESSAGE: .*CRC32C"):
        decode_batches(bytes(data))


def test_old_message_format_is_unsupported() -> None:
    data = bytearray(_batch())
    data[16] = 1  # magic
    with pytest.raises(ValueError, match=r"UNSUPPORTED_FOR_MESSAGE_FORMAT: .*magic 2"):
        decode_batches(bytes(data))


def test_absurd_length_is_rejected() -> None:
    data = bytearray(_batch())
    struct.pack_into(">i", data, 8, -5)
    with pytest.raises(ValueError, match=r"length -5 is out of range"):
        decode_batches(bytes(data))


def test_record_count_mismatch_is_rejected() -> None:
    data = bytearray(_batch())
    struct.pack_into(">i", data, 57, len(SAMPLE) - 1)  # records_count
    struct.pack_into(">I", data, 17, crc32c(bytes(data[21:])))
    with pytest.raises(ValueError, match=r"CORRUPT_MESSAGE: bytes left after the last record"):
        decode_batches(bytes(data))


@pytest.mark.parametrize("compression", ["gzip", "snappy", "lz4", "zstd"])
def test_corrupt_compressed_payload_with_valid_crc_is_rejected(compression: str) -> None:
    data = bytearray(_batch(compression))
    # Garble the compressed records region, then make the CRC right again so only the codec
    # can notice.
    for i in range(61, len(data), 7):
        data[i] ^= 0x5A
    struct.pack_into(">I", data, 17, crc32c(bytes(data[21:])))
    with pytest.raises(ValueError, match=r"[A-Z_]+: .+ \(batch at byte 0 of"):
        decode_batches(bytes(data))


def test_decompressed_size_limit() -> None:
    data = _batch("zstd")
    with pytest.raises(ValueError, match=r"limit"):
        decode_batches(data, max_decompressed=1024)


def test_build_batch_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match=r"unknown compression 'brotli'"):
        build_batch(SAMPLE, compression="brotli")
    with pytest.raises(TypeError, match=r"record 0 value must be bytes or None, not str"):
        build_batch([(1, b"k", "text", [])])  # type: ignore[list-item]
    with pytest.raises(TypeError, match=r"record 1 timestamp must be int"):
        build_batch([(1, None, None, []), (1.5, None, None, [])])  # type: ignore[list-item]
    with pytest.raises(ValueError, match=r"record 0 has 2 fields"):
        build_batch([(1, b"k")])  # type: ignore[list-item]
    with pytest.raises(TypeError, match=r"record 0 header 0 key must be str or bytes"):
        build_batch([(1, None, None, [(None, b"v")])])  # type: ignore[list-item]
    with pytest.raises(TypeError, match=r"header 0 must be a pair"):
        build_batch([(1, None, None, ["kv"])])  # type: ignore[list-item]
    with pytest.raises(ValueError, match=r"producer_epoch"):
        build_batch(SAMPLE, producer_epoch=1 << 20)
    with pytest.raises(TypeError, match=r"data must be bytes, not str"):
        decode_batches("not bytes")  # type: ignore[arg-type]


# --- (d) CRC32C ----------------------------------------------------------------------------------


def test_crc32c_known_vector() -> None:
    assert crc32c(b"123456789") == 0xE3069283
    assert crc32c(b"") == 0


def test_crc32c_matches_kafka_python_on_large_input() -> None:
    from kafka.record.util import calc_crc32c

    data = bytes(range(256)) * 1024  # large enough to run with the GIL released
    assert crc32c(data) == calc_crc32c(data)
    assert crc32c(memoryview(data)[1:]) == calc_crc32c(data[1:])
    assert isinstance(pykafkacore.crc32c_hardware(), bool)


def test_public_api() -> None:
    assert pykafkacore.__version__ == "0.1.0"
    assert {"build_batch", "crc32c", "decode_batches"} <= set(pykafkacore.__all__)
