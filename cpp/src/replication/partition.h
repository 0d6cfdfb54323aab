#pragma once
// One partition replica on this broker: its log, idempotent-producer state, leader epochs and
// high watermark. As leader it tracks each follower's progress (from their Fetch requests), the
// in-sync replica set and the high watermark, and completes acks=all waits; as follower it
// appends the leader's batches with their offsets and truncates divergent tails.
// A partition built without a local broker id is a single-replica leader (the HW is the log end).
// Reactor thread only.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/uuid.h"
#include "replication/producer_state.h"
#include "storage/partition_log.h"

namespace kafkacore::replication {

class LeaderEpochCache;

struct ProduceOutcome {
  storage::AppendResult append;
  bool duplicate = false;  // a retried idempotent batch, acknowledged with its original offsets
};

// What the metadata image says about this partition.
struct ReplicaState {
  std::vector<int32_t> replicas;
  std::vector<int32_t> isr;
  int32_t leader = -1;
  LeaderEpoch leader_epoch{0};
  int32_t partition_epoch = 0;
};

// OffsetForLeaderEpoch's answer: the largest epoch <= the one asked for and the offset where it
// ended (the start of the next epoch, or the log end for the latest); {-1, -1} when unknown.
struct EpochEndOffset {
  int32_t epoch = -1;
  Offset end_offset{-1};
};

class Partition {
 public:
  // `local_broker_id` < 0: a single-replica partition this broker always leads.
  Partition(std::string topic, int32_t index, Uuid topic_id, storage::PartitionLog* log,
            int32_t local_broker_id = -1);
  ~Partition();

  const std::string& topic() const { return topic_; }
  int32_t index() const { return index_; }
  const Uuid& topic_id() const { return topic_id_; }
  storage::PartitionLog& log() { return *log_; }
  const storage::PartitionLog& log() const { return *log_; }
  LeaderEpoch leader_epoch() const { return state_.leader_epoch; }
  const ReplicaState& replica_state() const { return state_; }
  bool is_leader() const;
  int32_t leader_id() const { return state_.leader; }
  // KIP-320: the leader epoch a client or follower believes current, against ours. Older is
  // FENCED_LEADER_EPOCH (its metadata is stale), newer UNKNOWN_LEADER_EPOCH (ours is); -1 (an
  // old client) is not checked. Fetch, ListOffsets and OffsetForLeaderEpoch check it before
  // anything else, so a fenced follower's fetch never counts as progress.
  Errc check_leader_epoch(int32_t current_leader_epoch) const;

  // Consumers read below this. The leader advances it to the smallest log end of the ISR.
  Offset high_watermark() const { return high_watermark_; }
  Offset last_stable_offset() const { return high_watermark(); }
  // After a restart: the checkpointed high watermark, capped at the log end.
  void load_high_watermark(Offset checkpointed);
  // min.insync.replicas (KIP-966): as leader, the HW advances only while the ISR the
  // controller committed has at least this many members, so every committed record is on that
  // many replicas and a replica leaving a smaller ISR keeps all of them (it is eligible to lead).
  void set_min_insync_replicas(int32_t min_isr);

  // ---- leadership (from metadata image changes; repeated calls with the same state are no-ops)
  // Starts a new leader epoch at the log end; followers in the ISR count as caught up as of now.
  void become_leader(const ReplicaState& state, int64_t now_ms);
  // Fails pending acks=all waits with NOT_LEADER_OR_FOLLOWER.
  void become_follower(const ReplicaState& state);

  // ---- leader side
  // One batch from a producer (Produce v3+ carries exactly one per partition): checks it the way
  // Kafka's LogValidator does, deduplicates idempotent retries, appends. Leaders only.
  Result<ProduceOutcome> append_from_producer(MutableByteView records);
  // A follower's Fetch at `fetch_offset`: it has everything below. May advance the HW.
  // `log_start` is the follower's log start offset from the same Fetch (-1: not told).
  void record_follower_fetch(int32_t replica_id, Offset fetch_offset, int64_t now_ms,
                             Offset log_start = Offset{-1});
  // The ISR this leader wants now, or nullopt: shrink out followers that have not been caught
  // up to the log end within `lag_max_ms`; add replicas whose fetch offset reached the HW and
  // the start of this leader's epoch. Nothing while a requested change is pending.
  std::optional<std::vector<int32_t>> wanted_isr(int64_t now_ms, int64_t lag_max_ms) const;
  // A change was sent to the controller: until the image shows it (or it is abandoned), the HW
  // counts the larger of the two sets (an expanding follower must already be caught up).
  void isr_change_requested(std::vector<int32_t> isr);
  void isr_change_abandoned();
  int32_t isr_size() const { return static_cast<int32_t>(state_.isr.size()); }
  // acks=all: `done(Errc::none)` once the HW passes `last_offset`; NOT_LEADER_OR_FOLLOWER if
  // leadership is lost first. The caller owns timeouts (cancel_wait).
  uint64_t wait_for_high_watermark(Offset last_offset, std::function<void(Errc)> done);
  void cancel_wait(uint64_t id);

