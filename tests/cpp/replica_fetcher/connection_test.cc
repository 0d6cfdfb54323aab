// client::Connection against a real broker, and against a scripted fake server for the
// failures a real broker does not produce (bad frames).
#include <thread>

#include "replica_fetcher/fixture.h"

namespace kafkacore::client::testing {
namespace {

using protocol::ApiVersionsRequest;
using protocol::FetchRequest;
using protocol::MetadataRequest;
using tcp = asio::ip::tcp;

class ConnectionTest : public IoTest {};

ApiVersionsRequest api_versions() {
  ApiVersionsRequest req;
  req.client_software_name = "kafkacore-test";
  req.client_software_version = "1";
  return req;
}

TEST_F(ConnectionTest, ApiVersionsAndMetadataRoundTrip) {
  create_topic("rt", 3);
  Connection conn(io_);
  ASSERT_TRUE(connect(conn, broker_->port()));
  EXPECT_TRUE(conn.connected());

  for (int16_t v : {0, 3}) {  // v0: header v1; v3: flexible request header v2 (response v0)
    auto got = call(conn, api_versions(), v);
    ASSERT_TRUE(got) << got.error().message();
    EXPECT_EQ(got->body.error_code, 0);
    EXPECT_FALSE(got->body.api_keys.empty());
  }
  for (int16_t v : {1, 9, 12}) {  // non-flexible and flexible response headers
    auto got = call(conn, broker::testing::metadata_request({"rt"}), v);
    ASSERT_TRUE(got) << "v" << v << ": " << got.error().message();
    ASSERT_EQ(got->body.topics.size(), 1u);
    EXPECT_EQ(got->body.topics[0].name, "rt");
    EXPECT_EQ(got->body.topics[0].partitions.size(), 3u);
  }
  EXPECT_EQ(conn.in_flight(), 0u);
  EXPECT_FALSE(conn.closed());
}

TEST_F(ConnectionTest, PipelinesHundredRequestsAnsweredInOrder) {
  create_topic("pipe");
  Connection conn(io_);
  ASSERT_TRUE(connect(conn, broker_->port()));
  std::vector<int> order;
  int failures = 0;
  for (int i = 0; i < 100; ++i) {
    if (i % 2 == 0) {
      conn.send(api_versions(), 3, [&, i](Result<Response<protocol::ApiVersionsResponse>> r) {
        if (!r) ++failures;
        order.push_back(i);
      });
    } else {
      conn.send(broker::testing::metadata_request({"pipe"}), i % 4 == 1 ? 12 : 1,
                [&, i](Result<Response<protocol::MetadataResponse>> r) {
                  if (!r || r->body.topics.size() != 1) ++failures;
                  order.push_back(i);
                });
    }
  }
  EXPECT_EQ(conn.in_flight(), 100u);
  ASSERT_TRUE(run_until([&] { return order.size() == 100; }));
  EXPECT_EQ(failures, 0);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(order[i], i);
}

FetchRequest long_poll(const std::string& topic, int32_t max_wait_ms) {
  return broker::testing::fetch_request(topic, 0, 0, max_wait_ms, 1);
}

TEST_F(ConnectionTest, TimeoutFailsEveryPendingRequestAndReconnectWorks) {
  create_topic("slow");
  Connection conn(io_);
  ASSERT_TRUE(connect(conn, broker_->port()));
  std::optional<Result<Response<protocol::FetchResponse>>> fetched;
  std::optional<Result<Response<protocol::ApiVersionsResponse>>> behind;
  // The broker parks the fetch (empty partition) for 3 s; we give up after 200 ms.
  conn.send(long_poll("slow", 3000), 12,
            [&](Result<Response<protocol::FetchResponse>> r) { fetched.emplace(std::move(r)); },
            std::chrono::milliseconds(200));
  conn.send(api_versions(), 3,
            [&](Result<Response<protocol::ApiVersionsResponse>> r) { behind.emplace(std::move(r)); });
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(run_until([&] { return fetched && behind; }, 5s));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  ASSERT_FALSE(*fetched);
  EXPECT_EQ(fetched->error().code(), Errc::request_timed_out) << fetched->error().message();
  ASSERT_FALSE(*behind);
  EXPECT_EQ(behind->error().code(), kNetworkError) << behind->error().message();
  EXPECT_TRUE(conn.closed());

  // A send on a closed connection fails (posted, not inside send()).
  bool failed_closed = false;
  conn.send(api_versions(), 3, [&](Result<Response<protocol::ApiVersionsResponse>> r) {
    failed_closed = !r && r.error().code() == kNetworkError;
  });
  EXPECT_FALSE(failed_closed);
  ASSERT_TRUE(run_until([&] { return failed_closed; }));

  // The owner reconnects the same object.
  ASSERT_TRUE(connect(conn, broker_->port()));
  auto again = call(conn, api_versions(), 3);
  ASSERT_TRUE(again) << again.error().message();
}

TEST_F(ConnectionTest, BrokerStoppedMidFlightFailsPendingThenReconnects) {
  create_topic("kill");
  Connection conn(io_);
  ASSERT_TRUE(connect(conn, broker_->port()));
  std::vector<Result<Response<protocol::FetchResponse>>> got;
  for (int i = 0; i < 3; ++i) {
    conn.send(long_poll("kill", 10000), 12,
              [&](Result<Response<protocol::FetchResponse>> r) { got.push_back(std::move(r)); });
  }
  run_for(100ms);  // the requests reach the broker and park
  EXPECT_TRUE(got.empty());
  restart_broker();
  ASSERT_TRUE(run_until([&] { return got.size() == 3; }, 10s));
  for (const auto& r : got) {
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), kNetworkError) << r.error().message();
  }
  EXPECT_TRUE(conn.closed());
  ASSERT_TRUE(connect(conn, broker_->port()));
  auto meta = call(conn, broker::testing::metadata_request({"kill"}, false), 12);
  ASSERT_TRUE(meta) << meta.error().message();
  EXPECT_EQ(meta->body.topics.size(), 1u);
}

