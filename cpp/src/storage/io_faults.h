#pragma once
// Fault injection for a log directory: a failing or slow fsync, or a full disk. Real code paths
// consult it, so tests (and later the Python fault-injection API) exercise the real error handling.
// All members are atomics: set from a test thread, read from reactor and flusher threads.
#include <atomic>
#include <cstdint>

namespace kafkacore::storage {

struct IoFaults {
  std::atomic<int> fail_next_syncs{0};       // the next N fsyncs fail with EIO
  std::atomic<int64_t> sync_delay_us{0};     // every fsync sleeps this long first
  std::atomic<int64_t> write_budget_bytes{-1};  // >= 0: writes beyond it fail with ENOSPC
  // Not a fault but a test setting (kafkacore.unsafe.bypass.fsync): fsyncs succeed without
  // reaching the disk. Data survives a killed process (the page cache keeps it), not a power cut.
  std::atomic<bool> bypass_syncs{false};

  // Returns the errno to fail this fsync with, or 0.
  int before_sync();
  // Returns how many of `size` bytes may be written (the rest fails with ENOSPC).
  size_t allow_write(size_t size);
};

}  // namespace kafkacore::storage
