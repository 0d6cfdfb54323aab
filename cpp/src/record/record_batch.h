#pragma once
// Kafka RecordBatch v2 (magic 2), read in place. Layout (big-endian):
//   0 baseOffset i64 | 8 batchLength i32 | 12 partitionLeaderEpoch i32 | 16 magic i8 | 17 crc u32 |
//   21 attributes i16 | 23 lastOffsetDelta i32 | 27 baseTimestamp i64 | 35 maxTimestamp i64 |
//   43 producerId i64 | 51 producerEpoch i16 | 53 baseSequence i32 | 57 recordsCount i32 | 61 records
// The CRC covers attributes..end, so the broker may rewrite baseOffset and partitionLeaderEpoch
// without recomputing it. See docs/record_batch.md.
#include <cstdint>
#include <optional>
#include <vector>

#include "common/bytes.h"
#include "common/error.h"
#include "common/strong_id.h"
#include "record/compression.h"

namespace kafkacore::record {

inline constexpr size_t kLogOverhead = 12;  // baseOffset + batchLength precede what batchLength counts
inline constexpr size_t kBatchHeaderSize = 61;
inline constexpr int8_t kMagicV2 = 2;
inline constexpr int64_t kNoTimestamp = -1;
inline constexpr int64_t kNoProducerId = -1;
inline constexpr int16_t kNoProducerEpoch = -1;
inline constexpr int32_t kNoSequence = -1;

namespace field {
inline constexpr size_t base_offset = 0;
inline constexpr size_t batch_length = 8;
inline constexpr size_t partition_leader_epoch = 12;
inline constexpr size_t magic = 16;
inline constexpr size_t crc = 17;
inline constexpr size_t attributes = 21;
inline constexpr size_t last_offset_delta = 23;
inline constexpr size_t base_timestamp = 27;
inline constexpr size_t max_timestamp = 35;
inline constexpr size_t producer_id = 43;
inline constexpr size_t producer_epoch = 51;
inline constexpr size_t base_sequence = 53;
inline constexpr size_t records_count = 57;
}  // namespace field

enum class TimestampType : uint8_t { create_time = 0, log_append_time = 1 };

namespace attr {
inline constexpr int16_t compression_mask = 0x07;
inline constexpr int16_t timestamp_type = 0x08;
inline constexpr int16_t transactional = 0x10;
inline constexpr int16_t control = 0x20;
inline constexpr int16_t delete_horizon = 0x40;
}  // namespace attr

// A header validated for framing (sizes, magic) but not yet for CRC; see validate().
class RecordBatchView {
 public:
  // Reads the batch starting at data[0]. `data` may extend past the batch; the view covers exactly
  // batchLength + 12 bytes. Fails with corrupt_message if the frame is short or the length absurd,
  // with unsupported_for_message_format for magic 0/1.
  static Result<RecordBatchView> parse(ByteView data);

  // CRC32C plus the internal consistency checks that need no decompression.
  Result<void> validate() const;
  uint32_t compute_crc() const;

  ByteView bytes() const { return bytes_; }
  size_t size_bytes() const { return bytes_.size(); }
  Offset base_offset() const { return Offset{get<int64_t>(field::base_offset)}; }
  Offset last_offset() const { return Offset{base_offset().value() + last_offset_delta()}; }
  Offset next_offset() const { return Offset{last_offset().value() + 1}; }
  int32_t batch_length() const { return get<int32_t>(field::batch_length); }
  LeaderEpoch partition_leader_epoch() const {
    return LeaderEpoch{get<int32_t>(field::partition_leader_epoch)};
  }
  int8_t magic() const { return static_cast<int8_t>(bytes_[field::magic]); }
  uint32_t crc() const { return get<uint32_t>(field::crc); }
  int16_t attributes() const { return get<int16_t>(field::attributes); }
  Compression compression() const {
    return static_cast<Compression>(attributes() & attr::compression_mask);
  }
  TimestampType timestamp_type() const {
    return (attributes() & attr::timestamp_type) ? TimestampType::log_append_time
                                                 : TimestampType::create_time;
  }
  bool is_transactional() const { return attributes() & attr::transactional; }
  bool is_control() const { return attributes() & attr::control; }
  bool has_delete_horizon() const { return attributes() & attr::delete_horizon; }
  int32_t last_offset_delta() const { return get<int32_t>(field::last_offset_delta); }
  int64_t base_timestamp() const { return get<int64_t>(field::base_timestamp); }
  int64_t max_timestamp() const { return get<int64_t>(field::max_timestamp); }
  ProducerId producer_id() const { return ProducerId{get<int64_t>(field::producer_id)}; }
  ProducerEpoch producer_epoch() const { return ProducerEpoch{get<int16_t>(field::producer_epoch)}; }
  int32_t base_sequence() const { return get<int32_t>(field::base_sequence); }
  int32_t last_sequence() const;
  int32_t record_count() const { return get<int32_t>(field::records_count); }
  bool has_producer_id() const { return producer_id().value() >= 0; }
  // The records as stored: compressed if compression() != none.
  ByteView records_region() const { return bytes_.subspan(kBatchHeaderSize); }

 private:
  explicit RecordBatchView(ByteView bytes) : bytes_(bytes) {}
  template <typename T>
  T get(size_t offset) const {
    return load_be<T>(bytes_.data() + offset);
  }
  ByteView bytes_;
};

// In-place edits of fields the CRC does not cover.
void set_base_offset(MutableByteView batch, Offset offset);
void set_partition_leader_epoch(MutableByteView batch, LeaderEpoch epoch);
// Marks the batch LogAppendTime with maxTimestamp = `timestamp` and recomputes the CRC.
void set_log_append_time(MutableByteView batch, int64_t timestamp);

struct RecordHeader {
  ByteView key;
  std::optional<ByteView> value;
};

// One record, viewing into the (decompressed) records region it was decoded from.
struct Record {
  int8_t attributes = 0;
  int64_t timestamp_delta = 0;
  int32_t offset_delta = 0;
  std::optional<ByteView> key;
  std::optional<ByteView> value;
  std::vector<RecordHeader> headers;
};

// Decodes `expected_count` records from an uncompressed records region; any framing error, count
// mismatch or trailing byte is corrupt_message.
Result<std::vector<Record>> decode_records(ByteView region, int32_t expected_count);

// The records of one batch, decompressing when needed. Records view into `storage` (or the batch).
struct DecodedBatch {
  Bytes storage;
  std::vector<Record> records;
};
inline constexpr size_t kDefaultMaxDecompressedBytes = 64u << 20;
Result<DecodedBatch> decode_batch(const RecordBatchView& batch,
                                  size_t max_decompressed = kDefaultMaxDecompressedBytes);

// Walks concatenated batches. Stops cleanly at the end; a short or corrupt frame is an error that
// reports the byte position where the valid prefix ends.
class BatchIterator {
 public:
  explicit BatchIterator(ByteView data) : data_(data) {}
  // nullopt at a clean end.
  Result<std::optional<RecordBatchView>> next();
  size_t position() const { return pos_; }

 private:
  ByteView data_;
  size_t pos_ = 0;
};

}  // namespace kafkacore::record
