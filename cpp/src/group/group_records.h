#pragma once
// The records the group coordinator keeps in `__consumer_offsets`: committed offsets and group
// metadata, keyed so that log compaction keeps only the latest of each. Keys and values are
// msgpack arrays whose first element is a schema version, so fields can be appended later
// (decoders ignore trailing elements they do not know). A null value is a tombstone.
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "common/bytes.h"
#include "common/error.h"

namespace kafkacore::group {

struct OffsetKey {
  std::string group;
  std::string topic;
  int32_t partition = 0;
  bool operator==(const OffsetKey&) const = default;
};

struct GroupKey {
  std::string group;
  bool operator==(const GroupKey&) const = default;
};

using RecordKey = std::variant<OffsetKey, GroupKey>;

struct OffsetValue {
  int64_t offset = -1;
  int32_t leader_epoch = -1;
  std::optional<std::string> metadata;
  int64_t commit_timestamp = -1;
  int64_t expire_timestamp = -1;  // -1: the broker's retention applies
  bool operator==(const OffsetValue&) const = default;
};

struct MemberValue {
  std::string member_id;
  std::optional<std::string> instance_id;
  std::string client_id;
  std::string client_host;
  int32_t rebalance_timeout_ms = 0;
  int32_t session_timeout_ms = 0;
  Bytes subscription;  // the member's metadata for the selected protocol
  Bytes assignment;
  bool operator==(const MemberValue&) const = default;
};

struct GroupValue {
  std::string protocol_type;  // "" for groups that only commit offsets
  int32_t generation = 0;
  std::optional<std::string> protocol_name;
  std::optional<std::string> leader;
  int64_t state_timestamp = -1;  // when the group last changed state (offset expiry of empty groups)
  std::vector<MemberValue> members;
  bool operator==(const GroupValue&) const = default;
};

Bytes encode_key(const RecordKey& key);
Bytes encode_value(const OffsetValue& value);
Bytes encode_value(const GroupValue& value);

// Errors are CORRUPT_MESSAGE with a message saying what was wrong; never throws.
Result<RecordKey> decode_key(ByteView bytes);
Result<OffsetValue> decode_offset_value(ByteView bytes);
Result<GroupValue> decode_group_value(ByteView bytes);

// Kafka's choice of `__consumer_offsets` partition for a group: Java's String.hashCode over the
// UTF-16 code units of the id, made non-negative as Kafka's Utils.abs does (MIN_VALUE -> 0),
// modulo `partitions` — so
// a group lands on the same partition number as in Apache Kafka. Invalid UTF-8 bytes count as
// one code unit each (their byte value).
int32_t partition_for_group(const std::string& group_id, int32_t partitions);

}  // namespace kafkacore::group
