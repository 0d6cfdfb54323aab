// Consumers in groups on one broker: each assignor splitting partitions and rebalancing as
// members join and leave (every record consumed, none twice), committed offsets across
// restarts, static membership, cooperative revocation, patterns, max.poll.interval.ms.
#include "client/consumer.h"
#include "client_io/consumer_fixture.h"

namespace kafkacore::client::testing {
namespace {

// Commits everything consumed before partitions move (the classic listener).
class CommittingListener : public RecordingListener {
 public:
  void on_partitions_revoked(const std::vector<TopicPartition>& p) override {
    RecordingListener::on_partitions_revoked(p);
    if (!consumer) return;
    // Refused only between JoinGroup's answer and SyncGroup's; nothing is lost then: the
    // positions are committed after the next batch or revocation.
    auto r = consumer->commit_sync(5s);
    if (!r && r.error().code() != Errc::rebalance_in_progress) {
      ADD_FAILURE() << "commit: " << r.error().to_string();
    }
  }
  Consumer* consumer = nullptr;
};

class ConsumerGroupTest : public ConsumerTest {
 protected:
  Properties group_props(const std::string& group, const std::string& assignor,
                         const std::map<std::string, std::string>& extra = {}) {
    std::map<std::string, std::string> p = {{"group.id", group},
                                            {"partition.assignment.strategy", assignor},
                                            {"auto.offset.reset", "earliest"},
                                            {"enable.auto.commit", "false"}};
    for (const auto& [k, v] : extra) p[k] = v;
    return props(p);
  }

  // A subscribed consumer in a poll loop, with a committing listener.
  std::unique_ptr<PollLoop> member(const Properties& p, const std::vector<std::string>& topics,
                                   std::shared_ptr<CommittingListener> listener = nullptr) {
    if (!listener) listener = std::make_shared<CommittingListener>();
    auto consumer = make_consumer(p);
    listener->consumer = consumer.get();
    EXPECT_TRUE(consumer->subscribe(topics, listener));
    return std::make_unique<PollLoop>(std::move(consumer));
  }

