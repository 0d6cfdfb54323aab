#pragma once
// The Raft consensus core, sans-io (the etcd/raft model): it never touches a socket, a file or a
// clock. Inputs are `tick()`, `step(message)` and `propose(data)`; outputs are collected in a
// `Ready` the driver takes with `ready()`, makes durable, sends, applies, and acknowledges with
// `advance()`. The same core runs under the Asio transport in a broker and under the
// deterministic simulator in tests.
//
// Features: leader election with pre-vote and randomised timeouts, check-quorum (a leader that
// cannot reach a majority steps down; voters that recently heard from a leader ignore
// disruptive candidates), log replication with conflict hints, commit on majority of the
// current term, snapshots (the state machine compacts; lagging followers get the snapshot).
// The voter set is fixed by the configuration.
//
// Observers (KRaft's broker-only nodes) follow the log without voting: they never campaign,
// never grant a vote and never count towards a quorum (commit, check-quorum). They announce
// themselves with an ObserveRequest to every voter; the leader then replicates to them like to a
// follower (appends, snapshots) and forgets observers that stay silent, so voters need not know
// the observers in advance.
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <variant>
#include <vector>

#include "common/bytes.h"
#include "common/error.h"

namespace kafkacore::raft {

using NodeId = int32_t;
using Term = int64_t;
using Index = int64_t;

inline constexpr NodeId kNoNode = -1;

struct Entry {
  Term term = 0;
  Index index = 0;
  Bytes data;  // empty: the no-op a new leader appends to commit its predecessors' entries
  bool operator==(const Entry&) const = default;
};

struct VoteRequest {
  Term term = 0;  // for a pre-vote: the term the candidate would campaign in
  Index last_index = 0;
  Term last_term = 0;
  bool pre_vote = false;
  bool operator==(const VoteRequest&) const = default;
};

struct VoteResponse {
  Term term = 0;
  bool granted = false;
  bool pre_vote = false;
  bool operator==(const VoteResponse&) const = default;
};

struct AppendRequest {
  Term term = 0;
  Index prev_index = 0;
  Term prev_term = 0;
  std::vector<Entry> entries;
  Index commit = 0;
  bool operator==(const AppendRequest&) const = default;
};

struct AppendResponse {
  Term term = 0;
  bool success = false;
  // Success: the last index now known to match the leader's. Failure: where the leader should
  // retry from (the follower's last index, or the index before its conflicting term).
  Index index = 0;
  bool operator==(const AppendResponse&) const = default;
};

struct Snapshot {
  Index last_index = 0;  // every entry up to here is folded into `data`
  Term last_term = 0;
  Bytes data;
  bool operator==(const Snapshot&) const = default;
};

struct SnapshotRequest {
  Term term = 0;
  Snapshot snapshot;
  bool operator==(const SnapshotRequest&) const = default;
};

struct SnapshotResponse {
  Term term = 0;
  Index last_index = 0;  // the follower's log now reaches at least here
  bool operator==(const SnapshotResponse&) const = default;
};

// Not Raft: bytes the application sends between quorum members on the same listener (broker
// to controller RPCs). The quorum driver hands them to the application; the core never sees one.
struct ApplicationMessage {
  Term term = 0;  // unused; present so generic code can read every payload's term
  Bytes data;
  bool operator==(const ApplicationMessage&) const = default;
};

// An observer asks to be replicated to. Sent to every voter when it hears from no leader: the
// leader starts replicating from `last_index` (its log end); other voters remember the observer
// so they replicate to it at once if they become leader. Never refused for its term: an observer's
// term is only what it learnt from leaders.
struct ObserveRequest {
  Term term = 0;
  Index last_index = 0;
  bool operator==(const ObserveRequest&) const = default;
};

using Payload = std::variant<VoteRequest, VoteResponse, AppendRequest, AppendResponse,
                             SnapshotRequest, SnapshotResponse, ApplicationMessage, ObserveRequest>;

struct Message {
  NodeId from = kNoNode;
  NodeId to = kNoNode;
  Payload payload;
  bool operator==(const Message&) const = default;
};

// What must survive a restart besides the log.
struct HardState {
  Term term = 0;
  NodeId voted_for = kNoNode;
  Index commit = 0;  // an optimisation (apply sooner after restart), not needed for safety
  bool operator==(const HardState&) const = default;
};

// Outputs of the core, in the order the driver must handle them:
//   1. persist: `snapshot` (replaces the log), `truncate_from`, `entries`, `hard_state` — durably
//      (fsync) before any message of this Ready leaves;
//   2. send `messages`;
//   3. apply: `apply_snapshot` (if set) then `committed`, in order;
//   4. advance(ready).
struct Ready {
  std::optional<Snapshot> snapshot;
  std::optional<Index> truncate_from;  // drop persisted entries at and after this index
  std::vector<Entry> entries;          // append after the truncation
  std::optional<HardState> hard_state;
  std::vector<Message> messages;
  std::optional<Snapshot> apply_snapshot;
  std::vector<Entry> committed;
  bool empty() const {
    return !snapshot && !truncate_from && entries.empty() && !hard_state && messages.empty() &&
           !apply_snapshot && committed.empty();
  }
};

struct Config {
  NodeId id = 1;
  std::vector<NodeId> voters;  // including `id`, unless this node is an observer
  bool observer = false;       // follow the log without voting (see the top of this file)
  int election_ticks = 10;     // timeouts are random in [election_ticks, 2 * election_ticks)
  int heartbeat_ticks = 1;
  bool pre_vote = true;
  bool check_quorum = true;
  size_t max_entries_per_append = 64;
  uint64_t seed = 0;  // for the randomised timeouts (tests pass their own)
};

enum class Role { follower, pre_candidate, candidate, leader };
const char* role_name(Role role);

// What the core durably had when it stopped.
struct RestoredState {
  HardState hard_state;
  Snapshot snapshot;           // last_index 0: none
  std::vector<Entry> entries;  // contiguous, starting right after the snapshot
};

class Node {
 public:
  Node(Config config, RestoredState restored);

