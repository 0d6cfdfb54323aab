#include "storage/log_cleaner.h"

#include <string>
#include <unordered_map>

#include "record/batch_builder.h"
#include "record/record_batch.h"

namespace kafkacore::storage {
namespace {

std::string key_string(ByteView key) {
  return std::string(reinterpret_cast<const char*>(key.data()), key.size());
}

// Latest offset of every key in the job's segments.
Result<std::unordered_map<std::string, int64_t>> build_offset_map(const CompactionJob& job,
                                                                  CleanerStats& stats) {
  std::unordered_map<std::string, int64_t> latest;
  for (const auto& in : job.inputs) {
    auto data = read_whole_file(in.segment->log_path());
    if (!data) return std::unexpected(data.error());
    record::BatchIterator it(ByteView(*data).first(std::min<size_t>(data->size(), in.size)));
    for (;;) {
      auto batch = it.next();
      if (!batch) return std::unexpected(batch.error());
      if (!*batch) break;
      if ((*batch)->is_control()) continue;
      auto decoded = record::decode_batch(**batch);
      if (!decoded) return std::unexpected(decoded.error());
      for (const auto& r : decoded->records) {
        ++stats.records_read;
        if (r.key) latest[key_string(*r.key)] = (*batch)->base_offset().value() + r.offset_delta;
      }
    }
  }
  return latest;
}

// The batch with only its surviving records, or nullopt if none survive; `changed` reports
// whether the bytes differ from the input.
Result<std::optional<Bytes>> clean_batch(const record::RecordBatchView& batch,
                                         const std::unordered_map<std::string, int64_t>& latest,
                                         const CompactionJob& job, CleanerStats& stats,
                                         bool& changed) {
  changed = false;
  if (batch.is_control()) return std::optional<Bytes>(Bytes(batch.bytes().begin(), batch.bytes().end()));
  auto decoded = record::decode_batch(batch);
  if (!decoded) return std::unexpected(decoded.error());
  const bool horizon_passed = batch.has_delete_horizon() && job.now_ms >= batch.base_timestamp();
  std::vector<const record::Record*> kept;
  bool has_tombstone = false;
  for (const auto& r : decoded->records) {
    const int64_t offset = batch.base_offset().value() + r.offset_delta;
    if (r.key) {
      auto it = latest.find(key_string(*r.key));
      if (it != latest.end() && it->second != offset) continue;  // superseded
    }
    if (!r.value) {
      if (horizon_passed) {
        ++stats.tombstones_dropped;
        continue;
      }
      has_tombstone = true;
    }
    kept.push_back(&r);
  }
  stats.records_kept += kept.size();
  const bool stamp_horizon = has_tombstone && !batch.has_delete_horizon();
  if (kept.size() == decoded->records.size() && !stamp_horizon) {
    return std::optional<Bytes>(Bytes(batch.bytes().begin(), batch.bytes().end()));
  }
  changed = true;
  if (kept.empty()) return std::optional<Bytes>{};
  record::BatchOptions options = record::options_like(batch);
  // Record timestamps are deltas from baseTimestamp; with a horizon, baseTimestamp holds it.
  const int64_t original_base = batch.base_timestamp();
  if (stamp_horizon) {
    options.has_delete_horizon = true;
    options.base_timestamp = job.now_ms + job.delete_retention_ms;
  } else if (batch.has_delete_horizon() && !has_tombstone) {
    options.has_delete_horizon = false;  // its tombstones are gone, and the horizon with them
    options.base_timestamp.reset();
  }
  record::BatchBuilder builder(options);
  for (const auto* r : kept) {
    builder.append_with_offset_delta(r->offset_delta, original_base + r->timestamp_delta, r->key,
                                     r->value, r->headers);
  }
  auto bytes = builder.build();
  if (!bytes) return std::unexpected(bytes.error());
  return std::optional<Bytes>(std::move(*bytes));
}

}  // namespace

std::optional<CompactionJob> LogCleaner::plan(const PartitionLog& log, bool force) {
  const LogConfig& config = log.config();
  if (!config.cleanup_compact) return std::nullopt;
  auto sealed = log.sealed_segments();
  if (sealed.empty()) return std::nullopt;
  CompactionJob job;
  job.now_ms = log.environment_clock()->now_ms();
  job.delete_retention_ms = config.delete_retention_ms;
  uint64_t dirty = 0;
  uint64_t total = 0;
  for (const auto& seg : sealed) {
    // min.compaction.lag.ms: records younger than the lag stay uncompacted.
    if (seg->max_timestamp() > job.now_ms - config.min_compaction_lag_ms) break;
    job.inputs.push_back({seg, seg->size_bytes()});
    job.dirty_end = seg->next_offset();
    total += seg->size_bytes();
    if (seg->next_offset() > log.first_dirty_offset()) dirty += seg->size_bytes();
  }
  if (job.inputs.empty()) return std::nullopt;
  if (!force && (total == 0 || static_cast<double>(dirty) / static_cast<double>(total) <
                                   config.min_cleanable_dirty_ratio)) {
    return std::nullopt;
  }
  return job;
}

Result<CompactionOutput> LogCleaner::run(const CompactionJob& job) {
  CompactionOutput out;
  out.dirty_end = job.dirty_end;
  auto latest = build_offset_map(job, out.stats);
  if (!latest) return std::unexpected(latest.error());
  out.stats.records_read = 0;  // counted again below, once per record
  for (const auto& in : job.inputs) {
    auto data = read_whole_file(in.segment->log_path());
    if (!data) return std::unexpected(data.error());
    Bytes cleaned;
    bool any_change = false;
    record::BatchIterator it(ByteView(*data).first(std::min<size_t>(data->size(), in.size)));
    for (;;) {
      auto batch = it.next();
      if (!batch) return std::unexpected(batch.error());
      if (!*batch) break;
      out.stats.records_read += static_cast<uint64_t>(std::max((*batch)->record_count(), 0));
      bool changed = false;
      auto result = clean_batch(**batch, *latest, job, out.stats, changed);
      if (!result) return std::unexpected(result.error());
      any_change |= changed;
      if (*result) cleaned.insert(cleaned.end(), (*result)->begin(), (*result)->end());
    }
    out.stats.bytes_before += in.size;
    out.stats.bytes_after += any_change ? cleaned.size() : in.size;
    CompactionOutput::Cleaned c{in, {}};
    if (any_change) {
      c.cleaned_path = in.segment->log_path();
      c.cleaned_path += ".cleaned";
      auto file = File::open(c.cleaned_path, File::Mode::create_or_truncate);
      if (!file) return std::unexpected(file.error());
      if (auto r = (*file)->pwrite_all(cleaned, 0); !r) return std::unexpected(r.error());
      if (auto r = (*file)->sync(); !r) return std::unexpected(r.error());
    }
    out.segments.push_back(std::move(c));
  }
  return out;
}

Result<CleanerStats> LogCleaner::commit(PartitionLog& log, CompactionOutput output) {
  std::optional<Error> failure;
  for (auto& c : output.segments) {
    if (c.cleaned_path.empty()) continue;
    if (failure) {
      (void)remove_file(c.cleaned_path);  // abandoned with the rest of this run
      continue;
    }
    if (auto r = log.replace_segment(c.input.segment, c.input.size, c.cleaned_path); !r) {
      failure = r.error();
      continue;
    }
    ++output.stats.segments_cleaned;
  }
  if (failure) return std::unexpected(*failure);
  if (output.dirty_end > log.first_dirty_offset()) log.set_first_dirty_offset(output.dirty_end);
  return output.stats;
}

Result<CleanerStats> LogCleaner::compact_now(PartitionLog& log) {
  auto job = plan(log, true);
  if (!job) return CleanerStats{};
  auto output = run(*job);
  if (!output) return std::unexpected(output.error());
  return commit(log, std::move(*output));
}

}  // namespace kafkacore::storage
