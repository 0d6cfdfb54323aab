"""The ``pykafkacore`` command line."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence

from . import __version__


def _cmd_version(_args: argparse.Namespace) -> int:
    print(f"pykafkacore {__version__}")
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    # Until the network broker lands (wire-protocol issue) this runs the storage layer alone:
    # it opens (and if needed recovers) the data directory, runs retention and compaction on a
    # timer, and on SIGINT/SIGTERM closes every log and marks the directory cleanly shut down.
    from .storage import LogManager

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    manager = LogManager(args.data_dir)
    state = "recovered after an unclean shutdown" if manager.recovered_from_crash else "clean"
    partitions = manager.partitions()
    print(f"data.dir={args.data_dir} partitions={len(partitions)} state={state}", flush=True)
    print("storage ready; the Kafka listener arrives with the wire-protocol issue", flush=True)
    try:
        while not stop.wait(1.0):
            manager.tick()
    finally:
        manager.shutdown()
        print("shut down cleanly", flush=True)
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pykafkacore", description="Kafka-compatible broker cluster as a library."
    )
    parser.add_argument("--version", action="version", version=f"pykafkacore {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    version = sub.add_parser("version", help="print the version and exit")
    version.set_defaults(func=_cmd_version)

    serve = sub.add_parser("serve", help="run a broker (for now: its storage layer only)")
    serve.add_argument("--data-dir", default="data", help="directory for the broker's logs")
    serve.add_argument("--listen", default="127.0.0.1:9092", help="host:port to listen on")
    serve.set_defaults(func=_cmd_serve)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
