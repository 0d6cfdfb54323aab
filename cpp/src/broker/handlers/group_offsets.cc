// OffsetCommit (8) v0-9, OffsetFetch (9) v0-9 (v8+: several groups per request), OffsetDelete
// (47) v0. Topic ids (OffsetCommit/OffsetFetch v10) wait for topic-id support everywhere.
#include <memory>

#include "broker/broker.h"
#include "broker/handlers/handlers.h"
#include "broker/handlers/util.h"
#include "protocol/messages.h"

namespace kafkacore::broker {
namespace {

using protocol::OffsetCommitRequest;
using protocol::OffsetCommitResponse;
using protocol::OffsetDeleteRequest;
using protocol::OffsetDeleteResponse;
using protocol::OffsetFetchRequest;
using protocol::OffsetFetchResponse;

constexpr int16_t kMultiGroupFetch = 8;

void offset_commit(Broker& broker, OffsetCommitRequest req, server::Request request) {
  const int16_t version = request.header.api_version;
  // The response mirrors the request; partitions of unknown topics are answered here, the rest
  // by the coordinator (in the order they were handed over).
  OffsetCommitResponse response;
  std::vector<std::pair<size_t, size_t>> slots;  // (topic, partition) index of each handed over
  group::CommitParams params;
  params.group_id = std::move(req.group_id);
  params.member_id = std::move(req.member_id);
  params.instance_id = std::move(req.group_instance_id);
  params.generation = version >= 1 ? req.generation_id_or_member_epoch : -1;
  params.retention_ms = version >= 2 && version <= 4 ? req.retention_time_ms : -1;
  for (auto& t : req.topics) {
    auto& topic = response.topics.emplace_back();
    topic.name = t.name;
    for (auto& p : t.partitions) {
      auto& out = topic.partitions.emplace_back();
      out.partition_index = p.partition_index;
      // Offsets are kept for any partition of the cluster, not just those this coordinator hosts.
      if (!partition_in_cluster(broker, t.name, p.partition_index)) {
        out.error_code = error_code(Errc::unknown_topic_or_partition);
        continue;
      }
      slots.emplace_back(response.topics.size() - 1, topic.partitions.size() - 1);
      // A null metadata string is stored as "", as Kafka does.
      params.partitions.push_back({t.name, p.partition_index, p.committed_offset,
                                   p.committed_leader_epoch,
                                   std::move(p.committed_metadata).value_or("")});
    }
  }
  auto shared = std::make_shared<server::Request>(std::move(request));
  auto pending = std::make_shared<OffsetCommitResponse>(std::move(response));
  broker.groups().commit(std::move(params), [shared, pending, slots](group::CommitResult r) {
    for (size_t i = 0; i < slots.size() && i < r.partitions.size(); ++i) {
      pending->topics[slots[i].first].partitions[slots[i].second].error_code = error_code(r.partitions[i]);
    }
    shared->respond(*pending);
  });
}

std::optional<group::TopicPartitions> wanted(const auto& topics) {
  if (!topics) return std::nullopt;
  group::TopicPartitions out;
  for (const auto& t : *topics) out.emplace_back(t.name, t.partition_indexes);
  return out;
}

// Fills `topics` (either response layout) with the coordinator's answer.
template <typename TopicT>
void fill_topics(std::vector<TopicT>& topics, const group::OffsetFetchResult& result) {
  std::map<std::string, size_t> index;
  for (const auto& f : result.offsets) {
    auto [it, inserted] = index.emplace(f.topic, topics.size());
    if (inserted) topics.emplace_back().name = f.topic;
    auto& p = topics[it->second].partitions.emplace_back();
    p.partition_index = f.partition;
    p.committed_offset = f.offset;
    p.committed_leader_epoch = f.leader_epoch;
    p.metadata = f.metadata;
    p.error_code = error_code(f.error);
  }
}

void offset_fetch(Broker& broker, OffsetFetchRequest req, server::Request request) {
  const int16_t version = request.header.api_version;
  OffsetFetchResponse response;
  auto& coordinator = broker.groups();
  if (version >= kMultiGroupFetch) {
    for (const auto& g : req.groups) {
      auto& out = response.groups.emplace_back();
      out.group_id = g.group_id;
      auto result = coordinator.fetch_offsets(g.group_id, wanted(g.topics));
      out.error_code = error_code(result.error);
      if (result.error == Errc::none) fill_topics(out.topics, result);
    }
    return request.respond(response);
  }
  // v0 and v1 cannot ask for "all topics"; an absent list means none there.
  auto topics = wanted(req.topics);
  if (version < 2 && !topics) topics = group::TopicPartitions{};
  auto result = coordinator.fetch_offsets(req.group_id, topics);
  if (result.error != Errc::none) {
    if (version >= 2) {
      response.error_code = error_code(result.error);
    } else if (topics) {
      // No top-level error before v2: every partition carries it.
      for (const auto& [topic, partitions] : *topics) {
        auto& t = response.topics.emplace_back();
        t.name = topic;
        for (int32_t p : partitions) {
          auto& out = t.partitions.emplace_back();
          out.partition_index = p;
          out.committed_offset = -1;
          out.metadata = "";
          out.error_code = error_code(result.error);
        }
      }
    }
    return request.respond(response);
  }
  fill_topics(response.topics, result);
  request.respond(response);
}

void offset_delete(Broker& broker, OffsetDeleteRequest req, server::Request request) {
  std::vector<std::pair<std::string, int32_t>> partitions;
  std::vector<std::pair<size_t, size_t>> slots;
  OffsetDeleteResponse response;
  for (const auto& t : req.topics) {
    auto& topic = response.topics.emplace_back();
    topic.name = t.name;
    for (const auto& p : t.partitions) {
      auto& out = topic.partitions.emplace_back();
      out.partition_index = p.partition_index;
      // Offsets are kept for any partition of the cluster, not just those this coordinator hosts.
      if (!partition_in_cluster(broker, t.name, p.partition_index)) {
        out.error_code = error_code(Errc::unknown_topic_or_partition);
        continue;
      }
      slots.emplace_back(response.topics.size() - 1, topic.partitions.size() - 1);
      partitions.emplace_back(t.name, p.partition_index);
    }
  }
  auto shared = std::make_shared<server::Request>(std::move(request));
  auto pending = std::make_shared<OffsetDeleteResponse>(std::move(response));
  broker.groups().delete_offsets(
      req.group_id, partitions, [shared, pending, slots](Errc error, std::vector<Errc> errors) {
        pending->error_code = error_code(error);
        if (error != Errc::none) {
          pending->topics.clear();
        } else {
          for (size_t i = 0; i < slots.size() && i < errors.size(); ++i) {
            pending->topics[slots[i].first].partitions[slots[i].second].error_code =
                error_code(errors[i]);
          }
        }
        shared->respond(*pending);
      });
}

}  // namespace

void register_group_offsets(server::HandlerRegistry& registry, Broker& broker) {
  add_handler<OffsetCommitRequest>(registry, broker, 0, 9, offset_commit);
  add_handler<OffsetFetchRequest>(registry, broker, 0, 9, offset_fetch);
  add_handler<OffsetDeleteRequest>(registry, broker, 0, 0, offset_delete);
}

}  // namespace kafkacore::broker
