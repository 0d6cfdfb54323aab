#include "broker/config.h"

#include <charconv>
#include <set>

#include "raft/transport.h"

namespace kafkacore::broker {
namespace {

struct TopicKey {
  const char* name;
  const char* broker_synonym;  // nullptr: none
  const char* default_value;   // nullptr: from LogConfig defaults
};

// Topic configs and their broker-level synonyms (Kafka's names and defaults).
const std::vector<TopicKey>& topic_keys() {
  static const std::vector<TopicKey> keys = {
      {"cleanup.policy", "log.cleanup.policy", "delete"},
      {"compression.type", "compression.type", "producer"},
      {"delete.retention.ms", "log.cleaner.delete.retention.ms", "86400000"},
      {"file.delete.delay.ms", "log.segment.delete.delay.ms", "60000"},
      {"flush.messages", "log.flush.interval.messages", "9223372036854775807"},
      {"flush.ms", "log.flush.interval.ms", "9223372036854775807"},
      {"index.interval.bytes", "log.index.interval.bytes", "4096"},
      {"max.compaction.lag.ms", "log.cleaner.max.compaction.lag.ms", "9223372036854775807"},
      {"max.message.bytes", "message.max.bytes", "1048588"},
      {"message.timestamp.after.max.ms", "log.message.timestamp.after.max.ms", "9223372036854775807"},
      {"message.timestamp.before.max.ms", "log.message.timestamp.before.max.ms", "9223372036854775807"},
      {"message.timestamp.type", "log.message.timestamp.type", "CreateTime"},
      {"min.cleanable.dirty.ratio", "log.cleaner.min.cleanable.ratio", "0.5"},
      {"min.compaction.lag.ms", "log.cleaner.min.compaction.lag.ms", "0"},
      {"min.insync.replicas", "min.insync.replicas", "1"},
      {"preallocate", "log.preallocate", "false"},
      {"retention.bytes", "log.retention.bytes", "-1"},
      {"retention.ms", "log.retention.ms", "604800000"},
      {"segment.bytes", "log.segment.bytes", "1073741824"},
      {"segment.index.bytes", "log.index.size.max.bytes", "10485760"},
      {"segment.jitter.ms", "log.roll.jitter.ms", "0"},
      {"segment.ms", "log.roll.ms", "604800000"},
      {"unclean.leader.election.enable", "unclean.leader.election.enable", "false"},
  };
  return keys;
}

Result<int64_t> parse_long(const std::string& key, const std::string& value) {
  int64_t out = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), out);
  if (ec != std::errc{} || end != value.data() + value.size()) {
    return make_error(Errc::invalid_config, key + " must be an integer, got '" + value + "'");
  }
  return out;
}

Result<bool> parse_bool(const std::string& key, const std::string& value) {
  if (value == "true") return true;
  if (value == "false") return false;
  return make_error(Errc::invalid_config, key + " must be true or false, got '" + value + "'");
}

// Validates a topic-config value that LogConfig does not own.
Result<void> check_other_topic_value(const std::string& key, const std::string& value) {
  if (key == "compression.type") {
    static const char* ok[] = {"producer", "uncompressed", "gzip", "snappy", "lz4", "zstd"};
    for (const char* v : ok) {
      if (value == v) return {};
    }
    return make_error(Errc::invalid_config, "compression.type must be one of producer, "
                                            "uncompressed, gzip, snappy, lz4, zstd");
  }
  if (key == "preallocate" || key == "unclean.leader.election.enable") {
    auto b = parse_bool(key, value);
    if (!b) return std::unexpected(b.error());
    return {};
  }
  auto v = parse_long(key, value);
  if (!v) return std::unexpected(v.error());
  if (key == "min.insync.replicas" && *v < 1) {
    return make_error(Errc::invalid_config, "min.insync.replicas must be at least 1");
  }
  if (*v < 0) return make_error(Errc::invalid_config, key + " must not be negative");
  return {};
}

bool owned_by_log_config(const std::string& key) {
  static const storage::LogConfig probe;
  return probe.to_properties().contains(key);
}

