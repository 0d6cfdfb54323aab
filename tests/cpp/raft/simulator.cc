#include "raft/simulator.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <sstream>
#include <utility>

#include "common/bytes.h"

namespace kafkacore::raft::sim {
namespace {

std::string text_of(const Bytes& data) {
  return std::string(reinterpret_cast<const char*>(data.data()), data.size());
}

Bytes bytes_of(std::string_view s) {
  const auto v = as_bytes(s);
  return Bytes(v.begin(), v.end());
}

Term term_of(const Message& m) {
  return std::visit([](const auto& p) { return p.term; }, m.payload);
}

std::string fmt_double(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

}  // namespace

// ---------------------------------------------------------------- trace formatting

MsgBrief brief(const Message& m) {
  MsgBrief b;
  b.from = m.from;
  b.to = m.to;
  b.type = static_cast<uint8_t>(m.payload.index());
  std::visit(
      [&](const auto& p) {
        using T = std::decay_t<decltype(p)>;
        b.term = p.term;
        if constexpr (std::is_same_v<T, VoteRequest>) {
          b.x = {p.last_index, p.last_term};
          b.flag = p.pre_vote;
        } else if constexpr (std::is_same_v<T, VoteResponse>) {
          b.flag = p.pre_vote;
          b.ok = p.granted;
        } else if constexpr (std::is_same_v<T, AppendRequest>) {
          b.x = {p.prev_index, p.prev_term, p.commit, 0, 0, 0};
          if (!p.entries.empty()) {
            b.x[3] = p.entries.front().index;
            b.x[4] = p.entries.back().index;
            b.x[5] = p.entries.back().term;
          }
        } else if constexpr (std::is_same_v<T, AppendResponse>) {
          b.ok = p.success;
          b.x = {p.index};
        } else if constexpr (std::is_same_v<T, SnapshotRequest>) {
          b.x = {p.snapshot.last_index, p.snapshot.last_term};
        } else if constexpr (std::is_same_v<T, SnapshotResponse>) {
          b.x = {p.last_index};
        } else if constexpr (std::is_same_v<T, ObserveRequest>) {
          b.x = {p.last_index};
        }  // the simulator never sends ApplicationMessage
      },
      m.payload);
  return b;
}

std::string describe(const MsgBrief& b) {
  auto n = [](int64_t v) { return std::to_string(v); };
  std::string s = n(b.from) + "->" + n(b.to) + " ";
  const std::string t = "t=" + n(b.term);
  switch (b.type) {
    case 0:
      return s + (b.flag ? "PreVote{" : "Vote{") + t + " last=" + n(b.x[0]) + "/" + n(b.x[1]) +
             "}";
    case 1:
      return s + (b.flag ? "PreVoteResp{" : "VoteResp{") + t + (b.ok ? " granted}" : " rejected}");
    case 2:
      s += "Append{" + t + " prev=" + n(b.x[0]) + "/" + n(b.x[1]);
      if (b.x[3] > 0) s += " [" + n(b.x[3]) + ".." + n(b.x[4]) + "]/" + n(b.x[5]);
      return s + " commit=" + n(b.x[2]) + "}";
    case 3:
      return s + "AppendResp{" + t + (b.ok ? " ok " : " reject ") + n(b.x[0]) + "}";
    case 4:
      return s + "Snapshot{" + t + " last=" + n(b.x[0]) + "/" + n(b.x[1]) + "}";
    case 7:
      return s + "Observe{" + t + " last=" + n(b.x[0]) + "}";
    default:
      return s + "SnapshotResp{" + t + " last=" + n(b.x[0]) + "}";
  }
}

std::string describe(const Message& m) { return describe(brief(m)); }

// ---------------------------------------------------------------- options and counters

Options Options::quiet(int nodes, uint64_t seed) {
  Options o;
  o.seed = seed;
  o.nodes = nodes;
  o.max_delay = 1;
  o.calm_ticks = 400;
  return o;
}

Options Options::from_seed(uint64_t seed, std::optional<int> nodes, std::optional<int> events) {
  // Its own stream, so the simulation stream starts from the seed itself.
  std::mt19937_64 r(seed * 0x9e3779b97f4a7c15ULL + 0x2545f4914f6cdd1dULL);
  auto pick = [&](std::initializer_list<double> xs) {
    return *(xs.begin() + static_cast<std::ptrdiff_t>(r() % xs.size()));
  };
  auto between = [&](int lo, int hi) { return lo + static_cast<int>(r() % (hi - lo + 1)); };
  Options o;
  o.seed = seed;
  o.nodes = nodes ? *nodes : (r() % 2 ? 5 : 3);
  o.election_ticks = between(5, 15);
  o.heartbeat_ticks = between(1, std::max(1, o.election_ticks / 4));
  o.max_entries_per_append = static_cast<size_t>(pick({1, 2, 4, 8, 64}));
  o.max_delay = between(0, 3);
  // Each fault kind is independently off, mild or harsh, so that some seeds exercise one kind
  // in isolation and others pile them up.
  o.p_drop = pick({0, 0.02, 0.1, 0.3});
  o.p_dup = pick({0, 0.02, 0.1});
  o.p_long_delay = pick({0, 0, 0.005, 0.03});
  o.p_partition = pick({0, 0.01, 0.05});
  o.p_one_way = pick({0, 0.5, 1});
  o.partition_ticks = between(5, 60);
  o.p_crash = pick({0, 0.005, 0.02});
  o.p_crash_in_persist = pick({0, 0.003, 0.02});
  o.p_unsynced_lost = pick({0.2, 0.5});
  // Mostly a minority down at once (the cluster keeps working); sometimes all of them.
  o.max_down = r() % 5 == 0 ? o.nodes : o.nodes / 2;
  o.down_ticks = between(5, 80);
  o.p_pause = pick({0, 0, 0.005, 0.02});
  o.p_propose = pick({0.1, 0.3, 0.8});
  o.compact_after = static_cast<int>(pick({0, 5, 20, 50}));
  o.p_compact = 0.1;
  o.chaos_events = events ? *events : 15000;
  // Generous: a healed cluster may need a few election rounds (randomised timeouts, leases).
  o.calm_ticks = 40 * o.election_ticks;
  return o;
}

std::string Options::describe() const {
  std::string s;
  auto add = [&](const char* k, const std::string& v) {
    if (!s.empty()) s += ' ';
    s += k;
    s += '=';
    s += v;
  };
  add("seed", std::to_string(seed));
  add("nodes", std::to_string(nodes));
  if (observers > 0) add("observers", std::to_string(observers));
  add("election_ticks", std::to_string(election_ticks));
  add("heartbeat_ticks", std::to_string(heartbeat_ticks));
  add("max_append", std::to_string(max_entries_per_append));
  add("max_delay", std::to_string(max_delay));
  add("p_drop", fmt_double(p_drop));
  add("p_dup", fmt_double(p_dup));
  add("p_long_delay", fmt_double(p_long_delay));
  add("p_partition", fmt_double(p_partition));
  add("p_one_way", fmt_double(p_one_way));
  add("partition_ticks", std::to_string(partition_ticks));
  add("p_crash", fmt_double(p_crash));
  add("p_crash_in_persist", fmt_double(p_crash_in_persist));
  add("p_unsynced_lost", fmt_double(p_unsynced_lost));
  add("max_down", std::to_string(max_down));
  add("down_ticks", std::to_string(down_ticks));
  add("p_pause", fmt_double(p_pause));
  add("p_propose", fmt_double(p_propose));
  add("compact_after", std::to_string(compact_after));
  add("p_compact", fmt_double(p_compact));
  add("chaos_events", std::to_string(chaos_events));
  add("calm_ticks", std::to_string(calm_ticks));
  return s;
}

const char* counter_name(Counter c) {
  switch (c) {
    case Counter::events: return "events";
    case Counter::ticks: return "ticks";
    case Counter::msgs_sent: return "msgs_sent";
    case Counter::msgs_delivered: return "msgs_delivered";
    case Counter::drops: return "drops";
    case Counter::duplicates: return "duplicates";
    case Counter::long_delays: return "long_delays";
    case Counter::reorders: return "reorders";
    case Counter::partitions_symmetric: return "partitions_symmetric";
    case Counter::partitions_one_way: return "partitions_one_way";
    case Counter::partition_drops: return "partition_drops";
    case Counter::pauses: return "pauses";
    case Counter::crashes: return "crashes";
    case Counter::crashes_in_persist_torn: return "crashes_in_persist_torn";
    case Counter::crashes_unsynced_lost: return "crashes_unsynced_lost";
    case Counter::restarts: return "restarts";
    case Counter::restarts_term_behind_log: return "restarts_term_behind_log";
    case Counter::total_outages: return "total_outages";
    case Counter::proposals_ok: return "proposals_ok";
    case Counter::proposals_rejected: return "proposals_rejected";
    case Counter::entries_applied: return "entries_applied";
    case Counter::elections: return "elections";
    case Counter::pre_vote_rejections: return "pre_vote_rejections";
    case Counter::vote_rejections: return "vote_rejections";
    case Counter::append_rejections: return "append_rejections";
    case Counter::check_quorum_stepdowns: return "check_quorum_stepdowns";
    case Counter::divergent_truncations: return "divergent_truncations";
    case Counter::compactions: return "compactions";
    case Counter::snapshots_sent: return "snapshots_sent";
    case Counter::snapshots_installed: return "snapshots_installed";
    case Counter::liveness_checks: return "liveness_checks";
    case Counter::count_: break;
  }
  return "?";
}

void Counters::add(const Counters& other) {
  for (size_t i = 0; i < values.size(); ++i) values[i] += other.values[i];
}

std::string Counters::describe() const {
  std::string s;
  for (size_t i = 0; i < values.size(); ++i) {
    s += counter_name(static_cast<Counter>(i));
    s += '=';
    s += std::to_string(values[i]);
    s += '\n';
  }
  return s;
}

// The state machine's snapshot: u32 count, then per entry i64 term, u32 size, bytes.
Bytes encode_applied(const std::vector<Applied>& list) {
  size_t size = 4;
  for (const auto& a : list) size += 12 + a.data.size();
  Bytes out(size);
  std::byte* p = out.data();
  store_be<uint32_t>(p, static_cast<uint32_t>(list.size()));
  p += 4;
  for (const auto& a : list) {
    store_be<uint64_t>(p, static_cast<uint64_t>(a.term));
    store_be<uint32_t>(p + 8, static_cast<uint32_t>(a.data.size()));
    p += 12;
    if (!a.data.empty()) std::memcpy(p, a.data.data(), a.data.size());
    p += a.data.size();
  }
  return out;
}

std::optional<std::vector<Applied>> decode_applied(const Bytes& data) {
  if (data.size() < 4) return std::nullopt;
  const std::byte* p = data.data();
  const std::byte* end = p + data.size();
  const uint32_t n = load_be<uint32_t>(p);
  p += 4;
  std::vector<Applied> out;
  out.reserve(n);
  for (uint32_t i = 0; i < n; ++i) {
    if (end - p < 12) return std::nullopt;
    Applied a;
    a.term = static_cast<Term>(load_be<uint64_t>(p));
    const uint32_t len = load_be<uint32_t>(p + 8);
    p += 12;
    if (static_cast<size_t>(end - p) < len) return std::nullopt;
    a.data.assign(p, p + len);
    p += len;
    out.push_back(std::move(a));
  }
  if (p != end) return std::nullopt;
  return out;
}

// ---------------------------------------------------------------- store

Index Simulator::Store::last_index() const {
  return entries.empty() ? snapshot.last_index : entries.back().index;
}

const Entry* Simulator::Store::entry(Index index) const {
  if (index <= snapshot.last_index || index > last_index()) return nullptr;
  return &entries[static_cast<size_t>(index - snapshot.last_index - 1)];
}

std::optional<Term> Simulator::Store::term_at(Index index) const {
  if (index == snapshot.last_index) return snapshot.last_term;
  const Entry* e = entry(index);
  if (!e) return std::nullopt;
  return e->term;
}

// ---------------------------------------------------------------- setup and helpers

Simulator::Simulator(Options options) : options_(std::move(options)), rng_(options_.seed) {
  const int n = options_.nodes + options_.observers;
  blocked_.assign(static_cast<size_t>(n + 1), std::vector<bool>(static_cast<size_t>(n + 1)));
  nodes_.resize(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) nodes_[static_cast<size_t>(i)].id = i + 1;
  trace_.reserve(kTraceSize);
  for (auto& node : nodes_) start_node(node);
}

Simulator::SimNode& Simulator::at(NodeId id) {
  if (id < 1 || id > total()) throw std::out_of_range("no node " + std::to_string(id));
  return nodes_[static_cast<size_t>(id - 1)];
}

const Simulator::SimNode& Simulator::at(NodeId id) const {
  if (id < 1 || id > total()) throw std::out_of_range("no node " + std::to_string(id));
  return nodes_[static_cast<size_t>(id - 1)];
}

NodeId Simulator::random_node() { return uniform(1, total()); }

std::vector<NodeId> Simulator::voter_ids() const {
  std::vector<NodeId> out;
  for (NodeId id = 1; id <= options_.nodes; ++id) out.push_back(id);
  return out;
}

bool Simulator::chance(double p) {
  if (p <= 0) return false;  // draws nothing: turning a fault off leaves the rest of the run alone
  return std::uniform_real_distribution<double>(0, 1)(rng_) < p;
}

int Simulator::uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }

std::vector<NodeId> Simulator::ids() const {
  std::vector<NodeId> out;
  for (const auto& n : nodes_) out.push_back(n.id);
  return out;
}

const Node& Simulator::node(NodeId id) const {
  const SimNode& n = at(id);
  if (!n.raft) throw std::logic_error("node " + std::to_string(id) + " is down");
  return *n.raft;
}

bool Simulator::up(NodeId id) const { return at(id).raft.has_value(); }

std::optional<NodeId> Simulator::leader() const {
  std::optional<NodeId> best;
  Term best_term = -1;
  for (const auto& n : nodes_) {
    if (n.raft && n.raft->role() == Role::leader && n.raft->term() > best_term) {
      best = n.id;
      best_term = n.raft->term();
    }
  }
  return best;
}

std::optional<NodeId> Simulator::leader_of_term(Term term) const {
  auto it = leaders_.find(term);
  if (it == leaders_.end()) return std::nullopt;
  return it->second;
}

std::vector<std::string> Simulator::applied(NodeId id) const {
  std::vector<std::string> out;
  for (const auto& a : at(id).sm) {
    if (!a.data.empty()) out.push_back(text_of(a.data));
  }
  return out;
}

// ---------------------------------------------------------------- trace and failure

Simulator::TraceLine& Simulator::trace_slot() {
  if (trace_.size() < kTraceSize) {
    trace_.emplace_back();
    trace_next_ = trace_.size() % kTraceSize;
    return trace_.back();
  }
  TraceLine& line = trace_[trace_next_];
  trace_next_ = (trace_next_ + 1) % kTraceSize;
  return line;
}

// Events are recorded as plain fields and formatted only when a trace is printed: the runs
// make millions of them.
void Simulator::event(TraceLine::Kind kind, const Message* m, std::string_view text) {
  ++event_;
  ++counters_[Counter::events];
  TraceLine& line = trace_slot();
  line.kind = kind;
  line.event = event_;
  line.time = now_;
  if (m) line.msg = brief(*m);
  line.text.assign(text);
  if (verbose_) std::fprintf(stderr, "%s\n", format(line).c_str());
}

void Simulator::event(std::string_view text) { event(TraceLine::Kind::text, nullptr, text); }

void Simulator::note(std::string_view text) {
  TraceLine& line = trace_slot();
  line.kind = TraceLine::Kind::note;
  line.text.assign(text);
  if (verbose_) std::fprintf(stderr, "%s\n", format(line).c_str());
}

std::string Simulator::format(const TraceLine& line) {
  if (line.kind == TraceLine::Kind::note) return "    " + line.text;
  std::string s = "#" + std::to_string(line.event) + " t=" + std::to_string(line.time) + " ";
  switch (line.kind) {
    case TraceLine::Kind::deliver: return s + "deliver " + describe(line.msg);
    case TraceLine::Kind::tick: return s + "tick";
    default: return s + line.text;
  }
}

std::string Simulator::trace_dump() const {
  std::string s;
  const size_t n = trace_.size();
  const size_t start = n < kTraceSize ? 0 : trace_next_;
  for (size_t i = 0; i < n; ++i) {
    s += "  ";
    s += format(trace_[(start + i) % n]);
    s += '\n';
  }
  return s;
}

void Simulator::fail(std::string_view invariant, const std::string& detail) {
  std::string s = "raft sim: seed " + std::to_string(options_.seed) + ", event " +
                  std::to_string(event_) + " (tick " + std::to_string(now_) + "): invariant '" +
                  std::string(invariant) + "' violated: " + detail + "\n";
  s += "options: " + options_.describe() + "\n";
  s += "rerun: raft_sim --first " + std::to_string(options_.seed) + " --seeds 1 --nodes " +
 std::to_string(options_.nodes) +
       (options_.observers ? " --observers " + std::to_string(options_.observers) : "") + " --events " + std::to_string(options_.chaos_events) +
       " --trace\n";
  s += "logs:\n";
  for (const auto& n : nodes_) {
    s += "  n" + std::to_string(n.id) + (n.raft ? "" : " (down)") +
         " store: term=" + std::to_string(n.store.hard.term) +
         " vote=" + std::to_string(n.store.hard.voted_for) +
         " commit=" + std::to_string(n.store.hard.commit) +
         " snap=" + std::to_string(n.store.snapshot.last_index) + "/" +
         std::to_string(n.store.snapshot.last_term) + " terms:";
    // Runs of equal terms keep this short.
    Index i = n.store.snapshot.last_index + 1;
    while (i <= n.store.last_index()) {
      const Term t = n.store.entry(i)->term;
      Index j = i;
      while (j + 1 <= n.store.last_index() && n.store.entry(j + 1)->term == t) ++j;
      s += " [" + std::to_string(i) + ".." + std::to_string(j) + "]=" + std::to_string(t);
      i = j + 1;
    }
    if (n.raft) {
      s += " | node: " + std::string(role_name(n.raft->role())) +
           " term=" + std::to_string(n.raft->term()) +
           " commit=" + std::to_string(n.raft->commit_index()) +
           " last=" + std::to_string(n.raft->last_index());
    }
    s += " applied=" + std::to_string(n.sm.size()) + "\n";
  }
  s += "committed: " + std::to_string(committed_.size()) + " entries\n";
  s += "last events:\n" + trace_dump();
  throw InvariantViolation(s);
}

// ---------------------------------------------------------------- node lifecycle

void Simulator::start_node(SimNode& n) {
  Config c;
  c.id = n.id;
  c.voters = voter_ids();
  c.observer = n.id > options_.nodes;
  c.election_ticks = options_.election_ticks;
  c.heartbeat_ticks = options_.heartbeat_ticks;
  c.max_entries_per_append = options_.max_entries_per_append;
  c.pre_vote = true;
  c.check_quorum = true;
  c.seed = rng_();
  const Store& s = n.store;
  n.raft.emplace(c, RestoredState{s.hard, s.snapshot, s.entries});
  n.sm.clear();
  if (s.snapshot.last_index > 0) {
    auto list = decode_applied(s.snapshot.data);
    if (!list || static_cast<Index>(list->size()) != s.snapshot.last_index) {
      fail("state machine safety", "n" + std::to_string(n.id) + " restarts from a bad snapshot");
    }
    n.sm = std::move(*list);
  }
  for (size_t i = 0; i < n.sm.size(); ++i) {
    if (i >= committed_.size() || !(committed_[i] == n.sm[i])) {
      fail("state machine safety", "n" + std::to_string(n.id) + " restored snapshot entry " +
                                       std::to_string(i + 1) + " was never committed as such");
    }
  }
  const Node& r = *n.raft;
  // Observable terms only: a term raised in memory and lost before it was persisted never
  // reached anyone, so it may come back lower.
  if (r.term() < n.max_sent_term) {
    fail("monotonic term", "n" + std::to_string(n.id) + " restarts in term " +
                               std::to_string(r.term()) + " after sending term " +
                               std::to_string(n.max_sent_term));
  }
  if (!s.entries.empty() && s.entries.back().term > s.hard.term) {
    ++counters_[Counter::restarts_term_behind_log];
  }
  n.seen_term = r.term();
  n.seen_commit = r.commit_index();
  n.seen_leader_term = -1;
  drive(n);
}

void Simulator::crash_node(SimNode& n, const char* how) {
  n.raft.reset();
  n.paused_until = 0;
  n.sm.clear();
  n.seen_leader_term = -1;
  n.down_until = now_ + uniform(1, std::max(1, options_.down_ticks));
  ++counters_[Counter::crashes];
  note("n" + std::to_string(n.id) + " crashed " + how);
  bool all_down = true;
  for (const auto& o : nodes_) all_down = all_down && !o.raft;
  if (all_down) ++counters_[Counter::total_outages];
}

// ---------------------------------------------------------------- the Ready loop

void Simulator::drive(SimNode& n) {
  Index changed_from = -1;  // lowest log index this drive wrote, -1: none
  for (int rounds = 0; n.raft && n.raft->has_ready(); ++rounds) {
    if (rounds > 1000) fail("progress", "n" + std::to_string(n.id) + " never runs out of Ready");
    Ready rd = n.raft->ready();
    for (Index i : {rd.snapshot ? rd.snapshot->last_index + 1 : -1, rd.truncate_from.value_or(-1),
                    rd.entries.empty() ? -1 : rd.entries.front().index}) {
      if (i >= 0 && (changed_from < 0 || i < changed_from)) changed_from = i;
    }
    if (!persist(n, rd)) {  // crashed before any of it left the node
      if (changed_from >= 0) check_log_matching(n, changed_from);
      return;
    }
    for (const auto& m : rd.messages) send(n, m);
    apply(n, rd);
    n.raft->advance(rd);
  }
  if (!n.raft) return;
  // Once nothing is pending the store must mirror the node exactly.
  const Node& r = *n.raft;
  const Store& s = n.store;
  auto who = [&] { return "n" + std::to_string(n.id); };
  if (!(r.snapshot().last_index == s.snapshot.last_index &&
        r.snapshot().last_term == s.snapshot.last_term)) {
    fail("ready contract", who() + " snapshot " + std::to_string(r.snapshot().last_index) +
                               " but its store has " + std::to_string(s.snapshot.last_index));
  }
  if (r.last_index() != s.last_index()) {
    fail("ready contract", who() + " log ends at " + std::to_string(r.last_index()) +
                               " but its store at " + std::to_string(s.last_index()));
  }
  if (r.term() != s.hard.term) {
    fail("ready contract", who() + " term " + std::to_string(r.term()) + " not persisted (store " +
                               std::to_string(s.hard.term) + ")");
  }
  if (changed_from >= 0) {
    for (Index i = std::max(changed_from, r.first_index()); i <= r.last_index(); ++i) {
      if (!(*r.entry(i) == *s.entry(i))) {
        fail("ready contract", who() + " entry " + std::to_string(i) + " differs from its store");
      }
    }
    check_log_matching(n, changed_from);
  }
}

bool Simulator::persist(SimNode& n, const Ready& rd) {
  const size_t steps = (rd.snapshot ? 1 : 0) + (rd.truncate_from ? 1 : 0) + rd.entries.size() +
                       (rd.hard_state ? 1 : 0);
  // A crash in the middle of persisting keeps a prefix of the Ready's writes (they are synced
  // in this order); nothing of the Ready was sent, so the core must cope with any prefix.
  size_t keep = steps;
  if (steps > 0 && !calm_ && chance(options_.p_crash_in_persist)) {
    if (chance(options_.p_unsynced_lost)) {
      keep = 0;
      ++counters_[Counter::crashes_unsynced_lost];
    } else {
      keep = static_cast<size_t>(uniform(0, static_cast<int>(steps) - 1));
      ++counters_[Counter::crashes_in_persist_torn];
    }
  }
  size_t done = 0;
  auto next = [&] { return done < keep ? (++done, true) : false; };
  Store& s = n.store;
  auto who = [&] { return "n" + std::to_string(n.id); };
  const Index old_last = s.last_index();
  Index first_new = old_last + 1;  // lowest index written by this Ready (for the registry)

  auto drop_from = [&](Index from, const char* why) {
    // A committed entry (same index and term as one a node applied) must never be removed.
    for (const auto& e : s.entries) {
      if (e.index < from) continue;
      const auto i = static_cast<size_t>(e.index - 1);
      if (i < committed_.size() && committed_[i].term == e.term) {
        fail("leader completeness", who() + " " + why + " drops committed entry " +
                                        std::to_string(e.index) + "/" + std::to_string(e.term));
      }
    }
  };

  bool crashed = false;
  if (rd.snapshot) {
    if (next()) {
      const Snapshot& sn = *rd.snapshot;
      if (sn.last_index < s.snapshot.last_index) {
        fail("ready contract", who() + " persists snapshot " + std::to_string(sn.last_index) +
                                   " older than its own " +
                                   std::to_string(s.snapshot.last_index));
      }
      drop_from(sn.last_index + 1, "installing a snapshot");
      s.snapshot = sn;
      s.entries.clear();
      first_new = sn.last_index + 1;
    } else {
      crashed = true;
    }
  }
  if (!crashed && rd.truncate_from) {
    if (next()) {
      const Index from = *rd.truncate_from;
      if (from <= s.snapshot.last_index) {
        fail("leader completeness", who() + " truncates from " + std::to_string(from) +
                                        " into its snapshot " +
                                        std::to_string(s.snapshot.last_index));
      }
      if (from <= s.last_index()) {
        drop_from(from, "truncating");
        ++counters_[Counter::divergent_truncations];
        note(who() + " truncates its log from " + std::to_string(from) + " (was up to " +
             std::to_string(s.last_index()) + ")");
        s.entries.resize(static_cast<size_t>(from - s.snapshot.last_index - 1));
      }
      first_new = std::min(first_new, from);
    } else {
      crashed = true;
    }
  }
  for (const auto& e : rd.entries) {
    if (crashed || !next()) {
      crashed = true;
      break;
    }
    if (e.index != s.last_index() + 1) {
      fail("ready contract", who() + " appends entry " + std::to_string(e.index) +
                                 " after its log ends at " + std::to_string(s.last_index()));
    }
    if (s.entries.empty() && e.index == s.snapshot.last_index + 1 &&
        e.term < s.snapshot.last_term) {
      fail("log matching", who() + " appends term " + std::to_string(e.term) +
                               " after a snapshot of term " + std::to_string(s.snapshot.last_term));
    }
    first_new = std::min(first_new, e.index);
    s.entries.push_back(e);
  }
  if (!crashed && rd.hard_state) {
    if (next()) {
      const HardState& hs = *rd.hard_state;
      if (hs.term < s.hard.term) {
        fail("monotonic term", who() + " persists term " + std::to_string(hs.term) + " after " +
                                   std::to_string(s.hard.term));
      }
      if (hs.term == s.hard.term && s.hard.voted_for != kNoNode &&
          hs.voted_for != s.hard.voted_for) {
        fail("election safety", who() + " changes its vote in term " + std::to_string(hs.term) +
                                    " from " + std::to_string(s.hard.voted_for) + " to " +
                                    std::to_string(hs.voted_for));
      }
      s.hard = hs;
    } else {
      crashed = true;
    }
  }
  if (first_new <= s.last_index()) register_entries(n, first_new);
  if (crashed) {
    crash_node(n, keep == 0 ? "in persist (nothing of the Ready synced)"
                            : ("in persist (" + std::to_string(keep) + " of " +
                               std::to_string(steps) + " writes synced)")
                                  .c_str());
    return false;
  }
  return true;
}

void Simulator::send(SimNode& n, const Message& m) {
  ++counters_[Counter::msgs_sent];
  const Term t = term_of(m);
  const auto* vreq = std::get_if<VoteRequest>(&m.payload);
  const auto* vresp = std::get_if<VoteResponse>(&m.payload);
  // Pre-votes carry the term the candidate would campaign in, not one it holds.
  const bool future_term = (vreq && vreq->pre_vote) || (vresp && vresp->pre_vote && vresp->granted);
  auto who = [&] { return "n" + std::to_string(n.id); };
  if (!future_term) {
    if (t > n.store.hard.term) {
      fail("persist before send", who() + " sends term " + std::to_string(t) +
                                      " but has persisted only " +
                                      std::to_string(n.store.hard.term) + ": " + describe(m));
    }
    n.max_sent_term = std::max(n.max_sent_term, t);
  }
  if (n.raft->observer() && (vreq || (vresp && vresp->granted))) {
    fail("observer", who() + " is an observer but takes part in an election: " + describe(m));
  }
  if (vresp && !vresp->pre_vote && vresp->granted) {
    if (n.store.hard.term != t || n.store.hard.voted_for != m.to) {
      fail("persist before send", who() + " grants its vote before persisting it: " + describe(m));
    }
    auto [it, fresh] = votes_.emplace(std::make_pair(n.id, t), m.to);
    if (!fresh && it->second != m.to) {
      fail("election safety", who() + " votes for " + std::to_string(it->second) + " and " +
                                  std::to_string(m.to) + " in term " + std::to_string(t));
    }
  }
  // What a follower acknowledges is what the leader counts towards commit: its log must really
  // match the leader's up to there (an entry of the same term at that index; Log Matching then
  // covers everything before it).
  std::optional<Index> acked;
  if (const auto* ar = std::get_if<AppendResponse>(&m.payload); ar && ar->success) acked = ar->index;
  if (const auto* sr = std::get_if<SnapshotResponse>(&m.payload)) acked = sr->last_index;
  if (acked) check_ack(n, t, m.to, *acked);
  if (std::holds_alternative<SnapshotRequest>(m.payload)) ++counters_[Counter::snapshots_sent];
  if (m.to < 1 || m.to > total() || m.to == m.from) {
    fail("ready contract", who() + " sends to a non-peer: " + describe(m));
  }
  if (!calm_ && chance(options_.p_drop)) {
    ++counters_[Counter::drops];
    return;
  }
  const int copies = !calm_ && chance(options_.p_dup) ? 2 : 1;
  if (copies == 2) ++counters_[Counter::duplicates];
  const int max_delay = calm_ ? std::min(options_.max_delay, 1) : options_.max_delay;
  for (int i = 0; i < copies; ++i) {
    int delay = uniform(0, max_delay);
    if (!calm_ && chance(options_.p_long_delay)) {
      delay = uniform(max_delay + 1, 4 * options_.election_ticks);
      ++counters_[Counter::long_delays];
    }
    network_.push_back(InFlight{m, now_ + delay, next_seq_++});
  }
}

void Simulator::apply(SimNode& n, const Ready& rd) {
  auto who = [&] { return "n" + std::to_string(n.id); };
  if (rd.apply_snapshot) {
    const Snapshot& sn = *rd.apply_snapshot;
    auto list = decode_applied(sn.data);
    if (!list || static_cast<Index>(list->size()) != sn.last_index ||
        (sn.last_index > 0 && list->back().term != sn.last_term)) {
      fail("state machine safety", who() + " applies a snapshot that does not hold entries 1.." +
                                       std::to_string(sn.last_index));
    }
    if (list->size() < n.sm.size()) {
      fail("state machine safety", who() + " applies snapshot " + std::to_string(sn.last_index) +
                                       " behind its applied " + std::to_string(n.sm.size()));
    }
    for (size_t i = 0; i < list->size(); ++i) {
      if (i >= committed_.size() || !(committed_[i] == (*list)[i])) {
        fail("state machine safety", who() + " snapshot entry " + std::to_string(i + 1) +
                                         " was never committed as such");
      }
    }
    for (size_t i = n.sm.size(); i < list->size(); ++i) {
      committed_entry(n, static_cast<Index>(i + 1), (*list)[i]);
      if (!probe_payload_.empty() && text_of((*list)[i].data) == probe_payload_) {
        probe_applied_.insert(n.id);
      }
    }
    n.sm = std::move(*list);
    ++counters_[Counter::snapshots_installed];
    note(who() + " installs snapshot " + std::to_string(sn.last_index) + "/" +
         std::to_string(sn.last_term));
  }
  for (const auto& e : rd.committed) {
    if (e.index != static_cast<Index>(n.sm.size()) + 1) {
      fail("state machine safety", who() + " applies entry " + std::to_string(e.index) +
                                       " after " + std::to_string(n.sm.size()));
    }
    Applied a{e.term, e.data};
    committed_entry(n, e.index, a);
    n.sm.push_back(std::move(a));
    ++counters_[Counter::entries_applied];
    if (!probe_payload_.empty() && text_of(e.data) == probe_payload_) probe_applied_.insert(n.id);
  }
}

namespace {
std::optional<Term> term_in(const Node& r, Index index) {
  if (index == r.snapshot().last_index) return r.snapshot().last_term;
  if (const Entry* e = r.entry(index)) return e->term;
  return std::nullopt;
}
}  // namespace

void Simulator::check_ack(const SimNode& n, Term term, NodeId to, Index index) {
  auto who = [&] { return "n" + std::to_string(n.id); };
  auto it = leaders_.find(term);
  if (it == leaders_.end() || it->second != to) {
    fail("log matching", who() + " acknowledges " + std::to_string(index) + " to n" +
                             std::to_string(to) + ", not the leader of term " +
                             std::to_string(term));
  }
  const SimNode& l = at(to);
  if (!l.raft || l.raft->term() != term) return;  // its log may have moved on since
  const auto leader_term = term_in(*l.raft, index);
  const auto own_term = n.store.term_at(index);
  if (!leader_term && index > l.raft->last_index()) {
    fail("log matching", who() + " acknowledges " + std::to_string(index) + " beyond the log of n" +
                             std::to_string(to) + " (" + std::to_string(l.raft->last_index()) +
                             ")");
  }
  if (!leader_term || (!own_term && index <= n.store.snapshot.last_index)) return;  // compacted
  if (own_term != leader_term) {
    fail("log matching", who() + " acknowledges " + std::to_string(index) + " holding term " +
                             (own_term ? std::to_string(*own_term) : std::string("nothing")) +
                             " where leader n" + std::to_string(to) + " has term " +
                             std::to_string(*leader_term));
  }
}

// Node `n` applied entry `index`: record it as committed, or check it against the record.
void Simulator::committed_entry(SimNode& n, Index index, const Applied& a) {
  const auto i = static_cast<size_t>(index - 1);
  const Term reporter_term = n.raft->term();
  if (i < committed_.size()) {
    if (!(committed_[i] == a)) {
      fail("state machine safety",
           "n" + std::to_string(n.id) + " applies " + std::to_string(index) + "/" +
               std::to_string(a.term) + " '" + text_of(a.data) + "' where another node applied " +
               std::to_string(committed_[i].term) + " '" + text_of(committed_[i].data) + "'");
    }
    committed_by_term_[i] = std::min(committed_by_term_[i], reporter_term);
    return;
  }
  if (i != committed_.size()) {
    fail("state machine safety", "n" + std::to_string(n.id) + " applies " +
                                     std::to_string(index) + " with a gap before it");
  }
  if (!a.data.empty() && !committed_payloads_.insert(text_of(a.data)).second) {
    fail("state machine safety", "payload '" + text_of(a.data) + "' committed twice");
  }
  committed_.push_back(a);
  committed_by_term_.push_back(reporter_term);
  // It was committed in a term <= the reporter's, so every leader from that term on holds it.
  for (const auto& o : nodes_) {
    if (o.raft && o.raft->role() == Role::leader && o.raft->term() >= reporter_term) {
      check_leader_has(o, index);
    }
  }
}

// ---------------------------------------------------------------- invariants

void Simulator::check_leader_has(const SimNode& leader, Index index) {
  const Node& r = *leader.raft;
  if (index <= r.snapshot().last_index) return;  // snapshots are checked when made or installed
  const Applied& c = committed_[static_cast<size_t>(index - 1)];
  const Entry* e = r.entry(index);
  if (!e || e->term != c.term || e->data != c.data) {
    fail("leader completeness",
         "leader n" + std::to_string(leader.id) + " of term " + std::to_string(r.term()) +
             " lacks committed entry " + std::to_string(index) + "/" + std::to_string(c.term) +
             (e ? " (has term " + std::to_string(e->term) + ")" : " (log too short)"));
  }
}

void Simulator::check_leader_complete(const SimNode& leader) {
  const Term t = leader.raft->term();
  for (size_t i = 0; i < committed_.size(); ++i) {
    if (committed_by_term_[i] <= t) check_leader_has(leader, static_cast<Index>(i + 1));
  }
}

void Simulator::register_entries(const SimNode& n, Index from) {
  const Store& s = n.store;
  for (Index i = std::max(from, s.snapshot.last_index + 1); i <= s.last_index(); ++i) {
    const Entry& e = *s.entry(i);
    const Term prev = *s.term_at(i - 1);
    auto [it, fresh] = entry_registry_.try_emplace({i, e.term}, EntryRecord{prev, e.data});
    if (!fresh && (it->second.prev_term != prev || it->second.data != e.data)) {
      fail("log matching", "n" + std::to_string(n.id) + " stores entry " + std::to_string(i) +
                               "/" + std::to_string(e.term) + " after term " +
                               std::to_string(prev) + " ('" + text_of(e.data) +
                               "'), but another log had it after term " +
                               std::to_string(it->second.prev_term) + " ('" +
                               text_of(it->second.data) + "')");
    }
  }
}

// Log Matching, pairwise over the stores: where two logs hold an entry with the same index and
// term, they agree on every entry up to it (over the range both still hold). Every store is
// checked whenever it changes, so only the part from `from` on needs looking at: the entries
// below it agree with another log's exactly when the entry just below `from` has the same term.
void Simulator::check_log_matching(const SimNode& changed, Index from) {
  const Store& a = changed.store;
  for (const auto& other : nodes_) {
    if (other.id == changed.id) continue;
    const Store& b = other.store;
    const Index lo = std::max(a.snapshot.last_index, b.snapshot.last_index) + 1;
    const Index hi = std::min(a.last_index(), b.last_index());
    const Index start = std::max(lo, from);
    Index match = 0;
    for (Index i = hi; i >= start; --i) {
      if (a.entry(i)->term == b.entry(i)->term) {
        match = i;
        break;
      }
    }
    if (match == 0) continue;
    Index bad = 0;
    if (start > lo && a.entry(start - 1)->term != b.entry(start - 1)->term) bad = start - 1;
    for (Index i = start; i <= match && bad == 0; ++i) {
      if (!(*a.entry(i) == *b.entry(i))) bad = i;
    }
    if (bad != 0) {
      fail("log matching", "n" + std::to_string(changed.id) + " and n" +
                               std::to_string(other.id) + " agree on entry " +
                               std::to_string(match) + "/" + std::to_string(a.entry(match)->term) +
                               " but differ at " + std::to_string(bad));
    }
  }
}

// A leader's new commit index is durably held by a majority of the voters (observers hold it
// too but must never count): their stores have the leader's entry there, or a snapshot past it.
void Simulator::check_commit_quorum(const SimNode& leader) {
  const Node& r = *leader.raft;
  const Index c = r.commit_index();
  const auto want = term_in(r, c);
  if (!want) return;  // compacted on the leader: covered when the snapshot was made
  int holders = 0;
  for (NodeId v : voter_ids()) {
    const Store& s = at(v).store;
    if (c <= s.snapshot.last_index || s.term_at(c) == want) ++holders;
  }
  if (holders < options_.nodes / 2 + 1) {
    fail("commit quorum", "leader n" + std::to_string(leader.id) + " commits " +
                              std::to_string(c) + " held by only " + std::to_string(holders) +
                              " of " + std::to_string(options_.nodes) + " voters");
  }
}

void Simulator::check_all() {
  for (auto& n : nodes_) {
    if (!n.raft) continue;
    const Node& r = *n.raft;
    auto who = [&] { return "n" + std::to_string(n.id); };
    if (r.term() < n.seen_term) {
      fail("monotonic term", who() + " term went from " + std::to_string(n.seen_term) + " to " +
                                 std::to_string(r.term()));
    }
    n.seen_term = r.term();
    if (r.commit_index() < n.seen_commit) {
      fail("monotonic commit", who() + " commit index went from " + std::to_string(n.seen_commit) +
                                   " to " + std::to_string(r.commit_index()));
    }
    if (r.role() == Role::leader && r.commit_index() > n.seen_commit) check_commit_quorum(n);
    n.seen_commit = r.commit_index();
    if (r.commit_index() > r.last_index()) {
      fail("monotonic commit", who() + " commit index " + std::to_string(r.commit_index()) +
                                   " beyond its log " + std::to_string(r.last_index()));
    }
    if (r.observer() && r.role() != Role::follower) {
      fail("observer", who() + " is an observer but became " + role_name(r.role()));
    }
    if (r.role() == Role::leader) {
      if (n.seen_leader_term != r.term()) {
        auto [it, fresh] = leaders_.emplace(r.term(), n.id);
        if (!fresh && it->second != n.id) {
          fail("election safety", "n" + std::to_string(it->second) + " and " + who() +
                                      " both lead term " + std::to_string(r.term()));
        }
        if (fresh) ++counters_[Counter::elections];
        n.seen_leader_term = r.term();
        note(who() + " leads term " + std::to_string(r.term()) + " (log " +
             std::to_string(r.first_index()) + ".." + std::to_string(r.last_index()) +
             ", commit " + std::to_string(r.commit_index()) + ")");
        check_leader_complete(n);
      }
    } else if (n.seen_leader_term >= 0) {
      if (n.seen_leader_term == r.term()) {
        ++counters_[Counter::check_quorum_stepdowns];
        note(who() + " steps down in term " + std::to_string(r.term()) +
             " (check-quorum)");
      }
      n.seen_leader_term = -1;
    }
  }
}

// ---------------------------------------------------------------- network

void Simulator::deliver(size_t slot) {
  InFlight f = std::move(network_[slot]);
  network_[slot] = std::move(network_.back());
  network_.pop_back();
  const Message& m = f.message;
  event(TraceLine::Kind::deliver, &m, {});
  SimNode& to = at(m.to);
  if (blocked_[static_cast<size_t>(m.from)][static_cast<size_t>(m.to)] ||
      (filter_ && filter_(m))) {
    ++counters_[Counter::partition_drops];
  } else if (to.raft) {
    ++counters_[Counter::msgs_delivered];
    uint64_t& last = last_delivered_seq_[{m.from, m.to}];
    if (f.seq < last) ++counters_[Counter::reorders];
    last = std::max(last, f.seq);
    if (const auto* v = std::get_if<VoteResponse>(&m.payload); v && !v->granted) {
      ++counters_[v->pre_vote ? Counter::pre_vote_rejections : Counter::vote_rejections];
    }
    if (const auto* a = std::get_if<AppendResponse>(&m.payload); a && !a->success) {
      ++counters_[Counter::append_rejections];
    }
    to.raft->step(m);
    drive(to);
  }
  check_all();
}

void Simulator::deliver_due() {
  std::vector<size_t> due;
  for (int delivered = 0;; ++delivered) {
    if (delivered > 50000) fail("progress", "message storm: 50000 deliveries in one tick");
    due.clear();
    for (size_t i = 0; i < network_.size(); ++i) {
      // A paused node's messages wait for it (a dead one's are dropped on delivery).
      if (network_[i].deliver_at <= now_ && at(network_[i].message.to).paused_until <= now_) {
        due.push_back(i);
      }
    }
    if (due.empty()) return;
    deliver(due[static_cast<size_t>(uniform(0, static_cast<int>(due.size()) - 1))]);
  }
}

void Simulator::tick_nodes() {
  event(TraceLine::Kind::tick, nullptr, {});
  ++counters_[Counter::ticks];
  // A random order each tick, so no node always gets its timeout in first.
  std::vector<NodeId> order = ids();
  std::shuffle(order.begin(), order.end(), rng_);
  for (NodeId id : order) {
    SimNode& n = at(id);
    if (!n.raft || n.paused_until > now_) continue;
    n.raft->tick();
    drive(n);
  }
  ++now_;
  check_all();
}

void Simulator::block(NodeId from, NodeId to) {
  event("block " + std::to_string(from) + "->" + std::to_string(to));
  blocked_[static_cast<size_t>(from)][static_cast<size_t>(to)] = true;
}

void Simulator::drop_if(std::function<bool(const Message&)> filter) {
  event(filter ? "filter on" : "filter off");
  filter_ = std::move(filter);
}

void Simulator::isolate(NodeId id) { partition({id}); }

void Simulator::partition(const std::vector<NodeId>& side) {
  std::string s;
  for (NodeId id : side) s += " " + std::to_string(id);
  event("partition {" + s + " } | rest");
  for (NodeId a : side) {
    for (NodeId b : ids()) {
      if (std::find(side.begin(), side.end(), b) != side.end()) continue;
      blocked_[static_cast<size_t>(a)][static_cast<size_t>(b)] = true;
      blocked_[static_cast<size_t>(b)][static_cast<size_t>(a)] = true;
    }
  }
}

void Simulator::heal() {
  event("heal");
  for (auto& row : blocked_) std::fill(row.begin(), row.end(), false);
  partition_until_ = -1;
}

void Simulator::random_partition() {
  std::vector<NodeId> order = ids();
  std::shuffle(order.begin(), order.end(), rng_);
  const auto k = static_cast<size_t>(uniform(1, total() - 1));
  const bool one_way = chance(options_.p_one_way);
  std::string a;
  std::string b;
  for (size_t i = 0; i < order.size(); ++i) (i < k ? a : b) += " " + std::to_string(order[i]);
  event("partition {" + a + " } " + (one_way ? "-/->" : "<-/->") + " {" + b + " }");
  for (size_t i = 0; i < k; ++i) {
    for (size_t j = k; j < order.size(); ++j) {
      blocked_[static_cast<size_t>(order[i])][static_cast<size_t>(order[j])] = true;
      if (!one_way) blocked_[static_cast<size_t>(order[j])][static_cast<size_t>(order[i])] = true;
    }
  }
  ++counters_[one_way ? Counter::partitions_one_way : Counter::partitions_symmetric];
  partition_until_ = now_ + uniform(1, options_.partition_ticks);
}

// ---------------------------------------------------------------- manual control

void Simulator::tick(int n) {
  for (int i = 0; i < n; ++i) {
    deliver_due();
    tick_nodes();
  }
}

bool Simulator::run_until(const std::function<bool()>& done, int max_ticks) {
  for (int i = 0; i < max_ticks; ++i) {
    if (done()) return true;
    tick();
  }
  return done();
}

void Simulator::crash(NodeId id) {
  event("crash n" + std::to_string(id));
  SimNode& n = at(id);
  if (n.raft) crash_node(n, "");
  check_all();
}

void Simulator::restart(NodeId id) {
  event("restart n" + std::to_string(id));
  SimNode& n = at(id);
  if (n.raft) return;
  ++counters_[Counter::restarts];
  start_node(n);
  check_all();
}

void Simulator::pause(NodeId id, int ticks) {
  event("pause n" + std::to_string(id) + " for " + std::to_string(ticks) + " ticks");
  SimNode& n = at(id);
  if (n.raft) n.paused_until = now_ + ticks;
}

Result<Index> Simulator::propose(NodeId id, std::string_view payload) {
  event("propose n" + std::to_string(id) + " '" + std::string(payload) + "'");
  SimNode& n = at(id);
  if (!n.raft) return make_error(Errc::not_leader_or_follower, "node is down");
  auto res = n.raft->propose(bytes_of(payload));
  if (res) {
    ++counters_[Counter::proposals_ok];
    note("accepted at " + std::to_string(*res));
  } else {
    ++counters_[Counter::proposals_rejected];
  }
  drive(n);
  check_all();
  return res;
}

Result<void> Simulator::compact(NodeId id) {
  event("compact n" + std::to_string(id));
  SimNode& n = at(id);
  if (!n.raft) return make_error(Errc::invalid_request, "node is down");
  Node& r = *n.raft;
  const Index index = r.applied_index();
  if (index != static_cast<Index>(n.sm.size())) {
    fail("ready contract", "n" + std::to_string(id) + " reports applied " +
                               std::to_string(index) + " but its state machine holds " +
                               std::to_string(n.sm.size()));
  }
  if (index <= r.snapshot().last_index) return {};
  auto res = r.compact(index, encode_applied(n.sm));
  if (!res) return res;
  // The driver owns compaction: it writes the snapshot, then drops the log prefix.
  Store& s = n.store;
  if (r.snapshot().last_index != index || s.term_at(index) != r.snapshot().last_term) {
    fail("ready contract", "n" + std::to_string(id) + " compacts to " +
                               std::to_string(r.snapshot().last_index) + "/" +
                               std::to_string(r.snapshot().last_term) +
                               " which its store does not hold");
  }
  s.entries.erase(s.entries.begin(),
                  s.entries.begin() + static_cast<std::ptrdiff_t>(index - s.snapshot.last_index));
  s.snapshot = r.snapshot();
  ++counters_[Counter::compactions];
  note("n" + std::to_string(id) + " compacted to " + std::to_string(index));
  drive(n);
  check_all();
  return {};
}

// ---------------------------------------------------------------- the seeded run

void Simulator::chaos_step() {
  if (partition_until_ >= 0 && now_ >= partition_until_) {
    heal();
    check_all();
  } else if (partition_until_ < 0 && chance(options_.p_partition)) {
    random_partition();
    check_all();
  }
  int down = 0;
  for (const auto& n : nodes_) down += n.raft ? 0 : 1;
  for (auto& n : nodes_) {
    if (!n.raft && now_ >= n.down_until) restart(n.id);
  }
  if (chance(options_.p_pause)) {
    SimNode& n = at(random_node());
    if (n.raft && n.paused_until <= now_) {
      pause(n.id, uniform(1, 3 * options_.election_ticks));
      ++counters_[Counter::pauses];
    }
  }
  if (down < options_.max_down && chance(options_.p_crash)) {
    const NodeId victim = random_node();
    if (up(victim)) crash(victim);
  }
  if (chance(options_.p_propose)) {
    auto l = leader();
    const NodeId target = l && chance(0.9) ? *l : random_node();
    if (at(target).paused_until <= now_) {  // a stopped process takes no requests
      (void)propose(target, "s" + std::to_string(options_.seed) + "-" +
                                std::to_string(++next_payload_));
    }
  }
  if (options_.compact_after > 0) {
    for (auto& n : nodes_) {
      if (n.raft &&
          n.raft->applied_index() - n.raft->snapshot().last_index >= options_.compact_after &&
          chance(options_.p_compact)) {
        (void)compact(n.id);
      }
    }
  }
  tick();
}

void Simulator::run() {
  while (event_ < static_cast<uint64_t>(options_.chaos_events)) chaos_step();

  // Calm tail: no faults, healed network, everyone up; the cluster must make progress.
  note("---- calm tail");
  calm_ = true;
  heal();
  for (auto& n : nodes_) n.paused_until = 0;
  for (auto& n : nodes_) {
    if (!n.raft) restart(n.id);
  }
  const int64_t start = now_;
  Term probed = -1;
  int probes = 0;
  while (now_ - start < options_.calm_ticks) {
    if (!probe_payload_.empty() && probe_applied_.size() == nodes_.size()) {
      ++counters_[Counter::liveness_checks];
      calm_ticks_used_ = now_ - start;
      for (const auto& n : nodes_) check_log_matching(n, 0);  // once more, over whole logs
      return;
    }
    auto l = leader();
    // A new leader may not have its predecessor's probe; give each leader its own.
    if (l && node(*l).term() != probed) {
      // Set before proposing: a leader may apply it before propose() returns.
      probe_payload_ = "probe" + std::to_string(++probes);
      probe_applied_.clear();
      const Term term = node(*l).term();
      if (propose(*l, probe_payload_)) probed = term;
    }
    if (options_.compact_after > 0) {
      for (auto& n : nodes_) {
        if (n.raft &&
            n.raft->applied_index() - n.raft->snapshot().last_index >= options_.compact_after &&
            chance(options_.p_compact)) {
          (void)compact(n.id);
        }
      }
    }
    tick();
  }
  std::string detail = "no proposal applied on every node within " +
                       std::to_string(options_.calm_ticks) + " calm ticks";
  auto l = leader();
  detail += l ? " (leader n" + std::to_string(*l) + ")" : " (no leader)";
  if (!probe_payload_.empty()) {
    detail += ", '" + probe_payload_ + "' applied on " + std::to_string(probe_applied_.size()) +
              " of " + std::to_string(nodes_.size());
  }
  fail("liveness", detail);
}

RunResult run_seed(uint64_t seed, std::optional<int> nodes, std::optional<int> events,
                   bool verbose, int observers) {
  RunResult out;
  Options options = Options::from_seed(seed, nodes, events);
  options.observers = observers;
  Simulator sim(options);
  sim.set_verbose(verbose);
  out.options = sim.options().describe();
  try {
    sim.run();
  } catch (const InvariantViolation& e) {
    out.ok = false;
    out.failure = e.what();
  }
  out.counters = sim.counters();
  out.events = sim.events();
  out.ticks = sim.now();
  out.calm_ticks_used = sim.calm_ticks_used();
  out.calm_ticks = sim.options().calm_ticks;
  return out;
}

}  // namespace kafkacore::raft::sim
