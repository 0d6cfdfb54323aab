#pragma once
// The active controller's decisions, sans-io: given the metadata image and a request (a broker
// registering or heartbeating, an admin operation, a leader asking to change its ISR), it
// answers with the records to commit through the Raft quorum, or an error. Time-driven
// decisions (fencing brokers whose session expired and moving their leaderships; preferred
// leader election) come out of tick().
//
// It works on a speculative image: the committed one plus the records it proposed that have not
// committed yet, so two requests in a row see each other's effects. The driver reports commits
// (`committed`) and a lost leadership (`reset`).
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/error.h"
#include "metadata/image.h"

namespace kafkacore::metadata {

struct ControllerConfig {
  int64_t broker_session_timeout_ms = 9000;  // broker.session.timeout.ms
  int32_t default_partitions = 1;            // num.partitions
  int16_t default_replication_factor = 1;    // default.replication.factor
  int64_t producer_id_block_size = 1000;
  bool auto_leader_rebalance = true;         // auto.leader.rebalance.enable
  int64_t leader_imbalance_check_interval_ms = 300000;  // leader.imbalance.check.interval.seconds
  int32_t leader_imbalance_per_broker_percentage = 10;  // leader.imbalance.per.broker.percentage
  // After a broker's connection to the controller broke, how long it may stay silent before it
  // is fenced (instead of a whole broker.session.timeout.ms); -1: never early.
  int64_t lost_connection_grace_ms = -1;
  // Broker defaults of the topic configs that shape elections (KIP-966); topic overrides and
  // cluster-level overrides (broker resource "") in the image win.
  int32_t min_insync_replicas = 1;       // min.insync.replicas
  bool unclean_leader_election = false;  // unclean.leader.election.enable
};

struct BrokerRegistration {
  int32_t broker_id = 0;
  Uuid incarnation;
  std::string host;
  int32_t port = 0;
  std::string rack;
  // Its previous run ended with a clean shutdown (the storage's marker). Otherwise its log may
  // have lost an unflushed tail: it leaves every ELR (KIP-966). Unknown counts as unclean.
  bool clean_shutdown = false;
};

using Records = std::vector<MetadataRecord>;

class Controller {
 public:
  Controller(ControllerConfig config, Clock& clock, uint64_t seed = 0);

  // The quorum committed up to `image`. Once it covers everything this controller proposed, the
  // speculative state is dropped in its favour.
  void committed(ImagePtr image);
  // This node became the active controller (or stopped being it): start from the committed
  // image, give every registered broker a full session from now.
  void reset(ImagePtr committed_image);
  // The driver proposed the records returned last, at this metadata-log offset.
  void proposed(int64_t offset) { last_proposed_ = std::max(last_proposed_, offset); }

  const MetadataImage& image() const { return *working_; }

  // The first controller of a new cluster writes the cluster id.
  Records bootstrap(const Uuid& cluster_id);
  // A broker (re)starts: a new epoch; it is fenced until it has caught up (heartbeat).
  Result<Records> register_broker(const BrokerRegistration& registration);
  // A live broker. `metadata_offset`: how far it has applied the log; a fenced broker that has
  // caught up past its registration is unfenced. Returns the records (possibly none) and
  // whether the broker is now fenced.
  Result<std::pair<Records, bool>> heartbeat(int32_t broker_id, int64_t epoch,
                                             int64_t metadata_offset);
  // `assignment`: explicit replicas per partition (partitions and replication factor -1).
  Result<Records> create_topic(const std::string& name, int32_t partitions,
                               int16_t replication_factor,
                               const std::map<std::string, std::string>& configs,
                               const std::vector<std::vector<int32_t>>& assignment = {});
  Result<Records> delete_topic(const std::string& name);
  Result<Records> create_partitions(const std::string& name, int32_t count);
  // nullopt values remove an override.
  Result<Records> alter_configs(ConfigResource resource, const std::string& name,
                                const std::map<std::string, std::optional<std::string>>& changes);
  // AlterPartition: the leader of a partition shrinks or expands its ISR.
  Result<Records> alter_partition(const Uuid& topic_id, int32_t partition, int32_t leader,
                                  int32_t leader_epoch, int32_t partition_epoch,
                                  const std::vector<int32_t>& isr);
  // A block of producer ids for a broker.
  Result<std::pair<Records, int64_t>> allocate_producer_ids(int32_t broker_id);
  // ElectLeaders PREFERRED for one partition: its first replica leads if it is in the ISR and
  // unfenced (PREFERRED_LEADER_NOT_AVAILABLE otherwise; ELECTION_NOT_NEEDED if it leads).
  Result<Records> elect_preferred_leader(const std::string& topic, int32_t partition);
  // ElectLeaders UNCLEAN for one partition without a leader: the usual order (ISR, ELR, last
  // known leader), then any live replica — its log may lack committed records.
  // ELECTION_NOT_NEEDED when it has a leader, ELIGIBLE_LEADERS_NOT_AVAILABLE when no replica
  // is live.
  Result<Records> elect_unclean_leader(const std::string& topic, int32_t partition);

