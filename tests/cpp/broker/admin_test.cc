// CreateTopics, DeleteTopics, CreatePartitions and the config APIs against a real broker.
#include <map>

#include "broker/harness.h"

namespace kafkacore::broker::testing {
namespace {

using namespace protocol;

using AdminTest = BrokerTest;

const CreateTopicsResponse::CreatableTopicConfigs* find_config(
    const CreateTopicsResponse::CreatableTopicResult& result, const std::string& name) {
  if (!result.configs) return nullptr;
  for (const auto& c : *result.configs) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

const DescribeConfigsResponse::DescribeConfigsResourceResult* find_config(
    const DescribeConfigsResponse::DescribeConfigsResult& result, const std::string& name) {
  for (const auto& c : result.configs) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

TEST_F(AdminTest, CreateTopicsValidateOnlyCreatesNothing) {
  CreateTopicsRequest req;
  req.validate_only = true;
  req.topics.push_back(creatable("validated", 3));
  auto resp = client_->call(req, 7);
  ASSERT_EQ(resp.topics.size(), 1u);
  EXPECT_EQ(resp.topics[0].error_code, 0);
  EXPECT_EQ(resp.topics[0].num_partitions, 3);
  EXPECT_EQ(resp.topics[0].replication_factor, 1);
  auto meta = client_->call(metadata_request({"validated"}, false), 12);
  ASSERT_EQ(meta.topics.size(), 1u);
  EXPECT_EQ(meta.topics[0].error_code, 3);
}

TEST_F(AdminTest, CreateTopicsResultsAndErrors) {
  CreateTopicsRequest req;
  req.topics.push_back(creatable("good", 3, 1, {{"retention.ms", "1000"}}));
  req.topics.push_back(creatable("dup", 1));
  req.topics.push_back(creatable("dup", 1));
  req.topics.push_back(creatable("bad name!", 1));
  req.topics.push_back(creatable("..", 1));
  req.topics.push_back(creatable(std::string(250, 'a'), 1));
  req.topics.push_back(creatable("replicated", 1, 2));
  req.topics.push_back(creatable("zero-parts", 0));
  req.topics.push_back(creatable("bad-config", 1, 1, {{"no.such.config", "1"}}));
  req.topics.push_back(creatable("bad-value", 1, 1, {{"retention.ms", "soon"}}));
  req.topics.push_back(creatable("defaults", -1, -1));
  auto resp = client_->call(req, 7);
  ASSERT_EQ(resp.topics.size(), req.topics.size());
  std::map<std::string, int16_t> errors;
  for (const auto& t : resp.topics) errors[t.name] = t.error_code;
  EXPECT_EQ(errors["good"], 0);
  EXPECT_EQ(errors["dup"], 42);                  // INVALID_REQUEST
  EXPECT_EQ(errors["bad name!"], 17);            // INVALID_TOPIC_EXCEPTION
  EXPECT_EQ(errors[".."], 17);
  EXPECT_EQ(errors[std::string(250, 'a')], 17);
  EXPECT_EQ(errors["replicated"], 38);           // INVALID_REPLICATION_FACTOR
  EXPECT_EQ(errors["zero-parts"], 37);           // INVALID_PARTITIONS
  EXPECT_EQ(errors["bad-config"], 40);           // INVALID_CONFIG
  EXPECT_EQ(errors["bad-value"], 40);
  EXPECT_EQ(errors["defaults"], 0);
  for (const auto& t : resp.topics) {
    if (t.error_code != 0) {
      EXPECT_TRUE(t.error_message.has_value() && !t.error_message->empty()) << t.name;
    }
  }

  const auto& good = resp.topics[0];
  EXPECT_FALSE(good.topic_id.is_zero());
  EXPECT_EQ(good.num_partitions, 3);
  EXPECT_EQ(good.replication_factor, 1);
  EXPECT_FALSE(good.error_message.has_value());
  // v5+: the topic's configs come back.
  const auto* retention = find_config(good, "retention.ms");
  ASSERT_NE(retention, nullptr);
  EXPECT_EQ(retention->value, "1000");
  EXPECT_EQ(retention->config_source, 1);  // DYNAMIC_TOPIC_CONFIG
  const auto* cleanup = find_config(good, "cleanup.policy");
  ASSERT_NE(cleanup, nullptr);
  EXPECT_EQ(cleanup->value, "delete");
  EXPECT_EQ(cleanup->config_source, 5);  // DEFAULT_CONFIG

  EXPECT_EQ(resp.topics.back().num_partitions, 1);  // num.partitions

  // The ids match Metadata; the topic exists with its partitions.
  auto meta = client_->call(metadata_request({"good", "dup"}, false), 12);
  ASSERT_EQ(meta.topics.size(), 2u);
  EXPECT_EQ(meta.topics[0].topic_id, good.topic_id);
  EXPECT_EQ(meta.topics[0].partitions.size(), 3u);
  EXPECT_EQ(meta.topics[1].error_code, 3);

  // A second creation fails.
  CreateTopicsRequest again;
  again.topics.push_back(creatable("good", 1));
  auto resp2 = client_->call(again, 7);
  ASSERT_EQ(resp2.topics.size(), 1u);
  EXPECT_EQ(resp2.topics[0].error_code, 36);  // TOPIC_ALREADY_EXISTS
}

TEST_F(AdminTest, CreateTopicsConfigsOnlyFromV5) {
  CreateTopicsRequest req;
  req.topics.push_back(creatable("v4-topic", 1));
  auto v4 = client_->call(req, 4);
  ASSERT_EQ(v4.topics.size(), 1u);
  EXPECT_EQ(v4.topics[0].error_code, 0);
  EXPECT_TRUE(!v4.topics[0].configs || v4.topics[0].configs->empty());
  req.topics[0].name = "v5-topic";
  auto v5 = client_->call(req, 5);
  ASSERT_EQ(v5.topics.size(), 1u);
  EXPECT_EQ(v5.topics[0].error_code, 0);
  ASSERT_TRUE(v5.topics[0].configs.has_value());
  EXPECT_EQ(v5.topics[0].configs->size(), topic_config_names().size());
  // v0 still works (no error messages, no configs).
  req.topics[0].name = "v0-topic";
  auto v0 = client_->call(req, 0);
  ASSERT_EQ(v0.topics.size(), 1u);
  EXPECT_EQ(v0.topics[0].error_code, 0);
}

TEST_F(AdminTest, DeleteTopicsByNameAndById) {
  create_topic("by-name", 2);
  const protocol::Uuid id = create_topic("by-id");
  produce("by-name", 1, make_batch("x", 3));

  DeleteTopicsRequest by_name;
  by_name.topic_names = {"by-name", "never-existed"};
  auto r1 = client_->call(by_name, 4);
  ASSERT_EQ(r1.responses.size(), 2u);
  EXPECT_EQ(r1.responses[0].name, "by-name");
  EXPECT_EQ(r1.responses[0].error_code, 0);
  EXPECT_EQ(r1.responses[1].error_code, 3);
  auto r1_again = client_->call(by_name, 4);
  EXPECT_EQ(r1_again.responses[0].error_code, 3);

  DeleteTopicsRequest by_id;
  auto& state = by_id.topics.emplace_back();
  state.name = std::nullopt;
  state.topic_id = id;
  protocol::Uuid unknown;
  unknown.bytes[15] = std::byte{7};
  auto& missing = by_id.topics.emplace_back();
  missing.name = std::nullopt;
  missing.topic_id = unknown;
  auto r2 = client_->call(by_id, 6);
  ASSERT_EQ(r2.responses.size(), 2u);
  EXPECT_EQ(r2.responses[0].error_code, 0);
  EXPECT_EQ(r2.responses[0].name, "by-id");
  EXPECT_EQ(r2.responses[0].topic_id, id);
  EXPECT_EQ(r2.responses[1].error_code, 100);  // UNKNOWN_TOPIC_ID

  auto meta = client_->call(metadata_request({"by-name", "by-id"}, false), 12);
  ASSERT_EQ(meta.topics.size(), 2u);
  EXPECT_EQ(meta.topics[0].error_code, 3);
  EXPECT_EQ(meta.topics[1].error_code, 3);
  // Produce and Fetch see the partitions gone.
  EXPECT_EQ(produce("by-name", 1, make_batch("y", 1)).error_code, 3);
  auto fetched = client_->call(fetch_request("by-name", 1, 0), 12);
  const auto* p = find_partition(fetched, "by-name", 1);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->error_code, 3);

  // A topic of the same name can be created again, empty and with a new id.
  const protocol::Uuid reborn = create_topic("by-name", 2);
  EXPECT_NE(reborn, id);
  EXPECT_EQ(list_offset("by-name", 1, -1).offset, 0);
}

TEST_F(AdminTest, CreatePartitions) {
  create_topic("grow");
  CreatePartitionsRequest req;
  auto& t = req.topics.emplace_back();
  t.name = "grow";
  t.count = 3;
  t.assignments = std::nullopt;
  auto& unknown = req.topics.emplace_back();
  unknown.name = "no-such-topic";
  unknown.count = 2;
  unknown.assignments = std::nullopt;
  auto resp = client_->call(req, 3);
  ASSERT_EQ(resp.results.size(), 2u);
  EXPECT_EQ(resp.results[0].error_code, 0);
  EXPECT_EQ(resp.results[1].error_code, 3);

  auto meta = client_->call(metadata_request({"grow"}), 12);
  ASSERT_EQ(meta.topics.size(), 1u);
  ASSERT_EQ(meta.topics[0].partitions.size(), 3u);
  EXPECT_EQ(meta.topics[0].partitions[2].partition_index, 2);
  EXPECT_EQ(produce("grow", 2, make_batch("new", 2)).base_offset, 0);

  // Not an increase.
  req.topics.resize(1);
  req.topics[0].count = 2;
  auto shrink = client_->call(req, 3);
  EXPECT_EQ(shrink.results[0].error_code, 37);  // INVALID_PARTITIONS

  // validate_only changes nothing.
  req.topics[0].count = 5;
  req.validate_only = true;
  auto validated = client_->call(req, 3);
  EXPECT_EQ(validated.results[0].error_code, 0);
  meta = client_->call(metadata_request({"grow"}), 12);
  EXPECT_EQ(meta.topics[0].partitions.size(), 3u);

  // Assignments to another broker are refused.
  req.validate_only = false;
  req.topics[0].count = 4;
  CreatePartitionsRequest::CreatePartitionsAssignment a;
  a.broker_ids = {2};
  req.topics[0].assignments = std::vector{a};
  auto assigned = client_->call(req, 3);
  EXPECT_EQ(assigned.results[0].error_code, 39);  // INVALID_REPLICA_ASSIGNMENT
}

DescribeConfigsRequest describe_topic(const std::string& topic,
                                      std::optional<std::vector<std::string>> keys = std::nullopt) {
  DescribeConfigsRequest req;
  auto& r = req.resources.emplace_back();
  r.resource_type = 2;
  r.resource_name = topic;
  r.configuration_keys = std::move(keys);
  req.include_synonyms = true;
  return req;
}

TEST_F(AdminTest, DescribeTopicConfigsWithSynonyms) {
  create_topic("described", 1, {{"retention.ms", "12345"}});
  auto resp = client_->call(describe_topic("described"), 4);
  ASSERT_EQ(resp.results.size(), 1u);
  const auto& result = resp.results[0];
  EXPECT_EQ(result.error_code, 0);
  EXPECT_EQ(result.resource_type, 2);
  EXPECT_EQ(result.resource_name, "described");
  EXPECT_EQ(result.configs.size(), topic_config_names().size());

  const auto* retention = find_config(result, "retention.ms");
  ASSERT_NE(retention, nullptr);
  EXPECT_EQ(retention->value, "12345");
  EXPECT_EQ(retention->config_source, 1);
  EXPECT_FALSE(retention->read_only);
  EXPECT_EQ(retention->config_type, 5);  // LONG
  ASSERT_EQ(retention->synonyms.size(), 2u);
  EXPECT_EQ(retention->synonyms[0].name, "retention.ms");
  EXPECT_EQ(retention->synonyms[0].value, "12345");
  EXPECT_EQ(retention->synonyms[0].source, 1);
  EXPECT_EQ(retention->synonyms[1].name, "log.retention.ms");
  EXPECT_EQ(retention->synonyms[1].value, "604800000");
  EXPECT_EQ(retention->synonyms[1].source, 5);

  const auto* segment = find_config(result, "segment.bytes");
  ASSERT_NE(segment, nullptr);
  EXPECT_EQ(segment->value, "1073741824");
  EXPECT_EQ(segment->config_source, 5);
  EXPECT_EQ(segment->config_type, 3);  // INT
  ASSERT_EQ(segment->synonyms.size(), 1u);
  EXPECT_EQ(segment->synonyms[0].name, "log.segment.bytes");

  // Only the keys asked for; v0 has no synonyms.
  auto one_req = describe_topic("described", std::vector<std::string>{"cleanup.policy"});
  one_req.include_synonyms = false;  // a v1+ field
  auto one = client_->call(one_req, 0);
  ASSERT_EQ(one.results.size(), 1u);
  ASSERT_EQ(one.results[0].configs.size(), 1u);
  EXPECT_EQ(one.results[0].configs[0].name, "cleanup.policy");
  EXPECT_EQ(one.results[0].configs[0].value, "delete");
  EXPECT_TRUE(one.results[0].configs[0].synonyms.empty());
  EXPECT_TRUE(one.results[0].configs[0].is_default);  // a v0-only field

  auto missing = client_->call(describe_topic("missing"), 4);
  ASSERT_EQ(missing.results.size(), 1u);
  EXPECT_EQ(missing.results[0].error_code, 3);
}

class ExplicitBrokerConfigTest : public BrokerTest {
 protected:
  std::map<std::string, std::string> extra_properties() const override {
    return {{"log.retention.ms", "3600000"}, {"num.partitions", "2"}};
  }
};

TEST_F(ExplicitBrokerConfigTest, BrokerConfigsAndTopicSynonyms) {
  DescribeConfigsRequest req;
  auto& r = req.resources.emplace_back();
  r.resource_type = 4;
  r.resource_name = "1";
  r.configuration_keys = std::nullopt;
  auto resp = client_->call(req, 4);
  ASSERT_EQ(resp.results.size(), 1u);
  EXPECT_EQ(resp.results[0].error_code, 0);
  const auto* partitions = find_config(resp.results[0], "num.partitions");
  ASSERT_NE(partitions, nullptr);
  EXPECT_EQ(partitions->value, "2");
  EXPECT_EQ(partitions->config_source, 4);  // STATIC_BROKER_CONFIG
  const auto* retention = find_config(resp.results[0], "log.retention.ms");
  ASSERT_NE(retention, nullptr);
  EXPECT_EQ(retention->value, "3600000");
  EXPECT_EQ(retention->config_source, 4);
  const auto* auto_create = find_config(resp.results[0], "auto.create.topics.enable");
  ASSERT_NE(auto_create, nullptr);
  EXPECT_EQ(auto_create->value, "true");
  EXPECT_EQ(auto_create->config_source, 5);
  const auto* node = find_config(resp.results[0], "broker.id");
  ASSERT_NE(node, nullptr);
  EXPECT_EQ(node->value, "1");

  // Another broker id is refused.
  req.resources[0].resource_name = "7";
  auto other = client_->call(req, 4);
  EXPECT_NE(other.results[0].error_code, 0);

  // A topic without an override inherits the broker's value, reported as STATIC_BROKER_CONFIG.
  create_topic("inherits");
  auto topic = client_->call(describe_topic("inherits", std::vector<std::string>{"retention.ms"}), 4);
  ASSERT_EQ(topic.results[0].configs.size(), 1u);
  const auto& c = topic.results[0].configs[0];
  EXPECT_EQ(c.value, "3600000");
  EXPECT_EQ(c.config_source, 4);
  ASSERT_EQ(c.synonyms.size(), 1u);
  EXPECT_EQ(c.synonyms[0].name, "log.retention.ms");
  EXPECT_EQ(c.synonyms[0].source, 4);
}

std::string config_value(TestClient& client, const std::string& topic, const std::string& key,
                         int8_t* source = nullptr) {
  auto resp = client.call(describe_topic(topic, std::vector<std::string>{key}), 4);
  if (resp.results.size() != 1 || resp.results[0].configs.size() != 1) {
    throw ClientError("DescribeConfigs: no " + key);
  }
  if (source) *source = resp.results[0].configs[0].config_source;
  return resp.results[0].configs[0].value.value_or("<null>");
}

IncrementalAlterConfigsRequest incremental(
    const std::string& topic,
    const std::vector<std::tuple<std::string, int8_t, std::optional<std::string>>>& ops) {
  IncrementalAlterConfigsRequest req;
  auto& r = req.resources.emplace_back();
  r.resource_type = 2;
  r.resource_name = topic;
  for (const auto& [name, op, value] : ops) {
    auto& c = r.configs.emplace_back();
    c.name = name;
    c.config_operation = op;
    c.value = value;
  }
  return req;
}

TEST_F(AdminTest, IncrementalAlterConfigs) {
  create_topic("altered", 1, {{"segment.ms", "100000"}});
  auto resp = client_->call(incremental("altered", {{"retention.ms", 0, "999"},
                                                    {"segment.ms", 1, std::nullopt},
                                                    {"cleanup.policy", 2, "compact"}}),
                            1);
  ASSERT_EQ(resp.responses.size(), 1u);
  EXPECT_EQ(resp.responses[0].error_code, 0);
  EXPECT_EQ(resp.responses[0].resource_name, "altered");
  int8_t source = -1;
  EXPECT_EQ(config_value(*client_, "altered", "retention.ms", &source), "999");
  EXPECT_EQ(source, 1);
  EXPECT_EQ(config_value(*client_, "altered", "segment.ms", &source), "604800000");
  EXPECT_EQ(source, 5);
  EXPECT_EQ(config_value(*client_, "altered", "cleanup.policy"), "delete,compact");

  // DELETE returns to the default; APPEND of a present item is a no-op; SUBTRACT removes.
  resp = client_->call(incremental("altered", {{"retention.ms", 1, std::nullopt},
                                               {"cleanup.policy", 2, "delete"},
                                               {"cleanup.policy", 3, "delete"}}),
                       0);
  EXPECT_EQ(resp.responses[0].error_code, 0);
  EXPECT_EQ(config_value(*client_, "altered", "retention.ms", &source), "604800000");
  EXPECT_EQ(source, 5);
  EXPECT_EQ(config_value(*client_, "altered", "cleanup.policy"), "compact");

  // Errors change nothing.
  auto bad_append = client_->call(incremental("altered", {{"retention.ms", 2, "5"}}), 1);
  EXPECT_EQ(bad_append.responses[0].error_code, 40);
  auto bad_key = client_->call(incremental("altered", {{"no.such.key", 0, "5"}}), 1);
  EXPECT_EQ(bad_key.responses[0].error_code, 40);
  auto bad_value = client_->call(incremental("altered", {{"retention.ms", 0, "x"}}), 1);
  EXPECT_EQ(bad_value.responses[0].error_code, 40);
  auto missing = client_->call(incremental("missing", {{"retention.ms", 0, "5"}}), 1);
  EXPECT_EQ(missing.responses[0].error_code, 3);
  EXPECT_EQ(config_value(*client_, "altered", "retention.ms"), "604800000");

  // validate_only.
  auto req = incremental("altered", {{"retention.ms", 0, "1"}});
  req.validate_only = true;
  EXPECT_EQ(client_->call(req, 1).responses[0].error_code, 0);
  EXPECT_EQ(config_value(*client_, "altered", "retention.ms"), "604800000");
}

TEST_F(AdminTest, AlterConfigsReplacesEveryOverride) {
  create_topic("legacy", 1, {{"retention.ms", "1000"}, {"segment.ms", "200000"}});
  AlterConfigsRequest req;
  auto& r = req.resources.emplace_back();
  r.resource_type = 2;
  r.resource_name = "legacy";
  auto& c = r.configs.emplace_back();
  c.name = "retention.ms";
  c.value = "777";
  auto resp = client_->call(req, 2);
  ASSERT_EQ(resp.responses.size(), 1u);
  EXPECT_EQ(resp.responses[0].error_code, 0);
  EXPECT_EQ(config_value(*client_, "legacy", "retention.ms"), "777");
  int8_t source = -1;
  EXPECT_EQ(config_value(*client_, "legacy", "segment.ms", &source), "604800000");
  EXPECT_EQ(source, 5);

  req.validate_only = true;
  req.resources[0].configs[0].value = "1";
  EXPECT_EQ(client_->call(req, 0).responses[0].error_code, 0);
  EXPECT_EQ(config_value(*client_, "legacy", "retention.ms"), "777");

  req.validate_only = false;
  req.resources[0].configs[0].value = "abc";
  EXPECT_EQ(client_->call(req, 1).responses[0].error_code, 40);
  req.resources[0].resource_type = 4;
  req.resources[0].resource_name = "1";
  req.resources[0].configs[0].value = "1";
  EXPECT_NE(client_->call(req, 1).responses[0].error_code, 0);
  EXPECT_EQ(config_value(*client_, "legacy", "retention.ms"), "777");
}

}  // namespace
}  // namespace kafkacore::broker::testing
