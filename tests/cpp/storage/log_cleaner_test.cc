#include "storage/log_cleaner.h"

#include <gtest/gtest.h>

#include <map>

#include "storage/log_manager.h"
#include "storage/test_util.h"

namespace kafkacore::storage {
namespace {

using testing::make_keyed;
using testing::read_all;
using testing::TempDir;

struct LogCleanerTest : ::testing::Test {
  TempDir tmp;
  ManualClock clock;
  LogConfig config;
  std::unique_ptr<PartitionLog> log;

  void SetUp() override {
    config.cleanup_compact = true;
    config.cleanup_delete = false;
    config.segment_bytes = 400;
    config.delete_retention_ms = 1000;
    LogEnvironment env;
    env.clock = &clock;
    auto opened = PartitionLog::open(tmp.path() / "compacted-0", config, env, true);
    ASSERT_TRUE(opened);
    log = std::move(*opened);
  }
  void put(const std::string& key, std::optional<std::string> value) {
    Bytes batch = make_keyed({{key, value}}, clock.now_ms());
    ASSERT_TRUE(log->append(batch));
  }
  std::map<std::string, std::optional<std::string>> latest_view() {
    std::map<std::string, std::optional<std::string>> view;
    for (const auto& r : read_all(*log)) view[*r.key] = r.value;
    return view;
  }
};

TEST_F(LogCleanerTest, KeepsLatestValuePerKeyAndPreservesOffsets) {
  std::map<std::string, std::optional<std::string>> expected;
  std::map<std::string, int64_t> expected_offset;
  for (int round = 0; round < 10; ++round) {
    for (int k = 0; k < 5; ++k) {
      std::string key = "key" + std::to_string(k);
      std::string value = "v" + std::to_string(round);
      expected_offset[key] = log->log_end_offset().value();
      put(key, value);
      expected[key] = value;
    }
  }
  const uint64_t size_before = log->size_bytes();
  const Offset end_before = log->log_end_offset();
  auto stats = LogCleaner::compact_now(*log);
  ASSERT_TRUE(stats) << stats.error().to_string();
  EXPECT_GT(stats->segments_cleaned, 0u);
  EXPECT_LT(log->size_bytes(), size_before);
  EXPECT_EQ(log->log_end_offset(), end_before);
  EXPECT_EQ(latest_view(), expected);
  // Each key appears at most once in the cleaned segments, plus possibly in the active one.
  std::map<std::string, int> occurrences;
  for (const auto& r : read_all(*log)) {
    ++occurrences[*r.key];
    if (r.value == expected[*r.key]) {
      EXPECT_EQ(r.offset, expected_offset[*r.key]);
    }
  }
  for (const auto& [key, n] : occurrences) EXPECT_LE(n, 2) << key;
  // Offsets stay addressable: reading from a removed offset gives the next surviving batch.
  auto r = log->read(Offset{1}, 1);
  ASSERT_TRUE(r);
  ASSERT_FALSE(r->batches.empty());
  EXPECT_GE(r->batches[0].last_offset, Offset{1});
  // And the result survives a restart.
  ASSERT_TRUE(log->close());
  LogEnvironment env;
  env.clock = &clock;
  log = std::move(*PartitionLog::open(tmp.path() / "compacted-0", config, env, false));
  EXPECT_EQ(latest_view(), expected);
}

TEST_F(LogCleanerTest, TombstonesStayUntilDeleteRetentionThenGo) {
  for (int i = 0; i < 20; ++i) put("k" + std::to_string(i % 4), "value" + std::to_string(i));
  put("k1", std::nullopt);  // tombstone
  for (int i = 0; i < 20; ++i) put("other" + std::to_string(i % 3), "x");
  ASSERT_TRUE(LogCleaner::compact_now(*log));
  auto view = latest_view();
  ASSERT_TRUE(view.contains("k1"));
  EXPECT_FALSE(view["k1"].has_value()) << "tombstone must stay for delete.retention.ms";
  ASSERT_TRUE(LogCleaner::compact_now(*log));
  EXPECT_TRUE(latest_view().contains("k1"));
  clock.advance_ms(config.delete_retention_ms + 1);
  auto stats = LogCleaner::compact_now(*log);
  ASSERT_TRUE(stats);
  EXPECT_EQ(stats->tombstones_dropped, 1u);
  EXPECT_FALSE(latest_view().contains("k1"));
  EXPECT_EQ(latest_view()["k0"], "value16");
}

TEST_F(LogCleanerTest, CleanedSegmentIsNotSwappedIfLogChangedMeanwhile) {
  for (int i = 0; i < 30; ++i) put("k" + std::to_string(i % 3), "v" + std::to_string(i));
  auto job = LogCleaner::plan(*log, true);
  ASSERT_TRUE(job);
  auto output = LogCleaner::run(*job);
  ASSERT_TRUE(output);
  ASSERT_TRUE(log->truncate_to(Offset{2}));
  EXPECT_FALSE(LogCleaner::commit(*log, std::move(*output)));
  EXPECT_EQ(read_all(*log).size(), 2u);
  for (const auto& entry : std::filesystem::directory_iterator(tmp.path() / "compacted-0")) {
    EXPECT_NE(entry.path().extension(), ".cleaned");
  }
}

TEST_F(LogCleanerTest, CompressedBatchesAreRecompressedWithTheirCodec) {
  for (int round = 0; round < 6; ++round) {
    record::BatchOptions options;
    options.compression = record::Compression::zstd;
    record::BatchBuilder builder(options);
    for (int k = 0; k < 4; ++k) {
      std::string key = "ck" + std::to_string(k);
      std::string value = "round" + std::to_string(round);
      builder.append(clock.now_ms(), testing::text(key), testing::text(value));
    }
    Bytes batch = *builder.build();
    ASSERT_TRUE(log->append(batch));
  }
  ASSERT_TRUE(LogCleaner::compact_now(*log));
  auto read = log->read(Offset{0}, UINT64_MAX);
  auto bytes = read->copy_bytes();
  record::BatchIterator it(*bytes);
  while (auto batch = it.next()) {
    if (!*batch) break;
    EXPECT_EQ((*batch)->compression(), record::Compression::zstd);
    EXPECT_TRUE((*batch)->validate());
  }
  EXPECT_EQ(latest_view()["ck2"], "round5");
}

TEST(LogManagerCompaction, RunsInBackgroundAndCommitsOnTick) {
  TempDir tmp;
  ManualClock clock;
  LogManagerOptions options;
  options.data_dir = tmp.path();
  options.clock = &clock;
  auto manager = std::move(*LogManager::open(options));
  ASSERT_TRUE(manager->set_topic_config("t", {{"cleanup.policy", "compact"},
                                              {"segment.bytes", "300"}}));
  PartitionLog* log = *manager->get_or_create({"t", 0});
  for (int i = 0; i < 60; ++i) {
    Bytes batch = make_keyed({{"key" + std::to_string(i % 2), "v" + std::to_string(i)}});
    ASSERT_TRUE(log->append(batch));
  }
  const uint64_t before = log->size_bytes();
  manager->tick();
  manager->finish_compactions();
  EXPECT_LT(log->size_bytes(), before);
  std::map<std::string, std::string> view;
  for (const auto& r : read_all(*log)) view[*r.key] = *r.value;
  EXPECT_EQ(view["key0"], "v58");
  EXPECT_EQ(view["key1"], "v59");
  ASSERT_TRUE(manager->shutdown());
}

}  // namespace
}  // namespace kafkacore::storage
