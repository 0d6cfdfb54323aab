#include "record/varint.h"

namespace kafkacore::record {

std::optional<uint32_t> ByteReader::read_unsigned_varint_long() {
  uint32_t result = 0;
  for (size_t i = 0; i < kMaxVarint32Bytes; ++i) {
    if (pos_ >= data_.size()) return std::nullopt;
    auto b = static_cast<uint8_t>(data_[pos_++]);
    // The fifth byte may only carry the top 4 bits of a 32-bit value.
    if (i == 4 && (b & 0xf0) != 0) return std::nullopt;
    result |= static_cast<uint32_t>(b & 0x7f) << (7 * i);
    if ((b & 0x80) == 0) return result;
  }
  return std::nullopt;
}

std::optional<uint64_t> ByteReader::read_unsigned_varlong_long() {
  uint64_t result = 0;
  for (size_t i = 0; i < kMaxVarint64Bytes; ++i) {
    if (pos_ >= data_.size()) return std::nullopt;
    auto b = static_cast<uint8_t>(data_[pos_++]);
    if (i == 9 && (b & 0xfe) != 0) return std::nullopt;
    result |= static_cast<uint64_t>(b & 0x7f) << (7 * i);
    if ((b & 0x80) == 0) return result;
  }
  return std::nullopt;
}

size_t unsigned_varint_size(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

size_t varint_size(int32_t v) { return unsigned_varint_size(zigzag_encode32(v)); }
size_t varlong_size(int64_t v) { return unsigned_varint_size(zigzag_encode64(v)); }

void write_unsigned_varint(Bytes& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<std::byte>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<std::byte>(v));
}

}  // namespace kafkacore::record
