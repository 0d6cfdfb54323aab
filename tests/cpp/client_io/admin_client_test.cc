// AdminClient against real brokers: one in-process broker shared by the AdminTest suite, a
// three-broker LocalCluster shared by AdminClusterTest (RF=3 topics, every broker asked, calls
// retried across a stopped broker), and nothing at all for the timeout and close tests.
#include "client/admin_client.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <future>
#include <thread>

#include "broker/harness.h"
#include "broker/local_cluster.h"
#include "client/consumer_protocol.h"
#include "cluster/cluster_fixture.h"

namespace kafkacore::client::testing {
namespace {

using namespace std::chrono_literals;
using broker::testing::make_batch;
using broker::testing::now_ms;
using broker::testing::produce_request;
using broker::testing::TempDir;
using broker::testing::TestClient;

#define ASSERT_OK(r) ASSERT_TRUE(r) << (r).error().to_string()
#define EXPECT_OK(r) EXPECT_TRUE(r) << (r).error().to_string()

template <typename T>
Errc code_of(const Result<T>& r) {
  return r ? Errc::none : r.error().code();
}

OffsetAndMetadata offset_at(int64_t offset, std::string metadata = "") {
  OffsetAndMetadata o;
  o.offset = offset;
  o.metadata = std::move(metadata);
  return o;
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::ranges::find(v, s) != v.end();
}

std::unique_ptr<AdminClient> make_admin(const std::string& bootstrap, Properties extra = {}) {
  Properties p = {{"bootstrap.servers", bootstrap},
                  {"default.api.timeout.ms", "20000"},
                  {"request.timeout.ms", "5000"},
                  {"retry.backoff.ms", "20"},
                  {"retry.backoff.max.ms", "200"}};
  for (auto& [k, v] : extra) p[k] = v;
  auto admin = AdminClient::create(p);
  if (!admin) throw std::runtime_error(admin.error().to_string());
  return std::move(*admin);
}

// Produces `count` records (timestamps `timestamp + i`, default now) with acks=1.
void produce(uint16_t port, const std::string& topic, int32_t partition, int count,
             int64_t timestamp = -1) {
  TestClient client(port);
  auto batch = make_batch(topic, count, timestamp);
  auto resp = client.call(produce_request(topic, partition, batch), 9);
  ASSERT_EQ(resp.responses.size(), 1u);
  ASSERT_EQ(resp.responses[0].partition_responses[0].error_code, 0);
}

// ---------------------------------------------------------------- one broker

class AdminTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    log::set_level(log::Level::warn);
    dir_ = std::make_unique<TempDir>();
    broker_ = broker::testing::start_broker(
        dir_->path(),
        {{"group.initial.rebalance.delay.ms", "0"}, {"offsets.topic.num.partitions", "3"}});
    admin_ = make_admin(broker_->bootstrap_servers());
  }
  static void TearDownTestSuite() {
    admin_.reset();
    EXPECT_TRUE(broker_->stop());
    broker_.reset();
    dir_.reset();
  }

  static void create(const std::string& topic, int32_t partitions) {
    auto r = admin_->create_topics({NewTopic{.name = topic, .partitions = partitions}});
    ASSERT_OK(r);
    ASSERT_OK(r->at(topic));
  }
  static int32_t node() { return broker_->node_id(); }
  static uint16_t port() { return broker_->port(); }

  static inline std::unique_ptr<TempDir> dir_;
  static inline std::unique_ptr<broker::Broker> broker_;
  static inline std::unique_ptr<AdminClient> admin_;
};

TEST_F(AdminTest, CreateTopicsAnswersPerTopicAndWaitsForLeaders) {
  auto first = admin_->create_topics({NewTopic{.name = "ct-a", .partitions = 3}});
  ASSERT_OK(first);
  ASSERT_EQ(first->size(), 1u);
  EXPECT_OK(first->at("ct-a"));
  // Usable at once: every partition has its leader.
  auto described = admin_->describe_topics({"ct-a"});
  ASSERT_OK(described);
  ASSERT_OK(described->at("ct-a"));
  const TopicDescription& d = *described->at("ct-a");
  ASSERT_EQ(d.partitions.size(), 3u);
  for (const PartitionInfo& p : d.partitions) EXPECT_EQ(p.leader, node());

  auto mixed = admin_->create_topics({
      NewTopic{.name = "ct-a", .partitions = 1},
      NewTopic{.name = "ct-b", .partitions = 2, .configs = {{"retention.ms", "12345"}}},
      NewTopic{.name = "ct-zero", .partitions = 0},
      NewTopic{.name = "ct-rf", .partitions = 1, .replication_factor = 3},
      NewTopic{.name = "ct-assigned", .assignment = {{0, {node()}}, {1, {node()}}}},
      NewTopic{.name = "ct-defaults"},
  });
  ASSERT_OK(mixed);
  ASSERT_EQ(mixed->size(), 6u);
  EXPECT_EQ(code_of(mixed->at("ct-a")), Errc::topic_already_exists);
  EXPECT_OK(mixed->at("ct-b"));
  EXPECT_EQ(code_of(mixed->at("ct-zero")), Errc::invalid_partitions);
  EXPECT_EQ(code_of(mixed->at("ct-rf")), Errc::invalid_replication_factor);
  EXPECT_OK(mixed->at("ct-assigned"));
  EXPECT_OK(mixed->at("ct-defaults"));

  auto assigned = admin_->describe_topics({"ct-assigned", "ct-defaults"});
  ASSERT_OK(assigned);
  ASSERT_OK(assigned->at("ct-assigned"));
  EXPECT_EQ(assigned->at("ct-assigned")->partitions.size(), 2u);
  ASSERT_OK(assigned->at("ct-defaults"));
  EXPECT_EQ(assigned->at("ct-defaults")->partitions.size(), 1u);  // num.partitions = 1

  auto configs = admin_->describe_configs({{ConfigResourceType::topic, "ct-b"}});
  ASSERT_OK(configs);
  ASSERT_OK(configs->begin()->second);
  auto entries = *configs->begin()->second;
  auto retention = std::ranges::find(entries, "retention.ms", &ConfigEntry::name);
  ASSERT_NE(retention, entries.end());
  EXPECT_EQ(retention->value, "12345");
}

