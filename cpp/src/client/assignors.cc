#include "client/assignors.h"

#include <algorithm>
#include <deque>
#include <iterator>
#include <limits>
#include <numeric>
#include <set>
#include <utility>

namespace kafkacore::client {
namespace {

// topic -> partitions of one member, before it becomes an Assignment.
using TopicMap = std::map<std::string, std::vector<int32_t>>;

// Java's AbstractPartitionAssignor.MemberInfo order: static members first, by group.instance.id,
// then dynamic members by member id. (Java compares UTF-16 units, we compare bytes: the same
// order for the ASCII ids coordinators generate.)
bool member_before(const MemberSubscription* a, const MemberSubscription* b) {
  const auto& ia = a->group_instance_id;
  const auto& ib = b->group_instance_id;
  if (ia && ib && *ia != *ib) return *ia < *ib;
  if (ia.has_value() != ib.has_value()) return ia.has_value();
  return a->member_id < b->member_id;
}

std::vector<const MemberSubscription*> sorted_members(
    const std::vector<MemberSubscription>& members) {
  std::vector<const MemberSubscription*> out;
  out.reserve(members.size());
  for (const MemberSubscription& m : members) out.push_back(&m);
  std::sort(out.begin(), out.end(), member_before);
  return out;
}

// The member's subscribed topics that exist and have partitions; duplicates collapse.
std::set<std::string, std::less<>> existing_topics(
    const Subscription& s, const std::map<std::string, int32_t>& partitions_per_topic) {
  std::set<std::string, std::less<>> out;
  for (const std::string& topic : s.topics) {
    auto it = partitions_per_topic.find(topic);
    if (it != partitions_per_topic.end() && it->second > 0) out.insert(topic);
  }
  return out;
}

// Every member gets an entry; topics come out sorted by name, partitions ascending.
GroupAssignment to_group_assignment(const std::vector<MemberSubscription>& members,
                                    std::map<std::string, TopicMap>& by_member) {
  GroupAssignment out;
  for (const MemberSubscription& m : members) {
    Assignment a;
    if (auto it = by_member.find(m.member_id); it != by_member.end()) {
      for (auto& [topic, partitions] : it->second) {
        std::sort(partitions.begin(), partitions.end());
        a.partitions.push_back(TopicPartitions{topic, std::move(partitions)});
      }
    }
    out.emplace(m.member_id, std::move(a));
  }
  return out;
}

class RangeAssignor final : public Assignor {
 public:
  std::string name() const override { return "range"; }

  GroupAssignment assign(const std::map<std::string, int32_t>& partitions_per_topic,
                         const std::vector<MemberSubscription>& members) override {
    const auto sorted = sorted_members(members);
    std::vector<std::set<std::string, std::less<>>> topics;
    for (const MemberSubscription* m : sorted) {
      topics.push_back(existing_topics(m->subscription, partitions_per_topic));
    }
    std::map<std::string, TopicMap> result;
    for (const auto& [topic, count] : partitions_per_topic) {
      if (count <= 0) continue;
      std::vector<const MemberSubscription*> consumers;
      for (size_t i = 0; i < sorted.size(); ++i) {
        if (topics[i].contains(topic)) consumers.push_back(sorted[i]);
      }
      if (consumers.empty()) continue;
      const auto n = static_cast<int32_t>(consumers.size());
      const int32_t per_member = count / n;
      const int32_t with_extra = count % n;
      int32_t next = 0;
      for (int32_t i = 0; i < n; ++i) {
        const int32_t length = per_member + (i < with_extra ? 1 : 0);
        auto& partitions = result[consumers[static_cast<size_t>(i)]->member_id][topic];
        for (int32_t p = next; p < next + length; ++p) partitions.push_back(p);
        next += length;
      }
    }
    return to_group_assignment(members, result);
  }
};

class RoundRobinAssignor final : public Assignor {
 public:
  std::string name() const override { return "roundrobin"; }

