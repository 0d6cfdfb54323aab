// call() hands work to the io thread and waits; once the thread has stopped it must fail fast,
// not wait for an answer that will never come.
#include "client/io_thread.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <thread>

namespace kafkacore::client {
namespace {

TEST(IoThread, CallRunsOnTheIoThreadAndReturnsItsResult) {
  IoThread io("io-test");
  const auto caller = std::this_thread::get_id();
  EXPECT_EQ(io.call([&] { return std::this_thread::get_id() != caller && io.on_this_thread(); }), true);
  EXPECT_EQ(io.call([] { return 42; }), 42);
}

TEST(IoThread, CallAfterStopThrowsInsteadOfWaitingForever) {
  IoThread io("io-test");
  io.stop();
  bool ran = false;
  EXPECT_THROW(io.call([&] { ran = true; }), std::runtime_error);
  EXPECT_FALSE(ran);
  io.stop();  // idempotent
}

TEST(IoThread, CallRacingStopEitherAnswersOrThrows) {
  for (int round = 0; round < 50; ++round) {
    IoThread io("io-test");
    std::thread stopper([&] { io.stop(); });
    try {
      EXPECT_EQ(io.call([] { return 7; }), 7);
    } catch (const std::runtime_error&) {
      // stopped first: the task was dropped, and the caller learns so
    }
    stopper.join();
  }
}

}  // namespace
}  // namespace kafkacore::client
