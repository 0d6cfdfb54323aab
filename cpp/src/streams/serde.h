#pragma once
// Serdes turn `Value`s into record bytes and back: at sources and sinks, for repartition topics,
// and for what state stores keep. Null maps to a null key/value (tombstone) both ways, always.
#include <memory>
#include <optional>
#include <string>

#include "common/bytes.h"
#include "common/error.h"
#include "streams/value.h"

namespace kafkacore::streams {

class Serde {
 public:
  virtual ~Serde() = default;
  // "bytes", "string", "int64", "double", "number", or a host serde's own name.
  virtual std::string name() const = 0;
  // nullopt for a null Value. INVALID_RECORD when the value has the wrong type.
  virtual Result<std::optional<Bytes>> serialize(const Value& value) const = 0;
  // nullopt (null key/value) gives a null Value.
  virtual Result<Value> deserialize(std::optional<ByteView> data) const = 0;
};

using SerdePtr = std::shared_ptr<const Serde>;

// Raw bytes; also accepts a string value (its UTF-8 bytes).
SerdePtr bytes_serde();
// UTF-8 text (Kafka's StringSerde); serializes strings and bytes, int64/double as decimal text.
SerdePtr string_serde();
// 8-byte big-endian two's complement (Kafka's LongSerde).
SerdePtr int64_serde();
// 8-byte big-endian IEEE 754 (Kafka's DoubleSerde).
SerdePtr double_serde();
// Internal: one tag byte (0 int64, 1 double) + 8 bytes, so sum/min/max keep the value's type
// in a store. Not meant for topics users read.
SerdePtr number_serde();
// By name: "bytes", "string" (also "str"), "int64" (also "long"), "double", "number";
// nullptr when unknown.
SerdePtr native_serde(const std::string& name);

// Kafka Streams' layouts for windowed keys on topics and in changelogs:
// time windows: key bytes + 8-byte start; session windows: key bytes + 8-byte end + 8-byte start.
Bytes time_windowed_key(ByteView key, int64_t window_start);
Bytes session_windowed_key(ByteView key, Window window);

}  // namespace kafkacore::streams