  GroupAssignment assign(const std::map<std::string, int32_t>& partitions_per_topic,
                         const std::vector<MemberSubscription>& members) override {
    const auto sorted = sorted_members(members);
    std::vector<std::set<std::string, std::less<>>> topics;
    std::set<std::string, std::less<>> all_topics;
    for (const MemberSubscription* m : sorted) {
      topics.push_back(existing_topics(m->subscription, partitions_per_topic));
      all_topics.insert(topics.back().begin(), topics.back().end());
    }
    std::map<std::string, TopicMap> result;
    // One cursor over the sorted members for all partitions, skipping members that do not
    // subscribe to the partition's topic (some member does: the topic came from a subscription).
    size_t cursor = 0;
    for (const std::string& topic : all_topics) {
      const int32_t count = partitions_per_topic.at(topic);
      for (int32_t p = 0; p < count; ++p) {
        while (!topics[cursor].contains(topic)) cursor = (cursor + 1) % sorted.size();
        result[sorted[cursor]->member_id][topic].push_back(p);
        cursor = (cursor + 1) % sorted.size();
      }
    }
    return to_group_assignment(members, result);
  }
};

// The cooperative-sticky assignment of one rebalance. Steps:
//  1. Ownership: each member's owned_partitions are claims; when several members claim a
//     partition, the one with the highest generation owns it, and a tie at the highest
//     generation leaves it unowned (Kafka treats such claims as invalid). A member owns only
//     partitions of topics it still subscribes to.
//  2. Every member keeps what it owns; the other partitions go, one at a time, to the least
//     loaded subscribed member (topics with the fewest subscribers first: they have least
//     choice).
//  3. Balance: while some member u holds at least two more partitions than a member v it can
//     reach — a chain u -> ... -> v where each member hands one partition to the next, which
//     subscribes to its topic — move one partition along the chain (u loses one, v gains one,
//     the members between keep their counts). Chains that move only partitions given out in
//     step 2 are used first; chains that take owned partitions away only when there are none,
//     and then those taking the fewest. Each move lowers the sum of squared counts, so this
//     ends, and it ends at the lowest sum possible for these subscriptions (with no improving
//     chain left, a convex transportation problem is at its optimum): members with equal
//     subscriptions differ by at most one, and since the optimum is unique in value, the
//     follow-up rebalance reaches it again without taking anything owned away.
//  4. Cooperative: a partition given to a member that does not own it, while another member
//     still lists it as owned, is left out of this round. That member sees it missing from its
//     new assignment and revokes it; the follow-up rebalance finds it unowned and assigns it.
// Members are processed in member-id order, so the result is deterministic.
class StickyBuilder {
 public:
  StickyBuilder(const std::map<std::string, int32_t>& partitions_per_topic,
                const std::vector<MemberSubscription>& members)
      : members_(members) {
    std::sort(members_.begin(), members_.end(),
              [](const MemberSubscription& a, const MemberSubscription& b) {
                return a.member_id < b.member_id;
              });
    for (const auto& [topic, count] : partitions_per_topic) {
      if (count <= 0) continue;
      topic_index_.emplace(topic, static_cast<int32_t>(topics_.size()));
      topics_.push_back(topic);
      sizes_.push_back(count);
    }
    subscribed_.assign(members_.size(), std::vector<char>(topics_.size(), 0));
    potential_.resize(topics_.size());
    for (size_t m = 0; m < members_.size(); ++m) {
      for (const std::string& topic : members_[m].subscription.topics) {
        auto it = topic_index_.find(topic);
        if (it == topic_index_.end() || subscribed_[m][static_cast<size_t>(it->second)]) continue;
        subscribed_[m][static_cast<size_t>(it->second)] = 1;
        potential_[static_cast<size_t>(it->second)].push_back(static_cast<int>(m));
      }
    }
    for (size_t t = 0; t < topics_.size(); ++t) {
      owner_.emplace_back(static_cast<size_t>(sizes_[t]), -1);
      holder_.emplace_back(static_cast<size_t>(sizes_[t]), -1);
    }
    holding_.resize(members_.size());
    count_.assign(members_.size(), 0);
  }

