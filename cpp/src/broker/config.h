#pragma once
// Broker configuration under Kafka's property names and defaults, plus the topic-level configs
// (their broker-level synonyms, defaults and how DescribeConfigs reports their source).
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/error.h"
#include "group/group_coordinator.h"
#include "server/connection.h"
#include "storage/log_config.h"

namespace kafkacore::broker {

// DescribeConfigs ConfigSource values (protocol facts).
enum class ConfigSource : int8_t {
  unknown = 0,
  dynamic_topic = 1,
  dynamic_broker = 2,
  dynamic_default_broker = 3,
  static_broker = 4,
  default_config = 5,
};

struct ConfigEntry {
  std::string name;
  std::optional<std::string> value;
  ConfigSource source = ConfigSource::default_config;
  bool read_only = false;
  bool sensitive = false;
  // Where the value could also come from, most specific first (name, value, source).
  std::vector<std::tuple<std::string, std::optional<std::string>, ConfigSource>> synonyms;
};

// KRaft's process.roles: what a node runs.
enum class ProcessRoles {
  combined,    // broker,controller: a Raft voter with the controller logic that also serves clients
  broker,      // a Raft observer of the controllers' metadata log that serves clients
  controller,  // a Raft voter with the controller logic on its controller listener; no Kafka listener
};
const char* process_roles_name(ProcessRoles roles);

// The replicated cluster: the controller quorum this node votes in (or follows), broker liveness
// and follower replication, under Kafka's names and defaults.
struct ClusterConfig {
  ProcessRoles roles = ProcessRoles::combined;  // process.roles
  std::string quorum_voters;       // controller.quorum.voters "1@host:port,..."; empty: this node alone
  std::string controller_host;     // the CONTROLLER listener (empty: the Kafka listener's host)
  uint16_t controller_port = 0;    // 0: the port in quorum_voters, or any
  int64_t election_timeout_ms = 1000;           // controller.quorum.election.timeout.ms
  int64_t broker_session_timeout_ms = 9000;     // broker.session.timeout.ms
  int64_t broker_heartbeat_interval_ms = 2000;  // broker.heartbeat.interval.ms
  // kafkacore.lost.connection.grace.ms: how long a broker whose controller link broke has to
  // heartbeat again before it is fenced (capped by the session and three heartbeats).
  int64_t lost_connection_grace_ms = 500;
  int64_t replica_lag_time_max_ms = 30000;      // replica.lag.time.max.ms
  int32_t replica_fetch_wait_max_ms = 500;      // replica.fetch.wait.max.ms
  int64_t replica_fetch_backoff_ms = 1000;      // replica.fetch.backoff.ms
  int32_t replica_fetch_max_bytes = 1048576;    // replica.fetch.max.bytes
  int16_t offsets_topic_replication_factor = 3; // offsets.topic.replication.factor (capped at live brokers)
  bool auto_leader_rebalance = true;            // auto.leader.rebalance.enable
  int64_t leader_imbalance_check_interval_s = 300;   // leader.imbalance.check.interval.seconds
  int32_t leader_imbalance_per_broker_percentage = 10;  // leader.imbalance.per.broker.percentage
  int64_t startup_timeout_ms = 30000;           // kafkacore.startup.timeout.ms
};

struct BrokerConfig {
  int32_t node_id = 1;
  std::string listen_host = "127.0.0.1";
  uint16_t port = 9092;
  std::string advertised_host;  // empty: the listen host (or 127.0.0.1 for a wildcard)
  std::filesystem::path data_dir = "data";
  std::string rack;
  int32_t num_partitions = 1;                      // num.partitions
  bool auto_create_topics = true;                  // auto.create.topics.enable
  int16_t default_replication_factor = 1;          // default.replication.factor
  int64_t fetch_max_bytes = 57671680;              // fetch.max.bytes
  int32_t fetch_session_cache_slots = 1000;        // max.incremental.fetch.session.cache.slots
  int64_t tick_ms = 1000;                          // how often retention/flush/compaction run
  bool bypass_fsync = false;                       // kafkacore.unsafe.bypass.fsync (test clusters)
  server::ServerLimits limits;                     // socket.request.max.bytes, connections.max.idle.ms
  storage::LogConfig log_defaults;                 // from the log.* keys
  group::GroupConfig groups;                       // group.*, offsets.* and offset.* keys
  int64_t offsets_segment_bytes = 104857600;       // offsets.topic.segment.bytes
  ClusterConfig cluster;
  // Time for retention, sessions and offset expiry; tests and Cluster.advance_time swap it.
  Clock* clock = &SystemClock::instance();

  // Keys given explicitly (for DescribeConfigs' STATIC_BROKER_CONFIG source).
  std::map<std::string, std::string> explicit_properties;

  static Result<BrokerConfig> from_properties(const std::map<std::string, std::string>& props);
  bool serves_clients() const { return cluster.roles != ProcessRoles::controller; }
  bool is_controller() const { return cluster.roles != ProcessRoles::broker; }
  std::string advertised() const;
  std::vector<ConfigEntry> describe() const;
};

// The topic-level config keys we accept, in DescribeConfigs order.
const std::vector<std::string>& topic_config_names();
// Validates overrides (unknown keys and bad values are INVALID_CONFIG errors).
Result<void> validate_topic_configs(const std::map<std::string, std::string>& overrides,
                                    const BrokerConfig& broker);
// Every topic config with its effective value and source.
std::vector<ConfigEntry> describe_topic_configs(const std::map<std::string, std::string>& overrides,
                                                const BrokerConfig& broker);
// The storage settings of a topic.
Result<storage::LogConfig> topic_log_config(const std::map<std::string, std::string>& overrides,
                                            const BrokerConfig& broker);

}  // namespace kafkacore::broker
