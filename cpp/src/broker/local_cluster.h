#pragma once
// N brokers in one process forming one cluster (combined mode: every broker is a controller
// voter), each with its own data directory, Kafka port and controller port. Used by
// `pykafkacore serve --brokers N`, Python's Cluster and the tests. Ports may be 0 (any free
// one): the voters learn each other's controller addresses once all listen. A stopped broker
// restarts on the same ports and directory, like a restarted process.
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "broker/broker.h"

namespace kafkacore::broker {

struct LocalClusterOptions {
  int brokers = 3;
  std::filesystem::path data_dir;         // broker-<id> below it
  uint16_t base_port = 0;                 // broker i listens on base_port + i - 1 (0: any)
  uint16_t base_controller_port = 0;      // likewise for the controller listener
  std::string host = "127.0.0.1";
  std::map<std::string, std::string> properties;  // for every broker
  int64_t ready_timeout_ms = 30000;
  Clock* clock = nullptr;                 // nullptr: the system clock
};

class LocalCluster {
 public:
  static Result<std::unique_ptr<LocalCluster>> start(LocalClusterOptions options);
  ~LocalCluster();

  std::string bootstrap_servers() const;
  std::vector<int32_t> broker_ids() const;
  // nullptr while stopped.
  Broker* broker(int32_t id);
  // A clean stop (flush, close); the broker's partitions fail over once its session expires.
  Result<void> stop_broker(int32_t id);
  // Starts a stopped broker again on its ports and directory; waits until it serves.
  Result<void> restart_broker(int32_t id);
  Result<void> stop();

  // Network faults between brokers (clients keep reaching every broker): no traffic between
  // the two sides; a broker cut off from everyone; every link back.
  void partition(const std::vector<int32_t>& side_a, const std::vector<int32_t>& side_b);
  void isolate(int32_t id);
  void heal();

 private:
  void apply_filter();
  std::vector<std::pair<std::vector<int32_t>, std::vector<int32_t>>> cuts_;
  explicit LocalCluster(LocalClusterOptions options) : options_(std::move(options)) {}
  Result<BrokerConfig> config_for(int32_t id) const;
  void share_addresses();

  LocalClusterOptions options_;
  std::map<int32_t, std::unique_ptr<Broker>> brokers_;
  std::map<int32_t, uint16_t> ports_;
  std::map<int32_t, uint16_t> controller_ports_;
};

}  // namespace kafkacore::broker
