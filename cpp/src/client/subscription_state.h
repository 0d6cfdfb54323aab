#pragma once
// What the consumer reads: its subscription (topics, a pattern, or a manual assignment), the
// partitions assigned to it, and per partition the position, the prefetched records not yet
// returned, pause and reset state. Pure bookkeeping; io thread only.
//
// Two offsets per partition: `position` is the next offset poll() hands out (what commits
// save); `fetch_offset` is the next offset to fetch. Records buffered in between were fetched
// ahead of the user. Anything that moves the position (seek, reset, pause) drops the buffer and
// bumps `seek_generation`, so a fetch answer still in flight for the old position is discarded.
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "client/cluster_metadata.h"
#include "client/consumer_config.h"
#include "client/fetched_records.h"
#include "client/types.h"
#include "common/error.h"

namespace kafkacore::client {

enum class SubscriptionType : uint8_t { none, topics, pattern, manual };

// Records of one fetch answer for one partition, decoded, in offset order.
struct FetchedChunk {
  std::shared_ptr<const FetchedRecords> fetched;  // never null once decoded
  size_t next = 0;          // first record not yet returned
  int64_t next_offset = 0;  // the position once the chunk is used up (skips control batches)
  size_t bytes = 0;         // raw batch bytes, what the prefetch limits count
};

struct PartitionState {
  // committed: waiting for the group's committed offset; reset: for auto.offset.reset (or an
  // explicit seek_to_beginning/end) through ListOffsets; validate: the position is known but
  // must be checked against the leader's log first (KIP-320: OffsetForLeaderEpoch after a
  // leader change or for a committed offset); ready: the position is known.
  enum class Init : uint8_t { committed, reset, validate, ready };
  Init init = Init::committed;
  OffsetResetPolicy reset_policy = OffsetResetPolicy::latest;
  int64_t position = 0;
  std::optional<int32_t> position_epoch;  // leader epoch of the last record returned
  // The partition's leader epoch (from metadata) the position was last known good under: a
  // newer one means the leader changed and the position is validated again (KIP-320).
  int32_t leader_epoch = -1;
  int64_t fetch_offset = 0;
  bool paused = false;
  bool fetch_in_flight = false;
  uint64_t lookup = 0;  // token of the OffsetFetch or ListOffsets in flight (0: none)
  uint64_t seek_generation = 0;
  std::chrono::steady_clock::time_point retry_after{};  // backoff after an error
  std::deque<FetchedChunk> chunks;
  size_t buffered_bytes = 0;
  int64_t high_watermark = -1;
  int64_t last_stable_offset = -1;
  int64_t log_start_offset = -1;
  // An error poll() must report (OFFSET_OUT_OF_RANGE with auto.offset.reset=none, a corrupt
  // batch). Reported once; the partition is retried after a backoff.
  std::optional<Error> error;

  bool has_position() const { return init == Init::ready; }
};

class SubscriptionState {
 public:
  explicit SubscriptionState(OffsetResetPolicy default_reset) : default_reset_(default_reset) {}

  SubscriptionType type() const { return type_; }
  bool auto_assigned() const {
    return type_ == SubscriptionType::topics || type_ == SubscriptionType::pattern;
  }
  // Errors when manually assigned (the two modes are exclusive, as in Java).
  Result<void> subscribe(std::set<std::string> topics);
  Result<void> subscribe_pattern(std::string source, std::regex pattern);
  // Pattern subscriptions: recomputes the matched topics; true when they changed.
  bool update_pattern_topics(const ClusterMetadata& metadata, bool exclude_internal);
  // Subscribed topics (for a pattern: the matching ones seen so far).
  const std::set<std::string>& topics() const { return topics_; }
  const std::string& pattern_source() const { return pattern_source_; }
  // Forgets subscription and assignment.
  void unsubscribe();

  // Manual assignment; errors when subscribed. Kept partitions keep their state.
  Result<void> assign_manual(const std::vector<TopicPartition>& partitions);
  // A group assignment: kept partitions keep their state, new ones wait for a committed offset.
  void set_assignment(const std::vector<TopicPartition>& partitions);
  void remove(const std::vector<TopicPartition>& partitions);

  std::vector<TopicPartition> assigned() const;
  std::set<std::string> assigned_topics() const;
  bool is_assigned(const TopicPartition& tp) const { return partitions_.contains(tp); }
  PartitionState* find(const TopicPartition& tp);
  std::map<TopicPartition, PartitionState>& partitions() { return partitions_; }
  const std::map<TopicPartition, PartitionState>& partitions() const { return partitions_; }

  // Moves the position (and the fetch offset) to `offset`, dropping prefetched records.
  void seek(PartitionState& p, int64_t offset, std::optional<int32_t> epoch = std::nullopt);
  void request_reset(PartitionState& p, OffsetResetPolicy policy);
  // KIP-320: keep the position but check it with OffsetForLeaderEpoch before fetching again.
  // Prefetched records are dropped: they came from a leader whose log may have been truncated.
  // A position without a leader epoch cannot be checked and stays as it is.
  void request_validation(PartitionState& p);
  void set_paused(PartitionState& p, bool paused);
  // Drops prefetched records; the next fetch starts at the position again.
  void clear_buffer(PartitionState& p);
  void add_chunk(PartitionState& p, FetchedChunk chunk);

  // Up to `max` buffered records of fetchable partitions, round-robin over partitions, moving
  // positions past what is returned.
  PolledRecords drain(size_t max);
  bool has_buffered_records() const;
  size_t buffered_bytes() const { return buffered_bytes_; }

  // Positions of assigned partitions with a known position (what auto-commit saves).
  std::map<TopicPartition, OffsetAndMetadata> consumed() const;

  OffsetResetPolicy default_reset() const { return default_reset_; }

 private:
  PartitionState fresh_partition() const;

  OffsetResetPolicy default_reset_;
  SubscriptionType type_ = SubscriptionType::none;
  std::set<std::string> topics_;
  std::string pattern_source_;
  std::optional<std::regex> pattern_;
  std::map<TopicPartition, PartitionState> partitions_;
  size_t buffered_bytes_ = 0;
  std::optional<TopicPartition> drain_cursor_;  // last partition drained from (fairness)
};

}  // namespace kafkacore::client
