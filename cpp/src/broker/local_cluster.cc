#include "broker/local_cluster.h"

#include <algorithm>
#include <thread>

namespace kafkacore::broker {

Result<BrokerConfig> LocalCluster::config_for(int32_t id) const {
  std::map<std::string, std::string> props = options_.properties;
  const auto port = [&](const std::map<int32_t, uint16_t>& known, uint16_t base) -> uint16_t {
    if (auto it = known.find(id); it != known.end()) return it->second;
    return base ? static_cast<uint16_t>(base + id - 1) : 0;
  };
  std::string voters;
  for (int32_t v = 1; v <= options_.brokers; ++v) {
    uint16_t vport = 0;
    if (auto it = controller_ports_.find(v); it != controller_ports_.end()) {
      vport = it->second;
    } else if (options_.base_controller_port) {
      vport = static_cast<uint16_t>(options_.base_controller_port + v - 1);
    }
    voters += (voters.empty() ? "" : ",") + std::to_string(v) + "@" + options_.host + ":" +
              std::to_string(vport);
  }
  props["node.id"] = std::to_string(id);
  props["listeners"] = "PLAINTEXT://" + options_.host + ":" + std::to_string(port(ports_, options_.base_port)) +
                       ",CONTROLLER://" + options_.host + ":" +
                       std::to_string(port(controller_ports_, options_.base_controller_port));
  props["controller.quorum.voters"] = voters;
  props["log.dirs"] = (options_.data_dir / ("broker-" + std::to_string(id))).string();
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

Result<std::unique_ptr<LocalCluster>> LocalCluster::start(LocalClusterOptions options) {
  if (options.brokers < 1) return make_error(Errc::invalid_config, "a cluster needs at least one broker");
  std::unique_ptr<LocalCluster> cluster(new LocalCluster(std::move(options)));
  for (int32_t id = 1; id <= cluster->options_.brokers; ++id) {
    auto config = cluster->config_for(id);
    if (!config) return std::unexpected(config.error());
    // With several voters start() returns at once; readiness is awaited below.
    auto broker = Broker::start(std::move(*config));
    if (!broker) return std::unexpected(broker.error());
    cluster->ports_[id] = (*broker)->port();
    cluster->controller_ports_[id] = (*broker)->controller_port();
    cluster->brokers_[id] = std::move(*broker);
  }
  cluster->share_addresses();
  for (auto& [id, b] : cluster->brokers_) {
    if (auto r = b->wait_ready(cluster->options_.ready_timeout_ms); !r) return std::unexpected(r.error());
  }
  return cluster;
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

Result<void> LocalCluster::restart_broker(int32_t id) {
  if (!ports_.contains(id)) return make_error(Errc::invalid_request, "no broker " + std::to_string(id));
  if (brokers_[id]) return make_error(Errc::invalid_request, "broker " + std::to_string(id) + " is running");
  auto config = config_for(id);
  if (!config) return std::unexpected(config.error());
  auto broker = Broker::start(std::move(*config));
  if (!broker) return std::unexpected(broker.error());
  brokers_[id] = std::move(*broker);
  share_addresses();
  apply_filter();
  return brokers_[id]->wait_ready(options_.ready_timeout_ms);
}

void LocalCluster::partition(const std::vector<int32_t>& side_a, const std::vector<int32_t>& side_b) {
  cuts_.emplace_back(side_a, side_b);
  apply_filter();
}

void LocalCluster::isolate(int32_t id) {
  std::vector<int32_t> others;
  for (const auto& [other, port] : ports_) {
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
  Result<void> outcome;
  for (auto& [id, b] : brokers_) {
    if (!b) continue;
    if (auto r = b->stop(); !r && outcome) outcome = r;
    b.reset();
  }
  return outcome;
}

}  // namespace kafkacore::broker
