#pragma once
// Deterministic simulator for the sans-io Raft core (raft/node.h): a whole cluster in one thread,
// one seeded PRNG feeding every decision, virtual time in ticks. Each node is a raft::Node plus a
// simulated durable store and a state machine (the list of applied entries). The network holds
// in-flight messages with random delays and drops, duplicates, reorders and partitions them;
// nodes crash (also in the middle of persisting a Ready) and restart from their store.
//
// Invariants are checked after every event (and at the point where state changes, for the
// ones that are cheaper incrementally); a violation throws InvariantViolation whose message names
// the seed, the event number, the invariant and the last events:
//   election safety    one leader per term over the whole history; one vote per node and term
//   monotonic term     never down while up, in the store, or below a term the node ever sent
//   monotonic commit   never down while up; never beyond the log
//   log matching       pairwise over the stores; every (index, term) ever stored has one content
//                      and one predecessor term; an acknowledged index matches the leader's log
//   leader completeness  every leader of a term >= the one an entry was committed in holds it;
//                      no store ever drops a committed entry
//   state machine safety  every applied list is a prefix of one committed sequence; a payload
//                      commits once; snapshots hold exactly that prefix
//   ready contract     persist before send (terms, votes); the store mirrors an idle node
//   liveness           after the faults stop, a proposal is applied everywhere in bounded time
//                      (observers included: they catch up)
//   observers          never campaign, vote or lead; a leader's commit index is held by a
//                      majority of the voters' stores (observers' acks never count)
// A crash while persisting keeps a prefix of the Ready's writes (snapshot, truncation, each
// entry, hard state, synced in that order) and sends none of its messages; that is the only
// unsynced data there is, since the core sends nothing before its Ready is durable.
#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "raft/node.h"

namespace kafkacore::raft::sim {

// Everything a run does is derived from these; `from_seed` expands a seed into them and
// `describe` prints them so a failure can be rerun and understood.
struct Options {
  uint64_t seed = 1;
  int nodes = 3;      // voters, ids 1..nodes
  int observers = 0;  // non-voting followers, ids nodes+1..nodes+observers
  int election_ticks = 10;
  int heartbeat_ticks = 1;
  size_t max_entries_per_append = 64;
  int max_delay = 1;  // ticks a message stays in flight: uniform in [0, max_delay]
  double p_drop = 0;
  double p_dup = 0;
  double p_long_delay = 0;     // share of messages held up to 4 election timeouts: stale on arrival
  double p_partition = 0;      // per tick, when no partition is active
  double p_one_way = 0;        // share of partitions that block one direction only
  int partition_ticks = 30;    // a partition lasts uniform [1, partition_ticks]
  double p_crash = 0;          // per tick
  double p_crash_in_persist = 0;  // per Ready that has something to persist
  double p_unsynced_lost = 0;  // share of in-persist crashes where none of the Ready is synced
  int max_down = 1;            // nodes down at once
  int down_ticks = 30;         // a crashed node stays down uniform [1, down_ticks]
  double p_pause = 0;          // per tick: a node stops (no ticks, no deliveries; a GC pause,
                               // SIGSTOP) for up to 3 election timeouts, then resumes
  double p_propose = 0;        // per tick
  int compact_after = 0;       // compact when this many applied entries follow the snapshot; 0: never
  double p_compact = 0;        // per tick and node, once compact_after is reached
  int chaos_events = 0;        // length of the faulty phase of run()
  int calm_ticks = 0;          // liveness bound of the calm tail

