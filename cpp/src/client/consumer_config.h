#pragma once
// The consumer's settings, read from Kafka-named properties with Kafka's defaults.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "client/config.h"
#include "common/error.h"

namespace kafkacore::client {

enum class OffsetResetPolicy : uint8_t { earliest, latest, none };
enum class IsolationLevel : int8_t { read_uncommitted = 0, read_committed = 1 };

struct ConsumerConfig {
  ClientOptions client;
  std::optional<std::string> group_id;
  std::optional<std::string> group_instance_id;  // static membership (KIP-345)
  OffsetResetPolicy auto_offset_reset = OffsetResetPolicy::latest;
  bool enable_auto_commit = true;  // forced off without a group.id, as in Java
  std::chrono::milliseconds auto_commit_interval{5000};
  std::chrono::milliseconds session_timeout{45000};
  std::chrono::milliseconds heartbeat_interval{3000};
  std::chrono::milliseconds max_poll_interval{300000};  // also the JoinGroup rebalance timeout
  std::vector<std::string> assignment_strategies{"range", "cooperative-sticky"};
  int32_t fetch_min_bytes = 1;
  int32_t fetch_max_bytes = 52428800;
  int32_t fetch_max_wait_ms = 500;
  int32_t max_partition_fetch_bytes = 1048576;
  int32_t max_poll_records = 500;
  IsolationLevel isolation_level = IsolationLevel::read_uncommitted;
  bool check_crcs = true;
  std::optional<std::string> client_rack;
  std::chrono::milliseconds default_api_timeout{60000};  // bounds commits run by a rebalance
  bool exclude_internal_topics = true;                   // pattern subscriptions
};

// Keys: group.id, group.instance.id, auto.offset.reset, enable.auto.commit,
// auto.commit.interval.ms, session.timeout.ms, heartbeat.interval.ms, max.poll.interval.ms,
// partition.assignment.strategy, fetch.min.bytes, fetch.max.bytes, fetch.max.wait.ms,
// max.partition.fetch.bytes, max.poll.records, isolation.level, check.crcs,
// allow.auto.create.topics, client.rack, default.api.timeout.ms, exclude.internal.topics, plus
// the shared client keys (read_client_options). Unknown keys are an error.
Result<ConsumerConfig> parse_consumer_config(Properties properties);

}  // namespace kafkacore::client
