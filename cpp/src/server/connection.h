#pragma once
// One client connection: reads frames, dispatches them to handlers, and writes the answers back
// in request order (pipelining). Runs entirely on one executor (the broker's reactor thread).
// Limits: the request size (socket.request.max.bytes), the number of requests in flight and the
// bytes of answers queued (reading pauses until the client drains them), and an idle timeout.
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>

#include "server/asio.h"
#include "server/handler_registry.h"
#include "server/request.h"

namespace kafkacore::server {

struct ServerLimits {
  int64_t max_request_bytes = 104857600;       // socket.request.max.bytes
  int64_t idle_timeout_ms = 600000;            // connections.max.idle.ms
  size_t max_in_flight_requests = 256;
  uint64_t max_queued_response_bytes = 64ull << 20;
};

struct PendingResponse {
  enum class State { waiting, frame, none, close } state = State::waiting;
  protocol::OutputFrame frame;
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(tcp::socket socket, const HandlerRegistry& registry, const ServerLimits& limits,
             uint64_t id, std::function<void(uint64_t)> on_closed);
  ~Connection();
  void start();
  void close(std::string_view reason);
  // Stops reading; closes once every answer already owed has been written (protocol errors:
  // requests received before the bad bytes still get their answers).
  void close_after_pending(std::string_view reason);
  bool closed() const { return closed_; }
  uint64_t id() const { return info_->connection_id; }

  // Called by ResponseSlot when an answer (or a decision not to answer) is ready.
  void response_ready(PendingResponse& pending);

 private:
  awaitable<void> read_loop();
  awaitable<void> write_loop();
  awaitable<void> idle_watch();
  awaitable<bool> send_frame(protocol::OutputFrame& frame);
  void dispatch(std::shared_ptr<Bytes> frame);
  void wake(asio::steady_timer& timer) { timer.cancel(); }
  bool should_pause_reading() const;

  tcp::socket socket_;
  const HandlerRegistry& registry_;
  ServerLimits limits_;
  std::shared_ptr<ClientInfo> info_;
  std::function<void(uint64_t)> on_closed_;
  asio::steady_timer write_signal_;
  asio::steady_timer read_signal_;
  asio::steady_timer idle_timer_;
  std::deque<std::shared_ptr<PendingResponse>> pending_;
  uint64_t queued_response_bytes_ = 0;
  std::chrono::steady_clock::time_point last_activity_;
  bool closed_ = false;
  bool draining_ = false;
  std::string drain_reason_;
};

}  // namespace kafkacore::server
