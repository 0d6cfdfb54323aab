#pragma once
// The client's view of the cluster, built from one Metadata response: brokers, topics, and each
// partition's leader, epoch and replicas. Immutable once built; the network client swaps in a
// new one per update.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"
#include "protocol/messages.h"

namespace kafkacore::client {

struct PartitionInfo {
  int32_t partition = 0;
  Errc error = Errc::none;
  int32_t leader = -1;  // -1: no leader right now
  int32_t leader_epoch = -1;
  std::vector<int32_t> replicas;
  std::vector<int32_t> isr;
  std::vector<int32_t> offline_replicas;
};

struct TopicInfo {
  std::string name;
  protocol::Uuid id;
  Errc error = Errc::none;
  bool internal = false;
  std::vector<PartitionInfo> partitions;  // sorted by partition index
};

struct BrokerInfo {
  int32_t id = -1;
  std::string host;
  uint16_t port = 0;
  std::optional<std::string> rack;
};

// A Metadata request for `topics` (nullopt: every topic in the cluster).
protocol::MetadataRequest metadata_request(const std::optional<std::vector<std::string>>& topics,
                                           bool allow_auto_create);

struct ClusterMetadata {
  std::optional<std::string> cluster_id;
  int32_t controller_id = -1;
  std::map<int32_t, BrokerInfo> brokers;
  std::map<std::string, TopicInfo, std::less<>> topics;
  uint64_t generation = 0;  // counts updates; 0 = nothing received yet

  static ClusterMetadata from_response(const protocol::MetadataResponse& response);

  // nullptr when the topic is not known (not asked for, or absent from the last answer).
  const TopicInfo* topic(std::string_view name) const;
  const PartitionInfo* partition(const std::string& topic, int32_t partition) const;
  // -1 when unknown or leaderless.
  int32_t leader(const std::string& topic, int32_t partition) const;
};

}  // namespace kafkacore::client
