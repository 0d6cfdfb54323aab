#include "storage/segment.h"

#include <sys/mman.h>

#include <algorithm>
#include <array>
#include <cstdio>

#include "record/record_batch.h"
#include "storage/segment_recovery.h"

namespace kafkacore::storage {
namespace {

namespace rf = record::field;

// Header scans read this much at a time: most lookups end within one index interval (4 KiB),
// and a larger batch costs one read per header rather than a read of its whole payload.
constexpr size_t kScanChunk = 4096;

BatchInfo info_from_header(const std::byte* p, uint32_t position) {
  BatchInfo info;
  info.position = position;
  info.size = static_cast<uint32_t>(record::kLogOverhead + load_be<int32_t>(p + rf::batch_length));
  info.base_offset = Offset{load_be<int64_t>(p + rf::base_offset)};
  info.last_offset = Offset{info.base_offset.value() + load_be<int32_t>(p + rf::last_offset_delta)};
  info.max_timestamp = load_be<int64_t>(p + rf::max_timestamp);
  info.record_count = load_be<int32_t>(p + rf::records_count);
  return info;
}

// Read-only mapping of a whole file, for the recovery scan.
class Mapping {
 public:
  static Result<Mapping> of(const File& file) {
    auto size = file.size();
    if (!size) return std::unexpected(size.error());
    Mapping m;
    m.size_ = static_cast<size_t>(*size);
    if (m.size_ == 0) return m;
    void* p = ::mmap(nullptr, m.size_, PROT_READ, MAP_PRIVATE, file.fd(), 0);
    if (p == MAP_FAILED) return std::unexpected(io_error("cannot map", file.path(), errno));
    m.data_ = static_cast<std::byte*>(p);
    return m;
  }
  Mapping(Mapping&& o) noexcept : data_(std::exchange(o.data_, nullptr)), size_(o.size_) {}
  ~Mapping() {
    if (data_) ::munmap(data_, size_);
  }
  ByteView view() const { return {data_, size_}; }

