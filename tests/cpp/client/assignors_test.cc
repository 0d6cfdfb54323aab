#include "client/assignors.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace kafkacore::client {
namespace {

using Tp = std::pair<std::string, int32_t>;
using TpSet = std::set<Tp>;

MemberSubscription member(std::string id, std::vector<std::string> topics, const TpSet& owned = {},
                          int32_t generation = -1,
                          std::optional<std::string> instance = std::nullopt) {
  MemberSubscription m;
  m.member_id = std::move(id);
  m.group_instance_id = std::move(instance);
  m.subscription.topics = std::move(topics);
  for (const auto& [topic, p] : owned) {
    if (m.subscription.owned_partitions.empty() ||
        m.subscription.owned_partitions.back().topic != topic) {
      m.subscription.owned_partitions.push_back(TopicPartitions{topic, {}});
    }
    m.subscription.owned_partitions.back().partitions.push_back(p);
  }
  m.subscription.generation_id = generation;
  return m;
}

std::vector<Tp> flat(const Assignment& a) {
  std::vector<Tp> out;
  for (const TopicPartitions& tp : a.partitions) {
    for (int32_t p : tp.partitions) out.emplace_back(tp.topic, p);
  }
  return out;
}

TpSet as_set(const Assignment& a) {
  const auto f = flat(a);
  return TpSet(f.begin(), f.end());
}

TpSet owned_of(const MemberSubscription& m) {
  TpSet out;
  for (const TopicPartitions& tp : m.subscription.owned_partitions) {
    for (int32_t p : tp.partitions) out.emplace(tp.topic, p);
  }
  return out;
}

std::vector<Tp> tps(std::initializer_list<Tp> list) { return std::vector<Tp>(list); }

GroupAssignment run(std::string_view assignor, const std::map<std::string, int32_t>& topics,
                    const std::vector<MemberSubscription>& members) {
  auto a = make_assignor(assignor);
  EXPECT_NE(a, nullptr);
  return a->assign(topics, members);
}

TEST(Assignors, MakeByName) {
  using Names = std::vector<std::pair<std::string, std::string>>;
  for (const auto& [name, expected] : Names{
           {"range", "range"},
           {"roundrobin", "roundrobin"},
           {"cooperative-sticky", "cooperative-sticky"},
           {"org.apache.kafka.clients.consumer.RangeAssignor", "range"},
           {"org.apache.kafka.clients.consumer.RoundRobinAssignor", "roundrobin"},
           {"org.apache.kafka.clients.consumer.CooperativeStickyAssignor", "cooperative-sticky"},
       }) {
    auto a = make_assignor(name);
    ASSERT_NE(a, nullptr) << name;
    EXPECT_EQ(a->name(), expected);
    EXPECT_EQ(a->cooperative(), expected == "cooperative-sticky");
  }
  EXPECT_EQ(make_assignor("sticky"), nullptr);
  EXPECT_EQ(make_assignor("Range"), nullptr);
  EXPECT_EQ(make_assignor(""), nullptr);
}

TEST(Assignors, SubscriptionUserData) {
  EXPECT_FALSE(make_assignor("range")->subscription_user_data(3).has_value());
  EXPECT_FALSE(make_assignor("roundrobin")->subscription_user_data(3).has_value());
  // Java's CooperativeStickyAssignor: a struct of one INT32 "generation".
  const Bytes expected = {std::byte{0}, std::byte{0}, std::byte{1}, std::byte{2}};
  EXPECT_EQ(make_assignor("cooperative-sticky")->subscription_user_data(258), expected);
  EXPECT_EQ(cooperative_sticky_user_data(-1), Bytes(4, std::byte{0xff}));

  Subscription s;
  EXPECT_EQ(cooperative_sticky_generation(s), -1);
  s.user_data = cooperative_sticky_user_data(12);
  EXPECT_EQ(cooperative_sticky_generation(s), 12);  // v0/v1: from the user data
  s.generation_id = 14;
  EXPECT_EQ(cooperative_sticky_generation(s), 14);  // v2+: the field wins
  s.generation_id = -1;
  s.user_data = Bytes{std::byte{1}};
  EXPECT_EQ(cooperative_sticky_generation(s), -1);  // unreadable user data
}

// --- range ----------------------------------------------------------------------------------

TEST(RangeAssignor, JavadocExample) {
  const auto result = run("range", {{"t0", 3}, {"t1", 3}},
                          {member("C0", {"t0", "t1"}), member("C1", {"t0", "t1"})});
  ASSERT_EQ(result.size(), 2u);
  EXPECT_EQ(flat(result.at("C0")), tps({{"t0", 0}, {"t0", 1}, {"t1", 0}, {"t1", 1}}));
  EXPECT_EQ(flat(result.at("C1")), tps({{"t0", 2}, {"t1", 2}}));
  EXPECT_FALSE(result.at("C0").user_data.has_value());
}

TEST(RangeAssignor, FirstMembersGetTheRemainder) {
  const auto result =
      run("range", {{"t", 7}}, {member("c", {"t"}), member("a", {"t"}), member("b", {"t"})});
  EXPECT_EQ(flat(result.at("a")), tps({{"t", 0}, {"t", 1}, {"t", 2}}));
  EXPECT_EQ(flat(result.at("b")), tps({{"t", 3}, {"t", 4}}));
  EXPECT_EQ(flat(result.at("c")), tps({{"t", 5}, {"t", 6}}));
}

TEST(RangeAssignor, PerTopicSubscribers) {
  const auto result =
      run("range", {{"t0", 3}, {"t1", 3}}, {member("C0", {"t0"}), member("C1", {"t0", "t1"})});
  EXPECT_EQ(flat(result.at("C0")), tps({{"t0", 0}, {"t0", 1}}));
  EXPECT_EQ(flat(result.at("C1")), tps({{"t0", 2}, {"t1", 0}, {"t1", 1}, {"t1", 2}}));
}

TEST(RangeAssignor, StaticMembersSortByInstanceIdFirst) {
  // Member ids would order z < ... no: "a" < "m" < "z"; instance ids put "z" (I0) first, then
  // "a" (I1); the dynamic member "m" comes after every static one.
  const auto result =
      run("range", {{"t", 5}},
          {member("a", {"t"}, {}, -1, "I1"), member("m", {"t"}), member("z", {"t"}, {}, -1, "I0")});
  EXPECT_EQ(flat(result.at("z")), tps({{"t", 0}, {"t", 1}}));
  EXPECT_EQ(flat(result.at("a")), tps({{"t", 2}, {"t", 3}}));
  EXPECT_EQ(flat(result.at("m")), tps({{"t", 4}}));
}

TEST(RangeAssignor, UnknownTopicsAndIdleMembers) {
  const auto result =
      run("range", {{"t", 2}, {"empty", 0}},
          {member("a", {"t", "ghost", "empty"}), member("b", {"ghost"}), member("c", {"t", "t"})});
  ASSERT_EQ(result.size(), 3u);
  EXPECT_EQ(flat(result.at("a")), tps({{"t", 0}}));
  EXPECT_TRUE(result.at("b").partitions.empty());
  EXPECT_EQ(flat(result.at("c")), tps({{"t", 1}}));
}

// --- roundrobin -----------------------------------------------------------------------------

TEST(RoundRobinAssignor, JavadocExample) {
  const auto result = run("roundrobin", {{"t0", 3}, {"t1", 3}},
                          {member("C0", {"t0", "t1"}), member("C1", {"t0", "t1"})});
  EXPECT_EQ(flat(result.at("C0")), tps({{"t0", 0}, {"t0", 2}, {"t1", 1}}));
  EXPECT_EQ(flat(result.at("C1")), tps({{"t0", 1}, {"t1", 0}, {"t1", 2}}));
}

TEST(RoundRobinAssignor, JavadocUnequalSubscriptions) {
  const auto result =
      run("roundrobin", {{"t0", 1}, {"t1", 2}, {"t2", 3}},
          {member("C0", {"t0"}), member("C1", {"t0", "t1"}), member("C2", {"t0", "t1", "t2"})});
  EXPECT_EQ(flat(result.at("C0")), tps({{"t0", 0}}));
  EXPECT_EQ(flat(result.at("C1")), tps({{"t1", 0}}));
  EXPECT_EQ(flat(result.at("C2")), tps({{"t1", 1}, {"t2", 0}, {"t2", 1}, {"t2", 2}}));
}

TEST(RoundRobinAssignor, StaticMembersKeepTheirShareAcrossNewMemberIds) {
  // The javadoc's rolling bounce: new member ids, same instance ids, same assignment.
  const std::map<std::string, int32_t> topics = {{"t0", 3}, {"t1", 3}};
  const auto before =
      run("roundrobin", topics,
          {member("C0", {"t0", "t1"}, {}, -1, "I0"), member("C1", {"t0", "t1"}, {}, -1, "I1"),
           member("C2", {"t0", "t1"}, {}, -1, "I2")});
  const auto after =
      run("roundrobin", topics,
          {member("C5", {"t0", "t1"}, {}, -1, "I0"), member("C3", {"t0", "t1"}, {}, -1, "I1"),
           member("C4", {"t0", "t1"}, {}, -1, "I2")});
  EXPECT_EQ(flat(before.at("C0")), tps({{"t0", 0}, {"t1", 0}}));
  EXPECT_EQ(flat(before.at("C1")), tps({{"t0", 1}, {"t1", 1}}));
  EXPECT_EQ(flat(before.at("C2")), tps({{"t0", 2}, {"t1", 2}}));
  EXPECT_EQ(after.at("C5"), before.at("C0"));
  EXPECT_EQ(after.at("C3"), before.at("C1"));
  EXPECT_EQ(after.at("C4"), before.at("C2"));
}

// Range and roundrobin on random groups: every partition with a subscriber is assigned exactly
// once, to a subscriber; range balances each topic, roundrobin balances equal subscriptions.
TEST(EagerAssignors, RandomGroupsAssignEverythingOnce) {
  for (uint32_t seed = 0; seed < 300; ++seed) {
    std::mt19937 rng(seed);
    auto uniform = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
    std::map<std::string, int32_t> topics;
    const int num_topics = uniform(1, 5);
    for (int t = 0; t < num_topics; ++t) topics["t" + std::to_string(t)] = uniform(0, 12);
    const bool equal = uniform(0, 1) == 1;
    std::vector<std::string> shared;
    for (const auto& [t, n] : topics) {
      if (uniform(0, 2) > 0) shared.push_back(t);
    }
    std::vector<MemberSubscription> members;
    const int num_members = uniform(1, 7);
    for (int m = 0; m < num_members; ++m) {
      std::vector<std::string> subscribed = shared;
      if (!equal) {
        subscribed.clear();
        for (const auto& [t, n] : topics) {
          if (uniform(0, 1)) subscribed.push_back(t);
        }
      }
      std::optional<std::string> instance;
      if (uniform(0, 3) == 0)
        instance = "i" + std::to_string(uniform(0, 1000)) + "-" + std::to_string(m);
      members.push_back(member("m" + std::to_string(uniform(0, 1000)) + "-" + std::to_string(m),
                               subscribed, {}, -1, instance));
    }
    for (std::string_view name : {"range", "roundrobin"}) {
      SCOPED_TRACE(testing::Message() << name << " seed " << seed);
      const auto result = run(name, topics, members);
      ASSERT_EQ(result.size(), members.size());
      std::map<Tp, int> times;
      for (const MemberSubscription& m : members) {
        const auto& subs = m.subscription.topics;
        for (const Tp& tp : flat(result.at(m.member_id))) {
          ++times[tp];
          EXPECT_NE(std::find(subs.begin(), subs.end(), tp.first), subs.end());
        }
      }
      for (const auto& [t, n] : topics) {
        std::vector<size_t> per_member;
        bool subscribed = false;
        for (const MemberSubscription& m : members) {
          const auto& subs = m.subscription.topics;
          if (std::find(subs.begin(), subs.end(), t) == subs.end()) continue;
          subscribed = true;
          const auto f = flat(result.at(m.member_id));
          per_member.push_back(static_cast<size_t>(
              std::count_if(f.begin(), f.end(), [&](const Tp& tp) { return tp.first == t; })));
        }
        for (int32_t p = 0; p < n; ++p) EXPECT_EQ(times[Tp(t, p)], subscribed ? 1 : 0);
        if (name == "range" && !per_member.empty()) {
          const auto [lo, hi] = std::minmax_element(per_member.begin(), per_member.end());
          EXPECT_LE(*hi - *lo, 1u);
        }
      }
      if (name == "roundrobin" && equal) {
        size_t lo = SIZE_MAX, hi = 0;
        for (const auto& [id, a] : result) {
          lo = std::min(lo, flat(a).size());
          hi = std::max(hi, flat(a).size());
        }
        EXPECT_LE(hi - lo, 1u);
      }
    }
  }
}

TEST(RangeAssignor, AgreesWithLibrdkafka) {
  // Two librdkafka 2.16.0 consumers (range) on a 4-partition topic of our broker, where a
  // librdkafka member led: member ids and assignments as DescribeGroups reported them.
  const auto result = run("range", {{"cap", 4}},
                          {member("rdkafka-bCYkoPYGThm1h8IISU7gFg", {"cap"}),
                           member("rdkafka-PJA-nQjyQE6jbAFWgbOL5g", {"cap"})});
  EXPECT_EQ(flat(result.at("rdkafka-PJA-nQjyQE6jbAFWgbOL5g")), tps({{"cap", 0}, {"cap", 1}}));
  EXPECT_EQ(flat(result.at("rdkafka-bCYkoPYGThm1h8IISU7gFg")), tps({{"cap", 2}, {"cap", 3}}));
}

// --- cooperative-sticky ---------------------------------------------------------------------

TEST(CooperativeStickyAssignor, FirstAssignmentIsBalancedAndComplete) {
  const auto result = run("cooperative-sticky", {{"t0", 3}, {"t1", 3}},
                          {member("C0", {"t0", "t1"}), member("C1", {"t0", "t1"})});
  EXPECT_EQ(flat(result.at("C0")).size(), 3u);
  EXPECT_EQ(flat(result.at("C1")).size(), 3u);
  TpSet all = as_set(result.at("C0"));
  for (const Tp& tp : flat(result.at("C1"))) EXPECT_TRUE(all.insert(tp).second);
  EXPECT_EQ(all.size(), 6u);
  EXPECT_FALSE(result.at("C0").user_data.has_value());
}

TEST(CooperativeStickyAssignor, JoiningMemberGetsPartitionsAfterTheyAreRevoked) {
  const std::map<std::string, int32_t> topics = {{"t", 6}};
  const TpSet all = {{"t", 0}, {"t", 1}, {"t", 2}, {"t", 3}, {"t", 4}, {"t", 5}};
  // Round 1: C0 owns everything; C1 joins. C0 keeps three, and the three it gives up are not
  // handed to C1 yet: C0 must revoke them first.
  auto first =
      run("cooperative-sticky", topics, {member("C0", {"t"}, all, 4), member("C1", {"t"})});
  const TpSet kept = as_set(first.at("C0"));
  EXPECT_EQ(kept.size(), 3u);
  EXPECT_TRUE(std::includes(all.begin(), all.end(), kept.begin(), kept.end()));
  EXPECT_TRUE(first.at("C1").partitions.empty());
  // Round 2: C0 reports what it kept; C1 gets the rest, C0 keeps its three.
  auto second =
      run("cooperative-sticky", topics, {member("C0", {"t"}, kept, 5), member("C1", {"t"}, {}, 5)});
  EXPECT_EQ(as_set(second.at("C0")), kept);
  TpSet rest;
  std::set_difference(all.begin(), all.end(), kept.begin(), kept.end(),
                      std::inserter(rest, rest.end()));
  EXPECT_EQ(as_set(second.at("C1")), rest);
}

TEST(CooperativeStickyAssignor, AgreesWithLibrdkafka) {
  // librdkafka 2.16.0 (cooperative-sticky) on a 4-partition topic: its second rebalance had the
  // first consumer owning cap-2 and cap-3 from generation 2 and a newcomer owning nothing; it
  // left cap-2 and cap-3 in place and gave the newcomer cap-0 and cap-1.
  const auto result = run(
      "cooperative-sticky", {{"cap", 4}},
      {member("first", {"cap"}, {{"cap", 2}, {"cap", 3}}, 2), member("second", {"cap"}, {}, 2)});
  EXPECT_EQ(flat(result.at("first")), tps({{"cap", 2}, {"cap", 3}}));
  EXPECT_EQ(flat(result.at("second")), tps({{"cap", 0}, {"cap", 1}}));
}

TEST(CooperativeStickyAssignor, LeavingMembersPartitionsMoveAtOnce) {
  // C2 left (its partitions were revoked when it left): nobody claims them, so they go to the
  // remaining members in the same round, and C0 and C1 keep theirs.
  const auto result = run(
      "cooperative-sticky", {{"t", 6}},
      {member("C0", {"t"}, {{"t", 0}, {"t", 1}}, 3), member("C1", {"t"}, {{"t", 2}, {"t", 3}}, 3)});
  const TpSet c0 = as_set(result.at("C0"));
  const TpSet c1 = as_set(result.at("C1"));
  EXPECT_EQ(c0.size(), 3u);
  EXPECT_EQ(c1.size(), 3u);
  EXPECT_TRUE(c0.contains({"t", 0}) && c0.contains({"t", 1}));
  EXPECT_TRUE(c1.contains({"t", 2}) && c1.contains({"t", 3}));
}

TEST(CooperativeStickyAssignor, HigherGenerationWinsAClaim) {
  // C1 claims t-0 from an older generation (a stale view); C0's newer claim wins and C0 keeps
  // it. C1 does not get it.
  const auto result = run("cooperative-sticky", {{"t", 2}},
                          {member("C0", {"t"}, {{"t", 0}}, 8), member("C1", {"t"}, {{"t", 0}}, 7)});
  EXPECT_EQ(flat(result.at("C0")), tps({{"t", 0}}));
  EXPECT_EQ(flat(result.at("C1")), tps({{"t", 1}}));
}

TEST(CooperativeStickyAssignor, GenerationFromUserDataForOldSubscriptions) {
  // v0/v1 subscriptions carry no GenerationId; the leader reads Java's user data instead.
  auto c0 = member("C0", {"t"}, {{"t", 0}});
  auto c1 = member("C1", {"t"}, {{"t", 0}});
  c0.subscription.user_data = cooperative_sticky_user_data(3);
  c1.subscription.user_data = cooperative_sticky_user_data(9);
  const auto result = run("cooperative-sticky", {{"t", 2}}, {c0, c1});
  EXPECT_EQ(flat(result.at("C1")), tps({{"t", 0}}));
  EXPECT_EQ(flat(result.at("C0")), tps({{"t", 1}}));
}

TEST(CooperativeStickyAssignor, SameGenerationClaimsAreInvalidated) {
  // Two members claim t-0 in the same generation: neither keeps it, and nobody gets it this
  // round (both must revoke it first); the next round assigns it.
  const std::map<std::string, int32_t> topics = {{"t", 4}};
  const auto first = run(
      "cooperative-sticky", topics,
      {member("C0", {"t"}, {{"t", 0}, {"t", 1}}, 5), member("C1", {"t"}, {{"t", 0}, {"t", 2}}, 5)});
  const TpSet c0 = as_set(first.at("C0"));
  const TpSet c1 = as_set(first.at("C1"));
  EXPECT_FALSE(c0.contains({"t", 0}));
  EXPECT_FALSE(c1.contains({"t", 0}));
  EXPECT_TRUE(c0.contains({"t", 1}));
  EXPECT_TRUE(c1.contains({"t", 2}));
  const auto second =
      run("cooperative-sticky", topics, {member("C0", {"t"}, c0, 6), member("C1", {"t"}, c1, 6)});
  EXPECT_EQ(as_set(second.at("C0")).size() + as_set(second.at("C1")).size(), 4u);
  EXPECT_TRUE(as_set(second.at("C0")).contains({"t", 0}) ||
              as_set(second.at("C1")).contains({"t", 0}));
}

TEST(CooperativeStickyAssignor, UnsubscribedTopicIsRevokedBeforeItMoves) {
  // C0 drops t1, which it owns; C1 subscribes to it. Balance then also wants t0-1 to move from
  // C1 to C0 (C1 would otherwise hold 3 to C0's 1). Neither t1 nor t0-1 changes hands in this
  // round: their current owners must revoke them first.
  const std::map<std::string, int32_t> topics = {{"t0", 2}, {"t1", 2}};
  const auto first = run("cooperative-sticky", topics,
                         {member("C0", {"t0"}, {{"t0", 0}, {"t1", 0}, {"t1", 1}}, 2),
                          member("C1", {"t0", "t1"}, {{"t0", 1}}, 2)});
  EXPECT_EQ(flat(first.at("C0")), tps({{"t0", 0}}));
  EXPECT_TRUE(first.at("C1").partitions.empty());
  // The follow-up rebalance, after both revoked: everything lands, balanced.
  const auto second =
      run("cooperative-sticky", topics,
          {member("C0", {"t0"}, {{"t0", 0}}, 3), member("C1", {"t0", "t1"}, {}, 3)});
  EXPECT_EQ(flat(second.at("C0")), tps({{"t0", 0}, {"t0", 1}}));
  EXPECT_EQ(flat(second.at("C1")), tps({{"t1", 0}, {"t1", 1}}));
}

TEST(CooperativeStickyAssignor, IgnoresUnknownTopicsAndBogusClaims) {
  const auto result = run("cooperative-sticky", {{"t", 2}},
                          {member("a", {"t", "ghost"}, {{"ghost", 0}, {"t", 7}, {"t", -1}}, 1),
                           member("b", {"ghost"})});
  ASSERT_EQ(result.size(), 2u);
  EXPECT_EQ(flat(result.at("a")), tps({{"t", 0}, {"t", 1}}));
  EXPECT_TRUE(result.at("b").partitions.empty());
}

// A simulated group on random topics and membership changes: each rebalance takes the members'
// owned partitions from the previous assignment. Checked after every rebalance:
//  - every partition is assigned at most once, only to a member subscribing to its topic;
//  - cooperative: no member is given a partition another member still reports as owned;
//  - sticky: with equal subscriptions, each member keeps at least min(owned, floor(P/N)) of
//    the partitions it owned;
// and after the follow-up rebalance (owned partitions updated, nothing else changed):
//  - everything with a subscriber is assigned, and no member loses a partition it owned;
//  - balance: no member holds two more than a member that could take one of its partitions
//    (so members with equal subscriptions differ by at most one).
class StickySimulation {
 public:
  explicit StickySimulation(uint32_t seed) : rng_(seed), seed_(seed) {
    const int num_topics = uniform(1, 4);
    for (int t = 0; t < num_topics; ++t) topics_["t" + std::to_string(t)] = uniform(1, 12);
    equal_ = uniform(0, 1) == 1;
    if (equal_) shared_ = random_topics();
    const int num_members = uniform(1, 8);
    for (int m = 0; m < num_members; ++m) join();
  }

