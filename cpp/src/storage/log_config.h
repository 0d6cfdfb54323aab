#pragma once
// Per-topic log settings under Kafka's names and with Kafka's defaults.
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "common/error.h"
#include "record/record_batch.h"

namespace kafkacore::storage {

inline constexpr int64_t kNoLimit = INT64_MAX;

struct LogConfig {
  int64_t segment_bytes = 1073741824;          // segment.bytes
  int64_t segment_ms = 604800000;              // segment.ms
  int64_t segment_index_bytes = 10485760;      // segment.index.bytes
  int64_t index_interval_bytes = 4096;         // index.interval.bytes
  int64_t retention_ms = 604800000;            // retention.ms (-1: keep forever)
  int64_t retention_bytes = -1;                // retention.bytes (-1: no size limit)
  bool cleanup_delete = true;                  // cleanup.policy contains "delete"
  bool cleanup_compact = false;                // cleanup.policy contains "compact"
  int64_t delete_retention_ms = 86400000;      // delete.retention.ms (tombstone lifetime)
  int64_t min_compaction_lag_ms = 0;           // min.compaction.lag.ms
  double min_cleanable_dirty_ratio = 0.5;      // min.cleanable.dirty.ratio
  int64_t flush_messages = kNoLimit;           // flush.messages
  int64_t flush_ms = kNoLimit;                 // flush.ms
  int64_t max_message_bytes = 1048588;         // max.message.bytes
  record::TimestampType timestamp_type = record::TimestampType::create_time;  // message.timestamp.type
  // compression.type: nullopt = "producer" (store batches as sent); otherwise recompress.
  std::optional<record::Compression> compression;
  int64_t timestamp_before_max_ms = kNoLimit;  // message.timestamp.before.max.ms
  int64_t timestamp_after_max_ms = kNoLimit;   // message.timestamp.after.max.ms

  // Applies Kafka-named overrides; unknown keys and bad values are invalid_config style errors
  // (reported as invalid_request until the protocol layer adds its own code).
  static Result<LogConfig> from_properties(const std::map<std::string, std::string>& props,
                                           const LogConfig& defaults);
  Result<void> set(const std::string& key, const std::string& value);
  std::map<std::string, std::string> to_properties() const;
};

}  // namespace kafkacore::storage
