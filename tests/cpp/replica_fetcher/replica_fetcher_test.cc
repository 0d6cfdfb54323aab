// ReplicaFetcherManager: a real broker (id 1) leads; the follower (id 2) is a real
// replication::Partition over a real storage::PartitionLog in a temp dir, driven by the test
// thread's io_context.
#include "replication/replica_fetcher.h"

#include "replica_fetcher/fixture.h"

namespace kafkacore::replication {
namespace {

using client::testing::IoTest;
using namespace std::chrono_literals;
namespace bt = broker::testing;

constexpr int32_t kLeaderId = 1;
constexpr int32_t kFollowerId = 2;

class ReplicaFetcherTest : public IoTest {
 protected:
  void SetUp() override {
    IoTest::SetUp();
    topic_id_ = create_topic(topic_);
  }
  void TearDown() override {
    manager_.reset();
    follower_.reset();
    if (log_) (void)log_->close();
    log_.reset();
    IoTest::TearDown();
  }

  // The leader's current epoch for partition 0, from Metadata v12.
  int32_t leader_epoch() {
    auto resp = client_->call(bt::metadata_request({topic_}, false), 12);
    EXPECT_EQ(resp.topics.size(), 1u);
    return resp.topics.at(0).partitions.at(0).leader_epoch;
  }

  Uuid topic_id() const {
    Uuid id;
    for (size_t i = 0; i < 16; ++i) id.bytes[i] = static_cast<uint8_t>(topic_id_.bytes[i]);
    return id;
  }

  void open_follower() {
    storage::LogConfig config;
    config.segment_bytes = 64 * 1024;  // several segments on the follower too
    auto opened = storage::PartitionLog::open(follower_dir_.path() / (topic_ + "-0"), config, {},
                                              /*clean_shutdown=*/false);
    ASSERT_TRUE(opened) << opened.error().message();
    log_ = std::move(*opened);
    follower_ = std::make_unique<Partition>(topic_, 0, topic_id(), log_.get(), kFollowerId);
    ReplicaState state;
    state.replicas = {kLeaderId, kFollowerId};
    state.isr = {kLeaderId, kFollowerId};
    state.leader = kLeaderId;
    state.leader_epoch = LeaderEpoch{leader_epoch()};
    follower_->become_follower(state);
  }

  void make_manager() {
    FetcherConfig config;
    config.backoff = 50ms;
    config.max_wait = 100ms;
    config.connect_timeout = 2s;
    config.request_timeout = 5s;
    manager_ = std::make_unique<ReplicaFetcherManager>(
        io_, kFollowerId,
        [this](int32_t id) -> std::optional<BrokerAddress> {
          if (id != kLeaderId || !broker_ || leader_down_) return std::nullopt;
          return BrokerAddress{"127.0.0.1", broker_->port()};
        },
        [this](const std::string& topic, int32_t partition) -> Partition* {
          return topic == topic_ && partition == 0 ? follower_.get() : nullptr;
        },
        config);
  }

  void follow() { manager_->follow(topic_, 0, topic_id(), kLeaderId, leader_epoch()); }

  // Produces `batches` batches of `per_batch` records; returns the leader's log end after.
  int64_t produce(int batches, int per_batch, const std::function<void()>& between = {}) {
    int64_t end = -1;
    for (int b = 0; b < batches; ++b) {
      Bytes batch = bt::make_batch("b" + std::to_string(produced_++), per_batch);
      auto r = BrokerTest::produce(topic_, 0, batch);
      EXPECT_EQ(r.error_code, 0);
      end = r.base_offset + per_batch;
      if (between) between();
    }
    return end;
  }

  Offset follower_end() const { return log_->log_end_offset(); }

  bool caught_up_to(int64_t end, std::chrono::milliseconds timeout = 30s) {
    return run_until([&] { return follower_end().value() == end; }, timeout);
  }

  // Every batch of the leader's log, as served to consumers (whole batches, byte for byte).
  Bytes leader_bytes(int64_t end) {
    Bytes out;
    int64_t offset = 0;
    while (offset < end) {
      auto resp = client_->call(bt::fetch_request(topic_, 0, offset), 12);
      const auto* p = bt::find_partition(resp, topic_, 0);
      EXPECT_TRUE(p && p->error_code == 0);
      if (!p || p->records.bytes.empty()) break;
      out.insert(out.end(), p->records.bytes.begin(), p->records.bytes.end());
      offset = bt::fetched_records(p->records.bytes).back().offset + 1;
    }
    return out;
  }

