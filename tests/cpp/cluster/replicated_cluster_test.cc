// Three brokers in one process forming one cluster over real sockets: RF=3 topics, acks=all,
// leader failover when a broker stops, its return to the ISR, and the committed records after.
#include <future>
#include <set>
#include <thread>

#include "cluster/cluster_fixture.h"

namespace kafkacore::broker::testing {
namespace {

using namespace protocol;
using namespace std::chrono_literals;

// What every fixture here starts from.
std::map<std::string, std::string> fast_settings() {
  return fast_failover_settings({{"group.initial.rebalance.delay.ms", "0"}});
}

class ReplicatedClusterTest : public LocalClusterTest {
 protected:
  // The brokers' properties (fixtures below add to them).
  virtual std::map<std::string, std::string> settings() { return fast_settings(); }

  void SetUp() override { start_cluster(3, 0, settings()); }

  void create_topic(const std::string& name, int partitions, int rf,
                    std::map<std::string, std::string> configs = {}) {
    auto resp = client()->call(
        create_topic_request(name, partitions, static_cast<int16_t>(rf), configs), 7);
    ASSERT_EQ(resp.topics.size(), 1u);
    ASSERT_EQ(resp.topics[0].error_code, 0) << resp.topics[0].error_message.value_or("");
    EXPECT_EQ(resp.topics[0].replication_factor, rf);
  }

  MetadataResponse::MetadataResponsePartition partition_state(const std::string& topic, int32_t p,
                                                              int32_t avoid = -1) {
    auto resp = client(avoid)->call(metadata_request({topic}, false), 12);
    if (resp.topics.size() != 1 || resp.topics[0].partitions.size() <= static_cast<size_t>(p)) {
      throw ClientError("no metadata for " + topic);
    }
    return resp.topics[0].partitions[p];
  }

  // Waits until `pred(partition state)` holds (as seen by a broker other than `avoid`).
  template <typename Pred>
  MetadataResponse::MetadataResponsePartition wait_for(const std::string& topic, int32_t p, Pred pred,
                                                       int32_t avoid = -1,
                                                       std::chrono::milliseconds timeout = 15s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      auto state = partition_state(topic, p, avoid);
      if (pred(state)) return state;
      if (std::chrono::steady_clock::now() > deadline) {
        throw ClientError("timed out waiting for a partition state of " + topic);
      }
      std::this_thread::sleep_for(20ms);
    }
  }

  // Produce acks=all to the current leader; the partition answer.
  ProduceResponse::PartitionProduceResponse produce_all(int32_t leader, const std::string& topic,
                                                        int32_t p, ByteView batch) {
    return produce_to(leader, topic, p, batch, -1, 5000);
  }

