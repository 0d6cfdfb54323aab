#pragma once
// The native Kafka consumer: group membership with the classic protocol (client-side range,
// roundrobin and cooperative-sticky assignors, rebalance listeners, static membership) or a
// manual assignment; prefetching fetch sessions; manual and automatic commits.
//
// Threading, as Java's KafkaConsumer: one user thread at a time calls the consumer; rebalance
// listener callbacks and commit_async callbacks run on that thread, inside poll() (and
// commit_sync()/close()). The network work runs on the consumer's own io thread. close() may
// also come from another thread to interrupt a blocked poll(), which then returns "consumer
// closed". An exception thrown by a listener or callback leaves the call that ran it (poll(),
// commit_sync(), close()) once the consumer's own bookkeeping for that step is done.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "client/config.h"
#include "client/fetched_records.h"
#include "client/types.h"
#include "common/error.h"

namespace kafkacore::client {

// Called on the polling thread while the group rebalances. The consumer may be used from a
// callback (commit_sync, position, seek...), but not closed (close() fails there with
// INVALID_REQUEST).
class RebalanceListener {
 public:
  virtual ~RebalanceListener() = default;
  // Before partitions move to another member: commit what was processed here. Eager
  // assignors: every partition, before each rebalance; cooperative-sticky: only the
  // partitions that move, after the rebalance.
  virtual void on_partitions_revoked(const std::vector<TopicPartition>&) {}
  // After a rebalance, with the partitions added (cooperative) or the whole assignment
  // (eager); called even when that is empty.
  virtual void on_partitions_assigned(const std::vector<TopicPartition>&) {}
  // The membership was lost (session expired, fenced): the partitions may already belong to
  // another member, so committing is pointless.
  virtual void on_partitions_lost(const std::vector<TopicPartition>& p) {
    on_partitions_revoked(p);
  }
};

class Consumer {
 public:
  // Kafka-named configs with Kafka's defaults: bootstrap.servers (required), group.id,
  // group.instance.id, auto.offset.reset (latest|earliest|none), enable.auto.commit (true),
  // auto.commit.interval.ms (5000), session.timeout.ms (45000), heartbeat.interval.ms (3000),
  // max.poll.interval.ms (300000; also the rebalance timeout), partition.assignment.strategy
  // ("range,cooperative-sticky"), fetch.min.bytes (1), fetch.max.bytes (52428800),
  // fetch.max.wait.ms (500), max.partition.fetch.bytes (1048576), max.poll.records (500),
  // isolation.level (read_uncommitted|read_committed), check.crcs (true),
  // allow.auto.create.topics (true), client.rack, default.api.timeout.ms (60000),
  // exclude.internal.topics (true), and the shared client keys (client.id, request.timeout.ms,
  // retry.backoff.ms, metadata.max.age.ms, ...). Unknown keys are an error.
  static Result<std::unique_ptr<Consumer>> create(Properties config);
  // close(0) if not closed.
  ~Consumer();
  Consumer(const Consumer&) = delete;
  Consumer& operator=(const Consumer&) = delete;

  // Group subscription (needs group.id); replaces an earlier one. The group is joined by the
  // next poll(). An empty list unsubscribes.
  Result<void> subscribe(std::vector<std::string> topics,
                         std::shared_ptr<RebalanceListener> listener = nullptr);
  // Every topic whose whole name matches `regex` (std::regex, ECMAScript), internal topics
  // excluded; topics created later join at the next metadata refresh (metadata.max.age.ms).
  Result<void> subscribe_pattern(std::string regex,
                                 std::shared_ptr<RebalanceListener> listener = nullptr);
  // Revokes the assignment (listener), leaves the group, forgets subscription and assignment.
  void unsubscribe();
  // Manual assignment, no group membership (commits still go to group.id if set). Positions
  // start at the committed offset (with a group.id), else per auto.offset.reset.
  Result<void> assign(std::vector<TopicPartition> partitions);
  std::vector<TopicPartition> assignment() const;
  std::vector<std::string> subscription() const;

