#pragma once
// Injectable wall clock: retention, segment age and compaction horizons read time through it so
// tests (and later `cluster.advance_time`) can move time deterministically.
#include <atomic>
#include <chrono>
#include <cstdint>

namespace kafkacore {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t now_ms() const = 0;
};

class SystemClock final : public Clock {
 public:
  int64_t now_ms() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  static SystemClock& instance() {
    static SystemClock clock;
    return clock;
  }
};

// Thread-safe manual clock for tests.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t start_ms = 1'700'000'000'000) : now_(start_ms) {}
  int64_t now_ms() const override { return now_.load(std::memory_order_relaxed); }
  void advance_ms(int64_t delta) { now_.fetch_add(delta, std::memory_order_relaxed); }
  void set_ms(int64_t value) { now_.store(value, std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> now_;
};

}  // namespace kafkacore
