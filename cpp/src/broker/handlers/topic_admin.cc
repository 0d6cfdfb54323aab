// CreateTopics (19), DeleteTopics (20), CreatePartitions (37), ElectLeaders (43).
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
using protocol::ElectLeadersRequest;
using protocol::ElectLeadersResponse;

void create_topics(Broker& broker, CreateTopicsRequest req, server::Request request) {
  const int16_t version = request.header.api_version;
  auto gather = std::make_shared<Gather<CreateTopicsResponse>>();
  gather->request = std::move(request);
  CreateTopicsResponse& response = gather->response;
  response.topics.reserve(req.topics.size());
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
    std::vector<std::vector<int32_t>> assignment;
    if (!t.assignments.empty()) {
      if (partitions != -1 || replication != -1) {
        fail(Errc::invalid_request,
             "with a replica assignment, numPartitions and replicationFactor must be -1");
        continue;
      }
      assignment.resize(t.assignments.size());
      bool contiguous = true;
      for (const auto& a : t.assignments) {
        if (a.partition_index < 0 || a.partition_index >= static_cast<int32_t>(assignment.size()) ||
            !assignment[a.partition_index].empty()) {
          contiguous = false;
          break;
        }
        assignment[a.partition_index] = a.broker_ids;
      }
      if (!contiguous) {
        fail(Errc::invalid_replica_assignment, "assigned partitions must be numbered 0..n-1, once each");
        continue;
      }
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
    const size_t slot = response.topics.size() - 1;
    ++gather->outstanding;
    broker.create_topic(
        t.name, partitions, replication, configs, req.validate_only,
        [&broker, gather, slot, version, partitions, replication, configs](Result<void> created) {
          auto& result = gather->response.topics[slot];
          if (!created) {
            result.error_code = error_code(created.error());
            result.error_message = created.error().message();
            return gather->done();
          }
          result.error_message.reset();
          const auto* topic = broker.image().topic(result.name);
          result.num_partitions = topic ? static_cast<int32_t>(topic->partitions.size())
                                     : (partitions == -1 ? broker.config().num_partitions : partitions);
          result.replication_factor = topic && !topic->partitions.empty()
                                       ? static_cast<int16_t>(topic->partitions[0].replicas.size())
                                       : (replication == -1 ? broker.config().default_replication_factor
                                                            : replication);
          if (topic) result.topic_id = to_wire(topic->id);
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
            result.configs = std::move(described);
          }
          gather->done();
        },
        std::move(assignment));
  }
  gather->done();
}

