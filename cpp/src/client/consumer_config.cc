#include "client/consumer_config.h"

#include "client/assignors.h"

namespace kafkacore::client {

Result<ConsumerConfig> parse_consumer_config(Properties properties) {
  ConfigReader config(std::move(properties));
  ConsumerConfig c;
  c.client = read_client_options(config, "pykafkacore-consumer");
  c.client.allow_auto_create_topics = config.get_bool("allow.auto.create.topics", true);
  c.group_id = config.get_optional("group.id");
  if (c.group_id && c.group_id->empty()) c.group_id.reset();
  c.group_instance_id = config.get_optional("group.instance.id");
  if (c.group_instance_id && c.group_instance_id->empty()) {
    config.fail("group.instance.id", "must not be empty");
  }
  std::string reset =
      config.get_choice("auto.offset.reset", "latest", {"earliest", "latest", "none"});
  c.auto_offset_reset = reset == "earliest" ? OffsetResetPolicy::earliest
                        : reset == "latest" ? OffsetResetPolicy::latest
                                            : OffsetResetPolicy::none;
  const bool auto_commit_set = config.get_optional("enable.auto.commit").has_value();
  c.enable_auto_commit = config.get_bool("enable.auto.commit", true);
  if (!c.group_id) {
    // Java: the default turns off without a group; asking for it explicitly is an error.
    if (auto_commit_set && c.enable_auto_commit) {
      config.fail("enable.auto.commit", "needs a group.id");
    }
    c.enable_auto_commit = false;
    if (c.group_instance_id) config.fail("group.instance.id", "needs a group.id");
  }
  c.auto_commit_interval = config.get_ms("auto.commit.interval.ms", 5000, 1);
  c.session_timeout = config.get_ms("session.timeout.ms", 45000, 1);
  c.heartbeat_interval = config.get_ms("heartbeat.interval.ms", 3000, 1);
  c.max_poll_interval = config.get_ms("max.poll.interval.ms", 300000, 1);
  if (c.heartbeat_interval >= c.session_timeout) {
    config.fail("heartbeat.interval.ms", "must be lower than session.timeout.ms");
  }
  c.assignment_strategies =
      config.get_list("partition.assignment.strategy", {"range", "cooperative-sticky"});
  if (c.assignment_strategies.empty()) {
    config.fail("partition.assignment.strategy", "needs at least one assignor");
  }
  for (const std::string& name : c.assignment_strategies) {
    if (!make_assignor(name)) {
      config.fail("partition.assignment.strategy", "unknown assignor '" + name + "'");
    }
  }
  c.fetch_min_bytes = static_cast<int32_t>(config.get_int("fetch.min.bytes", 1, 0, INT32_MAX));
  c.fetch_max_bytes =
      static_cast<int32_t>(config.get_int("fetch.max.bytes", 52428800, 0, INT32_MAX));
  c.fetch_max_wait_ms =
      static_cast<int32_t>(config.get_int("fetch.max.wait.ms", 500, 0, INT32_MAX));
  c.max_partition_fetch_bytes =
      static_cast<int32_t>(config.get_int("max.partition.fetch.bytes", 1048576, 0, INT32_MAX));
  c.max_poll_records = static_cast<int32_t>(config.get_int("max.poll.records", 500, 1, INT32_MAX));
  c.isolation_level = config.get_choice("isolation.level", "read_uncommitted",
                                        {"read_uncommitted", "read_committed"}) == "read_committed"
                          ? IsolationLevel::read_committed
                          : IsolationLevel::read_uncommitted;
  c.check_crcs = config.get_bool("check.crcs", true);
  c.client_rack = config.get_optional("client.rack");
  if (c.client_rack && c.client_rack->empty()) c.client_rack.reset();
  c.default_api_timeout = config.get_ms("default.api.timeout.ms", 60000, 1);
  c.exclude_internal_topics = config.get_bool("exclude.internal.topics", true);
  if (auto ok = config.finish(); !ok) return std::unexpected(ok.error());
  return c;
}

}  // namespace kafkacore::client
