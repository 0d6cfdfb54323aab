#include "raft/quorum.h"

#include "common/log.h"

namespace kafkacore::raft {

namespace asio = server::asio;

Quorum::Quorum(asio::io_context& io, QuorumConfig config, StateMachine& machine)
    : io_(io), config_(std::move(config)), machine_(machine) {}

Quorum::~Quorum() { stop(); }

Result<std::unique_ptr<Quorum>> Quorum::start(asio::io_context& io, QuorumConfig config,
                                              StateMachine& machine) {
  if (config.observer && config.voters.contains(config.id)) {
    return make_error(Errc::invalid_config, "node " + std::to_string(config.id) +
                                                " is an observer but listed in controller.quorum.voters");
  }
  if (config.observer && config.voters.empty()) {
    return make_error(Errc::invalid_config, "an observer needs controller.quorum.voters to follow");
  }
  if (!config.observer && !config.voters.contains(config.id)) {
    return make_error(Errc::invalid_config, "node " + std::to_string(config.id) +
                                                " is not among controller.quorum.voters");
  }
  std::unique_ptr<Quorum> q(new Quorum(io, std::move(config), machine));
  auto store = LogStore::open(q->config_.dir, q->config_.faults);
  if (!store) return std::unexpected(store.error());
  q->store_ = std::move(*store);
  RestoredState restored = q->store_->restore();
  if (restored.snapshot.last_index > 0) machine.restore(restored.snapshot);
  Config raft;
  raft.id = q->config_.id;
  for (const auto& [id, endpoint] : q->config_.voters) raft.voters.push_back(id);
  raft.observer = q->config_.observer;
  raft.election_ticks = q->config_.election_ticks;
  raft.heartbeat_ticks = q->config_.heartbeat_ticks;
  raft.seed = q->config_.seed ^ static_cast<uint64_t>(
                                    std::chrono::steady_clock::now().time_since_epoch().count());
  q->node_ = std::make_unique<Node>(raft, std::move(restored));
  Quorum* self = q.get();
  q->transport_ = std::make_unique<Transport>(io, q->config_.id, q->config_.voters, [self](Message m) {
    if (self->stopped_) return;
    if (auto* app = std::get_if<ApplicationMessage>(&m.payload)) {
      if (self->on_application) self->on_application(m.from, std::move(app->data));
      return;
    }
    if (self->failed_) return;
    self->node_->step(m);
    self->drive();
  });
  if (!q->config_.observer) {
    const uint16_t wanted = q->config_.listen_port ? q->config_.listen_port
                                                   : q->config_.voters.at(q->config_.id).port;
    auto port = q->transport_->listen(q->config_.listen_host, wanted);
    if (!port) return std::unexpected(port.error());
    q->port_ = *port;
  }
  q->schedule_tick();
  // A single voter has nobody to wait for; others wait for an election timeout.
  if (!q->config_.observer && q->config_.voters.size() == 1) q->node_->start_election();
  asio::post(io, [self] { self->drive(); });
  return q;
}

void Quorum::schedule_tick() {
  if (!timer_) timer_ = std::make_unique<asio::steady_timer>(io_);
  timer_->expires_after(std::chrono::milliseconds(config_.tick_ms));
  timer_->async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopped_) return;
    if (!failed_) {
      node_->tick();
      drive();
    }
    schedule_tick();
  });
}

void Quorum::campaign_now() {
  if (stopped_ || failed_ || node_->leader() != kNoNode || node_->role() != Role::follower) return;
  node_->start_election();
  drive();
}

Result<Index> Quorum::propose(Bytes data, std::function<void(Result<Index>)> done) {
  if (stopped_ || failed_) return make_error(Errc::not_controller, "this controller is not running");
  auto index = node_->propose(std::move(data));
  if (!index) {
    return make_error(Errc::not_controller, "not the active controller (leader is " +
                                                std::to_string(node_->leader()) + ")");
  }
  pending_[*index] = {node_->term(), std::move(done)};
  drive();
  return *index;
}

void Quorum::send_application(NodeId to, Bytes data) {
  if (stopped_) return;
  transport_->send(Message{config_.id, to, ApplicationMessage{0, std::move(data)}});
}

void Quorum::drive() {
  while (!failed_ && node_->has_ready()) {
    Ready ready = node_->ready();
    if (auto r = store_->persist(ready); !r) {
      // An fsync that failed may have lost data we already promised: stop voting for good
      // (fail-stop, as for the partition logs) rather than risk acting on a lie.
      KC_LOG(error, "raft", "persisting the Raft log failed; this voter stops",
             {{"error", r.error().message()}});
      failed_ = true;
      fail_pending("the controller's log store failed");
      return;
    }
    for (const auto& m : ready.messages) transport_->send(m);
    if (ready.apply_snapshot) {
      machine_.restore(*ready.apply_snapshot);
      applied_since_snapshot_ = 0;
    }
    for (const auto& entry : ready.committed) {
      machine_.apply(entry);
      ++applied_since_snapshot_;
      auto it = pending_.find(entry.index);
      if (it != pending_.end()) {
        auto [term, done] = std::move(it->second);
        pending_.erase(it);
        if (term == entry.term) {
          done(entry.index);
        } else {
          done(make_error(Errc::not_controller, "the proposal was overwritten by a new leader"));
        }
      }
    }
    node_->advance(ready);
    if (applied_since_snapshot_ >= config_.snapshot_every) {
      Snapshot snap{node_->applied_index(), 0, machine_.snapshot()};
      if (node_->compact(snap.last_index, snap.data)) {
        snap.last_term = node_->snapshot().last_term;
        if (auto r = store_->save_snapshot(snap); !r) {
          KC_LOG(warn, "raft", "could not save a snapshot", {{"error", r.error().message()}});
        }
      }
      applied_since_snapshot_ = 0;
    }
  }
  const Role role = node_->role();
  if ((role == Role::leader) != (last_role_ == Role::leader) || node_->leader() != last_leader_) {
    if (last_role_ == Role::leader && role != Role::leader) fail_pending("leadership lost");
    last_role_ = role;
    last_leader_ = node_->leader();
    KC_LOG(info, "raft", "leadership changed",
           {{"node", std::to_string(config_.id)}, {"leader", std::to_string(last_leader_)},
            {"term", std::to_string(node_->term())}});
    if (on_leadership) on_leadership(role == Role::leader, last_leader_, node_->term());
  }
}

void Quorum::fail_pending(const std::string& why) {
  auto pending = std::move(pending_);
  pending_.clear();
  for (auto& [index, p] : pending) p.second(make_error(Errc::not_controller, why));
}

void Quorum::stop() {
  if (stopped_) return;
  stopped_ = true;
  if (timer_) timer_->cancel();
  if (transport_) transport_->stop();
  fail_pending("the controller is stopping");
}

}  // namespace kafkacore::raft
