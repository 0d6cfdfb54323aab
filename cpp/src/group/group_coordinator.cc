#include "group/group_coordinator.h"

#include <algorithm>

#include "common/log.h"
#include "common/uuid.h"

namespace kafkacore::group {
namespace {

JoinResult join_error(Errc error, std::string member_id = "") {
  JoinResult r;
  r.error = error;
  r.member_id = std::move(member_id);
  return r;
}

SyncResult sync_error(Errc error) {
  SyncResult r;
  r.error = error;
  return r;
}

// Answers a parked request, leaving the slot empty first: the answer may re-enter the
// coordinator (it never does today, but a moved-from std::function is unspecified).
template <typename Fn, typename Value>
void answer(Fn& pending, Value value) {
  if (!pending) return;
  auto fn = std::move(pending);
  pending = nullptr;
  fn(std::move(value));
}

}  // namespace

GroupCoordinator::GroupCoordinator(GroupConfig config, GroupStore& store, Clock& clock)
    : config_(config), store_(store), clock_(clock) {
  next_retention_check_ms_ = now() + config_.retention_check_interval_ms;
}

GroupCoordinator::~GroupCoordinator() = default;

// ---------------------------------------------------------------- partitions

void GroupCoordinator::begin_loading(int32_t partition) { partitions_[partition].loading = true; }

void GroupCoordinator::load_record(int32_t partition, ByteView key_bytes,
                                   std::optional<ByteView> value) {
  auto key = decode_key(key_bytes);
  if (!key) {
    KC_LOG(warn, "group", "skipping an undecodable __consumer_offsets key",
           {{"partition", std::to_string(partition)}, {"error", key.error().message()}});
    return;
  }
  if (const auto* offset_key = std::get_if<OffsetKey>(&*key)) {
    if (!value) {
      if (auto* g = find_group(offset_key->group)) {
        g->offsets.erase({offset_key->topic, offset_key->partition});
      }
      return;
    }
    auto offset = decode_offset_value(*value);
    if (!offset) {
      KC_LOG(warn, "group", "skipping an undecodable committed offset",
             {{"group", offset_key->group}, {"error", offset.error().message()}});
      return;
    }
    Group& g = get_or_create_group(offset_key->group);
    g.offsets[{offset_key->topic, offset_key->partition}] = *offset;
    return;
  }
  const auto& group_key = std::get<GroupKey>(*key);
  if (!value) {
    // A deleted group; offsets written after the tombstone (none, normally) would revive it.
    if (auto* g = find_group(group_key.group)) {
      g->members.clear();
      g->static_members.clear();
      g->protocol_type.clear();
      g->protocol_name.reset();
      g->generation = 0;
      g->leader.clear();
      g->state = GroupState::dead;
    }
    return;
  }
  auto decoded = decode_group_value(*value);
  if (!decoded) {
    KC_LOG(warn, "group", "skipping undecodable group metadata",
           {{"group", group_key.group}, {"error", decoded.error().message()}});
    return;
  }
  Group& g = get_or_create_group(group_key.group);
  g.protocol_type = decoded->protocol_type;
  g.generation = decoded->generation;
  g.protocol_name = decoded->protocol_name;
  g.leader = decoded->leader.value_or("");
  g.state_timestamp_ms = decoded->state_timestamp;
  g.members.clear();
  g.static_members.clear();
  for (const auto& m : decoded->members) {
    Member member;
    member.id = m.member_id;
    member.instance_id = m.instance_id;
    member.client_id = m.client_id;
    member.client_host = m.client_host;
    member.rebalance_timeout_ms = m.rebalance_timeout_ms;
    member.session_timeout_ms = m.session_timeout_ms;
    member.protocols.push_back({decoded->protocol_name.value_or(""), m.subscription});
    member.assignment = m.assignment;
    member.synced = true;
    if (member.instance_id) g.static_members[*member.instance_id] = member.id;
    g.members.emplace(member.id, std::move(member));
  }
  g.state = g.members.empty() ? GroupState::empty : GroupState::stable;
}

void GroupCoordinator::finish_loading(int32_t partition) {
  const int64_t t = now();
  for (auto it = groups_.begin(); it != groups_.end();) {
    Group& g = *it->second;
    if (g.partition != partition) {
      ++it;
      continue;
    }
    if (g.state == GroupState::dead && g.offsets.empty()) {
      it = groups_.erase(it);
      continue;
    }
    if (g.state == GroupState::dead) g.state = GroupState::empty;
    // Members get a full session from now: they could not heartbeat while we were away.
    for (auto& [id, member] : g.members) member.last_heartbeat_ms = t;
    if (g.state_timestamp_ms < 0) g.state_timestamp_ms = t;
    ++it;
  }
  partitions_[partition].loading = false;
  KC_LOG(debug, "group", "coordinator partition loaded", {{"partition", std::to_string(partition)}});
}

void GroupCoordinator::unload(int32_t partition) {
  for (auto it = groups_.begin(); it != groups_.end();) {
    Group& g = *it->second;
    if (g.partition != partition) {
      ++it;
      continue;
    }
    for (auto& [id, member] : g.members) {
      answer(member.pending_join, join_error(Errc::not_coordinator));
      answer(member.pending_sync, sync_error(Errc::not_coordinator));
    }
    it = groups_.erase(it);
  }
  partitions_.erase(partition);
}

Errc GroupCoordinator::coordinator_state(const std::string& group_id) const {
  auto it = partitions_.find(partition_for(group_id));
  if (it == partitions_.end()) return Errc::not_coordinator;
  return it->second.loading ? Errc::coordinator_load_in_progress : Errc::none;
}

Group* GroupCoordinator::find_group(const std::string& group_id) {
  auto it = groups_.find(group_id);
  return it == groups_.end() ? nullptr : it->second.get();
}

const Group* GroupCoordinator::group(const std::string& group_id) const {
  auto it = groups_.find(group_id);
  return it == groups_.end() ? nullptr : it->second.get();
}

Group& GroupCoordinator::get_or_create_group(const std::string& group_id) {
  auto& slot = groups_[group_id];
  if (!slot) {
    slot = std::make_unique<Group>();
    slot->id = group_id;
    slot->partition = partition_for(group_id);
    slot->state_timestamp_ms = now();
  }
  return *slot;
}

void GroupCoordinator::set_state(Group& group, GroupState state) {
  group.state = state;
  group.state_timestamp_ms = now();
}

// ---------------------------------------------------------------- join

void GroupCoordinator::join(JoinParams params, JoinCallback done) {
  if (params.group_id.empty()) return done(join_error(Errc::invalid_group_id, params.member_id));
  if (auto e = coordinator_state(params.group_id); e != Errc::none) {
    return done(join_error(e, params.member_id));
  }
  if (params.session_timeout_ms < config_.min_session_timeout_ms ||
      params.session_timeout_ms > config_.max_session_timeout_ms) {
    return done(join_error(Errc::invalid_session_timeout, params.member_id));
  }
  if (params.rebalance_timeout_ms < 0) params.rebalance_timeout_ms = params.session_timeout_ms;
  Group* existing = find_group(params.group_id);
  if (params.member_id.empty()) {
    Group& group = existing ? *existing : get_or_create_group(params.group_id);
    return join_new_member(group, params, done);
  }
  if (!existing || existing->state == GroupState::dead) {
    return done(join_error(Errc::unknown_member_id, params.member_id));
  }
  join_existing_member(*existing, params, done);
}

void GroupCoordinator::join_new_member(Group& group, JoinParams& params, JoinCallback& done) {
  if (group.state == GroupState::dead) {
    return done(join_error(Errc::coordinator_not_available));
  }
  if (!group.supports(params.protocol_type, params.protocols)) {
    return done(join_error(Errc::inconsistent_group_protocol));
  }
  const bool replaces_static = params.instance_id && group.static_members.contains(*params.instance_id);
  if (!replaces_static &&
      group.members.size() + group.pending_members.size() >= static_cast<size_t>(config_.max_size)) {
    return done(join_error(Errc::group_max_size_reached));
  }
  std::string member_id =
      (params.client_id.empty() ? std::string("member") : params.client_id) + "-" +
      Uuid::random().to_string();
  if (params.instance_id) {
    if (replaces_static) {
      const std::string old_id = group.static_members[*params.instance_id];
      params.member_id = member_id;
      return replace_static_member(group, params, old_id, done);
    }
    return add_member_and_rebalance(group, params, std::move(member_id), done);
  }
  if (params.requires_known_member_id) {
    // KIP-394: the member must come back with this id, so a client that retries a JoinGroup it
    // lost the answer to does not leave a ghost member behind.
    group.pending_members[member_id] = now() + params.session_timeout_ms;
    return done(join_error(Errc::member_id_required, member_id));
  }
  add_member_and_rebalance(group, params, std::move(member_id), done);
}

void GroupCoordinator::join_existing_member(Group& group, JoinParams& params, JoinCallback& done) {
  if (group.pending_members.erase(params.member_id) > 0) {
    if (!group.supports(params.protocol_type, params.protocols)) {
      return done(join_error(Errc::inconsistent_group_protocol, params.member_id));
    }
    std::string id = params.member_id;
    return add_member_and_rebalance(group, params, std::move(id), done);
  }
  if (params.instance_id) {
    auto it = group.static_members.find(*params.instance_id);
    if (it != group.static_members.end() && it->second != params.member_id) {
      return done(join_error(Errc::fenced_instance_id, params.member_id));
    }
  }
  auto it = group.members.find(params.member_id);
  if (it == group.members.end()) return done(join_error(Errc::unknown_member_id, params.member_id));
  Member& member = it->second;
  if (member.instance_id != params.instance_id) {
    return done(join_error(Errc::fenced_instance_id, params.member_id));
  }
  if (!group.supports(params.protocol_type, params.protocols)) {
    // With one member, supports() compares against the member itself: accept any change.
    if (group.members.size() > 1 || params.protocol_type != group.protocol_type) {
      return done(join_error(Errc::inconsistent_group_protocol, params.member_id));
    }
  }
  const bool same_protocols = [&] {
    if (member.protocols.size() != params.protocols.size()) return false;
    for (size_t i = 0; i < member.protocols.size(); ++i) {
      if (member.protocols[i].name != params.protocols[i].name ||
          member.protocols[i].metadata != params.protocols[i].metadata) {
        return false;
      }
    }
    return true;
  }();
  auto update = [&] {
    member.protocols = std::move(params.protocols);
    member.session_timeout_ms = params.session_timeout_ms;
    member.rebalance_timeout_ms = params.rebalance_timeout_ms;
    member.client_id = params.client_id;
    member.client_host = params.client_host;
    member.last_heartbeat_ms = now();
    // A retried join replaces the parked one; the old request gets an answer too.
    answer(member.pending_join, join_error(Errc::rebalance_in_progress, member.id));
    member.pending_join = std::move(done);
  };
  switch (group.state) {
    case GroupState::preparing_rebalance:
      update();
      maybe_complete_join(group);
      return;
    case GroupState::completing_rebalance:
      if (same_protocols) {
        // The member lost our answer and asks again: repeat it.
        member.last_heartbeat_ms = now();
        return done(join_answer(group, member, member.id == group.leader));
      }
      update();
      prepare_rebalance(group, "member " + member.id + " changed its protocols");
      return;
    case GroupState::stable:
      if (member.id == group.leader || !same_protocols) {
        // The leader rejoining means it wants a new assignment (e.g. the topics changed).
        update();
        prepare_rebalance(group, member.id == group.leader
                                     ? "the leader rejoined"
                                     : "member " + member.id + " changed its protocols");
        return;
      }
      member.last_heartbeat_ms = now();
      return done(join_answer(group, member, false));
    case GroupState::empty:
    case GroupState::dead:
      return done(join_error(Errc::unknown_member_id, params.member_id));
  }
}

void GroupCoordinator::replace_static_member(Group& group, JoinParams& params,
                                             const std::string& old_member_id,
                                             JoinCallback& done) {
  auto node = group.members.extract(old_member_id);
  if (node.empty()) return add_member_and_rebalance(group, params, params.member_id, done);
  Member member = std::move(node.mapped());
  // The old incarnation is fenced; its parked requests learn it now.
  answer(member.pending_join, join_error(Errc::fenced_instance_id, old_member_id));
  answer(member.pending_sync, sync_error(Errc::fenced_instance_id));
  const std::string new_id = params.member_id;
  const std::string previous_leader = group.leader;
  const auto old_protocols = member.protocols;
  member.id = new_id;
  member.protocols = std::move(params.protocols);
  member.session_timeout_ms = params.session_timeout_ms;
  member.rebalance_timeout_ms = params.rebalance_timeout_ms;
  member.client_id = params.client_id;
  member.client_host = params.client_host;
  member.last_heartbeat_ms = now();
  member.pending_join = std::move(done);
  group.static_members[*params.instance_id] = new_id;
  if (group.leader == old_member_id) group.leader = new_id;
  group.members.emplace(new_id, std::move(member));
  Member& m = group.members.at(new_id);

  switch (group.state) {
    case GroupState::stable: {
      if (group.protocol_name && group.select_protocol() == *group.protocol_name) {
        // Same protocol: no rebalance. Persist the new member id, then answer with the current
        // generation; the member fetches its old assignment with SyncGroup.
        const bool skip = params.supports_skip_assignment && new_id == group.leader;
        store_group(group, [this, group_id = group.id, new_id, old_member_id, previous_leader,
                            old_protocols, generation = group.generation,
                            skip](const Result<void>& stored) {
          Group* g = find_group(group_id);
          if (!g || !g->members.contains(new_id)) return;
          Member& mm = g->members.at(new_id);
          if (!stored) {
            // Could not persist: undo, the member must retry.
            auto undo = g->members.extract(new_id);
            Member back = std::move(undo.mapped());
            back.id = old_member_id;
            back.protocols = old_protocols;
            auto pending = std::move(back.pending_join);
            back.pending_join = nullptr;
            if (back.instance_id) g->static_members[*back.instance_id] = old_member_id;
            if (g->leader == new_id) g->leader = old_member_id;
            g->members.emplace(old_member_id, std::move(back));
            if (pending) pending(join_error(Errc::unknown_member_id));
            return;
          }
          if (g->generation != generation) return;  // a rebalance took over; it answers
          JoinResult r = join_answer(*g, mm, skip);
          r.skip_assignment = skip;
          // Before v9 the leader must not re-run the assignment: it is told it is a follower.
          if (!skip) r.leader = previous_leader;
          answer(mm.pending_join, std::move(r));
        });
        return;
      }
      prepare_rebalance(group, "static member " + new_id + " rejoined with other protocols");
      return;
    }
    case GroupState::completing_rebalance:
      // The leader may already be assigning to the old id: start over.
      prepare_rebalance(group, "static member " + new_id + " rejoined during a rebalance");
      return;
    case GroupState::preparing_rebalance:
      maybe_complete_join(group);
      return;
    case GroupState::empty:
    case GroupState::dead:
      m.pending_join = nullptr;
      return;
  }
}

void GroupCoordinator::add_member_and_rebalance(Group& group, JoinParams& params,
                                                std::string member_id, JoinCallback& done) {
  Member member;
  member.id = member_id;
  member.instance_id = params.instance_id;
  member.client_id = params.client_id;
  member.client_host = params.client_host;
  member.session_timeout_ms = params.session_timeout_ms;
  member.rebalance_timeout_ms = params.rebalance_timeout_ms;
  member.protocols = std::move(params.protocols);
  member.last_heartbeat_ms = now();
  member.joined_at_ms = now();
  member.is_new = true;
  member.pending_join = std::move(done);
  if (group.members.empty()) group.protocol_type = params.protocol_type;
  if (member.instance_id) group.static_members[*member.instance_id] = member_id;
  if (group.leader.empty() || !group.members.contains(group.leader)) group.leader = member_id;
  group.members.emplace(member_id, std::move(member));
  if (group.state == GroupState::preparing_rebalance) {
    if (group.initial_delay) {
      // Each member arriving during the initial delay extends it, up to the rebalance timeout.
      group.join_deadline_ms =
          std::min(now() + config_.initial_rebalance_delay_ms, group.initial_delay_limit_ms);
    }
    maybe_complete_join(group);
    return;
  }
  prepare_rebalance(group, "member " + member_id + " joined");
}

void GroupCoordinator::prepare_rebalance(Group& group, const std::string& reason) {
  if (group.state == GroupState::completing_rebalance) {
    // Assignments in flight are void; members rejoin.
    for (auto& [id, member] : group.members) {
      answer(member.pending_sync, sync_error(Errc::rebalance_in_progress));
      member.assignment.clear();
    }
  }
  const bool was_empty = group.state == GroupState::empty;
  set_state(group, GroupState::preparing_rebalance);
  const int64_t t = now();
  if (was_empty && config_.initial_rebalance_delay_ms > 0) {
    group.initial_delay = true;
    group.initial_delay_limit_ms = t + std::max(group.max_rebalance_timeout_ms(),
                                                config_.initial_rebalance_delay_ms);
    group.join_deadline_ms =
        std::min(t + config_.initial_rebalance_delay_ms, group.initial_delay_limit_ms);
  } else {
    group.initial_delay = false;
    group.join_deadline_ms = t + group.max_rebalance_timeout_ms();
  }
  KC_LOG(info, "group", "preparing rebalance",
         {{"group", group.id}, {"generation", std::to_string(group.generation)}, {"reason", reason}});
  maybe_complete_join(group);
}

void GroupCoordinator::maybe_complete_join(Group& group) {
  if (group.state != GroupState::preparing_rebalance || group.initial_delay) return;
  if (group.all_members_joined()) complete_join(group);
}

void GroupCoordinator::complete_join(Group& group) {
  group.initial_delay = false;
  // Members that did not rejoin in time are out of the new generation.
  std::vector<std::string> missing;
  for (const auto& [id, member] : group.members) {
    if (!member.pending_join) missing.push_back(id);
  }
  for (const auto& id : missing) {
    auto node = group.members.extract(id);
    if (node.mapped().instance_id) group.static_members.erase(*node.mapped().instance_id);
    answer(node.mapped().pending_sync, sync_error(Errc::rebalance_in_progress));
  }
  if (!group.members.contains(group.leader)) {
    group.leader = group.members.empty() ? "" : group.members.begin()->first;
  }
  ++group.generation;
  if (group.members.empty()) {
    group.protocol_name.reset();
    group.leader.clear();
    set_state(group, GroupState::empty);
    KC_LOG(info, "group", "group is empty", {{"group", group.id}, {"generation", std::to_string(group.generation)}});
    store_group(group, [](const Result<void>&) {});
    return;
  }
  group.protocol_name = group.select_protocol();
  set_state(group, GroupState::completing_rebalance);
  const int64_t t = now();
  group.sync_deadline_ms = t + group.max_rebalance_timeout_ms();
  KC_LOG(info, "group", "rebalance complete",
         {{"group", group.id}, {"generation", std::to_string(group.generation)},
          {"members", std::to_string(group.members.size())}, {"protocol", *group.protocol_name}});
  for (auto& [id, member] : group.members) {
    member.is_new = false;
    member.synced = false;
    member.last_heartbeat_ms = t;
    answer(member.pending_join, join_answer(group, member, id == group.leader));
  }
}

JoinResult GroupCoordinator::join_answer(const Group& group, const Member& member,
                                         bool with_members) const {
  JoinResult r;
  r.generation = group.generation;
  r.protocol_type = group.protocol_type;
  r.protocol_name = group.protocol_name;
  r.leader = group.leader;
  r.member_id = member.id;
  if (with_members && group.protocol_name) {
    for (const auto& [id, m] : group.members) {
      const Bytes* metadata = m.metadata_for(*group.protocol_name);
      r.members.push_back({id, m.instance_id, metadata ? *metadata : Bytes{}});
    }
  }
  return r;
}

// ---------------------------------------------------------------- sync

void GroupCoordinator::sync(SyncParams params, SyncCallback done) {
  if (params.group_id.empty()) return done(sync_error(Errc::invalid_group_id));
  if (auto e = coordinator_state(params.group_id); e != Errc::none) return done(sync_error(e));
  Group* group = find_group(params.group_id);
  if (!group || group->state == GroupState::dead) return done(sync_error(Errc::unknown_member_id));
  if (params.instance_id) {
    auto it = group->static_members.find(*params.instance_id);
    if (it != group->static_members.end() && it->second != params.member_id) {
      return done(sync_error(Errc::fenced_instance_id));
    }
  }
  auto it = group->members.find(params.member_id);
  if (it == group->members.end()) return done(sync_error(Errc::unknown_member_id));
  Member& member = it->second;
  if (member.instance_id != params.instance_id) return done(sync_error(Errc::fenced_instance_id));
  if (params.generation != group->generation) return done(sync_error(Errc::illegal_generation));
  if ((params.protocol_type && *params.protocol_type != group->protocol_type) ||
      (params.protocol_name && *params.protocol_name != group->protocol_name.value_or(""))) {
    return done(sync_error(Errc::inconsistent_group_protocol));
  }
  member.last_heartbeat_ms = now();
  member.synced = true;
  switch (group->state) {
    case GroupState::empty:
      return done(sync_error(Errc::unknown_member_id));
    case GroupState::preparing_rebalance:
      return done(sync_error(Errc::rebalance_in_progress));
    case GroupState::stable: {
      SyncResult r;
      r.protocol_type = group->protocol_type;
      r.protocol_name = group->protocol_name;
      r.assignment = member.assignment;
      return done(std::move(r));
    }
    case GroupState::completing_rebalance:
      break;
    case GroupState::dead:
      return done(sync_error(Errc::unknown_member_id));
  }
  answer(member.pending_sync, sync_error(Errc::rebalance_in_progress));
  member.pending_sync = std::move(done);
  if (member.id != group->leader) return;  // parked until the leader's assignment arrives
  // The leader's assignment: every member gets its part, those left out a valid empty one.
  std::map<std::string, Bytes> given;
  for (auto& [id, bytes] : params.assignments) given[id] = std::move(bytes);
  for (auto& [id, m] : group->members) {
    auto g = given.find(id);
    if (g != given.end()) {
      m.assignment = std::move(g->second);
    } else {
      m.assignment = group->protocol_type == "consumer" ? empty_consumer_assignment() : Bytes{};
    }
  }
  store_group(*group, [this, group_id = group->id, generation = group->generation](
                          const Result<void>& stored) { finish_sync(group_id, generation, stored); });
}

void GroupCoordinator::finish_sync(const std::string& group_id, int32_t generation,
                                   const Result<void>& stored) {
  Group* group = find_group(group_id);
  if (!group || group->generation != generation ||
      group->state != GroupState::completing_rebalance) {
    return;
  }
  if (!stored) {
    KC_LOG(warn, "group", "could not store the group's assignment",
           {{"group", group_id}, {"error", stored.error().message()}});
    for (auto& [id, member] : group->members) {
      member.assignment.clear();
      answer(member.pending_sync, sync_error(Errc::coordinator_not_available));
    }
    prepare_rebalance(*group, "storing the assignment failed");
    return;
  }
  set_state(*group, GroupState::stable);
  for (auto& [id, member] : group->members) {
    SyncResult r;
    r.protocol_type = group->protocol_type;
    r.protocol_name = group->protocol_name;
    r.assignment = member.assignment;
    answer(member.pending_sync, std::move(r));
  }
}

// ---------------------------------------------------------------- heartbeat and leave

Errc GroupCoordinator::heartbeat(const std::string& group_id, const std::string& member_id,
                                 const std::optional<std::string>& instance_id,
                                 int32_t generation) {
  if (group_id.empty()) return Errc::invalid_group_id;
  if (auto e = coordinator_state(group_id); e != Errc::none) return e;
  Group* group = find_group(group_id);
  if (!group) return Errc::unknown_member_id;
  if (group->state == GroupState::dead) return Errc::coordinator_not_available;
  if (instance_id) {
    auto it = group->static_members.find(*instance_id);
    if (it != group->static_members.end() && it->second != member_id) {
      return Errc::fenced_instance_id;
    }
  }
  auto it = group->members.find(member_id);
  if (it == group->members.end() || group->state == GroupState::empty) {
    return Errc::unknown_member_id;
  }
  if (it->second.instance_id != instance_id) return Errc::fenced_instance_id;
  if (generation != group->generation) return Errc::illegal_generation;
  it->second.last_heartbeat_ms = now();
  return group->state == GroupState::preparing_rebalance ? Errc::rebalance_in_progress : Errc::none;
}

LeaveResult GroupCoordinator::leave(const std::string& group_id,
                                    const std::vector<MemberIdentity>& members) {
  LeaveResult result;
  if (group_id.empty()) {
    result.error = Errc::invalid_group_id;
    return result;
  }
  if (auto e = coordinator_state(group_id); e != Errc::none) {
    result.error = e;
    return result;
  }
  Group* group = find_group(group_id);
  if (!group || group->state == GroupState::dead) {
    result.error = Errc::unknown_member_id;
    return result;
  }
  bool removed_any = false;
  for (const auto& who : members) {
    std::string member_id = who.member_id;
    if (who.instance_id) {
      auto it = group->static_members.find(*who.instance_id);
      if (it == group->static_members.end()) {
        result.members.push_back(Errc::unknown_member_id);
        continue;
      }
      // An empty member id means "whoever holds this instance id" (admin removal).
      if (!member_id.empty() && it->second != member_id) {
        result.members.push_back(Errc::fenced_instance_id);
        continue;
      }
      member_id = it->second;
    }
    if (group->pending_members.erase(member_id) > 0) {
      result.members.push_back(Errc::none);
      removed_any = true;
      continue;
    }
    if (!group->members.contains(member_id)) {
      result.members.push_back(Errc::unknown_member_id);
      continue;
    }
    remove_member(*group, member_id, Errc::unknown_member_id, "");
    result.members.push_back(Errc::none);
    removed_any = true;
  }
  if (removed_any) after_member_removed(*group, "members left the group");
  return result;
}

void GroupCoordinator::remove_member(Group& group, const std::string& member_id, Errc answer_with,
                                     const std::string& reason) {
  auto node = group.members.extract(member_id);
  if (node.empty()) return;
  Member& member = node.mapped();
  if (member.instance_id) {
    auto it = group.static_members.find(*member.instance_id);
    if (it != group.static_members.end() && it->second == member_id) group.static_members.erase(it);
  }
  answer(member.pending_join, join_error(answer_with, member_id));
  answer(member.pending_sync, sync_error(answer_with));
  if (group.leader == member_id) {
    group.leader.clear();
    for (const auto& [id, m] : group.members) {
      if (m.pending_join) {
        group.leader = id;
        break;
      }
    }
    if (group.leader.empty() && !group.members.empty()) group.leader = group.members.begin()->first;
  }
  if (!reason.empty()) {
    KC_LOG(info, "group", "member removed", {{"group", group.id}, {"member", member_id}, {"reason", reason}});
  }
}

void GroupCoordinator::after_member_removed(Group& group, const std::string& reason) {
  switch (group.state) {
    case GroupState::stable:
    case GroupState::completing_rebalance:
      prepare_rebalance(group, reason);
      break;
    case GroupState::preparing_rebalance:
      maybe_complete_join(group);
      break;
    case GroupState::empty:
    case GroupState::dead:
      break;
  }
}

// ---------------------------------------------------------------- offsets

void GroupCoordinator::commit(CommitParams params, std::function<void(CommitResult)> done) {
  auto fail_all = [&](Errc e) {
    CommitResult r;
    r.partitions.assign(params.partitions.size(), e);
    done(std::move(r));
  };
  if (params.group_id.empty()) return fail_all(Errc::invalid_group_id);
  if (auto e = coordinator_state(params.group_id); e != Errc::none) return fail_all(e);
  Group* group = find_group(params.group_id);
  if (!group || group->state == GroupState::dead) {
    // Only a group outside group management (generation -1) may start with a commit.
    if (params.generation >= 0) return fail_all(Errc::illegal_generation);
    if (group) group->state = GroupState::empty;
    group = &get_or_create_group(params.group_id);
  } else {
    if (params.instance_id) {
      auto it = group->static_members.find(*params.instance_id);
      if (it != group->static_members.end() && it->second != params.member_id) {
        return fail_all(Errc::fenced_instance_id);
      }
    }
    if (params.generation < 0 && group->state == GroupState::empty) {
      // A simple consumer (assign(), no membership): nothing to check.
    } else if (group->state == GroupState::completing_rebalance) {
      return fail_all(Errc::rebalance_in_progress);
    } else if (!group->members.contains(params.member_id)) {
      return fail_all(Errc::unknown_member_id);
    } else if (params.generation != group->generation) {
      return fail_all(Errc::illegal_generation);
    } else {
      // Members may still commit during PreparingRebalance, before they rejoin: that is what
      // keeps duplicates low around a rebalance.
      group->members.at(params.member_id).last_heartbeat_ms = now();
    }
  }
  const int64_t t = now();
  CommitResult result;
  result.partitions.assign(params.partitions.size(), Errc::none);
  std::vector<GroupStore::Record> records;
  std::vector<std::pair<std::pair<std::string, int32_t>, OffsetValue>> accepted;
  for (size_t i = 0; i < params.partitions.size(); ++i) {
    const auto& p = params.partitions[i];
    if (p.metadata && p.metadata->size() > static_cast<size_t>(config_.metadata_max_bytes)) {
      result.partitions[i] = Errc::offset_metadata_too_large;
      continue;
    }
    OffsetValue value;
    value.offset = p.offset;
    value.leader_epoch = p.leader_epoch;
    value.metadata = p.metadata;
    value.commit_timestamp = t;
    value.expire_timestamp = params.retention_ms > 0 ? t + params.retention_ms : -1;
    records.push_back({OffsetKey{params.group_id, p.topic, p.partition}, encode_value(value)});
    accepted.push_back({{p.topic, p.partition}, value});
  }
  if (records.empty()) return done(std::move(result));
  const int32_t partition = group->partition;
  store_.append(partition, std::move(records),
                [this, group_id = params.group_id, accepted = std::move(accepted),
                 result = std::move(result), done = std::move(done)](const Result<void>& stored) mutable {
                  if (!stored) {
                    for (auto& e : result.partitions) {
                      if (e == Errc::none) e = Errc::coordinator_not_available;
                    }
                    return done(std::move(result));
                  }
                  // The group may have been deleted meanwhile; the records still say it exists.
                  Group& g = get_or_create_group(group_id);
                  if (g.state == GroupState::dead) g.state = GroupState::empty;
                  for (auto& [key, value] : accepted) g.offsets[key] = value;
                  done(std::move(result));
                });
}

OffsetFetchResult GroupCoordinator::fetch_offsets(const std::string& group_id,
                                                  const std::optional<TopicPartitions>& topics) const {
  OffsetFetchResult result;
  if (auto e = coordinator_state(group_id); e != Errc::none) {
    result.error = e;
    return result;
  }
  const Group* g = group(group_id);
  if (!topics) {
    if (!g) return result;
    for (const auto& [key, value] : g->offsets) {
      result.offsets.push_back({key.first, key.second, value.offset, value.leader_epoch,
                                value.metadata, Errc::none});
    }
    return result;
  }
  for (const auto& [topic, partitions] : *topics) {
    for (int32_t p : partitions) {
      FetchedOffset f;
      f.topic = topic;
      f.partition = p;
      f.metadata = std::string();
      if (g) {
        auto it = g->offsets.find({topic, p});
        if (it != g->offsets.end()) {
          f.offset = it->second.offset;
          f.leader_epoch = it->second.leader_epoch;
          f.metadata = it->second.metadata;
        }
      }
      result.offsets.push_back(std::move(f));
    }
  }
  return result;
}

void GroupCoordinator::delete_offsets(const std::string& group_id,
                                      const std::vector<std::pair<std::string, int32_t>>& partitions,
                                      std::function<void(Errc, std::vector<Errc>)> done) {
  if (auto e = coordinator_state(group_id); e != Errc::none) return done(e, {});
  Group* group = find_group(group_id);
  if (!group || group->state == GroupState::dead) return done(Errc::group_id_not_found, {});
  std::optional<std::set<std::string>> subscribed;
  if (group->state != GroupState::empty) {
    if (group->protocol_type != "consumer") return done(Errc::non_empty_group, {});
    subscribed = group->subscribed_topics();
    if (!subscribed) return done(Errc::non_empty_group, {});
  }
  std::vector<Errc> errors(partitions.size(), Errc::none);
  std::vector<GroupStore::Record> records;
  std::vector<std::pair<std::string, int32_t>> removed;
  for (size_t i = 0; i < partitions.size(); ++i) {
    const auto& [topic, partition] = partitions[i];
    if (subscribed && subscribed->contains(topic)) {
      errors[i] = Errc::group_subscribed_to_topic;
      continue;
    }
    if (group->offsets.contains({topic, partition})) {
      records.push_back({OffsetKey{group_id, topic, partition}, std::nullopt});
      removed.emplace_back(topic, partition);
    }
  }
  if (records.empty()) return done(Errc::none, std::move(errors));
  store_.append(group->partition, std::move(records),
                [this, group_id, removed = std::move(removed), errors = std::move(errors),
                 done = std::move(done)](const Result<void>& stored) mutable {
                  if (!stored) return done(Errc::coordinator_not_available, {});
                  if (Group* g = find_group(group_id)) {
                    for (const auto& key : removed) g->offsets.erase(key);
                  }
                  done(Errc::none, std::move(errors));
                });
}

void GroupCoordinator::forget_topic(const std::string& topic) {
  for (auto& [id, g] : groups_) {
    auto p = partitions_.find(g->partition);
    if (p == partitions_.end() || p->second.loading) continue;
    std::vector<GroupStore::Record> records;
    for (auto it = g->offsets.begin(); it != g->offsets.end();) {
      if (it->first.first == topic) {
        records.push_back({OffsetKey{id, topic, it->first.second}, std::nullopt});
        it = g->offsets.erase(it);
      } else {
        ++it;
      }
    }
    if (!records.empty()) store_.append(g->partition, std::move(records), [](const Result<void>&) {});
  }
}

// ---------------------------------------------------------------- admin

std::vector<GroupListing> GroupCoordinator::list_groups(Errc& error) const {
  error = Errc::none;
  for (const auto& [p, state] : partitions_) {
    if (state.loading) error = Errc::coordinator_load_in_progress;
  }
  std::vector<GroupListing> out;
  for (const auto& [id, g] : groups_) {
    if (g->state == GroupState::dead) continue;
    auto p = partitions_.find(g->partition);
    if (p == partitions_.end() || p->second.loading) continue;
    out.push_back({id, g->protocol_type, state_name(g->state)});
  }
  return out;
}

GroupDescription GroupCoordinator::describe(const std::string& group_id) const {
  GroupDescription d;
  d.group_id = group_id;
  d.state = state_name(GroupState::dead);
  if (auto e = coordinator_state(group_id); e != Errc::none) {
    d.error = e;
    return d;
  }
  const Group* g = group(group_id);
  if (!g || g->state == GroupState::dead) return d;
  d.state = state_name(g->state);
  d.protocol_type = g->protocol_type;
  const bool stable = g->state == GroupState::stable;
  if (stable) d.protocol_data = g->protocol_name.value_or("");
  for (const auto& [id, m] : g->members) {
    MemberDescription md;
    md.member_id = id;
    md.instance_id = m.instance_id;
    md.client_id = m.client_id;
    md.client_host = m.client_host;
    if (stable && g->protocol_name) {
      if (const Bytes* metadata = m.metadata_for(*g->protocol_name)) md.metadata = *metadata;
      md.assignment = m.assignment;
    }
    d.members.push_back(std::move(md));
  }
  return d;
}

void GroupCoordinator::delete_groups(const std::vector<std::string>& group_ids,
                                     std::function<void(std::vector<Errc>)> done) {
  struct Pending {
    std::vector<Errc> errors;
    size_t outstanding = 0;
    std::function<void(std::vector<Errc>)> done;
  };
  auto pending = std::make_shared<Pending>();
  pending->errors.assign(group_ids.size(), Errc::none);
  pending->done = std::move(done);
  pending->outstanding = 1;  // released below, after every append was issued
  auto release = [pending] {
    if (--pending->outstanding == 0) pending->done(std::move(pending->errors));
  };
  for (size_t i = 0; i < group_ids.size(); ++i) {
    const std::string& id = group_ids[i];
    if (auto e = coordinator_state(id); e != Errc::none) {
      pending->errors[i] = e;
      continue;
    }
    Group* g = find_group(id);
    if (!g || g->state == GroupState::dead) {
      pending->errors[i] = Errc::group_id_not_found;
      continue;
    }
    if (g->state != GroupState::empty) {
      pending->errors[i] = Errc::non_empty_group;
      continue;
    }
    std::vector<GroupStore::Record> records;
    for (const auto& [key, value] : g->offsets) {
      records.push_back({OffsetKey{id, key.first, key.second}, std::nullopt});
    }
    records.push_back({GroupKey{id}, std::nullopt});
    // Dead at once: nothing may join or commit into a group being deleted.
    set_state(*g, GroupState::dead);
    auto offsets = std::move(g->offsets);
    g->offsets.clear();
    ++pending->outstanding;
    store_.append(g->partition, std::move(records),
                  [this, pending, i, id, release, offsets = std::move(offsets)](
                      const Result<void>& stored) mutable {
                    if (!stored) {
                      pending->errors[i] = Errc::coordinator_not_available;
                      Group* back = find_group(id);
                      if (back && back->state == GroupState::dead) {
                        back->state = GroupState::empty;
                        back->offsets = std::move(offsets);
                      }
                    } else {
                      forget_group_if_dead(id);
                    }
                    release();
                  });
  }
  release();
}

void GroupCoordinator::forget_group_if_dead(const std::string& group_id) {
  auto it = groups_.find(group_id);
  if (it != groups_.end() && it->second->state == GroupState::dead) groups_.erase(it);
}

// ---------------------------------------------------------------- persistence

GroupValue GroupCoordinator::group_value(const Group& group) const {
  GroupValue v;
  v.protocol_type = group.protocol_type;
  v.generation = group.generation;
  v.protocol_name = group.protocol_name;
  if (!group.leader.empty()) v.leader = group.leader;
  v.state_timestamp = group.state_timestamp_ms;
  for (const auto& [id, m] : group.members) {
    MemberValue mv;
    mv.member_id = id;
    mv.instance_id = m.instance_id;
    mv.client_id = m.client_id;
    mv.client_host = m.client_host;
    mv.rebalance_timeout_ms = m.rebalance_timeout_ms;
    mv.session_timeout_ms = m.session_timeout_ms;
    if (group.protocol_name) {
      if (const Bytes* metadata = m.metadata_for(*group.protocol_name)) mv.subscription = *metadata;
    }
    mv.assignment = m.assignment;
    v.members.push_back(std::move(mv));
  }
  return v;
}

void GroupCoordinator::store_group(Group& group, std::function<void(const Result<void>&)> done) {
  std::vector<GroupStore::Record> records;
  records.push_back({GroupKey{group.id}, encode_value(group_value(group))});
  store_.append(group.partition, std::move(records), std::move(done));
}

// ---------------------------------------------------------------- time

void GroupCoordinator::tick() {
  const int64_t t = now();
  std::vector<std::string> ids;
  ids.reserve(groups_.size());
  for (const auto& [id, g] : groups_) ids.push_back(id);
  for (const auto& id : ids) {
    Group* g = find_group(id);
    if (!g) continue;
    auto p = partitions_.find(g->partition);
    if (p == partitions_.end() || p->second.loading) continue;
    expire_deadlines(*g, t);
  }
  if (t >= next_retention_check_ms_) {
    next_retention_check_ms_ = t + config_.retention_check_interval_ms;
    expire_offsets(t);
  }
}

void GroupCoordinator::expire_deadlines(Group& group, int64_t t) {
  bool removed = false;
  for (auto it = group.pending_members.begin(); it != group.pending_members.end();) {
    if (t >= it->second) {
      it = group.pending_members.erase(it);
      removed = true;
    } else {
      ++it;
    }
  }
  std::vector<std::string> expired;
  for (const auto& [id, m] : group.members) {
    if (m.pending_join) {
      // Parked in JoinGroup: cannot heartbeat. Only a new member that vanished is dropped here;
      // the rebalance timeout takes care of the others.
      if (m.is_new && t >= m.joined_at_ms + config_.new_member_join_timeout_ms) expired.push_back(id);
    } else if (m.pending_sync) {
      continue;  // parked in SyncGroup, waiting for the leader
    } else if (t >= m.last_heartbeat_ms + m.session_timeout_ms) {
      expired.push_back(id);
    }
  }
  // Members that got their JoinGroup answer but never sent SyncGroup.
  if ((group.state == GroupState::completing_rebalance || group.state == GroupState::stable) &&
      group.sync_deadline_ms > 0 && t >= group.sync_deadline_ms) {
    for (const auto& [id, m] : group.members) {
      if (!m.synced && std::find(expired.begin(), expired.end(), id) == expired.end()) {
        expired.push_back(id);
      }
    }
    group.sync_deadline_ms = 0;
  }
  for (const auto& id : expired) {
    remove_member(group, id, Errc::unknown_member_id, "session or rebalance timeout expired");
    removed = true;
  }
  if (removed) after_member_removed(group, "members timed out");
  if (group.state == GroupState::preparing_rebalance && t >= group.join_deadline_ms) {
    complete_join(group);
  }
}

void GroupCoordinator::expire_offsets(int64_t t) {
  const int64_t retention = config_.offsets_retention_ms;
  std::vector<std::string> ids;
  for (const auto& [id, g] : groups_) ids.push_back(id);
  for (const auto& id : ids) {
    Group* g = find_group(id);
    if (!g || g->state == GroupState::dead) continue;
    auto p = partitions_.find(g->partition);
    if (p == partitions_.end() || p->second.loading) continue;
    // KIP-211: a group's offsets live as long as the group does; the clock starts when it
    // becomes empty. Offsets of a group that never had members expire per commit. In a live
    // consumer group, offsets of topics nobody subscribes to any more expire per commit too.
    std::optional<std::set<std::string>> subscribed;
    if (g->state != GroupState::empty) {
      subscribed = g->subscribed_topics();
      if (!subscribed) continue;
    }
    std::vector<GroupStore::Record> records;
    std::vector<std::pair<std::string, int32_t>> gone;
    for (const auto& [key, value] : g->offsets) {
      bool expire = false;
      if (value.expire_timestamp >= 0) {
        expire = t >= value.expire_timestamp;
      } else if (subscribed) {
        expire = !subscribed->contains(key.first) && t >= value.commit_timestamp + retention;
      } else if (!g->protocol_type.empty()) {
        expire = t >= g->state_timestamp_ms + retention;
      } else {
        expire = t >= value.commit_timestamp + retention;
      }
      if (expire) {
        records.push_back({OffsetKey{id, key.first, key.second}, std::nullopt});
        gone.push_back(key);
      }
    }
    for (const auto& key : gone) g->offsets.erase(key);
    const bool drop_group = g->state == GroupState::empty && g->offsets.empty();
    if (drop_group) {
      records.push_back({GroupKey{id}, std::nullopt});
      set_state(*g, GroupState::dead);
    }
    if (records.empty()) continue;
    KC_LOG(info, "group", "offsets expired",
           {{"group", id}, {"offsets", std::to_string(gone.size())},
            {"group_removed", drop_group ? "true" : "false"}});
    store_.append(g->partition, std::move(records), [this, id](const Result<void>& stored) {
      if (stored) forget_group_if_dead(id);
    });
  }
}

}  // namespace kafkacore::group
