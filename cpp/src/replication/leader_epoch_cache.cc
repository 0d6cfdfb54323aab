#include "replication/leader_epoch_cache.h"

#include <algorithm>
#include <charconv>
#include <optional>
#include <string_view>

#include "record/record_batch.h"
#include "storage/file_io.h"
#include "storage/partition_log.h"

namespace kafkacore::replication {

namespace {

constexpr std::string_view kVersion = "0";

// Splits `text` into lines; a final newline is required (a cut-off write is corrupt).
std::optional<std::vector<std::string_view>> split_lines(std::string_view text) {
  if (text.empty() || text.back() != '\n') return std::nullopt;
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    const size_t eol = text.find('\n');
    lines.push_back(text.substr(0, eol));
    text.remove_prefix(eol + 1);
  }
  return lines;
}

template <typename T>
std::optional<T> parse_int(std::string_view s) {
  T value{};
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return value;
}

}  // namespace

LeaderEpochCache::LeaderEpochCache(std::filesystem::path file, storage::IoFaults* faults)
    : file_(std::move(file)), faults_(faults) {}

Result<bool> LeaderEpochCache::load() {
  entries_.clear();
  std::error_code ec;
  if (!std::filesystem::exists(file_, ec)) return false;
  auto data = storage::read_whole_file(file_);
  if (!data) return std::unexpected(data.error());
  auto corrupt = [&](const std::string& why) {
    return make_error(Errc::corrupt_message, "leader epoch checkpoint " + file_.string() + ": " + why);
  };
  std::string_view text(reinterpret_cast<const char*>(data->data()), data->size());
  auto lines = split_lines(text);
  if (!lines || lines->size() < 2) return corrupt("truncated");
  if ((*lines)[0] != kVersion) return corrupt("unknown version '" + std::string((*lines)[0]) + "'");
  auto count = parse_int<int64_t>((*lines)[1]);
  if (!count || *count < 0 || static_cast<size_t>(*count) != lines->size() - 2) {
    return corrupt("entry count does not match");
  }
  std::vector<EpochEntry> entries;
  for (size_t i = 2; i < lines->size(); ++i) {
    std::string_view line = (*lines)[i];
    const size_t space = line.find(' ');
    if (space == std::string_view::npos) return corrupt("bad line '" + std::string(line) + "'");
    auto epoch = parse_int<int32_t>(line.substr(0, space));
    auto offset = parse_int<int64_t>(line.substr(space + 1));
    if (!epoch || !offset || *epoch < 0 || *offset < 0) {
      return corrupt("bad line '" + std::string(line) + "'");
    }
    if (!entries.empty() &&
        (*epoch <= entries.back().epoch || Offset{*offset} <= entries.back().start_offset)) {
      return corrupt("entries are not increasing");
    }
    entries.push_back({*epoch, Offset{*offset}});
  }
  entries_ = std::move(entries);
  return true;
}

Result<void> LeaderEpochCache::rebuild_from(const storage::PartitionLog& log) {
  entries_.clear();
  // Only the 16-byte batch header prefix (base offset .. partitionLeaderEpoch) is read per batch.
  constexpr uint64_t kChunk = 64 << 20;
  constexpr size_t kPrefix = record::field::partition_leader_epoch + 4;
  Offset from = log.log_start_offset();
  while (from < log.log_end_offset()) {
    auto read = log.read(from, kChunk);
    if (!read) return std::unexpected(read.error());
    if (read->batches.empty()) break;
    size_t slice = 0;
    uint64_t used = 0;  // bytes of read->slices[slice] already walked
    for (const auto& b : read->batches) {
      while (slice < read->slices.size() && used >= read->slices[slice].size) {
        ++slice;
        used = 0;
      }
      if (slice == read->slices.size()) break;
      std::byte header[kPrefix];
      if (auto r = read->slices[slice].file->pread_exact(MutableByteView(header, kPrefix),
                                                         static_cast<off_t>(b.position));
          !r) {
        return std::unexpected(r.error());
      }
      used += b.size;
      const int32_t epoch = load_be<int32_t>(header + record::field::partition_leader_epoch);
      // Batches written before leader epochs existed carry -1.
      if (epoch >= 0 && epoch > latest_epoch()) entries_.push_back({epoch, b.base_offset});
    }
    from = Offset{read->batches.back().last_offset.value() + 1};
  }
  return persist();
}

Result<void> LeaderEpochCache::assign(int32_t epoch, Offset start_offset) {
  if (epoch < 0 || start_offset < Offset{0}) return {};
  if (!entries_.empty()) {
    const EpochEntry& latest = entries_.back();
    const bool newer = epoch > latest.epoch;
    const bool earlier_start = epoch == latest.epoch && start_offset < latest.start_offset;
    if (!newer && !earlier_start) return {};
  }
  while (!entries_.empty() &&
         (entries_.back().epoch >= epoch || entries_.back().start_offset >= start_offset)) {
    entries_.pop_back();
  }
  entries_.push_back({epoch, start_offset});
  return persist();
}

EpochEndOffset LeaderEpochCache::end_offset_for(int32_t requested, Offset log_end) const {
  // Kafka's answers: an epoch newer than ours is unknown; one older than our first ends where
  // our first starts.
  if (requested < 0 || entries_.empty() || requested > entries_.back().epoch) return {};
  if (requested < entries_.front().epoch) return {requested, entries_.front().start_offset};
  // First entry with epoch > requested; the one before it is the largest <= requested.
  auto higher = std::upper_bound(entries_.begin(), entries_.end(), requested,
                                 [](int32_t e, const EpochEntry& x) { return e < x.epoch; });
  const EpochEntry& floor = *std::prev(higher);
  if (higher == entries_.end()) return {floor.epoch, log_end};
  return {floor.epoch, higher->start_offset};
}

Result<void> LeaderEpochCache::truncate_from_end(Offset offset) {
  if (entries_.empty() || entries_.back().start_offset < offset) return {};
  while (!entries_.empty() && entries_.back().start_offset >= offset) entries_.pop_back();
  return persist();
}

Result<void> LeaderEpochCache::truncate_from_start(Offset offset) {
  if (entries_.empty() || entries_.front().start_offset >= offset) return {};
  // The last entry starting at or below `offset` survives, moved up to it.
  size_t keep = 0;
  while (keep + 1 < entries_.size() && entries_[keep + 1].start_offset <= offset) ++keep;
  entries_.erase(entries_.begin(), entries_.begin() + static_cast<std::ptrdiff_t>(keep));
  entries_.front().start_offset = offset;
  return persist();
}

std::optional<Offset> LeaderEpochCache::start_offset_of(int32_t epoch) const {
  for (const auto& e : entries_) {
    if (e.epoch == epoch) return e.start_offset;
  }
  return std::nullopt;
}

Result<void> LeaderEpochCache::persist() const {
  std::string text(kVersion);
  text += '\n';
  text += std::to_string(entries_.size());
  text += '\n';
  for (const auto& e : entries_) {
    text += std::to_string(e.epoch);
    text += ' ';
    text += std::to_string(e.start_offset.value());
    text += '\n';
  }
  return storage::write_file_atomically(file_, as_bytes(text), faults_);
}

}  // namespace kafkacore::replication
