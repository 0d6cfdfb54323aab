#include "broker/broker.h"

#include <algorithm>
#include <charconv>
#include <future>
#include <set>

#include "broker/broker_lifecycle.h"
#include "broker/controller_channel.h"
#include "broker/controller_service.h"
#include "broker/error_responses.h"
#include "broker/fetch_sessions.h"
#include "broker/handlers/handlers.h"
#include "broker/listener_probe.h"
#include "broker/offsets_topic.h"
#include "broker/request_hooks.h"
#include "common/log.h"
#include "replication/hw_checkpoint.h"
#include "replication/replica_fetcher.h"

namespace kafkacore::broker {

namespace asio = server::asio;

namespace {

constexpr int64_t kAdminTimeoutMs = 30000;
constexpr auto kClusterTick = std::chrono::milliseconds(20);
constexpr const char* kMetadataLogDir = "__cluster_metadata-0";

// Liveness (sessions, ISR lag) runs on real time even when tests move the broker's clock.
Clock& liveness_clock() { return SystemClock::instance(); }

bool contains(const std::vector<int32_t>& v, int32_t x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

replication::ReplicaState replica_state(const metadata::PartitionState& p) {
  return {p.replicas, p.isr, p.leader, LeaderEpoch{p.leader_epoch}, p.partition_epoch};
}

}  // namespace

Broker::Broker(BrokerConfig config)
    : config_(std::move(config)), request_faults_(error_response_apis()) {}

Broker::~Broker() { (void)stop(); }

Result<std::unique_ptr<Broker>> Broker::start(BrokerConfig config) {
  std::unique_ptr<Broker> broker(new Broker(std::move(config)));
  if (auto r = broker->open(); !r) return std::unexpected(r.error());
  // Alone in its quorum, nothing else has to start first: return ready.
  if (broker->single_voter_) {
    if (auto r = broker->wait_ready(broker->config_.cluster.startup_timeout_ms); !r) {
      return std::unexpected(r.error());
    }
  }
  return broker;
}

Result<void> Broker::wait_ready(int64_t timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!ready_) {
    if (stopped_) return make_error(Errc::broker_not_available, "the broker stopped");
    if (std::chrono::steady_clock::now() >= deadline) {
      return make_error(Errc::request_timed_out,
                        "broker " + std::to_string(config_.node_id) +
                            " did not join its cluster in time (is a majority of "
                            "controller.quorum.voters running?)");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return {};
}

Result<void> Broker::start_quorum() {
  raft::QuorumConfig q;
  q.id = config_.node_id;
  const std::string controller_host =
      config_.cluster.controller_host.empty() ? config_.listen_host : config_.cluster.controller_host;
  if (config_.cluster.quorum_voters.empty()) {
    q.voters[config_.node_id] = raft::Endpoint{controller_host, config_.cluster.controller_port};
  } else {
    auto voters = raft::parse_voters(config_.cluster.quorum_voters);
    if (!voters) return std::unexpected(voters.error());
    q.voters = std::move(*voters);
  }
  // A broker-only node follows the controllers' log as a Raft observer.
  q.observer = config_.cluster.roles == ProcessRoles::broker;
  single_voter_ = !q.observer && q.voters.size() == 1;
  q.dir = config_.data_dir / kMetadataLogDir;
  q.listen_host = controller_host;
  q.listen_port = config_.cluster.controller_port;
  // Elections after election.timeout..2x; heartbeats every tick.
  q.tick_ms = static_cast<int>(std::max<int64_t>(5, config_.cluster.election_timeout_ms / 10));
  q.election_ticks = 10;
  q.heartbeat_ticks = 1;
  q.seed = static_cast<uint64_t>(config_.node_id);
  q.faults = &side_faults_;
  machine_.on_update = [this](const metadata::ImagePtr& image) { image_applied(image); };
  auto quorum = raft::Quorum::start(io_, std::move(q), machine_);
  if (!quorum) return std::unexpected(quorum.error());
  quorum_ = std::move(*quorum);
  controller_port_ = quorum_->port();

  metadata::ControllerConfig cc;
  cc.broker_session_timeout_ms = config_.cluster.broker_session_timeout_ms;
  cc.default_partitions = config_.num_partitions;
  cc.default_replication_factor = config_.default_replication_factor;
  cc.auto_leader_rebalance = config_.cluster.auto_leader_rebalance;
  cc.leader_imbalance_check_interval_ms = config_.cluster.leader_imbalance_check_interval_s * 1000;
  cc.leader_imbalance_per_broker_percentage = config_.cluster.leader_imbalance_per_broker_percentage;
  cc.min_insync_replicas = default_min_insync_replicas();
  if (auto it = config_.explicit_properties.find("unclean.leader.election.enable");
      it != config_.explicit_properties.end()) {
    cc.unclean_leader_election = it->second == "true";
  }
  // A broker whose link to the controller broke heartbeats again as soon as it can re-dial
  // (BrokerLifecycle::link_lost: ~100 ms), whatever its heartbeat interval; one that stays
  // silent for the grace is taken for dead (kill -9, crash, lost host) and fenced then, not a
  // whole session later. This is what makes failover take well under a second with Kafka's
  // default session (9 s); a live broker would have to miss several re-dials to be fenced, and
  // then only re-registers. Sooner with frequent heartbeats (three missed ones), never later
  // than the session itself. A voter also dials the lost broker's listener: a refusal means the
  // process is gone, and it is fenced at once (probe_lost_broker).
  cc.lost_connection_grace_ms = std::min({config_.cluster.broker_session_timeout_ms,
                                          3 * config_.cluster.broker_heartbeat_interval_ms,
                                          config_.cluster.lost_connection_grace_ms});
  lost_connection_grace_ms_ = cc.lost_connection_grace_ms;
  if (config_.is_controller()) {
    controller_ = std::make_unique<ControllerService>(*quorum_, machine_, cc, liveness_clock());
  }
  channel_ = std::make_unique<ControllerChannel>(io_, *quorum_, controller_.get(), liveness_clock());
  quorum_->on_leadership = [this](bool is_leader, raft::NodeId leader, raft::Term term) {
    {
      std::lock_guard lock(published_mutex_);
      published_leader_ = leader;
      published_term_ = static_cast<int64_t>(term);
    }
    if (controller_) controller_->leadership_changed(is_leader);
    channel_->leader_changed();
    // A controller-only node has no registration to wait for: it is ready once the quorum
    // has a leader (itself or another).
    if (!config_.serves_clients() && leader != raft::kNoNode) ready_ = true;
  };
  quorum_->on_application = [this](raft::NodeId from, Bytes data) {
    channel_->on_application(from, std::move(data));
  };
  quorum_->transport().on_peer_lost = [this](raft::NodeId from) {
    if (controller_) {
      controller_->connection_lost(from);
      probe_lost_broker(from);
    }
    if (lifecycle_) lifecycle_->link_lost(liveness_clock().now_ms());
  };
  if (!config_.serves_clients()) return {};
  LifecycleConfig lc;
  lc.registration = {config_.node_id, Uuid::random(), config_.advertised(), port_, config_.rack,
                     !logs_->recovered_from_crash()};
  lc.heartbeat_interval_ms = config_.cluster.broker_heartbeat_interval_ms;
  lc.request_timeout_ms = std::max<int64_t>(1000, config_.cluster.broker_session_timeout_ms / 2);
  lifecycle_ = std::make_unique<BrokerLifecycle>(*channel_, lc, [this] { return image_->offset(); });
  lifecycle_->on_running_changed = [this](bool running) { running_changed(running); };
  // Register as soon as the reactor runs (a quorum of one has elected itself by then).
  asio::post(io_, [this] {
    if (!stopped_ && lifecycle_) lifecycle_->tick(liveness_clock().now_ms());
  });
  return {};
}

Result<void> Broker::open() {
  side_faults_.bypass_syncs = config_.bypass_fsync;
  if (config_.serves_clients()) {
    if (auto r = open_broker(); !r) return r;
  } else {
    // Controller-only: just the metadata log below the data directory; no partition logs,
    // groups or Kafka listener.
    std::error_code ec;
    std::filesystem::create_directories(config_.data_dir, ec);
    if (ec) {
      return make_error(Errc::kafka_storage_error,
                        "cannot create " + config_.data_dir.string() + ": " + ec.message());
    }
  }
  // The metadata log replays (in the quorum's first turn) into partitions and their roles.
  if (auto r = start_quorum(); !r) return r;
  if (config_.serves_clients()) {
    schedule_tick();
    schedule_group_tick();
  }
  schedule_cluster_tick();
  reactor_ = std::thread([this] {
    try {
      io_.run();
    } catch (const std::exception& e) {
      KC_LOG(error, "broker", "reactor stopped by an exception", {{"error", e.what()}});
    }
  });
  KC_LOG(info, "broker", "listening",
         {{"node_id", std::to_string(config_.node_id)},
          {"roles", process_roles_name(config_.cluster.roles)},
          {"bootstrap", config_.serves_clients() ? bootstrap_servers() : "-"},
          {"controller_port", std::to_string(controller_port_)}});
  return {};
}

Result<void> Broker::open_broker() {
  storage::LogManagerOptions options;
  options.data_dir = config_.data_dir;
  options.defaults = config_.log_defaults;
  options.clock = config_.clock;
  options.warn = [](const std::string& message) { KC_LOG(warn, "storage", message); };
  options.bypass_fsync = config_.bypass_fsync;
  auto logs = storage::LogManager::open(options);
  if (!logs) return std::unexpected(logs.error());
  logs_ = std::move(*logs);
  hw_checkpoint_ = std::make_unique<replication::HwCheckpoint>(config_.data_dir, &side_faults_);
  if (auto hw = hw_checkpoint_->read(); hw) {
    checkpointed_hw_ = std::move(*hw);
  } else {
    KC_LOG(warn, "broker", "ignoring the high-watermark checkpoint", {{"error", hw.error().message()}});
  }
  KC_LOG(info, "broker", "data directory opened",
         {{"dir", config_.data_dir.string()},
          {"recovered", logs_->recovered_from_crash() ? "true" : "false"}});
  fetch_sessions_ = std::make_unique<FetchSessionCache>(config_.fetch_session_cache_slots);
  offsets_topic_ = std::make_unique<OffsetsTopic>(*this);
  groups_ = std::make_unique<group::GroupCoordinator>(config_.groups, *offsets_topic_, *config_.clock);
  offsets_topic_->set_coordinator(groups_.get());
  register_handlers(registry_, *this);
  request_hooks_ = std::make_unique<RequestHooks>(*this, io_, request_faults_, request_log_);
  request_hooks_->install(registry_);
  // Rules are removed on other threads; their held requests are dropped on the reactor.
  request_faults_.set_removal_hook([this](std::vector<uint64_t> ids) {
    asio::post(io_, [this, ids = std::move(ids)] {
      if (request_hooks_) request_hooks_->release(ids);
    });
  });
  server_ = std::make_unique<server::Server>(io_, registry_, config_.limits);
  if (auto r = server_->listen(config_.listen_host, config_.port, /*accept_now=*/false); !r) return r;
  port_ = server_->port();

  replication::FetcherConfig fc;
  fc.max_wait = std::chrono::milliseconds(config_.cluster.replica_fetch_wait_max_ms);
  fc.backoff = std::chrono::milliseconds(config_.cluster.replica_fetch_backoff_ms);
  fc.partition_max_bytes = config_.cluster.replica_fetch_max_bytes;
  fc.client_id = "broker-" + std::to_string(config_.node_id) + "-fetcher";
  fetcher_ = std::make_unique<replication::ReplicaFetcherManager>(
      io_, config_.node_id,
      [this](int32_t id) -> std::optional<replication::BrokerAddress> {
        const auto* b = image_->broker(id);
        if (!b) return std::nullopt;
        return replication::BrokerAddress{b->host, static_cast<uint16_t>(b->port)};
      },
      [this](const std::string& topic, int32_t index) { return partition(topic, index); }, fc);
  unreachable_leaders_ = std::make_unique<UnreachableLeaders>(
      std::chrono::milliseconds(config_.cluster.broker_session_timeout_ms));
  fetcher_->on_leader_unreachable = [this](int32_t id) {
    if (const auto* b = image_->broker(id)) unreachable_leaders_->failed(id, b->epoch);
  };
  fetcher_->on_leader_reached = [this](int32_t id) { unreachable_leaders_->reached(id); };
  return {};
}

void Broker::set_voter_address(int32_t id, const std::string& host, uint16_t port) {
  asio::post(io_, [this, id, host, port] {
    if (quorum_ && !stopped_) quorum_->transport().set_peer(id, raft::Endpoint{host, port});
  });
}

void Broker::set_link_filter(LinkFilter filter) {
  // Waits until the reactor applied it, so a test's next step already sees the fault (a paused
  // reactor applies it at once, from inside the pause).
  if (stopped_) return;
  const bool applied = run_on_reactor([this, filter = std::move(filter)] {
    if (stopped_) return;
    quorum_->transport().set_filter(filter ? raft::Transport::LinkFilter(filter) : raft::Transport::LinkFilter{});
    if (fetcher_) fetcher_->set_link_filter(filter);
  });
  if (!applied && !stopped_) {
    KC_LOG(warn, "broker", "link filter not applied within 10 s (reactor busy or stopped)");
  }
}

bool Broker::run_on_reactor(std::function<void()> fn, int64_t timeout_ms) {
  if (stopped_ || !reactor_.joinable()) return false;
  auto ran = std::make_shared<std::promise<void>>();
  auto done = ran->get_future();
  auto task = [ran, fn = std::move(fn)] {
    fn();
    ran->set_value();
  };
  {
    std::lock_guard lock(gate_.mutex);
    if (gate_.requested || gate_.holding) {
      gate_.tasks.push_back(std::move(task));
      gate_.changed.notify_all();
    } else {
      asio::post(io_, std::move(task));
    }
  }
  if (done.wait_for(std::chrono::milliseconds(timeout_ms)) != std::future_status::ready) return false;
  try {
    done.get();  // broken_promise: the reactor stopped and dropped the task unrun
    return true;
  } catch (const std::future_error&) {
    return false;
  }
}

void Broker::campaign_now() {
  asio::post(io_, [this] {
    if (quorum_ && !stopped_) quorum_->campaign_now();
  });
}

// ---------------------------------------------------------------- pause / resume

Result<void> Broker::pause() {
  std::unique_lock lock(gate_.mutex);
  if (stopped_) return make_error(Errc::broker_not_available, "the broker is stopped");
  if (gate_.requested) return {};
  // A previous pause may still be leaving the reactor.
  gate_.changed.wait(lock, [this] { return !gate_.holding; });
  gate_.requested = true;
  asio::post(io_, [this] { hold_while_paused(); });
  // Until the reactor is held: whatever it was doing (a handler, an fsync callback) finishes.
  const bool held = gate_.changed.wait_for(lock, std::chrono::seconds(10), [this] {
    return gate_.holding || !gate_.requested || stopped_;
  });
  if (!held) {
    return make_error(Errc::request_timed_out, "broker " + std::to_string(config_.node_id) +
                                                   " did not pause within 10 s (reactor busy)");
  }
  if (!gate_.holding) return make_error(Errc::broker_not_available, "the broker stopped");
  KC_LOG(info, "broker", "paused", {{"node_id", std::to_string(config_.node_id)}});
  return {};
}

void Broker::resume() {
  std::unique_lock lock(gate_.mutex);
  if (!gate_.requested) return;
  gate_.requested = false;
  gate_.changed.notify_all();
  gate_.changed.wait(lock, [this] { return !gate_.holding; });
  KC_LOG(info, "broker", "resumed", {{"node_id", std::to_string(config_.node_id)}});
}

bool Broker::paused() const {
  std::lock_guard lock(gate_.mutex);
  return gate_.requested;
}

void Broker::hold_while_paused() {
  // Reactor thread: nothing else runs here until resume(), except work handed over through
  // run_on_reactor() (fault settings, white-box reads).
  std::unique_lock lock(gate_.mutex);
  gate_.holding = true;
  gate_.changed.notify_all();
  while (true) {
    while (!gate_.tasks.empty()) {
      auto task = std::move(gate_.tasks.front());
      gate_.tasks.pop_front();
      lock.unlock();
      task();
      lock.lock();
    }
    if (!gate_.requested) break;
    gate_.changed.wait(lock);
  }
  gate_.holding = false;
  gate_.changed.notify_all();
}

metadata::ImagePtr Broker::published_image() const {
  std::lock_guard lock(published_mutex_);
  return published_image_;
}

std::pair<int32_t, int64_t> Broker::quorum_leader() const {
  std::lock_guard lock(published_mutex_);
  return {published_leader_, published_term_};
}

std::string Broker::bootstrap_servers() const {
  return config_.advertised() + ":" + std::to_string(port_);
}

int32_t Broker::controller_id() const {
  // What clients call "the controller" only receives admin requests, which every broker
  // forwards (KRaft brokers report one of themselves too). Never -1: librdkafka then waits for
  // a metadata refresh minutes away before sending any admin request.
  const int32_t leader = quorum_ ? quorum_->leader() : -1;
  const auto* b = leader >= 0 ? image_->broker(leader) : nullptr;
  return b && !b->fenced ? leader : config_.node_id;
}

replication::Partition* Broker::partition(const std::string& topic, int32_t index) {
  auto it = partitions_.find({topic, index});
  return it == partitions_.end() ? nullptr : it->second.get();
}

std::map<std::string, std::string> Broker::topic_configs(const std::string& topic) const {
  return image_->configs(metadata::ConfigResource::topic, topic);
}

int32_t Broker::default_min_insync_replicas() const {
  auto it = config_.explicit_properties.find("min.insync.replicas");
  if (it == config_.explicit_properties.end()) return 1;
  int32_t out = 1;
  auto [end, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), out);
  return ec == std::errc{} && out >= 1 ? out : 1;
}

int32_t Broker::min_insync_replicas(const std::string& topic) const {
  // As the controller reads it: topic override, cluster-wide override, this broker's setting.
  for (const auto& configs : {topic_configs(topic), image_->configs(metadata::ConfigResource::broker, "")}) {
    auto it = configs.find("min.insync.replicas");
    if (it == configs.end()) continue;
    int32_t out = 0;
    const auto [end, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), out);
    if (ec == std::errc{} && out >= 1) return out;
  }
  return default_min_insync_replicas();
}

// ---------------------------------------------------------------- metadata image

void Broker::image_applied(const metadata::ImagePtr& image) {
  const metadata::ImagePtr before = image_;
  image_ = image;
  if (controller_) {
    const bool was_active = controller_->active();
    controller_->image_applied(image);
    // Calls refused while it was not active yet (our own registration) go again now.
    if (!was_active && controller_->active() && channel_) channel_->leader_changed();
  }
  if (channel_) channel_->image_applied(image->offset());
  if (config_.serves_clients()) reconcile_partitions(before.get());
  {
    std::lock_guard lock(published_mutex_);
    published_image_ = image;
  }
  // Fenced until our image catches up: tell the controller as soon as it has (not at the next
  // cluster tick), so start-up does not wait for it.
  if (lifecycle_ && !running_ && lifecycle_->epoch() >= 0 && !stopped_) {
    lifecycle_->tick(liveness_clock().now_ms());
  }
}

replication::Partition* Broker::ensure_partition(const metadata::TopicState& topic, int32_t index) {
  const std::pair<std::string, int32_t> key{topic.name, index};
  auto it = partitions_.find(key);
  if (it != partitions_.end()) {
    if (it->second->topic_id() == topic.id) return it->second.get();
    remove_partition(topic.name, index);  // a deleted topic's namesake
  }
  auto log = logs_->get_or_create({topic.name, index});
  if (!log) {
    KC_LOG(error, "broker", "cannot open a partition log",
           {{"topic", topic.name}, {"partition", std::to_string(index)}, {"error", log.error().message()}});
    return nullptr;
  }
  auto p = std::make_unique<replication::Partition>(topic.name, index, topic.id, *log, config_.node_id);
  p->rebuild_producer_state();
  if (auto hw = checkpointed_hw_.find(key); hw != checkpointed_hw_.end()) {
    p->load_high_watermark(hw->second);
  }
  auto* raw = p.get();
  partitions_[key] = std::move(p);
  return raw;
}

void Broker::remove_partition(const std::string& topic, int32_t index) {
  fetcher_->unfollow(topic, index);
  auto it = partitions_.find({topic, index});
  if (it == partitions_.end()) return;
  if (topic == kOffsetsTopic && it->second->is_leader()) groups_->unload(index);
  partitions_.erase(it);
  checkpointed_hw_.erase({topic, index});
  if (auto r = logs_->remove({topic, index}); !r) {
    KC_LOG(warn, "broker", "could not remove log", {{"topic", topic}, {"error", r.error().message()}});
  }
}

void Broker::reconcile_partitions(const metadata::MetadataImage* before) {
  const int32_t self = config_.node_id;
  // Topics that went away (or were re-created under a new id).
  std::set<std::string> gone;
  for (const auto& [key, p] : partitions_) {
    const auto* t = image_->topic(key.first);
    if (!t || t->id != p->topic_id() || key.second >= static_cast<int32_t>(t->partitions.size()) ||
        !contains(t->partitions[key.second].replicas, self)) {
      gone.insert(key.first);
    }
  }
  for (const auto& name : gone) {
    std::vector<int32_t> indexes;
    for (const auto& [key, p] : partitions_) {
      if (key.first != name) continue;
      const auto* t = image_->topic(name);
      if (!t || t->id != p->topic_id() || key.second >= static_cast<int32_t>(t->partitions.size()) ||
          !contains(t->partitions[key.second].replicas, self)) {
        indexes.push_back(key.second);
      }
    }
    for (int32_t i : indexes) remove_partition(name, i);
    if (!image_->topic(name)) {
      fetch_sessions_->forget_topic(name);
      groups_->forget_topic(name);
      KC_LOG(info, "broker", "topic deleted", {{"topic", name}});
    }
  }
  const int64_t now = liveness_clock().now_ms();
  for (const auto& [name, topic] : image_->topics()) {
    const auto configs = image_->configs(metadata::ConfigResource::topic, name);
    const auto* old_topic = before ? before->topic(name) : nullptr;
    const bool new_topic = !old_topic || old_topic->id != topic.id;
    if (new_topic || before->configs(metadata::ConfigResource::topic, name) != configs) {
      if (auto log_config = topic_log_config(configs, config_); log_config) {
        (void)logs_->set_topic_config(name, log_config->to_properties());
      }
    }
    for (int32_t i = 0; i < static_cast<int32_t>(topic.partitions.size()); ++i) {
      const auto& state = topic.partitions[i];
      if (!contains(state.replicas, self)) continue;
      auto* p = ensure_partition(topic, i);
      if (!p) continue;
      // KIP-966: the HW moves only while the ISR has min.insync.replicas members.
      p->set_min_insync_replicas(min_insync_replicas(name));
      if (!running_) continue;
      const bool was_leader = p->is_leader();
      if (state.leader == self) {
        fetcher_->unfollow(name, i);
        p->become_leader(replica_state(state), now);
        if (name == kOffsetsTopic && !was_leader) offsets_topic_->load_partition(i);
      } else {
        if (name == kOffsetsTopic && was_leader) groups_->unload(i);
        p->become_follower(replica_state(state));
        if (state.leader >= 0) {
          fetcher_->follow(name, i, topic.id, state.leader, state.leader_epoch);
        } else {
          fetcher_->unfollow(name, i);
        }
      }
    }
  }
}

void Broker::probe_lost_broker(int32_t broker_id) {
  // Every voter probes, not only the active controller: when the active one is the broker that
  // died, the refusal is kept (with the lost connection) for whichever voter takes over.
  if (lost_connection_grace_ms_ <= 0 || broker_id == config_.node_id) return;
  const auto* registered = image_->broker(broker_id);
  if (!registered || registered->fenced || registered->port <= 0) return;
  probe_listener(io_, registered->host, registered->port,
                 std::chrono::milliseconds(lost_connection_grace_ms_),
                 [this, broker_id](ListenerProbe result) {
                   if (result != ListenerProbe::refused || stopped_ || !controller_) return;
                   KC_LOG(info, "controller", "lost broker's listener refused: fencing it now",
                          {{"broker", std::to_string(broker_id)}});
                   controller_->listener_refused(broker_id);
                 });
}

void Broker::running_changed(bool running) {
  running_ = running;
  KC_LOG(info, "broker", running ? "serving (unfenced)" : "fenced",
         {{"node_id", std::to_string(config_.node_id)}});
  if (running) {
    reconcile_partitions(nullptr);
    {
      std::lock_guard lock(published_mutex_);
      published_image_ = image_;
    }
    server_->start_accepting();  // clients see a broker that knows the cluster
    ready_ = true;
    return;
  }
  // Fenced: the controller is moving our leaderships; stop acting as leader meanwhile.
  for (auto& [key, p] : partitions_) {
    fetcher_->unfollow(key.first, key.second);
    if (p->is_leader()) {
      if (key.first == kOffsetsTopic) groups_->unload(key.second);
      auto state = p->replica_state();
      state.leader = -1;
      p->become_follower(state);
    }
  }
}

void Broker::maybe_alter_isr() {
  const int64_t now = liveness_clock().now_ms();
  for (auto& [key, p] : partitions_) {
    if (!p->is_leader()) continue;
    auto wanted = p->wanted_isr(now, config_.cluster.replica_lag_time_max_ms);
    if (!wanted) continue;
    const auto& state = p->replica_state();
    p->isr_change_requested(*wanted);
    KC_LOG(info, "broker", "asking to change the ISR",
           {{"topic", key.first}, {"partition", std::to_string(key.second)},
            {"isr", [&] {
               std::string s;
               for (int32_t r : *wanted) s += (s.empty() ? "" : ",") + std::to_string(r);
               return s;
             }()}});
    metadata::AlterPartitionRequest request{p->topic_id(), key.second, config_.node_id,
                                            state.leader_epoch.value(), state.partition_epoch, *wanted};
    const Uuid topic_id = p->topic_id();
    channel_->call(request, 5000, [this, key, topic_id](Result<metadata::ControllerResponse> answer) {
      if (answer && answer->error_code == 0) return;  // the image brings the new ISR
      auto* partition = this->partition(key.first, key.second);
      if (partition && partition->topic_id() == topic_id) partition->isr_change_abandoned();
    });
  }
}

// ---------------------------------------------------------------- admin

void Broker::create_topic(const std::string& name, int32_t partitions, int16_t replication_factor,
                          const std::map<std::string, std::string>& configs, bool validate_only,
                          Done done, std::vector<std::vector<int32_t>> assignment) {
  if (auto r = metadata::validate_topic_name(name); !r) return done(std::unexpected(r.error()));
  if (auto r = validate_topic_configs(configs, config_); !r) return done(std::unexpected(r.error()));
  metadata::CreateTopicRequest request{name, partitions, replication_factor, configs, validate_only,
                                       std::move(assignment)};
  channel_->call(request, kAdminTimeoutMs, [done = std::move(done)](Result<metadata::ControllerResponse> a) {
    if (!a) return done(std::unexpected(a.error()));
    if (a->error_code) return done(make_error(static_cast<Errc>(a->error_code), a->error_message));
    done({});
  });
}

void Broker::auto_create_topic(const std::string& name, Done done) {
  if (!config_.auto_create_topics) {
    return done(make_error(Errc::unknown_topic_or_partition, "topic '" + name + "' does not exist"));
  }
  create_topic(name, -1, -1, {}, false, std::move(done));
}

namespace {

void forward(ControllerChannel& channel, metadata::ControllerRequest request, Broker::Done done) {
  channel.call(std::move(request), kAdminTimeoutMs,
               [done = std::move(done)](Result<metadata::ControllerResponse> a) {
                 if (!a) return done(std::unexpected(a.error()));
                 if (a->error_code) return done(make_error(static_cast<Errc>(a->error_code), a->error_message));
                 done({});
               });
}

}  // namespace

void Broker::delete_topic(const std::string& name, Done done) {
  forward(*channel_, metadata::DeleteTopicRequest{name}, std::move(done));
}

void Broker::create_partitions(const std::string& name, int32_t count, bool validate_only, Done done) {
  forward(*channel_, metadata::CreatePartitionsRequest{name, count, validate_only}, std::move(done));
}

void Broker::elect_preferred_leader(const std::string& topic, int32_t partition, Done done) {
  forward(*channel_, metadata::ElectPreferredLeaderRequest{topic, partition}, std::move(done));
}

void Broker::elect_unclean_leader(const std::string& topic, int32_t partition, Done done) {
  forward(*channel_, metadata::ElectUncleanLeaderRequest{topic, partition}, std::move(done));
}

void Broker::set_topic_configs(const std::string& name,
                               const std::map<std::string, std::string>& configs,
                               bool validate_only, Done done) {
  if (!image_->topic(name)) {
    return done(make_error(Errc::unknown_topic_or_partition, "topic '" + name + "' does not exist"));
  }
  if (auto r = validate_topic_configs(configs, config_); !r) return done(std::unexpected(r.error()));
  metadata::AlterConfigsRequest request;
  request.resource = metadata::ConfigResource::topic;
  request.name = name;
  request.validate_only = validate_only;
  for (const auto& [key, value] : image_->configs(metadata::ConfigResource::topic, name)) {
    if (!configs.contains(key)) request.changes[key] = std::nullopt;
  }
  for (const auto& [key, value] : configs) request.changes[key] = value;
  forward(*channel_, std::move(request), std::move(done));
}

void Broker::allocate_producer_id(std::function<void(Result<int64_t>)> done) {
  if (next_producer_id_ < producer_id_end_) return done(next_producer_id_++);
  producer_id_waiters_.push_back(std::move(done));
  if (producer_id_waiters_.size() > 1) return;  // a block is on its way
  channel_->call(metadata::AllocateProducerIdsRequest{config_.node_id}, kAdminTimeoutMs,
                 [this](Result<metadata::ControllerResponse> a) {
                   auto waiters = std::move(producer_id_waiters_);
                   producer_id_waiters_.clear();
                   if (a && a->error_code == 0) {
                     next_producer_id_ = a->producer_id_start;
                     producer_id_end_ = a->producer_id_start + a->producer_id_count;
                   }
                   for (auto& w : waiters) {
                     if (!a) {
                       w(std::unexpected(a.error()));
                     } else if (a->error_code) {
                       w(make_error(static_cast<Errc>(a->error_code), a->error_message));
                     } else if (next_producer_id_ < producer_id_end_) {
                       w(next_producer_id_++);
                     } else {
                       w(make_error(Errc::coordinator_not_available, "producer id block exhausted; retry"));
                     }
                   }
                 });
}

// ---------------------------------------------------------------- timers and shutdown

void Broker::schedule_tick() {
  if (!tick_timer_) tick_timer_ = std::make_unique<asio::steady_timer>(io_);
  tick_timer_->expires_after(std::chrono::milliseconds(config_.tick_ms));
  tick_timer_->async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopped_) return;
    logs_->tick();
    fetch_sessions_->expire();
    write_hw_checkpoint();
    schedule_tick();
  });
}