// The broker-level value of a topic config: an explicit broker property, else Kafka's default.
std::pair<std::string, ConfigSource> broker_level(const TopicKey& k, const BrokerConfig& broker) {
  if (k.broker_synonym) {
    auto it = broker.explicit_properties.find(k.broker_synonym);
    if (it != broker.explicit_properties.end()) return {it->second, ConfigSource::static_broker};
  }
  return {k.default_value, ConfigSource::default_config};
}

}  // namespace

const std::vector<std::string>& topic_config_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const auto& k : topic_keys()) out.emplace_back(k.name);
    return out;
  }();
  return names;
}

// The consumer-group keys: nullopt if `key` is not one, else whether its value was good.
std::optional<Result<void>> parse_group_key(const std::string& key, const std::string& value,
                                            BrokerConfig& c) {
  struct Int32Key {
    const char* name;
    int32_t group::GroupConfig::*field;
    int64_t min;
  };
  static const Int32Key int_keys[] = {
      {"group.min.session.timeout.ms", &group::GroupConfig::min_session_timeout_ms, 0},
      {"group.max.session.timeout.ms", &group::GroupConfig::max_session_timeout_ms, 0},
      {"group.initial.rebalance.delay.ms", &group::GroupConfig::initial_rebalance_delay_ms, 0},
      {"group.max.size", &group::GroupConfig::max_size, 1},
      {"offsets.topic.num.partitions", &group::GroupConfig::offsets_partitions, 1},
      {"offset.metadata.max.bytes", &group::GroupConfig::metadata_max_bytes, 0},
  };
  for (const auto& k : int_keys) {
    if (key != k.name) continue;
    auto v = parse_long(key, value);
    if (!v) return Result<void>(std::unexpected(v.error()));
    if (*v < k.min || *v > 2147483647) {
      return Result<void>(make_error(Errc::invalid_config, key + " is out of range"));
    }
    c.groups.*k.field = static_cast<int32_t>(*v);
    return Result<void>{};
  }
  if (key == "offsets.retention.minutes" || key == "offsets.retention.check.interval.ms" ||
      key == "offsets.topic.segment.bytes") {
    auto v = parse_long(key, value);
    if (!v) return Result<void>(std::unexpected(v.error()));
    if (*v < 1) return Result<void>(make_error(Errc::invalid_config, key + " must be positive"));
    if (key == "offsets.retention.minutes") c.groups.offsets_retention_ms = *v * 60000;
    if (key == "offsets.retention.check.interval.ms") c.groups.retention_check_interval_ms = *v;
    if (key == "offsets.topic.segment.bytes") c.offsets_segment_bytes = *v;
    return Result<void>{};
  }
  if (key == "offsets.topic.replication.factor" || key == "offsets.load.buffer.size" ||
      key == "offsets.commit.timeout.ms" || key == "offsets.commit.required.acks") {
    // Replication settings of the offsets topic: accepted; the replicated-cluster work uses them.
    auto v = parse_long(key, value);
    if (!v) return Result<void>(std::unexpected(v.error()));
    return Result<void>{};
  }
  return std::nullopt;
}

