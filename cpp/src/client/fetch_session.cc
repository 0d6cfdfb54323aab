#include "client/fetch_session.h"

namespace kafkacore::client {

namespace {

constexpr int32_t kFinalEpoch = -1;  // "no session": a full fetch that opens nothing

void add_partition(protocol::FetchRequest& request, const TopicPartition& tp,
                   const FetchTarget& target) {
  if (request.topics.empty() || request.topics.back().topic != tp.topic) {
    auto& topic = request.topics.emplace_back();
    topic.topic = tp.topic;
  }
  auto& p = request.topics.back().partitions.emplace_back();
  p.partition = tp.partition;
  p.current_leader_epoch = target.leader_epoch;
  p.fetch_offset = target.fetch_offset;
  p.partition_max_bytes = target.max_bytes;
}

}  // namespace

void FetchSessionHandler::build(const std::map<TopicPartition, FetchTarget>& wanted,
                                int16_t version, protocol::FetchRequest& request) {
  request.topics.clear();
  request.forgotten_topics_data.clear();
  pending_ = wanted;
  sessions_supported_ = version >= 7;
  if (!sessions_supported_) {
    pending_full_ = true;
    request.session_id = 0;
    request.session_epoch = kFinalEpoch;
    for (const auto& [tp, target] : wanted) add_partition(request, tp, target);
    return;
  }
  request.session_id = id_;
  request.session_epoch = epoch_;
  pending_full_ = epoch_ == 0;
  if (pending_full_) {
    for (const auto& [tp, target] : wanted) add_partition(request, tp, target);
    return;
  }
  for (const auto& [tp, target] : wanted) {
    auto it = session_.find(tp);
    if (it == session_.end() || !(it->second == target)) add_partition(request, tp, target);
  }
  for (const auto& [tp, target] : session_) {
    if (wanted.contains(tp)) continue;
    if (request.forgotten_topics_data.empty() ||
        request.forgotten_topics_data.back().topic != tp.topic) {
      request.forgotten_topics_data.emplace_back().topic = tp.topic;
    }
    request.forgotten_topics_data.back().partitions.push_back(tp.partition);
  }
}

void FetchSessionHandler::on_response(int32_t response_session_id) {
  if (!sessions_supported_) return;
  if (pending_full_) {
    // The broker may decline to open a session (its cache is full): stay with full fetches.
    id_ = response_session_id;
    epoch_ = id_ != 0 ? 1 : 0;
  } else {
    epoch_ = epoch_ == INT32_MAX ? 1 : epoch_ + 1;
  }
  session_ = std::move(pending_);
  pending_.clear();
  if (id_ == 0) session_.clear();
}

void FetchSessionHandler::on_error(Errc code) {
  pending_.clear();
  session_.clear();
  // An unknown id cannot be closed; anything else restarts the session by closing it
  // (epoch 0 with the old id), as Java's FetchSessionHandler does.
  if (code == Errc::fetch_session_id_not_found) id_ = 0;
  epoch_ = 0;
}

}  // namespace kafkacore::client
