#include "broker/broker.h"

#include <future>

#include "broker/fetch_sessions.h"
#include "broker/handlers/handlers.h"
#include "broker/offsets_topic.h"
#include "common/log.h"

namespace kafkacore::broker {

Broker::Broker(BrokerConfig config) : config_(std::move(config)) {}

Broker::~Broker() { (void)stop(); }

Result<std::unique_ptr<Broker>> Broker::start(BrokerConfig config) {
  std::unique_ptr<Broker> broker(new Broker(std::move(config)));
  if (auto r = broker->open(); !r) return std::unexpected(r.error());
  return broker;
}

Result<void> Broker::open() {
  auto metadata = metadata::MetadataStore::open(config_.data_dir);
  if (!metadata) return std::unexpected(metadata.error());
  metadata_ = std::move(*metadata);
  storage::LogManagerOptions options;
  options.data_dir = config_.data_dir;
  options.defaults = config_.log_defaults;
  options.clock = config_.clock;
  options.warn = [](const std::string& message) { KC_LOG(warn, "storage", message); };
  auto logs = storage::LogManager::open(options);
  if (!logs) return std::unexpected(logs.error());
  logs_ = std::move(*logs);
  KC_LOG(info, "broker", "data directory opened",
         {{"dir", config_.data_dir.string()},
          {"recovered", logs_->recovered_from_crash() ? "true" : "false"},
          {"topics", std::to_string(metadata_->topics().size())}});
  for (const auto* topic : metadata_->topics()) {
    if (auto r = open_partitions(*topic, 0); !r) return r;
  }
  // Logs no topic owns are leftovers of a deletion interrupted by a crash.
  for (const auto& tp : logs_->partitions()) {
    const auto* topic = metadata_->topic(tp.topic);
    if (!topic || tp.partition >= topic->partitions) {
      KC_LOG(info, "broker", "removing orphaned log", {{"partition", tp.dir_name()}});
      (void)logs_->remove(tp);
    }
  }
  fetch_sessions_ = std::make_unique<FetchSessionCache>(config_.fetch_session_cache_slots);
  offsets_topic_ = std::make_unique<OffsetsTopic>(*this);
  groups_ = std::make_unique<group::GroupCoordinator>(config_.groups, *offsets_topic_, *config_.clock);
  offsets_topic_->set_coordinator(groups_.get());
  // Posted, so it runs on the reactor once it starts; requests meanwhile see LOAD_IN_PROGRESS.
  offsets_topic_->start_loading();
  register_handlers(registry_, *this);
  server_ = std::make_unique<server::Server>(io_, registry_, config_.limits);
  if (auto r = server_->listen(config_.listen_host, config_.port); !r) return r;
  port_ = server_->port();
  schedule_tick();
  schedule_group_tick();
  reactor_ = std::thread([this] {
    try {
      io_.run();
    } catch (const std::exception& e) {
      KC_LOG(error, "broker", "reactor stopped by an exception", {{"error", e.what()}});
    }
  });
  KC_LOG(info, "broker", "listening",
         {{"node_id", std::to_string(config_.node_id)}, {"bootstrap", bootstrap_servers()}});
  return {};
}

std::string Broker::bootstrap_servers() const {
  return config_.advertised() + ":" + std::to_string(port_);
}

Result<void> Broker::open_partitions(const metadata::TopicInfo& topic, int32_t from) {
  auto log_config = topic_log_config(topic.configs, config_);
  if (!log_config) return std::unexpected(log_config.error());
  std::map<std::string, std::string> storage_props = log_config->to_properties();
  if (auto r = logs_->set_topic_config(topic.name, storage_props); !r) return r;
  for (int32_t p = from; p < topic.partitions; ++p) {
    auto log = logs_->get_or_create({topic.name, p});
    if (!log) return std::unexpected(log.error());
    auto partition = std::make_unique<replication::Partition>(topic.name, p, topic.id, *log);
    partition->rebuild_producer_state();
    partitions_[{topic.name, p}] = std::move(partition);
  }
  return {};
}

replication::Partition* Broker::partition(const std::string& topic, int32_t index) {
  auto it = partitions_.find({topic, index});
  return it == partitions_.end() ? nullptr : it->second.get();
}

Result<const metadata::TopicInfo*> Broker::create_topic(
    const std::string& name, int32_t partitions, int16_t replication_factor,
    const std::map<std::string, std::string>& configs, bool validate_only) {
  if (auto r = metadata::validate_topic_name(name); !r) return std::unexpected(r.error());
  if (metadata_->topic(name)) {
    return make_error(Errc::topic_already_exists, "topic '" + name + "' already exists");
  }
  if (partitions == -1) partitions = config_.num_partitions;
  if (replication_factor == -1) replication_factor = config_.default_replication_factor;
  if (partitions <= 0) return make_error(Errc::invalid_partitions, "number of partitions must be positive");
  if (replication_factor <= 0) {
    return make_error(Errc::invalid_replication_factor, "replication factor must be positive");
  }
  if (replication_factor > 1) {
    return make_error(Errc::invalid_replication_factor,
                      "replication factor " + std::to_string(replication_factor) +
                          " is larger than the number of brokers (1)");
  }
  if (auto r = validate_topic_configs(configs, config_); !r) return std::unexpected(r.error());
  if (validate_only) return nullptr;
  auto topic = metadata_->create_topic(name, partitions, configs);
  if (!topic) return topic;
  if (auto r = open_partitions(**topic, 0); !r) return std::unexpected(r.error());
  KC_LOG(info, "broker", "topic created",
         {{"topic", name}, {"partitions", std::to_string(partitions)}});
  return topic;
}

Result<const metadata::TopicInfo*> Broker::auto_create_topic(const std::string& name) {
  if (!config_.auto_create_topics) {
    return make_error(Errc::unknown_topic_or_partition, "topic '" + name + "' does not exist");
  }
  return create_topic(name, config_.num_partitions, config_.default_replication_factor, {}, false);
}

Result<void> Broker::delete_topic(const std::string& name) {
  const auto* topic = metadata_->topic(name);
  if (!topic) return make_error(Errc::unknown_topic_or_partition, "topic '" + name + "' does not exist");
  const int32_t count = topic->partitions;
  // The metadata goes first: if we crash while deleting logs, startup removes the orphans.
  if (auto r = metadata_->delete_topic(name); !r) return r;
  for (int32_t p = 0; p < count; ++p) {
    partitions_.erase({name, p});
    if (auto r = logs_->remove({name, p}); !r) {
      KC_LOG(warn, "broker", "could not remove log", {{"topic", name}, {"error", r.error().message()}});
    }
  }
  fetch_sessions_->forget_topic(name);
  groups_->forget_topic(name);
  KC_LOG(info, "broker", "topic deleted", {{"topic", name}});
  return {};
}

Result<void> Broker::create_partitions(const std::string& name, int32_t count, bool validate_only) {
  const auto* topic = metadata_->topic(name);
  if (!topic) return make_error(Errc::unknown_topic_or_partition, "topic '" + name + "' does not exist");
  if (count <= topic->partitions) {
    return make_error(Errc::invalid_partitions,
                      "topic currently has " + std::to_string(topic->partitions) +
                          " partitions, " + std::to_string(count) + " would not be an increase");
  }
  if (validate_only) return {};
  const int32_t before = topic->partitions;
  if (auto r = metadata_->set_partition_count(name, count); !r) return r;
  return open_partitions(*metadata_->topic(name), before);
}

Result<void> Broker::set_topic_configs(const std::string& name,
                                       const std::map<std::string, std::string>& configs,
                                       bool validate_only) {
  const auto* topic = metadata_->topic(name);
  if (!topic) return make_error(Errc::unknown_topic_or_partition, "topic '" + name + "' does not exist");
  if (auto r = validate_topic_configs(configs, config_); !r) return r;
  if (validate_only) return {};
  if (auto r = metadata_->set_configs(name, configs); !r) return r;
  auto log_config = topic_log_config(configs, config_);
  if (!log_config) return std::unexpected(log_config.error());
  return logs_->set_topic_config(name, log_config->to_properties());
}

void Broker::schedule_tick() {
  if (!tick_timer_) tick_timer_ = std::make_unique<server::asio::steady_timer>(io_);
  tick_timer_->expires_after(std::chrono::milliseconds(config_.tick_ms));
  tick_timer_->async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopped_) return;
    logs_->tick();
    fetch_sessions_->expire();
    schedule_tick();
  });
}

