"""User sessions with session windows: activity separated by less than a gap is one session.

    .venv/bin/python examples/streams_sessions.py                  # starts its own cluster
    .venv/bin/python examples/streams_sessions.py --bootstrap-servers 127.0.0.1:9092

Page views carry their event times. A session ends after 30 s without views of its user; a view
landing between two sessions (less than 30 s from both) merges them into one. The app keeps
(views, pages) per session with a Python aggregate and merger; each merge deletes the replaced
sessions downstream (a None value) before writing the merged one; so does a session growing
(its new end makes it a new window).
"""

from __future__ import annotations

import argparse
import contextlib
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone

from pykafkacore import (AdminClient, Cluster, NewTopic, Producer, SessionWindows, StreamsApp,
                         set_log_level)

GAP_S = 30
# (user, seconds after the start, page). ana's view at 55 s joins her sessions at 0-40 and
# 80 s into one.
VIEWS = [("ana", 0, "/"), ("ben", 3, "/"), ("ana", 20, "/shop"), ("ana", 40, "/cart"),
         ("ben", 50, "/help"), ("ana", 80, "/pay"), ("ben", 140, "/"), ("ana", 55, "/shop")]


@contextlib.contextmanager
def kafka(bootstrap_servers: str | None) -> Iterator[str]:
    if bootstrap_servers:
        yield bootstrap_servers
        return
    set_log_level("warn")
    with Cluster(brokers=1) as cluster:
        yield cluster.bootstrap_servers


def hms(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, timezone.utc).strftime("%H:%M:%S")


def sessions_of(times: list[int], gap_ms: int) -> list[tuple[int, int, int]]:
    """(start, end, views) per session, computed the plain way: sort and split at gaps."""
    out: list[list[int]] = []
    for t in sorted(times):
        if out and t - out[-1][1] <= gap_ms:
            out[-1][1], out[-1][2] = t, out[-1][2] + 1
        else:
            out.append([t, t, 1])
    return [(s, e, n) for s, e, n in out]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap-servers", help="a running cluster (default: start one)")
    args = parser.parse_args()

    suffix = uuid.uuid4().hex[:8]
    views, app_id = f"page-views-{suffix}", f"sessions-{suffix}"
    start = (int(time.time() * 1000) - 600_000) // 60_000 * 60_000
    with kafka(args.bootstrap_servers) as bootstrap:
        with AdminClient(bootstrap) as admin:
            admin.create_topics([NewTopic(views, 2)])
        with Producer(bootstrap, key_serializer="str", value_serializer="json") as producer:
            for user, second, page in VIEWS:
                producer.send(views, {"page": page}, key=user, timestamp=start + second * 1000)
            producer.flush(30)

        app = StreamsApp(app_id, bootstrap, default_key_serde="str", commit_interval=0.2)
        sessions = (app.stream(views)
                    .group_by_key()
                    .windowed_by(SessionWindows(gap=GAP_S, grace=300))
                    .aggregate(lambda: {"views": 0, "pages": []},
                               lambda user, view, s: {"views": s["views"] + 1,
                                                      "pages": s["pages"] + [view["page"]]},
                               lambda user, a, b: {"views": a["views"] + b["views"],
                                                   "pages": a["pages"] + b["pages"]}))
        # The updates the app makes, as it makes them (windowed keys: Windowed(key, start, end)).
        # A real app would also write them to a topic: sessions.to_stream().to("sessions").
        changes = []
        sessions.to_stream().foreach(lambda key, value: changes.append((key, value)))
        app.start()
        app.wait_until_idle(30)
        app.stop()

        final = {}
        for key, value in changes:
            if value is None:
                print(f"  replaced: {key.key} {hms(key.start)}-{hms(key.end)}")
                final.pop(key, None)
            else:
                final[key] = value
        for key, value in sorted(final.items(), key=lambda kv: (kv[0].key, kv[0].start)):
            print(f"{key.key}: session {hms(key.start)}-{hms(key.end)}, {value['views']} views, "
                  f"pages {sorted(value['pages'])}")
        expected = {(u, s, e, n) for u in {v[0] for v in VIEWS}
                    for s, e, n in sessions_of([start + sec * 1000 for uu, sec, _ in VIEWS
                                                if uu == u], GAP_S * 1000)}
        got = {(k.key, k.start, k.end, v["views"]) for k, v in final.items()}
        ok = got == expected
        print(f"{len(final)} sessions; {'as expected' if ok else 'MISMATCH'}")

        if args.bootstrap_servers:
            with AdminClient(bootstrap) as admin:
                internal = [t for t in admin.list_topics() if t.startswith(app_id)]
                admin.delete_topics([views, *internal])
        if not ok:
            raise SystemExit(f"expected {sorted(expected)}, got {sorted(got)}")


if __name__ == "__main__":
    main()
