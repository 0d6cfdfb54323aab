#pragma once
// The typed records of the cluster metadata log (KRaft-style): what the controller quorum
// commits through Raft and every broker applies into its MetadataImage. Each record is encoded
// as a msgpack array [type, fields-map]; fields are keyed by name so later versions can add
// fields (unknown ones are ignored, missing ones keep their defaults).
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "common/bytes.h"
#include "common/error.h"
#include "common/uuid.h"

namespace kafkacore::metadata {

// The cluster id, chosen when the first controller formats the log.
struct ClusterRecord {
  Uuid cluster_id;
  bool operator==(const ClusterRecord&) const = default;
};

// A broker announced itself. A new incarnation (process restart) gets a new epoch; the broker
// starts fenced until it has caught up with the metadata log.
struct RegisterBrokerRecord {
  int32_t broker_id = 0;
  Uuid incarnation;
  int64_t epoch = 0;
  std::string host;
  int32_t port = 0;
  std::string rack;
  bool operator==(const RegisterBrokerRecord&) const = default;
};

struct FenceBrokerRecord {
  int32_t broker_id = 0;
  int64_t epoch = 0;
  bool operator==(const FenceBrokerRecord&) const = default;
};

struct UnfenceBrokerRecord {
  int32_t broker_id = 0;
  int64_t epoch = 0;
  bool operator==(const UnfenceBrokerRecord&) const = default;
};

struct TopicRecord {
  std::string name;
  Uuid topic_id;
  bool operator==(const TopicRecord&) const = default;
};

struct PartitionRecord {
  Uuid topic_id;
  int32_t partition = 0;
  std::vector<int32_t> replicas;
  std::vector<int32_t> isr;
  int32_t leader = -1;
  int32_t leader_epoch = 0;
  int32_t partition_epoch = 0;
  // KIP-966 eligible leader replicas: out of the ISR but holding every committed record (the
  // HW stood still since they left, the ISR being below min.insync.replicas). Absent in
  // records written before: empty.
  std::vector<int32_t> elr{};
  // The last ISR member, taken out of the ISR after an unclean restart while ELR members were
  // left: elected only once no ISR or ELR member is left (Kafka's last-known-leader fallback).
  int32_t last_known_leader = -1;
  bool operator==(const PartitionRecord&) const = default;
};

// A change of leader and/or ISR. A leader change bumps the leader epoch; any change bumps the
// partition epoch (what AlterPartition requests are checked against).
struct PartitionChangeRecord {
  Uuid topic_id;
  int32_t partition = 0;
  std::optional<int32_t> leader;
  std::optional<std::vector<int32_t>> isr;
  std::optional<std::vector<int32_t>> replicas;
  std::optional<std::vector<int32_t>> elr{};  // unset: unchanged (and in older records)
  std::optional<int32_t> last_known_leader{};
  bool operator==(const PartitionChangeRecord&) const = default;
};

struct RemoveTopicRecord {
  Uuid topic_id;
  bool operator==(const RemoveTopicRecord&) const = default;
};

enum class ConfigResource : int8_t { topic = 2, broker = 4 };

// A config override set (value) or removed (nullopt).
struct ConfigRecord {
  ConfigResource resource = ConfigResource::topic;
  std::string resource_name;
  std::string key;
  std::optional<std::string> value;
  bool operator==(const ConfigRecord&) const = default;
};

// Producer ids [start, start + size) belong to `broker_id`.
struct ProducerIdsRecord {
  int32_t broker_id = 0;
  int64_t start = 0;
  int64_t size = 0;
  bool operator==(const ProducerIdsRecord&) const = default;
};

using MetadataRecord =
    std::variant<ClusterRecord, RegisterBrokerRecord, FenceBrokerRecord, UnfenceBrokerRecord,
                 TopicRecord, PartitionRecord, PartitionChangeRecord, RemoveTopicRecord,
                 ConfigRecord, ProducerIdsRecord>;

// One record; decoding never throws (errors are CORRUPT_MESSAGE).
Bytes encode_record(const MetadataRecord& record);
Result<MetadataRecord> decode_record(ByteView bytes);

// A batch of records (one Raft entry carries one batch: they commit atomically).
Bytes encode_records(const std::vector<MetadataRecord>& records);
Result<std::vector<MetadataRecord>> decode_records(ByteView bytes);

std::string record_name(const MetadataRecord& record);

// Kafka's rules: 1..249 characters of [a-zA-Z0-9._-], not "." or "..".
Result<void> validate_topic_name(const std::string& name);

}  // namespace kafkacore::metadata
