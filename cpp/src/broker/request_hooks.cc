#include "broker/request_hooks.h"

#include <optional>
#include <string>

#include "broker/error_responses.h"
#include "common/log.h"

namespace kafkacore::broker {

RequestHooks::RequestHooks(Broker& broker, server::asio::io_context& io,
                           server::RequestFaults& faults, server::RequestLog& log)
    : broker_(broker), io_(io), faults_(faults), log_(log) {}

RequestHooks::~RequestHooks() = default;

void RequestHooks::install(server::HandlerRegistry& registry) {
  for (const server::ApiRegistration* api : registry.all()) {
    server::ApiRegistration wrapped = *api;
    auto inner = std::make_shared<const server::Handler>(std::move(wrapped.handler));
    wrapped.handler = [this, inner](server::Request request) {
      dispatch(inner, std::move(request));
    };
    registry.add(std::move(wrapped));  // replaces the entry for that key
  }
}

void RequestHooks::dispatch(const HandlerPtr& handler, server::Request request) {
  log_.record(request.header, request.client);
  if (faults_.idle() || stopped_) return (*handler)(std::move(request));

  const auto& header = request.header;
  // Decoded only if a rule asks, at most once per request.
  std::optional<std::vector<std::string>> topics;
  std::optional<bool> replication;
  server::RequestFacts facts;
  facts.api_key = header.api_key;
  if (header.client_id) facts.client_id = *header.client_id;
  facts.replication = [&] {
    if (!replication)
      replication = is_replication_request(header.api_key, header.api_version, request.body);
    return *replication;
  };
  facts.topics = [&]() -> const std::vector<std::string>& {
    if (!topics) topics = request_topics(header.api_key, header.api_version, request.body);
    return *topics;
  };
  const auto decision = faults_.decide(facts);
  if (!decision) return (*handler)(std::move(request));

  KC_LOG(debug, "faults", "fault applied",
         {{"rule", std::to_string(decision->rule_id)},
          {"action", std::string(server::fault_action_name(decision->action))},
          {"api_key", std::to_string(header.api_key)},
          {"correlation_id", std::to_string(header.correlation_id)},
          {"client", request.client ? request.client->address : std::string()}});
  switch (decision->action) {
    case server::FaultAction::error:
      answer_with_error(broker_, std::move(request), decision->error_code);
      return;
    case server::FaultAction::delay:
      delay(handler, std::move(request), decision->delay_ms);
      return;
    case server::FaultAction::drop_connection:
      request.slot.close_connection();
      return;
    case server::FaultAction::black_hole:
      // A rule removed meanwhile has a release queued behind this on the reactor.
      held_[decision->rule_id].push_back(std::move(request));
      return;
  }
}

void RequestHooks::delay(const HandlerPtr& handler, server::Request request, int64_t delay_ms) {
  const uint64_t id = next_delay_id_++;
  auto& entry = delayed_[id];
  entry.timer = std::make_unique<server::asio::steady_timer>(io_);
  entry.request = std::move(request);
  entry.handler = handler;
  entry.timer->expires_after(std::chrono::milliseconds(delay_ms));
  // Only the id is captured: release_all() may drop the entry (and its request) first.
  entry.timer->async_wait([this, id](const boost::system::error_code& ec) {
    if (ec) return;
    auto it = delayed_.find(id);
    if (it == delayed_.end()) return;
    server::Request ready = std::move(it->second.request);
    HandlerPtr inner = std::move(it->second.handler);
    delayed_.erase(it);
    (*inner)(std::move(ready));
  });
}

void RequestHooks::release(const std::vector<uint64_t>& rule_ids) {
  for (uint64_t id : rule_ids) held_.erase(id);  // each dropped slot closes its connection
}

void RequestHooks::release_all() {
  stopped_ = true;
  held_.clear();
  delayed_.clear();
}

size_t RequestHooks::held() const {
  size_t n = 0;
  for (const auto& [id, requests] : held_) n += requests.size();
  return n;
}

}  // namespace kafkacore::broker
