#include "client/consumer_coordinator.h"

#include <algorithm>

#include "client/consumer_protocol.h"
#include "client/errors.h"
#include "common/log.h"

namespace kafkacore::client {

namespace {

constexpr int8_t kGroupKey = 0;
constexpr const char* kProtocolType = "consumer";

std::vector<TopicPartition> minus(const std::vector<TopicPartition>& a,
                                  const std::vector<TopicPartition>& b) {
  std::set<TopicPartition> drop(b.begin(), b.end());
  std::vector<TopicPartition> out;
  for (const TopicPartition& tp : a) {
    if (!drop.contains(tp)) out.push_back(tp);
  }
  return out;
}

std::vector<TopicPartitions> by_topic(const std::vector<TopicPartition>& partitions) {
  std::vector<TopicPartitions> out;
  for (const TopicPartition& tp : partitions) {  // sorted: topics are contiguous
    if (out.empty() || out.back().topic != tp.topic) out.push_back({tp.topic, {}});
    out.back().partitions.push_back(tp.partition);
  }
  return out;
}

}  // namespace

ConsumerCoordinator::ConsumerCoordinator(NetworkClient& network, const ConsumerConfig& config,
                                         SubscriptionState& subscriptions, Hooks hooks)
    : network_(network), config_(config), subscriptions_(subscriptions), hooks_(std::move(hooks)) {
  for (const std::string& name : config_.assignment_strategies) {
    if (auto a = make_assignor(name)) assignors_.push_back(std::move(a));
  }
  // Java's rule: cooperative rebalancing only if every configured assignor supports it (the
  // default "range,cooperative-sticky" is therefore eager).
  cooperative_ = !assignors_.empty() &&
                 std::ranges::all_of(assignors_, [](const auto& a) { return a->cooperative(); });
  tick_timer_ = std::make_unique<asio::steady_timer>(network_.io());
  tick();
}

ConsumerCoordinator::~ConsumerCoordinator() { *alive_ = false; }

Assignor* ConsumerCoordinator::assignor(const std::string& name) const {
  for (const auto& a : assignors_) {
    if (a->name() == name) return a.get();
  }
  return nullptr;
}

bool ConsumerCoordinator::rebalancing() const {
  return state_ == State::preparing || state_ == State::joining || state_ == State::syncing ||
         state_ == State::completing || (activated_ && state_ == State::unjoined);
}

void ConsumerCoordinator::fail(Error error) {
  if (failed_) return;
  failed_ = true;
  KC_LOG(error, "consumer", "group membership failed", {{"error", error.to_string()}});
  hooks_.fatal(error);
}

void ConsumerCoordinator::coordinator_failed() {
  if (!coordinator_) return;
  network_.forget_coordinator(*config_.group_id, kGroupKey);
  coordinator_.reset();
}

void ConsumerCoordinator::retry_later(std::function<void()> fn) {
  auto timer =
      std::make_shared<asio::steady_timer>(network_.io(), network_.options().retry_backoff);
  timer->async_wait([this, timer, fn = std::move(fn), alive = alive_,
                     epoch = epoch_](boost::system::error_code ec) {
    if (ec || !*alive || closed_ || failed_ || epoch != epoch_) return;
    fn();
  });
}

void ConsumerCoordinator::reset_generation(bool reset_member_id, const std::string& reason) {
  KC_LOG(info, "consumer", "resetting group membership",
         {{"group", *config_.group_id}, {"member", member_id_}, {"reason", reason}});
  generation_ = -1;
  if (reset_member_id) member_id_.clear();
  protocol_.clear();
  leader_ = false;
  rejoin_needed_ = true;
  prepared_ = false;  // the next round starts with a prepare step (reporting partitions lost)
  assignment_snapshot_.clear();
  if (state_ == State::stable) state_ = State::unjoined;
}

// ---- driving the join

void ConsumerCoordinator::on_poll_start() {
  in_poll_ = true;
  last_poll_ = Clock::now();
  activated_ = true;
  step();
}

void ConsumerCoordinator::on_poll_end() {
  in_poll_ = false;
  last_poll_ = Clock::now();
}

void ConsumerCoordinator::request_rejoin(const std::string& reason) {
  if (!rejoin_needed_) {
    KC_LOG(debug, "consumer", "rejoin requested", {{"reason", reason}});
  }
  rejoin_needed_ = true;
  step();
}

void ConsumerCoordinator::step() {
  if (closed_ || failed_ || !activated_ || !subscriptions_.auto_assigned()) return;
  if (state_ == State::inactive) state_ = State::unjoined;
  if (state_ != State::unjoined && state_ != State::stable) return;  // under way
  // A pattern is matched against the whole topic list: join once there is one (Java too).
  if (subscriptions_.type() == SubscriptionType::pattern && network_.metadata().generation == 0) {
    return;
  }
  if (state_ == State::stable && subscriptions_.topics() != joined_topics_) rejoin_needed_ = true;
  if (!rejoin_needed_) return;
  if (!prepared_) return start_prepare();
  send_join();
}

void ConsumerCoordinator::start_prepare() {
  prepared_ = true;
  std::vector<TopicPartition> owned = subscriptions_.assigned();
  RebalanceEvent event;
  event.kind = RebalanceEvent::Kind::prepare;
  if (generation_ < 0) {
    // The membership was lost (or this is the first join): nothing can be committed.
    if (owned.empty()) return send_join();
    event.lost = true;
    event.revoked = std::move(owned);
  } else if (!cooperative_) {
    event.revoked = std::move(owned);
    event.commit = config_.enable_auto_commit;
  } else {
    // Cooperative: keep everything still subscribed; the assignment decides what moves.
    for (const TopicPartition& tp : owned) {
      if (!subscriptions_.topics().contains(tp.topic)) event.revoked.push_back(tp);
    }
    event.commit = config_.enable_auto_commit;
    if (!event.commit && event.revoked.empty()) return send_join();
  }
  event.id = next_event_id_++;
  pending_event_ = event.id;
  state_ = State::preparing;
  hooks_.emit(std::move(event));
}

void ConsumerCoordinator::event_done(uint64_t id) {
  if (id == 0 || id != pending_event_) return;
  pending_event_ = 0;
  if (state_ == State::preparing) {
    state_ = State::unjoined;
    step();
  } else if (state_ == State::completing) {
    state_ = State::stable;
    prepared_ = false;
    // KIP-429: partitions revoked in this round go to their new owner in a second round.
    if (cooperative_ && !pending_revoked_.empty()) rejoin_needed_ = true;
    pending_revoked_.clear();
    if (generation_ < 0 || metadata_changed(network_.metadata())) rejoin_needed_ = true;
    step();
  }
}

void ConsumerCoordinator::send_join() {
  state_ = State::joining;
  if (!coordinator_) {
    network_.find_coordinator(
        *config_.group_id, kGroupKey, [this, alive = alive_, epoch = epoch_](Result<int32_t> r) {
          if (!*alive || closed_ || failed_ || epoch != epoch_ || state_ != State::joining) return;
          if (!r) {
            if (!retriable(r.error().code())) return fail(r.error());
            return retry_later([this] { send_join(); });
          }
          coordinator_ = *r;
          send_join();
        });
    return;
  }
  joined_topics_ = subscriptions_.topics();
  std::vector<TopicPartition> owned = subscriptions_.assigned();
  std::vector<protocol::JoinGroupRequest::JoinGroupRequestProtocol> protocols;
  for (const auto& a : assignors_) {
    Subscription s;
    s.topics.assign(joined_topics_.begin(), joined_topics_.end());
    s.user_data = a->subscription_user_data(generation_);
    s.owned_partitions = by_topic(owned);
    s.generation_id = generation_;
    s.rack_id = config_.client_rack;
    protocols.push_back({a->name(), encode_subscription(s), {}});
  }
  const auto rebalance_timeout = config_.max_poll_interval;
  network_.send<protocol::JoinGroupRequest>(
      *coordinator_,
      [this, protocols = std::move(protocols)](int16_t) {
        protocol::JoinGroupRequest request;
        request.group_id = *config_.group_id;
        request.session_timeout_ms = static_cast<int32_t>(config_.session_timeout.count());
        request.rebalance_timeout_ms = static_cast<int32_t>(config_.max_poll_interval.count());
        request.member_id = member_id_;
        request.group_instance_id = config_.group_instance_id;
        request.protocol_type = kProtocolType;
        request.protocols = protocols;
        return request;
      },
      [this, alive = alive_, epoch = epoch_](Result<Response<protocol::JoinGroupResponse>> r) {
        if (!*alive || closed_ || failed_ || epoch != epoch_) return;
        on_join(std::move(r));
      },
      SendOptions{.min_version = static_cast<int16_t>(config_.group_instance_id ? 5 : 0),
                  .max_version = INT16_MAX,
                  // The coordinator holds JoinGroup until every member rejoined (Java's margin).
                  .timeout = std::max(network_.options().request_timeout,
                                      rebalance_timeout + std::chrono::milliseconds(5000))});
}

void ConsumerCoordinator::on_join(Result<Response<protocol::JoinGroupResponse>> r) {
  if (!r) {
    KC_LOG(debug, "consumer", "JoinGroup failed", {{"error", r.error().to_string()}});
    if (invalidates_coordinator(r.error().code())) coordinator_failed();
    return retry_later([this] { send_join(); });
  }
  const auto& body = r->body;
  const auto code = static_cast<Errc>(body.error_code);
  switch (code) {
    case Errc::none: {
      member_id_ = body.member_id;
      generation_ = body.generation_id;
      protocol_ = body.protocol_name.value_or("");
      leader_ = body.leader == member_id_;
      if (!assignor(protocol_)) {
        return fail(Error(Errc::inconsistent_group_protocol,
                          "the group chose assignor '" + protocol_ +
                              "', which partition.assignment.strategy does not list"));
      }
      KC_LOG(debug, "consumer", "joined group",
             {{"group", *config_.group_id},
              {"member", member_id_},
              {"generation", std::to_string(generation_)},
              {"leader", leader_ ? "yes" : "no"}});
      if (leader_ && !body.skip_assignment) return assign_and_sync(body);
      return send_sync({});
    }
    case Errc::member_id_required:
      // KIP-394: the coordinator gave us an id; join again with it.
      member_id_ = body.member_id;
      return send_join();
    case Errc::unknown_member_id:
      reset_generation(true, "JoinGroup: unknown member id");
      state_ = State::unjoined;
      return step();
    case Errc::illegal_generation:
      reset_generation(false, "JoinGroup: illegal generation");
      state_ = State::unjoined;
      return step();
    case Errc::not_coordinator:
    case Errc::coordinator_not_available:
      coordinator_failed();
      return retry_later([this] { send_join(); });
    case Errc::coordinator_load_in_progress:
    case Errc::rebalance_in_progress:
      return retry_later([this] { send_join(); });
    case Errc::fenced_instance_id:
      return fail(Error(code, "JoinGroup: another consumer with group.instance.id '" +
                                  config_.group_instance_id.value_or("") +
                                  "' has joined the group"));
    default:
      return fail(Error(code, "JoinGroup for group '" + *config_.group_id +
                                  "' failed: " + std::string(errc_name(code))));
  }
}

std::map<std::string, int32_t> ConsumerCoordinator::partition_counts(
    const ClusterMetadata& metadata, const std::set<std::string>& topics) const {
  std::map<std::string, int32_t> counts;
  for (const std::string& t : topics) {
    const TopicInfo* info = metadata.topic(t);
    counts[t] =
        info && info->error == Errc::none ? static_cast<int32_t>(info->partitions.size()) : 0;
  }
  return counts;
}

bool ConsumerCoordinator::metadata_changed(const ClusterMetadata& metadata) const {
  // The leader assigned from these counts; a topic gaining partitions (or appearing) needs a
  // new assignment. Topics missing from this answer are not taken as changed.
  if (!leader_) return false;
  for (const auto& [topic, count] : assignment_snapshot_) {
    const TopicInfo* info = metadata.topic(topic);
    if (!info || info->error != Errc::none) continue;
    if (static_cast<int32_t>(info->partitions.size()) != count) return true;
  }
  return false;
}

void ConsumerCoordinator::assign_and_sync(const protocol::JoinGroupResponse& response) {
  state_ = State::syncing;
  auto members = std::make_shared<std::vector<MemberSubscription>>();
  std::set<std::string> topics;
  for (const auto& m : response.members) {
    MemberSubscription ms;
    ms.member_id = m.member_id;
    ms.group_instance_id = m.group_instance_id;
    if (auto s = decode_subscription(m.metadata)) {
      ms.subscription = std::move(*s);
    } else {
      KC_LOG(warn, "consumer", "undecodable subscription from a group member",
             {{"member", m.member_id}, {"error", s.error().to_string()}});
    }
    for (const std::string& t : ms.subscription.topics) topics.insert(t);
    members->push_back(std::move(ms));
  }
  // The leader assigns every member's topics, so it needs their metadata too (patterns).
  group_topics_ = topics;
  network_.want_topics(std::vector<std::string>(topics.begin(), topics.end()));
  auto finish = [this, members, topics, generation = generation_, epoch = epoch_] {
    if (closed_ || failed_ || epoch != epoch_ || state_ != State::syncing ||
        generation != generation_) {
      return;
    }
    assignment_snapshot_ = partition_counts(network_.metadata(), topics);
    std::map<std::string, int32_t> counts;
    for (const auto& [t, n] : assignment_snapshot_) {
      if (n > 0) counts[t] = n;
    }
    GroupAssignment assignment = assignor(protocol_)->assign(counts, *members);
    std::vector<protocol::SyncGroupRequest::SyncGroupRequestAssignment> out;
    for (const auto& [member, a] : assignment) out.push_back({member, encode_assignment(a), {}});
    send_sync(std::move(out));
  };
  const ClusterMetadata& md = network_.metadata();
  const bool all_known = std::ranges::all_of(topics, [&](const std::string& t) {
    const TopicInfo* info = md.topic(t);
    return info && info->error == Errc::none;
  });
  if (all_known) return finish();
  network_.update_metadata([finish, alive = alive_](Result<void>) {
    if (*alive) finish();  // topics still unknown are left out (and trigger a rebalance later)
  });
}

void ConsumerCoordinator::send_sync(
    std::vector<protocol::SyncGroupRequest::SyncGroupRequestAssignment> assignments) {
  state_ = State::syncing;
  if (!coordinator_) {  // defensive: nothing forgets it mid-rebalance today
    state_ = State::unjoined;
    rejoin_needed_ = true;
    return retry_later([this] { step(); });
  }
  network_.send<protocol::SyncGroupRequest>(
      *coordinator_,
      [this, assignments = std::move(assignments)](int16_t) {
        protocol::SyncGroupRequest request;
        request.group_id = *config_.group_id;
        request.generation_id = generation_;
        request.member_id = member_id_;
        request.group_instance_id = config_.group_instance_id;
        request.protocol_type = kProtocolType;
        request.protocol_name = protocol_;
        request.assignments = assignments;
        return request;
      },
      [this, alive = alive_, epoch = epoch_](Result<Response<protocol::SyncGroupResponse>> r) {
        if (!*alive || closed_ || failed_ || epoch != epoch_) return;
        on_sync(std::move(r));
      },
      SendOptions{.min_version = static_cast<int16_t>(config_.group_instance_id ? 3 : 0),
                  .max_version = INT16_MAX,
                  .timeout = std::max(network_.options().request_timeout,
                                      config_.session_timeout + std::chrono::milliseconds(5000))});
}

void ConsumerCoordinator::on_sync(Result<Response<protocol::SyncGroupResponse>> r) {
  auto rejoin = [this] {
    state_ = State::unjoined;
    rejoin_needed_ = true;
  };
  if (!r) {
    KC_LOG(debug, "consumer", "SyncGroup failed", {{"error", r.error().to_string()}});
    if (invalidates_coordinator(r.error().code())) coordinator_failed();
    rejoin();
    return retry_later([this] { step(); });
  }
  const auto code = static_cast<Errc>(r->body.error_code);
  switch (code) {
    case Errc::none:
      break;
    case Errc::rebalance_in_progress:
      rejoin();
      return step();
    case Errc::unknown_member_id:
      reset_generation(true, "SyncGroup: unknown member id");
      state_ = State::unjoined;
      return step();
    case Errc::illegal_generation:
      reset_generation(false, "SyncGroup: illegal generation");
      state_ = State::unjoined;
      return step();
    case Errc::not_coordinator:
    case Errc::coordinator_not_available:
      coordinator_failed();
      rejoin();
      return retry_later([this] { step(); });
    case Errc::fenced_instance_id:
      return fail(Error(code, "SyncGroup: another consumer with group.instance.id '" +
                                  config_.group_instance_id.value_or("") +
                                  "' has joined the group"));
    default:
      return fail(Error(code, "SyncGroup for group '" + *config_.group_id +
                                  "' failed: " + std::string(errc_name(code))));
  }
  auto decoded = decode_assignment(r->body.assignment);
  if (!decoded) {
    KC_LOG(warn, "consumer", "undecodable assignment; rejoining",
           {{"error", decoded.error().to_string()}});
    rejoin();
    return retry_later([this] { step(); });
  }
  std::vector<TopicPartition> assignment;
  bool foreign = false;
  for (const TopicPartitions& t : decoded->partitions) {
    // A leader with a newer view of a pattern may assign topics this member has not matched
    // yet; Java rejoins in that case, and so do we (after taking what it subscribes to).
    if (!subscriptions_.topics().contains(t.topic)) {
      foreign = true;
      continue;
    }
    for (int32_t p : t.partitions) assignment.push_back({t.topic, p});
  }
  std::ranges::sort(assignment);
  std::vector<TopicPartition> owned = subscriptions_.assigned();
  RebalanceEvent event;
  event.kind = RebalanceEvent::Kind::assigned;
  event.assignment = assignment;
  event.added = minus(assignment, owned);
  event.revoked = minus(owned, assignment);
  event.commit = config_.enable_auto_commit && !event.revoked.empty();
  event.id = next_event_id_++;
  pending_revoked_ = event.revoked;
  pending_event_ = event.id;
  rejoin_needed_ = foreign;
  state_ = State::completing;
  KC_LOG(debug, "consumer", "assignment received",
         {{"group", *config_.group_id},
          {"member", member_id_},
          {"generation", std::to_string(generation_)},
          {"partitions", std::to_string(assignment.size())}});
  hooks_.emit(std::move(event));
}

// ---- heartbeats and the poll timer

void ConsumerCoordinator::tick() {
  tick_timer_->expires_after(config_.heartbeat_interval);
  tick_timer_->async_wait([this, alive = alive_](boost::system::error_code ec) {
    if (ec || !*alive || closed_) return;
    tick();
  });
  if (closed_ || failed_) return;
  if (activated_ && !in_poll_ && generation_ >= 0 &&
      Clock::now() - last_poll_ > config_.max_poll_interval) {
    // Java's behaviour: a consumer that stopped polling leaves, so its partitions move on.
    KC_LOG(warn, "consumer",
           "poll() not called within max.poll.interval.ms; leaving the group (poll() rejoins)",
           {{"group", *config_.group_id}, {"member", member_id_}});
    leave("consumer poll timeout has expired", nullptr);
    return;
  }
  send_heartbeat();
}

void ConsumerCoordinator::send_heartbeat() {
  if (heartbeat_in_flight_ || generation_ < 0) return;
  if (state_ != State::stable && state_ != State::completing && state_ != State::preparing) return;
  if (!coordinator_) {
    network_.find_coordinator(*config_.group_id, kGroupKey,
                              [this, alive = alive_, epoch = epoch_](Result<int32_t> r) {
                                if (!*alive || closed_ || epoch != epoch_ || !r) return;
                                if (!coordinator_) coordinator_ = *r;
                              });
    return;
  }
  heartbeat_in_flight_ = true;
  const int32_t generation = generation_;
  network_.send<protocol::HeartbeatRequest>(
      *coordinator_,
      [this](int16_t) {
        protocol::HeartbeatRequest request;
        request.group_id = *config_.group_id;
        request.generation_id = generation_;
        request.member_id = member_id_;
        request.group_instance_id = config_.group_instance_id;
        return request;
      },
      [this, alive = alive_, epoch = epoch_,
       generation](Result<Response<protocol::HeartbeatResponse>> r) {
        if (!*alive) return;
        heartbeat_in_flight_ = false;
        if (closed_ || failed_ || epoch != epoch_ || generation != generation_) return;
        on_heartbeat(generation, std::move(r));
      },
      SendOptions{.min_version = static_cast<int16_t>(config_.group_instance_id ? 3 : 0),
                  .max_version = INT16_MAX,
                  .timeout = {}});
}

void ConsumerCoordinator::on_heartbeat(int32_t, Result<Response<protocol::HeartbeatResponse>> r) {
  // A rebalance already under way will find out for itself.
  if (state_ == State::joining || state_ == State::syncing) return;
  if (!r) {
    if (invalidates_coordinator(r.error().code())) coordinator_failed();
    return;
  }
  const auto code = static_cast<Errc>(r->body.error_code);
  switch (code) {
    case Errc::none:
      return;
    case Errc::rebalance_in_progress:
      rejoin_needed_ = true;
      return step();
    case Errc::illegal_generation:
      reset_generation(false, "Heartbeat: illegal generation");
      return step();
    case Errc::unknown_member_id:
      reset_generation(true, "Heartbeat: unknown member id");
      return step();
    case Errc::fenced_instance_id:
      return fail(Error(code, "Heartbeat: another consumer with group.instance.id '" +
                                  config_.group_instance_id.value_or("") +
                                  "' has joined the group"));
    default:
      if (invalidates_coordinator(code)) coordinator_failed();
      KC_LOG(debug, "consumer", "heartbeat error", {{"error", std::string(errc_name(code))}});
      return;
  }
}

// ---- commits

Result<CommitIdentity> ConsumerCoordinator::commit_identity() const {
  if (!subscriptions_.auto_assigned()) return CommitIdentity{};  // manual: no membership
  // While JoinGroup is out the group is PreparingRebalance and still accepts commits of the
  // generation it had (Kafka's coordinator too): committing there, unlike Java's client, saves
  // cooperative members from replaying what they consumed meanwhile. Between the join answer
  // and SyncGroup (CompletingRebalance) the coordinator refuses commits.
  if (generation_ >= 0 && (state_ == State::stable || state_ == State::preparing ||
                           state_ == State::completing || state_ == State::joining)) {
    return CommitIdentity{generation_, member_id_, config_.group_instance_id};
  }
  if (state_ == State::joining || state_ == State::syncing) {
    return make_error(Errc::rebalance_in_progress,
                      "commit failed: the group is rebalancing; poll() to complete the "
                      "rebalance, then commit again");
  }
  return make_error(Errc::illegal_generation,
                    "commit failed: the consumer is not an active member of its group (poll() "
                    "joins it)");
}

void ConsumerCoordinator::on_commit_error(Errc code) {
  if (state_ == State::joining || state_ == State::syncing) return;
  switch (code) {
    case Errc::unknown_member_id:
      reset_generation(true, "OffsetCommit: unknown member id");
      break;
    case Errc::illegal_generation:
      reset_generation(false, "OffsetCommit: illegal generation");
      break;
    case Errc::rebalance_in_progress:
      rejoin_needed_ = true;
      break;
    case Errc::fenced_instance_id:
      return fail(Error(code, "OffsetCommit: another consumer with group.instance.id '" +
                                  config_.group_instance_id.value_or("") +
                                  "' has joined the group"));
    default:
      return;
  }
  step();
}

// ---- leaving

void ConsumerCoordinator::on_metadata(const ClusterMetadata& metadata) {
  if (!subscriptions_.auto_assigned() || closed_) return;
  if (subscriptions_.type() == SubscriptionType::pattern &&
      subscriptions_.update_pattern_topics(metadata, config_.exclude_internal_topics)) {
    const auto& topics = subscriptions_.topics();
    network_.want_topics(std::vector<std::string>(topics.begin(), topics.end()));
  }
  if (state_ == State::stable && metadata_changed(metadata)) {
    rejoin_needed_ = true;
  }
  step();
}

void ConsumerCoordinator::leave(const std::string& reason, std::function<void()> done) {
  ++epoch_;  // drops answers and retries of the membership being left
  heartbeat_in_flight_ = false;
  const bool send = !member_id_.empty() && !config_.group_instance_id && coordinator_ &&
                    state_ != State::inactive;
  const std::string member = member_id_;
  reset_generation(true, reason);
  state_ = State::inactive;
  activated_ = false;
  pending_event_ = 0;
  pending_revoked_.clear();
  joined_topics_.clear();
  if (!send || closed_) {
    if (done) done();
    return;
  }
  network_.send<protocol::LeaveGroupRequest>(
      *coordinator_,
      [group = *config_.group_id, member, reason](int16_t version) {
        protocol::LeaveGroupRequest request;
        request.group_id = group;
        if (version >= 3) {
          auto& m = request.members.emplace_back();
          m.member_id = member;
          m.reason = reason;
        } else {
          request.member_id = member;
        }
        return request;
      },
      [done = std::move(done), alive = alive_](Result<Response<protocol::LeaveGroupResponse>> r) {
        if (!*alive) return;
        if (!r) {
          KC_LOG(debug, "consumer", "LeaveGroup failed", {{"error", r.error().to_string()}});
        }
        if (done) done();
      });
}

void ConsumerCoordinator::close() {
  closed_ = true;
  ++epoch_;
  tick_timer_->cancel();
}

}  // namespace kafkacore::client
