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
    if args.controllers < 0:
        print("pykafkacore serve: --controllers must be at least 0", file=sys.stderr)
        return 2
    roles = args.process_roles
    if roles is not None and (args.brokers > 1 or args.controllers):
        print("pykafkacore serve: --process-roles is for one node per process (--brokers 1); "
              "--controllers K runs dedicated controllers in this process", file=sys.stderr)
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
        if args.brokers == 1 and args.controllers == 0:
            controller_only = roles is not None and "broker" not in roles.split(",")
            if roles is not None:
                properties["process.roles"] = roles
            if not controller_only:  # a controller-only node has no Kafka listener
                properties.setdefault("port", str(args.port))
            properties.setdefault("log.dirs", args.data_dir)
            if args.node_id is not None:
                properties["node.id"] = str(args.node_id)
            if args.controller_quorum_voters:
                # One voter (or, broker-only, an observer) of a quorum whose other members run
                # elsewhere (as kafkacore-server --controller-quorum-voters does).
                properties["controller.quorum.voters"] = args.controller_quorum_voters
            if args.controller_port is not None and "listeners" not in properties:
                controller = f"CONTROLLER://{args.host}:{args.controller_port}"
                properties["listeners"] = (
                    controller if controller_only
                    else f"PLAINTEXT://{args.host}:{properties['port']},{controller}")
            server = Broker(properties)
        else:
            if args.controller_quorum_voters or args.node_id is not None:
                print("pykafkacore serve: --node-id and --controller-quorum-voters are for one "
                      "broker per process (--brokers 1)", file=sys.stderr)
                return 2
            # Broker i (1..N) on --port + i - 1 and (combined) --controller-port + i - 1 (0: any
            # free port), its logs in DATA_DIR/broker-<i>; dedicated controller 3000 + i on
            # --controller-port + i, its log in DATA_DIR/controller-<3000 + i>.
            controller_port = args.controller_port
            if controller_port is None:
                controller_port = args.port + 100 if args.port else 0
            voters = args.controllers or args.brokers
            if args.port and args.port + args.brokers - 1 > 65535:
                print("pykafkacore serve: --port too high for that many brokers", file=sys.stderr)
                return 2
            if controller_port and controller_port + voters - 1 > 65535:
                print("pykafkacore serve: --controller-port too high for that many controllers",
                      file=sys.stderr)
                return 2
            server = LocalCluster(args.brokers, args.data_dir, properties,
                                  base_port=args.port, base_controller_port=controller_port,
                                  controllers=args.controllers)
    except ValueError as e:
        print(f"pykafkacore serve: {e}", file=sys.stderr)
        return 1
    if isinstance(server, Broker) and roles is not None and "broker" not in roles.split(","):
        print(f"controller.listener={args.host}:{server.controller_port}", flush=True)
    else:
        print(f"bootstrap.servers={server.bootstrap_servers}", flush=True)
    if isinstance(server, LocalCluster) and server.controller_ids:
        print("controllers=" + ",".join(
            f"{c}@{args.host}:{server.controller_port(c)}" for c in server.controller_ids),
            flush=True)
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
        "--controllers", type=int, default=0,
        help="dedicated controllers (ids 3000..) forming the Raft quorum, the brokers then being"
        " broker-only; 0 (default): every broker is also a controller (combined mode)",
    )
    serve.add_argument(
        "--process-roles", default=None, choices=["broker,controller", "broker", "controller"],
        help="with --brokers 1: this node's roles in a cluster of processes (KRaft's"
        " process.roles; default broker,controller)",
    )
    serve.add_argument(
        "--port", type=int, default=9092,
        help="port to listen on (0: any free); broker i of a cluster uses PORT + i - 1",
    )
    serve.add_argument(
        "--controller-port", type=int, default=None,
        help="with --brokers > 1: first controller (Raft) port, broker i uses CONTROLLER_PORT"
        " + i - 1, or dedicated controller 3000 + i uses CONTROLLER_PORT + i (default: PORT +"
        " 100, or any free port when PORT is 0)",
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
