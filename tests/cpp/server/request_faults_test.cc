// RequestFaults on its own: which requests a rule matches (API, topic, client id, replication
// traffic), its triggers (after, times, probability with a seed), rule order, validation and the
// removal hook.
#include "server/request_faults.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace kafkacore::server {
namespace {

constexpr int16_t kProduce = 0;
constexpr int16_t kFetch = 1;
constexpr int16_t kMetadata = 3;
constexpr int16_t kApiVersions = 18;
constexpr int16_t kNotLeader = 6;

// A request as the reactor describes it; counts how often the lazy facts were computed.
struct FakeRequest {
  int16_t api_key = kProduce;
  std::string client_id = "app";
  std::vector<std::string> topic_list;
  bool from_replica = false;
  int topic_decodes = 0;
  int replication_checks = 0;

  RequestFacts facts() {
    RequestFacts f;
    f.api_key = api_key;
    f.client_id = client_id;
    f.replication = [this] {
      ++replication_checks;
      return from_replica;
    };
    f.topics = [this]() -> const std::vector<std::string>& {
      ++topic_decodes;
      return topic_list;
    };
    return f;
  }
};

RequestFaults make_faults() { return RequestFaults({kProduce, kFetch, kMetadata}); }

FaultRule error_rule(int16_t api, int16_t code = kNotLeader) {
  FaultRule r;
  r.api_key = api;
  r.action = FaultAction::error;
  r.error_code = code;
  return r;
}

// Decisions for `n` identical requests: true where a fault applied.
std::vector<bool> run(RequestFaults& faults, FakeRequest& request, int n) {
  std::vector<bool> out;
  for (int i = 0; i < n; ++i) out.push_back(faults.decide(request.facts()).has_value());
  return out;
}

TEST(RequestFaultsTest, IdleWithoutRules) {
  auto faults = make_faults();
  EXPECT_TRUE(faults.idle());
  FakeRequest req;
  EXPECT_FALSE(faults.decide(req.facts()));
  EXPECT_EQ(req.topic_decodes, 0);
  EXPECT_EQ(req.replication_checks, 0);
}

TEST(RequestFaultsTest, AfterSkipsTheFirstMatchesThenTimesSpendsTheRule) {
  auto faults = make_faults();
  auto rule = error_rule(kProduce);
  rule.after = 2;  // the third matching request is the first hit
  rule.times = 2;
  auto id = faults.add(rule);
  ASSERT_TRUE(id) << id.error().message();
  FakeRequest req;
  EXPECT_EQ(run(faults, req, 6), (std::vector<bool>{false, false, true, true, false, false}));
  auto state = faults.state(*id);
  ASSERT_TRUE(state);
  // Spent after its second application: later requests are not even counted as matched.
  EXPECT_EQ(state->matched, 4);
  EXPECT_EQ(state->applied, 2);
  EXPECT_TRUE(state->spent);
  EXPECT_TRUE(faults.idle());
}

TEST(RequestFaultsTest, TimesMinusOneAppliesUntilRemoved) {
  auto faults = make_faults();
  auto id = faults.add(error_rule(kProduce));
  ASSERT_TRUE(id);
  FakeRequest req;
  EXPECT_EQ(run(faults, req, 50), std::vector<bool>(50, true));
  EXPECT_EQ(faults.state(*id)->applied, 50);
  EXPECT_FALSE(faults.state(*id)->spent);
  EXPECT_TRUE(faults.remove(*id));
  EXPECT_FALSE(faults.remove(*id));
  EXPECT_FALSE(faults.state(*id));
  EXPECT_TRUE(faults.idle());
  EXPECT_EQ(run(faults, req, 3), std::vector<bool>(3, false));
}

TEST(RequestFaultsTest, DecisionCarriesTheAction) {
  auto faults = make_faults();
  FaultRule delay;
  delay.action = FaultAction::delay;
  delay.delay_ms = 250;
  delay.times = 1;
  auto id = faults.add(delay);
  ASSERT_TRUE(id);
  FakeRequest req;
  auto d = faults.decide(req.facts());
  ASSERT_TRUE(d);
  EXPECT_EQ(d->rule_id, *id);
  EXPECT_EQ(d->action, FaultAction::delay);
  EXPECT_EQ(d->delay_ms, 250);

  ASSERT_TRUE(faults.add(error_rule(kProduce, 29)));
  d = faults.decide(req.facts());
  ASSERT_TRUE(d);
  EXPECT_EQ(d->action, FaultAction::error);
  EXPECT_EQ(d->error_code, 29);
}

TEST(RequestFaultsTest, ProbabilityWithASeedIsDeterministic) {
  auto decisions = [](uint64_t seed) {
    auto faults = make_faults();
    auto rule = error_rule(kProduce);
    rule.probability = 0.3;
    rule.seed = seed;
    auto id = faults.add(rule);
    EXPECT_TRUE(id);
    FakeRequest req;
    auto out = run(faults, req, 2000);
    EXPECT_EQ(faults.state(*id)->matched, 2000);
    EXPECT_EQ(faults.state(*id)->applied, std::count(out.begin(), out.end(), true));
    return out;
  };
  const auto a = decisions(42);
  EXPECT_EQ(a, decisions(42));
  EXPECT_NE(a, decisions(43));
  // Roughly the asked share (fixed seed: this cannot flake).
  const auto hits = std::count(a.begin(), a.end(), true);
  EXPECT_GT(hits, 2000 * 0.25);
  EXPECT_LT(hits, 2000 * 0.35);
}

TEST(RequestFaultsTest, ProbabilityCombinesWithAfterAndTimes) {
  auto faults = make_faults();
  auto rule = error_rule(kProduce);
  rule.after = 10;
  rule.times = 5;
  rule.probability = 0.5;
  rule.seed = 7;
  auto id = faults.add(rule);
  ASSERT_TRUE(id);
  FakeRequest req;
  const auto out = run(faults, req, 200);
  for (int i = 0; i < 10; ++i) EXPECT_FALSE(out[i]) << i;
  EXPECT_EQ(std::count(out.begin(), out.end(), true), 5);
  EXPECT_TRUE(faults.state(*id)->spent);
}

TEST(RequestFaultsTest, MatchesByApiTopicAndClientId) {
  auto faults = make_faults();
  FaultRule rule = error_rule(kProduce);
  rule.topic = "orders";
  rule.client_id = "billing";
  auto id = faults.add(rule);
  ASSERT_TRUE(id);

  FakeRequest hit;
  hit.client_id = "billing";
  hit.topic_list = {"audit", "orders"};
  EXPECT_TRUE(faults.decide(hit.facts()));

  // Copies of `hit` with one thing changed (and fresh counters).
  auto like_hit = [&] {
    FakeRequest r = hit;
    r.topic_decodes = 0;
    return r;
  };
  FakeRequest other_topic = like_hit();
  other_topic.topic_list = {"audit"};
  EXPECT_FALSE(faults.decide(other_topic.facts()));

  FakeRequest other_client = like_hit();
  other_client.client_id = "shipping";
  EXPECT_FALSE(faults.decide(other_client.facts()));
  EXPECT_EQ(other_client.topic_decodes, 0);  // cheaper filters first

  FakeRequest other_api = like_hit();
  other_api.api_key = kMetadata;
  EXPECT_FALSE(faults.decide(other_api.facts()));
  EXPECT_EQ(other_api.topic_decodes, 0);

  FakeRequest no_client = like_hit();
  no_client.client_id = "";
  EXPECT_FALSE(faults.decide(no_client.facts()));

  EXPECT_EQ(faults.state(*id)->matched, 1);
  EXPECT_EQ(faults.state(*id)->applied, 1);
}

TEST(RequestFaultsTest, TopicsAreDecodedOnlyForTopicRules) {
  auto faults = make_faults();
  FaultRule any;
  any.action = FaultAction::delay;  // every API, every topic
  ASSERT_TRUE(faults.add(any));
  FakeRequest req;
  req.topic_list = {"t"};
  EXPECT_TRUE(faults.decide(req.facts()));
  EXPECT_EQ(req.topic_decodes, 0);
}

TEST(RequestFaultsTest, ReplicationTrafficIsExcludedUnlessAsked) {
  auto faults = make_faults();
  FaultRule clients_only = error_rule(kFetch);
  auto clients_id = faults.add(clients_only);
  ASSERT_TRUE(clients_id);
  FakeRequest follower;
  follower.api_key = kFetch;
  follower.from_replica = true;
  EXPECT_FALSE(faults.decide(follower.facts()));
  EXPECT_EQ(faults.state(*clients_id)->matched, 0);

  FaultRule everyone = error_rule(kFetch, 7);
  everyone.include_replication = true;
  auto everyone_id = faults.add(everyone);
  ASSERT_TRUE(everyone_id);
  auto d = faults.decide(follower.facts());
  ASSERT_TRUE(d);
  EXPECT_EQ(d->rule_id, *everyone_id);
  // The replication check ran once per request, not once per rule.
  EXPECT_EQ(follower.replication_checks, 2);

  FakeRequest consumer;
  consumer.api_key = kFetch;
  d = faults.decide(consumer.facts());
  ASSERT_TRUE(d);
  EXPECT_EQ(d->rule_id, *clients_id);
}

TEST(RequestFaultsTest, FirstAppliedRuleWinsAndLaterRulesDoNotSeeTheRequest) {
  auto faults = make_faults();
  auto first = error_rule(kProduce, 6);
  first.times = 1;
  auto first_id = faults.add(first);
  auto second_id = faults.add(error_rule(kProduce, 7));
  ASSERT_TRUE(first_id && second_id);
  FakeRequest req;
  EXPECT_EQ(faults.decide(req.facts())->error_code, 6);
  EXPECT_EQ(faults.decide(req.facts())->error_code, 7);
  EXPECT_EQ(faults.state(*second_id)->matched, 1);
  // A rule still skipping (after) lets the next rule take the request.
  auto faults2 = make_faults();
  auto skipping = error_rule(kProduce, 6);
  skipping.after = 1;
  ASSERT_TRUE(faults2.add(skipping));
  ASSERT_TRUE(faults2.add(error_rule(kProduce, 7)));
  EXPECT_EQ(faults2.decide(req.facts())->error_code, 7);
  EXPECT_EQ(faults2.decide(req.facts())->error_code, 6);
}

TEST(RequestFaultsTest, InvalidRulesAreRefusedWithAReason) {
  auto faults = make_faults();
  auto no_builder = faults.add(error_rule(kApiVersions, 35));
  ASSERT_FALSE(no_builder);
  EXPECT_NE(no_builder.error().message().find("ApiVersions"), std::string::npos)
      << no_builder.error().message();
  EXPECT_NE(no_builder.error().message().find("Produce"), std::string::npos);

  FaultRule no_api;
  no_api.error_code = 6;
  EXPECT_FALSE(faults.add(no_api));
  EXPECT_FALSE(faults.add(error_rule(kProduce, 0)));
  auto bad = error_rule(kProduce);
  bad.probability = 0;
  EXPECT_FALSE(faults.add(bad));
  bad.probability = 1.5;
  EXPECT_FALSE(faults.add(bad));
  bad = error_rule(kProduce);
  bad.times = 0;
  EXPECT_FALSE(faults.add(bad));
  bad.times = 1;
  bad.after = -1;
  EXPECT_FALSE(faults.add(bad));
  FaultRule unknown_api;
  unknown_api.action = FaultAction::black_hole;
  unknown_api.api_key = 9999;
  EXPECT_FALSE(faults.add(unknown_api));
  // Non-error actions work for any API.
  FaultRule hole;
  hole.action = FaultAction::black_hole;
  hole.api_key = kApiVersions;
  EXPECT_TRUE(faults.add(hole));
  EXPECT_TRUE(faults.rules().size() == 1);
}

TEST(RequestFaultsTest, RemovalHookGetsTheRemovedIds) {
  auto faults = make_faults();
  std::vector<std::vector<uint64_t>> calls;
  faults.set_removal_hook([&](std::vector<uint64_t> ids) { calls.push_back(std::move(ids)); });
  auto a = faults.add(error_rule(kProduce));
  auto b = faults.add(error_rule(kFetch));
  auto c = faults.add(error_rule(kMetadata));
  ASSERT_TRUE(a && b && c);
  EXPECT_TRUE(faults.remove(*b));
  faults.clear();
  faults.clear();  // nothing left: no call
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0], std::vector<uint64_t>{*b});
  EXPECT_EQ(calls[1], (std::vector<uint64_t>{*a, *c}));
  EXPECT_TRUE(faults.rules().empty());
  EXPECT_TRUE(faults.idle());
}

// Rules come and go on another thread while requests are decided: no lost or doubled counts.
TEST(RequestFaultsTest, ConcurrentChangesWhileDeciding) {
  auto faults = make_faults();
  auto steady = faults.add(error_rule(kFetch));
  ASSERT_TRUE(steady);
  std::atomic<bool> done{false};
  std::thread churn([&] {
    while (!done) {
      auto id = faults.add(error_rule(kProduce));
      if (id) faults.remove(*id);
    }
  });
  FakeRequest fetch;
  fetch.api_key = kFetch;
  int applied = 0;
  for (int i = 0; i < 20000; ++i) applied += faults.decide(fetch.facts()) ? 1 : 0;
  done = true;
  churn.join();
  EXPECT_EQ(applied, 20000);
  EXPECT_EQ(faults.state(*steady)->applied, 20000);
}

}  // namespace
}  // namespace kafkacore::server
