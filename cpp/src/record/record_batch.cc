#include "record/record_batch.h"

#include <string>

#include "record/crc32c.h"
#include "record/varint.h"

namespace kafkacore::record {
namespace {

// No sane batch claims more than this; checked before anything trusts the length.
constexpr int64_t kMaxBatchLength = int64_t{1} << 30;

Error corrupt(std::string what) { return Error(Errc::corrupt_message, std::move(what)); }

}  // namespace

Result<RecordBatchView> RecordBatchView::parse(ByteView data) {
  if (data.size() < kLogOverhead) {
    return make_error(Errc::corrupt_message, "record batch truncated: " +
                                                 std::to_string(data.size()) +
                                                 " bytes, need at least 12 for offset and length");
  }
  const int32_t length = load_be<int32_t>(data.data() + field::batch_length);
  if (data.size() > field::magic) {
    const auto magic = static_cast<int8_t>(data[field::magic]);
    if (magic != kMagicV2 && (magic == 0 || magic == 1)) {
      return make_error(Errc::unsupported_for_message_format,
                        "message format v" + std::to_string(magic) +
                            " is not supported; only RecordBatch v2 (magic 2) is accepted");
    }
  }
  if (length < static_cast<int32_t>(kBatchHeaderSize - kLogOverhead) || length > kMaxBatchLength) {
    return make_error(Errc::corrupt_message,
                      "record batch length " + std::to_string(length) + " is out of range");
  }
  const size_t total = kLogOverhead + static_cast<size_t>(length);
  if (data.size() < total) {
    return make_error(Errc::corrupt_message, "record batch truncated: length says " +
                                                 std::to_string(total) + " bytes, have " +
                                                 std::to_string(data.size()));
  }
  const auto magic = static_cast<int8_t>(data[field::magic]);
  if (magic != kMagicV2) {
    return make_error(Errc::corrupt_message, "record batch has unknown magic " +
                                                 std::to_string(magic));
  }
  return RecordBatchView(data.first(total));
}

uint32_t RecordBatchView::compute_crc() const {
  return crc32c(bytes_.subspan(field::attributes));
}

Result<void> RecordBatchView::validate() const {
  const uint32_t actual = compute_crc();
  if (actual != crc()) {
    return make_error(Errc::corrupt_message, "record batch at offset " +
                                                 std::to_string(base_offset().value()) +
                                                 " fails its CRC32C check");
  }
  if (record_count() < 0) return std::unexpected(corrupt("negative record count"));
  if (last_offset_delta() < 0) return std::unexpected(corrupt("negative last offset delta"));
  // Compaction may remove records but keeps lastOffsetDelta, so only count > delta + 1 is wrong.
  // Widened: lastOffsetDelta may be INT32_MAX, and + 1 must not overflow.
  if (record_count() > int64_t{last_offset_delta()} + 1 && record_count() > 0) {
    return std::unexpected(corrupt("record count " + std::to_string(record_count()) +
                                   " exceeds last offset delta + 1"));
  }
  if (static_cast<uint8_t>(compression()) > static_cast<uint8_t>(Compression::zstd)) {
    return make_error(Errc::unsupported_compression_type,
                      "unknown compression codec id " + std::to_string(attributes() & 7));
  }
  if (compression() == Compression::none) {
    // Each record takes at least 7 bytes; reject counts the region cannot possibly hold.
    if (static_cast<size_t>(record_count()) > records_region().size()) {
      return std::unexpected(corrupt("record count larger than the records region"));
    }
  }
  return {};
}

int32_t RecordBatchView::last_sequence() const {
  if (base_sequence() == kNoSequence) return kNoSequence;
  const int64_t last = static_cast<int64_t>(base_sequence()) + last_offset_delta();
  return static_cast<int32_t>(last > INT32_MAX ? last - INT32_MAX - 1 : last);
}

void set_base_offset(MutableByteView batch, Offset offset) {
  store_be<int64_t>(batch.data() + field::base_offset, offset.value());
}

void set_partition_leader_epoch(MutableByteView batch, LeaderEpoch epoch) {
  store_be<int32_t>(batch.data() + field::partition_leader_epoch, epoch.value());
}

void set_log_append_time(MutableByteView batch, int64_t timestamp) {
  auto attrs = load_be<int16_t>(batch.data() + field::attributes);
  store_be<int16_t>(batch.data() + field::attributes,
                    static_cast<int16_t>(attrs | attr::timestamp_type));
  store_be<int64_t>(batch.data() + field::max_timestamp, timestamp);
  const uint32_t crc = crc32c(ByteView(batch).subspan(field::attributes));
  store_be<uint32_t>(batch.data() + field::crc, crc);
}

Result<std::vector<Record>> decode_records(ByteView region, int32_t expected_count) {
  std::vector<Record> records;
  if (expected_count < 0) return std::unexpected(corrupt("negative record count"));
  // A record needs at least 7 bytes, so the region bounds the reservation whatever count says.
  records.reserve(std::min<size_t>(static_cast<size_t>(expected_count), region.size() / 7));
  ByteReader in(region);
  for (int32_t i = 0; i < expected_count; ++i) {
    auto length = in.read_varint();
    if (!length || *length < 0 || static_cast<size_t>(*length) > in.remaining()) {
      return std::unexpected(corrupt("record " + std::to_string(i) + " has a bad length"));
    }
    auto body_bytes = in.read_bytes(static_cast<size_t>(*length));
    ByteReader body(*body_bytes);
    Record r;
    auto attributes = body.read_int8();
    auto ts_delta = body.read_varlong();
    auto offset_delta = body.read_varint();
    if (!attributes || !ts_delta || !offset_delta) {
      return std::unexpected(corrupt("record " + std::to_string(i) + " header is truncated"));
    }
    r.attributes = *attributes;
    r.timestamp_delta = *ts_delta;
    r.offset_delta = *offset_delta;
    auto read_nullable = [&body](std::optional<ByteView>& out) -> bool {
      auto len = body.read_varint();
      if (!len || *len < -1) return false;
      if (*len == -1) {
        out.reset();
        return true;
      }
      auto bytes = body.read_bytes(static_cast<size_t>(*len));
      if (!bytes) return false;
      out = *bytes;
      return true;
    };
    if (!read_nullable(r.key) || !read_nullable(r.value)) {
      return std::unexpected(corrupt("record " + std::to_string(i) + " key or value is malformed"));
    }
    auto header_count = body.read_varint();
    if (!header_count || *header_count < 0 ||
        static_cast<size_t>(*header_count) > body.remaining()) {
      return std::unexpected(corrupt("record " + std::to_string(i) + " header count is bad"));
    }
    r.headers.reserve(static_cast<size_t>(*header_count));
    for (int32_t h = 0; h < *header_count; ++h) {
      std::optional<ByteView> key;
      RecordHeader header;
      if (!read_nullable(key) || !key || !read_nullable(header.value)) {
        return std::unexpected(corrupt("record " + std::to_string(i) + " header " +
                                       std::to_string(h) + " is malformed"));
      }
      header.key = *key;
      r.headers.push_back(header);
    }
    if (!body.at_end()) {
      return std::unexpected(corrupt("record " + std::to_string(i) + " has trailing bytes"));
    }
    records.push_back(std::move(r));
  }
  if (!in.at_end()) return std::unexpected(corrupt("bytes left after the last record"));
  return records;
}

Result<DecodedBatch> decode_batch(const RecordBatchView& batch, size_t max_decompressed) {
  DecodedBatch out;
  ByteView region = batch.records_region();
  if (batch.compression() != Compression::none) {
    auto plain = decompress(batch.compression(), region, max_decompressed);
    if (!plain) return std::unexpected(plain.error());
    out.storage = std::move(*plain);
    region = out.storage;
  }
  auto records = decode_records(region, batch.record_count());
  if (!records) return std::unexpected(records.error());
  out.records = std::move(*records);
  return out;
}

Result<std::optional<RecordBatchView>> BatchIterator::next() {
  if (pos_ == data_.size()) return std::optional<RecordBatchView>{};
  auto batch = RecordBatchView::parse(data_.subspan(pos_));
  if (!batch) return std::unexpected(batch.error());
  pos_ += batch->size_bytes();
  return std::optional<RecordBatchView>(*batch);
}

}  // namespace kafkacore::record
