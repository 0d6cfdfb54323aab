#include "replication/partition.h"

#include <algorithm>

#include "record/batch_builder.h"
#include "record/record_batch.h"
#include "replication/leader_epoch_cache.h"

namespace kafkacore::replication {

namespace {

bool same_state(const ReplicaState& a, const ReplicaState& b) {
  return a.replicas == b.replicas && a.isr == b.isr && a.leader == b.leader &&
         a.leader_epoch == b.leader_epoch && a.partition_epoch == b.partition_epoch;
}

bool contains(const std::vector<int32_t>& v, int32_t x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

bool same_members(std::vector<int32_t> a, std::vector<int32_t> b) {
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  return a == b;
}

// compression.type set to a codec: the broker rewrites the batch with it (as Kafka does), keeping
// the producer fields, offsets deltas and timestamps.
Result<Bytes> recompress(const record::RecordBatchView& batch, record::Compression codec) {
  auto decoded = record::decode_batch(batch);
  if (!decoded) return std::unexpected(decoded.error());
  record::BatchOptions options = record::options_like(batch);
  options.compression = codec;
  record::BatchBuilder builder(options);
  for (const auto& r : decoded->records) {
    builder.append_with_offset_delta(r.offset_delta, batch.base_timestamp() + r.timestamp_delta,
                                     r.key, r.value, r.headers);
  }
  return builder.build();
}

}  // namespace

Result<ProduceOutcome> Partition::append_from_producer(MutableByteView records) {
  if (!is_leader()) {
    return make_error(Errc::not_leader_or_follower,
                      topic_ + "-" + std::to_string(index_) + " is not led by this broker");
  }
  auto batch = record::RecordBatchView::parse(ByteView(records));
  if (!batch) return std::unexpected(batch.error());
  if (batch->size_bytes() != records.size()) {
    return make_error(Errc::invalid_record,
                      "a produce request must carry exactly one record batch per partition");
  }
  if (auto r = batch->validate(); !r) return std::unexpected(r.error());
  if (batch->is_control()) {
    return make_error(Errc::invalid_record, "clients may not write control batches");
  }
  if (batch->is_transactional()) {
    return make_error(Errc::invalid_record, "transactions are not supported yet");
  }
  if (batch->has_producer_id() && batch->base_sequence() < 0) {
    return make_error(Errc::invalid_record, "an idempotent batch needs a base sequence >= 0");
  }
  const storage::LogConfig& config = log_->config();
  if (batch->timestamp_type() == record::TimestampType::create_time) {
    // message.timestamp.{before,after}.max.ms, checked on the batch's bounds.
    const int64_t now = log_->environment_clock()->now_ms();
    if (config.timestamp_after_max_ms != storage::kNoLimit &&
        batch->max_timestamp() > now + config.timestamp_after_max_ms) {
      return make_error(Errc::invalid_timestamp,
                        "timestamp " + std::to_string(batch->max_timestamp()) +
                            " is more than message.timestamp.after.max.ms in the future");
    }
    if (config.timestamp_before_max_ms != storage::kNoLimit &&
        batch->base_timestamp() < now - config.timestamp_before_max_ms) {
      return make_error(Errc::invalid_timestamp,
                        "timestamp " + std::to_string(batch->base_timestamp()) +
                            " is more than message.timestamp.before.max.ms in the past");
    }
  }
  if (config.cleanup_compact) {
    auto decoded = record::decode_batch(*batch);
    if (!decoded) return std::unexpected(decoded.error());
    for (const auto& r : decoded->records) {
      if (!r.key) {
        return make_error(Errc::invalid_record,
                          "compacted topic cannot accept a record without a key");
      }
    }
  }

  const ProducerId pid = batch->producer_id();
  const ProducerEpoch epoch = batch->producer_epoch();
  const int32_t first_seq = batch->base_sequence();
  const int32_t last_seq = batch->last_sequence();
  if (batch->has_producer_id()) {
    auto verdict = producers_.check(pid, epoch, first_seq, last_seq);
    if (verdict.kind == ProducerStateTable::Verdict::Kind::duplicate) {
      ProduceOutcome out;
      out.duplicate = true;
      out.append.first_offset = Offset{verdict.duplicate_of.first_offset};
      out.append.last_offset = Offset{verdict.duplicate_of.last_offset};
      out.append.log_append_time = verdict.duplicate_of.append_time;
      out.append.log_start_offset = log_->log_start_offset();
      return out;
    }
    if (verdict.kind == ProducerStateTable::Verdict::Kind::reject) {
      return make_error(verdict.error, verdict.message);
    }
  }
  storage::AppendOptions options;
  options.leader_epoch = state_.leader_epoch;
  Bytes recompressed;
  if (config.compression && *config.compression != batch->compression()) {
    auto rebuilt = recompress(*batch, *config.compression);
    if (!rebuilt) return std::unexpected(rebuilt.error());
    recompressed = std::move(*rebuilt);
    records = recompressed;
  }
  auto appended = log_->append(records, options);
  if (!appended) return std::unexpected(appended.error());
  if (batch->has_producer_id()) {
    producers_.record(pid, epoch,
                      BatchMetadata{first_seq, last_seq, appended->first_offset.value(),
                                    appended->last_offset.value(), appended->log_append_time});
  }
  assign_epoch(state_.leader_epoch.value(), appended->first_offset);
  maybe_advance_high_watermark();
  complete_waits();
  notify_appended();
  return ProduceOutcome{*appended, false};
}

Partition::Partition(std::string topic, int32_t index, Uuid topic_id, storage::PartitionLog* log,
                     int32_t local_broker_id)
    : topic_(std::move(topic)),
      index_(index),
      topic_id_(topic_id),
      log_(log),
      local_broker_id_(local_broker_id),
      epochs_(std::make_unique<LeaderEpochCache>(log->dir() / LeaderEpochCache::kFileName,
                                                 log->environment().faults)) {
  auto loaded = epochs_->load();
  if (!loaded) warn(loaded.error().to_string() + "; rebuilding it from the log");
  // A missing file over an empty log needs no scan (and no write on every new partition).
  const bool empty = log_->log_end_offset() == log_->log_start_offset();
  if (!loaded || (!*loaded && !empty)) {
    if (auto r = epochs_->rebuild_from(*log_); !r) warn(r.error().to_string());
  }
  // Recovery may have cut the log below what the checkpoint describes. An epoch starting right
  // at the log end stays: a leader that had not written yet.
  truncate_epochs(Offset{log_->log_end_offset().value() + 1});
  if (auto r = epochs_->truncate_from_start(log_->log_start_offset()); !r) {
    warn(r.error().to_string());
  }
  if (legacy()) {
    leading_ = true;
    state_.replicas = {local_broker_id_};
    state_.isr = {local_broker_id_};
    state_.leader = local_broker_id_;
    high_watermark_ = log_->log_end_offset();
  } else {
    high_watermark_ = log_->log_start_offset();
  }
}

// Outstanding acks=all waits are dropped, not called: their owners time them out, and a
// callback must not run against a partition being destroyed.
Partition::~Partition() = default;

bool Partition::is_leader() const { return leading_; }

Errc Partition::check_leader_epoch(int32_t current_leader_epoch) const {
  if (current_leader_epoch < 0) return Errc::none;
  if (current_leader_epoch > state_.leader_epoch.value()) return Errc::unknown_leader_epoch;
  if (current_leader_epoch < state_.leader_epoch.value()) return Errc::fenced_leader_epoch;
  return Errc::none;
}

void Partition::load_high_watermark(Offset checkpointed) {
  if (legacy()) {
    high_watermark_ = log_->log_end_offset();
    return;
  }
  high_watermark_ =
      std::clamp(checkpointed, log_->log_start_offset(), log_->log_end_offset());
}

void Partition::warn(const std::string& message) const {
  const auto& w = log_->environment().warn;
  if (w) w(topic_ + "-" + std::to_string(index_) + ": " + message);
}

void Partition::assign_epoch(int32_t epoch, Offset start) {
  if (epoch <= epochs_->latest_epoch()) return;
  if (auto r = epochs_->assign(epoch, start); !r) warn(r.error().to_string());
}

void Partition::truncate_epochs(Offset offset) {
  if (auto r = epochs_->truncate_from_end(offset); !r) warn(r.error().to_string());
}

// ---- leadership

bool Partition::stale(const ReplicaState& state) const {
  // An older image than the one applied (images can be replayed or arrive late).
  if (state.leader_epoch != state_.leader_epoch) return state.leader_epoch < state_.leader_epoch;
  return state.partition_epoch < state_.partition_epoch;
}

void Partition::become_leader(const ReplicaState& state, int64_t now_ms) {
  if (legacy() || stale(state)) return;
  if (leading_ && same_state(state, state_)) return;
  const bool new_epoch = !leading_ || state.leader_epoch != state_.leader_epoch;
  // The controller answered (or overrode) the requested change: the image is the truth again.
  if (pending_isr_ && (new_epoch || pending_isr_->partition_epoch != state.partition_epoch)) {
    pending_isr_.reset();
  }
  state_ = state;
  leading_ = true;
  const Offset leo = log_->log_end_offset();
  auto fresh = [&](int32_t replica) {
    FollowerProgress p;
    // ISR members get a full lag window to fetch from the new leader before they can be shrunk.
    if (contains(state_.isr, replica)) p.last_caught_up_ms = now_ms;
    return p;
  };
  std::vector<int32_t> members = state_.replicas;
  for (int32_t r : state_.isr) {
    if (!contains(members, r)) members.push_back(r);
  }
  if (new_epoch) {
    assign_epoch(state_.leader_epoch.value(), leo);
    leader_epoch_start_ = epochs_->start_offset_of(state_.leader_epoch.value()).value_or(leo);
    followers_.clear();
    for (int32_t r : members) {
      if (r != local_broker_id_) followers_[r] = fresh(r);
    }
  } else {
    // Same epoch, new assignment or ISR: followers keep their progress.
    std::erase_if(followers_, [&](const auto& f) { return !contains(members, f.first); });
    for (int32_t r : members) {
      if (r != local_broker_id_ && !followers_.contains(r)) followers_[r] = fresh(r);
    }
  }
  if (high_watermark_ > leo) high_watermark_ = leo;  // a follower's HW is never above its LEO
  if (maybe_advance_high_watermark()) {
    complete_waits();
    notify_appended();
  } else {
    complete_waits();  // a smaller ISR may have raised the low watermark
  }
}

void Partition::become_follower(const ReplicaState& state) {
  if (legacy() || stale(state)) return;
  if (!leading_ && same_state(state, state_)) return;
  state_ = state;
  leading_ = false;
  followers_.clear();
  pending_isr_.reset();
  fail_waits(Errc::not_leader_or_follower);
}

// ---- leader side

std::vector<int32_t> Partition::maximal_isr() const {
  std::vector<int32_t> out = state_.isr;
  if (pending_isr_) {
    for (int32_t r : pending_isr_->isr) {
      if (!contains(out, r)) out.push_back(r);
    }
  }
  return out;
}

void Partition::set_min_insync_replicas(int32_t min_isr) {
  min_isr_ = std::max(min_isr, 1);
  if (maybe_advance_high_watermark()) {
    complete_waits();
    notify_appended();
  }
}

bool Partition::maybe_advance_high_watermark() {
  if (!leading_) return false;
  // Not the maximal ISR: a pending expansion is not committed, and the controller chooses the
  // ELR from the ISR it knows.
  if (!legacy() && static_cast<int32_t>(state_.isr.size()) < min_isr_) return false;
  Offset candidate = log_->log_end_offset();
  for (int32_t r : maximal_isr()) {
    if (r == local_broker_id_) continue;
    auto it = followers_.find(r);
    // A member that has not fetched in this epoch holds the HW where it is (KIP-101).
    const Offset end = it == followers_.end() ? Offset{-1} : it->second.log_end;
    candidate = std::min(candidate, end);
  }
  candidate = std::max(candidate, log_->log_start_offset());
  if (candidate <= high_watermark_) return false;
  high_watermark_ = candidate;
  return true;
}

void Partition::record_follower_fetch(int32_t replica_id, Offset fetch_offset, int64_t now_ms,
                                      Offset log_start) {
  if (!leading_ || legacy()) return;
  auto it = followers_.find(replica_id);
  if (it == followers_.end()) return;  // not an assigned replica
  FollowerProgress& f = it->second;
  const bool log_start_moved = log_start >= Offset{0} && log_start != f.log_start;
  if (log_start >= Offset{0}) f.log_start = log_start;
  const Offset leader_end = log_->log_end_offset();
  // Kafka's lastCaughtUpTimeMs: caught up now if it has all we have; else caught up as of its
  // previous fetch if it now has what we had then. A follower fetching steadily at the log end
  // under load is always one of the two.
  if (fetch_offset >= leader_end) {
    f.last_caught_up_ms = std::max(f.last_caught_up_ms, now_ms);
  } else if (f.leader_end_at_last_fetch >= Offset{0} && fetch_offset >= f.leader_end_at_last_fetch) {
    f.last_caught_up_ms = std::max(f.last_caught_up_ms, f.last_fetch_ms);
  }
  f.leader_end_at_last_fetch = leader_end;
  f.last_fetch_ms = now_ms;
  f.log_end = fetch_offset;
  if (maybe_advance_high_watermark()) {
    complete_waits();
    notify_appended();
  } else if (log_start_moved) {
    complete_waits();
  }
}

std::optional<std::vector<int32_t>> Partition::wanted_isr(int64_t now_ms,
                                                          int64_t lag_max_ms) const {
  if (!leading_ || legacy() || pending_isr_) return std::nullopt;
  const Offset leader_end = log_->log_end_offset();
  std::vector<int32_t> order;
  if (!contains(state_.replicas, local_broker_id_)) order.push_back(local_broker_id_);
  order.insert(order.end(), state_.replicas.begin(), state_.replicas.end());
  for (int32_t r : state_.isr) {
    if (!contains(order, r)) order.push_back(r);
  }
  std::vector<int32_t> wanted;
  for (int32_t r : order) {
    if (r == local_broker_id_) {
      wanted.push_back(r);
      continue;
    }
    auto it = followers_.find(r);
    if (contains(state_.isr, r)) {
      // Kafka's isCaughtUp: at the log end, or caught up within the lag window.
      const bool keep = it == followers_.end() || it->second.log_end == leader_end ||
                        now_ms - it->second.last_caught_up_ms <= lag_max_ms;
      if (keep) wanted.push_back(r);
    } else if (it != followers_.end()) {
      const Offset end = it->second.log_end;
      if (end >= Offset{0} && end >= high_watermark_ && end >= leader_epoch_start_) {
        wanted.push_back(r);
      }
    }
  }
  if (same_members(wanted, state_.isr)) return std::nullopt;
  return wanted;
}

void Partition::isr_change_requested(std::vector<int32_t> isr) {
  pending_isr_ = PendingIsr{std::move(isr), state_.partition_epoch};
}

void Partition::isr_change_abandoned() {
  pending_isr_.reset();
  if (maybe_advance_high_watermark()) {
    complete_waits();
    notify_appended();
  }
}

uint64_t Partition::wait_for_high_watermark(Offset last_offset, std::function<void(Errc)> done) {
  const uint64_t id = next_wait_id_++;
  if (!leading_) {
    done(Errc::not_leader_or_follower);
  } else if (high_watermark_ > last_offset) {
    done(Errc::none);
  } else {
    waits_.emplace(id, HwWait{last_offset, std::move(done)});
  }
  return id;
}

void Partition::cancel_wait(uint64_t id) { waits_.erase(id); }

void Partition::complete_waits() {
  std::vector<std::function<void(Errc)>> ready;
  const Offset low = low_watermark();
  for (auto it = waits_.begin(); it != waits_.end();) {
    const bool reached = it->second.low_watermark ? low >= it->second.last_offset
                                                  : it->second.last_offset < high_watermark_;
    if (reached) {
      ready.push_back(std::move(it->second.done));
      it = waits_.erase(it);
    } else {
      ++it;
    }
  }
  for (auto& fn : ready) fn(Errc::none);
}

void Partition::fail_waits(Errc code) {
  auto failed = std::move(waits_);
  waits_.clear();
  for (auto& [id, w] : failed) w.done(code);
}

// ---- follower side

void Partition::assign_epochs_of(ByteView batches) {
  record::BatchIterator it(batches);
  for (;;) {
    auto b = it.next();
    if (!b || !*b) break;
    assign_epoch((*b)->partition_leader_epoch().value(), (*b)->base_offset());
  }
}

Result<storage::AppendResult> Partition::append_as_follower(MutableByteView batches) {
  if (leading_) {
    return make_error(Errc::not_leader_or_follower,
                      topic_ + "-" + std::to_string(index_) + " is led by this broker");
  }
  if (batches.empty()) {
    storage::AppendResult none;
    none.log_start_offset = log_->log_start_offset();
    return none;
  }
  auto first = record::RecordBatchView::parse(ByteView(batches));
  if (!first) return std::unexpected(first.error());
  // Kafka's UnexpectedAppendOffsetException: below the log end means the fetcher lost track.
  // Above it is allowed: the leader's compacted log may have dropped whole batches.
  if (first->base_offset() < log_->log_end_offset()) {
    return make_error(Errc::offset_out_of_range,
                      "replicated batch at offset " + std::to_string(first->base_offset().value()) +
                          " is below the log end offset " +
                          std::to_string(log_->log_end_offset().value()));
  }
  storage::AppendOptions options;
  options.assign_offsets = false;
  auto appended = log_->append(batches, options);
  if (!appended) return std::unexpected(appended.error());
  assign_epochs_of(batches);
  record_producers_of(batches);
  notify_appended();
  return *appended;
}

void Partition::update_high_watermark_from_leader(Offset leader_hw) {
  if (leading_) return;
  const Offset hw = std::max(std::min(leader_hw, log_->log_end_offset()), log_->log_start_offset());
  const bool advanced = hw > high_watermark_;
  high_watermark_ = hw;
  if (advanced) notify_appended();
}

Result<void> Partition::truncate_to(Offset offset) {
  if (auto r = log_->truncate_to(offset); !r) return r;
  const Offset start = log_->log_start_offset();
  const Offset end = log_->log_end_offset();
  // Truncating below the log start empties the log: no epoch below the cut survives either.
  truncate_epochs(end == start ? Offset{0} : offset);
  rebuild_producer_state();
  high_watermark_ = std::max(std::min(high_watermark_, end), start);
  return {};
}

Result<Offset> Partition::delete_records_before(Offset offset) {
  auto moved = log_->delete_records_before(offset);
  if (!moved) return moved;
  if (auto r = epochs_->truncate_from_start(*moved); !r) warn(r.error().to_string());
  if (leading_) {
    complete_waits();
    // Wakes the followers' long polls so they hear of the new log start (and report theirs).
    notify_appended();
  }
  return moved;
}

Offset Partition::low_watermark() const {
  Offset low = log_->log_start_offset();
  if (legacy()) return low;
  for (int32_t r : state_.isr) {
    if (r == local_broker_id_) continue;
    auto it = followers_.find(r);
    if (it == followers_.end() || it->second.log_start < Offset{0}) return Offset{-1};
    low = std::min(low, it->second.log_start);
  }
  return low;
}

uint64_t Partition::wait_for_low_watermark(Offset offset, std::function<void(Errc)> done) {
  const uint64_t id = next_wait_id_++;
  if (!leading_) {
    done(Errc::not_leader_or_follower);
  } else if (low_watermark() >= offset) {
    done(Errc::none);
  } else {
    waits_.emplace(id, HwWait{offset, std::move(done), true});
  }
  return id;
}

Result<void> Partition::follow_leader_log_start(Offset leader_log_start) {
  if (leading_) return {};
  // Only below our high watermark: what lies above it is not known to be the leader's yet.
  const Offset target = std::min(leader_log_start, high_watermark_);
  if (target <= log_->log_start_offset()) return {};
  auto moved = delete_records_before(target);
  if (!moved) return std::unexpected(moved.error());
  return {};
}

Result<void> Partition::truncate_fully_and_start_at(Offset offset) {
  if (leading_) {
    return make_error(Errc::not_leader_or_follower,
                      topic_ + "-" + std::to_string(index_) + " is led by this broker");
  }
  if (auto r = log_->truncate_fully_and_start_at(offset); !r) return r;
  truncate_epochs(Offset{0});
  rebuild_producer_state();
  high_watermark_ = offset;
  return {};
}

// ---- leader epochs

EpochEndOffset Partition::end_offset_for_epoch(int32_t requested_epoch) const {
  return epochs_->end_offset_for(requested_epoch, log_->log_end_offset());
}

int32_t Partition::latest_epoch() const { return epochs_->latest_epoch(); }

uint64_t Partition::watch_appends(std::function<void()> fn) {
  const uint64_t id = next_watch_id_++;
  watchers_.emplace(id, std::move(fn));
  return id;
}

void Partition::unwatch_appends(uint64_t id) { watchers_.erase(id); }

void Partition::notify_appended() {
  // Watchers may unwatch themselves (or others) while being called.
  auto snapshot = watchers_;
  for (auto& [id, fn] : snapshot) {
    if (watchers_.contains(id)) fn();
  }
}

void Partition::rebuild_producer_state() {
  producers_.clear();
  auto sealed = log_->sealed_segments();
  Offset from = log_->log_start_offset();
  if (sealed.size() >= 1) from = std::max(from, sealed.back()->base_offset());
  constexpr uint64_t kChunk = 8 << 20;
  while (from < log_->log_end_offset()) {
    auto read = log_->read(from, kChunk);
    if (!read || read->batches.empty()) return;
    auto bytes = read->copy_bytes();
    if (!bytes) return;
    record_producers_of(*bytes);
    from = Offset{read->batches.back().last_offset.value() + 1};
  }
}

void Partition::record_producers_of(ByteView batches) {
  record::BatchIterator it(batches);
  for (;;) {
    auto b = it.next();
    if (!b || !*b) break;
    const auto& batch = **b;
    if (batch.has_producer_id() && !batch.is_control()) {
      producers_.record(batch.producer_id(), batch.producer_epoch(),
                        BatchMetadata{batch.base_sequence(), batch.last_sequence(),
                                      batch.base_offset().value(), batch.last_offset().value(),
                                      batch.timestamp_type() == record::TimestampType::log_append_time
                                          ? batch.max_timestamp()
                                          : -1});
    }
  }
}

}  // namespace kafkacore::replication
