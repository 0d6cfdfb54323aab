// KIP-966 on a real cluster: three brokers and a dedicated controller in one process, over
// sockets. RF=3 with min.insync.replicas=2: the ISR shrinks to the leader and the replicas it
// lost become eligible (ELR); when the leader dies the partition waits for an eligible replica
// (no unclean election), which comes back leading with every acknowledged record. Unclean
// election by topic config and by ElectLeaders UNCLEAN, and the "last replica standing" whose
// unclean restart keeps it from leading.
#include <array>
#include <thread>

#include "cluster/cluster_fixture.h"

namespace kafkacore::broker::testing {
namespace {

using namespace protocol;
using namespace std::chrono_literals;
using Ids = std::vector<int32_t>;

class EligibleLeadersTest : public LocalClusterTest {
 protected:
  // A dedicated controller, so the metadata quorum outlives the brokers this test stops.
  void SetUp() override {
    start_cluster(3, 1,
                  fast_failover_settings({{"auto.leader.rebalance.enable", "false"},
                                          {"group.initial.rebalance.delay.ms", "0"}}));
  }

  // The partition as the controller's committed image has it.
  metadata::PartitionState state() {
    auto image = cluster_->image(cluster_->controller_ids().at(0));
    const auto* p = image ? image->partition(kTopic, 0) : nullptr;
    if (!p) throw ClientError("no partition " + std::string(kTopic) + "-0 in the image");
    return *p;
  }
  template <typename Pred>
  metadata::PartitionState wait_state(Pred pred, const char* what) {
    metadata::PartitionState s;
    const bool ok = eventually([&] { return pred(s = state()); });
    EXPECT_TRUE(ok) << "timed out waiting for " << what << " (leader " << s.leader << ", isr "
                    << ::testing::PrintToString(s.isr) << ", elr " << ::testing::PrintToString(s.elr) << ")";
    return s;
  }

  // RF=3, min.insync.replicas=2; returns {leader, first follower, second follower}.
  std::array<int32_t, 3> create(std::map<std::string, std::string> configs = {}) {
    configs["min.insync.replicas"] = "2";
    auto resp = client()->call(create_topic_request(kTopic, 1, 3, configs), 7);
    EXPECT_EQ(resp.topics.at(0).error_code, 0) << resp.topics[0].error_message.value_or("");
    auto s = wait_state([](const auto& p) { return p.isr.size() == 3 && p.leader >= 0; }, "a full ISR");
    std::array<int32_t, 3> out{s.leader, -1, -1};
    size_t i = 1;
    for (int32_t r : s.replicas) {
      if (r != s.leader) out[i++] = r;
    }
    return out;
  }

  ProduceResponse::PartitionProduceResponse produce(int32_t leader, const std::string& prefix,
                                                    int count, int16_t acks) {
    // A 3 s timeout: below the test client's 5 s, so a slow answer is an error code.
    return produce_to(leader, kTopic, 0, make_batch(prefix, count), acks, 3000);
  }
  // acks=all until accepted: a broker may not have applied the ISR change that allows it yet
  // (refusals append nothing).
  void produce_acked(int32_t leader, const std::string& prefix, int count) {
    int16_t code = -1;
    EXPECT_TRUE(eventually([&] { return (code = produce(leader, prefix, count, -1).error_code) == 0; }))
        << prefix << ": error " << code;
    if (code != 0) return;
    for (int r = 0; r < count; ++r) acked_.push_back("value-" + prefix + "-" + std::to_string(r));
  }

  // Every record of broker `id`'s copy (below its high watermark if `committed`).
  std::vector<std::string> committed_values(int32_t id, bool committed = true) {
    auto read = cluster_->read_partition(id, kTopic, 0, 0, 64 << 20, committed);
    EXPECT_TRUE(read) << read.error().message();
    std::vector<std::string> out;
    if (!read) return out;
    for (const auto& r : fetched_records(read->batches)) out.push_back(r.value.value_or(""));
    return out;
  }

  // The followers stop cleanly (one, then the other) while acks=all writes go on: the ISR
  // shrinks to the leader and the second follower becomes eligible.
  void shrink_to_leader(const std::array<int32_t, 3>& ids) {
    const auto [leader, f1, f2] = ids;
    produce_acked(leader, "all3", 5);
    ASSERT_TRUE(cluster_->stop_broker(f1));
    wait_state([&](const auto& p) { return p.isr.size() == 2; }, "ISR of two");
    EXPECT_TRUE(state().elr.empty()) << "the ISR is still at min.insync.replicas";
    produce_acked(leader, "two", 5);
    ASSERT_TRUE(cluster_->stop_broker(f2));
    auto s = wait_state([&](const auto& p) { return p.isr == Ids{leader}; }, "ISR of the leader alone");
    EXPECT_EQ(s.elr, Ids{f2});
    // The leader acts on its own image, which may trail the controller's.
    EXPECT_TRUE(eventually([&] {
      auto image = cluster_->image(leader);
      const auto* p = image ? image->partition(kTopic, 0) : nullptr;
      return p && p->isr == Ids{leader};
    }));
    // acks=all is refused now; acks=1 lands on the leader alone and never commits.
    EXPECT_EQ(produce(leader, "refused", 1, -1).error_code, static_cast<int16_t>(Errc::not_enough_replicas));
    EXPECT_EQ(produce(leader, "alone", 3, 1).error_code, 0);
    EXPECT_EQ(committed_values(leader), acked_) << "the HW stood still with the ISR below 2";
  }

