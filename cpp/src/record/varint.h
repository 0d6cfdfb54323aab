#pragma once
// Protobuf-style zigzag varints used inside Kafka records (and by the protocol's compact types).
// Decoders never read past the end of the view and reject over-long encodings.
#include <cstdint>
#include <optional>

#include "common/bytes.h"

namespace kafkacore::record {

constexpr uint32_t zigzag_encode32(int32_t v) {
  return (static_cast<uint32_t>(v) << 1) ^ static_cast<uint32_t>(v >> 31);
}
constexpr uint64_t zigzag_encode64(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
constexpr int32_t zigzag_decode32(uint32_t v) {
  return static_cast<int32_t>(v >> 1) ^ -static_cast<int32_t>(v & 1);
}
constexpr int64_t zigzag_decode64(uint64_t v) {
  return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1);
}

constexpr size_t kMaxVarint32Bytes = 5;
constexpr size_t kMaxVarint64Bytes = 10;

// Cursor over a byte view; every read reports failure instead of running off the end.
class ByteReader {
 public:
  explicit ByteReader(ByteView data) : data_(data) {}
  size_t remaining() const { return data_.size() - pos_; }
  size_t position() const { return pos_; }
  bool at_end() const { return pos_ == data_.size(); }

  // One-byte values (most lengths, counts and deltas in a batch) inline; longer ones out of line.
  std::optional<uint32_t> read_unsigned_varint() {
    if (pos_ < data_.size() && static_cast<uint8_t>(data_[pos_]) < 0x80) {
      return static_cast<uint8_t>(data_[pos_++]);
    }
    return read_unsigned_varint_long();
  }
  std::optional<uint64_t> read_unsigned_varlong() {
    if (pos_ < data_.size() && static_cast<uint8_t>(data_[pos_]) < 0x80) {
      return static_cast<uint8_t>(data_[pos_++]);
    }
    return read_unsigned_varlong_long();
  }
  std::optional<int32_t> read_varint() {
    auto v = read_unsigned_varint();
    return v ? std::optional<int32_t>(zigzag_decode32(*v)) : std::nullopt;
  }
  std::optional<int64_t> read_varlong() {
    auto v = read_unsigned_varlong();
    return v ? std::optional<int64_t>(zigzag_decode64(*v)) : std::nullopt;
  }
  std::optional<int8_t> read_int8() {
    if (remaining() < 1) return std::nullopt;
    return static_cast<int8_t>(data_[pos_++]);
  }
  std::optional<ByteView> read_bytes(size_t n) {
    if (remaining() < n) return std::nullopt;
    ByteView out = data_.subspan(pos_, n);
    pos_ += n;
    return out;
  }

 private:
  std::optional<uint32_t> read_unsigned_varint_long();
  std::optional<uint64_t> read_unsigned_varlong_long();

  ByteView data_;
  size_t pos_ = 0;
};

size_t varint_size(int32_t v);
size_t varlong_size(int64_t v);
size_t unsigned_varint_size(uint64_t v);
// Appends the encoding to `out`.
void write_unsigned_varint(Bytes& out, uint64_t v);
inline void write_varint(Bytes& out, int32_t v) { write_unsigned_varint(out, zigzag_encode32(v)); }
inline void write_varlong(Bytes& out, int64_t v) { write_unsigned_varint(out, zigzag_encode64(v)); }

}  // namespace kafkacore::record
