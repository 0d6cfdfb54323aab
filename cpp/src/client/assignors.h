#pragma once
// Client-side partition assignors of the classic consumer group protocol. The group leader
// decodes every member's Subscription, runs the assignor the group agreed on, and sends each
// member its Assignment through SyncGroup. The assignors reproduce the Java client's built-in
// ones, so members of one group may mix clients:
//   range              per topic, consecutive ranges; the first (partitions % members) get one more
//   roundrobin         all partitions, sorted, dealt to the sorted members in turn
//   cooperative-sticky balanced, keeps owned partitions, and never hands a partition to a new
//                      owner in the same round it is taken from another (cooperative rebalancing)
// Racks are not considered (Kafka only does so when partition replica racks are known).
// Pure: no I/O. An assignor object keeps no state between calls; any thread.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "client/consumer_protocol.h"
#include "common/bytes.h"

namespace kafkacore::client {

struct MemberSubscription {
  std::string member_id;
  std::optional<std::string> group_instance_id;  // static membership
  Subscription subscription;
};

// member id -> assignment; every member given to `assign` has an entry (maybe empty). Within an
// assignment, topics are sorted by name and partitions ascending.
using GroupAssignment = std::map<std::string, Assignment>;

class Assignor {
 public:
  virtual ~Assignor() = default;
  // The protocol name sent in JoinGroup ("range", "roundrobin", "cooperative-sticky").
  virtual std::string name() const = 0;
  // Whether the assignor supports the cooperative protocol: members keep their partitions
  // through a rebalance and revoke only those the new assignment takes away.
  virtual bool cooperative() const { return false; }
  // The user data a member puts in its Subscription, given the generation of its current
  // assignment (-1 if none). Null unless the assignor needs some.
  virtual std::optional<Bytes> subscription_user_data(int32_t generation) const;
  // Assigns the partitions of the topics in `partitions_per_topic` (topic -> partition count)
  // to `members` (unique member ids). Topics a member subscribes to that are absent from the
  // map (unknown to the leader's metadata) are ignored.
  virtual GroupAssignment assign(const std::map<std::string, int32_t>& partitions_per_topic,
                                 const std::vector<MemberSubscription>& members) = 0;
};

// "range", "roundrobin", "cooperative-sticky", or the Java class names of those assignors
// ("org.apache.kafka.clients.consumer.RangeAssignor", ...RoundRobinAssignor,
// ...CooperativeStickyAssignor); nullptr for anything else.
std::unique_ptr<Assignor> make_assignor(std::string_view name);

// The cooperative-sticky assignor's subscription user data: the member's generation as a
// big-endian int32, as Java's CooperativeStickyAssignor writes it (read by leaders that only
// understand Subscription v0/v1, which lack GenerationId).
Bytes cooperative_sticky_user_data(int32_t generation);

// The generation a cooperative-sticky leader attributes to a member: the subscription's
// generation_id when set (v2+), else the int32 at the start of its user data, else -1.
int32_t cooperative_sticky_generation(const Subscription& subscription);

}  // namespace kafkacore::client