  Bytes follower_bytes() {
    auto read = log_->read(log_->log_start_offset(), UINT64_MAX);
    EXPECT_TRUE(read) << read.error().message();
    auto bytes = read->copy_bytes();
    EXPECT_TRUE(bytes);
    return std::move(*bytes);
  }

  void expect_identical(int64_t end) {
    Bytes leader = leader_bytes(end);
    Bytes follower = follower_bytes();
    EXPECT_EQ(leader.size(), follower.size());
    EXPECT_TRUE(leader == follower) << "follower log differs from the leader's";
  }

  // `count` records in one batch at our log end, stamped with `epoch`, appended as a follower
  // would (a tail the leader never had).
  void append_foreign_tail(int count, int32_t epoch) {
    record::BatchOptions options;
    options.base_offset = follower_end();
    options.partition_leader_epoch = LeaderEpoch{epoch};
    Bytes batch = bt::make_batch("foreign", count, -1, options);
    auto r = follower_->append_as_follower(batch);
    ASSERT_TRUE(r) << r.error().message();
  }

  std::string topic_ = "replicated";
  protocol::Uuid topic_id_;
  bt::TempDir follower_dir_;
  std::unique_ptr<storage::PartitionLog> log_;
  std::unique_ptr<Partition> follower_;
  std::unique_ptr<ReplicaFetcherManager> manager_;
  bool leader_down_ = false;
  int produced_ = 0;
};

TEST_F(ReplicaFetcherTest, ReplicatesTenThousandRecordsByteForByteWhileProducing) {
  open_follower();
  make_manager();
  produce(50, 100);
  follow();
  EXPECT_EQ(manager_->source_count(), 1u);
  // Keep producing while the follower fetches.
  const int64_t end = produce(50, 100, [&] { run_for(2ms); });
  ASSERT_EQ(end, 10000);
  ASSERT_TRUE(caught_up_to(end)) << "follower at " << follower_end().value();
  run_for(300ms);  // one more fetch brings the leader's HW
  auto status = manager_->status(topic_, 0);
  ASSERT_TRUE(status);
  EXPECT_EQ(status->phase, FollowerPhase::fetching) << status->last_error;
  EXPECT_EQ(status->log_end_offset.value(), end);
  EXPECT_EQ(status->leader_high_watermark.value(), end);
  EXPECT_EQ(status->lag, 0);
  EXPECT_EQ(follower_->high_watermark().value(), end);
  EXPECT_GT(log_->segment_count(), 1u);
  expect_identical(end);
}

TEST_F(ReplicaFetcherTest, UnfollowStopsFetching) {
  open_follower();
  make_manager();
  const int64_t end = produce(5, 10);
  follow();
  ASSERT_TRUE(caught_up_to(end));
  manager_->unfollow(topic_, 0);
  EXPECT_EQ(manager_->source_count(), 0u);
  EXPECT_FALSE(manager_->status(topic_, 0));
  produce(5, 10);
  run_for(500ms);
  EXPECT_EQ(follower_end().value(), end);
}

TEST_F(ReplicaFetcherTest, TailBeyondLeaderEndAtSameEpochIsTruncated) {
  open_follower();
  make_manager();
  int64_t end = produce(10, 20);
  follow();
  ASSERT_TRUE(caught_up_to(end));
  manager_->unfollow(topic_, 0);
  // Our log grows past the leader's end in the leader's epoch (records the leader lost).
  append_foreign_tail(7, follower_->latest_epoch());
  append_foreign_tail(3, follower_->latest_epoch());
  ASSERT_EQ(follower_end().value(), end + 10);
  follow();
  // OffsetForLeaderEpoch answers (epoch, leader's end): we cut back to exactly that.
  ASSERT_TRUE(run_until([&] {
    auto s = manager_->status(topic_, 0);
    return s && s->phase == FollowerPhase::fetching && follower_end().value() == end;
  }));
  end = produce(3, 5);
  ASSERT_TRUE(caught_up_to(end));
  EXPECT_EQ(manager_->status(topic_, 0)->phase, FollowerPhase::fetching);
  expect_identical(end);
}

TEST_F(ReplicaFetcherTest, TruncationInsideALeaderBatchRefetchesThatBatch) {
  open_follower();
  make_manager();
  int64_t end = produce(10, 20);
  follow();
  ASSERT_TRUE(caught_up_to(end));
  manager_->unfollow(topic_, 0);
  append_foreign_tail(7, follower_->latest_epoch());
  append_foreign_tail(3, follower_->latest_epoch());
  ASSERT_EQ(follower_end().value(), end + 10);
  // The leader writes other records over those offsets, so the truncation point (its end,
  // 208) falls inside our second foreign batch and our cut (207) inside its batch (204-207).
  end = produce(2, 4);
  follow();
  ASSERT_TRUE(run_until([&] {
    auto s = manager_->status(topic_, 0);
    return s && s->phase == FollowerPhase::fetching && follower_end().value() == end;
  }));
  run_for(200ms);
  EXPECT_EQ(manager_->status(topic_, 0)->phase, FollowerPhase::fetching);
  expect_identical(end);
}

TEST_F(ReplicaFetcherTest, DivergentTailAtHigherEpochIsTruncated) {
  open_follower();
  make_manager();
  int64_t end = produce(10, 20);
  follow();
  ASSERT_TRUE(caught_up_to(end));
  run_for(300ms);  // our HW reaches the leader's end
  manager_->unfollow(topic_, 0);
  // An epoch the leader never had (we led briefly and wrote what nobody else saw).
  append_foreign_tail(5, follower_->latest_epoch() + 1);
  ASSERT_EQ(follower_end().value(), end + 5);
  end = produce(3, 3);
  follow();
  ASSERT_TRUE(run_until([&] {
    auto s = manager_->status(topic_, 0);
    return s && s->phase == FollowerPhase::fetching && follower_end().value() == end;
  }));
  expect_identical(end);
}

TEST_F(ReplicaFetcherTest, LeaderRestartReconnectsAndResumes) {
  open_follower();
  make_manager();
  int64_t end = produce(10, 50);
  follow();
  ASSERT_TRUE(caught_up_to(end));
  leader_down_ = true;
  restart_broker();  // new port; the resolver hides it for a while
  run_for(300ms);    // the fetcher fails, backs off, cannot resolve, retries
  EXPECT_EQ(manager_->status(topic_, 0)->phase, FollowerPhase::fetching);
  leader_down_ = false;
  follow();  // same leader and epoch: a no-op unless the restart bumped the epoch
  end = produce(10, 50);
  ASSERT_TRUE(caught_up_to(end)) << "follower at " << follower_end().value();
  expect_identical(end);
}

TEST_F(ReplicaFetcherTest, PartitionWithoutLocalReplicaIsDelayedNotFailed) {
  open_follower();
  make_manager();
  const int64_t end = produce(3, 10);
  // No local replica for this one: it is delayed, not failed, and does not hold the others up.
  manager_->follow("nope", 0, Uuid{}, kLeaderId, 0);
  follow();
  ASSERT_TRUE(caught_up_to(end));
  auto s = manager_->status("nope", 0);
  ASSERT_TRUE(s);
  EXPECT_NE(s->phase, FollowerPhase::failed);
  EXPECT_EQ(manager_->source_count(), 1u);
  manager_->unfollow("nope", 0);
  EXPECT_EQ(manager_->source_count(), 1u);
}

TEST_F(ReplicaFetcherTest, StopCancelsEverything) {
  open_follower();
  make_manager();
  const int64_t end = produce(2, 10);
  follow();
  ASSERT_TRUE(caught_up_to(end));
  manager_->stop();
  EXPECT_EQ(manager_->source_count(), 0u);
  produce(2, 10);
  run_for(300ms);
  EXPECT_EQ(follower_end().value(), end);
  manager_->follow(topic_, 0, topic_id(), kLeaderId, leader_epoch());  // ignored after stop
  EXPECT_EQ(manager_->source_count(), 0u);
}

}  // namespace
}  // namespace kafkacore::replication
