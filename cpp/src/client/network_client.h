#pragma once
// The connections and cluster view one client (producer, consumer, admin) works with: one
// connection per broker, opened on demand with exponential reconnect backoff and ApiVersions
// negotiation (requests go out at the highest version both sides support); the cluster metadata,
// refreshed on demand (coalesced, at most once per retry backoff) and every metadata.max.age.ms;
// and group coordinator lookups, cached.
//
// Coordinator traffic gets its own connection per broker (node id kCoordinatorNodeBase - id), as
// the Java client does: a broker answers a connection's requests in order, so a heartbeat must
// not queue behind a fetch that long-polls for 500 ms.
//
// The network client does not retry: a failed request reports its error and the caller decides
// (client/errors.h says which errors are retriable and which make the metadata stale).
// Single-threaded: every call and callback on the io_context given at construction.
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "client/cluster_metadata.h"
#include "client/config.h"
#include "client/connection.h"

namespace kafkacore::client {

inline constexpr int32_t kCoordinatorNodeBase = INT32_MAX;

struct SendOptions {
  int16_t min_version = 0;  // refuse (UNSUPPORTED_VERSION) when the broker cannot go this high
  int16_t max_version = INT16_MAX;
  std::optional<std::chrono::milliseconds> timeout;  // default: request.timeout.ms
};

class NetworkClient {
 public:
  template <typename Msg>
  using Callback = Connection::Callback<Msg>;
  using MetadataListener = std::function<void(const ClusterMetadata&)>;

  NetworkClient(asio::io_context& io, ClientOptions options);
  ~NetworkClient();
  NetworkClient(const NetworkClient&) = delete;
  NetworkClient& operator=(const NetworkClient&) = delete;

  const ClientOptions& options() const { return options_; }
  asio::io_context& io() { return io_; }

  // ---- metadata
  const ClusterMetadata& metadata() const { return *metadata_; }
  std::shared_ptr<const ClusterMetadata> metadata_snapshot() const { return metadata_; }
  // Topics every metadata request asks for (added to the ones already wanted).
  void want_topics(const std::vector<std::string>& topics);
  void unwant_topics(const std::vector<std::string>& topics);
  // Ask for every topic in the cluster (pattern subscriptions).
  void want_all_topics(bool all);
  // Requests an update; `done` (optional) runs after the first update that started after this
  // call, or with the error of the last attempt once request.timeout.ms has passed.
  void update_metadata(std::function<void(Result<void>)> done = nullptr);
  // Called after every successful update.
  void add_metadata_listener(MetadataListener listener);

  // ---- requests
  // Sends to broker `node_id` (a metadata broker id, or a coordinator node from
  // find_coordinator), connecting first if needed. `build` gets the negotiated version.
  template <typename Req>
  void send(int32_t node_id, std::function<Req(int16_t version)> build,
            Callback<ResponseOfT<Req>> done, SendOptions options = {});
  template <typename Req>
  void send(int32_t node_id, Req request, Callback<ResponseOfT<Req>> done,
            SendOptions options = {}) {
    send<Req>(node_id, [request = std::move(request)](int16_t) { return request; },
              std::move(done), options);
  }
  // A request the broker does not answer (Produce with acks=0); `done` once it is queued for
  // writing on a ready connection.
  template <typename Req>
  void send_oneway(int32_t node_id, std::function<Req(int16_t version)> build,
                   std::function<void(Result<void>)> done, SendOptions options = {});
  // Sends to the least loaded broker that is connected (or else to one that can be), falling
  // back to the bootstrap addresses before any metadata has arrived.
  template <typename Req>
  void send_any(std::function<Req(int16_t version)> build, Callback<ResponseOfT<Req>> done,
                SendOptions options = {}) {
    send<Req>(pick_any_node(), std::move(build), std::move(done), options);
  }

  // The coordinator node of a group (key_type 0) or transactional id (1); cached until
  // forget_coordinator. The node id is kCoordinatorNodeBase - broker id (its own connection).
  void find_coordinator(const std::string& key, int8_t key_type,
                        std::function<void(Result<int32_t>)> done);
  void forget_coordinator(const std::string& key, int8_t key_type);

  // Broker id behind a node id (coordinator nodes map back to their broker).
  static int32_t broker_of(int32_t node_id) {
    return node_id > kCoordinatorNodeBase / 2 ? kCoordinatorNodeBase - node_id : node_id;
  }
  // Requests in flight on the node's connection.
  size_t in_flight(int32_t node_id) const;
  bool connected(int32_t node_id) const;

  // Closes every connection and fails everything queued or in flight with NETWORK_EXCEPTION
  // "client closed". Later sends fail the same way.
  void close();