  // No faults, no client load: the base for hand-written scenarios.
  static Options quiet(int nodes, uint64_t seed = 1);
  // Seed-tuned fault mix; `nodes` / `events` override what the seed would pick.
  static Options from_seed(uint64_t seed, std::optional<int> nodes = std::nullopt,
                           std::optional<int> events = std::nullopt);
  std::string describe() const;
};

// Evidence that each fault kind and each protocol path was generated.
enum class Counter : int {
  events,
  ticks,
  msgs_sent,
  msgs_delivered,
  drops,
  duplicates,
  long_delays,
  reorders,  // a message delivered before one sent earlier on the same link
  partitions_symmetric,
  partitions_one_way,
  partition_drops,
  pauses,
  crashes,
  crashes_in_persist_torn,  // a prefix of the Ready reached the store
  crashes_unsynced_lost,    // nothing of the Ready reached the store
  restarts,
  restarts_term_behind_log,  // the store's hard state lost a term its entries carry
  total_outages,
  proposals_ok,
  proposals_rejected,
  entries_applied,
  elections,  // distinct (term, leader) pairs
  pre_vote_rejections,
  vote_rejections,
  append_rejections,
  check_quorum_stepdowns,
  divergent_truncations,
  compactions,
  snapshots_sent,
  snapshots_installed,
  liveness_checks,
  count_
};
const char* counter_name(Counter c);

struct Counters {
  std::array<uint64_t, static_cast<size_t>(Counter::count_)> values{};
  uint64_t& operator[](Counter c) { return values[static_cast<size_t>(c)]; }
  uint64_t operator[](Counter c) const { return values[static_cast<size_t>(c)]; }
  void add(const Counters& other);
  std::string describe() const;  // "name=value" lines
};

class InvariantViolation : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// What the state machine keeps per applied entry (the term lets the checker compare it with
// the logs; no-ops are applied too, with empty data, so the list index is the log index).
struct Applied {
  Term term = 0;
  Bytes data;
  bool operator==(const Applied&) const = default;
};
Bytes encode_applied(const std::vector<Applied>& list);
std::optional<std::vector<Applied>> decode_applied(const Bytes& data);

// A message as the trace shows it (its fields, without entries or snapshot data).
struct MsgBrief {
  NodeId from = kNoNode;
  NodeId to = kNoNode;
  uint8_t type = 0;  // Payload::index()
  Term term = 0;
  std::array<int64_t, 6> x{};
  bool flag = false;  // pre-vote
  bool ok = false;    // granted / success
};
MsgBrief brief(const Message& m);
std::string describe(const MsgBrief& b);
std::string describe(const Message& m);

class Simulator {
 public:
  explicit Simulator(Options options);

  // The seeded run: `chaos_events` events of faults and client load, then a calm tail (network
  // healed, every node up, no faults) in which a leader must commit and apply a proposal on
  // every node within `calm_ticks`. Throws InvariantViolation.
  void run();

  // ---- manual control, for scenario tests (all of them check invariants as they go)
  void tick(int n = 1);  // deliver what is due, then tick every live node; n times
  // Ticks until `done()` holds (checked before each tick); false if `max_ticks` passed first.
  bool run_until(const std::function<bool()>& done, int max_ticks);
  void block(NodeId from, NodeId to);  // one direction
  void isolate(NodeId id);             // both directions, from everyone
  void partition(const std::vector<NodeId>& side);  // side <-> the rest, both directions
  void heal();  // clears partitions and blocks, not the filter
  // Drops every message the filter matches, at delivery (nullptr: none); for scenarios that
  // need one kind of message lost.
  void drop_if(std::function<bool(const Message&)> filter);
  void crash(NodeId id);
  void restart(NodeId id);
  void pause(NodeId id, int ticks);  // holds its ticks and incoming messages
  Result<Index> propose(NodeId id, std::string_view payload);
  Result<void> compact(NodeId id);  // fold everything applied into a snapshot

  const Node& node(NodeId id) const;
  bool up(NodeId id) const;
  // The live leader with the highest term, if any.
  std::optional<NodeId> leader() const;
  std::vector<std::string> applied(NodeId id) const;  // payloads of applied non-no-op entries
  std::vector<NodeId> ids() const;  // voters and observers
  std::vector<NodeId> voter_ids() const;
  std::optional<NodeId> leader_of_term(Term term) const;  // over the whole history
  const Counters& counters() const { return counters_; }
  const Options& options() const { return options_; }
  int64_t now() const { return now_; }
  uint64_t events() const { return event_; }
  int64_t calm_ticks_used() const { return calm_ticks_used_; }  // run(): ticks to liveness
  // Print every event to stderr as it happens (raft_sim --trace).
  void set_verbose(bool verbose) { verbose_ = verbose; }

 private:
  struct Store {
    HardState hard;
    Snapshot snapshot;
    std::vector<Entry> entries;  // contiguous after the snapshot
    Index last_index() const;
    const Entry* entry(Index index) const;
    std::optional<Term> term_at(Index index) const;
  };
  struct SimNode {
    NodeId id = kNoNode;
    std::optional<Node> raft;  // empty while down
    Store store;
    std::vector<Applied> sm;  // the state machine: everything applied, in order
    // Checker state.
    Term seen_term = 0;       // while up: the term never goes down
    Index seen_commit = 0;    // while up: the commit index never goes down
    Term seen_leader_term = -1;  // the term this node last led in, while up
    Term max_sent_term = 0;   // the highest term this node ever let out
    int64_t down_until = 0;
    int64_t paused_until = 0;
  };
  struct InFlight {
    Message message;
    int64_t deliver_at = 0;
    uint64_t seq = 0;  // send order, to spot reordering
  };

