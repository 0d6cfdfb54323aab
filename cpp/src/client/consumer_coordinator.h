#pragma once
// Group membership with the classic protocol: FindCoordinator, JoinGroup (MEMBER_ID_REQUIRED
// answered by joining again with the given id), the leader's client-side assignment, SyncGroup,
// heartbeats, LeaveGroup; eager and cooperative (KIP-429) rebalancing; static membership
// (KIP-345). Io thread only.
//
// What the user must see happens on the user's thread inside poll(), as in Java: the
// coordinator stops at those points and emits a RebalanceEvent; the consumer runs the
// listener (and the auto-commit) on the polling thread, updates the assignment, and reports
// back with event_done(). The two stops:
//   prepare   before JoinGroup: commit (auto-commit), then revoke what must be revoked (eager:
//             everything; cooperative: partitions of topics no longer subscribed), or report
//             partitions lost when the membership was reset (nothing committed then);
//   assigned  after SyncGroup: cooperative revocations (commit them first), the new
//             assignment, the assigned callback; if anything was revoked, join again.
// A group is joined only once poll() has been called (a consumer that never polls does not
// disturb its group) and left when poll() is not called for max.poll.interval.ms.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "client/assignors.h"
#include "client/consumer_config.h"
#include "client/network_client.h"
#include "client/offset_committer.h"
#include "client/subscription_state.h"

namespace kafkacore::client {

struct RebalanceEvent {
  enum class Kind : uint8_t { prepare, assigned };
  Kind kind = Kind::prepare;
  uint64_t id = 0;
  bool lost = false;    // prepare: the membership was lost; report `revoked` as lost
  bool commit = false;  // commit the positions (all for prepare, `revoked` for assigned) first
  std::vector<TopicPartition> revoked;
  std::vector<TopicPartition> assignment;  // assigned: the whole new assignment
  std::vector<TopicPartition> added;       // assigned: what it adds
};

class ConsumerCoordinator {
 public:
  using Clock = std::chrono::steady_clock;
  struct Hooks {
    std::function<void(RebalanceEvent)> emit;  // queue for poll() and wake the user
    std::function<void(const Error&)> fatal;   // the consumer cannot go on
  };

  ConsumerCoordinator(NetworkClient& network, const ConsumerConfig& config,
                      SubscriptionState& subscriptions, Hooks hooks);
  ~ConsumerCoordinator();
  ConsumerCoordinator(const ConsumerCoordinator&) = delete;
  ConsumerCoordinator& operator=(const ConsumerCoordinator&) = delete;

  // poll() started / returned: the first poll joins; no poll for max.poll.interval.ms leaves.
  void on_poll_start();
  void on_poll_end();
  // Joins again at the next opportunity (subscription changed, partition counts changed...).
  void request_rejoin(const std::string& reason);
  void on_metadata(const ClusterMetadata& metadata);
  // The user thread finished event `id`: listener called, assignment updated.
  void event_done(uint64_t id);

  // The identity commits use; an error while the member cannot commit.
  Result<CommitIdentity> commit_identity() const;
  // A commit found the membership stale.
  void on_commit_error(Errc code);

  // unsubscribe() / close(): stops heartbeats and joining, and sends LeaveGroup (dynamic
  // members only, as in Kafka: a static member keeps its place until its session expires).
  // `done` runs once the answer is in (or at once when nothing is sent).
  void leave(const std::string& reason, std::function<void()> done);
  void close();

  const std::string& member_id() const { return member_id_; }
  int32_t generation() const { return generation_; }
  bool cooperative() const { return cooperative_; }
  // The event waiting for event_done (0: none); an older one is stale.
  uint64_t pending_event() const { return pending_event_; }
  // True while JoinGroup/SyncGroup are under way or an event waits for the user.
  bool rebalancing() const;

 private:
  enum class State : uint8_t {
    inactive,
    unjoined,
    preparing,
    joining,
    syncing,
    completing,
    stable
  };

  void step();
  void start_prepare();
  void send_join();
  void on_join(Result<Response<protocol::JoinGroupResponse>> r);
  void assign_and_sync(const protocol::JoinGroupResponse& response);
  void send_sync(std::vector<protocol::SyncGroupRequest::SyncGroupRequestAssignment> assignments);
  void on_sync(Result<Response<protocol::SyncGroupResponse>> r);
  void tick();
  void send_heartbeat();
  void on_heartbeat(int32_t generation, Result<Response<protocol::HeartbeatResponse>> r);
  void reset_generation(bool reset_member_id, const std::string& reason);
  void coordinator_failed();
  // Runs `fn` after retry.backoff.ms unless the membership moved on meanwhile.
  void retry_later(std::function<void()> fn);
  void send_leave(const std::string& reason, std::function<void()> done);
  bool metadata_changed(const ClusterMetadata& metadata) const;
  std::map<std::string, int32_t> partition_counts(const ClusterMetadata& metadata,
                                                  const std::set<std::string>& topics) const;
  Assignor* assignor(const std::string& name) const;
  void fail(Error error);

  NetworkClient& network_;
  const ConsumerConfig& config_;
  SubscriptionState& subscriptions_;
  Hooks hooks_;
  std::vector<std::unique_ptr<Assignor>> assignors_;
  bool cooperative_ = false;  // every configured assignor is cooperative (as Java decides)

  State state_ = State::inactive;
  std::string member_id_;
  int32_t generation_ = -1;
  std::string protocol_;
  bool leader_ = false;
  bool rejoin_needed_ = true;
  bool prepared_ = false;  // this round's prepare step is done
  bool activated_ = false;
  bool closed_ = false;
  bool failed_ = false;
  std::optional<int32_t> coordinator_;
  uint64_t next_event_id_ = 1;
  uint64_t pending_event_ = 0;
  std::vector<TopicPartition> pending_revoked_;  // cooperative revocations of the last sync
  uint64_t epoch_ = 0;  // bumped by leave/reset: stale answers and timers are dropped

  std::set<std::string> joined_topics_;                 // the subscription this member joined with
  std::map<std::string, int32_t> assignment_snapshot_;  // leader: partition counts it assigned
  std::set<std::string> group_topics_;                  // leader: every member's topics

  bool heartbeat_in_flight_ = false;
  Clock::time_point last_poll_{};
  bool in_poll_ = false;
  std::unique_ptr<asio::steady_timer> tick_timer_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace kafkacore::client
