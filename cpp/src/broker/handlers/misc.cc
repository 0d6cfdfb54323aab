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

namespace {

// DeleteRecords answers once every in-sync replica dropped the records (Kafka's delayed
// DeleteRecords): the leader moves its log start at once, followers follow it from their Fetch
// answers and report theirs in the next Fetch; the partition's low watermark (the smallest of
// them) completes the wait, or timeout_ms ends it with REQUEST_TIMED_OUT.
struct DeleteRecordsWait {
  struct Slot {
    std::string topic;
    int32_t index;
    Uuid topic_id;
    uint64_t wait_id = 0;
    DeleteRecordsResponse::DeleteRecordsPartitionResult* out;
    bool finished = false;
  };
  server::Request request;
  DeleteRecordsResponse response;
  std::vector<Slot> slots;  // stable: reserved before any wait starts
  std::unique_ptr<boost::asio::steady_timer> timer;
  int outstanding = 1;  // the handler holds one until every wait is registered
  void done() {
    if (--outstanding > 0) return;
    if (timer) timer->cancel();
    request.respond(response);
  }
};

}  // namespace

void register_delete_records(server::HandlerRegistry& registry, Broker& broker) {
  auto handler = server::typed_handler<DeleteRecordsRequest>([&broker](DeleteRecordsRequest req,
                                                                       server::Request request) {
    auto wait = std::make_shared<DeleteRecordsWait>();
    size_t count = 0;
    for (const auto& t : req.topics) count += t.partitions.size();
    wait->slots.reserve(count);
    std::vector<std::pair<replication::Partition*, Offset>> waiting;
    for (const auto& t : req.topics) {
      auto& topic = wait->response.topics.emplace_back();
      topic.name = t.name;
      topic.partitions.reserve(t.partitions.size());
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
        auto r = partition->delete_records_before(Offset{target});
        if (!r) {
          out.error_code = error_code(r.error());
          continue;
        }
        wait->slots.push_back({t.name, p.partition_index, partition->topic_id(), 0, &out, false});
        waiting.emplace_back(partition, *r);
      }
    }
    wait->request = std::move(request);
    if (!waiting.empty()) {
      wait->timer = std::make_unique<boost::asio::steady_timer>(broker.io());
      wait->timer->expires_after(std::chrono::milliseconds(std::max(req.timeout_ms, 0)));
      wait->timer->async_wait([wait, &broker](const boost::system::error_code& ec) {
        if (ec) return;
        for (auto& slot : wait->slots) {
          if (slot.finished) continue;
          slot.finished = true;
          auto* p = broker.partition(slot.topic, slot.index);
          if (p && p->topic_id() == slot.topic_id) p->cancel_wait(slot.wait_id);
          slot.out->error_code = error_code(Errc::request_timed_out);
          wait->done();
        }
      });
    }
    wait->outstanding += static_cast<int>(waiting.size());
    for (size_t i = 0; i < waiting.size(); ++i) {
      auto* partition = waiting[i].first;
      // It may complete inside the call (the low watermark is there already).
      wait->slots[i].wait_id =
          partition->wait_for_low_watermark(waiting[i].second, [wait, i, partition](Errc e) {
            auto& slot = wait->slots[i];
            if (slot.finished) return;
            slot.finished = true;
            if (e == Errc::none) {
              slot.out->low_watermark = partition->low_watermark().value();
            } else {
              slot.out->error_code = error_code(e);
            }
            wait->done();
          });
    }
    wait->done();
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
            if (auto bad = partition->check_leader_epoch(p.current_leader_epoch);
                bad != Errc::none) {
              out.error_code = error_code(bad);
              continue;
            }
            if (!partition->is_leader()) {
              out.error_code = error_code(Errc::not_leader_or_follower);
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
