#pragma once
// Kafka's leader-epoch-checkpoint: for each leader epoch that wrote to this log, the offset where
// it started. Followers ask the leader where their latest epoch ended (OffsetForLeaderEpoch,
// KIP-101/279) and truncate there instead of at their high watermark, which is what prevents the
// lost-write and divergent-log cases of the HW-based truncation.
// Persisted as `leader-epoch-checkpoint` in the partition's directory, the text format Kafka uses
// (version line "0", count line, one "epoch start_offset" line per entry), rewritten atomically on
// every change. Reactor thread only.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/strong_id.h"
#include "replication/partition.h"
#include "storage/io_faults.h"

namespace kafkacore::storage {
class PartitionLog;
}

namespace kafkacore::replication {

struct EpochEntry {
  int32_t epoch = 0;
  Offset start_offset{0};
  bool operator==(const EpochEntry&) const = default;
};

class LeaderEpochCache {
 public:
  static constexpr const char* kFileName = "leader-epoch-checkpoint";

  // `file` is where the checkpoint lives; nothing is read until load() or rebuild_from().
  explicit LeaderEpochCache(std::filesystem::path file, storage::IoFaults* faults = nullptr);

  // Reads the checkpoint: false if there is none; an error (corrupt_message or an I/O error) if
  // it cannot be read or parsed, leaving the cache empty.
  Result<bool> load();
  // Rebuilds the entries from the partitionLeaderEpoch fields of the log's batches and writes
  // the checkpoint (when a missing or unreadable file has to be replaced).
  Result<void> rebuild_from(const storage::PartitionLog& log);

  // Records that `epoch` starts at `start_offset`. Ignored unless `epoch` is newer than the latest
  // (or the latest with a smaller start offset, as Kafka allows); entries starting at or after
  // `start_offset` are dropped first, so both columns stay strictly increasing.
  Result<void> assign(int32_t epoch, Offset start_offset);
  // OffsetForLeaderEpoch: the largest epoch <= `requested` and where it ended (the start of the
  // next epoch, or `log_end` for the latest); {-1, -1} below the first epoch or when empty.
  EpochEndOffset end_offset_for(int32_t requested, Offset log_end) const;
  // Drops the entries starting at or after `offset` (the log was truncated there).
  Result<void> truncate_from_end(Offset offset);
  // The log start moved to `offset`: entries wholly below it go; the one containing it now
  // starts there.
  Result<void> truncate_from_start(Offset offset);

  int32_t latest_epoch() const { return entries_.empty() ? -1 : entries_.back().epoch; }
  // Where `epoch` starts, or nullopt if it is not in the cache.
  std::optional<Offset> start_offset_of(int32_t epoch) const;
  const std::vector<EpochEntry>& entries() const { return entries_; }
  const std::filesystem::path& file() const { return file_; }

 private:
  Result<void> persist() const;

  std::filesystem::path file_;
  storage::IoFaults* faults_;
  std::vector<EpochEntry> entries_;  // strictly increasing in epoch and start offset
};

}  // namespace kafkacore::replication
