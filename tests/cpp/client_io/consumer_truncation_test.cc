// KIP-320 in the native consumer, against real replicated clusters: after a leader change the
// consumer checks its position with OffsetForLeaderEpoch before fetching again. A log truncated
// below the position is detected (reset to the divergence point, or an error with
// auto.offset.reset=none) instead of silently skipping the records written there since; a clean
// failover is validated without skipping or re-reading anything.
#include <filesystem>

#include "client/consumer.h"
#include "client_io/consumer_fixture.h"
#include "cluster/cluster_fixture.h"
#include "replication/partition.h"
#include "storage/partition_log.h"

namespace kafkacore::client::testing {
namespace {

using broker::testing::create_topic_request;
using broker::testing::fast_failover_settings;

constexpr int16_t kOffsetForLeaderEpoch = 23;

class ConsumerTruncationTest : public broker::testing::LocalClusterTest {
 protected:
  void start(int brokers, int controllers) {
    start_cluster(brokers, controllers,
                  fast_failover_settings({{"kafkacore.unsafe.bypass.fsync", "true"}}));
  }

  void create_topic(const std::string& name, int16_t replication_factor) {
    auto resp = client()->call(create_topic_request(name, 1, replication_factor), 7);
    ASSERT_EQ(resp.topics.at(0).error_code, 0) << resp.topics[0].error_message.value_or("");
  }

  // Partition 0's leader and ISR once `ok` accepts them (the metadata of a running broker).
  std::pair<int32_t, std::vector<int32_t>> wait_partition(
      const std::string& topic,
      const std::function<bool(int32_t, const std::vector<int32_t>&)>& ok) {
    auto accepted = [&](const auto& p) { return ok(p.leader_id, p.isr_nodes); };
    const auto p = wait_for_partition(topic, 0, accepted, -1, 20s, 50ms);
    return {p.leader_id, p.isr_nodes};
  }
  int32_t leader_of(const std::string& topic) {
    return wait_partition(topic, [](int32_t l, const auto&) { return l >= 0; }).first;
  }

  // Drops everything from `offset` on from broker `id`'s copy of topic-0 while the broker is
  // down: the tail of its log is lost, as on a disk that lost its last writes.
  void cut_log_offline(int32_t id, const std::string& topic, int64_t offset) {
    const auto dir = dir_.path() / ("broker-" + std::to_string(id)) / (topic + "-0");
    ASSERT_TRUE(std::filesystem::exists(dir)) << dir;
    auto log = storage::PartitionLog::open(dir, storage::LogConfig{}, storage::LogEnvironment{},
                                           /*clean_shutdown=*/true);
    ASSERT_TRUE(log) << log.error().to_string();
    {
      replication::Partition p(topic, 0, Uuid{}, log->get(), id);
      ASSERT_TRUE(p.truncate_to(Offset{offset}));
    }
    ASSERT_TRUE((*log)->close());
  }

  // Polls until `n` records arrived or `timeout`; errors are collected.
  std::vector<ConsumerRecord> poll_records(Consumer& c, size_t n, std::vector<std::string>* errors,
                                           std::chrono::milliseconds timeout = 20s) {
    std::vector<ConsumerRecord> out;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (out.size() < n && std::chrono::steady_clock::now() < deadline) {
      auto records = c.poll(100ms);
      if (!records) {
        if (errors) errors->push_back(records.error().message());
        continue;
      }
      for (auto& r : *records) out.push_back(std::move(r));
    }
    return out;
  }
  static std::string key_of(const ConsumerRecord& r) { return r.key ? str(*r.key) : ""; }

  size_t consumer_epoch_queries(int32_t broker, const std::string& client_id) {
    size_t n = 0;
    for (const auto& e : cluster_->broker(broker)->request_log().snapshot()) {
      if (e.api_key == kOffsetForLeaderEpoch && e.client_id == client_id) ++n;
    }
    return n;
  }

