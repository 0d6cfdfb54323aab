// DeleteRecords (21), DescribeCluster (60), InitProducerId (22), OffsetForLeaderEpoch (23), and
// the partition checks the handlers share.
#include "broker/broker.h"
#include "broker/handlers/handlers.h"
#include "broker/handlers/util.h"
#include "protocol/messages.h"

namespace kafkacore::broker {
namespace {

using protocol::DeleteRecordsRequest;
using protocol::DeleteRecordsResponse;
using protocol::DescribeClusterRequest;
using protocol::DescribeClusterResponse;
using protocol::InitProducerIdRequest;
using protocol::InitProducerIdResponse;
using protocol::OffsetForLeaderEpochRequest;
using protocol::OffsetForLeaderEpochResponse;

}  // namespace

bool partition_in_cluster(const Broker& broker, const std::string& topic, int32_t index) {
  const auto* state = broker.image().topic(topic);
  return state && index >= 0 && static_cast<size_t>(index) < state->partitions.size();
}

Errc missing_partition_error(const Broker& broker, const std::string& topic, int32_t index) {
  return partition_in_cluster(broker, topic, index) ? Errc::not_leader_or_follower
                                                    : Errc::unknown_topic_or_partition;
}

void register_delete_records(server::HandlerRegistry& registry, Broker& broker) {
  auto handler = server::typed_handler<DeleteRecordsRequest>([&broker](DeleteRecordsRequest req,
                                                                       server::Request request) {
    DeleteRecordsResponse response;
    for (const auto& t : req.topics) {
      auto& topic = response.topics.emplace_back();
      topic.name = t.name;
      for (const auto& p : t.partitions) {
        auto& out = topic.partitions.emplace_back();
        out.partition_index = p.partition_index;
        out.low_watermark = -1;
        auto* partition = broker.partition(t.name, p.partition_index);
        if (!partition) {
          out.error_code = error_code(missing_partition_error(broker, t.name, p.partition_index));
          continue;
        }
        if (!partition->is_leader()) {
          out.error_code = error_code(Errc::not_leader_or_follower);
          continue;
        }
        // -1 means "up to the high watermark"; beyond it is out of range.
        const int64_t target = p.offset == -1 ? partition->high_watermark().value() : p.offset;
        if (target < 0 || target > partition->high_watermark().value()) {
          out.error_code = error_code(Errc::offset_out_of_range);
          continue;
        }
        // Followers follow from the log start offset in their Fetch answers.
        auto r = partition->delete_records_before(Offset{target});
        if (!r) {
          out.error_code = error_code(r.error());
          continue;
        }
        out.low_watermark = r->value();
      }
    }
    request.respond(response);
  });
  registry.add({DeleteRecordsRequest::api_key, "DeleteRecords", 0, 2, 0, handler});
}

void register_describe_cluster(server::HandlerRegistry& registry, Broker& broker) {
  auto handler = server::typed_handler<DescribeClusterRequest>(
      [&broker](DescribeClusterRequest req, server::Request request) {
        DescribeClusterResponse response;
        response.endpoint_type = req.endpoint_type;
        response.cluster_id = broker.image().cluster_id().to_string();
        response.controller_id = broker.controller_id();
        for (const auto& [id, state] : broker.image().brokers()) {
          if (state.fenced) continue;
          auto& b = response.brokers.emplace_back();
          b.broker_id = id;
          b.host = state.host;
          b.port = state.port;
          if (!state.rack.empty()) b.rack = state.rack;
        }
        request.respond(response);
      });
  registry.add({DescribeClusterRequest::api_key, "DescribeCluster", 0, 1, 0, handler});
}

void register_init_producer_id(server::HandlerRegistry& registry, Broker& broker) {
  auto handler = server::typed_handler<InitProducerIdRequest>(
      [&broker](InitProducerIdRequest req, server::Request request) {
        InitProducerIdResponse response;
        response.producer_id = -1;
        response.producer_epoch = -1;
        if (req.transactional_id) {
          // Transactions arrive with their own issue; until then only idempotence is offered.
          response.error_code = error_code(Errc::coordinator_not_available);
          request.respond(response);
          return;
        }
        // KIP-360: a producer that lost track of its sequence asks for a bumped epoch.
        if (req.producer_id >= 0 && req.producer_epoch >= 0 && req.producer_epoch < INT16_MAX - 1) {
          response.producer_id = req.producer_id;
          response.producer_epoch = static_cast<int16_t>(req.producer_epoch + 1);
          request.respond(response);
          return;
        }
        auto pending = std::make_shared<server::Request>(std::move(request));
        broker.allocate_producer_id([response, pending](Result<int64_t> id) mutable {
          if (!id) {
            response.error_code = error_code(id.error());
          } else {
            response.producer_id = *id;
            response.producer_epoch = 0;
          }
          pending->respond(response);
        });
      });
  registry.add({InitProducerIdRequest::api_key, "InitProducerId", 0, 4, 0, handler});
}

void register_offset_for_leader_epoch(server::HandlerRegistry& registry, Broker& broker) {
  auto handler = server::typed_handler<OffsetForLeaderEpochRequest>(
      [&broker](OffsetForLeaderEpochRequest req, server::Request request) {
        OffsetForLeaderEpochResponse response;
        for (const auto& t : req.topics) {
          auto& topic = response.topics.emplace_back();
          topic.topic = t.topic;
          for (const auto& p : t.partitions) {
            auto& out = topic.partitions.emplace_back();
            out.partition = p.partition;
            out.leader_epoch = -1;
            out.end_offset = -1;
            auto* partition = broker.partition(t.topic, p.partition);
            if (!partition) {
              out.error_code = error_code(missing_partition_error(broker, t.topic, p.partition));
              continue;
            }
            if (!partition->is_leader()) {
              out.error_code = error_code(Errc::not_leader_or_follower);
              continue;
            }
            const int32_t ours = partition->leader_epoch().value();
            if (auto bad = check_leader_epoch(p.current_leader_epoch, ours)) {
              out.error_code = error_code(*bad);
              continue;
            }
            const auto end = partition->end_offset_for_epoch(p.leader_epoch);
            out.leader_epoch = end.epoch;
            out.end_offset = end.end_offset.value();
          }
        }
        request.respond(response);
      });
  registry.add({OffsetForLeaderEpochRequest::api_key, "OffsetForLeaderEpoch", 0, 4, 0, handler});
}

}  // namespace kafkacore::broker
