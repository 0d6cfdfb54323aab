#include "client/network_client.h"

#include <algorithm>
#include <random>

#include "common/log.h"

namespace kafkacore::client {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

Error closed_error() { return Error(kNetworkError, "client closed"); }

// Exponential backoff with +-20% jitter, like Kafka's ExponentialBackoff.
milliseconds next_backoff(milliseconds current, milliseconds base, milliseconds max) {
  milliseconds next = current.count() == 0 ? base : std::min(max, current * 2);
  static thread_local std::minstd_rand rng{std::random_device{}()};
  std::uniform_real_distribution<double> jitter(0.8, 1.2);
  return milliseconds(static_cast<int64_t>(static_cast<double>(next.count()) * jitter(rng)));
}

}  // namespace

NetworkClient::NetworkClient(asio::io_context& io, ClientOptions options)
    : io_(io), options_(std::move(options)), metadata_(std::make_shared<ClusterMetadata>()) {
  int32_t id = -1;
  for (const BrokerAddress& address : options_.bootstrap) {
    auto node = std::make_unique<Node>();
    node->id = id;
    node->address = address;
    nodes_[id--] = std::move(node);
  }
  metadata_timer_ = std::make_unique<asio::steady_timer>(io_);
}

NetworkClient::~NetworkClient() {
  *alive_ = false;
  // Connections drop their pending requests without callbacks; queued ones likewise.
}

void NetworkClient::close() {
  if (closed_) return;
  closed_ = true;
  metadata_timer_->cancel();
  std::vector<std::function<void(const Error&)>> to_fail;
  for (auto& [id, node] : nodes_) {
    for (Queued& q : node->queue) to_fail.push_back(std::move(q.fail));
    node->queue.clear();
    if (node->retry_timer) node->retry_timer->cancel();
    if (node->conn) node->conn->close();  // fails its pending requests
  }
  std::vector<MetadataWaiter> waiters = std::move(waiters_in_flight_);
  for (MetadataWaiter& w : waiters_next_) waiters.push_back(std::move(w));
  waiters_next_.clear();
  auto lookups = std::move(coordinator_lookups_);
  coordinator_lookups_.clear();
  for (auto& fail : to_fail) fail(closed_error());
  for (MetadataWaiter& w : waiters) {
    if (w.done) w.done(std::unexpected(closed_error()));
  }
  for (auto& [key, dones] : lookups) {
    for (auto& done : dones) done(std::unexpected(closed_error()));
  }
}

// ---- connections

NetworkClient::Node* NetworkClient::node_for(int32_t node_id) {
  if (auto it = nodes_.find(node_id); it != nodes_.end()) return it->second.get();
  int32_t broker = broker_of(node_id);
  auto b = metadata_->brokers.find(broker);
  if (b == metadata_->brokers.end()) return nullptr;
  auto node = std::make_unique<Node>();
  node->id = node_id;
  node->address = {b->second.host, b->second.port};
  return (nodes_[node_id] = std::move(node)).get();
}

void NetworkClient::submit(int32_t node_id, Queued queued) {
  if (closed_) {
    asio::post(io_, [fail = std::move(queued.fail)] { fail(closed_error()); });
    return;
  }
  Node* node = node_for(node_id);
  if (!node) {
    asio::post(io_, [fail = std::move(queued.fail), node_id] {
      fail(Error(Errc::broker_not_available,
                 "broker " + std::to_string(broker_of(node_id)) + " is not in the metadata"));
    });
    return;
  }
  if (node->state == Node::State::ready && node->conn && !node->conn->closed()) {
    queued.dispatch(*node);
    return;
  }
  if (node->state == Node::State::ready) node->state = Node::State::idle;  // connection dropped
  node->queue.push_back(std::move(queued));
  if (node->state == Node::State::idle) start_connect(*node);
}

