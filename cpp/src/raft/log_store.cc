#include "raft/log_store.h"

#include <array>
#include <cstring>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include "record/crc32c.h"
#include "storage/file_io.h"

namespace kafkacore::raft {
namespace {

namespace fs = std::filesystem;
using storage::File;

// Every file starts with a magic and a format version and ends its fixed part with a CRC-32C of
// everything before it, so a torn or foreign file is told apart from a valid one.
constexpr uint32_t kFormatVersion = 1;
constexpr std::array<char, 4> kHardStateMagic{'K', 'R', 'H', 'S'};
constexpr std::array<char, 4> kSnapshotMagic{'K', 'R', 'S', 'N'};
constexpr std::array<char, 4> kLogMagic{'K', 'R', 'L', 'G'};

// magic, version, term, voted_for, commit, crc
constexpr size_t kHardStateSize = 4 + 4 + 8 + 4 + 8 + 4;
// magic, version, last_index, last_term, data size | data | crc
constexpr size_t kSnapshotFixedSize = 4 + 4 + 8 + 8 + 8 + 4;
// magic, version, base_index, base_term, crc
constexpr size_t kLogHeaderSize = 4 + 4 + 8 + 8 + 4;
// Frame: length (of the body), crc (of length + body) | body: term, index, data.
constexpr size_t kFrameHeaderSize = 4 + 4;
constexpr size_t kEntryFixedSize = 8 + 8;
constexpr size_t kMaxEntryData = UINT32_MAX - kEntryFixedSize;

class Writer {
 public:
  explicit Writer(Bytes& out) : out_(out) {}
  void magic(const std::array<char, 4>& m) {
    const auto* p = reinterpret_cast<const std::byte*>(m.data());
    out_.insert(out_.end(), p, p + m.size());
  }
  void u32(uint32_t v) { put(v); }
  void i32(int32_t v) { put(static_cast<uint32_t>(v)); }
  void i64(int64_t v) { put(static_cast<uint64_t>(v)); }
  void u64(uint64_t v) { put(v); }
  void raw(ByteView b) { out_.insert(out_.end(), b.begin(), b.end()); }
  // Appends the CRC-32C of everything written to `out` since `from`.
  void seal(size_t from = 0) {
    u32(record::crc32c(ByteView(out_).subspan(from)));
  }

 private:
  template <typename T>
  void put(T v) {
    const size_t at = out_.size();
    out_.resize(at + sizeof(T));
    store_be<T>(out_.data() + at, v);
  }
  Bytes& out_;
};

// Reads fixed-size fields; callers check the size first.
class Reader {
 public:
  explicit Reader(ByteView in, size_t pos = 0) : in_(in), pos_(pos) {}
  bool magic(const std::array<char, 4>& m) {
    const bool same = std::memcmp(in_.data() + pos_, m.data(), m.size()) == 0;
    pos_ += m.size();
    return same;
  }
  uint32_t u32() { return get<uint32_t>(); }
  int32_t i32() { return static_cast<int32_t>(get<uint32_t>()); }
  int64_t i64() { return static_cast<int64_t>(get<uint64_t>()); }
  uint64_t u64() { return get<uint64_t>(); }
  size_t pos() const { return pos_; }

