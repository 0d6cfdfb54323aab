#pragma once
// One segment of a partition log: `<base>.log` (record batches exactly as validated),
// `<base>.index` and `<base>.timeindex`. Owned by its PartitionLog; single-threaded except that
// the File it hands out may be read or synced from other threads (it is immutable below size()).
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/strong_id.h"
#include "storage/file_io.h"
#include "storage/segment_index.h"

namespace kafkacore::storage {

// The header fields of one stored batch, as read back from a segment.
struct BatchInfo {
  uint32_t position = 0;
  uint32_t size = 0;
  Offset base_offset;
  Offset last_offset;
  int64_t max_timestamp = -1;
  int32_t record_count = 0;
};

std::string segment_file_name(Offset base, const char* suffix);

// A copy of a segment's indexes that another thread (the flusher) can write out while the
// segment itself keeps changing on its owner thread.
struct IndexSnapshot {
  fs::path index_path;
  fs::path time_index_path;
  OffsetIndex offsets;
  TimeIndex times;
  uint64_t log_size = 0;
  IoFaults* faults = nullptr;
  Result<void> write() const;
};

class Segment {
 public:
  static Result<std::unique_ptr<Segment>> create(const fs::path& dir, Offset base, int64_t now_ms,
                                                 IoFaults* faults);
  // Opens an existing segment. With `recover`, scans and repairs the log (segment_recovery.h)
  // and rebuilds the indexes; otherwise trusts index files whose checks pass, rebuilding the rest.
  static Result<std::unique_ptr<Segment>> open(const fs::path& dir, Offset base, bool recover,
                                               int64_t now_ms, IoFaults* faults,
                                               std::vector<std::string>& problems);

  Offset base_offset() const { return base_; }
  Offset next_offset() const { return next_offset_; }
  bool empty() const { return size_ == 0; }
  uint64_t size_bytes() const { return size_; }
  int64_t max_timestamp() const { return max_timestamp_; }
  int64_t created_ms() const { return created_ms_; }
  size_t offset_index_entries() const { return offset_index_.entries().size(); }
  const std::shared_ptr<File>& file() const { return file_; }
  const fs::path& log_path() const { return file_->path(); }

  // Appends one or more whole batches (already validated, offsets assigned).
  Result<void> append(ByteView batches, const std::vector<BatchInfo>& infos,
                      int64_t index_interval_bytes);

  // Byte position of the batch containing `target`, or of the first batch after it; nullopt if
  // every batch in the segment ends before `target`.
  Result<std::optional<BatchInfo>> find_batch(Offset target) const;
  // Calls `visit` with each batch header from `position` on until it returns false.
  Result<void> scan(uint32_t position, const std::function<bool(const BatchInfo&)>& visit) const;
  // The first batch whose max timestamp is >= `timestamp`.
  Result<std::optional<BatchInfo>> find_by_timestamp(int64_t timestamp) const;

  // Removes every batch with base offset >= `offset`; returns false if nothing was removed.
  Result<bool> truncate_from(Offset offset);
  // Writes both index files (done when the segment stops being active, and on clean close).
  Result<void> write_indexes() { return snapshot_indexes().write(); }
  IndexSnapshot snapshot_indexes();
  Result<void> remove_files();
  // Renames the segment's files to the given base (used by compaction swaps).
  fs::path index_path() const;
  fs::path time_index_path() const;

 private:
  Segment(fs::path dir, Offset base, std::shared_ptr<File> file, IoFaults* faults)
      : dir_(std::move(dir)), base_(base), next_offset_(base), file_(std::move(file)), faults_(faults) {}
  void index_batch(const BatchInfo& info, int64_t index_interval_bytes);
  Result<void> rebuild_indexes();

  fs::path dir_;
  Offset base_;
  Offset next_offset_;
  std::shared_ptr<File> file_;
  IoFaults* faults_;
  uint64_t size_ = 0;
  int64_t max_timestamp_ = -1;
  int64_t created_ms_ = 0;
  uint64_t bytes_since_index_ = 0;
  OffsetIndex offset_index_;
  TimeIndex time_index_;
};

}  // namespace kafkacore::storage
