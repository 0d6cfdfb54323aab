#include "storage/segment_recovery.h"

#include <gtest/gtest.h>

#include "storage/test_util.h"

namespace kafkacore::storage {
namespace {

// Three contiguous batches at offsets 0..1, 2..4, 5..5 as a segment would hold them.
Bytes three_batches(std::vector<size_t>* starts = nullptr) {
  Bytes out;
  int64_t next = 0;
  for (int count : {2, 3, 1}) {
    Bytes b = testing::make_batch("s" + std::to_string(next), count);
    record::set_base_offset(b, Offset{next});
    record::set_partition_leader_epoch(b, LeaderEpoch{3});
    if (starts) starts->push_back(out.size());
    out.insert(out.end(), b.begin(), b.end());
    next += count;
  }
  return out;
}

TEST(SegmentRecovery, IntactSegmentNeedsNothing) {
  Bytes data = three_batches();
  auto scan = scan_segment_for_recovery(data, Offset{0});
  EXPECT_EQ(scan.batches.size(), 3u);
  EXPECT_EQ(scan.valid_end, data.size());
  EXPECT_EQ(scan.tail_bytes, 0u);
  EXPECT_FALSE(scan.needs_rewrite());
  EXPECT_TRUE(scan.problems.empty());
}

TEST(SegmentRecovery, TornTailIsCutWithoutRewrite) {
  std::vector<size_t> starts;
  Bytes data = three_batches(&starts);
  data.resize(data.size() - 5);
  auto scan = scan_segment_for_recovery(data, Offset{0});
  EXPECT_EQ(scan.batches.size(), 2u);
  EXPECT_EQ(scan.valid_end, starts[2]);
  EXPECT_FALSE(scan.needs_rewrite());
}

TEST(SegmentRecovery, DamagedMiddleBatchIsDroppedAndFollowersKept) {
  std::vector<size_t> starts;
  Bytes data = three_batches(&starts);
  data[starts[1] + 70] ^= std::byte{0x10};  // inside the records of the middle batch
  auto scan = scan_segment_for_recovery(data, Offset{0});
  ASSERT_EQ(scan.batches.size(), 2u);
  EXPECT_EQ(scan.batches[1].base_offset, 5);
  EXPECT_TRUE(scan.needs_rewrite());
  Bytes rebuilt = rebuild_segment(data, scan);
  auto again = scan_segment_for_recovery(rebuilt, Offset{0});
  EXPECT_EQ(again.batches.size(), 2u);
  EXPECT_FALSE(again.needs_rewrite());
}

TEST(SegmentRecovery, UncoveredFieldsAreRepairedFromNeighbours) {
  std::vector<size_t> starts;
  const Bytes original = three_batches(&starts);
  for (size_t field : {record::field::base_offset + 7, record::field::base_offset + 3,
                       record::field::partition_leader_epoch + 1, record::field::magic,
                       record::field::batch_length + 3}) {
    Bytes data = original;
    data[starts[1] + field] ^= std::byte{0x04};
    auto scan = scan_segment_for_recovery(data, Offset{0});
    ASSERT_EQ(scan.batches.size(), 3u) << "field byte " << field;
    Bytes rebuilt = rebuild_segment(data, scan);
    EXPECT_EQ(rebuilt, original) << "field byte " << field;
  }
}

TEST(SegmentRecovery, ZeroTailAndGarbageTailAreCut) {
  Bytes data = three_batches();
  const size_t valid = data.size();
  data.resize(valid + 4096);
  auto scan = scan_segment_for_recovery(data, Offset{0});
  EXPECT_EQ(scan.valid_end, valid);
  EXPECT_EQ(scan.tail_bytes, 4096u);
  for (size_t i = valid; i < data.size(); ++i) data[i] = std::byte(i * 131 % 251);
  scan = scan_segment_for_recovery(data, Offset{0});
  EXPECT_EQ(scan.valid_end, valid);
}

}  // namespace
}  // namespace kafkacore::storage
