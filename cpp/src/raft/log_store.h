#pragma once
// The durable store of one Raft node: a directory holding
//   hard_state  term, voted_for, commit + CRC; replaced atomically (temp, fsync, rename, dir fsync)
//   snapshot    last index/term + data + CRC; replaced atomically the same way
//   log         a header naming the snapshot it follows (base index/term), then append-only
//               CRC-framed entries (term, index, data)
// It implements the persistence half of the Ready contract (raft/node.h): `persist` returns only
// once everything in the Ready is on disk, so the driver may then send the Ready's messages.
//
// Recovery (`open`): leftover temp files are removed; a torn or garbage tail of the log (a crash
// mid-append) is cut at the last valid entry; valid entries that are not contiguous, or a
// corrupt hard state, snapshot or log header, are errors naming the file, never silently
// dropped. A crash between writing a snapshot and rewriting the log is finished here.
//
// Simple rather than fast: the whole log is kept in memory and rewritten on compaction; the
// metadata log it serves holds thousands of entries.
//
// After any I/O failure the store refuses further writes (what reached the disk is unknown and a
// failed fsync must not be retried as if it could succeed): reopen it to continue.
// Not thread-safe: one driver thread owns it.
#include <filesystem>
#include <memory>
#include <optional>
#include <vector>

#include "common/bytes.h"
#include "common/error.h"
#include "raft/node.h"

namespace kafkacore::storage {
class File;
struct IoFaults;
}  // namespace kafkacore::storage

namespace kafkacore::raft {

class LogStore {
 public:
  // Opens (creating if needed) the store in directory `path` and recovers it. `faults` (tests)
  // is consulted by every write and fsync.
  static Result<std::unique_ptr<LogStore>> open(const std::filesystem::path& path,
                                                storage::IoFaults* faults = nullptr);
  ~LogStore();
  LogStore(const LogStore&) = delete;
  LogStore& operator=(const LogStore&) = delete;

  // What raft::Node's constructor takes.
  RestoredState restore() const;

  // Makes the persistence part of `ready` durable, in the contract's order: `snapshot` (replaces
  // the whole log), `truncate_from`, `entries`, `hard_state`. One fsync covers the log (two when
  // persisted entries are truncated); the hard-state file is rewritten only when it changed.
  // A Ready that does not fit the store (entries not following its log, a truncation into the
  // snapshot, an older snapshot) is INVALID_REQUEST and writes nothing.
  Result<void> persist(const Ready& ready);

  // Local compaction: the state machine folded everything up to `snapshot.last_index` into it.
  // Entries it covers are dropped, later ones kept. A snapshot not newer than the current one is
  // a no-op; one beyond the log, or whose term disagrees with the log, is INVALID_REQUEST.
  Result<void> save_snapshot(const Snapshot& snapshot);

  const HardState& hard_state() const { return hard_; }
  const Snapshot& snapshot() const { return snapshot_; }
  const std::vector<Entry>& entries() const { return entries_; }
  Index first_index() const { return snapshot_.last_index + 1; }
  Index last_index() const;
  const std::filesystem::path& path() const { return dir_; }

  // File names inside the directory (tests damage them on purpose).
  static constexpr const char* kHardStateFile = "hard_state";
  static constexpr const char* kSnapshotFile = "snapshot";
  static constexpr const char* kLogFile = "log";

 private:
  LogStore(std::filesystem::path dir, storage::IoFaults* faults);

  Result<void> recover();
  Result<void> rewrite_log(std::vector<Entry> entries);
  Result<void> write_snapshot(const Snapshot& snapshot);
  Result<void> truncate_log(Index from);
  Result<void> append_entries(const std::vector<Entry>& entries);
  Result<void> write_hard_state(const HardState& hard);
  Result<void> check_usable() const;
  // Marks the store unusable when `result` failed (I/O errors only reach here).
  Result<void> poison_on_error(Result<void> result);

  std::filesystem::path dir_;
  storage::IoFaults* faults_;
  std::shared_ptr<storage::File> log_;
  HardState hard_;
  Snapshot snapshot_;
  std::vector<Entry> entries_;  // contiguous, starting at snapshot_.last_index + 1
  std::vector<int64_t> offsets_;  // file offset of each entry's frame
  int64_t log_end_ = 0;           // file offset after the last valid frame
  std::optional<Error> failed_;
};

}  // namespace kafkacore::raft
