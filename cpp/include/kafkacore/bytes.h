#pragma once
// kafkacore public API: record keys and values are kafkacore::Bytes (std::vector<std::byte>);
// these convert from and to text.
#include <string>
#include <string_view>

#include "common/bytes.h"  // IWYU pragma: export

namespace kafkacore {

inline Bytes bytes_of(std::string_view text) {
  ByteView view = as_bytes(text);
  return Bytes(view.begin(), view.end());
}

inline std::string string_of(ByteView bytes) {
  return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

}  // namespace kafkacore
