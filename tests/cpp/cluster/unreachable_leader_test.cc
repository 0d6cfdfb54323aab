// A follower whose replica fetcher has lost the partition leader stops advertising it in
// Metadata (LEADER_NOT_AVAILABLE) before any controller decides, so clients keep asking for the
// new leader instead of waiting on a dead one; once the link is back it advertises the leader
// again. Unit cases for the bookkeeping (broker/unreachable_leaders.h), then a real cluster:
// three brokers and a dedicated controller in one process, the follower-leader link cut while
// both keep their controller links (so no one is fenced). Last, the answer held while the
// controller decides (handlers/metadata.cc): it names the new leader once there is one.
#include <future>

#include "broker/unreachable_leaders.h"

#include "cluster/cluster_fixture.h"

namespace kafkacore::broker::testing {
namespace {

using namespace std::chrono_literals;

TEST(UnreachableLeaders, SuspectedUntilReachedRestartedOrTooOld) {
  UnreachableLeaders leaders(1000ms);
  const auto t0 = UnreachableLeaders::Clock::now();
  EXPECT_FALSE(leaders.suspected(2, 5, t0));
  leaders.failed(2, 5, t0);
  EXPECT_TRUE(leaders.suspected(2, 5, t0 + 10ms));
  EXPECT_FALSE(leaders.suspected(3, 5, t0 + 10ms)) << "only the broker that failed";
  EXPECT_FALSE(leaders.suspected(2, 6, t0 + 10ms)) << "registered again: another process";
  leaders.failed(2, 5, t0 + 900ms);  // a later failed reconnect does not extend the suspicion
  EXPECT_FALSE(leaders.suspected(2, 5, t0 + 1000ms)) << "after max_age the controller decides";
  leaders.failed(4, 1, t0);
  leaders.reached(4);
  EXPECT_FALSE(leaders.suspected(4, 1, t0 + 10ms));
}

class UnreachableLeaderTest : public LocalClusterTest {
 protected:
  // Sessions long enough that nobody is fenced while the test runs: only the fetcher's view
  // changes what a broker advertises.
  void SetUp() override {
    start_cluster(3, 1,
                  fast_failover_settings({{"broker.session.timeout.ms", "30000"},
                                          {"auto.leader.rebalance.enable", "false"}}));
  }

  // Topic "cut": one partition on all three brokers, fully in sync; its leader and a follower.
  std::pair<int32_t, int32_t> create_cut_topic() {
    auto created = client()->call(create_topic_request("cut", 1, 3), 7);
    EXPECT_EQ(created.topics.at(0).error_code, 0);
    auto full = wait_for_partition("cut", 0, [](const auto& p) {
      return p.leader_id >= 0 && p.isr_nodes.size() == 3;
    });
    int32_t follower = -1;
    for (int32_t r : full.replica_nodes) {
      if (r != full.leader_id) follower = r;
    }
    EXPECT_GE(follower, 0);
    return {full.leader_id, follower};
  }

  protocol::MetadataResponse::MetadataResponsePartition as_seen_by(int32_t broker) {
    auto resp = client_of(broker)->call(metadata_request({"cut"}, false), 12);
    return resp.topics.at(0).partitions.at(0);
  }
};

TEST_F(UnreachableLeaderTest, FollowerStopsAdvertisingALeaderItCannotReach) {
  const auto [leader, follower] = create_cut_topic();

  cluster_->partition({follower}, {leader});
  ASSERT_TRUE(eventually([&] { return as_seen_by(follower).leader_id == -1; }, 10s))
      << "the follower still sends clients to a leader it cannot reach";
  const auto seen = as_seen_by(follower);
  EXPECT_EQ(seen.error_code, static_cast<int16_t>(Errc::leader_not_available));
  EXPECT_EQ(as_seen_by(leader).leader_id, leader) << "the leader itself is not fenced";

  cluster_->heal();
  EXPECT_TRUE(eventually([&] { return as_seen_by(follower).leader_id == leader; }, 10s))
      << "the follower reached the leader again but does not advertise it";
}

// The controller decides only when the test lets it: it is paused while the leader dies.
class HeldMetadataTest : public UnreachableLeaderTest {
 protected:
  void SetUp() override {
    start_cluster(3, 1,
                  fast_failover_settings({{"broker.session.timeout.ms", "30000"},
                                          {"broker.heartbeat.interval.ms", "1000"},
                                          {"kafkacore.lost.connection.grace.ms", "5000"},
                                          {"auto.leader.rebalance.enable", "false"}}));
  }
};

TEST_F(HeldMetadataTest, AnAnswerHeldForALostLeaderNamesItsSuccessorAndListsTheFencedBroker) {
  const auto [leader, follower] = create_cut_topic();
  const int32_t controller = cluster_->controller_ids().at(0);

  ASSERT_TRUE(cluster_->pause_broker(controller));
  ASSERT_TRUE(cluster_->kill_broker(leader));
  auto held = std::async(std::launch::async, [&] {
    return client_of(follower)->call(metadata_request({"cut"}, false), 12);
  });
  EXPECT_EQ(held.wait_for(300ms), std::future_status::timeout)
      << "answered while the controller could not have decided";
  ASSERT_TRUE(cluster_->resume_broker(controller));
  const auto answer = held.get();

  const auto& partition = answer.topics.at(0).partitions.at(0);
  EXPECT_GE(partition.leader_id, 0) << "released without a leader";
  EXPECT_NE(partition.leader_id, leader);
  EXPECT_EQ(partition.error_code, 0);
  auto listed = [](const protocol::MetadataResponse& r, int32_t id) {
    return std::ranges::any_of(r.brokers, [&](const auto& b) { return b.node_id == id; });
  };
  EXPECT_TRUE(listed(answer, leader)) << "the broker it waited for left this answer's list";
  const auto later = client_of(follower)->call(metadata_request({"cut"}, false), 12);
  EXPECT_FALSE(listed(later, leader)) << "a fenced broker listed in an answer that did not wait";
  EXPECT_EQ(later.topics.at(0).partitions.at(0).leader_id, partition.leader_id);
}

}  // namespace
}  // namespace kafkacore::broker::testing
