#pragma once
// Requests a broker sends to the active controller, and the answers, as msgpack (they travel as
// application messages on the controller listener, next to Raft). Every request carries an id
// the answer repeats; a request is [version, id, type, fields], an answer [version, id, -1,
// fields]. Decoding never throws (errors are CORRUPT_MESSAGE).
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "common/bytes.h"
#include "common/error.h"
#include "common/uuid.h"
#include "metadata/records.h"

namespace kafkacore::metadata {

struct RegisterBrokerRequest {
  int32_t broker_id = 0;
  Uuid incarnation;
  std::string host;
  int32_t port = 0;
  std::string rack;
  // Its previous run shut down cleanly; absent (older brokers) counts as unclean (KIP-966).
  bool clean_shutdown = false;
};

struct BrokerHeartbeatRequest {
  int32_t broker_id = 0;
  int64_t epoch = 0;
  int64_t metadata_offset = -1;  // how far the broker has applied the metadata log
};

struct AlterPartitionRequest {
  Uuid topic_id;
  int32_t partition = 0;
  int32_t leader = 0;
  int32_t leader_epoch = 0;
  int32_t partition_epoch = 0;
  std::vector<int32_t> isr;
};

struct CreateTopicRequest {
  std::string name;
  int32_t partitions = -1;
  int32_t replication_factor = -1;
  std::map<std::string, std::string> configs;
  bool validate_only = false;
  std::vector<std::vector<int32_t>> assignment;  // explicit replicas per partition, or empty
};

struct DeleteTopicRequest {
  std::string name;
};

struct CreatePartitionsRequest {
  std::string name;
  int32_t count = 0;
  bool validate_only = false;
};

struct AlterConfigsRequest {
  ConfigResource resource = ConfigResource::topic;
  std::string name;
  std::map<std::string, std::optional<std::string>> changes;  // nullopt: remove the override
  bool validate_only = false;
};

struct AllocateProducerIdsRequest {
  int32_t broker_id = 0;
};

// ElectLeaders PREFERRED for one partition.
struct ElectPreferredLeaderRequest {
  std::string topic;
  int32_t partition = 0;
};

// ElectLeaders UNCLEAN for one partition.
struct ElectUncleanLeaderRequest {
  std::string topic;
  int32_t partition = 0;
};

// New request types go at the end: the variant index is the type on the wire.
using ControllerRequest =
    std::variant<RegisterBrokerRequest, BrokerHeartbeatRequest, AlterPartitionRequest,
                 CreateTopicRequest, DeleteTopicRequest, CreatePartitionsRequest,
                 AlterConfigsRequest, AllocateProducerIdsRequest, ElectPreferredLeaderRequest,
                 ElectUncleanLeaderRequest>;

struct ControllerResponse {
  int16_t error_code = 0;  // Kafka's numbering
  std::string error_message;
  // The metadata-log offset the change committed at (-1: nothing was written). The broker waits
  // until its own image reaches it before answering its client, so it sees its own change.
  int64_t offset = -1;
  int64_t epoch = -1;           // RegisterBroker: the broker's new epoch
  bool fenced = true;           // BrokerHeartbeat
  int64_t producer_id_start = -1;  // AllocateProducerIds
  int64_t producer_id_count = 0;
};

struct ControllerRpc {
  uint64_t id = 0;
  std::variant<ControllerRequest, ControllerResponse> body;
};

Bytes encode_rpc(const ControllerRpc& rpc);
Result<ControllerRpc> decode_rpc(ByteView bytes);

std::string request_name(const ControllerRequest& request);

}  // namespace kafkacore::metadata
