#pragma once
// One node (KRaft's process.roles): the composition root. Owns (and starts in dependency order)
// its controller-quorum member (Raft log, metadata image; on a controller the active-controller
// logic when it leads), its membership in the cluster (registration, heartbeats), the log
// manager, the partition replicas the metadata image gives it (leading or following, with the
// replica fetcher), the group coordinator, the Kafka listener and the reactor thread that runs
// them all; stops them in reverse. By role:
//   broker,controller (combined)  a Raft voter that also serves clients (all of the above);
//   broker                        a Raft observer of the controllers' log that serves clients;
//   controller                    a Raft voter with the controller logic only: no Kafka
//                                 listener (port() is 0), no partitions, no groups, never
//                                 registered as a broker; ready once its quorum has a leader.
// Everything except start()/stop()/wait_ready()/port() runs on the reactor thread.
#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "broker/unreachable_leaders.h"
#include "broker/config.h"
#include "common/error.h"
#include "group/group_coordinator.h"
#include "metadata/image.h"
#include "metadata/metadata_machine.h"
#include "raft/quorum.h"
#include "replication/partition.h"
#include "server/asio.h"
#include "server/handler_registry.h"
#include "server/request_faults.h"
#include "server/request_log.h"
#include "server/server.h"
#include "storage/io_faults.h"
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
class RequestHooks;

class Broker {
 public:
  // Opens (and recovers) the data directory, binds the listeners and starts the reactor thread.
  // A broker that is the only voter of its quorum returns once it is registered and serving; in
  // a larger cluster it returns at once (wait_ready() waits for the quorum).
  static Result<std::unique_ptr<Broker>> start(BrokerConfig config);
  ~Broker();  // stop()s if still running

  // Clean shutdown: stops accepting, closes connections, flushes and closes every log, writes the
  // clean-shutdown marker. Safe to call from any thread except the reactor; idempotent. Works
  // while paused (the pause ends first).
  Result<void> stop();
  // As close to a killed process as one process allows: listeners and connections close at once
  // (peers see the connection drop), nothing is flushed, no high-watermark checkpoint and no
  // clean-shutdown marker are written, so the next start recovers the logs as after a crash.
  // Data already handed to the OS stays (as it does when a process dies). Same rules as stop().
  void kill();

  // Pause (fault injection, like SIGSTOP): the reactor stops processing entirely (no requests
  // answered, no Raft or heartbeat messages, no timers) while every socket stays open, so peers
  // see a hung broker rather than a dead one. Returns once the reactor is held. resume() lets it
  // run again and returns once it does; the backlog (timers, queued requests) is then served.
  // Any thread but the reactor; idempotent; stop()/kill() end a pause.
  Result<void> pause();
  void resume();
  bool paused() const;

  // Runs `fn` on the reactor thread, even while paused (it runs inside the held reactor), and
  // waits for it. false if the broker stopped or `fn` did not run within `timeout_ms` (then it
  // may still run later: capture by value). Any thread but the reactor.
  bool run_on_reactor(std::function<void()> fn, int64_t timeout_ms = 10000);
  // Asks this voter to campaign for controller leadership now rather than after an election
  // timeout (a cluster whose voters all start together; Raft stays safe). Any thread.
  void campaign_now();

  // The metadata image this broker last applied (after its partitions took their roles), and
  // the controller-quorum leader as it last saw it (-1: none) with that leader's term. Any
  // thread, also while paused.
  metadata::ImagePtr published_image() const;
  std::pair<int32_t, int64_t> quorum_leader() const;
  // Until this broker is registered and unfenced (serving), or the timeout.
  Result<void> wait_ready(int64_t timeout_ms);
  uint16_t port() const { return port_; }  // 0 on a controller-only node
  ProcessRoles roles() const { return config_.cluster.roles; }  // any thread
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
  // Request-level fault injection and the log of received requests on the Kafka listener
  // (server/request_faults.h, server/request_log.h). Any thread, for the broker's lifetime; rules
  // apply from the next request on. Held (black-holed) requests are released when their rule is
  // removed or the broker stops.
  server::RequestFaults& request_faults() { return request_faults_; }
  server::RequestLog& request_log() { return request_log_; }
  // The partition logs' disk faults (LogManager::faults(): full disk, slow or failing fsync).
  // Any thread (atomics); nullptr once a kill() closed the logs. A failed write or fsync takes
  // the log directory offline until the broker restarts, as in Kafka.
  storage::IoFaults* disk_faults() { return logs_ ? &logs_->faults() : nullptr; }