  // One controller and two brokers (start(2, 1) first): the partition's leader L and follower
  // F. F dies; L alone in the ISR acknowledges b-0, b-1, x-0..x-2 (offsets 5-9), which the
  // consumer reads. L stops, loses offsets 7-9 (the x batch) from its disk, comes back and leads
  // again (it is the only ISR member), and c-0..c-4 are written at offsets 7-11. A consumer at
  // position 10 must not go on from 10 (it would skip c-0..c-2). `before_loss` runs once the
  // consumer read all ten. `from_start`: seek to 0 after assigning (auto.offset.reset=none has no
  // other way to start).
  void lose_tail_under(Consumer& consumer, const std::function<void()>& before_loss,
                       bool from_start = false) {
    create_topic("t", 2);
    TestProducer producer(cluster_->bootstrap_servers());
    producer.produce("t", 0, "a", 5);
    const int32_t leader = leader_of("t");
    const int32_t follower = leader == 1 ? 2 : 1;
    ASSERT_TRUE(cluster_->kill_broker(follower));
    wait_partition("t", [&](int32_t l, const std::vector<int32_t>& isr) {
      return l == leader && isr == std::vector<int32_t>{leader};
    });
    ASSERT_EQ(producer.produce("t", 0, "b", 2), 5);
    ASSERT_EQ(producer.produce("t", 0, "x", 3), 7);  // its own batch: the part that is lost

    ASSERT_TRUE(consumer.assign({tp_of("t", 0)}));
    if (from_start) consumer.seek(tp_of("t", 0), 0);
    auto read = poll_records(consumer, 10, nullptr);
    ASSERT_EQ(read.size(), 10u);
    EXPECT_EQ(key_of(read.back()), "x-2");
    before_loss();

    ASSERT_TRUE(cluster_->stop_broker(leader));
    cut_log_offline(leader, "t", 7);
    ASSERT_TRUE(cluster_->restart_broker(leader));
    wait_partition("t", [&](int32_t l, const auto&) { return l == leader; });
    ASSERT_EQ(producer.produce("t", 0, "c", 5), 7);
  }
};

TEST_F(ConsumerTruncationTest, TruncationBelowThePositionResetsToTheDivergencePoint) {
  start(2, 1);
  const std::string bootstrap = cluster_->bootstrap_servers();
  auto consumer = make_consumer(consumer_props(bootstrap, {{"auto.offset.reset", "earliest"},
                                                           {"enable.auto.commit", "false"},
                                                           {"group.id", "kip320"},
                                                           {"client.id", "kip320-reset"},
                                                           {"metadata.max.age.ms", "500"}}));
  lose_tail_under(*consumer, [&] {
    // The committed offset carries the epoch of the last record read.
    ASSERT_TRUE(consumer->commit_sync(5s));
  });
  if (HasFatalFailure()) return;
  // Back to the divergence point: c-0.. at offsets 7.. are read, nothing skipped.
  std::vector<std::string> errors;
  auto read = poll_records(*consumer, 5, &errors);
  ASSERT_EQ(read.size(), 5u) << ::testing::PrintToString(errors);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(read[i].offset, 7 + i);
    EXPECT_EQ(key_of(read[i]), "c-" + std::to_string(i));
  }
  EXPECT_TRUE(errors.empty()) << ::testing::PrintToString(errors);

  // A consumer starting from the committed offset (10, from before the loss) validates it too.
  auto late = make_consumer(consumer_props(bootstrap, {{"auto.offset.reset", "latest"},
                                                       {"enable.auto.commit", "false"},
                                                       {"group.id", "kip320"},
                                                       {"client.id", "kip320-late"}}));
  ASSERT_TRUE(late->assign({tp_of("t", 0)}));
  read = poll_records(*late, 5, &errors);
  ASSERT_EQ(read.size(), 5u) << ::testing::PrintToString(errors);
  EXPECT_EQ(read.front().offset, 7);
  EXPECT_EQ(key_of(read.front()), "c-0");
}

TEST_F(ConsumerTruncationTest, TruncationWithoutResetPolicyIsAnError) {
  start(2, 1);
  auto consumer = make_consumer(
      consumer_props(cluster_->bootstrap_servers(), {{"auto.offset.reset", "none"},
                                                     {"client.id", "kip320-none"},
                                                     {"metadata.max.age.ms", "500"}}));
  lose_tail_under(
      *consumer, [] {}, /*from_start=*/true);
  if (HasFatalFailure()) return;
  std::vector<std::string> errors;
  auto read = poll_records(*consumer, 1, &errors, 5s);
  EXPECT_TRUE(read.empty()) << "read on from a position past the truncation: "
                            << key_of(read.front());
  ASSERT_FALSE(errors.empty());
  EXPECT_NE(errors.front().find("truncation"), std::string::npos) << errors.front();
  // The user picks the position: from 7 on everything is there.
  consumer->seek(tp_of("t", 0), 7);
  read = poll_records(*consumer, 5, nullptr);
  ASSERT_EQ(read.size(), 5u);
  EXPECT_EQ(key_of(read.front()), "c-0");
}

// A clean failover: the new leader has everything the consumer read, so validation keeps the
// position: every record is read once, in order.
TEST_F(ConsumerTruncationTest, CleanLeaderChangeIsValidatedWithoutSkipsOrRereads) {
  start(3, 0);
  create_topic("f", 3);
  TestProducer producer(cluster_->bootstrap_servers());
  producer.produce("f", 0, "a", 20);
  auto consumer = make_consumer(
      consumer_props(cluster_->bootstrap_servers(), {{"auto.offset.reset", "earliest"},
                                                     {"client.id", "kip320-clean"},
                                                     {"metadata.max.age.ms", "500"}}));
  ASSERT_TRUE(consumer->assign({tp_of("f", 0)}));
  auto read = poll_records(*consumer, 20, nullptr);
  ASSERT_EQ(read.size(), 20u);
  const int32_t old_leader = leader_of("f");
  ASSERT_TRUE(cluster_->stop_broker(old_leader));
  const int32_t new_leader =
      wait_partition("f", [&](int32_t l, const auto&) { return l >= 0 && l != old_leader; }).first;
  producer.produce("f", 0, "b", 20);
  std::vector<std::string> errors;
  auto more = poll_records(*consumer, 20, &errors);
  read.insert(read.end(), more.begin(), more.end());
  ASSERT_EQ(read.size(), 40u) << ::testing::PrintToString(errors);
  for (int64_t i = 0; i < 40; ++i) EXPECT_EQ(read[i].offset, i);
  EXPECT_EQ(key_of(read[20]), "b-0");
  // The extra poll finds nothing re-delivered.
  EXPECT_TRUE(poll_records(*consumer, 1, nullptr, 500ms).empty());
  EXPECT_GE(consumer_epoch_queries(new_leader, "kip320-clean"), 1u);
}

}  // namespace
}  // namespace kafkacore::client::testing
