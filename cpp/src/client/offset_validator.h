#pragma once
// KIP-320 position validation: OffsetForLeaderEpoch (key 23, as a consumer: replica id -1) to
// each partition's leader, asking where the leader epoch of the last consumed record ends in the
// leader's log. The request names the leader epoch the metadata shows as current, so a leader
// that moved again answers FENCED_LEADER_EPOCH rather than something stale. One round per
// call; the caller retries what failed (the consumer does it after retry.backoff.ms). Io thread
// only.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>

#include "client/network_client.h"
#include "client/types.h"

namespace kafkacore::client {

struct EpochEndAnswer {
  Errc error = Errc::none;
  int32_t current_leader_epoch = -1;  // what the request named (the metadata's)
  int32_t epoch = -1;                 // the largest epoch <= the one asked for; -1: unknown
  int64_t end_offset = -1;            // where it ends on the leader; -1: unknown
};

class OffsetValidator {
 public:
  using Done = std::function<void(std::map<TopicPartition, EpochEndAnswer>)>;

  explicit OffsetValidator(NetworkClient& network) : network_(network) {}
  ~OffsetValidator() { *alive_ = false; }
  OffsetValidator(const OffsetValidator&) = delete;
  OffsetValidator& operator=(const OffsetValidator&) = delete;

  // `epochs`: per partition the leader epoch of the position's last record. Every partition
  // gets an answer (LEADER_NOT_AVAILABLE without a known leader, the request's error if it
  // failed), in one callback once all leaders answered. Nothing is called after close().
  void validate(const std::map<TopicPartition, int32_t>& epochs, Done done);
  void close() { closed_ = true; }

 private:
  NetworkClient& network_;
  bool closed_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace kafkacore::client
