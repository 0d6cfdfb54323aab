#pragma once
// One broker: the composition root. Owns (and starts in dependency order) the metadata store,
// the log manager, the partitions it leads, the Kafka listener and the reactor thread that runs
// them; stops them in reverse. Everything except start()/stop()/port() runs on the reactor thread.
#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "broker/config.h"
#include "common/error.h"
#include "group/group_coordinator.h"
#include "metadata/metadata_store.h"
#include "replication/partition.h"
#include "server/asio.h"
#include "server/handler_registry.h"
#include "server/server.h"
#include "storage/log_manager.h"

namespace kafkacore::broker {

class FetchSessionCache;
class OffsetsTopic;

class Broker {
 public:
  // Opens (and recovers) the data directory, binds the listener and starts the reactor thread.
  // Returns once the broker accepts connections.
  static Result<std::unique_ptr<Broker>> start(BrokerConfig config);
  ~Broker();  // stop()s if still running

  // Clean shutdown: stops accepting, closes connections, flushes and closes every log, writes the
  // clean-shutdown marker. Safe to call from any thread except the reactor; idempotent.
  Result<void> stop();
  uint16_t port() const { return port_; }
  std::string bootstrap_servers() const;
  int32_t node_id() const { return config_.node_id; }

  // ---- reactor thread only (handlers) ----
  const BrokerConfig& config() const { return config_; }
  server::asio::io_context& io() { return io_; }
  metadata::MetadataStore& metadata() { return *metadata_; }
  storage::LogManager& logs() { return *logs_; }
  FetchSessionCache& fetch_sessions() { return *fetch_sessions_; }
  group::GroupCoordinator& groups() { return *groups_; }
  OffsetsTopic& offsets_topic() { return *offsets_topic_; }
  replication::Partition* partition(const std::string& topic, int32_t index);

  Result<const metadata::TopicInfo*> create_topic(const std::string& name, int32_t partitions,
                                                  int16_t replication_factor,
                                                  const std::map<std::string, std::string>& configs,
                                                  bool validate_only);
  // Creates the topic with broker defaults if auto.create.topics.enable allows it.
  Result<const metadata::TopicInfo*> auto_create_topic(const std::string& name);
  Result<void> delete_topic(const std::string& name);
  Result<void> create_partitions(const std::string& name, int32_t count, bool validate_only);
  Result<void> set_topic_configs(const std::string& name,
                                 const std::map<std::string, std::string>& configs,
                                 bool validate_only);

 private:
  explicit Broker(BrokerConfig config);
  Result<void> open();
  Result<void> open_partitions(const metadata::TopicInfo& topic, int32_t from);
  void schedule_tick();
  void schedule_group_tick();
  Result<void> shutdown_on_reactor();

  BrokerConfig config_;
  server::asio::io_context io_;
  std::unique_ptr<metadata::MetadataStore> metadata_;
  std::unique_ptr<storage::LogManager> logs_;
  std::map<std::pair<std::string, int32_t>, std::unique_ptr<replication::Partition>> partitions_;
  std::unique_ptr<FetchSessionCache> fetch_sessions_;
  std::unique_ptr<OffsetsTopic> offsets_topic_;
  std::unique_ptr<group::GroupCoordinator> groups_;
  std::unique_ptr<server::asio::steady_timer> group_timer_;
  server::HandlerRegistry registry_;
  std::unique_ptr<server::Server> server_;
  std::unique_ptr<server::asio::steady_timer> tick_timer_;
  std::thread reactor_;
  uint16_t port_ = 0;
  std::atomic<bool> stopped_{false};
};

}  // namespace kafkacore::broker