 private:
  template <typename T>
  T get() {
    T v = load_be<T>(in_.data() + pos_);
    pos_ += sizeof(T);
    return v;
  }
  ByteView in_;
  size_t pos_;
};

std::unexpected<Error> corrupt_file(const fs::path& path, const std::string& detail) {
  return make_error(Errc::corrupt_message,
                    "raft store file " + path.string() + " is corrupt: " + detail);
}

std::unexpected<Error> invalid(const std::string& detail) {
  return make_error(Errc::invalid_request, "raft store: " + detail);
}

// Checks the CRC over content[0, size - 4) and then magic and version, in that order: a torn
// write shows up as a CRC mismatch, a foreign file as a bad magic.
Result<void> check_sealed(ByteView content, const std::array<char, 4>& magic,
                          const fs::path& path) {
  const size_t body = content.size() - 4;
  const uint32_t stored = load_be<uint32_t>(content.data() + body);
  if (record::crc32c(content.first(body)) != stored) {
    return corrupt_file(path, "checksum mismatch (torn or damaged write)");
  }
  Reader r(content);
  if (!r.magic(magic)) return corrupt_file(path, "bad magic (not a raft store file)");
  if (const uint32_t v = r.u32(); v != kFormatVersion) {
    return corrupt_file(path, "unsupported format version " + std::to_string(v));
  }
  return {};
}

Bytes encode_hard_state(const HardState& h) {
  Bytes out;
  Writer w(out);
  w.magic(kHardStateMagic);
  w.u32(kFormatVersion);
  w.i64(h.term);
  w.i32(h.voted_for);
  w.i64(h.commit);
  w.seal();
  return out;
}

Result<HardState> decode_hard_state(ByteView content, const fs::path& path) {
  if (content.size() != kHardStateSize) {
    return corrupt_file(path, "size " + std::to_string(content.size()) + ", expected " +
                                  std::to_string(kHardStateSize));
  }
  if (auto r = check_sealed(content, kHardStateMagic, path); !r) return std::unexpected(r.error());
  Reader r(content, 8);
  HardState h;
  h.term = r.i64();
  h.voted_for = r.i32();
  h.commit = r.i64();
  if (h.term < 0 || h.commit < 0) return corrupt_file(path, "negative term or commit");
  return h;
}

Bytes encode_snapshot(const Snapshot& s) {
  Bytes out;
  out.reserve(kSnapshotFixedSize + s.data.size());
  Writer w(out);
  w.magic(kSnapshotMagic);
  w.u32(kFormatVersion);
  w.i64(s.last_index);
  w.i64(s.last_term);
  w.u64(s.data.size());
  w.raw(s.data);
  w.seal();
  return out;
}

Result<Snapshot> decode_snapshot(ByteView content, const fs::path& path) {
  if (content.size() < kSnapshotFixedSize) {
    return corrupt_file(path, "only " + std::to_string(content.size()) + " bytes");
  }
  if (auto r = check_sealed(content, kSnapshotMagic, path); !r) return std::unexpected(r.error());
  Reader r(content, 8);
  Snapshot s;
  s.last_index = r.i64();
  s.last_term = r.i64();
  const uint64_t size = r.u64();
  if (size != content.size() - kSnapshotFixedSize) {
    return corrupt_file(path, "declares " + std::to_string(size) + " data bytes, holds " +
                                  std::to_string(content.size() - kSnapshotFixedSize));
  }
  if (s.last_index <= 0 || s.last_term < 0) {
    return corrupt_file(path, "invalid last index " + std::to_string(s.last_index) +
                                  " or term " + std::to_string(s.last_term));
  }
  const auto data = content.subspan(r.pos(), size);
  s.data.assign(data.begin(), data.end());
  return s;
}

// Appends the frame of `e` to `out`.
void encode_frame(Bytes& out, const Entry& e) {
  const size_t start = out.size();
  Writer w(out);
  w.u32(static_cast<uint32_t>(kEntryFixedSize + e.data.size()));
  w.u32(0);  // the CRC, filled in below
  w.i64(e.term);
  w.i64(e.index);
  w.raw(e.data);
  ByteView frame(out.data() + start, out.size() - start);
  uint32_t crc = record::crc32c(frame.first(4));
  crc = record::crc32c_extend(crc, frame.data() + kFrameHeaderSize, frame.size() - kFrameHeaderSize);
  store_be<uint32_t>(out.data() + start + 4, crc);
}

// Log content for `entries` following the snapshot (base_index, base_term); fills `offsets`.
Bytes encode_log(Index base_index, Term base_term, const std::vector<Entry>& entries,
                 std::vector<int64_t>& offsets) {
  Bytes out;
  Writer w(out);
  w.magic(kLogMagic);
  w.u32(kFormatVersion);
  w.i64(base_index);
  w.i64(base_term);
  w.seal();
  offsets.clear();
  for (const Entry& e : entries) {
    offsets.push_back(static_cast<int64_t>(out.size()));
    encode_frame(out, e);
  }
  return out;
}

struct ParsedLog {
  Index base_index = 0;
  Term base_term = 0;
  std::vector<Entry> entries;
  std::vector<int64_t> offsets;
  int64_t end = 0;  // after the last valid frame; less than the file size when the tail is torn
};

// A frame that is incomplete or fails its CRC ends the log (a crash mid-append leaves exactly
// that); a frame that passes its CRC but breaks the sequence is damage we refuse to guess about.
Result<ParsedLog> parse_log(ByteView content, const fs::path& path) {
  if (content.size() < kLogHeaderSize) {
    return corrupt_file(path, "header truncated to " + std::to_string(content.size()) + " bytes");
  }
  if (auto r = check_sealed(content.first(kLogHeaderSize), kLogMagic, path); !r) {
    return std::unexpected(r.error());
  }
  ParsedLog log;
  Reader header(content, 8);
  log.base_index = header.i64();
  log.base_term = header.i64();
  if (log.base_index < 0 || log.base_term < 0) return corrupt_file(path, "negative base index or term");
  size_t pos = kLogHeaderSize;
  Term prev_term = log.base_term;
  for (;;) {
    const size_t left = content.size() - pos;
    if (left < kFrameHeaderSize) break;
    Reader r(content, pos);
    const uint32_t length = r.u32();
    const uint32_t stored_crc = r.u32();
    if (length < kEntryFixedSize || length > left - kFrameHeaderSize) break;
    uint32_t crc = record::crc32c(content.subspan(pos, 4));
    crc = record::crc32c_extend(crc, content.data() + pos + kFrameHeaderSize, length);
    if (crc != stored_crc) break;
    Entry e;
    e.term = r.i64();
    e.index = r.i64();
    const Index expected = log.base_index + 1 + static_cast<Index>(log.entries.size());
    if (e.index != expected) {
      return corrupt_file(path, "entry at byte " + std::to_string(pos) + " has index " +
                                    std::to_string(e.index) + ", expected " + std::to_string(expected));
    }
    if (e.term < prev_term) {
      return corrupt_file(path, "entry " + std::to_string(e.index) + " has term " +
                                    std::to_string(e.term) + ", lower than the " +
                                    std::to_string(prev_term) + " before it");
    }
    const auto data = content.subspan(r.pos(), length - kEntryFixedSize);
    e.data.assign(data.begin(), data.end());
    prev_term = e.term;
    log.offsets.push_back(static_cast<int64_t>(pos));
    log.entries.push_back(std::move(e));
    pos += kFrameHeaderSize + length;
  }
  log.end = static_cast<int64_t>(pos);
  return log;
}

}  // namespace

LogStore::LogStore(fs::path dir, storage::IoFaults* faults) : dir_(std::move(dir)), faults_(faults) {}

LogStore::~LogStore() = default;

Result<std::unique_ptr<LogStore>> LogStore::open(const fs::path& path, storage::IoFaults* faults) {
  std::unique_ptr<LogStore> store(new LogStore(path, faults));
  if (auto r = store->recover(); !r) return std::unexpected(r.error());
  return store;
}

Index LogStore::last_index() const {
  return entries_.empty() ? snapshot_.last_index : entries_.back().index;
}

RestoredState LogStore::restore() const { return RestoredState{hard_, snapshot_, entries_}; }

Result<void> LogStore::recover() {
  std::error_code ec;
  if (fs::create_directories(dir_, ec)) {
    // The new directory's own entry must be durable too, or a crash could lose the whole store.
    if (auto r = storage::sync_directory(dir_.parent_path().empty() ? "." : dir_.parent_path(),
                                         faults_); !r) {
      return r;
    }
  } else if (ec) {
    return std::unexpected(storage::io_error("cannot create directory", dir_, ec.value()));
  }
  const fs::path hard_path = dir_ / kHardStateFile;
  const fs::path snapshot_path = dir_ / kSnapshotFile;
  const fs::path log_path = dir_ / kLogFile;

  // A temp file is a replacement that never got renamed in: the old file is still the truth.
  for (const fs::path& p : {hard_path, snapshot_path, log_path}) {
    fs::path tmp = p;
    tmp += ".tmp";
    if (auto r = storage::remove_file(tmp); !r) return r;
  }

  auto exists = [&](const fs::path& p) -> Result<bool> {
    const bool found = fs::exists(p, ec);
    if (ec) return std::unexpected(storage::io_error("cannot stat", p, ec.value()));
    return found;
  };
  auto has_hard = exists(hard_path);
  if (!has_hard) return std::unexpected(has_hard.error());
  auto has_snapshot = exists(snapshot_path);
  if (!has_snapshot) return std::unexpected(has_snapshot.error());
  auto has_log = exists(log_path);
  if (!has_log) return std::unexpected(has_log.error());
  if (*has_hard) {
    auto content = storage::read_whole_file(hard_path);
    if (!content) return std::unexpected(content.error());
    auto hard = decode_hard_state(*content, hard_path);
    if (!hard) return std::unexpected(hard.error());
    hard_ = *hard;
  }
  if (*has_snapshot) {
    auto content = storage::read_whole_file(snapshot_path);
    if (!content) return std::unexpected(content.error());
    auto snapshot = decode_snapshot(*content, snapshot_path);
    if (!snapshot) return std::unexpected(snapshot.error());
    snapshot_ = std::move(*snapshot);
  }

  if (!*has_log) {
    // A new store is created hard state first, log last: the log's presence means "initialised",
    // so any other file without it means something was lost, not a fresh start.
    if (*has_snapshot || hard_ != HardState{}) {
      return corrupt_file(log_path, "missing while " +
                                        std::string(*has_snapshot ? kSnapshotFile : kHardStateFile) +
                                        " holds state");
    }
    if (!*has_hard) {
      if (auto r = write_hard_state(HardState{}); !r) return r;
    }
    return rewrite_log({});
  }
  if (!*has_hard) return corrupt_file(hard_path, "missing while the log exists");

  auto content = storage::read_whole_file(log_path);
  if (!content) return std::unexpected(content.error());
  auto parsed = parse_log(*content, log_path);
  if (!parsed) return std::unexpected(parsed.error());

  const Index s_index = snapshot_.last_index;
  const Term s_term = snapshot_.last_term;
  if (parsed->base_index > s_index) {
    return corrupt_file(log_path, "starts after index " + std::to_string(parsed->base_index) +
                                      " but the snapshot ends at " + std::to_string(s_index) +
                                      ": entries in between are lost");
  }
  if (parsed->base_index < s_index) {
    // A crash came between writing the snapshot and rewriting the log. The log's entries after
    // the snapshot are still valid if the log agrees with it at its last index (a compaction);
    // otherwise the snapshot replaced a divergent log (an install) and none of it is kept.
    std::vector<Entry> kept;
    const Index at = s_index - parsed->base_index - 1;  // position of the entry s_index
    if (at < static_cast<Index>(parsed->entries.size()) &&
        parsed->entries[static_cast<size_t>(at)].term == s_term) {
      kept.assign(std::make_move_iterator(parsed->entries.begin() + at + 1),
                  std::make_move_iterator(parsed->entries.end()));
    }
    return rewrite_log(std::move(kept));
  }
  if (parsed->base_term != s_term) {
    return corrupt_file(log_path, "follows a snapshot of term " + std::to_string(parsed->base_term) +
                                      " but the snapshot has term " + std::to_string(s_term));
  }

  auto file = File::open(log_path, File::Mode::read_write, faults_);
  if (!file) return std::unexpected(file.error());
  log_ = std::move(*file);
  entries_ = std::move(parsed->entries);
  offsets_ = std::move(parsed->offsets);
  log_end_ = parsed->end;
  if (log_end_ < static_cast<int64_t>(content->size())) {
    // Cut the torn tail durably before anything is appended: otherwise a crash could let stale
    // frames beyond the new entries reappear as if they followed them.
    if (auto r = log_->truncate(log_end_); !r) return r;
    if (auto r = log_->sync(); !r) return r;
  }
  return {};
}

Result<void> LogStore::write_hard_state(const HardState& hard) {
  auto r = storage::write_file_atomically(dir_ / kHardStateFile, encode_hard_state(hard), faults_);
  if (r) hard_ = hard;
  return r;
}

Result<void> LogStore::write_snapshot(const Snapshot& snapshot) {
  auto r = storage::write_file_atomically(dir_ / kSnapshotFile, encode_snapshot(snapshot), faults_);
  if (r) snapshot_ = snapshot;
  return r;
}

// Replaces the log file with one following the current snapshot and holding `entries`.
Result<void> LogStore::rewrite_log(std::vector<Entry> entries) {
  const fs::path log_path = dir_ / kLogFile;
  std::vector<int64_t> offsets;
  const Bytes content = encode_log(snapshot_.last_index, snapshot_.last_term, entries, offsets);
  log_.reset();
  if (auto r = storage::write_file_atomically(log_path, content, faults_); !r) return r;
  auto file = File::open(log_path, File::Mode::read_write, faults_);
  if (!file) return std::unexpected(file.error());
  log_ = std::move(*file);
  entries_ = std::move(entries);
  offsets_ = std::move(offsets);
  log_end_ = static_cast<int64_t>(content.size());
  return {};
}

Result<void> LogStore::truncate_log(Index from) {
  if (from > last_index()) return {};  // nothing persisted there (the node dropped it unsent)
  const auto keep = static_cast<size_t>(from - first_index());
  const int64_t end = offsets_[keep];
  if (auto r = log_->truncate(end); !r) return r;
  // Its own fsync, before new entries go where the old ones were: if the shorter size were not
  // durable, a crash could leave an old frame right after a new one of the same length, and
  // recovery would stitch the two histories together.
  if (auto r = log_->sync(); !r) return r;
  entries_.resize(keep);
  offsets_.resize(keep);
  log_end_ = end;
  return {};
}

Result<void> LogStore::append_entries(const std::vector<Entry>& entries) {
  Bytes frames;
  std::vector<int64_t> offsets;
  for (const Entry& e : entries) {
    offsets.push_back(log_end_ + static_cast<int64_t>(frames.size()));
    encode_frame(frames, e);
  }
  if (auto r = log_->pwrite_all(frames, log_end_); !r) return r;
  entries_.insert(entries_.end(), entries.begin(), entries.end());
  offsets_.insert(offsets_.end(), offsets.begin(), offsets.end());
  log_end_ += static_cast<int64_t>(frames.size());
  return {};
}

Result<void> LogStore::check_usable() const {
  if (!failed_) return {};
  return make_error(Errc::kafka_storage_error,
                    "raft store " + dir_.string() +
                        " is unusable after an I/O failure (reopen it): " + failed_->message());
}

Result<void> LogStore::poison_on_error(Result<void> result) {
  if (!result && !failed_) failed_ = result.error();
  return result;
}

Result<void> LogStore::persist(const Ready& ready) {
  if (auto r = check_usable(); !r) return r;

  // Check the whole Ready against the state it will produce before writing anything, so a
  // Ready the store cannot take leaves it untouched.
  Index last = last_index();
  Index floor = snapshot_.last_index;  // nothing at or below may be truncated
  Term last_term = entries_.empty() ? snapshot_.last_term : entries_.back().term;
  if (ready.snapshot) {
    if (ready.snapshot->last_index <= snapshot_.last_index) {
      return invalid("snapshot at " + std::to_string(ready.snapshot->last_index) +
                     " is not newer than the stored one at " +
                     std::to_string(snapshot_.last_index));
    }
    last = floor = ready.snapshot->last_index;
    last_term = ready.snapshot->last_term;
  }
  if (ready.truncate_from) {
    const Index from = *ready.truncate_from;
    if (from <= floor) {
      return invalid("truncation from " + std::to_string(from) +
                     " reaches into the snapshot ending at " + std::to_string(floor));
    }
    if (from <= last) {  // never with a snapshot in this Ready: that leaves nothing after it
      last = from - 1;
      last_term = last == snapshot_.last_index
                      ? snapshot_.last_term
                      : entries_[static_cast<size_t>(last - first_index())].term;
    }
  }
  for (size_t i = 0; i < ready.entries.size(); ++i) {
    const Entry& e = ready.entries[i];
    const Index expected = last + 1 + static_cast<Index>(i);
    if (e.index != expected) {
      return invalid("entry " + std::to_string(e.index) + " does not follow the log (expected " +
                     std::to_string(expected) + ")");
    }
    if (e.term < last_term) {
      return invalid("entry " + std::to_string(e.index) + " has term " + std::to_string(e.term) +
                     ", lower than the " + std::to_string(last_term) + " before it");
    }
    if (e.data.size() > kMaxEntryData) {
      return invalid("entry " + std::to_string(e.index) + " has more than 4 GiB of data");
    }
    last_term = e.term;
  }

  if (ready.snapshot) {
    // Snapshot first, then the log: recovery finishes an install cut short between the two.
    if (auto r = poison_on_error(write_snapshot(*ready.snapshot)); !r) return r;
    if (auto r = poison_on_error(rewrite_log({})); !r) return r;
  }
  if (ready.truncate_from) {
    if (auto r = poison_on_error(truncate_log(*ready.truncate_from)); !r) return r;
  }
  if (!ready.entries.empty()) {
    if (auto r = poison_on_error(append_entries(ready.entries)); !r) return r;
    if (auto r = poison_on_error(log_->sync()); !r) return r;
  }
  if (ready.hard_state && *ready.hard_state != hard_) {
    if (auto r = poison_on_error(write_hard_state(*ready.hard_state)); !r) return r;
  }
  return {};
}

Result<void> LogStore::save_snapshot(const Snapshot& snapshot) {
  if (auto r = check_usable(); !r) return r;
  if (snapshot.last_index <= snapshot_.last_index) return {};
  if (snapshot.last_index > last_index()) {
    return invalid("snapshot at " + std::to_string(snapshot.last_index) +
                   " is beyond the log, which ends at " + std::to_string(last_index()));
  }
  const auto at = static_cast<size_t>(snapshot.last_index - first_index());
  if (entries_[at].term != snapshot.last_term) {
    return invalid("snapshot at " + std::to_string(snapshot.last_index) + " has term " +
                   std::to_string(snapshot.last_term) + " but the log has term " +
                   std::to_string(entries_[at].term) + " there");
  }
  std::vector<Entry> kept(entries_.begin() + static_cast<std::ptrdiff_t>(at + 1), entries_.end());
  // Snapshot first, then the log: recovery finishes a compaction cut short between the two.
  if (auto r = poison_on_error(write_snapshot(snapshot)); !r) return r;
  return poison_on_error(rewrite_log(std::move(kept)));
}

}  // namespace kafkacore::raft