  // Every record value of partition `p` read from `leader` below its high watermark.
  std::vector<std::string> read_all(int32_t leader, const std::string& topic, int32_t p) {
    std::vector<std::string> values;
    auto c = client_of(leader);
    int64_t offset = 0;
    for (;;) {
      auto resp = c->call(fetch_request(topic, p, offset), 12);
      const auto& data = resp.responses.at(0).partitions.at(0);
      if (data.error_code != 0) throw ClientError("fetch error " + std::to_string(data.error_code));
      Bytes bytes(data.records.bytes.begin(), data.records.bytes.end());
      if (bytes.empty()) break;
      record::BatchIterator it(bytes);
      for (;;) {
        auto b = it.next();
        if (!b || !*b) break;
        auto decoded = record::decode_batch(**b);
        if (!decoded) throw ClientError("undecodable batch");
        for (const auto& r : decoded->records) values.push_back(str(*r.value));
        offset = (**b).last_offset().value() + 1;
      }
      if (offset >= data.high_watermark) break;
    }
    return values;
  }
};

TEST_F(ReplicatedClusterTest, EveryBrokerIsListedAndReplicasAreSpread) {
  create_topic("spread", 6, 3);
  auto resp = client()->call(metadata_request({"spread"}, false), 12);
  EXPECT_EQ(resp.brokers.size(), 3u);
  EXPECT_GE(resp.controller_id, 1);
  std::map<int32_t, int> leaders;
  for (const auto& p : resp.topics.at(0).partitions) {
    EXPECT_EQ(p.replica_nodes.size(), 3u);
    EXPECT_EQ(std::set<int32_t>(p.replica_nodes.begin(), p.replica_nodes.end()).size(), 3u);
    ++leaders[p.leader_id];
  }
  // Six partitions over three brokers: two leaderships each.
  EXPECT_EQ(leaders.size(), 3u);
  for (const auto& [id, n] : leaders) EXPECT_EQ(n, 2) << "broker " << id;
}

TEST_F(ReplicatedClusterTest, AcksAllWaitsForTheIsrAndSurvivesLeaderLoss) {
  create_topic("orders", 1, 3, {{"min.insync.replicas", "2"}});
  auto state = wait_for("orders", 0, [](const auto& s) { return s.isr_nodes.size() == 3; });
  const int32_t first_leader = state.leader_id;
  std::vector<std::string> acked;
  for (int i = 0; i < 20; ++i) {
    auto out = produce_all(first_leader, "orders", 0, make_batch("a" + std::to_string(i), 5));
    ASSERT_EQ(out.error_code, 0);
    for (int r = 0; r < 5; ++r) acked.push_back("value-a" + std::to_string(i) + "-" + std::to_string(r));
  }
  // A follower is not the leader: clients are told so.
  const int32_t follower = state.replica_nodes[0] == first_leader ? state.replica_nodes[1] : state.replica_nodes[0];
  EXPECT_EQ(produce_all(follower, "orders", 0, make_batch("x", 1)).error_code,
            static_cast<int16_t>(Errc::not_leader_or_follower));

  const auto stopped_at = std::chrono::steady_clock::now();
  ASSERT_TRUE(cluster_->stop_broker(first_leader));
  auto moved = wait_for("orders", 0, [&](const auto& s) {
    return s.leader_id >= 0 && s.leader_id != first_leader;
  }, first_leader);
  const auto failover = std::chrono::steady_clock::now() - stopped_at;
  EXPECT_GT(moved.leader_epoch, state.leader_epoch);
  // Two of three remain in sync: acks=all still succeeds with min.insync.replicas=2.
  for (int i = 0; i < 10; ++i) {
    auto out = produce_all(moved.leader_id, "orders", 0, make_batch("b" + std::to_string(i), 5));
    ASSERT_EQ(out.error_code, 0) << "after failover, attempt " << i;
    for (int r = 0; r < 5; ++r) acked.push_back("value-b" + std::to_string(i) + "-" + std::to_string(r));
  }
  auto values = read_all(moved.leader_id, "orders", 0);
  EXPECT_EQ(values, acked);  // every acknowledged record, once, in order
  std::printf("failover (stop to new leader in metadata): %lld ms\n",
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(failover).count()));

  // The old leader comes back, catches up and rejoins the ISR.
  ASSERT_TRUE(cluster_->restart_broker(first_leader));
  wait_for("orders", 0, [](const auto& s) { return s.isr_nodes.size() == 3; });
}

TEST_F(ReplicatedClusterTest, MinInsyncRefusesWritesWhenTooFewReplicasAreLeft) {
  create_topic("strict", 1, 3, {{"min.insync.replicas", "3"}});
  auto state = wait_for("strict", 0, [](const auto& s) { return s.isr_nodes.size() == 3; });
  ASSERT_EQ(produce_all(state.leader_id, "strict", 0, make_batch("ok", 1)).error_code, 0);
  int32_t victim = -1;
  for (int32_t r : state.replica_nodes) {
    if (r != state.leader_id) victim = r;
  }
  ASSERT_TRUE(cluster_->stop_broker(victim));
  // The stopped follower leaves the ISR (fenced after its session), then writes are refused.
  auto shrunk = wait_for("strict", 0, [](const auto& s) { return s.isr_nodes.size() == 2; }, victim);
  auto out = produce_all(shrunk.leader_id, "strict", 0, make_batch("no", 1));
  EXPECT_EQ(out.error_code, static_cast<int16_t>(Errc::not_enough_replicas));
}

