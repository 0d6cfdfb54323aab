#include "replication/partition.h"

#include <gtest/gtest.h>

#include <fstream>

#include "replication/leader_epoch_cache.h"
#include "replica_harness.h"

namespace kafkacore::replication {
namespace {

using testing::fetch;
using testing::Replica;
using testing::state;

struct PartitionTest : testing::ReplicaSetTest {};

TEST_F(PartitionTest, LegacyPartitionLeadsAloneAndItsHwIsTheLogEnd) {
  Replica& r = add(-1, /*legacy=*/true);
  EXPECT_TRUE(r.p->is_leader());
  EXPECT_EQ(r.p->leader_epoch(), LeaderEpoch{0});
  EXPECT_EQ(r.p->isr_size(), 1);
  int fired = 0;
  r.p->watch_appends([&] { ++fired; });
  for (int i = 0; i < 3; ++i) {
    auto out = r.produce("a" + std::to_string(i), 2);
    EXPECT_EQ(out.append.first_offset, Offset{2 * i});
    EXPECT_EQ(r.hw(), r.leo());
  }
  EXPECT_EQ(fired, 3);
  Errc got = Errc::unknown_server_error;
  r.p->wait_for_high_watermark(Offset{5}, [&](Errc e) { got = e; });
  EXPECT_EQ(got, Errc::none);
  // Images do not apply to a partition without a broker id.
  r.p->become_follower(state({1, 2}, {1, 2}, 2, 3, 1));
  EXPECT_TRUE(r.p->is_leader());
  EXPECT_EQ(r.p->latest_epoch(), 0);
  EXPECT_EQ(r.p->end_offset_for_epoch(0).end_offset, Offset{6});
  // Reopened (as the broker does after a restart), the HW is the log end again.
  r.p.reset();
  r.p = std::make_unique<Partition>("t", 0, Uuid{}, r.log.get());
  EXPECT_EQ(r.hw(), Offset{6});
}

TEST_F(PartitionTest, HwAdvancesOnlyWhenEveryIsrMemberFetchedPast) {
  auto [a, b, c] = leader_1_followers_2_3({1, 2, 3}, 1, 1);
  EXPECT_TRUE(a.p->is_leader());
  EXPECT_FALSE(b.p->is_leader());
  EXPECT_EQ(a.p->leader_id(), 1);
  int advanced = 0;
  a.p->watch_appends([&] { ++advanced; });
  a.produce("x", 3);
  a.produce("y", 2);
  EXPECT_EQ(advanced, 2);
  EXPECT_EQ(a.hw(), Offset{0});
  fetch(a, b, now());  // b fetches at 0: nothing committed yet
  EXPECT_EQ(a.hw(), Offset{0});
  fetch(a, c, now());
  EXPECT_EQ(a.hw(), Offset{0});
  fetch(a, b, now());  // b reports 5, c still 0
  EXPECT_EQ(a.hw(), Offset{0});
  EXPECT_EQ(b.hw(), Offset{0});
  const int before = advanced;
  c.p->update_high_watermark_from_leader(Offset{0});
  a.p->record_follower_fetch(3, Offset{3}, now());  // c has 3 of 5
  EXPECT_EQ(a.hw(), Offset{3});
  EXPECT_EQ(advanced, before + 1);  // HW advance wakes watchers
  fetch(a, c, now());  // c reports 5
  EXPECT_EQ(a.hw(), Offset{5});
  EXPECT_EQ(c.hw(), Offset{5});
  fetch(a, b, now());
  EXPECT_EQ(b.hw(), Offset{5});
  // The HW never goes back on the leader, even if a follower reports less.
  a.p->record_follower_fetch(2, Offset{1}, now());
  EXPECT_EQ(a.hw(), Offset{5});
  // Replicas outside the assignment are ignored.
  a.p->record_follower_fetch(9, Offset{0}, now());
  EXPECT_EQ(a.hw(), Offset{5});
  EXPECT_EQ(a.values(), b.values());
  EXPECT_EQ(a.all_bytes(), c.all_bytes());
}

TEST_F(PartitionTest, SingleMemberIsrCommitsOnAppend) {
  Replica& a = add(1);
  a.p->become_leader(state({1, 2}, {1}, 1, 0, 0), now());
  a.produce("x", 4);
  EXPECT_EQ(a.hw(), Offset{4});
}

TEST_F(PartitionTest, NewLeaderEpochWaitsForFollowersToFetchInIt) {
  auto [a, b] = leader_1_follower_2();
  a.produce("x", 2);
  fetch(a, b, now());
  fetch(a, b, now());
  EXPECT_EQ(a.hw(), Offset{2});
  // The same image again changes nothing.
  a.p->become_leader(state({1, 2}, {1, 2}, 1, 0, 0), now());
  EXPECT_EQ(a.hw(), Offset{2});
  // A new epoch: b's progress is unknown, the HW stays until it fetches in this epoch.
  a.p->become_leader(state({1, 2}, {1, 2}, 1, 1, 1), now());
  EXPECT_EQ(a.p->leader_epoch(), LeaderEpoch{1});
  EXPECT_EQ(a.p->latest_epoch(), 1);
  EXPECT_EQ(a.p->end_offset_for_epoch(0).end_offset, Offset{2});
  a.produce("y", 1);
  EXPECT_EQ(a.hw(), Offset{2});
  fetch(a, b, now());
  EXPECT_EQ(a.hw(), Offset{2});
  fetch(a, b, now());
  EXPECT_EQ(a.hw(), Offset{3});
  // An older partition epoch in the same leader epoch is stale too.
  a.p->become_leader(state({1, 2}, {1}, 1, 1, 0), now());
  EXPECT_EQ(a.p->isr_size(), 2);
  // A stale image (older leader epoch) is ignored.
  a.p->become_follower(state({1, 2}, {1, 2}, 2, 0, 0));
  EXPECT_TRUE(a.p->is_leader());
}

TEST_F(PartitionTest, AcksAllWaitsCompleteOrFailOnLeadershipLoss) {
  auto [a, b] = leader_1_follower_2();
  auto first = a.produce("x", 2);
  std::vector<Errc> done;
  a.p->wait_for_high_watermark(first.append.last_offset, [&](Errc e) { done.push_back(e); });
  auto second = a.produce("y", 2);
  a.p->wait_for_high_watermark(second.append.last_offset, [&](Errc e) { done.push_back(e); });
  const uint64_t cancelled =
      a.p->wait_for_high_watermark(second.append.last_offset, [&](Errc e) { done.push_back(e); });
  a.p->cancel_wait(cancelled);
  EXPECT_TRUE(done.empty());
  fetch(a, b, now());
  EXPECT_TRUE(done.empty());
  a.p->record_follower_fetch(2, Offset{2}, now());  // HW 2: the first wait (last offset 1) is done
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0], Errc::none);
  a.p->record_follower_fetch(2, Offset{3}, now());  // HW 3 does not cover offset 3
  EXPECT_EQ(done.size(), 1u);
  // Leadership moves before b gets offset 3: the second wait fails, the cancelled one is gone.
  a.p->become_follower(state({1, 2}, {2}, 2, 1, 1));
  ASSERT_EQ(done.size(), 2u);
  EXPECT_EQ(done[1], Errc::not_leader_or_follower);
  // A follower refuses waits and producer appends.
  a.p->wait_for_high_watermark(Offset{0}, [&](Errc e) { done.push_back(e); });
  EXPECT_EQ(done.back(), Errc::not_leader_or_follower);
  Bytes batch = testing::make_batch("z", 1);
  auto refused = a.p->append_from_producer(batch);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code(), Errc::not_leader_or_follower);
}

