#pragma once
// Restores state stores from their changelog partitions (or a table's source topic) before a
// task processes: every record from the beginning up to the end offset seen at the start.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <vector>

#include "client/config.h"
#include "client/types.h"
#include "common/error.h"
#include "streams/state_store.h"

namespace kafkacore::streams {

struct RestoreTarget {
  client::TopicPartition source;
  StateStore* store = nullptr;
};

// Returns how many records were applied. Stops early (with what it has) once `stop` is set.
// A restore that makes no progress for `stall_timeout` (the changelog's leader gone, say)
// fails with REQUEST_TIMED_OUT naming the partition, instead of hanging the app.
Result<int64_t> restore_stores(const client::Properties& consumer_config,
                               const std::vector<RestoreTarget>& targets,
                               const std::atomic<bool>& stop,
                               std::chrono::milliseconds stall_timeout);

}  // namespace kafkacore::streams
