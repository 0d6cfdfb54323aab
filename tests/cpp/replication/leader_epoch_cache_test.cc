#include "replication/leader_epoch_cache.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "storage/test_util.h"

namespace kafkacore::replication {
namespace {

using storage::testing::TempDir;

std::string slurp(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void spit(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
}

struct LeaderEpochCacheTest : ::testing::Test {
  TempDir tmp;
  std::filesystem::path file() const { return tmp.path() / LeaderEpochCache::kFileName; }
  LeaderEpochCache gaps() {
    LeaderEpochCache cache(file());
    EXPECT_TRUE(cache.assign(0, Offset{0}));
    EXPECT_TRUE(cache.assign(2, Offset{10}));
    EXPECT_TRUE(cache.assign(5, Offset{20}));
    return cache;
  }
};

void expect_end(const EpochEndOffset& got, int32_t epoch, int64_t offset) {
  EXPECT_EQ(got.epoch, epoch);
  EXPECT_EQ(got.end_offset, Offset{offset});
}

TEST_F(LeaderEpochCacheTest, EndOffsetForEpochWithGaps) {
  LeaderEpochCache cache = gaps();
  const Offset leo{30};
  expect_end(cache.end_offset_for(0, leo), 0, 10);
  expect_end(cache.end_offset_for(1, leo), 0, 10);  // a gap: the largest epoch below it
  expect_end(cache.end_offset_for(2, leo), 2, 20);
  expect_end(cache.end_offset_for(3, leo), 2, 20);
  expect_end(cache.end_offset_for(4, leo), 2, 20);
  expect_end(cache.end_offset_for(5, leo), 5, 30);  // the latest ends at the log end
  expect_end(cache.end_offset_for(6, leo), -1, -1);  // newer than any we know: Kafka's UNDEFINED
  expect_end(cache.end_offset_for(-1, leo), -1, -1);
  EXPECT_EQ(cache.latest_epoch(), 5);
}

// Kafka: an epoch before our first ends where our first starts.
TEST_F(LeaderEpochCacheTest, BelowTheFirstEpochEndsAtItsStartAndEmptyIsUnknown) {
  LeaderEpochCache empty(file());
  expect_end(empty.end_offset_for(0, Offset{5}), -1, -1);
  EXPECT_EQ(empty.latest_epoch(), -1);
  LeaderEpochCache cache(file());
  ASSERT_TRUE(cache.assign(3, Offset{7}));
  expect_end(cache.end_offset_for(2, Offset{9}), 2, 7);
  expect_end(cache.end_offset_for(3, Offset{9}), 3, 9);
}

TEST_F(LeaderEpochCacheTest, AssignIgnoresOlderEpochsAndDropsLaterStarts) {
  LeaderEpochCache cache = gaps();
  ASSERT_TRUE(cache.assign(4, Offset{25}));  // not newer than 5: ignored
  ASSERT_TRUE(cache.assign(5, Offset{25}));  // same epoch, later start: ignored
  EXPECT_EQ(cache.entries(), (std::vector<EpochEntry>{{0, Offset{0}}, {2, Offset{10}},
                                                       {5, Offset{20}}}));
  ASSERT_TRUE(cache.assign(5, Offset{18}));  // same epoch, earlier start: moved (as Kafka)
  EXPECT_EQ(cache.start_offset_of(5), Offset{18});
  // A newer epoch starting below existing entries replaces them: offsets stay increasing.
  ASSERT_TRUE(cache.assign(7, Offset{15}));
  EXPECT_EQ(cache.entries(), (std::vector<EpochEntry>{{0, Offset{0}}, {2, Offset{10}},
                                                       {7, Offset{15}}}));
  ASSERT_TRUE(cache.assign(8, Offset{15}));  // an epoch that wrote nothing is replaced
  EXPECT_EQ(cache.entries().back(), (EpochEntry{8, Offset{15}}));
  EXPECT_EQ(cache.entries().size(), 3u);
  EXPECT_EQ(cache.start_offset_of(7), std::nullopt);
}

TEST_F(LeaderEpochCacheTest, TruncateFromEndAndStart) {
  LeaderEpochCache cache = gaps();
  ASSERT_TRUE(cache.truncate_from_end(Offset{21}));  // nothing starts at or after 21
  EXPECT_EQ(cache.entries().size(), 3u);
  ASSERT_TRUE(cache.truncate_from_end(Offset{20}));
  EXPECT_EQ(cache.latest_epoch(), 2);
  expect_end(cache.end_offset_for(2, Offset{20}), 2, 20);
  expect_end(cache.end_offset_for(5, Offset{20}), -1, -1);  // gone with the tail

  LeaderEpochCache other = gaps();
  ASSERT_TRUE(other.truncate_from_start(Offset{12}));
  EXPECT_EQ(other.entries(), (std::vector<EpochEntry>{{2, Offset{12}}, {5, Offset{20}}}));
  ASSERT_TRUE(other.truncate_from_start(Offset{20}));
  EXPECT_EQ(other.entries(), (std::vector<EpochEntry>{{5, Offset{20}}}));
  ASSERT_TRUE(other.truncate_from_start(Offset{3}));  // below the first entry: no change
  EXPECT_EQ(other.entries().size(), 1u);
}

TEST_F(LeaderEpochCacheTest, PersistsInKafkasTextFormatAndLoads) {
  { LeaderEpochCache cache = gaps(); }
  EXPECT_EQ(slurp(file()), "0\n3\n0 0\n2 10\n5 20\n");
  EXPECT_FALSE(std::filesystem::exists(file().string() + ".tmp"));
  LeaderEpochCache loaded(file());
  auto r = loaded.load();
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_TRUE(*r);
  EXPECT_EQ(loaded.entries(), gaps().entries());
  ASSERT_TRUE(loaded.truncate_from_end(Offset{10}));
  EXPECT_EQ(slurp(file()), "0\n1\n0 0\n");
}

TEST_F(LeaderEpochCacheTest, MissingFileIsNotAnError) {
  LeaderEpochCache cache(file());
  auto r = cache.load();
  ASSERT_TRUE(r);
  EXPECT_FALSE(*r);
  EXPECT_TRUE(cache.entries().empty());
}

TEST_F(LeaderEpochCacheTest, CorruptFilesAreErrorsNotCrashes) {
  const std::vector<std::string> bad = {
      "",                       // empty
      "0\n2\n0 0\n",            // count larger than entries
      "0\n1\n0 0\n2 10\n",      // count smaller
      "1\n1\n0 0\n",            // unknown version
      "0\n1\n0 0",              // cut off (no final newline)
      "0\n1\nzero 0\n",         // not a number
      "0\n1\n0\n",              // one column
      "0\n1\n0 0 0\n",          // three columns
      "0\n2\n3 10\n2 20\n",     // epochs decreasing
      "0\n2\n2 10\n3 10\n",     // offsets not increasing
      "0\n1\n-1 0\n",           // negative epoch
      "0\n-1\n",                // negative count
      std::string("0\n1\n0 \0\n", 8),
  };
  for (const auto& text : bad) {
    spit(file(), text);
    LeaderEpochCache cache(file());
    ASSERT_TRUE(cache.assign(9, Offset{1}));  // previous content is dropped by a failed load
    spit(file(), text);
    auto r = cache.load();
    EXPECT_FALSE(r) << "accepted: " << ::testing::PrintToString(text);
    if (!r) {
      EXPECT_EQ(r.error().code(), Errc::corrupt_message);
    }
    EXPECT_TRUE(cache.entries().empty());
  }
}

}  // namespace
}  // namespace kafkacore::replication