TEST_F(AdminTest, CreateTopicsValidateOnlyAndArgumentErrors) {
  auto checked = admin_->create_topics({NewTopic{.name = "ct-validate", .partitions = 2}},
                                       {.validate_only = true});
  ASSERT_OK(checked);
  EXPECT_OK(checked->at("ct-validate"));
  auto topics = admin_->list_topics();
  ASSERT_OK(topics);
  EXPECT_FALSE(contains(*topics, "ct-validate"));

  auto twice = admin_->create_topics({NewTopic{.name = "ct-twice"}, NewTopic{.name = "ct-twice"}});
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().code(), Errc::invalid_request);

  auto none = admin_->create_topics({});
  ASSERT_OK(none);
  EXPECT_TRUE(none->empty());
}

TEST_F(AdminTest, ListDescribeAndDeleteTopics) {
  create("ld-1", 2);
  create("ld-2", 1);
  auto topics = admin_->list_topics();
  ASSERT_OK(topics);
  EXPECT_TRUE(contains(*topics, "ld-1"));
  EXPECT_TRUE(contains(*topics, "ld-2"));
  EXPECT_TRUE(std::ranges::is_sorted(*topics));
  EXPECT_FALSE(contains(*topics, "__consumer_offsets"));

  auto described = admin_->describe_topics({"ld-1", "ld-missing"});
  ASSERT_OK(described);
  ASSERT_OK(described->at("ld-1"));
  const TopicDescription& d = *described->at("ld-1");
  EXPECT_EQ(d.name, "ld-1");
  EXPECT_FALSE(d.id.is_zero());
  EXPECT_FALSE(d.internal);
  ASSERT_EQ(d.partitions.size(), 2u);
  EXPECT_EQ(d.partitions[1].partition, 1);
  EXPECT_EQ(d.partitions[1].replicas, std::vector<int32_t>{node()});
  EXPECT_EQ(d.partitions[1].isr, std::vector<int32_t>{node()});
  EXPECT_EQ(code_of(described->at("ld-missing")), Errc::unknown_topic_or_partition);
  // Describing must not have created it.
  topics = admin_->list_topics();
  ASSERT_OK(topics);
  EXPECT_FALSE(contains(*topics, "ld-missing"));

  auto deleted = admin_->delete_topics({"ld-1", "ld-missing"});
  ASSERT_OK(deleted);
  EXPECT_OK(deleted->at("ld-1"));
  EXPECT_EQ(code_of(deleted->at("ld-missing")), Errc::unknown_topic_or_partition);
  topics = admin_->list_topics();
  ASSERT_OK(topics);
  EXPECT_FALSE(contains(*topics, "ld-1"));
  EXPECT_TRUE(contains(*topics, "ld-2"));
}

TEST_F(AdminTest, CreatePartitions) {
  create("cp", 1);
  auto dry = admin_->create_partitions({{"cp", 5}}, /*validate_only=*/true);
  ASSERT_OK(dry);
  EXPECT_OK(dry->at("cp"));
  auto grown = admin_->create_partitions({{"cp", 3}, {"cp-missing", 2}});
  ASSERT_OK(grown);
  EXPECT_OK(grown->at("cp"));
  EXPECT_EQ(code_of(grown->at("cp-missing")), Errc::unknown_topic_or_partition);
  auto shrink = admin_->create_partitions({{"cp", 2}});
  ASSERT_OK(shrink);
  EXPECT_EQ(code_of(shrink->at("cp")), Errc::invalid_partitions);
  auto described = admin_->describe_topics({"cp"});
  ASSERT_OK(described);
  ASSERT_OK(described->at("cp"));
  EXPECT_EQ(described->at("cp")->partitions.size(), 3u);
}

