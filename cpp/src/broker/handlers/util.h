#pragma once
// Conversions shared by the handlers.
#include <cstring>

#include "common/error.h"
#include "common/uuid.h"
#include "protocol/types.h"

namespace kafkacore::broker {

inline int16_t error_code(const Error& e) { return static_cast<int16_t>(e.code()); }
inline int16_t error_code(Errc e) { return static_cast<int16_t>(e); }

inline protocol::Uuid to_wire(const Uuid& id) {
  protocol::Uuid out;
  std::memcpy(out.bytes.data(), id.bytes.data(), 16);
  return out;
}

inline Uuid from_wire(const protocol::Uuid& id) {
  Uuid out;
  std::memcpy(out.bytes.data(), id.bytes.data(), 16);
  return out;
}

}  // namespace kafkacore::broker