  GroupAssignment build() {
    resolve_ownership();
    for (size_t t = 0; t < topics_.size(); ++t) {
      for (int32_t p = 0; p < sizes_[t]; ++p) {
        const int owner = owner_[t][static_cast<size_t>(p)];
        if (owner >= 0) give(static_cast<int32_t>(t), p, owner);
      }
    }
    assign_unheld();
    while (augment(/*allow_owned=*/false) || augment(/*allow_owned=*/true)) {
    }

    GroupAssignment out;
    for (size_t m = 0; m < members_.size(); ++m) {
      Assignment a;
      for (const auto& [t, hold] : holding_[m]) {  // topic index order = topic name order
        std::vector<int32_t> partitions;
        std::set_union(hold.fresh.begin(), hold.fresh.end(), hold.kept.begin(), hold.kept.end(),
                       std::back_inserter(partitions));
        std::erase_if(partitions, [&](int32_t p) { return held_back(t, p, static_cast<int>(m)); });
        if (!partitions.empty()) {
          a.partitions.push_back(TopicPartitions{topics_[static_cast<size_t>(t)], partitions});
        }
      }
      out.emplace(members_[m].member_id, std::move(a));
    }
    return out;
  }

 private:
  // A member's partitions of one topic: given out this round, or owned and kept.
  struct Hold {
    std::set<int32_t> fresh;
    std::set<int32_t> kept;
  };
  // How a chain reaches a member: from which member, with a partition of which topic, and
  // whether that partition is owned by the member handing it on.
  struct Hop {
    int from = -1;
    int32_t topic = -1;
    bool owned = false;
  };

  int owner(int32_t t, int32_t p) const {
    return owner_[static_cast<size_t>(t)][static_cast<size_t>(p)];
  }
  int count(int m) const { return count_[static_cast<size_t>(m)]; }

  void resolve_ownership() {
    std::map<std::pair<int32_t, int32_t>, std::vector<int>> claimants;
    for (size_t m = 0; m < members_.size(); ++m) {
      for (const TopicPartitions& owned : members_[m].subscription.owned_partitions) {
        auto it = topic_index_.find(owned.topic);
        if (it == topic_index_.end()) continue;  // deleted, or nobody subscribes any more
        for (int32_t p : owned.partitions) {
          if (p < 0 || p >= sizes_[static_cast<size_t>(it->second)]) continue;
          auto& c = claimants[{it->second, p}];
          if (std::find(c.begin(), c.end(), static_cast<int>(m)) == c.end()) {
            c.push_back(static_cast<int>(m));
          }
        }
      }
    }
    std::vector<int32_t> generation;
    for (const MemberSubscription& m : members_) {
      generation.push_back(cooperative_sticky_generation(m.subscription));
    }
    for (const auto& [tp, c] : claimants) {
      int winner = -1;
      int32_t best = 0;
      bool tie = false;
      for (int m : c) {
        const int32_t g = generation[static_cast<size_t>(m)];
        if (winner < 0 || g > best) {
          winner = m;
          best = g;
          tie = false;
        } else if (g == best) {
          tie = true;
        }
      }
      if (!tie && subscribed_[static_cast<size_t>(winner)][static_cast<size_t>(tp.first)]) {
        owner_[static_cast<size_t>(tp.first)][static_cast<size_t>(tp.second)] = winner;
      }
    }
    claimants_ = std::move(claimants);
  }

  void give(int32_t t, int32_t p, int m) {
    holder_[static_cast<size_t>(t)][static_cast<size_t>(p)] = m;
    Hold& hold = holding_[static_cast<size_t>(m)][t];
    (owner(t, p) == m ? hold.kept : hold.fresh).insert(p);
    ++count_[static_cast<size_t>(m)];
  }

