#pragma once
// Errors are values on expected paths. `Error` carries a Kafka error code (the wire numbering,
// so the server edge needs no translation table) plus a human-readable message for logs/clients.
#include <cstdint>
#include <expected>
#include <string>
#include <string_view>
#include <utility>

namespace kafkacore {

// Kafka's own error numbering (protocol guide, "Error Codes"). Only codes we produce are listed.
enum class Errc : int16_t {
  unknown_server_error = -1,
  none = 0,
  offset_out_of_range = 1,
  corrupt_message = 2,
  unknown_topic_or_partition = 3,
  invalid_fetch_size = 4,
  message_too_large = 10,
  record_list_too_large = 18,
  not_enough_replicas = 19,
  invalid_timestamp = 32,
  unsupported_version = 35,
  invalid_request = 42,
  unsupported_for_message_format = 43,
  out_of_order_sequence_number = 45,
  duplicate_sequence_number = 46,
  invalid_producer_epoch = 47,
  kafka_storage_error = 56,
  log_dir_not_found = 57,
  unsupported_compression_type = 76,
  invalid_record = 87,
};

std::string_view errc_name(Errc code);

class [[nodiscard]] Error {
 public:
  Error(Errc code, std::string message) : code_(code), message_(std::move(message)) {}
  Errc code() const { return code_; }
  const std::string& message() const { return message_; }
  std::string to_string() const;

 private:
  Errc code_;
  std::string message_;
};

template <typename T>
using Result = std::expected<T, Error>;

inline std::unexpected<Error> make_error(Errc code, std::string message) {
  return std::unexpected<Error>(std::in_place, code, std::move(message));
}

}  // namespace kafkacore