void Broker::schedule_group_tick() {
  // Session and rebalance deadlines need finer steps than the log tick.
  constexpr auto kGroupTick = std::chrono::milliseconds(50);
  if (!group_timer_) group_timer_ = std::make_unique<asio::steady_timer>(io_);
  group_timer_->expires_after(kGroupTick);
  group_timer_->async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopped_) return;
    groups_->tick();
    schedule_group_tick();
  });
}

void Broker::schedule_cluster_tick() {
  if (!cluster_timer_) cluster_timer_ = std::make_unique<asio::steady_timer>(io_);
  cluster_timer_->expires_after(kClusterTick);
  cluster_timer_->async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopped_) return;
    if (lifecycle_) lifecycle_->tick(liveness_clock().now_ms());
    if (controller_) controller_->tick();
    if (running_) maybe_alter_isr();
    schedule_cluster_tick();
  });
}

void Broker::write_hw_checkpoint() {
  replication::HighWatermarks hw;
  for (const auto& [key, p] : partitions_) hw[key] = p->high_watermark();
  if (hw == checkpointed_hw_ || !hw_checkpoint_) return;
  if (auto r = hw_checkpoint_->write(hw); !r) {
    KC_LOG(warn, "broker", "could not write the high-watermark checkpoint", {{"error", r.error().message()}});
    return;
  }
  checkpointed_hw_ = std::move(hw);
}

