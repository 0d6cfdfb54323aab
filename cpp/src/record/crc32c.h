#pragma once
// CRC-32C (Castagnoli), the checksum of Kafka RecordBatch v2. The SSE4.2 instruction is used when
// the CPU has it (chosen once at run time); otherwise a slicing-by-8 table.
#include <cstddef>
#include <cstdint>

#include "common/bytes.h"

namespace kafkacore::record {

// Extends `crc` (0 for a fresh checksum) over `data`. crc32c(crc32c(0, a), b) == crc32c(0, a+b).
uint32_t crc32c_extend(uint32_t crc, const std::byte* data, size_t size);

inline uint32_t crc32c(ByteView data) { return crc32c_extend(0, data.data(), data.size()); }

// Exposed for tests and benchmarks: both paths must agree.
uint32_t crc32c_extend_portable(uint32_t crc, const std::byte* data, size_t size);
bool crc32c_hardware_available();

}  // namespace kafkacore::record
