#include "protocol/writer.h"

#include <bit>
#include <cstdio>
#include <cstdlib>
#include <limits>

#include "record/varint.h"

namespace kafkacore::protocol {

namespace {
constexpr size_t kMaxStringLength = std::numeric_limits<int16_t>::max();
constexpr uint64_t kMaxLength = std::numeric_limits<int32_t>::max();
}  // namespace

void encode_contract_violation(std::string_view what) {
  throw EncodeError("protocol encode contract violation: " + std::string(what));
}

void Writer::write_float64(double v) { write_fixed(std::bit_cast<uint64_t>(v)); }

void Writer::write_uuid(const Uuid& v) { write_raw(ByteView(v.bytes)); }

void Writer::write_unsigned_varint(uint64_t v) { record::write_unsigned_varint(buf_, v); }
void Writer::write_varint(int32_t v) { record::write_varint(buf_, v); }
void Writer::write_varlong(int64_t v) { record::write_varlong(buf_, v); }

void Writer::write_length(int64_t length, bool compact, bool is_string) {
  if (compact) {
    write_unsigned_varint(static_cast<uint64_t>(length + 1));
  } else if (is_string) {
    write_int16(static_cast<int16_t>(length));
  } else {
    write_int32(static_cast<int32_t>(length));
  }
}

void Writer::write_string(std::string_view v, bool compact) {
  if (v.size() > kMaxStringLength) {
    encode_contract_violation("string of " + std::to_string(v.size()) +
                              " bytes is longer than 32767");
  }
  write_length(static_cast<int64_t>(v.size()), compact, /*is_string=*/true);
  write_raw(as_bytes(v));
}

void Writer::write_nullable_string(const std::optional<std::string>& v, bool compact) {
  if (!v) {
    write_length(-1, compact, /*is_string=*/true);
  } else {
    write_string(*v, compact);
  }
}

void Writer::write_bytes(ByteView v, bool compact) {
  if (v.size() > kMaxLength) encode_contract_violation("bytes field longer than 2^31-1");
  write_length(static_cast<int64_t>(v.size()), compact, /*is_string=*/false);
  write_raw(v);
}

void Writer::write_nullable_bytes(const std::optional<Bytes>& v, bool compact) {
  if (!v) {
    write_length(-1, compact, /*is_string=*/false);
  } else {
    write_bytes(*v, compact);
  }
}

void Writer::write_records(const Records& v, bool compact) {
  if (v.is_null) {
    if (!v.bytes.empty() || !v.files.empty()) {
      encode_contract_violation("null records with content");
    }
    write_length(-1, compact, /*is_string=*/false);
    return;
  }
  const uint64_t size = v.size();
  if (size > kMaxLength) encode_contract_violation("records longer than 2^31-1");
  write_length(static_cast<int64_t>(size), compact, /*is_string=*/false);
  if (v.keepalive && !v.bytes.empty()) {
    splices_.push_back(OutputFrame::Splice{buf_.size(), FileRange{v.keepalive, -1, 0, v.bytes.size()},
                                           v.bytes});
    spliced_bytes_ += v.bytes.size();
  } else {
    write_raw(v.bytes);
  }
  for (const FileRange& f : v.files) {
    if (f.size == 0) continue;
    splices_.push_back(OutputFrame::Splice{buf_.size(), f, {}});
    spliced_bytes_ += f.size;
  }
}

void Writer::write_array_length(size_t count, bool compact) {
  if (count > kMaxLength) encode_contract_violation("array longer than 2^31-1");
  write_length(static_cast<int64_t>(count), compact, /*is_string=*/false);
}

void Writer::write_null_array(bool compact) { write_length(-1, compact, /*is_string=*/false); }

void Writer::write_tagged_field(uint32_t tag, const Writer& payload) {
  write_unsigned_varint(tag);
  write_unsigned_varint(payload.wire_size());
  const size_t base = buf_.size();
  write_raw(payload.buf_);
  for (const OutputFrame::Splice& s : payload.splices_) {
    splices_.push_back(OutputFrame::Splice{base + s.at, s.range, s.memory});
  }
  spliced_bytes_ += payload.spliced_bytes_;
}

void Writer::write_tagged_field(uint32_t tag, ByteView payload) {
  write_unsigned_varint(tag);
  write_unsigned_varint(payload.size());
  write_raw(payload);
}

void Writer::write_unknown_tagged_fields(const std::vector<TaggedField>& fields, size_t& next,
                                         uint64_t limit) {
  while (next < fields.size() && fields[next].tag < limit) {
    write_tagged_field(fields[next].tag, ByteView(fields[next].data));
    ++next;
  }
}

Bytes Writer::take_bytes() {
  if (!splices_.empty()) encode_contract_violation("take_bytes() on a writer with file splices");
  Bytes out = std::move(buf_);
  buf_.clear();
  framed_ = false;
  return out;
}

void Writer::begin_frame() {
  if (!buf_.empty() || framed_) encode_contract_violation("begin_frame() on a non-empty writer");
  framed_ = true;
  write_int32(0);
}

OutputFrame Writer::finish_frame() {
  if (!framed_) encode_contract_violation("finish_frame() without begin_frame()");
  const uint64_t payload = wire_size() - sizeof(int32_t);
  if (payload > kMaxLength) encode_contract_violation("frame larger than 2^31-1 bytes");
  store_be<int32_t>(buf_.data(), static_cast<int32_t>(payload));
  OutputFrame frame{std::move(buf_), std::move(splices_)};
  buf_.clear();
  splices_.clear();
  spliced_bytes_ = 0;
  framed_ = false;
  return frame;
}

}  // namespace kafkacore::protocol
