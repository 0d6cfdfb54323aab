#include "protocol/message_support.h"

#include <string>

namespace kafkacore::protocol::detail {

Result<void> unsupported_version(std::string_view message, int16_t version) {
  return make_error(Errc::unsupported_version,
                    std::string(message) + " version " + std::to_string(version) +
                        " is outside the supported range");
}

void encode_version_violation(std::string_view message, int16_t version) {
  encode_contract_violation(std::string(message) + ": cannot encode version " +
                            std::to_string(version));
}

void absent_field_violation(std::string_view field, int16_t version) {
  encode_contract_violation(std::string(field) + " holds a non-default value but version " +
                            std::to_string(version) + " does not carry it");
}

void null_violation(std::string_view field, int16_t version) {
  encode_contract_violation(std::string(field) + " is null but not nullable in version " +
                            std::to_string(version));
}

}  // namespace kafkacore::protocol::detail
