// Metadata (key 3): brokers, cluster id, controller, and topics with their partitions. Unknown
// topics are created when auto.create.topics.enable and the request allow it (v4+ flag; always
// for v0-3), and answered at once: creation here is synchronous.
#include "broker/broker.h"
#include "broker/handlers/handlers.h"
#include "broker/handlers/util.h"
#include "protocol/messages.h"

namespace kafkacore::broker {
namespace {

using protocol::MetadataRequest;
using protocol::MetadataResponse;

MetadataResponse::MetadataResponseTopic describe_topic(Broker& broker,
                                                       const metadata::TopicInfo& topic) {
  MetadataResponse::MetadataResponseTopic out;
  out.name = topic.name;
  out.topic_id = to_wire(topic.id);
  out.is_internal = topic.name == "__consumer_offsets" || topic.name == "__transaction_state";
  for (int32_t p = 0; p < topic.partitions; ++p) {
    MetadataResponse::MetadataResponsePartition part;
    part.partition_index = p;
    auto* partition = broker.partition(topic.name, p);
    part.error_code = partition ? 0 : error_code(Errc::kafka_storage_error);
    part.leader_id = broker.node_id();
    part.leader_epoch = partition ? partition->leader_epoch().value() : 0;
    part.replica_nodes = {broker.node_id()};
    part.isr_nodes = {broker.node_id()};
    out.partitions.push_back(std::move(part));
  }
  return out;
}

}  // namespace

void register_metadata(server::HandlerRegistry& registry, Broker& broker) {
  auto handler = server::typed_handler<MetadataRequest>([&broker](MetadataRequest req,
                                                                  server::Request request) {
    const int16_t version = request.header.api_version;
    MetadataResponse response;
    MetadataResponse::MetadataResponseBroker self;
    self.node_id = broker.node_id();
    self.host = broker.config().advertised();
    self.port = broker.port();
    if (!broker.config().rack.empty()) self.rack = broker.config().rack;
    response.brokers.push_back(self);
    response.cluster_id = broker.metadata().cluster_id().to_string();
    response.controller_id = broker.node_id();

    // v0: an empty list means every topic; v1+: null means every topic.
    const bool all_topics = !req.topics.has_value() || (version == 0 && req.topics->empty());
    if (all_topics) {
      for (const auto* topic : broker.metadata().topics()) {
        response.topics.push_back(describe_topic(broker, *topic));
      }
    } else {
      const bool may_create = version < 4 || req.allow_auto_topic_creation;
      for (const auto& wanted : *req.topics) {
        const metadata::TopicInfo* topic = nullptr;
        if (wanted.name) {
          topic = broker.metadata().topic(*wanted.name);
        } else if (!wanted.topic_id.is_zero()) {
          topic = broker.metadata().topic_by_id(from_wire(wanted.topic_id));
        }
        if (!topic && wanted.name && may_create) {
          auto created = broker.auto_create_topic(*wanted.name);
          if (created) {
            topic = *created;
          } else {
            MetadataResponse::MetadataResponseTopic failed;
            failed.name = *wanted.name;
            failed.error_code = error_code(created.error());
            response.topics.push_back(std::move(failed));
            continue;
          }
        }
        if (!topic) {
          MetadataResponse::MetadataResponseTopic missing;
          missing.name = wanted.name;
          missing.topic_id = wanted.topic_id;
          missing.error_code = error_code(wanted.name ? Errc::unknown_topic_or_partition
                                                      : Errc::unknown_topic_id);
          response.topics.push_back(std::move(missing));
          continue;
        }
        response.topics.push_back(describe_topic(broker, *topic));
      }
    }
    request.respond(response);
  });
  registry.add({MetadataRequest::api_key, "Metadata", 0, 12, 0, handler});
}

}  // namespace kafkacore::broker