  void tick();
  // Campaigns now instead of after an election timeout: a single voter has nobody to wait for.
  // An observer never campaigns.
  void start_election() { campaign(config_.pre_vote); }
  void step(const Message& message);
  // Appends `data` to the log if this node leads; NOT_LEADER_OR_FOLLOWER otherwise.
  Result<Index> propose(Bytes data);
  // The state machine folded everything up to `index` (<= applied) into `data`: entries up to
  // there may be dropped, and followers that need them get the snapshot instead.
  Result<void> compact(Index index, Bytes data);

  bool has_ready() const;
  Ready ready();
  // The driver finished handling `ready` (persisted, sent, applied).
  void advance(const Ready& ready);

  NodeId id() const { return config_.id; }
  bool observer() const { return config_.observer; }
  // The observers this node replicates to (as leader) or would (as follower), for tests.
  std::vector<NodeId> known_observers() const;
  Role role() const { return role_; }
  Term term() const { return hard_.term; }
  NodeId leader() const { return leader_; }
  Index commit_index() const { return hard_.commit; }
  Index applied_index() const { return applied_; }
  Index last_index() const;
  Term last_term() const;
  Index first_index() const { return snapshot_.last_index + 1; }
  // Entry at `index` if still in the log (not compacted), for tests and the driver.
  const Entry* entry(Index index) const;
  const Snapshot& snapshot() const { return snapshot_; }

 private:
  struct Progress {
    Index match = 0;
    Index next = 1;
    bool recently_active = false;  // heard from since the last check-quorum round
    bool snapshot_in_flight = false;
    bool observer = false;
    int silent_rounds = 0;  // observers: check-quorum rounds without an answer
  };
  // An observer silent for this many election timeouts is dropped (it re-announces itself).
  static constexpr int kObserverSilentRounds = 3;

  std::optional<Term> term_at(Index index) const;
  bool log_up_to_date(Index last_index, Term last_term) const;
  int quorum() const { return static_cast<int>(config_.voters.size()) / 2 + 1; }
  void reset_election_timer();
  void become_follower(Term term, NodeId leader);
  void become_pre_candidate();
  void become_candidate();
  void become_leader();
  void campaign(bool pre_vote);
  void send(NodeId to, Payload payload);
  void send_append(NodeId to, bool allow_empty);
  void broadcast_append(bool allow_empty);
  void append_local(std::vector<Entry> entries);
  void truncate_local(Index from);
  void maybe_commit();
  void set_commit(Index commit);
  void handle_vote_request(NodeId from, const VoteRequest& r);
  void handle_vote_response(NodeId from, const VoteResponse& r);
  void handle_append(NodeId from, const AppendRequest& r);
  void handle_append_response(NodeId from, const AppendResponse& r);
  void handle_snapshot(NodeId from, const SnapshotRequest& r);
  void handle_snapshot_response(NodeId from, const SnapshotResponse& r);
  void handle_observe(NodeId from, const ObserveRequest& r);
  void announce_observer();
  bool is_voter(NodeId id) const;

  Config config_;
  std::mt19937_64 rng_;
  HardState hard_;
  HardState persisted_hard_;
  Snapshot snapshot_;
  std::vector<Entry> log_;  // entries after the snapshot, contiguous
  Role role_ = Role::follower;
  NodeId leader_ = kNoNode;
  int election_elapsed_ = 0;
  int randomized_timeout_ = 0;
  int heartbeat_elapsed_ = 0;
  std::map<NodeId, bool> votes_;
  std::map<NodeId, Progress> progress_;
  Index persisted_index_ = 0;  // the local log is durable up to here (what the leader counts)
  Index applied_ = 0;
  Index committed_handed_out_ = 0;  // committed entries given to the driver so far

  // Pending outputs.
  Ready pending_;
};

}  // namespace kafkacore::raft
