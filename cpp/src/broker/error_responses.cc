#include "broker/error_responses.h"

#include <algorithm>

#include "broker/broker.h"
#include "broker/handlers/util.h"
#include "protocol/messages.h"

namespace kafkacore::broker {
namespace {

using namespace protocol;

// Where a response has a message next to its error code: tells whoever reads client logs that
// the error did not come from the broker's own logic.
constexpr const char* kInjected = "injected by a fault rule";

// Decodes `request`'s body as Req and answers with build(req, version); an undecodable body
// closes the connection like the real handler does.
template <typename Req, typename Build>
void reply(server::Request& request, Build&& build) {
  Req req;
  Reader reader(request.body);
  if (!req.decode(reader, request.header.api_version)) {
    request.slot.close_connection();
    return;
  }
  request.respond(build(req, request.header.api_version));
}

template <typename Req>
std::optional<Req> decode(int16_t version, ByteView body) {
  Req req;
  Reader reader(body);
  if (!req.decode(reader, version)) return std::nullopt;
  return req;
}

void add_topic(std::vector<std::string>& out, const std::string& name) {
  if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(name);
}

constexpr int8_t kTopicResource = 2;  // DescribeConfigs/AlterConfigs resource type

ProduceResponse produce_error(const ProduceRequest& req, int16_t code) {
  ProduceResponse out;
  for (const auto& topic : req.topic_data) {
    auto& t = out.responses.emplace_back();
    t.name = topic.name;
    for (const auto& data : topic.partition_data) {
      auto& p = t.partition_responses.emplace_back();
      p.index = data.index;
      p.error_code = code;
      p.base_offset = -1;
      p.error_message = kInjected;
    }
  }
  return out;
}

FetchResponse fetch_error(const FetchRequest& req, int16_t code) {
  FetchResponse out;
  out.error_code = code;
  out.session_id = 0;
  for (const auto& topic : req.topics) {
    auto& t = out.responses.emplace_back();
    t.topic = topic.topic;
    for (const auto& part : topic.partitions) {
      auto& p = t.partitions.emplace_back();
      p.partition_index = part.partition;
      p.error_code = code;
      p.high_watermark = -1;
    }
  }
  return out;
}

ListOffsetsResponse list_offsets_error(const ListOffsetsRequest& req, int16_t code) {
  ListOffsetsResponse out;
  for (const auto& topic : req.topics) {
    auto& t = out.topics.emplace_back();
    t.name = topic.name;
    for (const auto& part : topic.partitions) {
      auto& p = t.partitions.emplace_back();
      p.partition_index = part.partition_index;
      p.error_code = code;
    }
  }
  return out;
}

MetadataResponse metadata_error(Broker& broker, const MetadataRequest& req, int16_t version,
                                int16_t code) {
  const auto& image = broker.image();
  MetadataResponse out;
  for (const auto& [id, b] : image.brokers()) {
    if (b.fenced) continue;
    auto& o = out.brokers.emplace_back();
    o.node_id = id;
    o.host = b.host;
    o.port = b.port;
    if (!b.rack.empty()) o.rack = b.rack;
  }
  out.cluster_id = image.cluster_id().to_string();
  out.controller_id = broker.controller_id();
  auto add = [&](std::optional<std::string> name, protocol::Uuid id) {
    auto& t = out.topics.emplace_back();
    t.error_code = code;
    t.name = std::move(name);
    t.topic_id = id;
  };
  const bool all_topics = !req.topics.has_value() || (version == 0 && req.topics->empty());
  if (all_topics) {
    for (const auto& [name, topic] : image.topics()) add(name, to_wire(topic.id));
  } else {
    for (const auto& wanted : *req.topics) {
      protocol::Uuid id = wanted.topic_id;
      if (wanted.name) {
        if (const auto* topic = image.topic(*wanted.name)) id = to_wire(topic->id);
      }
      add(wanted.name, id);
    }
  }
  return out;
}

OffsetCommitResponse offset_commit_error(const OffsetCommitRequest& req, int16_t code) {
  OffsetCommitResponse out;
  for (const auto& topic : req.topics) {
    auto& t = out.topics.emplace_back();
    t.name = topic.name;
    for (const auto& part : topic.partitions) {
      auto& p = t.partitions.emplace_back();
      p.partition_index = part.partition_index;
      p.error_code = code;
    }
  }
  return out;
}

OffsetFetchResponse offset_fetch_error(const OffsetFetchRequest& req, int16_t version,
                                       int16_t code) {
  OffsetFetchResponse out;
  if (version >= 8) {
    for (const auto& group : req.groups) {
      auto& g = out.groups.emplace_back();
      g.group_id = group.group_id;
      g.error_code = code;
      if (!group.topics) continue;
      for (const auto& topic : *group.topics) {
        auto& t = g.topics.emplace_back();
        t.name = topic.name;
        for (int32_t index : topic.partition_indexes) {
          auto& p = t.partitions.emplace_back();
          p.partition_index = index;
          p.committed_offset = -1;
          p.metadata = "";
          p.error_code = code;
        }
      }
    }
    return out;
  }
  out.error_code = code;  // v2-7; absent before
  if (req.topics) {
    for (const auto& topic : *req.topics) {
      auto& t = out.topics.emplace_back();
      t.name = topic.name;
      for (int32_t index : topic.partition_indexes) {
        auto& p = t.partitions.emplace_back();
        p.partition_index = index;
        p.committed_offset = -1;
        p.metadata = "";
        p.error_code = code;
      }
    }
  }
  return out;
}

FindCoordinatorResponse find_coordinator_error(const FindCoordinatorRequest& req, int16_t code) {
  FindCoordinatorResponse out;
  out.error_code = code;
  out.error_message = kInjected;
  out.node_id = -1;
  out.host = "";
  out.port = -1;
  for (const auto& key : req.coordinator_keys) {
    auto& c = out.coordinators.emplace_back();
    c.key = key;
    c.node_id = -1;
    c.port = -1;
    c.error_code = code;
    c.error_message = kInjected;
  }
  return out;
}

JoinGroupResponse join_group_error(const JoinGroupRequest& req, int16_t version, int16_t code) {
  JoinGroupResponse out;
  out.error_code = code;
  out.generation_id = -1;
  out.member_id = req.member_id;
  if (version >= 7) out.protocol_name = std::nullopt;
  return out;
}

LeaveGroupResponse leave_group_error(const LeaveGroupRequest& req, int16_t code) {
  LeaveGroupResponse out;
  out.error_code = code;
  for (const auto& member : req.members) {
    auto& m = out.members.emplace_back();
    m.member_id = member.member_id;
    m.group_instance_id = member.group_instance_id;
    m.error_code = code;
  }
  return out;
}

InitProducerIdResponse init_producer_id_error(int16_t code) {
  InitProducerIdResponse out;
  out.error_code = code;
  out.producer_id = -1;
  out.producer_epoch = -1;
  return out;
}

CreateTopicsResponse create_topics_error(const CreateTopicsRequest& req, int16_t code) {
  CreateTopicsResponse out;
  for (const auto& topic : req.topics) {
    auto& t = out.topics.emplace_back();
    t.name = topic.name;
    t.error_code = code;
    t.error_message = kInjected;
    t.configs = std::nullopt;
  }
  return out;
}

DeleteTopicsResponse delete_topics_error(const DeleteTopicsRequest& req, int16_t version,
                                         int16_t code) {
  DeleteTopicsResponse out;
  if (version >= 6) {
    for (const auto& topic : req.topics) {
      auto& r = out.responses.emplace_back();
      r.name = topic.name;
      r.topic_id = topic.topic_id;
      r.error_code = code;
      r.error_message = kInjected;
    }
  } else {
    for (const auto& name : req.topic_names) {
      auto& r = out.responses.emplace_back();
      r.name = name;
      r.error_code = code;
      r.error_message = kInjected;
    }
  }
  return out;
}

CreatePartitionsResponse create_partitions_error(const CreatePartitionsRequest& req, int16_t code) {
  CreatePartitionsResponse out;
  for (const auto& topic : req.topics) {
    auto& r = out.results.emplace_back();
    r.name = topic.name;
    r.error_code = code;
    r.error_message = kInjected;
  }
  return out;
}

DescribeConfigsResponse describe_configs_error(const DescribeConfigsRequest& req, int16_t code) {
  DescribeConfigsResponse out;
  for (const auto& resource : req.resources) {
    auto& r = out.results.emplace_back();
    r.error_code = code;
    r.error_message = kInjected;
    r.resource_type = resource.resource_type;
    r.resource_name = resource.resource_name;
  }
  return out;
}

// AlterConfigs and IncrementalAlterConfigs answer alike.
template <typename Response, typename Request>
Response alter_configs_error(const Request& req, int16_t code) {
  Response out;
  for (const auto& resource : req.resources) {
    auto& r = out.responses.emplace_back();
    r.error_code = code;
    r.error_message = kInjected;
    r.resource_type = resource.resource_type;
    r.resource_name = resource.resource_name;
  }
  return out;
}

DescribeGroupsResponse describe_groups_error(const DescribeGroupsRequest& req, int16_t code) {
  DescribeGroupsResponse out;
  for (const auto& group : req.groups) {
    auto& g = out.groups.emplace_back();
    g.error_code = code;
    g.error_message = kInjected;
    g.group_id = group;
  }
  return out;
}

DeleteGroupsResponse delete_groups_error(const DeleteGroupsRequest& req, int16_t code) {
  DeleteGroupsResponse out;
  for (const auto& group : req.groups_names) {
    auto& r = out.results.emplace_back();
    r.group_id = group;
    r.error_code = code;
  }
  return out;
}

OffsetDeleteResponse offset_delete_error(const OffsetDeleteRequest& req, int16_t code) {
  OffsetDeleteResponse out;
  out.error_code = code;
  for (const auto& topic : req.topics) {
    auto& t = out.topics.emplace_back();
    t.name = topic.name;
    for (const auto& part : topic.partitions) {
      auto& p = t.partitions.emplace_back();
      p.partition_index = part.partition_index;
      p.error_code = code;
    }
  }
  return out;
}

DeleteRecordsResponse delete_records_error(const DeleteRecordsRequest& req, int16_t code) {
  DeleteRecordsResponse out;
  for (const auto& topic : req.topics) {
    auto& t = out.topics.emplace_back();
    t.name = topic.name;
    for (const auto& part : topic.partitions) {
      auto& p = t.partitions.emplace_back();
      p.partition_index = part.partition_index;
      p.low_watermark = -1;
      p.error_code = code;
    }
  }
  return out;
}

OffsetForLeaderEpochResponse offset_for_leader_epoch_error(const OffsetForLeaderEpochRequest& req,
                                                           int16_t code) {
  OffsetForLeaderEpochResponse out;
  for (const auto& topic : req.topics) {
    auto& t = out.topics.emplace_back();
    t.topic = topic.topic;
    for (const auto& part : topic.partitions) {
      auto& p = t.partitions.emplace_back();
      p.error_code = code;
      p.partition = part.partition;
      p.leader_epoch = -1;
      p.end_offset = -1;
    }
  }
  return out;
}

}  // namespace

const std::set<int16_t>& error_response_apis() {
  static const std::set<int16_t> apis = {
      ProduceRequest::api_key,          FetchRequest::api_key,
      ListOffsetsRequest::api_key,      MetadataRequest::api_key,
      OffsetCommitRequest::api_key,     OffsetFetchRequest::api_key,
      FindCoordinatorRequest::api_key,  JoinGroupRequest::api_key,
      SyncGroupRequest::api_key,        HeartbeatRequest::api_key,
      LeaveGroupRequest::api_key,       InitProducerIdRequest::api_key,
      CreateTopicsRequest::api_key,     DeleteTopicsRequest::api_key,
      CreatePartitionsRequest::api_key, DescribeConfigsRequest::api_key,
      AlterConfigsRequest::api_key,     IncrementalAlterConfigsRequest::api_key,
      ListGroupsRequest::api_key,       DescribeGroupsRequest::api_key,
      DeleteGroupsRequest::api_key,     OffsetDeleteRequest::api_key,
      DeleteRecordsRequest::api_key,    OffsetForLeaderEpochRequest::api_key,
  };
  return apis;
}

void answer_with_error(Broker& broker, server::Request request, int16_t code) {
  switch (request.header.api_key) {
    case ProduceRequest::api_key: {
      auto req = decode<ProduceRequest>(request.header.api_version, request.body);
      if (!req) return request.slot.close_connection();
      if (req->acks == 0) return request.slot.send_none();  // dropped, unanswered
      return request.respond(produce_error(*req, code));
    }
    case FetchRequest::api_key:
      return reply<FetchRequest>(request,
                                 [&](const auto& req, int16_t) { return fetch_error(req, code); });
    case ListOffsetsRequest::api_key:
      return reply<ListOffsetsRequest>(
          request, [&](const auto& req, int16_t) { return list_offsets_error(req, code); });
    case MetadataRequest::api_key:
      return reply<MetadataRequest>(request, [&](const auto& req, int16_t version) {
        return metadata_error(broker, req, version, code);
      });
    case OffsetCommitRequest::api_key:
      return reply<OffsetCommitRequest>(
          request, [&](const auto& req, int16_t) { return offset_commit_error(req, code); });
    case OffsetFetchRequest::api_key:
      return reply<OffsetFetchRequest>(request, [&](const auto& req, int16_t version) {
        return offset_fetch_error(req, version, code);
      });
    case FindCoordinatorRequest::api_key:
      return reply<FindCoordinatorRequest>(
          request, [&](const auto& req, int16_t) { return find_coordinator_error(req, code); });
    case JoinGroupRequest::api_key:
      return reply<JoinGroupRequest>(request, [&](const auto& req, int16_t version) {
        return join_group_error(req, version, code);
      });
    case SyncGroupRequest::api_key:
      return reply<SyncGroupRequest>(request, [&](const auto&, int16_t) {
        SyncGroupResponse out;
        out.error_code = code;
        return out;
      });
    case HeartbeatRequest::api_key:
      return reply<HeartbeatRequest>(request, [&](const auto&, int16_t) {
        HeartbeatResponse out;
        out.error_code = code;
        return out;
      });
    case LeaveGroupRequest::api_key:
      return reply<LeaveGroupRequest>(
          request, [&](const auto& req, int16_t) { return leave_group_error(req, code); });
    case InitProducerIdRequest::api_key:
      return reply<InitProducerIdRequest>(
          request, [&](const auto&, int16_t) { return init_producer_id_error(code); });
    case CreateTopicsRequest::api_key:
      return reply<CreateTopicsRequest>(
          request, [&](const auto& req, int16_t) { return create_topics_error(req, code); });
    case DeleteTopicsRequest::api_key:
      return reply<DeleteTopicsRequest>(request, [&](const auto& req, int16_t version) {
        return delete_topics_error(req, version, code);
      });
    case CreatePartitionsRequest::api_key:
      return reply<CreatePartitionsRequest>(
          request, [&](const auto& req, int16_t) { return create_partitions_error(req, code); });
    case DescribeConfigsRequest::api_key:
      return reply<DescribeConfigsRequest>(
          request, [&](const auto& req, int16_t) { return describe_configs_error(req, code); });
    case AlterConfigsRequest::api_key:
      return reply<AlterConfigsRequest>(request, [&](const auto& req, int16_t) {
        return alter_configs_error<AlterConfigsResponse>(req, code);
      });
    case IncrementalAlterConfigsRequest::api_key:
      return reply<IncrementalAlterConfigsRequest>(request, [&](const auto& req, int16_t) {
        return alter_configs_error<IncrementalAlterConfigsResponse>(req, code);
      });
    case ListGroupsRequest::api_key:
      return reply<ListGroupsRequest>(request, [&](const auto&, int16_t) {
        ListGroupsResponse out;
        out.error_code = code;
        return out;
      });
    case DescribeGroupsRequest::api_key:
      return reply<DescribeGroupsRequest>(
          request, [&](const auto& req, int16_t) { return describe_groups_error(req, code); });
    case DeleteGroupsRequest::api_key:
      return reply<DeleteGroupsRequest>(
          request, [&](const auto& req, int16_t) { return delete_groups_error(req, code); });
    case OffsetDeleteRequest::api_key:
      return reply<OffsetDeleteRequest>(
          request, [&](const auto& req, int16_t) { return offset_delete_error(req, code); });
    case DeleteRecordsRequest::api_key:
      return reply<DeleteRecordsRequest>(
          request, [&](const auto& req, int16_t) { return delete_records_error(req, code); });
    case OffsetForLeaderEpochRequest::api_key:
      return reply<OffsetForLeaderEpochRequest>(request, [&](const auto& req, int16_t) {
        return offset_for_leader_epoch_error(req, code);
      });
    default:
      // RequestFaults refuses error rules for other APIs; if one gets here, fail loudly but
      // keep the broker running.
      return request.slot.close_connection();
  }
}

std::vector<std::string> request_topics(int16_t api_key, int16_t version, ByteView body) {
  std::vector<std::string> out;
  switch (api_key) {
    case ProduceRequest::api_key:
      if (auto req = decode<ProduceRequest>(version, body)) {
        for (const auto& t : req->topic_data) add_topic(out, t.name);
      }
      break;
    case FetchRequest::api_key:
      if (auto req = decode<FetchRequest>(version, body)) {
        for (const auto& t : req->topics) add_topic(out, t.topic);
      }
      break;
    case ListOffsetsRequest::api_key:
      if (auto req = decode<ListOffsetsRequest>(version, body)) {
        for (const auto& t : req->topics) add_topic(out, t.name);
      }
      break;
    case MetadataRequest::api_key:
      if (auto req = decode<MetadataRequest>(version, body); req && req->topics) {
        for (const auto& t : *req->topics) {
          if (t.name) add_topic(out, *t.name);
        }
      }
      break;
    case OffsetCommitRequest::api_key:
      if (auto req = decode<OffsetCommitRequest>(version, body)) {
        for (const auto& t : req->topics) add_topic(out, t.name);
      }
      break;
    case OffsetFetchRequest::api_key:
      if (auto req = decode<OffsetFetchRequest>(version, body)) {
        if (req->topics) {
          for (const auto& t : *req->topics) add_topic(out, t.name);
        }
        for (const auto& g : req->groups) {
          if (!g.topics) continue;
          for (const auto& t : *g.topics) add_topic(out, t.name);
        }
      }
      break;
    case CreateTopicsRequest::api_key:
      if (auto req = decode<CreateTopicsRequest>(version, body)) {
        for (const auto& t : req->topics) add_topic(out, t.name);
      }
      break;
    case DeleteTopicsRequest::api_key:
      if (auto req = decode<DeleteTopicsRequest>(version, body)) {
        for (const auto& name : req->topic_names) add_topic(out, name);
        for (const auto& t : req->topics) {
          if (t.name) add_topic(out, *t.name);
        }
      }
      break;
    case CreatePartitionsRequest::api_key:
      if (auto req = decode<CreatePartitionsRequest>(version, body)) {
        for (const auto& t : req->topics) add_topic(out, t.name);
      }
      break;
    case DescribeConfigsRequest::api_key:
      if (auto req = decode<DescribeConfigsRequest>(version, body)) {
        for (const auto& r : req->resources) {
          if (r.resource_type == kTopicResource) add_topic(out, r.resource_name);
        }
      }
      break;
    case AlterConfigsRequest::api_key:
      if (auto req = decode<AlterConfigsRequest>(version, body)) {
        for (const auto& r : req->resources) {
          if (r.resource_type == kTopicResource) add_topic(out, r.resource_name);
        }
      }
      break;
    case IncrementalAlterConfigsRequest::api_key:
      if (auto req = decode<IncrementalAlterConfigsRequest>(version, body)) {
        for (const auto& r : req->resources) {
          if (r.resource_type == kTopicResource) add_topic(out, r.resource_name);
        }
      }
      break;
    case OffsetDeleteRequest::api_key:
      if (auto req = decode<OffsetDeleteRequest>(version, body)) {
        for (const auto& t : req->topics) add_topic(out, t.name);
      }
      break;
    case DeleteRecordsRequest::api_key:
      if (auto req = decode<DeleteRecordsRequest>(version, body)) {
        for (const auto& t : req->topics) add_topic(out, t.name);
      }
      break;
    case OffsetForLeaderEpochRequest::api_key:
      if (auto req = decode<OffsetForLeaderEpochRequest>(version, body)) {
        for (const auto& t : req->topics) add_topic(out, t.topic);
      }
      break;
    default:
      break;
  }
  return out;
}

bool is_replication_request(int16_t api_key, int16_t version, ByteView body) {
  // In each of these the replica id is the body's first field (Fetch v12's cluster id is a
  // tagged field, at the end); OffsetForLeaderEpoch has it from v3.
  const bool has_replica_id = api_key == FetchRequest::api_key ||
                              api_key == ListOffsetsRequest::api_key ||
                              (api_key == OffsetForLeaderEpochRequest::api_key && version >= 3);
  if (!has_replica_id || body.size() < 4) return false;
  return load_be<int32_t>(body.data()) >= 0;
}

}  // namespace kafkacore::broker
