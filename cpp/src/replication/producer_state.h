#pragma once
// Idempotent-producer bookkeeping of one partition: for each producer id its epoch and the last
// five batches' sequence ranges and offsets (Kafka keeps five, matching
// max.in.flight.requests.per.connection=5). A retried batch that matches one of them is
// acknowledged with its original offsets and not appended again; a gap in sequence numbers is
// OUT_OF_ORDER_SEQUENCE_NUMBER; an older epoch is INVALID_PRODUCER_EPOCH.
#include <cstdint>
#include <deque>
#include <string>
#include <unordered_map>

#include "common/error.h"
#include "common/strong_id.h"

namespace kafkacore::replication {

struct BatchMetadata {
  int32_t first_sequence = 0;
  int32_t last_sequence = 0;
  int64_t first_offset = 0;
  int64_t last_offset = 0;
  int64_t append_time = -1;
};

class ProducerStateTable {
 public:
  static constexpr size_t kBatchesRetained = 5;

  struct Verdict {
    enum class Kind { append, duplicate, reject } kind = Kind::append;
    BatchMetadata duplicate_of;  // for duplicate
    Errc error = Errc::none;     // for reject
    std::string message;
  };

  Verdict check(ProducerId id, ProducerEpoch epoch, int32_t first_sequence,
                int32_t last_sequence) const;
  void record(ProducerId id, ProducerEpoch epoch, const BatchMetadata& batch);
  // Forget producers whose state came from records now truncated away.
  void clear() { producers_.clear(); }
  size_t producer_count() const { return producers_.size(); }

 private:
  struct Entry {
    int16_t epoch = 0;
    std::deque<BatchMetadata> batches;
  };
  std::unordered_map<int64_t, Entry> producers_;
};

}  // namespace kafkacore::replication