TEST_F(AdminTest, DescribeAndAlterConfigs) {
  create("cfg", 1);
  const ConfigResource topic{ConfigResourceType::topic, "cfg"};
  const ConfigResource broker{ConfigResourceType::broker, std::to_string(node())};
  const ConfigResource missing{ConfigResourceType::topic, "cfg-missing"};
  const ConfigResource bad_broker{ConfigResourceType::broker, "not-a-number"};
  auto find = [](const std::vector<ConfigEntry>& entries, const std::string& name) {
    auto it = std::ranges::find(entries, name, &ConfigEntry::name);
    return it == entries.end() ? std::optional<ConfigEntry>() : *it;
  };

  auto described = admin_->describe_configs({topic, broker, missing, bad_broker});
  ASSERT_OK(described);
  ASSERT_EQ(described->size(), 4u);
  ASSERT_OK(described->at(topic));
  auto retention = find(*described->at(topic), "retention.ms");
  ASSERT_TRUE(retention);
  EXPECT_TRUE(retention->is_default);
  EXPECT_EQ(retention->source, ConfigSource::default_config);
  ASSERT_OK(described->at(broker));
  EXPECT_TRUE(find(*described->at(broker), "num.partitions"));
  EXPECT_EQ(code_of(described->at(missing)), Errc::unknown_topic_or_partition);
  EXPECT_EQ(code_of(described->at(bad_broker)), Errc::invalid_request);

  // Incremental: set two, then remove one and append to a list.
  auto set = admin_->incremental_alter_configs(
      {{topic, {{"retention.ms", AlterOp::set, "1000"}, {"segment.ms", AlterOp::set, "600000"}}},
       {missing, {{"retention.ms", AlterOp::set, "1"}}}});
  ASSERT_OK(set);
  EXPECT_OK(set->at(topic));
  EXPECT_EQ(code_of(set->at(missing)), Errc::unknown_topic_or_partition);
  described = admin_->describe_configs({topic});
  ASSERT_OK(described);
  retention = find(*described->at(topic), "retention.ms");
  ASSERT_TRUE(retention);
  EXPECT_EQ(retention->value, "1000");
  EXPECT_FALSE(retention->is_default);
  EXPECT_EQ(retention->source, ConfigSource::dynamic_topic);

  auto changed =
      admin_->incremental_alter_configs({{topic,
                                          {{"retention.ms", AlterOp::remove, std::nullopt},
                                           {"cleanup.policy", AlterOp::append, "compact"}}}});
  ASSERT_OK(changed);
  EXPECT_OK(changed->at(topic));
  described = admin_->describe_configs({topic});
  ASSERT_OK(described);
  EXPECT_TRUE(find(*described->at(topic), "retention.ms")->is_default);
  EXPECT_EQ(find(*described->at(topic), "cleanup.policy")->value, "delete,compact");
  EXPECT_EQ(find(*described->at(topic), "segment.ms")->value, "600000");

  // Legacy AlterConfigs replaces the whole set: segment.ms goes back to its default.
  auto replaced = admin_->alter_configs({{topic, {{"retention.ms", "2000"}}}});
  ASSERT_OK(replaced);
  EXPECT_OK(replaced->at(topic));
  described = admin_->describe_configs({topic});
  ASSERT_OK(described);
  EXPECT_EQ(find(*described->at(topic), "retention.ms")->value, "2000");
  EXPECT_TRUE(find(*described->at(topic), "segment.ms")->is_default);
  EXPECT_TRUE(find(*described->at(topic), "cleanup.policy")->is_default);

  // Broker configs are read-only on our broker: a per-resource error, not a failed call.
  auto broker_change = admin_->alter_configs({{broker, {{"log.retention.ms", "1"}}}});
  ASSERT_OK(broker_change);
  EXPECT_FALSE(broker_change->at(broker));
}