  // The settings an election of `topic` uses: topic override, cluster override, default.
  int32_t min_insync_replicas(const std::string& topic) const;
  bool unclean_leader_election(const std::string& topic) const;

  Records tick();

  // The connection a broker's messages came on broke (it died, stopped, or the link failed).
  // If it sends no heartbeat within lost_connection_grace_ms, tick() fences it then rather
  // than a whole session later: a killed leader's partitions fail over sooner. Fencing a live
  // broker is safe (leaders come from the ISR; it is unfenced at its next heartbeat), it only
  // costs a leader change. Kept across reset(): a new controller learns of the death of the
  // old one this way (for at most one session).
  void connection_lost(int32_t broker_id);
  // After its connection broke, the broker's listener refused a connection: no process serves
  // there any more, so the next tick() fences it without waiting for the grace. Ignored unless
  // the connection is still lost (a heartbeat since means it is back).
  void listener_refused(int32_t broker_id);

  // Where replicas of new partitions go: `count` partitions starting at `first`, spread over
  // the unfenced brokers so that replicas and leaders (the first replica) are even.
  Result<std::vector<std::vector<int32_t>>> place(int32_t first, int32_t count, int16_t rf);

 private:
  Records commit_speculatively(Records records);
  // Leadership and ISR after `broker` is fenced (or shut down).
  Records move_away_from(int32_t broker);
  // Leadership for offline partitions of `broker`, now unfenced.
  Records elect_for_returning(int32_t broker);
  // `broker` restarted after an unclean shutdown: it leaves every ELR, and the ISR where it is
  // the last member but ELR members are left (they have what it may have lost).
  Records forget_unclean(int32_t broker);
  // Leaderless partitions of `topic` (all topics if empty) elected again (a config changed).
  // `gone` is leaving and may not lead.
  Records elect_offline(const std::string& topic, int32_t gone = -1);
  // The change that applies `isr` (with the ELR that follows, KIP-966) and with `elect` a
  // leader chosen in KIP-966's order: a live ISR member, a live ELR member, the last known
  // leader once neither set has anyone, then (`unclean`) any live replica; -1 if none.
  // nullopt when nothing changes. `gone` counts as not live.
  std::optional<PartitionChangeRecord> partition_change(const TopicState& t, int32_t index,
                                                        std::vector<int32_t> isr, bool elect,
                                                        bool unclean, int32_t gone = -1) const;
  bool live(int32_t broker) const;
  // auto.leader.rebalance.enable: preferred leaders of brokers whose imbalance is too high.
  Records rebalance_leaders();

  ControllerConfig config_;
  Clock& clock_;
  std::mt19937_64 rng_;
  ImagePtr committed_;
  ImagePtr working_;
  int64_t last_proposed_ = -1;
  std::map<int32_t, int64_t> last_heartbeat_ms_;
  struct LostConnection {
    int64_t at_ms = 0;
    bool listener_refused = false;
  };
  std::map<int32_t, LostConnection> lost_;  // connection_lost() with no heartbeat since
  int64_t next_rebalance_check_ms_ = 0;
};

}  // namespace kafkacore::metadata
