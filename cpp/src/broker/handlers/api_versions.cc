// ApiVersions (key 18): the advertised ranges come from the handler registry, the single
// source of what is implemented. KIP-511: an unknown request version gets a v0 answer with
// UNSUPPORTED_VERSION and our ApiVersions range, so the client can retry with one we know.
#include <regex>

#include "broker/broker.h"
#include "broker/handlers/handlers.h"
#include "broker/handlers/util.h"
#include "protocol/messages.h"

namespace kafkacore::broker {
namespace {

using protocol::ApiVersionsRequest;
using protocol::ApiVersionsResponse;

constexpr int16_t kMaxVersion = 4;

// Kafka's rule for client software names and versions (KIP-511).
bool valid_software_field(const std::string& s) {
  static const std::regex pattern("[a-zA-Z0-9](?:[a-zA-Z0-9\\-.]*[a-zA-Z0-9])?");
  return std::regex_match(s, pattern);
}

}  // namespace

void register_api_versions(server::HandlerRegistry& registry, Broker&) {
  auto handler = [&registry](server::Request request) {
    ApiVersionsResponse response;
    const int16_t version = request.header.api_version;
    auto add_ranges = [&](bool only_self) {
      for (const auto* api : registry.all()) {
        if (only_self && api->api_key != ApiVersionsRequest::api_key) continue;
        ApiVersionsResponse::ApiVersion v;
        v.api_key = api->api_key;
        v.min_version = api->min_advertised;
        v.max_version = api->max_advertised;
        response.api_keys.push_back(v);
      }
    };
    if (version < 0 || version > kMaxVersion) {
      response.error_code = error_code(Errc::unsupported_version);
      add_ranges(true);
      request.slot.send(protocol::encode_response(request.header.correlation_id,
                                                  ApiVersionsRequest::api_key, 0, response));
      return;
    }
    ApiVersionsRequest message;
    protocol::Reader reader(request.body);
    if (!message.decode(reader, version)) {
      request.slot.close_connection();
      return;
    }
    if (version >= 3 && (!valid_software_field(message.client_software_name) ||
                         !valid_software_field(message.client_software_version))) {
      response.error_code = error_code(Errc::invalid_request);
    }
    add_ranges(false);
    request.respond(response);
  };
  registry.add({ApiVersionsRequest::api_key, "ApiVersions", 0, kMaxVersion, 0, handler});
}

}  // namespace kafkacore::broker