  void run(int events) {
    rebalance_and_settle();
    for (int e = 0; e < events && !testing::Test::HasFatalFailure(); ++e) {
      switch (uniform(0, 5)) {
        case 0:
          join();
          break;
        case 1:
          if (members_.size() > 1) leave();
          break;
        case 2:
          if (equal_) {
            shared_ = random_topics();
            for (auto& [id, m] : members_) m.topics = shared_;
          } else {
            members_.begin()->second.topics = random_topics();
          }
          break;
        case 3: {
          auto it = topics_.begin();
          std::advance(it, uniform(0, static_cast<int>(topics_.size()) - 1));
          it->second += uniform(1, 4);
          break;
        }
        case 4:
          stale_claim_ = true;  // someone reports partitions from an older generation
          break;
        default:
          break;
      }
      rebalance_and_settle();
    }
  }

 private:
  struct Member {
    std::vector<std::string> topics;
    TpSet owned;
    int32_t generation = -1;
  };

  int uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }

  std::vector<std::string> random_topics() {
    std::vector<std::string> out;
    for (const auto& [t, n] : topics_) {
      if (uniform(0, 2) > 0) out.push_back(t);
    }
    if (uniform(0, 5) == 0) out.push_back("ghost");  // not in metadata
    return out;
  }

  void join() {
    Member m;
    m.topics = equal_ ? shared_ : random_topics();
    members_.emplace("member-" + std::to_string(next_id_++ * 7919 % 1000), std::move(m));
  }

