// The Streams engine against a real in-process broker: topics created by the app, records
// through repartition topics and changelogs, state restored by a second run, two instances
// sharing the work, and failures that stop the app with the cause.
#include "streams/kafka_streams.h"

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <algorithm>
#include <set>
#include <thread>

#include "broker/harness.h"
#include "broker/local_cluster.h"
#include "client/admin_client.h"
#include "client/consumer.h"
#include "client/producer.h"
#include "common/log.h"
#include "streams/builder.h"

namespace kafkacore::streams {
namespace {

using namespace std::chrono_literals;
using client::Properties;

std::string text(const Value& v) {
  if (const auto* s = std::get_if<std::string>(&v)) return *s;
  return "";
}

class KafkaStreamsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    log::set_level(log::Level::warn);
    dir_ = new broker::testing::TempDir();
    broker::LocalClusterOptions options;
    options.brokers = 1;
    options.data_dir = dir_->path();
    options.properties = {{"group.initial.rebalance.delay.ms", "0"},
                          {"offsets.topic.num.partitions", "2"}};
    auto cluster = broker::LocalCluster::start(options);
    ASSERT_TRUE(cluster) << cluster.error().message();
    cluster_ = std::move(*cluster);
  }
  static void TearDownTestSuite() {
    cluster_.reset();
    delete dir_;
    dir_ = nullptr;
  }

  static std::string servers() { return cluster_->bootstrap_servers(); }

  static void create_topics(const std::vector<std::string>& names, int32_t partitions) {
    auto admin = client::AdminClient::create({{"bootstrap.servers", servers()}});
    ASSERT_TRUE(admin);
    std::vector<client::NewTopic> topics;
    for (const auto& n : names) {
      client::NewTopic t;
      t.name = n;
      t.partitions = partitions;
      topics.push_back(t);
    }
    auto created = (*admin)->create_topics(topics);
    ASSERT_TRUE(created) << created.error().message();
    for (const auto& [name, r] : *created) ASSERT_TRUE(r) << name << ": " << r.error().message();
  }

  static void produce(const std::string& topic,
                      const std::vector<std::tuple<std::string, std::string, int64_t>>& records) {
    auto producer = client::Producer::create({{"bootstrap.servers", servers()}});
    ASSERT_TRUE(producer);
    for (const auto& [k, v, ts] : records) {
      client::ProducerRecord r;
      r.topic = topic;
      r.key = Bytes(as_bytes(k).begin(), as_bytes(k).end());
      r.value = Bytes(as_bytes(v).begin(), as_bytes(v).end());
      // Relative to now: the broker's retention would delete records stamped in 1970.
      r.timestamp = base_time() + ts;
      ASSERT_TRUE((*producer)->send(std::move(r)));
    }
    ASSERT_TRUE((*producer)->flush(10s));
  }

  static int64_t base_time() {
    static const int64_t base = std::chrono::duration_cast<std::chrono::milliseconds>(
                                    std::chrono::system_clock::now().time_since_epoch())
                                    .count();
    return base;
  }

  // Every record of `topic` as (key, value) in offset order per partition.
  static std::vector<client::ConsumerRecord> read_all(const std::string& topic) {
    auto consumer = client::Consumer::create(
        {{"bootstrap.servers", servers()}, {"auto.offset.reset", "earliest"}});
    EXPECT_TRUE(consumer);
    auto parts = (*consumer)->partitions_for(topic, 10s);
    EXPECT_TRUE(parts);
    std::vector<client::TopicPartition> tps;
    for (const auto& tp : *parts) tps.push_back(tp);
    EXPECT_TRUE((*consumer)->assign(tps));
    auto ends = (*consumer)->end_offsets(tps, 10s);
    EXPECT_TRUE(ends);
    int64_t total = 0;
    for (const auto& [tp, end] : *ends) total += end;
    std::vector<client::ConsumerRecord> out;
    auto deadline = std::chrono::steady_clock::now() + 20s;
    while (static_cast<int64_t>(out.size()) < total && std::chrono::steady_clock::now() < deadline) {
      auto batch = (*consumer)->poll(200ms);
      EXPECT_TRUE(batch);
      for (auto& r : *batch) out.push_back(std::move(r));
    }
    EXPECT_EQ(static_cast<int64_t>(out.size()), total) << topic;
    return out;
  }

