#include "common/error.h"

namespace kafkacore {

std::string_view errc_name(Errc code) {
  switch (code) {
    case Errc::unknown_server_error: return "UNKNOWN_SERVER_ERROR";
    case Errc::none: return "NONE";
    case Errc::offset_out_of_range: return "OFFSET_OUT_OF_RANGE";
    case Errc::corrupt_message: return "CORRUPT_MESSAGE";
    case Errc::unknown_topic_or_partition: return "UNKNOWN_TOPIC_OR_PARTITION";
    case Errc::invalid_fetch_size: return "INVALID_FETCH_SIZE";
    case Errc::message_too_large: return "MESSAGE_TOO_LARGE";
    case Errc::record_list_too_large: return "RECORD_LIST_TOO_LARGE";
    case Errc::not_enough_replicas: return "NOT_ENOUGH_REPLICAS";
    case Errc::invalid_timestamp: return "INVALID_TIMESTAMP";
    case Errc::unsupported_version: return "UNSUPPORTED_VERSION";
    case Errc::invalid_request: return "INVALID_REQUEST";
    case Errc::unsupported_for_message_format: return "UNSUPPORTED_FOR_MESSAGE_FORMAT";
    case Errc::out_of_order_sequence_number: return "OUT_OF_ORDER_SEQUENCE_NUMBER";
    case Errc::duplicate_sequence_number: return "DUPLICATE_SEQUENCE_NUMBER";
    case Errc::invalid_producer_epoch: return "INVALID_PRODUCER_EPOCH";
    case Errc::kafka_storage_error: return "KAFKA_STORAGE_ERROR";
    case Errc::log_dir_not_found: return "LOG_DIR_NOT_FOUND";
    case Errc::unsupported_compression_type: return "UNSUPPORTED_COMPRESSION_TYPE";
    case Errc::invalid_record: return "INVALID_RECORD";
  }
  return "UNKNOWN_ERROR_CODE";
}

std::string Error::to_string() const {
  std::string out(errc_name(code_));
  out += ": ";
  out += message_;
  return out;
}

}  // namespace kafkacore
