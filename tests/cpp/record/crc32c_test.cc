#include "record/crc32c.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <initializer_list>
#include <iostream>
#include <random>
#include <string_view>
#include <vector>

#include "common/bytes.h"

namespace kafkacore::record {
namespace {

// Bit-at-a-time CRC-32C, the definition itself: a third opinion next to the two tuned paths.
uint32_t reference_crc32c(uint32_t crc, ByteView data) {
  uint32_t c = ~crc;
  for (std::byte b : data) {
    c ^= static_cast<uint8_t>(b);
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ ((c & 1) ? 0x82F63B78u : 0u);
  }
  return ~c;
}

Bytes filled(size_t n, uint8_t value) { return Bytes(n, static_cast<std::byte>(value)); }

Bytes random_bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  Bytes out(n);
  for (auto& b : out) b = static_cast<std::byte>(rng() & 0xff);
  return out;
}

uint32_t portable(ByteView data, uint32_t crc = 0) {
  return crc32c_extend_portable(crc, data.data(), data.size());
}

TEST(Crc32c, KnownVectors) {
  struct Vector {
    const char* name;
    Bytes data;
    uint32_t crc;
  };
  Bytes ascending(32);
  Bytes descending(32);
  for (size_t i = 0; i < 32; ++i) {
    ascending[i] = static_cast<std::byte>(i);
    descending[i] = static_cast<std::byte>(31 - i);
  }
  const std::string_view check = "123456789";
  const Vector vectors[] = {
      {"empty", Bytes{}, 0x00000000u},
      {"123456789", Bytes(as_bytes(check).begin(), as_bytes(check).end()), 0xE3069283u},
      {"32 zeros", filled(32, 0x00), 0x8A9136AAu},
      {"32 x 0xFF", filled(32, 0xFF), 0x62A8AB43u},
      {"0..31", ascending, 0x46DD794Eu},
      {"31..0", descending, 0x113FDB5Cu},  // RFC 3720 B.4
  };
  for (const auto& v : vectors) {
    SCOPED_TRACE(v.name);
    EXPECT_EQ(crc32c(v.data), v.crc);
    EXPECT_EQ(crc32c_extend(0, v.data.data(), v.data.size()), v.crc);
    EXPECT_EQ(portable(v.data), v.crc);
    EXPECT_EQ(reference_crc32c(0, v.data), v.crc);
  }
}

TEST(Crc32c, EmptyInputLeavesCrcUnchanged) {
  for (uint32_t crc : {0u, 1u, 0xE3069283u, 0xFFFFFFFFu}) {
    EXPECT_EQ(crc32c_extend(crc, nullptr, 0), crc);
    EXPECT_EQ(crc32c_extend_portable(crc, nullptr, 0), crc);
  }
}

TEST(Crc32c, HardwarePathChosenWhenCpuHasIt) {
#if defined(__x86_64__)
  if (__builtin_cpu_supports("sse4.2")) {
    EXPECT_TRUE(crc32c_hardware_available());
  } else {
    EXPECT_FALSE(crc32c_hardware_available());
  }
#else
  GTEST_SKIP() << "hardware CRC32C is only wired up for x86-64";
#endif
}

// crc32c_extend dispatches to the hardware path when there is one; it must agree with the
// portable table and the bit-wise definition for every length and misalignment.
TEST(Crc32c, HardwareAndPortableAgreeOnAllLengthsAndAlignments) {
  if (!crc32c_hardware_available()) {
    std::cout << "[   NOTE   ] no hardware CRC32C; comparing the dispatcher with itself\n";
  }
  constexpr size_t kMaxLen = 4096;
  constexpr size_t kMaxOffset = 7;
  const Bytes buf = random_bytes(kMaxLen + kMaxOffset, 12345);
  for (size_t offset = 0; offset <= kMaxOffset; ++offset) {
    for (size_t len = 1; len <= kMaxLen; ++len) {
      const std::byte* p = buf.data() + offset;
      const uint32_t hw = crc32c_extend(0, p, len);
      const uint32_t sw = crc32c_extend_portable(0, p, len);
      ASSERT_EQ(hw, sw) << "len " << len << " offset " << offset;
    }
  }
  // The bit-wise reference is slow; spot-check it on every length up to 64 and a few larger ones.
  for (size_t offset = 0; offset <= kMaxOffset; ++offset) {
    for (size_t len : std::initializer_list<size_t>{1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63,
                                                    64, 65, 1000, 4095, 4096}) {
      ByteView v(buf.data() + offset, len);
      ASSERT_EQ(crc32c_extend(0, v.data(), v.size()), reference_crc32c(0, v))
          << "len " << len << " offset " << offset;
    }
  }
}

// Long inputs run as three interleaved streams joined afterwards (blocks of 2048 bytes, then of
// 128): lengths around every block boundary, with a non-zero starting CRC, must still agree.
TEST(Crc32c, InterleavedStreamsAgreeAroundBlockBoundaries) {
  const Bytes buf = random_bytes(70000, 2024);
  std::mt19937 rng(11);
  std::vector<size_t> lengths;
  for (size_t base : {383u, 384u, 3u * 2048, 2u * 3 * 2048, 5u * 3 * 2048}) {
    for (size_t delta : {0u, 1u, 7u, 8u, 127u, 128u, 129u, 383u, 384u, 385u}) {
      lengths.push_back(base + delta);
      if (base > delta) lengths.push_back(base - delta);
    }
  }
  lengths.push_back(65536);
  for (size_t len : lengths) {
    for (size_t offset : {0u, 3u}) {
      const uint32_t start = static_cast<uint32_t>(rng());
      ByteView v(buf.data() + offset, len);
      ASSERT_EQ(crc32c_extend(start, v.data(), v.size()),
                crc32c_extend_portable(start, v.data(), v.size()))
          << "len " << len << " offset " << offset;
    }
  }
}

TEST(Crc32c, PathsAgreeWithNonZeroStartingCrc) {
  const Bytes buf = random_bytes(1024, 99);
  std::mt19937 rng(7);
  for (int i = 0; i < 500; ++i) {
    const uint32_t start = static_cast<uint32_t>(rng());
    const size_t offset = rng() % 8;
    const size_t len = rng() % (buf.size() - offset + 1);
    ByteView v(buf.data() + offset, len);
    const uint32_t hw = crc32c_extend(start, v.data(), v.size());
    ASSERT_EQ(hw, crc32c_extend_portable(start, v.data(), v.size()));
    ASSERT_EQ(hw, reference_crc32c(start, v));
  }
}

TEST(Crc32c, ExtendComposes) {
  const Bytes buf = random_bytes(3000, 4242);
  const ByteView all(buf);
  const uint32_t whole = crc32c(all);
  const uint32_t whole_portable = portable(all);
  ASSERT_EQ(whole, whole_portable);
  for (size_t split = 0; split <= buf.size(); split += (split < 80 ? 1 : 37)) {
    const ByteView a = all.first(split);
    const ByteView b = all.subspan(split);
    ASSERT_EQ(crc32c_extend(crc32c(a), b.data(), b.size()), whole) << "split " << split;
    ASSERT_EQ(crc32c_extend_portable(portable(a), b.data(), b.size()), whole) << "split " << split;
    // Mixing the paths across the split works too: they compute the same function.
    ASSERT_EQ(crc32c_extend_portable(crc32c(a), b.data(), b.size()), whole) << "split " << split;
  }
  // Three pieces, one of them empty.
  const ByteView p1 = all.first(100);
  const ByteView p2 = all.subspan(100, 0);
  const ByteView p3 = all.subspan(100);
  uint32_t c = crc32c(p1);
  c = crc32c_extend(c, p2.data(), p2.size());
  c = crc32c_extend(c, p3.data(), p3.size());
  EXPECT_EQ(c, whole);
}

TEST(Crc32c, DetectsEverySingleBitFlip) {
  Bytes buf = random_bytes(64, 5);
  const uint32_t original = crc32c(buf);
  for (size_t i = 0; i < buf.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      buf[i] ^= static_cast<std::byte>(1u << bit);
      EXPECT_NE(crc32c(buf), original) << "byte " << i << " bit " << bit;
      buf[i] ^= static_cast<std::byte>(1u << bit);
    }
  }
  EXPECT_EQ(crc32c(buf), original);
}

}  // namespace
}  // namespace kafkacore::record