  static std::string describe(const std::vector<PollLoop*>& loops) {
    std::string out;
    for (PollLoop* l : loops) {
      out += "[assigned:";
      for (const auto& tp : l->assignment()) out += " " + tp.to_string();
      out += " seen:";
      std::map<TopicPartition, int64_t> last;
      for (const auto& [tp, o] : l->seen()) last[tp] = std::max(last[tp], o);
      for (const auto& [tp, o] : last) out += " " + tp.to_string() + "@" + std::to_string(o);
      for (const auto& e : l->errors()) out += " error: " + e;
      out += "] ";
    }
    return out;
  }
  static bool disjoint_cover(const std::vector<PollLoop*>& loops, size_t partitions) {
    std::set<TopicPartition> all;
    size_t total = 0;
    for (PollLoop* l : loops) {
      auto a = l->assignment();
      total += a.size();
      all.insert(a.begin(), a.end());
    }
    return total == partitions && all.size() == partitions;
  }
  static bool balanced(const std::vector<PollLoop*>& loops, size_t partitions) {
    if (!disjoint_cover(loops, partitions)) return false;
    for (PollLoop* l : loops) {
      const size_t n = l->assignment().size();
      if (n < partitions / loops.size() || n > (partitions + loops.size() - 1) / loops.size()) {
        return false;
      }
    }
    return true;
  }
  // Every offset below `per_partition` of each partition seen, across `loops`.
  static bool all_seen(const std::vector<PollLoop*>& loops, const std::string& topic,
                       int32_t partitions, int64_t per_partition) {
    std::set<std::pair<TopicPartition, int64_t>> seen;
    for (PollLoop* l : loops) {
      for (const auto& s : l->seen()) seen.insert(s);
    }
    for (int32_t p = 0; p < partitions; ++p) {
      for (int64_t o = 0; o < per_partition; ++o) {
        if (!seen.contains({{topic, p}, o})) return false;
      }
    }
    return true;
  }
};

class AssignorTest : public ConsumerGroupTest, public ::testing::WithParamInterface<std::string> {};

TEST_P(AssignorTest, MembersSplitPartitionsAndRebalanceAsTheyJoinAndLeave) {
  const std::string assignor = GetParam();
  constexpr int32_t kPartitions = 6;
  create_topic("g", kPartitions);
  produce_all("g", kPartitions, "a", 5);
  const Properties p = group_props("group-" + assignor, assignor);

  auto a = member(p, {"g"});
  ASSERT_TRUE(eventually([&] { return a->assignment().size() == kPartitions; }));
  auto b = member(p, {"g"});
  ASSERT_TRUE(eventually([&] {
    return balanced({a.get(), b.get()}, kPartitions);
  })) << a->assignment().size()
      << " + " << b->assignment().size();
  produce_all("g", kPartitions, "b", 5);
  ASSERT_TRUE(eventually([&] { return all_seen({a.get(), b.get()}, "g", kPartitions, 10); }));

  auto c = member(p, {"g"});
  ASSERT_TRUE(eventually([&] { return balanced({a.get(), b.get(), c.get()}, kPartitions); }));
  produce_all("g", kPartitions, "c", 5);
  ASSERT_TRUE(eventually([&] {
    return all_seen({a.get(), b.get(), c.get()}, "g", kPartitions, 15);
  }));

  // close() leaves at once: the others take over well within the session timeout.
  const auto left = std::chrono::steady_clock::now();
  c->stop();
  ASSERT_TRUE(eventually([&] { return balanced({a.get(), b.get()}, kPartitions); }, 5s));
  EXPECT_LT(std::chrono::steady_clock::now() - left, 4s);
  EXPECT_LT(c->close_duration(), 2s);
  produce_all("g", kPartitions, "d", 5);
  ASSERT_TRUE(eventually([&] {
    return all_seen({a.get(), b.get(), c.get()}, "g", kPartitions, 20);
  }));
  a->stop();
  b->stop();

  // Each record exactly once: commits after each batch and on revocation leave nothing to replay.
  std::map<std::pair<TopicPartition, int64_t>, int> count;
  for (PollLoop* l : {a.get(), b.get(), c.get()}) {
    for (const auto& s : l->seen()) ++count[s];
    EXPECT_TRUE(l->errors().empty()) << l->errors().front();
  }
  EXPECT_EQ(count.size(), static_cast<size_t>(kPartitions * 20));
  for (const auto& [record, n] : count) {
    EXPECT_EQ(n, 1) << record.first.to_string() << "@" << record.second;
  }
}

INSTANTIATE_TEST_SUITE_P(Assignors, AssignorTest,
                         ::testing::Values("range", "roundrobin", "cooperative-sticky"),
                         [](const auto& param_info) {
                           std::string name = param_info.param;
                           std::erase(name, '-');
                           return name;
                         });

TEST_F(ConsumerGroupTest, CommittedOffsetsResumeAfterARestart) {
  create_topic("r", 2);
  produce_all("r", 2, "x", 10);
  const Properties p = group_props("resume", "range");
  {
    auto consumer = make_consumer(p);
    ASSERT_TRUE(consumer->subscribe({"r"}));
    ASSERT_EQ(poll_records(*consumer, 20).size(), 20u);
    EXPECT_FALSE(consumer->member_id().empty());
    EXPECT_GE(consumer->generation(), 1);
    ASSERT_TRUE(consumer->commit_sync(5s));
    ASSERT_TRUE(consumer->close());
  }
  produce_all("r", 2, "y", 3);
  auto consumer = make_consumer(p);
  ASSERT_TRUE(consumer->subscribe({"r"}));
  auto records = poll_records(*consumer, 6);
  ASSERT_EQ(records.size(), 6u);
  for (const auto& r : records) {
    EXPECT_GE(r.offset, 10);
    EXPECT_EQ(str(*r.key).substr(0, 1), "y");
  }
  auto extra = consumer->poll(300ms);
  ASSERT_TRUE(extra);
  EXPECT_TRUE(extra->empty());
}

TEST_F(ConsumerGroupTest, StaticMemberRejoinsWithoutARebalance) {
  create_topic("s", 4);
  produce_all("s", 4, "x", 3);
  auto a = member(group_props("static", "range", {{"group.instance.id", "a"}}), {"s"});
  auto b_listener = std::make_shared<CommittingListener>();
  auto b = member(group_props("static", "range", {{"group.instance.id", "b"}}), {"s"}, b_listener);
  ASSERT_TRUE(eventually([&] { return balanced({a.get(), b.get()}, 4); }));
  ASSERT_TRUE(eventually([&] { return all_seen({a.get(), b.get()}, "s", 4, 3); }));
  const int32_t generation = b->generation();
  const auto a_partitions = a->assignment();
  const auto b_revocations = b_listener->revoked().size();

  // A restarts (no LeaveGroup for a static member) and comes back under the same id.
  a->stop();
  auto a2 = member(group_props("static", "range", {{"group.instance.id", "a"}}), {"s"});
  ASSERT_TRUE(eventually([&] { return a2->assignment() == a_partitions; }));
  produce_all("s", 4, "y", 3);
  ASSERT_TRUE(eventually([&] {
    return all_seen({a.get(), a2.get(), b.get()}, "s", 4, 6);
  })) << describe({a.get(), a2.get(), b.get()});
  EXPECT_EQ(a2->generation(), generation);
  EXPECT_EQ(b->generation(), generation);
  EXPECT_EQ(b_listener->revoked().size(), b_revocations) << "B saw no rebalance";
}

TEST_F(ConsumerGroupTest, CooperativeRebalanceRevokesOnlyWhatMoves) {
  create_topic("co", 4);
  auto a_listener = std::make_shared<CommittingListener>();
  auto a = member(group_props("coop", "cooperative-sticky"), {"co"}, a_listener);
  ASSERT_TRUE(eventually([&] { return a->assignment().size() == 4; }));
  auto b = member(group_props("coop", "cooperative-sticky"), {"co"});
  ASSERT_TRUE(eventually([&] { return balanced({a.get(), b.get()}, 4); }));
  auto revoked = a_listener->revoked();
  ASSERT_EQ(revoked.size(), 1u) << "one revocation, of the moved partitions only";
  EXPECT_EQ(revoked[0].size(), 2u);
  const auto b_assignment = b->assignment();
  for (const TopicPartition& tp : revoked[0]) {
    EXPECT_NE(std::ranges::find(b_assignment, tp), b_assignment.end());
  }
  // Assigned callbacks: the first assignment, then the (empty) additions of the two rounds.
  auto assigned = a_listener->assigned();
  ASSERT_GE(assigned.size(), 2u);
  EXPECT_EQ(assigned[0].size(), 4u);
  for (size_t i = 1; i < assigned.size(); ++i) EXPECT_TRUE(assigned[i].empty());
  EXPECT_TRUE(a_listener->lost().empty());
}

TEST_F(ConsumerGroupTest, EagerRebalanceRevokesEverything) {
  create_topic("ea", 4);
  auto a_listener = std::make_shared<CommittingListener>();
  auto a = member(group_props("eager", "range"), {"ea"}, a_listener);
  ASSERT_TRUE(eventually([&] { return a->assignment().size() == 4; }));
  auto b = member(group_props("eager", "range"), {"ea"});
  ASSERT_TRUE(eventually([&] { return balanced({a.get(), b.get()}, 4); }));
  auto revoked = a_listener->revoked();
  ASSERT_GE(revoked.size(), 1u);
  EXPECT_EQ(revoked.back().size(), 4u);
  EXPECT_EQ(a_listener->assigned().back().size(), 2u);
}

TEST_F(ConsumerGroupTest, PatternSubscriptionFollowsNewTopics) {
  create_topic("pat-a", 2);
  create_topic("pat-b");
  create_topic("other");
  produce_all("pat-a", 2, "a", 2);
  produce_all("pat-b", 1, "b", 2);
  produce_all("other", 1, "o", 2);
  auto consumer = make_consumer(group_props(
      "pattern", "range", {{"metadata.max.age.ms", "300"}, {"enable.auto.commit", "true"}}));
  ASSERT_TRUE(consumer->subscribe_pattern("pat-.*"));
  auto records = poll_records(*consumer, 6);
  ASSERT_EQ(records.size(), 6u);
  for (const auto& r : records) EXPECT_TRUE(r.topic.starts_with("pat-")) << r.topic;
  EXPECT_EQ(consumer->subscription(), (std::vector<std::string>{"pat-a", "pat-b"}));
  create_topic("pat-c");
  produce_all("pat-c", 1, "c", 2);
  records = poll_records(*consumer, 2);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].topic, "pat-c");
  EXPECT_EQ(consumer->subscription(), (std::vector<std::string>{"pat-a", "pat-b", "pat-c"}));
}

