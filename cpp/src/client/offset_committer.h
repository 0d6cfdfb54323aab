#pragma once
// A group's committed offsets: OffsetCommit and OffsetFetch to the group coordinator, looked up
// (and looked up again when it moves) through the network client. Commits go out as the
// current group member (generation, member id, group instance id) or, for a consumer with a
// manual assignment, as generation -1 / member "" (no membership). Io thread only.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "client/network_client.h"
#include "client/types.h"

namespace kafkacore::client {

struct CommitIdentity {
  int32_t generation = -1;
  std::string member_id;
  std::optional<std::string> group_instance_id;
};

class OffsetCommitter {
 public:
  using Clock = std::chrono::steady_clock;
  using Committed = std::map<TopicPartition, std::optional<OffsetAndMetadata>>;

  struct Hooks {
    // Who commits; an error when the member cannot commit now (mid-rebalance, not joined).
    std::function<Result<CommitIdentity>()> identity;
    // A commit was refused because the membership is stale: UNKNOWN_MEMBER_ID,
    // ILLEGAL_GENERATION, REBALANCE_IN_PROGRESS or FENCED_INSTANCE_ID.
    std::function<void(Errc)> on_membership_error;
  };

  OffsetCommitter(NetworkClient& network, std::string group_id, bool require_stable, Hooks hooks)
      : network_(network),
        group_id_(std::move(group_id)),
        require_stable_(require_stable),
        hooks_(std::move(hooks)) {}
  ~OffsetCommitter() { *alive_ = false; }
  OffsetCommitter(const OffsetCommitter&) = delete;
  OffsetCommitter& operator=(const OffsetCommitter&) = delete;

  // Commits `offsets`. `retry`: retriable errors are retried until the deadline (commit_sync);
  // otherwise one attempt once the coordinator is known (commit_async, as in Java).
  // Membership errors are never retried: the caller must rejoin first.
  void commit(std::map<TopicPartition, OffsetAndMetadata> offsets, Clock::time_point deadline,
              bool retry, std::function<void(Result<void>)> done);
  // The committed offset of each partition (nullopt: none), retrying until the deadline.
  void fetch(std::vector<TopicPartition> partitions, Clock::time_point deadline,
             std::function<void(Result<Committed>)> done);
  // Commits in flight (auto-commits on close wait for these).
  int in_flight() const { return in_flight_; }
  // Later and unfinished operations fail with "consumer closed".
  void close() { closed_ = true; }

 private:
  struct CommitOp;
  struct FetchOp;
  // Calls `then` with the coordinator's node id, looking it up until `deadline`.
  void with_coordinator(Clock::time_point deadline, std::function<void(Result<int32_t>)> then);
  void coordinator_failed();
  void attempt_commit(const std::shared_ptr<CommitOp>& op);
  void attempt_fetch(const std::shared_ptr<FetchOp>& op);
  void after(std::chrono::milliseconds delay, std::function<void()> fn);

  NetworkClient& network_;
  std::string group_id_;
  bool require_stable_;
  Hooks hooks_;
  bool closed_ = false;
  int in_flight_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace kafkacore::client
