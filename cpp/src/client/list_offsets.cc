#include "client/list_offsets.h"

#include "client/consumer_errors.h"
#include "client/errors.h"

namespace kafkacore::client {

namespace {

// OFFSET_NOT_AVAILABLE (78): the new leader's high watermark is not known yet; Kafka retries.
constexpr int16_t kOffsetNotAvailable = 78;

}  // namespace

struct ListOffsetsClient::Operation {
  std::map<TopicPartition, int64_t> remaining;
  std::map<TopicPartition, TimestampedOffset> results;
  Clock::time_point deadline;
  Done done;
  std::optional<Error> last_error;
  int in_flight = 0;
  bool refresh_metadata = false;
  bool finished = false;
  std::unique_ptr<asio::steady_timer> timer;
};

void ListOffsetsClient::list(std::map<TopicPartition, int64_t> timestamps,
                             Clock::time_point deadline, Done done) {
  auto op = std::make_shared<Operation>();
  op->remaining = std::move(timestamps);
  op->deadline = deadline;
  op->done = std::move(done);
  if (op->remaining.empty()) return finish(op, std::map<TopicPartition, TimestampedOffset>{});
  attempt(op);
}

void ListOffsetsClient::finish(const std::shared_ptr<Operation>& op,
                               Result<std::map<TopicPartition, TimestampedOffset>> r) {
  if (op->finished) return;
  op->finished = true;
  if (op->timer) op->timer->cancel();
  auto done = std::move(op->done);
  done(std::move(r));
}

void ListOffsetsClient::attempt(const std::shared_ptr<Operation>& op) {
  if (op->finished) return;
  if (closed_) return finish(op, std::unexpected(consumer_closed_error()));
  if (Clock::now() >= op->deadline) {
    return finish(op, std::unexpected(timed_out_error("ListOffsets", op->last_error)));
  }
  const ClusterMetadata& md = network_.metadata();
  std::map<int32_t, std::map<TopicPartition, std::pair<int64_t, int32_t>>> by_leader;
  std::vector<std::string> unknown;
  for (const auto& [tp, timestamp] : op->remaining) {
    const PartitionInfo* p = md.partition(tp.topic, tp.partition);
    if (!p || p->leader < 0) {
      unknown.push_back(tp.topic);
      continue;
    }
    by_leader[p->leader][tp] = {timestamp, p->leader_epoch};
  }
  if (!unknown.empty()) {
    network_.want_topics(unknown);
    op->refresh_metadata = true;
    op->last_error =
        Error(Errc::leader_not_available, "no leader known for a partition of " + unknown.front());
  }
  if (by_leader.empty()) return retry_later(op);
  const auto isolation = static_cast<int8_t>(isolation_);
  for (auto& [leader, partitions] : by_leader) {
    ++op->in_flight;
    network_.send<protocol::ListOffsetsRequest>(
        leader,
        [partitions, isolation](int16_t version) {
          protocol::ListOffsetsRequest request;
          request.replica_id = -1;
          // v0-1 know no isolation level (read_uncommitted is all they do).
          if (version >= 2) request.isolation_level = isolation;
          for (const auto& [tp, what] : partitions) {
            if (request.topics.empty() || request.topics.back().name != tp.topic) {
              request.topics.emplace_back().name = tp.topic;
            }
            auto& p = request.topics.back().partitions.emplace_back();
            p.partition_index = tp.partition;
            p.timestamp = what.first;
            p.current_leader_epoch = what.second;
            p.max_num_offsets = 1;
          }
          return request;
        },
        [this, op, alive = alive_](Result<Response<protocol::ListOffsetsResponse>> r) {
          if (!*alive) return;
          --op->in_flight;
          if (op->finished) return;
          if (!r) {
            op->last_error = r.error();
            op->refresh_metadata = true;
          } else {
            for (const auto& topic : r->body.topics) {
              for (const auto& p : topic.partitions) {
                TopicPartition tp{topic.name, p.partition_index};
                auto it = op->remaining.find(tp);
                if (it == op->remaining.end()) continue;
                const auto code = static_cast<Errc>(p.error_code);
                if (code == Errc::none) {
                  TimestampedOffset listed;
                  if (r->version == 0) {
                    listed.offset = p.old_style_offsets.empty() ? -1 : p.old_style_offsets.front();
                  } else {
                    listed.offset = p.offset;
                    listed.timestamp = p.timestamp;
                  }
                  if (p.leader_epoch >= 0) listed.leader_epoch = p.leader_epoch;
                  op->results[tp] = listed;
                  op->remaining.erase(it);
                } else if (retriable(code) || p.error_code == kOffsetNotAvailable) {
                  op->last_error = Error(code, "ListOffsets for " + tp.to_string());
                  if (invalidates_metadata(code)) op->refresh_metadata = true;
                } else {
                  return finish(op,
                                make_error(code, "ListOffsets for " + tp.to_string() +
                                                     " failed: " + std::string(errc_name(code))));
                }
              }
            }
          }
          if (op->in_flight > 0) return;
          if (op->remaining.empty()) return finish(op, std::move(op->results));
          retry_later(op);
        },
        SendOptions{.min_version = 1, .max_version = INT16_MAX, .timeout = {}});
  }
}

void ListOffsetsClient::retry_later(const std::shared_ptr<Operation>& op) {
  if (op->finished) return;
  if (op->refresh_metadata) {
    op->refresh_metadata = false;
    network_.update_metadata([this, op, alive = alive_](Result<void> r) {
      if (!*alive) return;
      if (!r) op->last_error = r.error();
      // A failed update has already waited request.timeout.ms; go on (the deadline decides).
      attempt(op);
    });
    return;
  }
  if (!op->timer) op->timer = std::make_unique<asio::steady_timer>(network_.io());
  op->timer->expires_after(network_.options().retry_backoff);
  op->timer->async_wait([this, op, alive = alive_](boost::system::error_code ec) {
    if (ec || !*alive) return;
    attempt(op);
  });
}

}  // namespace kafkacore::client