void delete_topics(Broker& broker, DeleteTopicsRequest req, server::Request request) {
  const int16_t version = request.header.api_version;
  auto gather = std::make_shared<Gather<DeleteTopicsResponse>>();
  gather->request = std::move(request);
  DeleteTopicsResponse& response = gather->response;
  response.responses.reserve(version >= 6 ? req.topics.size() : req.topic_names.size());
  auto delete_one = [&](std::optional<std::string> name, protocol::Uuid id) {
    auto& out = response.responses.emplace_back();
    out.name = name;
    out.topic_id = id;
    const metadata::TopicState* topic = nullptr;
    if (name) {
      topic = broker.image().topic(*name);
    } else if (!id.is_zero()) {
      topic = broker.image().topic_by_id(from_wire(id));
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
    const size_t slot = response.responses.size() - 1;
    ++gather->outstanding;
    broker.delete_topic(topic_name, [gather, slot](Result<void> r) {
      if (!r) {
        gather->response.responses[slot].error_code = error_code(r.error());
        gather->response.responses[slot].error_message = r.error().message();
      }
      gather->done();
    });
  };
  if (version >= 6) {
    for (const auto& t : req.topics) delete_one(t.name, t.topic_id);
  } else {
    for (const auto& name : req.topic_names) delete_one(name, {});
  }
  gather->done();
}

void create_partitions(Broker& broker, CreatePartitionsRequest req, server::Request request) {
  auto gather = std::make_shared<Gather<CreatePartitionsResponse>>();
  gather->request = std::move(request);
  CreatePartitionsResponse& response = gather->response;
  response.results.reserve(req.topics.size());
  for (const auto& t : req.topics) {
    auto& out = response.results.emplace_back();
    out.name = t.name;
    if (t.assignments) {
      out.error_code = error_code(Errc::invalid_replica_assignment);
      out.error_message = "explicit replica assignments are not supported yet";
      continue;
    }
    const size_t slot = response.results.size() - 1;
    ++gather->outstanding;
    broker.create_partitions(t.name, t.count, req.validate_only, [gather, slot](Result<void> r) {
      if (!r) {
        gather->response.results[slot].error_code = error_code(r.error());
        gather->response.results[slot].error_message = r.error().message();
      }
      gather->done();
    });
  }
  gather->done();
}

// Gather, except that with every partition asked for (null topics), as in KRaft, partitions
// whose preferred replica already leads are left out of the answer.
struct ElectGather {
  server::Request request;
  ElectLeadersResponse response;
  int outstanding = 1;
  bool drop_not_needed = false;
  void done() {
    if (--outstanding != 0) return;
    if (drop_not_needed) {
      const int16_t not_needed = error_code(Errc::election_not_needed);
      auto& topics = response.replica_election_results;
      for (auto& t : topics) {
        std::erase_if(t.partition_result, [&](const auto& p) { return p.error_code == not_needed; });
      }
      std::erase_if(topics, [](const auto& t) { return t.partition_result.empty(); });
    }
    request.respond(response);
  }
};

void elect_leaders(Broker& broker, ElectLeadersRequest req, server::Request request) {
  constexpr int8_t kPreferred = 0;
  constexpr int8_t kUnclean = 1;
  auto gather = std::make_shared<ElectGather>();
  gather->request = std::move(request);
  ElectLeadersResponse& response = gather->response;
  const bool all = !req.topic_partitions;
  gather->drop_not_needed = all;
  std::vector<std::pair<std::string, std::vector<int32_t>>> wanted;
  if (all) {
    for (const auto& [name, t] : broker.image().topics()) {
      std::vector<int32_t> ids(t.partitions.size());
      for (size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<int32_t>(i);
      wanted.emplace_back(name, std::move(ids));
    }
  } else {
    for (const auto& t : *req.topic_partitions) wanted.emplace_back(t.topic, t.partitions);
  }
  for (const auto& [topic, partitions] : wanted) {
    auto& out = response.replica_election_results.emplace_back();
    out.topic = topic;
    const size_t topic_slot = response.replica_election_results.size() - 1;
    for (int32_t partition : partitions) {
      auto& result = out.partition_result.emplace_back();
      result.partition_id = partition;
      if (req.election_type != kPreferred && req.election_type != kUnclean) {
        result.error_code = error_code(Errc::invalid_request);
        result.error_message = "election type " + std::to_string(req.election_type) +
                               " is neither PREFERRED (0) nor UNCLEAN (1)";
        continue;
      }
      const size_t slot = out.partition_result.size() - 1;
      ++gather->outstanding;
      auto answered = [gather, topic_slot, slot](Result<void> r) {
        if (!r) {
          auto& res = gather->response.replica_election_results[topic_slot].partition_result[slot];
          res.error_code = error_code(r.error());
          res.error_message = r.error().message();
        }
        gather->done();
      };
      if (req.election_type == kUnclean) {
        broker.elect_unclean_leader(topic, partition, std::move(answered));
      } else {
        broker.elect_preferred_leader(topic, partition, std::move(answered));
      }
    }
  }
  gather->done();
}

}  // namespace

void register_topic_admin(server::HandlerRegistry& registry, Broker& broker) {
  add_handler<CreateTopicsRequest>(registry, broker, 0, 7, create_topics);
  add_handler<DeleteTopicsRequest>(registry, broker, 0, 6, delete_topics);
  add_handler<CreatePartitionsRequest>(registry, broker, 0, 3, create_partitions);
  add_handler<ElectLeadersRequest>(registry, broker, 0, 2, elect_leaders);
}

}  // namespace kafkacore::broker
