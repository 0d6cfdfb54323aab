#include "replication/producer_state.h"

namespace kafkacore::replication {
namespace {

// Sequence numbers wrap from INT32_MAX to 0.
int32_t next_sequence(int32_t s) { return s == INT32_MAX ? 0 : s + 1; }

}  // namespace

ProducerStateTable::Verdict ProducerStateTable::check(ProducerId id, ProducerEpoch epoch,
                                                      int32_t first_sequence,
                                                      int32_t last_sequence) const {
  Verdict v;
  auto it = producers_.find(id.value());
  if (it == producers_.end()) {
    // A producer we have no state for (new, or its state expired): accept from any sequence,
    // as Kafka does since KIP-360, rather than fail a producer whose records were deleted.
    return v;
  }
  const Entry& e = it->second;
  if (epoch.value() < e.epoch) {
    v.kind = Verdict::Kind::reject;
    v.error = Errc::invalid_producer_epoch;
    v.message = "producer epoch " + std::to_string(epoch.value()) + " is older than " +
                std::to_string(e.epoch);
    return v;
  }
  if (epoch.value() > e.epoch) {
    if (first_sequence != 0) {
      v.kind = Verdict::Kind::reject;
      v.error = Errc::out_of_order_sequence_number;
      v.message = "a new producer epoch must start at sequence 0, got " +
                  std::to_string(first_sequence);
    }
    return v;
  }
  for (const auto& b : e.batches) {
    if (b.first_sequence == first_sequence && b.last_sequence == last_sequence) {
      v.kind = Verdict::Kind::duplicate;
      v.duplicate_of = b;
      return v;
    }
  }
  if (!e.batches.empty() && first_sequence != next_sequence(e.batches.back().last_sequence)) {
    v.kind = Verdict::Kind::reject;
    v.error = Errc::out_of_order_sequence_number;
    v.message = "expected sequence " + std::to_string(next_sequence(e.batches.back().last_sequence)) +
                ", got " + std::to_string(first_sequence);
  }
  return v;
}

void ProducerStateTable::record(ProducerId id, ProducerEpoch epoch, const BatchMetadata& batch) {
  Entry& e = producers_[id.value()];
  if (epoch.value() != e.epoch) {
    e.epoch = epoch.value();
    e.batches.clear();
  }
  e.batches.push_back(batch);
  while (e.batches.size() > kBatchesRetained) e.batches.pop_front();
}

}  // namespace kafkacore::replication
