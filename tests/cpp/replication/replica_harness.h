#pragma once
// Real replicas for the replication suites: each a PartitionLog in its own temp directory with a
// Partition on top. Tests move batches between them by hand, doing what the replica fetcher does.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "replication/hw_checkpoint.h"
#include "replication/partition.h"
#include "storage/partition_log.h"
#include "storage/test_util.h"

namespace kafkacore::replication::testing {

using storage::testing::make_batch;
using storage::testing::read_all;
using storage::testing::TempDir;

inline const Uuid kTopicId{};

struct Replica {
  int32_t id = -1;
  std::filesystem::path data_dir;
  storage::LogConfig config;
  ManualClock* clock = nullptr;
  std::vector<std::string>* warnings = nullptr;
  std::unique_ptr<storage::PartitionLog> log;
  std::unique_ptr<Partition> p;
  int32_t min_isr = 1;  // min.insync.replicas, given to the partition on every open

  std::filesystem::path log_dir() const { return data_dir / "t-0"; }

  void open(bool legacy = false, bool clean_shutdown = true) {
    storage::LogEnvironment env;
    env.clock = clock;
    if (warnings) env.warn = [w = warnings](const std::string& m) { w->push_back(m); };
    auto opened = storage::PartitionLog::open(log_dir(), config, env, clean_shutdown);
    ASSERT_TRUE(opened) << opened.error().to_string();
    log = std::move(*opened);
    p = std::make_unique<Partition>("t", 0, kTopicId, log.get(), legacy ? -1 : id);
    p->rebuild_producer_state();
    p->set_min_insync_replicas(min_isr);
  }
  // An unclean shutdown that loses the page cache: only the records below `keep` had reached
  // the disk. The segment file is cut there and the broker restarts, recovering the log (no
  // HW checkpoint survives either). One segment only.
  void crash_losing_tail(Offset keep) {
    const auto cut = all_bytes().size() - bytes_from(keep).size();
    p.reset();
    log.reset();
    std::filesystem::path segment;
    for (const auto& e : std::filesystem::directory_iterator(log_dir())) {
      if (e.path().extension() == ".log") segment = e.path();
    }
    ASSERT_FALSE(segment.empty());
    std::filesystem::resize_file(segment, cut);
    open(false, /*clean_shutdown=*/false);
  }
  // A clean restart: checkpoint the HW as the broker does, close, reopen, reload it.
  void restart() {
    HwCheckpoint cp(data_dir);
    ASSERT_TRUE(cp.write({{{"t", 0}, p->high_watermark()}}));
    p.reset();
    ASSERT_TRUE(log->close());
    log.reset();
    open();
    auto hws = cp.read();
    ASSERT_TRUE(hws) << hws.error().to_string();
    p->load_high_watermark(hws->at({"t", 0}));
  }
  Offset leo() const { return log->log_end_offset(); }
  Offset hw() const { return p->high_watermark(); }

