#pragma once
// Shared state of one log directory. An fsync or write failure takes the whole directory offline
// (Kafka's log-dir failure): nothing in it is written again until an operator intervenes, because
// after a failed fsync the page cache no longer tells the truth about the disk.
#include <atomic>
#include <mutex>
#include <string>

#include "common/error.h"
#include "storage/io_faults.h"

namespace kafkacore::storage {

class LogDirHealth {
 public:
  bool offline() const { return offline_.load(std::memory_order_acquire); }
  void take_offline(const Error& cause) {
    std::lock_guard lock(mutex_);
    if (!offline_.load()) reason_ = cause.message();
    offline_.store(true, std::memory_order_release);
  }
  std::string reason() const {
    std::lock_guard lock(mutex_);
    return reason_;
  }
  Error error() const {
    return Error(Errc::kafka_storage_error, "log directory is offline: " + reason());
  }

 private:
  std::atomic<bool> offline_{false};
  mutable std::mutex mutex_;
  std::string reason_;
};

}  // namespace kafkacore::storage
