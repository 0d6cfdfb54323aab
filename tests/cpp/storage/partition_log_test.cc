#include "storage/partition_log.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "common/clock.h"
#include "storage/test_util.h"

namespace kafkacore::storage {
namespace {

using testing::make_batch;
using testing::read_all;
using testing::TempDir;

struct PartitionLogTest : ::testing::Test {
  TempDir tmp;
  ManualClock clock;
  LogConfig config;
  std::unique_ptr<PartitionLog> log;

  LogEnvironment env() {
    LogEnvironment e;
    e.clock = &clock;
    return e;
  }
  void open(bool clean = true) {
    log.reset();
    auto opened = PartitionLog::open(tmp.path() / "topic-0", config, env(), clean);
    ASSERT_TRUE(opened) << opened.error().to_string();
    log = std::move(*opened);
  }
  AppendResult append(const std::string& prefix, int count, int64_t ts = 1'700'000'000'000) {
    Bytes batch = make_batch(prefix, count, ts);
    auto r = log->append(batch);
    EXPECT_TRUE(r) << r.error().to_string();
    return r.value_or(AppendResult{});
  }
};

TEST_F(PartitionLogTest, AppendAssignsOffsetsAndReadReturnsThem) {
  open();
  EXPECT_EQ(log->log_end_offset(), Offset{0});
  auto a = append("a", 3);
  auto b = append("b", 2);
  EXPECT_EQ(a.first_offset, Offset{0});
  EXPECT_EQ(a.last_offset, Offset{2});
  EXPECT_EQ(b.first_offset, Offset{3});
  EXPECT_EQ(b.last_offset, Offset{4});
  EXPECT_EQ(a.log_append_time, -1);
  EXPECT_EQ(log->log_end_offset(), Offset{5});
  auto records = read_all(*log);
  ASSERT_EQ(records.size(), 5u);
  EXPECT_EQ(records[3].offset, 3);
  EXPECT_EQ(records[3].key, "b-0");
  EXPECT_EQ(records[4].value, "value-b-1");
}

TEST_F(PartitionLogTest, ReadFromMiddleOfBatchReturnsWholeBatchAndRespectsLimits) {
  open();
  for (int i = 0; i < 10; ++i) append("batch" + std::to_string(i), 4);
  auto r = log->read(Offset{6}, 1);  // inside the second batch; one byte allows only one batch
  ASSERT_TRUE(r);
  ASSERT_EQ(r->batches.size(), 1u);
  EXPECT_EQ(r->batches[0].base_offset, Offset{4});
  auto none = log->read(Offset{6}, 1, std::nullopt, /*min_one_batch=*/false);
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->batches.empty());
  // The high watermark bounds what is returned: only batches wholly below it.
  auto below = log->read(Offset{0}, UINT64_MAX, Offset{10});
  ASSERT_TRUE(below);
  ASSERT_EQ(below->batches.size(), 2u);
  EXPECT_EQ(below->batches.back().last_offset, Offset{7});
  // Read at the log end is empty; beyond it is out of range.
  auto at_end = log->read(Offset{40}, 100);
  ASSERT_TRUE(at_end);
  EXPECT_TRUE(at_end->batches.empty());
  auto beyond = log->read(Offset{41}, 100);
  ASSERT_FALSE(beyond);
  EXPECT_EQ(beyond.error().code(), Errc::offset_out_of_range);
}

TEST_F(PartitionLogTest, RejectsCorruptOversizedAndMalformedBatches) {
  open();
  Bytes batch = make_batch("x", 2);
  batch[batch.size() - 1] ^= std::byte{1};
  auto corrupt = log->append(batch);
  ASSERT_FALSE(corrupt);
  EXPECT_EQ(corrupt.error().code(), Errc::corrupt_message);

  config.max_message_bytes = 100;
  log->set_config(config);
  Bytes big = make_batch("big", 50);
  auto too_large = log->append(big);
  ASSERT_FALSE(too_large);
  EXPECT_EQ(too_large.error().code(), Errc::message_too_large);

  Bytes truncated = make_batch("t", 2);
  truncated.resize(truncated.size() - 3);
  EXPECT_FALSE(log->append(truncated));
  EXPECT_EQ(log->log_end_offset(), Offset{0});  // nothing was appended by any of these
}

TEST_F(PartitionLogTest, RollsSegmentsBySizeAndAgeAndFindsOffsetsAcrossThem) {
  config.segment_bytes = 1024;
  config.index_interval_bytes = 128;
  open();
  for (int i = 0; i < 40; ++i) append("k" + std::to_string(i), 3);
  EXPECT_GT(log->segment_count(), 5u);
  for (int64_t target : {0, 1, 17, 59, 60, 119}) {
    auto r = log->read(Offset{target}, 1);
    ASSERT_TRUE(r);
    ASSERT_EQ(r->batches.size(), 1u);
    EXPECT_LE(r->batches[0].base_offset, Offset{target});
    EXPECT_GE(r->batches[0].last_offset, Offset{target});
  }
  const size_t before = log->segment_count();
  clock.advance_ms(config.segment_ms);
  append("aged", 1);
  EXPECT_EQ(log->segment_count(), before + 1);
  EXPECT_EQ(read_all(*log).size(), 121u);
}

TEST_F(PartitionLogTest, IndexesSurviveCleanReopenAndAreRebuiltWhenMissing) {
  config.segment_bytes = 2048;
  config.index_interval_bytes = 100;
  open();
  for (int i = 0; i < 50; ++i) append("r" + std::to_string(i), 2, 1'700'000'000'000 + i * 1000);
  ASSERT_TRUE(log->close());
  open(/*clean=*/true);
  EXPECT_EQ(log->log_end_offset(), Offset{100});
  auto by_time = log->offset_for_timestamp(1'700'000'000'000 + 25'000);
  ASSERT_TRUE(by_time);
  ASSERT_TRUE(*by_time);
  EXPECT_EQ((*by_time)->offset, Offset{50});
  ASSERT_TRUE(log->close());
  for (auto& entry : std::filesystem::directory_iterator(tmp.path() / "topic-0")) {
    if (entry.path().extension() == ".index") std::filesystem::remove(entry.path());
  }
  open(/*clean=*/true);
  EXPECT_EQ(read_all(*log).size(), 100u);
  auto r = log->read(Offset{77}, 1);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->batches[0].base_offset, Offset{76});
}

TEST_F(PartitionLogTest, TimestampLookupFindsFirstRecordAtOrAfter) {
  open();
  append("a", 5, 1000);  // timestamps 1000..1004
  append("b", 5, 2000);  // 2000..2004
  auto exact = log->offset_for_timestamp(1003);
  ASSERT_TRUE(exact && *exact);
  EXPECT_EQ((*exact)->offset, Offset{3});
  EXPECT_EQ((*exact)->timestamp, 1003);
  auto between = log->offset_for_timestamp(1500);
  ASSERT_TRUE(between && *between);
  EXPECT_EQ((*between)->offset, Offset{5});
  auto after = log->offset_for_timestamp(5000);
  ASSERT_TRUE(after);
  EXPECT_FALSE(*after);
}

TEST_F(PartitionLogTest, LogAppendTimeStampsBatchesAndKeepsCrcValid) {
  config.timestamp_type = record::TimestampType::log_append_time;
  open();
  auto r = append("t", 3, 5);
  EXPECT_EQ(r.log_append_time, clock.now_ms());
  auto read = log->read(Offset{0}, UINT64_MAX);
  auto bytes = read->copy_bytes();
  auto batch = record::RecordBatchView::parse(*bytes);
  ASSERT_TRUE(batch);
  EXPECT_TRUE(batch->validate());
  EXPECT_EQ(batch->timestamp_type(), record::TimestampType::log_append_time);
  EXPECT_EQ(batch->max_timestamp(), clock.now_ms());
}

TEST_F(PartitionLogTest, TruncateToRemovesTailAcrossSegmentsAndAppendsContinue) {
  config.segment_bytes = 600;
  open();
  for (int i = 0; i < 20; ++i) append("p" + std::to_string(i), 2);
  ASSERT_TRUE(log->truncate_to(Offset{15}));
  // 15 is inside the batch 14..15, which goes as a whole.
  EXPECT_EQ(log->log_end_offset(), Offset{14});
  auto r = append("after", 1);
  EXPECT_EQ(r.first_offset, Offset{14});
  auto records = read_all(*log);
  ASSERT_EQ(records.size(), 15u);
  EXPECT_EQ(records.back().key, "after-0");
  ASSERT_TRUE(log->close());
  open(false);
  EXPECT_EQ(read_all(*log).size(), 15u);
}

TEST_F(PartitionLogTest, DeleteRecordsMovesStartAndSurvivesRestart) {
  config.segment_bytes = 500;
  open();
  for (int i = 0; i < 20; ++i) append("d" + std::to_string(i), 2);
  const size_t segments = log->segment_count();
  auto start = log->delete_records_before(Offset{21});
  ASSERT_TRUE(start);
  EXPECT_EQ(*start, Offset{21});
  EXPECT_LT(log->segment_count(), segments);
  auto old = log->read(Offset{3}, 100);
  ASSERT_FALSE(old);
  EXPECT_EQ(old.error().code(), Errc::offset_out_of_range);
  EXPECT_EQ(read_all(*log).front().offset, 20);  // the batch holding 21 starts at 20
  EXPECT_FALSE(log->delete_records_before(Offset{1000}));
  ASSERT_TRUE(log->close());
  open(false);
  EXPECT_EQ(log->log_start_offset(), Offset{21});
}

TEST_F(PartitionLogTest, TimeAndSizeRetentionDeleteWholeOldSegments) {
  config.segment_bytes = 500;
  config.retention_ms = 60'000;
  open();
  const int64_t old_ts = clock.now_ms() - 120'000;
  for (int i = 0; i < 10; ++i) append("old" + std::to_string(i), 2, old_ts);
  for (int i = 0; i < 10; ++i) append("new" + std::to_string(i), 2, clock.now_ms());
  auto deleted = log->enforce_retention();
  ASSERT_TRUE(deleted);
  EXPECT_GT(*deleted, 0u);
  auto records = read_all(*log);
  ASSERT_FALSE(records.empty());
  size_t old_left = 0;
  for (const auto& r : records) old_left += r.key->starts_with("old");
  EXPECT_LT(old_left, 20u);  // whole old segments went; one shared with new data may stay
  EXPECT_GE(log->log_start_offset(), Offset{10});

  config.retention_ms = -1;
  config.retention_bytes = 1000;
  log->set_config(config);
  for (int i = 0; i < 20; ++i) append("more" + std::to_string(i), 2, clock.now_ms());
  ASSERT_TRUE(log->enforce_retention());
  EXPECT_LE(log->size_bytes(), 1000u + 500u);
  EXPECT_EQ(log->log_end_offset(), Offset{80});

  // Everything expired: even the active segment goes, and offsets keep counting.
  config.retention_ms = 1;
  config.retention_bytes = -1;
  log->set_config(config);
  clock.advance_ms(10'000);
  ASSERT_TRUE(log->enforce_retention());
  EXPECT_EQ(log->log_start_offset(), Offset{80});
  EXPECT_EQ(append("fresh", 1).first_offset, Offset{80});
}

TEST_F(PartitionLogTest, FlushMessagesOneMakesEveryAppendDurableWithGroupCommit) {
  config.flush_messages = 1;
  open();
  std::atomic<int> durable{0};
  for (int i = 0; i < 200; ++i) {
    auto r = append("f" + std::to_string(i), 1);
    log->on_durable(Offset{r.last_offset.value() + 1}, [&](const Result<void>& outcome) {
      EXPECT_TRUE(outcome);
      durable.fetch_add(1);
    });
  }
  ASSERT_TRUE(log->flush_sync());
  EXPECT_EQ(durable.load(), 200);
  EXPECT_EQ(log->durable_offset(), Offset{200});
}

TEST_F(PartitionLogTest, GroupCommitCoversManyRequestsWithFewSyncs) {
  Flusher flusher;
  LogEnvironment e = env();
  e.flusher = &flusher;
  config.flush_messages = 1;
  IoFaults faults;
  faults.sync_delay_us = 2000;  // a slow disk makes requests pile up behind a running fsync
  e.faults = &faults;
  auto opened = PartitionLog::open(tmp.path() / "gc-0", config, e, true);
  ASSERT_TRUE(opened);
  auto& glog = **opened;
  flusher.drain();
  const uint64_t syncs_before = flusher.syncs();
  for (int i = 0; i < 100; ++i) {
    Bytes batch = make_batch("g" + std::to_string(i), 1);
    ASSERT_TRUE(glog.append(batch));
  }
  ASSERT_TRUE(glog.flush_sync());
  const uint64_t syncs = flusher.syncs() - syncs_before;
  EXPECT_LT(syncs, 60u) << "one fsync per append would be 100";
  EXPECT_EQ(glog.durable_offset(), Offset{100});
  ASSERT_TRUE(glog.close());
}

TEST_F(PartitionLogTest, FlushMsFlushesOnTime) {
  config.flush_ms = 1000;
  open();
  append("a", 1);
  log->maybe_flush_on_time();
  clock.advance_ms(1000);
  log->maybe_flush_on_time();
  std::atomic<bool> done{false};
  log->on_durable(Offset{1}, [&](const Result<void>&) { done = true; });
  for (int i = 0; i < 500 && !done; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  EXPECT_TRUE(done);
}

TEST_F(PartitionLogTest, FollowerAppendKeepsLeaderOffsets) {
  open();
  record::BatchOptions options;
  options.base_offset = Offset{0};
  record::BatchBuilder b(options);
  b.append(1, testing::text("k"), testing::text("v"));
  b.append(2, testing::text("k2"), testing::text("v2"));
  Bytes batch = *b.build();
  AppendOptions follower;
  follower.assign_offsets = false;
  auto r = log->append(batch, follower);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->first_offset, Offset{0});
  Bytes stale = batch;
  auto again = log->append(stale, follower);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code(), Errc::offset_out_of_range);
}

}  // namespace
}  // namespace kafkacore::storage
