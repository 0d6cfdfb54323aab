#pragma once
// Bounds-checked cursor over a received frame body. Every read checks the remaining bytes; the
// first failure is remembered (a sticky error) and every later read returns a zero value without
// touching the input, so decoders read a whole structure and check `ok()`/`status()` once.
// Lengths and element counts are checked against the remaining bytes before anything is
// allocated, so a hostile count or length costs nothing. Not thread-safe; the viewed bytes must
// outlive the reader and anything decoded as a view (`records`).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/bytes.h"
#include "common/error.h"
#include "protocol/records.h"
#include "protocol/types.h"

namespace kafkacore::protocol {

class Reader {
 public:
  explicit Reader(ByteView data) : data_(data) {}
  // A reader over a temporary buffer would dangle at once.
  explicit Reader(Bytes&&) = delete;

  bool ok() const { return !error_.has_value(); }
  // The sticky error, or success.
  Result<void> status() const;
  const std::optional<Error>& error() const { return error_; }
  // Records a decode error (Errc::invalid_request) unless one is already set; the message gets
  // the position appended. After this every read returns zero values.
  void fail(std::string_view message);

  size_t position() const { return pos_; }
  size_t remaining() const { return data_.size() - pos_; }
  bool at_end() const { return pos_ == data_.size(); }
  ByteView rest() const { return data_.subspan(pos_); }

  // Fixed-width big-endian integers and IEEE-754 doubles.
  bool read_bool() { return read_fixed<uint8_t>() != 0; }
  int8_t read_int8() { return read_fixed<int8_t>(); }
  int16_t read_int16() { return read_fixed<int16_t>(); }
  int32_t read_int32() { return read_fixed<int32_t>(); }
  int64_t read_int64() { return read_fixed<int64_t>(); }
  uint16_t read_uint16() { return read_fixed<uint16_t>(); }
  uint32_t read_uint32() { return read_fixed<uint32_t>(); }
  double read_float64();
  Uuid read_uuid();

  // Variable-length integers (unsigned LEB128 and zigzag), rejecting over-long encodings.
  uint32_t read_unsigned_varint();
  uint64_t read_unsigned_varlong();
  int32_t read_varint();
  int64_t read_varlong();

  // Strings: classic = int16 length (-1 = null), compact = unsigned varint length+1 (0 = null).
  // A null where `nullable` is false, or a length other than -1 below zero, is an error.
  std::string read_string(bool compact);
  std::optional<std::string> read_nullable_string(bool compact, bool nullable = true);
  // Bytes: classic = int32 length (-1 = null), compact as for strings.
  Bytes read_bytes(bool compact);
  std::optional<Bytes> read_nullable_bytes(bool compact, bool nullable = true);
  // Zero-copy bytes (a view into the input); std::nullopt for null.
  std::optional<ByteView> read_bytes_view(bool compact, bool nullable);
  // Records: same framing as bytes, returned as a zero-copy view.
  Records read_records(bool compact, bool nullable);

  // An array's element count: classic = int32 (-1 = null), compact = unsigned varint count+1
  // (0 = null). Returns -1 for null (only when `nullable`), 0 after an error. A count that could
  // not fit in the remaining bytes (at least `min_element_size` bytes each, at least 1) is an error.
  int32_t read_array_length(bool compact, bool nullable, size_t min_element_size = 1);

  // The next `n` bytes as a view (error if fewer remain).
  ByteView read_raw(size_t n);
  // A reader over the next `n` bytes, which this reader skips (error if fewer remain).
  Reader read_sub(size_t n);

  // A tagged-field section: count, then (tag, size, payload) for each field. `known(tag, sub)`
  // decodes a field it knows from `sub` (a reader over exactly its payload) and returns true, or
  // returns false to keep the field as raw bytes in `unknown`. A known field must consume its
  // whole payload.
  template <typename Known>
  void read_tagged_fields(std::vector<TaggedField>& unknown, Known&& known);
  // The same, keeping every field as unknown.
  void read_tagged_fields(std::vector<TaggedField>& unknown) {
    read_tagged_fields(unknown, [](uint32_t, Reader&) { return false; });
  }
  // A tagged-field section whose contents are dropped.
  void skip_tagged_fields();

 private:
  template <typename T>
  T read_fixed() {
    if (!need(sizeof(T))) return T{};
    T v = load_be<T>(data_.data() + pos_);
    pos_ += sizeof(T);
    return v;
  }
  bool need(size_t n);
  // Reads a string/bytes length prefix: returns -1 for null, -2 after an error.
  int64_t read_length(bool compact, bool nullable, bool is_string);
  // Absorbs the state of a finished sub-reader: its error, or leftover bytes when `exact`.
  void finish_sub(const Reader& sub, bool exact, uint32_t tag);

  ByteView data_;
  size_t pos_ = 0;
  size_t base_ = 0;  // offset of data_ within the outermost input, for error messages
  std::optional<Error> error_;
};

template <typename Known>
void Reader::read_tagged_fields(std::vector<TaggedField>& unknown, Known&& known) {
  const uint32_t count = read_unsigned_varint();
  // Each field takes at least two bytes (tag and size), so `count` is bounded by the input.
  for (uint32_t i = 0; i < count && ok(); ++i) {
    const uint32_t tag = read_unsigned_varint();
    const uint32_t size = read_unsigned_varint();
    Reader sub = read_sub(size);
    if (!ok()) return;
    if (known(tag, sub)) {
      finish_sub(sub, /*exact=*/true, tag);
    } else {
      ByteView payload = sub.rest();
      unknown.push_back(TaggedField{tag, Bytes(payload.begin(), payload.end())});
    }
  }
}

}  // namespace kafkacore::protocol