TEST_F(AdminTest, GroupOffsetsLagAndDeletion) {
  create("go", 2);
  produce(port(), "go", 0, 10);
  produce(port(), "go", 1, 5);
  const TopicPartition p0{"go", 0}, p1{"go", 1}, unknown{"go-missing", 0};

  // An admin commit creates the group.
  auto committed = admin_->alter_group_offsets(
      "go-group", {{p0, offset_at(4, "m0")}, {p1, offset_at(5)}, {unknown, {}}});
  ASSERT_OK(committed);
  EXPECT_OK(committed->at(p0));
  EXPECT_OK(committed->at(p1));
  EXPECT_EQ(code_of(committed->at(unknown)), Errc::unknown_topic_or_partition);

  auto groups = admin_->list_groups();
  ASSERT_OK(groups);
  auto listed = std::ranges::find(*groups, "go-group", &GroupListing::group_id);
  ASSERT_NE(listed, groups->end());
  EXPECT_EQ(listed->state, "Empty");

  auto described = admin_->describe_groups({"go-group", "go-nobody"});
  ASSERT_OK(described);
  ASSERT_OK(described->at("go-group"));
  EXPECT_EQ(described->at("go-group")->state, "Empty");
  EXPECT_EQ(described->at("go-group")->coordinator, node());
  EXPECT_TRUE(described->at("go-group")->members.empty());
  EXPECT_EQ(code_of(described->at("go-nobody")), Errc::group_id_not_found);

  auto offsets = admin_->list_group_offsets("go-group");
  ASSERT_OK(offsets);
  ASSERT_EQ(offsets->size(), 2u);
  EXPECT_EQ(offsets->at(p0).offset, 4);
  EXPECT_EQ(offsets->at(p0).metadata, "m0");
  EXPECT_EQ(offsets->at(p1).offset, 5);
  auto some = admin_->list_group_offsets("go-group", std::vector<TopicPartition>{p1});
  ASSERT_OK(some);
  ASSERT_EQ(some->size(), 1u);
  EXPECT_EQ(some->at(p1).offset, 5);
  auto none = admin_->list_group_offsets("go-nobody");
  ASSERT_OK(none);
  EXPECT_TRUE(none->empty());

  auto lag = admin_->group_lag("go-group");
  ASSERT_OK(lag);
  ASSERT_EQ(lag->size(), 2u);
  EXPECT_EQ(lag->at(p0), (PartitionLag{.committed = 4, .end_offset = 10, .lag = 6}));
  EXPECT_EQ(lag->at(p1), (PartitionLag{.committed = 5, .end_offset = 5, .lag = 0}));

  auto removed = admin_->delete_group_offsets("go-group", {p0});
  ASSERT_OK(removed);
  EXPECT_OK(removed->at(p0));
  offsets = admin_->list_group_offsets("go-group");
  ASSERT_OK(offsets);
  EXPECT_EQ(offsets->size(), 1u);
  EXPECT_TRUE(offsets->contains(p1));
  auto removed_unknown = admin_->delete_group_offsets("go-nobody", {p0});
  ASSERT_OK(removed_unknown);
  EXPECT_EQ(code_of(removed_unknown->at(p0)), Errc::group_id_not_found);

  auto deleted = admin_->delete_groups({"go-group", "go-nobody"});
  ASSERT_OK(deleted);
  EXPECT_OK(deleted->at("go-group"));
  EXPECT_EQ(code_of(deleted->at("go-nobody")), Errc::group_id_not_found);
  groups = admin_->list_groups();
  ASSERT_OK(groups);
  EXPECT_EQ(std::ranges::find(*groups, "go-group", &GroupListing::group_id), groups->end());
}

// A group with a real member (JoinGroup + SyncGroup over the raw test client): its description
// decodes the assignment, and admin writes are refused while it has members.
TEST_F(AdminTest, DescribesAnActiveConsumerGroup) {
  create("ag", 2);
  // The coordinator must exist before joining: let the admin client find it.
  ASSERT_OK(admin_->list_group_offsets("ag-group"));
  TestClient client(port());
  protocol::JoinGroupRequest join;
  join.group_id = "ag-group";
  join.session_timeout_ms = 30000;
  join.rebalance_timeout_ms = 30000;
  join.protocol_type = "consumer";
  auto& proto = join.protocols.emplace_back();
  proto.name = "range";
  Subscription subscription;
  subscription.topics = {"ag"};
  proto.metadata = encode_subscription(subscription);
  int32_t id = client.send(join, 3);
  auto joined = client.receive<protocol::JoinGroupResponse>(id, 3);
  ASSERT_EQ(joined.error_code, 0);
  protocol::SyncGroupRequest sync;
  sync.group_id = "ag-group";
  sync.generation_id = joined.generation_id;
  sync.member_id = joined.member_id;
  auto& a = sync.assignments.emplace_back();
  a.member_id = joined.member_id;
  Assignment assignment;
  assignment.partitions = {{"ag", {0, 1}}};
  a.assignment = encode_assignment(assignment);
  id = client.send(sync, 2);
  auto synced = client.receive<protocol::SyncGroupResponse>(id, 2);
  ASSERT_EQ(synced.error_code, 0);

  auto described = admin_->describe_groups({"ag-group"});
  ASSERT_OK(described);
  ASSERT_OK(described->at("ag-group"));
  const GroupDescription& g = *described->at("ag-group");
  EXPECT_EQ(g.state, "Stable");
  EXPECT_EQ(g.protocol_type, "consumer");
  EXPECT_EQ(g.protocol, "range");
  ASSERT_EQ(g.members.size(), 1u);
  EXPECT_EQ(g.members[0].member_id, joined.member_id);
  EXPECT_EQ(g.members[0].client_id, "broker-test");
  EXPECT_EQ(g.members[0].assignment, (std::vector<TopicPartition>{{"ag", 0}, {"ag", 1}}));

  auto commit = admin_->alter_group_offsets("ag-group", {{{"ag", 0}, offset_at(1)}});
  ASSERT_OK(commit);
  EXPECT_FALSE(commit->at({"ag", 0}));  // the group has members
  auto deleted = admin_->delete_groups({"ag-group"});
  ASSERT_OK(deleted);
  EXPECT_EQ(code_of(deleted->at("ag-group")), Errc::non_empty_group);
  auto uncommitted = admin_->delete_group_offsets("ag-group", {{"ag", 0}});
  ASSERT_OK(uncommitted);
  EXPECT_EQ(code_of(uncommitted->at({"ag", 0})), Errc::group_subscribed_to_topic);
}

