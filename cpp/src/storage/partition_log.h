#pragma once
// The log of one partition: a directory of segments. Not thread-safe: one owner thread (the
// partition's reactor) calls every method. Fsyncs happen on the Flusher's thread; durability
// callbacks run there too and must hand work back to the owner's executor themselves.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/error.h"
#include "common/strong_id.h"
#include "storage/file_io.h"
#include "storage/flusher.h"
#include "storage/log_config.h"
#include "storage/log_dir.h"
#include "storage/segment.h"

namespace kafkacore::storage {

// What the log needs from the broker around it. All pointers must outlive the log.
struct LogEnvironment {
  Clock* clock = &SystemClock::instance();
  Flusher* flusher = nullptr;
  LogDirHealth* health = nullptr;
  IoFaults* faults = nullptr;
  std::function<void(const std::string&)> warn = {};  // recovery and error messages
};

struct AppendOptions {
  LeaderEpoch leader_epoch{0};
  // Leaders assign offsets; followers keep the leader's (and must append at the log end).
  bool assign_offsets = true;
};

struct AppendResult {
  Offset first_offset{-1};
  Offset last_offset{-1};
  int64_t log_append_time = -1;  // -1 unless the topic uses LogAppendTime
  Offset log_start_offset{0};
  int32_t record_count = 0;
  int32_t batch_count = 0;
};

// A byte range of a segment file, ready for sendfile. Holding it keeps the file open even if
// retention deletes the segment meanwhile.
struct FileSlice {
  std::shared_ptr<File> file;
  uint64_t position = 0;
  uint64_t size = 0;
};

struct ReadResult {
  std::vector<FileSlice> slices;  // whole batches, in offset order
  std::vector<BatchInfo> batches;
  uint64_t total_bytes = 0;
  Offset log_start_offset{0};
  Offset log_end_offset{0};
  Result<Bytes> copy_bytes() const;  // for tests and non-zero-copy callers
};

struct TimestampOffset {
  Offset offset;
  int64_t timestamp;
};

class PartitionLog {
 public:
  // `clean_shutdown`: the data dir's clean-shutdown marker was present, so indexes are trusted
  // and only verified; otherwise the active segment(s) are scanned and repaired.
  static Result<std::unique_ptr<PartitionLog>> open(const fs::path& dir, const LogConfig& config,
                                                    LogEnvironment env, bool clean_shutdown);
  ~PartitionLog();

  // Validates every batch (framing, CRC, magic 2, sizes), assigns offsets in place and appends.
  // `batches` holds one or more concatenated RecordBatch v2.
  Result<AppendResult> append(MutableByteView batches, const AppendOptions& options = {});

  // Whole batches from the one containing `start` on, below `max_offset` (exclusive: the high
  // watermark), up to `max_bytes` — but at least one batch if `min_one_batch`, as Kafka does.
  Result<ReadResult> read(Offset start, uint64_t max_bytes, std::optional<Offset> max_offset = {},
                          bool min_one_batch = true) const;
  // First record with timestamp >= `timestamp` (ListOffsets).
  Result<std::optional<TimestampOffset>> offset_for_timestamp(int64_t timestamp) const;

  Offset log_start_offset() const { return log_start_offset_; }
  // Largest record timestamp in the log, -1 if empty.
  int64_t max_timestamp() const;
  Offset log_end_offset() const { return segments_.rbegin()->second->next_offset(); }
  // Everything below this offset has been fsynced (with the directory entries that name it).
  Offset durable_offset() const;
  uint64_t size_bytes() const;
  size_t segment_count() const { return segments_.size(); }
  const LogConfig& config() const { return config_; }
  void set_config(const LogConfig& config) { config_ = config; }
  const fs::path& dir() const { return dir_; }

  // Runs `callback` once `offset` is durable (at once, on this thread, if it already is;
  // otherwise on the flusher thread), or with the error that prevented it.
  void on_durable(Offset offset, std::function<void(const Result<void>&)> callback);
  // Asks the flusher to sync everything appended so far.
  void request_flush();
  // Blocking flush for shutdown and tests.
  Result<void> flush_sync();

  // Removes batches at and after `offset` (a follower diverged from its leader).
  Result<void> truncate_to(Offset offset);
  // Advances the log start offset (DeleteRecords); whole segments below it are deleted.
  Result<Offset> delete_records_before(Offset offset);
  // Empties the log and starts it afresh at `offset`, also past the log end (a follower that
  // fell behind its leader's log start, as Kafka's truncateFullyAndStartAt).
  Result<void> truncate_fully_and_start_at(Offset offset);
  // Time/size retention and segments below the log start; returns how many segments went.
  Result<size_t> enforce_retention();
  // flush.ms; call periodically.
  void maybe_flush_on_time();
  // Writes indexes and the log-start checkpoint, then syncs. The log is unusable afterwards.
  Result<void> close();
  // Removes every file of this log (topic deletion).
  Result<void> remove_all();

  // For the cleaner: the segments that are no longer written to, oldest first.
  std::vector<std::shared_ptr<Segment>> sealed_segments() const;
  // Swaps in a cleaned copy of one sealed segment (already written and synced at `cleaned_log`
  // in this log's directory). Refused if the segment changed since the cleaner planned.
  Result<void> replace_segment(const std::shared_ptr<Segment>& old, uint64_t size_when_planned,
                               const fs::path& cleaned_log);
  // The cleaner's progress: offsets below this were compacted since the log was opened.
  Offset first_dirty_offset() const { return first_dirty_offset_; }
  void set_first_dirty_offset(Offset offset) { first_dirty_offset_ = offset; }
  LogEnvironment& environment() { return env_; }
  Clock* environment_clock() const { return env_.clock; }

 private:
  PartitionLog(fs::path dir, LogConfig config, LogEnvironment env);
  Result<void> load(bool clean_shutdown);
  Result<void> roll(Offset next_base);
  bool should_roll(uint64_t incoming_bytes, Offset last_offset) const;
  Result<void> check_writable() const;
  Result<void> fail(const Error& error);
  Result<void> delete_segment(Offset base);
  Result<void> write_log_start_checkpoint_async();
  // Deletes every segment and opens an empty one at `offset`, the new log start.
  Result<void> start_afresh_at(Offset offset);
  void submit_flush(std::function<Result<void>()> task = {});

  struct Durability;  // shared with flusher callbacks

  fs::path dir_;
  LogConfig config_;
  LogEnvironment env_;
  std::unique_ptr<Flusher> own_flusher_;        // when the environment gives none
  std::unique_ptr<LogDirHealth> own_health_;
  std::map<Offset, std::shared_ptr<Segment>> segments_;
  Offset log_start_offset_{0};
  std::vector<std::shared_ptr<File>> unsynced_files_;
  bool dir_unsynced_ = false;
  int64_t unflushed_messages_ = 0;
  int64_t last_flush_ms_ = 0;
  std::shared_ptr<Durability> durability_;
  bool closed_ = false;
  Offset first_dirty_offset_{0};
};

}  // namespace kafkacore::storage
