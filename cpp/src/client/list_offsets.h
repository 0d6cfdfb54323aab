#pragma once
// Offsets by timestamp from partition leaders (ListOffsets): -2 the log start, -1 the end (the
// high watermark, or the last stable offset with read_committed), any other timestamp the
// first offset whose record timestamp is at or after it. Requests go to each partition's
// leader; leader moves and other retriable errors are retried (refreshing metadata) until the
// deadline. Io thread only.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>

#include "client/consumer_config.h"
#include "client/network_client.h"
#include "client/types.h"

namespace kafkacore::client {

inline constexpr int64_t kEarliestTimestamp = -2;
inline constexpr int64_t kLatestTimestamp = -1;

struct TimestampedOffset {
  int64_t offset = -1;     // -1: no record at or after the timestamp
  int64_t timestamp = -1;  // the record's timestamp (timestamp lookups), else -1
  std::optional<int32_t> leader_epoch;
};

class ListOffsetsClient {
 public:
  using Clock = std::chrono::steady_clock;
  using Done = std::function<void(Result<std::map<TopicPartition, TimestampedOffset>>)>;

  ListOffsetsClient(NetworkClient& network, IsolationLevel isolation)
      : network_(network), isolation_(isolation) {}
  ~ListOffsetsClient() { *alive_ = false; }
  ListOffsetsClient(const ListOffsetsClient&) = delete;
  ListOffsetsClient& operator=(const ListOffsetsClient&) = delete;

  // Every partition gets an answer, or `done` gets the first non-retriable error, or
  // REQUEST_TIMED_OUT (naming the last retriable error) at the deadline.
  void list(std::map<TopicPartition, int64_t> timestamps, Clock::time_point deadline, Done done);
  // Later and unfinished operations fail with "consumer closed".
  void close() { closed_ = true; }

 private:
  struct Operation;
  void attempt(const std::shared_ptr<Operation>& op);
  void retry_later(const std::shared_ptr<Operation>& op);
  void finish(const std::shared_ptr<Operation>& op,
              Result<std::map<TopicPartition, TimestampedOffset>> r);

  NetworkClient& network_;
  IsolationLevel isolation_;
  bool closed_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace kafkacore::client
