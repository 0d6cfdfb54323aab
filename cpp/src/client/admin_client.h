#pragma once
// The admin client: topics, configs, consumer groups, records and the cluster, over the Kafka
// protocol (so it works against Apache Kafka too). Every call blocks until it is done or its
// timeout (default `default.api.timeout.ms`, 60 s) has passed; in between, retriable errors are
// retried every `retry.backoff.ms` (growing up to `retry.backoff.max.ms`), after refreshing the
// metadata, looking the group coordinator up again or picking another broker, as the error says.
//
// Results: where Kafka answers per item (topic, config resource, group, partition), the call
// returns a map with a Result per item, and an item still failing when time runs out gets
// REQUEST_TIMED_OUT (its message carries the last error). The call itself fails only for bad
// arguments (INVALID_REQUEST), a closed client (NETWORK_EXCEPTION "client closed"), or a
// timeout with no item answered at all (REQUEST_TIMED_OUT with the last error in the message).
//
// Where requests go: topic admin requests (create, delete, partitions, topic configs) to any
// broker (Kafka brokers forward them to the controller, KIP-590; so do ours); broker configs to
// that broker; group requests to the group's coordinator; ListGroups to every broker; ListOffsets
// and DeleteRecords to each partition's leader.
//
// Thread-safe: any thread may call anything, concurrently; the work runs on the client's own
// I/O thread. Must not be called from inside another client's callback that blocks that
// client's I/O thread (it would only wait).
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "client/cluster_metadata.h"
#include "client/config.h"
#include "client/types.h"
#include "common/error.h"
#include "protocol/types.h"

namespace kafkacore::client {

struct NewTopic {
  std::string name;
  int32_t partitions = -1;          // -1: the broker's num.partitions (or from `assignment`)
  int16_t replication_factor = -1;  // -1: the broker's default.replication.factor
  // Explicit replicas per partition (numbered 0..n-1); then partitions and RF must stay -1.
  std::map<int32_t, std::vector<int32_t>> assignment{};
  std::map<std::string, std::string> configs{};
};

struct CreateTopicsOptions {
  bool validate_only = false;
  // Return a topic as created only once the metadata shows a leader for each of its
  // partitions, so it is usable right away. Java's AdminClient does not wait; set false for
  // that. A topic created but still leaderless at the timeout gets REQUEST_TIMED_OUT.
  bool wait_for_leaders = true;
  std::optional<std::chrono::milliseconds> timeout{};
};

struct TopicDescription {
  std::string name;
  protocol::Uuid id;
  bool internal = false;
  std::vector<PartitionInfo> partitions;  // sorted by partition; leader -1 = none right now
};

enum class ConfigResourceType : int8_t { topic = 2, broker = 4 };

// A broker's resource name is its id ("1"); "" means the cluster-wide broker defaults.
struct ConfigResource {
  ConfigResourceType type = ConfigResourceType::topic;
  std::string name;
  auto operator<=>(const ConfigResource&) const = default;
};

// Kafka's ConfigSource.
enum class ConfigSource : int8_t {
  unknown = 0,
  dynamic_topic = 1,
  dynamic_broker = 2,
  dynamic_default_broker = 3,
  static_broker = 4,
  default_config = 5,
  dynamic_broker_logger = 6,
};

struct ConfigEntry {
  std::string name;
  std::optional<std::string> value;  // null for sensitive values
  bool read_only = false;
  bool is_default = false;
  bool sensitive = false;
  ConfigSource source = ConfigSource::unknown;
};

// IncrementalAlterConfigs operations (remove = Kafka's DELETE: back to the default).
enum class AlterOp : int8_t { set = 0, remove = 1, append = 2, subtract = 3 };

struct AlterConfigOp {
  std::string name;
  AlterOp op = AlterOp::set;
  std::optional<std::string> value;  // not needed for remove
};

struct GroupListing {
  std::string group_id;
  std::string protocol_type;  // "consumer", "" for groups that only commit offsets, ...
  std::string state;          // "" from brokers before ListGroups v4
  bool operator==(const GroupListing&) const = default;
};

struct MemberDescription {
  std::string member_id;
  std::optional<std::string> group_instance_id;
  std::string client_id;
  std::string host;
  // Decoded from the consumer protocol when the group's protocol type is "consumer" (empty
  // otherwise, or when the bytes do not decode).
  std::vector<TopicPartition> assignment;
};

struct GroupDescription {
  std::string group_id;
  std::string protocol_type;
  std::string protocol;      // the assignor (Stable groups only)
  std::string state;         // "Empty", "Stable", "PreparingRebalance", ...
  int32_t coordinator = -1;  // broker id
  std::vector<MemberDescription> members;
};

struct PartitionLag {
  int64_t committed = -1;   // the group's committed offset
  int64_t end_offset = -1;  // the log end (high watermark); -1 when it could not be read
  int64_t lag = -1;         // end_offset - committed (>= 0); -1 when either is unknown
  bool operator==(const PartitionLag&) const = default;
};

struct ClusterDescription {
  std::optional<std::string> cluster_id;
  int32_t controller_id = -1;
  std::vector<BrokerInfo> brokers;  // sorted by id
};

// What list_offsets looks up for a partition: the earliest or latest offset, the record with
// the highest timestamp (ListOffsets v7+), or the first offset whose timestamp is >= a time.
class OffsetSpec {
 public:
  static OffsetSpec earliest() { return OffsetSpec(-2); }
  static OffsetSpec latest() { return OffsetSpec(-1); }
  static OffsetSpec max_timestamp() { return OffsetSpec(-3); }
  static OffsetSpec for_timestamp(int64_t ms_since_epoch) { return OffsetSpec(ms_since_epoch); }
  // The ListOffsets wire value (-1 latest, -2 earliest, -3 max timestamp, else a time).
  int64_t value() const { return value_; }

