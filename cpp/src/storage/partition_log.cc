#include "storage/partition_log.h"

#include <algorithm>
#include <charconv>

#include "record/crc32c.h"
#include "record/record_batch.h"

namespace kafkacore::storage {
namespace {

constexpr const char* kLogStartCheckpoint = "log-start-offset";

std::optional<Offset> parse_segment_base(const std::string& name) {
  if (name.size() != 24 || !name.ends_with(".log")) return std::nullopt;
  int64_t base = 0;
  auto [end, ec] = std::from_chars(name.data(), name.data() + 20, base);
  if (ec != std::errc{} || end != name.data() + 20 || base < 0) return std::nullopt;
  return Offset{base};
}

Bytes encode_offset_checkpoint(Offset offset) {
  Bytes out(12);
  store_be<int64_t>(out.data(), offset.value());
  store_be<uint32_t>(out.data() + 8, record::crc32c(ByteView(out).first(8)));
  return out;
}

std::optional<Offset> decode_offset_checkpoint(const fs::path& path) {
  auto data = read_whole_file(path);
  if (!data || data->size() != 12) return std::nullopt;
  if (load_be<uint32_t>(data->data() + 8) != record::crc32c(ByteView(*data).first(8))) {
    return std::nullopt;
  }
  return Offset{load_be<int64_t>(data->data())};
}

}  // namespace

// Durability progress, shared with flusher callbacks that may outlive the log.
struct PartitionLog::Durability {
  std::mutex mutex;
  int64_t durable = 0;   // every offset below is synced
  uint64_t generation = 0;  // bumped by truncation: older flushes may not advance `durable`
  std::optional<Error> failure;
  std::multimap<int64_t, std::function<void(const Result<void>&)>> waiters;

