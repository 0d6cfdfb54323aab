"""``pykafkacore topics list|create|delete|describe``."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from .cli_common import admin_client, key_value, timeout
from .cli_output import print_json, table
from .errors import TopicAlreadyExistsError, UnknownTopicOrPartitionError

if TYPE_CHECKING:
    from .admin import AdminClient


def _describe(admin: AdminClient, names: list[str], wait: float) -> dict[str, Any]:
    """Descriptions of the topics that still exist (one deleted meanwhile is left out)."""
    if not names:
        return {}
    try:
        return admin.describe_topics(names, timeout=wait)
    except UnknownTopicOrPartitionError as e:
        if e.errors is not None and len(e.errors) < len(names):
            results = e.results or {}
            assert isinstance(results, dict)  # AdminClient sets what succeeded, a dict
            return dict(results)
        raise


def _list(args: argparse.Namespace) -> int:
    with admin_client(args) as admin:
        names = admin.list_topics(include_internal=args.internal, timeout=timeout(args))
        topics = _describe(admin, names, timeout(args))
    rows = [(t.name, len(t.partitions), t.replication_factor, t.internal)
            for t in sorted(topics.values(), key=lambda t: t.name)]
    if args.json:
        print_json([{"name": n, "partitions": p, "replication_factor": rf, "internal": i}
                    for n, p, rf, i in rows])
    elif rows:
        headers = ["TOPIC", "PARTITIONS", "RF"] + (["INTERNAL"] if args.internal else [])
        table(headers, [r if args.internal else r[:3] for r in rows])
    return 0


def _create(args: argparse.Namespace) -> int:
    from .admin import NewTopic

    configs = dict(args.config or [])
    created, existing = [], []
    with admin_client(args) as admin:
        new = [NewTopic(name, args.partitions, args.replication_factor, config=configs)
               for name in args.topics]
        try:
            admin.create_topics(new, timeout=timeout(args))
            created = list(args.topics)
        except TopicAlreadyExistsError as e:
            # Only "already exists" is forgiven, and only with --if-not-exists.
            errors = e.errors or {}
            if not args.if_not_exists or any(
                    not isinstance(err, TopicAlreadyExistsError) for err in errors.values()):
                raise
            existing = sorted(errors)
            created = [n for n in args.topics if n not in errors]
    if args.json:
        print_json({"created": created, "existing": existing})
    else:
        for name in created:
            print(f"Created topic {name}.")
        for name in existing:
            print(f"Topic {name} exists already.")
    return 0


def _delete(args: argparse.Namespace) -> int:
    with admin_client(args) as admin:
        deleted, missing = list(args.topics), []
        try:
            admin.delete_topics(args.topics, timeout=timeout(args))
        except UnknownTopicOrPartitionError as e:
            errors = e.errors or {}
            if not args.if_exists or any(
                    not isinstance(err, UnknownTopicOrPartitionError) for err in errors.values()):
                raise
            missing = sorted(errors)
            deleted = [n for n in args.topics if n not in errors]
    if args.json:
        print_json({"deleted": deleted, "missing": missing})
    else:
        for name in deleted:
            print(f"Deleted topic {name}.")
    return 0


def _describe_cmd(args: argparse.Namespace) -> int:
    wait = timeout(args)
    with admin_client(args) as admin:
        names = args.topics or admin.list_topics(include_internal=args.internal, timeout=wait)
        topics = admin.describe_topics(names, timeout=wait) if names else {}
        configs: dict[str, dict[str, Any]] = {}
        if topics:
            described = admin.describe_configs([("topic", n) for n in topics], timeout=wait)
            configs = {resource.name: entries for resource, entries in described.items()}
    out = []
    for name in sorted(topics):
        t = topics[name]
        entries = configs.get(name, {})
        shown = {k: e for k, e in sorted(entries.items()) if args.configs or not e.is_default}
        out.append((t, shown))
    if args.json:
        print_json([_topic_json(t, shown) for t, shown in out])
        return 0
    for i, (t, shown) in enumerate(out):
        if i:
            print()
        overrides = ",".join(f"{k}={e.value}" for k, e in shown.items() if not e.is_default)
        print(f"Topic: {t.name}  Id: {t.topic_id}  Partitions: {len(t.partitions)}  "
              f"ReplicationFactor: {t.replication_factor}"
              + (f"  Configs: {overrides}" if overrides and not args.configs else ""))
        table(["PARTITION", "LEADER", "REPLICAS", "ISR"],
              [(p.partition, p.leader, p.replicas, p.isr) for p in t.partitions])
        if args.configs:
            print()
            table(["CONFIG", "VALUE", "SOURCE"],
                  [(k, "(sensitive)" if e.sensitive else e.value, e.source.name)
                   for k, e in shown.items()])
    return 0


def _topic_json(t: Any, configs: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": t.name, "id": t.topic_id, "internal": t.internal,
        "replication_factor": t.replication_factor,
        "partitions": [{"partition": p.partition, "leader": p.leader, "replicas": p.replicas,
                        "isr": p.isr} for p in t.partitions],
        "configs": {k: e.value for k, e in configs.items()},
    }


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    topics = sub.add_parser("topics", help="list, create, describe and delete topics",
                            description="List, create, describe and delete topics.")
    actions = topics.add_subparsers(dest="action", required=True, metavar="ACTION")

    p = actions.add_parser("list", parents=[common], help="topic names with partition counts",
                           description="List topics: name, partitions, replication factor.")
    p.add_argument("--internal", action="store_true", help="include internal topics")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=_list)

    p = actions.add_parser(
        "create", parents=[common], help="create topics",
        description="Create topics. Partitions and replication factor default to the broker's "
                    "num.partitions and default.replication.factor.")
    p.add_argument("topics", nargs="+", metavar="TOPIC")
    p.add_argument("-p", "--partitions", type=int, default=-1, metavar="N")
    p.add_argument("-r", "--replication-factor", type=int, default=-1, metavar="N")
    p.add_argument("--config", action="append", type=key_value, metavar="KEY=VALUE",
                   help="a topic config, e.g. --config cleanup.policy=compact (repeatable)")
    p.add_argument("--if-not-exists", action="store_true",
                   help="succeed when a topic exists already")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=_create)

    p = actions.add_parser("delete", parents=[common], help="delete topics",
                           description="Delete topics and their records.")
    p.add_argument("topics", nargs="+", metavar="TOPIC")
    p.add_argument("--if-exists", action="store_true", help="succeed when a topic is missing")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=_delete)

    p = actions.add_parser(
        "describe", parents=[common], help="partitions, leaders, replicas, ISR and configs",
        description="Describe topics (all of them when none is named): every partition's "
                    "leader, replicas and in-sync replicas, and the configs set on the topic "
                    "(--configs: every config with its source).")
    p.add_argument("topics", nargs="*", metavar="TOPIC")
    p.add_argument("--configs", action="store_true", help="show every config, defaults too")
    p.add_argument("--internal", action="store_true",
                   help="with no TOPIC: include internal topics")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=_describe_cmd)

