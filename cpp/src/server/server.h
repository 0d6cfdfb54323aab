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
  // Binds and (unless told to wait) starts accepting. Port 0 picks a free port (see port()).
  // Connections made before accepting starts wait in the backlog: a broker binds early (its
  // port must be known) but serves only once it has joined its cluster, as Kafka does.
  Result<void> listen(const std::string& host, uint16_t port, bool accept_now = true);
  void start_accepting();
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
  bool accepting_ = false;
  uint16_t port_ = 0;
  uint64_t next_id_ = 1;
  bool stopped_ = false;
  std::map<uint64_t, std::shared_ptr<Connection>> connections_;
};

}  // namespace kafkacore::server
