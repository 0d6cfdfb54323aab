#include "metadata/controller.h"

#include <algorithm>
#include <charconv>

namespace kafkacore::metadata {
namespace {

bool contains(const std::vector<int32_t>& v, int32_t x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

std::vector<int32_t> without(std::vector<int32_t> v, int32_t x) {
  std::erase(v, x);
  return v;
}

// KIP-966: the high watermark stands still while the ISR is below min.insync.replicas, so the
// replicas that leave it then keep every committed record and stay eligible (ELR). Once the
// ISR is back at min.insync.replicas the HW moves past them again: the ELR is cleared.
std::vector<int32_t> next_elr(const std::vector<int32_t>& isr_before,
                              const std::vector<int32_t>& elr_before,
                              const std::vector<int32_t>& isr, int32_t min_isr) {
  if (static_cast<int32_t>(isr.size()) >= min_isr) return {};
  std::vector<int32_t> out;
  for (const auto* from : {&elr_before, &isr_before}) {
    for (int32_t r : *from) {
      if (!contains(isr, r) && !contains(out, r)) out.push_back(r);
    }
  }
  return out;
}

// A config value from the first map that has it.
std::optional<std::string> config_value(const std::string& key,
                                        std::initializer_list<std::map<std::string, std::string>> maps) {
  for (const auto& m : maps) {
    if (auto it = m.find(key); it != m.end()) return it->second;
  }
  return std::nullopt;
}

}  // namespace

Controller::Controller(ControllerConfig config, Clock& clock, uint64_t seed)
    : config_(config), clock_(clock), rng_(seed),
      committed_(MetadataImage::empty()), working_(MetadataImage::empty()) {}

void Controller::committed(ImagePtr image) {
  committed_ = image;
  if (image->offset() >= last_proposed_) working_ = committed_;
}

void Controller::reset(ImagePtr committed_image) {
  committed_ = committed_image;
  working_ = committed_image;
  last_proposed_ = committed_image->offset();
  last_heartbeat_ms_.clear();
  const int64_t now = clock_.now_ms();
  // A loss older than a session says nothing any more: the broker may have come back and
  // heartbeated to the previous controller since.
  std::erase_if(lost_, [&](const auto& e) { return now - e.second.at_ms >= config_.broker_session_timeout_ms; });
  for (const auto& [id, b] : working_->brokers()) last_heartbeat_ms_[id] = now;
  next_rebalance_check_ms_ = now + config_.leader_imbalance_check_interval_ms;
}

Records Controller::commit_speculatively(Records records) {
  if (!records.empty()) working_ = working_->apply(records, working_->offset());
  return records;
}

Records Controller::bootstrap(const Uuid& cluster_id) {
  if (!working_->cluster_id().is_zero()) return {};
  return commit_speculatively({ClusterRecord{cluster_id}});
}

Result<Records> Controller::register_broker(const BrokerRegistration& r) {
  if (r.broker_id < 0) return make_error(Errc::invalid_request, "broker ids are >= 0");
  const BrokerState* existing = working_->broker(r.broker_id);
  int64_t epoch = existing ? existing->epoch + 1 : 1;
  Records out;
  if (existing && !existing->fenced) {
    // The previous incarnation is gone (restart): its leaderships move before the new one
    // comes back fenced.
    out = commit_speculatively(move_away_from(r.broker_id));
  }
  if (existing && !r.clean_shutdown) {
    auto forgotten = forget_unclean(r.broker_id);
    out.insert(out.end(), forgotten.begin(), forgotten.end());
  }
  Records registered{RegisterBrokerRecord{r.broker_id, r.incarnation, epoch, r.host, r.port, r.rack}};
  commit_speculatively(registered);
  out.insert(out.end(), registered.begin(), registered.end());
  last_heartbeat_ms_[r.broker_id] = clock_.now_ms();
  lost_.erase(r.broker_id);
  return out;
}

Result<std::pair<Records, bool>> Controller::heartbeat(int32_t broker_id, int64_t epoch,
                                                        int64_t metadata_offset) {
  const BrokerState* b = working_->broker(broker_id);
  if (!b) return make_error(Errc::invalid_request, "broker " + std::to_string(broker_id) + " is not registered");
  if (b->epoch != epoch) {
    return make_error(Errc::invalid_request, "stale broker epoch " + std::to_string(epoch) +
                                                 " (current " + std::to_string(b->epoch) + ")");
  }
  last_heartbeat_ms_[broker_id] = clock_.now_ms();
  lost_.erase(broker_id);
  Records out;
  // Unfence once the broker has seen its own registration (it knows its epoch is committed).
  if (b->fenced && metadata_offset >= 0 && committed_->broker(broker_id) &&
      committed_->broker(broker_id)->epoch == epoch) {
    out.push_back(UnfenceBrokerRecord{broker_id, epoch});
    commit_speculatively(out);
    auto elected = elect_for_returning(broker_id);
    out.insert(out.end(), elected.begin(), elected.end());
  }
  const bool fenced = working_->broker(broker_id)->fenced;
  return std::pair{std::move(out), fenced};
}

Result<std::vector<std::vector<int32_t>>> Controller::place(int32_t first, int32_t count, int16_t rf) {
  std::vector<int32_t> live;
  for (const auto& [id, b] : working_->brokers()) {
    if (!b.fenced) live.push_back(id);
  }
  if (rf <= 0) return make_error(Errc::invalid_replication_factor, "replication factor must be positive");
  if (static_cast<size_t>(rf) > live.size()) {
    return make_error(Errc::invalid_replication_factor,
                      "replication factor " + std::to_string(rf) + " is larger than the number of "
                      "available brokers (" + std::to_string(live.size()) + ")");
  }
  // A random start spreads the leaders of many small topics; consecutive partitions then
  // rotate through the brokers.
  const size_t n = live.size();
  const size_t start = std::uniform_int_distribution<size_t>(0, n - 1)(rng_);
  std::vector<std::vector<int32_t>> out;
  for (int32_t p = first; p < first + count; ++p) {
    std::vector<int32_t> replicas;
    for (int16_t j = 0; j < rf; ++j) replicas.push_back(live[(start + static_cast<size_t>(p) + static_cast<size_t>(j)) % n]);
    out.push_back(std::move(replicas));
  }
  return out;
}

Result<Records> Controller::create_topic(const std::string& name, int32_t partitions,
                                         int16_t replication_factor,
                                         const std::map<std::string, std::string>& configs,
                                         const std::vector<std::vector<int32_t>>& assignment) {
  if (auto r = validate_topic_name(name); !r) return std::unexpected(r.error());
  if (working_->topic(name)) return make_error(Errc::topic_already_exists, "topic '" + name + "' already exists");
  std::vector<std::vector<int32_t>> placement = assignment;
  if (!assignment.empty()) {
    for (const auto& replicas : assignment) {
      if (replicas.empty() || replicas.size() != assignment.front().size()) {
        return make_error(Errc::invalid_replica_assignment, "every partition needs the same number (> 0) of replicas");
      }
      for (size_t i = 0; i < replicas.size(); ++i) {
        if (!working_->broker(replicas[i])) {
          return make_error(Errc::invalid_replica_assignment, "broker " + std::to_string(replicas[i]) + " is not registered");
        }
        if (std::find(replicas.begin(), replicas.begin() + static_cast<std::ptrdiff_t>(i), replicas[i]) !=
            replicas.begin() + static_cast<std::ptrdiff_t>(i)) {
          return make_error(Errc::invalid_replica_assignment, "a partition names broker " + std::to_string(replicas[i]) + " twice");
        }
      }
    }
  } else {
    if (partitions == -1) partitions = config_.default_partitions;
    if (replication_factor == -1) replication_factor = config_.default_replication_factor;
    if (partitions <= 0) return make_error(Errc::invalid_partitions, "number of partitions must be positive");
    auto placed = place(0, partitions, replication_factor);
    if (!placed) return std::unexpected(placed.error());
    placement = std::move(*placed);
  }
  Uuid id = Uuid::random();
  Records out;
  out.push_back(TopicRecord{name, id});
  for (int32_t p = 0; p < static_cast<int32_t>(placement.size()); ++p) {
    const auto& replicas = placement[static_cast<size_t>(p)];
    // In sync from the start: the replicas on live brokers (all of them when placed by us).
    std::vector<int32_t> isr;
    for (int32_t r : replicas) {
      const BrokerState* b = working_->broker(r);
      if (b && !b->fenced) isr.push_back(r);
    }
    if (isr.empty()) isr = replicas;
    out.push_back(PartitionRecord{id, p, replicas, isr, isr.front(), 0, 0});
  }
  for (const auto& [k, v] : configs) out.push_back(ConfigRecord{ConfigResource::topic, name, k, v});
  return commit_speculatively(std::move(out));
}

Result<Records> Controller::delete_topic(const std::string& name) {
  const TopicState* t = working_->topic(name);
  if (!t) return make_error(Errc::unknown_topic_or_partition, "topic '" + name + "' does not exist");
  return commit_speculatively({RemoveTopicRecord{t->id}});
}

Result<Records> Controller::create_partitions(const std::string& name, int32_t count) {
  const TopicState* t = working_->topic(name);
  if (!t) return make_error(Errc::unknown_topic_or_partition, "topic '" + name + "' does not exist");
  const auto current = static_cast<int32_t>(t->partitions.size());
  if (count <= current) {
    return make_error(Errc::invalid_partitions,
                      "topic currently has " + std::to_string(current) + " partitions, " +
                          std::to_string(count) + " would not be an increase");
  }
  const auto rf = static_cast<int16_t>(t->partitions.front().replicas.size());
  auto placement = place(current, count - current, rf);
  if (!placement) return std::unexpected(placement.error());
  Records out;
  for (int32_t p = current; p < count; ++p) {
    const auto& replicas = (*placement)[static_cast<size_t>(p - current)];
    out.push_back(PartitionRecord{t->id, p, replicas, replicas, replicas.front(), 0, 0});
  }
  return commit_speculatively(std::move(out));
}

Result<Records> Controller::alter_configs(
    ConfigResource resource, const std::string& name,
    const std::map<std::string, std::optional<std::string>>& changes) {
  if (resource == ConfigResource::topic && !working_->topic(name)) {
    return make_error(Errc::unknown_topic_or_partition, "topic '" + name + "' does not exist");
  }
  Records out;
  for (const auto& [k, v] : changes) out.push_back(ConfigRecord{resource, name, k, v});
  commit_speculatively(out);
  const bool cluster_wide = resource == ConfigResource::broker && name.empty();
  if (resource != ConfigResource::topic && !cluster_wide) return out;
  const std::string topic = cluster_wide ? "" : name;
  if (changes.contains("min.insync.replicas")) {
    // KIP-966: ELR members were chosen against the old minimum; start over.
    Records cleared;
    for (const auto& [n, t] : working_->topics()) {
      if (!topic.empty() && n != topic) continue;
      for (size_t i = 0; i < t.partitions.size(); ++i) {
        if (t.partitions[i].elr.empty()) continue;
        PartitionChangeRecord c{t.id, static_cast<int32_t>(i), std::nullopt, std::nullopt, std::nullopt};
        c.elr = std::vector<int32_t>{};
        cleared.push_back(std::move(c));
      }
    }
    commit_speculatively(cleared);
    out.insert(out.end(), cleared.begin(), cleared.end());
  }
  if (changes.contains("unclean.leader.election.enable")) {
    // Turning it on elects leaderless partitions at once, as Kafka's controller does.
    auto elected = elect_offline(topic);
    out.insert(out.end(), elected.begin(), elected.end());
  }
  return out;
}

Result<Records> Controller::alter_partition(const Uuid& topic_id, int32_t partition,
                                            int32_t leader, int32_t leader_epoch,
                                            int32_t partition_epoch,
                                            const std::vector<int32_t>& isr) {
  const TopicState* t = working_->topic_by_id(topic_id);
  if (!t || partition < 0 || static_cast<size_t>(partition) >= t->partitions.size()) {
    return make_error(Errc::unknown_topic_or_partition, "unknown partition");
  }
  const PartitionState& p = t->partitions[static_cast<size_t>(partition)];
  if (p.leader != leader || p.leader_epoch != leader_epoch) {
    return make_error(Errc::fenced_leader_epoch, "not the current leader");
  }
  if (p.partition_epoch != partition_epoch) {
    return make_error(Errc::invalid_request, "stale partition epoch (INVALID_UPDATE_VERSION)");
  }
  if (isr.empty() || !contains(isr, leader)) {
    return make_error(Errc::invalid_request, "the ISR must contain the leader");
  }
  for (int32_t r : isr) {
    if (!contains(p.replicas, r)) return make_error(Errc::invalid_request, "ISR member is not a replica");
    const BrokerState* b = working_->broker(r);
    // A fenced broker cannot rejoin the ISR (KIP-841): it would count towards acks=all while
    // it cannot lead.
    if (!contains(p.isr, r) && (!b || b->fenced)) {
      return make_error(Errc::invalid_request, "broker " + std::to_string(r) + " is fenced");
    }
  }
  auto change = partition_change(*t, partition, isr, false, false);
  PartitionChangeRecord out = change.value_or(
      PartitionChangeRecord{topic_id, partition, std::nullopt, isr, std::nullopt});
  out.isr = isr;
  return commit_speculatively({std::move(out)});
}

Result<std::pair<Records, int64_t>> Controller::allocate_producer_ids(int32_t broker_id) {
  const int64_t start = working_->next_producer_id();
  Records out{ProducerIdsRecord{broker_id, start, config_.producer_id_block_size}};
  commit_speculatively(out);
  return std::pair{std::move(out), start};
}

bool Controller::live(int32_t broker) const {
  const BrokerState* b = working_->broker(broker);
  return b && !b->fenced;
}

int32_t Controller::min_insync_replicas(const std::string& topic) const {
  auto v = config_value("min.insync.replicas", {working_->configs(ConfigResource::topic, topic),
                                                working_->configs(ConfigResource::broker, "")});
  int32_t out = 0;
  if (v && std::from_chars(v->data(), v->data() + v->size(), out).ec == std::errc{} && out >= 1) {
    return out;
  }
  return config_.min_insync_replicas;
}

bool Controller::unclean_leader_election(const std::string& topic) const {
  auto v = config_value("unclean.leader.election.enable",
                        {working_->configs(ConfigResource::topic, topic),
                         working_->configs(ConfigResource::broker, "")});
  return v ? *v == "true" : config_.unclean_leader_election;
}

std::optional<PartitionChangeRecord> Controller::partition_change(const TopicState& t, int32_t index,
                                                                  std::vector<int32_t> isr,
                                                                  bool elect, bool unclean,
                                                                  int32_t gone) const {
  const PartitionState& p = t.partitions[static_cast<size_t>(index)];
  const int32_t min_isr = min_insync_replicas(t.name);
  std::vector<int32_t> elr = next_elr(p.isr, p.elr, isr, min_isr);
  int32_t leader = p.leader;
  int32_t last_known = isr.empty() ? p.last_known_leader : -1;
  if (elect) {
    auto eligible = [&](int32_t r) { return r != gone && live(r); };
    auto first = [&](auto&& pred) {
      for (int32_t r : p.replicas) {
        if (eligible(r) && pred(r)) return r;
      }
      return -1;
    };
    bool clean = true;
    leader = first([&](int32_t r) { return contains(isr, r); });
    if (leader < 0) leader = first([&](int32_t r) { return contains(elr, r); });
    if (leader < 0 && isr.empty() && elr.empty() && last_known >= 0 && eligible(last_known)) {
      leader = last_known;
    }
    if (leader < 0 && unclean) {
      leader = first([](int32_t) { return true; });
      clean = false;
    }
    if (leader >= 0 && !contains(isr, leader)) {
      // A leader from outside the ISR starts it over with itself. After a clean choice the
      // old members still hold every committed record; after an unclean one the history is
      // the new leader's and nobody else is known to hold it.
      std::vector<int32_t> alone{leader};
      elr = clean ? next_elr(isr, elr, alone, min_isr) : std::vector<int32_t>{};
      isr = std::move(alone);
      last_known = -1;
    }
  }
  PartitionChangeRecord change{t.id, index, std::nullopt, std::nullopt, std::nullopt};
  if (leader != p.leader) change.leader = leader;
  if (isr != p.isr) change.isr = isr;
  if (elr != p.elr) change.elr = elr;
  if (last_known != p.last_known_leader) change.last_known_leader = last_known;
  if (!change.leader && !change.isr && !change.elr && !change.last_known_leader) return std::nullopt;
  return change;
}

Records Controller::move_away_from(int32_t broker) {
  Records out;
  for (const auto& [name, t] : working_->topics()) {
    for (size_t i = 0; i < t.partitions.size(); ++i) {
      const auto& p = t.partitions[i];
      const bool leads = p.leader == broker;
      if (!contains(p.isr, broker) && !leads) continue;
      // The last in-sync replica keeps its place (Kafka's last known leader): it may lead
      // again if it returns before any other eligible replica.
      std::vector<int32_t> isr = without(p.isr, broker);
      if (isr.empty()) isr = p.isr;
      auto change = partition_change(t, static_cast<int32_t>(i), std::move(isr), leads,
                                     unclean_leader_election(name), broker);
      if (change) out.push_back(std::move(*change));
    }
  }
  return out;
}

Records Controller::elect_for_returning(int32_t broker) {
  Records out;
  for (const auto& [name, t] : working_->topics()) {
    for (size_t i = 0; i < t.partitions.size(); ++i) {
      const auto& p = t.partitions[i];
      if (p.leader != -1 || !contains(p.replicas, broker)) continue;
      auto change = partition_change(t, static_cast<int32_t>(i), p.isr, true,
                                     unclean_leader_election(name));
      if (change) out.push_back(std::move(*change));
    }
  }
  return commit_speculatively(std::move(out));
}

Records Controller::forget_unclean(int32_t broker) {
  Records out;
  for (const auto& [name, t] : working_->topics()) {
    for (size_t i = 0; i < t.partitions.size(); ++i) {
      const auto& p = t.partitions[i];
      if (!contains(p.elr, broker) && !contains(p.isr, broker)) continue;
      PartitionChangeRecord change{t.id, static_cast<int32_t>(i), std::nullopt, std::nullopt, std::nullopt};
      auto elr = without(p.elr, broker);
      if (elr != p.elr) change.elr = elr;
      auto isr = without(p.isr, broker);
      if (!isr.empty()) {
        if (isr != p.isr) change.isr = std::move(isr);
      } else if (contains(p.isr, broker) && !elr.empty()) {
        // The last ISR member may have lost committed records the ELR members hold: they
        // come first; it stays the last known leader for when none of them is left.
        change.isr = std::vector<int32_t>{};
        change.last_known_leader = broker;
      }
      if (change.isr || change.elr) out.push_back(std::move(change));
    }
  }
  commit_speculatively(out);
  // With its ISR and ELR gone a partition falls back to its last known leader, if live.
  auto elected = elect_offline("", broker);
  out.insert(out.end(), elected.begin(), elected.end());
  return out;
}

Records Controller::elect_offline(const std::string& topic, int32_t gone) {
  Records out;
  for (const auto& [name, t] : working_->topics()) {
    if (!topic.empty() && name != topic) continue;
    for (size_t i = 0; i < t.partitions.size(); ++i) {
      const auto& p = t.partitions[i];
      if (p.leader != -1) continue;
      auto change = partition_change(t, static_cast<int32_t>(i), p.isr, true,
                                     unclean_leader_election(name), gone);
      if (change) out.push_back(std::move(*change));
    }
  }
  return commit_speculatively(std::move(out));
}

Records Controller::tick() {
  const int64_t now = clock_.now_ms();
  Records out;
  const ImagePtr image = working_;  // keeps the map alive while working_ moves on
  for (const auto& [id, b] : image->brokers()) {
    if (b.fenced) continue;
    auto it = last_heartbeat_ms_.find(id);
    const int64_t last = it == last_heartbeat_ms_.end() ? now : it->second;
    if (it == last_heartbeat_ms_.end()) last_heartbeat_ms_[id] = now;
    auto lost = lost_.find(id);
    const bool gone = lost != lost_.end() && config_.lost_connection_grace_ms >= 0 &&
                      (lost->second.listener_refused ||
                       now - lost->second.at_ms >= config_.lost_connection_grace_ms);
    if (!gone && now - last < config_.broker_session_timeout_ms) continue;
    if (lost != lost_.end()) lost_.erase(lost);
    // Missed its session (or went silent after its connection broke): fence it and move its
    // leaderships to in-sync replicas.
    Records fence{FenceBrokerRecord{id, b.epoch}};
    auto moved = move_away_from(id);
    fence.insert(fence.end(), moved.begin(), moved.end());
    commit_speculatively(fence);
    out.insert(out.end(), fence.begin(), fence.end());
    break;  // the image changed under the loop; the next tick handles other brokers
  }
  if (config_.auto_leader_rebalance && now >= next_rebalance_check_ms_) {
    next_rebalance_check_ms_ = now + config_.leader_imbalance_check_interval_ms;
    auto moves = rebalance_leaders();
    commit_speculatively(moves);
    out.insert(out.end(), moves.begin(), moves.end());
  }
  return out;
}

void Controller::connection_lost(int32_t broker_id) { lost_[broker_id] = {clock_.now_ms(), false}; }

void Controller::listener_refused(int32_t broker_id) {
  if (auto lost = lost_.find(broker_id); lost != lost_.end()) lost->second.listener_refused = true;
}

Records Controller::rebalance_leaders() {
  // As Kafka's controller: per preferred broker, the share of its partitions it does not lead;
  // above leader.imbalance.per.broker.percentage, each of them whose preferred replica is in
  // sync and unfenced gets it back as leader.
  struct Imbalance {
    int total = 0;
    std::vector<PartitionChangeRecord> moves;  // partitions it prefers but does not lead
    int not_leading = 0;
  };
  std::map<int32_t, Imbalance> by_broker;
  for (const auto& [name, t] : working_->topics()) {
    for (size_t i = 0; i < t.partitions.size(); ++i) {
      const auto& p = t.partitions[i];
      if (p.replicas.empty()) continue;
      const int32_t preferred = p.replicas.front();
      auto& b = by_broker[preferred];
      ++b.total;
      if (p.leader == preferred) continue;
      ++b.not_leading;
      const BrokerState* state = working_->broker(preferred);
      if (contains(p.isr, preferred) && state && !state->fenced) {
        b.moves.push_back(PartitionChangeRecord{t.id, static_cast<int32_t>(i), preferred, std::nullopt,
                                                std::nullopt});
      }
    }
  }
  Records out;
  for (auto& [broker, b] : by_broker) {
    if (b.moves.empty() ||
        b.not_leading * 100 <= b.total * config_.leader_imbalance_per_broker_percentage) {
      continue;
    }
    out.insert(out.end(), b.moves.begin(), b.moves.end());
  }
  return out;
}

Result<Records> Controller::elect_preferred_leader(const std::string& topic, int32_t partition) {
  const TopicState* t = working_->topic(topic);
  if (!t || partition < 0 || partition >= static_cast<int32_t>(t->partitions.size())) {
    return make_error(Errc::unknown_topic_or_partition,
                      "no partition " + topic + "-" + std::to_string(partition));
  }
  const auto& p = t->partitions[static_cast<size_t>(partition)];
  const int32_t preferred = p.replicas.front();
  if (p.leader == preferred) {
    return make_error(Errc::election_not_needed,
                      "the preferred replica " + std::to_string(preferred) + " already leads");
  }
  const BrokerState* state = working_->broker(preferred);
  if (!contains(p.isr, preferred) || !state || state->fenced) {
    return make_error(Errc::preferred_leader_not_available,
                      "the preferred replica " + std::to_string(preferred) +
                          " is not an unfenced member of the ISR");
  }
  return commit_speculatively(
      {PartitionChangeRecord{t->id, partition, preferred, std::nullopt, std::nullopt}});
}

Result<Records> Controller::elect_unclean_leader(const std::string& topic, int32_t partition) {
  const TopicState* t = working_->topic(topic);
  if (!t || partition < 0 || partition >= static_cast<int32_t>(t->partitions.size())) {
    return make_error(Errc::unknown_topic_or_partition,
                      "no partition " + topic + "-" + std::to_string(partition));
  }
  const auto& p = t->partitions[static_cast<size_t>(partition)];
  if (p.leader >= 0) {
    return make_error(Errc::election_not_needed,
                      "broker " + std::to_string(p.leader) + " leads " + topic + "-" +
                          std::to_string(partition));
  }
  auto change = partition_change(*t, partition, p.isr, true, true);
  if (!change || !change->leader || *change->leader < 0) {
    return make_error(Errc::eligible_leaders_not_available,
                      "no replica of " + topic + "-" + std::to_string(partition) + " is live");
  }
  return commit_speculatively({std::move(*change)});
}

}  // namespace kafkacore::metadata
