#pragma once
// Helpers called by the generated message code (protocol/messages/*.cc); not for other users.
#include <cstdint>
#include <string_view>

#include "common/error.h"
#include "protocol/reader.h"
#include "protocol/writer.h"

namespace kafkacore::protocol::detail {

// Decode of a version outside the message's range: an UNSUPPORTED_VERSION error value.
Result<void> unsupported_version(std::string_view message, int16_t version);

// Encoding contract violations (see encode_contract_violation): all abort.
[[noreturn]] void encode_version_violation(std::string_view message, int16_t version);
// A field that the version does not carry holds a non-default value and is not `ignorable`.
[[noreturn]] void absent_field_violation(std::string_view field, int16_t version);
// A null value in a version where the field is not nullable.
[[noreturn]] void null_violation(std::string_view field, int16_t version);

}  // namespace kafkacore::protocol::detail
