#include "replication/hw_checkpoint.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "storage/test_util.h"

namespace kafkacore::replication {
namespace {

using storage::testing::TempDir;

TEST(HwCheckpointTest, RoundTripInKafkasFormat) {
  TempDir tmp;
  HwCheckpoint cp(tmp.path());
  auto empty = cp.read();
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());
  HighWatermarks hws{{{"orders", 0}, Offset{42}}, {{"orders", 1}, Offset{0}},
                     {{"__consumer_offsets", 7}, Offset{123456789012}}};
  ASSERT_TRUE(cp.write(hws));
  std::ifstream in(cp.file());
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(), "0\n3\n__consumer_offsets 7 123456789012\norders 0 42\norders 1 0\n");
  auto back = HwCheckpoint(tmp.path()).read();
  ASSERT_TRUE(back) << back.error().to_string();
  EXPECT_EQ(*back, hws);
  ASSERT_TRUE(cp.write({}));
  auto none = cp.read();
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
}

TEST(HwCheckpointTest, CorruptFileIsAnErrorValue) {
  TempDir tmp;
  HwCheckpoint cp(tmp.path());
  const std::vector<std::string> bad = {
      "", "0\n", "0\n1\n", "0\n1\nt 0 5", "1\n1\nt 0 5\n", "0\n1\nt 0\n", "0\n1\nt x 5\n",
      "0\n1\nt 0 y\n", "0\n1\n 0 5\n", "0\n1\nt -1 5\n", "0\n1\nt 0 -5\n", "0\n2\nt 0 5\n",
      "0\n1\nt 0 5 6\n", "garbage\xff\xfe\n"};
  for (const auto& text : bad) {
    {
      std::ofstream out(cp.file(), std::ios::trunc);
      out << text;
    }
    auto r = cp.read();
    EXPECT_FALSE(r) << "accepted: " << ::testing::PrintToString(text);
    if (!r) {
      EXPECT_EQ(r.error().code(), Errc::corrupt_message);
    }
  }
}

TEST(HwCheckpointTest, RefusesNamesTheFormatCannotHold) {
  TempDir tmp;
  HwCheckpoint cp(tmp.path());
  EXPECT_FALSE(cp.write({{{"a b", 0}, Offset{1}}}));
  EXPECT_FALSE(cp.write({{{"", 0}, Offset{1}}}));
  EXPECT_FALSE(std::filesystem::exists(cp.file()));
}

}  // namespace
}  // namespace kafkacore::replication
