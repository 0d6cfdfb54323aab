#pragma once
// The cluster's metadata as one broker needs it today: topics (name, id, partition count,
// config overrides), the cluster id and producer-id allocation, persisted with msgpack in the
// data directory. Single-threaded (the broker's reactor). The replicated-cluster issue replaces
// the file with the Raft metadata log; callers see the same interface.
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/uuid.h"

namespace kafkacore::metadata {

struct TopicInfo {
  std::string name;
  Uuid id;
  int32_t partitions = 0;
  std::map<std::string, std::string> configs;  // overrides only; defaults live in broker config
};

// Kafka's rules: 1..249 characters of [a-zA-Z0-9._-], not "." or "..".
Result<void> validate_topic_name(const std::string& name);

class MetadataStore {
 public:
  static Result<std::unique_ptr<MetadataStore>> open(const std::filesystem::path& data_dir);

  const Uuid& cluster_id() const { return cluster_id_; }
  const TopicInfo* topic(const std::string& name) const;
  const TopicInfo* topic_by_id(const Uuid& id) const;
  std::vector<const TopicInfo*> topics() const;

  Result<const TopicInfo*> create_topic(const std::string& name, int32_t partitions,
                                        std::map<std::string, std::string> configs);
  Result<void> delete_topic(const std::string& name);
  Result<void> set_partition_count(const std::string& name, int32_t partitions);
  Result<void> set_configs(const std::string& name, std::map<std::string, std::string> configs);
  // Ids are handed out from blocks reserved durably, so a restart never reuses one.
  Result<int64_t> allocate_producer_id();

 private:
  explicit MetadataStore(std::filesystem::path path) : path_(std::move(path)) {}
  Result<void> load();
  Result<void> save();

  std::filesystem::path path_;
  Uuid cluster_id_;
  std::map<std::string, TopicInfo> topics_;
  int64_t next_producer_id_ = 0;
  int64_t reserved_producer_ids_until_ = 0;
};

}  // namespace kafkacore::metadata
