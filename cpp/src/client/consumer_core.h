#pragma once
// The consumer's io-thread half: owns the network client, the subscription state, the fetcher,
// the offset lookups and the group coordinator, and wires them together (metadata updates,
// position lookups for new partitions, auto-commit, the queue of work for the user thread).
// Every method runs on the io thread; the public Consumer reaches it through IoThread::call and
// is woken through `wake` whenever something it may wait for happened.
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "client/consumer_config.h"
#include "client/consumer_coordinator.h"
#include "client/fetcher.h"
#include "client/list_offsets.h"
#include "client/network_client.h"
#include "client/offset_committer.h"
#include "client/offset_validator.h"
#include "client/subscription_state.h"

namespace kafkacore::client {

class ConsumerCore {
 public:
  using Clock = std::chrono::steady_clock;
  using CommitCallback = std::function<void(Result<void>)>;

  // What poll() must run on the user thread.
  struct UserWork {
    std::vector<std::pair<CommitCallback, Result<void>>> callbacks;  // commit_async results
    std::vector<RebalanceEvent> events;
    bool empty() const { return callbacks.empty() && events.empty(); }
  };

  // `config` must outlive the core.
  ConsumerCore(asio::io_context& io, const ConsumerConfig& config, std::function<void()> wake);
  ~ConsumerCore();
  ConsumerCore(const ConsumerCore&) = delete;
  ConsumerCore& operator=(const ConsumerCore&) = delete;

  NetworkClient& network() { return network_; }
  SubscriptionState& subscriptions() { return subscriptions_; }
  ConsumerCoordinator* coordinator() { return coordinator_.get(); }
  Fetcher& fetcher() { return fetcher_; }

  // ---- subscription
  Result<void> subscribe(std::set<std::string> topics);
  Result<void> subscribe_pattern(std::string source, std::regex pattern);
  Result<void> assign(const std::vector<TopicPartition>& partitions);
  // Leaves the group (without waiting) and forgets subscription and assignment.
  void unsubscribe();

  // ---- poll
  void poll_started();
  void poll_ended();
  UserWork take_user_work();
  // Only the commit callbacks (commit_sync runs those; rebalance steps wait for poll).
  std::vector<std::pair<CommitCallback, Result<void>>> take_callbacks();
  // Buffered records; else the first pending error (fatal, or of a partition).
  Result<PolledRecords> collect(size_t max);
  // One poll() round trip: the user work if there is some (records wait until it is done),
  // else collect(max).
  struct PollStep {
    UserWork work;
    Result<PolledRecords> records;
  };
  PollStep poll_step(size_t max);
  // A prepare event was handled: its partitions are gone.
  void prepare_done(const RebalanceEvent& event);
  // An assigned event: the new assignment takes effect (before on_partitions_assigned) ...
  void apply_assignment(const RebalanceEvent& event);
  // ... and the listener has run.
  void assignment_done(const RebalanceEvent& event);

  // ---- positions
  void seek(const TopicPartition& tp, int64_t offset);
  Result<void> seek_to(const std::vector<TopicPartition>& tps, OffsetResetPolicy policy);
  // The position; nullopt while it is being looked up (started here if needed).
  std::optional<Result<int64_t>> position(const TopicPartition& tp);
  // High watermark (last stable offset with read_committed) minus position, from the last
  // fetch response; nullopt when either is unknown or the partition is not assigned.
  std::optional<int64_t> current_lag(const TopicPartition& tp);
  void set_paused(const std::vector<TopicPartition>& tps, bool paused);
  std::vector<TopicPartition> paused() const;

  // ---- offsets and metadata
  void commit(std::map<TopicPartition, OffsetAndMetadata> offsets, Clock::time_point deadline,
              bool retry, CommitCallback done);
  // The result goes to the user thread's queue (poll runs `callback`).
  void commit_async(std::map<TopicPartition, OffsetAndMetadata> offsets, CommitCallback callback);
  // Auto-commit now, asynchronously (before a manual assignment changes).
  void auto_commit_now();
  int commits_in_flight() const { return committer_ ? committer_->in_flight() : 0; }
  void fetch_committed(std::vector<TopicPartition> tps, Clock::time_point deadline,
                       std::function<void(Result<OffsetCommitter::Committed>)> done);
  void list_offsets(std::map<TopicPartition, int64_t> timestamps, Clock::time_point deadline,
                    ListOffsetsClient::Done done);
  // A one-off Metadata request (not changing what the client keeps track of): the named
  // topics, or all of them. Retried until the deadline.
  void describe_topics(std::optional<std::vector<std::string>> topics, Clock::time_point deadline,
                       std::function<void(Result<ClusterMetadata>)> done);

  // ---- group
  void leave(const std::string& reason, std::function<void()> done);
  std::string member_id() const;
  int32_t generation() const;
  bool cooperative() const { return coordinator_ && coordinator_->cooperative(); }
  const std::optional<Error>& fatal_error() const { return fatal_; }

  // Stops everything and closes the connections; pending operations fail "consumer closed".
  void close();

 private:
  void tick();
  void update_positions();
  // KIP-320: positions whose leader changed (the metadata shows a newer leader epoch) go to
  // validation; positions awaiting it are checked with OffsetForLeaderEpoch.
  void validate_positions();
  void on_validated(const TopicPartition& tp, PartitionState& p, const EpochEndAnswer& answer);
  void maybe_auto_commit();
  void want_subscription_topics();
  void describe_attempt(std::optional<std::vector<std::string>> topics, Clock::time_point deadline,
                        std::function<void(Result<ClusterMetadata>)> done,
                        std::optional<Error> last);

  const ConsumerConfig& config_;
  std::function<void()> wake_;
  NetworkClient network_;
  SubscriptionState subscriptions_;
  ListOffsetsClient lister_;
  OffsetValidator validator_;
  Fetcher fetcher_;
  std::unique_ptr<OffsetCommitter> committer_;
  std::unique_ptr<ConsumerCoordinator> coordinator_;

  std::deque<RebalanceEvent> events_;
  std::vector<std::pair<CommitCallback, Result<void>>> callbacks_;
  std::optional<Error> fatal_;
  std::set<std::string> wanted_;  // topics this consumer asked the network client to track
  Clock::time_point next_auto_commit_{};
  uint64_t next_lookup_ = 1;
  bool closed_ = false;
  std::unique_ptr<asio::steady_timer> timer_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace kafkacore::client
