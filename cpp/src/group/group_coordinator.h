#pragma once
// The classic consumer-group coordinator: the JoinGroup/SyncGroup/Heartbeat/LeaveGroup state
// machine, committed offsets, and the records that make both durable in `__consumer_offsets`.
//
// It knows nothing about sockets or the wire format: requests arrive as plain structs, answers
// leave through callbacks (a JoinGroup or SyncGroup may be answered much later, when the
// rebalance it waits for completes), records go to a GroupStore, and time comes from a Clock and
// `tick()`. The broker glues it to the protocol and to the partitions of `__consumer_offsets`.
// Single-threaded: every call on the broker's reactor thread.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/clock.h"
#include "common/error.h"
#include "group/group.h"
#include "group/group_records.h"

namespace kafkacore::group {

struct GroupConfig {
  int32_t min_session_timeout_ms = 6000;        // group.min.session.timeout.ms
  int32_t max_session_timeout_ms = 1800000;     // group.max.session.timeout.ms
  int32_t initial_rebalance_delay_ms = 3000;    // group.initial.rebalance.delay.ms
  int32_t max_size = 2147483647;                // group.max.size
  int32_t offsets_partitions = 50;              // offsets.topic.num.partitions
  int64_t offsets_retention_ms = 7LL * 24 * 3600 * 1000;  // offsets.retention.minutes
  int64_t retention_check_interval_ms = 600000;  // offsets.retention.check.interval.ms
  int32_t metadata_max_bytes = 4096;            // offset.metadata.max.bytes
  // A member parked in its first JoinGroup cannot heartbeat; one that vanished is dropped after
  // this (Kafka's fixed 5 minutes).
  int32_t new_member_join_timeout_ms = 300000;
};

// Where the coordinator's records go: the partitions of `__consumer_offsets`. `done` may run
// before append() returns.
class GroupStore {
 public:
  struct Record {
    RecordKey key;
    std::optional<Bytes> value;  // nullopt: tombstone
  };
  virtual ~GroupStore() = default;
  virtual void append(int32_t partition, std::vector<Record> records,
                      std::function<void(const Result<void>&)> done) = 0;
};

struct JoinParams {
  std::string group_id;
  std::string member_id;
  std::optional<std::string> instance_id;
  std::string protocol_type;
  std::vector<Protocol> protocols;
  int32_t session_timeout_ms = 0;
  int32_t rebalance_timeout_ms = 0;
  std::string client_id;
  std::string client_host;
  bool requires_known_member_id = false;  // JoinGroup v4+ (KIP-394)
  bool supports_skip_assignment = false;  // JoinGroup v9+
};

struct JoinMember {
  std::string member_id;
  std::optional<std::string> instance_id;
  Bytes metadata;
};

struct JoinResult {
  Errc error = Errc::none;
  int32_t generation = -1;
  std::optional<std::string> protocol_type;
  std::optional<std::string> protocol_name;
  std::string leader;
  std::string member_id;
  bool skip_assignment = false;
  std::vector<JoinMember> members;  // the leader's answer only
};

struct SyncParams {
  std::string group_id;
  std::string member_id;
  std::optional<std::string> instance_id;
  int32_t generation = -1;
  std::optional<std::string> protocol_type;  // v5+
  std::optional<std::string> protocol_name;  // v5+
  std::vector<std::pair<std::string, Bytes>> assignments;  // the leader's
};

struct SyncResult {
  Errc error = Errc::none;
  std::optional<std::string> protocol_type;
  std::optional<std::string> protocol_name;
  Bytes assignment;
};

struct MemberIdentity {
  std::string member_id;
  std::optional<std::string> instance_id;
};

struct LeaveResult {
  Errc error = Errc::none;       // the group's
  std::vector<Errc> members;     // one per member asked to leave, in order
};

struct CommitPartition {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = -1;
  int32_t leader_epoch = -1;
  std::optional<std::string> metadata;
};

struct CommitParams {
  std::string group_id;
  std::string member_id;
  std::optional<std::string> instance_id;
  int32_t generation = -1;
  int64_t retention_ms = -1;  // OffsetCommit v2-v4; -1: the broker's retention
  std::vector<CommitPartition> partitions;
};

struct CommitResult {
  std::vector<Errc> partitions;  // one per partition of the request, in order
};

struct FetchedOffset {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = -1;
  int32_t leader_epoch = -1;
  std::optional<std::string> metadata;
  Errc error = Errc::none;
};

struct OffsetFetchResult {
  Errc error = Errc::none;
  std::vector<FetchedOffset> offsets;
};

using TopicPartitions = std::vector<std::pair<std::string, std::vector<int32_t>>>;

struct GroupListing {
  std::string group_id;
  std::string protocol_type;
  std::string state;
};

struct MemberDescription {
  std::string member_id;
  std::optional<std::string> instance_id;
  std::string client_id;
  std::string client_host;
  Bytes metadata;
  Bytes assignment;
};

struct GroupDescription {
  Errc error = Errc::none;
  std::string group_id;
  std::string state;
  std::string protocol_type;
  std::string protocol_data;
  std::vector<MemberDescription> members;
};

class GroupCoordinator {
 public:
  using JoinCallback = std::function<void(JoinResult)>;
  using SyncCallback = std::function<void(SyncResult)>;