TEST_F(ConsumerGroupTest, NotPollingForMaxPollIntervalLeavesAndPollRejoins) {
  create_topic("mp", 4);
  auto a_listener = std::make_shared<CommittingListener>();
  auto a =
      member(group_props("slow", "range", {{"max.poll.interval.ms", "1000"}}), {"mp"}, a_listener);
  auto b = member(group_props("slow", "range"), {"mp"});
  ASSERT_TRUE(eventually([&] { return balanced({a.get(), b.get()}, 4); }));
  a->hold(true);
  ASSERT_TRUE(eventually([&] { return b->assignment().size() == 4; }, 6s))
      << "A left after max.poll.interval.ms";
  a->hold(false);
  ASSERT_TRUE(eventually([&] { return balanced({a.get(), b.get()}, 4); }));
  ASSERT_EQ(a_listener->lost().size(), 1u) << "A's partitions were lost, not revoked";
  EXPECT_EQ(a_listener->lost()[0].size(), 2u);
}

TEST_F(ConsumerGroupTest, UnsubscribeRevokesAndLeaves) {
  create_topic("u", 2);
  auto listener = std::make_shared<RecordingListener>();
  auto a = make_consumer(group_props("unsub", "range"));
  ASSERT_TRUE(a->subscribe({"u"}, listener));
  auto b = member(group_props("unsub", "range"), {"u"});
  ASSERT_TRUE(eventually([&] {
    (void)a->poll(50ms);
    return a->assignment().size() == 1 && b->assignment().size() == 1;
  }));
  a->unsubscribe();
  EXPECT_TRUE(a->assignment().empty());
  EXPECT_TRUE(a->subscription().empty());
  EXPECT_EQ(listener->revoked().back().size(), 1u);
  ASSERT_TRUE(eventually([&] { return b->assignment().size() == 2; }, 5s));
}

