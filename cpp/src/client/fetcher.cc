#include "client/fetcher.h"

#include "client/errors.h"
#include "client/fetch_decoder.h"
#include "common/log.h"

namespace kafkacore::client {

namespace {

// A partition with this many unreturned chunks is not fetched again: one being handed out, one
// ready behind it. Enough to keep poll() from waiting without buffering without bound.
constexpr size_t kMaxChunksPerPartition = 2;

}  // namespace

Fetcher::Fetcher(NetworkClient& network, SubscriptionState& subscriptions,
                 const ConsumerConfig& config, std::function<void()> on_progress)
    : network_(network),
      subscriptions_(subscriptions),
      config_(config),
      on_progress_(std::move(on_progress)) {}

void Fetcher::maybe_send() {
  if (closed_) return;
  if (subscriptions_.buffered_bytes() >= static_cast<size_t>(config_.fetch_max_bytes)) return;
  const auto now = Clock::now();
  const ClusterMetadata& md = network_.metadata();
  std::map<int32_t, std::map<TopicPartition, FetchTarget>> by_node;
  std::vector<std::string> leaderless;
  for (auto& [tp, p] : subscriptions_.partitions()) {
    if (!p.has_position() || p.paused || p.fetch_in_flight || now < p.retry_after) continue;
    if (p.chunks.size() >= kMaxChunksPerPartition) continue;
    const PartitionInfo* info = md.partition(tp.topic, tp.partition);
    if (!info || info->leader < 0) {
      leaderless.push_back(tp.topic);
      continue;
    }
    if (in_flight_.contains(info->leader)) continue;
    if (auto b = node_backoff_.find(info->leader); b != node_backoff_.end() && now < b->second) {
      continue;
    }
    by_node[info->leader][tp] =
        FetchTarget{p.fetch_offset, config_.max_partition_fetch_bytes, info->leader_epoch};
  }
  if (!leaderless.empty()) {
    network_.want_topics(leaderless);
    network_.update_metadata();
  }
  for (auto& [node, targets] : by_node) send(node, std::move(targets));
}

void Fetcher::send(int32_t node, std::map<TopicPartition, FetchTarget> targets) {
  auto in_flight = std::make_shared<InFlight>();
  in_flight->node = node;
  for (const auto& [tp, target] : targets) {
    PartitionState* p = subscriptions_.find(tp);
    p->fetch_in_flight = true;
    in_flight->partitions[tp] = {target.fetch_offset, p->seek_generation};
  }
  in_flight_.insert(node);
  ++fetches_sent_;
  network_.send<protocol::FetchRequest>(
      node,
      [this, node, targets = std::move(targets)](int16_t version) {
        protocol::FetchRequest request;
        request.replica_id = -1;
        request.max_wait_ms = config_.fetch_max_wait_ms;
        request.min_bytes = config_.fetch_min_bytes;
        request.max_bytes = config_.fetch_max_bytes;
        request.isolation_level = static_cast<int8_t>(config_.isolation_level);
        request.rack_id = config_.client_rack.value_or("");
        FetchSessionHandler& session = sessions_[node];
        session.build(targets, version, request);
        if (!session.last_was_full()) ++incremental_fetches_;
        return request;
      },
      [this, in_flight, alive = alive_](Result<Response<protocol::FetchResponse>> r) {
        if (!*alive) return;
        on_response(in_flight, std::move(r));
      },
      // v4: isolation level and the last stable offset, the oldest Kafka 4 still serves.
      SendOptions{.min_version = 4, .max_version = INT16_MAX, .timeout = {}});
}

void Fetcher::on_response(const std::shared_ptr<InFlight>& in_flight,
                          Result<Response<protocol::FetchResponse>> r) {
  const int32_t node = in_flight->node;
  in_flight_.erase(node);
  for (const auto& [tp, sent] : in_flight->partitions) {
    if (PartitionState* p = subscriptions_.find(tp)) p->fetch_in_flight = false;
  }
  if (closed_) return;
  FetchSessionHandler& session = sessions_[node];
  const auto now = Clock::now();
  if (!r) {
    session.on_error(r.error().code());
    KC_LOG(debug, "consumer", "fetch failed",
           {{"broker", std::to_string(node)}, {"error", r.error().to_string()}});
    if (invalidates_metadata(r.error().code())) network_.update_metadata();
    node_backoff_[node] = now + network_.options().retry_backoff;
    return;
  }
  const auto top = static_cast<Errc>(r->body.error_code);
  if (top != Errc::none) {
    session.on_error(top);
    if (top == Errc::fetch_session_id_not_found || top == Errc::invalid_fetch_session_epoch) {
      // The broker forgot the session (restart, eviction): a full fetch right away.
      KC_LOG(debug, "consumer", "fetch session reset",
             {{"broker", std::to_string(node)}, {"error", std::string(errc_name(top))}});
    } else {
      KC_LOG(debug, "consumer", "fetch error",
             {{"broker", std::to_string(node)}, {"error", std::string(errc_name(top))}});
      node_backoff_[node] = now + network_.options().retry_backoff;
    }
    maybe_send();
    return;
  }
  session.on_response(r->body.session_id);
  bool progress = false;
  for (const auto& topic : r->body.responses) {
    for (const auto& data : topic.partitions) {
      TopicPartition tp{topic.topic, data.partition_index};
      auto sent = in_flight->partitions.find(tp);
      if (sent == in_flight->partitions.end()) continue;
      PartitionState* p = subscriptions_.find(tp);
      // Revoked, sought or paused since the request left: its answer is stale.
      if (!p || !p->has_position() || p->seek_generation != sent->second.second ||
          p->fetch_offset != sent->second.first) {
        continue;
      }
      progress = handle_partition(tp, *p, sent->second.first, data, r->frame) || progress;
    }
  }
  if (progress) on_progress_();
  maybe_send();
}

bool Fetcher::handle_partition(const TopicPartition& tp, PartitionState& p, int64_t fetch_offset,
                               const protocol::FetchResponse::PartitionData& data,
                               const std::shared_ptr<Bytes>& frame) {
  const auto code = static_cast<Errc>(data.error_code);
  const auto now = Clock::now();
  const auto backoff = network_.options().retry_backoff;
  if (code == Errc::none) {
    if (data.high_watermark >= 0) p.high_watermark = data.high_watermark;
    if (data.last_stable_offset >= 0) p.last_stable_offset = data.last_stable_offset;
    if (data.log_start_offset >= 0) p.log_start_offset = data.log_start_offset;
    if (data.records.bytes.empty()) return false;
    std::vector<AbortedTransaction> aborted;
    if (config_.isolation_level == IsolationLevel::read_committed && data.aborted_transactions) {
      aborted.reserve(data.aborted_transactions->size());
      for (const auto& t : *data.aborted_transactions) {
        aborted.push_back({t.producer_id, t.first_offset});
      }
    }
    auto chunk = decode_fetched_records(tp.topic, tp.partition, data.records.bytes, frame,
                                        fetch_offset, config_.check_crcs, std::move(aborted));
    if (!chunk) {
      p.error = chunk.error();
      p.retry_after = now + backoff;
      return true;
    }
    if (chunk->fetched->records.empty() && chunk->next_offset <= fetch_offset) return false;
    subscriptions_.add_chunk(p, std::move(*chunk));
    return true;
  }
  switch (code) {
    case Errc::offset_out_of_range:
      if (subscriptions_.default_reset() == OffsetResetPolicy::none) {
        p.error =
            Error(code, "fetch offset " + std::to_string(fetch_offset) + " of " + tp.to_string() +
                            " is out of range and auto.offset.reset is none");
        p.retry_after = now + backoff;
        return true;
      }
      KC_LOG(info, "consumer", "fetch offset out of range; resetting",
             {{"partition", tp.to_string()}, {"offset", std::to_string(fetch_offset)}});
      subscriptions_.request_reset(p, subscriptions_.default_reset());
      return true;
    case Errc::fenced_leader_epoch:
    case Errc::unknown_leader_epoch:
      // KIP-320: the leader changed under us; check the position against its log before
      // fetching again (once the metadata has caught up, the validator names its epoch).
      network_.update_metadata();
      subscriptions_.request_validation(p);
      p.retry_after = now + backoff;
      return true;
    case Errc::not_leader_or_follower:
    case Errc::unknown_topic_or_partition:
    case Errc::leader_not_available:
    case Errc::kafka_storage_error:
    case Errc::unknown_topic_id:
      network_.update_metadata();
      p.retry_after = now + backoff;
      return false;
    default:
      KC_LOG(debug, "consumer", "fetch partition error",
             {{"partition", tp.to_string()}, {"error", std::string(errc_name(code))}});
      if (!retriable(code)) {
        p.error =
            Error(code, "fetch of " + tp.to_string() + " failed: " + std::string(errc_name(code)));
        p.retry_after = now + backoff;
        return true;
      }
      p.retry_after = now + backoff;
      return false;
  }
}

}  // namespace kafkacore::client
