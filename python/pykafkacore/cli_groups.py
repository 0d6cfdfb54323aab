"""``pykafkacore groups list|describe|lag|delete|reset-offsets``, after
kafka-consumer-groups.sh."""

from __future__ import annotations

import argparse
from typing import Any

from .cli_common import CliError, UsageError, admin_client, timeout
from .cli_output import info, print_json, table
from .errors import GroupIdNotFoundError
from .records import TopicPartition


def _list(args: argparse.Namespace) -> int:
    with admin_client(args) as admin:
        groups = admin.list_groups(timeout=timeout(args))
    if args.json:
        print_json([{"group": g.group_id, "state": g.state, "protocol_type": g.protocol_type}
                    for g in groups])
    elif groups:
        table(["GROUP", "STATE", "TYPE"],
              [(g.group_id, g.state or None, g.protocol_type or "simple") for g in groups])
    return 0


def _offsets(admin: Any, description: Any, wait: float) -> list[dict[str, Any]]:
    """Per partition the group commits to or has assigned: committed offset, end offset, lag
    and the member reading it (None where there is none)."""
    owners = {tp: m.member_id for m in description.members for tp in m.assignment}
    lag = admin.lag(description.group_id, timeout=wait)
    uncommitted = [tp for tp in owners if tp not in lag]
    ends = {}
    if uncommitted:
        ends = {tp: o.offset for tp, o in
                admin.list_offsets(uncommitted, spec="latest", timeout=wait).items()}
    rows = []
    for tp in sorted(set(lag) | set(owners)):
        if tp in lag:
            committed, end, behind = lag[tp]
            end = None if end < 0 else end
            behind = None if behind < 0 or committed is None else behind
        else:
            committed, end, behind = None, ends.get(tp), None
        rows.append({"topic": tp.topic, "partition": tp.partition, "committed": committed,
                     "end": end, "lag": behind, "member": owners.get(tp)})
    return rows


