#pragma once
// Conversions shared by the handlers.
#include <cstring>
#include <memory>
#include <optional>
#include <string>

#include "common/error.h"
#include "common/uuid.h"
#include "protocol/types.h"
#include "server/handler_registry.h"

namespace kafkacore::broker {

class Broker;

inline int16_t error_code(const Error& e) { return static_cast<int16_t>(e.code()); }
inline int16_t error_code(Errc e) { return static_cast<int16_t>(e); }

// Whether the cluster's metadata (this broker's image) has the partition, wherever it lives.
bool partition_in_cluster(const Broker& broker, const std::string& topic, int32_t index);

// Partition-level error for a partition this broker does not hold: another broker has it, or
// nobody does.
Errc missing_partition_error(const Broker& broker, const std::string& topic, int32_t index);

inline protocol::Uuid to_wire(const Uuid& id) {
  protocol::Uuid out;
  std::memcpy(out.bytes.data(), id.bytes.data(), 16);
  return out;
}

inline Uuid from_wire(const protocol::Uuid& id) {
  Uuid out;
  std::memcpy(out.bytes.data(), id.bytes.data(), 16);
  return out;
}

// A response assembled from asynchronous parts (admin operations through the controller):
// every part holds the shared_ptr, calls done() when finished, and the last one answers.
// Whoever creates it holds one part until everything is started.
template <typename Response>
struct Gather {
  server::Request request;
  Response response;
  int outstanding = 1;
  void done() {
    if (--outstanding == 0) request.respond(response);
  }
};

// Registers `fn(broker, request message, request)` for Req's API, advertised as [min, max].
template <typename Req>
void add_handler(server::HandlerRegistry& registry, Broker& broker, int16_t min, int16_t max,
                 void (*fn)(Broker&, Req, server::Request)) {
  registry.add({Req::api_key, Req::api_name, min, max, min,
                server::typed_handler<Req>([&broker, fn](Req req, server::Request request) {
                  fn(broker, std::move(req), std::move(request));
                })});
}

}  // namespace kafkacore::broker
