#include <nmmintrin.h>

#include <cstring>

#include "record/crc32c_internal.h"

namespace kafkacore::record::detail {

uint32_t crc32c_extend_sse42(uint32_t crc, const std::byte* data, size_t size) {
  uint64_t c = ~crc;
  while (size >= 8) {
    uint64_t word;
    std::memcpy(&word, data, 8);
    c = _mm_crc32_u64(c, word);
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
