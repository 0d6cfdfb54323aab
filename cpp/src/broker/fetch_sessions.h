#pragma once
// Incremental fetch sessions (KIP-227). A consumer that fetches the same partitions over and over
// sends them once; later requests name only what changed, and answers carry only partitions with
// news (records, an error, or a moved high watermark / log start). Reactor thread only.
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>

namespace kafkacore::broker {

struct SessionPartition {
  int64_t fetch_offset = 0;
  int32_t max_bytes = 0;
  int64_t log_start_offset = -1;  // the follower's, unused for consumers
  // KIP-320: checked on every fetch of the session, also when the request leaves it out.
  int32_t current_leader_epoch = -1;
  // What the last answer told the client, to decide whether the next one must mention it.
  int64_t reported_high_watermark = -1;
  int64_t reported_log_start_offset = -1;
};

struct FetchSession {
  int32_t id = 0;
  int32_t next_epoch = 1;
  std::map<std::pair<std::string, int32_t>, SessionPartition> partitions;
  std::chrono::steady_clock::time_point last_used;
};

class FetchSessionCache {
 public:
  explicit FetchSessionCache(int32_t slots) : slots_(slots) {}
  // nullptr when the cache is full (the fetch then proceeds without a session, as in Kafka).
  FetchSession* create();
  FetchSession* find(int32_t id);
  void remove(int32_t id) { sessions_.erase(id); }
  void forget_topic(const std::string& topic);
  // Drops sessions idle for longer than Kafka's min.incremental.fetch.session.eviction.ms.
  void expire();
  size_t size() const { return sessions_.size(); }

 private:
  int32_t slots_;
  int32_t next_id_ = 1;
  std::map<int32_t, std::unique_ptr<FetchSession>> sessions_;
};

}  // namespace kafkacore::broker