  // The last value per key of a topic whose values are 8-byte counts.
  static std::map<std::string, int64_t> latest_counts(const std::string& topic) {
    std::map<std::string, int64_t> out;
    for (const auto& r : read_all(topic)) {
      std::string key(reinterpret_cast<const char*>(r.key->data()), r.key->size());
      out[key] = load_be<int64_t>(r.value->data());
    }
    return out;
  }

  static Properties app_config(const std::string& id) {
    return {{"application.id", id}, {"bootstrap.servers", servers()},
            {"commit.interval.ms", "100"}, {"consumer.session.timeout.ms", "6000"},
            {"consumer.heartbeat.interval.ms", "200"}};
  }

  // text lines -> words -> count per word, through a repartition topic.
  static Topology word_count(const std::string& input, const std::string& output) {
    StreamsBuilder builder(string_serde(), string_serde());
    builder.stream({input})
        .flat_map_values([](const StreamRecord& r) -> Result<std::vector<Value>> {
          std::vector<Value> words;
          std::string line = text(r.value), word;
          for (char c : line + " ") {
            if (c == ' ') {
              if (!word.empty()) words.emplace_back(word);
              word.clear();
            } else {
              word += c;
            }
          }
          return words;
        })
        .group_by([](const StreamRecord& r) -> Result<Value> { return r.value; })
        .count(Materialized{.store_name = "word-counts", .key_serde = nullptr, .value_serde = nullptr})
        .to_stream()
        .to(output, Produced{.key_serde = string_serde(), .value_serde = int64_serde(), .name = ""});
    auto topology = builder.build();
    EXPECT_TRUE(topology) << topology.error().message();
    return *topology;
  }

  static std::unique_ptr<KafkaStreams> start(Topology topology, Properties config) {
    auto app = KafkaStreams::create(std::move(topology), std::move(config));
    EXPECT_TRUE(app) << app.error().message();
    auto started = (*app)->start();
    EXPECT_TRUE(started) << started.error().message();
    return std::move(*app);
  }

  static inline broker::testing::TempDir* dir_ = nullptr;
  static inline std::unique_ptr<broker::LocalCluster> cluster_;
};

TEST_F(KafkaStreamsTest, WordCountThroughARepartitionTopic) {
  create_topics({"wc-in", "wc-out"}, 2);
  produce("wc-in", {{"a", "the cat", 1000}, {"b", "the dog", 1001}, {"c", "a cat", 1002}});
  auto app = start(word_count("wc-in", "wc-out"), app_config("wc"));
  ASSERT_TRUE(app->wait_until_idle(30s)) << (app->error() ? app->error()->message() : "timeout");
  ASSERT_TRUE(app->wait_until_idle(30s));
  EXPECT_EQ(latest_counts("wc-out"),
            (std::map<std::string, int64_t>{{"the", 2}, {"cat", 2}, {"dog", 1}, {"a", 1}}));
  EXPECT_EQ(app->state(), StreamsState::running);
  auto m = app->metrics();
  EXPECT_EQ(m.records_processed, 3 + 6);  // lines, then words from the repartition topic
  EXPECT_EQ(app->active_tasks().size(), 4u);  // 2 sub-topologies x 2 partitions
  // Local store query: the count of "cat" lives in whichever task owns its partition.
  auto cat = app->query_key_value("word-counts", as_bytes("cat"));
  ASSERT_TRUE(cat);
  EXPECT_EQ(load_be<int64_t>(cat->data()), 2);
  ASSERT_TRUE(app->close());
  EXPECT_EQ(app->state(), StreamsState::closed);
}

TEST_F(KafkaStreamsTest, SecondRunRestoresCountsFromTheChangelog) {
  create_topics({"restore-in", "restore-out"}, 1);
  produce("restore-in", {{"k", "x y x", 1}});
  {
    auto app = start(word_count("restore-in", "restore-out"), app_config("restore"));
    ASSERT_TRUE(app->wait_until_idle(30s));
    ASSERT_TRUE(app->wait_until_idle(30s));
    ASSERT_TRUE(app->close());
  }
  produce("restore-in", {{"k", "x z", 2}});
  auto app = start(word_count("restore-in", "restore-out"), app_config("restore"));
  ASSERT_TRUE(app->wait_until_idle(30s));
  ASSERT_TRUE(app->wait_until_idle(30s));
  EXPECT_EQ(latest_counts("restore-out"),
            (std::map<std::string, int64_t>{{"x", 3}, {"y", 1}, {"z", 1}}));
  EXPECT_GE(app->metrics().records_restored, 2);
  // Only the new line was processed: the first run committed its input.
  EXPECT_EQ(app->metrics().records_processed, 1 + 2);
  ASSERT_TRUE(app->close());
}

