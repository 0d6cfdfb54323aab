// DescribeConfigs (32), AlterConfigs (33), IncrementalAlterConfigs (44) for topics (and
// DescribeConfigs for the broker). Topic overrides persist in the metadata store.
#include <algorithm>
#include <sstream>

#include "broker/broker.h"
#include "broker/handlers/handlers.h"
#include "broker/handlers/util.h"
#include "protocol/messages.h"

namespace kafkacore::broker {
namespace {

using protocol::AlterConfigsRequest;
using protocol::AlterConfigsResponse;
using protocol::DescribeConfigsRequest;
using protocol::DescribeConfigsResponse;
using protocol::IncrementalAlterConfigsRequest;
using protocol::IncrementalAlterConfigsResponse;

constexpr int8_t kTopicResource = 2;
constexpr int8_t kBrokerResource = 4;

// DescribeConfigs ConfigType values.
int8_t config_type(const std::string& name) {
  if (name == "cleanup.policy") return 7;                      // LIST
  if (name == "compression.type" || name == "message.timestamp.type" || name == "log.dirs" ||
      name.find("listeners") != std::string::npos || name == "log.cleanup.policy" ||
      name == "log.message.timestamp.type") {
    return 2;                                                  // STRING
  }
  if (name == "min.cleanable.dirty.ratio" || name == "log.cleaner.min.cleanable.ratio") return 6;
  if (name == "preallocate" || name.find("enable") != std::string::npos) return 1;  // BOOLEAN
  if (name == "segment.bytes" || name == "max.message.bytes" || name == "index.interval.bytes" ||
      name == "segment.index.bytes" || name == "min.insync.replicas" ||
      name == "num.partitions" || name == "node.id" || name == "broker.id" ||
      name == "message.max.bytes" || name == "log.segment.bytes") {
    return 3;                                                  // INT
  }
  return 5;                                                    // LONG
}

std::vector<std::string> split_list(const std::string& v) {
  std::vector<std::string> out;
  std::stringstream ss(v);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

std::string join_list(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ",") + i;
  return out;
}

void describe_configs(Broker& broker, DescribeConfigsRequest req, server::Request request) {
  const int16_t version = request.header.api_version;
  DescribeConfigsResponse response;
  for (const auto& res : req.resources) {
    auto& out = response.results.emplace_back();
    out.resource_type = res.resource_type;
    out.resource_name = res.resource_name;
    std::vector<ConfigEntry> entries;
    if (res.resource_type == kTopicResource) {
      if (!broker.image().topic(res.resource_name)) {
        out.error_code = error_code(Errc::unknown_topic_or_partition);
        out.error_message = "topic '" + res.resource_name + "' does not exist";
        continue;
      }
      entries = describe_topic_configs(broker.topic_configs(res.resource_name), broker.config());
    } else if (res.resource_type == kBrokerResource) {
      if (!res.resource_name.empty() && res.resource_name != std::to_string(broker.node_id())) {
        out.error_code = error_code(Errc::invalid_request);
        out.error_message = "no broker " + res.resource_name;
        continue;
      }
      entries = broker.config().describe();
    } else {
      out.error_code = error_code(Errc::invalid_request);
      out.error_message = "unsupported resource type " + std::to_string(res.resource_type);
      continue;
    }
    for (const auto& e : entries) {
      if (res.configuration_keys &&
          std::find(res.configuration_keys->begin(), res.configuration_keys->end(), e.name) ==
              res.configuration_keys->end()) {
        continue;
      }
      auto& c = out.configs.emplace_back();
      c.name = e.name;
      c.value = e.value;
      c.read_only = e.read_only;
      if (version == 0) c.is_default = e.source == ConfigSource::default_config;  // v0 only
      c.config_source = static_cast<int8_t>(e.source);
      c.is_sensitive = e.sensitive;
      c.config_type = config_type(e.name);
      if (version >= 1 && req.include_synonyms) {
        for (const auto& [name, value, source] : e.synonyms) {
          auto& s = c.synonyms.emplace_back();
          s.name = name;
          s.value = value;
          s.source = static_cast<int8_t>(source);
        }
      }
    }
  }
  request.respond(response);
}

template <typename Out>
void fail(Out& out, Errc code, std::string message) {
  out.error_code = error_code(code);
  out.error_message = std::move(message);
}

void alter_configs(Broker& broker, AlterConfigsRequest req, server::Request request) {
  auto gather = std::make_shared<Gather<AlterConfigsResponse>>();
  gather->request = std::move(request);
  AlterConfigsResponse& response = gather->response;
  response.responses.reserve(req.resources.size());
  for (const auto& res : req.resources) {
    auto& out = response.responses.emplace_back();
    out.resource_type = res.resource_type;
    out.resource_name = res.resource_name;
    if (res.resource_type != kTopicResource) {
      fail(out, Errc::invalid_request, "only topic configs can be altered");
      continue;
    }
    // Legacy semantics: the given set replaces every override of the topic.
    std::map<std::string, std::string> configs;
    bool bad = false;
    for (const auto& c : res.configs) {
      if (!c.value) {
        bad = true;
        break;
      }
      configs[c.name] = *c.value;
    }
    if (bad) {
      fail(out, Errc::invalid_config, "config values may not be null");
      continue;
    }
    const size_t slot = response.responses.size() - 1;
    ++gather->outstanding;
    broker.set_topic_configs(res.resource_name, configs, req.validate_only, [gather, slot](Result<void> r) {
      if (!r) fail(gather->response.responses[slot], r.error().code(), r.error().message());
      gather->done();
    });
  }
  gather->done();
}

void incremental_alter_configs(Broker& broker, IncrementalAlterConfigsRequest req,
                               server::Request request) {
  auto gather = std::make_shared<Gather<IncrementalAlterConfigsResponse>>();
  gather->request = std::move(request);
  IncrementalAlterConfigsResponse& response = gather->response;
  response.responses.reserve(req.resources.size());
  for (const auto& res : req.resources) {
    auto& out = response.responses.emplace_back();
    out.resource_type = res.resource_type;
    out.resource_name = res.resource_name;
    if (res.resource_type != kTopicResource) {
      fail(out, Errc::invalid_request, "only topic configs can be altered");
      continue;
    }
    if (!broker.image().topic(res.resource_name)) {
      fail(out, Errc::unknown_topic_or_partition, "topic '" + res.resource_name + "' does not exist");
      continue;
    }
    std::map<std::string, std::string> configs = broker.topic_configs(res.resource_name);
    std::optional<std::string> problem;
    for (const auto& c : res.configs) {
      switch (c.config_operation) {
        case 0:  // SET
          if (!c.value) problem = "SET of " + c.name + " needs a value";
          else configs[c.name] = *c.value;
          break;
        case 1:  // DELETE: back to the default
          configs.erase(c.name);
          break;
        case 2:    // APPEND
        case 3: {  // SUBTRACT
          if (config_type(c.name) != 7) {
            problem = "APPEND/SUBTRACT only apply to list configs, not " + c.name;
            break;
          }
          if (!c.value) {
            problem = "APPEND/SUBTRACT of " + c.name + " needs a value";
            break;
          }
          std::string current = configs.contains(c.name) ? configs[c.name] : "delete";
          auto items = split_list(current);
          for (const auto& v : split_list(*c.value)) {
            auto it = std::find(items.begin(), items.end(), v);
            if (c.config_operation == 2 && it == items.end()) items.push_back(v);
            if (c.config_operation == 3 && it != items.end()) items.erase(it);
          }
          configs[c.name] = join_list(items);
          break;
        }
        default:
          problem = "unknown config operation " + std::to_string(c.config_operation);
      }
      if (problem) break;
    }
    if (problem) {
      fail(out, Errc::invalid_config, *problem);
      continue;
    }
    const size_t slot = response.responses.size() - 1;
    ++gather->outstanding;
    broker.set_topic_configs(res.resource_name, configs, req.validate_only, [gather, slot](Result<void> r) {
      if (!r) fail(gather->response.responses[slot], r.error().code(), r.error().message());
      gather->done();
    });
  }
  gather->done();
}

}  // namespace

void register_configs(server::HandlerRegistry& registry, Broker& broker) {
  add_handler<DescribeConfigsRequest>(registry, broker, 0, 4, describe_configs);
  add_handler<AlterConfigsRequest>(registry, broker, 0, 2, alter_configs);
  add_handler<IncrementalAlterConfigsRequest>(registry, broker, 0, 1, incremental_alter_configs);
}

}  // namespace kafkacore::broker
