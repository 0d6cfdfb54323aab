#!/usr/bin/env python3
"""Regenerates the RecordBatch v2 fixtures in this directory with kafka-python.

The point is an encoder/decoder written independently of ours: batches are built with
kafka-python's DefaultRecordBatchBuilder, and manifest.json holds what kafka-python's own
DefaultRecordBatch reader decodes from them. Needs: pip install kafka-python python-snappy lz4 zstandard
"""
import json
import os
import struct
import sys

import kafka
from kafka.record.default_records import DefaultRecordBatch, DefaultRecordBatchBuilder
from kafka.record.memory_records import MemoryRecords

HERE = os.path.dirname(os.path.abspath(__file__))
BASE_TS = 1700000000000
CODECS = {
    "none": DefaultRecordBatchBuilder.CODEC_NONE,
    "gzip": DefaultRecordBatchBuilder.CODEC_GZIP,
    "snappy": DefaultRecordBatchBuilder.CODEC_SNAPPY,
    "lz4": DefaultRecordBatchBuilder.CODEC_LZ4,
    "zstd": DefaultRecordBatchBuilder.CODEC_ZSTD,
}


def build(codec, records, base_offset=0, producer=(-1, -1, -1)):
    producer_id, producer_epoch, base_sequence = producer
    builder = DefaultRecordBatchBuilder(
        magic=2, compression_type=codec, is_transactional=False,
        producer_id=producer_id, producer_epoch=producer_epoch,
        base_sequence=base_sequence, batch_size=1 << 20)
    for offset_delta, (timestamp, key, value, headers) in enumerate(records):
        if builder.append(offset_delta, timestamp, key, value, headers) is None:
            sys.exit("builder refused a record")
    data = bytearray(builder.build())
    # The client always writes base offset 0 (the broker assigns it); the field is outside the CRC.
    struct.pack_into(">q", data, 0, base_offset)
    return bytes(data)


def standard_records():
    records = []
    for i in range(5):
        key = None if i == 2 else b"key-%d" % i
        value = None if i == 3 else (b"value-%d" % i) * 20
        headers = [("h1", b"v1"), ("h2", None)] if i == 1 else []
        records.append((BASE_TS + i * 10, key, value, headers))
    return records


def simple_records(n, tag):
    return [(BASE_TS + i, b"%s-k%d" % (tag, i), b"%s-v%d" % (tag, i), []) for i in range(n)]


def text(b):
    return None if b is None else b.decode("utf-8")


def describe(data):
    batches = []
    records = MemoryRecords(data)
    while records.has_next():
        batch = records.next_batch()
        assert isinstance(batch, DefaultRecordBatch), type(batch)
        assert batch.validate_crc(), "kafka-python rejects the CRC it wrote"
        entry = {
            "base_offset": batch.base_offset,
            "size_in_bytes": batch.size_in_bytes,
            "partition_leader_epoch": batch.leader_epoch,
            "magic": batch.magic,
            "crc": batch.crc,
            "attributes": batch.attributes,
            "compression": batch.compression_type,
            "last_offset_delta": batch.last_offset_delta,
            "base_timestamp": batch.first_timestamp,
            "max_timestamp": batch.max_timestamp,
            "producer_id": batch.producer_id,
            "producer_epoch": batch.producer_epoch,
            "base_sequence": batch.base_sequence,
            "record_count": batch.records_count,
            "records": [],
        }
        for record in batch:
            entry["records"].append({
                "offset_delta": record.offset - batch.base_offset,
                "timestamp_delta": record.timestamp - batch.first_timestamp,
                "key": text(record.key),
                "value": text(record.value),
                "headers": [[k, text(v)] for k, v in record.headers],
            })
        assert len(entry["records"]) == entry["record_count"]
        batches.append(entry)
    return batches


def main():
    files = {}
    for name, codec in CODECS.items():
        data = build(codec, standard_records())
        # The builder silently falls back to no compression when it does not pay off.
        assert (struct.unpack_from(">h", data, 21)[0] & 7) == codec, name
        files[name + ".bin"] = data
    files["idempotent.bin"] = build(
        CODECS["none"], simple_records(3, b"idem"), producer=(4242, 7, 100))
    files["multi.bin"] = b"".join([
        build(CODECS["none"], simple_records(2, b"a"), base_offset=0),
        build(CODECS["none"], simple_records(3, b"b"), base_offset=2),
        build(CODECS["none"], simple_records(1, b"c"), base_offset=5),
    ])

    manifest = {"generator": "kafka-python " + kafka.__version__, "files": {}}
    for name, data in files.items():
        with open(os.path.join(HERE, name), "wb") as f:
            f.write(data)
        manifest["files"][name] = {"size": len(data), "batches": describe(data)}
    with open(os.path.join(HERE, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