  // Records prefetched for the assigned partitions, at most max.poll.records, waiting up to
  // `timeout` for some. Completes rebalances (running the listener) and runs commit_async
  // callbacks on this thread. Errors are fatal ones only: OFFSET_OUT_OF_RANGE (or no committed
  // offset) with auto.offset.reset=none, a corrupt batch, a fenced static member, a group
  // protocol error, or "consumer closed".
  Result<std::vector<ConsumerRecord>> poll(std::chrono::milliseconds timeout);
  // poll() without copying: the records still view the fetched bytes, which the result keeps
  // alive. For callers that copy each key and value once to where it goes (the Python binding).
  Result<PolledRecords> poll_shared(std::chrono::milliseconds timeout);

  // Next offset to read; takes effect for the next poll(). Ignored for unassigned partitions.
  void seek(const TopicPartition& tp, int64_t offset);
  // Empty: every assigned partition. Lazy: the offset is looked up by the next poll() or
  // position(). INVALID_REQUEST for a partition not assigned.
  Result<void> seek_to_beginning(const std::vector<TopicPartition>& tps);
  Result<void> seek_to_end(const std::vector<TopicPartition>& tps);
  // The offset of the next record poll() returns, looking it up if needed.
  Result<int64_t> position(const TopicPartition& tp, std::chrono::milliseconds timeout);
  // The group's committed offsets (nullopt: none). Needs group.id.
  Result<std::map<TopicPartition, std::optional<OffsetAndMetadata>>> committed(
      const std::vector<TopicPartition>& tps, std::chrono::milliseconds timeout);

  // Commits the current positions of all assigned partitions.
  Result<void> commit_sync(std::chrono::milliseconds timeout);
  Result<void> commit_sync(const std::map<TopicPartition, OffsetAndMetadata>& offsets,
                           std::chrono::milliseconds timeout);
  // The callback runs in a later poll()/commit_sync()/close() on the calling thread.
  void commit_async(std::function<void(Result<void>)> callback = nullptr);
  void commit_async(std::map<TopicPartition, OffsetAndMetadata> offsets,
                    std::function<void(Result<void>)> callback = nullptr);

  // (offset, timestamp) of the first record at or after each timestamp; nullopt when none.
  Result<std::map<TopicPartition, std::optional<std::pair<int64_t, int64_t>>>> offsets_for_times(
      const std::map<TopicPartition, int64_t>& timestamps, std::chrono::milliseconds timeout);
  Result<std::map<TopicPartition, int64_t>> beginning_offsets(
      const std::vector<TopicPartition>& tps, std::chrono::milliseconds timeout);
  // The high watermark, or the last stable offset with isolation.level=read_committed.
  Result<std::map<TopicPartition, int64_t>> end_offsets(const std::vector<TopicPartition>& tps,
                                                        std::chrono::milliseconds timeout);

  // Records between the position and the high watermark (the last stable offset with
  // read_committed) as of the latest fetch response, without asking the broker (Java's
  // currentLag). nullopt when not known yet or the partition is not assigned.
  std::optional<int64_t> current_lag(const TopicPartition& tp);

  void pause(const std::vector<TopicPartition>& tps);
  void resume(const std::vector<TopicPartition>& tps);
  std::vector<TopicPartition> paused() const;

  Result<std::vector<TopicPartition>> partitions_for(const std::string& topic,
                                                     std::chrono::milliseconds timeout);
  Result<std::vector<std::string>> list_topics(std::chrono::milliseconds timeout);

  // "" / -1 when not a group member.
  std::string member_id() const;
  int32_t generation() const;
  std::optional<std::string> group_id() const;

  // Auto-commits (if enabled), revokes the assignment (listener), leaves the group (not a
  // static member, as in Kafka), runs pending commit callbacks, closes connections and joins
  // the io thread, all within `timeout`. Idempotent. Wakes a blocked poll().
  Result<void> close(std::chrono::milliseconds timeout = std::chrono::seconds(30));

  struct Impl;

 private:
  explicit Consumer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace kafkacore::client