TEST_F(AdminTest, DeleteRecordsThenListOffsets) {
  create("dr", 2);
  const int64_t base = now_ms() - 10000;
  produce(port(), "dr", 0, 10, base);
  const TopicPartition p0{"dr", 0}, p1{"dr", 1}, missing{"dr", 7};

  auto deleted = admin_->delete_records({{p0, 4}, {p1, 1}, {missing, 0}});
  ASSERT_OK(deleted);
  ASSERT_OK(deleted->at(p0));
  EXPECT_EQ(*deleted->at(p0), 4);
  EXPECT_EQ(code_of(deleted->at(p1)), Errc::offset_out_of_range);  // p1 is empty
  EXPECT_EQ(code_of(deleted->at(missing)), Errc::unknown_topic_or_partition);

  auto offsets = admin_->list_offsets({{p0, OffsetSpec::earliest()}, {p1, OffsetSpec::latest()}});
  ASSERT_OK(offsets);
  ASSERT_OK(offsets->at(p0));
  EXPECT_EQ(offsets->at(p0)->offset, 4);
  ASSERT_OK(offsets->at(p1));
  EXPECT_EQ(offsets->at(p1)->offset, 0);

  offsets = admin_->list_offsets({{p0, OffsetSpec::latest()}});
  ASSERT_OK(offsets);
  EXPECT_EQ(offsets->at(p0)->offset, 10);
  offsets = admin_->list_offsets({{p0, OffsetSpec::for_timestamp(base + 6)}});
  ASSERT_OK(offsets);
  ASSERT_OK(offsets->at(p0));
  EXPECT_EQ(offsets->at(p0)->offset, 6);
  EXPECT_EQ(offsets->at(p0)->timestamp, base + 6);
  offsets = admin_->list_offsets({{p0, OffsetSpec::max_timestamp()}}, /*read_committed=*/true);
  ASSERT_OK(offsets);
  ASSERT_OK(offsets->at(p0));
  EXPECT_EQ(offsets->at(p0)->offset, 9);
  EXPECT_EQ(offsets->at(p0)->timestamp, base + 9);
  offsets = admin_->list_offsets({{p0, OffsetSpec::for_timestamp(now_ms() + 3600000)}});
  ASSERT_OK(offsets);
  EXPECT_EQ(offsets->at(p0)->offset, -1);  // nothing that late

  // Up to the high watermark.
  deleted = admin_->delete_records({{p0, -1}});
  ASSERT_OK(deleted);
  EXPECT_EQ(*deleted->at(p0), 10);
}

TEST_F(AdminTest, DescribeClusterOfOneBroker) {
  auto cluster = admin_->describe_cluster();
  ASSERT_OK(cluster);
  ASSERT_EQ(cluster->brokers.size(), 1u);
  EXPECT_EQ(cluster->brokers[0].id, node());
  EXPECT_EQ(cluster->brokers[0].port, port());
  EXPECT_EQ(cluster->controller_id, node());
  ASSERT_TRUE(cluster->cluster_id);
  EXPECT_FALSE(cluster->cluster_id->empty());
}

TEST_F(AdminTest, ConcurrentCallsFromManyThreads) {
  create("mt", 1);
  std::vector<std::future<bool>> results;
  for (int i = 0; i < 8; ++i) {
    results.push_back(std::async(std::launch::async, [i] {
      auto topics = admin_->describe_topics({"mt"});
      auto cluster = admin_->describe_cluster();
      auto group = admin_->alter_group_offsets("mt-" + std::to_string(i), {{{"mt", 0}, {}}});
      return topics && topics->at("mt") && cluster && group && group->at({"mt", 0});
    }));
  }
  for (auto& r : results) EXPECT_TRUE(r.get());
}

// ---------------------------------------------------------------- three brokers

// Fast failure detection (Kafka's defaults take ~10 s to fence a dead broker).
std::map<std::string, std::string> fast_cluster_settings() {
  // No automatic leader rebalance: leadership comes back to a preferred replica only when
  // ElectLeaders asks (AdminClusterTest.ElectLeaders...).
  return broker::testing::fast_failover_settings({{"group.initial.rebalance.delay.ms", "0"},
                                                  {"offsets.topic.num.partitions", "6"},
                                                  {"auto.leader.rebalance.enable", "false"}});
}

class AdminClusterTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    log::set_level(log::Level::warn);
    dir_ = std::make_unique<TempDir>();
    broker::LocalClusterOptions options;
    options.brokers = 3;
    options.data_dir = dir_->path();
    options.properties = fast_cluster_settings();
    auto cluster = broker::LocalCluster::start(options);
    if (!cluster) throw std::runtime_error(cluster.error().to_string());
    cluster_ = std::move(*cluster);
    admin_ = make_admin(cluster_->bootstrap_servers());
  }
  static void TearDownTestSuite() {
    admin_.reset();
    EXPECT_TRUE(cluster_->stop());
    cluster_.reset();
    dir_.reset();
  }

  static inline std::unique_ptr<TempDir> dir_;
  static inline std::unique_ptr<broker::LocalCluster> cluster_;
  static inline std::unique_ptr<AdminClient> admin_;
};

TEST_F(AdminClusterTest, ReplicatedTopicsAndTheCluster) {
  auto cluster = admin_->describe_cluster();
  ASSERT_OK(cluster);
  ASSERT_EQ(cluster->brokers.size(), 3u);
  std::vector<int32_t> ids;
  for (const BrokerInfo& b : cluster->brokers) ids.push_back(b.id);
  EXPECT_EQ(ids, cluster_->broker_ids());
  EXPECT_TRUE(std::ranges::find(ids, cluster->controller_id) != ids.end());

  auto created =
      admin_->create_topics({NewTopic{.name = "rf3", .partitions = 3, .replication_factor = 3},
                             NewTopic{.name = "rf4", .partitions = 1, .replication_factor = 4}});
  ASSERT_OK(created);
  EXPECT_OK(created->at("rf3"));
  EXPECT_EQ(code_of(created->at("rf4")), Errc::invalid_replication_factor);
  auto described = admin_->describe_topics({"rf3"});
  ASSERT_OK(described);
  ASSERT_OK(described->at("rf3"));
  for (const PartitionInfo& p : described->at("rf3")->partitions) {
    EXPECT_EQ(p.replicas.size(), 3u);
    EXPECT_GE(p.leader, 1);
  }

  // Each broker's own configs come from that broker.
  std::vector<ConfigResource> brokers;
  for (int32_t id : ids) brokers.push_back({ConfigResourceType::broker, std::to_string(id)});
  auto configs = admin_->describe_configs(brokers);
  ASSERT_OK(configs);
  for (const ConfigResource& r : brokers) {
    ASSERT_OK(configs->at(r));
    auto node = std::ranges::find(*configs->at(r), "node.id", &ConfigEntry::name);
    ASSERT_NE(node, configs->at(r)->end());
    EXPECT_EQ(node->value, r.name);
  }
}

TEST_F(AdminClusterTest, ListGroupsAsksEveryBroker) {
  auto created =
      admin_->create_topics({NewTopic{.name = "lg", .partitions = 1, .replication_factor = 3}});
  ASSERT_OK(created);
  ASSERT_OK(created->at("lg"));
  std::set<int32_t> coordinators;
  std::vector<std::string> names;
  for (int i = 0; i < 12; ++i) {
    const std::string group = "lg-" + std::to_string(i);
    auto committed = admin_->alter_group_offsets(group, {{{"lg", 0}, offset_at(i)}});
    ASSERT_OK(committed);
    ASSERT_OK(committed->at({"lg", 0}));
    names.push_back(group);
  }
  auto described = admin_->describe_groups(names);
  ASSERT_OK(described);
  for (const std::string& g : names) {
    ASSERT_OK(described->at(g));
    coordinators.insert(described->at(g)->coordinator);
  }
  EXPECT_GT(coordinators.size(), 1u);  // the groups live on several brokers
  auto groups = admin_->list_groups();
  ASSERT_OK(groups);
  for (const std::string& g : names) {
    EXPECT_NE(std::ranges::find(*groups, g, &GroupListing::group_id), groups->end()) << g;
  }
  auto offsets = admin_->list_group_offsets("lg-7");
  ASSERT_OK(offsets);
  EXPECT_EQ(offsets->at({"lg", 0}).offset, 7);
}