  int total() const { return options_.nodes + options_.observers; }
  SimNode& at(NodeId id);
  const SimNode& at(NodeId id) const;
  NodeId random_node();
  bool chance(double p);
  int uniform(int lo, int hi);  // inclusive

  void start_node(SimNode& n);
  void drive(SimNode& n);  // the Ready loop: persist, send, apply, advance
  // False if the node crashed in the middle of persisting.
  bool persist(SimNode& n, const Ready& rd);
  void send(SimNode& n, const Message& m);
  void apply(SimNode& n, const Ready& rd);
  void crash_node(SimNode& n, const char* how);
  void do_compact(SimNode& n);
  void deliver(size_t slot);
  void deliver_due();
  void tick_nodes();
  void chaos_step();  // one tick of faults and load, during run()
  void random_partition();

  // Invariants.
  [[noreturn]] void fail(std::string_view invariant, const std::string& detail);
  void check_all();  // after every event
  void check_leader_complete(const SimNode& leader);
  void check_commit_quorum(const SimNode& leader);
  void check_ack(const SimNode& n, Term term, NodeId to, Index index);
  void check_leader_has(const SimNode& leader, Index index);
  void check_log_matching(const SimNode& changed, Index from);
  void register_entries(const SimNode& n, Index from);
  void committed_entry(SimNode& n, Index index, const Applied& a);

  struct TraceLine {
    enum class Kind : uint8_t { text, deliver, tick, note } kind = Kind::text;
    uint64_t event = 0;
    int64_t time = 0;
    MsgBrief msg;
    std::string text;
  };
  // One event happened (counted and traced); invariants are checked when it completes.
  void event(TraceLine::Kind kind, const Message* m, std::string_view text);
  void event(std::string_view text);
  void note(std::string_view text);  // trace only: what an event led to
  TraceLine& trace_slot();
  static std::string format(const TraceLine& line);
  std::string trace_dump() const;

  Options options_;
  std::mt19937_64 rng_;
  std::vector<SimNode> nodes_;
  std::vector<InFlight> network_;
  std::vector<std::vector<bool>> blocked_;  // [from][to], 1-based
  int64_t partition_until_ = -1;          // random partitions heal then
  std::function<bool(const Message&)> filter_;
  int64_t now_ = 0;
  uint64_t event_ = 0;
  uint64_t next_seq_ = 0;
  std::map<std::pair<NodeId, NodeId>, uint64_t> last_delivered_seq_;
  uint64_t next_payload_ = 0;
  Counters counters_;
  bool verbose_ = false;
  bool calm_ = false;  // run()'s tail: no drops, duplicates or crashes, short delays

  // Checker state shared by all nodes.
  std::map<Term, NodeId> leaders_;  // every leader ever seen, by term
  std::map<std::pair<NodeId, Term>, NodeId> votes_;  // who each node granted its vote in a term
  // Every committed entry, by index (1-based in slot index-1), and the lowest term of a node
  // that reported it: leaders of that term or later must hold it.
  std::vector<Applied> committed_;
  std::vector<Term> committed_by_term_;
  std::set<std::string> committed_payloads_;  // every payload is proposed once
  // Every (index, term) ever stored anywhere: its data and the term of the entry before it.
  // Only the leader of `term` creates it, once, so this never changes (it implies Log Matching).
  struct EntryRecord {
    Term prev_term;
    Bytes data;
  };
  std::map<std::pair<Index, Term>, EntryRecord> entry_registry_;

  // Liveness probe of the calm tail.
  std::string probe_payload_;
  std::set<NodeId> probe_applied_;
  int64_t calm_ticks_used_ = 0;

  std::vector<TraceLine> trace_;  // ring of the last kTraceSize lines
  size_t trace_next_ = 0;
  static constexpr size_t kTraceSize = 60;
};

struct RunResult {
  bool ok = true;
  std::string failure;  // the InvariantViolation text
  std::string options;  // Options::describe()
  Counters counters;
  uint64_t events = 0;
  int64_t ticks = 0;
  int64_t calm_ticks_used = 0;  // how long the calm tail took to show progress
  int calm_ticks = 0;           // its bound
};
RunResult run_seed(uint64_t seed, std::optional<int> nodes = std::nullopt,
                   std::optional<int> events = std::nullopt, bool verbose = false,
                   int observers = 0);

}  // namespace kafkacore::raft::sim
