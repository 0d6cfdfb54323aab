#include "storage/io_faults.h"

#include <cerrno>
#include <chrono>
#include <thread>

namespace kafkacore::storage {

int IoFaults::before_sync() {
  if (auto delay = sync_delay_us.load(); delay > 0) {
    std::this_thread::sleep_for(std::chrono::microseconds(delay));
  }
  int pending = fail_next_syncs.load();
  while (pending > 0) {
    if (fail_next_syncs.compare_exchange_weak(pending, pending - 1)) return EIO;
  }
  return 0;
}

size_t IoFaults::allow_write(size_t size) {
  int64_t budget = write_budget_bytes.load();
  while (budget >= 0) {
    const auto granted = static_cast<int64_t>(size) < budget ? static_cast<int64_t>(size) : budget;
    if (write_budget_bytes.compare_exchange_weak(budget, budget - granted)) {
      return static_cast<size_t>(granted);
    }
  }
  return size;
}

}  // namespace kafkacore::storage
