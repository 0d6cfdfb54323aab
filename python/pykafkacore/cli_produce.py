"""``pykafkacore produce TOPIC``: one record per stdin line (or --value), as kcat -P does."""

from __future__ import annotations

import argparse
import io
import sys
from collections.abc import Iterator
from typing import Any, cast

from .cli_common import (CliError, UsageError, admin_client, client_config, key_value,
                         non_negative_int, timeout)
from .cli_output import info
from .errors import KafkaError, UnknownTopicOrPartitionError

_READ_SIZE = 1 << 16


class _Tally:
    """Delivered and failed records, over single sends (futures) and send_many batches."""

    def __init__(self) -> None:
        self.delivered = 0
        self.failed = 0
        self.first_error: KafkaError | None = None
        self._batches: list[Any] = []

    def __call__(self, future: Any) -> None:
        self._count(1, future.exception(0))

    def add_batch(self, batch: Any) -> None:
        self._batches.append(batch)

    def reap(self) -> None:
        """Counts the batches that are fully reported and lets go of them."""
        still = []
        for batch in self._batches:
            if not batch.done():
                still.append(batch)
                continue
            error = None
            if batch.failed:
                try:
                    batch.result(0)
                except KafkaError as e:
                    error = e
            self._count(len(batch) - batch.failed, None)
            self._count(batch.failed, error)
        self._batches = still

    def _count(self, n: int, error: KafkaError | None) -> None:
        if error is None:
            self.delivered += n
        elif n:
            self.failed += n
            self.first_error = self.first_error or error


Pair = tuple[bytes | None, bytes | None]


def _chunks(args: argparse.Namespace) -> Iterator[list[Pair]]:
    """(key, value) pairs from --value, or from stdin: each chunk holds the complete lines one
    read returned, so a pipe is sent in large batches and a terminal line by line."""
    if args.value is not None:
        key = args.key.encode() if args.key is not None else None
        yield [(_nullable(args, key), _nullable(args, args.value.encode()))]
        return
    delim = args.key_delimiter.encode() if args.key_delimiter is not None else None
    if sys.stdin.isatty() and not args.quiet:
        info("Reading records from stdin, one per line; Ctrl-D to send, Ctrl-C to stop.")
    # A BufferedReader (it has read1); typeshed types sys.stdin.buffer as BinaryIO.
    stdin = cast(io.BufferedReader, sys.stdin.buffer)
    pieces: list[bytes] = []  # of a line not complete yet (joined once, however long)
    while True:
        data = stdin.read1(_READ_SIZE)
        if not data:
            break
        pieces.append(data)
        if b"\n" not in data:
            continue
        lines = b"".join(pieces).split(b"\n")
        last = lines.pop()
        pieces = [last] if last else []
        yield [_pair(args, delim, line) for line in lines]
    if pieces:
        yield [_pair(args, delim, b"".join(pieces))]


def _pair(args: argparse.Namespace, delim: bytes | None, line: bytes) -> Pair:
    key = None
    if delim is not None:
        head, sep, tail = line.partition(delim)
        if sep:  # no delimiter on the line: the whole line is the value, the key null
            key, line = head, tail
    return _nullable(args, key), _nullable(args, line)


def _nullable(args: argparse.Namespace, data: bytes | None) -> bytes | None:
    return None if args.null_empty and data == b"" else data


def _check_topic(args: argparse.Namespace) -> None:
    """Fails fast (within --timeout) when no broker answers or --partition does not exist. A
    missing topic is left to the broker, which may create it (auto.create.topics.enable)."""
    with admin_client(args, only_admin_keys=True) as admin:
        try:
            topic = admin.describe_topics([args.topic], timeout=timeout(args))[args.topic]
        except UnknownTopicOrPartitionError:
            return
    if args.partition is not None and args.partition >= len(topic.partitions):
        raise KafkaError(f"topic {args.topic} has no partition {args.partition} (it has "
                         f"{len(topic.partitions)})", code=3)


