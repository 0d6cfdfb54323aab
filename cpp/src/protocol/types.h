#pragma once
// Small value types of the wire protocol shared by the codec runtime and the generated messages.
#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/bytes.h"

namespace kafkacore::protocol {

// A 128-bit UUID as sent on the wire (16 bytes, big-endian); all zeros is Kafka's "no id".
struct Uuid {
  std::array<std::byte, 16> bytes{};

  bool is_zero() const {
    for (std::byte b : bytes) {
      if (b != std::byte{0}) return false;
    }
    return true;
  }
  bool operator==(const Uuid&) const = default;
};

// A tagged field this codec does not know (or that is not defined in the decoded version): kept
// as raw bytes so a decode/encode round trip writes it back unchanged.
struct TaggedField {
  uint32_t tag = 0;
  Bytes data;

  bool operator==(const TaggedField&) const = default;
};

}  // namespace kafkacore::protocol
