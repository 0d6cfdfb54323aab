#pragma once
// Conversions between owned ProducerRecords and borrowed ProducerRecordViews: the producer's
// hot path works on views; only records that must wait (unknown topic) are copied.
#include <vector>

#include "client/types.h"

namespace kafkacore::client {

inline std::optional<ByteView> view_of(const std::optional<Bytes>& b) {
  if (!b) return std::nullopt;
  return ByteView(*b);
}

inline std::optional<Bytes> owned(const std::optional<ByteView>& b) {
  if (!b) return std::nullopt;
  return Bytes(b->begin(), b->end());
}

inline ProducerRecord to_owned(const ProducerRecordView& v) {
  ProducerRecord r;
  r.topic = std::string(v.topic);
  r.partition = v.partition;
  r.key = owned(v.key);
  r.value = owned(v.value);
  r.headers.reserve(v.headers.size());
  for (const HeaderView& h : v.headers) r.headers.push_back(Header{std::string(h.key), owned(h.value)});
  r.timestamp = v.timestamp;
  return r;
}

// A view of an owned record; the record must outlive it.
struct RecordViewHolder {
  explicit RecordViewHolder(const ProducerRecord& r) {
    headers.reserve(r.headers.size());
    for (const Header& h : r.headers) headers.push_back(HeaderView{h.key, view_of(h.value)});
    view = ProducerRecordView{.topic = r.topic, .partition = r.partition, .key = view_of(r.key),
                              .value = view_of(r.value), .headers = headers,
                              .timestamp = r.timestamp};
  }
  RecordViewHolder(const RecordViewHolder&) = delete;
  RecordViewHolder& operator=(const RecordViewHolder&) = delete;
  std::vector<HeaderView> headers;
  ProducerRecordView view;
};

}  // namespace kafkacore::client
