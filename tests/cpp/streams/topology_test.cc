// The DSL builds the topology Kafka Streams would: repartition topics exactly where a key
// changed before a grouping or join, sub-topologies split at them, stores shared by a join and
// its table kept in one sub-topology, and misuse reported by build().
#include <gtest/gtest.h>

#include "streams/builder.h"

namespace kafkacore::streams {
namespace {

Result<Value> same_value(const StreamRecord& r) { return r.value; }
Result<bool> always(const StreamRecord&) { return true; }

size_t count_op(const Topology& t, const std::string& op) {
  size_t n = 0;
  for (const auto& node : t.nodes) n += node.operation == op ? 1 : 0;
  return n;
}

TEST(TopologyTest, GroupByKeyWithoutAKeyChangeNeedsNoRepartition) {
  StreamsBuilder b;
  b.stream({"in"}).filter(always).map_values(same_value).group_by_key().count();
  auto t = b.build();
  ASSERT_TRUE(t) << t.error().message();
  EXPECT_EQ(t->sub_topologies().size(), 1u);
  EXPECT_EQ(count_op(*t, "sink"), 0u);
  EXPECT_EQ(t->stores.size(), 1u);
}

TEST(TopologyTest, AKeyChangeBeforeGroupingRepartitionsOnce) {
  StreamsBuilder b;
  KStream keyed = b.stream({"in"}).select_key(same_value).filter(always);
  keyed.group_by_key().count();
  auto t = b.build();
  ASSERT_TRUE(t);
  auto subs = t->sub_topologies();
  ASSERT_EQ(subs.size(), 2u);
  ASSERT_EQ(subs[0].internal_sinks.size(), 1u);
  EXPECT_EQ(subs[0].internal_sinks, subs[1].internal_sources);
  EXPECT_TRUE(subs[0].internal_sinks[0].ends_with("-repartition"));
  EXPECT_TRUE(subs[0].stores.empty());
  EXPECT_EQ(subs[1].stores.size(), 1u);
}

TEST(TopologyTest, GroupedNameNamesTheRepartitionTopicAndStoreNameTheStore) {
  StreamsBuilder b;
  b.stream({"in"})
      .group_by(same_value, Grouped{.key_serde = nullptr, .value_serde = nullptr, .name = "by-value"})
      .count(Materialized{.store_name = "counts", .key_serde = nullptr, .value_serde = nullptr});
  auto t = b.build();
  ASSERT_TRUE(t);
  auto subs = t->sub_topologies();
  ASSERT_EQ(subs.size(), 2u);
  EXPECT_EQ(subs[0].internal_sinks, std::vector<std::string>{"by-value-repartition"});
  EXPECT_EQ(subs[1].stores, std::vector<std::string>{"counts"});
  EXPECT_TRUE(t->stores.at("counts").logged);
}

TEST(TopologyTest, ATableAndTheStreamJoiningItShareASubTopology) {
  StreamsBuilder b;
  KTable users = b.table("users");
  b.stream({"views"}).join(users, [](const Value&, const Value& l, const Value&) -> Result<Value> {
    return l;
  }).to("out");
  auto t = b.build();
  ASSERT_TRUE(t);
  auto subs = t->sub_topologies();
  ASSERT_EQ(subs.size(), 1u);
  EXPECT_EQ(subs[0].external_sources.size(), 2u);
  // The source table restores from its own topic rather than a changelog.
  const StoreSpec& store = t->stores.at(users.store());
  EXPECT_FALSE(store.logged);
  EXPECT_EQ(store.restore_topic, "users");
}

TEST(TopologyTest, StreamStreamJoinBuffersBothSidesInOneSubTopology) {
  StreamsBuilder b;
  KStream left = b.stream({"l"});
  KStream right = b.stream({"r"});
  left.join(right, [](const Value&, const Value& l, const Value&) -> Result<Value> { return l; },
            JoinWindows{.before_ms = 100, .after_ms = 100, .grace_ms = 0})
      .to("out");
  auto t = b.build();
  ASSERT_TRUE(t);
  ASSERT_EQ(t->sub_topologies().size(), 1u);
  ASSERT_EQ(t->stores.size(), 2u);
  for (const auto& [name, store] : t->stores) {
    EXPECT_EQ(store.kind, StoreKind::window);
    EXPECT_TRUE(store.retain_duplicates);
    EXPECT_GE(store.retention_ms, 200);
  }
}

TEST(TopologyTest, BranchesGetOneChildPerPredicateAndADefault) {
  StreamsBuilder b;
  auto branches = b.stream({"in"}).branch({always, always}, true);
  ASSERT_EQ(branches.size(), 3u);
  for (size_t i = 0; i < branches.size(); ++i) branches[i].to("out-" + std::to_string(i));
  auto t = b.build();
  ASSERT_TRUE(t);
  const NodeSpec* branch = nullptr;
  for (const auto& n : t->nodes) {
    if (n.operation == "BRANCH") branch = &n;
  }
  ASSERT_NE(branch, nullptr);
  EXPECT_EQ(branch->children.size(), 3u);
}

TEST(TopologyTest, MisuseIsReportedByBuild) {
  {
    StreamsBuilder b;
    KTable filtered = b.table("t").filter(always);
    b.stream({"s"}).join(filtered, [](const Value&, const Value& l, const Value&) -> Result<Value> {
      return l;
    });
    auto t = b.build();
    ASSERT_FALSE(t);
    EXPECT_NE(t.error().message().find("materialized"), std::string::npos) << t.error().message();
  }
  {
    StreamsBuilder b;
    b.stream({"s"}).group_by_key().windowed_by(TimeWindows{.size_ms = 10, .advance_ms = 20, .grace_ms = 0});
    EXPECT_FALSE(b.build());
  }
  {
    StreamsBuilder b;
    b.stream({"s"}).group_by_key().count(Materialized{.store_name = "x", .key_serde = nullptr, .value_serde = nullptr});
    b.stream({"s2"}).group_by_key().count(Materialized{.store_name = "x", .key_serde = nullptr, .value_serde = nullptr});
    EXPECT_FALSE(b.build());
  }
  {
    StreamsBuilder b;
    // aggregate() without an initializer cannot run.
    b.stream({"s"}).group_by_key().aggregate(nullptr, nullptr);
    EXPECT_FALSE(b.build());
  }
}

TEST(TopologyTest, DescribeListsEveryNodeWithItsLinks) {
  StreamsBuilder b;
  b.stream({"in"}, Consumed{.key_serde = nullptr, .value_serde = nullptr, .timestamp_extractor = std::nullopt, .name = "src"})
      .filter(always, "keep")
      .to("out", Produced{.key_serde = nullptr, .value_serde = nullptr, .name = "sink"});
  auto t = b.build();
  ASSERT_TRUE(t);
  EXPECT_EQ(t->describe(),
            "Topologies:\n"
            "   Sub-topology: 0\n"
            "    Source: src (topics: [in])\n"
            "      --> keep\n"
            "    Processor: keep (stores: [])\n"
            "      --> sink\n"
            "      <-- src\n"
            "    Sink: sink (topic: out)\n"
            "      <-- keep\n\n");
}

}  // namespace
}  // namespace kafkacore::streams
