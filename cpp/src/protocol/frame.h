#pragma once
// An encoded frame ready to be sent: the bytes (starting with the int32 size prefix) plus file
// ranges to be inserted between them. To send: write bytes[0, splices[0].at), the first range,
// bytes[splices[0].at, splices[1].at), the next range, ... and finally the rest of the bytes.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/bytes.h"
#include "protocol/records.h"

namespace kafkacore::protocol {

struct OutputFrame {
  struct Splice {
    size_t at = 0;  // position in `bytes` before which `range` is sent; non-decreasing
    // File bytes (range.fd >= 0), or, when range.fd < 0, `memory` (range.size bytes, kept
    // alive by range.keepalive): a producer's batch is sent from where it was built.
    FileRange range;
    ByteView memory{};
  };

  Bytes bytes;
  std::vector<Splice> splices;

  // Bytes on the wire: the buffer plus every spliced range (the size prefix counts all of it).
  uint64_t total_size() const {
    uint64_t total = bytes.size();
    for (const Splice& s : splices) total += s.range.size;
    return total;
  }
};

}  // namespace kafkacore::protocol
