#pragma once
// N brokers in one process forming one cluster, each with its own data directory and ports. By
// default in combined mode (every broker is a controller voter, with a Kafka and a controller
// port); with `controllers` > 0, KRaft's dedicated mode: that many controller-only nodes (ids
// kFirstControllerId.., controller port only) form the quorum and the brokers (ids 1..N, Kafka
// port only) follow it as observers. Used by
// `pykafkacore serve --brokers N`, Python's Cluster and the tests. Ports may be 0 (any free
// one): the voters learn each other's controller addresses once all listen. A stopped broker
// restarts on the same ports and directory, like a restarted process. Not thread-safe: one
// caller at a time (Python's Cluster serialises its calls).
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "broker/broker.h"
#include "common/clock.h"

namespace kafkacore::broker {

// Ids of dedicated controllers start here (as in Kafka's test kit), apart from the brokers'.
inline constexpr int32_t kFirstControllerId = 3000;

struct LocalClusterOptions {
  int brokers = 3;
  // Dedicated controllers (process.roles=controller), ids kFirstControllerId + i; 0: combined
  // mode, every broker a voter.
  int controllers = 0;
  std::filesystem::path data_dir;         // broker-<id> (and controller-<id>) below it
  uint16_t base_port = 0;                 // broker i listens on base_port + i - 1 (0: any)
  // Likewise for the controller listener: of broker i in combined mode, of controller
  // kFirstControllerId + i on base_controller_port + i with dedicated controllers.
  uint16_t base_controller_port = 0;
  std::string host = "127.0.0.1";
  std::map<std::string, std::string> properties;  // for every broker
  int64_t ready_timeout_ms = 30000;
  // false: start() returns once every broker listens; wait_ready() waits for the cluster.
  bool wait_ready = true;
  Clock* clock = nullptr;                 // nullptr: the system clock
  // The cluster owns a ManualClock starting at the current time (ignores `clock`): group
  // session/rebalance deadlines, offsets expiry, retention and LogAppendTime then move only
  // with advance_time(). Liveness (broker sessions, Raft, ISR lag) always runs on real time.
  bool manual_clock = false;
};

// One partition's log as a broker holds it (LocalCluster::read_partition).
struct PartitionRead {
  Bytes batches;  // whole RecordBatch v2, concatenated
  int64_t log_start_offset = 0;
  int64_t log_end_offset = 0;
  int64_t high_watermark = 0;
  bool leader = false;
};

class LocalCluster {
 public:
  static Result<std::unique_ptr<LocalCluster>> start(LocalClusterOptions options);
  ~LocalCluster();

  std::string bootstrap_servers() const;
  // The nodes that serve clients (every node in combined mode).
  std::vector<int32_t> broker_ids() const;
  // Dedicated controllers (empty in combined mode).
  std::vector<int32_t> controller_ids() const;
  // Any node, broker or controller (the *_broker() calls below take either); nullptr while stopped.
  Broker* broker(int32_t id);
  // Until every running broker serves in the cluster, or the timeout.
  Result<void> wait_ready(int64_t timeout_ms);
  // A clean stop (flush, close); the broker's partitions fail over once its session expires.
  Result<void> stop_broker(int32_t id);
  // An abrupt stop (Broker::kill): no flush, no clean-shutdown marker; restart recovers.
  Result<void> kill_broker(int32_t id);
  // Starts a stopped broker again on its ports and directory; with `wait`, until it serves.
  Result<void> restart_broker(int32_t id, bool wait = true);
  Result<void> stop();

  // Broker::pause()/resume(): the broker hangs with its sockets open.
  Result<void> pause_broker(int32_t id);
  Result<void> resume_broker(int32_t id);
  bool paused(int32_t id) const;

  // The active controller as the running brokers see it (the view with the highest term), -1
  // while there is none (or it is a stopped broker).
  int32_t controller_id() const;
  // The metadata image broker `id` last applied; -1: the most recent among running brokers.
  // nullptr if no such broker runs.
  metadata::ImagePtr image(int32_t id = -1) const;

  // Admin operations through a running, unpaused broker (forwarded to the active controller).
  // `done` runs on that broker's reactor thread once its own image shows the change; at once
  // (on the caller's thread) if no broker can take the request.
  void create_topic(const std::string& name, int32_t partitions, int16_t replication_factor,
                    const std::map<std::string, std::string>& configs, Broker::Done done);
  void delete_topic(const std::string& name, Broker::Done done);
  // Preferred leader election (as ElectLeaders PREFERRED) for `partitions` of `topic` (empty:
  // every partition of it). `done` once the serving broker's image shows each led by its
  // preferred replica (one that already was counts as done), or with the first error
  // (PREFERRED_LEADER_NOT_AVAILABLE, UNKNOWN_TOPIC_OR_PARTITION, ...).
  void elect_preferred_leaders(const std::string& topic, std::vector<int32_t> partitions,
                               Broker::Done done);
  // The brokers that do not show `name` as wanted yet: present with a leader for every
  // partition, or gone. Counted are running, unpaused brokers the freshest image has unfenced.
  std::vector<int32_t> topic_lagging(const std::string& name, bool present) const;
  // Broker `id`'s copy of a partition, from `start` on (below the high watermark if
  // `committed`), up to about `max_bytes`. Runs on that broker's reactor (also while paused).
  Result<PartitionRead> read_partition(int32_t id, const std::string& topic, int32_t partition,
                                       int64_t start, uint64_t max_bytes, bool committed);

  // Network faults between brokers (clients keep reaching every broker): no traffic between
  // the two sides; a broker cut off from everyone; every link back.
  void partition(const std::vector<int32_t>& side_a, const std::vector<int32_t>& side_b);
  void isolate(int32_t id);
  void heal();

  // With a manual clock: moves it `ms` forward, then has every running broker do its timed
  // work at once (group deadlines and offsets expiry, retention, compaction planning), so
  // what the new time implies has happened when this returns.
  Result<void> advance_time(int64_t ms);
  // The time the brokers see (ms since the epoch).
  int64_t now_ms() const;

 private:
  void apply_filter();
  std::vector<std::pair<std::vector<int32_t>, std::vector<int32_t>>> cuts_;
  explicit LocalCluster(LocalClusterOptions options) : options_(std::move(options)) {}
  Result<BrokerConfig> config_for(int32_t id) const;
  void share_addresses();

  Broker* serving_broker();  // a running, unpaused broker (the controller if it is one)

  LocalClusterOptions options_;
  std::unique_ptr<ManualClock> manual_clock_;  // declared before the brokers that read it
  bool dedicated(int32_t id) const { return options_.controllers > 0 && id >= kFirstControllerId; }
  bool known(int32_t id) const { return ports_.contains(id) || controller_ports_.contains(id); }
  Result<void> start_node(int32_t id);

  std::map<int32_t, std::unique_ptr<Broker>> brokers_;  // every node, controllers included
  std::map<int32_t, uint16_t> ports_;             // Kafka ports of the client-serving nodes
  std::map<int32_t, uint16_t> controller_ports_;  // controller ports of the voters
};

}  // namespace kafkacore::broker
