#include "client/offset_committer.h"

#include "client/consumer_errors.h"
#include "client/errors.h"
#include "common/log.h"

namespace kafkacore::client {

namespace {

constexpr int8_t kGroupKey = 0;

bool membership_error(Errc code) {
  return code == Errc::unknown_member_id || code == Errc::illegal_generation ||
         code == Errc::rebalance_in_progress || code == Errc::fenced_instance_id;
}

Error commit_error(Errc code, const std::string& where) {
  switch (code) {
    case Errc::unknown_member_id:
    case Errc::illegal_generation:
      return Error(code, "commit failed for " + where +
                             ": the group has already rebalanced and may have given the "
                             "partitions to another member; poll() to rejoin");
    case Errc::rebalance_in_progress:
      return Error(code, "commit failed for " + where +
                             ": the group is rebalancing; poll() to complete the rebalance, "
                             "then commit again");
    case Errc::fenced_instance_id:
      return Error(code,
                   "commit failed: another consumer with the same group.instance.id "
                   "has joined the group");
    default:
      return Error(code, "commit failed for " + where + ": " + std::string(errc_name(code)));
  }
}

}  // namespace

struct OffsetCommitter::CommitOp {
  std::map<TopicPartition, OffsetAndMetadata> offsets;
  Clock::time_point deadline;
  bool retry = true;
  std::function<void(Result<void>)> done;
  std::optional<Error> last_error;
  bool finished = false;

  void finish(Result<void> r) {
    if (finished) return;
    finished = true;
    auto callback = std::move(done);
    if (callback) callback(std::move(r));
  }
};

struct OffsetCommitter::FetchOp {
  std::vector<TopicPartition> partitions;
  Clock::time_point deadline;
  std::function<void(Result<Committed>)> done;
  std::optional<Error> last_error;
  bool finished = false;

