"""pykafkacore.testing.StreamsTester, the Streams test mode: windows closed by the test's
event times, tasks moved by adding and stopping instances, and one of two instances killed
(SIGKILL, its own process) mid-stream while the survivor takes its tasks over."""

from __future__ import annotations

import collections
import time

import pytest

from pykafkacore import TimeWindows, Windowed
from pykafkacore.testing.streams import StreamsTester


def windowed_final_counts(app) -> None:
    app.stream("clicks").group_by_key() \
        .windowed_by(TimeWindows(60), emit="final").count() \
        .to_stream().to("click-windows", value_serde="int64")


def running_counts(app) -> None:
    app.stream("taps").group_by_key().count("tap-counts") \
        .to_stream().to("tap-totals", value_serde="int64")


@pytest.fixture
def cluster(kafka_cluster):
    return kafka_cluster


def test_windows_close_exactly_where_the_test_puts_event_time(cluster):
    cluster.create_topic("clicks", 1)
    cluster.create_topic("click-windows", 1)
    with StreamsTester(cluster, windowed_final_counts, default_key_serde="str") as t:
        t.send("clicks", "a", key="ann", timestamp=1_000)
        t.send("clicks", "b", key="ann", timestamp=59_999)
        t.send("clicks", "c", key="bob", timestamp=30_000)
        t.process()
        assert t.output("click-windows") == [], "window [0, 60 s) is still open"
        t.send("clicks", "d", key="ann", timestamp=60_000)  # stream time reaches its end
        t.process()
        got = sorted((r.key, r.value) for r in t.output("click-windows", value_serde="int64",
                                                          windowed="time", window_size=60))
        assert got == [(Windowed("ann", 0, 60_000), 2), (Windowed("bob", 0, 60_000), 1)]
        # Late for the closed window (grace 0): dropped, nothing more comes out.
        t.send("clicks", "e", key="bob", timestamp=10_000)
        t.process()
        assert t.output("click-windows") == []
        assert t.app().metrics()["dropped_by_reason"] == {"late": 1}


def test_adding_and_stopping_instances_moves_tasks_and_keeps_counts(cluster,
                                                                   kafka_streams_tester):
    cluster.create_topic("taps", 4)
    cluster.create_topic("tap-totals", 4)
    keys = [f"k{i}" for i in range(20)]
    expected: collections.Counter = collections.Counter()
    t = kafka_streams_tester(running_counts, default_key_serde="str")

    def feed() -> None:
        t.send_many("taps", [(k, 1, None) for k in keys])
        expected.update(keys)

    feed()
    t.process()
    assert sorted(t.app(0).active_tasks) == ["0_0", "0_1", "0_2", "0_3"]
    t.add_instance()
    wait_for(lambda: t.app(1).active_tasks and t.app(0).active_tasks)
    assert sorted(t.app(0).active_tasks + t.app(1).active_tasks) == ["0_0", "0_1", "0_2",
                                                                      "0_3"]
    feed()
    t.process()
    t.stop_instance(0)  # a clean stop commits: its tasks move without replay
    wait_for(lambda: len(t.app(1).active_tasks) == 4)
    feed()
    t.process()
    assert t.latest("tap-totals", value_serde="int64") == dict(expected)
    assert t.app(1).metrics()["records_restored"] > 0


def test_killing_one_of_two_instances_mid_stream(cluster):
    """The survivor takes the killed instance's tasks once its session expires (6 s), restores
    their counts from the changelogs and replays what was processed but not committed.
    At-least-once: every final count is >= the truth; it is equal unless the killed instance
    had processed records after its last commit (100 ms commit interval: usually some)."""
    cluster.create_topic("taps", 4)
    cluster.create_topic("tap-totals", 4)
    keys = [f"user-{i}" for i in range(50)]
    expected: collections.Counter = collections.Counter()
    with StreamsTester(cluster, running_counts, default_key_serde="str") as t:
        t.add_instance(process=True)
        wait_for(lambda: 0 < len(t.app(0).active_tasks) < 4)
        killed = False
        for batch in range(20):
            t.send_many("taps", [(k, 1, None) for k in keys])
            expected.update(keys)
            if batch == 10:
                t.kill_instance(1)
                killed = True
            time.sleep(0.05)
        assert killed
        t.process(timeout=60)
        assert sorted(t.app(0).active_tasks) == ["0_0", "0_1", "0_2", "0_3"]
        got = t.latest("tap-totals", value_serde="int64")
        assert set(got) == set(expected)
        low = {k: (got[k], n) for k, n in expected.items() if got[k] < n}
        assert not low, f"counts below the truth (lost input): {low}"
        print(f"replayed after the kill: {sum(got.values()) - sum(expected.values())} of "
              f"{sum(expected.values())} records counted twice")
        # The store the survivor serves agrees with what it wrote.
        assert all(t.app(0).get("tap-counts", k) == got[k] for k in keys)
        assert t.app(0).metrics()["records_restored"] > 0


def wait_for(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        time.sleep(0.05)