// A leader cut off from the other brokers (clients still reach it) must not acknowledge an
// acks=all write; the majority elects a new leader, and after the partition heals the old
// leader drops the write it could not replicate.
TEST_F(ReplicatedClusterTest, IsolatedLeaderCannotAcknowledgeAcksAll) {
  create_topic("iso", 1, 3, {{"min.insync.replicas", "2"}});
  auto state = wait_for("iso", 0, [](const auto& s) { return s.isr_nodes.size() == 3; });
  const int32_t old_leader = state.leader_id;
  std::vector<std::string> acked;
  ASSERT_EQ(produce_all(old_leader, "iso", 0, make_batch("before", 3)).error_code, 0);
  for (int r = 0; r < 3; ++r) acked.push_back("value-before-" + std::to_string(r));

  // isolate() returns once every broker applied it, and answers already in flight are dropped,
  // so the write below can reach no follower (a timed-out write may not survive).
  cluster_->isolate(old_leader);
  const Bytes lost = make_batch("lost", 2);
  auto req = produce_request("iso", 0, lost, -1);
  req.timeout_ms = 3000;
  auto answer = client_of(old_leader)->call(req, 9).responses.at(0).partition_responses.at(0);
  // It waits for followers that never come, then times out (Kafka answers the same).
  EXPECT_EQ(answer.error_code, static_cast<int16_t>(Errc::request_timed_out));

  auto moved = wait_for("iso", 0, [&](const auto& s) { return s.leader_id >= 0 && s.leader_id != old_leader; },
                        old_leader);
  ASSERT_EQ(produce_all(moved.leader_id, "iso", 0, make_batch("after", 3)).error_code, 0);
  for (int r = 0; r < 3; ++r) acked.push_back("value-after-" + std::to_string(r));

  cluster_->heal();
  // Asked of the majority side: the old leader's own view may still be the stale one.
  auto healed = wait_for("iso", 0, [](const auto& s) { return s.isr_nodes.size() == 3; }, old_leader);
  EXPECT_EQ(read_all(healed.leader_id, "iso", 0), acked);
  // The old leader's copy converged too: make it lead again and read from it.
  ASSERT_TRUE(cluster_->stop_broker(healed.leader_id));
  auto again = wait_for("iso", 0, [&](const auto& s) { return s.leader_id >= 0 && s.leader_id != healed.leader_id; },
                        healed.leader_id);
  EXPECT_EQ(read_all(again.leader_id, "iso", 0), acked);
}