 private:
  Mapping() = default;
  std::byte* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace

std::string segment_file_name(Offset base, const char* suffix) {
  char name[64];
  std::snprintf(name, sizeof(name), "%020lld%s", static_cast<long long>(base.value()), suffix);
  return name;
}

fs::path Segment::index_path() const { return dir_ / segment_file_name(base_, ".index"); }
fs::path Segment::time_index_path() const { return dir_ / segment_file_name(base_, ".timeindex"); }

Result<std::unique_ptr<Segment>> Segment::create(const fs::path& dir, Offset base, int64_t now_ms,
                                                 IoFaults* faults) {
  auto file = File::open(dir / segment_file_name(base, ".log"), File::Mode::create_or_truncate, faults);
  if (!file) return std::unexpected(file.error());
  std::unique_ptr<Segment> seg(new Segment(dir, base, std::move(*file), faults));
  seg->created_ms_ = now_ms;
  // Stale index files from an earlier life of this base offset would describe other data.
  if (auto r = remove_file(seg->index_path()); !r) return std::unexpected(r.error());
  if (auto r = remove_file(seg->time_index_path()); !r) return std::unexpected(r.error());
  return seg;
}

Result<std::unique_ptr<Segment>> Segment::open(const fs::path& dir, Offset base, bool recover,
                                               int64_t now_ms, IoFaults* faults,
                                               std::vector<std::string>& problems) {
  const fs::path log_path = dir / segment_file_name(base, ".log");
  auto file = File::open(log_path, File::Mode::read_write, faults);
  if (!file) return std::unexpected(file.error());
  std::unique_ptr<Segment> seg(new Segment(dir, base, std::move(*file), faults));
  seg->created_ms_ = now_ms;
  auto size = seg->file_->size();
  if (!size) return std::unexpected(size.error());
  seg->size_ = static_cast<uint64_t>(*size);

  if (!recover) {
    auto offsets = load_offset_index(seg->index_path(), seg->size_);
    auto times = load_time_index(seg->time_index_path(), seg->size_);
    if (offsets && times) {
      seg->offset_index_ = std::move(*offsets);
      seg->time_index_ = std::move(*times);
      if (!seg->time_index_.entries().empty()) {
        seg->max_timestamp_ = seg->time_index_.entries().back().timestamp;
      }
      // Only the batches after the last index entry need reading to find the end.
      const uint32_t from =
          seg->offset_index_.entries().empty() ? 0 : seg->offset_index_.entries().back().position;
      uint64_t end = from;
      auto scanned = seg->scan(from, [&](const BatchInfo& b) {
        seg->next_offset_ = Offset{b.last_offset.value() + 1};
        seg->max_timestamp_ = std::max(seg->max_timestamp_, b.max_timestamp);
        end = b.position + uint64_t{b.size};
        return true;
      });
      if (scanned && end == seg->size_) return seg;
    }
    problems.push_back(log_path.string() + ": index files missing or invalid, rebuilding");
  }

  auto mapping = Mapping::of(*seg->file_);
  if (!mapping) return std::unexpected(mapping.error());
  RecoveryScan scan = scan_segment_for_recovery(mapping->view(), base);
  for (const auto& p : scan.problems) problems.push_back(log_path.string() + ": " + p);
  if (scan.needs_rewrite()) {
    // Write the repaired content beside the segment, then swap it in atomically.
    Bytes repaired = rebuild_segment(mapping->view(), scan);
    fs::path tmp = log_path;
    tmp += ".repair";
    if (auto r = write_file_atomically(tmp, repaired, faults); !r) return std::unexpected(r.error());
    if (auto r = rename_file(tmp, log_path); !r) return std::unexpected(r.error());
    if (auto r = sync_directory(dir, faults); !r) return std::unexpected(r.error());
    auto reopened = File::open(log_path, File::Mode::read_write, faults);
    if (!reopened) return std::unexpected(reopened.error());
    seg->file_ = std::move(*reopened);
  } else if (scan.tail_bytes > 0) {
    if (auto r = seg->file_->truncate(static_cast<off_t>(scan.valid_end)); !r) {
      return std::unexpected(r.error());
    }
    if (auto r = seg->file_->sync(); !r) return std::unexpected(r.error());
  }
  seg->size_ = scan.valid_end;
  if (auto r = seg->rebuild_indexes(); !r) return std::unexpected(r.error());
  return seg;
}

void Segment::index_batch(const BatchInfo& info, int64_t index_interval_bytes) {
  const bool first = size_ == 0 || offset_index_.entries().empty();
  if (first || bytes_since_index_ >= static_cast<uint64_t>(index_interval_bytes)) {
    const auto rel = static_cast<uint32_t>(info.base_offset.value() - base_.value());
    if (offset_index_.entries().empty() || offset_index_.entries().back().relative_offset < rel) {
      offset_index_.append({rel, info.position});
    }
    if (info.max_timestamp > max_timestamp_ &&
        (time_index_.entries().empty() || time_index_.entries().back().relative_offset < rel)) {
      time_index_.append({info.max_timestamp, rel});
    }
    bytes_since_index_ = 0;
  }
  bytes_since_index_ += info.size;
  max_timestamp_ = std::max(max_timestamp_, info.max_timestamp);
  next_offset_ = Offset{info.last_offset.value() + 1};
}

Result<void> Segment::append(ByteView batches, const std::vector<BatchInfo>& infos,
                             int64_t index_interval_bytes) {
  if (auto r = file_->pwrite_all(batches, static_cast<off_t>(size_)); !r) {
    // Leave no partial batch behind: the next append must start on a batch boundary.
    (void)file_->truncate(static_cast<off_t>(size_));
    return r;
  }
  for (BatchInfo info : infos) {
    info.position += static_cast<uint32_t>(size_);
    index_batch(info, index_interval_bytes);
  }
  size_ += batches.size();
  return {};
}

Result<void> Segment::scan(uint32_t position,
                           const std::function<bool(const BatchInfo&)>& visit) const {
  std::array<std::byte, kScanChunk> buffer;  // uninitialised: filled by pread before use
  uint64_t buffer_start = 0;
  size_t buffer_len = 0;
  uint64_t pos = position;
  while (pos + record::kBatchHeaderSize <= size_) {
    if (pos < buffer_start || pos + record::kBatchHeaderSize > buffer_start + buffer_len) {
      auto n = file_->pread_some(buffer, static_cast<off_t>(pos));
      if (!n) return std::unexpected(n.error());
      buffer_start = pos;
      buffer_len = *n;
      if (buffer_len < record::kBatchHeaderSize) break;
    }
    const std::byte* p = buffer.data() + (pos - buffer_start);
    const int32_t length = load_be<int32_t>(p + rf::batch_length);
    if (length < static_cast<int32_t>(record::kBatchHeaderSize - record::kLogOverhead) ||
        pos + record::kLogOverhead + static_cast<uint64_t>(length) > size_) {
      return make_error(Errc::corrupt_message,
                        "bad batch header at byte " + std::to_string(pos) + " of " +
                            file_->path().string());
    }
    BatchInfo info = info_from_header(p, static_cast<uint32_t>(pos));
    if (!visit(info)) return {};
    pos += info.size;
  }
  return {};
}

Result<std::optional<BatchInfo>> Segment::find_batch(Offset target) const {
  if (target >= next_offset_) return std::optional<BatchInfo>{};
  uint32_t from = 0;
  if (target > base_) {
    if (auto e = offset_index_.floor(static_cast<uint32_t>(target.value() - base_.value()))) {
      from = e->position;
    }
  }
  std::optional<BatchInfo> found;
  auto r = scan(from, [&](const BatchInfo& b) {
    if (b.last_offset < target) return true;
    found = b;
    return false;
  });
  if (!r) return std::unexpected(r.error());
  return found;
}

Result<std::optional<BatchInfo>> Segment::find_by_timestamp(int64_t timestamp) const {
  if (max_timestamp_ < timestamp || empty()) return std::optional<BatchInfo>{};
  uint32_t from = 0;
  if (auto e = time_index_.floor_below(timestamp)) {
    auto at = offset_index_.floor(e->relative_offset);
    if (at) from = at->position;
  }
  std::optional<BatchInfo> found;
  auto r = scan(from, [&](const BatchInfo& b) {
    if (b.max_timestamp < timestamp) return true;
    found = b;
    return false;
  });
  if (!r) return std::unexpected(r.error());
  return found;
}

Result<bool> Segment::truncate_from(Offset offset) {
  auto batch = find_batch(offset);
  if (!batch) return std::unexpected(batch.error());
  if (!*batch) return false;
  if (auto r = file_->truncate((*batch)->position); !r) return std::unexpected(r.error());
  size_ = (*batch)->position;
  if (auto r = rebuild_indexes(); !r) return std::unexpected(r.error());
  return true;
}

Result<void> Segment::rebuild_indexes() {
  offset_index_.clear();
  time_index_.clear();
  max_timestamp_ = -1;
  next_offset_ = base_;
  const uint64_t size = size_;
  size_ = 0;
  bytes_since_index_ = 0;
  // scan() reads up to size_, so restore it for the scan and re-index batch by batch.
  std::vector<BatchInfo> infos;
  size_ = size;
  auto r = scan(0, [&](const BatchInfo& b) {
    infos.push_back(b);
    return true;
  });
  if (!r) return r;
  size_ = 0;
  for (const auto& b : infos) {
    index_batch(b, 4096);
    size_ = b.position + uint64_t{b.size};
  }
  size_ = size;
  return {};
}

IndexSnapshot Segment::snapshot_indexes() {
  // A last time entry for the segment's true maximum, so reopening needs no scan for it.
  const auto rel_last = static_cast<uint32_t>(
      std::max<int64_t>(next_offset_.value() - 1 - base_.value(), 0));
  if (max_timestamp_ >= 0 && (time_index_.entries().empty() ||
                              (time_index_.entries().back().timestamp < max_timestamp_ &&
                               time_index_.entries().back().relative_offset < rel_last))) {
    time_index_.append({max_timestamp_, rel_last});
  }
  return IndexSnapshot{index_path(), time_index_path(), offset_index_, time_index_, size_, faults_};
}

Result<void> IndexSnapshot::write() const {
  if (auto r = write_offset_index(index_path, offsets, log_size, faults); !r) return r;
  return write_time_index(time_index_path, times, log_size, faults);
}

Result<void> Segment::remove_files() {
  if (auto r = remove_file(log_path()); !r) return r;
  if (auto r = remove_file(index_path()); !r) return r;
  return remove_file(time_index_path());
}

}  // namespace kafkacore::storage
