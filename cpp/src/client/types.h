#pragma once
// Value types the producer, consumer and admin client share with their users.
#include <compare>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/bytes.h"

namespace kafkacore::client {

struct TopicPartition {
  std::string topic;
  int32_t partition = 0;
  auto operator<=>(const TopicPartition&) const = default;
  bool operator==(const TopicPartition&) const = default;
  std::string to_string() const { return topic + "-" + std::to_string(partition); }
};

struct Header {
  std::string key;
  std::optional<Bytes> value;
  bool operator==(const Header&) const = default;
};

// What a producer sends. Unset partition: chosen by the partitioner (key hash, or sticky for
// null keys). Unset timestamp: the send time.
struct ProducerRecord {
  std::string topic;
  std::optional<int32_t> partition;
  std::optional<Bytes> key;
  std::optional<Bytes> value;
  std::vector<Header> headers;
  std::optional<int64_t> timestamp;
};

// A record to send, borrowing its bytes from the caller for the duration of the send call (the
// accumulator copies them into a batch at once): the zero-copy path of bindings and embedders.
// (Members default-initialized so designated initializers may name only some of them.)
struct HeaderView {
  std::string_view key{};
  std::optional<ByteView> value{};
};
struct ProducerRecordView {
  std::string_view topic{};
  std::optional<int32_t> partition{};
  std::optional<ByteView> key{};
  std::optional<ByteView> value{};
  std::span<const HeaderView> headers{};
  std::optional<int64_t> timestamp{};
};

// Where a record landed. offset -1 when acks=0 (the broker does not answer).
struct RecordMetadata {
  TopicPartition topic_partition;
  int64_t offset = -1;
  int64_t timestamp = -1;  // create time, or the broker's append time for LogAppendTime topics
};

enum class TimestampKind : int8_t { create_time = 0, log_append_time = 1 };

// What a consumer reads.
struct ConsumerRecord {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  int64_t timestamp = -1;
  TimestampKind timestamp_type = TimestampKind::create_time;
  std::optional<Bytes> key;
  std::optional<Bytes> value;
  std::vector<Header> headers;
  int32_t leader_epoch = -1;
};

struct OffsetAndMetadata {
  int64_t offset = 0;
  std::string metadata;
  std::optional<int32_t> leader_epoch;
  bool operator==(const OffsetAndMetadata&) const = default;
};

}  // namespace kafkacore::client