// A key of ClusterConfig: nullopt if not one, else whether its value was good.
static std::optional<Result<void>> parse_cluster_key(const std::string& key, const std::string& value,
                                              ClusterConfig& c) {
  auto number = [&](int64_t min, auto& out) -> Result<void> {
    auto v = parse_long(key, value);
    if (!v) return std::unexpected(v.error());
    if (*v < min) return make_error(Errc::invalid_config, key + " must be >= " + std::to_string(min));
    out = static_cast<std::remove_reference_t<decltype(out)>>(*v);
    return {};
  };
  if (key == "controller.quorum.voters") {
    c.quorum_voters = value;
    return Result<void>{};
  }
  if (key == "process.roles") {
    std::set<std::string> roles;
    size_t at = 0;
    while (at <= value.size()) {
      size_t end = value.find(',', at);
      if (end == std::string::npos) end = value.size();
      std::string role = value.substr(at, end - at);
      at = end + 1;
      while (!role.empty() && role.front() == ' ') role.erase(role.begin());
      while (!role.empty() && role.back() == ' ') role.pop_back();
      if (role != "broker" && role != "controller") {
        return make_error(Errc::invalid_config, "process.roles: unknown role '" + role +
                                                    "' (use broker, controller or broker,controller)");
      }
      roles.insert(role);
    }
    c.roles = roles.size() == 2         ? ProcessRoles::combined
              : roles.contains("broker") ? ProcessRoles::broker
                                         : ProcessRoles::controller;
    return Result<void>{};
  }
  if (key == "controller.listener.names") return Result<void>{};
  if (key == "controller.quorum.election.timeout.ms") return number(10, c.election_timeout_ms);
  if (key == "broker.session.timeout.ms") return number(10, c.broker_session_timeout_ms);
  if (key == "broker.heartbeat.interval.ms") return number(1, c.broker_heartbeat_interval_ms);
  if (key == "kafkacore.lost.connection.grace.ms") return number(0, c.lost_connection_grace_ms);
  if (key == "replica.lag.time.max.ms") return number(1, c.replica_lag_time_max_ms);
  if (key == "replica.fetch.wait.max.ms") return number(0, c.replica_fetch_wait_max_ms);
  if (key == "replica.fetch.backoff.ms") return number(0, c.replica_fetch_backoff_ms);
  if (key == "replica.fetch.max.bytes") return number(1, c.replica_fetch_max_bytes);
  if (key == "offsets.topic.replication.factor") return number(1, c.offsets_topic_replication_factor);
  if (key == "kafkacore.startup.timeout.ms") return number(1, c.startup_timeout_ms);
  if (key == "auto.leader.rebalance.enable") {
    auto v = parse_bool(key, value);
    if (!v) return Result<void>(std::unexpected(v.error()));
    c.auto_leader_rebalance = *v;
    return Result<void>{};
  }
  if (key == "leader.imbalance.check.interval.seconds") {
    return number(1, c.leader_imbalance_check_interval_s);
  }
  if (key == "leader.imbalance.per.broker.percentage") {
    if (auto r = number(0, c.leader_imbalance_per_broker_percentage); !r) return r;
    if (c.leader_imbalance_per_broker_percentage > 100) {
      return make_error(Errc::invalid_config, key + " must be <= 100");
    }
    return Result<void>{};
  }
  return std::nullopt;
}

// What process.roles allows, checked once every key is read (they come in any order).
static Result<void> check_roles(const BrokerConfig& c, bool kafka_listener, bool controller_listener) {
  const std::string id = std::to_string(c.node_id);
  const std::string roles = std::string("process.roles=") + process_roles_name(c.cluster.roles);
  bool voter = false;
  if (!c.cluster.quorum_voters.empty()) {
    auto voters = raft::parse_voters(c.cluster.quorum_voters);
    if (!voters) return std::unexpected(voters.error());
    voter = voters->contains(c.node_id);
  }
  switch (c.cluster.roles) {
    case ProcessRoles::broker:
      if (c.cluster.quorum_voters.empty()) {
        return make_error(Errc::invalid_config, roles + " needs controller.quorum.voters: a broker-only "
                                                        "node follows the controllers' metadata log");
      }
      if (voter) {
        return make_error(Errc::invalid_config,
                          "node.id " + id + " is listed in controller.quorum.voters, but " + roles +
                              ": only controllers vote (list the controller nodes only, or use "
                              "process.roles=broker,controller)");
      }
      if (controller_listener) {
        return make_error(Errc::invalid_config, roles + ": listeners must not name CONTROLLER (a "
                                                        "broker-only node has no controller listener)");
      }
      return {};
    case ProcessRoles::controller:
      if (kafka_listener) {
        return make_error(Errc::invalid_config,
                          roles + ": listeners may only name CONTROLLER, and port is not allowed (a "
                                  "controller-only node serves no Kafka clients)");
      }
      [[fallthrough]];
    case ProcessRoles::combined:
      if (!c.cluster.quorum_voters.empty() && !voter) {
        return make_error(Errc::invalid_config, "node.id " + id +
                                                    " is not listed in controller.quorum.voters, but " +
                                                    roles + " makes it a controller (a voter)");
      }
      return {};
  }
  return {};
}

