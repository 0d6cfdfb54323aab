#pragma once
// One classic group's state: members, generation, selected protocol, committed offsets. Plain
// data with the queries the coordinator needs; the transitions live in GroupCoordinator.
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/error.h"
#include "group/group_records.h"

namespace kafkacore::group {

enum class GroupState { empty, preparing_rebalance, completing_rebalance, stable, dead };

// The names Kafka's DescribeGroups and ListGroups use.
const char* state_name(GroupState state);

struct Protocol {
  std::string name;
  Bytes metadata;
};

struct JoinResult;
struct SyncResult;

struct Member {
  std::string id;
  std::optional<std::string> instance_id;
  std::string client_id;
  std::string client_host;
  int32_t session_timeout_ms = 0;
  int32_t rebalance_timeout_ms = 0;
  std::vector<Protocol> protocols;  // in the member's order of preference
  Bytes assignment;
  int64_t last_heartbeat_ms = 0;
  // A member added by this rebalance: it cannot heartbeat until its JoinGroup is answered.
  bool is_new = false;
  int64_t joined_at_ms = 0;
  // Has sent its SyncGroup for the current generation (members that never do are removed).
  bool synced = false;
  std::function<void(JoinResult)> pending_join;
  std::function<void(SyncResult)> pending_sync;

  const Bytes* metadata_for(const std::string& protocol) const;
};

struct Group {
  std::string id;
  int32_t partition = 0;
  GroupState state = GroupState::empty;
  int64_t state_timestamp_ms = -1;
  std::string protocol_type;  // "" for a group that only commits offsets
  std::optional<std::string> protocol_name;
  int32_t generation = 0;
  std::string leader;
  std::map<std::string, Member> members;
  std::map<std::string, std::string> static_members;  // instance id -> member id
  std::map<std::string, int64_t> pending_members;     // KIP-394 ids -> deadline
  // Deadlines of the current phase.
  int64_t join_deadline_ms = 0;
  bool initial_delay = false;          // the first rebalance of an empty group waits for more members
  int64_t initial_delay_limit_ms = 0;  // ...but never beyond the rebalance timeout
  int64_t sync_deadline_ms = 0;
  std::map<std::pair<std::string, int32_t>, OffsetValue> offsets;

  bool has_member(const std::string& member_id) const { return members.contains(member_id); }
  bool all_members_joined() const;
  // Protocol names every member supports.
  std::set<std::string> candidate_protocols() const;
  // Would a member with `protocols` be compatible with the others?
  bool supports(const std::string& type, const std::vector<Protocol>& protocols) const;
  // The candidate protocol most members prefer.
  std::string select_protocol() const;
  int32_t max_rebalance_timeout_ms() const;
  // The topics a "consumer" group's members subscribe to, from their subscriptions; nullopt if
  // some subscription cannot be parsed (then no topic counts as unsubscribed).
  std::optional<std::set<std::string>> subscribed_topics() const;
};

// Topics of a ConsumerProtocolSubscription (any version: they all start with the topic list).
std::optional<std::vector<std::string>> parse_subscription_topics(ByteView subscription);

// A syntactically valid ConsumerProtocolAssignment with nothing assigned, for a member the
// leader left out: strict clients fail to parse zero bytes.
Bytes empty_consumer_assignment();

}  // namespace kafkacore::group
