"""``pykafkacore serve``: a broker (or an in-process cluster of brokers) in the foreground."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from typing import Any


def run(args: argparse.Namespace) -> int:
    from ._core import Broker, LocalCluster, set_log_level

    if args.brokers < 1:
        print("pykafkacore serve: --brokers must be at least 1", file=sys.stderr)
        return 2
    set_log_level(args.log_level)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    properties = {"host": args.host}
    for item in args.set or []:
        key, sep, value = item.partition("=")
        if not sep:
            print(f"pykafkacore serve: --set needs key=value, got {item!r}", file=sys.stderr)
            return 2
        properties[key] = value
    server: Broker | LocalCluster
    try:
        if args.brokers == 1:
            properties.setdefault("port", str(args.port))
            properties.setdefault("log.dirs", args.data_dir)
            if args.node_id is not None:
                properties["node.id"] = str(args.node_id)
            if args.controller_quorum_voters:
                # One voter of a quorum whose other members run elsewhere (as kafkacore-server
                # --controller-quorum-voters does).
                properties["controller.quorum.voters"] = args.controller_quorum_voters
            if args.controller_port is not None and "listeners" not in properties:
                properties["listeners"] = (
                    f"PLAINTEXT://{args.host}:{properties['port']},"
                    f"CONTROLLER://{args.host}:{args.controller_port}")
            server = Broker(properties)
        else:
            if args.controller_quorum_voters or args.node_id is not None:
                print("pykafkacore serve: --node-id and --controller-quorum-voters are for one "
                      "broker per process (--brokers 1)", file=sys.stderr)
                return 2
            # Broker i (1..N) on --port + i - 1 and --controller-port + i - 1 (0: any free port),
            # its logs in DATA_DIR/broker-<i>.
            controller_port = args.controller_port
            if controller_port is None:
                controller_port = args.port + 100 if args.port else 0
            if args.port and args.port + args.brokers - 1 > 65535:
                print("pykafkacore serve: --port too high for that many brokers", file=sys.stderr)
                return 2
            if controller_port and controller_port + args.brokers - 1 > 65535:
                print("pykafkacore serve: --controller-port too high for that many brokers",
                      file=sys.stderr)
                return 2
            server = LocalCluster(args.brokers, args.data_dir, properties,
                                  base_port=args.port, base_controller_port=controller_port)
    except ValueError as e:
        print(f"pykafkacore serve: {e}", file=sys.stderr)
        return 1
    print(f"bootstrap.servers={server.bootstrap_servers}", flush=True)
    try:
        # "ready" once it serves in its cluster (at once alone or for --brokers N), as
        # kafkacore-server prints it.
        if isinstance(server, Broker):
            while not stop.is_set():
                try:
                    server.wait_ready(0.5)
                    break
                except ValueError as e:
                    if "REQUEST_TIMED_OUT" not in str(e):
                        raise
        if not stop.is_set():
            print("ready", flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        server.stop()
    return 0


def register(sub: Any) -> None:
    serve = sub.add_parser(
        "serve", help="run a broker (or a cluster of brokers) in the foreground until Ctrl-C"
    )
    serve.add_argument(
        "--brokers", type=int, default=1,
        help="number of brokers; more than 1 runs a replicated cluster in this process",
    )
    serve.add_argument(
        "--port", type=int, default=9092,
        help="port to listen on (0: any free); broker i of a cluster uses PORT + i - 1",
    )
    serve.add_argument(
        "--controller-port", type=int, default=None,
        help="with --brokers > 1: first controller (Raft) port, broker i uses CONTROLLER_PORT"
        " + i - 1 (default: PORT + 100, or any free port when PORT is 0)",
    )
    serve.add_argument(
        "--node-id", type=int, default=None,
        help="with --brokers 1: this broker's id (node.id) in a cluster of processes",
    )
    serve.add_argument(
        "--controller-quorum-voters", default=None, metavar="ID@HOST:PORT,...",
        help="with --brokers 1: the controller voters of a cluster of processes, this one"
        " included (its controller listener on --controller-port)",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument(
        "--data-dir", default="data",
        help="directory for the broker's logs (a cluster's broker i uses DATA_DIR/broker-<i>)",
    )
    serve.add_argument(
        "--log-level", default="info", choices=["trace", "debug", "info", "warn", "error", "off"]
    )
    serve.add_argument(
        "--set", action="append", metavar="KEY=VALUE", help="a broker config (Kafka's names)"
    )
    serve.set_defaults(func=run)
