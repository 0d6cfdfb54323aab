"""The ``pykafkacore`` command line: builds the parser from the command modules (cli_*.py) and
turns every expected failure into one line on stderr and an exit code."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Sequence
from typing import NoReturn

from . import __version__
from . import cli_bench, cli_consume, cli_groups, cli_produce, cli_serve, cli_topics
from .cli_common import CliError, add_connection_options, bootstrap, timeout

_EPILOG = """\
commands that talk to a cluster take -b/--bootstrap-servers (default: $PYKAFKACORE_BOOTSTRAP_SERVERS
or localhost:9092), -X key=value client configs and --timeout SECONDS, before or after the
command name. Examples:
  pykafkacore topics create orders --partitions 3
  printf 'k1:hello\\nk2:world\\n' | pykafkacore produce orders -K:
  pykafkacore consume orders -e -f '%p/%o %k=%s\\n'
  pykafkacore groups lag my-group
  pykafkacore bench produce --inprocess-brokers 1 --records 100000
exit codes: 0 ok, 1 runtime error, 2 usage error, 130 interrupted (Ctrl-C)."""


class _Terminated(BaseException):
    """SIGTERM, unwound like Ctrl-C so that clients close (a consumer leaves its group)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # One line instead of argparse's usage dump: the help is one --help away.
        where = self.prog.removeprefix("pykafkacore").strip()
        prefix = f"{where}: " if where else ""
        sys.stderr.write(f"pykafkacore: error: {prefix}{message} (see '{self.prog} --help')\n")
        sys.exit(2)


def _cmd_version(_args: argparse.Namespace) -> int:
    print(f"pykafkacore {__version__}")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="pykafkacore", epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
        description="A Kafka-compatible broker cluster as a library (serve), and a Kafka "
                    "command line\n(topics, produce, consume, groups, bench) on pykafkacore's "
                    "own clients.")
    parser.add_argument("--version", action="version", version=f"pykafkacore {__version__}")
    add_connection_options(parser, top_level=True)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    common = argparse.ArgumentParser(add_help=False)
    add_connection_options(common)

    version = sub.add_parser("version", help="print the version and exit")
    version.set_defaults(func=_cmd_version)
    cli_serve.register(sub)
    cli_topics.register(sub, common)
    cli_produce.register(sub, common)
    cli_consume.register(sub, common)
    cli_groups.register(sub, common)
    cli_bench.register(sub, common)
    return parser


def _fail(message: str, code: int) -> int:
    sys.stderr.write(f"pykafkacore: error: {message}\n")
    sys.stderr.flush()
    return code


def _on_sigterm(*_: object) -> None:
    raise _Terminated()


def main(argv: Sequence[str] | None = None) -> int:
    from .errors import KafkaError

    args = _parser().parse_args(argv)
    if args.command not in ("serve", "version"):
        from ._core import set_log_level

        # The clients log to stderr at info by default; the CLI speaks for them instead.
        set_log_level(getattr(args, "log_level", "off"))
        signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        return int(args.func(args))
    except CliError as e:
        suffix = f" ({e.kafka_name})" if e.kafka_name else ""
        return _fail(f"{e}{suffix}", e.exit_code)
    except KafkaError as e:
        message = e.message or e.name
        if e.code == 7 and "no metadata yet" in message:  # nothing answered at all
            message = f"cannot reach any broker of {bootstrap(args)} within {timeout(args):g} s"
        return _fail(f"{message} ({e.name})", 1)
    except ValueError as e:  # bad values the client libraries refuse before asking a broker
        return _fail(str(e), 1)
    except KeyboardInterrupt:
        return 130
    except _Terminated:
        return 143
    except BrokenPipeError:
        # The reader went away (| head): silence the interpreter's final flush of stdout.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    sys.exit(main())
