// Hostile lengths and counts must not make the decoder allocate in proportion to what they
// claim. This binary replaces the global operator new to count the bytes requested.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <string>

#include "protocol/messages.h"
#include "protocol/reader.h"
#include "protocol/writer.h"
#include "test_util.h"

namespace {
std::atomic<size_t> g_allocated{0};
std::atomic<size_t> g_largest{0};
}  // namespace

// noinline stops GCC pairing an inlined free() with a new-expression (-Wmismatched-new-delete).
[[gnu::noinline]] void* operator new(size_t size) {
  g_allocated += size;
  size_t largest = g_largest.load();
  while (size > largest && !g_largest.compare_exchange_weak(largest, size)) {
  }
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
[[gnu::noinline]] void operator delete(void* p) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, size_t) noexcept { std::free(p); }

namespace kafkacore::protocol {
namespace {

using test::bytes_of;

struct Measure {
  Measure() {
    g_allocated = 0;
    g_largest = 0;
  }
  size_t total() const { return g_allocated; }
  size_t largest() const { return g_largest; }
};

constexpr size_t kBudget = 4096;  // error messages and the like

template <typename M>
void expect_cheap_failure(const Bytes& data, int16_t version) {
  Measure m;
  {
    M msg;
    Reader in(data);
    EXPECT_FALSE(msg.decode(in, version).has_value());
  }
  EXPECT_LT(m.total(), kBudget) << "allocated " << m.total() << " bytes";
  EXPECT_LT(m.largest(), kBudget) << "largest allocation " << m.largest() << " bytes";
}

// The counter works: a real 20000-byte string is allocated.
TEST(Allocations, MeasurementSeesRealAllocations) {
  Writer w;
  w.write_string(std::string(20000, 'x'), /*compact=*/false);
  const Bytes data = w.take_bytes();
  Measure m;
  Reader in(data);
  std::string s = in.read_string(false);
  EXPECT_EQ(s.size(), 20000u);
  EXPECT_GE(m.largest(), 20000u);
}

TEST(Allocations, HugeArrayCounts) {
  // MetadataResponse v0: Brokers claims 2^31-1 entries.
  expect_cheap_failure<MetadataResponse>(bytes_of({0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 1, 0, 0}), 0);
  // MetadataResponse v9 (compact): Brokers claims 2^32-2 entries.
  expect_cheap_failure<MetadataResponse>(
      bytes_of({0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2, 3}), 9);
  // FetchRequest v7 whose ForgottenTopicsData.Partitions ([]int32) claims 0x7f000000 entries.
  Writer w;
  w.write_int32(-1);  // replica id
  w.write_int32(0);   // max wait
  w.write_int32(0);   // min bytes
  w.write_int32(0);   // max bytes
  w.write_int8(0);    // isolation level
  w.write_int32(0);   // session id
  w.write_int32(-1);  // session epoch
  w.write_array_length(0, false);  // topics
  w.write_array_length(1, false);  // forgotten topics
  w.write_string("t", false);
  w.write_int32(0x7f000000);
  w.write_raw(Bytes(200, std::byte{0}));
  const Bytes fetch = w.take_bytes();
  expect_cheap_failure<FetchRequest>(fetch, 7);
}

TEST(Allocations, HugeStringAndBytesLengths) {
  // ProduceRequest v3: TransactionalId of 32767 bytes announced, 4 present.
  expect_cheap_failure<ProduceRequest>(bytes_of({0x7f, 0xff, 'a', 'b', 'c', 'd'}), 3);
  // ProduceRequest v9: compact TransactionalId of 2^32-2 bytes announced.
  expect_cheap_failure<ProduceRequest>(bytes_of({0xff, 0xff, 0xff, 0xff, 0x0f, 'a'}), 9);
  // Records of 2^31-1 bytes announced in a ProduceRequest v3.
  expect_cheap_failure<ProduceRequest>(
      bytes_of({0xff, 0xff, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 't', 0, 0, 0, 1, 0, 0, 0, 0,
                0x7f, 0xff, 0xff, 0xff, 1, 2, 3}),
      3);
}

TEST(Allocations, HugeTaggedSection) {
  // ApiVersionsRequest v3 whose tag section claims 2^32-1 fields.
  expect_cheap_failure<ApiVersionsRequest>(
      bytes_of({1, 1, 0xff, 0xff, 0xff, 0xff, 0x0f, 0, 0}), 3);
  // One tagged field claiming 2^32-1 payload bytes.
  expect_cheap_failure<ApiVersionsRequest>(
      bytes_of({1, 1, 1, 5, 0xff, 0xff, 0xff, 0xff, 0x0f, 0}), 3);
}

}  // namespace
}  // namespace kafkacore::protocol