  void leave() {
    auto it = members_.begin();
    std::advance(it, uniform(0, static_cast<int>(members_.size()) - 1));
    members_.erase(it);  // its partitions were revoked when it left
  }

  bool subscribes(const Member& m, const std::string& topic) const {
    return std::find(m.topics.begin(), m.topics.end(), topic) != m.topics.end();
  }

  void rebalance_and_settle() {
    rebalance(/*settling=*/false);
    if (testing::Test::HasFatalFailure()) return;
    rebalance(/*settling=*/true);
    if (testing::Test::HasFatalFailure()) return;
    // A third round changes nothing.
    const auto before = members_;
    rebalance(/*settling=*/true);
    for (const auto& [id, m] : members_) {
      ASSERT_EQ(m.owned, before.at(id).owned) << "seed " << seed_ << " member " << id;
    }
  }

  void rebalance(bool settling) {
    SCOPED_TRACE(testing::Message() << "seed " << seed_ << " generation " << generation_
                                    << (settling ? " (settling)" : ""));
    std::vector<MemberSubscription> input;
    std::optional<std::string> stale_member;
    for (const auto& [id, m] : members_) {
      input.push_back(member(id, m.topics, m.owned, m.generation));
    }
    if (stale_claim_ && !settling && input.size() > 1) {
      // The last member reports the first member's partitions too, from an older generation.
      auto& s = input.back();
      TpSet claims = owned_of(s);
      for (const Tp& tp : members_.begin()->second.owned) claims.insert(tp);
      s = member(s.member_id, s.subscription.topics, claims, generation_ - 2);
      stale_member = s.member_id;
    }
    stale_claim_ = false;

    const GroupAssignment result = make_assignor("cooperative-sticky")->assign(topics_, input);
    ASSERT_EQ(result.size(), members_.size());
    // Deterministic, whatever order the leader lists the members in.
    std::vector<MemberSubscription> reversed(input.rbegin(), input.rend());
    ASSERT_EQ(make_assignor("cooperative-sticky")->assign(topics_, reversed), result);

    // Assigned at most once, to a subscriber, and only existing partitions.
    std::map<Tp, std::string> assigned_to;
    for (const auto& [id, a] : result) {
      const Member& m = members_.at(id);
      for (const Tp& tp : flat(a)) {
        ASSERT_TRUE(assigned_to.emplace(tp, id).second) << tp.first << "-" << tp.second;
        ASSERT_TRUE(subscribes(m, tp.first)) << id << " " << tp.first;
        ASSERT_TRUE(topics_.contains(tp.first));
        ASSERT_LT(tp.second, topics_.at(tp.first));
      }
    }
    // Cooperative: nothing moves between members in one round.
    std::map<Tp, std::set<std::string>> claimed_by;
    for (const MemberSubscription& s : input) {
      for (const Tp& tp : owned_of(s)) claimed_by[tp].insert(s.member_id);
    }
    for (const auto& [tp, id] : assigned_to) {
      auto it = claimed_by.find(tp);
      if (it == claimed_by.end() || it->second.contains(id)) continue;
      ADD_FAILURE() << tp.first << "-" << tp.second << " given to " << id
                    << " while another member still owns it";
    }
    // Sticky with equal subscriptions (and no conflicting claims): keep min(owned, floor(P/N)).
    if (equal_ && !stale_member) {
      int32_t total = 0;
      for (const std::string& t : shared_) {
        if (auto it = topics_.find(t); it != topics_.end()) total += it->second;
      }
      const size_t min_quota = static_cast<size_t>(total) / members_.size();
      for (const auto& [id, a] : result) {
        const TpSet now = as_set(a);
        size_t kept = 0;
        size_t still_valid = 0;  // owned partitions of topics still subscribed
        for (const Tp& tp : members_.at(id).owned) {
          if (!subscribes(members_.at(id), tp.first)) continue;
          ++still_valid;
          kept += now.contains(tp) ? 1 : 0;
        }
        EXPECT_GE(kept, std::min(still_valid, min_quota)) << id;
      }
    }
    if (settling) {
      // Everything with a subscriber is assigned; nothing owned is taken away.
      for (const auto& [t, n] : topics_) {
        const bool has_subscriber = std::any_of(members_.begin(), members_.end(),
                                                [&](auto& e) { return subscribes(e.second, t); });
        for (int32_t p = 0; p < n; ++p) {
          EXPECT_EQ(assigned_to.contains(Tp(t, p)), has_subscriber) << t << "-" << p;
        }
      }
      for (const auto& [id, m] : members_) {
        const TpSet now = as_set(result.at(id));
        EXPECT_TRUE(std::includes(now.begin(), now.end(), m.owned.begin(), m.owned.end()))
            << id << " lost owned partitions while settling";
      }
      // Balance: no single move from a member with two more to one that could take it.
      for (const auto& [from, a] : result) {
        for (const auto& [to, b] : result) {
          if (flat(a).size() < flat(b).size() + 2) continue;
          for (const Tp& tp : flat(a)) {
            EXPECT_FALSE(subscribes(members_.at(to), tp.first))
                << "unbalanced: " << from << " has " << flat(a).size() << ", " << to << " has "
                << flat(b).size() << " and could take " << tp.first << "-" << tp.second;
          }
        }
      }
    }
    if (testing::Test::HasFailure() && !dumped_) {
      dumped_ = true;  // the group as it was, to reproduce the failure
      ADD_FAILURE() << describe(input, result);
    }
    // The members take the assignment (revoking what is missing) into the next generation.
    ++generation_;
    for (auto& [id, m] : members_) {
      m.owned = as_set(result.at(id));
      m.generation = generation_;
    }
  }