  GroupCoordinator(GroupConfig config, GroupStore& store, Clock& clock);
  ~GroupCoordinator();

  const GroupConfig& config() const { return config_; }
  int32_t partition_for(const std::string& group_id) const {
    return partition_for_group(group_id, config_.offsets_partitions);
  }

  // Ownership of `__consumer_offsets` partitions. A partition being loaded answers
  // COORDINATOR_LOAD_IN_PROGRESS; one not owned, NOT_COORDINATOR.
  void begin_loading(int32_t partition);
  // Replays one record of the partition (a null value is a tombstone). Undecodable records are
  // skipped with a warning: losing one group must not stop the others from loading.
  void load_record(int32_t partition, ByteView key, std::optional<ByteView> value);
  void finish_loading(int32_t partition);
  // This broker no longer leads the partition: its groups are forgotten, parked requests are
  // answered NOT_COORDINATOR.
  void unload(int32_t partition);
  // none, coordinator_load_in_progress or not_coordinator.
  Errc coordinator_state(const std::string& group_id) const;

  void join(JoinParams params, JoinCallback done);
  void sync(SyncParams params, SyncCallback done);
  Errc heartbeat(const std::string& group_id, const std::string& member_id,
                 const std::optional<std::string>& instance_id, int32_t generation);
  LeaveResult leave(const std::string& group_id, const std::vector<MemberIdentity>& members);

  // Topic existence is the caller's check (the coordinator does not know the topics).
  void commit(CommitParams params, std::function<void(CommitResult)> done);
  // `topics` nullopt: every committed offset of the group.
  OffsetFetchResult fetch_offsets(const std::string& group_id,
                                  const std::optional<TopicPartitions>& topics) const;

  // `error` is set if some partition is still loading.
  std::vector<GroupListing> list_groups(Errc& error) const;
  GroupDescription describe(const std::string& group_id) const;
  void delete_groups(const std::vector<std::string>& group_ids,
                     std::function<void(std::vector<Errc>)> done);
  // OffsetDelete: the group error, then one error per partition.
  void delete_offsets(const std::string& group_id,
                      const std::vector<std::pair<std::string, int32_t>>& partitions,
                      std::function<void(Errc, std::vector<Errc>)> done);

  // A topic was deleted: its committed offsets go too (a new topic of the same name must not
  // inherit them).
  void forget_topic(const std::string& topic);

  // Session, join, sync and pending-member deadlines; offsets retention. Call often (the
  // broker calls it every few tens of milliseconds).
  void tick();

  // For tests and white-box helpers.
  const Group* group(const std::string& group_id) const;
  size_t group_count() const { return groups_.size(); }

 private:
  struct PartitionState {
    bool loading = true;
  };

  Group* find_group(const std::string& group_id);
  Group& get_or_create_group(const std::string& group_id);
  int64_t now() const { return clock_.now_ms(); }

  void join_new_member(Group& group, JoinParams& params, JoinCallback& done);
  void join_existing_member(Group& group, JoinParams& params, JoinCallback& done);
  void replace_static_member(Group& group, JoinParams& params, const std::string& old_member_id,
                             JoinCallback& done);
  void add_member_and_rebalance(Group& group, JoinParams& params, std::string member_id,
                                JoinCallback& done);
  void prepare_rebalance(Group& group, const std::string& reason);
  void maybe_complete_join(Group& group);
  void complete_join(Group& group);
  void remove_member(Group& group, const std::string& member_id, Errc answer,
                     const std::string& reason);
  void after_member_removed(Group& group, const std::string& reason);
  void expire_deadlines(Group& group, int64_t now);
  void expire_offsets(int64_t now);
  void finish_sync(const std::string& group_id, int32_t generation, const Result<void>& stored);

  JoinResult join_answer(const Group& group, const Member& member, bool with_members) const;
  void store_group(Group& group, std::function<void(const Result<void>&)> done);
  GroupValue group_value(const Group& group) const;
  void set_state(Group& group, GroupState state);
  void forget_group_if_dead(const std::string& group_id);

  GroupConfig config_;
  GroupStore& store_;
  Clock& clock_;
  std::map<int32_t, PartitionState> partitions_;
  std::map<std::string, std::unique_ptr<Group>> groups_;
  int64_t next_retention_check_ms_ = 0;
};

}  // namespace kafkacore::group
