// Admin operations at partition leaders: DeleteRecords and ListOffsets. Leaders come from a
// Metadata request every round, so a leader that moved is found again after NOT_LEADER.
#include "client/admin_ops.h"

namespace kafkacore::client::admin {
namespace {

using protocol::DeleteRecordsRequest;
using protocol::DeleteRecordsResponse;
using protocol::ListOffsetsRequest;
using protocol::ListOffsetsResponse;

constexpr int64_t kMaxTimestampSpec = -3;
constexpr int16_t kMaxTimestampVersion = 7;  // ListOffsets v7 (KIP-734)
constexpr int8_t kReadCommitted = 1;

// Applies per-partition answers: `ok(tp, answer)` for successes, leader_error otherwise;
// partitions without an answer are tried again.
template <typename V, typename Topics, typename Ok>
void apply_partitions(Call<TopicPartition, V>& call, const std::vector<TopicPartition>& asked,
                      const Topics& topics, Ok ok) {
  for (const auto& t : topics) {
    for (const auto& p : t.partitions) {
      TopicPartition tp{t.name, p.partition_index};
      if (!call.is_pending(tp)) continue;
      if (p.error_code == 0) {
        ok(tp, p);
      } else {
        leader_error(call, tp, wire_error(p.error_code));
      }
    }
  }
  for (const TopicPartition& tp : asked) {
    if (call.is_pending(tp)) call.again(tp, Error(Errc::unknown_server_error, "no answer"));
  }
}

}  // namespace

void delete_records(Context& ctx, const std::map<TopicPartition, int64_t>& before_offsets,
                    Deadline deadline, Done<PartitionResults<int64_t>> done) {
  using C = LambdaCall<TopicPartition, int64_t>;
  auto call =
      std::make_shared<C>(ctx, "DeleteRecords", deadline, std::move(done), [before_offsets](C& c) {
        with_leaders(
            c, [&c, &before_offsets](std::map<int32_t, std::vector<TopicPartition>> by_leader) {
              for (const auto& [leader, asked] : by_leader) {
                DeleteRecordsRequest request;
                for (const auto& [topic, partitions] : by_topic(asked)) {
                  auto& t = request.topics.emplace_back();
                  t.name = topic;
                  for (int32_t p : partitions) {
                    auto& out = t.partitions.emplace_back();
                    out.partition_index = p;
                    out.offset = before_offsets.at({topic, p});
                  }
                }
                request.timeout_ms = c.server_timeout_ms();
                c.net().send<DeleteRecordsRequest>(
                    leader, [request](int16_t) { return request; },
                    c.track([&c, asked](const Result<Response<DeleteRecordsResponse>>& r) {
                      if (!r) return c.retry_or_fail_all(asked, r.error());
                      apply_partitions(c, asked, r->body.topics,
                                       [&c](const TopicPartition& tp, const auto& p) {
                                         c.resolve(tp, p.low_watermark);
                                       });
                    }),
                    c.send_options());
              }
            });
      });
  for (const auto& [tp, offset] : before_offsets) call->add(tp);
  call->start();
}

void list_offsets(Context& ctx, const std::map<TopicPartition, OffsetSpec>& specs,
                  bool read_committed, Deadline deadline,
                  Done<PartitionResults<ListedOffset>> done) {
  using C = LambdaCall<TopicPartition, ListedOffset>;
  auto call = std::make_shared<C>(
      ctx, "ListOffsets", deadline, std::move(done), [specs, read_committed](C& c) {
        with_leaders(c, [&c, &specs,
                         read_committed](std::map<int32_t, std::vector<TopicPartition>> by_leader) {
          for (const auto& [leader, asked] : by_leader) {
            ListOffsetsRequest request;
            request.replica_id = -1;  // a client, not a follower
            request.isolation_level = read_committed ? kReadCommitted : 0;
            bool max_timestamp = false;
            for (const auto& [topic, partitions] : by_topic(asked)) {
              auto& t = request.topics.emplace_back();
              t.name = topic;
              for (int32_t p : partitions) {
                auto& out = t.partitions.emplace_back();
                out.partition_index = p;
                out.timestamp = specs.at({topic, p}).value();
                max_timestamp |= out.timestamp == kMaxTimestampSpec;
              }
            }
            c.net().send<ListOffsetsRequest>(
                leader, [request](int16_t) { return request; },
                c.track([&c, asked](const Result<Response<ListOffsetsResponse>>& r) {
                  if (!r) return c.retry_or_fail_all(asked, r.error());
                  apply_partitions(
                      c, asked, r->body.topics, [&c](const TopicPartition& tp, const auto& p) {
                        c.resolve(tp, ListedOffset{p.offset, p.timestamp, p.leader_epoch});
                      });
                }),
                // v1 answers a single offset (v0 a list); isolation levels need v2.
                c.send_options(max_timestamp ? kMaxTimestampVersion : (read_committed ? 2 : 1)));
          }
        });
      });
  for (const auto& [tp, spec] : specs) call->add(tp);
  call->start();
}

}  // namespace kafkacore::client::admin