void NetworkClient::start_connect(Node& node) {
  auto now = Clock::now();
  if (now < node.next_attempt) {
    if (!node.retry_timer) node.retry_timer = std::make_unique<asio::steady_timer>(io_);
    node.retry_timer->expires_at(node.next_attempt);
    node.retry_timer->async_wait([this, id = node.id, alive = alive_](boost::system::error_code ec) {
      if (ec || !*alive || closed_) return;
      auto it = nodes_.find(id);
      if (it != nodes_.end() && it->second->state == Node::State::idle &&
          !it->second->queue.empty()) {
        start_connect(*it->second);
      }
    });
    return;
  }
  node.state = Node::State::connecting;
  if (!node.conn) {
    ConnectionOptions co;
    co.client_id = options_.client_id;
    co.request_timeout = options_.request_timeout;
    node.conn = std::make_unique<Connection>(io_, co);
  }
  node.conn->connect(node.address.host, node.address.port, options_.connection_setup_timeout,
                     [this, id = node.id, alive = alive_](Result<void> r) {
                       if (!*alive || closed_) return;
                       Node& n = *nodes_.at(id);
                       if (!r) return on_connect_failed(n, r.error());
                       n.state = Node::State::negotiating;
                       protocol::ApiVersionsRequest request;
                       request.client_software_name = "pykafkacore";
                       request.client_software_version = "0.1.0";
                       n.conn->send(
                           request, 3,
                           [this, id, alive](Result<Response<protocol::ApiVersionsResponse>> got) {
                             if (!*alive || closed_) return;
                             Node& negotiating = *nodes_.at(id);
                             if (!got) return on_connect_failed(negotiating, got.error());
                             if (got->body.error_code != 0) {
                               auto code = static_cast<Errc>(got->body.error_code);
                               negotiating.conn->close();
                               return on_connect_failed(
                                   negotiating, Error(code, "ApiVersions refused: " +
                                                                std::string(errc_name(code))));
                             }
                             negotiating.versions.clear();
                             for (const auto& k : got->body.api_keys) {
                               negotiating.versions[k.api_key] = {k.min_version, k.max_version};
                             }
                             on_ready(negotiating);
                           },
                           options_.connection_setup_timeout);
                     });
}

void NetworkClient::on_connect_failed(Node& node, const Error& error) {
  node.state = Node::State::idle;
  node.backoff =
      next_backoff(node.backoff, options_.reconnect_backoff, options_.reconnect_backoff_max);
  node.next_attempt = Clock::now() + node.backoff;
  KC_LOG(debug, "client", "connect failed",
         {{"broker", std::to_string(broker_of(node.id))},
          {"address", node.address.host + ":" + std::to_string(node.address.port)},
          {"error", error.to_string()}});
  std::deque<Queued> queue = std::move(node.queue);
  node.queue.clear();
  Error failure(error.code() == Errc::request_timed_out ? kNetworkError : error.code(),
                "connection to " + node.address.host + ":" + std::to_string(node.address.port) +
                    " failed: " + error.message());
  for (Queued& q : queue) q.fail(failure);
}

void NetworkClient::on_ready(Node& node) {
  node.state = Node::State::ready;
  node.backoff = milliseconds(0);
  std::deque<Queued> queue = std::move(node.queue);
  node.queue.clear();
  for (Queued& q : queue) q.dispatch(node);
}

Result<int16_t> NetworkClient::pick_version(const Node& node, int16_t api_key, int16_t min,
                                            int16_t max) const {
  auto it = node.versions.find(api_key);
  if (it == node.versions.end()) {
    return make_error(Errc::unsupported_version,
                      "broker " + std::to_string(broker_of(node.id)) + " does not support API " +
                          std::to_string(api_key));
  }
  int16_t version = std::min(max, it->second.second);
  if (version < min || version < it->second.first) {
    return make_error(Errc::unsupported_version,
                      "no common version of API " + std::to_string(api_key) + " with broker " +
                          std::to_string(broker_of(node.id)) + " (ours " + std::to_string(min) +
                          "-" + std::to_string(max) + ", theirs " +
                          std::to_string(it->second.first) + "-" +
                          std::to_string(it->second.second) + ")");
  }
  return version;
}

int32_t NetworkClient::pick_any_node() {
  // Candidates: metadata brokers once known, else the bootstrap addresses.
  std::vector<int32_t> candidates;
  for (const auto& [id, broker] : metadata_->brokers) candidates.push_back(id);
  if (candidates.empty()) {
    for (const auto& [id, node] : nodes_) {
      if (id < 0) candidates.push_back(id);
    }
  }
  int32_t best = candidates.empty() ? -1 : candidates[next_any_++ % candidates.size()];
  size_t best_load = SIZE_MAX;
  bool best_ready = false;
  auto now = Clock::now();
  for (int32_t id : candidates) {
    auto it = nodes_.find(id);
    if (it == nodes_.end()) continue;
    const Node& node = *it->second;
    bool ready = node.state == Node::State::ready && node.conn && node.conn->connected();
    size_t load = node.conn ? node.conn->in_flight() + node.queue.size() : 0;
    if (ready && (!best_ready || load < best_load)) {
      best = id;
      best_load = load;
      best_ready = true;
    } else if (!best_ready && node.state == Node::State::idle && now < node.next_attempt &&
               best == id) {
      // Round-robin landed on a node in backoff: prefer any other not in backoff.
      for (int32_t other : candidates) {
        auto o = nodes_.find(other);
        if (o == nodes_.end() || now >= o->second->next_attempt) {
          best = other;
          break;
        }
      }
    }
  }
  return best;
}