// A broker stops: calls issued meanwhile are retried (another broker, a new leader, a new
// controller) and succeed within their timeout.
TEST_F(AdminClusterTest, CallsSucceedWhileABrokerIsDown) {
  auto created =
      admin_->create_topics({NewTopic{.name = "down", .partitions = 3, .replication_factor = 3}});
  ASSERT_OK(created);
  ASSERT_OK(created->at("down"));
  auto before = admin_->describe_topics({"down"});
  ASSERT_OK(before);
  const int32_t victim = before->at("down")->partitions[0].leader;
  // A topic living on the victim alone, and a group it coordinates (if one of a few lands there).
  auto lonely =
      admin_->create_topics({NewTopic{.name = "down-lonely", .assignment = {{0, {victim}}}}});
  ASSERT_OK(lonely);
  ASSERT_OK(lonely->at("down-lonely"));
  std::optional<std::string> victim_group;
  for (int i = 0; i < 12 && !victim_group; ++i) {
    const std::string group = "down-g" + std::to_string(i);
    auto committed = admin_->alter_group_offsets(group, {{{"down", 1}, offset_at(42)}});
    ASSERT_OK(committed);
    ASSERT_OK(committed->at({"down", 1}));
    auto described = admin_->describe_groups({group});
    ASSERT_OK(described);
    ASSERT_OK(described->at(group));
    if (described->at(group)->coordinator == victim) victim_group = group;
  }
  // Let the followers learn the high watermark past those commits: a new coordinator loads
  // __consumer_offsets only up to its high watermark (broker/offsets_topic.cc; Kafka loads to
  // the log end), so commits acknowledged just before the failover would be missed.
  std::this_thread::sleep_for(500ms);
  ASSERT_OK(cluster_->stop_broker(victim));

  // The partition's leader is gone: ListOffsets waits for the new one.
  auto offsets = admin_->list_offsets({{{"down", 0}, OffsetSpec::latest()}}, false, 15000ms);
  ASSERT_OK(offsets);
  ASSERT_OK(offsets->at({"down", 0}));
  // The lonely partition gets no leader: that item alone times out, with its last error.
  offsets = admin_->list_offsets(
      {{{"down", 0}, OffsetSpec::latest()}, {{"down-lonely", 0}, OffsetSpec::latest()}}, false,
      500ms);
  ASSERT_OK(offsets);
  ASSERT_OK(offsets->at({"down", 0}));
  ASSERT_FALSE(offsets->at({"down-lonely", 0}));
  EXPECT_EQ(offsets->at({"down-lonely", 0}).error().code(), Errc::request_timed_out);
  EXPECT_NE(offsets->at({"down-lonely", 0}).error().message().find("last error"),
            std::string::npos);

  // The group's coordinator moved with its __consumer_offsets partition.
  if (victim_group) {
    auto committed = admin_->list_group_offsets(*victim_group, std::nullopt, 15000ms);
    ASSERT_OK(committed);
    ASSERT_TRUE(committed->contains({"down", 1})) << committed->size();
    EXPECT_EQ(committed->at({"down", 1}).offset, 42);
    auto described = admin_->describe_groups({*victim_group}, 15000ms);
    ASSERT_OK(described);
    ASSERT_OK(described->at(*victim_group));
    EXPECT_NE(described->at(*victim_group)->coordinator, victim);
  }
  auto after = admin_->describe_topics({"down"});
  ASSERT_OK(after);
  EXPECT_NE(after->at("down")->partitions[0].leader, victim);

  auto more = admin_->create_topics(
      {NewTopic{.name = "down-2", .partitions = 2, .replication_factor = 2}}, {.timeout = 15000ms});
  ASSERT_OK(more);
  EXPECT_OK(more->at("down-2"));
  // Fenced: gone from the cluster's description (once the answering broker has applied it).
  bool gone = false;
  for (int i = 0; i < 50 && !gone; ++i) {
    auto now = admin_->describe_cluster(15000ms);
    ASSERT_OK(now);
    gone = std::ranges::none_of(now->brokers, [&](const BrokerInfo& b) { return b.id == victim; });
    if (!gone) std::this_thread::sleep_for(100ms);
  }
  EXPECT_TRUE(gone);
  auto groups = admin_->list_groups(15000ms);
  EXPECT_OK(groups);

  ASSERT_OK(cluster_->restart_broker(victim));
}

