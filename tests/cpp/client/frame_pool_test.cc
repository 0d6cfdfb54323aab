// Response frame buffers are recycled (client/frame_pool.h): released buffers come back with
// their memory, the pool stays bounded, and a buffer outliving its pool is freed normally.
#include "client/frame_pool.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace kafkacore::client {
namespace {

TEST(FramePool, ReleasedBufferIsReusedWithoutReallocating) {
  auto pool = FramePool::create();
  const std::byte* first_data = nullptr;
  {
    auto frame = pool->take(1 << 20);
    ASSERT_EQ(frame->size(), 1u << 20);
    first_data = frame->data();
  }
  EXPECT_EQ(pool->pooled(), 1u);
  auto smaller = pool->take(1000);
  EXPECT_EQ(smaller->size(), 1000u);
  EXPECT_EQ(smaller->data(), first_data) << "the same memory, shrunk";
  smaller.reset();
  auto again = pool->take((1 << 20) + 8);
  EXPECT_EQ(again->size(), (1u << 20) + 8);
  EXPECT_EQ(pool->pooled(), 0u);
}

TEST(FramePool, KeepsAtMostAFewBuffersAndNoHugeOnes) {
  auto pool = FramePool::create();
  std::vector<std::shared_ptr<Bytes>> frames;
  for (size_t i = 0; i < FramePool::kMaxBuffers + 3; ++i) frames.push_back(pool->take(64));
  frames.push_back(pool->take(FramePool::kMaxPooledBytes + 1));
  frames.clear();
  EXPECT_EQ(pool->pooled(), FramePool::kMaxBuffers);
  auto big = pool->take(FramePool::kMaxPooledBytes + 1);
  EXPECT_EQ(big->size(), FramePool::kMaxPooledBytes + 1);
}

TEST(FramePool, BufferMayOutliveThePoolAndBeReleasedOnAnotherThread) {
  auto pool = FramePool::create();
  auto frame = pool->take(4096);
  (*frame)[0] = std::byte{42};
  std::thread([held = std::move(frame)]() mutable { held.reset(); }).join();
  EXPECT_EQ(pool->pooled(), 1u);
  auto orphan = pool->take(10);
  pool.reset();
  orphan.reset();  // the pool is gone: freed, not returned (ASan checks there is no leak)
}

}  // namespace
}  // namespace kafkacore::client