size_t NetworkClient::in_flight(int32_t node_id) const {
  auto it = nodes_.find(node_id);
  if (it == nodes_.end() || !it->second->conn) return 0;
  return it->second->conn->in_flight() + it->second->queue.size();
}

bool NetworkClient::connected(int32_t node_id) const {
  auto it = nodes_.find(node_id);
  return it != nodes_.end() && it->second->state == Node::State::ready && it->second->conn &&
         it->second->conn->connected();
}

// ---- metadata

void NetworkClient::want_topics(const std::vector<std::string>& topics) {
  for (const std::string& t : topics) wanted_topics_.insert(t);
}

void NetworkClient::unwant_topics(const std::vector<std::string>& topics) {
  for (const std::string& t : topics) wanted_topics_.erase(t);
}

void NetworkClient::want_all_topics(bool all) { all_topics_ = all; }

void NetworkClient::add_metadata_listener(MetadataListener listener) {
  listeners_.push_back(std::move(listener));
}

void NetworkClient::update_metadata(std::function<void(Result<void>)> done) {
  if (closed_) {
    if (done) asio::post(io_, [done = std::move(done)] { done(std::unexpected(closed_error())); });
    return;
  }
  waiters_next_.push_back({std::move(done), Clock::now() + options_.request_timeout});
  schedule_metadata();
}

void NetworkClient::schedule_metadata() {
  if (metadata_in_flight_ || closed_) return;
  auto earliest = last_metadata_attempt_ + options_.retry_backoff;
  auto now = Clock::now();
  if (now >= earliest || last_metadata_attempt_ == Clock::time_point{}) {
    send_metadata_request();
  } else {
    arm_metadata_timer(std::chrono::duration_cast<milliseconds>(earliest - now) +
                       milliseconds(1));
  }
}

void NetworkClient::arm_metadata_timer(milliseconds delay) {
  metadata_timer_->expires_after(delay);
  metadata_timer_->async_wait([this, alive = alive_](boost::system::error_code ec) {
    if (ec || !*alive || closed_) return;
    auto now = Clock::now();
    // Fail waiters whose time is up.
    std::vector<MetadataWaiter> expired;
    std::erase_if(waiters_next_, [&](MetadataWaiter& w) {
      if (w.deadline > now) return false;
      expired.push_back(std::move(w));
      return true;
    });
    for (MetadataWaiter& w : expired) {
      if (w.done) {
        w.done(std::unexpected(last_metadata_error_.value_or(
            Error(Errc::request_timed_out, "no metadata update within request.timeout.ms"))));
      }
    }
    if (!waiters_next_.empty() || now >= last_metadata_success_ + options_.metadata_max_age) {
      schedule_metadata();
    } else {
      arm_metadata_timer(std::chrono::duration_cast<milliseconds>(
          last_metadata_success_ + options_.metadata_max_age - now));
    }
  });
}

void NetworkClient::send_metadata_request() {
  metadata_in_flight_ = true;
  last_metadata_attempt_ = Clock::now();
  for (MetadataWaiter& w : waiters_next_) waiters_in_flight_.push_back(std::move(w));
  waiters_next_.clear();
  std::optional<std::vector<std::string>> topics;
  if (!all_topics_) topics.emplace(wanted_topics_.begin(), wanted_topics_.end());
  bool auto_create = options_.allow_auto_create_topics;
  send_any<protocol::MetadataRequest>(
      [topics, auto_create](int16_t) {
        return metadata_request(topics, auto_create);
      },
      [this, alive = alive_](Result<Response<protocol::MetadataResponse>> r) {
        if (!*alive) return;
        on_metadata(std::move(r));
      },
      SendOptions{.min_version = 1, .max_version = INT16_MAX, .timeout = {}});
}

