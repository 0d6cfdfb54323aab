#pragma once
// Compaction (cleanup.policy=compact): keeps the latest record per key in the sealed segments,
// preserving offsets. Three phases so appends never wait for it:
//   plan()   on the log's owner thread: snapshot the sealed segments;
//   run()    on any thread: read them, write cleaned copies beside them, fsync;
//   commit() on the owner thread: swap each copy in with one atomic rename.
// Tombstones (null values) follow KIP-534: the first clean stamps the batch with a delete horizon
// (now + delete.retention.ms); a clean after the horizon drops them.
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "common/error.h"
#include "storage/partition_log.h"

namespace kafkacore::storage {

struct CleanerStats {
  size_t segments_cleaned = 0;
  uint64_t records_read = 0;
  uint64_t records_kept = 0;
  uint64_t tombstones_dropped = 0;
  uint64_t bytes_before = 0;
  uint64_t bytes_after = 0;
};

struct CompactionJob {
  struct Input {
    std::shared_ptr<Segment> segment;
    uint64_t size = 0;
  };
  std::vector<Input> inputs;
  Offset dirty_end{0};       // first offset after the cleaned range
  int64_t now_ms = 0;
  int64_t delete_retention_ms = 0;
};

struct CompactionOutput {
  struct Cleaned {
    CompactionJob::Input input;
    fs::path cleaned_path;  // empty: nothing to change in this segment
  };
  std::vector<Cleaned> segments;
  Offset dirty_end{0};
  CleanerStats stats;
};

class LogCleaner {
 public:
  // nullopt when the log is not compacted, has no sealed segment, or (unless `force`) its dirty
  // ratio is below min.cleanable.dirty.ratio.
  static std::optional<CompactionJob> plan(const PartitionLog& log, bool force = false);
  static Result<CompactionOutput> run(const CompactionJob& job);
  static Result<CleanerStats> commit(PartitionLog& log, CompactionOutput output);
  // All three phases on the calling thread.
  static Result<CleanerStats> compact_now(PartitionLog& log);
};

}  // namespace kafkacore::storage