const char* process_roles_name(ProcessRoles roles) {
  switch (roles) {
    case ProcessRoles::combined: return "broker,controller";
    case ProcessRoles::broker: return "broker";
    case ProcessRoles::controller: return "controller";
  }
  return "?";
}

Result<BrokerConfig> BrokerConfig::from_properties(const std::map<std::string, std::string>& props) {
  BrokerConfig c;
  c.explicit_properties = props;
  bool kafka_listener = false;       // a listener or port for Kafka clients was given
  bool controller_listener = false;  // a CONTROLLER listener was given
  std::map<std::string, std::string> log_overrides;
  for (const auto& [key, value] : props) {
    auto as_long = [&]() { return parse_long(key, value); };
    if (key == "node.id" || key == "broker.id") {
      auto v = as_long();
      if (!v) return std::unexpected(v.error());
      c.node_id = static_cast<int32_t>(*v);
    } else if (key == "host" || key == "listen.host") {
      c.listen_host = value;
    } else if (key == "port") {
      auto v = as_long();
      if (!v || *v < 0 || *v > 65535) return make_error(Errc::invalid_config, "port must be 0..65535");
      c.port = static_cast<uint16_t>(*v);
      kafka_listener = true;
    } else if (key == "listeners") {
      // NAME://host:port,...: CONTROLLER is the quorum's listener, the other one serves Kafka.
      size_t at = 0;
      while (at <= value.size()) {
        size_t end = value.find(',', at);
        if (end == std::string::npos) end = value.size();
        const std::string entry = value.substr(at, end - at);
        at = end + 1;
        if (entry.empty()) continue;
        auto scheme = entry.find("://");
        auto colon = entry.rfind(':');
        if (scheme == std::string::npos || colon == std::string::npos || colon < scheme + 3) {
          return make_error(Errc::invalid_config, "listeners must look like PLAINTEXT://host:port");
        }
        std::string host = entry.substr(scheme + 3, colon - scheme - 3);
        auto v = parse_long(key, entry.substr(colon + 1));
        if (!v || *v < 0 || *v > 65535) return make_error(Errc::invalid_config, "bad port in listeners");
        if (entry.substr(0, scheme) == "CONTROLLER") {
          c.cluster.controller_host = host.empty() ? "0.0.0.0" : host;
          c.cluster.controller_port = static_cast<uint16_t>(*v);
          controller_listener = true;
        } else {
          kafka_listener = true;
          c.listen_host = host.empty() ? "0.0.0.0" : host;
          c.port = static_cast<uint16_t>(*v);
        }
      }
    } else if (key == "advertised.host" || key == "advertised.host.name") {
      c.advertised_host = value;
    } else if (key == "advertised.listeners") {
      auto scheme = value.find("://");
      auto colon = value.rfind(':');
      if (scheme != std::string::npos && colon != std::string::npos && colon > scheme + 3) {
        c.advertised_host = value.substr(scheme + 3, colon - scheme - 3);
      }
    } else if (key == "log.dirs" || key == "log.dir" || key == "data.dir") {
      std::string first = value.substr(0, value.find(','));
      c.data_dir = first;
    } else if (key == "broker.rack") {
      c.rack = value;
    } else if (key == "num.partitions") {
      auto v = as_long();
      if (!v || *v < 1) return make_error(Errc::invalid_config, "num.partitions must be >= 1");
      c.num_partitions = static_cast<int32_t>(*v);
    } else if (key == "auto.create.topics.enable") {
      auto v = parse_bool(key, value);
      if (!v) return std::unexpected(v.error());
      c.auto_create_topics = *v;
    } else if (key == "default.replication.factor") {
      auto v = as_long();
      if (!v || *v < 1) return make_error(Errc::invalid_config, "default.replication.factor must be >= 1");
      c.default_replication_factor = static_cast<int16_t>(*v);
    } else if (key == "fetch.max.bytes") {
      auto v = as_long();
      if (!v || *v < 1024) return make_error(Errc::invalid_config, "fetch.max.bytes must be >= 1024");
      c.fetch_max_bytes = *v;
    } else if (key == "max.incremental.fetch.session.cache.slots") {
      auto v = as_long();
      if (!v || *v < 0) return make_error(Errc::invalid_config, "bad " + key);
      c.fetch_session_cache_slots = static_cast<int32_t>(*v);
    } else if (key == "socket.request.max.bytes") {
      auto v = as_long();
      if (!v || *v < 64) return make_error(Errc::invalid_config, "socket.request.max.bytes too small");
      c.limits.max_request_bytes = *v;
    } else if (key == "connections.max.idle.ms") {
      auto v = as_long();
      if (!v || *v < 1) return make_error(Errc::invalid_config, "bad connections.max.idle.ms");
      c.limits.idle_timeout_ms = *v;
    } else if (key == "log.retention.check.interval.ms" || key == "kafkacore.tick.ms") {
      auto v = as_long();
      if (!v || *v < 1) return make_error(Errc::invalid_config, "bad " + key);
      c.tick_ms = *v;
    } else if (key == "kafkacore.unsafe.bypass.fsync") {
      auto v = parse_bool(key, value);
      if (!v) return std::unexpected(v.error());
      c.bypass_fsync = *v;
    } else if (auto cluster_key = parse_cluster_key(key, value, c.cluster)) {
      if (!*cluster_key) return std::unexpected(cluster_key->error());
    } else if (auto handled = parse_group_key(key, value, c)) {
      if (!*handled) return std::unexpected(handled->error());
    } else if (key == "log.retention.hours" || key == "log.retention.minutes" ||
               key == "log.roll.hours") {
      auto v = as_long();
      if (!v) return std::unexpected(v.error());
      const int64_t unit = key.ends_with("hours") ? 3600000 : 60000;
      log_overrides[key.starts_with("log.roll") ? "segment.ms" : "retention.ms"] =
          std::to_string(*v < 0 ? -1 : *v * unit);
    } else {
      bool matched = false;
      for (const auto& k : topic_keys()) {
        if (k.broker_synonym && key == k.broker_synonym) {
          if (owned_by_log_config(k.name)) {
            log_overrides[k.name] = value;
          } else if (auto r = check_other_topic_value(k.name, value); !r) {
            return std::unexpected(r.error());
          }
          matched = true;
        }
      }
      // Other Kafka broker keys (transaction.*, ...) are accepted for later issues.
      (void)matched;
    }
  }
  if (auto r = check_roles(c, kafka_listener, controller_listener); !r) return std::unexpected(r.error());
  // Explicit ms settings win over hours/minutes, as in Kafka.
  for (const char* precise : {"log.retention.ms", "log.roll.ms"}) {
    if (auto it = props.find(precise); it != props.end()) {
      log_overrides[std::string(precise) == "log.roll.ms" ? "segment.ms" : "retention.ms"] = it->second;
    }
  }
  auto log = storage::LogConfig::from_properties(log_overrides, {});
  if (!log) return make_error(Errc::invalid_config, log.error().message());
  c.log_defaults = *log;
  return c;
}