// Kafka lists only unfenced brokers in Metadata, and never a fenced one as a leader: a client
// must not spend its failover time dialling a dead broker. A killed broker disappears once the
// controller fences it and is listed again once it is back and unfenced.
TEST_F(ReplicatedClusterTest, FencedBrokersAreLeftOutOfMetadata) {
  create_topic("fence", 3, 3);
  auto listed = [&](int32_t avoid) {
    std::set<int32_t> ids;
    for (const auto& b : client(avoid)->call(metadata_request({"fence"}, false), 12).brokers) {
      ids.insert(b.node_id);
    }
    return ids;
  };
  auto leaders = [&](int32_t avoid) {
    std::set<int32_t> ids;
    auto resp = client(avoid)->call(metadata_request({"fence"}, false), 12);
    for (const auto& p : resp.topics.at(0).partitions) ids.insert(p.leader_id);
    return ids;
  };
  EXPECT_EQ(listed(-1), (std::set<int32_t>{1, 2, 3}));
  const int32_t victim = partition_state("fence", 0).leader_id;
  ASSERT_TRUE(cluster_->kill_broker(victim));
  const auto deadline = std::chrono::steady_clock::now() + 15s;
  while (listed(victim).contains(victim) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_FALSE(listed(victim).contains(victim));
  const auto image = cluster_->image();
  ASSERT_TRUE(image);
  ASSERT_TRUE(image->broker(victim));
  EXPECT_TRUE(image->broker(victim)->fenced);
  EXPECT_FALSE(leaders(victim).contains(victim));
  // DescribeCluster agrees.
  DescribeClusterRequest describe;
  for (const auto& b : client(victim)->call(describe, 0).brokers) EXPECT_NE(b.broker_id, victim);

  ASSERT_TRUE(cluster_->restart_broker(victim));
  while (!listed(victim).contains(victim) && std::chrono::steady_clock::now() < deadline + 15s) {
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(listed(victim), (std::set<int32_t>{1, 2, 3}));
}

// DeleteRecords answers once every in-sync replica moved its log start (Kafka's delayed
// DeleteRecords): a client that saw the answer never reads the records from a new leader. An
// ISR member that cannot follow (paused) makes it time out.
TEST_F(ReplicatedClusterTest, DeleteRecordsWaitsForEveryInSyncReplica) {
  create_topic("trim", 1, 3);
  auto state = wait_for("trim", 0, [](const auto& s) { return s.isr_nodes.size() == 3; });
  for (int i = 0; i < 4; ++i) {
    ASSERT_EQ(
        produce_all(state.leader_id, "trim", 0, make_batch("r" + std::to_string(i), 5)).error_code,
        0);
  }
  auto delete_before = [&](int64_t offset, int32_t timeout_ms) {
    DeleteRecordsRequest req;
    req.timeout_ms = timeout_ms;
    auto& t = req.topics.emplace_back();
    t.name = "trim";
    auto& p = t.partitions.emplace_back();
    p.partition_index = 0;
    p.offset = offset;
    return client_of(state.leader_id)->call(req, 2).topics.at(0).partitions.at(0);
  };
  auto answer = delete_before(12, 10000);
  ASSERT_EQ(answer.error_code, 0);
  EXPECT_EQ(answer.low_watermark, 12);
  // Checked right after the answer: no waiting allowed here.
  for (int32_t id : state.replica_nodes) {
    auto read = cluster_->read_partition(id, "trim", 0, 0, 1 << 20, false);
    ASSERT_TRUE(read) << read.error().message();
    EXPECT_GE(read->log_start_offset, 12) << "broker " << id;
  }

  // A paused follower stays in the ISR for replica.lag.time.max.ms but moves nothing.
  int32_t follower = -1;
  for (int32_t r : state.replica_nodes) {
    if (r != state.leader_id) follower = r;
  }
  ASSERT_TRUE(cluster_->pause_broker(follower));
  answer = delete_before(15, 300);
  EXPECT_EQ(answer.error_code, static_cast<int16_t>(Errc::request_timed_out));
  ASSERT_TRUE(cluster_->resume_broker(follower));
  // The deletion itself happened on the leader; the follower follows once it runs again.
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  int64_t follower_start = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    auto read = cluster_->read_partition(follower, "trim", 0, 0, 1 << 20, false);
    ASSERT_TRUE(read);
    follower_start = read->log_start_offset;
    if (follower_start >= 15) break;
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(follower_start, 15);
}

TEST_F(ReplicatedClusterTest, TopicsCreatedAnywhereAreSeenEverywhere) {
  create_topic("everywhere", 3, 2);
  for (int32_t id : cluster_->broker_ids()) {
    auto resp = client_of(id)->call(metadata_request({"everywhere"}, false), 12);
    ASSERT_EQ(resp.topics.size(), 1u);
    EXPECT_EQ(resp.topics[0].error_code, 0) << "broker " << id;
    EXPECT_EQ(resp.topics[0].partitions.size(), 3u);
  }
}


// ---- preferred leaders (auto.leader.rebalance.enable, ElectLeaders)

// The leader imbalance check every second (Kafka: 300 s).
class PreferredLeaderTest : public ReplicatedClusterTest {
 protected:
  std::map<std::string, std::string> settings() override {
    auto s = fast_settings();
    s["leader.imbalance.check.interval.seconds"] = "1";
    return s;
  }
};

// A stopped preferred leader's partition fails over; once the broker is back and in sync, the
// controller's imbalance check hands leadership back to it within the configured interval.
TEST_F(PreferredLeaderTest, LeadershipReturnsToThePreferredReplicaAutomatically) {
  create_topic("pref", 1, 3, {{"min.insync.replicas", "2"}});
  auto state = wait_for("pref", 0, [](const auto& s) { return s.isr_nodes.size() == 3; });
  const int32_t preferred = state.replica_nodes.at(0);
  ASSERT_EQ(state.leader_id, preferred);  // placement makes the first replica lead
  std::vector<std::string> acked;
  ASSERT_EQ(produce_all(preferred, "pref", 0, make_batch("a", 5)).error_code, 0);
  for (int r = 0; r < 5; ++r) acked.push_back("value-a-" + std::to_string(r));

  ASSERT_TRUE(cluster_->stop_broker(preferred));
  auto moved = wait_for("pref", 0, [&](const auto& s) {
    return s.leader_id >= 0 && s.leader_id != preferred;
  }, preferred);
  // Written while the preferred replica is away: it must catch up before it may lead.
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(produce_all(moved.leader_id, "pref", 0, make_batch("b" + std::to_string(i), 5)).error_code, 0);
    for (int r = 0; r < 5; ++r) acked.push_back("value-b" + std::to_string(i) + "-" + std::to_string(r));
  }

  ASSERT_TRUE(cluster_->restart_broker(preferred));
  const auto restarted = std::chrono::steady_clock::now();
  auto in_sync = wait_for("pref", 0, [](const auto& s) { return s.isr_nodes.size() == 3; });
  const auto synced = std::chrono::steady_clock::now();
  auto home = wait_for("pref", 0, [&](const auto& s) { return s.leader_id == preferred; });
  const auto back = std::chrono::steady_clock::now();
  EXPECT_GT(home.leader_epoch, moved.leader_epoch);
  EXPECT_GE(in_sync.leader_epoch, moved.leader_epoch);
  // Within one check interval (1 s) of rejoining the ISR, with slack for a busy machine.
  EXPECT_LT(back - synced, 3s);
  std::printf("preferred leader: back in the ISR %lld ms after restart, leading %lld ms later\n",
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(synced - restarted).count()),
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(back - synced).count()));
  // The returned leader serves everything acknowledged, and takes writes.
  EXPECT_EQ(read_all(preferred, "pref", 0), acked);
  EXPECT_EQ(produce_all(preferred, "pref", 0, make_batch("c", 1)).error_code, 0);
}

