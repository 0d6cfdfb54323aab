#include "record/crc32c.h"

#include <array>
#include <cstring>

#include "record/crc32c_internal.h"

namespace kafkacore::record {
namespace {

constexpr uint32_t kPoly = 0x82F63B78;  // reflected Castagnoli polynomial

using Tables = std::array<std::array<uint32_t, 256>, 8>;

constexpr Tables make_tables() {
  Tables t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ ((c & 1) ? kPoly : 0);
    t[0][i] = c;
  }
  for (uint32_t i = 0; i < 256; ++i) {
    for (size_t s = 1; s < 8; ++s) t[s][i] = (t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xff];
  }
  return t;
}

constexpr Tables kTables = make_tables();

using ExtendFn = uint32_t (*)(uint32_t, const std::byte*, size_t);

ExtendFn pick_implementation() {
#if defined(KAFKACORE_HAVE_SSE42_SOURCE) && (defined(__x86_64__) || defined(__i386__))
  if (__builtin_cpu_supports("sse4.2")) return &detail::crc32c_extend_sse42;
#endif
  return &crc32c_extend_portable;
}

const ExtendFn kExtend = pick_implementation();

}  // namespace

uint32_t crc32c_extend_portable(uint32_t crc, const std::byte* data, size_t size) {
  uint32_t c = ~crc;
  while (size >= 8) {
    uint32_t lo;
    uint32_t hi;
    std::memcpy(&lo, data, 4);
    std::memcpy(&hi, data + 4, 4);
    if constexpr (std::endian::native == std::endian::big) {
      lo = std::byteswap(lo);
      hi = std::byteswap(hi);
    }
    lo ^= c;
    c = kTables[7][lo & 0xff] ^ kTables[6][(lo >> 8) & 0xff] ^ kTables[5][(lo >> 16) & 0xff] ^
        kTables[4][lo >> 24] ^ kTables[3][hi & 0xff] ^ kTables[2][(hi >> 8) & 0xff] ^
        kTables[1][(hi >> 16) & 0xff] ^ kTables[0][hi >> 24];
    data += 8;
    size -= 8;
  }
  while (size > 0) {
    c = (c >> 8) ^ kTables[0][(c ^ static_cast<uint8_t>(*data)) & 0xff];
    ++data;
    --size;
  }
  return ~c;
}

bool crc32c_hardware_available() { return kExtend != &crc32c_extend_portable; }

uint32_t crc32c_extend(uint32_t crc, const std::byte* data, size_t size) {
  return kExtend(crc, data, size);
}

}  // namespace kafkacore::record