Result<void> Broker::shutdown_on_reactor(bool clean) {
  // Held and delayed requests die here, on the reactor, with their connections.
  if (request_hooks_) request_hooks_->release_all();
  if (tick_timer_) tick_timer_->cancel();
  if (group_timer_) group_timer_->cancel();
  if (cluster_timer_) cluster_timer_->cancel();
  if (server_) server_->stop();
  if (fetcher_) fetcher_->stop();
  lifecycle_.reset();
  if (channel_) channel_->stop();
  if (quorum_) quorum_->stop();
  if (clean) write_hw_checkpoint();
  partitions_.clear();
  // Parked JoinGroup/SyncGroup answers die here, on the reactor, with their connections.
  groups_.reset();
  if (!clean) {
    // Killed: the logs close without the clean-shutdown marker (the next start recovers them).
    logs_.reset();
    return {};
  }
  return logs_ ? logs_->shutdown() : Result<void>{};
}

Result<void> Broker::stop() { return shutdown(/*clean=*/true); }

void Broker::kill() { (void)shutdown(/*clean=*/false); }

Result<void> Broker::shutdown(bool clean) {
  if (stopped_.exchange(true)) return {};
  {
    // A paused reactor is let go first (it runs the shutdown right after).
    std::lock_guard lock(gate_.mutex);
    gate_.requested = false;
    gate_.changed.notify_all();
  }
  Result<void> outcome;
  if (reactor_.joinable()) {
    std::promise<Result<void>> done;
    auto future = done.get_future();
    asio::post(io_, [&] { done.set_value(shutdown_on_reactor(clean)); });
    outcome = future.get();
    io_.stop();
    reactor_.join();
  } else {
    outcome = shutdown_on_reactor(clean);
  }
  KC_LOG(info, "broker", clean ? "stopped" : "killed", {{"clean", outcome && clean ? "true" : "false"}});
  return outcome;
}

int32_t Broker::advertised_leader(int32_t leader_id) const {
  const auto* leader = leader_id >= 0 ? image_->broker(leader_id) : nullptr;
  if (!leader || leader->fenced) return -1;
  if (leader_id == config_.node_id || !unreachable_leaders_) return leader_id;
  // A leader killed a moment ago: our fetch connection already holds its EOF, but the read
  // loop may not have run yet, and a client that saw the same EOF asks us right now. Probed
  // at most once a millisecond per leader, however many partitions an answer lists.
  const auto now = UnreachableLeaders::Clock::now();
  auto& probe = leader_probes_[leader_id];
  if (now - probe.at >= std::chrono::milliseconds(1)) {
    probe.at = now;
    if (fetcher_ && fetcher_->leader_gone(leader_id)) {
      unreachable_leaders_->failed(leader_id, leader->epoch, now);
    }
  }
  return unreachable_leaders_->suspected(leader_id, leader->epoch, now) ? -1 : leader_id;
}

}  // namespace kafkacore::broker
