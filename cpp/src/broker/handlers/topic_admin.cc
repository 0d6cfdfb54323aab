// CreateTopics (19), DeleteTopics (20), CreatePartitions (37).
#include <set>

#include "broker/broker.h"
#include "broker/offsets_topic.h"
#include "broker/handlers/handlers.h"
#include "broker/handlers/util.h"
#include "protocol/messages.h"

namespace kafkacore::broker {
namespace {

using protocol::CreatePartitionsRequest;
using protocol::CreatePartitionsResponse;
using protocol::CreateTopicsRequest;
using protocol::CreateTopicsResponse;
using protocol::DeleteTopicsRequest;
using protocol::DeleteTopicsResponse;

void create_topics(Broker& broker, CreateTopicsRequest req, server::Request request) {
  const int16_t version = request.header.api_version;
  CreateTopicsResponse response;
  std::map<std::string, int> seen;
  for (const auto& t : req.topics) ++seen[t.name];
  for (const auto& t : req.topics) {
    auto& out = response.topics.emplace_back();
    out.name = t.name;
    auto fail = [&](Errc code, std::string message) {
      out.error_code = error_code(code);
      out.error_message = std::move(message);
    };
    if (seen[t.name] > 1) {
      fail(Errc::invalid_request, "topic '" + t.name + "' appears more than once in the request");
      continue;
    }
    int32_t partitions = t.num_partitions;
    int16_t replication = t.replication_factor;
    if (!t.assignments.empty()) {
      if (partitions != -1 || replication != -1) {
        fail(Errc::invalid_request,
             "with a replica assignment, numPartitions and replicationFactor must be -1");
        continue;
      }
      bool ok = true;
      for (const auto& a : t.assignments) {
        if (a.broker_ids.size() != 1 || a.broker_ids[0] != broker.node_id()) ok = false;
      }
      if (!ok) {
        fail(Errc::invalid_replica_assignment,
             "replicas may only be assigned to broker " + std::to_string(broker.node_id()));
        continue;
      }
      partitions = static_cast<int32_t>(t.assignments.size());
      replication = 1;
    }
    std::map<std::string, std::string> configs;
    bool null_config = false;
    for (const auto& c : t.configs) {
      if (!c.value) {
        null_config = true;
        break;
      }
      configs[c.name] = *c.value;
    }
    if (null_config) {
      fail(Errc::invalid_config, "topic config values may not be null");
      continue;
    }
    auto created = broker.create_topic(t.name, partitions, replication, configs, req.validate_only);
    if (!created) {
      fail(created.error().code(), created.error().message());
      continue;
    }
    out.error_message.reset();
    const auto* info = *created;
    out.num_partitions = info ? info->partitions : (partitions == -1 ? broker.config().num_partitions : partitions);
    out.replication_factor = 1;
    if (info) out.topic_id = to_wire(info->id);
    if (version >= 5) {
      std::vector<CreateTopicsResponse::CreatableTopicConfigs> described;
      for (const auto& e : describe_topic_configs(configs, broker.config())) {
        CreateTopicsResponse::CreatableTopicConfigs c;
        c.name = e.name;
        c.value = e.value;
        c.read_only = e.read_only;
        c.config_source = static_cast<int8_t>(e.source);
        c.is_sensitive = e.sensitive;
        described.push_back(std::move(c));
      }
      out.configs = std::move(described);
    }
  }
  request.respond(response);
}

void delete_topics(Broker& broker, DeleteTopicsRequest req, server::Request request) {
  const int16_t version = request.header.api_version;
  DeleteTopicsResponse response;
  auto delete_one = [&](std::optional<std::string> name, protocol::Uuid id) {
    auto& out = response.responses.emplace_back();
    out.name = name;
    out.topic_id = id;
    const metadata::TopicInfo* topic = nullptr;
    if (name) {
      topic = broker.metadata().topic(*name);
    } else if (!id.is_zero()) {
      topic = broker.metadata().topic_by_id(from_wire(id));
    }
    if (!topic) {
      out.error_code = error_code(name ? Errc::unknown_topic_or_partition : Errc::unknown_topic_id);
      out.error_message = "topic does not exist";
      return;
    }
    out.name = topic->name;
    out.topic_id = to_wire(topic->id);
    const std::string topic_name = topic->name;
    if (topic_name == kOffsetsTopic) {
      out.error_code = error_code(Errc::invalid_topic_exception);
      out.error_message = "the internal topic " + topic_name + " cannot be deleted";
      return;
    }
    if (auto r = broker.delete_topic(topic_name); !r) {
      out.error_code = error_code(r.error());
      out.error_message = r.error().message();
    }
  };
  if (version >= 6) {
    for (const auto& t : req.topics) delete_one(t.name, t.topic_id);
  } else {
    for (const auto& name : req.topic_names) delete_one(name, {});
  }
  request.respond(response);
}

void create_partitions(Broker& broker, CreatePartitionsRequest req, server::Request request) {
  CreatePartitionsResponse response;
  for (const auto& t : req.topics) {
    auto& out = response.results.emplace_back();
    out.name = t.name;
    if (t.assignments) {
      bool ok = true;
      for (const auto& a : *t.assignments) {
        if (a.broker_ids.size() != 1 || a.broker_ids[0] != broker.node_id()) ok = false;
      }
      if (!ok) {
        out.error_code = error_code(Errc::invalid_replica_assignment);
        out.error_message = "replicas may only be assigned to broker " + std::to_string(broker.node_id());
        continue;
      }
    }
    if (auto r = broker.create_partitions(t.name, t.count, req.validate_only); !r) {
      out.error_code = error_code(r.error());
      out.error_message = r.error().message();
    }
  }
  request.respond(response);
}

}  // namespace

void register_topic_admin(server::HandlerRegistry& registry, Broker& broker) {
  add_handler<CreateTopicsRequest>(registry, broker, 0, 7, create_topics);
  add_handler<DeleteTopicsRequest>(registry, broker, 0, 6, delete_topics);
  add_handler<CreatePartitionsRequest>(registry, broker, 0, 3, create_partitions);
}

}  // namespace kafkacore::broker