  void take(int32_t t, int32_t p, int m) {
    auto& topics = holding_[static_cast<size_t>(m)];
    auto it = topics.find(t);
    it->second.fresh.erase(p);
    it->second.kept.erase(p);
    if (it->second.fresh.empty() && it->second.kept.empty()) topics.erase(it);
    holder_[static_cast<size_t>(t)][static_cast<size_t>(p)] = -1;
    --count_[static_cast<size_t>(m)];
  }

  void assign_unheld() {
    std::vector<size_t> order(topics_.size());
    std::iota(order.begin(), order.end(), size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      return potential_[a].size() < potential_[b].size();
    });
    for (size_t t : order) {
      if (potential_[t].empty()) continue;
      for (int32_t p = 0; p < sizes_[t]; ++p) {
        if (holder_[t][static_cast<size_t>(p)] >= 0) continue;
        int best = potential_[t].front();
        for (int m : potential_[t]) {
          if (count(m) < count(best)) best = m;
        }
        give(static_cast<int32_t>(t), p, best);
      }
    }
  }

  // Finds and applies one improving chain (see step 3); false when there is none. Without
  // `allow_owned` chains may only move partitions their holder does not own; with it, a 0-1
  // breadth-first search finds the chain taking the fewest owned partitions.
  bool augment(bool allow_owned) {
    const int n = static_cast<int>(members_.size());
    if (n < 2) return false;
    const int lowest = *std::min_element(count_.begin(), count_.end());
    std::vector<int> sources;
    for (int m = 0; m < n; ++m) {
      if (count(m) >= lowest + 2) sources.push_back(m);
    }
    std::stable_sort(sources.begin(), sources.end(),
                     [&](int a, int b) { return count(a) > count(b); });
    // A member a failed search reached cannot lead a later (no heavier) source anywhere useful:
    // everything it reaches was reached, and none of it was light enough.
    std::vector<char> dead(static_cast<size_t>(n), 0);
    std::vector<int> dist(static_cast<size_t>(n));
    std::vector<char> done(static_cast<size_t>(n));
    std::vector<Hop> via(static_cast<size_t>(n));
    for (int u : sources) {
      if (dead[static_cast<size_t>(u)]) continue;
      std::fill(dist.begin(), dist.end(), std::numeric_limits<int>::max());
      std::fill(done.begin(), done.end(), 0);
      std::vector<int> visited;
      std::deque<int> queue{u};
      dist[static_cast<size_t>(u)] = 0;
      while (!queue.empty()) {
        const int x = queue.front();
        queue.pop_front();
        if (done[static_cast<size_t>(x)]) continue;
        done[static_cast<size_t>(x)] = 1;
        visited.push_back(x);
        if (x != u && count(x) + 2 <= count(u)) {
          apply_chain(u, x, via);
          return true;
        }
        for (const auto& [t, hold] : holding_[static_cast<size_t>(x)]) {
          const bool owned = hold.fresh.empty();
          if (owned && !allow_owned) continue;
          const int d = dist[static_cast<size_t>(x)] + (owned ? 1 : 0);
          for (int w : potential_[static_cast<size_t>(t)]) {
            if (w == x || dead[static_cast<size_t>(w)] || d >= dist[static_cast<size_t>(w)]) {
              continue;
            }
            dist[static_cast<size_t>(w)] = d;
            via[static_cast<size_t>(w)] = Hop{x, t, owned};
            if (owned) {
              queue.push_back(w);
            } else {
              queue.push_front(w);
            }
          }
        }
      }
      for (int x : visited) dead[static_cast<size_t>(x)] = 1;
    }
    return false;
  }

