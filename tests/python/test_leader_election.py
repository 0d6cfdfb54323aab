"""Preferred-replica leader election after a broker returns: automatically
(``auto.leader.rebalance.enable``, every ``leader.imbalance.check.interval.seconds``) and on
request (ElectLeaders: ``Cluster.elect_leaders``, pykafkacore's and confluent-kafka's
AdminClient); KIP-966 eligible leader replicas and ElectLeaders UNCLEAN."""

from __future__ import annotations

import time

import pytest

import pykafkacore
from pykafkacore import Cluster

try:
    from confluent_kafka import TopicPartition
    from confluent_kafka.admin import AdminClient
except ImportError:  # pragma: no cover - confluent-kafka not installed
    TopicPartition = AdminClient = None

try:
    from confluent_kafka import ElectionType
except ImportError:  # pragma: no cover - older or no confluent-kafka
    ElectionType = None


def wait_for(predicate, timeout: float = 15.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def bounce_preferred(cluster: Cluster, topic: str) -> int:
    """Stops the preferred (first) replica of partition 0, waits for the failover, restarts it
    and waits until it is back in the ISR; returns its id."""
    part = wait_for(lambda: (p := cluster.topic(topic).partitions[0]) and len(p.isr) == 3 and p,
                    what="a full ISR")
    preferred = part.replicas[0]
    assert part.leader == preferred
    cluster.stop(preferred)
    wait_for(lambda: cluster.topic(topic).partitions[0].leader not in (None, preferred),
             what="a new leader")
    cluster.restart(preferred)
    wait_for(lambda: len(cluster.topic(topic).partitions[0].isr) == 3, what="the ISR back to 3")
    return preferred


def test_leadership_returns_to_the_preferred_replica() -> None:
    with Cluster(3, leader_imbalance_check_interval_seconds=1) as cluster:
        cluster.create_topic("auto", partitions=1)
        preferred = bounce_preferred(cluster, "auto")
        started = time.monotonic()
        wait_for(lambda: cluster.topic("auto").partitions[0].leader == preferred, timeout=5,
                 what="the preferred replica leading again")
        print(f"preferred leader back {time.monotonic() - started:.2f} s after rejoining the ISR")


@pytest.mark.skipif(ElectionType is None, reason="confluent-kafka without elect_leaders")
def test_elect_leaders_preferred_through_the_admin_client() -> None:
    with Cluster(3, auto_leader_rebalance_enable=False) as cluster:
        cluster.create_topic("manual", partitions=1)
        preferred = bounce_preferred(cluster, "manual")
        time.sleep(1.0)
        assert cluster.topic("manual").partitions[0].leader != preferred  # no automatic move
        admin = AdminClient({"bootstrap.servers": cluster.bootstrap_servers, "log_level": 2})
        tp = TopicPartition("manual", 0)
        result = admin.elect_leaders(ElectionType.PREFERRED, [tp]).result(timeout=15)
        errors = {(t.topic, t.partition): e for t, e in result.items()}
        assert errors[("manual", 0)] is None, errors
        wait_for(lambda: cluster.topic("manual").partitions[0].leader == preferred,
                 what="the preferred replica leading")
        # Asked again: nothing to do.
        again = admin.elect_leaders(ElectionType.PREFERRED, [tp]).result(timeout=15)
        [error] = again.values()
        assert error is not None and error.name() == "ELECTION_NOT_NEEDED"


def test_cluster_elect_leaders_returns_leadership_to_the_preferred_replicas() -> None:
    with Cluster(3, auto_leader_rebalance_enable=False) as cluster:
        cluster.create_topic("helper", partitions=3)
        cluster.create_topic("other", partitions=1)
        preferred = bounce_preferred(cluster, "helper")
        assert cluster.topic("helper").partitions[0].leader != preferred
        led = cluster.elect_leaders("helper", [0])
        assert led == {("helper", 0): preferred}
        assert cluster.topic("helper").partitions[0].leader == preferred
        # Everything, when nothing is asked for; nothing to do is no error.
        led = cluster.elect_leaders()
        topics = cluster.topics(internal=True)
        assert set(led) == {(n, p.partition) for n, t in topics.items() for p in t.partitions}
        for (name, p), leader in led.items():
            assert leader == topics[name].partitions[p].replicas[0]
        assert cluster.elect_leaders("other") == {("other", 0): topics["other"].partitions[0].leader}


def test_admin_client_elect_leaders() -> None:
    with Cluster(3, auto_leader_rebalance_enable=False) as cluster:
        cluster.create_topic("adm", partitions=1)
        preferred = bounce_preferred(cluster, "adm")
        with pykafkacore.AdminClient(cluster.bootstrap_servers) as admin:
            assert admin.elect_leaders([("adm", 0)]) == [("adm", 0)]
            wait_for(lambda: cluster.topic("adm").partitions[0].leader == preferred,
                     what="the preferred replica leading")
            assert admin.elect_leaders([("adm", 0)]) == []  # already leading: not an error
            # A preferred replica that is down cannot lead.
            cluster.stop(preferred)
            wait_for(lambda: cluster.topic("adm").partitions[0].leader not in (None, preferred),
                     what="a new leader")
            with pytest.raises(pykafkacore.KafkaError) as raised:
                admin.elect_leaders([("adm", 0)], timeout=5)
            assert raised.value.code == 80  # PREFERRED_LEADER_NOT_AVAILABLE


@pytest.mark.skipif(ElectionType is None, reason="confluent-kafka without elect_leaders")
def test_eligible_leader_replicas_and_unclean_election() -> None:
    """KIP-966 with RF=3 and min.insync.replicas=2: the followers stop one after the other, so
    the ISR shrinks to the leader and the second follower becomes an eligible leader replica.
    The leader dies: with only the first (ineligible) follower back the partition stays
    offline, as unclean election is off, until ElectLeaders UNCLEAN elects it."""
    with Cluster(3, controllers=1, auto_leader_rebalance_enable=False) as cluster:
        cluster.create_topic("elr", partitions=1, configs={"min.insync.replicas": 2})
        part = wait_for(lambda: (p := cluster.topic("elr").partitions[0]) and len(p.isr) == 3 and p,
                        what="a full ISR")
        leader = part.leader
        f1, f2 = [r for r in part.replicas if r != leader]
        cluster.stop(f1)
        wait_for(lambda: len(cluster.topic("elr").partitions[0].isr) == 2, what="an ISR of two")
        assert cluster.topic("elr").partitions[0].elr == ()
        cluster.stop(f2)
        shrunk = wait_for(lambda: (p := cluster.topic("elr").partitions[0]) and p.isr == (leader,) and p,
                          what="the leader alone in the ISR")
        assert shrunk.elr == (f2,)
        cluster.kill(leader)
        wait_for(lambda: cluster.topic("elr").partitions[0].leader is None, what="an offline partition")
        cluster.restart(f1)
        time.sleep(1.0)
        assert cluster.topic("elr").partitions[0].leader is None, "f1 is neither in the ISR nor eligible"
        admin = AdminClient({"bootstrap.servers": cluster.bootstrap_servers, "log_level": 2})
        result = admin.elect_leaders(ElectionType.UNCLEAN, [TopicPartition("elr", 0)]).result(timeout=15)
        assert all(e is None for e in result.values()), result
        elected = wait_for(lambda: (p := cluster.topic("elr").partitions[0]) and p.leader == f1 and p,
                           what="the unclean leader")
        assert elected.isr == (f1,) and elected.elr == ()


@pytest.mark.parametrize("victim_kind", ["leader", "controller"])
def test_killed_leader_is_replaced_long_before_its_session_would_end(victim_kind: str) -> None:
    """kill -9 breaks the dead broker's link to the controller, which dials the broker's
    listener, finds it refused and fences the broker at once (at the latest after a short grace
    for lost connections, 500 ms), instead of after broker.session.timeout.ms (Kafka's default
    9 s here): its partitions get new leaders at once. When the victim is the active
    controller, the live brokers' links to it break too: they heartbeat the new controller at
    once and must not be fenced. The killed broker re-registers when it restarts."""
    with Cluster(3, mode="process", broker_session_timeout_ms=9000,
                 broker_heartbeat_interval_ms=2000) as cluster:
        cluster.create_topic("fast-fence", partitions=3, replication_factor=3,
                             configs={"min.insync.replicas": "2"})
        wait_for(lambda: all(len(p.isr) == 3 for p in cluster.topic("fast-fence").partitions),
                 what="full ISRs")
        controller = wait_for(lambda: cluster.controller, what="an active controller")
        before = cluster.topic("fast-fence").leaders
        if victim_kind == "controller":
            victim = controller
            assert victim in before.values(), f"the controller leads nothing: {before}"
        else:
            victim = next((b for b in before.values() if b != controller), None)
            assert victim is not None, f"every partition led by the controller: {before}"
        cluster.kill(victim)
        killed = time.monotonic()
        wait_for(lambda: victim not in cluster.topic("fast-fence").leaders.values()
                 and None not in cluster.topic("fast-fence").leaders.values(),
                 timeout=8, what="new leaders for the killed broker's partitions")
        took = time.monotonic() - killed
        print(f"{victim_kind}: leaders moved {took:.2f} s after kill -9 (session 9 s)")
        assert took < 5, f"{took:.1f} s: fenced by the session, not by the lost connection"
        time.sleep(1.0)  # a wrongly fenced live broker would lose its leaderships by now
        after = cluster.topic("fast-fence").leaders
        for partition, leader in before.items():
            if leader != victim:
                assert after[partition] == leader, f"live leader of {partition} moved: {after}"
        cluster.restart(victim)
        wait_for(lambda: all(len(p.isr) == 3 for p in cluster.topic("fast-fence").partitions),
                 timeout=30, what="the restarted broker back in every ISR")