TEST_F(KafkaStreamsTest, TwoInstancesSplitTheTasksAndOneTakesOverWhenTheOtherCloses) {
  create_topics({"pair-in", "pair-out"}, 4);
  auto first = start(word_count("pair-in", "pair-out"), app_config("pair"));
  auto second = start(word_count("pair-in", "pair-out"), app_config("pair"));
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < deadline &&
         (first->active_tasks().size() + second->active_tasks().size() != 8 ||
          first->active_tasks().empty() || second->active_tasks().empty())) {
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(first->active_tasks().size() + second->active_tasks().size(), 8u);
  EXPECT_FALSE(first->active_tasks().empty());
  EXPECT_FALSE(second->active_tasks().empty());
  std::vector<std::tuple<std::string, std::string, int64_t>> lines;
  std::map<std::string, int64_t> expected;
  for (int i = 0; i < 40; ++i) {
    std::string w = "w" + std::to_string(i % 7);
    lines.emplace_back("k" + std::to_string(i), w, i);
    ++expected[w];
  }
  produce("pair-in", lines);
  ASSERT_TRUE(first->wait_until_idle(30s));
  ASSERT_TRUE(second->wait_until_idle(30s));
  ASSERT_TRUE(second->close());
  produce("pair-in", lines);
  for (auto& [w, n] : expected) n *= 2;
  deadline = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < deadline && first->active_tasks().size() != 8) {
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_EQ(first->active_tasks().size(), 8u);
  ASSERT_TRUE(first->wait_until_idle(30s));
  ASSERT_TRUE(first->wait_until_idle(30s));
  // Each instance committed before handing over, so nothing was replayed: exact counts.
  EXPECT_EQ(latest_counts("pair-out"), expected);
  ASSERT_TRUE(first->close());
}

