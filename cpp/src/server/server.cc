#include "server/server.h"

#include "common/log.h"

namespace kafkacore::server {

Server::Server(asio::io_context& io, const HandlerRegistry& registry, ServerLimits limits)
    : io_(io), registry_(registry), limits_(limits), acceptor_(io) {}

Server::~Server() = default;

Result<void> Server::listen(const std::string& host, uint16_t port, bool accept_now) {
  boost::system::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  if (ec) {
    // A host name: resolve it once.
    tcp::resolver resolver(io_);
    auto results = resolver.resolve(host, std::to_string(port), ec);
    if (ec || results.empty()) {
      return make_error(Errc::invalid_request, "cannot resolve listener host " + host);
    }
    address = results.begin()->endpoint().address();
  }
  tcp::endpoint endpoint(address, port);
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return make_error(Errc::unknown_server_error,
                      "cannot listen on " + host + ":" + std::to_string(port) + ": " + ec.message());
  }
  port_ = acceptor_.local_endpoint().port();
  if (accept_now) start_accepting();
  return {};
}

void Server::start_accepting() {
  if (accepting_ || stopped_) return;
  accepting_ = true;
  asio::co_spawn(io_, accept_loop(), asio::detached);
}

awaitable<void> Server::accept_loop() {
  while (!stopped_) {
    boost::system::error_code ec;
    tcp::socket socket = co_await acceptor_.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (stopped_) break;
    if (ec) {
      KC_LOG(warn, "server", "accept failed", {{"error", ec.message()}});
      // EMFILE and friends: back off briefly instead of spinning.
      asio::steady_timer pause(io_, std::chrono::milliseconds(50));
      co_await pause.async_wait(asio::use_awaitable);
      continue;
    }
    const uint64_t id = next_id_++;
    auto connection = std::make_shared<Connection>(
        std::move(socket), registry_, limits_, id, [this](uint64_t closed) { connections_.erase(closed); });
    connections_.emplace(id, connection);
    connection->start();
  }
}

void Server::stop() {
  stopped_ = true;
  boost::system::error_code ec;
  acceptor_.close(ec);
  auto connections = std::move(connections_);
  connections_.clear();
  for (auto& [id, c] : connections) c->close("broker shutting down");
}

}  // namespace kafkacore::server
