#pragma once
#include <cstddef>
#include <cstdint>

namespace kafkacore::record::detail {
// Defined in crc32c_sse42.cc (compiled with -msse4.2); call only if the CPU supports it.
uint32_t crc32c_extend_sse42(uint32_t crc, const std::byte* data, size_t size);
}  // namespace kafkacore::record::detail
