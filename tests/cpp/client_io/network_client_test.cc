// NetworkClient against a real broker: bootstrap, version negotiation, metadata updates,
// coordinator lookup, unreachable brokers and close().
#include "client/network_client.h"

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
