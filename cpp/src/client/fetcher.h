#pragma once
// Prefetching: one Fetch in flight per broker at a time, naming every assigned partition it
// leads that is fetchable (position known, not paused, not already in a fetch, and with fewer
// than two unreturned chunks), within an incremental fetch session per broker. Answers are
// decoded here, on the io thread, so poll() only hands over records; fetching stops while the
// buffered bytes exceed fetch.max.bytes. Per-partition errors: leader moves refresh metadata
// and retry after retry.backoff.ms; OFFSET_OUT_OF_RANGE resets the position per
// auto.offset.reset (or becomes an error poll() reports, with "none"). Io thread only.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>

#include "client/consumer_config.h"
#include "client/fetch_session.h"
#include "client/network_client.h"
#include "client/subscription_state.h"

namespace kafkacore::client {

class Fetcher {
 public:
  using Clock = std::chrono::steady_clock;

  // `on_progress`: records, an error or a reset arrived (wake the user, look up positions).
  Fetcher(NetworkClient& network, SubscriptionState& subscriptions, const ConsumerConfig& config,
          std::function<void()> on_progress);
  ~Fetcher() { *alive_ = false; }
  Fetcher(const Fetcher&) = delete;
  Fetcher& operator=(const Fetcher&) = delete;

  // Sends a Fetch to every broker that leads a fetchable partition and has none in flight.
  void maybe_send();
  void close() { closed_ = true; }

  // For tests and stats: fetch requests sent, and how many of them were incremental.
  uint64_t fetches_sent() const { return fetches_sent_; }
  uint64_t incremental_fetches() const { return incremental_fetches_; }

 private:
  struct InFlight {
    int32_t node = -1;
    // The offset each partition is fetched from, and its seek generation at the time.
    std::map<TopicPartition, std::pair<int64_t, uint64_t>> partitions;
  };
  void send(int32_t node, std::map<TopicPartition, FetchTarget> targets);
  void on_response(const std::shared_ptr<InFlight>& in_flight,
                   Result<Response<protocol::FetchResponse>> r);
  // True when the partition's answer gave the user something to see (records or an error).
  // `frame`: the answer's buffer, which `data.records` views (decoded records keep it alive).
  bool handle_partition(const TopicPartition& tp, PartitionState& p, int64_t fetch_offset,
                        const protocol::FetchResponse::PartitionData& data,
                        const std::shared_ptr<Bytes>& frame);

  NetworkClient& network_;
  SubscriptionState& subscriptions_;
  const ConsumerConfig& config_;
  std::function<void()> on_progress_;
  std::map<int32_t, FetchSessionHandler> sessions_;
  std::set<int32_t> in_flight_;
  std::map<int32_t, Clock::time_point> node_backoff_;
  bool closed_ = false;
  uint64_t fetches_sent_ = 0;
  uint64_t incremental_fetches_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace kafkacore::client
