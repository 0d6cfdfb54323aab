// JoinGroup (11) v0-9, SyncGroup (14) v0-5, Heartbeat (12) v0-4, LeaveGroup (13) v0-5: the
// classic group protocol, translated to and from the coordinator's terms. JoinGroup and
// SyncGroup answers may come much later (when the rebalance they wait for completes).
#include <memory>

#include "broker/broker.h"
#include "broker/handlers/handlers.h"
#include "broker/handlers/util.h"
#include "protocol/messages.h"

namespace kafkacore::broker {
namespace {

using protocol::HeartbeatRequest;
using protocol::HeartbeatResponse;
using protocol::JoinGroupRequest;
using protocol::JoinGroupResponse;
using protocol::LeaveGroupRequest;
using protocol::LeaveGroupResponse;
using protocol::SyncGroupRequest;
using protocol::SyncGroupResponse;

constexpr int16_t kRequiresKnownMemberId = 4;  // KIP-394
constexpr int16_t kSkipAssignment = 9;
constexpr int16_t kBatchedLeave = 3;

// Kafka reports client hosts as InetAddress.toString(): "/127.0.0.1".
std::string client_host(const server::Request& request) {
  std::string address = request.client ? request.client->address : "";
  if (auto colon = address.rfind(':'); colon != std::string::npos) address.resize(colon);
  if (address.size() > 2 && address.front() == '[' && address.back() == ']') {
    address = address.substr(1, address.size() - 2);
  }
  return "/" + address;
}

void join_group(Broker& broker, JoinGroupRequest req, server::Request request) {
  const int16_t version = request.header.api_version;
  group::JoinParams params;
  params.group_id = std::move(req.group_id);
  params.member_id = std::move(req.member_id);
  params.instance_id = std::move(req.group_instance_id);
  params.protocol_type = std::move(req.protocol_type);
  for (auto& p : req.protocols) params.protocols.push_back({std::move(p.name), std::move(p.metadata)});
  params.session_timeout_ms = req.session_timeout_ms;
  // v0 has no rebalance timeout: the session timeout stands in.
  params.rebalance_timeout_ms = version >= 1 ? req.rebalance_timeout_ms : req.session_timeout_ms;
  params.client_id = request.header.client_id.value_or("");
  params.client_host = client_host(request);
  params.requires_known_member_id = version >= kRequiresKnownMemberId;
  params.supports_skip_assignment = version >= kSkipAssignment;
  auto shared = std::make_shared<server::Request>(std::move(request));
  broker.groups().join(std::move(params), [shared, version](group::JoinResult r) {
    JoinGroupResponse response;
    response.error_code = error_code(r.error);
    response.generation_id = r.generation;
    response.protocol_type = r.protocol_type;
    // Before v7 the protocol name is not nullable: errors carry "".
    response.protocol_name = version >= 7 ? r.protocol_name : r.protocol_name.value_or("");
    response.leader = std::move(r.leader);
    response.skip_assignment = r.skip_assignment;
    response.member_id = std::move(r.member_id);
    for (auto& m : r.members) {
      auto& out = response.members.emplace_back();
      out.member_id = std::move(m.member_id);
      out.group_instance_id = std::move(m.instance_id);
      out.metadata = std::move(m.metadata);
    }
    shared->respond(response);
  });
}

void sync_group(Broker& broker, SyncGroupRequest req, server::Request request) {
  group::SyncParams params;
  params.group_id = std::move(req.group_id);
  params.member_id = std::move(req.member_id);
  params.instance_id = std::move(req.group_instance_id);
  params.generation = req.generation_id;
  params.protocol_type = std::move(req.protocol_type);
  params.protocol_name = std::move(req.protocol_name);
  for (auto& a : req.assignments) params.assignments.emplace_back(std::move(a.member_id), std::move(a.assignment));
  auto shared = std::make_shared<server::Request>(std::move(request));
  broker.groups().sync(std::move(params), [shared](group::SyncResult r) {
    SyncGroupResponse response;
    response.error_code = error_code(r.error);
    response.protocol_type = std::move(r.protocol_type);
    response.protocol_name = std::move(r.protocol_name);
    response.assignment = std::move(r.assignment);
    shared->respond(response);
  });
}

void heartbeat(Broker& broker, HeartbeatRequest req, server::Request request) {
  HeartbeatResponse response;
  response.error_code = error_code(broker.groups().heartbeat(req.group_id, req.member_id,
                                                             req.group_instance_id, req.generation_id));
  request.respond(response);
}

void leave_group(Broker& broker, LeaveGroupRequest req, server::Request request) {
  const int16_t version = request.header.api_version;
  std::vector<group::MemberIdentity> members;
  if (version >= kBatchedLeave) {
    for (const auto& m : req.members) members.push_back({m.member_id, m.group_instance_id});
  } else {
    members.push_back({req.member_id, std::nullopt});
  }
  auto result = broker.groups().leave(req.group_id, members);
  LeaveGroupResponse response;
  response.error_code = error_code(result.error);
  if (version >= kBatchedLeave) {
    for (size_t i = 0; i < result.members.size(); ++i) {
      auto& out = response.members.emplace_back();
      out.member_id = members[i].member_id;
      out.group_instance_id = members[i].instance_id;
      out.error_code = error_code(result.members[i]);
    }
  } else if (result.error == Errc::none && !result.members.empty()) {
    // One member, one error, reported at the top as before v3.
    response.error_code = error_code(result.members.front());
  }
  request.respond(response);
}

}  // namespace

void register_group_membership(server::HandlerRegistry& registry, Broker& broker) {
  add_handler<JoinGroupRequest>(registry, broker, 0, 9, join_group);
  add_handler<SyncGroupRequest>(registry, broker, 0, 5, sync_group);
  add_handler<HeartbeatRequest>(registry, broker, 0, 4, heartbeat);
  add_handler<LeaveGroupRequest>(registry, broker, 0, 5, leave_group);
}

}  // namespace kafkacore::broker
