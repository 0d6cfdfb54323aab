// A broker whose controller link breaks is fenced as soon as its client listener refuses a
// connection (no process serves there any more), not after the lost-connection grace: here
// the grace is 8 s and the session 20 s, so a fence within a few seconds can only come from
// the refusal. The unit cases for the probe and the controller's bookkeeping are in
// broker/listener_probe_test.cc and metadata/controller_test.cc.
#include "cluster/cluster_fixture.h"

namespace kafkacore::broker::testing {
namespace {

using namespace std::chrono_literals;

class DeadBrokerFenceTest : public LocalClusterTest {
 protected:
  void SetUp() override {
    start_cluster(3, 0,
                  fast_failover_settings({{"broker.session.timeout.ms", "20000"},
                                          {"broker.heartbeat.interval.ms", "3000"},
                                          {"kafkacore.lost.connection.grace.ms", "8000"},
                                          {"auto.leader.rebalance.enable", "false"}}));
  }

  bool fenced(int32_t id) {
    const auto image = cluster_->image();
    const auto* b = image ? image->broker(id) : nullptr;
    return b && b->fenced;
  }
};

TEST_F(DeadBrokerFenceTest, AKilledBrokerIsFencedWhenItsListenerRefuses) {
  auto created = client()->call(create_topic_request("dead", 3, 3), 7);
  ASSERT_EQ(created.topics.at(0).error_code, 0);
  for (int32_t p = 0; p < 3; ++p) {
    wait_for_partition("dead", p, [](const auto& s) { return s.leader_id >= 0 && s.isr_nodes.size() == 3; });
  }
  const int32_t controller = cluster_->controller_id();
  int32_t victim = -1;
  for (int32_t id : cluster_->broker_ids()) {
    if (id != controller) victim = id;
  }
  ASSERT_GE(victim, 0);
  const auto killed = std::chrono::steady_clock::now();
  ASSERT_TRUE(cluster_->kill_broker(victim));
  ASSERT_TRUE(eventually([&] { return fenced(victim); }, 6s))
      << "not fenced within 6 s: the grace (8 s) or the session decided, not the refusal";
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - killed);
  std::printf("broker %d fenced %lld ms after kill\n", victim, static_cast<long long>(took.count()));
  for (int32_t p = 0; p < 3; ++p) {
    wait_for_partition("dead", p, [&](const auto& s) { return s.leader_id >= 0 && s.leader_id != victim; },
                       victim, 5s);
  }
  EXPECT_FALSE(fenced(controller));
}

}  // namespace
}  // namespace kafkacore::broker::testing
