// The Raft core under the deterministic simulator: readable scenarios first, then the seeded
// runs (every invariant checked after every event; see simulator.h).
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "raft/simulator.h"

namespace kafkacore::raft::sim {
namespace {

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// Elects a leader and returns it once every live node follows it and has applied its no-op.
NodeId elect(Simulator& sim) {
  const bool settled = sim.run_until(
      [&] {
        auto l = sim.leader();
        if (!l) return false;
        for (NodeId id : sim.ids()) {
          if (!sim.up(id)) continue;
          const Node& n = sim.node(id);
          if (n.leader() != *l || n.applied_index() != sim.node(*l).last_index()) return false;
        }
        return true;
      },
      400);
  EXPECT_TRUE(settled);
  return settled ? *sim.leader() : kNoNode;
}

bool applied_everywhere(Simulator& sim, const std::string& payload) {
  for (NodeId id : sim.ids()) {
    if (!sim.up(id) || !contains(sim.applied(id), payload)) return false;
  }
  return true;
}

TEST(RaftScenario, SingleNodeElectsItselfAndCommits) {
  Simulator sim(Options::quiet(1));
  ASSERT_TRUE(sim.run_until([&] { return sim.leader() == 1; }, 50));
  ASSERT_TRUE(sim.propose(1, "x"));
  ASSERT_TRUE(sim.run_until([&] { return sim.applied(1) == std::vector<std::string>{"x"}; }, 5));
  EXPECT_EQ(sim.node(1).commit_index(), 2);  // the leader's no-op, then "x"
}

TEST(RaftScenario, SingleNodeRecoversItsLogAfterCrash) {
  Simulator sim(Options::quiet(1));
  elect(sim);
  ASSERT_TRUE(sim.propose(1, "a"));
  ASSERT_TRUE(sim.run_until([&] { return contains(sim.applied(1), "a"); }, 5));
  sim.crash(1);
  sim.restart(1);
  ASSERT_TRUE(sim.run_until([&] { return sim.leader() == 1; }, 50));
  ASSERT_TRUE(sim.propose(1, "b"));
  ASSERT_TRUE(sim.run_until([&] { return contains(sim.applied(1), "b"); }, 5));
  EXPECT_EQ(sim.applied(1), (std::vector<std::string>{"a", "b"}));
}

TEST(RaftScenario, ThreeNodesElectOneLeaderAndReplicate) {
  Simulator sim(Options::quiet(3));
  const NodeId leader = elect(sim);
  const Term term = sim.node(leader).term();
  for (const char* p : {"a", "b", "c"}) ASSERT_TRUE(sim.propose(leader, p));
  ASSERT_TRUE(sim.run_until([&] { return applied_everywhere(sim, "c"); }, 20));
  for (NodeId id : sim.ids()) {
    EXPECT_EQ(sim.applied(id), (std::vector<std::string>{"a", "b", "c"})) << "node " << id;
    EXPECT_EQ(sim.node(id).term(), term);
    EXPECT_EQ(sim.node(id).leader(), leader);
  }
  // Followers refuse proposals.
  for (NodeId id : sim.ids()) {
    if (id != leader) {
      EXPECT_FALSE(sim.propose(id, "nope"));
    }
  }
}

TEST(RaftScenario, PartitionedLeaderCannotCommitAndStepsDown) {
  Simulator sim(Options::quiet(3));
  const NodeId old = elect(sim);
  const Term old_term = sim.node(old).term();
  ASSERT_TRUE(sim.propose(old, "before"));
  ASSERT_TRUE(sim.run_until([&] { return applied_everywhere(sim, "before"); }, 20));

  sim.isolate(old);
  auto lost = sim.propose(old, "lost");
  ASSERT_TRUE(lost);
  const int e = sim.options().election_ticks;
  // Check-quorum: within an election timeout or two it notices it lost the majority.
  ASSERT_TRUE(sim.run_until([&] { return sim.node(old).role() != Role::leader; }, 2 * e + 1));
  EXPECT_LT(sim.node(old).commit_index(), *lost);
  EXPECT_EQ(sim.node(old).term(), old_term);  // pre-vote: stepping down alone raises no term

  // The majority side elects a newer leader and keeps committing.
  ASSERT_TRUE(sim.run_until(
      [&] { return sim.leader() && *sim.leader() != old; }, 20 * e));
  const NodeId fresh = *sim.leader();
  EXPECT_GT(sim.node(fresh).term(), old_term);
  ASSERT_TRUE(sim.propose(fresh, "after"));
  ASSERT_TRUE(sim.run_until([&] { return contains(sim.applied(fresh), "after"); }, 20));

  // Healed, the old leader drops its uncommitted entry and follows.
  const uint64_t truncations = sim.counters()[Counter::divergent_truncations];
  sim.heal();
  ASSERT_TRUE(sim.run_until([&] { return applied_everywhere(sim, "after"); }, 20 * e));
  EXPECT_EQ(sim.applied(old), (std::vector<std::string>{"before", "after"}));
  EXPECT_GT(sim.counters()[Counter::divergent_truncations], truncations);
  EXPECT_EQ(sim.node(old).leader(), fresh);
}

// Over several seeds (different timeout draws), a node whose log lacks committed entries never
// wins, although it keeps campaigning; the up-to-date nodes reject it.
TEST(RaftScenario, NodeWithStaleLogCannotWin) {
  uint64_t rejections = 0;
  for (uint64_t seed = 1; seed <= 10; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    Simulator sim(Options::quiet(5, seed));
    const NodeId a = elect(sim);
    std::vector<NodeId> others;
    for (NodeId id : sim.ids()) {
      if (id != a) others.push_back(id);
    }
    const NodeId d = others[2];
    const NodeId e = others[3];
    sim.partition({d, e});  // the stale pair
    for (const char* p : {"x", "y", "z"}) ASSERT_TRUE(sim.propose(a, p));
    ASSERT_TRUE(sim.run_until([&] { return contains(sim.applied(others[0]), "z") &&
                                           contains(sim.applied(others[1]), "z"); },
                              50));
    const Term before = sim.node(a).term();
    sim.crash(a);
    sim.heal();
    // 3 of the 4 live nodes must agree, so a winner needs an up-to-date node's vote.
    ASSERT_TRUE(sim.run_until([&] { return sim.leader().has_value(); }, 400));
    const NodeId winner = *sim.leader();
    EXPECT_TRUE(winner == others[0] || winner == others[1]) << "stale n" << winner << " won";
    for (Term t = before + 1; t <= sim.node(winner).term(); ++t) {
      auto l = sim.leader_of_term(t);
      EXPECT_TRUE(!l || (*l != d && *l != e)) << "stale node led term " << t;
    }
    ASSERT_TRUE(sim.run_until([&] { return contains(sim.applied(d), "z"); }, 100));
    rejections += sim.counters()[Counter::pre_vote_rejections] +
                  sim.counters()[Counter::vote_rejections];
  }
  EXPECT_GT(rejections, 0u);
}

TEST(RaftScenario, PreVoteKeepsRejoiningNodeFromDisruptingTheLeader) {
  Simulator sim(Options::quiet(3));
  const NodeId leader = elect(sim);
  const Term term = sim.node(leader).term();
  NodeId loner = leader == 1 ? 2 : 1;
  sim.isolate(loner);
  // Many election timeouts alone: it campaigns, but only in pre-vote, so its term stays put.
  sim.tick(20 * sim.options().election_ticks);
  EXPECT_EQ(sim.node(loner).term(), term);
  EXPECT_NE(sim.node(loner).role(), Role::leader);
  sim.heal();
  ASSERT_TRUE(sim.run_until([&] { return sim.node(loner).leader() == leader; }, 50));
  sim.tick(5 * sim.options().election_ticks);
  EXPECT_EQ(sim.leader(), leader);
  for (NodeId id : sim.ids()) EXPECT_EQ(sim.node(id).term(), term) << "node " << id;
  EXPECT_EQ(sim.counters()[Counter::elections], 1u);
}

TEST(RaftScenario, LaggingFollowerCatchesUpThroughSnapshot) {
  Simulator sim(Options::quiet(3));
  const NodeId leader = elect(sim);
  const NodeId lagging = leader == 1 ? 2 : 1;
  sim.isolate(lagging);
  std::vector<std::string> written;
  for (int i = 0; i < 30; ++i) {
    written.push_back("e" + std::to_string(i));
    ASSERT_TRUE(sim.propose(leader, written.back()));
  }
  ASSERT_TRUE(sim.run_until([&] { return contains(sim.applied(leader), "e29"); }, 50));
  for (NodeId id : sim.ids()) {
    if (id != lagging) {
      ASSERT_TRUE(sim.compact(id));
    }
  }
  const Index compacted = sim.node(leader).snapshot().last_index;
  ASSERT_GT(compacted, 30);
  ASSERT_LT(sim.node(lagging).last_index(), compacted);

  sim.heal();
  ASSERT_TRUE(sim.run_until([&] { return contains(sim.applied(lagging), "e29"); }, 100));
  EXPECT_EQ(sim.applied(lagging), written);
  EXPECT_GE(sim.node(lagging).snapshot().last_index, compacted);
  EXPECT_GE(sim.counters()[Counter::snapshots_installed], 1u);
  // It keeps following with ordinary appends afterwards.
  ASSERT_TRUE(sim.propose(leader, "tail"));
  ASSERT_TRUE(sim.run_until([&] { return applied_everywhere(sim, "tail"); }, 20));
}

TEST(RaftScenario, DivergentUncommittedTailIsTruncatedOnFollower) {
  Simulator sim(Options::quiet(5));
  const NodeId a = elect(sim);
  std::vector<NodeId> rest;
  for (NodeId id : sim.ids()) {
    if (id != a) rest.push_back(id);
  }
  const NodeId b = rest[0];
  // The leader reaches only b: its new entries live on 2 of 5 logs, uncommitted.
  for (size_t i = 1; i < rest.size(); ++i) sim.block(a, rest[i]);
  for (const char* p : {"x1", "x2", "x3"}) ASSERT_TRUE(sim.propose(a, p));
  const Index tail = sim.node(a).last_index();
  ASSERT_TRUE(sim.run_until([&] { return sim.node(b).last_index() == tail; }, 20));
  ASSERT_LT(sim.node(a).commit_index(), tail - 2);

  // The other three elect a leader of their own and commit different entries there.
  sim.partition({a, b});
  ASSERT_TRUE(sim.run_until(
      [&] { return sim.leader() && *sim.leader() != a && *sim.leader() != b; }, 400));
  const NodeId c = *sim.leader();
  ASSERT_TRUE(sim.propose(c, "y"));
  ASSERT_TRUE(sim.run_until([&] { return contains(sim.applied(c), "y"); }, 50));

  const uint64_t truncations = sim.counters()[Counter::divergent_truncations];
  sim.heal();
  ASSERT_TRUE(sim.run_until([&] { return applied_everywhere(sim, "y"); }, 400));
  EXPECT_GT(sim.counters()[Counter::divergent_truncations], truncations);
  for (NodeId id : {a, b}) {
    const auto log = sim.applied(id);
    EXPECT_FALSE(contains(log, "x1") || contains(log, "x2") || contains(log, "x3"));
    EXPECT_EQ(log, sim.applied(c));
  }
}

// Raft §5.4.2 / Figure 8: an entry of an earlier term held by a majority is still not committed
// until an entry of the leader's own term is; a later leader may legitimately overwrite it.
// (A core that committed it by counting replicas fails here, in leader completeness.)
TEST(RaftScenario, EarlierTermEntryIsNotCommittedByCountingReplicas) {
  Options o = Options::quiet(5);
  o.max_entries_per_append = 1;  // one entry per append, so a filter can hold back just one
  Simulator sim(o);
  const NodeId a = elect(sim);
  std::vector<NodeId> rest;
  for (NodeId id : sim.ids()) {
    if (id != a) rest.push_back(id);
  }
  const NodeId b = rest[0];

  // 1. The leader's entry "x" (index i, term t1) reaches only b.
  for (size_t k = 1; k < rest.size(); ++k) sim.block(a, rest[k]);
  const auto x = sim.propose(a, "x");
  ASSERT_TRUE(x);
  const Index i = *x;
  ASSERT_TRUE(sim.run_until([&] { return sim.node(b).last_index() == i; }, 20));

  // 2. It crashes; the other three elect a leader whose own no-op (index i, term t2) goes nowhere.
  sim.crash(a);
  sim.heal();
  sim.isolate(b);
  sim.drop_if([](const Message& m) {
    return std::holds_alternative<AppendRequest>(m.payload) ||
           std::holds_alternative<SnapshotRequest>(m.payload);
  });
  ASSERT_TRUE(sim.run_until([&] { return sim.leader().has_value(); }, 400));
  const NodeId l2 = *sim.leader();
  ASSERT_EQ(sim.node(l2).last_index(), i);
  ASSERT_GT(sim.node(l2).last_term(), sim.node(b).last_term());
  sim.crash(l2);
  sim.tick(3);  // its appends still in flight die under the filter too

  // 3. a returns and a or b leads (term t3); appends carrying its no-op (i + 1) are lost, so "x"
  //    spreads to a majority while nothing of term t3 does.
  sim.heal();
  sim.restart(a);
  sim.drop_if([i](const Message& m) {
    const auto* r = std::get_if<AppendRequest>(&m.payload);
    return r && !r->entries.empty() && r->entries.back().index > i;
  });
  ASSERT_TRUE(sim.run_until([&] { return sim.leader() == a || sim.leader() == b; }, 400));
  const NodeId l3 = *sim.leader();
  const NodeId other = l3 == a ? b : a;
  sim.tick(5 * o.election_ticks);
  ASSERT_EQ(sim.leader(), l3);
  int holding_x = 0;
  for (NodeId id : sim.ids()) {
    if (!sim.up(id)) continue;
    const Entry* e = sim.node(id).entry(i);
    if (e && e->data == sim.node(l3).entry(i)->data) ++holding_x;
    EXPECT_LT(sim.node(id).commit_index(), i) << "node " << id << " committed x by counting";
    EXPECT_FALSE(contains(sim.applied(id), "x"));
  }
  ASSERT_GE(holding_x, 3);

  // 4. Its leader and a dies before the no-op spreads: l2, with the newer term at i, wins and
  //    overwrites "x" everywhere.
  sim.crash(l3);
  sim.crash(other);
  sim.tick(3);
  sim.drop_if(nullptr);
  sim.restart(l2);
  ASSERT_TRUE(sim.run_until([&] { return sim.leader() == l2; }, 400));
  ASSERT_TRUE(sim.propose(l2, "z"));
  sim.restart(l3);
  sim.restart(other);
  ASSERT_TRUE(sim.run_until([&] { return applied_everywhere(sim, "z"); }, 400));
  for (NodeId id : sim.ids()) EXPECT_FALSE(contains(sim.applied(id), "x")) << "node " << id;
}

TEST(RaftSim, SameSeedSameRun) {
  const RunResult first = run_seed(7, std::nullopt, 800);
  const RunResult second = run_seed(7, std::nullopt, 800);
  ASSERT_TRUE(first.ok) << first.failure;
  EXPECT_EQ(first.options, second.options);
  EXPECT_EQ(first.counters.values, second.counters.values);
  EXPECT_EQ(first.ticks, second.ticks);
}

// Seeds excluded from the default set because they expose a known, unfixed core bug (with the
// issue they reproduce). raft_sim --first N --seeds 1 --trace replays one.
const std::set<uint64_t> kKnownBadSeeds = {};

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
// Instrumented builds run many times slower; keep the suite's time bounded there.
const std::optional<int> kEvents = 3000;
#else
const std::optional<int> kEvents = std::nullopt;  // Options::from_seed's default
#endif

TEST(RaftSim, ThousandSeeds) {
  const auto start = std::chrono::steady_clock::now();
  Counters total;
  uint64_t runs = 0;
  for (uint64_t seed = 1; seed <= 1000; ++seed) {
    if (kKnownBadSeeds.count(seed)) continue;
    const RunResult r = run_seed(seed, std::nullopt, kEvents);
    ASSERT_TRUE(r.ok) << r.failure;
    total.add(r.counters);
    ++runs;
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%llu seeded runs in %.1f s\n%s", static_cast<unsigned long long>(runs), seconds,
              total.describe().c_str());
  // Proof that every fault kind and protocol path was actually generated.
  for (size_t i = 0; i < total.values.size(); ++i) {
    EXPECT_GT(total.values[i], 0u) << counter_name(static_cast<Counter>(i)) << " never happened";
  }
}

}  // namespace
}  // namespace kafkacore::raft::sim
