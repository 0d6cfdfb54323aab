#pragma once
// Writes RecordBatch v2 bytes: producers, tests, control batches, and compaction (which keeps each
// record's original offset delta and the batch's lastOffsetDelta).
#include <cstdint>
#include <optional>
#include <span>

#include "common/bytes.h"
#include "common/error.h"
#include "common/strong_id.h"
#include "record/compression.h"
#include "record/record_batch.h"

namespace kafkacore::record {

struct BatchOptions {
  Compression compression = Compression::none;
  TimestampType timestamp_type = TimestampType::create_time;
  bool transactional = false;
  bool control = false;
  bool has_delete_horizon = false;  // baseTimestamp then holds the delete horizon (compaction)
  Offset base_offset{0};
  LeaderEpoch partition_leader_epoch{-1};
  ProducerId producer_id{kNoProducerId};
  ProducerEpoch producer_epoch{kNoProducerEpoch};
  int32_t base_sequence = kNoSequence;
  // When set, used instead of the last record's offset delta (compaction keeps the batch's span).
  std::optional<int32_t> last_offset_delta;
  // When set, used as baseTimestamp instead of the first record's timestamp.
  std::optional<int64_t> base_timestamp;
  // When set, written as maxTimestamp (a LogAppendTime batch keeps its append time).
  std::optional<int64_t> max_timestamp;
  int compression_level = -1;
};

// Options that rebuild `batch` as it is: its offsets, producer fields, flags and timestamps.
// Records appended with timestamp base_timestamp() + delta keep their timestamps.
BatchOptions options_like(const RecordBatchView& batch);

// Sets a finished batch's producer id, epoch and base sequence and recomputes its CRC: a
// producer that got a new id re-sends its unacknowledged batches under it.
void restamp_producer(Bytes& batch, ProducerId id, ProducerEpoch epoch, int32_t base_sequence);

class BatchBuilder {
 public:
  explicit BatchBuilder(BatchOptions options = {});

  // Appends with offset delta = number of records appended so far.
  void append(int64_t timestamp, std::optional<ByteView> key, std::optional<ByteView> value,
              std::span<const RecordHeader> headers = {});
  // Appends with an explicit offset delta, which must exceed the previous one.
  void append_with_offset_delta(int32_t offset_delta, int64_t timestamp,
                                std::optional<ByteView> key, std::optional<ByteView> value,
                                std::span<const RecordHeader> headers = {});

  // A producer assigns its id, epoch and sequence when the batch is first sent, not when the
  // first record goes in.
  void set_producer(ProducerId id, ProducerEpoch epoch, int32_t base_sequence) {
    options_.producer_id = id;
    options_.producer_epoch = epoch;
    options_.base_sequence = base_sequence;
  }

  // Room for `bytes` of records, so a batch that fills up is not copied as it grows.
  void reserve(size_t bytes) { records_.reserve(bytes); }

  int32_t record_count() const { return count_; }
  // Uncompressed size of what build() would produce; a limit check for batch.size.
  size_t estimated_size() const { return records_.size(); }

  Result<Bytes> build() const;
  // build() without the copy: an uncompressed batch is finished in the builder's own buffer and
  // moved out. The builder is spent afterwards (no more appends or builds).
  Result<Bytes> finish();

 private:
  // Writes the header into out[0, kBatchHeaderSize), whose records follow it.
  void write_header(Bytes& out) const;

  BatchOptions options_;
  // The header's room, then the records, uncompressed; timestamp deltas against
  // base_timestamp_, fixed at first append.
  Bytes records_ = Bytes(kBatchHeaderSize);
  int32_t count_ = 0;
  int32_t last_delta_ = -1;
  std::optional<int64_t> base_timestamp_;
  int64_t max_timestamp_ = kNoTimestamp;
};

}  // namespace kafkacore::record
