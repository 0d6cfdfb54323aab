#include "client/fetch_decoder.h"

#include "record/record_batch.h"

namespace kafkacore::client {

namespace {

std::optional<Bytes> copy(const std::optional<ByteView>& view) {
  if (!view) return std::nullopt;
  return Bytes(view->begin(), view->end());
}

}  // namespace

Result<FetchedChunk> decode_fetched_records(const std::string& topic, int32_t partition,
                                            ByteView records, int64_t fetch_offset,
                                            bool check_crcs) {
  FetchedChunk chunk;
  chunk.next_offset = fetch_offset;
  size_t pos = 0;
  bool any_batch = false;
  const std::string where = topic + "-" + std::to_string(partition);
  while (pos < records.size()) {
    ByteView rest = records.subspan(pos);
    // A batch cut short at the end of the answer is not an error; its length field says so.
    if (rest.size() < record::kLogOverhead) break;
    const int64_t length = load_be<int32_t>(rest.data() + record::field::batch_length);
    if (length >= 0 && rest.size() < record::kLogOverhead + static_cast<size_t>(length)) {
      if (!any_batch) {
        return make_error(Errc::message_too_large,
                          where + ": the batch at offset " +
                              std::to_string(load_be<int64_t>(rest.data())) +
                              " is larger than the fetch size (" + std::to_string(records.size()) +
                              " bytes received); raise max.partition.fetch.bytes");
      }
      break;
    }
    auto batch = record::RecordBatchView::parse(rest);
    if (!batch) {
      return make_error(batch.error().code(),
                        where + " at byte " + std::to_string(pos) + ": " + batch.error().message());
    }
    pos += batch->size_bytes();
    any_batch = true;
    chunk.bytes += batch->size_bytes();
    if (batch->next_offset().value() <= fetch_offset) continue;  // wholly before the position
    if (check_crcs) {
      if (auto ok = batch->validate(); !ok) {
        return make_error(ok.error().code(), where + ": " + ok.error().message());
      }
    }
    chunk.next_offset = batch->next_offset().value();
    if (batch->is_control()) continue;
    auto decoded = record::decode_batch(*batch);
    if (!decoded) {
      return make_error(decoded.error().code(), where + ": batch at offset " +
                                                    std::to_string(batch->base_offset().value()) +
                                                    ": " + decoded.error().message());
    }
    const int64_t base = batch->base_offset().value();
    const bool append_time = batch->timestamp_type() == record::TimestampType::log_append_time;
    const int32_t epoch = batch->partition_leader_epoch().value();
    chunk.records.reserve(chunk.records.size() + decoded->records.size());
    for (const record::Record& rec : decoded->records) {
      const int64_t offset = base + rec.offset_delta;
      if (offset < fetch_offset) continue;
      ConsumerRecord& r = chunk.records.emplace_back();
      r.topic = topic;
      r.partition = partition;
      r.offset = offset;
      r.timestamp =
          append_time ? batch->max_timestamp() : batch->base_timestamp() + rec.timestamp_delta;
      r.timestamp_type = append_time ? TimestampKind::log_append_time : TimestampKind::create_time;
      r.key = copy(rec.key);
      r.value = copy(rec.value);
      r.headers.reserve(rec.headers.size());
      for (const record::RecordHeader& h : rec.headers) {
        r.headers.push_back(Header{
            std::string(reinterpret_cast<const char*>(h.key.data()), h.key.size()), copy(h.value)});
      }
      r.leader_epoch = epoch;
    }
  }
  return chunk;
}

}  // namespace kafkacore::client