TEST_F(PartitionTest, IsrShrinksAfterLagAndExpandsAfterCatchUp) {
  const int64_t lag = 10'000;
  auto [a, b, c] = leader_1_followers_2_3();
  EXPECT_EQ(a.p->wanted_isr(now(), lag), std::nullopt);
  // b fetches steadily while producers keep appending; c is stuck (never fetches).
  for (int i = 0; i < 300; ++i) {
    a.produce("m" + std::to_string(i));
    clock.advance_ms(100);
    fetch(a, b, now());
  }
  EXPECT_EQ(a.p->wanted_isr(now(), lag), (std::vector<int32_t>{1, 2}));
  EXPECT_EQ(a.p->wanted_isr(now(), 60'000), std::nullopt);  // within a longer lag window
  // The controller accepts the shrink: a new image with the same leader epoch.
  a.p->isr_change_requested({1, 2});
  EXPECT_EQ(a.p->wanted_isr(now(), lag), std::nullopt);  // nothing while pending
  a.p->become_leader(state({1, 2, 3}, {1, 2}, 1, 0, 1), now());
  EXPECT_EQ(a.p->isr_size(), 2);
  EXPECT_EQ(a.p->wanted_isr(now(), lag), std::nullopt);
  const Offset hw = a.hw();
  // c fetches but is still behind the HW: not yet eligible.
  a.p->record_follower_fetch(3, Offset{0}, now());
  EXPECT_EQ(a.p->wanted_isr(now(), lag), std::nullopt);
  for (int i = 0; i < 3; ++i) fetch(a, c, now());
  EXPECT_GE(c.leo(), hw);
  EXPECT_EQ(a.p->wanted_isr(now(), lag), (std::vector<int32_t>{1, 2, 3}));
  // A follower at the log end is in sync however long ago it last caught up (idle partition).
  clock.advance_ms(60'000);
  fetch(a, b, now());
  EXPECT_EQ(a.p->wanted_isr(now() + 60'000, lag), (std::vector<int32_t>{1, 2, 3}));
}

TEST_F(PartitionTest, SteadyFollowerIsNeverShrunkButALaggingOneIs) {
  const int64_t lag = 10'000;
  auto [a, b, c] = leader_1_followers_2_3();
  // b always fetches right after an append (never at the log end at fetch time), c fetches
  // but only ever gets half of what is new.
  for (int i = 0; i < 600; ++i) {
    a.produce("m" + std::to_string(i));
    clock.advance_ms(50);
    fetch(a, b, now());
    a.p->record_follower_fetch(3, Offset{(a.leo().value()) / 2}, now());
    auto wanted = a.p->wanted_isr(now(), lag);
    if (i * 50 < lag) {
      EXPECT_EQ(wanted, std::nullopt) << i;
    } else if (wanted) {
      EXPECT_EQ(*wanted, (std::vector<int32_t>{1, 2})) << i;
    }
  }
  EXPECT_EQ(a.p->wanted_isr(now(), lag), (std::vector<int32_t>{1, 2}));
}

TEST_F(PartitionTest, PendingIsrChangeCountsTheMaximalIsr) {
  auto [a, b, c] = leader_1_followers_2_3({1, 2});
  a.produce("x", 2);
  fetch(a, b, now());
  fetch(a, c, now());
  fetch(a, c, now());  // c has everything but is not in the ISR
  EXPECT_EQ(a.p->wanted_isr(now(), 10'000), (std::vector<int32_t>{1, 2, 3}));
  // Pending expansion: c counts for the HW, so the HW waits for b and c.
  a.p->isr_change_requested({1, 2, 3});
  a.produce("y", 1);
  fetch(a, b, now());
  fetch(a, b, now());
  EXPECT_EQ(a.hw(), Offset{2});  // b has 3, c has 2
  // Abandoned: the HW only counts the ISR again.
  a.p->isr_change_abandoned();
  EXPECT_EQ(a.hw(), Offset{3});
  // Pending shrink of b: b still counts until the image shows the new ISR.
  a.p->become_leader(state({1, 2, 3}, {1, 2, 3}, 1, 0, 1), now());
  a.p->isr_change_requested({1, 3});
  a.produce("z", 1);
  fetch(a, c, now());
  fetch(a, c, now());
  EXPECT_EQ(a.hw(), Offset{3});  // b has not fetched offset 3
  // A repeated image with the same partition epoch does not settle it.
  a.p->become_leader(state({1, 2, 3}, {1, 2, 3}, 1, 0, 1), now());
  EXPECT_EQ(a.p->wanted_isr(now(), 0), std::nullopt);
  a.p->become_leader(state({1, 2, 3}, {1, 3}, 1, 0, 2), now());  // settled: HW moves
  EXPECT_EQ(a.hw(), Offset{4});
  EXPECT_EQ(a.p->isr_size(), 2);
}

TEST_F(PartitionTest, FollowerAppendKeepsOffsetsAndEpochs) {
  Replica& a = add(1);
  Replica& b = add(2);
  a.p->become_leader(state({1, 2}, {1, 2}, 1, 3, 0), now());
  b.p->become_follower(state({1, 2}, {1, 2}, 1, 3, 0));
  a.produce("x", 3);
  a.p->become_leader(state({1, 2}, {1, 2}, 1, 5, 1), now());
  a.produce("y", 2);
  int fired = 0;
  b.p->watch_appends([&] { ++fired; });
  fetch(a, b, now());
  EXPECT_EQ(fired, 1);
  EXPECT_EQ(b.leo(), Offset{5});
  EXPECT_EQ(b.all_bytes(), a.all_bytes());  // same offsets, same epochs, same CRCs
  EXPECT_EQ(b.p->latest_epoch(), 5);
  EXPECT_EQ(b.p->end_offset_for_epoch(3).end_offset, Offset{3});
  EXPECT_EQ(b.p->end_offset_for_epoch(4).epoch, 3);
  EXPECT_EQ(b.p->end_offset_for_epoch(5).end_offset, Offset{5});
  // Appending again what it already has is refused; so is a leader appending as follower.
  Bytes again = a.bytes_from(Offset{3});
  auto dup = b.p->append_as_follower(again);
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code(), Errc::offset_out_of_range);
  EXPECT_FALSE(a.p->append_as_follower(again));
  EXPECT_EQ(b.leo(), Offset{5});
  // Follower HW = min(leader HW, own log end).
  b.p->update_high_watermark_from_leader(Offset{100});
  EXPECT_EQ(b.hw(), Offset{5});
  b.p->update_high_watermark_from_leader(Offset{2});
  EXPECT_EQ(b.hw(), Offset{2});
}

TEST_F(PartitionTest, FollowerKeepsProducerStateForWhenItLeads) {
  auto [a, b] = leader_1_follower_2();
  record::BatchOptions options;
  options.producer_id = ProducerId{77};
  options.producer_epoch = ProducerEpoch{0};
  options.base_sequence = 0;
  record::BatchBuilder builder(options);
  builder.append(1'700'000'000'000, storage::testing::text("k"), storage::testing::text("v"));
  Bytes batch = *builder.build();
  Bytes retry = batch;
  ASSERT_TRUE(a.p->append_from_producer(batch));
  fetch(a, b, now());
  b.p->become_leader(state({1, 2}, {2}, 2, 1, 1), now());
  auto again = b.p->append_from_producer(retry);
  ASSERT_TRUE(again) << again.error().to_string();
  EXPECT_TRUE(again->duplicate);
  EXPECT_EQ(again->append.first_offset, Offset{0});
  EXPECT_EQ(b.leo(), Offset{1});
}

TEST_F(PartitionTest, TruncateDropsTheTailItsEpochsAndCapsTheHw) {
  Replica& a = add(1);
  Replica& b = add(2);
  a.p->become_leader(state({1, 2}, {1, 2}, 1, 1, 0), now());
  b.p->become_follower(state({1, 2}, {1, 2}, 1, 1, 0));
  a.produce("x", 2);
  a.p->become_leader(state({1, 2}, {1, 2}, 1, 2, 1), now());
  a.produce("y", 2);
  fetch(a, b, now());
  b.p->update_high_watermark_from_leader(Offset{4});
  EXPECT_EQ(b.p->latest_epoch(), 2);
  ASSERT_TRUE(b.p->truncate_to(Offset{2}));
  EXPECT_EQ(b.leo(), Offset{2});
  EXPECT_EQ(b.hw(), Offset{2});
  EXPECT_EQ(b.p->latest_epoch(), 1);
  EXPECT_EQ(b.p->end_offset_for_epoch(1).epoch, 1);
  EXPECT_EQ(b.p->end_offset_for_epoch(1).end_offset, Offset{2});
  EXPECT_EQ(b.p->end_offset_for_epoch(2).epoch, -1);  // truncated away: unknown
  fetch(a, b, now());
  EXPECT_EQ(b.all_bytes(), a.all_bytes());
  ASSERT_TRUE(b.p->truncate_to(Offset{0}));
  EXPECT_EQ(b.p->latest_epoch(), -1);
  EXPECT_EQ(b.p->end_offset_for_epoch(1).end_offset, Offset{-1});
}

TEST_F(PartitionTest, LoadHighWatermarkIsCappedByTheLog) {
  Replica& a = add(1);
  a.p->become_leader(state({1}, {1}, 1, 0, 0), now());
  a.produce("x", 3);
  a.p->load_high_watermark(Offset{10});
  EXPECT_EQ(a.hw(), Offset{3});
  a.p->load_high_watermark(Offset{1});
  EXPECT_EQ(a.hw(), Offset{1});
  a.p->load_high_watermark(Offset{-5});
  EXPECT_EQ(a.hw(), Offset{0});
}

TEST_F(PartitionTest, EpochCheckpointSurvivesRestartAndIsRebuiltWhenLost) {
  Replica& a = add(1);
  a.p->become_leader(state({1}, {1}, 1, 0, 0), now());
  a.produce("x", 2);
  a.p->become_leader(state({1}, {1}, 1, 2, 1), now());
  a.produce("y", 3);
  a.p->become_leader(state({1}, {1}, 1, 7, 2), now());  // an epoch that writes nothing
  const std::vector<EpochEntry> expected{{0, Offset{0}}, {2, Offset{2}}, {7, Offset{5}}};
  const auto file = a.log_dir() / LeaderEpochCache::kFileName;
  ASSERT_TRUE(std::filesystem::exists(file));
  a.restart();
  EXPECT_EQ(a.hw(), Offset{5});
  EXPECT_EQ(a.p->latest_epoch(), 7);
  LeaderEpochCache first(file);
  ASSERT_TRUE(first.load());
  EXPECT_EQ(first.entries(), expected);
  EXPECT_EQ(a.p->end_offset_for_epoch(2).end_offset, Offset{5});
  EXPECT_EQ(a.p->end_offset_for_epoch(1).end_offset, Offset{2});
  // Deleted: rebuilt from the batches' epochs (an epoch without batches cannot be recovered).
  std::filesystem::remove(file);
  a.restart();
  EXPECT_EQ(a.p->latest_epoch(), 2);
  EXPECT_EQ(a.p->end_offset_for_epoch(0).end_offset, Offset{2});
  EXPECT_TRUE(std::filesystem::exists(file));
  // Corrupt: a warning, then rebuilt the same way.
  {
    std::ofstream out(file, std::ios::trunc);
    out << "0\n9\n1 1\n";
  }
  warnings.clear();
  a.restart();
  EXPECT_EQ(a.p->latest_epoch(), 2);
  EXPECT_EQ(a.p->end_offset_for_epoch(2).end_offset, Offset{5});
  EXPECT_FALSE(warnings.empty());
  LeaderEpochCache reread(file);
  ASSERT_TRUE(reread.load());
  EXPECT_EQ(reread.entries(), (std::vector<EpochEntry>{{0, Offset{0}}, {2, Offset{2}}}));
}

TEST_F(PartitionTest, EmptyPartitionKnowsNoEpoch) {
  Replica& a = add(1);
  EXPECT_FALSE(a.p->is_leader());
  EXPECT_EQ(a.p->latest_epoch(), -1);
  EXPECT_EQ(a.p->end_offset_for_epoch(0).epoch, -1);
  EXPECT_EQ(a.p->end_offset_for_epoch(0).end_offset, Offset{-1});
  EXPECT_FALSE(std::filesystem::exists(a.log_dir() / LeaderEpochCache::kFileName));
}

}  // namespace
}  // namespace kafkacore::replication
