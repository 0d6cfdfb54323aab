#include "raft/node.h"

#include <algorithm>

namespace kafkacore::raft {

const char* role_name(Role role) {
  switch (role) {
    case Role::follower: return "follower";
    case Role::pre_candidate: return "pre-candidate";
    case Role::candidate: return "candidate";
    case Role::leader: return "leader";
  }
  return "unknown";
}

Node::Node(Config config, RestoredState restored)
    : config_(std::move(config)),
      rng_(config_.seed ^ (static_cast<uint64_t>(config_.id) * 0x9e3779b97f4a7c15ULL)),
      hard_(restored.hard_state),
      persisted_hard_(restored.hard_state),
      snapshot_(std::move(restored.snapshot)),
      log_(std::move(restored.entries)) {
  auto self = std::find(config_.voters.begin(), config_.voters.end(), config_.id);
  if (config_.observer) {
    // An observer is no voter, whatever the list says (the drivers validate the configuration).
    if (self != config_.voters.end()) config_.voters.erase(self);
  } else if (self == config_.voters.end()) {
    config_.voters.push_back(config_.id);
  }
  persisted_index_ = last_index();
  // A persisted commit index may point past what survived (it is written lazily); the snapshot
  // is applied by the driver on restart, so applying resumes after it.
  hard_.commit = std::clamp(hard_.commit, snapshot_.last_index, last_index());
  applied_ = snapshot_.last_index;
  committed_handed_out_ = snapshot_.last_index;
  for (NodeId v : config_.voters) progress_[v] = Progress{};
  reset_election_timer();
  if (config_.observer) announce_observer();  // at once: a starting broker waits on the log
}

bool Node::is_voter(NodeId id) const {
  return std::find(config_.voters.begin(), config_.voters.end(), id) != config_.voters.end();
}

std::vector<NodeId> Node::known_observers() const {
  std::vector<NodeId> out;
  for (const auto& [id, p] : progress_) {
    if (p.observer) out.push_back(id);
  }
  return out;
}

void Node::announce_observer() {
  for (NodeId v : config_.voters) send(v, ObserveRequest{hard_.term, last_index()});
}

// ---------------------------------------------------------------- log

Index Node::last_index() const {
  return log_.empty() ? snapshot_.last_index : log_.back().index;
}

Term Node::last_term() const { return log_.empty() ? snapshot_.last_term : log_.back().term; }

std::optional<Term> Node::term_at(Index index) const {
  if (index == snapshot_.last_index) return snapshot_.last_term;
  if (index < snapshot_.last_index || index > last_index()) return std::nullopt;
  return log_[static_cast<size_t>(index - snapshot_.last_index - 1)].term;
}

const Entry* Node::entry(Index index) const {
  if (index <= snapshot_.last_index || index > last_index()) return nullptr;
  return &log_[static_cast<size_t>(index - snapshot_.last_index - 1)];
}

bool Node::log_up_to_date(Index index, Term term) const {
  return term > last_term() || (term == last_term() && index >= last_index());
}

void Node::append_local(std::vector<Entry> entries) {
  for (auto& e : entries) {
    log_.push_back(e);
    pending_.entries.push_back(std::move(e));
  }
}

void Node::truncate_local(Index from) {
  // Never below the commit index: committed entries are never rewritten.
  log_.resize(static_cast<size_t>(from - snapshot_.last_index - 1));
  // Entries of this Ready not yet persisted are dropped too; the store truncates the rest.
  auto& pe = pending_.entries;
  pe.erase(std::remove_if(pe.begin(), pe.end(), [&](const Entry& e) { return e.index >= from; }),
           pe.end());
  if (!pending_.truncate_from || from < *pending_.truncate_from) pending_.truncate_from = from;
  persisted_index_ = std::min(persisted_index_, from - 1);
}

// ---------------------------------------------------------------- roles

void Node::reset_election_timer() {
  election_elapsed_ = 0;
  std::uniform_int_distribution<int> dist(config_.election_ticks, 2 * config_.election_ticks - 1);
  randomized_timeout_ = dist(rng_);
}

void Node::become_follower(Term term, NodeId leader) {
  if (term > hard_.term) {
    hard_.term = term;
    hard_.voted_for = kNoNode;
  }
  role_ = Role::follower;
  leader_ = leader;
  votes_.clear();
  reset_election_timer();
}

void Node::become_pre_candidate() {
  role_ = Role::pre_candidate;
  leader_ = kNoNode;
  votes_.clear();
  reset_election_timer();
}

void Node::become_candidate() {
  role_ = Role::candidate;
  leader_ = kNoNode;
  hard_.term += 1;
  hard_.voted_for = config_.id;
  votes_.clear();
  reset_election_timer();
}

void Node::become_leader() {
  role_ = Role::leader;
  leader_ = config_.id;
  heartbeat_elapsed_ = 0;
  election_elapsed_ = 0;
  for (auto& [id, p] : progress_) {
    const bool observer = p.observer;
    p = Progress{};
    p.observer = observer;
    p.next = last_index() + 1;
    p.recently_active = id == config_.id;
  }
  progress_[config_.id].match = persisted_index_;
  // A no-op of our own term: entries of earlier terms commit only through it (Raft §5.4.2).
  append_local({Entry{hard_.term, last_index() + 1, {}}});
  if (config_.voters.size() == 1) maybe_commit();
  broadcast_append(true);
}

void Node::campaign(bool pre_vote) {
  if (config_.observer) return;
  if (pre_vote) {
    become_pre_candidate();
  } else {
    become_candidate();
  }
  votes_[config_.id] = true;
  if (static_cast<int>(votes_.size()) >= quorum()) {
    if (pre_vote) return campaign(false);
    return become_leader();
  }
  const Term term = pre_vote ? hard_.term + 1 : hard_.term;
  for (NodeId v : config_.voters) {
    if (v == config_.id) continue;
    send(v, VoteRequest{term, last_index(), last_term(), pre_vote});
  }
}

// ---------------------------------------------------------------- inputs

void Node::tick() {
  if (role_ == Role::leader) {
    ++heartbeat_elapsed_;
    ++election_elapsed_;
    if (election_elapsed_ >= config_.election_ticks) {
      election_elapsed_ = 0;
      int active = 0;
      for (auto it = progress_.begin(); it != progress_.end();) {
        Progress& p = it->second;
        if (p.observer) {
          // Observers never count; one long silent is forgotten so a leader does not heartbeat
          // departed brokers forever (it announces itself again when it comes back).
          p.silent_rounds = p.recently_active ? 0 : p.silent_rounds + 1;
          p.recently_active = false;
          it = p.silent_rounds >= kObserverSilentRounds ? progress_.erase(it) : std::next(it);
          continue;
        }
        if (p.recently_active || it->first == config_.id) ++active;
        p.recently_active = false;
        ++it;
      }
      if (config_.check_quorum && active < quorum()) {
        // Cut off from a majority: stop acting as leader so clients look elsewhere.
        become_follower(hard_.term, kNoNode);
        return;
      }
    }
    if (heartbeat_elapsed_ >= config_.heartbeat_ticks) {
      heartbeat_elapsed_ = 0;
      broadcast_append(true);
    }
    return;
  }
  ++election_elapsed_;
  if (config_.observer) {
    // Never campaigns. A leader silent for an election timeout is forgotten and every voter
    // hears from us again, so whichever leads now (or next) replicates to us.
    if (election_elapsed_ >= config_.election_ticks) {
      election_elapsed_ = 0;
      leader_ = kNoNode;
      announce_observer();
    }
    return;
  }
  if (election_elapsed_ >= randomized_timeout_) campaign(config_.pre_vote);
}

Result<Index> Node::propose(Bytes data) {
  if (role_ != Role::leader) {
    return make_error(Errc::not_leader_or_follower,
                      "node " + std::to_string(config_.id) + " is not the leader");
  }
  const Index index = last_index() + 1;
  append_local({Entry{hard_.term, index, std::move(data)}});
  if (config_.voters.size() == 1) maybe_commit();
  broadcast_append(false);
  return index;
}

Result<void> Node::compact(Index index, Bytes data) {
  if (index <= snapshot_.last_index) return {};
  if (index > applied_) {
    return make_error(Errc::invalid_request, "cannot compact beyond the applied index");
  }
  auto term = term_at(index);
  if (!term) return make_error(Errc::invalid_request, "compaction index is not in the log");
  const size_t drop = static_cast<size_t>(index - snapshot_.last_index);
  log_.erase(log_.begin(), log_.begin() + static_cast<std::ptrdiff_t>(drop));
  snapshot_ = Snapshot{index, *term, std::move(data)};
  return {};
}

void Node::send(NodeId to, Payload payload) {
  pending_.messages.push_back(Message{config_.id, to, std::move(payload)});
}

void Node::step(const Message& m) {
  if (std::holds_alternative<ApplicationMessage>(m.payload)) return;
  if (const auto* observe = std::get_if<ObserveRequest>(&m.payload)) {
    // Outside the term rules: it neither deposes anyone nor is refused as stale.
    return handle_observe(m.from, *observe);
  }
  const Term msg_term = std::visit([](const auto& p) { return p.term; }, m.payload);
  const auto* vote = std::get_if<VoteRequest>(&m.payload);
  const auto* vote_response = std::get_if<VoteResponse>(&m.payload);

  if (msg_term > hard_.term) {
    if (vote) {
      // Leader lease (check-quorum): a voter that heard from a live leader within the minimum
      // election timeout ignores candidates, so a node that was partitioned away cannot
      // depose a healthy leader when it comes back.
      const bool in_lease = config_.check_quorum && leader_ != kNoNode &&
                            election_elapsed_ < config_.election_ticks;
      if (in_lease) return;
    }
    if (vote && vote->pre_vote) {
      // A pre-vote never changes our term.
    } else if (vote_response && vote_response->pre_vote && vote_response->granted) {
      // A granted pre-vote carries the future term; it is not a newer term for us.
    } else {
      const bool from_leader = std::holds_alternative<AppendRequest>(m.payload) ||
                               std::holds_alternative<SnapshotRequest>(m.payload);
      become_follower(msg_term, from_leader ? m.from : kNoNode);
    }
  } else if (msg_term < hard_.term) {
    // Stale. Answer appends so a deposed leader learns the new term; with check-quorum this
    // also lets a partitioned node that raised its term rejoin (etcd does the same).
    if (std::holds_alternative<AppendRequest>(m.payload) ||
        std::holds_alternative<SnapshotRequest>(m.payload)) {
      send(m.from, AppendResponse{hard_.term, false, 0});
    } else if (vote && vote->pre_vote) {
      send(m.from, VoteResponse{hard_.term, false, true});
    }
    return;
  }

  std::visit(
      [&](const auto& p) {
        using T = std::decay_t<decltype(p)>;
        if constexpr (std::is_same_v<T, VoteRequest>) {
          handle_vote_request(m.from, p);
        } else if constexpr (std::is_same_v<T, VoteResponse>) {
          handle_vote_response(m.from, p);
        } else if constexpr (std::is_same_v<T, AppendRequest>) {
          handle_append(m.from, p);
        } else if constexpr (std::is_same_v<T, AppendResponse>) {
          handle_append_response(m.from, p);
        } else if constexpr (std::is_same_v<T, SnapshotRequest>) {
          handle_snapshot(m.from, p);
        } else if constexpr (std::is_same_v<T, SnapshotResponse>) {
          handle_snapshot_response(m.from, p);
        }  // ApplicationMessage: not ours (the driver routes them before step); ObserveRequest: above
      },
      m.payload);
}

// ---------------------------------------------------------------- elections

void Node::handle_vote_request(NodeId from, const VoteRequest& r) {
  if (config_.observer) {
    // Only a misconfigured peer asks an observer; it never grants.
    send(from, VoteResponse{hard_.term, false, r.pre_vote});
    return;
  }
  if (r.pre_vote) {
    // Would we vote for it in term r.term? Only if its log is as good as ours and we have not
    // heard from a leader lately.
    const bool grant = r.term > hard_.term && log_up_to_date(r.last_index, r.last_term) &&
                       (leader_ == kNoNode || election_elapsed_ >= config_.election_ticks);
    send(from, VoteResponse{grant ? r.term : hard_.term, grant, true});
    return;
  }
  const bool can_vote = hard_.voted_for == kNoNode || hard_.voted_for == from;
  const bool grant = r.term == hard_.term && can_vote && log_up_to_date(r.last_index, r.last_term);
  if (grant) {
    hard_.voted_for = from;
    reset_election_timer();
  }
  send(from, VoteResponse{hard_.term, grant, false});
}

void Node::handle_vote_response(NodeId from, const VoteResponse& r) {
  const bool expected = r.pre_vote ? role_ == Role::pre_candidate : role_ == Role::candidate;
  if (!expected) return;
  votes_[from] = r.granted;
  int granted = 0;
  int rejected = 0;
  for (const auto& [id, g] : votes_) (g ? granted : rejected)++;
  if (granted >= quorum()) {
    if (r.pre_vote) {
      campaign(false);
    } else {
      become_leader();
    }
  } else if (rejected >= quorum()) {
    become_follower(hard_.term, kNoNode);
  }
}

// ---------------------------------------------------------------- replication

void Node::send_append(NodeId to, bool allow_empty) {
  Progress& p = progress_[to];
  if (p.next <= snapshot_.last_index) {
    // The entries it needs are compacted away: send the snapshot (once until answered).
    if (p.snapshot_in_flight && !allow_empty) return;
    p.snapshot_in_flight = true;
    send(to, SnapshotRequest{hard_.term, snapshot_});
    return;
  }
  const Index prev = p.next - 1;
  auto prev_term = term_at(prev);
  if (!prev_term) return;  // cannot happen: prev >= snapshot index
  AppendRequest r;
  r.term = hard_.term;
  r.prev_index = prev;
  r.prev_term = *prev_term;
  r.commit = hard_.commit;
  for (Index i = p.next; i <= last_index() && r.entries.size() < config_.max_entries_per_append; ++i) {
    r.entries.push_back(*entry(i));
  }
  if (r.entries.empty() && !allow_empty) return;
  if (!r.entries.empty()) p.next = r.entries.back().index + 1;  // optimistic pipelining
  send(to, std::move(r));
}

void Node::broadcast_append(bool allow_empty) {
  // Voters and the observers that announced themselves.
  for (auto& [id, p] : progress_) {
    if (id != config_.id) send_append(id, allow_empty);
  }
}

void Node::handle_observe(NodeId from, const ObserveRequest& r) {
  if (config_.observer || from == config_.id || is_voter(from)) return;
  Progress& p = progress_[from];
  p.observer = true;
  p.recently_active = true;
  p.silent_rounds = 0;
  if (role_ != Role::leader) return;  // remembered: replicated to if we come to lead
  // Start from its log end (it may have restarted, or hold a stale tail: the usual consistency
  // check walks back from there, or a snapshot covers it).
  p.match = 0;
  p.next = std::clamp(r.last_index + 1, Index{1}, last_index() + 1);
  p.snapshot_in_flight = false;
  send_append(from, true);
}

void Node::handle_append(NodeId from, const AppendRequest& r) {
  if (role_ != Role::follower || leader_ != from) become_follower(hard_.term, from);
  election_elapsed_ = 0;
  if (r.prev_index < hard_.commit) {
    // Everything up to our commit index matches the leader's log (Log Matching): skip that part.
    std::vector<Entry> rest;
    for (const auto& e : r.entries) {
      if (e.index > hard_.commit) rest.push_back(e);
    }
    if (!rest.empty() && rest.front().index != hard_.commit + 1) {
      send(from, AppendResponse{hard_.term, true, hard_.commit});
      return;
    }
    AppendRequest trimmed{r.term, hard_.commit, *term_at(hard_.commit), std::move(rest), r.commit};
    return handle_append(from, trimmed);
  }
  auto local_prev = term_at(r.prev_index);
  if (!local_prev || *local_prev != r.prev_term) {
    // Tell the leader where to retry: our end if we are short, else before the conflicting term.
    Index hint = std::min(last_index(), r.prev_index - 1);
    if (local_prev) {
      const Term conflicting = *local_prev;
      while (hint > hard_.commit && term_at(hint) && *term_at(hint) == conflicting) --hint;
    }
    send(from, AppendResponse{hard_.term, false, std::max(hint, hard_.commit)});
    return;
  }
  std::vector<Entry> fresh;
  for (const auto& e : r.entries) {
    if (!fresh.empty()) {
      fresh.push_back(e);
      continue;
    }
    auto existing = term_at(e.index);
    if (existing && *existing == e.term) continue;  // already have it
    if (existing) truncate_local(e.index);          // divergent tail (never committed)
    fresh.push_back(e);
  }
  append_local(std::move(fresh));
  const Index matched = r.prev_index + static_cast<Index>(r.entries.size());
  set_commit(std::min(r.commit, matched));
  send(from, AppendResponse{hard_.term, true, matched});
}

void Node::handle_append_response(NodeId from, const AppendResponse& r) {
  if (role_ != Role::leader) return;
  auto it = progress_.find(from);
  if (it == progress_.end()) return;
  Progress& p = it->second;
  p.recently_active = true;
  if (r.success) {
    if (r.index > p.match) {
      p.match = r.index;
      p.snapshot_in_flight = false;
      maybe_commit();
    }
    p.next = std::max(p.next, p.match + 1);
    if (p.next <= last_index()) send_append(from, false);
    return;
  }
  // Retry from the follower's hint, never below what it already matched.
  p.next = std::max(p.match + 1, std::min(p.next - 1, r.index + 1));
  p.snapshot_in_flight = false;
  send_append(from, true);
}

void Node::handle_snapshot(NodeId from, const SnapshotRequest& r) {
  if (role_ != Role::follower || leader_ != from) become_follower(hard_.term, from);
  election_elapsed_ = 0;
  const Snapshot& s = r.snapshot;
  if (s.last_index <= hard_.commit) {
    send(from, SnapshotResponse{hard_.term, hard_.commit});
    return;
  }
  auto local = term_at(s.last_index);
  if (local && *local == s.last_term) {
    // We already have the entries: keep the log, just commit up to the snapshot.
    set_commit(s.last_index);
    send(from, SnapshotResponse{hard_.term, s.last_index});
    return;
  }
  log_.clear();
  pending_.entries.clear();
  pending_.truncate_from.reset();
  snapshot_ = s;
  pending_.snapshot = s;
  pending_.apply_snapshot = s;
  persisted_index_ = std::min(persisted_index_, s.last_index);
  hard_.commit = s.last_index;
  applied_ = s.last_index;
  committed_handed_out_ = s.last_index;
  pending_.committed.clear();
  send(from, SnapshotResponse{hard_.term, s.last_index});
}

void Node::handle_snapshot_response(NodeId from, const SnapshotResponse& r) {
  if (role_ != Role::leader) return;
  auto it = progress_.find(from);
  if (it == progress_.end()) return;
  Progress& p = it->second;
  p.recently_active = true;
  p.snapshot_in_flight = false;
  if (r.last_index > p.match) p.match = r.last_index;
  p.next = std::max(p.next, p.match + 1);
  maybe_commit();
  if (p.next <= last_index()) send_append(from, false);
}

void Node::maybe_commit() {
  std::vector<Index> matches;
  for (NodeId v : config_.voters) {
    matches.push_back(v == config_.id ? persisted_index_ : progress_[v].match);
  }
  std::sort(matches.begin(), matches.end(), std::greater<>());
  const Index candidate = matches[static_cast<size_t>(quorum() - 1)];
  // Only entries of the current term commit by counting replicas (Raft §5.4.2).
  if (candidate > hard_.commit && term_at(candidate) == hard_.term) {
    set_commit(candidate);
    broadcast_append(true);  // followers learn the new commit index promptly
  }
}

void Node::set_commit(Index commit) {
  if (commit <= hard_.commit) return;
  hard_.commit = std::min(commit, last_index());
}

// ---------------------------------------------------------------- outputs

bool Node::has_ready() const {
  return !pending_.empty() || hard_ != persisted_hard_ ||
         committed_handed_out_ < std::min(hard_.commit, persisted_index_);
}

Ready Node::ready() {
  Ready out = std::move(pending_);
  pending_ = Ready{};
  if (hard_ != persisted_hard_) out.hard_state = hard_;
  // Committed entries go out once this node has them durably (they are in this Ready's
  // persistence at the latest).
  const Index durable_after = out.entries.empty() ? persisted_index_ : out.entries.back().index;
  const Index up_to = std::min(hard_.commit, std::max(durable_after, persisted_index_));
  for (Index i = committed_handed_out_ + 1; i <= up_to; ++i) {
    const Entry* e = entry(i);
    if (!e) break;
    out.committed.push_back(*e);
  }
  if (!out.committed.empty()) committed_handed_out_ = out.committed.back().index;
  return out;
}

void Node::advance(const Ready& ready) {
  if (ready.hard_state) persisted_hard_ = *ready.hard_state;
  if (ready.snapshot) persisted_index_ = std::max(persisted_index_, ready.snapshot->last_index);
  if (!ready.entries.empty()) {
    // Only what is still in the log counts (a later truncation may have removed some).
    const Index last = std::min(ready.entries.back().index, last_index());
    persisted_index_ = std::max(persisted_index_, last);
  }
  if (!ready.committed.empty()) applied_ = ready.committed.back().index;
  if (ready.apply_snapshot) applied_ = std::max(applied_, ready.apply_snapshot->last_index);
  if (role_ == Role::leader) {
    progress_[config_.id].match = persisted_index_;
    maybe_commit();
  }
}

}  // namespace kafkacore::raft