std::string BrokerConfig::advertised() const {
  if (!advertised_host.empty()) return advertised_host;
  if (listen_host == "0.0.0.0" || listen_host == "::" || listen_host.empty()) return "127.0.0.1";
  return listen_host;
}

std::vector<ConfigEntry> BrokerConfig::describe() const {
  std::vector<ConfigEntry> out;
  auto add = [&](const std::string& name, const std::string& value, bool read_only = true) {
    ConfigEntry e;
    e.name = name;
    e.value = value;
    e.read_only = read_only;
    e.source = explicit_properties.contains(name) ? ConfigSource::static_broker
                                                  : ConfigSource::default_config;
    out.push_back(std::move(e));
  };
  add("node.id", std::to_string(node_id));
  add("process.roles", process_roles_name(cluster.roles));
  add("broker.id", std::to_string(node_id));
  add("listeners", "PLAINTEXT://" + listen_host + ":" + std::to_string(port));
  add("advertised.listeners", "PLAINTEXT://" + advertised() + ":" + std::to_string(port));
  add("log.dirs", data_dir.string());
  add("num.partitions", std::to_string(num_partitions));
  add("auto.create.topics.enable", auto_create_topics ? "true" : "false");
  add("default.replication.factor", std::to_string(default_replication_factor));
  add("fetch.max.bytes", std::to_string(fetch_max_bytes));
  add("socket.request.max.bytes", std::to_string(limits.max_request_bytes));
  add("connections.max.idle.ms", std::to_string(limits.idle_timeout_ms));
  add("max.incremental.fetch.session.cache.slots", std::to_string(fetch_session_cache_slots));
  add("group.min.session.timeout.ms", std::to_string(groups.min_session_timeout_ms));
  add("group.max.session.timeout.ms", std::to_string(groups.max_session_timeout_ms));
  add("group.initial.rebalance.delay.ms", std::to_string(groups.initial_rebalance_delay_ms));
  add("group.max.size", std::to_string(groups.max_size));
  add("offsets.topic.num.partitions", std::to_string(groups.offsets_partitions));
  add("offsets.topic.segment.bytes", std::to_string(offsets_segment_bytes));
  add("offsets.retention.minutes", std::to_string(groups.offsets_retention_ms / 60000));
  add("offsets.retention.check.interval.ms", std::to_string(groups.retention_check_interval_ms));
  add("offset.metadata.max.bytes", std::to_string(groups.metadata_max_bytes));
  add("auto.leader.rebalance.enable", cluster.auto_leader_rebalance ? "true" : "false");
  add("leader.imbalance.check.interval.seconds",
      std::to_string(cluster.leader_imbalance_check_interval_s));
  add("leader.imbalance.per.broker.percentage",
      std::to_string(cluster.leader_imbalance_per_broker_percentage));
  for (const auto& k : topic_keys()) {
    if (!k.broker_synonym) continue;
    auto [value, source] = broker_level(k, *this);
    ConfigEntry e;
    e.name = k.broker_synonym;
    e.value = value;
    e.source = source;
    e.read_only = true;
    if (std::none_of(out.begin(), out.end(), [&](const ConfigEntry& x) { return x.name == e.name; })) {
      out.push_back(std::move(e));
    }
  }
  return out;
}