 private:
  explicit OffsetSpec(int64_t value) : value_(value) {}
  int64_t value_;
};

// ElectLeaders' kinds: the preferred (first assigned) replica, or any live one (unclean).
enum class ElectionType : int8_t { preferred = 0, unclean = 1 };

struct ListedOffset {
  int64_t offset = -1;     // -1: no record at or after the timestamp
  int64_t timestamp = -1;  // the record's timestamp for timestamp lookups, else -1
  int32_t leader_epoch = -1;
};

class AdminClient {
 public:
  using Timeout = std::optional<std::chrono::milliseconds>;  // unset: default.api.timeout.ms

  // Kafka-named keys: bootstrap.servers (required), client.id, request.timeout.ms,
  // default.api.timeout.ms, retry.backoff.ms, retry.backoff.max.ms, retries (attempts after the
  // first; timeouts are the usual bound), metadata.max.age.ms, reconnect.backoff(.max).ms,
  // socket.connection.setup.timeout.ms. Unknown keys are an error. Does not connect yet.
  static Result<std::unique_ptr<AdminClient>> create(Properties config);
  ~AdminClient();  // close()
  AdminClient(const AdminClient&) = delete;
  AdminClient& operator=(const AdminClient&) = delete;

  // ---- topics
  Result<std::map<std::string, Result<void>>> create_topics(const std::vector<NewTopic>& topics,
                                                            CreateTopicsOptions options = {});
  Result<std::map<std::string, Result<void>>> delete_topics(const std::vector<std::string>& topics,
                                                            Timeout timeout = {});
  // Sorted names.
  Result<std::vector<std::string>> list_topics(bool include_internal = false, Timeout timeout = {});
  // UNKNOWN_TOPIC_OR_PARTITION for a topic that does not exist.
  Result<std::map<std::string, Result<TopicDescription>>> describe_topics(
      const std::vector<std::string>& topics, Timeout timeout = {});
  // Grows each topic to the given total partition count.
  Result<std::map<std::string, Result<void>>> create_partitions(
      const std::map<std::string, int32_t>& new_totals, bool validate_only = false,
      Timeout timeout = {});

