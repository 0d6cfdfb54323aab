// ApiVersions, Metadata, DescribeCluster and pipelining against a real broker.
#include <map>
#include <set>

#include "broker/harness.h"
#include "protocol/writer.h"

namespace kafkacore::broker::testing {
namespace {

using namespace protocol;

// What the broker registers today: key -> (min, max) advertised.
const std::map<int16_t, std::pair<int16_t, int16_t>>& expected_apis() {
  static const std::map<int16_t, std::pair<int16_t, int16_t>> apis = {
      {0, {0, 11}},   // Produce
      {1, {4, 12}},   // Fetch
      {2, {0, 7}},    // ListOffsets
      {3, {0, 12}},   // Metadata
      {18, {0, 4}},   // ApiVersions
      {19, {0, 7}},   // CreateTopics
      {20, {0, 6}},   // DeleteTopics
      {21, {0, 2}},   // DeleteRecords
      {22, {0, 4}},   // InitProducerId
      {23, {0, 4}},   // OffsetForLeaderEpoch
      {32, {0, 4}},   // DescribeConfigs
      {33, {0, 2}},   // AlterConfigs
      {37, {0, 3}},   // CreatePartitions
      {44, {0, 1}},   // IncrementalAlterConfigs
      {60, {0, 1}},   // DescribeCluster
  };
  return apis;
}

MetadataRequest all_topics() {
  MetadataRequest req;
  req.topics = std::nullopt;
  return req;
}

void check_api_list(const ApiVersionsResponse& resp) {
  std::map<int16_t, std::pair<int16_t, int16_t>> got;
  int16_t previous = -1;
  for (const auto& a : resp.api_keys) {
    EXPECT_GT(a.api_key, previous) << "api keys sorted and unique";
    previous = a.api_key;
    EXPECT_LE(a.min_version, a.max_version) << "api " << a.api_key;
    got[a.api_key] = {a.min_version, a.max_version};
  }
  // Other APIs may be added; every one we know must be there with its exact range.
  for (const auto& [key, range] : expected_apis()) {
    auto it = got.find(key);
    ASSERT_NE(it, got.end()) << "api " << key << " missing";
    EXPECT_EQ(it->second, range) << "api " << key;
  }
}

using ApiTest = BrokerTest;

TEST_F(ApiTest, ApiVersionsV0) {
  auto resp = client_->call(ApiVersionsRequest{}, 0);
  EXPECT_EQ(resp.error_code, 0);
  check_api_list(resp);
}

TEST_F(ApiTest, ApiVersionsV3) {
  ApiVersionsRequest req;
  req.client_software_name = "broker-test";
  req.client_software_version = "1.0.0";
  auto resp = client_->call(req, 3);
  EXPECT_EQ(resp.error_code, 0);
  check_api_list(resp);
  // The same list at v0 and v3.
  auto v0 = client_->call(ApiVersionsRequest{}, 0);
  EXPECT_EQ(v0.api_keys, resp.api_keys);
}

TEST_F(ApiTest, ApiVersionsBadSoftwareNameIsInvalidRequest) {
  ApiVersionsRequest req;
  req.client_software_name = "bad name!";
  req.client_software_version = "1.0";
  auto resp = client_->call(req, 3);
  EXPECT_EQ(resp.error_code, 42);
}

TEST_F(ApiTest, ApiVersionsUnknownVersionGetsV0Answer) {
  // A newer client's request at v99: the body is whatever v99 is; the broker must not parse it.
  Writer w;
  w.begin_frame();
  RequestHeader header{ApiVersionsRequest::api_key, 99, 4242, "broker-test"};
  encode_request_header(w, header);
  w.write_string("broker-test", true);
  w.write_string("9.9", true);
  w.write_unsigned_varint(0);
  auto frame = w.finish_frame();
  client_->send_raw(frame.bytes);
  auto resp = client_->receive<ApiVersionsResponse>(4242, 0);
  EXPECT_EQ(resp.error_code, 35);  // UNSUPPORTED_VERSION
  bool found = false;
  for (const auto& a : resp.api_keys) {
    if (a.api_key == 18) {
      found = true;
      EXPECT_EQ(a.min_version, 0);
      EXPECT_EQ(a.max_version, 4);
    }
  }
  EXPECT_TRUE(found);
  // The connection stays usable.
  EXPECT_EQ(client_->call(ApiVersionsRequest{}, 0).error_code, 0);
}

TEST_F(ApiTest, UnsupportedVersionOfOtherApiClosesConnection) {
  // Produce v2 is advertised but not served: the connection is closed.
  Bytes batch = make_batch("x", 1);
  client_->send(produce_request("t", 0, batch), 2);
  EXPECT_THROW(client_->read_frame(), ClientError);
}

TEST_F(ApiTest, MetadataV12AutoCreatesAndIdsAreStable) {
  auto resp = client_->call(metadata_request({"auto-topic"}), 12);
  ASSERT_EQ(resp.brokers.size(), 1u);
  EXPECT_EQ(resp.brokers[0].node_id, 1);
  EXPECT_EQ(resp.brokers[0].host, "127.0.0.1");
  EXPECT_EQ(resp.brokers[0].port, broker_->port());
  EXPECT_EQ(resp.controller_id, 1);
  ASSERT_TRUE(resp.cluster_id.has_value());
  EXPECT_FALSE(resp.cluster_id->empty());
  ASSERT_EQ(resp.topics.size(), 1u);
  const auto& t = resp.topics[0];
  EXPECT_EQ(t.error_code, 0);
  EXPECT_EQ(t.name, "auto-topic");
  EXPECT_FALSE(t.topic_id.is_zero());
  EXPECT_FALSE(t.is_internal);
  ASSERT_EQ(t.partitions.size(), 1u);  // num.partitions default
  EXPECT_EQ(t.partitions[0].partition_index, 0);
  EXPECT_EQ(t.partitions[0].error_code, 0);
  EXPECT_EQ(t.partitions[0].leader_id, 1);
  EXPECT_EQ(t.partitions[0].leader_epoch, 0);
  EXPECT_EQ(t.partitions[0].replica_nodes, std::vector<int32_t>{1});
  EXPECT_EQ(t.partitions[0].isr_nodes, std::vector<int32_t>{1});

  // Asked again (and by id): the same id and cluster id.
  auto again = client_->call(metadata_request({"auto-topic"}), 12);
  ASSERT_EQ(again.topics.size(), 1u);
  EXPECT_EQ(again.topics[0].topic_id, t.topic_id);
  EXPECT_EQ(again.cluster_id, resp.cluster_id);

  MetadataRequest by_id;
  by_id.topics.emplace();
  auto& wanted = by_id.topics->emplace_back();
  wanted.name = std::nullopt;
  wanted.topic_id = t.topic_id;
  auto found = client_->call(by_id, 12);
  ASSERT_EQ(found.topics.size(), 1u);
  EXPECT_EQ(found.topics[0].error_code, 0);
  EXPECT_EQ(found.topics[0].name, "auto-topic");

  protocol::Uuid unknown;
  unknown.bytes[0] = std::byte{0x42};
  by_id.topics->at(0).topic_id = unknown;
  auto missing = client_->call(by_id, 12);
  ASSERT_EQ(missing.topics.size(), 1u);
  EXPECT_EQ(missing.topics[0].error_code, 100);  // UNKNOWN_TOPIC_ID
}

TEST_F(ApiTest, MetadataV12WithoutAutoCreateFlag) {
  auto resp = client_->call(metadata_request({"not-created"}, /*allow_auto_create=*/false), 12);
  ASSERT_EQ(resp.topics.size(), 1u);
  EXPECT_EQ(resp.topics[0].error_code, 3);
  auto all = client_->call(all_topics(), 12);
  EXPECT_TRUE(all.topics.empty());
}

TEST_F(ApiTest, MetadataV1AndV0) {
  // v0: naming a topic always auto-creates it (no flag before v4).
  auto v0 = client_->call(metadata_request({"old-client"}), 0);
  ASSERT_EQ(v0.topics.size(), 1u);
  EXPECT_EQ(v0.topics[0].error_code, 0);
  EXPECT_EQ(v0.topics[0].name, "old-client");
  ASSERT_EQ(v0.brokers.size(), 1u);
  EXPECT_EQ(v0.brokers[0].port, broker_->port());
  create_topic("second", 2);

  // v0: an empty list means every topic.
  auto all_v0 = client_->call(metadata_request({}), 0);
  std::set<std::string> names;
  for (const auto& t : all_v0.topics) names.insert(t.name.value_or(""));
  EXPECT_EQ(names, (std::set<std::string>{"old-client", "second"}));

  // v1: null means every topic, an empty list none.
  auto all_v1 = client_->call(all_topics(), 1);
  EXPECT_EQ(all_v1.topics.size(), 2u);
  EXPECT_EQ(all_v1.controller_id, 1);
  auto none_v1 = client_->call(metadata_request({}), 1);
  EXPECT_TRUE(none_v1.topics.empty());
  auto one_v1 = client_->call(metadata_request({"second"}), 1);
  ASSERT_EQ(one_v1.topics.size(), 1u);
  EXPECT_EQ(one_v1.topics[0].partitions.size(), 2u);
}

class NoAutoCreateTest : public BrokerTest {
 protected:
  std::map<std::string, std::string> extra_properties() const override {
    return {{"auto.create.topics.enable", "false"}};
  }
};

TEST_F(NoAutoCreateTest, MetadataUnknownTopic) {
  for (int16_t version : {0, 1, 4, 12}) {
    auto resp = client_->call(metadata_request({"nope"}), version);
    ASSERT_EQ(resp.topics.size(), 1u) << "v" << version;
    EXPECT_EQ(resp.topics[0].error_code, 3) << "v" << version;  // UNKNOWN_TOPIC_OR_PARTITION
  }
  // Explicit creation still works.
  create_topic("explicit");
  auto resp = client_->call(metadata_request({"explicit"}), 12);
  ASSERT_EQ(resp.topics.size(), 1u);
  EXPECT_EQ(resp.topics[0].error_code, 0);
}

TEST_F(ApiTest, DescribeCluster) {
  auto meta = client_->call(metadata_request({}), 12);
  auto resp = client_->call(DescribeClusterRequest{}, 1);
  EXPECT_EQ(resp.error_code, 0);
  EXPECT_EQ(resp.endpoint_type, 1);
  EXPECT_EQ(std::optional<std::string>(resp.cluster_id), meta.cluster_id);
  EXPECT_EQ(resp.controller_id, 1);
  ASSERT_EQ(resp.brokers.size(), 1u);
  EXPECT_EQ(resp.brokers[0].broker_id, 1);
  EXPECT_EQ(resp.brokers[0].host, "127.0.0.1");
  EXPECT_EQ(resp.brokers[0].port, broker_->port());
  auto v0 = client_->call(DescribeClusterRequest{}, 0);
  EXPECT_EQ(v0.cluster_id, resp.cluster_id);
}

TEST_F(ApiTest, PipelinedAnswersComeBackInOrder) {
  create_topic("pipe", 2);
  // 50 requests of different kinds in one write, one of them a long poll (on a partition nobody
  // writes to) that answers 200 ms late: everything after it must wait for it.
  struct Sent {
    int32_t id;
    int kind;
  };
  std::vector<Sent> sent;
  Bytes all;
  int32_t id = 1000;
  for (int i = 0; i < 50; ++i) {
    const int kind = i == 10 ? 4 : i % 4;
    Bytes frame;
    switch (kind) {
      case 0:
        frame = client_->encode(ApiVersionsRequest{}, 0, id);
        break;
      case 1:
        frame = client_->encode(metadata_request({"pipe"}), 12, id);
        break;
      case 2:
        frame = client_->encode(produce_request("pipe", 0, make_batch("p" + std::to_string(i), 1)), 9, id);
        break;
      case 3:
        frame = client_->encode(fetch_request("pipe", 0, 0), 12, id);
        break;
      default:
        frame = client_->encode(fetch_request("pipe", 1, 0, 200), 12, id);
        break;
    }
    all.insert(all.end(), frame.begin(), frame.end());
    sent.push_back({id, kind});
    ++id;
  }
  const auto started = std::chrono::steady_clock::now();
  client_->send_raw(all);
  int64_t next_offset = 0;
  for (const auto& s : sent) {
    switch (s.kind) {
      case 0:
        EXPECT_EQ(client_->receive<ApiVersionsResponse>(s.id, 0).error_code, 0);
        break;
      case 1: {
        auto r = client_->receive<MetadataResponse>(s.id, 12);
        ASSERT_EQ(r.topics.size(), 1u);
        EXPECT_EQ(r.topics[0].error_code, 0);
        break;
      }
      case 2: {
        auto r = client_->receive<ProduceResponse>(s.id, 9);
        ASSERT_EQ(r.responses.size(), 1u);
        EXPECT_EQ(r.responses[0].partition_responses[0].error_code, 0);
        EXPECT_EQ(r.responses[0].partition_responses[0].base_offset, next_offset++);
        break;
      }
      case 3: {
        auto r = client_->receive<FetchResponse>(s.id, 12);
        EXPECT_EQ(r.error_code, 0);
        ASSERT_NE(find_partition(r, "pipe", 0), nullptr);
        break;
      }
      default: {
        auto r = client_->receive<FetchResponse>(s.id, 12);
        EXPECT_GE(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(190));
        const auto* p = find_partition(r, "pipe", 1);
        ASSERT_NE(p, nullptr);
        EXPECT_EQ(p->error_code, 0);
        EXPECT_EQ(p->records.size(), 0u);
        break;
      }
    }
  }
  int produces = 0;
  for (const auto& s : sent) produces += s.kind == 2 ? 1 : 0;
  EXPECT_EQ(next_offset, produces);
}

// Every version the broker advertises (and serves) gets a well-formed answer: a field a version
// cannot carry makes the broker close the connection instead.
TEST_F(ApiTest, EveryAdvertisedVersionIsServed) {
  create_topic("versions", 2);
  produce("versions", 0, make_batch("v", 2));
  auto versions = client_->call(ApiVersionsRequest{}, 0);
  std::map<int16_t, std::pair<int16_t, int16_t>> ranges;
  for (const auto& a : versions.api_keys) ranges[a.api_key] = {a.min_version, a.max_version};
  int topic_counter = 0;
  auto each = [&](int16_t key, int16_t min_served, auto&& fn) {
    auto it = ranges.find(key);
    ASSERT_NE(it, ranges.end());
    for (int16_t v = std::max(it->second.first, min_served); v <= it->second.second; ++v) {
      SCOPED_TRACE("api " + std::to_string(key) + " v" + std::to_string(v));
      fn(v);
    }
  };
  each(18, 0, [&](int16_t v) {
    ApiVersionsRequest req;
    if (v >= 3) {
      req.client_software_name = "broker-test";
      req.client_software_version = "1.0";
    }
    EXPECT_EQ(client_->call(req, v).error_code, 0);
  });
  each(3, 0, [&](int16_t v) {
    auto r = client_->call(metadata_request({"versions"}), v);
    ASSERT_EQ(r.topics.size(), 1u);
    EXPECT_EQ(r.topics[0].error_code, 0);
    EXPECT_EQ(r.topics[0].partitions.size(), 2u);
  });
  each(0, 3, [&](int16_t v) {
    auto r = produce(*client_, "versions", 1, make_batch("p", 1), v);
    EXPECT_EQ(r.error_code, 0);
    EXPECT_GE(r.base_offset, 0);
  });
  each(1, 4, [&](int16_t v) {
    auto r = client_->call(fetch_request("versions", 0, 0), v);
    const auto* p = find_partition(r, "versions", 0);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(p->error_code, 0);
    EXPECT_EQ(fetched_records(p->records.bytes).size(), 2u);
  });
  each(2, 0, [&](int16_t v) {
    EXPECT_EQ(list_offset_at("versions", v), 0);
  });
  each(19, 0, [&](int16_t v) {
    CreateTopicsRequest req;
    auto& t = req.topics.emplace_back();
    t.name = "created-" + std::to_string(topic_counter++);
    t.num_partitions = 1;
    t.replication_factor = 1;
    auto r = client_->call(req, v);
    ASSERT_EQ(r.topics.size(), 1u);
    EXPECT_EQ(r.topics[0].error_code, 0);
  });
  int deleted = 0;
  each(20, 0, [&](int16_t v) {
    DeleteTopicsRequest req;
    const std::string name = "created-" + std::to_string(deleted++);
    if (v >= 6) {
      req.topics.emplace_back().name = name;
    } else {
      req.topic_names = {name};
    }
    auto r = client_->call(req, v);
    ASSERT_EQ(r.responses.size(), 1u);
    EXPECT_EQ(r.responses[0].error_code, 0);
  });
  int32_t partitions = 2;
  each(37, 0, [&](int16_t v) {
    CreatePartitionsRequest req;
    auto& t = req.topics.emplace_back();
    t.name = "versions";
    t.count = ++partitions;
    t.assignments = std::nullopt;
    auto r = client_->call(req, v);
    ASSERT_EQ(r.results.size(), 1u);
    EXPECT_EQ(r.results[0].error_code, 0);
  });
  each(32, 0, [&](int16_t v) {
    DescribeConfigsRequest req;
    auto& res = req.resources.emplace_back();
    res.resource_type = 2;
    res.resource_name = "versions";
    res.configuration_keys = std::nullopt;
    req.include_synonyms = v >= 1;
    auto r = client_->call(req, v);
    ASSERT_EQ(r.results.size(), 1u);
    EXPECT_EQ(r.results[0].error_code, 0);
    EXPECT_FALSE(r.results[0].configs.empty());
    req.resources[0].resource_type = 4;
    req.resources[0].resource_name = "1";
    auto b = client_->call(req, v);
    ASSERT_EQ(b.results.size(), 1u);
    EXPECT_EQ(b.results[0].error_code, 0);
  });
  each(33, 0, [&](int16_t v) {
    AlterConfigsRequest req;
    auto& res = req.resources.emplace_back();
    res.resource_type = 2;
    res.resource_name = "versions";
    auto& c = res.configs.emplace_back();
    c.name = "retention.ms";
    c.value = std::to_string(1000000 + v);
    EXPECT_EQ(client_->call(req, v).responses.at(0).error_code, 0);
  });
  each(44, 0, [&](int16_t v) {
    IncrementalAlterConfigsRequest req;
    auto& res = req.resources.emplace_back();
    res.resource_type = 2;
    res.resource_name = "versions";
    auto& c = res.configs.emplace_back();
    c.name = "retention.ms";
    c.config_operation = 0;
    c.value = std::to_string(2000000 + v);
    EXPECT_EQ(client_->call(req, v).responses.at(0).error_code, 0);
  });
  each(21, 0, [&](int16_t v) {
    DeleteRecordsRequest req;
    auto& t = req.topics.emplace_back();
    t.name = "versions";
    auto& p = t.partitions.emplace_back();
    p.partition_index = 1;
    p.offset = v;  // partition 1 has one record per produce version above
    auto r = client_->call(req, v);
    EXPECT_EQ(r.topics.at(0).partitions.at(0).error_code, 0);
    EXPECT_EQ(r.topics.at(0).partitions.at(0).low_watermark, v);
  });
  each(60, 0, [&](int16_t v) {
    EXPECT_EQ(client_->call(DescribeClusterRequest{}, v).error_code, 0);
  });
  each(22, 0, [&](int16_t v) {
    InitProducerIdRequest req;
    req.transactional_id = std::nullopt;
    auto r = client_->call(req, v);
    EXPECT_EQ(r.error_code, 0);
    EXPECT_GE(r.producer_id, 0);
  });
  each(23, 0, [&](int16_t v) {
    OffsetForLeaderEpochRequest req;
    auto& t = req.topics.emplace_back();
    t.topic = "versions";
    auto& p = t.partitions.emplace_back();
    p.partition = 0;
    p.leader_epoch = 0;
    auto r = client_->call(req, v);
    EXPECT_EQ(r.topics.at(0).partitions.at(0).error_code, 0);
    EXPECT_EQ(r.topics.at(0).partitions.at(0).end_offset, 2);
  });
}

}  // namespace
}  // namespace kafkacore::broker::testing
