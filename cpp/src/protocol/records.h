#pragma once
// The `records` wire type: a length-prefixed blob of record batches that the codec never parses.
// Decoding yields a zero-copy view into the request buffer (which must outlive the message);
// a response being encoded may instead point at byte ranges of segment files, which the writer
// turns into splices of the output frame (sent with sendfile, never copied through user space).
#include <algorithm>
#include <cstdint>
#include <memory>
#include <vector>

#include "common/bytes.h"

namespace kafkacore::protocol {

// `size` bytes of the open file `fd` starting at `offset`. `keepalive` holds whatever keeps the
// descriptor open (typically the segment) until the frame has been sent.
struct FileRange {
  std::shared_ptr<const void> keepalive{};
  int fd = -1;
  uint64_t offset = 0;
  uint64_t size = 0;

  // Same range of the same descriptor (the keepalive is not compared).
  bool operator==(const FileRange& other) const {
    return fd == other.fd && offset == other.offset && size == other.size;
  }
};

struct Records {
  bool is_null = false;
  ByteView bytes;                // in-memory bytes, written first
  std::vector<FileRange> files;  // then these file ranges, in order (encode only)
  // Encode only: when set, `bytes` are sent by reference (a splice of the frame) instead of
  // being copied into it; this keeps them alive until the frame has been written.
  std::shared_ptr<const void> keepalive{};

  static Records null() {
    Records r;
    r.is_null = true;
    return r;
  }

  // Total length on the wire: the bytes plus every file range.
  uint64_t size() const {
    uint64_t total = bytes.size();
    for (const FileRange& f : files) total += f.size;
    return total;
  }

  // Compares nullness and content (bytes by value, file ranges by fd/offset/size).
  bool operator==(const Records& other) const {
    return is_null == other.is_null && std::ranges::equal(bytes, other.bytes) && files == other.files;
  }
};

}  // namespace kafkacore::protocol
