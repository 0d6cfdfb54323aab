#pragma once
// Sparse indexes of one segment, kept in memory and written whole when the segment is sealed or
// closed. An index is derived data: a file that fails its checks is rebuilt from the log.
// File layout (big-endian): entries, then a trailer {entry count u32, log size u64, crc32c u32,
// magic u32}. See docs/log_format.md.
#include <cstdint>
#include <optional>
#include <vector>

#include "common/error.h"
#include "common/strong_id.h"
#include "storage/file_io.h"

namespace kafkacore::storage {

struct OffsetIndexEntry {
  uint32_t relative_offset;  // batch base offset - segment base offset
  uint32_t position;         // byte position of the batch in the segment file
};

struct TimeIndexEntry {
  int64_t timestamp;         // largest timestamp seen up to this batch
  uint32_t relative_offset;  // base offset of the batch that raised it, relative
};

// Sorted, append-only; lookups are binary searches.
class OffsetIndex {
 public:
  void append(OffsetIndexEntry e) { entries_.push_back(e); }
  // The last entry whose offset is <= target (where to start scanning), if any.
  std::optional<OffsetIndexEntry> floor(uint32_t relative_offset) const;
  void truncate_after_position(uint32_t position);
  const std::vector<OffsetIndexEntry>& entries() const { return entries_; }
  void clear() { entries_.clear(); }

 private:
  std::vector<OffsetIndexEntry> entries_;
};

class TimeIndex {
 public:
  void append(TimeIndexEntry e) { entries_.push_back(e); }
  // The last entry whose timestamp is < target: scanning from its offset finds the first batch
  // with a timestamp >= target.
  std::optional<TimeIndexEntry> floor_below(int64_t timestamp) const;
  void truncate_from_offset(uint32_t relative_offset);
  const std::vector<TimeIndexEntry>& entries() const { return entries_; }
  void clear() { entries_.clear(); }

 private:
  std::vector<TimeIndexEntry> entries_;
};

Result<void> write_offset_index(const fs::path& path, const OffsetIndex& index, uint64_t log_size,
                                IoFaults* faults);
Result<void> write_time_index(const fs::path& path, const TimeIndex& index, uint64_t log_size,
                              IoFaults* faults);
// nullopt when the file is missing, torn, fails its CRC, or describes a log of another size.
std::optional<OffsetIndex> load_offset_index(const fs::path& path, uint64_t log_size);
std::optional<TimeIndex> load_time_index(const fs::path& path, uint64_t log_size);

}  // namespace kafkacore::storage