  // ---- configs
  Result<std::map<ConfigResource, Result<std::vector<ConfigEntry>>>> describe_configs(
      const std::vector<ConfigResource>& resources, Timeout timeout = {});
  // Legacy AlterConfigs: the given set replaces every override of the resource.
  Result<std::map<ConfigResource, Result<void>>> alter_configs(
      const std::map<ConfigResource, std::map<std::string, std::string>>& configs,
      Timeout timeout = {});
  Result<std::map<ConfigResource, Result<void>>> incremental_alter_configs(
      const std::map<ConfigResource, std::vector<AlterConfigOp>>& changes, Timeout timeout = {});

  // ---- consumer groups
  // Every broker is asked (each lists the groups it coordinates); merged, sorted by id. Fails
  // if some broker still in the metadata did not answer in time.
  Result<std::vector<GroupListing>> list_groups(Timeout timeout = {});
  // GROUP_ID_NOT_FOUND for a group that does not exist.
  Result<std::map<std::string, Result<GroupDescription>>> describe_groups(
      const std::vector<std::string>& groups, Timeout timeout = {});
  // GROUP_ID_NOT_FOUND for an unknown group, NON_EMPTY_GROUP for one with members.
  Result<std::map<std::string, Result<void>>> delete_groups(const std::vector<std::string>& groups,
                                                            Timeout timeout = {});
  // The group's committed offsets (OffsetFetch): of `partitions`, or of every partition it has
  // committed. Partitions without a committed offset are absent.
  Result<std::map<TopicPartition, OffsetAndMetadata>> list_group_offsets(
      const std::string& group, std::optional<std::vector<TopicPartition>> partitions = {},
      Timeout timeout = {});
  // Commits offsets for the group as an admin (OffsetCommit, generation -1, no member): the
  // group must have no members (else the broker refuses, as Kafka does: UNKNOWN_MEMBER_ID).
  // Creates the group if new.
  Result<std::map<TopicPartition, Result<void>>> alter_group_offsets(
      const std::string& group, const std::map<TopicPartition, OffsetAndMetadata>& offsets,
      Timeout timeout = {});
  // OffsetDelete: GROUP_SUBSCRIBED_TO_TOPIC for topics the group's members consume.
  Result<std::map<TopicPartition, Result<void>>> delete_group_offsets(
      const std::string& group, const std::vector<TopicPartition>& partitions,
      Timeout timeout = {});
  // Committed offset against the log end (high watermark) for every partition the group has
  // committed an offset for. A partition whose end offset cannot be read (its topic deleted,
  // no leader until the timeout) has end_offset = lag = -1.
  Result<std::map<TopicPartition, PartitionLag>> group_lag(const std::string& group,
                                                           Timeout timeout = {});

  // ---- records and offsets
  // Deletes records before the given offsets (-1: up to the high watermark) at each partition's
  // leader; returns the new low watermark per partition.
  Result<std::map<TopicPartition, Result<int64_t>>> delete_records(
      const std::map<TopicPartition, int64_t>& before_offsets, Timeout timeout = {});
  // ListOffsets at each partition's leader. read_committed: "latest" is the last stable offset.
  Result<std::map<TopicPartition, Result<ListedOffset>>> list_offsets(
      const std::map<TopicPartition, OffsetSpec>& specs, bool read_committed = false,
      Timeout timeout = {});

  // ---- leaders
  // ElectLeaders through any broker (it forwards to the controller). nullopt: every partition,
  // and the answer then names only those that needed an election. Per partition:
  // ELECTION_NOT_NEEDED when the replica already leads, PREFERRED_LEADER_NOT_AVAILABLE when it
  // is not alive and in sync, UNKNOWN_TOPIC_OR_PARTITION.
  Result<std::map<TopicPartition, Result<void>>> elect_leaders(
      ElectionType type, const std::optional<std::vector<TopicPartition>>& partitions,
      Timeout timeout = {});

  // ---- cluster
  // DescribeCluster where the broker supports it, else Metadata.
  Result<ClusterDescription> describe_cluster(Timeout timeout = {});

  // Fails calls in flight with NETWORK_EXCEPTION "client closed", closes the connections and
  // stops the I/O thread. Later calls fail the same way. Idempotent.
  Result<void> close();

  struct State;  // internal (admin_client.cc)

 private:
  explicit AdminClient(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace kafkacore::client
