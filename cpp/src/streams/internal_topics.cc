#include "streams/internal_topics.h"

#include <algorithm>
#include <set>

namespace kafkacore::streams {
namespace {

bool has_join(const Topology& topology, const Topology::SubTopology& sub) {
  return std::any_of(sub.nodes.begin(), sub.nodes.end(), [&](const std::string& name) {
    return topology.node(name)->operation.starts_with("join");
  });
}

std::map<std::string, std::string> changelog_configs(const StoreSpec& store) {
  if (store.kind == StoreKind::key_value) return {{"cleanup.policy", "compact"}};
  // Windowed stores only need their retention; a day more leaves room for restores.
  return {{"cleanup.policy", "compact,delete"},
          {"retention.ms", std::to_string(store.retention_ms + 86'400'000)}};
}

}  // namespace

Result<PartitionPlan> prepare_internal_topics(client::AdminClient& admin, const Topology& topology,
                                              const std::vector<Topology::SubTopology>& subs,
                                              const std::string& application_id,
                                              int16_t replication_factor) {
  const std::string prefix = application_id + "-";
  PartitionPlan plan;
  std::set<std::string> external;
  for (const auto& sub : subs) external.insert(sub.external_sources.begin(), sub.external_sources.end());
  std::map<std::string, int32_t> counts;
  if (!external.empty()) {
    auto described = admin.describe_topics({external.begin(), external.end()});
    if (!described) return std::unexpected(described.error());
    for (const auto& [topic, result] : *described) {
      if (!result) {
        return make_error(result.error().code(),
                          "source topic " + topic + ": " + result.error().message() +
                              " (create it before starting the application)");
      }
      counts[topic] = static_cast<int32_t>(result->partitions.size());
    }
  }
  // Repartition topics are sized by their writer, which may itself read repartition topics:
  // resolve in rounds until nothing changes.
  for (size_t round = 0; round <= subs.size(); ++round) {
    for (const auto& sub : subs) {
      if (plan.partitions_by_sub_topology.contains(sub.id)) continue;
      int32_t n = 0;
      bool known = true;
      for (const auto& t : sub.external_sources) n = std::max(n, counts.at(t));
      for (const auto& t : sub.internal_sources) {
        auto it = counts.find(prefix + t);
        if (it == counts.end()) {
          known = false;
        } else {
          n = std::max(n, it->second);
        }
      }
      if (!known) continue;
      plan.partitions_by_sub_topology[sub.id] = n;
      for (const auto& t : sub.internal_sinks) counts[prefix + t] = n;
    }
  }
  for (const auto& sub : subs) {
    if (!plan.partitions_by_sub_topology.contains(sub.id)) {
      return make_error(Errc::invalid_config, "sub-topology " + std::to_string(sub.id) +
                                                  " reads a repartition topic nobody writes");
    }
    if (has_join(topology, sub)) {
      std::set<int32_t> distinct;
      for (const auto& t : sub.external_sources) distinct.insert(counts.at(t));
      for (const auto& t : sub.internal_sources) distinct.insert(counts.at(prefix + t));
      if (distinct.size() > 1) {
        return make_error(Errc::invalid_partitions,
                          "joined topics are not co-partitioned (different partition counts) in "
                          "sub-topology " + std::to_string(sub.id));
      }
    }
    for (const auto& t : sub.external_sources) plan.sub_topology_by_topic[t] = sub.id;
    for (const auto& t : sub.internal_sources) plan.sub_topology_by_topic[prefix + t] = sub.id;
  }

  std::vector<client::NewTopic> wanted;
  for (const auto& sub : subs) {
    for (const auto& t : sub.internal_sinks) {
      wanted.push_back({.name = prefix + t,
                        .partitions = counts.at(prefix + t),
                        .replication_factor = replication_factor,
                        .configs = {{"cleanup.policy", "delete"}}});
    }
    for (const auto& s : sub.stores) {
      const StoreSpec& spec = topology.stores.at(s);
      if (!spec.logged) continue;
      wanted.push_back({.name = prefix + s + "-changelog",
                        .partitions = plan.partitions_by_sub_topology.at(sub.id),
                        .replication_factor = replication_factor,
                        .configs = changelog_configs(spec)});
    }
  }
  if (!wanted.empty()) {
    auto created = admin.create_topics(wanted);
    if (!created) return std::unexpected(created.error());
    std::vector<std::string> existing;
    for (const auto& [topic, result] : *created) {
      if (result) continue;
      if (result.error().code() != Errc::topic_already_exists) {
        return make_error(result.error().code(),
                          "creating internal topic " + topic + ": " + result.error().message());
      }
      existing.push_back(topic);
    }
    if (!existing.empty()) {
      auto described = admin.describe_topics(existing);
      if (!described) return std::unexpected(described.error());
      for (const auto& want : wanted) {
        auto it = described->find(want.name);
        if (it == described->end()) continue;
        if (!it->second) return std::unexpected(it->second.error());
        if (static_cast<int32_t>(it->second->partitions.size()) != want.partitions) {
          return make_error(Errc::invalid_partitions,
                            "internal topic " + want.name + " has " +
                                std::to_string(it->second->partitions.size()) +
                                " partitions, the topology needs " +
                                std::to_string(want.partitions));
        }
      }
    }
  }
  for (const auto& [topic, sub] : plan.sub_topology_by_topic) plan.source_topics.push_back(topic);
  return plan;
}

}  // namespace kafkacore::streams
