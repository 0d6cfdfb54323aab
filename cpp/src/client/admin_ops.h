#pragma once
// Internal to the admin client: the operations behind AdminClient's calls, each started on the
// I/O thread with a deadline and a completion callback (run once, on the I/O thread), plus the
// routing helpers they share (metadata lookups, partition leaders, group coordinators).
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "client/admin_call.h"
#include "client/admin_client.h"
#include "protocol/messages.h"

namespace kafkacore::client::admin {

template <typename T>
using Done = std::function<void(Result<T>)>;
using Deadline = Clock::time_point;

template <typename V>
using ItemResults = std::map<std::string, Result<V>>;
template <typename V>
using PartitionResults = std::map<TopicPartition, Result<V>>;
template <typename V>
using ConfigResults = std::map<ConfigResource, Result<V>>;

// ---- admin_topics.cc
void create_topics(Context& ctx, const std::vector<NewTopic>& topics, bool validate_only,
                   bool wait_for_leaders, Deadline deadline, Done<ItemResults<void>> done);
void delete_topics(Context& ctx, const std::vector<std::string>& topics, Deadline deadline,
                   Done<ItemResults<void>> done);
void list_topics(Context& ctx, bool include_internal, Deadline deadline,
                 Done<std::vector<std::string>> done);
void describe_topics(Context& ctx, const std::vector<std::string>& topics, Deadline deadline,
                     Done<ItemResults<TopicDescription>> done);
void create_partitions(Context& ctx, const std::map<std::string, int32_t>& new_totals,
                       bool validate_only, Deadline deadline, Done<ItemResults<void>> done);
void describe_cluster(Context& ctx, Deadline deadline, Done<ClusterDescription> done);

// ---- admin_configs.cc
void describe_configs(Context& ctx, const std::vector<ConfigResource>& resources, Deadline deadline,
                      Done<ConfigResults<std::vector<ConfigEntry>>> done);
void alter_configs(Context& ctx,
                   const std::map<ConfigResource, std::map<std::string, std::string>>& configs,
                   Deadline deadline, Done<ConfigResults<void>> done);
void incremental_alter_configs(Context& ctx,
                               const std::map<ConfigResource, std::vector<AlterConfigOp>>& changes,
                               Deadline deadline, Done<ConfigResults<void>> done);

// ---- admin_groups.cc
void list_groups(Context& ctx, Deadline deadline, Done<std::vector<GroupListing>> done);
void describe_groups(Context& ctx, const std::vector<std::string>& groups, Deadline deadline,
                     Done<ItemResults<GroupDescription>> done);
void delete_groups(Context& ctx, const std::vector<std::string>& groups, Deadline deadline,
                   Done<ItemResults<void>> done);
void list_group_offsets(Context& ctx, const std::string& group,
                        const std::optional<std::vector<TopicPartition>>& partitions,
                        Deadline deadline, Done<std::map<TopicPartition, OffsetAndMetadata>> done);
void alter_group_offsets(Context& ctx, const std::string& group,
                         const std::map<TopicPartition, OffsetAndMetadata>& offsets,
                         Deadline deadline, Done<PartitionResults<void>> done);
void delete_group_offsets(Context& ctx, const std::string& group,
                          const std::vector<TopicPartition>& partitions, Deadline deadline,
                          Done<PartitionResults<void>> done);

// ---- admin_records.cc
void delete_records(Context& ctx, const std::map<TopicPartition, int64_t>& before_offsets,
                    Deadline deadline, Done<PartitionResults<int64_t>> done);
void list_offsets(Context& ctx, const std::map<TopicPartition, OffsetSpec>& specs,
                  bool read_committed, Deadline deadline,
                  Done<PartitionResults<ListedOffset>> done);

// ---- admin_elect.cc
void elect_leaders(Context& ctx, ElectionType type,
                   const std::optional<std::vector<TopicPartition>>& partitions, Deadline deadline,
                   Done<PartitionResults<void>> done);

// ---- shared helpers

// The single answer of a one-key call (key 0).
template <typename V>
typename Call<int, V>::Done unwrap(Done<V> done) {
  return [done = std::move(done)](Result<std::map<int, Result<V>>> r) {
    if (!r) return done(std::unexpected(r.error()));
    done(std::move(r->begin()->second));
  };
}

// Topics grouped the way requests list them: topic -> partitions, both sorted.
template <typename Keys>
std::map<std::string, std::vector<int32_t>> by_topic(const Keys& partitions) {
  std::map<std::string, std::vector<int32_t>> out;
  for (const TopicPartition& tp : partitions) out[tp.topic].push_back(tp.partition);
  return out;
}

// A Metadata request of this call's round for `topics` (nullopt: every topic) to any broker,
// never auto-creating topics. A failed request is handed to `then` as is.
template <typename K, typename V>
void fetch_metadata(Call<K, V>& call, std::optional<std::vector<std::string>> topics,
                    std::function<void(const Result<ClusterMetadata>&)> then) {
  call.net().template send_any<protocol::MetadataRequest>(
      [topics = std::move(topics)](int16_t) {
        protocol::MetadataRequest request;
        if (topics) {
          request.topics.emplace();
          for (const std::string& t : *topics) request.topics->emplace_back().name = t;
        } else {
          request.topics.reset();
        }
        request.allow_auto_topic_creation = false;
        return request;
      },
      call.track([then = std::move(then)](const Result<Response<protocol::MetadataResponse>>& r) {
        if (!r) return then(std::unexpected(r.error()));
        then(ClusterMetadata::from_response(r->body));
      }),
      call.send_options(1));  // v0 cannot ask for "every topic"
}

// A per-item error in an admin answer: UNKNOWN_TOPIC_OR_PARTITION is final there (the topic
// does not exist; retrying would only wait for the timeout); other retriable errors are retried.
template <typename K, typename V>
void item_error(Call<K, V>& call, const K& key, const Error& error) {
  if (error.code() == Errc::unknown_topic_or_partition) {
    return call.resolve(key, std::unexpected(error));
  }
  call.retry_or_fail(key, error);
}

// Looks up the leaders of the pending partitions (fresh metadata every round): partitions of
// unknown topics, or beyond a topic's count, fail with UNKNOWN_TOPIC_OR_PARTITION; leaderless
// ones wait for the next round; `then` gets the rest grouped by leader.
template <typename V>
void with_leaders(Call<TopicPartition, V>& call,
                  std::function<void(std::map<int32_t, std::vector<TopicPartition>>)> then) {
  std::vector<std::string> topics;
  for (const auto& [topic, partitions] : by_topic(call.pending())) topics.push_back(topic);
  fetch_metadata(call, topics, [&call, then = std::move(then)](const Result<ClusterMetadata>& md) {
    std::vector<TopicPartition> pending(call.pending().begin(), call.pending().end());
    if (!md) return call.retry_or_fail_all(pending, md.error());
    std::map<int32_t, std::vector<TopicPartition>> by_leader;
    for (const TopicPartition& tp : pending) {
      const TopicInfo* topic = md->topic(tp.topic);
      if (!topic) {
        call.again(tp, Error(Errc::unknown_topic_or_partition,
                             "no metadata answer for topic " + tp.topic));
        continue;
      }
      if (topic->error == Errc::unknown_topic_or_partition ||
          topic->error == Errc::invalid_topic_exception) {
        call.resolve(tp, std::unexpected(wire_error(static_cast<int16_t>(topic->error),
                                                    "topic " + tp.topic + " does not exist")));
        continue;
      }
      if (topic->error != Errc::none) {
        call.retry_or_fail(tp, wire_error(static_cast<int16_t>(topic->error)));
        continue;
      }
      const PartitionInfo* p = md->partition(tp.topic, tp.partition);
      if (!p) {
        call.resolve(tp, std::unexpected(Error(Errc::unknown_topic_or_partition,
                                               "partition " + tp.to_string() + " does not exist")));
        continue;
      }
      if (p->leader < 0) {
        call.again(tp, Error(Errc::leader_not_available, tp.to_string() + " has no leader"));
        continue;
      }
      by_leader[p->leader].push_back(tp);
    }
    if (!by_leader.empty()) then(std::move(by_leader));
  });
}

// A partition error from a leader: stale leadership (and UNKNOWN_TOPIC_OR_PARTITION, which a
// leader whose metadata lags may answer) is looked up again next round; other retriable errors
// are retried; the rest is final.
template <typename V>
void leader_error(Call<TopicPartition, V>& call, const TopicPartition& tp, const Error& error) {
  if (error.code() == Errc::unknown_topic_or_partition) return call.again(tp, error);
  call.retry_or_fail(tp, error);
}

// An error from (or on the way to) a group coordinator: when it says the coordinator moved,
// the cached one is forgotten so the next round looks it up again.
template <typename K, typename V>
void coordinator_error(Call<K, V>& call, const std::string& group, const K& key,
                       const Error& error) {
  if (invalidates_coordinator(error.code())) call.net().forget_coordinator(group, 0);
  call.retry_or_fail(key, error);
}

// Finds the coordinator of each group (cached by the network client), then calls `then` with
// the groups by coordinator node. Lookup failures go to every key of the group.
template <typename K, typename V>
void with_coordinators(Call<K, V>& call, const std::map<std::string, std::vector<K>>& keys,
                       std::function<void(std::map<int32_t, std::vector<std::string>>)> then) {
  struct Lookups {
    size_t left = 0;
    std::map<int32_t, std::vector<std::string>> by_node;
  };
  auto lookups = std::make_shared<Lookups>();
  lookups->left = keys.size();
  for (const auto& [group, group_keys] : keys) {
    call.net().find_coordinator(
        group, 0,
        call.track([&call, lookups, group, group_keys, then](const Result<int32_t>& node) {
          if (node) {
            lookups->by_node[*node].push_back(group);
          } else {
            for (const K& key : group_keys) coordinator_error(call, group, key, node.error());
          }
          if (--lookups->left == 0 && !lookups->by_node.empty()) then(lookups->by_node);
        }));
  }
}

}  // namespace kafkacore::client::admin
