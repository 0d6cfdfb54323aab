#include <nmmintrin.h>

#include <array>
#include <cstring>

#include "record/crc32c_internal.h"

// The crc32 instruction takes 3 cycles to give its result but can start one per cycle, so one
// running CRC uses a third of the unit. Long inputs are cut into three adjacent blocks whose
// CRCs run interleaved (the first from the running CRC, the others from zero) and are then
// joined: the CRC register update is linear, so reg(s, A|B) = shift(reg(s, A), |B|) ^ reg(0, B),
// where shift(x, n) is the register after n zero bytes. shift for a fixed n is a 32x32 bit
// matrix, applied here as four byte-indexed tables built once at first use.
namespace kafkacore::record::detail {

namespace {

uint64_t load64(const std::byte* p) {
  uint64_t word;
  std::memcpy(&word, p, 8);
  return word;
}

class ZeroShift {
 public:
  explicit ZeroShift(size_t bytes) {
    std::array<uint32_t, 32> basis{};
    for (int bit = 0; bit < 32; ++bit) {
      uint64_t c = uint32_t{1} << bit;
      for (size_t i = 0; i < bytes; i += 8) c = _mm_crc32_u64(c, 0);
      basis[bit] = static_cast<uint32_t>(c);
    }
    for (int k = 0; k < 4; ++k) {
      for (uint32_t b = 0; b < 256; ++b) {
        uint32_t v = 0;
        for (int bit = 0; bit < 8; ++bit) {
          if ((b >> bit) & 1) v ^= basis[8 * k + bit];
        }
        tables_[k][b] = v;
      }
    }
  }

  uint32_t operator()(uint32_t x) const {
    return tables_[0][x & 0xff] ^ tables_[1][(x >> 8) & 0xff] ^ tables_[2][(x >> 16) & 0xff] ^
           tables_[3][x >> 24];
  }

 private:
  std::array<std::array<uint32_t, 256>, 4> tables_{};
};

// Consumes whole runs of three `block`-byte blocks from data/size.
template <size_t block>
uint64_t three_way(uint64_t c, const std::byte*& data, size_t& size) {
  static_assert(block % 8 == 0);
  static const ZeroShift shift(block);
  while (size >= 3 * block) {
    uint64_t a = c;
    uint64_t b = 0;
    uint64_t d = 0;
    for (size_t i = 0; i < block; i += 8) {
      a = _mm_crc32_u64(a, load64(data + i));
      b = _mm_crc32_u64(b, load64(data + block + i));
      d = _mm_crc32_u64(d, load64(data + 2 * block + i));
    }
    c = shift(shift(static_cast<uint32_t>(a)) ^ static_cast<uint32_t>(b)) ^
        static_cast<uint32_t>(d);
    data += 3 * block;
    size -= 3 * block;
  }
  return c;
}

}  // namespace

uint32_t crc32c_extend_sse42(uint32_t crc, const std::byte* data, size_t size) {
  uint64_t c = ~crc;
  c = three_way<2048>(c, data, size);
  c = three_way<128>(c, data, size);
  while (size >= 8) {
    c = _mm_crc32_u64(c, load64(data));
    data += 8;
    size -= 8;
  }
  auto c32 = static_cast<uint32_t>(c);
  while (size > 0) {
    c32 = _mm_crc32_u8(c32, static_cast<uint8_t>(*data));
    ++data;
    --size;
  }
  return ~c32;
}

}  // namespace kafkacore::record::detail