  std::string describe(const std::vector<MemberSubscription>& input,
                       const GroupAssignment& result) const {
    std::ostringstream out;
    for (const auto& [t, n] : topics_) out << "topic " << t << ": " << n << " partitions\n";
    for (const MemberSubscription& s : input) {
      out << s.member_id << " generation " << s.subscription.generation_id << " topics";
      for (const std::string& t : s.subscription.topics) out << " " << t;
      out << "\n  owned:";
      for (const auto& [t, p] : owned_of(s)) out << " " << t << "-" << p;
      out << "\n  assigned:";
      for (const auto& [t, p] : flat(result.at(s.member_id))) out << " " << t << "-" << p;
      out << "\n";
    }
    return out.str();
  }

  std::mt19937 rng_;
  uint32_t seed_;
  bool dumped_ = false;
  std::map<std::string, int32_t> topics_;
  bool equal_ = false;
  std::vector<std::string> shared_;
  std::map<std::string, Member> members_;
  int next_id_ = 1;
  int32_t generation_ = 1;
  bool stale_claim_ = false;
};

TEST(CooperativeStickyAssignor, RandomRebalancesKeepTheInvariants) {
  for (uint32_t seed = 0; seed < 400; ++seed) {
    StickySimulation(seed).run(8);
    if (testing::Test::HasFatalFailure() || testing::Test::HasNonfatalFailure()) {
      ADD_FAILURE() << "first failing seed " << seed;
      break;
    }
  }
}