  // ---- reactor thread only (handlers) ----
  const BrokerConfig& config() const { return config_; }
  server::asio::io_context& io() { return io_; }
  const metadata::MetadataImage& image() const { return *image_; }
  // The leader this broker would advertise for a partition led by `leader_id`: -1 when that
  // broker is fenced or unknown, or when our replica fetcher has lost it (unreachable_leaders.h).
  int32_t advertised_leader(int32_t leader_id) const;
  // How long the controller waits, at most, before fencing a broker whose connection broke
  // (0: it waits for the session).
  int64_t lost_connection_grace_ms() const { return lost_connection_grace_ms_; }
  // This node's controller-quorum member (voter or observer), for white-box tests.
  const raft::Quorum& quorum() const { return *quorum_; }
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
  // min.insync.replicas of a topic: its override, the cluster-wide one, this broker's (1).
  int32_t min_insync_replicas(const std::string& topic) const;

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
  // ElectLeaders PREFERRED: the partition's first replica becomes its leader.
  void elect_preferred_leader(const std::string& topic, int32_t partition, Done done);
  // ElectLeaders UNCLEAN: a leaderless partition gets any live replica (KIP-966 order first).
  void elect_unclean_leader(const std::string& topic, int32_t partition, Done done);
  // Replaces the topic's overrides with `configs`.
  void set_topic_configs(const std::string& name, const std::map<std::string, std::string>& configs,
                         bool validate_only, Done done);
  // A producer id from this broker's block (a new block comes from the controller).
  void allocate_producer_id(std::function<void(Result<int64_t>)> done);

 private:
  explicit Broker(BrokerConfig config);
  Result<void> open();
  Result<void> open_broker();  // the client-serving parts (not on a controller-only node)
  int32_t default_min_insync_replicas() const;
  Result<void> start_quorum();
  void image_applied(const metadata::ImagePtr& image);
  void reconcile_partitions(const metadata::MetadataImage* before);
  replication::Partition* ensure_partition(const metadata::TopicState& topic, int32_t index);
  void remove_partition(const std::string& topic, int32_t index);
  void running_changed(bool running);
  // This controller-quorum voter lost `broker_id`'s link: dial its listener to learn at once
  // whether the process is gone (broker/listener_probe.h).
  void probe_lost_broker(int32_t broker_id);
  void maybe_alter_isr();
  void schedule_tick();
  void schedule_group_tick();
  void schedule_cluster_tick();
  void write_hw_checkpoint();
  Result<void> shutdown_on_reactor(bool clean);
  Result<void> shutdown(bool clean);
  void hold_while_paused();

  BrokerConfig config_;
  int64_t lost_connection_grace_ms_ = 0;  // also bounds a listener probe
  server::asio::io_context io_;
  metadata::MetadataMachine machine_;
  metadata::ImagePtr image_ = metadata::MetadataImage::empty();
  // For the metadata log and the high-watermark checkpoint (kafkacore.unsafe.bypass.fsync only;
  // injected disk faults target the partition logs' LogManager::faults()).
  storage::IoFaults side_faults_;
  std::unique_ptr<raft::Quorum> quorum_;
  std::unique_ptr<ControllerService> controller_;
  std::unique_ptr<ControllerChannel> channel_;
  std::unique_ptr<BrokerLifecycle> lifecycle_;
  std::unique_ptr<storage::LogManager> logs_;
  std::map<std::pair<std::string, int32_t>, std::unique_ptr<replication::Partition>> partitions_;
  std::unique_ptr<replication::HwCheckpoint> hw_checkpoint_;
  replication::HighWatermarks checkpointed_hw_;
  std::unique_ptr<replication::ReplicaFetcherManager> fetcher_;
  std::unique_ptr<UnreachableLeaders> unreachable_leaders_;
  struct LeaderProbe {
    UnreachableLeaders::Clock::time_point at{};
  };
  mutable std::map<int32_t, LeaderProbe> leader_probes_;  // advertised_leader's last socket probes
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
  // pause()/resume(): the reactor waits in hold_while_paused() and runs `tasks` meanwhile.
  struct PauseGate {
    std::mutex mutex;
    std::condition_variable changed;
    bool requested = false;  // pause() asked, resume() not yet
    bool holding = false;    // the reactor is inside hold_while_paused()
    std::deque<std::function<void()>> tasks;
  };
  mutable PauseGate gate_;
  // For other threads (published_image(), quorum_leader()).
  mutable std::mutex published_mutex_;
  metadata::ImagePtr published_image_ = metadata::MetadataImage::empty();
  int32_t published_leader_ = -1;
  int64_t published_term_ = 0;
  int64_t next_producer_id_ = 0;
  int64_t producer_id_end_ = 0;
  std::vector<std::function<void(Result<int64_t>)>> producer_id_waiters_;
  // Declared last: the hooks (which hold parked requests) go first, then the rules and the log.
  server::RequestLog request_log_;
  server::RequestFaults request_faults_;
  std::unique_ptr<RequestHooks> request_hooks_;
};

}  // namespace kafkacore::broker
