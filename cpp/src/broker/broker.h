#pragma once
// One broker: the composition root. Owns (and starts in dependency order) its controller-quorum
// voter (Raft log, metadata image, active-controller logic when it leads), its membership in the
// cluster (registration, heartbeats), the log manager, the partition replicas the metadata image
// gives it (leading or following, with the replica fetcher), the group coordinator, the Kafka
// listener and the reactor thread that runs them all; stops them in reverse. Everything except
// start()/stop()/wait_ready()/port() runs on the reactor thread.
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "broker/config.h"
#include "common/error.h"
#include "group/group_coordinator.h"
#include "metadata/image.h"
#include "metadata/metadata_machine.h"
#include "raft/quorum.h"
#include "replication/partition.h"
#include "server/asio.h"
#include "server/handler_registry.h"
#include "server/server.h"
#include "storage/log_manager.h"

#include "replication/hw_checkpoint.h"

namespace kafkacore::replication {
class ReplicaFetcherManager;
}

namespace kafkacore::broker {

class BrokerLifecycle;
class ControllerChannel;
class ControllerService;
class FetchSessionCache;
class OffsetsTopic;

class Broker {
 public:
  // Opens (and recovers) the data directory, binds the listeners and starts the reactor thread.
  // A broker that is the only voter of its quorum returns once it is registered and serving; in
  // a larger cluster it returns at once (wait_ready() waits for the quorum).
  static Result<std::unique_ptr<Broker>> start(BrokerConfig config);
  ~Broker();  // stop()s if still running

  // Clean shutdown: stops accepting, closes connections, flushes and closes every log, writes the
  // clean-shutdown marker. Safe to call from any thread except the reactor; idempotent.
  Result<void> stop();
  // Until this broker is registered and unfenced (serving), or the timeout.
  Result<void> wait_ready(int64_t timeout_ms);
  uint16_t port() const { return port_; }
  uint16_t controller_port() const { return controller_port_; }
  // A voter's controller address (known only once it listens, for clusters built on port 0).
  // Any thread.
  void set_voter_address(int32_t id, const std::string& host, uint16_t port);
  std::string bootstrap_servers() const;
  int32_t node_id() const { return config_.node_id; }
  // Fault injection, any thread but the reactor; returns once applied. false for (from, to) drops broker-to-broker traffic on that
  // link (Raft and controller messages, follower fetches). Clients still reach this broker.
  using LinkFilter = std::function<bool(int32_t from, int32_t to)>;
  void set_link_filter(LinkFilter filter);

  // ---- reactor thread only (handlers) ----
  const BrokerConfig& config() const { return config_; }
  server::asio::io_context& io() { return io_; }
  const metadata::MetadataImage& image() const { return *image_; }
  metadata::ImagePtr image_ptr() const { return image_; }
  // The broker to report as controller: the active one when it is a serving broker, else us.
  int32_t controller_id() const;
  storage::LogManager& logs() { return *logs_; }
  FetchSessionCache& fetch_sessions() { return *fetch_sessions_; }
  group::GroupCoordinator& groups() { return *groups_; }
  OffsetsTopic& offsets_topic() { return *offsets_topic_; }
  replication::Partition* partition(const std::string& topic, int32_t index);
  // A topic's config overrides (from the metadata image).
  std::map<std::string, std::string> topic_configs(const std::string& topic) const;

  // Admin operations go to the active controller; `done` runs once this broker's image shows
  // the change. -1 partitions / replication factor: the broker defaults.
  using Done = std::function<void(Result<void>)>;
  // `assignment`: explicit replicas per partition (then partitions and RF are -1), or empty.
  void create_topic(const std::string& name, int32_t partitions, int16_t replication_factor,
                    const std::map<std::string, std::string>& configs, bool validate_only, Done done,
                    std::vector<std::vector<int32_t>> assignment = {});
  // With broker defaults, if auto.create.topics.enable allows it.
  void auto_create_topic(const std::string& name, Done done);
  void delete_topic(const std::string& name, Done done);
  void create_partitions(const std::string& name, int32_t count, bool validate_only, Done done);
  // Replaces the topic's overrides with `configs`.
  void set_topic_configs(const std::string& name, const std::map<std::string, std::string>& configs,
                         bool validate_only, Done done);
  // A producer id from this broker's block (a new block comes from the controller).
  void allocate_producer_id(std::function<void(Result<int64_t>)> done);

 private:
  explicit Broker(BrokerConfig config);
  Result<void> open();
  Result<void> start_quorum();
  void image_applied(const metadata::ImagePtr& image);
  void reconcile_partitions(const metadata::MetadataImage* before);
  replication::Partition* ensure_partition(const metadata::TopicState& topic, int32_t index);
  void remove_partition(const std::string& topic, int32_t index);
  void running_changed(bool running);
  void maybe_alter_isr();
  void schedule_tick();
  void schedule_group_tick();
  void schedule_cluster_tick();
  void write_hw_checkpoint();
  Result<void> shutdown_on_reactor();

  BrokerConfig config_;
  server::asio::io_context io_;
  metadata::MetadataMachine machine_;
  metadata::ImagePtr image_ = metadata::MetadataImage::empty();
  std::unique_ptr<raft::Quorum> quorum_;
  std::unique_ptr<ControllerService> controller_;
  std::unique_ptr<ControllerChannel> channel_;
  std::unique_ptr<BrokerLifecycle> lifecycle_;
  std::unique_ptr<storage::LogManager> logs_;
  std::map<std::pair<std::string, int32_t>, std::unique_ptr<replication::Partition>> partitions_;
  std::unique_ptr<replication::HwCheckpoint> hw_checkpoint_;
  replication::HighWatermarks checkpointed_hw_;
  std::unique_ptr<replication::ReplicaFetcherManager> fetcher_;
  std::unique_ptr<FetchSessionCache> fetch_sessions_;
  std::unique_ptr<OffsetsTopic> offsets_topic_;
  std::unique_ptr<group::GroupCoordinator> groups_;
  std::unique_ptr<server::asio::steady_timer> group_timer_;
  std::unique_ptr<server::asio::steady_timer> cluster_timer_;
  server::HandlerRegistry registry_;
  std::unique_ptr<server::Server> server_;
  std::unique_ptr<server::asio::steady_timer> tick_timer_;
  std::thread reactor_;
  uint16_t port_ = 0;
  uint16_t controller_port_ = 0;
  bool single_voter_ = true;
  bool running_ = false;  // registered and unfenced: partitions take their roles
  std::atomic<bool> ready_{false};
  std::atomic<bool> stopped_{false};
  int64_t next_producer_id_ = 0;
  int64_t producer_id_end_ = 0;
  std::vector<std::function<void(Result<int64_t>)>> producer_id_waiters_;
};

}  // namespace kafkacore::broker
