"""Build a Kafka RecordBatch v2 with pykafkacore and decode it again.

Run after `make build`:  .venv/bin/python examples/record_batches.py
"""

from __future__ import annotations

import time

import pykafkacore


def main() -> None:
    now = int(time.time() * 1000)
    records = [
        (now, b"user-1", b'{"action": "login"}', [("source", b"web")]),
        (now + 3, b"user-2", b'{"action": "logout"}', []),
        (now + 7, None, None, [("tombstone-for", b"user-3")]),
    ]
    data = pykafkacore.build_batch(records, compression="zstd", base_offset=100)
    print(f"built one batch of {len(records)} records: {len(data)} bytes")

    for batch in pykafkacore.decode_batches(data):
        print(
            f"batch base_offset={batch['base_offset']} compression={batch['compression']} "
            f"records={batch['record_count']} crc={batch['crc']:#010x}"
        )
        for record in batch["records"]:
            print(
                f"  offset={record['offset']} timestamp={record['timestamp']} "
                f"key={record['key']!r} value={record['value']!r} headers={record['headers']}"
            )

    try:
        pykafkacore.decode_batches(data[:-1])
    except ValueError as error:
        print(f"a truncated batch is rejected: {error}")


if __name__ == "__main__":
    main()
