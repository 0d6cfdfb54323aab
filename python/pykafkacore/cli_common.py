"""What every client command of the ``pykafkacore`` CLI shares: the connection options
(``-b``, ``-X``, ``--timeout``), building client configs from them, and the CLI's errors."""

from __future__ import annotations

import argparse
import os
from typing import Any

ENV_BOOTSTRAP = "PYKAFKACORE_BOOTSTRAP_SERVERS"
DEFAULT_BOOTSTRAP = "localhost:9092"
DEFAULT_TIMEOUT = 10.0

# The keys the AdminClient accepts (it rejects producer/consumer keys): the pre-flight admin of
# produce/consume gets only these out of -X.
_ADMIN_KEYS = frozenset({
    "client.id", "request.timeout.ms", "default.api.timeout.ms", "retry.backoff.ms",
    "retry.backoff.max.ms", "retries", "metadata.max.age.ms", "reconnect.backoff.ms",
    "reconnect.backoff.max.ms", "socket.connection.setup.timeout.ms", "security.protocol",
    "client.dns.lookup", "connections.max.idle.ms", "send.buffer.bytes", "receive.buffer.bytes",
    "socket.keepalive.enable",
})


class CliError(Exception):
    """An expected failure: printed as one line, ``pykafkacore: error: <message> (<name>)``."""

    exit_code = 1

    def __init__(self, message: str, kafka_name: str | None = None) -> None:
        super().__init__(message)
        self.kafka_name = kafka_name


class UsageError(CliError):
    """A mistake in the command line that argparse cannot see (conflicting options, ...)."""

    exit_code = 2


def key_value(text: str) -> tuple[str, str]:
    """argparse type for ``key=value`` options (-X, --config, --header)."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected key=value, got {text!r}")
    return key, value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be greater than 0, got {text!r}")
    return value


def non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text!r}")
    return value


def add_connection_options(parser: argparse.ArgumentParser, *, top_level: bool = False) -> None:
    """-b/-X/--timeout/--log-level. Defaults are SUPPRESS so that the same options given before
    the subcommand (top level) and after it both work, the later one winning."""
    group = parser.add_argument_group("connection options")
    group.add_argument(
        "-b", "--bootstrap-servers", metavar="HOST:PORT[,...]", default=argparse.SUPPRESS,
        help=f"brokers to connect to (default: ${ENV_BOOTSTRAP} or {DEFAULT_BOOTSTRAP})")
    group.add_argument(
        "-X", dest="global_client_configs" if top_level else "client_configs", action="append",
        type=key_value, metavar="KEY=VALUE", default=argparse.SUPPRESS,
        help="a client config under Kafka's name, e.g. -X client.id=me (repeatable)")
    group.add_argument(
        "--timeout", type=positive_float, metavar="SECONDS", default=argparse.SUPPRESS,
        help=f"how long to wait for the cluster before failing (default: {DEFAULT_TIMEOUT:g})")
    group.add_argument(
        "--log-level", choices=["trace", "debug", "info", "warn", "error", "off"],
        default=argparse.SUPPRESS,
        help="the native client's own logs on stderr (default: off)")


def bootstrap(args: argparse.Namespace) -> str:
    return (getattr(args, "bootstrap_servers", None) or os.environ.get(ENV_BOOTSTRAP)
            or DEFAULT_BOOTSTRAP)


def timeout(args: argparse.Namespace) -> float:
    return float(getattr(args, "timeout", DEFAULT_TIMEOUT))


def user_configs(args: argparse.Namespace) -> dict[str, str]:
    """-X pairs, those given before the subcommand first."""
    pairs = list(getattr(args, "global_client_configs", None) or []) + list(
        getattr(args, "client_configs", None) or [])
    return dict(pairs)


def client_config(args: argparse.Namespace, defaults: dict[str, Any] | None = None
                  ) -> dict[str, Any]:
    """The config of a producer/consumer: the command's defaults, then -X (which wins)."""
    config = {k: str(v) for k, v in (defaults or {}).items()}
    config.update(user_configs(args))
    config["bootstrap.servers"] = bootstrap(args)
    return config


def admin_client(args: argparse.Namespace, *, only_admin_keys: bool = False) -> Any:
    """An AdminClient for the command's cluster. With ``only_admin_keys`` the -X keys meant for
    a producer or consumer are left out (produce/consume use an admin only for checks)."""
    from .admin import AdminClient

    configs = user_configs(args)
    if only_admin_keys:
        configs = {k: v for k, v in configs.items() if k in _ADMIN_KEYS}
    return AdminClient(bootstrap(args), config=configs)

