"""Clicks per user per minute, on event time, with one final result per window.

    .venv/bin/python examples/streams_click_windows.py                  # starts its own cluster
    .venv/bin/python examples/streams_click_windows.py --bootstrap-servers 127.0.0.1:9092

Each click carries its own timestamp (when it happened, not when it arrived). The app counts
clicks per user in tumbling one-minute windows with 10 s of grace: with emit="final" a window's
count is written once, when stream time (the latest timestamp seen) passes its end + grace. A
click arriving after that is too late: dropped, and counted in the app's metrics.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone

from pykafkacore import (AdminClient, Cluster, Consumer, NewTopic, Producer, StreamsApp,
                         TimeWindows, set_log_level)

MINUTE = 60_000
# (user, seconds after the start); the last click is late: its window closed at 2:10.
CLICKS = [("alice", 5), ("bob", 12), ("alice", 30), ("alice", 59), ("carol", 61),
          ("bob", 75), ("alice", 118), ("bob", 121), ("carol", 130), ("alice", 179),
          ("bob", 185), ("alice", 50)]
LATE = 1  # the click at 50 s comes after stream time reached 185 s


@contextlib.contextmanager
def kafka(bootstrap_servers: str | None) -> Iterator[str]:
    if bootstrap_servers:
        yield bootstrap_servers
        return
    set_log_level("warn")
    with Cluster(brokers=1) as cluster:
        yield cluster.bootstrap_servers


def hhmm(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, timezone.utc).strftime("%H:%M:%S")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap-servers", help="a running cluster (default: start one)")
    args = parser.parse_args()

    suffix = uuid.uuid4().hex[:8]
    clicks, per_minute, app_id = f"clicks-{suffix}", f"clicks-per-minute-{suffix}", f"clicks-{suffix}"
    start = (int(time.time() * 1000) - 10 * MINUTE) // MINUTE * MINUTE  # ten minutes ago
    with kafka(args.bootstrap_servers) as bootstrap:
        with AdminClient(bootstrap) as admin:
            # One partition: stream time is per partition, so all users share one clock here.
            admin.create_topics([NewTopic(clicks, 1), NewTopic(per_minute, 1)])
        with Producer(bootstrap, key_serializer="str", value_serializer="json") as producer:
            for user, second in CLICKS:
                producer.send(clicks, {"page": "/"}, key=user, timestamp=start + second * 1000)
            producer.flush(30)

        app = StreamsApp(app_id, bootstrap, default_key_serde="str", commit_interval=0.2)
        (app.stream(clicks)
         .group_by_key()
         .windowed_by(TimeWindows(size=60, grace=10), emit="final")
         .count()
         .to_stream()
         .to(per_minute, value_serde="int64"))

        # Independently: on-time clicks per (user, minute); windows closed by the last click.
        on_time = CLICKS[:-LATE]
        stream_time = start + max(s for _, s in on_time) * 1000
        expected = collections.Counter((u, (start + s * 1000) // MINUTE * MINUTE)
                                       for u, s in on_time)
        closed = {k: n for k, n in expected.items() if k[1] + MINUTE + 10_000 <= stream_time}

        app.start()
        app.wait_until_idle(30)
        app.stop()
        late = app.metrics()["dropped_by_reason"].get("late", 0)
        # The results, read back from the output topic (as any consumer would).
        results: dict[tuple[str, int], int] = {}
        with Consumer(per_minute, bootstrap_servers=bootstrap, group_id=f"{per_minute}-reader",
                      auto_offset_reset="earliest", value_deserializer=lambda b:
                      int.from_bytes(b, "big", signed=True)) as consumer:
            deadline = time.monotonic() + 30
            while len(results) < len(closed) and time.monotonic() < deadline:
                for r in consumer.poll(0.5):
                    # Windowed key layout (Kafka Streams'): key bytes + 8-byte window start.
                    user, window_start = r.key[:-8].decode(), int.from_bytes(r.key[-8:], "big")
                    results[(user, window_start)] = r.value
        for (user, window_start), n in sorted(results.items(), key=lambda kv: (kv[0][1], kv[0][0])):
            print(f"{user:6} {hhmm(window_start)}-{hhmm(window_start + MINUTE)}  {n} clicks")
        print(f"{len(results)} final window counts; windows ending after "
              f"{hhmm(stream_time - 10_000)} are still open (stream time minus grace)")
        print(f"late clicks dropped: {late}")
        ok = results == closed and late == LATE
        print(f"final counts {'match' if ok else 'DIFFER'}")

        if args.bootstrap_servers:
            with AdminClient(bootstrap) as admin:
                internal = [t for t in admin.list_topics() if t.startswith(app_id)]
                admin.delete_topics([clicks, per_minute, *internal])
        if not ok:
            raise SystemExit(f"expected {closed}, got {results}")


if __name__ == "__main__":
    main()
