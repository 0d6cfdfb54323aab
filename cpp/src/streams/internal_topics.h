#pragma once
// Sizing and creating a topology's internal topics: each sub-topology gets as many tasks as its
// source topics have partitions; repartition topics take the count of the sub-topology writing
// them, changelogs that of the sub-topology owning the store.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "client/admin_client.h"
#include "common/error.h"
#include "streams/topology.h"

namespace kafkacore::streams {

struct PartitionPlan {
  std::map<int, int32_t> partitions_by_sub_topology;
  std::map<std::string, int> sub_topology_by_topic;  // real topic names (prefixed internals)
  std::vector<std::string> source_topics;            // everything the app subscribes to
};

// Looks up the user source topics (UNKNOWN_TOPIC_OR_PARTITION naming a missing one), checks
// co-partitioning of joined topics, and creates missing repartition and changelog topics
// ("<application.id>-<name>"). An existing internal topic with another partition count is an
// INVALID_PARTITIONS error.
Result<PartitionPlan> prepare_internal_topics(client::AdminClient& admin, const Topology& topology,
                                              const std::vector<Topology::SubTopology>& subs,
                                              const std::string& application_id,
                                              int16_t replication_factor);

}  // namespace kafkacore::streams
