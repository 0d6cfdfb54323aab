#include "client/fetch_decoder.h"

#include <algorithm>
#include <unordered_set>
#include <vector>

#include "record/control_record.h"
#include "record/record_batch.h"

namespace kafkacore::client {
namespace {

// Read_committed bookkeeping over one answer: which producers are inside an aborted transaction
// at the batch being read. Aborted transactions open in first-offset order as batches pass
// them, and close at their producer's ABORT marker.
class AbortedProducers {
 public:
  explicit AbortedProducers(std::vector<AbortedTransaction> aborted)
      : pending_(std::move(aborted)) {
    std::sort(pending_.begin(), pending_.end(), [](const auto& a, const auto& b) {
      return a.first_offset < b.first_offset;
    });
  }

  // True when the batch's records belong to an aborted transaction and must be dropped.
  // Control batches are never "aborted" themselves; an ABORT marker ends its producer's span.
  bool drops(const record::RecordBatchView& batch) {
    if (pending_.empty() && open_.empty()) return false;
    const int64_t last = batch.last_offset().value();
    while (next_ < pending_.size() && pending_[next_].first_offset <= last) {
      open_.insert(pending_[next_++].producer_id);
    }
    const int64_t producer = batch.producer_id().value();
    if (batch.is_control()) {
      if (open_.contains(producer) && is_abort_marker(batch)) open_.erase(producer);
      return false;
    }
    return batch.is_transactional() && open_.contains(producer);
  }

 private:
  static bool is_abort_marker(const record::RecordBatchView& batch) {
    auto decoded = record::decode_batch(batch);
    if (!decoded || decoded->records.empty() || !decoded->records.front().key) return false;
    return record::parse_control_record_key(*decoded->records.front().key) ==
           record::ControlType::abort;
  }

  std::vector<AbortedTransaction> pending_;
  size_t next_ = 0;
  std::unordered_set<int64_t> open_;
};

}  // namespace

Result<FetchedChunk> decode_fetched_records(const std::string& topic, int32_t partition,
                                            ByteView records,
                                            std::shared_ptr<const void> keepalive,
                                            int64_t fetch_offset, bool check_crcs,
                                            std::vector<AbortedTransaction> aborted) {
  auto fetched = std::make_shared<FetchedRecords>();
  fetched->topic = topic;
  fetched->partition = partition;
  fetched->keepalive.push_back(std::move(keepalive));
  FetchedChunk chunk;
  chunk.next_offset = fetch_offset;
  size_t pos = 0;
  bool any_batch = false;
  const std::string where = topic + "-" + std::to_string(partition);
  AbortedProducers aborted_producers(std::move(aborted));
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
    if (check_crcs && batch->next_offset().value() > fetch_offset) {
      if (auto ok = batch->validate(); !ok) {
        return make_error(ok.error().code(), where + ": " + ok.error().message());
      }
    }
    // Every batch, even one before the position, opens or closes aborted spans.
    const bool dropped = aborted_producers.drops(*batch);
    if (batch->next_offset().value() <= fetch_offset) continue;  // wholly before the position
    chunk.next_offset = batch->next_offset().value();
    if (batch->is_control() || dropped) continue;
    auto decoded = record::decode_batch(*batch);
    if (!decoded) {
      return make_error(decoded.error().code(), where + ": batch at offset " +
                                                    std::to_string(batch->base_offset().value()) +
                                                    ": " + decoded.error().message());
    }
    // A compressed batch's records view its decompressed storage, which must live as long.
    if (!decoded->storage.empty()) {
      fetched->keepalive.push_back(std::make_shared<const Bytes>(std::move(decoded->storage)));
    }
    const int64_t base = batch->base_offset().value();
    const bool append_time = batch->timestamp_type() == record::TimestampType::log_append_time;
    const int32_t epoch = batch->partition_leader_epoch().value();
    fetched->records.reserve(fetched->records.size() + decoded->records.size());
    for (const record::Record& rec : decoded->records) {
      const int64_t offset = base + rec.offset_delta;
      if (offset < fetch_offset) continue;
      RecordRef& r = fetched->records.emplace_back();
      r.offset = offset;
      r.timestamp =
          append_time ? batch->max_timestamp() : batch->base_timestamp() + rec.timestamp_delta;
      r.timestamp_type = append_time ? TimestampKind::log_append_time : TimestampKind::create_time;
      r.key = rec.key;
      r.value = rec.value;
      r.headers_begin = static_cast<uint32_t>(fetched->headers.size());
      for (const record::RecordHeader& h : rec.headers) {
        fetched->headers.push_back(HeaderRef{h.key, h.value});
      }
      r.headers_end = static_cast<uint32_t>(fetched->headers.size());
      r.leader_epoch = epoch;
    }
  }
  chunk.fetched = std::move(fetched);
  return chunk;
}

}  // namespace kafkacore::client