class ElectLeadersTest : public ReplicatedClusterTest {
 protected:
  std::map<std::string, std::string> settings() override {
    auto s = fast_settings();
    s["auto.leader.rebalance.enable"] = "false";
    return s;
  }
  ElectLeadersResponse elect(std::optional<std::vector<std::pair<std::string, std::vector<int32_t>>>> which,
                             int8_t type = 0, int16_t version = 2) {
    ElectLeadersRequest req;
    req.election_type = type;
    req.timeout_ms = 10000;
    if (which) {
      req.topic_partitions.emplace();
      for (const auto& [topic, partitions] : *which) {
        auto& t = req.topic_partitions->emplace_back();
        t.topic = topic;
        t.partitions = partitions;
      }
    }
    return client()->call(req, version);
  }
  static int16_t code_of(const ElectLeadersResponse& r, const std::string& topic, int32_t partition) {
    for (const auto& t : r.replica_election_results) {
      if (t.topic != topic) continue;
      for (const auto& p : t.partition_result) {
        if (p.partition_id == partition) return p.error_code;
      }
    }
    return -100;  // absent
  }
};

// The same without a Kafka client: LocalCluster::elect_preferred_leaders.
TEST_F(ElectLeadersTest, LocalClusterElectsPreferredLeaders) {
  create_topic("lc", 2, 3);
  auto state = wait_for("lc", 0, [](const auto& s) { return s.isr_nodes.size() == 3; });
  const int32_t preferred = state.replica_nodes.at(0);
  auto elect = [&](std::vector<int32_t> partitions) {
    std::promise<Result<void>> result;
    cluster_->elect_preferred_leaders("lc", std::move(partitions),
                                      [&](Result<void> r) { result.set_value(std::move(r)); });
    return result.get_future().get();
  };
  EXPECT_TRUE(elect({}));  // already preferred everywhere: nothing to do is no error
  ASSERT_TRUE(cluster_->stop_broker(preferred));
  wait_for(
      "lc", 0, [&](const auto& s) { return s.leader_id >= 0 && s.leader_id != preferred; },
      preferred);
  auto away = elect({0});
  ASSERT_FALSE(away);
  EXPECT_EQ(away.error().code(), Errc::preferred_leader_not_available);
  ASSERT_TRUE(cluster_->restart_broker(preferred));
  wait_for("lc", 0, [](const auto& s) { return s.isr_nodes.size() == 3; });
  ASSERT_TRUE(elect({}));
  wait_for(
      "lc", 0, [&](const auto& s) { return s.leader_id == preferred; }, -1, 2s);
  auto missing = elect({5});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), Errc::unknown_topic_or_partition);
}

