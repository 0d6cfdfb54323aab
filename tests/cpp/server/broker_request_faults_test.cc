// Request faults and the request log on a real broker, over real sockets: error answers that
// decode at every served version with the injected code everywhere, delays that keep the answer
// order, black holes that hold a request until their rule goes (or the broker stops), dropped
// connections, replica fetches left alone, and the log of what arrived.
#include <functional>
#include <thread>

#include "broker/error_responses.h"
#include "broker/harness.h"

namespace kafkacore::broker::testing {
namespace {

using namespace protocol;
using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;
using server::FaultAction;
using server::FaultRule;

constexpr int16_t kCode = 31;  // CLUSTER_AUTHORIZATION_FAILED: nothing here answers it by itself

int64_t ms_since(SteadyClock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - t).count();
}

// Sends `request` with a chosen client id (TestClient always says "broker-test").
template <typename Req>
void send_as(TestClient& client, const std::string& client_id, const Req& request, int16_t version,
             int32_t correlation_id) {
  RequestHeader header;
  header.api_key = Req::api_key;
  header.api_version = version;
  header.correlation_id = correlation_id;
  header.client_id = client_id;
  client.send_raw(encode_request(header, request).bytes);
}

FaultRule rule(FaultAction action, std::optional<int16_t> api, int64_t times = -1) {
  FaultRule r;
  r.action = action;
  r.api_key = api;
  r.times = times;
  if (action == FaultAction::error) r.error_code = kCode;
  return r;
}

class BrokerRequestFaultsTest : public BrokerTest {
 protected:
  server::RequestFaults& faults() { return broker_->request_faults(); }

  uint64_t add(const FaultRule& r) {
    auto id = faults().add(r);
    if (!id) throw ClientError("rule refused: " + id.error().message());
    return *id;
  }

