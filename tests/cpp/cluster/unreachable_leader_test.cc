// A follower whose replica fetcher has lost the partition leader stops advertising it in
// Metadata (LEADER_NOT_AVAILABLE) before any controller decides, so clients keep asking for the
// new leader instead of waiting on a dead one; once the link is back it advertises the leader
// again. Unit cases for the bookkeeping (broker/unreachable_leaders.h), then a real cluster:
// three brokers and a dedicated controller in one process, the follower-leader link cut while
// both keep their controller links (so no one is fenced).
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

  protocol::MetadataResponse::MetadataResponsePartition as_seen_by(int32_t broker) {
    auto resp = client_of(broker)->call(metadata_request({"cut"}, false), 12);
    return resp.topics.at(0).partitions.at(0);
  }
};

TEST_F(UnreachableLeaderTest, FollowerStopsAdvertisingALeaderItCannotReach) {
  auto created = client()->call(create_topic_request("cut", 1, 3), 7);
  ASSERT_EQ(created.topics.at(0).error_code, 0);
  auto full = wait_for_partition("cut", 0, [](const auto& p) {
    return p.leader_id >= 0 && p.isr_nodes.size() == 3;
  });
  const int32_t leader = full.leader_id;
  int32_t follower = -1;
  for (int32_t r : full.replica_nodes) {
    if (r != leader) follower = r;
  }
  ASSERT_GE(follower, 0);

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

}  // namespace
}  // namespace kafkacore::broker::testing