TEST_F(ElectLeadersTest, PreferredElectionOnRequestOnly) {
  create_topic("el", 2, 3);
  auto state = wait_for("el", 0, [](const auto& s) { return s.isr_nodes.size() == 3; });
  wait_for("el", 1, [](const auto& s) { return s.isr_nodes.size() == 3; });
  const int32_t preferred = state.replica_nodes.at(0);
  ASSERT_EQ(state.leader_id, preferred);

  // Nothing to do yet.
  auto r = elect(std::vector<std::pair<std::string, std::vector<int32_t>>>{{"el", {0, 7}}});
  EXPECT_EQ(r.error_code, 0);
  EXPECT_EQ(code_of(r, "el", 0), static_cast<int16_t>(Errc::election_not_needed));
  EXPECT_EQ(code_of(r, "el", 7), static_cast<int16_t>(Errc::unknown_topic_or_partition));
  // Every partition: only those that needed an election are reported.
  EXPECT_TRUE(elect(std::nullopt).replica_election_results.empty());
  // UNCLEAN is for partitions without a leader: not this one.
  EXPECT_EQ(code_of(elect(std::vector<std::pair<std::string, std::vector<int32_t>>>{{"el", {0}}}, 1), "el", 0),
            static_cast<int16_t>(Errc::election_not_needed));
  EXPECT_EQ(code_of(elect(std::vector<std::pair<std::string, std::vector<int32_t>>>{{"el", {0}}}, 2), "el", 0),
            static_cast<int16_t>(Errc::invalid_request));

  ASSERT_TRUE(cluster_->stop_broker(preferred));
  auto moved = wait_for("el", 0, [&](const auto& s) { return s.leader_id >= 0 && s.leader_id != preferred; },
                        preferred);
  // Out of the ISR: not electable.
  auto while_away = elect(std::vector<std::pair<std::string, std::vector<int32_t>>>{{"el", {0}}});
  EXPECT_EQ(code_of(while_away, "el", 0), static_cast<int16_t>(Errc::preferred_leader_not_available));

  ASSERT_TRUE(cluster_->restart_broker(preferred));
  wait_for("el", 0, [](const auto& s) { return s.isr_nodes.size() == 3; });
  // With auto.leader.rebalance.enable=false it stays a follower...
  std::this_thread::sleep_for(1500ms);
  EXPECT_NE(partition_state("el", 0).leader_id, preferred);
  // ...until asked (v0: no election type, PREFERRED implied).
  auto done = elect(std::vector<std::pair<std::string, std::vector<int32_t>>>{{"el", {0}}}, 0, 0);
  EXPECT_EQ(code_of(done, "el", 0), 0);
  auto home = wait_for("el", 0, [&](const auto& s) { return s.leader_id == preferred; });
  EXPECT_GT(home.leader_epoch, moved.leader_epoch);
  EXPECT_EQ(produce_all(preferred, "el", 0, make_batch("after", 2)).error_code, 0);
}

// ---- DeleteRecords on followers

ListOffsetsResponse::ListOffsetsPartitionResponse list_offset(TestClient& c, const std::string& topic,
                                                              int32_t partition, int64_t timestamp) {
  ListOffsetsRequest req;
  req.replica_id = -1;
  auto& t = req.topics.emplace_back();
  t.name = topic;
  auto& p = t.partitions.emplace_back();
  p.partition_index = partition;
  p.timestamp = timestamp;
  return c.call(req, 7).topics.at(0).partitions.at(0);
}