  ProduceOutcome produce(const std::string& prefix, int count = 1) {
    Bytes batch = make_batch(prefix, count);
    auto r = p->append_from_producer(batch);
    EXPECT_TRUE(r) << r.error().to_string();
    return r.value_or(ProduceOutcome{});
  }
  Bytes bytes_from(Offset from) const {
    auto read = log->read(from, UINT64_MAX);
    EXPECT_TRUE(read) << read.error().to_string();
    if (!read) return {};
    auto bytes = read->copy_bytes();
    EXPECT_TRUE(bytes);
    return bytes.value_or(Bytes{});
  }
  Bytes all_bytes() const { return bytes_from(log->log_start_offset()); }
  std::vector<std::string> values() const {
    std::vector<std::string> out;
    for (const auto& r : read_all(*log)) out.push_back(r.value.value_or(""));
    return out;
  }
};

// One Fetch round: the follower asks from its log end; the leader records it (which may move
// its HW), answers with everything from there and its HW; the follower appends and takes the HW.
inline void fetch(Replica& leader, Replica& follower, int64_t now_ms) {
  const Offset at = follower.leo();
  leader.p->record_follower_fetch(follower.id, at, now_ms);
  Bytes data = leader.bytes_from(at);
  if (!data.empty()) {
    auto r = follower.p->append_as_follower(data);
    ASSERT_TRUE(r) << r.error().to_string();
  }
  follower.p->update_high_watermark_from_leader(leader.hw());
}

// The same round as the leader's Fetch handler runs it (KIP-320): the follower names the leader
// epoch it believes current; a mismatch is answered with FENCED_LEADER_EPOCH (older) or
// UNKNOWN_LEADER_EPOCH (newer) before anything is recorded, so it moves neither the follower's
// progress nor the HW.
inline Errc fetch_in_epoch(Replica& leader, Replica& follower, int32_t follower_epoch,
                           int64_t now_ms) {
  if (Errc e = leader.p->check_leader_epoch(follower_epoch); e != Errc::none) return e;
  if (!leader.p->is_leader()) return Errc::not_leader_or_follower;
  fetch(leader, follower, now_ms);
  return Errc::none;
}

// The follower's truncation on a leader change, as Kafka's fetcher does it (KIP-101 with
// KIP-279): ask the leader where our latest epoch ended; if the leader answers with that same
// epoch, truncate to min(its end, our end of that epoch); if it answers with an older epoch we
// may not have, truncate to our own end of the epoch it named and ask again.
inline void truncate_like_fetcher(const Replica& leader, Replica& follower) {
  for (int round = 0; round < 100; ++round) {
    const int32_t ours = follower.p->latest_epoch();
    if (ours < 0) return;
    const EpochEndOffset answer = leader.p->end_offset_for_epoch(ours);
    if (answer.end_offset < Offset{0}) {
      // The leader cannot place our epoch: fall back to our high watermark, as Kafka does.
      ASSERT_TRUE(follower.p->truncate_to(follower.hw()));
      return;
    }
    const EpochEndOffset mine = follower.p->end_offset_for_epoch(answer.epoch);
    if (mine.epoch == answer.epoch) {
      const Offset to = std::min({answer.end_offset, mine.end_offset, follower.leo()});
      ASSERT_TRUE(follower.p->truncate_to(to));
      return;
    }
    // We never had the leader's epoch: cut back to the end of our last epoch below it, retry.
    const Offset to = mine.end_offset < Offset{0} ? std::min(answer.end_offset, follower.leo())
                                                  : std::min(mine.end_offset, follower.leo());
    ASSERT_TRUE(follower.p->truncate_to(to));
    if (mine.end_offset < Offset{0}) return;
  }
  FAIL() << "truncation did not converge";
}

inline ReplicaState state(std::vector<int32_t> replicas, std::vector<int32_t> isr, int32_t leader,
                          int32_t leader_epoch, int32_t partition_epoch) {
  ReplicaState s;
  s.replicas = std::move(replicas);
  s.isr = std::move(isr);
  s.leader = leader;
  s.leader_epoch = LeaderEpoch{leader_epoch};
  s.partition_epoch = partition_epoch;
  return s;
}

// The fixture both replication suites share: replicas in one temp dir on one manual clock.
struct ReplicaSetTest : ::testing::Test {
  TempDir tmp;
  ManualClock clock;
  std::vector<std::string> warnings;  // what the replicas' logs warned about
  std::vector<std::unique_ptr<Replica>> replicas;

  // Broker `id`'s replica, opened in its own directory (`legacy`: without a broker id).
  Replica& add(int32_t id, bool legacy = false) {
    auto r = std::make_unique<Replica>();
    r->id = id;
    r->data_dir = tmp.path() / ("broker-" + std::to_string(id));
    r->clock = &clock;
    r->warnings = &warnings;
    r->open(legacy);
    replicas.push_back(std::move(r));
    return *replicas.back();
  }
  int64_t now() const { return clock.now_ms(); }

  // Replicas 1 and 2, 1 leading epoch 0 with both in the ISR: how most two-replica tests begin.
  std::pair<Replica&, Replica&> leader_1_follower_2() {
    Replica& a = add(1);
    Replica& b = add(2);
    a.p->become_leader(state({1, 2}, {1, 2}, 1, 0, 0), now());
    b.p->become_follower(state({1, 2}, {1, 2}, 1, 0, 0));
    return {a, b};
  }
  // Replicas 1, 2 and 3, 1 leading and the others following the same image: the three-replica
  // start.
  std::tuple<Replica&, Replica&, Replica&> leader_1_followers_2_3(
      std::vector<int32_t> isr = {1, 2, 3}, int32_t leader_epoch = 0, int32_t partition_epoch = 0) {
    Replica& a = add(1);
    Replica& b = add(2);
    Replica& c = add(3);
    const ReplicaState image = state({1, 2, 3}, std::move(isr), 1, leader_epoch, partition_epoch);
    a.p->become_leader(image, now());
    b.p->become_follower(image);
    c.p->become_follower(image);
    return {a, b, c};
  }
};

}  // namespace kafkacore::replication::testing
