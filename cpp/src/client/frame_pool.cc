#include "client/frame_pool.h"

namespace kafkacore::client {

std::shared_ptr<Bytes> FramePool::take(size_t size) {
  std::unique_ptr<Bytes> buffer;
  {
    std::lock_guard lock(mutex_);
    if (!free_.empty()) {
      buffer = std::move(free_.back());
      free_.pop_back();
    }
  }
  if (!buffer) buffer = std::make_unique<Bytes>();
  buffer->resize(size);  // zero-fills only past the size it last had
  std::weak_ptr<FramePool> pool = weak_from_this();
  return std::shared_ptr<Bytes>(buffer.release(), [pool](Bytes* b) {
    if (auto p = pool.lock()) {
      p->give_back(b);
    } else {
      delete b;
    }
  });
}

void FramePool::give_back(Bytes* buffer) {
  std::unique_ptr<Bytes> owned(buffer);
  if (owned->capacity() > kMaxPooledBytes) return;
  std::lock_guard lock(mutex_);
  if (free_.size() < kMaxBuffers) free_.push_back(std::move(owned));
}

size_t FramePool::pooled() const {
  std::lock_guard lock(mutex_);
  return free_.size();
}

}  // namespace kafkacore::client
