// Hostile and malformed input: absurd and negative lengths and counts, malformed varints,
// truncated tagged sections. Every case must fail cleanly, quickly and without allocating in
// proportion to the claimed sizes (protocol_alloc_test measures the allocations).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <vector>

#include "protocol/messages.h"
#include "protocol/reader.h"
#include "protocol/writer.h"
#include "test_util.h"

namespace kafkacore::protocol {
namespace {

using test::bytes_of;
using test::concat;

template <typename M>
Result<void> decode(M& m, const Bytes& data, int16_t version) {
  Reader in(data);
  return m.decode(in, version);
}

TEST(HostileInput, HugeClassicArrayCountFailsBeforeAllocating) {
  // ApiVersionsResponse v0: error_code, then ApiKeys claiming 2^31-1 entries in 6 bytes.
  const Bytes data = bytes_of({0, 0, 0x7f, 0xff, 0xff, 0xff, 0, 18, 0, 0, 0, 4});
  ApiVersionsResponse m;
  const auto start = std::chrono::steady_clock::now();
  auto status = decode(m, data, 0);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(status.has_value());
  EXPECT_EQ(status.error().code(), Errc::invalid_request);
  EXPECT_NE(status.error().message().find("cannot fit"), std::string::npos);
  EXPECT_EQ(m.api_keys.capacity(), 0u);
  EXPECT_LT(elapsed, std::chrono::milliseconds(100));
}

TEST(HostileInput, HugeCompactArrayCountFails) {
  // ApiVersionsResponse v3: compact count 2^32-2 (varint 0xfffffffe + 1).
  const Bytes data = bytes_of({0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f, 0, 18, 0, 0, 0, 4, 0, 0});
  ApiVersionsResponse m;
  EXPECT_FALSE(decode(m, data, 3).has_value());
  EXPECT_EQ(m.api_keys.capacity(), 0u);
}

TEST(HostileInput, ArrayCountIsCheckedAgainstTheElementSize) {
  const Bytes data = bytes_of({0, 0, 0, 3, 1, 2, 3, 4, 5, 6, 7, 8});  // 3 int32 in 8 bytes
  Reader r(data);
  EXPECT_EQ(r.read_array_length(false, false, 4), 0);
  EXPECT_FALSE(r.ok());
  const Bytes two_data = bytes_of({0, 0, 0, 2, 1, 2, 3, 4, 5, 6, 7, 8});
  Reader two(two_data);
  EXPECT_EQ(two.read_array_length(false, false, 4), 2);
  EXPECT_TRUE(two.ok());
}

TEST(HostileInput, NegativeArrayCountsOtherThanMinusOneFail) {
  for (const Bytes& data : {bytes_of({0, 0, 0xff, 0xff, 0xff, 0xfe}),
                            bytes_of({0, 0, 0x80, 0, 0, 0})}) {
    ApiVersionsResponse m;
    auto status = decode(m, data, 0);
    ASSERT_FALSE(status.has_value());
    EXPECT_NE(status.error().message().find("negative"), std::string::npos);
  }
  // -1 is null, and ApiKeys is not nullable.
  ApiVersionsResponse m;
  EXPECT_FALSE(decode(m, bytes_of({0, 0, 0xff, 0xff, 0xff, 0xff}), 0).has_value());
}

TEST(HostileInput, StringLengths) {
  // Negative classic length other than -1.
  const Bytes negative_data = bytes_of({0xff, 0xfe, 'a'});
  Reader negative(negative_data);
  negative.read_nullable_string(false);
  EXPECT_FALSE(negative.ok());
  // Longer than what is left.
  const Bytes too_long_data = bytes_of({0x7f, 0xff, 'a', 'b'});
  Reader too_long(too_long_data);
  too_long.read_string(false);
  EXPECT_FALSE(too_long.ok());
  EXPECT_EQ(too_long.position(), 2u);
  // Compact length past the int16 limit, even with the bytes present.
  Writer w;
  w.write_unsigned_varint(40001);
  w.write_raw(Bytes(40000, std::byte{'x'}));
  Reader over_limit(w.bytes());
  over_limit.read_string(true);
  EXPECT_FALSE(over_limit.ok());
  // Compact length of 2^32-2.
  const Bytes huge_data = bytes_of({0xff, 0xff, 0xff, 0xff, 0x0f, 'a'});
  Reader huge(huge_data);
  huge.read_string(true);
  EXPECT_FALSE(huge.ok());
}

TEST(HostileInput, BytesLengths) {
  const Bytes negative_data = bytes_of({0xff, 0xff, 0xff, 0xfb});
  Reader negative(negative_data);
  negative.read_nullable_bytes(false);
  EXPECT_FALSE(negative.ok());
  const Bytes huge_data = bytes_of({0x7f, 0xff, 0xff, 0xff, 1, 2, 3});
  Reader huge(huge_data);
  EXPECT_TRUE(huge.read_bytes(false).empty());
  EXPECT_FALSE(huge.ok());
  const Bytes records_data = bytes_of({0x7f, 0xff, 0xff, 0xff, 1, 2, 3});
  Reader records(records_data);
  records.read_records(false, true);
  EXPECT_FALSE(records.ok());
  const Bytes compact_data = bytes_of({0xff, 0xff, 0xff, 0xff, 0x0f});
  Reader compact(compact_data);
  compact.read_records(true, true);
  EXPECT_FALSE(compact.ok());
}

TEST(HostileInput, MalformedVarints) {
  // Six continuation bytes: longer than any 32-bit varint.
  const Bytes too_long_data = bytes_of({0xff, 0xff, 0xff, 0xff, 0xff, 0x01});
  Reader too_long(too_long_data);
  too_long.read_unsigned_varint();
  EXPECT_FALSE(too_long.ok());
  // The fifth byte may only carry four bits.
  const Bytes overflow_data = bytes_of({0xff, 0xff, 0xff, 0xff, 0x1f});
  Reader overflow(overflow_data);
  overflow.read_unsigned_varint();
  EXPECT_FALSE(overflow.ok());
  // Truncated in the middle.
  const Bytes truncated_data = bytes_of({0x80, 0x80});
  Reader truncated(truncated_data);
  truncated.read_unsigned_varint();
  EXPECT_FALSE(truncated.ok());
}

TEST(HostileInput, TaggedSections) {
  std::vector<TaggedField> unknown;
  // Size past the end of the input.
  const Bytes size_too_big_data = bytes_of({1, 0, 10, 1, 2});
  Reader size_too_big(size_too_big_data);
  size_too_big.read_tagged_fields(unknown);
  EXPECT_FALSE(size_too_big.ok());
  EXPECT_TRUE(unknown.empty());
  // A count of 2^32-1 fields with three bytes of input: fails at the second field.
  const Bytes huge_count_data = bytes_of({0xff, 0xff, 0xff, 0xff, 0x0f, 0, 0});
  Reader huge_count(huge_count_data);
  const auto start = std::chrono::steady_clock::now();
  huge_count.read_tagged_fields(unknown);
  EXPECT_FALSE(huge_count.ok());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(100));
  EXPECT_EQ(unknown.size(), 1u);
  // skip_tagged_fields has the same checks.
  const Bytes skip_data = bytes_of({2, 0, 1, 7});
  Reader skip(skip_data);
  skip.skip_tagged_fields();
  EXPECT_FALSE(skip.ok());
}

TEST(HostileInput, KnownTaggedFieldWithWrongSizeFailsTheMessage) {
  // ApiVersionsResponse v3 with FinalizedFeaturesEpoch (tag 1, int64) given 3 bytes.
  const Bytes data = bytes_of({0, 0, 1, 0, 0, 0, 0, 1, 1, 3, 0, 0, 7});
  ApiVersionsResponse m;
  EXPECT_FALSE(decode(m, data, 3).has_value());
  // And with its proper 8 bytes it decodes.
  const Bytes good = bytes_of({0, 0, 1, 0, 0, 0, 0, 1, 1, 8, 0, 0, 0, 0, 0, 0, 0, 7});
  ApiVersionsResponse ok;
  ASSERT_TRUE(decode(ok, good, 3).has_value());
  EXPECT_EQ(ok.finalized_features_epoch, 7);
}

TEST(HostileInput, UnknownTagsOfAMessageArePreserved) {
  // ApiVersionsRequest v3: two strings, then tags {tag 7: 2 bytes}.
  const Bytes data = bytes_of({2, 'a', 2, 'b', 1, 7, 2, 0xde, 0xad});
  ApiVersionsRequest m;
  ASSERT_TRUE(decode(m, data, 3).has_value());
  ASSERT_EQ(m.unknown_tagged_fields.size(), 1u);
  EXPECT_EQ(m.unknown_tagged_fields[0].tag, 7u);
  Writer w;
  m.encode(w, 3);
  EXPECT_EQ(w.bytes(), data);
}

TEST(HostileInput, RandomGarbageNeverCrashes) {
  std::vector<Bytes> inputs;
  uint32_t seed = 12345;
  for (int i = 0; i < 2000; ++i) {
    Bytes b(static_cast<size_t>(i % 64));
    for (auto& x : b) {
      seed = seed * 1664525u + 1013904223u;
      x = static_cast<std::byte>(seed >> 24);
    }
    inputs.push_back(std::move(b));
  }
  for (const Bytes& input : inputs) {
    for (int16_t v = ApiVersionsResponse::min_version; v <= ApiVersionsResponse::max_version;
         ++v) {
      ApiVersionsResponse m;
      (void)decode(m, input, v);
      ApiVersionsRequest r;
      (void)decode(r, input, v);
    }
  }
}

}  // namespace
}  // namespace kafkacore::protocol
