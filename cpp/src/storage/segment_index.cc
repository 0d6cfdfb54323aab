#include "storage/segment_index.h"

#include <algorithm>

#include "record/crc32c.h"

namespace kafkacore::storage {
namespace {

constexpr uint32_t kIndexMagic = 0x4b434958;  // "KCIX"
constexpr size_t kTrailerSize = 4 + 8 + 4 + 4;
constexpr size_t kOffsetEntrySize = 8;
constexpr size_t kTimeEntrySize = 12;

Result<void> write_with_trailer(const fs::path& path, Bytes body, size_t count, uint64_t log_size,
                                IoFaults* faults) {
  const size_t entries_end = body.size();
  body.resize(entries_end + kTrailerSize);
  std::byte* t = body.data() + entries_end;
  store_be<uint32_t>(t, static_cast<uint32_t>(count));
  store_be<uint64_t>(t + 4, log_size);
  store_be<uint32_t>(t + 12, record::crc32c(ByteView(body).first(entries_end + 12)));
  store_be<uint32_t>(t + 16, kIndexMagic);
  return write_file_atomically(path, body, faults);
}

// Returns the entry bytes if the trailer checks out.
std::optional<Bytes> load_checked(const fs::path& path, size_t entry_size, uint64_t log_size) {
  auto data = read_whole_file(path);
  if (!data || data->size() < kTrailerSize) return std::nullopt;
  const size_t entries_end = data->size() - kTrailerSize;
  const std::byte* t = data->data() + entries_end;
  if (load_be<uint32_t>(t + 16) != kIndexMagic) return std::nullopt;
  if (static_cast<size_t>(load_be<uint32_t>(t)) * entry_size != entries_end) return std::nullopt;
  if (load_be<uint64_t>(t + 4) != log_size) return std::nullopt;
  if (load_be<uint32_t>(t + 12) != record::crc32c(ByteView(*data).first(entries_end + 12))) {
    return std::nullopt;
  }
  data->resize(entries_end);
  return std::move(*data);
}

}  // namespace

std::optional<OffsetIndexEntry> OffsetIndex::floor(uint32_t relative_offset) const {
  auto it = std::upper_bound(entries_.begin(), entries_.end(), relative_offset,
                             [](uint32_t v, const OffsetIndexEntry& e) { return v < e.relative_offset; });
  if (it == entries_.begin()) return std::nullopt;
  return *std::prev(it);
}

void OffsetIndex::truncate_after_position(uint32_t position) {
  while (!entries_.empty() && entries_.back().position >= position) entries_.pop_back();
}

std::optional<TimeIndexEntry> TimeIndex::floor_below(int64_t timestamp) const {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), timestamp,
                             [](const TimeIndexEntry& e, int64_t v) { return e.timestamp < v; });
  if (it == entries_.begin()) return std::nullopt;
  return *std::prev(it);
}

void TimeIndex::truncate_from_offset(uint32_t relative_offset) {
  while (!entries_.empty() && entries_.back().relative_offset >= relative_offset) entries_.pop_back();
}

Result<void> write_offset_index(const fs::path& path, const OffsetIndex& index, uint64_t log_size,
                                IoFaults* faults) {
  Bytes body(index.entries().size() * kOffsetEntrySize);
  std::byte* p = body.data();
  for (const auto& e : index.entries()) {
    store_be<uint32_t>(p, e.relative_offset);
    store_be<uint32_t>(p + 4, e.position);
    p += kOffsetEntrySize;
  }
  return write_with_trailer(path, std::move(body), index.entries().size(), log_size, faults);
}

Result<void> write_time_index(const fs::path& path, const TimeIndex& index, uint64_t log_size,
                              IoFaults* faults) {
  Bytes body(index.entries().size() * kTimeEntrySize);
  std::byte* p = body.data();
  for (const auto& e : index.entries()) {
    store_be<int64_t>(p, e.timestamp);
    store_be<uint32_t>(p + 8, e.relative_offset);
    p += kTimeEntrySize;
  }
  return write_with_trailer(path, std::move(body), index.entries().size(), log_size, faults);
}

std::optional<OffsetIndex> load_offset_index(const fs::path& path, uint64_t log_size) {
  auto body = load_checked(path, kOffsetEntrySize, log_size);
  if (!body) return std::nullopt;
  OffsetIndex index;
  uint32_t prev_offset = 0;
  uint32_t prev_position = 0;
  for (size_t i = 0; i < body->size(); i += kOffsetEntrySize) {
    OffsetIndexEntry e{load_be<uint32_t>(body->data() + i), load_be<uint32_t>(body->data() + i + 4)};
    // Entries must be strictly increasing and point inside the log.
    if (i > 0 && (e.relative_offset <= prev_offset || e.position <= prev_position)) return std::nullopt;
    if (e.position >= log_size) return std::nullopt;
    prev_offset = e.relative_offset;
    prev_position = e.position;
    index.append(e);
  }
  return index;
}

std::optional<TimeIndex> load_time_index(const fs::path& path, uint64_t log_size) {
  auto body = load_checked(path, kTimeEntrySize, log_size);
  if (!body) return std::nullopt;
  TimeIndex index;
  for (size_t i = 0; i < body->size(); i += kTimeEntrySize) {
    TimeIndexEntry e{load_be<int64_t>(body->data() + i), load_be<uint32_t>(body->data() + i + 8)};
    if (i > 0 && (e.timestamp <= index.entries().back().timestamp ||
                  e.relative_offset <= index.entries().back().relative_offset)) {
      return std::nullopt;
    }
    index.append(e);
  }
  return index;
}

}  // namespace kafkacore::storage
