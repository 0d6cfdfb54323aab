// The data-loss and divergence cases that leader epochs exist for (reliability-security.md §1.2
// and §1.7): KIP-101's "HW truncation then election" and "divergence after multiple hard
// failures", KIP-279's fast double failover, and KIP-966's "last replica standing" (one test
// plays the loss KIP-966 prevents). Real Partitions on real logs play the replicas;
// the tests move batches between them as the replica fetcher does and truncate as it does
// (testing::truncate_like_fetcher). Every scenario ends with: nothing that was committed (below
// a leader's HW, so acknowledged to acks=all producers) is lost, and the logs are byte-identical.
#include <gtest/gtest.h>

#include "replica_harness.h"

namespace kafkacore::replication {
namespace {

using testing::fetch;
using testing::fetch_in_epoch;
using testing::Replica;
using testing::state;
using testing::truncate_like_fetcher;

struct DataLossScenarios : testing::ReplicaSetTest {
  static void expect_prefix(const std::vector<std::string>& committed,
                            const std::vector<std::string>& log) {
    ASSERT_GE(log.size(), committed.size());
    for (size_t i = 0; i < committed.size(); ++i) EXPECT_EQ(log[i], committed[i]) << i;
  }
  // The records below `hw` on `r`: what acks=all producers were told is safe.
  static std::vector<std::string> committed(const Replica& r) {
    auto all = r.values();
    all.resize(static_cast<size_t>(r.hw().value()));
    return all;
  }
};

// KIP-101 §1: B fetched m2 but had not yet learned the HW that covers it (HWs travel on the next
// fetch); A acknowledged m2. B restarts. Truncating to its own HW would drop m2, and if A then
// dies and B is elected, the acknowledged m2 is gone. With epochs B never truncates to its HW.
TEST_F(DataLossScenarios, Kip101HighWatermarkTruncationThenElection) {
  auto [a, b] = leader_1_follower_2();
  a.produce("m1");
  a.produce("m2");
  fetch(a, b, now());  // B gets m1, m2; the answer carries HW 0
  EXPECT_EQ(b.leo(), Offset{2});
  // B's next fetch at 2 commits m2 on A, but B restarts before it sees the answer.
  a.p->record_follower_fetch(2, Offset{2}, now());
  EXPECT_EQ(a.hw(), Offset{2});
  const auto acked = committed(a);
  b.restart();
  EXPECT_LT(b.hw(), Offset{2});  // the pre-KIP-101 rule (truncate to HW) would cut m2 here
  // Back as a follower, B truncates by asking the leader, not by its HW: nothing to cut.
  b.p->become_follower(state({1, 2}, {1, 2}, 1, 0, 0));
  truncate_like_fetcher(a, b);
  EXPECT_EQ(b.leo(), Offset{2});
  // A dies; B is elected (it is in the ISR) and keeps serving.
  b.p->become_leader(state({1, 2}, {2}, 2, 1, 1), now());
  expect_prefix(acked, b.values());
  EXPECT_EQ(b.hw(), Offset{2});
  b.produce("m3");
  // A returns as a follower, truncates by epoch and catches up.
  a.restart();
  a.p->become_follower(state({1, 2}, {2}, 2, 1, 1));
  truncate_like_fetcher(b, a);
  fetch(b, a, now());
  fetch(b, a, now());
  expect_prefix(acked, a.values());
  EXPECT_EQ(a.values(), (std::vector<std::string>{"value-m1-0", "value-m2-0", "value-m3-0"}));
  EXPECT_EQ(a.all_bytes(), b.all_bytes());
  EXPECT_EQ(a.hw(), b.hw());
}

// KIP-101 §1, the variant where B is elected straight after its restart, never asking anyone:
// with no HW truncation at startup the acknowledged m2 survives.
TEST_F(DataLossScenarios, Kip101RestartedFollowerElectedAtOnce) {
  auto [a, b] = leader_1_follower_2();
  a.produce("m1");
  a.produce("m2");
  fetch(a, b, now());
  a.p->record_follower_fetch(2, Offset{2}, now());
  const auto acked = committed(a);
  ASSERT_EQ(acked.size(), 2u);
  b.restart();
  b.p->become_leader(state({1, 2}, {2}, 2, 1, 1), now());
  expect_prefix(acked, b.values());
  EXPECT_EQ(b.hw(), Offset{2});
}

// KIP-101 §2: both replicas fail together. A, the leader, had appended m2 that B never got; B is
// elected and writes m3 at the same offset. Truncating to the HW leaves A with m2 and B with m3
// at offset 1, forever divergent. Epochs make A cut back to where epoch 0 ended on B.
TEST_F(DataLossScenarios, Kip101DivergenceAfterMultipleHardFailures) {
  auto [a, b] = leader_1_follower_2();
  a.produce("m1");
  fetch(a, b, now());
  fetch(a, b, now());
  EXPECT_EQ(a.hw(), Offset{1});
  EXPECT_EQ(b.hw(), Offset{1});
  const auto acked = committed(a);
  a.produce("m2");  // not replicated, not acknowledged
  a.restart();
  b.restart();
  // B comes back first and is elected; it writes m3 at offset 1.
  b.p->become_leader(state({1, 2}, {2}, 2, 1, 1), now());
  b.produce("m3");
  EXPECT_EQ(b.hw(), Offset{2});
  a.p->become_follower(state({1, 2}, {2}, 2, 1, 1));
  EXPECT_GE(a.hw(), Offset{1});  // A's HW does not cover m2: yet offset 1 differs on A and B
  EXPECT_NE(a.values()[1], b.values()[1]);
  truncate_like_fetcher(b, a);
  EXPECT_EQ(a.leo(), Offset{1});
  fetch(b, a, now());
  fetch(b, a, now());
  expect_prefix(acked, a.values());
  expect_prefix(committed(b), a.values());
  EXPECT_EQ(a.all_bytes(), b.all_bytes());
}

// The same with an unclean election (B outside the ISR, KIP-101's original telling): A's HW had
// already covered m2, so A would not even truncate to its HW. m2 is lost — the accepted price of
// unclean election — but the logs still converge on B's history.
TEST_F(DataLossScenarios, Kip101DivergenceAfterUncleanElectionConverges) {
  auto [a, b] = leader_1_follower_2();
  a.produce("m1");
  fetch(a, b, now());
  fetch(a, b, now());
  a.p->become_leader(state({1, 2}, {1}, 1, 0, 1), now());  // B shrunk out
  a.produce("m2");
  EXPECT_EQ(a.hw(), Offset{2});
  a.restart();
  b.restart();
  b.p->become_leader(state({1, 2}, {2}, 2, 1, 2), now());
  b.produce("m3");
  a.p->become_follower(state({1, 2}, {2}, 2, 1, 2));
  EXPECT_EQ(a.hw(), Offset{2});
  truncate_like_fetcher(b, a);
  fetch(b, a, now());
  fetch(b, a, now());
  EXPECT_EQ(a.values(), (std::vector<std::string>{"value-m1-0", "value-m3-0"}));
  EXPECT_EQ(a.all_bytes(), b.all_bytes());
}

// KIP-279: A (epoch 0) wrote m1 (replicated, committed) and m2 (not replicated). B led epoch 1
// and wrote m3 at offset 1 that nobody got, then failed fast; A was elected for epoch 2 and
// wrote m4. B returns as follower with latest epoch 1, which A never had. Kafka's first answer
// (the start of the next epoch, 2) let B keep m3 — divergent. The answer (epoch 0, ends at 2)
// plus the follower's own end of epoch 0 (1) cuts m3.
TEST_F(DataLossScenarios, Kip279FastDoubleFailover) {
  auto [a, b] = leader_1_follower_2();
  a.produce("m1");
  fetch(a, b, now());
  fetch(a, b, now());
  const auto acked = committed(a);
  ASSERT_EQ(acked.size(), 1u);
  a.produce("m2");
  // A is cut off; B leads epoch 1 (A still in the ISR, so nothing B writes commits).
  b.p->become_leader(state({1, 2}, {1, 2}, 2, 1, 1), now());
  b.produce("m3");
  EXPECT_EQ(b.hw(), Offset{1});
  // B fails at once; A is elected for epoch 2 without ever following B.
  b.restart();
  a.p->become_leader(state({1, 2}, {1, 2}, 1, 2, 2), now());
  a.produce("m4");
  b.p->become_follower(state({1, 2}, {1, 2}, 1, 2, 2));

  const EpochEndOffset answer = a.p->end_offset_for_epoch(b.p->latest_epoch());
  EXPECT_EQ(answer.epoch, 0);
  EXPECT_EQ(answer.end_offset, Offset{2});
  // Truncating to min(answer, own log end) alone would keep m3 at offset 1.
  EXPECT_EQ(std::min(answer.end_offset, b.leo()), Offset{2});
  truncate_like_fetcher(a, b);
  EXPECT_EQ(b.leo(), Offset{1});
  fetch(a, b, now());
  fetch(a, b, now());
  EXPECT_EQ(b.values(), (std::vector<std::string>{"value-m1-0", "value-m2-0", "value-m4-0"}));
  expect_prefix(acked, b.values());
  EXPECT_EQ(a.all_bytes(), b.all_bytes());
  EXPECT_EQ(a.hw(), Offset{3});
  EXPECT_EQ(b.hw(), Offset{3});
}

// Repeated fast failovers leave the follower with epochs {0, 1, 3} and the leader with
// {0, 2, 4}: truncation takes two rounds (KIP-279's iteration) and keeps the committed prefix.
TEST_F(DataLossScenarios, Kip279RepeatedFailoversNeedSeveralRounds) {
  auto [a, b] = leader_1_follower_2();
  a.produce("x0");
  fetch(a, b, now());
  fetch(a, b, now());
  const auto acked = committed(a);
  ASSERT_EQ(acked.size(), 1u);
  int32_t epoch = 0;
  for (int round = 0; round < 2; ++round) {
    ++epoch;
    a.p->become_follower(state({1, 2}, {1, 2}, 2, epoch, epoch));
    b.p->become_leader(state({1, 2}, {1, 2}, 2, epoch, epoch), now());
    b.produce("b" + std::to_string(epoch));
    ++epoch;
    b.p->become_follower(state({1, 2}, {1, 2}, 1, epoch, epoch));
    a.p->become_leader(state({1, 2}, {1, 2}, 1, epoch, epoch), now());
    a.produce("a" + std::to_string(epoch));
  }
  EXPECT_EQ(a.p->latest_epoch(), 4);
  EXPECT_EQ(b.p->latest_epoch(), 3);
  EXPECT_EQ(a.hw(), Offset{1});  // nothing after x0 ever reached both
  truncate_like_fetcher(a, b);
  EXPECT_EQ(b.leo(), Offset{1});
  fetch(a, b, now());
  fetch(a, b, now());
  expect_prefix(acked, b.values());
  EXPECT_EQ(b.values(), (std::vector<std::string>{"value-x0-0", "value-a2-0", "value-a4-0"}));
  EXPECT_EQ(a.all_bytes(), b.all_bytes());
  EXPECT_EQ(b.hw(), Offset{3});
}

// Three replicas: C misses the end of epoch 0, leads epoch 1 briefly (writing c1 nobody gets),
// then A leads epoch 2 with B following; C shrinks out, returns, truncates c1 away and rejoins.
TEST_F(DataLossScenarios, ThreeReplicasFastFailoverAndRejoin) {
  const int64_t lag = 10'000;
  auto [a, b, c] = leader_1_followers_2_3();
  auto image = [](std::vector<int32_t> isr, int32_t leader, int32_t le, int32_t pe) {
    return state({1, 2, 3}, std::move(isr), leader, le, pe);
  };
  a.produce("m0");
  for (Replica* f : {&b, &c}) fetch(a, *f, now());
  for (Replica* f : {&b, &c}) fetch(a, *f, now());
  EXPECT_EQ(a.hw(), Offset{1});
  a.produce("m1");
  fetch(a, b, now());  // only B gets m1
  // A fails; C is elected for epoch 1, writes c1, fails before anyone fetches.
  c.p->become_leader(image({1, 2, 3}, 3, 1, 1), now());
  c.produce("c1");
  c.restart();
  // A is back and elected for epoch 2; B follows it.
  a.p->become_leader(image({1, 2, 3}, 1, 2, 2), now());
  b.p->become_follower(image({1, 2, 3}, 1, 2, 2));
  truncate_like_fetcher(a, b);
  EXPECT_EQ(b.leo(), Offset{2});  // B's m1 is A's m1: kept
  a.produce("a2");
  clock.advance_ms(lag + 1);
  fetch(a, b, now());
  fetch(a, b, now());
  EXPECT_EQ(a.hw(), Offset{1});  // C, still in the ISR, holds the HW back
  auto wanted = a.p->wanted_isr(now(), lag);
  ASSERT_TRUE(wanted);
  EXPECT_EQ(*wanted, (std::vector<int32_t>{1, 2}));
  a.p->isr_change_requested(*wanted);
  a.p->become_leader(image({1, 2}, 1, 2, 3), now());
  EXPECT_EQ(a.hw(), Offset{3});
  const auto acked = committed(a);
  // C returns as a follower: its epoch 1 is unknown to A, so it cuts c1 and catches up.
  c.p->become_follower(image({1, 2}, 1, 2, 3));
  truncate_like_fetcher(a, c);
  EXPECT_EQ(c.leo(), Offset{1});
  for (int i = 0; i < 3; ++i) fetch(a, c, now());
  EXPECT_EQ(a.p->wanted_isr(now(), lag), (std::vector<int32_t>{1, 2, 3}));
  for (Replica* r : {&a, &b, &c}) expect_prefix(acked, r->values());
  EXPECT_EQ(a.all_bytes(), b.all_bytes());
  EXPECT_EQ(a.all_bytes(), c.all_bytes());
  EXPECT_EQ(c.values(), (std::vector<std::string>{"value-m0-0", "value-m1-0", "value-a2-0"}));
}

// ---- KIP-320: fetchers that missed an epoch change are fenced by the epoch they name.

// A leads epoch 0 with ISR {A, B, C}; A dies and B is elected for epoch 1. C is a zombie that
// never applied the change: it keeps fetching from B naming epoch 0. B fences every such fetch,
// so C neither counts as caught up (B shrinks it out after the lag time) nor holds B's HW
// anywhere wrong; once C learns epoch 1 it truncates, fetches and rejoins.
TEST_F(DataLossScenarios, Kip320ZombieFollowerWithStaleEpochIsFenced) {
  constexpr int64_t lag = 30000;
  auto [a, b, c] = leader_1_followers_2_3();
  a.produce("m0");
  for (int round = 0; round < 3; ++round) {
    for (Replica* f : {&b, &c}) ASSERT_EQ(fetch_in_epoch(a, *f, 0, now()), Errc::none);
  }
  EXPECT_EQ(a.hw(), Offset{1});
  EXPECT_EQ(b.hw(), Offset{1});

  // A dies; B leads epoch 1 with ISR {B, C}. C still believes epoch 0.
  b.p->become_leader(state({1, 2, 3}, {2, 3}, 2, 1, 1), now());
  b.produce("m1");
  EXPECT_EQ(fetch_in_epoch(b, c, 0, now()), Errc::fenced_leader_epoch);
  EXPECT_EQ(c.leo(), Offset{1});  // nothing handed out
  // A fenced fetch is no progress: the HW waits for C to fetch in epoch 1 (KIP-101).
  EXPECT_EQ(b.hw(), Offset{1});
  // A follower ahead of the leader's image is refused too (the leader must catch up first).
  EXPECT_EQ(fetch_in_epoch(b, c, 2, now()), Errc::unknown_leader_epoch);
  EXPECT_EQ(b.hw(), Offset{1});

  // Only fenced fetches for longer than the lag time: C is not caught up and is shrunk out.
  clock.advance_ms(lag + 1);
  EXPECT_EQ(fetch_in_epoch(b, c, 0, now()), Errc::fenced_leader_epoch);
  auto wanted = b.p->wanted_isr(now(), lag);
  ASSERT_TRUE(wanted);
  EXPECT_EQ(*wanted, (std::vector<int32_t>{2}));
  b.p->isr_change_requested(*wanted);
  b.p->become_leader(state({1, 2, 3}, {2}, 2, 1, 2), now());
  EXPECT_EQ(b.hw(), Offset{2});  // the ISR is B alone now: m1 is committed
  const auto acked = committed(b);

  // C applies the new image: with the right epoch it fetches, catches up and rejoins.
  c.p->become_follower(state({1, 2, 3}, {2}, 2, 1, 2));
  truncate_like_fetcher(b, c);
  for (int i = 0; i < 2; ++i) ASSERT_EQ(fetch_in_epoch(b, c, 1, now()), Errc::none);
  EXPECT_EQ(b.p->wanted_isr(now(), lag), (std::vector<int32_t>{2, 3}));
  expect_prefix(acked, c.values());
  EXPECT_EQ(b.all_bytes(), c.all_bytes());
}

// The consumer's side (KIP-320): a consumer read m1..m4 from A (epoch 0; B had been shrunk out,
// so A's HW covered all four). A dies and B is elected uncleanly with m1, m2 only, then writes
// o0, o1 at offsets 2, 3. The consumer, at position 4 with last-seen epoch 0, is fenced when it
// fetches with its old current epoch, and OffsetForLeaderEpoch(epoch 0) on B ends at 2 < 4: its
// position lies past the truncation point, which it can only detect this way (offset 2.. exists on
// B).
TEST_F(DataLossScenarios, Kip320ConsumerPositionPastTruncationIsDetected) {
  auto [a, b] = leader_1_follower_2();
  a.produce("m", 2);
  fetch(a, b, now());
  fetch(a, b, now());
  EXPECT_EQ(a.hw(), Offset{2});
  a.p->become_leader(state({1, 2}, {1}, 1, 0, 1), now());  // B shrunk out
  a.produce("n", 2);
  EXPECT_EQ(a.hw(), Offset{4});
  // The consumer read everything below A's HW; the batches it read carry epoch 0.
  const Offset position = a.hw();
  const int32_t last_seen_epoch = a.p->latest_epoch();
  ASSERT_EQ(last_seen_epoch, 0);

  b.p->become_leader(state({1, 2}, {2}, 2, 1, 2), now());  // unclean: B was not in the ISR
  b.produce("o", 2);
  EXPECT_EQ(b.p->check_leader_epoch(0), Errc::fenced_leader_epoch);
  ASSERT_EQ(b.p->check_leader_epoch(1), Errc::none);
  const EpochEndOffset answer = b.p->end_offset_for_epoch(last_seen_epoch);
  EXPECT_EQ(answer.epoch, 0);
  EXPECT_EQ(answer.end_offset, Offset{2});
  EXPECT_LT(answer.end_offset, position);  // truncation detected: reset to 2, not skip to 4
  EXPECT_EQ(b.leo(), position);  // a plain fetch at 4 would have skipped B's o0, o1 unnoticed
}

// A clean leader change is no truncation: the new leader's end of the consumer's epoch is at or
// past its position, so the consumer goes on where it was.
TEST_F(DataLossScenarios, Kip320CleanLeaderChangeValidatesPosition) {
  auto [a, b] = leader_1_follower_2();
  a.produce("m", 3);
  fetch(a, b, now());
  fetch(a, b, now());
  const Offset position = a.hw();
  ASSERT_EQ(position, Offset{3});
  b.p->become_leader(state({1, 2}, {1, 2}, 2, 1, 1), now());
  b.produce("m4");
  const EpochEndOffset answer = b.p->end_offset_for_epoch(0);
  EXPECT_EQ(answer.epoch, 0);
  EXPECT_EQ(answer.end_offset, position);
  // A consumer that has already seen epoch 1 asks about it: the latest epoch ends at the log end.
  EXPECT_EQ(b.p->end_offset_for_epoch(1).end_offset, b.leo());
  // An epoch newer than the leader's is unknown to it.
  EXPECT_EQ(b.p->end_offset_for_epoch(2).end_offset, Offset{-1});
}

// KIP-966's "last replica standing", the setup both tests below share: RF=3 with
// min.insync.replicas=2. m1 is committed by all three, C (3) drops out, m2 is committed by A
// and B, then B (2) drops out too and A (1) goes on alone with m3 and m4 (acks=1). The
// controller puts B in the ELR (it left an ISR below min.insync.replicas).
struct LastReplicaStanding : DataLossScenarios {
  Replica* a = nullptr;
  Replica* b = nullptr;
  Replica* c = nullptr;
  std::vector<std::string> acked;  // what acks=all producers were told

