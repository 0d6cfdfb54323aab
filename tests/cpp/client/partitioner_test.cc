#include "client/partitioner.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace kafkacore::client {
namespace {

Bytes bytes_of(std::string_view s) {
  const ByteView v = as_bytes(s);
  return Bytes(v.begin(), v.end());
}

int32_t hash(std::string_view s) { return murmur2(as_bytes(s)); }

TEST(Murmur2, MatchesKafkaUtilsTest) {
  // Expected values from Kafka's clients/src/test/java/org/apache/kafka/common/utils/UtilsTest
  // (testMurmur2).
  EXPECT_EQ(hash("21"), -973932308);
  EXPECT_EQ(hash("foobar"), -790332482);
  EXPECT_EQ(hash("a-little-bit-long-string"), -985981536);
  EXPECT_EQ(hash("a-little-bit-longer-string"), -1486304829);
  EXPECT_EQ(hash("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8"), -58897971);
  EXPECT_EQ(hash("abc"), 479470107);
}

TEST(Murmur2, MatchesLibrdkafkaUnitTest) {
  // Expected values from librdkafka's src/rdmurmur2.c unit test (its "java_murmur2_results"),
  // which cover every tail length (0-3 bytes after the last whole word).
  auto u = [](uint32_t v) { return static_cast<int32_t>(v); };
  EXPECT_EQ(hash("kafka"), u(0xd067cf64));
  EXPECT_EQ(hash("giberish123456789"), u(0x8f552b0c));
  EXPECT_EQ(hash("1234"), u(0x9fc97b14));
  EXPECT_EQ(hash("234"), u(0xe7c009ca));
  EXPECT_EQ(hash("34"), u(0x873930da));
  EXPECT_EQ(hash("4"), u(0x5a4b5ca1));
  const std::string_view unaligned = "PreAmbleWillBeRemoved,ThePrePartThatIs";
  EXPECT_EQ(hash(unaligned), u(0x78424f1c));
  EXPECT_EQ(hash(unaligned.substr(1)), u(0x4a62b377));
  EXPECT_EQ(hash(unaligned.substr(2)), u(0xe0e4e09e));
  EXPECT_EQ(hash(unaligned.substr(3)), u(0x62b8b43f));
  EXPECT_EQ(hash(""), u(0x106e08d9));
}

TEST(PartitionForKey, MatchesLibrdkafkaMurmur2Random) {
  // Partitions librdkafka 2.16.0 (confluent-kafka 2.16.1, partitioner=murmur2_random) chose for
  // these keys on a 7-partition topic of its mock cluster, read from the delivery reports.
  // Obtained with this script (.venv/bin/python):
  //
  //   import ctypes, glob, os
  //   import confluent_kafka
  //   from confluent_kafka import Producer
  //   lib = ctypes.CDLL(glob.glob(os.path.join(os.path.dirname(confluent_kafka.__file__),
  //                               "..", "confluent_kafka.libs", "librdkafka*.so*"))[0])
  //   lib.rd_kafka_conf_new.restype = ctypes.c_void_p
  //   lib.rd_kafka_new.restype = ctypes.c_void_p
  //   lib.rd_kafka_new.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_char_p,
  //                                ctypes.c_size_t]
  //   lib.rd_kafka_mock_cluster_new.restype = ctypes.c_void_p
  //   lib.rd_kafka_mock_cluster_new.argtypes = [ctypes.c_void_p, ctypes.c_int]
  //   lib.rd_kafka_mock_topic_create.argtypes = [ctypes.c_void_p, ctypes.c_char_p,
  //                                              ctypes.c_int, ctypes.c_int]
  //   lib.rd_kafka_mock_cluster_bootstraps.restype = ctypes.c_char_p
  //   lib.rd_kafka_mock_cluster_bootstraps.argtypes = [ctypes.c_void_p]
  //   # The mock cluster has no CreateTopics handler (auto-created topics get 4 partitions),
  //   # so the 7-partition topic is made through its C API.
  //   rk = lib.rd_kafka_new(0, lib.rd_kafka_conf_new(), ctypes.create_string_buffer(512), 512)
  //   mcluster = lib.rd_kafka_mock_cluster_new(rk, 1)
  //   assert lib.rd_kafka_mock_topic_create(mcluster, b"t7", 7, 1) == 0
  //   bootstrap = lib.rd_kafka_mock_cluster_bootstraps(mcluster).decode()
  //   keys = [b"", b"0", b"1", b"21", b"kafka", b"foobar", b"key-42",
  //           b"a-little-bit-long-string", b"a-little-bit-longer-string",
  //           b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", "\u00e9t\u00e9".encode(),
  //           b"x" * 100, bytes(range(256))]
  //   p = Producer({"bootstrap.servers": bootstrap, "partitioner": "murmur2_random"})
  //   got = {}
  //   for k in keys:
  //       p.produce("t7", key=k, value=b"v",
  //                 on_delivery=lambda err, m: got.__setitem__(m.key(), m.partition()))
  //   assert p.flush(10) == 0
  //   print([got[k] for k in keys])
  struct Case {
    Bytes key;
    int32_t partition;
  };
  Bytes all_bytes;
  for (int i = 0; i < 256; ++i) all_bytes.push_back(static_cast<std::byte>(i));
  const std::vector<Case> cases = {
      {bytes_of(""), 2},
      {bytes_of("0"), 3},
      {bytes_of("1"), 2},
      {bytes_of("21"), 3},
      {bytes_of("kafka"), 3},
      {bytes_of("foobar"), 0},
      {bytes_of("key-42"), 3},
      {bytes_of("a-little-bit-long-string"), 1},
      {bytes_of("a-little-bit-longer-string"), 0},
      {bytes_of("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8"), 3},
      {bytes_of("\xc3\xa9t\xc3\xa9"), 4},  // "été" in UTF-8: bytes above 0x7f
      {bytes_of(std::string(100, 'x')), 4},
      {all_bytes, 3},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(partition_for_key(c.key, 7), c.partition) << "key of " << c.key.size() << " bytes";
  }
}

TEST(PartitionForKey, PositiveModulo) {
  // murmur2("21") is negative; the sign bit is masked off before the modulo, not abs().
  EXPECT_EQ(partition_for_key(as_bytes("21"), 1000), (-973932308 & 0x7fffffff) % 1000);
  EXPECT_EQ(partition_for_key(as_bytes("anything"), 1), 0);
  EXPECT_EQ(partition_for_key(as_bytes("anything"), 0), -1);
  EXPECT_EQ(partition_for_key(as_bytes("anything"), -3), -1);
}

TEST(StickyPartitioner, SticksUntilNewBatch) {
  StickyPartitioner sp(42);
  const int32_t first = sp.partition("t", 10, {});
  ASSERT_GE(first, 0);
  ASSERT_LT(first, 10);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(sp.partition("t", 10, {}), first);

  sp.on_new_batch("t", first, 10, {});
  const int32_t second = sp.partition("t", 10, {});
  EXPECT_NE(second, first);
  EXPECT_GE(second, 0);
  EXPECT_LT(second, 10);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(sp.partition("t", 10, {}), second);
}

TEST(StickyPartitioner, StaleNewBatchIsIgnored) {
  StickyPartitioner sp(7);
  const int32_t first = sp.partition("t", 10, {});
  sp.on_new_batch("t", first, 10, {});
  const int32_t second = sp.partition("t", 10, {});
  // A second completion for the old partition must not move the topic again.
  sp.on_new_batch("t", first, 10, {});
  EXPECT_EQ(sp.partition("t", 10, {}), second);
}

TEST(StickyPartitioner, TopicsAreIndependent) {
  StickyPartitioner sp(3);
  const int32_t a = sp.partition("a", 100, {});
  const int32_t b = sp.partition("b", 100, {});
  sp.on_new_batch("b", b, 100, {});
  EXPECT_EQ(sp.partition("a", 100, {}), a);
}

TEST(StickyPartitioner, PrefersAvailablePartitions) {
  StickyPartitioner sp(11);
  const std::vector<int32_t> available = {2, 5, 7};
  std::set<int32_t> seen;
  int32_t current = sp.partition("t", 10, available);
  for (int i = 0; i < 300; ++i) {
    ASSERT_TRUE(current == 2 || current == 5 || current == 7) << current;
    seen.insert(current);
    sp.on_new_batch("t", current, 10, available);
    const int32_t next = sp.partition("t", 10, available);
    EXPECT_NE(next, current);
    current = next;
  }
  EXPECT_EQ(seen.size(), 3u);
}

TEST(StickyPartitioner, IgnoresAvailableEntriesOutOfRange) {
  StickyPartitioner sp(5);
  // Metadata may list partitions the count no longer covers; with none valid, any partition.
  for (int i = 0; i < 50; ++i) {
    const int32_t p = sp.partition("t", 4, {9, -1, 3});
    EXPECT_EQ(p, 3);
    sp.on_new_batch("t", p, 4, {9, -1, 3});
  }
  StickyPartitioner any(5);
  const int32_t p = any.partition("u", 4, {9, 12});
  EXPECT_GE(p, 0);
  EXPECT_LT(p, 4);
}

TEST(StickyPartitioner, SinglePartitionStays) {
  StickyPartitioner sp(1);
  EXPECT_EQ(sp.partition("t", 1, {}), 0);
  sp.on_new_batch("t", 0, 1, {});
  EXPECT_EQ(sp.partition("t", 1, {}), 0);
  // One available partition among several: switching has nowhere else to go.
  EXPECT_EQ(sp.partition("u", 5, {3}), 3);
  sp.on_new_batch("u", 3, 5, {3});
  EXPECT_EQ(sp.partition("u", 5, {3}), 3);
}

TEST(StickyPartitioner, ChangedPartitionCountChoosesAgain) {
  StickyPartitioner sp(9);
  // Stick to a partition >= 2, then shrink the topic's count (or the metadata's view of it)
  // to 2: the old choice is out of range and must be replaced.
  int32_t p = sp.partition("t", 50, {});
  while (p < 2) {
    sp.on_new_batch("t", p, 50, {});
    p = sp.partition("t", 50, {});
  }
  const int32_t after = sp.partition("t", 2, {});
  EXPECT_GE(after, 0);
  EXPECT_LT(after, 2);
  EXPECT_EQ(sp.partition("t", 2, {}), after);
  // Growing the count re-chooses too (new partitions get a chance), within range.
  const int32_t grown = sp.partition("t", 1000, {});
  EXPECT_GE(grown, 0);
  EXPECT_LT(grown, 1000);
  EXPECT_EQ(sp.partition("t", 1000, {}), grown);
  EXPECT_EQ(sp.partition("t", 0, {}), -1);
}

TEST(StickyPartitioner, SpreadsOverAllPartitions) {
  StickyPartitioner sp;  // random_device seeded
  std::vector<int> hits(8, 0);
  int32_t current = sp.partition("t", 8, {});
  for (int i = 0; i < 8000; ++i) {
    ++hits[static_cast<size_t>(current)];
    sp.on_new_batch("t", current, 8, {});
    current = sp.partition("t", 8, {});
  }
  // Uniform over the other 7 each time: ~1000 per partition.
  for (int h : hits) {
    EXPECT_GT(h, 700);
    EXPECT_LT(h, 1300);
  }
}

}  // namespace
}  // namespace kafkacore::client
