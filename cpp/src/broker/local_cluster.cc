#include "broker/local_cluster.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>

namespace kafkacore::broker {

Result<BrokerConfig> LocalCluster::config_for(int32_t id) const {
  std::map<std::string, std::string> props = options_.properties;
  const auto port = [&](const std::map<int32_t, uint16_t>& known, uint16_t base) -> uint16_t {
    if (auto it = known.find(id); it != known.end()) return it->second;
    return base ? static_cast<uint16_t>(base + id - 1) : 0;
  };
  // The voters: every broker (combined), or the dedicated controllers only.
  const int32_t first_voter = options_.controllers > 0 ? kFirstControllerId : 1;
  const int32_t voter_count = options_.controllers > 0 ? options_.controllers : options_.brokers;
  auto voter_port = [&](int32_t v) -> uint16_t {
    if (auto it = controller_ports_.find(v); it != controller_ports_.end()) return it->second;
    return options_.base_controller_port
               ? static_cast<uint16_t>(options_.base_controller_port + v - first_voter)
               : 0;
  };
  std::string voters;
  for (int32_t v = first_voter; v < first_voter + voter_count; ++v) {
    voters += (voters.empty() ? "" : ",") + std::to_string(v) + "@" + options_.host + ":" +
              std::to_string(voter_port(v));
  }
  const std::string kafka = "PLAINTEXT://" + options_.host + ":" + std::to_string(port(ports_, options_.base_port));
  const std::string controller = "CONTROLLER://" + options_.host + ":" + std::to_string(voter_port(id));
  props["node.id"] = std::to_string(id);
  if (options_.controllers == 0) {
    props["listeners"] = kafka + "," + controller;
  } else if (dedicated(id)) {
    props["process.roles"] = "controller";
    props["listeners"] = controller;
    props.erase("port");
  } else {
    props["process.roles"] = "broker";
    props["listeners"] = kafka;
  }
  props["controller.quorum.voters"] = voters;
  props["log.dirs"] =
      (options_.data_dir / ((dedicated(id) ? "controller-" : "broker-") + std::to_string(id))).string();
  auto config = BrokerConfig::from_properties(props);
  if (config && options_.clock) config->clock = options_.clock;
  return config;
}

void LocalCluster::share_addresses() {
  for (auto& [id, b] : brokers_) {
    if (!b) continue;
    for (const auto& [peer, port] : controller_ports_) b->set_voter_address(peer, options_.host, port);
  }
}

Result<void> LocalCluster::start_node(int32_t id) {
  auto config = config_for(id);
  if (!config) return std::unexpected(config.error());
  // With several voters start() returns at once; readiness is awaited by the caller.
  auto broker = Broker::start(std::move(*config));
  if (!broker) return std::unexpected(broker.error());
  if ((*broker)->roles() != ProcessRoles::controller) ports_[id] = (*broker)->port();
  if ((*broker)->roles() != ProcessRoles::broker) controller_ports_[id] = (*broker)->controller_port();
  brokers_[id] = std::move(*broker);
  return {};
}

Result<std::unique_ptr<LocalCluster>> LocalCluster::start(LocalClusterOptions options) {
  if (options.brokers < 1) return make_error(Errc::invalid_config, "a cluster needs at least one broker");
  if (options.controllers < 0) return make_error(Errc::invalid_config, "controllers must be >= 0");
  std::unique_ptr<LocalCluster> cluster(new LocalCluster(std::move(options)));
  if (cluster->options_.manual_clock) {
    cluster->manual_clock_ = std::make_unique<ManualClock>(SystemClock::instance().now_ms());
    cluster->options_.clock = cluster->manual_clock_.get();
  }
  // Dedicated controllers first: the brokers' configs then carry their real controller ports.
  for (int32_t i = 0; i < cluster->options_.controllers; ++i) {
    if (auto r = cluster->start_node(kFirstControllerId + i); !r) return std::unexpected(r.error());
  }
  cluster->share_addresses();
  for (int32_t id = 1; id <= cluster->options_.brokers; ++id) {
    if (auto r = cluster->start_node(id); !r) return std::unexpected(r.error());
  }
  cluster->share_addresses();
  // The voters start together: one campaigns at once instead of after an election timeout
  // (0.3-2 s of a start-up that otherwise takes milliseconds). Posted after the addresses.
  if (cluster->controller_ports_.size() > 1) {
    cluster->brokers_.at(cluster->controller_ports_.begin()->first)->campaign_now();
  }
  if (cluster->options_.wait_ready) {
    if (auto r = cluster->wait_ready(cluster->options_.ready_timeout_ms); !r) return std::unexpected(r.error());
  }
  return cluster;
}

Result<void> LocalCluster::wait_ready(int64_t timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (auto& [id, b] : brokers_) {
    if (!b) continue;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (auto r = b->wait_ready(std::max<int64_t>(0, left.count())); !r) return r;
  }
  return {};
}

LocalCluster::~LocalCluster() { (void)stop(); }

std::string LocalCluster::bootstrap_servers() const {
  std::string out;
  for (const auto& [id, port] : ports_) {
    out += (out.empty() ? "" : ",") + options_.host + ":" + std::to_string(port);
  }
  return out;
}

std::vector<int32_t> LocalCluster::broker_ids() const {
  std::vector<int32_t> ids;
  for (const auto& [id, port] : ports_) ids.push_back(id);
  return ids;
}

std::vector<int32_t> LocalCluster::controller_ids() const {
  std::vector<int32_t> ids;
  for (const auto& [id, port] : controller_ports_) {
    if (dedicated(id)) ids.push_back(id);
  }
  return ids;
}

Broker* LocalCluster::broker(int32_t id) {
  auto it = brokers_.find(id);
  return it == brokers_.end() ? nullptr : it->second.get();
}

Result<void> LocalCluster::stop_broker(int32_t id) {
  auto it = brokers_.find(id);
  if (it == brokers_.end() || !it->second) {
    return make_error(Errc::invalid_request, "broker " + std::to_string(id) + " is not running");
  }
  auto r = it->second->stop();
  it->second.reset();
  return r;
}

Result<void> LocalCluster::kill_broker(int32_t id) {
  auto it = brokers_.find(id);
  if (it == brokers_.end() || !it->second) {
    return make_error(Errc::invalid_request, "broker " + std::to_string(id) + " is not running");
  }
  it->second->kill();
  it->second.reset();
  return {};
}

Result<void> LocalCluster::pause_broker(int32_t id) {
  auto it = brokers_.find(id);
  if (it == brokers_.end() || !it->second) {
    return make_error(Errc::invalid_request, "broker " + std::to_string(id) + " is not running");
  }
  return it->second->pause();
}

Result<void> LocalCluster::resume_broker(int32_t id) {
  auto it = brokers_.find(id);
  if (it == brokers_.end() || !it->second) {
    return make_error(Errc::invalid_request, "broker " + std::to_string(id) + " is not running");
  }
  it->second->resume();
  return {};
}

bool LocalCluster::paused(int32_t id) const {
  auto it = brokers_.find(id);
  return it != brokers_.end() && it->second && it->second->paused();
}

int32_t LocalCluster::controller_id() const {
  int32_t leader = -1;
  int64_t term = -1;
  for (const auto& [id, b] : brokers_) {
    if (!b) continue;
    auto [l, t] = b->quorum_leader();
    if (t > term) {
      term = t;
      leader = l;
    }
  }
  // A stopped leader is not the controller any more, even before the others elect a new one.
  auto it = brokers_.find(leader);
  return it != brokers_.end() && it->second ? leader : -1;
}

metadata::ImagePtr LocalCluster::image(int32_t id) const {
  if (id >= 0) {
    auto it = brokers_.find(id);
    return it == brokers_.end() || !it->second ? nullptr : it->second->published_image();
  }
  metadata::ImagePtr freshest;
  for (const auto& [bid, b] : brokers_) {
    if (!b) continue;
    auto image = b->published_image();
    if (!freshest || image->offset() > freshest->offset()) freshest = std::move(image);
  }
  return freshest;
}

Broker* LocalCluster::serving_broker() {
  const int32_t controller = controller_id();
  Broker* any = nullptr;
  for (auto& [id, b] : brokers_) {
    if (!b || b->paused() || b->roles() == ProcessRoles::controller) continue;
    if (id == controller) return b.get();
    if (!any) any = b.get();
  }
  return any;
}

namespace {

// run_on_reactor() gives up waiting after its timeout, yet the task may still run afterwards:
// the timeout's answer and the late one race, and only the first reaches the caller.
Broker::Done answer_once(Broker::Done done) {
  struct Once {
    std::atomic<bool> answered{false};
    Broker::Done done;
  };
  auto once = std::make_shared<Once>();
  once->done = std::move(done);
  return [once](Result<void> r) {
    if (!once->answered.exchange(true)) once->done(std::move(r));
  };
}

}  // namespace

void LocalCluster::create_topic(const std::string& name, int32_t partitions, int16_t replication_factor,
                                const std::map<std::string, std::string>& configs, Broker::Done done) {
  Broker* b = serving_broker();
  if (!b) return done(make_error(Errc::broker_not_available, "no broker is running (or all are paused)"));
  auto shared = std::make_shared<Broker::Done>(answer_once(std::move(done)));
  const bool posted = b->run_on_reactor([b, name, partitions, replication_factor, configs, shared] {
    b->create_topic(name, partitions, replication_factor, configs, /*validate_only=*/false,
                    [shared](Result<void> r) { (*shared)(std::move(r)); });
  });
  if (!posted) (*shared)(make_error(Errc::request_timed_out, "the broker did not take the request"));
}

void LocalCluster::delete_topic(const std::string& name, Broker::Done done) {
  Broker* b = serving_broker();
  if (!b) return done(make_error(Errc::broker_not_available, "no broker is running (or all are paused)"));
  auto shared = std::make_shared<Broker::Done>(answer_once(std::move(done)));
  const bool posted = b->run_on_reactor([b, name, shared] {
    b->delete_topic(name, [shared](Result<void> r) { (*shared)(std::move(r)); });
  });
  if (!posted) (*shared)(make_error(Errc::request_timed_out, "the broker did not take the request"));
}

void LocalCluster::elect_preferred_leaders(const std::string& topic,
                                           std::vector<int32_t> partitions, Broker::Done done) {
  Broker* b = serving_broker();
  if (!b) {
    return done(make_error(Errc::broker_not_available, "no broker is running (or all are paused)"));
  }
  struct Gather {
    Broker::Done done;
    Result<void> result;
    int outstanding = 1;
    void finish() {
      if (--outstanding == 0) done(std::move(result));
    }
  };
  auto gather = std::make_shared<Gather>(Gather{answer_once(std::move(done)), {}, 1});
  const bool posted =
      b->run_on_reactor([b, topic, partitions = std::move(partitions), gather]() mutable {
        if (partitions.empty()) {
          if (const auto* state = b->image().topic(topic)) {
            for (size_t i = 0; i < state->partitions.size(); ++i) {
              partitions.push_back(static_cast<int32_t>(i));
            }
          } else {
            gather->result = make_error(Errc::unknown_topic_or_partition, "no topic " + topic);
          }
        }
        for (int32_t p : partitions) {
          ++gather->outstanding;
          b->elect_preferred_leader(topic, p, [gather](Result<void> r) {
            if (!r && r.error().code() != Errc::election_not_needed && gather->result) {
              gather->result = std::move(r);
            }
            gather->finish();
          });
        }
        gather->finish();
      });
  if (!posted) {
    gather->done(make_error(Errc::request_timed_out, "the broker did not take the request"));
  }
}

std::vector<int32_t> LocalCluster::topic_lagging(const std::string& name, bool present) const {
  std::vector<int32_t> lagging;
  const auto freshest = image();
  for (const auto& [id, b] : brokers_) {
    if (!b || b->paused()) continue;
    if (freshest) {
      const auto* state = freshest->broker(id);
      if (!state || state->fenced) continue;
    }
    const auto img = b->published_image();
    const auto* topic = img->topic(name);
    bool ok = topic == nullptr;
    if (present) {
      ok = topic && !topic->partitions.empty() &&
           std::all_of(topic->partitions.begin(), topic->partitions.end(),
                       [](const metadata::PartitionState& p) { return p.leader >= 0; });
    }
    if (!ok) lagging.push_back(id);
  }
  return lagging;
}

Result<PartitionRead> LocalCluster::read_partition(int32_t id, const std::string& topic,
                                                   int32_t partition, int64_t start,
                                                   uint64_t max_bytes, bool committed) {
  auto it = brokers_.find(id);
  if (it == brokers_.end() || !it->second) {
    return make_error(Errc::invalid_request, "broker " + std::to_string(id) + " is not running");
  }
  Broker* b = it->second.get();
  auto out = std::make_shared<Result<PartitionRead>>(
      make_error(Errc::request_timed_out, "broker " + std::to_string(id) + " did not answer"));
  const bool ran = b->run_on_reactor([b, out, topic, partition, start, max_bytes, committed] {
    auto* p = b->partition(topic, partition);
    if (!p) {
      *out = make_error(Errc::unknown_topic_or_partition,
                        "broker " + std::to_string(b->node_id()) + " holds no replica of " + topic +
                            "-" + std::to_string(partition));
      return;
    }
    PartitionRead read;
    const auto& log = p->log();
    read.log_start_offset = log.log_start_offset().value();
    read.log_end_offset = log.log_end_offset().value();
    read.high_watermark = p->high_watermark().value();
    read.leader = p->is_leader();
    const int64_t end = committed ? read.high_watermark : read.log_end_offset;
    const int64_t from = std::max(start, read.log_start_offset);
    if (from < end) {
      auto slice = log.read(Offset{from}, max_bytes, Offset{end});
      if (!slice) {
        *out = std::unexpected(slice.error());
        return;
      }
      auto bytes = slice->copy_bytes();
      if (!bytes) {
        *out = std::unexpected(bytes.error());
        return;
      }
      read.batches = std::move(*bytes);
    }
    *out = std::move(read);
  });
  if (!ran) return make_error(Errc::request_timed_out, "broker " + std::to_string(id) + " did not answer");
  return std::move(*out);
}

Result<void> LocalCluster::restart_broker(int32_t id, bool wait) {
  if (!known(id)) return make_error(Errc::invalid_request, "no broker " + std::to_string(id));
  if (brokers_[id]) return make_error(Errc::invalid_request, "broker " + std::to_string(id) + " is running");
  if (auto r = start_node(id); !r) return r;
  share_addresses();
  apply_filter();
  if (!wait) return {};
  return brokers_[id]->wait_ready(options_.ready_timeout_ms);
}

void LocalCluster::partition(const std::vector<int32_t>& side_a, const std::vector<int32_t>& side_b) {
  cuts_.emplace_back(side_a, side_b);
  apply_filter();
}

void LocalCluster::isolate(int32_t id) {
  std::vector<int32_t> others;
  for (const auto& [other, node] : brokers_) {
    if (other != id) others.push_back(other);
  }
  partition({id}, others);
}

void LocalCluster::heal() {
  cuts_.clear();
  apply_filter();
}

void LocalCluster::apply_filter() {
  Broker::LinkFilter filter;
  if (!cuts_.empty()) {
    filter = [cuts = cuts_](int32_t from, int32_t to) {
      auto in = [](const std::vector<int32_t>& v, int32_t x) { return std::find(v.begin(), v.end(), x) != v.end(); };
      for (const auto& [a, b] : cuts) {
        if ((in(a, from) && in(b, to)) || (in(b, from) && in(a, to))) return false;
      }
      return true;
    };
  }
  for (auto& [id, b] : brokers_) {
    if (b) b->set_link_filter(filter);
  }
}

Result<void> LocalCluster::stop() {
  // All at once: each stop waits on its own reactor and disk.
  std::vector<Result<void>> results(brokers_.size());
  std::vector<std::thread> stoppers;
  size_t i = 0;
  for (auto& [id, b] : brokers_) {
    if (b) stoppers.emplace_back([&b, &r = results[i]] { r = b->stop(); });
    ++i;
  }
  for (auto& t : stoppers) t.join();
  Result<void> outcome;
  for (auto& r : results) {
    if (!r && outcome) outcome = r;
  }
  for (auto& [id, b] : brokers_) b.reset();
  return outcome;
}

Result<void> LocalCluster::advance_time(int64_t ms) {
  if (!manual_clock_) {
    return make_error(Errc::invalid_request, "advance_time needs a cluster started with a manual clock");
  }
  if (ms < 0) return make_error(Errc::invalid_request, "time only moves forward");
  manual_clock_->advance_ms(ms);
  for (auto& [id, broker] : brokers_) {
    if (!broker || broker->roles() == ProcessRoles::controller) continue;
    Broker* b = broker.get();
    if (!b->run_on_reactor([b] {
          b->groups().tick();
          b->logs().tick();
        })) {
      return make_error(Errc::request_timed_out,
                        "broker " + std::to_string(id) + " did not run its timed work");
    }
  }
  return {};
}

int64_t LocalCluster::now_ms() const {
  return (options_.clock ? options_.clock : &SystemClock::instance())->now_ms();
}

}  // namespace kafkacore::broker
