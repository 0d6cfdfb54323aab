#pragma once
// The classic consumer protocol's embedded formats: what a consumer puts in JoinGroup's
// protocol metadata (ConsumerProtocolSubscription) and what the group leader hands out through
// SyncGroup (ConsumerProtocolAssignment). Both are non-flexible: an int16 version, then the
// fields of that version (protocol guide; Kafka's ConsumerProtocol). Pure: bytes in, structs out.
//
// Like Kafka, a decoder reads a version newer than it knows as the newest one it knows (newer
// versions may only append fields) and ignores bytes after the fields it reads.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/error.h"

namespace kafkacore::client {

// The newest version of both formats this code reads and writes.
inline constexpr int16_t kConsumerProtocolVersion = 3;

struct TopicPartitions {
  std::string topic;
  std::vector<int32_t> partitions;

  bool operator==(const TopicPartitions&) const = default;
};

struct Subscription {
  std::vector<std::string> topics;
  std::optional<Bytes> user_data;                 // assignor-specific; null when absent
  std::vector<TopicPartitions> owned_partitions;  // v1+: what the member owns now
  int32_t generation_id = -1;                     // v2+: the generation it owns them from
  std::optional<std::string> rack_id;             // v3+: the member's client.rack

  bool operator==(const Subscription&) const = default;
};

struct Assignment {
  std::vector<TopicPartitions> partitions;
  std::optional<Bytes> user_data;

  bool operator==(const Assignment&) const = default;
};

// Encodes at `version`: fields the version lacks are dropped (they are "ignorable" in Kafka's
// schema), a version above kConsumerProtocolVersion is written as kConsumerProtocolVersion,
// a negative one is a programming error (protocol::EncodeError). Lists are written in the order
// given. Strings over 32767 bytes are a programming error too.
Bytes encode_subscription(const Subscription& subscription,
                          int16_t version = kConsumerProtocolVersion);
// Any version >= 0. An empty rack id decodes as none, as Kafka's ConsumerProtocol does. Errors:
// corrupt_message for truncated or malformed input, unsupported_version for a negative version.
Result<Subscription> decode_subscription(ByteView data);

Bytes encode_assignment(const Assignment& assignment, int16_t version = kConsumerProtocolVersion);
// Empty input decodes as an empty assignment: the coordinator hands out empty bytes to members
// when the leader's SyncGroup failed or left them out. Errors as for decode_subscription.
Result<Assignment> decode_assignment(ByteView data);

}  // namespace kafkacore::client
