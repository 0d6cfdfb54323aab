#include "record/batch_builder.h"

#include <algorithm>
#include <cassert>
#include <cstring>

#include "record/crc32c.h"
#include "record/varint.h"

namespace kafkacore::record {
namespace {

void write_nullable(Bytes& out, std::optional<ByteView> bytes) {
  if (!bytes) {
    write_varint(out, -1);
    return;
  }
  write_varint(out, static_cast<int32_t>(bytes->size()));
  out.insert(out.end(), bytes->begin(), bytes->end());
}

size_t nullable_size(std::optional<ByteView> bytes) {
  return bytes ? varint_size(static_cast<int32_t>(bytes->size())) + bytes->size() : 1;
}

}  // namespace

BatchOptions options_like(const RecordBatchView& batch) {
  BatchOptions options;
  options.compression = batch.compression();
  options.timestamp_type = batch.timestamp_type();
  options.transactional = batch.is_transactional();
  options.control = batch.is_control();
  options.has_delete_horizon = batch.has_delete_horizon();
  options.base_offset = batch.base_offset();
  options.partition_leader_epoch = batch.partition_leader_epoch();
  options.producer_id = batch.producer_id();
  options.producer_epoch = batch.producer_epoch();
  options.base_sequence = batch.base_sequence();
  options.last_offset_delta = batch.last_offset_delta();
  options.base_timestamp = batch.base_timestamp();
  options.max_timestamp = batch.max_timestamp();
  return options;
}

BatchBuilder::BatchBuilder(BatchOptions options) : options_(options) {}

void BatchBuilder::append(int64_t timestamp, std::optional<ByteView> key,
                          std::optional<ByteView> value, std::span<const RecordHeader> headers) {
  append_with_offset_delta(last_delta_ + 1, timestamp, key, value, headers);
}

void BatchBuilder::append_with_offset_delta(int32_t offset_delta, int64_t timestamp,
                                            std::optional<ByteView> key,
                                            std::optional<ByteView> value,
                                            std::span<const RecordHeader> headers) {
  assert(offset_delta > last_delta_);
  if (!base_timestamp_) base_timestamp_ = options_.base_timestamp.value_or(timestamp);
  max_timestamp_ = std::max(max_timestamp_, timestamp);
  // The length prefix comes first, so the body's size is computed rather than encoded twice:
  // key and value bytes are copied exactly once, straight into the batch.
  const int64_t timestamp_delta = timestamp - *base_timestamp_;
  size_t body = 1 + varlong_size(timestamp_delta) + varint_size(offset_delta) +
                nullable_size(key) + nullable_size(value) +
                varint_size(static_cast<int32_t>(headers.size()));
  for (const auto& h : headers) body += nullable_size(h.key) + nullable_size(h.value);
  const size_t needed = records_.size() + varint_size(static_cast<int32_t>(body)) + body;
  if (needed > records_.capacity()) records_.reserve(std::max(needed, 2 * records_.capacity()));
  write_varint(records_, static_cast<int32_t>(body));
  records_.push_back(std::byte{0});  // record attributes: unused
  write_varlong(records_, timestamp_delta);
  write_varint(records_, offset_delta);
  write_nullable(records_, key);
  write_nullable(records_, value);
  write_varint(records_, static_cast<int32_t>(headers.size()));
  for (const auto& h : headers) {
    write_nullable(records_, h.key);
    write_nullable(records_, h.value);
  }
  assert(records_.size() == needed);
  last_delta_ = offset_delta;
  ++count_;
}

Result<Bytes> BatchBuilder::build() const {
  Bytes out;
  if (options_.compression == Compression::none) {
    out = records_;
  } else {
    out.resize(kBatchHeaderSize);
    auto done = compress_into(options_.compression, ByteView(records_).subspan(kBatchHeaderSize), out,
                              options_.compression_level);
    if (!done) return std::unexpected(done.error());
  }
  write_header(out);
  return out;
}

Result<Bytes> BatchBuilder::finish() {
  if (options_.compression != Compression::none) return build();
  write_header(records_);
  return std::move(records_);
}

void BatchBuilder::write_header(Bytes& out) const {
  const int64_t base_ts = base_timestamp_.value_or(options_.base_timestamp.value_or(kNoTimestamp));
  int16_t attributes = static_cast<int16_t>(options_.compression);
  if (options_.timestamp_type == TimestampType::log_append_time) attributes |= attr::timestamp_type;
  if (options_.transactional) attributes |= attr::transactional;
  if (options_.control) attributes |= attr::control;
  if (options_.has_delete_horizon) attributes |= attr::delete_horizon;
  const int32_t last_delta = options_.last_offset_delta.value_or(std::max(last_delta_, 0));

  std::byte* p = out.data();
  store_be<int64_t>(p + field::base_offset, options_.base_offset.value());
  store_be<int32_t>(p + field::batch_length, static_cast<int32_t>(out.size() - kLogOverhead));
  store_be<int32_t>(p + field::partition_leader_epoch, options_.partition_leader_epoch.value());
  p[field::magic] = std::byte{kMagicV2};
  store_be<int16_t>(p + field::attributes, attributes);
  store_be<int32_t>(p + field::last_offset_delta, last_delta);
  store_be<int64_t>(p + field::base_timestamp, base_ts);
  store_be<int64_t>(p + field::max_timestamp, options_.max_timestamp.value_or(max_timestamp_));
  store_be<int64_t>(p + field::producer_id, options_.producer_id.value());
  store_be<int16_t>(p + field::producer_epoch, options_.producer_epoch.value());
  store_be<int32_t>(p + field::base_sequence, options_.base_sequence);
  store_be<int32_t>(p + field::records_count, count_);
  store_be<uint32_t>(p + field::crc, crc32c(ByteView(out).subspan(field::attributes)));
}

void restamp_producer(Bytes& batch, ProducerId id, ProducerEpoch epoch, int32_t base_sequence) {
  std::byte* p = batch.data();
  store_be<int64_t>(p + field::producer_id, id.value());
  store_be<int16_t>(p + field::producer_epoch, epoch.value());
  store_be<int32_t>(p + field::base_sequence, base_sequence);
  store_be<uint32_t>(p + field::crc, crc32c(ByteView(batch).subspan(field::attributes)));
}

}  // namespace kafkacore::record