def _offset_rows(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [(r["topic"], r["partition"], r["committed"], r["end"], r["lag"], r["member"])
            for r in rows]


_OFFSET_HEADERS = ["TOPIC", "PARTITION", "COMMITTED", "END", "LAG", "MEMBER"]


def _describe(args: argparse.Namespace) -> int:
    wait = timeout(args)
    with admin_client(args) as admin:
        descriptions = admin.describe_groups(args.groups, timeout=wait)
        out = [(d, _offsets(admin, d, wait)) for d in descriptions.values()]
    if args.json:
        print_json([{
            "group": d.group_id, "state": d.state, "protocol_type": d.protocol_type,
            "protocol": d.protocol, "coordinator": d.coordinator,
            "members": [{"member_id": m.member_id, "client_id": m.client_id, "host": m.host,
                         "group_instance_id": m.group_instance_id,
                         "assignment": [[tp.topic, tp.partition] for tp in m.assignment]}
                        for m in d.members],
            "offsets": rows} for d, rows in out])
        return 0
    for i, (d, rows) in enumerate(out):
        if i:
            print()
        print(f"Group: {d.group_id}  State: {d.state}  Protocol: {d.protocol or '-'}  "
              f"Coordinator: {d.coordinator}  Members: {len(d.members)}")
        if d.members:
            print()
            table(["MEMBER", "CLIENT-ID", "HOST", "ASSIGNMENT"],
                  [(m.member_id, m.client_id, m.host,
                    " ".join(f"{tp.topic}-{tp.partition}" for tp in sorted(m.assignment)))
                   for m in d.members])
        if rows:
            print()
            table(_OFFSET_HEADERS, _offset_rows(rows))
    return 0


def _lag(args: argparse.Namespace) -> int:
    wait = timeout(args)
    with admin_client(args) as admin:
        # Describing first makes an unknown group an error rather than an empty table.
        description = admin.describe_groups([args.group], timeout=wait)[args.group]
        rows = _offsets(admin, description, wait)
    total = sum(r["lag"] or 0 for r in rows)
    if args.json:
        print_json({"group": args.group, "state": description.state, "total_lag": total,
                    "partitions": rows})
        return 0
    if rows:
        table(_OFFSET_HEADERS, _offset_rows(rows))
    print(f"Total lag: {total}")
    return 0


def _delete(args: argparse.Namespace) -> int:
    with admin_client(args) as admin:
        admin.delete_groups(args.groups, timeout=timeout(args))
    for group in args.groups:
        print(f"Deleted group {group}.")
    return 0


def _topic_partitions(text: str) -> tuple[str, list[int] | None]:
    """argparse type for --topic: TOPIC or TOPIC:P[,P...] (as kafka-consumer-groups.sh)."""
    name, sep, parts = text.rpartition(":") if ":" in text else (text, "", "")
    if not sep:
        return text, None
    try:
        return name, [int(p) for p in parts.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected TOPIC or TOPIC:P[,P...], got {text!r}") \
            from None


def _targets(admin: Any, args: argparse.Namespace, wait: float) -> list[TopicPartition]:
    if args.all_topics:
        committed = admin.list_group_offsets(args.group, timeout=wait)
        if not committed:
            raise CliError(f"group {args.group} has no committed offsets to reset")
        return sorted(committed)
    names = [name for name, _ in args.topic]
    topics = admin.describe_topics(names, timeout=wait)
    tps: list[TopicPartition] = []
    for name, partitions in args.topic:
        count = len(topics[name].partitions)
        for p in partitions if partitions is not None else range(count):
            if p >= count:
                raise CliError(f"topic {name} has no partition {p} (it has {count})",
                               "UNKNOWN_TOPIC_OR_PARTITION")
            tps.append(TopicPartition(name, p))
    return sorted(set(tps))


def _plan(args: argparse.Namespace, current: dict[TopicPartition, int | None],
          low: dict[TopicPartition, int], high: dict[TopicPartition, int]
          ) -> dict[TopicPartition, int]:
    plan = {}
    for tp in current:
        if args.to_earliest:
            target = low[tp]
        elif args.to_latest:
            target = high[tp]
        elif args.to_offset is not None:
            target = args.to_offset
        else:
            if current[tp] is None:
                raise CliError(f"--shift-by: group {args.group} has no committed offset for "
                               f"{tp.topic}-{tp.partition}")
            target = current[tp] + args.shift_by
        # Out-of-range targets are clamped, as kafka-consumer-groups.sh does.
        plan[tp] = min(max(target, low[tp]), high[tp])
    return plan


def _reset(args: argparse.Namespace) -> int:
    if bool(args.topic) == args.all_topics:
        raise UsageError("reset-offsets takes --topic TOPIC (repeatable) or --all-topics, "
                         "one of them")
    wait = timeout(args)
    with admin_client(args) as admin:
        tps = _targets(admin, args, wait)
        committed = admin.list_group_offsets(args.group, tps, timeout=wait)
        current = {tp: committed.get(tp) for tp in tps}
        low = {tp: o.offset for tp, o in admin.list_offsets(tps, spec="earliest",
                                                             timeout=wait).items()}
        high = {tp: o.offset for tp, o in admin.list_offsets(tps, spec="latest",
                                                             timeout=wait).items()}
        plan = _plan(args, current, low, high)
        if args.execute:
            try:
                members = admin.describe_groups([args.group], timeout=wait)[args.group].members
            except GroupIdNotFoundError:
                members = []  # a new group: the offsets create it
            if members:
                raise CliError(f"group {args.group} has {len(members)} active member(s); "
                               "offsets can only be reset while its consumers are stopped",
                               "NON_EMPTY_GROUP")
            admin.alter_group_offsets(args.group, plan, timeout=wait)
    if args.json:
        print_json({"group": args.group, "executed": args.execute, "partitions": [
            {"topic": tp.topic, "partition": tp.partition, "current": current[tp],
             "new": plan[tp]} for tp in plan]})
    else:
        table(["TOPIC", "PARTITION", "CURRENT", "NEW"],
              [(tp.topic, tp.partition, current[tp], plan[tp]) for tp in plan])
    if not args.execute:
        info("Dry run: nothing changed. Add --execute to reset the offsets.")
    return 0


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    groups = sub.add_parser("groups", help="list, describe, check lag of, delete and reset "
                            "consumer groups",
                            description="Consumer groups, as kafka-consumer-groups.sh.")
    actions = groups.add_subparsers(dest="action", required=True, metavar="ACTION")

    p = actions.add_parser("list", parents=[common], help="every group with its state",
                           description="List every consumer group of the cluster.")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=_list)

    p = actions.add_parser(
        "describe", parents=[common], help="state, members, committed offsets and lag",
        description="Describe groups: state, members with their assignments, and per "
                    "partition the committed offset, end offset and lag.")
    p.add_argument("groups", nargs="+", metavar="GROUP")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=_describe)

    p = actions.add_parser("lag", parents=[common], help="committed offsets, end offsets, lag",
                           description="Per partition: committed offset, end offset (high "
                                       "watermark) and lag, and the total lag.")
    p.add_argument("group", metavar="GROUP")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=_lag)

    p = actions.add_parser("delete", parents=[common], help="delete groups (no members left)",
                           description="Delete groups and their committed offsets. A group "
                                       "with active members cannot be deleted.")
    p.add_argument("groups", nargs="+", metavar="GROUP")
    p.set_defaults(func=_delete)

    p = actions.add_parser(
        "reset-offsets", parents=[common], help="move committed offsets (dry run by default)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Plan new committed offsets for a group and print them; --execute commits "
                    "them.\nThe group must have no active members. Targets are clamped to each "
                    "partition's\nearliest..latest offsets.",
        epilog="examples:\n"
               "  pykafkacore groups reset-offsets billing --topic orders --to-earliest\n"
               "  pykafkacore groups reset-offsets billing --topic orders:0,1 --shift-by -100 "
               "--execute")
    p.add_argument("group", metavar="GROUP")
    p.add_argument("--topic", action="append", type=_topic_partitions, metavar="TOPIC[:P,...]",
                   help="a topic, or some of its partitions (repeatable)")
    p.add_argument("--all-topics", action="store_true",
                   help="every partition the group has committed offsets for")
    to = p.add_mutually_exclusive_group(required=True)
    to.add_argument("--to-earliest", action="store_true")
    to.add_argument("--to-latest", action="store_true")
    to.add_argument("--to-offset", type=int, metavar="N")
    to.add_argument("--shift-by", type=int, metavar="N", help="move by N (negative: back)")
    p.add_argument("--execute", action="store_true", help="apply the plan (default: dry run)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=_reset)
