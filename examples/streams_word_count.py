"""Word count with pykafkacore.StreamsApp: the "hello world" of stream processing.

    .venv/bin/python examples/streams_word_count.py                  # starts its own cluster
    .venv/bin/python examples/streams_word_count.py --bootstrap-servers 127.0.0.1:9092

Lines go to a topic; the app splits them into words, groups by word (a new key, so the records
pass through a repartition topic), counts them in a state store backed by a changelog topic,
and writes every updated count to an output topic.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import uuid
from collections.abc import Iterator

from pykafkacore import AdminClient, Cluster, NewTopic, Producer, StreamsApp, set_log_level

LINES = [
    "the quick brown fox jumps over the lazy dog",
    "the dog barks",
    "a quick brown dog",
    "foxes and dogs and the rest",
]


@contextlib.contextmanager
def kafka(bootstrap_servers: str | None) -> Iterator[str]:
    """The given cluster, or a fresh in-process one for the duration of the block."""
    if bootstrap_servers:
        yield bootstrap_servers
        return
    set_log_level("warn")
    with Cluster(brokers=1) as cluster:
        yield cluster.bootstrap_servers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap-servers", help="a running cluster (default: start one)")
    args = parser.parse_args()

    suffix = uuid.uuid4().hex[:8]  # unique names, so reruns on one cluster do not mix
    text, counts_topic, app_id = f"text-{suffix}", f"word-counts-{suffix}", f"wordcount-{suffix}"
    with kafka(args.bootstrap_servers) as bootstrap:
        with AdminClient(bootstrap) as admin:
            admin.create_topics([NewTopic(text, num_partitions=3),
                                 NewTopic(counts_topic, num_partitions=3)])
        with Producer(bootstrap, value_serializer="str") as producer:
            for i, line in enumerate(LINES):
                producer.send(text, line, key=f"line-{i}".encode())
            producer.flush(30)
        print(f"produced {len(LINES)} lines to {text}")

        app = StreamsApp(app_id, bootstrap, default_key_serde="str", commit_interval=0.2)
        counts = (app.stream(text, value_serde="str")
                  .flat_map_values(lambda line: line.lower().split())
                  .group_by(lambda key, word: word)
                  .count("counts"))
        counts.to_stream().to(counts_topic, value_serde="int64")
        print(app.describe())

        words = sum(len(line.split()) for line in LINES)
        updates = app.run(count=words, timeout=30)  # one update per word, then stop
        final: dict[str, int] = {}
        for record in updates:  # per key in order: the last update is the count
            final[record.key] = record.value
        for word, n in sorted(final.items(), key=lambda kv: (-kv[1], kv[0])):
            print(f"{word}: {n}")
        expected = collections.Counter(w for line in LINES for w in line.lower().split())
        print(f"{len(updates)} updates for {words} words; "
              f"counts {'match' if final == dict(expected) else 'DIFFER'}")

        if args.bootstrap_servers:  # leave a shared cluster as it was
            with AdminClient(bootstrap) as admin:
                internal = [t for t in admin.list_topics() if t.startswith(app_id)]
                admin.delete_topics([text, counts_topic, *internal])
        if final != dict(expected):
            raise SystemExit("the counts are wrong")


if __name__ == "__main__":
    main()
