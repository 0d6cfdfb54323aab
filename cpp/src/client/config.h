#pragma once
// Kafka-named client configuration ("bootstrap.servers", "linger.ms", ...) read from a string
// map. Each client reads the keys it knows; whatever is left over is an error naming the key, so
// a typo fails loudly instead of being ignored.
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/error.h"

namespace kafkacore::client {

using Properties = std::map<std::string, std::string>;

struct BrokerAddress {
  std::string host;
  uint16_t port = 0;
  bool operator==(const BrokerAddress&) const = default;
};

// "host:port,host:port" (whitespace allowed, an optional PLAINTEXT:// prefix per entry;
// "[::1]:9092" for IPv6).
Result<std::vector<BrokerAddress>> parse_bootstrap_servers(std::string_view text);

// Reads typed values out of a property map, remembering which keys were used and the first
// problem met; `finish()` reports that problem or the first key nobody read.
class ConfigReader {
 public:
  explicit ConfigReader(Properties properties) : properties_(std::move(properties)) {}

  std::string get_string(const std::string& key, std::string fallback);
  std::optional<std::string> get_optional(const std::string& key);
  int64_t get_int(const std::string& key, int64_t fallback, int64_t min = INT64_MIN,
                  int64_t max = INT64_MAX);
  std::chrono::milliseconds get_ms(const std::string& key, int64_t fallback_ms,
                                   int64_t min_ms = 0) {
    return std::chrono::milliseconds(get_int(key, fallback_ms, min_ms));
  }
  bool get_bool(const std::string& key, bool fallback);
  // One of `allowed` (compared case-insensitively; the canonical spelling is returned).
  std::string get_choice(const std::string& key, std::string fallback,
                         const std::vector<std::string>& allowed);
  // Comma-separated list.
  std::vector<std::string> get_list(const std::string& key, std::vector<std::string> fallback);
  // Keys accepted for compatibility with other clients but without effect here.
  void ignore(const std::vector<std::string>& keys);
  void fail(const std::string& key, const std::string& why);

  Result<void> finish() const;

 private:
  const std::string* find(const std::string& key);

  Properties properties_;
  std::set<std::string> used_;
  std::optional<Error> error_;
};

// What every client (producer, consumer, admin) shares.
struct ClientOptions {
  std::vector<BrokerAddress> bootstrap;
  std::string client_id = "pykafkacore";
  std::chrono::milliseconds request_timeout{30000};
  std::chrono::milliseconds metadata_max_age{300000};
  std::chrono::milliseconds retry_backoff{100};
  std::chrono::milliseconds retry_backoff_max{1000};
  std::chrono::milliseconds reconnect_backoff{50};
  std::chrono::milliseconds reconnect_backoff_max{1000};
  std::chrono::milliseconds connection_setup_timeout{10000};
  bool allow_auto_create_topics = true;  // Metadata requests may create a missing topic
};

// Reads the shared keys (bootstrap.servers is required).
ClientOptions read_client_options(ConfigReader& config, std::string default_client_id);

}  // namespace kafkacore::client
