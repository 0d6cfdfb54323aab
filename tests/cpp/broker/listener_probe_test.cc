// A lost broker's listener tells the controller whether its process is gone: an open port
// accepts, a port nobody listens on refuses, a name that does not resolve is no answer.
#include "broker/listener_probe.h"

#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>
#include <optional>

namespace kafkacore::broker {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace std::chrono_literals;

std::optional<ListenerProbe> probe(asio::io_context& io, const std::string& host, int32_t port,
                                   std::chrono::milliseconds timeout) {
  std::optional<ListenerProbe> result;
  int answers = 0;
  probe_listener(io, host, port, timeout, [&](ListenerProbe r) {
    result = r;
    ++answers;
  });
  io.restart();
  io.run_for(timeout + 2s);
  EXPECT_LE(answers, 1) << "done is called once";
  return result;
}

TEST(ListenerProbe, AnOpenListenerAccepts) {
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  EXPECT_EQ(probe(io, "127.0.0.1", acceptor.local_endpoint().port(), 1s), ListenerProbe::accepted);
}

TEST(ListenerProbe, APortNobodyListensOnRefuses) {
  asio::io_context io;
  int32_t port = 0;
  {
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    port = acceptor.local_endpoint().port();
  }  // closed: the port is free again, as after kill -9
  EXPECT_EQ(probe(io, "127.0.0.1", port, 1s), ListenerProbe::refused);
  EXPECT_EQ(probe(io, "localhost", port, 1s), ListenerProbe::refused) << "by name as well";
}

TEST(ListenerProbe, ANameThatDoesNotResolveIsNoAnswer) {
  asio::io_context io;
  EXPECT_EQ(probe(io, "no-such-host.invalid", 9092, 1s), ListenerProbe::no_answer);
}

}  // namespace
}  // namespace kafkacore::broker
