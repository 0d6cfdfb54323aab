// FindCoordinator (key 10), v0-6 (v4+: batched keys; v6 may name share groups, which we refuse). A group is coordinated by the leader of its
// `__consumer_offsets` partition, which this broker creates when the first group asks (as
// Kafka does). Transaction coordinators come with transactions.
#include "broker/broker.h"
#include "broker/offsets_topic.h"
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
      [&broker](FindCoordinatorRequest req, server::Request request) {
        const int16_t version = request.header.api_version;
        FindCoordinatorResponse response;
        auto answer = [&](int16_t& error, std::optional<std::string>& message, int32_t& node,
                          std::string& host, int32_t& port) {
          if (req.key_type != kGroupKey) {
            error = error_code(Errc::coordinator_not_available);
            message = req.key_type == 1 ? "transactions are not supported yet"
                                        : "only consumer groups (key type 0) are coordinated here";
            node = -1;
            host = "";
            port = -1;
            return;
          }
          if (auto r = broker.offsets_topic().ensure_exists(); !r) {
            error = error_code(Errc::coordinator_not_available);
            message = r.error().message();
            node = -1;
            host = "";
            port = -1;
            return;
          }
          error = 0;
          message.reset();
          node = broker.node_id();
          host = broker.config().advertised();
          port = broker.port();
        };
        if (version >= 4) {
          for (const auto& key : req.coordinator_keys) {
            auto& c = response.coordinators.emplace_back();
            c.key = key;
            answer(c.error_code, c.error_message, c.node_id, c.host, c.port);
          }
        } else {
          answer(response.error_code, response.error_message, response.node_id, response.host,
                 response.port);
          if (version == 0) response.error_message.reset();
        }
        request.respond(response);
      });
  registry.add({FindCoordinatorRequest::api_key, "FindCoordinator", 0, 6, 0, handler});
}

}  // namespace kafkacore::broker
