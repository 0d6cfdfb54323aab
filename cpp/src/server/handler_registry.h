#pragma once
// The single source of what the broker implements: handlers and their version ranges. The
// ApiVersions response is built from this table.
#include <cstdint>
#include <map>
#include <string_view>
#include <vector>

#include "server/request.h"

namespace kafkacore::server {

struct ApiRegistration {
  int16_t api_key = 0;
  std::string_view name;
  // Advertised in ApiVersions. Some clients need exact old versions inside the range even where
  // we do not serve them (Produce is advertised from 0 like Kafka 4.x, which closes on v0-2).
  int16_t min_advertised = 0;
  int16_t max_advertised = 0;
  int16_t min_served = 0;  // versions below are answered by closing the connection
  Handler handler;
};

class HandlerRegistry {
 public:
  void add(ApiRegistration registration);
  const ApiRegistration* find(int16_t api_key) const;
  std::vector<const ApiRegistration*> all() const;  // ordered by key

 private:
  std::map<int16_t, ApiRegistration> apis_;
};

// Decodes the body into `Req` and calls `fn(Req&&, Request&&)`; undecodable bodies close the
// connection, as Kafka does for requests it cannot parse.
template <typename Req, typename Fn>
Handler typed_handler(Fn fn) {
  return [fn = std::move(fn)](Request request) mutable {
    Req message;
    protocol::Reader reader(request.body);
    if (auto decoded = message.decode(reader, request.header.api_version); !decoded) {
      request.slot.close_connection();
      return;
    }
    fn(std::move(message), std::move(request));
  };
}

}  // namespace kafkacore::server
