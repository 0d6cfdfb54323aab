#include "storage/log_config.h"

#include <charconv>
#include <stdexcept>

namespace kafkacore::storage {
namespace {

Result<int64_t> parse_long(const std::string& key, const std::string& value, int64_t min) {
  int64_t out = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), out);
  if (ec != std::errc{} || end != value.data() + value.size()) {
    return make_error(Errc::invalid_request, "config " + key + " must be an integer, got '" + value + "'");
  }
  if (out < min) {
    return make_error(Errc::invalid_request,
                      "config " + key + " must be at least " + std::to_string(min));
  }
  return out;
}

}  // namespace

Result<void> LogConfig::set(const std::string& key, const std::string& value) {
  auto assign = [&](int64_t& field, int64_t min) -> Result<void> {
    auto v = parse_long(key, value, min);
    if (!v) return std::unexpected(v.error());
    field = *v;
    return {};
  };
  if (key == "segment.bytes") return assign(segment_bytes, 14);
  if (key == "segment.ms") return assign(segment_ms, 1);
  if (key == "segment.index.bytes") return assign(segment_index_bytes, 8);
  if (key == "index.interval.bytes") return assign(index_interval_bytes, 0);
  if (key == "retention.ms") return assign(retention_ms, -1);
  if (key == "retention.bytes") return assign(retention_bytes, -1);
  if (key == "delete.retention.ms") return assign(delete_retention_ms, 0);
  if (key == "min.compaction.lag.ms") return assign(min_compaction_lag_ms, 0);
  if (key == "flush.messages") return assign(flush_messages, 1);
  if (key == "flush.ms") return assign(flush_ms, 0);
  if (key == "max.message.bytes") return assign(max_message_bytes, 0);
  if (key == "min.cleanable.dirty.ratio") {
    try {
      size_t used = 0;
      double d = std::stod(value, &used);
      if (used != value.size() || d < 0 || d > 1) throw std::invalid_argument(value);
      min_cleanable_dirty_ratio = d;
      return {};
    } catch (const std::exception&) {
      return make_error(Errc::invalid_request, "config " + key + " must be a number in [0, 1]");
    }
  }
  if (key == "cleanup.policy") {
    bool del = false;
    bool compact = false;
    size_t start = 0;
    while (start <= value.size()) {
      size_t comma = value.find(',', start);
      std::string item = value.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      while (!item.empty() && item.front() == ' ') item.erase(item.begin());
      while (!item.empty() && item.back() == ' ') item.pop_back();
      if (item == "delete") {
        del = true;
      } else if (item == "compact") {
        compact = true;
      } else {
        return make_error(Errc::invalid_request,
                          "cleanup.policy must be delete, compact or both, got '" + value + "'");
      }
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    cleanup_delete = del;
    cleanup_compact = compact;
    return {};
  }
  if (key == "message.timestamp.before.max.ms") return assign(timestamp_before_max_ms, 0);
  if (key == "message.timestamp.after.max.ms") return assign(timestamp_after_max_ms, 0);
  if (key == "compression.type") {
    if (value == "producer") {
      compression.reset();
      return {};
    }
    auto codec = record::parse_compression(value == "uncompressed" ? "none" : value);
    if (!codec) {
      return make_error(Errc::invalid_request,
                        "compression.type must be producer, uncompressed, gzip, snappy, lz4 or zstd");
    }
    compression = *codec;
    return {};
  }
  if (key == "message.timestamp.type") {
    if (value == "CreateTime") {
      timestamp_type = record::TimestampType::create_time;
    } else if (value == "LogAppendTime") {
      timestamp_type = record::TimestampType::log_append_time;
    } else {
      return make_error(Errc::invalid_request,
                        "message.timestamp.type must be CreateTime or LogAppendTime");
    }
    return {};
  }
  return make_error(Errc::invalid_request, "unknown topic config " + key);
}

Result<LogConfig> LogConfig::from_properties(const std::map<std::string, std::string>& props,
                                             const LogConfig& defaults) {
  LogConfig config = defaults;
  for (const auto& [key, value] : props) {
    if (auto r = config.set(key, value); !r) return std::unexpected(r.error());
  }
  return config;
}

std::map<std::string, std::string> LogConfig::to_properties() const {
  std::string policy = cleanup_delete && cleanup_compact ? "compact,delete"
                       : cleanup_compact                 ? "compact"
                                                         : "delete";
  return {
      {"segment.bytes", std::to_string(segment_bytes)},
      {"segment.ms", std::to_string(segment_ms)},
      {"segment.index.bytes", std::to_string(segment_index_bytes)},
      {"index.interval.bytes", std::to_string(index_interval_bytes)},
      {"retention.ms", std::to_string(retention_ms)},
      {"retention.bytes", std::to_string(retention_bytes)},
      {"cleanup.policy", policy},
      {"delete.retention.ms", std::to_string(delete_retention_ms)},
      {"min.compaction.lag.ms", std::to_string(min_compaction_lag_ms)},
      {"min.cleanable.dirty.ratio", std::to_string(min_cleanable_dirty_ratio)},
      {"flush.messages", std::to_string(flush_messages)},
      {"flush.ms", std::to_string(flush_ms)},
      {"max.message.bytes", std::to_string(max_message_bytes)},
      {"message.timestamp.type",
       timestamp_type == record::TimestampType::create_time ? "CreateTime" : "LogAppendTime"},
      {"compression.type",
       !compression ? "producer"
       : *compression == record::Compression::none
           ? "uncompressed"
           : std::string(record::compression_name(*compression))},
      {"message.timestamp.before.max.ms", std::to_string(timestamp_before_max_ms)},
      {"message.timestamp.after.max.ms", std::to_string(timestamp_after_max_ms)},
  };
}

}  // namespace kafkacore::storage
