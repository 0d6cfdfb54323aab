// FindCoordinator (key 10), v0-6 (v4+: batched keys; v6 may name share groups, which we refuse). A group is coordinated by the leader of its
// `__consumer_offsets` partition, which this broker creates when the first group asks (as
// Kafka does). Transaction coordinators come with transactions.
#include "broker/broker.h"
#include "broker/offsets_topic.h"
#include "group/group_records.h"
#include "broker/handlers/handlers.h"
#include "broker/handlers/util.h"
#include "protocol/messages.h"

namespace kafkacore::broker {
namespace {

using protocol::FindCoordinatorRequest;
using protocol::FindCoordinatorResponse;

constexpr int8_t kGroupKey = 0;

}  // namespace

void register_find_coordinator(server::HandlerRegistry& registry, Broker& broker) {
  auto handler = server::typed_handler<FindCoordinatorRequest>(
      [&broker](FindCoordinatorRequest incoming, server::Request incoming_request) {
        auto respond = [&broker](const FindCoordinatorRequest& req, server::Request& request,
                                 std::optional<Error> creation_failed) {
          const int16_t version = request.header.api_version;
          FindCoordinatorResponse response;
          auto answer = [&](const std::string& key, int16_t& error, std::optional<std::string>& message,
                            int32_t& node, std::string& host, int32_t& port) {
            node = -1;
            host = "";
            port = -1;
            auto refuse = [&](Errc code, std::string why) {
              error = error_code(code);
              message = std::move(why);
            };
            if (req.key_type != kGroupKey) {
              return refuse(Errc::coordinator_not_available,
                            req.key_type == 1 ? "transactions are not supported yet"
                                              : "only consumer groups (key type 0) are coordinated here");
            }
            if (creation_failed) return refuse(Errc::coordinator_not_available, creation_failed->message());
            const auto* topic = broker.image().topic(kOffsetsTopic);
            if (!topic || topic->partitions.empty()) {
              return refuse(Errc::coordinator_not_available, "__consumer_offsets is being created");
            }
            const int32_t p = group::partition_for_group(key, static_cast<int32_t>(topic->partitions.size()));
            const int32_t leader_id = broker.advertised_leader(topic->partitions[p].leader);
            const auto* leader = leader_id >= 0 ? broker.image().broker(leader_id) : nullptr;
            if (!leader) {
              return refuse(Errc::coordinator_not_available,
                            "__consumer_offsets partition " + std::to_string(p) + " has no leader");
            }
            error = 0;
            message.reset();
            node = leader->id;
            host = leader->host;
            port = leader->port;
          };
          if (version >= 4) {
            for (const auto& key : req.coordinator_keys) {
              auto& c = response.coordinators.emplace_back();
              c.key = key;
              answer(key, c.error_code, c.error_message, c.node_id, c.host, c.port);
            }
          } else {
            answer(req.key, response.error_code, response.error_message, response.node_id,
                   response.host, response.port);
            if (version == 0) response.error_message.reset();
          }
          request.respond(response);
        };
        if (incoming.key_type != kGroupKey || broker.offsets_topic().exists()) {
          return respond(incoming, incoming_request, std::nullopt);
        }
        // The first group: the topic is created (as Kafka does), then the question answered.
        auto pending = std::make_shared<std::pair<FindCoordinatorRequest, server::Request>>(
            std::move(incoming), std::move(incoming_request));
        broker.offsets_topic().ensure_exists([respond, pending](Result<void> created) {
          respond(pending->first, pending->second,
                  created ? std::nullopt : std::optional<Error>(created.error()));
        });
      });
  registry.add({FindCoordinatorRequest::api_key, "FindCoordinator", 0, 6, 0, handler});
}

}  // namespace kafkacore::broker
