#include "storage/log_manager.h"

#include <gtest/gtest.h>

#include "storage/test_util.h"

namespace kafkacore::storage {
namespace {

using testing::make_batch;
using testing::read_all;
using testing::TempDir;

std::unique_ptr<LogManager> open_manager(const fs::path& dir, Clock* clock) {
  LogManagerOptions options;
  options.data_dir = dir;
  options.clock = clock;
  auto m = LogManager::open(options);
  EXPECT_TRUE(m) << m.error().to_string();
  return std::move(*m);
}

TEST(LogManager, OwnsPartitionsAndReloadsThemAfterCleanShutdown) {
  TempDir tmp;
  ManualClock clock;
  auto manager = open_manager(tmp.path(), &clock);
  EXPECT_TRUE(manager->recovered_from_crash());  // a brand-new dir has no marker
  for (int p = 0; p < 3; ++p) {
    PartitionLog* log = *manager->get_or_create({"my-topic", p});
    for (int i = 0; i <= p; ++i) {
      Bytes batch = make_batch("p" + std::to_string(p), 2);
      ASSERT_TRUE(log->append(batch));
    }
  }
  ASSERT_TRUE(manager->shutdown());
  manager.reset();
  EXPECT_TRUE(std::filesystem::exists(tmp.path() / ".kafkacore_clean_shutdown"));

  manager = open_manager(tmp.path(), &clock);
  EXPECT_FALSE(manager->recovered_from_crash());
  EXPECT_FALSE(std::filesystem::exists(tmp.path() / ".kafkacore_clean_shutdown"))
      << "the marker must go before new writes";
  ASSERT_EQ(manager->partitions().size(), 3u);
  EXPECT_EQ(manager->get({"my-topic", 2})->log_end_offset(), Offset{6});
  EXPECT_EQ(read_all(*manager->get({"my-topic", 1})).size(), 4u);
  manager.reset();  // no shutdown: the next open recovers

  manager = open_manager(tmp.path(), &clock);
  EXPECT_TRUE(manager->recovered_from_crash());
  EXPECT_EQ(manager->get({"my-topic", 2})->log_end_offset(), Offset{6});
}

TEST(LogManager, TopicConfigsApplyAndBadOnesAreRejected) {
  TempDir tmp;
  ManualClock clock;
  auto manager = open_manager(tmp.path(), &clock);
  PartitionLog* log = *manager->get_or_create({"cfg", 0});
  ASSERT_TRUE(manager->set_topic_config("cfg", {{"retention.ms", "1000"},
                                                {"cleanup.policy", "compact,delete"}}));
  EXPECT_EQ(log->config().retention_ms, 1000);
  EXPECT_TRUE(log->config().cleanup_compact);
  EXPECT_TRUE(log->config().cleanup_delete);
  auto bad = manager->set_topic_config("cfg", {{"retention.ms", "soon"}});
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("retention.ms"), std::string::npos);
  EXPECT_FALSE(manager->set_topic_config("cfg", {{"no.such.config", "1"}}));
  EXPECT_FALSE(manager->get_or_create({"../escape", 0}));
}

TEST(LogManager, TickEnforcesRetentionAndRemoveDeletesFiles) {
  TempDir tmp;
  ManualClock clock;
  auto manager = open_manager(tmp.path(), &clock);
  ASSERT_TRUE(manager->set_topic_config("r", {{"retention.ms", "1000"}, {"segment.bytes", "300"}}));
  PartitionLog* log = *manager->get_or_create({"r", 0});
  for (int i = 0; i < 10; ++i) {
    Bytes batch = make_batch("old" + std::to_string(i), 2, clock.now_ms());
    ASSERT_TRUE(log->append(batch));
  }
  clock.advance_ms(5000);
  EXPECT_GT(manager->tick(), 0u);
  EXPECT_EQ(log->log_start_offset(), Offset{20});
  ASSERT_TRUE(manager->remove({"r", 0}));
  EXPECT_FALSE(std::filesystem::exists(tmp.path() / "r-0"));
  EXPECT_EQ(manager->get({"r", 0}), nullptr);
}

}  // namespace
}  // namespace kafkacore::storage
