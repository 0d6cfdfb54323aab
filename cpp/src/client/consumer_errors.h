#pragma once
// Errors the consumer's parts report in common.
#include <optional>
#include <string>

#include "client/connection.h"
#include "common/error.h"

namespace kafkacore::client {

// Like the producer's "producer closed": NETWORK_EXCEPTION with a message that says why.
inline Error consumer_closed_error() { return Error(kNetworkError, "consumer closed"); }

// REQUEST_TIMED_OUT for `what`, naming the last retriable error met on the way, if any.
inline Error timed_out_error(const std::string& what, const std::optional<Error>& last) {
  std::string message = what + " timed out";
  if (last) message += " (last error: " + last->to_string() + ")";
  return Error(Errc::request_timed_out, std::move(message));
}

}  // namespace kafkacore::client
