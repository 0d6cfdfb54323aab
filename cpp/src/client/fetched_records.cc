#include "client/fetched_records.h"

namespace kafkacore::client {

namespace {

std::optional<Bytes> copy(const std::optional<ByteView>& view) {
  if (!view) return std::nullopt;
  return Bytes(view->begin(), view->end());
}

}  // namespace

ConsumerRecord FetchedRecords::to_record(const RecordRef& r) const {
  ConsumerRecord out;
  out.topic = topic;
  out.partition = partition;
  out.offset = r.offset;
  out.timestamp = r.timestamp;
  out.timestamp_type = r.timestamp_type;
  out.key = copy(r.key);
  out.value = copy(r.value);
  out.headers.reserve(r.headers_end - r.headers_begin);
  for (uint32_t i = r.headers_begin; i < r.headers_end; ++i) {
    const HeaderRef& h = headers[i];
    out.headers.push_back(
        Header{std::string(reinterpret_cast<const char*>(h.key.data()), h.key.size()),
               copy(h.value)});
  }
  out.leader_epoch = r.leader_epoch;
  return out;
}

size_t PolledRecords::size() const {
  size_t n = 0;
  for (const RecordRun& run : runs) n += run.end - run.begin;
  return n;
}

std::vector<ConsumerRecord> PolledRecords::to_records() const {
  std::vector<ConsumerRecord> out;
  out.reserve(size());
  for (const RecordRun& run : runs) {
    for (size_t i = run.begin; i < run.end; ++i) {
      out.push_back(run.fetched->to_record(run.fetched->records[i]));
    }
  }
  return out;
}

}  // namespace kafkacore::client