  void finish(Result<Committed> r) {
    if (finished) return;
    finished = true;
    auto callback = std::move(done);
    callback(std::move(r));
  }
};

void OffsetCommitter::after(std::chrono::milliseconds delay, std::function<void()> fn) {
  auto timer = std::make_shared<asio::steady_timer>(network_.io(), delay);
  timer->async_wait([timer, fn = std::move(fn), alive = alive_](boost::system::error_code ec) {
    if (ec || !*alive) return;
    fn();
  });
}

void OffsetCommitter::coordinator_failed() { network_.forget_coordinator(group_id_, kGroupKey); }

void OffsetCommitter::with_coordinator(Clock::time_point deadline,
                                       std::function<void(Result<int32_t>)> then) {
  if (closed_) return then(std::unexpected(consumer_closed_error()));
  network_.find_coordinator(
      group_id_, kGroupKey,
      [this, deadline, then = std::move(then), alive = alive_](Result<int32_t> r) mutable {
        if (!*alive) return;
        if (r) return then(*r);
        if (closed_) return then(std::unexpected(consumer_closed_error()));
        if (!retriable(r.error().code())) return then(std::unexpected(r.error()));
        const auto backoff = network_.options().retry_backoff;
        if (Clock::now() + backoff >= deadline) {
          return then(std::unexpected(timed_out_error("finding the group coordinator", r.error())));
        }
        after(backoff, [this, deadline, then = std::move(then)]() mutable {
          with_coordinator(deadline, std::move(then));
        });
      });
}

// ---- commits

void OffsetCommitter::commit(std::map<TopicPartition, OffsetAndMetadata> offsets,
                             Clock::time_point deadline, bool retry,
                             std::function<void(Result<void>)> done) {
  auto op = std::make_shared<CommitOp>();
  op->offsets = std::move(offsets);
  op->deadline = deadline;
  op->retry = retry;
  op->done = std::move(done);
  if (op->offsets.empty()) return op->finish({});
  attempt_commit(op);
}

void OffsetCommitter::attempt_commit(const std::shared_ptr<CommitOp>& op) {
  if (closed_) return op->finish(std::unexpected(consumer_closed_error()));
  if (Clock::now() >= op->deadline) {
    return op->finish(std::unexpected(timed_out_error("OffsetCommit", op->last_error)));
  }
  with_coordinator(op->deadline, [this, op](Result<int32_t> node) {
    if (!node) return op->finish(std::unexpected(node.error()));
    Result<CommitIdentity> who = hooks_.identity();
    if (!who) return op->finish(std::unexpected(who.error()));
    ++in_flight_;
    auto retry_or_fail = [this, op](Error error) {
      op->last_error = error;
      const auto backoff = network_.options().retry_backoff;
      if (!op->retry || closed_ || Clock::now() + backoff >= op->deadline) {
        return op->finish(
            std::unexpected(op->retry ? timed_out_error("OffsetCommit", error) : error));
      }
      after(backoff, [this, op] { attempt_commit(op); });
    };
    network_.send<protocol::OffsetCommitRequest>(
        *node,
        [group = group_id_, who = *who, offsets = op->offsets](int16_t) {
          protocol::OffsetCommitRequest request;
          request.group_id = group;
          request.generation_id_or_member_epoch = who.generation;
          request.member_id = who.member_id;
          request.group_instance_id = who.group_instance_id;
          for (const auto& [tp, om] : offsets) {
            if (request.topics.empty() || request.topics.back().name != tp.topic) {
              request.topics.emplace_back().name = tp.topic;
            }
            auto& p = request.topics.back().partitions.emplace_back();
            p.partition_index = tp.partition;
            p.committed_offset = om.offset;
            p.committed_leader_epoch = om.leader_epoch.value_or(-1);
            p.committed_metadata = om.metadata;
          }
          return request;
        },
        [this, op, retry_or_fail,
         alive = alive_](Result<Response<protocol::OffsetCommitResponse>> r) {
          if (!*alive) return;
          --in_flight_;
          if (!r) {
            if (invalidates_coordinator(r.error().code())) coordinator_failed();
            return retry_or_fail(r.error());
          }
          for (const auto& topic : r->body.topics) {
            for (const auto& p : topic.partitions) {
              const auto code = static_cast<Errc>(p.error_code);
              if (code == Errc::none) continue;
              const std::string where = topic.name + "-" + std::to_string(p.partition_index);
              if (membership_error(code)) {
                hooks_.on_membership_error(code);
                return op->finish(std::unexpected(commit_error(code, where)));
              }
              if (invalidates_coordinator(code)) coordinator_failed();
              if (retriable(code)) return retry_or_fail(commit_error(code, where));
              return op->finish(std::unexpected(commit_error(code, where)));
            }
          }
          op->finish({});
        },
        SendOptions{.min_version = static_cast<int16_t>(who->group_instance_id ? 7 : 0),
                    .max_version = INT16_MAX,
                    .timeout = {}});
  });
}

// ---- committed offsets

void OffsetCommitter::fetch(std::vector<TopicPartition> partitions, Clock::time_point deadline,
                            std::function<void(Result<Committed>)> done) {
  auto op = std::make_shared<FetchOp>();
  op->partitions = std::move(partitions);
  op->deadline = deadline;
  op->done = std::move(done);
  if (op->partitions.empty()) return op->finish(Committed{});
  attempt_fetch(op);
}

void OffsetCommitter::attempt_fetch(const std::shared_ptr<FetchOp>& op) {
  if (closed_) return op->finish(std::unexpected(consumer_closed_error()));
  if (Clock::now() >= op->deadline) {
    return op->finish(std::unexpected(timed_out_error("OffsetFetch", op->last_error)));
  }
  with_coordinator(op->deadline, [this, op](Result<int32_t> node) {
    if (!node) return op->finish(std::unexpected(node.error()));
    auto retry = [this, op](Error error) {
      op->last_error = std::move(error);
      const auto backoff = network_.options().retry_backoff;
      if (closed_ || Clock::now() + backoff >= op->deadline) {
        return op->finish(std::unexpected(timed_out_error("OffsetFetch", op->last_error)));
      }
      after(backoff, [this, op] { attempt_fetch(op); });
    };
    std::map<std::string, std::vector<int32_t>> by_topic;
    for (const TopicPartition& tp : op->partitions) by_topic[tp.topic].push_back(tp.partition);
    network_.send<protocol::OffsetFetchRequest>(
        *node,
        [group = group_id_, by_topic, stable = require_stable_](int16_t version) {
          protocol::OffsetFetchRequest request;
          if (version >= 8) {
            auto& g = request.groups.emplace_back();
            g.group_id = group;
            g.topics.emplace();
            for (const auto& [topic, parts] : by_topic) {
              auto& t = g.topics->emplace_back();
              t.name = topic;
              t.partition_indexes = parts;
            }
          } else {
            request.group_id = group;
            request.topics.emplace();
            for (const auto& [topic, parts] : by_topic) {
              auto& t = request.topics->emplace_back();
              t.name = topic;
              t.partition_indexes = parts;
            }
          }
          if (version >= 7) request.require_stable = stable;
          return request;
        },
        [this, op, retry, alive = alive_](Result<Response<protocol::OffsetFetchResponse>> r) {
          if (!*alive) return;
          if (!r) {
            if (invalidates_coordinator(r.error().code())) coordinator_failed();
            return retry(r.error());
          }
          // v8+ answer per group; older versions at the top level. Both shapes flattened here.
          Errc group_error = Errc::none;
          struct Row {
            std::string topic;
            int32_t partition;
            int64_t offset;
            int32_t epoch;
            std::optional<std::string> metadata;
            Errc error;
          };
          std::vector<Row> rows;
          if (r->version >= 8) {
            for (const auto& g : r->body.groups) {
              group_error = static_cast<Errc>(g.error_code);
              for (const auto& t : g.topics) {
                for (const auto& p : t.partitions) {
                  rows.push_back({t.name, p.partition_index, p.committed_offset,
                                  p.committed_leader_epoch, p.metadata,
                                  static_cast<Errc>(p.error_code)});
                }
              }
            }
          } else {
            group_error = static_cast<Errc>(r->body.error_code);
            for (const auto& t : r->body.topics) {
              for (const auto& p : t.partitions) {
                rows.push_back({t.name, p.partition_index, p.committed_offset,
                                p.committed_leader_epoch, p.metadata,
                                static_cast<Errc>(p.error_code)});
              }
            }
          }
          if (group_error != Errc::none) {
            if (invalidates_coordinator(group_error)) coordinator_failed();
            if (retriable(group_error)) {
              return retry(
                  Error(group_error, "OffsetFetch: " + std::string(errc_name(group_error))));
            }
            return op->finish(make_error(group_error, "OffsetFetch for group failed: " +
                                                          std::string(errc_name(group_error))));
          }
          Committed out;
          for (const TopicPartition& tp : op->partitions) out[tp] = std::nullopt;
          for (const Row& row : rows) {
            TopicPartition tp{row.topic, row.partition};
            if (row.error == Errc::unknown_topic_or_partition) continue;  // nothing committed
            if (row.error == Errc::unstable_offset_commit || retriable(row.error)) {
              // A transaction's offsets are pending (or the coordinator is loading): ask again.
              if (invalidates_coordinator(row.error)) coordinator_failed();
              return retry(Error(row.error, "OffsetFetch for " + tp.to_string()));
            }
            if (row.error != Errc::none) {
              return op->finish(
                  make_error(row.error, "OffsetFetch for " + tp.to_string() +
                                            " failed: " + std::string(errc_name(row.error))));
            }
            if (row.offset >= 0) {
              OffsetAndMetadata om;
              om.offset = row.offset;
              om.metadata = row.metadata.value_or("");
              if (row.epoch >= 0) om.leader_epoch = row.epoch;
              out[tp] = std::move(om);
            }
          }
          op->finish(std::move(out));
        });
  });
}

}  // namespace kafkacore::client
