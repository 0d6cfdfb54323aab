#pragma once
// Appends the wire encoding of protocol values to a growing buffer. `records` backed by file
// ranges are not copied: the writer notes a splice (the range and the byte position it goes
// before), and `finish_frame()` hands both over as an OutputFrame whose size prefix counts the
// spliced bytes. Encoding a value the version cannot carry (a null in a non-nullable field, a
// string over 32767 bytes, a non-ignorable field absent from the version) is a programming error
// and throws EncodeError (see encode_contract_violation). Not thread-safe.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"
#include "protocol/frame.h"
#include "protocol/records.h"
#include "protocol/types.h"

namespace kafkacore::protocol {

// A handler built a message its version cannot carry. Thrown, not aborted: the server catches it
// at the request boundary, logs it and closes that one connection; the broker keeps serving.
class EncodeError : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

// Always-on check of the encoding contract: throws EncodeError naming `what`.
[[noreturn]] void encode_contract_violation(std::string_view what);

class Writer {
 public:
  Writer() = default;

  void write_bool(bool v) { write_fixed<uint8_t>(v ? 1 : 0); }
  void write_int8(int8_t v) { write_fixed(v); }
  void write_int16(int16_t v) { write_fixed(v); }
  void write_int32(int32_t v) { write_fixed(v); }
  void write_int64(int64_t v) { write_fixed(v); }
  void write_uint16(uint16_t v) { write_fixed(v); }
  void write_uint32(uint32_t v) { write_fixed(v); }
  void write_float64(double v);
  void write_uuid(const Uuid& v);

  void write_unsigned_varint(uint64_t v);
  void write_varint(int32_t v);
  void write_varlong(int64_t v);

  // Classic (int16 length) or compact (unsigned varint length+1) string; null as -1 / 0.
  void write_string(std::string_view v, bool compact);
  void write_nullable_string(const std::optional<std::string>& v, bool compact);
  // Classic (int32 length) or compact bytes; null as -1 / 0.
  void write_bytes(ByteView v, bool compact);
  void write_nullable_bytes(const std::optional<Bytes>& v, bool compact);
  // Length of size(), then the in-memory bytes, then one splice per file range.
  void write_records(const Records& v, bool compact);
  // Array element count (classic int32, compact varint count+1); the null array as -1 / 0.
  void write_array_length(size_t count, bool compact);
  void write_null_array(bool compact);

  void write_raw(ByteView v) { buf_.insert(buf_.end(), v.begin(), v.end()); }
  // A tagged field: tag, payload size (including any spliced bytes), payload (splices kept).
  void write_tagged_field(uint32_t tag, const Writer& payload);
  void write_tagged_field(uint32_t tag, ByteView payload);
  // Unknown tagged fields of `fields[next...]` whose tag is below `limit`, advancing `next`.
  void write_unknown_tagged_fields(const std::vector<TaggedField>& fields, size_t& next,
                                   uint64_t limit);

  // Bytes in the buffer (without spliced file ranges).
  size_t buffered_size() const { return buf_.size(); }
  // Bytes on the wire: the buffer plus all spliced file ranges.
  uint64_t wire_size() const { return buf_.size() + spliced_bytes_; }
  const Bytes& bytes() const { return buf_; }
  const std::vector<OutputFrame::Splice>& splices() const { return splices_; }
  // Takes the buffer (only meaningful without splices; aborts if there are any).
  Bytes take_bytes();

  // Starts a frame: reserves the int32 size prefix. Must be the first thing written.
  void begin_frame();
  // Fills in the size prefix (everything after it, spliced ranges included) and hands the bytes
  // and splices over; the writer is left empty.
  OutputFrame finish_frame();

 private:
  template <typename T>
  void write_fixed(T v) {
    const size_t at = buf_.size();
    buf_.resize(at + sizeof(T));
    store_be<T>(buf_.data() + at, v);
  }
  void write_length(int64_t length, bool compact, bool is_string);

  Bytes buf_;
  std::vector<OutputFrame::Splice> splices_;
  uint64_t spliced_bytes_ = 0;
  bool framed_ = false;
};

}  // namespace kafkacore::protocol