Result<void> validate_topic_configs(const std::map<std::string, std::string>& overrides,
                                    const BrokerConfig& broker) {
  storage::LogConfig probe = broker.log_defaults;
  for (const auto& [key, value] : overrides) {
    const auto& names = topic_config_names();
    if (std::find(names.begin(), names.end(), key) == names.end()) {
      return make_error(Errc::invalid_config, "unknown topic config " + key);
    }
    if (owned_by_log_config(key)) {
      if (auto r = probe.set(key, value); !r) return make_error(Errc::invalid_config, r.error().message());
    } else if (auto r = check_other_topic_value(key, value); !r) {
      return r;
    }
  }
  return {};
}

std::vector<ConfigEntry> describe_topic_configs(const std::map<std::string, std::string>& overrides,
                                                const BrokerConfig& broker) {
  std::vector<ConfigEntry> out;
  for (const auto& k : topic_keys()) {
    ConfigEntry e;
    e.name = k.name;
    auto [broker_value, broker_source] = broker_level(k, broker);
    auto it = overrides.find(k.name);
    if (it != overrides.end()) {
      e.value = it->second;
      e.source = ConfigSource::dynamic_topic;
      e.synonyms.emplace_back(k.name, it->second, ConfigSource::dynamic_topic);
    } else {
      e.value = broker_value;
      e.source = broker_source;
    }
    if (k.broker_synonym) e.synonyms.emplace_back(k.broker_synonym, broker_value, broker_source);
    out.push_back(std::move(e));
  }
  return out;
}

Result<storage::LogConfig> topic_log_config(const std::map<std::string, std::string>& overrides,
                                            const BrokerConfig& broker) {
  std::map<std::string, std::string> owned;
  for (const auto& [key, value] : overrides) {
    if (owned_by_log_config(key)) owned[key] = value;
  }
  return storage::LogConfig::from_properties(owned, broker.log_defaults);
}

}  // namespace kafkacore::broker
