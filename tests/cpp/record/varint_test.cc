#include "record/varint.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "common/bytes.h"

namespace kafkacore::record {
namespace {

constexpr int32_t kI32Min = std::numeric_limits<int32_t>::min();
constexpr int32_t kI32Max = std::numeric_limits<int32_t>::max();
constexpr int64_t kI64Min = std::numeric_limits<int64_t>::min();
constexpr int64_t kI64Max = std::numeric_limits<int64_t>::max();

Bytes bytes_of(std::initializer_list<uint8_t> values) {
  Bytes out;
  for (uint8_t v : values) out.push_back(static_cast<std::byte>(v));
  return out;
}

Bytes encode_varint(int32_t v) {
  Bytes out;
  write_varint(out, v);
  return out;
}
Bytes encode_varlong(int64_t v) {
  Bytes out;
  write_varlong(out, v);
  return out;
}
Bytes encode_unsigned(uint64_t v) {
  Bytes out;
  write_unsigned_varint(out, v);
  return out;
}

std::vector<int32_t> interesting_int32() {
  std::vector<int32_t> out = {0,           1,          -1,         2,          -2,
                              63,          -64,        64,         -65,        127,
                              128,         -128,       255,        300,        -300,
                              8191,        8192,       -8192,      -8193,      (1 << 20) - 1,
                              1 << 20,     -(1 << 20), (1 << 27),  -(1 << 27), kI32Max,
                              kI32Max - 1, kI32Min,    kI32Min + 1};
  std::mt19937 rng(1);
  for (int i = 0; i < 2000; ++i) out.push_back(static_cast<int32_t>(rng()));
  return out;
}

std::vector<int64_t> interesting_int64() {
  std::vector<int64_t> out = {0,
                              1,
                              -1,
                              63,
                              -64,
                              64,
                              -65,
                              300,
                              -300,
                              kI32Max,
                              kI32Min,
                              int64_t{kI32Max} + 1,
                              int64_t{kI32Min} - 1,
                              int64_t{1} << 35,
                              -(int64_t{1} << 35),
                              int64_t{1} << 62,
                              -(int64_t{1} << 62),
                              kI64Max,
                              kI64Max - 1,
                              kI64Min,
                              kI64Min + 1,
                              1700000000000};
  std::mt19937_64 rng(2);
  for (int i = 0; i < 2000; ++i) out.push_back(static_cast<int64_t>(rng()));
  return out;
}

TEST(Zigzag, KnownMappings) {
  static_assert(zigzag_encode32(0) == 0);
  static_assert(zigzag_encode32(-1) == 1);
  static_assert(zigzag_encode32(1) == 2);
  static_assert(zigzag_encode32(-2) == 3);
  static_assert(zigzag_encode32(kI32Max) == 0xFFFFFFFEu);
  static_assert(zigzag_encode32(kI32Min) == 0xFFFFFFFFu);
  static_assert(zigzag_encode64(kI64Max) == 0xFFFFFFFFFFFFFFFEull);
  static_assert(zigzag_encode64(kI64Min) == 0xFFFFFFFFFFFFFFFFull);
  static_assert(zigzag_decode32(0xFFFFFFFFu) == kI32Min);
  static_assert(zigzag_decode64(0xFFFFFFFFFFFFFFFFull) == kI64Min);
  EXPECT_EQ(zigzag_encode64(-1), 1u);
  EXPECT_EQ(zigzag_encode64(1), 2u);
}

TEST(Zigzag, RoundTrips32) {
  for (int32_t v : interesting_int32()) {
    ASSERT_EQ(zigzag_decode32(zigzag_encode32(v)), v);
  }
  // And the other direction: every unsigned value comes from exactly one signed value.
  for (uint32_t u : {0u, 1u, 2u, 0x7FFFFFFFu, 0x80000000u, 0xFFFFFFFEu, 0xFFFFFFFFu}) {
    EXPECT_EQ(zigzag_encode32(zigzag_decode32(u)), u);
  }
}

TEST(Zigzag, RoundTrips64) {
  for (int64_t v : interesting_int64()) {
    ASSERT_EQ(zigzag_decode64(zigzag_encode64(v)), v);
  }
  for (uint64_t u : {0ull, 1ull, 0x7FFFFFFFFFFFFFFFull, 0x8000000000000000ull, ~0ull}) {
    EXPECT_EQ(zigzag_encode64(zigzag_decode64(u)), u);
  }
}

TEST(Varint, KnownEncodings) {
  EXPECT_EQ(encode_varint(0), bytes_of({0x00}));
  EXPECT_EQ(encode_varint(-1), bytes_of({0x01}));
  EXPECT_EQ(encode_varint(1), bytes_of({0x02}));
  EXPECT_EQ(encode_varint(-64), bytes_of({0x7f}));
  EXPECT_EQ(encode_varint(64), bytes_of({0x80, 0x01}));
  EXPECT_EQ(encode_varint(150), bytes_of({0xac, 0x02}));
  EXPECT_EQ(encode_varint(kI32Max), bytes_of({0xfe, 0xff, 0xff, 0xff, 0x0f}));
  EXPECT_EQ(encode_varint(kI32Min), bytes_of({0xff, 0xff, 0xff, 0xff, 0x0f}));
  EXPECT_EQ(encode_unsigned(0), bytes_of({0x00}));
  EXPECT_EQ(encode_unsigned(127), bytes_of({0x7f}));
  EXPECT_EQ(encode_unsigned(128), bytes_of({0x80, 0x01}));
  EXPECT_EQ(encode_unsigned(300), bytes_of({0xac, 0x02}));
  EXPECT_EQ(encode_unsigned(16384), bytes_of({0x80, 0x80, 0x01}));
  EXPECT_EQ(encode_varlong(0), bytes_of({0x00}));
  EXPECT_EQ(encode_varlong(-1), bytes_of({0x01}));
  EXPECT_EQ(encode_varlong(1), bytes_of({0x02}));
  EXPECT_EQ(encode_varlong(kI64Min),
            bytes_of({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}));
  EXPECT_EQ(encode_unsigned(~0ull),
            bytes_of({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}));
}

TEST(Varint, WritesAppend) {
  Bytes out = bytes_of({0xaa});
  write_varint(out, -1);
  write_unsigned_varint(out, 300);
  EXPECT_EQ(out, bytes_of({0xaa, 0x01, 0xac, 0x02}));
}

TEST(Varint, SizeMatchesWrittenLength) {
  for (int32_t v : interesting_int32()) {
    ASSERT_EQ(varint_size(v), encode_varint(v).size()) << v;
    ASSERT_LE(varint_size(v), kMaxVarint32Bytes);
  }
  for (int64_t v : interesting_int64()) {
    ASSERT_EQ(varlong_size(v), encode_varlong(v).size()) << v;
    ASSERT_LE(varlong_size(v), kMaxVarint64Bytes);
  }
  for (int shift = 0; shift < 64; ++shift) {
    for (uint64_t u : {(uint64_t{1} << shift) - 1, uint64_t{1} << shift}) {
      ASSERT_EQ(unsigned_varint_size(u), encode_unsigned(u).size()) << u;
    }
  }
  EXPECT_EQ(unsigned_varint_size(~0ull), 10u);
  EXPECT_EQ(varint_size(0), 1u);
  EXPECT_EQ(varint_size(-64), 1u);
  EXPECT_EQ(varint_size(64), 2u);
  EXPECT_EQ(varint_size(kI32Min), 5u);
  EXPECT_EQ(varlong_size(kI64Max), 10u);
}

TEST(ByteReader, RoundTripsSequences) {
  const auto ints = interesting_int32();
  const auto longs = interesting_int64();
  Bytes buf;
  for (size_t i = 0; i < ints.size(); ++i) {
    write_varint(buf, ints[i]);
    write_varlong(buf, longs[i % longs.size()]);
  }
  ByteReader in(buf);
  for (size_t i = 0; i < ints.size(); ++i) {
    auto a = in.read_varint();
    auto b = in.read_varlong();
    ASSERT_TRUE(a && b) << i;
    ASSERT_EQ(*a, ints[i]);
    ASSERT_EQ(*b, longs[i % longs.size()]);
  }
  EXPECT_TRUE(in.at_end());
  EXPECT_EQ(in.position(), buf.size());
  EXPECT_FALSE(in.read_varint());
  EXPECT_FALSE(in.read_varlong());
}

TEST(ByteReader, MaximalEncodingsAccepted) {
  const Bytes u32max = bytes_of({0xff, 0xff, 0xff, 0xff, 0x0f});
  ByteReader a(u32max);
  EXPECT_EQ(a.read_unsigned_varint(), 0xFFFFFFFFu);
  EXPECT_TRUE(a.at_end());

  const Bytes u64max = bytes_of({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01});
  ByteReader b(u64max);
  EXPECT_EQ(b.read_unsigned_varlong(), ~0ull);
  EXPECT_TRUE(b.at_end());

  // 32-bit values read through the 64-bit reader are fine too.
  ByteReader c(u32max);
  EXPECT_EQ(c.read_unsigned_varlong(), 0xFFFFFFFFull);
}

TEST(ByteReader, RejectsTruncatedVarints) {
  const std::vector<Bytes> truncated = {
      bytes_of({}),     bytes_of({0x80}),       bytes_of({0xff}),
      bytes_of({0xac}), bytes_of({0x80, 0x80}), bytes_of({0xff, 0xff, 0xff, 0xff}),
  };
  for (const auto& t : truncated) {
    ByteReader r32(t);
    EXPECT_FALSE(r32.read_varint()) << t.size();
    EXPECT_LE(r32.position(), t.size());
    ByteReader r64(t);
    EXPECT_FALSE(r64.read_varlong()) << t.size();
    EXPECT_LE(r64.position(), t.size());
  }
  // Every proper prefix of a long encoding fails.
  const Bytes full = encode_varlong(kI64Min);
  for (size_t n = 0; n < full.size(); ++n) {
    ByteReader r(ByteView(full).first(n));
    EXPECT_FALSE(r.read_varlong()) << n;
    EXPECT_LE(r.position(), n);
  }
}

TEST(ByteReader, RejectsOverlong32BitVarints) {
  // Six or more bytes can never be a 32-bit varint, even if they encode a small value.
  EXPECT_FALSE(ByteReader(bytes_of({0x80, 0x80, 0x80, 0x80, 0x80, 0x00})).read_unsigned_varint());
  EXPECT_FALSE(ByteReader(bytes_of({0xff, 0xff, 0xff, 0xff, 0xff, 0x01})).read_unsigned_varint());
  EXPECT_FALSE(ByteReader(bytes_of({0x81, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00})).read_varint());
  // The fifth byte may carry only the top four bits of the value.
  EXPECT_FALSE(ByteReader(bytes_of({0xff, 0xff, 0xff, 0xff, 0x10})).read_unsigned_varint());
  EXPECT_FALSE(ByteReader(bytes_of({0x80, 0x80, 0x80, 0x80, 0x7f})).read_varint());
}

TEST(ByteReader, RejectsOverlong64BitVarlongs) {
  Bytes eleven(10, std::byte{0x80});
  eleven.push_back(std::byte{0x00});
  EXPECT_FALSE(ByteReader(eleven).read_unsigned_varlong());
  EXPECT_FALSE(ByteReader(eleven).read_varlong());
  Bytes eleven_ff(10, std::byte{0xff});
  eleven_ff.push_back(std::byte{0x01});
  EXPECT_FALSE(ByteReader(eleven_ff).read_varlong());
  // A tenth byte may only carry the top bit.
  Bytes ten_bad(9, std::byte{0xff});
  ten_bad.push_back(std::byte{0x02});
  EXPECT_FALSE(ByteReader(ten_bad).read_unsigned_varlong());
}

TEST(ByteReader, NeverReadsPastTheViewEnd) {
  // The byte just past the view would complete each varint; the reader must not look at it.
  const Bytes backing = bytes_of({0x80, 0x80, 0x01, 0x05, 0x06});
  for (size_t n = 0; n <= 2; ++n) {
    const ByteView view = ByteView(backing).first(n);
    ByteReader r32(view);
    EXPECT_FALSE(r32.read_varint()) << n;
    EXPECT_LE(r32.position(), n);
    ByteReader r64(view);
    EXPECT_FALSE(r64.read_varlong()) << n;
    EXPECT_LE(r64.position(), n);
  }
  ByteReader whole(ByteView(backing).first(3));
  EXPECT_EQ(whole.read_unsigned_varint(), 1u << 14);
  EXPECT_TRUE(whole.at_end());

  // Fixed-size reads stop at the view end too, without consuming anything.
  ByteReader r(ByteView(backing).first(4));
  EXPECT_FALSE(r.read_bytes(5));
  EXPECT_EQ(r.position(), 0u);
  auto three = r.read_bytes(3);
  ASSERT_TRUE(three);
  EXPECT_EQ(three->size(), 3u);
  EXPECT_EQ(three->data(), backing.data());
  EXPECT_FALSE(r.read_bytes(2));
  EXPECT_EQ(r.remaining(), 1u);
  EXPECT_EQ(r.read_int8(), 5);
  EXPECT_FALSE(r.read_int8());
  EXPECT_TRUE(r.at_end());
  auto empty = r.read_bytes(0);
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());
  EXPECT_FALSE(r.read_bytes(std::numeric_limits<size_t>::max()));
}

TEST(ByteReader, ReadsSignedBytes) {
  const Bytes data = bytes_of({0xff, 0x80, 0x7f});
  ByteReader r(data);
  EXPECT_EQ(r.read_int8(), -1);
  EXPECT_EQ(r.read_int8(), -128);
  EXPECT_EQ(r.read_int8(), 127);
  EXPECT_FALSE(r.read_int8());
}

}  // namespace
}  // namespace kafkacore::record
