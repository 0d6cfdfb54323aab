"""The ``pykafkacore`` command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import __version__


def _cmd_version(_args: argparse.Namespace) -> int:
    print(f"pykafkacore {__version__}")
    return 0


def _cmd_serve(_args: argparse.Namespace) -> int:
    print(
        "not implemented yet: the broker arrives with the wire-protocol issue",
        file=sys.stderr,
    )
    return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pykafkacore", description="Kafka-compatible broker cluster as a library."
    )
    parser.add_argument("--version", action="version", version=f"pykafkacore {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    version = sub.add_parser("version", help="print the version and exit")
    version.set_defaults(func=_cmd_version)

    serve = sub.add_parser("serve", help="run a broker (not implemented yet)")
    serve.add_argument("--data-dir", default="data", help="directory for the broker's logs")
    serve.add_argument("--listen", default="127.0.0.1:9092", help="host:port to listen on")
    serve.set_defaults(func=_cmd_serve)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
