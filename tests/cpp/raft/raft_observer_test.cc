// Observers (non-voting followers, KRaft's broker-only nodes) under the deterministic simulator:
// they follow the log and catch up (appends, snapshots, after partitions and restarts) but never
// vote, lead or count towards a quorum. Every scenario runs with all of the simulator's
// invariants checked after each event, including its observer and commit-quorum checks.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "raft/simulator.h"

namespace kafkacore::raft::sim {
namespace {

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

Options with_observers(int voters, int observers, uint64_t seed = 1) {
  Options o = Options::quiet(voters, seed);
  o.observers = observers;
  return o;
}

std::vector<NodeId> observer_ids(const Simulator& sim) {
  std::vector<NodeId> out;
  for (NodeId id : sim.ids()) {
    if (id > sim.options().nodes) out.push_back(id);
  }
  return out;
}

// A leader that every live node (observers included) follows and has caught up with.
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

// On every live node.
bool applied_everywhere(Simulator& sim, const std::string& payload) {
  for (NodeId id : sim.ids()) {
    if (sim.up(id) && !contains(sim.applied(id), payload)) return false;
  }
  return true;
}

TEST(RaftObserver, FollowsTheLogWithoutVoting) {
  Simulator sim(with_observers(3, 2));
  const NodeId leader = elect(sim);
  ASSERT_LE(leader, 3) << "only voters lead";
  for (const char* p : {"a", "b", "c"}) ASSERT_TRUE(sim.propose(leader, p));
  ASSERT_TRUE(sim.run_until([&] { return applied_everywhere(sim, "c"); }, 20));
  for (NodeId id : observer_ids(sim)) {
    const Node& n = sim.node(id);
    EXPECT_TRUE(n.observer());
    EXPECT_EQ(n.role(), Role::follower);
    EXPECT_EQ(n.leader(), leader);
    EXPECT_EQ(n.term(), sim.node(leader).term());
    EXPECT_EQ(sim.applied(id), (std::vector<std::string>{"a", "b", "c"}));
    // Observers refuse proposals like followers.
    EXPECT_FALSE(sim.propose(id, "refused"));
  }
  EXPECT_EQ(sim.node(leader).known_observers(), (std::vector<NodeId>{4, 5}));

  // The leader dies: only voters campaign; the observers follow whoever wins.
  sim.crash(leader);
  ASSERT_TRUE(sim.run_until([&] { return sim.leader().has_value(); }, 400));
  const NodeId next = *sim.leader();
  ASSERT_LE(next, 3);
  ASSERT_TRUE(sim.propose(next, "d"));
  ASSERT_TRUE(sim.run_until([&] { return applied_everywhere(sim, "d"); }, 100));
  for (NodeId id : observer_ids(sim)) EXPECT_EQ(sim.node(id).leader(), next);
  // No vote ever went to or came from an observer (the simulator fails the run otherwise), and
  // every term was led by a voter.
  for (Term t = 1; t <= sim.node(next).term(); ++t) {
    if (auto l = sim.leader_of_term(t)) {
      EXPECT_LE(*l, 3) << "term " << t;
    }
  }
}

TEST(RaftObserver, ObserversNeitherCommitNorKeepALeaderAlone) {
  // One voter cut off from the other voters keeps both observers: their acks must not commit
  // its entries, and check-quorum must depose it even though the observers answer.
  Simulator sim(with_observers(3, 2));
  const NodeId leader = elect(sim);
  for (NodeId v : sim.voter_ids()) {
    if (v == leader) continue;
    sim.block(leader, v);
    sim.block(v, leader);
  }
  const Index before = sim.node(leader).commit_index();
  ASSERT_TRUE(sim.propose(leader, "lonely"));
  // The observers receive the entry (it is in their logs) but nobody commits it.
  ASSERT_TRUE(sim.run_until(
      [&] {
        for (NodeId id : observer_ids(sim)) {
          if (sim.node(id).last_index() <= before) return false;
        }
        return true;
      },
      20));
  bool stepped_down = false;
  for (int i = 0; i < 4 * sim.options().election_ticks; ++i) {
    sim.tick();
    for (NodeId id : sim.ids()) {
      ASSERT_FALSE(contains(sim.applied(id), "lonely")) << "node " << id;
    }
    EXPECT_EQ(sim.node(leader).commit_index(), before);
    if (sim.node(leader).role() != Role::leader) stepped_down = true;
  }
  EXPECT_TRUE(stepped_down) << "observers kept a leader without a voter majority in office";
  // Healed, the cluster carries on and the observers follow.
  sim.heal();
  const NodeId again = elect(sim);
  ASSERT_TRUE(sim.propose(again, "after"));
  ASSERT_TRUE(sim.run_until([&] { return applied_everywhere(sim, "after"); }, 100));
}

TEST(RaftObserver, CatchesUpThroughSnapshotAfterRestart) {
  Simulator sim(with_observers(3, 1));
  const NodeId leader = elect(sim);
  const NodeId observer = 4;
  ASSERT_TRUE(sim.propose(leader, "first"));
  ASSERT_TRUE(sim.run_until([&] { return applied_everywhere(sim, "first"); }, 20));
  sim.crash(observer);
  std::vector<std::string> written{"first"};
  for (int i = 0; i < 30; ++i) {
    written.push_back("e" + std::to_string(i));
    ASSERT_TRUE(sim.propose(leader, written.back()));
  }
  ASSERT_TRUE(sim.run_until(
      [&] {
        for (NodeId v : sim.voter_ids()) {
          if (!contains(sim.applied(v), "e29")) return false;
        }
        return true;
      },
      50));
  for (NodeId v : sim.voter_ids()) ASSERT_TRUE(sim.compact(v));
  const Index compacted = sim.node(leader).snapshot().last_index;
  ASSERT_GT(compacted, 30);

  sim.restart(observer);
  ASSERT_TRUE(sim.run_until([&] { return contains(sim.applied(observer), "e29"); }, 100));
  EXPECT_EQ(sim.applied(observer), written);
  EXPECT_GE(sim.node(observer).snapshot().last_index, compacted);
  EXPECT_GE(sim.counters()[Counter::snapshots_installed], 1u);
  // It compacts its own log too, and keeps following with plain appends.
  ASSERT_TRUE(sim.propose(leader, "tail"));
  ASSERT_TRUE(sim.run_until([&] { return applied_everywhere(sim, "tail"); }, 20));
  ASSERT_TRUE(sim.compact(observer));
  EXPECT_EQ(sim.node(observer).snapshot().last_index, sim.node(observer).applied_index());
}

TEST(RaftObserver, SilentObserverIsForgottenAndRejoinsAfterAPartition) {
  Simulator sim(with_observers(3, 1));
  const NodeId leader = elect(sim);
  const NodeId observer = 4;
  sim.isolate(observer);
  ASSERT_TRUE(sim.propose(leader, "while-away"));
  // After a few silent election timeouts the leader stops replicating to it.
  ASSERT_TRUE(sim.run_until([&] { return sim.node(leader).known_observers().empty(); },
                            10 * sim.options().election_ticks));
  EXPECT_EQ(sim.node(observer).leader(), kNoNode);  // it lost the leader too
  // Meanwhile leadership moves: the new leader learns of the observer when it re-announces.
  sim.crash(leader);
  ASSERT_TRUE(sim.run_until([&] { return sim.leader().has_value(); }, 400));
  const NodeId next = *sim.leader();
  ASSERT_TRUE(sim.propose(next, "new-leader"));
  sim.heal();
  sim.restart(leader);
  ASSERT_TRUE(sim.run_until([&] { return applied_everywhere(sim, "new-leader"); }, 200));
  EXPECT_TRUE(contains(sim.applied(observer), "while-away"));
  EXPECT_EQ(sim.node(observer).leader(), next);
}

// Seeded fault runs (crashes, partitions, drops, pauses, compaction) with one or two observers:
// every invariant after every event, and the calm tail needs the observers caught up too.
TEST(RaftObserver, SeededRuns) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  const int events = 1500;
#else
  const int events = 6000;
#endif
  const auto start = std::chrono::steady_clock::now();
  Counters total;
  for (uint64_t seed = 1; seed <= 200; ++seed) {
    const RunResult r = run_seed(seed, std::nullopt, events, false, 1 + static_cast<int>(seed % 2));
    ASSERT_TRUE(r.ok) << r.failure;
    total.add(r.counters);
  }
  std::printf("200 seeded runs with observers in %.1f s\n",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  EXPECT_GT(total[Counter::snapshots_installed], 0u);
  EXPECT_GT(total[Counter::crashes], 0u);
  EXPECT_GT(total[Counter::partitions_symmetric], 0u);
  EXPECT_GT(total[Counter::liveness_checks], 0u);
}

}  // namespace
}  // namespace kafkacore::raft::sim
