#pragma once
// Buffers for response frames, recycled. A Fetch answer's frame lives on in the records decoded
// from it (they view it) until the user has taken them, so with plain allocation every answer
// would be a fresh block of up to max.partition.fetch.bytes per partition: above malloc's mmap
// threshold that is new pages, faulted in and zeroed on every answer, which cost the consumer's
// io thread more than decoding. A returned buffer keeps its size, so reusing it for a frame of
// about the same size zero-fills nothing.
//
// take() runs on the io thread; frames come back from whichever thread drops the last
// reference (the polling thread, usually), hence the mutex. The pool may go first: buffers
// returned after that are simply freed.
#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

#include "common/bytes.h"

namespace kafkacore::client {

class FramePool : public std::enable_shared_from_this<FramePool> {
 public:
  static std::shared_ptr<FramePool> create() { return std::shared_ptr<FramePool>(new FramePool()); }

  // A buffer of exactly `size` bytes (contents unspecified), back in the pool when released.
  std::shared_ptr<Bytes> take(size_t size);

  size_t pooled() const;

  static constexpr size_t kMaxBuffers = 4;
  static constexpr size_t kMaxPooledBytes = 16u << 20;  // larger frames are rare: just freed

 private:
  FramePool() = default;
  void give_back(Bytes* buffer);

  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<Bytes>> free_;
};

}  // namespace kafkacore::client
