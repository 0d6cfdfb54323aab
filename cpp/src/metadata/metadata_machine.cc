#include "metadata/metadata_machine.h"

#include "common/log.h"

namespace kafkacore::metadata {

void MetadataMachine::restore(const raft::Snapshot& snapshot) {
  auto records = decode_records(snapshot.data);
  if (!records) {
    // A snapshot that passed the store's CRC but does not decode is a bug in the writer; start
    // from nothing rather than from half an image, and say so loudly.
    KC_LOG(error, "metadata", "undecodable metadata snapshot", {{"error", records.error().message()}});
    image_ = MetadataImage::empty();
    return;
  }
  image_ = MetadataImage::empty()->apply(*records, snapshot.last_index);
  if (on_update) on_update(image_);
}

void MetadataMachine::apply(const raft::Entry& entry) {
  if (entry.data.empty()) {
    image_ = image_->apply({}, entry.index);  // a leader's no-op still advances the offset
    if (on_update) on_update(image_);
    return;
  }
  auto records = decode_records(entry.data);
  if (!records) {
    KC_LOG(error, "metadata", "skipping an undecodable metadata entry",
           {{"index", std::to_string(entry.index)}, {"error", records.error().message()}});
    image_ = image_->apply({}, entry.index);
    if (on_update) on_update(image_);
    return;
  }
  std::vector<std::string> problems;
  image_ = image_->apply(*records, entry.index, &problems);
  for (const auto& p : problems) {
    KC_LOG(warn, "metadata", "metadata record not applied", {{"index", std::to_string(entry.index)}, {"problem", p}});
  }
  if (on_update) on_update(image_);
}

Bytes MetadataMachine::snapshot() { return encode_records(image_->to_records()); }

}  // namespace kafkacore::metadata
