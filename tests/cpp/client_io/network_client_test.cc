// NetworkClient against a real broker: bootstrap, version negotiation, metadata updates,
// coordinator lookup, unreachable brokers, reconnect backoff and close().
#include "client/network_client.h"

#include <functional>
#include <string>
#include <vector>

#include "replica_fetcher/fixture.h"

namespace kafkacore::client::testing {
namespace {

class NetworkClientTest : public IoTest {
 protected:
  ClientOptions options_for(uint16_t port) {
    ClientOptions o;
    o.bootstrap = {{"127.0.0.1", port}};
    o.request_timeout = 5s;
    o.retry_backoff = 10ms;
    return o;
  }
  Result<void> update(NetworkClient& nc) {
    std::optional<Result<void>> got;
    nc.update_metadata([&](Result<void> r) { got.emplace(std::move(r)); });
    if (!run_until([&] { return got.has_value(); })) return make_error(Errc::request_timed_out, "test");
    return std::move(*got);
  }
};

TEST_F(NetworkClientTest, MetadataFromBootstrapThenSendsToBrokerById) {
  create_topic("nc", 3);
  NetworkClient nc(io_, options_for(broker_->port()));
  nc.want_topics({"nc"});
  ASSERT_TRUE(update(nc));
  const ClusterMetadata& md = nc.metadata();
  EXPECT_EQ(md.generation, 1u);
  ASSERT_EQ(md.brokers.size(), 1u);
  const TopicInfo* topic = md.topic("nc");
  ASSERT_NE(topic, nullptr);
  ASSERT_EQ(topic->partitions.size(), 3u);
  EXPECT_EQ(md.leader("nc", 2), broker_->node_id());
  EXPECT_EQ(md.leader("nc", 3), -1);

  // Sent by broker id at the highest common version (our codec's Metadata max is 12).
  std::optional<Result<Response<protocol::MetadataResponse>>> got;
  nc.send<protocol::MetadataRequest>(
      broker_->node_id(), broker::testing::metadata_request({"nc"}),
      [&](auto r) { got.emplace(std::move(r)); });
  ASSERT_TRUE(run_until([&] { return got.has_value(); }));
  ASSERT_TRUE(*got) << got->error().message();
  EXPECT_EQ((*got)->version, 12);
  EXPECT_TRUE(nc.connected(broker_->node_id()));
}

TEST_F(NetworkClientTest, VersionCapsAndFloorsAreHonoured) {
  NetworkClient nc(io_, options_for(broker_->port()));
  ASSERT_TRUE(update(nc));
  std::optional<Result<Response<protocol::MetadataResponse>>> got;
  nc.send<protocol::MetadataRequest>(broker_->node_id(), broker::testing::metadata_request({}),
                                     [&](auto r) { got.emplace(std::move(r)); },
                                     SendOptions{.min_version = 1, .max_version = 4, .timeout = {}});
  ASSERT_TRUE(run_until([&] { return got.has_value(); }));
  ASSERT_TRUE(*got);
  EXPECT_EQ((*got)->version, 4);
  got.reset();
  nc.send<protocol::MetadataRequest>(broker_->node_id(), broker::testing::metadata_request({}),
                                     [&](auto r) { got.emplace(std::move(r)); },
                                     SendOptions{.min_version = 13, .max_version = 20, .timeout = {}});
  ASSERT_TRUE(run_until([&] { return got.has_value(); }));
  ASSERT_FALSE(*got);
  EXPECT_EQ(got->error().code(), Errc::unsupported_version);
}

TEST_F(NetworkClientTest, ListenersSeeEveryUpdateAndUnknownNodesFail) {
  NetworkClient nc(io_, options_for(broker_->port()));
  int updates = 0;
  nc.add_metadata_listener([&](const ClusterMetadata&) { ++updates; });
  ASSERT_TRUE(update(nc));
  ASSERT_TRUE(update(nc));
  EXPECT_EQ(updates, 2);
  EXPECT_EQ(nc.metadata().generation, 2u);

  std::optional<Result<Response<protocol::MetadataResponse>>> got;
  nc.send<protocol::MetadataRequest>(77, broker::testing::metadata_request({}),
                                     [&](auto r) { got.emplace(std::move(r)); });
  ASSERT_TRUE(run_until([&] { return got.has_value(); }));
  ASSERT_FALSE(*got);
  EXPECT_EQ(got->error().code(), Errc::broker_not_available);
}

TEST_F(NetworkClientTest, FindsTheGroupCoordinatorOnItsOwnConnection) {
  NetworkClient nc(io_, options_for(broker_->port()));
  std::optional<Result<int32_t>> node;
  nc.find_coordinator("g1", 0, [&](Result<int32_t> r) { node.emplace(std::move(r)); });
  ASSERT_TRUE(run_until([&] { return node.has_value(); }));
  ASSERT_TRUE(*node) << node->error().message();
  EXPECT_EQ(NetworkClient::broker_of(**node), broker_->node_id());
  EXPECT_NE(**node, broker_->node_id());

  std::optional<Result<Response<protocol::HeartbeatResponse>>> hb;
  protocol::HeartbeatRequest request;
  request.group_id = "g1";
  request.generation_id = 1;
  request.member_id = "nobody";
  nc.send<protocol::HeartbeatRequest>(**node, request, [&](auto r) { hb.emplace(std::move(r)); });
  ASSERT_TRUE(run_until([&] { return hb.has_value(); }));
  ASSERT_TRUE(*hb) << hb->error().message();
  EXPECT_NE((*hb)->body.error_code, 0);  // unknown group or member: the request reached it
  EXPECT_TRUE(nc.connected(**node));

  // Cached: the second lookup needs no request.
  node.reset();
  nc.find_coordinator("g1", 0, [&](Result<int32_t> r) { node.emplace(std::move(r)); });
  ASSERT_TRUE(run_until([&] { return node.has_value(); }));
  EXPECT_TRUE(*node);
}

TEST_F(NetworkClientTest, UnreachableBootstrapFailsWithinTheTimeoutAndBacksOff) {
  // A port nothing listens on: bind then close.
  uint16_t dead_port;
  {
    asio::ip::tcp::acceptor a(io_, {asio::ip::make_address("127.0.0.1"), 0});
    dead_port = a.local_endpoint().port();
  }
  ClientOptions o = options_for(dead_port);
  o.request_timeout = 300ms;
  NetworkClient nc(io_, o);
  std::optional<Result<void>> got;
  nc.update_metadata([&](Result<void> r) { got.emplace(std::move(r)); });
  ASSERT_TRUE(run_until([&] { return got.has_value(); }, 5s));
  ASSERT_FALSE(*got);
  EXPECT_EQ(got->error().code(), Errc::network_exception) << got->error().message();
}

// A broker that accepts and at once closes every connection: each attempt fails after the
// connect, and the next waits reconnect.backoff.ms, doubling (+-20% jitter) up to
// reconnect.backoff.max.ms, although metadata is retried every 10 ms meanwhile.
TEST_F(NetworkClientTest, ReconnectBackoffGrowsToItsMax) {
  asio::ip::tcp::acceptor acceptor(io_, {asio::ip::make_address("127.0.0.1"), 0});
  std::vector<std::chrono::steady_clock::time_point> attempts;
  std::function<void()> accept_next = [&] {
    acceptor.async_accept([&](boost::system::error_code ec, asio::ip::tcp::socket socket) {
      if (ec) return;
      attempts.push_back(std::chrono::steady_clock::now());
      socket.close();
      accept_next();
    });
  };
  accept_next();

  ClientOptions o = options_for(acceptor.local_endpoint().port());
  o.reconnect_backoff = 20ms;
  o.reconnect_backoff_max = 200ms;
  NetworkClient nc(io_, o);
  std::optional<Result<void>> got;
  nc.update_metadata([&](Result<void> r) { got.emplace(std::move(r)); });
  run_for(1500ms);
  acceptor.close();
  run_for(10ms);  // the cancelled accept's handler runs while what it captures still exists
  ASSERT_FALSE(got.has_value()) << "no broker answers: the update is still waiting";

  // Each backoff is twice the last one (itself jittered), times 0.8-1.2, capped at 200 ms: about
  // 10 attempts in 1.5 s (at most 14); without backoff, one every metadata retry (10 ms) would
  // make ~150.
  ASSERT_GE(attempts.size(), 7u);
  EXPECT_LE(attempts.size(), 15u);
  std::vector<int64_t> gaps;
  std::string shown;
  for (size_t i = 1; i < attempts.size(); ++i) {
    gaps.push_back(
        std::chrono::duration_cast<std::chrono::milliseconds>(attempts[i] - attempts[i - 1])
            .count());
    shown += std::to_string(gaps.back()) + " ";
  }
  SCOPED_TRACE("gaps (ms): " + shown);
  // Growing: the fourth gap (~160 ms) well past the first (~20 ms). Compared loosely, since a
  // loaded machine (CI, sanitizers) stretches any single gap.
  EXPECT_GE(gaps[0], 16);
  EXPECT_GT(gaps[3], gaps[0]);
  // Capped: never near the 640 ms an uncapped fifth doubling would wait (the cap's 240 ms plus
  // generous slack), and at the cap from the sixth on: 200 ms x 0.8 at least.
  for (size_t i = 0; i < gaps.size(); ++i) {
    EXPECT_LE(gaps[i], 440) << i;
    if (i >= 5) {
      EXPECT_GE(gaps[i], 160) << i;
    }
  }
}

TEST_F(NetworkClientTest, CloseFailsQueuedAndLaterRequests) {
  NetworkClient nc(io_, options_for(broker_->port()));
  std::optional<Result<void>> got;
  nc.update_metadata([&](Result<void> r) { got.emplace(std::move(r)); });
  nc.close();  // before the connection is even up
  ASSERT_TRUE(run_until([&] { return got.has_value(); }));
  ASSERT_FALSE(*got);
  EXPECT_EQ(got->error().message(), "client closed");
  got.reset();
  nc.update_metadata([&](Result<void> r) { got.emplace(std::move(r)); });
  ASSERT_TRUE(run_until([&] { return got.has_value(); }));
  EXPECT_FALSE(*got);
}

}  // namespace
}  // namespace kafkacore::client::testing
