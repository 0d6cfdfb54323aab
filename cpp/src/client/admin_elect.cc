// ElectLeaders (KIP-460) through any broker, which forwards it to the controller.
#include "client/admin_ops.h"

namespace kafkacore::client::admin {

using protocol::ElectLeadersRequest;
using protocol::ElectLeadersResponse;

void elect_leaders(Context& ctx, ElectionType type,
                   const std::optional<std::vector<TopicPartition>>& partitions, Deadline deadline,
                   Done<PartitionResults<void>> done) {
  using C = LambdaCall<int, PartitionResults<void>>;
  auto call = std::make_shared<C>(
      ctx, "ElectLeaders", deadline, unwrap(std::move(done)), [type, partitions](C& c) {
        ElectLeadersRequest request;
        request.election_type = static_cast<int8_t>(type);
        request.timeout_ms = c.server_timeout_ms();
        if (partitions) {
          request.topic_partitions.emplace();
          for (const auto& [topic, ids] : by_topic(*partitions)) {
            auto& t = request.topic_partitions->emplace_back();
            t.topic = topic;
            t.partitions = ids;
          }
        }
        c.net().send_any<ElectLeadersRequest>(
            [request](int16_t) { return request; },
            c.track([&c](const Result<Response<ElectLeadersResponse>>& r) {
              if (!r) return c.retry_or_fail(0, r.error());
              if (r->body.error_code != 0) {
                return c.retry_or_fail(0, wire_error(r->body.error_code));
              }
              PartitionResults<void> out;
              for (const auto& t : r->body.replica_election_results) {
                for (const auto& p : t.partition_result) {
                  TopicPartition tp{t.topic, p.partition_id};
                  if (p.error_code == 0) {
                    out.emplace(tp, Result<void>{});
                  } else {
                    out.emplace(tp, std::unexpected(wire_error(p.error_code, p.error_message)));
                  }
                }
              }
              c.resolve(0, std::move(out));
            }),
            // v0 knows only preferred elections.
            c.send_options(type == ElectionType::preferred ? 0 : 1));
      });
  call->add(0);
  call->start();
}

}  // namespace kafkacore::client::admin
