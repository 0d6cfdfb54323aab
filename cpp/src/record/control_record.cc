#include "record/control_record.h"

namespace kafkacore::record {

Bytes control_record_key(ControlType type) {
  Bytes key(4);
  store_be<int16_t>(key.data(), 0);
  store_be<int16_t>(key.data() + 2, static_cast<int16_t>(type));
  return key;
}

std::optional<ControlType> parse_control_record_key(ByteView key) {
  if (key.size() < 4) return std::nullopt;
  // Newer versions may append fields; the type stays at bytes 2-3.
  const auto type = load_be<int16_t>(key.data() + 2);
  if (type == static_cast<int16_t>(ControlType::abort)) return ControlType::abort;
  if (type == static_cast<int16_t>(ControlType::commit)) return ControlType::commit;
  return std::nullopt;
}

}  // namespace kafkacore::record
