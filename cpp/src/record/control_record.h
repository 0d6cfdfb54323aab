#pragma once
// Control records: the markers a transaction coordinator writes into each partition a transaction
// touched (a control batch holding one record). The key says which marker it is; the value
// (version, coordinator epoch) matters only to the broker.
#include <cstdint>
#include <optional>

#include "common/bytes.h"

namespace kafkacore::record {

enum class ControlType : int16_t { abort = 0, commit = 1 };

// The key of a control record: int16 version (0), int16 type.
Bytes control_record_key(ControlType type);
// The marker a control record's key names; nullopt for a key too short or of an unknown type,
// which readers skip as Kafka's clients do.
std::optional<ControlType> parse_control_record_key(ByteView key);

}  // namespace kafkacore::record