void Broker::schedule_group_tick() {
  // Session and rebalance deadlines need finer steps than the log tick.
  constexpr auto kGroupTick = std::chrono::milliseconds(50);
  if (!group_timer_) group_timer_ = std::make_unique<server::asio::steady_timer>(io_);
  group_timer_->expires_after(kGroupTick);
  group_timer_->async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopped_) return;
    groups_->tick();
    schedule_group_tick();
  });
}

Result<void> Broker::shutdown_on_reactor() {
  if (tick_timer_) tick_timer_->cancel();
  if (group_timer_) group_timer_->cancel();
  if (server_) server_->stop();
  partitions_.clear();
  // Parked JoinGroup/SyncGroup answers die here, on the reactor, with their connections.
  groups_.reset();
  return logs_ ? logs_->shutdown() : Result<void>{};
}

Result<void> Broker::stop() {
  if (stopped_.exchange(true)) return {};
  Result<void> outcome;
  if (reactor_.joinable()) {
    std::promise<Result<void>> done;
    auto future = done.get_future();
    server::asio::post(io_, [&] { done.set_value(shutdown_on_reactor()); });
    outcome = future.get();
    io_.stop();
    reactor_.join();
  } else {
    outcome = shutdown_on_reactor();
  }
  KC_LOG(info, "broker", "stopped", {{"clean", outcome ? "true" : "false"}});
  return outcome;
}

}  // namespace kafkacore::broker
