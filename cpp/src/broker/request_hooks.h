#pragma once
// Puts the request log and request fault injection in front of every Kafka API handler of a
// broker: each request is recorded (server::RequestLog), then, if a fault rule applies
// (server::RequestFaults), answered with an error, delayed, cut off or held instead of going
// straight to its handler. Reactor thread only, apart from what RequestFaults/RequestLog allow.
//
// Held requests (black holes) keep their response slots: the connection stays open and the
// client times out. They are dropped, which closes their connections, when their rule is removed
// or the broker stops; a rule that keeps matching keeps every request it swallowed (with its
// frame) until then. Delayed requests run when their timer fires, or are dropped on stop.
#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include "server/asio.h"
#include "server/handler_registry.h"
#include "server/request_faults.h"
#include "server/request_log.h"

namespace kafkacore::broker {

class Broker;

class RequestHooks {
 public:
  RequestHooks(Broker& broker, server::asio::io_context& io, server::RequestFaults& faults,
               server::RequestLog& log);
  ~RequestHooks();
  RequestHooks(const RequestHooks&) = delete;
  RequestHooks& operator=(const RequestHooks&) = delete;

  // Wraps every handler registered so far.
  void install(server::HandlerRegistry& registry);
  // Drops the requests held by these rules (their connections close).
  void release(const std::vector<uint64_t>& rule_ids);
  // Drops every held and delayed request; later delays are not started. On stop.
  void release_all();
  size_t held() const;

 private:
  using HandlerPtr = std::shared_ptr<const server::Handler>;
  struct Delayed {
    std::unique_ptr<server::asio::steady_timer> timer;
    server::Request request;
    HandlerPtr handler;
  };
  void dispatch(const HandlerPtr& handler, server::Request request);
  void delay(const HandlerPtr& handler, server::Request request, int64_t delay_ms);

  Broker& broker_;
  server::asio::io_context& io_;
  server::RequestFaults& faults_;
  server::RequestLog& log_;
  std::map<uint64_t, std::vector<server::Request>> held_;  // by rule id
  std::map<uint64_t, Delayed> delayed_;
  uint64_t next_delay_id_ = 1;
  bool stopped_ = false;
};

}  // namespace kafkacore::broker
