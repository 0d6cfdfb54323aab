#include "protocol/reader.h"

#include <bit>
#include <cstring>
#include <limits>

#include "record/varint.h"

namespace kafkacore::protocol {

namespace {
// Kafka refuses strings longer than this in either encoding (the classic int16 limit).
constexpr int64_t kMaxStringLength = std::numeric_limits<int16_t>::max();
}  // namespace

Result<void> Reader::status() const {
  if (error_) return std::unexpected(*error_);
  return {};
}

void Reader::fail(std::string_view message) {
  if (error_) return;
  std::string text(message);
  text += " at byte ";
  text += std::to_string(base_ + pos_);
  error_.emplace(Errc::invalid_request, std::move(text));
}

bool Reader::need(size_t n) {
  if (error_) return false;
  if (remaining() < n) {
    fail("truncated: needed " + std::to_string(n) + " bytes, " + std::to_string(remaining()) +
         " left");
    return false;
  }
  return true;
}

double Reader::read_float64() {
  return std::bit_cast<double>(read_fixed<uint64_t>());
}

Uuid Reader::read_uuid() {
  Uuid id;
  if (!need(id.bytes.size())) return id;
  std::memcpy(id.bytes.data(), data_.data() + pos_, id.bytes.size());
  pos_ += id.bytes.size();
  return id;
}

uint32_t Reader::read_unsigned_varint() {
  if (error_) return 0;
  record::ByteReader r(rest());
  auto v = r.read_unsigned_varint();
  if (!v) {
    fail(r.remaining() == 0 ? "truncated varint" : "malformed varint");
    return 0;
  }
  pos_ += r.position();
  return *v;
}

uint64_t Reader::read_unsigned_varlong() {
  if (error_) return 0;
  record::ByteReader r(rest());
  auto v = r.read_unsigned_varlong();
  if (!v) {
    fail(r.remaining() == 0 ? "truncated varlong" : "malformed varlong");
    return 0;
  }
  pos_ += r.position();
  return *v;
}

int32_t Reader::read_varint() { return record::zigzag_decode32(read_unsigned_varint()); }
int64_t Reader::read_varlong() { return record::zigzag_decode64(read_unsigned_varlong()); }

int64_t Reader::read_length(bool compact, bool nullable, bool is_string) {
  if (error_) return -2;
  int64_t length;
  if (compact) {
    length = static_cast<int64_t>(read_unsigned_varint()) - 1;
  } else if (is_string) {
    length = read_int16();
  } else {
    length = read_int32();
  }
  if (error_) return -2;
  if (length == -1) {
    if (!nullable) {
      fail("null in a non-nullable field");
      return -2;
    }
    return -1;
  }
  if (length < 0) {
    fail("negative length " + std::to_string(length));
    return -2;
  }
  if (is_string && length > kMaxStringLength) {
    fail("string length " + std::to_string(length) + " is over the limit");
    return -2;
  }
  if (static_cast<uint64_t>(length) > remaining()) {
    fail("length " + std::to_string(length) + " exceeds the " + std::to_string(remaining()) +
         " bytes left");
    return -2;
  }
  return length;
}

std::string Reader::read_string(bool compact) {
  const int64_t n = read_length(compact, /*nullable=*/false, /*is_string=*/true);
  if (n < 0) return {};
  std::string out(reinterpret_cast<const char*>(data_.data() + pos_), static_cast<size_t>(n));
  pos_ += static_cast<size_t>(n);
  return out;
}

std::optional<std::string> Reader::read_nullable_string(bool compact, bool nullable) {
  const int64_t n = read_length(compact, nullable, /*is_string=*/true);
  if (n == -1) return std::nullopt;
  if (n < 0) return std::string();
  std::string out(reinterpret_cast<const char*>(data_.data() + pos_), static_cast<size_t>(n));
  pos_ += static_cast<size_t>(n);
  return out;
}

std::optional<ByteView> Reader::read_bytes_view(bool compact, bool nullable) {
  const int64_t n = read_length(compact, nullable, /*is_string=*/false);
  if (n == -1) return std::nullopt;
  if (n < 0) return ByteView{};
  ByteView out = data_.subspan(pos_, static_cast<size_t>(n));
  pos_ += static_cast<size_t>(n);
  return out;
}

Bytes Reader::read_bytes(bool compact) {
  auto view = read_bytes_view(compact, /*nullable=*/false);
  if (!view) return {};
  return Bytes(view->begin(), view->end());
}

std::optional<Bytes> Reader::read_nullable_bytes(bool compact, bool nullable) {
  auto view = read_bytes_view(compact, nullable);
  if (!view) return std::nullopt;
  return Bytes(view->begin(), view->end());
}

Records Reader::read_records(bool compact, bool nullable) {
  Records out;
  auto view = read_bytes_view(compact, nullable);
  if (!view) {
    out.is_null = true;
  } else {
    out.bytes = *view;
  }
  return out;
}

int32_t Reader::read_array_length(bool compact, bool nullable, size_t min_element_size) {
  if (error_) return 0;
  int64_t count;
  if (compact) {
    count = static_cast<int64_t>(read_unsigned_varint()) - 1;
  } else {
    count = read_int32();
  }
  if (error_) return 0;
  if (count == -1) {
    if (!nullable) {
      fail("null array in a non-nullable field");
      return 0;
    }
    return -1;
  }
  if (count < 0) {
    fail("negative array length " + std::to_string(count));
    return 0;
  }
  if (min_element_size == 0) min_element_size = 1;
  if (static_cast<uint64_t>(count) > remaining() / min_element_size) {
    fail("array of " + std::to_string(count) + " elements cannot fit in the " +
         std::to_string(remaining()) + " bytes left");
    return 0;
  }
  return static_cast<int32_t>(count);
}

ByteView Reader::read_raw(size_t n) {
  if (!need(n)) return {};
  ByteView out = data_.subspan(pos_, n);
  pos_ += n;
  return out;
}

Reader Reader::read_sub(size_t n) {
  const size_t start = base_ + pos_;
  Reader sub(read_raw(n));
  sub.base_ = start;
  if (error_) sub.error_ = error_;
  return sub;
}

void Reader::finish_sub(const Reader& sub, bool exact, uint32_t tag) {
  if (error_) return;
  if (sub.error_) {
    error_ = sub.error_;
  } else if (exact && !sub.at_end()) {
    fail("tagged field " + std::to_string(tag) + " has " + std::to_string(sub.remaining()) +
         " unread bytes");
  }
}

void Reader::skip_tagged_fields() {
  const uint32_t count = read_unsigned_varint();
  for (uint32_t i = 0; i < count && ok(); ++i) {
    read_unsigned_varint();  // tag
    const uint32_t size = read_unsigned_varint();
    read_raw(size);
  }
}

}  // namespace kafkacore::protocol