 private:
  struct Node;
  struct Queued {
    std::function<void(Node&)> dispatch;
    std::function<void(const Error&)> fail;
  };
  struct Node {
    int32_t id = 0;
    BrokerAddress address;
    std::unique_ptr<Connection> conn;
    enum class State { idle, connecting, negotiating, ready } state = State::idle;
    std::map<int16_t, std::pair<int16_t, int16_t>> versions;  // api key -> broker's range
    std::deque<Queued> queue;                                  // waiting for `ready`
    std::chrono::steady_clock::time_point next_attempt{};
    std::chrono::milliseconds backoff{0};
    std::unique_ptr<asio::steady_timer> retry_timer;
  };
  struct MetadataWaiter {
    std::function<void(Result<void>)> done;
    std::chrono::steady_clock::time_point deadline;
  };

  void submit(int32_t node_id, Queued queued);
  // Queues a request for `node_id`; once connected, `dispatch(conn, version, done)` sends it at
  // the negotiated version, or `done` gets UNSUPPORTED_VERSION.
  template <typename Req, typename Done, typename Dispatch>
  void submit_versioned(int32_t node_id, SendOptions options, Done done, Dispatch dispatch);
  Node* node_for(int32_t node_id);
  void start_connect(Node& node);
  void on_connect_failed(Node& node, const Error& error);
  void on_ready(Node& node);
  // Highest version in [min, max] both sides support.
  Result<int16_t> pick_version(const Node& node, int16_t api_key, int16_t min, int16_t max) const;
  int32_t pick_any_node();

  void schedule_metadata();
  void send_metadata_request();
  void on_metadata(Result<Response<protocol::MetadataResponse>> response);
  void expire_metadata_waiters(const Error& error);
  void arm_metadata_timer(std::chrono::milliseconds delay);

  asio::io_context& io_;
  ClientOptions options_;
  bool closed_ = false;
  std::map<int32_t, std::unique_ptr<Node>> nodes_;  // bootstrap addresses have ids -1, -2, ...
  size_t next_any_ = 0;

  std::shared_ptr<const ClusterMetadata> metadata_;
  std::set<std::string> wanted_topics_;
  bool all_topics_ = false;
  bool metadata_in_flight_ = false;
  std::vector<MetadataWaiter> waiters_in_flight_;  // served by the request in flight
  std::vector<MetadataWaiter> waiters_next_;       // need a request that starts later
  std::chrono::steady_clock::time_point last_metadata_attempt_{};
  std::chrono::steady_clock::time_point last_metadata_success_{};
  std::optional<Error> last_metadata_error_;
  std::unique_ptr<asio::steady_timer> metadata_timer_;
  std::vector<MetadataListener> listeners_;

  std::map<std::pair<int8_t, std::string>, int32_t> coordinators_;
  std::map<std::pair<int8_t, std::string>, std::vector<std::function<void(Result<int32_t>)>>>
      coordinator_lookups_;

  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

// ---- templates

template <typename Req, typename Done, typename Dispatch>
void NetworkClient::submit_versioned(int32_t node_id, SendOptions options, Done done,
                                     Dispatch dispatch) {
  auto callback = std::make_shared<Done>(std::move(done));
  Queued queued;
  queued.fail = [callback](const Error& error) { (*callback)(std::unexpected(error)); };
  queued.dispatch = [this, dispatch = std::move(dispatch), callback, options](Node& node) {
    Result<int16_t> version =
        pick_version(node, Req::api_key, std::max(Req::min_version, options.min_version),
                     std::min(Req::max_version, options.max_version));
    if (!version) {
      asio::post(io_, [callback, error = version.error()] { (*callback)(std::unexpected(error)); });
      return;
    }
    dispatch(*node.conn, *version, std::move(*callback));
  };
  submit(node_id, std::move(queued));
}

template <typename Req>
void NetworkClient::send(int32_t node_id, std::function<Req(int16_t)> build,
                         Callback<ResponseOfT<Req>> done, SendOptions options) {
  submit_versioned<Req>(node_id, options, std::move(done),
                        [build = std::move(build), timeout = options.timeout](
                            Connection& conn, int16_t version, Callback<ResponseOfT<Req>> cb) {
                          conn.send(build(version), version, std::move(cb), timeout);
                        });
}

template <typename Req>
void NetworkClient::send_oneway(int32_t node_id, std::function<Req(int16_t)> build,
                                std::function<void(Result<void>)> done, SendOptions options) {
  submit_versioned<Req>(node_id, options, std::move(done),
                        [build = std::move(build)](Connection& conn, int16_t version,
                                                   std::function<void(Result<void>)> cb) {
                          conn.send_oneway(build(version), version, std::move(cb));
                        });
}

}  // namespace kafkacore::client