  static constexpr const char* kTopic = "elr";
  std::vector<std::string> acked_;
};

TEST_F(EligibleLeadersTest, AnEligibleReplicaLeadsWithEveryAcknowledgedRecord) {
  const auto ids = create();
  const auto [leader, f1, f2] = ids;
  shrink_to_leader(ids);
  ASSERT_TRUE(cluster_->kill_broker(leader));
  wait_state([](const auto& p) { return p.leader == -1; }, "an offline partition");
  // f1 left while the ISR was still at two: not eligible, and unclean election is off.
  ASSERT_TRUE(cluster_->restart_broker(f1));
  std::this_thread::sleep_for(1500ms);
  EXPECT_EQ(state().leader, -1);
  auto md = client_of(f1)->call(metadata_request({kTopic}, false), 12);
  EXPECT_EQ(md.topics.at(0).partitions.at(0).error_code, static_cast<int16_t>(Errc::leader_not_available));
  // f2, eligible, returns and leads alone; its copy holds every acknowledged record.
  ASSERT_TRUE(cluster_->restart_broker(f2));
  auto s = wait_state([&](const auto& p) { return p.leader == f2; }, "the eligible replica leading");
  EXPECT_TRUE(s.isr == Ids{f2} || s.isr.size() == 2);
  // Its HW may not cover the last acknowledged records yet (it stopped before the fetch that
  // would have told it) and cannot move with the ISR below 2, but its log has them all, and
  // none of what the old leader took alone.
  EXPECT_EQ(committed_values(f2, false), acked_);
  // f1 catches up and rejoins: acks=all works again and everything acknowledged is there once.
  wait_state([](const auto& p) { return p.isr.size() == 2 && p.elr.empty(); }, "ISR of two again");
  produce_acked(f2, "after", 2);
  EXPECT_EQ(committed_values(f2), acked_);
  EXPECT_TRUE(eventually([&] { return committed_values(f1) == acked_; }));
}

TEST_F(EligibleLeadersTest, UncleanElectionByTopicConfigElectsAnyLiveReplica) {
  const auto ids = create({{"unclean.leader.election.enable", "true"}});
  const auto [leader, f1, f2] = ids;
  shrink_to_leader(ids);
  ASSERT_TRUE(cluster_->kill_broker(leader));
  ASSERT_TRUE(cluster_->restart_broker(f1));
  auto s = wait_state([&](const auto& p) { return p.leader == f1; }, "the unclean leader");
  EXPECT_EQ(s.isr, Ids{f1});
  EXPECT_TRUE(s.elr.empty());
  // Its log lacks the records acknowledged after it left (the price of unclean election).
  auto values = committed_values(f1, false);
  EXPECT_EQ(values, std::vector<std::string>(acked_.begin(), acked_.begin() + 5));
  (void)f2;
}

TEST_F(EligibleLeadersTest, ElectLeadersUnclean) {
  const auto ids = create();
  const auto [leader, f1, f2] = ids;
  auto elect = [&](int32_t via) {
    ElectLeadersRequest req;
    req.election_type = 1;
    req.timeout_ms = 10000;
    req.topic_partitions.emplace();
    auto& t = req.topic_partitions->emplace_back();
    t.topic = kTopic;
    t.partitions = {0};
    auto resp = client_of(via)->call(req, 2);
    return resp.replica_election_results.at(0).partition_result.at(0).error_code;
  };
  EXPECT_EQ(elect(leader), static_cast<int16_t>(Errc::election_not_needed));
  shrink_to_leader(ids);
  ASSERT_TRUE(cluster_->kill_broker(leader));
  ASSERT_TRUE(cluster_->restart_broker(f1));
  wait_state([](const auto& p) { return p.leader == -1; }, "an offline partition");
  EXPECT_EQ(elect(f1), 0);
  auto s = wait_state([&](const auto& p) { return p.leader == f1; }, "the unclean leader");
  EXPECT_EQ(s.isr, Ids{f1});
  EXPECT_TRUE(eventually([&] { return produce(f1, "x", 1, 1).error_code == 0; }));
  (void)f2;
}

// The KIP-966 story with a crash: the leader, last in the ISR, is killed (no clean-shutdown
// marker) and restarts first. It may have lost records it had acknowledged, so it does not
// lead; the eligible replica does when it returns.
TEST_F(EligibleLeadersTest, TheLastReplicaStandingDoesNotLeadAfterAnUncleanRestart) {
  const auto ids = create();
  const auto [leader, f1, f2] = ids;
  shrink_to_leader(ids);
  ASSERT_TRUE(cluster_->kill_broker(leader));
  ASSERT_TRUE(cluster_->restart_broker(leader));
  auto s = wait_state([](const auto& p) { return p.isr.empty(); }, "the unclean member out of the ISR");
  EXPECT_EQ(s.leader, -1);
  EXPECT_EQ(s.last_known_leader, leader);
  EXPECT_EQ(s.elr, Ids{f2});
  std::this_thread::sleep_for(1000ms);
  EXPECT_EQ(state().leader, -1);
  ASSERT_TRUE(cluster_->restart_broker(f2));
  wait_state([&](const auto& p) { return p.leader == f2; }, "the eligible replica leading");
  EXPECT_EQ(committed_values(f2, false), acked_);
  // The old leader follows: what it took alone is cut, it rejoins, and everything
  // acknowledged is committed.
  EXPECT_TRUE(eventually([&] { return committed_values(leader, false) == acked_; }));
  wait_state([](const auto& p) { return p.isr.size() == 2; }, "ISR of two again");
  EXPECT_TRUE(eventually([&] { return committed_values(f2) == acked_; }));
  (void)f1;
}

}  // namespace
}  // namespace kafkacore::broker::testing
