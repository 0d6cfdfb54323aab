#include "client/offset_validator.h"

namespace kafkacore::client {

namespace {

// CONSUMER_REPLICA_ID: a consumer asking, as opposed to a follower (its broker id) or a
// debugging tool (-2, the field's default).
constexpr int32_t kConsumerReplicaId = -1;

struct Round {
  std::map<TopicPartition, EpochEndAnswer> answers;
  int in_flight = 0;
  OffsetValidator::Done done;
};

}  // namespace

void OffsetValidator::validate(const std::map<TopicPartition, int32_t>& epochs, Done done) {
  auto round = std::make_shared<Round>();
  round->done = std::move(done);
  const ClusterMetadata& md = network_.metadata();
  std::map<int32_t, std::map<TopicPartition, std::pair<int32_t, int32_t>>> by_leader;
  bool leaderless = false;
  for (const auto& [tp, epoch] : epochs) {
    const PartitionInfo* info = md.partition(tp.topic, tp.partition);
    if (!info || info->leader < 0) {
      round->answers[tp].error = Errc::leader_not_available;
      leaderless = true;
      continue;
    }
    by_leader[info->leader][tp] = {info->leader_epoch, epoch};
    round->answers[tp].current_leader_epoch = info->leader_epoch;
  }
  if (leaderless) network_.update_metadata();
  if (by_leader.empty()) {
    auto finish = std::move(round->done);
    return finish(std::move(round->answers));
  }
  round->in_flight = static_cast<int>(by_leader.size());
  for (auto& [leader, partitions] : by_leader) {
    network_.send<protocol::OffsetForLeaderEpochRequest>(
        leader,
        [partitions](int16_t) {
          protocol::OffsetForLeaderEpochRequest request;
          request.replica_id = kConsumerReplicaId;
          for (const auto& [tp, e] : partitions) {
            if (request.topics.empty() || request.topics.back().topic != tp.topic) {
              request.topics.emplace_back().topic = tp.topic;
            }
            auto& p = request.topics.back().partitions.emplace_back();
            p.partition = tp.partition;
            p.current_leader_epoch = e.first;
            p.leader_epoch = e.second;
          }
          return request;
        },
        [this, round, partitions,
         alive = alive_](Result<Response<protocol::OffsetForLeaderEpochResponse>> r) {
          if (!*alive || closed_) return;
          for (const auto& [tp, e] : partitions) {
            // Missing from the answer (or the request failed): the caller tries again.
            round->answers[tp].error = r ? Errc::unknown_server_error : r.error().code();
          }
          if (r) {
            for (const auto& topic : r->body.topics) {
              for (const auto& p : topic.partitions) {
                TopicPartition tp{topic.topic, p.partition};
                if (!partitions.contains(tp)) continue;
                EpochEndAnswer& a = round->answers[tp];
                a.error = static_cast<Errc>(p.error_code);
                a.epoch = p.leader_epoch;
                a.end_offset = p.end_offset;
              }
            }
          }
          if (--round->in_flight > 0) return;
          auto finish = std::move(round->done);
          finish(std::move(round->answers));
        },
        // v2: CurrentLeaderEpoch, without which the leader cannot fence a stale question.
        SendOptions{.min_version = 2, .max_version = INT16_MAX, .timeout = {}});
  }
}

}  // namespace kafkacore::client