TEST(CooperativeStickyAssignor, LargeGroupIsBalanced) {
  // 1000 partitions over 30 members, then 5 more join: the originals give up only their
  // surplus, the newcomers get it one round later, and everyone ends with 28 or 29.
  const std::map<std::string, int32_t> topics = {{"a", 600}, {"b", 400}};
  std::vector<MemberSubscription> members;
  for (int m = 0; m < 30; ++m) members.push_back(member("m" + std::to_string(100 + m), {"a", "b"}));
  const auto first = run("cooperative-sticky", topics, members);
  for (auto& m : members) {
    const size_t n = flat(first.at(m.member_id)).size();
    EXPECT_TRUE(n == 33 || n == 34) << n;
    m = member(m.member_id, {"a", "b"}, as_set(first.at(m.member_id)), 1);
  }
  for (int m = 0; m < 5; ++m)
    members.push_back(member("n" + std::to_string(m), {"a", "b"}, {}, -1));

  const auto second = run("cooperative-sticky", topics, members);
  size_t kept_total = 0;
  for (auto& m : members) {
    const TpSet now = as_set(second.at(m.member_id));
    const TpSet before = owned_of(m);
    if (m.member_id[0] == 'n') {
      EXPECT_TRUE(now.empty()) << "a newcomer got partitions not yet revoked";
    } else {
      EXPECT_TRUE(std::includes(before.begin(), before.end(), now.begin(), now.end()));
      EXPECT_TRUE(now.size() == 28 || now.size() == 29) << now.size();
      kept_total += now.size();
    }
    m = member(m.member_id, {"a", "b"}, now, 2);
  }
  EXPECT_GE(kept_total, 1000u - 5 * 29);
  EXPECT_LE(kept_total, 1000u - 5 * 28);

  const auto third = run("cooperative-sticky", topics, members);
  size_t total = 0;
  for (const auto& m : members) {
    const TpSet now = as_set(third.at(m.member_id));
    const TpSet before = owned_of(m);
    EXPECT_TRUE(std::includes(now.begin(), now.end(), before.begin(), before.end()));
    EXPECT_TRUE(now.size() == 28 || now.size() == 29) << m.member_id << " " << now.size();
    total += now.size();
  }
  EXPECT_EQ(total, 1000u);
}

}  // namespace
}  // namespace kafkacore::client