// Preferred leader election: a partition whose preferred (first) replica was stopped is led by
// another replica, and stays so after that broker is back in sync until elect_leaders asks;
// partitions that do not exist get their own error.
TEST_F(AdminClusterTest, ElectLeadersMovesLeadershipBackToThePreferredReplica) {
  using broker::testing::eventually;
  auto created =
      admin_->create_topics({NewTopic{.name = "elect", .partitions = 2, .replication_factor = 3}});
  ASSERT_OK(created);
  ASSERT_OK(created->at("elect"));
  auto partition0 = [&]() -> std::optional<PartitionInfo> {
    auto described = admin_->describe_topics({"elect"}, 5000ms);
    if (!described || !described->at("elect")) return std::nullopt;
    return (*described->at("elect")).partitions.at(0);
  };
  std::optional<PartitionInfo> p;
  ASSERT_TRUE(eventually([&] { return (p = partition0()) && p->isr.size() == 3; }));
  const int32_t preferred = p->replicas.at(0);
  ASSERT_EQ(p->leader, preferred);

  auto r = admin_->elect_leaders(ElectionType::preferred,
                                 std::vector<TopicPartition>{{"elect", 0}, {"elect", 9}});
  ASSERT_OK(r);
  EXPECT_EQ(code_of(r->at({"elect", 0})), Errc::election_not_needed);
  EXPECT_EQ(code_of(r->at({"elect", 9})), Errc::unknown_topic_or_partition);

  // Restarts the broker if the test stops early, for the suite's later tests.
  struct Restart {
    broker::LocalCluster& cluster;
    int32_t id;
    ~Restart() {
      if (!cluster.broker(id)) (void)cluster.restart_broker(id);
    }
  } restart{*cluster_, preferred};
  ASSERT_OK(cluster_->stop_broker(preferred));
  ASSERT_TRUE(
      eventually([&] { return (p = partition0()) && p->leader >= 0 && p->leader != preferred; }));
  const int32_t moved = p->leader;
  r = admin_->elect_leaders(ElectionType::preferred, std::vector<TopicPartition>{{"elect", 0}});
  ASSERT_OK(r);
  EXPECT_EQ(code_of(r->at({"elect", 0})), Errc::preferred_leader_not_available);

  ASSERT_OK(cluster_->restart_broker(preferred));
  ASSERT_TRUE(eventually([&] { return (p = partition0()) && p->isr.size() == 3; }));
  EXPECT_EQ(p->leader, moved);  // back in sync, but not leading until asked
  r = admin_->elect_leaders(ElectionType::preferred,
                            std::vector<TopicPartition>{{"elect", 0}, {"elect", 5}});
  ASSERT_OK(r);
  EXPECT_OK(r->at({"elect", 0}));
  EXPECT_EQ(code_of(r->at({"elect", 5})), Errc::unknown_topic_or_partition);
  EXPECT_TRUE(eventually([&] { return (p = partition0()) && p->leader == preferred; }))
      << "leader " << (p ? p->leader : -1) << ", preferred " << preferred;
  // Now led by its preferred replica: nothing more to elect.
  r = admin_->elect_leaders(ElectionType::preferred, std::vector<TopicPartition>{{"elect", 0}});
  ASSERT_OK(r);
  EXPECT_EQ(code_of(r->at({"elect", 0})), Errc::election_not_needed);
}

// ---------------------------------------------------------------- nothing reachable

// A port nothing listens on: bound, then closed.
uint16_t dead_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    throw std::runtime_error("no free port");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

TEST(AdminOfflineTest, TimesOutWhenNothingIsReachable) {
  auto admin = make_admin("127.0.0.1:" + std::to_string(dead_port()));
  const auto start = std::chrono::steady_clock::now();
  auto topics = admin->list_topics(false, 300ms);
  ASSERT_FALSE(topics);
  EXPECT_EQ(topics.error().code(), Errc::request_timed_out) << topics.error().to_string();
  EXPECT_NE(topics.error().message().find("no metadata yet from bootstrap.servers"),
            std::string::npos)
      << topics.error().message();
  auto created = admin->create_topics({NewTopic{.name = "x"}}, {.timeout = 300ms});
  ASSERT_FALSE(created);
  EXPECT_EQ(created.error().code(), Errc::request_timed_out);
  auto offsets = admin->list_offsets({{{"x", 0}, OffsetSpec::latest()}}, false, 300ms);
  ASSERT_FALSE(offsets);
  EXPECT_EQ(offsets.error().code(), Errc::request_timed_out);
  auto groups = admin->describe_groups({"g"}, 300ms);
  ASSERT_FALSE(groups);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
}

TEST(AdminOfflineTest, CloseFailsCallsInFlightAndLaterOnes) {
  auto admin = make_admin("127.0.0.1:" + std::to_string(dead_port()));
  auto pending = std::async(std::launch::async, [&] { return admin->list_topics(false, 30s); });
  std::this_thread::sleep_for(100ms);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(admin->close());
  auto r = pending.get();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Errc::network_exception);
  EXPECT_EQ(r.error().message(), "client closed");
  auto later = admin->describe_cluster();
  ASSERT_FALSE(later);
  EXPECT_EQ(later.error().message(), "client closed");
  EXPECT_TRUE(admin->close());  // idempotent
}

TEST(AdminOfflineTest, ConfigErrors) {
  auto unknown = AdminClient::create({{"bootstrap.servers", "127.0.0.1:1"}, {"linger.ms", "5"}});
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code(), Errc::invalid_config);
  auto missing = AdminClient::create({});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), Errc::invalid_config);
  auto bad = AdminClient::create(
      {{"bootstrap.servers", "127.0.0.1:1"}, {"default.api.timeout.ms", "soon"}});
  ASSERT_FALSE(bad);
  auto ok = AdminClient::create({{"bootstrap.servers", "127.0.0.1:1"},
                                 {"client.id", "me"},
                                 {"retries", "3"},
                                 {"security.protocol", "PLAINTEXT"}});
  EXPECT_OK(ok);
}

}  // namespace
}  // namespace kafkacore::client::testing
