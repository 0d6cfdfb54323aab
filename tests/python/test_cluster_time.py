"""Cluster(manual_clock=True).advance_time(): retention and offsets expiry happen exactly when
the test moves time, not when wall-clock time passes; and Cluster.reset_offsets()."""

from __future__ import annotations

import time

import pytest

from pykafkacore import AdminClient, Cluster, Consumer, Producer, TopicPartition


def _produce(cluster: Cluster, topic: str, n: int) -> None:
    with Producer(cluster) as producer:
        producer.send_many(topic, [b"%d" % i for i in range(n)], partition=0).result(10)


def test_retention_expires_when_time_is_advanced_not_before():
    with Cluster(1, manual_clock=True) as cluster, AdminClient(cluster) as admin:
        t0 = cluster.now()
        cluster.create_topic("expiring", configs={"retention.ms": 60_000})
        _produce(cluster, "expiring", 5)
        tp = TopicPartition("expiring", 0)

        time.sleep(0.3)  # the kafkacore.tick.ms retention pass runs meanwhile: nothing expires
        assert cluster.now() == t0
        cluster.advance_time(50)
        assert admin.list_offsets([tp], spec="earliest")[tp].offset == 0
        assert len(cluster.records("expiring", 0)) == 5
        cluster.advance_time(11)
        assert admin.list_offsets([tp], spec="earliest")[tp].offset == 5
        assert cluster.records("expiring", 0) == []
        assert cluster.now() == pytest.approx(t0 + 61, abs=0.001)


def test_committed_offsets_of_an_empty_group_expire_after_offsets_retention():
    # Expiry runs every offsets.retention.check.interval.ms (of the cluster's time), as in Kafka.
    with Cluster(1, manual_clock=True, offsets_retention_minutes=60,
                 offsets_retention_check_interval_ms=1000) as cluster, \
            AdminClient(cluster) as admin:
        cluster.create_topic("kept")
        admin.alter_group_offsets("idle", {("kept", 0): 3})
        cluster.advance_time(59 * 60)
        assert admin.list_group_offsets("idle") == {TopicPartition("kept", 0): 3}
        cluster.advance_time(2 * 60)
        assert admin.list_group_offsets("idle") == {}


def test_advance_time_needs_a_manual_clock():
    with Cluster(1) as cluster:
        with pytest.raises(RuntimeError, match="manual_clock"):
            cluster.advance_time(1)
    with pytest.raises(ValueError, match="inprocess"):
        Cluster(1, mode="process", manual_clock=True)


def test_reset_offsets_to_earliest_latest_an_offset_or_a_mapping():
    with Cluster(1) as cluster, AdminClient(cluster) as admin:
        cluster.create_topic("replay", partitions=2)
        _produce(cluster, "replay", 10)  # all on partition 0
        with Consumer("replay", bootstrap_servers=cluster, group_id="readers",
                      auto_offset_reset="earliest", enable_auto_commit=False) as consumer:
            seen = 0
            deadline = time.monotonic() + 15
            while seen < 10 and time.monotonic() < deadline:
                seen += len(consumer.poll(0.2))
            assert seen == 10
            consumer.commit()
        assert cluster.lag("readers")[("replay", 0)] == (10, 10, 0)

        assert cluster.reset_offsets("readers", "earliest") == {("replay", 0): 0, ("replay", 1): 0}
        assert cluster.lag("readers")[("replay", 0)] == (0, 10, 10)
        assert cluster.reset_offsets("readers", 4, topic="replay") == {("replay", 0): 4,
                                                                        ("replay", 1): 0}
        assert cluster.reset_offsets("readers", "latest") == {("replay", 0): 10, ("replay", 1): 0}
        assert cluster.reset_offsets("readers", {("replay", 0): 7}) == {("replay", 0): 7}
        assert admin.list_group_offsets("readers")[TopicPartition("replay", 0)] == 7

        # Resuming members start where the reset put them.
        with Consumer("replay", bootstrap_servers=cluster, group_id="readers") as consumer:
            records = []
            deadline = time.monotonic() + 15
            while len(records) < 3 and time.monotonic() < deadline:
                records += consumer.poll(0.2)
        assert [r.offset for r in records] == [7, 8, 9]
        with pytest.raises(ValueError):
            cluster.reset_offsets("readers", "yesterday")