  // For every version in [from, to]: one error rule (times=1), the request made by make(v),
  // and every error code of the answer, as codes(answer, v) collects them, must be kCode.
  template <typename Req, typename Resp>
  void expect_error_answers(
      int16_t from, int16_t to, const std::function<Req(int16_t)>& make,
      const std::function<std::vector<int16_t>(const Resp&, int16_t)>& codes) {
    for (int16_t v = from; v <= to; ++v) {
      SCOPED_TRACE(std::string(Req::api_name) + " v" + std::to_string(v));
      const uint64_t id = add(rule(FaultAction::error, Req::api_key, 1));
      const int32_t correlation = client_->send(make(v), v);
      const Resp answer = client_->receive<Resp>(correlation, v);
      const auto found = codes(answer, v);
      EXPECT_FALSE(found.empty());
      for (int16_t c : found) EXPECT_EQ(c, kCode);
      EXPECT_EQ(faults().state(id)->applied, 1);
      faults().remove(id);
    }
  }
};

TEST_F(BrokerRequestFaultsTest, ErrorAnswersDecodeAtEveryServedVersion) {
  create_topic("t");
  const Bytes batch = make_batch("e", 2);

  expect_error_answers<ProduceRequest, ProduceResponse>(
      3, 11, [&](int16_t) { return produce_request("t", 0, batch); },
      [](const ProduceResponse& r, int16_t) {
        std::vector<int16_t> out;
        for (const auto& t : r.responses)
          for (const auto& p : t.partition_responses) out.push_back(p.error_code);
        return out;
      });
  expect_error_answers<FetchRequest, FetchResponse>(
      4, 12, [](int16_t) { return fetch_request("t", 0, 0); },
      [](const FetchResponse& r, int16_t v) {
        std::vector<int16_t> out;
        if (v >= 7) out.push_back(r.error_code);
        for (const auto& t : r.responses)
          for (const auto& p : t.partitions) out.push_back(p.error_code);
        return out;
      });
  expect_error_answers<ListOffsetsRequest, ListOffsetsResponse>(
      0, 7,
      [](int16_t) {
        ListOffsetsRequest req;
        req.replica_id = -1;
        auto& t = req.topics.emplace_back();
        t.name = "t";
        t.partitions.emplace_back().timestamp = -1;
        return req;
      },
      [](const ListOffsetsResponse& r, int16_t) {
        std::vector<int16_t> out;
        for (const auto& t : r.topics)
          for (const auto& p : t.partitions) out.push_back(p.error_code);
        return out;
      });
  expect_error_answers<MetadataRequest, MetadataResponse>(
      // v0-3 have no auto-creation flag (always on); the error answer creates nothing anyway.
      0, 12,
      [](int16_t v) {
        return metadata_request({"t", "unknown"}, v < 4);
      },
      [](const MetadataResponse& r, int16_t) {
        std::vector<int16_t> out;
        EXPECT_EQ(r.topics.size(), 2u);
        EXPECT_EQ(r.brokers.size(), 1u);  // clients still learn where the brokers are
        for (const auto& t : r.topics) out.push_back(t.error_code);
        return out;
      });
  expect_error_answers<OffsetCommitRequest, OffsetCommitResponse>(
      0, 9,
      [](int16_t) {
        OffsetCommitRequest req;
        req.group_id = "g";
        auto& t = req.topics.emplace_back();
        t.name = "t";
        t.partitions.emplace_back().committed_offset = 1;
        return req;
      },
      [](const OffsetCommitResponse& r, int16_t) {
        std::vector<int16_t> out;
        for (const auto& t : r.topics)
          for (const auto& p : t.partitions) out.push_back(p.error_code);
        return out;
      });
  expect_error_answers<OffsetFetchRequest, OffsetFetchResponse>(
      0, 9,
      [](int16_t v) {
        OffsetFetchRequest req;
        if (v >= 8) {
          auto& g = req.groups.emplace_back();
          g.group_id = "g";
          g.topics.emplace().emplace_back().name = "t";
          g.topics->back().partition_indexes = {0, 1};
        } else {
          req.group_id = "g";
          req.topics.emplace().emplace_back().name = "t";
          req.topics->back().partition_indexes = {0, 1};
        }
        return req;
      },
      [](const OffsetFetchResponse& r, int16_t v) {
        std::vector<int16_t> out;
        if (v >= 2 && v <= 7) out.push_back(r.error_code);
        for (const auto& t : r.topics)
          for (const auto& p : t.partitions) out.push_back(p.error_code);
        for (const auto& g : r.groups) {
          out.push_back(g.error_code);
          for (const auto& t : g.topics)
            for (const auto& p : t.partitions) out.push_back(p.error_code);
        }
        EXPECT_EQ(out.size(), v >= 8 ? 3u : (v >= 2 ? 3u : 2u));
        return out;
      });
  expect_error_answers<FindCoordinatorRequest, FindCoordinatorResponse>(
      0, 6,
      [](int16_t v) {
        FindCoordinatorRequest req;
        if (v >= 4) {
          req.coordinator_keys = {"g1", "g2"};
        } else {
          req.key = "g1";
        }
        return req;
      },
      [](const FindCoordinatorResponse& r, int16_t v) {
        std::vector<int16_t> out;
        if (v < 4) out.push_back(r.error_code);
        for (const auto& c : r.coordinators) out.push_back(c.error_code);
        EXPECT_EQ(out.size(), v >= 4 ? 2u : 1u);
        return out;
      });
  expect_error_answers<JoinGroupRequest, JoinGroupResponse>(
      0, 9,
      [](int16_t) {
        JoinGroupRequest req;
        req.group_id = "g";
        req.session_timeout_ms = 10000;
        req.protocol_type = "consumer";
        req.protocols.emplace_back().name = "range";
        return req;
      },
      [](const JoinGroupResponse& r, int16_t) { return std::vector<int16_t>{r.error_code}; });
  expect_error_answers<SyncGroupRequest, SyncGroupResponse>(
      0, 5,
      [](int16_t) {
        SyncGroupRequest req;
        req.group_id = "g";
        req.member_id = "m";
        return req;
      },
      [](const SyncGroupResponse& r, int16_t) { return std::vector<int16_t>{r.error_code}; });
  expect_error_answers<HeartbeatRequest, HeartbeatResponse>(
      0, 4,
      [](int16_t) {
        HeartbeatRequest req;
        req.group_id = "g";
        req.member_id = "m";
        return req;
      },
      [](const HeartbeatResponse& r, int16_t) { return std::vector<int16_t>{r.error_code}; });
  expect_error_answers<LeaveGroupRequest, LeaveGroupResponse>(
      0, 5,
      [](int16_t v) {
        LeaveGroupRequest req;
        req.group_id = "g";
        if (v >= 3) {
          req.members.emplace_back().member_id = "m";
        } else {
          req.member_id = "m";
        }
        return req;
      },
      [](const LeaveGroupResponse& r, int16_t v) {
        std::vector<int16_t> out{r.error_code};
        for (const auto& m : r.members) out.push_back(m.error_code);
        EXPECT_EQ(out.size(), v >= 3 ? 2u : 1u);
        return out;
      });
  expect_error_answers<InitProducerIdRequest, InitProducerIdResponse>(
      0, 4, [](int16_t) { return InitProducerIdRequest{}; },
      [](const InitProducerIdResponse& r, int16_t) {
        EXPECT_EQ(r.producer_id, -1);
        return std::vector<int16_t>{r.error_code};
      });
  expect_error_answers<CreateTopicsRequest, CreateTopicsResponse>(
      0, 7,
      [](int16_t) {
        CreateTopicsRequest req;
        auto& t = req.topics.emplace_back();
        t.name = "never-created";
        t.num_partitions = 1;
        t.replication_factor = 1;
        return req;
      },
      [](const CreateTopicsResponse& r, int16_t) {
        std::vector<int16_t> out;
        for (const auto& t : r.topics) out.push_back(t.error_code);
        return out;
      });
  expect_error_answers<DeleteTopicsRequest, DeleteTopicsResponse>(
      0, 6,
      [](int16_t v) {
        DeleteTopicsRequest req;
        if (v >= 6) {
          req.topics.emplace_back().name = "t";
        } else {
          req.topic_names = {"t"};
        }
        return req;
      },
      [](const DeleteTopicsResponse& r, int16_t) {
        std::vector<int16_t> out;
        for (const auto& t : r.responses) out.push_back(t.error_code);
        return out;
      });
  expect_error_answers<CreatePartitionsRequest, CreatePartitionsResponse>(
      0, 3,
      [](int16_t) {
        CreatePartitionsRequest req;
        auto& t = req.topics.emplace_back();
        t.name = "t";
        t.count = 5;
        t.assignments = std::nullopt;
        return req;
      },
      [](const CreatePartitionsResponse& r, int16_t) {
        std::vector<int16_t> out;
        for (const auto& t : r.results) out.push_back(t.error_code);
        return out;
      });
  expect_error_answers<DescribeConfigsRequest, DescribeConfigsResponse>(
      0, 4,
      [](int16_t) {
        DescribeConfigsRequest req;
        auto& r = req.resources.emplace_back();
        r.resource_type = 2;
        r.resource_name = "t";
        r.configuration_keys = std::nullopt;
        return req;
      },
      [](const DescribeConfigsResponse& r, int16_t) {
        std::vector<int16_t> out;
        for (const auto& x : r.results) out.push_back(x.error_code);
        return out;
      });
  expect_error_answers<AlterConfigsRequest, AlterConfigsResponse>(
      0, 2,
      [](int16_t) {
        AlterConfigsRequest req;
        auto& r = req.resources.emplace_back();
        r.resource_type = 2;
        r.resource_name = "t";
        return req;
      },
      [](const AlterConfigsResponse& r, int16_t) {
        std::vector<int16_t> out;
        for (const auto& x : r.responses) out.push_back(x.error_code);
        return out;
      });
  expect_error_answers<IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse>(
      0, 1,
      [](int16_t) {
        IncrementalAlterConfigsRequest req;
        auto& r = req.resources.emplace_back();
        r.resource_type = 2;
        r.resource_name = "t";
        return req;
      },
      [](const IncrementalAlterConfigsResponse& r, int16_t) {
        std::vector<int16_t> out;
        for (const auto& x : r.responses) out.push_back(x.error_code);
        return out;
      });
  expect_error_answers<ListGroupsRequest, ListGroupsResponse>(
      0, 5, [](int16_t) { return ListGroupsRequest{}; },
      [](const ListGroupsResponse& r, int16_t) { return std::vector<int16_t>{r.error_code}; });
  expect_error_answers<DescribeGroupsRequest, DescribeGroupsResponse>(
      0, 6,
      [](int16_t) {
        DescribeGroupsRequest req;
        req.groups = {"g1", "g2"};
        return req;
      },
      [](const DescribeGroupsResponse& r, int16_t) {
        std::vector<int16_t> out;
        for (const auto& g : r.groups) out.push_back(g.error_code);
        EXPECT_EQ(out.size(), 2u);
        return out;
      });
  expect_error_answers<DeleteGroupsRequest, DeleteGroupsResponse>(
      0, 2,
      [](int16_t) {
        DeleteGroupsRequest req;
        req.groups_names = {"g"};
        return req;
      },
      [](const DeleteGroupsResponse& r, int16_t) {
        std::vector<int16_t> out;
        for (const auto& g : r.results) out.push_back(g.error_code);
        return out;
      });
  expect_error_answers<OffsetDeleteRequest, OffsetDeleteResponse>(
      0, 0,
      [](int16_t) {
        OffsetDeleteRequest req;
        req.group_id = "g";
        auto& t = req.topics.emplace_back();
        t.name = "t";
        t.partitions.emplace_back().partition_index = 0;
        return req;
      },
      [](const OffsetDeleteResponse& r, int16_t) {
        std::vector<int16_t> out{r.error_code};
        for (const auto& t : r.topics)
          for (const auto& p : t.partitions) out.push_back(p.error_code);
        EXPECT_EQ(out.size(), 2u);
        return out;
      });
  expect_error_answers<DeleteRecordsRequest, DeleteRecordsResponse>(
      0, 2,
      [](int16_t) {
        DeleteRecordsRequest req;
        auto& t = req.topics.emplace_back();
        t.name = "t";
        t.partitions.emplace_back().offset = 1;
        return req;
      },
      [](const DeleteRecordsResponse& r, int16_t) {
        std::vector<int16_t> out;
        for (const auto& t : r.topics)
          for (const auto& p : t.partitions) out.push_back(p.error_code);
        return out;
      });
  expect_error_answers<OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse>(
      0, 4,
      [](int16_t) {
        OffsetForLeaderEpochRequest req;
        req.replica_id = -1;
        auto& t = req.topics.emplace_back();
        t.topic = "t";
        t.partitions.emplace_back().leader_epoch = 0;
        return req;
      },
      [](const OffsetForLeaderEpochResponse& r, int16_t) {
        std::vector<int16_t> out;
        for (const auto& t : r.topics)
          for (const auto& p : t.partitions) out.push_back(p.error_code);
        return out;
      });

  // Every API with a builder was covered above.
  EXPECT_EQ(error_response_apis().size(), 24u);
  // The injected answers changed nothing: the topic still exists, empty.
  EXPECT_EQ(list_offset("t", 0, -1).offset, 0);
}

TEST_F(BrokerRequestFaultsTest, ErrorRuleSpendsItselfThenServiceResumes) {
  create_topic("t");
  const Bytes batch = make_batch("r", 3);
  const uint64_t id = add(rule(FaultAction::error, ProduceRequest::api_key, 2));
  EXPECT_EQ(produce("t", 0, batch).error_code, kCode);
  EXPECT_EQ(produce("t", 0, batch).error_code, kCode);
  auto ok = produce("t", 0, batch);
  EXPECT_EQ(ok.error_code, 0);
  EXPECT_EQ(ok.base_offset, 0);  // the failed ones were not appended
  EXPECT_EQ(faults().state(id)->applied, 2);
  EXPECT_EQ(faults().state(id)->matched, 2);
  EXPECT_TRUE(faults().state(id)->spent);
}

TEST_F(BrokerRequestFaultsTest, TopicAndClientFiltersOnRealRequests) {
  create_topic("hit");
  create_topic("miss");
  const Bytes batch = make_batch("f", 1);
  auto r = rule(FaultAction::error, ProduceRequest::api_key);
  r.topic = "hit";
  r.client_id = "target";
  const uint64_t id = add(r);
  // TestClient's client id is "broker-test": not the target.
  EXPECT_EQ(produce("hit", 0, batch).error_code, 0);
  send_as(*client_, "target", produce_request("miss", 0, batch), 9, 9001);
  EXPECT_EQ(
      client_->receive<ProduceResponse>(9001, 9).responses[0].partition_responses[0].error_code, 0);
  send_as(*client_, "target", produce_request("hit", 0, batch), 9, 9002);
  EXPECT_EQ(
      client_->receive<ProduceResponse>(9002, 9).responses[0].partition_responses[0].error_code,
      kCode);
  EXPECT_EQ(faults().state(id)->matched, 1);
}

TEST_F(BrokerRequestFaultsTest, AcksZeroProduceWithAnErrorIsDroppedUnanswered) {
  create_topic("fire");
  add(rule(FaultAction::error, ProduceRequest::api_key, 1));
  client_->send(produce_request("fire", 0, make_batch("z", 3), /*acks=*/0), 9);
  const int32_t next = client_->send(ApiVersionsRequest{}, 0);
  EXPECT_EQ(client_->receive<ApiVersionsResponse>(next, 0).error_code, 0);  // nothing before it
  EXPECT_EQ(list_offset("fire", 0, -1).offset, 0);                          // records dropped
}

TEST_F(BrokerRequestFaultsTest, DelayedRequestIsHandledLateAndAnswersKeepTheirOrder) {
  create_topic("slow");
  auto r = rule(FaultAction::delay, ProduceRequest::api_key, 1);
  r.delay_ms = 300;
  const uint64_t id = add(r);
  const auto start = SteadyClock::now();
  const int32_t produce_id = client_->send(produce_request("slow", 0, make_batch("d", 2)), 9);
  const int32_t versions_id = client_->send(ApiVersionsRequest{}, 0);
  // receive() checks the correlation ids: the delayed answer still comes first.
  auto produced = client_->receive<ProduceResponse>(produce_id, 9);
  EXPECT_GE(ms_since(start), 300);
  EXPECT_EQ(produced.responses[0].partition_responses[0].error_code, 0);
  EXPECT_EQ(client_->receive<ApiVersionsResponse>(versions_id, 0).error_code, 0);
  EXPECT_EQ(faults().state(id)->applied, 1);
  EXPECT_EQ(list_offset("slow", 0, -1).offset, 2);
}

TEST_F(BrokerRequestFaultsTest, BlackHoleHoldsTheRequestUntilTheRuleIsRemoved) {
  auto r = rule(FaultAction::black_hole, MetadataRequest::api_key);
  r.client_id = "victim";
  const uint64_t id = add(r);
  TestClient victim(broker_->port(), 3000ms);
  send_as(victim, "victim", metadata_request({}, false), 12, 1);
  // No answer, and the connection stays open (a client sees a request timeout).
  EXPECT_FALSE(victim.closed_within(400ms));
  // Others are served, also on their own connections meanwhile.
  EXPECT_EQ(client_->call(metadata_request({}, false), 12).brokers.size(), 1u);
  EXPECT_EQ(faults().state(id)->applied, 1);

  EXPECT_TRUE(faults().remove(id));
  EXPECT_TRUE(victim.closed_within(3000ms));  // released: its connection is closed
  TestClient again(broker_->port());
  send_as(again, "victim", metadata_request({}, false), 12, 2);
  EXPECT_EQ(again.receive<MetadataResponse>(2, 12).brokers.size(), 1u);
}

TEST_F(BrokerRequestFaultsTest, HeldAndDelayedRequestsAreReleasedWhenTheBrokerStops) {
  add(rule(FaultAction::black_hole, ApiVersionsRequest::api_key, 1));
  auto slow = rule(FaultAction::delay, MetadataRequest::api_key, 1);
  slow.delay_ms = 60000;
  add(slow);
  TestClient held(broker_->port());
  TestClient delayed(broker_->port());
  held.send(ApiVersionsRequest{}, 0);
  delayed.send(metadata_request({}, false), 12);
  EXPECT_FALSE(held.closed_within(200ms));
  const auto start = SteadyClock::now();
  ASSERT_TRUE(broker_->stop());
  EXPECT_LT(ms_since(start), 10000);  // the minute-long delay did not hold up the stop
  EXPECT_TRUE(held.closed_within(2000ms));
  EXPECT_TRUE(delayed.closed_within(2000ms));
  broker_.reset();
}

TEST_F(BrokerRequestFaultsTest, DropConnectionClosesInsteadOfAnswering) {
  const uint64_t id = add(rule(FaultAction::drop_connection, MetadataRequest::api_key, 1));
  client_->send(metadata_request({}, false), 12);
  EXPECT_TRUE(client_->closed_within(2000ms));
  EXPECT_EQ(faults().state(id)->applied, 1);
  TestClient again(broker_->port());
  EXPECT_EQ(again.call(metadata_request({}, false), 12).brokers.size(), 1u);
}

TEST_F(BrokerRequestFaultsTest, ReplicaFetchesAreLeftAloneUnlessIncluded) {
  create_topic("r");
  const uint64_t clients_only = add(rule(FaultAction::error, FetchRequest::api_key));
  auto follower_fetch = fetch_request("r", 0, 0);
  follower_fetch.replica_id = 2;  // what a follower broker sends
  auto answer = client_->call(follower_fetch, 12);
  EXPECT_NE(answer.error_code, kCode);
  EXPECT_EQ(faults().state(clients_only)->matched, 0);
  // A consumer's fetch is hit.
  EXPECT_EQ(client_->call(fetch_request("r", 0, 0), 12).error_code, kCode);
  faults().clear();

  auto everything = rule(FaultAction::error, FetchRequest::api_key, 1);
  everything.include_replication = true;
  const uint64_t id = add(everything);
  EXPECT_EQ(client_->call(follower_fetch, 12).error_code, kCode);
  EXPECT_EQ(faults().state(id)->applied, 1);
}

TEST_F(BrokerRequestFaultsTest, RequestLogRecordsWhatArrived) {
  broker_->request_log().clear();
  client_->call(ApiVersionsRequest{}, 3);
  send_as(*client_, "other-app", metadata_request({}, false), 9, 77);
  client_->receive<MetadataResponse>(77, 9);
  auto entries = broker_->request_log().snapshot();
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].api_name, "ApiVersions");
  EXPECT_EQ(entries[0].api_version, 3);
  EXPECT_EQ(entries[0].client_id, "broker-test");
  EXPECT_EQ(entries[1].api_key, MetadataRequest::api_key);
  EXPECT_EQ(entries[1].api_version, 9);
  EXPECT_EQ(entries[1].correlation_id, 77);
  EXPECT_EQ(entries[1].client_id, "other-app");
  EXPECT_EQ(entries[0].connection_id, entries[1].connection_id);
  EXPECT_EQ(entries[1].peer.rfind("127.0.0.1:", 0), 0u) << entries[1].peer;
  // Faulted requests are logged too (the log shows what clients sent, not what was answered).
  add(rule(FaultAction::error, MetadataRequest::api_key, 1));
  client_->call(metadata_request({}, false), 12);
  EXPECT_EQ(broker_->request_log().snapshot().size(), 3u);
}

}  // namespace
}  // namespace kafkacore::broker::testing