  // Moves one partition along each hop of the chain ending at `v`. The partitions are chosen
  // before any moves; a chain visits each member once, so each still holds its choice.
  void apply_chain(int u, int v, const std::vector<Hop>& via) {
    struct Move {
      int from, to;
      int32_t topic, partition;
    };
    std::vector<Move> moves;
    for (int to = v; to != u; to = via[static_cast<size_t>(to)].from) {
      const Hop& hop = via[static_cast<size_t>(to)];
      const Hold& hold = holding_[static_cast<size_t>(hop.from)].at(hop.topic);
      const int32_t p = hop.owned ? *hold.kept.rbegin() : *hold.fresh.rbegin();
      moves.push_back(Move{hop.from, to, hop.topic, p});
    }
    for (const Move& m : moves) {
      take(m.topic, m.partition, m.from);
      give(m.topic, m.partition, m.to);
    }
  }

  // Whether partition p of topic t, assigned to `m`, must wait for the next round: `m` does
  // not own it and some other member still lists it as owned (and must revoke it first).
  bool held_back(int32_t t, int32_t p, int m) const {
    if (owner(t, p) == m) return false;
    auto it = claimants_.find({t, p});
    if (it == claimants_.end()) return false;
    return std::any_of(it->second.begin(), it->second.end(), [m](int c) { return c != m; });
  }

  std::vector<MemberSubscription> members_;  // sorted by member id; indexes below refer here
  std::map<std::string, int32_t, std::less<>> topic_index_;
  std::vector<std::string> topics_;  // existing topics with partitions, sorted by name
  std::vector<int32_t> sizes_;
  std::vector<std::vector<char>> subscribed_;  // [member][topic]
  std::vector<std::vector<int>> potential_;    // [topic] -> subscribed members, ascending
  // (topic, partition) -> members listing it as owned
  std::map<std::pair<int32_t, int32_t>, std::vector<int>> claimants_;
  std::vector<std::vector<int>> owner_;           // [topic][partition] -> valid owner or -1
  std::vector<std::vector<int>> holder_;          // [topic][partition] -> assigned member or -1
  std::vector<std::map<int32_t, Hold>> holding_;  // [member] topic -> its partitions
  std::vector<int> count_;                        // [member] -> partitions held
};

class CooperativeStickyAssignor final : public Assignor {
 public:
  std::string name() const override { return "cooperative-sticky"; }
  bool cooperative() const override { return true; }
  std::optional<Bytes> subscription_user_data(int32_t generation) const override {
    return cooperative_sticky_user_data(generation);
  }
  GroupAssignment assign(const std::map<std::string, int32_t>& partitions_per_topic,
                         const std::vector<MemberSubscription>& members) override {
    return StickyBuilder(partitions_per_topic, members).build();
  }
};

}  // namespace

std::optional<Bytes> Assignor::subscription_user_data(int32_t) const { return std::nullopt; }

std::unique_ptr<Assignor> make_assignor(std::string_view name) {
  if (name == "range" || name == "org.apache.kafka.clients.consumer.RangeAssignor") {
    return std::make_unique<RangeAssignor>();
  }
  if (name == "roundrobin" || name == "org.apache.kafka.clients.consumer.RoundRobinAssignor") {
    return std::make_unique<RoundRobinAssignor>();
  }
  if (name == "cooperative-sticky" ||
      name == "org.apache.kafka.clients.consumer.CooperativeStickyAssignor") {
    return std::make_unique<CooperativeStickyAssignor>();
  }
  return nullptr;
}

Bytes cooperative_sticky_user_data(int32_t generation) {
  Bytes out(4);
  store_be<int32_t>(out.data(), generation);
  return out;
}

int32_t cooperative_sticky_generation(const Subscription& subscription) {
  if (subscription.generation_id >= 0) return subscription.generation_id;
  // Java reads an int32 schema from the user data; shorter data counts as no generation.
  if (subscription.user_data && subscription.user_data->size() >= 4) {
    return load_be<int32_t>(subscription.user_data->data());
  }
  return -1;
}

}  // namespace kafkacore::client
