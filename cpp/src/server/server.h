#pragma once
// The Kafka listener: accepts connections on one io_context and hands each a Connection.
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "common/error.h"
#include "server/asio.h"
#include "server/connection.h"
#include "server/handler_registry.h"

namespace kafkacore::server {

class Server {
 public:
  Server(asio::io_context& io, const HandlerRegistry& registry, ServerLimits limits);
  ~Server();
  // Binds and starts accepting. Port 0 picks a free port (see port()).
  Result<void> listen(const std::string& host, uint16_t port);
  uint16_t port() const { return port_; }
  // Stops accepting and closes every connection. Call on the io_context's thread.
  void stop();
  size_t connection_count() const { return connections_.size(); }

 private:
  awaitable<void> accept_loop();

  asio::io_context& io_;
  const HandlerRegistry& registry_;
  ServerLimits limits_;
  tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  uint64_t next_id_ = 1;
  bool stopped_ = false;
  std::map<uint64_t, std::shared_ptr<Connection>> connections_;
};

}  // namespace kafkacore::server