  // DeleteRecords on the leader: advances the log start offset (epoch cache with it).
  Result<Offset> delete_records_before(Offset offset);
  // Kafka's low watermark: the smallest log start offset of this replica and the ISR's
  // followers as their fetches reported it; -1 while an ISR follower has not reported one in
  // this leader epoch. Leaders only.
  Offset low_watermark() const;
  // DeleteRecords answers once `done(Errc::none)` says low_watermark() reached `offset` (every
  // in-sync copy dropped the records); NOT_LEADER_OR_FOLLOWER if leadership is lost first.
  // Timeouts as for acks=all waits (cancel_wait).
  uint64_t wait_for_low_watermark(Offset offset, std::function<void(Errc)> done);

  // ---- follower side
  // Batches fetched from the leader, appended with their offsets at the log end.
  Result<storage::AppendResult> append_as_follower(MutableByteView batches);
  // min(leader's HW, our log end).
  void update_high_watermark_from_leader(Offset leader_hw);
  // Drops batches at and after `offset` (log, epoch cache, producer state; HW capped).
  Result<void> truncate_to(Offset offset);
  // The leader's log start offset from a Fetch answer: records it deleted (DeleteRecords,
  // retention) go here too, up to our high watermark, so a follower that becomes leader never
  // serves them again.
  Result<void> follow_leader_log_start(Offset leader_log_start);
  // We fell behind the leader's log start: our log restarts empty there.
  Result<void> truncate_fully_and_start_at(Offset offset);

  // ---- leader epochs (OffsetForLeaderEpoch, KIP-101/279)
  EpochEndOffset end_offset_for_epoch(int32_t requested_epoch) const;
  int32_t latest_epoch() const;  // -1 if the log holds no epoch yet

  // Calls `fn` after every append and every high-watermark advance until unwatched (delayed
  // fetches).
  uint64_t watch_appends(std::function<void()> fn);
  void unwatch_appends(uint64_t id);

  // Reads the producer ids of the newest segments back (after a restart).
  void rebuild_producer_state();

 private:
  void notify_appended();

  std::string topic_;
  int32_t index_;
  Uuid topic_id_;
  storage::PartitionLog* log_;
  int32_t local_broker_id_;
  ReplicaState state_;
  Offset high_watermark_{0};
  ProducerStateTable producers_;
  std::unique_ptr<LeaderEpochCache> epochs_;
  uint64_t next_watch_id_ = 1;
  std::map<uint64_t, std::function<void()>> watchers_;
  // Leader-side bookkeeping (follower progress, pending ISR change, acks waits) is the
  // implementer's to add below.

  // What the leader knows of one follower, from its fetches (Kafka's ReplicaState).
  struct FollowerProgress {
    Offset log_end{-1};                  // its latest fetch offset; -1 until it fetches
    int64_t last_caught_up_ms = 0;       // it had everything the leader had as of then
    int64_t last_fetch_ms = 0;
    Offset leader_end_at_last_fetch{-1};  // the leader's log end when it last fetched
    Offset log_start{-1};                 // its log start offset, from its fetches
  };
  struct PendingIsr {
    std::vector<int32_t> isr;
    int32_t partition_epoch = 0;  // the image's when requested: a newer image settles it
  };
  struct HwWait {
    Offset last_offset;  // acks=all: until the HW passes it; DeleteRecords: the low watermark
    std::function<void(Errc)> done;
    bool low_watermark = false;  // reaches it
  };

  bool legacy() const { return local_broker_id_ < 0; }
  bool stale(const ReplicaState& state) const;
  // ISR ∪ the pending requested ISR: the set the HW must wait for while a change is in flight.
  std::vector<int32_t> maximal_isr() const;
  // Leader: moves the HW up to the smallest log end of the maximal ISR. True if it moved.
  bool maybe_advance_high_watermark();
  // Runs the acks=all waits the HW has passed and the DeleteRecords waits the low watermark
  // reached (after bookkeeping, so callbacks see it).
  void complete_waits();
  void fail_waits(Errc code);
  // Records the leader epochs of batches appended with their leader's offsets.
  void assign_epochs_of(ByteView batches);
  void record_producers_of(ByteView batches);
  void assign_epoch(int32_t epoch, Offset start);
  void truncate_epochs(Offset offset);
  void warn(const std::string& message) const;

  bool leading_ = false;
  int32_t min_isr_ = 1;
  Offset leader_epoch_start_{0};  // where this broker's current leader epoch began
  std::map<int32_t, FollowerProgress> followers_;
  std::optional<PendingIsr> pending_isr_;
  uint64_t next_wait_id_ = 1;
  std::map<uint64_t, HwWait> waits_;
};

}  // namespace kafkacore::replication
