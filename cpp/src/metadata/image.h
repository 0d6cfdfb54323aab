#pragma once
// An immutable view of the cluster metadata at one offset of the metadata log: brokers, topics
// with their partitions (replicas, ISR, leader, epochs) and config overrides. Applying records
// yields a new image (copy on write of what changed), so readers on any thread keep a
// consistent snapshot for as long as they hold the shared_ptr.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/uuid.h"
#include "metadata/records.h"

namespace kafkacore::metadata {

struct BrokerState {
  int32_t id = 0;
  Uuid incarnation;
  int64_t epoch = 0;
  std::string host;
  int32_t port = 0;
  std::string rack;
  bool fenced = true;
  bool operator==(const BrokerState&) const = default;
};

struct PartitionState {
  std::vector<int32_t> replicas;
  std::vector<int32_t> isr;
  int32_t leader = -1;
  int32_t leader_epoch = 0;
  int32_t partition_epoch = 0;
  std::vector<int32_t> elr{};        // eligible leader replicas (KIP-966), see PartitionRecord
  int32_t last_known_leader = -1;
  bool operator==(const PartitionState&) const = default;
};

struct TopicState {
  std::string name;
  Uuid id;
  std::vector<PartitionState> partitions;
  bool operator==(const TopicState&) const = default;
};

class MetadataImage {
 public:
  static std::shared_ptr<const MetadataImage> empty();

  // The image after `records` (committed at `offset` of the metadata log). Records that do not
  // fit the image (a change of an unknown partition, say) are reported, not applied: the log is
  // the controller's, so this means a bug, and one bad record must not stop a broker.
  std::shared_ptr<const MetadataImage> apply(const std::vector<MetadataRecord>& records,
                                             int64_t offset,
                                             std::vector<std::string>* problems = nullptr) const;

  // Records that rebuild this image from empty (a Raft snapshot of the metadata log).
  std::vector<MetadataRecord> to_records() const;

  int64_t offset() const { return offset_; }
  const Uuid& cluster_id() const { return cluster_id_; }
  const std::map<int32_t, BrokerState>& brokers() const { return brokers_; }
  const BrokerState* broker(int32_t id) const;
  const std::map<std::string, TopicState>& topics() const { return topics_; }
  const TopicState* topic(const std::string& name) const;
  const TopicState* topic_by_id(const Uuid& id) const;
  const PartitionState* partition(const std::string& topic, int32_t partition) const;
  // Config overrides of a topic (or of a broker, by id as text, or "" for cluster defaults).
  std::map<std::string, std::string> configs(ConfigResource type, const std::string& name) const;
  // The next producer id no broker owns yet.
  int64_t next_producer_id() const { return next_producer_id_; }

  bool operator==(const MetadataImage&) const = default;

 private:
  Result<void> apply_one(const MetadataRecord& record);

  int64_t offset_ = -1;
  Uuid cluster_id_;
  std::map<int32_t, BrokerState> brokers_;
  std::map<std::string, TopicState> topics_;
  std::map<Uuid, std::string> topic_names_;
  std::map<std::pair<ConfigResource, std::string>, std::map<std::string, std::string>> configs_;
  int64_t next_producer_id_ = 0;
};

using ImagePtr = std::shared_ptr<const MetadataImage>;

}  // namespace kafkacore::metadata
