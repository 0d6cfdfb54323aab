#include "broker/listener_probe.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>

namespace kafkacore::broker {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

struct Probe : std::enable_shared_from_this<Probe> {
  Probe(asio::io_context& io, std::function<void(ListenerProbe)> on_result)
      : resolver(io), socket(io), timer(io), done(std::move(on_result)) {}

  void finish(ListenerProbe result) {
    if (!done) return;
    auto answer = std::move(done);
    done = nullptr;
    timer.cancel();
    resolver.cancel();
    boost::system::error_code ignored;
    socket.close(ignored);
    answer(result);
  }

  tcp::resolver resolver;
  tcp::socket socket;
  asio::steady_timer timer;
  std::function<void(ListenerProbe)> done;
};

}  // namespace

void probe_listener(asio::io_context& io, const std::string& host, int32_t port,
                    std::chrono::milliseconds timeout, std::function<void(ListenerProbe)> done) {
  auto probe = std::make_shared<Probe>(io, std::move(done));
  probe->timer.expires_after(timeout);
  probe->timer.async_wait([probe](const boost::system::error_code& ec) {
    if (!ec) probe->finish(ListenerProbe::no_answer);
  });
  probe->resolver.async_resolve(
      host, std::to_string(port),
      [probe](const boost::system::error_code& resolved, const tcp::resolver::results_type& endpoints) {
        if (resolved) return probe->finish(ListenerProbe::no_answer);
        asio::async_connect(probe->socket, endpoints,
                            [probe](const boost::system::error_code& ec, const tcp::endpoint&) {
                              if (!ec) return probe->finish(ListenerProbe::accepted);
                              // Every address refused: nothing listens on that port.
                              probe->finish(ec == asio::error::connection_refused
                                                ? ListenerProbe::refused
                                                : ListenerProbe::no_answer);
                            });
      });
}

}  // namespace kafkacore::broker