TEST_F(ConsumerGroupTest, AFencedStaticMemberFailsPoll) {
  create_topic("fe", 2);
  const Properties p = group_props("fenced", "range", {{"group.instance.id", "x"}});
  auto first = make_consumer(p);
  ASSERT_TRUE(first->subscribe({"fe"}));
  ASSERT_TRUE(eventually([&] {
    EXPECT_TRUE(first->poll(50ms));
    return first->assignment().size() == 2;
  }));
  // Another consumer takes over the instance id; the first learns it from its next heartbeat.
  auto second = make_consumer(p);
  ASSERT_TRUE(second->subscribe({"fe"}));
  ASSERT_TRUE(eventually([&] {
    EXPECT_TRUE(second->poll(50ms));
    return second->assignment().size() == 2;
  }));
  std::optional<Error> error;
  ASSERT_TRUE(eventually(
      [&] {
        auto r = first->poll(50ms);
        if (!r) error = r.error();
        return error.has_value();
      },
      5s));
  EXPECT_EQ(error->code(), Errc::fenced_instance_id) << error->to_string();
  EXPECT_FALSE(first->poll(10ms)) << "fatal: every later poll fails too";
  EXPECT_TRUE(second->poll(10ms));
}

TEST_F(ConsumerGroupTest, TheLeaderRebalancesWhenPartitionsAreAdded) {
  create_topic("grow", 2);
  auto a = member(group_props("grow", "range", {{"metadata.max.age.ms", "200"}}), {"grow"});
  ASSERT_TRUE(eventually([&] { return a->assignment().size() == 2; }));
  protocol::CreatePartitionsRequest req;
  auto& t = req.topics.emplace_back();
  t.name = "grow";
  t.count = 4;
  t.assignments = std::nullopt;
  auto resp = client_->call(req, 3);
  ASSERT_EQ(resp.results.at(0).error_code, 0);
  ASSERT_TRUE(eventually([&] { return a->assignment().size() == 4; }, 10s));
}

TEST_F(ConsumerGroupTest, CloseFromAListenerIsRefused) {
  create_topic("cl");
  struct Closer : RebalanceListener {
    void on_partitions_assigned(const std::vector<TopicPartition>&) override {
      result = consumer->close(1s);
    }
    Consumer* consumer = nullptr;
    std::optional<Result<void>> result;
  };
  auto listener = std::make_shared<Closer>();
  auto consumer = make_consumer(group_props("closer", "range"));
  listener->consumer = consumer.get();
  ASSERT_TRUE(consumer->subscribe({"cl"}, listener));
  ASSERT_TRUE(eventually([&] {
    EXPECT_TRUE(consumer->poll(50ms));
    return listener->result.has_value();
  }));
  ASSERT_FALSE(*listener->result);
  EXPECT_EQ(listener->result->error().code(), Errc::invalid_request);
  EXPECT_TRUE(consumer->poll(10ms)) << "still usable";
  EXPECT_TRUE(consumer->close());
}

}  // namespace
}  // namespace kafkacore::client::testing