TEST_F(ConnectionTest, ConnectRefused) {
  uint16_t port = 0;
  {
    asio::io_context tmp;
    tcp::acceptor a(tmp, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    port = a.local_endpoint().port();
  }
  Connection conn(io_);
  bool queued_failed = false;
  std::optional<Result<void>> connected;
  conn.connect("127.0.0.1", port, 2s, [&](Result<void> r) { connected.emplace(std::move(r)); });
  // Sent while connecting: queued, then failed with the connection.
  conn.send(api_versions(), 3, [&](Result<Response<protocol::ApiVersionsResponse>> r) {
    queued_failed = !r && r.error().code() == kNetworkError;
  });
  ASSERT_TRUE(run_until([&] { return connected.has_value(); }));
  ASSERT_FALSE(*connected);
  EXPECT_EQ(connected->error().code(), kNetworkError) << connected->error().message();
  EXPECT_TRUE(queued_failed);
  EXPECT_TRUE(conn.closed());
}

// A one-connection server on its own thread: reads one request frame, then runs `script`.
class FakeServer {
 public:
  explicit FakeServer(std::function<void(tcp::socket&, int32_t correlation_id)> script)
      : acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    port_ = acceptor_.local_endpoint().port();
    thread_ = std::thread([this, script = std::move(script)] {
      boost::system::error_code ec;
      tcp::socket socket(io_);
      acceptor_.accept(socket, ec);
      if (ec) return;
      std::array<std::byte, 4> size{};
      asio::read(socket, asio::buffer(size), ec);
      if (ec) return;
      Bytes frame(static_cast<size_t>(load_be<int32_t>(size.data())));
      asio::read(socket, asio::buffer(frame), ec);
      if (ec) return;
      script(socket, load_be<int32_t>(frame.data() + 4));
      socket.close(ec);
    });
  }
  ~FakeServer() { thread_.join(); }
  uint16_t port() const { return port_; }

  static void write_frame(tcp::socket& s, int32_t declared_size, ByteView body) {
    Bytes out(4);
    store_be<int32_t>(out.data(), declared_size);
    out.insert(out.end(), body.begin(), body.end());
    boost::system::error_code ec;
    asio::write(s, asio::buffer(out), ec);
  }

 private:
  asio::io_context io_;
  tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  std::thread thread_;
};

Bytes correlation(int32_t id) {
  Bytes b(4);
  store_be<int32_t>(b.data(), id);
  return b;
}

class FakeServerTest : public IoTest {
 protected:
  // No broker needed.
  void SetUp() override {}
  void TearDown() override {}

  Error expect_failure(FakeServer& server, ConnectionOptions options = {}) {
    Connection conn(io_, options);
    std::optional<Result<Response<protocol::ApiVersionsResponse>>> got;
    conn.connect("127.0.0.1", server.port(), 2s, [](Result<void>) {});
    // Queued while connecting, written once connected.
    conn.send(api_versions(), 3, [&](Result<Response<protocol::ApiVersionsResponse>> r) {
      got.emplace(std::move(r));
    });
    EXPECT_TRUE(run_until([&] { return got.has_value(); }, 5s));
    EXPECT_TRUE(conn.closed());
    if (!got || *got) return Error(Errc::none, "unexpected success");
    return got->error();
  }
};

TEST_F(FakeServerTest, EofMidFlight) {
  FakeServer server([](tcp::socket&, int32_t) {});
  Error e = expect_failure(server);
  EXPECT_EQ(e.code(), kNetworkError);
  EXPECT_NE(e.message().find("closed by the broker"), std::string::npos) << e.message();
}

TEST_F(FakeServerTest, OversizedFrame) {
  FakeServer server([](tcp::socket& s, int32_t id) {
    FakeServer::write_frame(s, 4096, correlation(id));
  });
  ConnectionOptions options;
  options.max_response_bytes = 1024;
  Error e = expect_failure(server, options);
  EXPECT_EQ(e.code(), kNetworkError);
  EXPECT_NE(e.message().find("4096"), std::string::npos) << e.message();
}

TEST_F(FakeServerTest, WrongCorrelationId) {
  FakeServer server([](tcp::socket& s, int32_t id) {
    Bytes body = correlation(id + 7);
    FakeServer::write_frame(s, static_cast<int32_t>(body.size()), body);
  });
  Error e = expect_failure(server);
  EXPECT_EQ(e.code(), kNetworkError);
  EXPECT_NE(e.message().find("correlation id"), std::string::npos) << e.message();
}

TEST_F(FakeServerTest, UndecodableBody) {
  FakeServer server([](tcp::socket& s, int32_t id) {
    Bytes body = correlation(id);
    body.push_back(std::byte{0});  // an error code needs two bytes
    FakeServer::write_frame(s, static_cast<int32_t>(body.size()), body);
  });
  Error e = expect_failure(server);
  EXPECT_EQ(e.code(), kNetworkError);
  EXPECT_NE(e.message().find("does not decode"), std::string::npos) << e.message();
}

}  // namespace
}  // namespace kafkacore::client::testing
