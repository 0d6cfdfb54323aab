"""``pykafkacore consume TOPIC``: records to stdout, as kcat -C does (with -G: kcat -G)."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from .cli_common import (UsageError, admin_client, client_config, non_negative_int, timeout)
from .cli_format import DEFAULT_FORMAT, compile_format, json_line
from .cli_output import info
from .errors import KafkaError
from .records import TopicPartition

_COMMIT_INTERVAL = 1.0  # seconds between asynchronous commits of what was printed


def offset_spec(text: str) -> tuple[str, int]:
    """argparse type for --offset: beginning | end | stored | N | -N | s@TIMESTAMP_MS."""
    if text in ("beginning", "end", "stored"):
        return (text, 0)
    try:
        if text.startswith("s@"):
            return ("time", int(text[2:]))
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected beginning, end, stored, N, -N or s@TIMESTAMP_MS, got {text!r}") from None
    return ("relative", n) if text.startswith("-") else ("absolute", n)


class _Offsets:
    """Offset lookups through the admin client (see _EndWatch for why not the consumer)."""

    def __init__(self, admin: Any, wait: float, isolation_level: str) -> None:
        self.admin = admin
        self.wait = wait
        self._isolation = isolation_level

    def _list(self, tps: list[TopicPartition], spec: Any) -> dict[TopicPartition, int]:
        listed = self.admin.list_offsets(tps, spec=spec, isolation_level=self._isolation,
                                         timeout=self.wait)
        return {tp: o.offset for tp, o in listed.items()}

    def earliest(self, tps: list[TopicPartition]) -> dict[TopicPartition, int]:
        return self._list(tps, "earliest")

    def latest(self, tps: list[TopicPartition]) -> dict[TopicPartition, int]:
        return self._list(tps, "latest")

    def at(self, tps: list[TopicPartition], timestamp: int) -> dict[TopicPartition, int]:
        """The first offset at or after the time; the end where there is none yet."""
        found = self._list(tps, timestamp)
        missing = [tp for tp, o in found.items() if o < 0]
        return {**found, **(self.latest(missing) if missing else {})}


class _EndWatch:
    """kcat -e: done once every assigned partition's position has reached its end offset.

    Cheap while records flow: positions are tracked from the records printed and compared to
    cached end offsets; only when every partition seems drained are the consumer's assignment
    and positions read (milliseconds each while it fetches) and the ends asked again. End
    offsets come from the admin client: the consumer's own ListOffsets would queue behind its
    long-polling Fetch on the same connection (up to fetch.max.wait.ms)."""

    def __init__(self, consumer: Any, offsets: _Offsets) -> None:
        self._consumer = consumer
        self._offsets = offsets
        self._ends: dict[TopicPartition, int] = {}
        self._positions: dict[TopicPartition, int] = {}

    def note(self, records: list[Any]) -> None:
        self._positions.update(
            {TopicPartition(r.topic, r.partition): r.offset + 1 for r in records})

    def forget(self, tps: list[TopicPartition]) -> None:
        """Revoked partitions no longer hold the exit back."""
        for tp in tps:
            self._ends.pop(tp, None)
            self._positions.pop(tp, None)

    def reached(self) -> bool:
        if any(self._positions.get(tp, -1) < end for tp, end in self._ends.items()):
            return False
        assigned = self._consumer.assignment()
        if not assigned:  # a group member before its first assignment
            return False
        wait = self._offsets.wait
        self._positions = {tp: self._consumer.position(tp, wait) for tp in assigned}
        self._ends = self._offsets.latest(list(assigned))
        return all(self._positions[tp] >= end for tp, end in self._ends.items())


class _Commits:
    """The offsets after the records printed so far, committed every second, on revocation
    and at exit: auto-commit would also commit records fetched but never printed (-c)."""

    def __init__(self, wait: float) -> None:
        self.consumer: Any = None
        self._wait = wait
        self._next: dict[TopicPartition, int] = {}
        self._sent: dict[TopicPartition, int] = {}
        self._last = time.monotonic()

    def record(self, tp: TopicPartition, offset: int) -> None:
        self._next[tp] = offset + 1

    def maybe_commit(self) -> None:
        if time.monotonic() - self._last >= _COMMIT_INTERVAL:
            self.commit(asynchronous=True)

    def commit(self, *, asynchronous: bool = False, force: bool = False) -> None:
        self._last = time.monotonic()
        if not self._next or (self._next == self._sent and not force):
            return  # force: an asynchronous commit may have failed
        offsets = dict(self._next)
        self.consumer.commit(offsets, asynchronous=asynchronous, timeout=self._wait)
        self._sent = offsets

    def on_revoke(self, tps: list[TopicPartition]) -> None:
        revoked = {tp: self._next[tp] for tp in tps if tp in self._next}
        if revoked and any(self._sent.get(tp) != o for tp, o in revoked.items()):
            try:
                self.consumer.commit(revoked, timeout=self._wait)
            except KafkaError:
                pass  # the new owner re-reads a few records: at-least-once, as Kafka's tools
        for tp in tps:
            self._next.pop(tp, None)
            self._sent.pop(tp, None)


def _partitions(args: argparse.Namespace, admin: Any) -> list[TopicPartition]:
    """The partitions to read (checked against the cluster, which also tells an unreachable
    cluster or a missing topic apart before the consumer would just wait)."""
    topics = admin.describe_topics(args.topics, timeout=timeout(args))
    if args.partition is None:
        return [TopicPartition(name, p.partition) for name in args.topics
                for p in topics[name].partitions]
    name = args.topics[0]
    count = len(topics[name].partitions)
    for p in args.partition:
        if p >= count:
            raise KafkaError(f"topic {name} has no partition {p} (it has {count})", code=3)
    return [TopicPartition(name, p) for p in args.partition]


def _start_offsets(offsets: _Offsets, tps: list[TopicPartition], spec: tuple[str, int]
                   ) -> dict[TopicPartition, int]:
    kind, n = spec
    if kind == "time":
        return offsets.at(tps, n)
    high = offsets.latest(tps)
    if kind == "end":
        return high
    low = offsets.earliest(tps)
    if kind == "beginning":
        return low
    # N and -N (from the end) are clamped to what the partition holds, as kcat does.
    return {tp: min(max(high[tp] + n if kind == "relative" else n, low[tp]), high[tp])
            for tp in tps}


def _check(args: argparse.Namespace) -> str:
    """The format to use; UsageError for option combinations that make no sense."""
    if args.group:
        if args.partition is not None:
            raise UsageError("--partition reads without a group; drop -G or --partition")
        if args.offset and args.offset[0] not in ("beginning", "end", "stored"):
            raise UsageError("with -G, --offset is beginning, end or stored (it applies to "
                             "partitions the group has no committed offset for)")
    elif args.offset and args.offset[0] == "stored":
        raise UsageError("--offset stored needs a group (-G)")
    if args.partition is not None and len(args.topics) > 1:
        raise UsageError("--partition needs exactly one TOPIC")
    if args.json and (args.format or args.key_delimiter):
        raise UsageError("--json replaces -f/-K; give one of them")
    if args.format and args.key_delimiter is not None:
        raise UsageError("-K is a shorthand for -f '%k<DELIM>%s\\n'; give one of them")
    if args.key_delimiter is not None:
        delimiter: str = args.key_delimiter
        return "%k" + delimiter.replace("%", "%%") + "%s\\n"
    fmt: str = args.format or DEFAULT_FORMAT
    return fmt


def run(args: argparse.Namespace) -> int:
    fmt = _check(args)
    try:
        render = json_line if args.json else compile_format(fmt)
    except ValueError as e:
        raise UsageError(f"-f: {e}") from None
    wait = timeout(args)
    spec = args.offset or (("stored", 0) if args.group else ("beginning", 0))
    defaults: dict[str, Any] = {
        "allow.auto.create.topics": "false",
        "auto.offset.reset": "latest" if spec[0] == "end" else "earliest",
    }
    if args.group:
        defaults.update({"group.id": args.group, "enable.auto.commit": "false"})
    config = client_config(args, defaults)
    with admin_client(args, only_admin_keys=True) as admin:
        offsets = _Offsets(admin, wait, config.get("isolation.level", "read_uncommitted"))
        tps = _partitions(args, admin)
        return _consume(args, config, offsets, tps, spec, render)


def _consume(args: argparse.Namespace, config: dict[str, Any], offsets: _Offsets,
             tps: list[TopicPartition], spec: tuple[str, int], render: Any) -> int:
    from .consumer import Consumer

    wait = offsets.wait
    commits = _Commits(wait)
    consumer = Consumer(config=config)
    commits.consumer = consumer
    out = sys.stdout.buffer
    consumed = 0
    try:
        watch = _EndWatch(consumer, offsets) if args.exit else None
        if args.group:
            def on_revoke(revoked: list[TopicPartition]) -> None:
                commits.on_revoke(revoked)
                if watch:
                    watch.forget(revoked)

            consumer.subscribe(args.topics, on_revoke=on_revoke)
        else:
            consumer.assign(tps)
            for tp, offset in _start_offsets(offsets, tps, spec).items():
                consumer.seek(tp, offset)
        poll_timeout = 0.2 if watch else 1.0
        if watch and not args.group and watch.reached():
            return _done(args, consumed, "the end")
        while args.count is None or consumed < args.count:
            left = None if args.count is None else args.count - consumed
            records = consumer.poll(poll_timeout, max_records=left)
            for record in records:
                out.write(render(record))
                if args.group:
                    commits.record(record.topic_partition, record.offset)
            if watch and records:
                watch.note(records)
            if records:
                out.flush()
                consumed += len(records)
            if args.group:
                commits.maybe_commit()
            if watch and (args.count is None or consumed < args.count) and watch.reached():
                return _done(args, consumed, "the end")
        return _done(args, consumed, "--count")
    finally:
        try:
            if args.group:
                commits.commit(force=True)
        finally:
            consumer.close(wait)


def _done(args: argparse.Namespace, consumed: int, why: str) -> int:
    if not args.quiet:
        info(f"Consumed {consumed} record{'s' * (consumed != 1)} (stopped at {why}).")
    return 0


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "consume", parents=[common], help="print records of topics (kcat -C / -G)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Print records to stdout, one per line by default (the value).\n"
                    "Without -G it reads the partitions directly from --offset; with -G GROUP "
                    "it joins\nthe consumer group and commits the offsets of what it printed.",
        epilog="format tokens (-f): %t topic  %p partition  %o offset  %k key  %s value\n"
               "  %K key size  %S value size  %T timestamp (ms)  %h headers (k=v,...)  %% "
               "percent\n  escapes: \\n \\r \\t \\0 \\\\\n"
               "--json prints one object per record: topic, partition, offset, timestamp,\n"
               "  timestamp_type, key, value, headers ([[k, v], ...]); keys, values and header\n"
               "  values are strings, null, or {\"base64\": ...} when not UTF-8.\n"
               "examples:\n"
               "  pykafkacore consume orders -e                  # everything, then exit\n"
               "  pykafkacore consume orders -o -10 -p 0 -e      # the last 10 of partition 0\n"
               "  pykafkacore consume orders -G billing -c 100   # 100 records in a group\n"
               "  pykafkacore consume orders -f '%p:%o %k=%s\\n'")
    p.add_argument("topics", nargs="+", metavar="TOPIC")
    p.add_argument("-G", "--group", metavar="GROUP",
                   help="consume in this consumer group (subscribe, commit)")
    p.add_argument("-o", "--offset", type=offset_spec, metavar="OFFSET",
                   help="where to start: beginning (default), end, N, -N (N before the end), "
                        "s@TIMESTAMP_MS; with -G: beginning/end for partitions without a "
                        "committed offset")
    p.add_argument("-p", "--partition", type=non_negative_int, action="append", metavar="N",
                   help="read only this partition (repeatable; not with -G)")
    p.add_argument("-c", "--count", type=non_negative_int, metavar="N",
                   help="exit after N records")
    p.add_argument("-e", "--exit", action="store_true",
                   help="exit once the end of every partition is reached")
    p.add_argument("-f", "--format", metavar="FORMAT",
                   help="kcat-style output format (default: '%%s\\n', see below)")
    p.add_argument("-K", dest="key_delimiter", metavar="DELIM",
                   help="print key DELIM value per line (short for -f '%%kDELIM%%s\\n')")
    p.add_argument("--json", action="store_true", help="one JSON object per record")
    p.add_argument("-q", "--quiet", action="store_true", help="no summary on stderr")
    p.set_defaults(func=run)
