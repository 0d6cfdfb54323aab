// ListGroups (16) v0-5, DescribeGroups (15) v0-6, DeleteGroups (42) v0-2. Every group here is
// a classic group (KIP-848 "consumer" groups are not implemented).
#include <algorithm>
#include <cctype>
#include <memory>

#include "broker/broker.h"
#include "broker/handlers/handlers.h"
#include "broker/handlers/util.h"
#include "protocol/messages.h"

namespace kafkacore::broker {
namespace {

using protocol::DeleteGroupsRequest;
using protocol::DeleteGroupsResponse;
using protocol::DescribeGroupsRequest;
using protocol::DescribeGroupsResponse;
using protocol::ListGroupsRequest;
using protocol::ListGroupsResponse;

bool matches_filter(const std::vector<std::string>& filter, const std::string& value) {
  if (filter.empty()) return true;
  // Kafka compares state names case-insensitively.
  return std::any_of(filter.begin(), filter.end(), [&](const std::string& f) {
    return f.size() == value.size() &&
           std::equal(f.begin(), f.end(), value.begin(),
                      [](unsigned char a, unsigned char b) { return std::tolower(a) == std::tolower(b); });
  });
}

constexpr const char* kClassicGroupType = "classic";
constexpr int16_t kDescribeReportsNotFound = 6;

void list_groups(Broker& broker, ListGroupsRequest req, server::Request request) {
  ListGroupsResponse response;
  Errc error = Errc::none;
  for (auto& g : broker.groups().list_groups(error)) {
    if (!matches_filter(req.states_filter, g.state)) continue;
    if (!matches_filter(req.types_filter, kClassicGroupType)) continue;
    auto& out = response.groups.emplace_back();
    out.group_id = std::move(g.group_id);
    out.protocol_type = std::move(g.protocol_type);
    out.group_state = std::move(g.state);
    out.group_type = kClassicGroupType;
  }
  response.error_code = error_code(error);
  request.respond(response);
}

void describe_groups(Broker& broker, DescribeGroupsRequest req, server::Request request) {
  DescribeGroupsResponse response;
  for (const auto& id : req.groups) {
    auto d = broker.groups().describe(id);
    auto& out = response.groups.emplace_back();
    out.error_code = error_code(d.error);
    out.group_id = id;
    if (d.error == Errc::none && d.state == "Dead" &&
        request.header.api_version >= kDescribeReportsNotFound) {
      out.error_code = error_code(Errc::group_id_not_found);
      out.error_message = "group " + id + " not found";
    }
    out.group_state = std::move(d.state);
    out.protocol_type = std::move(d.protocol_type);
    out.protocol_data = std::move(d.protocol_data);
    for (auto& m : d.members) {
      auto& member = out.members.emplace_back();
      member.member_id = std::move(m.member_id);
      member.group_instance_id = std::move(m.instance_id);
      member.client_id = std::move(m.client_id);
      member.client_host = std::move(m.client_host);
      member.member_metadata = std::move(m.metadata);
      member.member_assignment = std::move(m.assignment);
    }
  }
  request.respond(response);
}

void delete_groups(Broker& broker, DeleteGroupsRequest req, server::Request request) {
  auto shared = std::make_shared<server::Request>(std::move(request));
  auto ids = req.groups_names;
  broker.groups().delete_groups(req.groups_names, [shared, ids](std::vector<Errc> errors) {
    DeleteGroupsResponse response;
    for (size_t i = 0; i < ids.size(); ++i) {
      auto& out = response.results.emplace_back();
      out.group_id = ids[i];
      out.error_code = error_code(i < errors.size() ? errors[i] : Errc::unknown_server_error);
    }
    shared->respond(response);
  });
}

}  // namespace

void register_group_admin(server::HandlerRegistry& registry, Broker& broker) {
  add_handler<ListGroupsRequest>(registry, broker, 0, 5, list_groups);
  add_handler<DescribeGroupsRequest>(registry, broker, 0, 6, describe_groups);
  add_handler<DeleteGroupsRequest>(registry, broker, 0, 2, delete_groups);
}

}  // namespace kafkacore::broker