void NetworkClient::on_metadata(Result<Response<protocol::MetadataResponse>> response) {
  metadata_in_flight_ = false;
  if (closed_) return;
  std::vector<MetadataWaiter> served = std::move(waiters_in_flight_);
  waiters_in_flight_.clear();
  if (!response) {
    last_metadata_error_ = response.error();
    KC_LOG(debug, "client", "metadata request failed", {{"error", response.error().to_string()}});
    // Waiters keep waiting for a later attempt (until their deadline).
    for (MetadataWaiter& w : served) waiters_next_.push_back(std::move(w));
    arm_metadata_timer(options_.retry_backoff);
    return;
  }
  auto next = std::make_shared<ClusterMetadata>(ClusterMetadata::from_response(response->body));
  next->generation = metadata_->generation + 1;
  // A broker whose address changed gets fresh connections.
  for (auto& [id, node] : nodes_) {
    if (id < 0) continue;
    auto b = next->brokers.find(broker_of(id));
    if (b == next->brokers.end()) continue;
    BrokerAddress address{b->second.host, b->second.port};
    if (!(address == node->address)) {
      node->address = address;
      if (node->conn) node->conn->close();
      node->state = Node::State::idle;
    }
  }
  metadata_ = std::move(next);
  last_metadata_success_ = Clock::now();
  last_metadata_error_.reset();
  auto alive = alive_;
  auto listeners = listeners_;
  for (auto& listener : listeners) {
    listener(*metadata_);
    if (!*alive || closed_) return;
  }
  for (MetadataWaiter& w : served) {
    if (w.done) w.done({});
    if (!*alive || closed_) return;
  }
  if (!waiters_next_.empty()) {
    schedule_metadata();
  } else {
    arm_metadata_timer(options_.metadata_max_age);
  }
}

// ---- coordinators

void NetworkClient::find_coordinator(const std::string& key, int8_t key_type,
                                     std::function<void(Result<int32_t>)> done) {
  auto cache_key = std::make_pair(key_type, key);
  if (auto it = coordinators_.find(cache_key); it != coordinators_.end()) {
    asio::post(io_, [done = std::move(done), node = it->second] { done(node); });
    return;
  }
  auto& waiting = coordinator_lookups_[cache_key];
  waiting.push_back(std::move(done));
  if (waiting.size() > 1) return;  // a lookup is already in flight
  send_any<protocol::FindCoordinatorRequest>(
      [key, key_type](int16_t version) {
        protocol::FindCoordinatorRequest request;
        request.key_type = key_type;
        if (version >= 4) {
          request.coordinator_keys = {key};
        } else {
          request.key = key;
        }
        return request;
      },
      [this, cache_key, alive = alive_](Result<Response<protocol::FindCoordinatorResponse>> r) {
        if (!*alive) return;
        auto it = coordinator_lookups_.find(cache_key);
        if (it == coordinator_lookups_.end()) return;
        auto dones = std::move(it->second);
        coordinator_lookups_.erase(it);
        Result<int32_t> result = [&]() -> Result<int32_t> {
          if (!r) return std::unexpected(r.error());
          const auto& body = r->body;
          int16_t code;
          std::optional<std::string> message;
          int32_t broker;
          std::string host;
          int32_t port;
          if (r->version >= 4) {
            if (body.coordinators.empty()) {
              return make_error(Errc::coordinator_not_available, "empty FindCoordinator answer");
            }
            const auto& c = body.coordinators.front();
            code = c.error_code, message = c.error_message, broker = c.node_id, host = c.host,
            port = c.port;
          } else {
            code = body.error_code, message = body.error_message, broker = body.node_id,
            host = body.host, port = body.port;
          }
          if (code != 0) {
            auto errc = static_cast<Errc>(code);
            return make_error(errc, message.value_or(std::string(errc_name(errc))));
          }
          int32_t node_id = kCoordinatorNodeBase - broker;
          auto& node = nodes_[node_id];
          BrokerAddress address{host, static_cast<uint16_t>(port)};
          if (!node) {
            node = std::make_unique<Node>();
            node->id = node_id;
            node->address = address;
          } else if (!(node->address == address)) {
            node->address = address;
            if (node->conn) node->conn->close();
            node->state = Node::State::idle;
          }
          coordinators_[cache_key] = node_id;
          return node_id;
        }();
        for (auto& waiter : dones) {
          waiter(result);
          if (!*alive) return;
        }
      });
}

void NetworkClient::forget_coordinator(const std::string& key, int8_t key_type) {
  coordinators_.erase(std::make_pair(key_type, key));
}

}  // namespace kafkacore::client
