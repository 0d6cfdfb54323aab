#pragma once
// A partition this broker leads: its log, its idempotent-producer state and its high watermark,
// and the appends that wake delayed fetches. Single replica for now (the high watermark is the log
// end); the replicated-cluster issue adds followers, ISR and leader epochs. Reactor thread only.
#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "common/error.h"
#include "common/uuid.h"
#include "replication/producer_state.h"
#include "storage/partition_log.h"

namespace kafkacore::replication {

struct ProduceOutcome {
  storage::AppendResult append;
  bool duplicate = false;  // a retried idempotent batch, acknowledged with its original offsets
};

class Partition {
 public:
  Partition(std::string topic, int32_t index, Uuid topic_id, storage::PartitionLog* log);

  const std::string& topic() const { return topic_; }
  int32_t index() const { return index_; }
  const Uuid& topic_id() const { return topic_id_; }
  storage::PartitionLog& log() { return *log_; }
  const storage::PartitionLog& log() const { return *log_; }
  LeaderEpoch leader_epoch() const { return leader_epoch_; }
  Offset high_watermark() const { return log_->log_end_offset(); }
  Offset last_stable_offset() const { return high_watermark(); }

  // One record batch from a producer (Produce v3+ carries exactly one per partition): checks it
  // the way Kafka's LogValidator does, deduplicates idempotent retries, appends.
  Result<ProduceOutcome> append_from_producer(MutableByteView records);

  // Calls `fn` after every append until unwatched (delayed fetches).
  uint64_t watch_appends(std::function<void()> fn);
  void unwatch_appends(uint64_t id);

  // Reads the producer ids of the newest segments back (after a restart).
  void rebuild_producer_state();

 private:
  void notify_appended();

  std::string topic_;
  int32_t index_;
  Uuid topic_id_;
  storage::PartitionLog* log_;
  LeaderEpoch leader_epoch_{0};
  ProducerStateTable producers_;
  uint64_t next_watch_id_ = 1;
  std::map<uint64_t, std::function<void()>> watchers_;
};

}  // namespace kafkacore::replication