TEST_F(KafkaStreamsTest, WindowedFinalCountsAreEmittedOnceAcrossARestart) {
  create_topics({"clicks", "click-windows"}, 1);
  // Windows align to the epoch; keep the test's records inside known windows.
  const int64_t w0 = (base_time() / 10'000) * 10'000 - 100'000 - base_time();
  auto topology = [] {
    StreamsBuilder builder(string_serde(), string_serde());
    builder.stream({"clicks"})
        .group_by_key()
        .windowed_by(TimeWindows{.size_ms = 10'000, .advance_ms = 10'000, .grace_ms = 0})
        .emit(EmitStrategy::on_window_close)
        .count()
        .to_stream()
        .to("click-windows", Produced{.key_serde = string_serde(), .value_serde = int64_serde(), .name = ""});
    return *builder.build();
  };
  produce("clicks", {{"u1", "a", w0 + 1000}, {"u1", "b", w0 + 2000}, {"u2", "c", w0 + 5000},
                     {"u1", "d", w0 + 12'000}});
  {
    auto app = start(topology(), app_config("windows"));
    ASSERT_TRUE(app->wait_until_idle(30s));
    ASSERT_TRUE(app->close());
  }
  produce("clicks", {{"u1", "e", w0 + 25'000}});
  auto app = start(topology(), app_config("windows"));
  ASSERT_TRUE(app->wait_until_idle(30s));
  ASSERT_TRUE(app->close());
  // (key, window start relative to w0, count), in output order.
  std::vector<std::tuple<std::string, int64_t, int64_t>> got;
  for (const auto& r : read_all("click-windows")) {
    ASSERT_GE(r.key->size(), 8u);
    size_t n = r.key->size() - 8;
    got.emplace_back(std::string(reinterpret_cast<const char*>(r.key->data()), n),
                     load_be<int64_t>(r.key->data() + n) - base_time() - w0,
                     load_be<int64_t>(r.value->data()));
  }
  std::sort(got.begin(), got.begin() + std::min<size_t>(2, got.size()));
  EXPECT_EQ(got, (std::vector<std::tuple<std::string, int64_t, int64_t>>{
                     {"u1", 0, 2}, {"u2", 0, 1}, {"u1", 10'000, 1}}));
}

TEST_F(KafkaStreamsTest, StreamTableJoinEnrichesClicksWithTheLatestUserName) {
  create_topics({"users", "page-views", "enriched", "enriched-left"}, 2);
  auto topology = [] {
    StreamsBuilder builder(string_serde(), string_serde());
    KTable users = builder.table("users");
    KStream views = builder.stream({"page-views"});
    ValueJoiner joiner = [](const Value&, const Value& view, const Value& user) -> Result<Value> {
      return text(view) + " by " + (is_null(user) ? std::string("?") : text(user));
    };
    views.join(users, joiner).to("enriched");
    views.join(users, joiner, JoinType::left).to("enriched-left");
    return *builder.build();
  };
  produce("users", {{"u1", "ann", 1}, {"u2", "bob", 2}, {"u1", "anna", 3}});
  auto app = start(topology(), app_config("enrich"));
  ASSERT_TRUE(app->wait_until_idle(30s));
  produce("page-views", {{"u1", "/home", 10}, {"u3", "/docs", 11}, {"u2", "/blog", 12}});
  ASSERT_TRUE(app->wait_until_idle(30s));
  ASSERT_TRUE(app->close());
  auto values = [&](const std::string& topic) {
    std::multiset<std::string> out;
    for (const auto& r : read_all(topic)) {
      out.insert(std::string(reinterpret_cast<const char*>(r.value->data()), r.value->size()));
    }
    return out;
  };
  EXPECT_EQ(values("enriched"), (std::multiset<std::string>{"/home by anna", "/blog by bob"}));
  EXPECT_EQ(values("enriched-left"),
            (std::multiset<std::string>{"/home by anna", "/blog by bob", "/docs by ?"}));
}

TEST_F(KafkaStreamsTest, MissingSourceTopicFailsStart) {
  auto app = KafkaStreams::create(word_count("no-such-topic", "out"), app_config("missing"));
  ASSERT_TRUE(app);
  auto started = (*app)->start();
  ASSERT_FALSE(started);
  EXPECT_NE(started.error().message().find("no-such-topic"), std::string::npos)
      << started.error().message();
  EXPECT_EQ((*app)->state(), StreamsState::error);
}

TEST_F(KafkaStreamsTest, AFailingUserFunctionStopsTheAppWithItsError) {
  create_topics({"boom-in"}, 1);
  produce("boom-in", {{"k", "fine", 1}, {"k", "boom", 2}, {"k", "after", 3}});
  StreamsBuilder builder(string_serde(), string_serde());
  builder.stream({"boom-in"})
      .filter([](const StreamRecord& r) -> Result<bool> {
        if (text(r.value) == "boom") return make_error(Errc::invalid_record, "cannot take boom");
        return true;
      })
      .to("boom-out");
  create_topics({"boom-out"}, 1);
  auto app = start(*builder.build(), app_config("boom"));
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while (app->state() != StreamsState::error && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_EQ(app->state(), StreamsState::error);
  ASSERT_TRUE(app->error());
  EXPECT_NE(app->error()->message().find("cannot take boom"), std::string::npos);
  auto closed = app->close();
  ASSERT_FALSE(closed);
  // The record before the failure went out; the failing one and later ones did not.
  auto out = read_all("boom-out");
  ASSERT_EQ(out.size(), 1u);
}

TEST_F(KafkaStreamsTest, DescribeNamesSubTopologiesSourcesAndStores) {
  Topology t = word_count("in", "out");
  std::string d = t.describe();
  EXPECT_NE(d.find("Sub-topology: 0"), std::string::npos) << d;
  EXPECT_NE(d.find("Sub-topology: 1"), std::string::npos) << d;
  EXPECT_NE(d.find("(topics: [in])"), std::string::npos) << d;
  EXPECT_NE(d.find("stores: [word-counts]"), std::string::npos) << d;
  EXPECT_NE(d.find("-repartition"), std::string::npos) << d;
  auto subs = t.sub_topologies();
  ASSERT_EQ(subs.size(), 2u);
  EXPECT_EQ(subs[0].external_sources, std::vector<std::string>{"in"});
  EXPECT_EQ(subs[1].stores, std::vector<std::string>{"word-counts"});
}

TEST_F(KafkaStreamsTest, BadConfigIsRejected) {
  EXPECT_FALSE(KafkaStreams::create(word_count("in", "out"), {{"bootstrap.servers", servers()}}));
  auto typo = KafkaStreams::create(word_count("in", "out"),
                                   {{"application.id", "x"}, {"bootstrap.servers", servers()},
                                    {"commit.intervall.ms", "5"}});
  ASSERT_FALSE(typo);
  EXPECT_NE(typo.error().message().find("commit.intervall.ms"), std::string::npos);
}

}  // namespace
}  // namespace kafkacore::streams