  void complete(int64_t upto, uint64_t request_generation, const Result<void>& outcome) {
    std::vector<std::function<void(const Result<void>&)>> ready;
    Result<void> result = outcome;
    {
      std::lock_guard lock(mutex);
      if (!outcome) {
        if (!failure) failure = outcome.error();
        for (auto& [offset, cb] : waiters) ready.push_back(std::move(cb));
        waiters.clear();
      } else if (request_generation == generation && upto > durable) {
        durable = upto;
        auto end = waiters.upper_bound(durable);
        for (auto it = waiters.begin(); it != end; ++it) ready.push_back(std::move(it->second));
        waiters.erase(waiters.begin(), end);
      }
    }
    for (auto& cb : ready) cb(result);
  }
};

PartitionLog::PartitionLog(fs::path dir, LogConfig config, LogEnvironment env)
    : dir_(std::move(dir)), config_(config), env_(std::move(env)),
      durability_(std::make_shared<Durability>()) {
  if (!env_.flusher) {
    own_flusher_ = std::make_unique<Flusher>(env_.faults);
    env_.flusher = own_flusher_.get();
  }
  if (!env_.health) {
    own_health_ = std::make_unique<LogDirHealth>();
    env_.health = own_health_.get();
  }
  if (!env_.clock) env_.clock = &SystemClock::instance();
}

PartitionLog::~PartitionLog() {
  // Callbacks queued on our own flusher may reference our files; let them finish first.
  if (own_flusher_) own_flusher_->drain();
}

Result<std::unique_ptr<PartitionLog>> PartitionLog::open(const fs::path& dir,
                                                         const LogConfig& config,
                                                         LogEnvironment env, bool clean_shutdown) {
  std::unique_ptr<PartitionLog> log(new PartitionLog(dir, config, std::move(env)));
  if (auto r = log->load(clean_shutdown); !r) return std::unexpected(r.error());
  return log;
}

Result<void> PartitionLog::load(bool clean_shutdown) {
  std::error_code ec;
  if (!fs::exists(dir_, ec)) {
    fs::create_directories(dir_, ec);
    if (ec) return std::unexpected(io_error("cannot create log directory", dir_, ec.value()));
    if (auto r = sync_directory(dir_.parent_path(), env_.faults); !r) return r;
  }
  std::vector<Offset> bases;
  std::vector<fs::path> leftovers;
  for (const auto& entry : fs::directory_iterator(dir_, ec)) {
    const std::string name = entry.path().filename().string();
    if (auto base = parse_segment_base(name)) {
      bases.push_back(*base);
    } else if (name.ends_with(".tmp") || name.ends_with(".repair") || name.ends_with(".cleaned")) {
      leftovers.push_back(entry.path());  // an interrupted write: the original is still intact
    }
  }
  if (ec) return std::unexpected(io_error("cannot list", dir_, ec.value()));
  for (const auto& path : leftovers) {
    if (auto r = remove_file(path); !r) return r;
  }
  std::sort(bases.begin(), bases.end());

  const int64_t now = env_.clock->now_ms();
  std::vector<std::string> problems;
  for (size_t i = 0; i < bases.size(); ++i) {
    const bool last = i + 1 == bases.size();
    auto seg = Segment::open(dir_, bases[i], !clean_shutdown && last, now, env_.faults, problems);
    if (!seg) return std::unexpected(seg.error());
    segments_.emplace(bases[i], std::move(*seg));
  }
  // Segments whose index files were rebuilt get fresh ones, so the next start trusts them.
  if (!problems.empty()) {
    for (const auto& p : problems) {
      if (env_.warn) env_.warn(p);
    }
    for (auto it = segments_.begin(); it != segments_.end() && std::next(it) != segments_.end(); ++it) {
      if (auto r = it->second->write_indexes(); !r) return r;
    }
  }

  auto checkpoint = decode_offset_checkpoint(dir_ / kLogStartCheckpoint);
  if (segments_.empty()) {
    const Offset start = checkpoint.value_or(Offset{0});
    auto seg = Segment::create(dir_, start, now, env_.faults);
    if (!seg) return std::unexpected(seg.error());
    segments_.emplace(start, std::move(*seg));
    dir_unsynced_ = true;
  }
  log_start_offset_ = segments_.begin()->first;
  if (checkpoint && *checkpoint > log_start_offset_) {
    log_start_offset_ = std::min(*checkpoint, log_end_offset());
  }
  last_flush_ms_ = now;
  // Everything found on disk counts as durable once synced; recovery already synced repairs.
  unsynced_files_.push_back(segments_.rbegin()->second->file());
  submit_flush();
  return {};
}

Result<void> PartitionLog::check_writable() const {
  if (closed_) return make_error(Errc::kafka_storage_error, "log " + dir_.string() + " is closed");
  if (env_.health->offline()) return std::unexpected(env_.health->error());
  return {};
}

Result<void> PartitionLog::fail(const Error& error) {
  env_.health->take_offline(error);
  if (env_.warn) env_.warn("log directory taken offline: " + error.message());
  return std::unexpected(error);
}

bool PartitionLog::should_roll(uint64_t incoming_bytes, Offset last_offset) const {
  const Segment& active = *segments_.rbegin()->second;
  if (active.empty()) return false;
  if (active.size_bytes() + incoming_bytes > static_cast<uint64_t>(config_.segment_bytes)) return true;
  if (env_.clock->now_ms() - active.created_ms() >= config_.segment_ms) return true;
  if (last_offset.value() - active.base_offset().value() > INT32_MAX) return true;
  return active.offset_index_entries() >= static_cast<size_t>(config_.segment_index_bytes / 8);
}

Result<void> PartitionLog::roll(Offset next_base) {
  Segment* old = segments_.rbegin()->second.get();
  auto seg = Segment::create(dir_, next_base, env_.clock->now_ms(), env_.faults);
  if (!seg) return fail(seg.error());
  segments_.emplace(next_base, std::move(*seg));
  unsynced_files_.push_back(segments_.rbegin()->second->file());
  dir_unsynced_ = true;
  // The sealed segment's data and indexes reach the disk in the background.
  submit_flush([snapshot = old->snapshot_indexes()] { return snapshot.write(); });
  return {};
}

Result<AppendResult> PartitionLog::append(MutableByteView batches, const AppendOptions& options) {
  if (auto r = check_writable(); !r) return std::unexpected(r.error());
  if (batches.empty()) return make_error(Errc::invalid_record, "append of an empty record set");

  AppendResult result;
  std::vector<BatchInfo> infos;
  Offset next = log_end_offset();
  const int64_t now = env_.clock->now_ms();
  const bool log_append_time = config_.timestamp_type == record::TimestampType::log_append_time;
  size_t pos = 0;
  while (pos < batches.size()) {
    auto batch = record::RecordBatchView::parse(ByteView(batches).subspan(pos));
    if (!batch) return std::unexpected(batch.error());
    if (auto r = batch->validate(); !r) return std::unexpected(r.error());
    if (static_cast<int64_t>(batch->size_bytes()) > config_.max_message_bytes) {
      return make_error(Errc::message_too_large,
                        "record batch of " + std::to_string(batch->size_bytes()) +
                            " bytes exceeds max.message.bytes " +
                            std::to_string(config_.max_message_bytes));
    }
    MutableByteView bytes = batches.subspan(pos, batch->size_bytes());
    if (options.assign_offsets) {
      if (batch->record_count() <= 0 || batch->last_offset_delta() != batch->record_count() - 1) {
        return make_error(Errc::invalid_record,
                          "record batch must hold records 0..n-1 (count " +
                              std::to_string(batch->record_count()) + ", last offset delta " +
                              std::to_string(batch->last_offset_delta()) + ")");
      }
      record::set_base_offset(bytes, next);
      record::set_partition_leader_epoch(bytes, options.leader_epoch);
      if (log_append_time) record::set_log_append_time(bytes, now);
    } else if (batch->base_offset() < next) {
      return make_error(Errc::offset_out_of_range,
                        "replicated batch at offset " + std::to_string(batch->base_offset().value()) +
                            " is below the log end offset " + std::to_string(next.value()));
    }
    auto view = *record::RecordBatchView::parse(ByteView(bytes));
    BatchInfo info;
    info.position = static_cast<uint32_t>(pos);
    info.size = static_cast<uint32_t>(view.size_bytes());
    info.base_offset = view.base_offset();
    info.last_offset = view.last_offset();
    info.max_timestamp = view.max_timestamp();
    info.record_count = view.record_count();
    infos.push_back(info);
    if (result.batch_count == 0) result.first_offset = view.base_offset();
    result.last_offset = view.last_offset();
    result.record_count += view.record_count();
    ++result.batch_count;
    next = view.next_offset();
    pos += view.size_bytes();
  }
  if (batches.size() > static_cast<uint64_t>(config_.segment_bytes)) {
    return make_error(Errc::record_list_too_large,
                      "append of " + std::to_string(batches.size()) +
                          " bytes is larger than segment.bytes");
  }
  if (should_roll(batches.size(), result.last_offset)) {
    if (auto r = roll(result.first_offset); !r) return std::unexpected(r.error());
  }
  Segment& active = *segments_.rbegin()->second;
  if (auto r = active.append(ByteView(batches), infos, config_.index_interval_bytes); !r) {
    return std::unexpected(fail(r.error()).error());
  }
  if (unsynced_files_.empty() || unsynced_files_.back() != active.file()) {
    unsynced_files_.push_back(active.file());
  }
  unflushed_messages_ += result.record_count;
  if (unflushed_messages_ >= config_.flush_messages) request_flush();
  result.log_append_time = log_append_time ? now : -1;
  result.log_start_offset = log_start_offset_;
  return result;
}

Result<ReadResult> PartitionLog::read(Offset start, uint64_t max_bytes,
                                      std::optional<Offset> max_offset, bool min_one_batch) const {
  ReadResult out;
  out.log_start_offset = log_start_offset_;
  out.log_end_offset = log_end_offset();
  if (start < log_start_offset_ || start > out.log_end_offset) {
    return make_error(Errc::offset_out_of_range,
                      "offset " + std::to_string(start.value()) + " is outside the log range " +
                          std::to_string(log_start_offset_.value()) + ".." +
                          std::to_string(out.log_end_offset.value()));
  }
  const Offset limit = std::min(max_offset.value_or(out.log_end_offset), out.log_end_offset);
  auto it = segments_.upper_bound(start);
  if (it != segments_.begin()) --it;
  bool done = false;
  auto take = [&](const Segment& seg, const BatchInfo& b) {
    if (b.last_offset >= limit) {
      done = true;
      return false;
    }
    const bool fits = out.total_bytes + b.size <= max_bytes;
    if (!fits && !(min_one_batch && out.total_bytes == 0)) {
      done = true;
      return false;
    }
    if (!out.slices.empty() && out.slices.back().file == seg.file() &&
        out.slices.back().position + out.slices.back().size == b.position) {
      out.slices.back().size += b.size;
    } else {
      out.slices.push_back({seg.file(), b.position, b.size});
    }
    out.batches.push_back(b);
    out.total_bytes += b.size;
    return true;
  };
  bool first_segment = true;
  for (; it != segments_.end() && !done; ++it) {
    const Segment& seg = *it->second;
    uint32_t from = 0;
    if (first_segment) {
      auto found = seg.find_batch(start);
      if (!found) return std::unexpected(found.error());
      first_segment = false;
      if (!*found) continue;
      // find_batch has read this batch's header already: take it, scan on from its end.
      if (!take(seg, **found)) break;
      from = (*found)->position + (*found)->size;
    }
    auto r = seg.scan(from, [&](const BatchInfo& b) { return take(seg, b); });
    if (!r) return std::unexpected(r.error());
  }
  return out;
}

Result<Bytes> ReadResult::copy_bytes() const {
  Bytes out(total_bytes);
  size_t at = 0;
  for (const auto& s : slices) {
    if (auto r = s.file->pread_exact(MutableByteView(out).subspan(at, s.size),
                                     static_cast<off_t>(s.position));
        !r) {
      return std::unexpected(r.error());
    }
    at += s.size;
  }
  return out;
}

Result<std::optional<TimestampOffset>> PartitionLog::offset_for_timestamp(int64_t timestamp) const {
  for (const auto& [base, seg] : segments_) {
    if (seg->max_timestamp() < timestamp) continue;
    auto found = seg->find_by_timestamp(timestamp);
    if (!found) return std::unexpected(found.error());
    if (!*found) continue;
    const BatchInfo& b = **found;
    Bytes bytes(b.size);
    if (auto r = seg->file()->pread_exact(bytes, b.position); !r) return std::unexpected(r.error());
    auto view = record::RecordBatchView::parse(bytes);
    if (!view) return std::unexpected(view.error());
    auto clamp = [&](Offset o, int64_t ts) {
      return std::optional<TimestampOffset>(TimestampOffset{std::max(o, log_start_offset_), ts});
    };
    if (view->timestamp_type() == record::TimestampType::log_append_time) {
      return clamp(view->base_offset(), view->max_timestamp());
    }
    auto decoded = record::decode_batch(*view);
    if (!decoded) return std::unexpected(decoded.error());
    for (const auto& rec : decoded->records) {
      const int64_t ts = view->base_timestamp() + rec.timestamp_delta;
      if (ts >= timestamp) return clamp(Offset{view->base_offset().value() + rec.offset_delta}, ts);
    }
  }
  return std::optional<TimestampOffset>{};
}

int64_t PartitionLog::max_timestamp() const {
  int64_t out = -1;
  for (const auto& [base, seg] : segments_) out = std::max(out, seg->max_timestamp());
  return out;
}

Offset PartitionLog::durable_offset() const {
  std::lock_guard lock(durability_->mutex);
  return Offset{durability_->durable};
}

uint64_t PartitionLog::size_bytes() const {
  uint64_t total = 0;
  for (const auto& [base, seg] : segments_) total += seg->size_bytes();
  return total;
}

void PartitionLog::on_durable(Offset offset, std::function<void(const Result<void>&)> callback) {
  std::optional<Error> failed;
  {
    std::lock_guard lock(durability_->mutex);
    if (durability_->failure) {
      failed = *durability_->failure;
    } else if (durability_->durable < offset.value()) {
      durability_->waiters.emplace(offset.value(), std::move(callback));
      return;
    }
  }
  if (failed) {
    callback(std::unexpected(*failed));
  } else {
    callback(Result<void>{});
  }
}

void PartitionLog::submit_flush(std::function<Result<void>()> task) {
  Flusher::Request request;
  request.files = std::move(unsynced_files_);
  unsynced_files_.clear();
  if (dir_unsynced_) request.directories.push_back(dir_);
  dir_unsynced_ = false;
  request.task = std::move(task);
  const int64_t upto = log_end_offset().value();
  uint64_t generation;
  {
    std::lock_guard lock(durability_->mutex);
    generation = durability_->generation;
  }
  request.done = [durability = durability_, health = env_.health, warn = env_.warn, upto,
                  generation](const Result<void>& outcome) {
    if (!outcome) {
      health->take_offline(outcome.error());
      if (warn) warn("log directory taken offline: " + outcome.error().message());
    }
    durability->complete(upto, generation, outcome);
  };
  unflushed_messages_ = 0;
  last_flush_ms_ = env_.clock->now_ms();
  env_.flusher->submit(std::move(request));
}

void PartitionLog::request_flush() {
  if (closed_ || env_.health->offline()) return;
  submit_flush();
}

void PartitionLog::maybe_flush_on_time() {
  if (unflushed_messages_ > 0 && env_.clock->now_ms() - last_flush_ms_ >= config_.flush_ms) {
    request_flush();
  }
}

Result<void> PartitionLog::flush_sync() {
  if (auto r = check_writable(); !r) return r;
  const Offset target = log_end_offset();
  std::mutex m;
  std::condition_variable cv;
  std::optional<Result<void>> outcome;
  submit_flush();
  on_durable(target, [&](const Result<void>& r) {
    std::lock_guard lock(m);
    outcome = r;
    cv.notify_all();
  });
  std::unique_lock lock(m);
  cv.wait(lock, [&] { return outcome.has_value(); });
  return *outcome;
}

Result<void> PartitionLog::delete_segment(Offset base) {
  auto it = segments_.find(base);
  if (auto r = it->second->remove_files(); !r) return fail(r.error());
  segments_.erase(it);
  dir_unsynced_ = true;
  return {};
}

Result<void> PartitionLog::truncate_to(Offset offset) {
  if (auto r = check_writable(); !r) return r;
  if (offset >= log_end_offset()) return {};
  {
    std::lock_guard lock(durability_->mutex);
    ++durability_->generation;
    durability_->durable = std::min(durability_->durable, offset.value());
  }
  if (offset <= log_start_offset_) {
    // Nothing below the cut survives: start afresh at `offset`.
    if (auto r = start_afresh_at(offset); !r) return r;
  } else {
    while (segments_.size() > 1 && segments_.rbegin()->first >= offset) {
      if (auto r = delete_segment(segments_.rbegin()->first); !r) return r;
    }
    Segment& last = *segments_.rbegin()->second;
    auto cut = last.truncate_from(offset);
    if (!cut) return fail(cut.error());
    // The segment is active again: its sealed-time index files no longer describe it.
    if (auto r = remove_file(last.index_path()); !r) return fail(r.error());
    if (auto r = remove_file(last.time_index_path()); !r) return fail(r.error());
  }
  unsynced_files_.push_back(segments_.rbegin()->second->file());
  dir_unsynced_ = true;
  submit_flush();
  return {};
}

Result<void> PartitionLog::start_afresh_at(Offset offset) {
  while (!segments_.empty()) {
    if (auto r = delete_segment(segments_.begin()->first); !r) return r;
  }
  auto seg = Segment::create(dir_, offset, env_.clock->now_ms(), env_.faults);
  if (!seg) return fail(seg.error());
  segments_.emplace(offset, std::move(*seg));
  log_start_offset_ = offset;
  return write_log_start_checkpoint_async();
}

Result<void> PartitionLog::truncate_fully_and_start_at(Offset offset) {
  if (auto r = check_writable(); !r) return r;
  {
    std::lock_guard lock(durability_->mutex);
    ++durability_->generation;
    durability_->durable = std::min(durability_->durable, offset.value());
  }
  if (auto r = start_afresh_at(offset); !r) return r;
  unsynced_files_.push_back(segments_.rbegin()->second->file());
  dir_unsynced_ = true;
  submit_flush();
  return {};
}

Result<void> PartitionLog::write_log_start_checkpoint_async() {
  const fs::path path = dir_ / kLogStartCheckpoint;
  Bytes content = encode_offset_checkpoint(log_start_offset_);
  IoFaults* faults = env_.faults;
  submit_flush([path, content, faults] { return write_file_atomically(path, content, faults); });
  return {};
}

Result<Offset> PartitionLog::delete_records_before(Offset offset) {
  if (auto r = check_writable(); !r) return std::unexpected(r.error());
  if (offset > log_end_offset()) {
    return make_error(Errc::offset_out_of_range,
                      "cannot delete records before " + std::to_string(offset.value()) +
                          ": the log ends at " + std::to_string(log_end_offset().value()));
  }
  if (offset <= log_start_offset_) return log_start_offset_;
  log_start_offset_ = offset;
  if (auto r = write_log_start_checkpoint_async(); !r) return std::unexpected(r.error());
  if (auto r = enforce_retention(); !r) return std::unexpected(r.error());
  return log_start_offset_;
}

Result<size_t> PartitionLog::enforce_retention() {
  if (auto r = check_writable(); !r) return std::unexpected(r.error());
  size_t deleted = 0;
  auto drop_first = [&]() -> Result<void> {
    if (auto r = delete_segment(segments_.begin()->first); !r) return r;
    ++deleted;
    return {};
  };
  // Whole segments below the log start offset (DeleteRecords).
  while (segments_.size() > 1 && segments_.begin()->second->next_offset() <= log_start_offset_) {
    if (auto r = drop_first(); !r) return std::unexpected(r.error());
  }
  if (config_.cleanup_delete) {
    const int64_t now = env_.clock->now_ms();
    if (config_.retention_ms >= 0) {
      const int64_t cutoff = now - config_.retention_ms;
      for (;;) {
        auto& first = *segments_.begin()->second;
        if (first.empty() || first.max_timestamp() >= cutoff) break;
        if (segments_.size() == 1) {
          // The active segment expired too: roll so the whole log can go, as Kafka does.
          if (auto r = roll(first.next_offset()); !r) return std::unexpected(r.error());
        }
        if (auto r = drop_first(); !r) return std::unexpected(r.error());
      }
    }
    if (config_.retention_bytes >= 0) {
      uint64_t total = size_bytes();
      while (segments_.size() > 1 &&
             total - segments_.begin()->second->size_bytes() >=
                 static_cast<uint64_t>(config_.retention_bytes)) {
        total -= segments_.begin()->second->size_bytes();
        if (auto r = drop_first(); !r) return std::unexpected(r.error());
      }
    }
  }
  if (segments_.begin()->first > log_start_offset_) {
    log_start_offset_ = segments_.begin()->first;
    if (auto r = write_log_start_checkpoint_async(); !r) return std::unexpected(r.error());
  }
  if (deleted > 0) submit_flush();
  return deleted;
}

Result<void> PartitionLog::close() {
  if (closed_) return {};
  env_.flusher->drain();
  closed_ = true;
  if (env_.health->offline()) return std::unexpected(env_.health->error());
  auto& active = *segments_.rbegin()->second;
  if (auto r = active.write_indexes(); !r) return fail(r.error());
  for (const auto& [base, seg] : segments_) {
    if (auto r = seg->file()->sync(); !r) return fail(r.error());
  }
  if (auto r = write_file_atomically(dir_ / kLogStartCheckpoint,
                                     encode_offset_checkpoint(log_start_offset_), env_.faults);
      !r) {
    return fail(r.error());
  }
  if (auto r = sync_directory(dir_, env_.faults); !r) return fail(r.error());
  uint64_t generation;
  {
    std::lock_guard lock(durability_->mutex);
    generation = durability_->generation;
  }
  durability_->complete(log_end_offset().value(), generation, Result<void>{});
  return {};
}

Result<void> PartitionLog::remove_all() {
  env_.flusher->drain();
  closed_ = true;
  segments_.clear();
  std::error_code ec;
  fs::remove_all(dir_, ec);
  if (ec) return std::unexpected(io_error("cannot delete", dir_, ec.value()));
  return sync_directory(dir_.parent_path(), env_.faults);
}

std::vector<std::shared_ptr<Segment>> PartitionLog::sealed_segments() const {
  std::vector<std::shared_ptr<Segment>> out;
  for (auto it = segments_.begin(); it != segments_.end() && std::next(it) != segments_.end(); ++it) {
    out.push_back(it->second);
  }
  return out;
}

Result<void> PartitionLog::replace_segment(const std::shared_ptr<Segment>& old,
                                           uint64_t size_when_planned,
                                           const fs::path& cleaned_log) {
  auto it = segments_.find(old->base_offset());
  if (it == segments_.end() || it->second != old || std::next(it) == segments_.end() ||
      old->size_bytes() != size_when_planned) {
    (void)remove_file(cleaned_log);
    return make_error(Errc::unknown_server_error,
                      "segment " + old->log_path().string() + " changed while it was cleaned");
  }
  if (auto r = check_writable(); !r) return r;
  // Old indexes go first, so no crash can pair them with the new content; then rename()
  // replaces the log atomically: a crash leaves either version, both valid.
  if (auto r = remove_file(old->index_path()); !r) return fail(r.error());
  if (auto r = remove_file(old->time_index_path()); !r) return fail(r.error());
  if (auto r = rename_file(cleaned_log, old->log_path()); !r) return fail(r.error());
  std::vector<std::string> ignored;  // the open rebuilds the indexes, which is expected here
  auto seg = Segment::open(dir_, old->base_offset(), false, env_.clock->now_ms(), env_.faults, ignored);
  if (!seg) return fail(seg.error());
  it->second = std::move(*seg);
  dir_unsynced_ = true;
  submit_flush([snapshot = it->second->snapshot_indexes()] { return snapshot.write(); });
  return {};
}

}  // namespace kafkacore::storage