  void SetUp() override {
    for (int32_t id = 1; id <= 3; ++id) {
      Replica& r = add(id);
      r.min_isr = 2;
      r.p->set_min_insync_replicas(2);
    }
    a = replicas[0].get();
    b = replicas[1].get();
    c = replicas[2].get();
    auto image = [](std::vector<int32_t> isr, int32_t pe) { return state({1, 2, 3}, std::move(isr), 1, 0, pe); };
    a->p->become_leader(image({1, 2, 3}, 0), now());
    b->p->become_follower(image({1, 2, 3}, 0));
    c->p->become_follower(image({1, 2, 3}, 0));
    a->produce("m1");
    for (int i = 0; i < 2; ++i) {
      fetch(*a, *b, now());
      fetch(*a, *c, now());
    }
    ASSERT_EQ(a->hw(), Offset{1});
    a->p->become_leader(image({1, 2}, 1), now());  // C shrunk out
    b->p->become_follower(image({1, 2}, 1));
    a->produce("m2");
    fetch(*a, *b, now());
    fetch(*a, *b, now());
    ASSERT_EQ(a->hw(), Offset{2}) << "two in-sync replicas: m2 commits";
    ASSERT_EQ(b->hw(), Offset{2});
    acked = committed(*a);
    a->p->become_leader(image({1}, 2), now());  // B shrunk out: ISR {1}, ELR {2}
    a->produce("m3");
    a->produce("m4");
  }
};

// KIP-966 part one: with the ISR below min.insync.replicas the high watermark stands still, so
// what A writes alone is never committed (acks=all producers got NOT_ENOUGH_REPLICAS, and
// consumers never saw it): B, out of the ISR, still has every committed record.
TEST_F(LastReplicaStanding, HighWatermarkWaitsForMinIsr) {
  EXPECT_EQ(a->leo(), Offset{4});
  EXPECT_EQ(a->hw(), Offset{2}) << "A alone holds m3 and m4: not committed";
  EXPECT_EQ(committed(*a), acked);
  expect_prefix(acked, b->values());
  // Lowering min.insync.replicas lets it move again (as Kafka: the topic config is live).
  a->p->set_min_insync_replicas(1);
  EXPECT_EQ(a->hw(), Offset{4});
}

// What KIP-966 closes. A crashes and loses its page-cache tail, committed m2 included. Re-
// electing A (the last ISR member, as before KIP-966) makes B truncate by epoch to A's log:
// committed m2 is gone from every replica.
TEST_F(LastReplicaStanding, ReelectingTheLastIsrMemberAfterAnUncleanShutdownLosesCommittedData) {
  a->crash_losing_tail(Offset{1});
  EXPECT_EQ(a->values(), (std::vector<std::string>{"value-m1-0"}));
  a->p->become_leader(state({1, 2, 3}, {1}, 1, 1, 3), now());
  a->produce("m5");
  b->p->become_follower(state({1, 2, 3}, {1}, 1, 1, 3));
  truncate_like_fetcher(*a, *b);
  fetch(*a, *b, now());
  EXPECT_EQ(b->values(), (std::vector<std::string>{"value-m1-0", "value-m5-0"}));
  EXPECT_NE(b->values()[1], acked[1]) << "m2 was acknowledged and is lost everywhere";
}

// The KIP-966 way: A's unclean restart takes it out of the ISR (the controller hears it at
// registration), so B, the ELR member, is elected with ISR {B}. It has every committed record;
// A truncates to B's history and catches up; the HW waits until the ISR is back at two.
TEST_F(LastReplicaStanding, TheElectedElrMemberKeepsEveryCommittedRecord) {
  a->crash_losing_tail(Offset{1});
  auto image = [](std::vector<int32_t> isr, int32_t pe) { return state({1, 2, 3}, std::move(isr), 2, 1, pe); };
  b->p->become_leader(image({2}, 3), now());
  expect_prefix(acked, b->values());
  EXPECT_EQ(b->values().size(), 2u) << "m3 and m4 were never B's: never committed";
  EXPECT_EQ(b->hw(), Offset{2});
  b->produce("m5");
  EXPECT_EQ(b->hw(), Offset{2}) << "ISR {B} is below min.insync.replicas";
  // A returns as a follower: it lost m2, so it fetches it back from B.
  a->p->become_follower(image({2}, 3));
  truncate_like_fetcher(*b, *a);
  for (int i = 0; i < 2; ++i) fetch(*b, *a, now());
  expect_prefix(acked, a->values());
  EXPECT_EQ(a->all_bytes(), b->all_bytes());
  // Caught up: the leader takes A back into the ISR, and m5 commits.
  auto wanted = b->p->wanted_isr(now(), 10'000);
  ASSERT_TRUE(wanted);
  EXPECT_EQ(*wanted, (std::vector<int32_t>{1, 2}));
  b->p->isr_change_requested(*wanted);
  EXPECT_EQ(b->hw(), Offset{2}) << "the requested ISR is not committed yet";
  b->p->become_leader(image(*wanted, 4), now());
  EXPECT_EQ(b->hw(), Offset{3});
  // C, out since m1, catches up too.
  c->p->become_follower(image(*wanted, 4));
  truncate_like_fetcher(*b, *c);
  for (int i = 0; i < 2; ++i) fetch(*b, *c, now());
  EXPECT_EQ(c->values(), (std::vector<std::string>{"value-m1-0", "value-m2-0", "value-m5-0"}));
  EXPECT_EQ(c->all_bytes(), b->all_bytes());
}

}  // namespace
}  // namespace kafkacore::replication