def run(args: argparse.Namespace) -> int:
    from .producer import Producer

    if args.value is None and args.key is not None:
        raise UsageError("--key goes with --value (stdin lines take their key from -K)")
    if args.value is not None and args.key_delimiter is not None:
        raise UsageError("-K splits stdin lines; with --value give the key as --key")
    headers = [(k, v.encode()) for k, v in args.header or []]
    _check_topic(args)
    wait_ms = int(timeout(args) * 1000)
    defaults: dict[str, Any] = {
        # A dead cluster fails the records within --timeout instead of Kafka's 2 minutes.
        "delivery.timeout.ms": wait_ms, "max.block.ms": wait_ms,
        "request.timeout.ms": min(wait_ms, 30000),
    }
    if args.acks is not None:
        defaults["acks"] = args.acks
    if args.compression is not None:
        defaults["compression.type"] = args.compression
    producer = Producer(config=client_config(args, defaults))
    tally = _Tally()
    sent = 0
    try:
        try:
            for chunk in _chunks(args):
                if headers:  # send_many takes no headers
                    for key, value in chunk:
                        producer.send(args.topic, value, key=key, headers=headers,
                                      partition=args.partition).add_done_callback(tally)
                        sent += 1
                else:
                    keys = [k for k, _ in chunk]
                    tally.add_batch(producer.send_many(
                        args.topic, [v for _, v in chunk],
                        keys if any(k is not None for k in keys) else None, args.partition))
                    sent += len(chunk)
                producer.poll(0)
                tally.reap()
        except (KeyboardInterrupt, KafkaError):
            # What was queued before Ctrl-C or a record refused at once is still delivered.
            _finish(producer, tally, args, sent)
            raise
        _finish(producer, tally, args, sent)
    finally:
        producer.close(0)
    if tally.failed:
        error = tally.first_error
        assert error is not None
        raise CliError(f"{tally.failed} of {sent} records not delivered to {args.topic}: "
                       f"{error.message or error.name}", error.name)
    return 0


def _finish(producer: Any, tally: _Tally, args: argparse.Namespace, sent: int) -> None:
    # delivery.timeout.ms bounds this wait; the margin only covers reports in flight.
    try:
        producer.flush(timeout(args) + 5.0)
    except KafkaError:
        pass  # records still outstanding are counted as failed below
    tally.reap()
    tally.failed += max(0, sent - tally.delivered - tally.failed)
    if tally.failed and tally.first_error is None:
        tally.first_error = KafkaError("no delivery report in time", code=7)
    if not args.quiet:
        info(f"Delivered {tally.delivered} record{'s' * (tally.delivered != 1)} to "
             f"{args.topic}" + (f", {tally.failed} failed." if tally.failed else "."))


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "produce", parents=[common], help="send stdin lines (or --value) as records (kcat -P)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Send one record per stdin line (the newline is dropped), or one record "
                    "given as --value.\nReports how many records were delivered on stderr; "
                    "exits 1 if any failed.",
        epilog="examples:\n"
               "  seq 100 | pykafkacore produce numbers\n"
               "  printf 'user1:login\\nuser2:logout\\n' | pykafkacore produce events -K:\n"
               "  pykafkacore produce events --value hello --key user1 --header source=cli")
    p.add_argument("topic", metavar="TOPIC")
    p.add_argument("-K", dest="key_delimiter", metavar="DELIM",
                   help="split each line into key and value at the first DELIM (no DELIM on "
                        "the line: null key)")
    p.add_argument("-p", "--partition", type=non_negative_int, metavar="N",
                   help="send every record to this partition (default: by key, or spread)")
    p.add_argument("-H", "--header", action="append", type=key_value, metavar="KEY=VALUE",
                   help="a header on every record (repeatable)")
    p.add_argument("--acks", choices=["0", "1", "all", "-1"],
                   help="acknowledgements to wait for (default: all)")
    p.add_argument("-z", "--compression", choices=["none", "gzip", "snappy", "lz4", "zstd"],
                   help="compression codec (default: none)")
    p.add_argument("--value", metavar="STRING", help="send this one record; stdin is not read")
    p.add_argument("--key", metavar="STRING", help="the key of the --value record")
    p.add_argument("-Z", "--null-empty", action="store_true",
                   help="send empty keys and values as null (tombstones)")
    p.add_argument("-q", "--quiet", action="store_true", help="no report on stderr")
    p.set_defaults(func=run)
