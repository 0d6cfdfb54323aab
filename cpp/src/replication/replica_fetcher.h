#pragma once
// Follower replication (Kafka's ReplicaFetcherManager/ReplicaFetcherThread): this broker fetches
// the partitions it follows from their leaders over the Kafka protocol, as a client with its
// replica id, and appends what it gets with the leader's offsets and epochs.
//
// One source session (one client::Connection) per leader broker serves every partition followed
// from it, with one request in flight at a time. Each partition goes
//   truncating: OffsetForLeaderEpoch v4 finds where our log diverges from the leader's (KIP-101,
//               KIP-279: repeated with the answered epoch until both agree), we truncate there;
//   fetching:   Fetch v12 from our log end; records appended, the leader's HW taken; a
//               DivergingEpoch in the answer truncates again (as for an OffsetForLeaderEpoch
//               answer). OFFSET_OUT_OF_RANGE above the leader's end goes back to truncating;
//               below the leader's log start it marks the partition failed (PartitionLog cannot
//               yet restart an empty log at a later offset, Kafka's truncateFullyAndStartAt).
// Partition errors (not leader, fenced/unknown epoch, unknown partition) delay that partition
// for `backoff` (a follow() with the new leader/epoch resumes it at once); connection errors
// close the session and reconnect after `backoff`; storage errors mark the partition failed
// (no more fetching until follow() is called again with a new leader or epoch).
// Reactor thread only: every method and callback runs on the io_context given at construction,
// the thread that owns the followed partitions.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "client/connection.h"
#include "common/uuid.h"
#include "replication/partition.h"

namespace kafkacore::replication {

struct BrokerAddress {
  std::string host;
  uint16_t port = 0;
};

// Kafka's replica.fetch.* settings (same defaults).
struct FetcherConfig {
  std::chrono::milliseconds max_wait{500};        // replica.fetch.wait.max.ms
  int32_t min_bytes = 1;                          // replica.fetch.min.bytes
  int32_t max_bytes = 10 << 20;                   // replica.fetch.response.max.bytes
  int32_t partition_max_bytes = 1 << 20;          // replica.fetch.max.bytes
  std::chrono::milliseconds backoff{1000};        // replica.fetch.backoff.ms
  std::chrono::milliseconds request_timeout{30000};  // replica.socket.timeout.ms
  std::chrono::milliseconds connect_timeout{10000};
  std::string client_id = "replica-fetcher";
};

enum class FollowerPhase { truncating, fetching, delayed, failed };
std::string_view phase_name(FollowerPhase phase);

// One followed partition, for tests and metrics.
struct FollowerStatus {
  std::string topic;
  int32_t partition = 0;
  int32_t leader_id = -1;
  int32_t leader_epoch = -1;
  FollowerPhase phase = FollowerPhase::truncating;
  Offset log_end_offset{-1};         // ours
  Offset leader_high_watermark{-1};  // from the last fetch answer, -1 before
  int64_t lag = -1;                  // leader HW - our log end (>= 0), -1 before the first fetch
  std::string last_error;            // why it is delayed or failed
};

class ReplicaFetcherManager {
 public:
  using ResolveBroker = std::function<std::optional<BrokerAddress>(int32_t broker_id)>;
  using LookupPartition = std::function<Partition*(const std::string& topic, int32_t partition)>;

  ReplicaFetcherManager(client::asio::io_context& io, int32_t local_broker_id,
                        ResolveBroker resolve, LookupPartition lookup, FetcherConfig config = {});
  ~ReplicaFetcherManager();
  ReplicaFetcherManager(const ReplicaFetcherManager&) = delete;
  ReplicaFetcherManager& operator=(const ReplicaFetcherManager&) = delete;

  // Follows (topic, partition) from `leader_id`. The same leader and epoch again is a no-op;
  // a new leader or epoch restarts the partition at truncating. A leader of ourselves unfollows.
  void follow(const std::string& topic, int32_t partition, Uuid topic_id, int32_t leader_id,
              int32_t leader_epoch);
  // Stops fetching it; a source left without partitions closes its connection.
  void unfollow(const std::string& topic, int32_t partition);
  // Cancels everything; no callbacks and no partition access afterwards.
  void stop();
  // Fault injection: false for (from, to) cuts that link; this follower then treats the
  // leader as unreachable (in either direction) until the filter allows it again.
  void set_link_filter(std::function<bool(int32_t from, int32_t to)> filter) {
    link_filter_ = std::move(filter);
  }

  // Our fetch connection to `broker_id` is open but the leader has closed its end (it died
  // a moment ago; the failure is still on its way through the read loop).
  bool leader_gone(int32_t broker_id) const;
  // A leader's connection failed (dropped, refused, timed out), or was (re)established.
  std::function<void(int32_t broker_id)> on_leader_unreachable;
  std::function<void(int32_t broker_id)> on_leader_reached;

  std::optional<FollowerStatus> status(const std::string& topic, int32_t partition) const;
  std::vector<FollowerStatus> statuses() const;
  size_t source_count() const { return sources_.size(); }
  // Broker ids with a source session (for tests).
  std::vector<int32_t> source_ids() const;

 private:
  using Key = std::pair<std::string, int32_t>;
  struct Follower;
  struct Source;

  Source& source_for(int32_t broker_id);
  bool link_open(int32_t broker_id) const;
  void remove_from_source(int32_t broker_id, const Key& key);
  // Runs the source's state machine: connect, then one request at a time (OffsetForLeaderEpoch
  // for truncating partitions first, then one Fetch for all fetching ones), or sleeps until the
  // next delayed partition or reconnect is due.
  void pump(int32_t broker_id);
  void schedule(Source& source, std::chrono::steady_clock::time_point at);
  void connection_failed(Source& source, const Error& error);
  void send_offsets_for_epoch(Source& source);
  void send_fetch(Source& source);
  void on_epoch_answer(Follower& f, Partition& p, int16_t error_code, int32_t epoch,
                       int64_t end_offset);
  void handle_fetched(Follower& f, Partition& p, Offset fetch_offset,
                      const protocol::FetchResponse::PartitionData& data,
                      const client::Response<protocol::FetchResponse>& response);
  // Kafka's getOffsetTruncationState for a leader answer (epoch, end offset): truncates and
  // returns true when done, false when another OffsetForLeaderEpoch round is needed.
  Result<bool> truncate_for_leader_epoch(Partition& p, int32_t leader_epoch, int64_t end_offset);
  void delay(Follower& f, std::string why);
  void fail(Follower& f, std::string why);
  // The follower, if it still exists as the request for it was sent (same incarnation).
  Follower* current(const Key& key, uint64_t incarnation);

  client::asio::io_context& io_;
  int32_t local_broker_id_;
  ResolveBroker resolve_;
  LookupPartition lookup_;
  std::function<bool(int32_t, int32_t)> link_filter_;
  FetcherConfig config_;
  std::map<Key, std::unique_ptr<Follower>> followers_;
  std::map<int32_t, std::unique_ptr<Source>> sources_;
  uint64_t next_incarnation_ = 1;
  bool stopped_ = false;
  std::shared_ptr<bool> alive_;
};

}  // namespace kafkacore::replication
