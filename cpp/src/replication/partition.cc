#include "replication/partition.h"

#include "record/batch_builder.h"
#include "record/record_batch.h"

namespace kafkacore::replication {

Partition::Partition(std::string topic, int32_t index, Uuid topic_id, storage::PartitionLog* log)
    : topic_(std::move(topic)), index_(index), topic_id_(topic_id), log_(log) {}

namespace {

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
  options.leader_epoch = leader_epoch_;
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
  notify_appended();
  return ProduceOutcome{*appended, false};
}

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
    record::BatchIterator it(*bytes);
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
    from = Offset{read->batches.back().last_offset.value() + 1};
  }
}

}  // namespace kafkacore::replication