// Followers learn the leader's log start offset from their Fetch answers, so records deleted
// on the leader stay deleted after it fails over.
TEST_F(ReplicatedClusterTest, DeleteRecordsReachesFollowersAndSurvivesFailover) {
  create_topic("dr", 1, 3, {{"min.insync.replicas", "2"}});
  auto state = wait_for("dr", 0, [](const auto& s) { return s.isr_nodes.size() == 3; });
  const int32_t leader = state.leader_id;
  for (int i = 0; i < 10; ++i) {
    ASSERT_EQ(produce_all(leader, "dr", 0, make_batch("d" + std::to_string(i), 5)).error_code, 0);
  }
  DeleteRecordsRequest del;
  auto& t = del.topics.emplace_back();
  t.name = "dr";
  auto& p = t.partitions.emplace_back();
  p.partition_index = 0;
  p.offset = 30;
  del.timeout_ms = 5000;
  auto deleted = client_of(leader)->call(del, 2).topics.at(0).partitions.at(0);
  ASSERT_EQ(deleted.error_code, 0);
  EXPECT_EQ(deleted.low_watermark, 30);

  // Every follower's log start follows (with the next fetch answer).
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  for (int32_t id : state.replica_nodes) {
    for (;;) {
      auto read = cluster_->read_partition(id, "dr", 0, 0, 1 << 20, false);
      ASSERT_TRUE(read) << read.error().message();
      if (read->log_start_offset >= 30) break;
      ASSERT_LT(std::chrono::steady_clock::now(), deadline)
          << "broker " << id << " log start still " << read->log_start_offset;
      std::this_thread::sleep_for(20ms);
    }
  }

  ASSERT_TRUE(cluster_->stop_broker(leader));
  auto moved = wait_for("dr", 0, [&](const auto& s) { return s.leader_id >= 0 && s.leader_id != leader; },
                        leader);
  auto c = client_of(moved.leader_id);
  auto earliest = list_offset(*c, "dr", 0, -2);
  ASSERT_EQ(earliest.error_code, 0);
  EXPECT_GE(earliest.offset, 30);
  EXPECT_EQ(list_offset(*c, "dr", 0, -1).offset, 50);
  // Below the log start is out of range on the new leader too.
  auto fetched = c->call(fetch_request("dr", 0, 0), 12);
  EXPECT_EQ(fetched.responses.at(0).partitions.at(0).error_code,
            static_cast<int16_t>(Errc::offset_out_of_range));
}

// A follower that was away while the leader deleted records past its log end restarts its log
// at the leader's log start (Kafka's truncateFullyAndStartAt) and rejoins the ISR.
TEST_F(ReplicatedClusterTest, FollowerBehindTheLeadersLogStartStartsOverThere) {
  create_topic("behind", 1, 3, {{"min.insync.replicas", "2"}});
  auto state = wait_for("behind", 0, [](const auto& s) { return s.isr_nodes.size() == 3; });
  const int32_t leader = state.leader_id;
  int32_t away = -1;
  for (int32_t r : state.replica_nodes) {
    if (r != leader) away = r;
  }
  ASSERT_EQ(produce_all(leader, "behind", 0, make_batch("x", 10)).error_code, 0);
  ASSERT_TRUE(cluster_->stop_broker(away));
  wait_for("behind", 0, [](const auto& s) { return s.isr_nodes.size() == 2; }, away);
  for (int i = 0; i < 4; ++i) {
    ASSERT_EQ(produce_all(leader, "behind", 0, make_batch("y" + std::to_string(i), 10)).error_code, 0);
  }
  DeleteRecordsRequest del;
  auto& t = del.topics.emplace_back();
  t.name = "behind";
  t.partitions.emplace_back().offset = 35;
  del.timeout_ms = 5000;  // the two in-sync replicas must both move their log start
  ASSERT_EQ(client_of(leader)->call(del, 2).topics.at(0).partitions.at(0).error_code, 0);

  ASSERT_TRUE(cluster_->restart_broker(away));
  wait_for("behind", 0, [](const auto& s) { return s.isr_nodes.size() == 3; }, -1, 15s);
  auto read = cluster_->read_partition(away, "behind", 0, 0, 1 << 20, false);
  ASSERT_TRUE(read) << read.error().message();
  EXPECT_EQ(read->log_start_offset, 35);
  EXPECT_EQ(read->log_end_offset, 50);
}

}  // namespace
}  // namespace kafkacore::broker::testing
