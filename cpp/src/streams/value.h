#pragma once
// What flows between the nodes of a Streams topology: keys and values as `Value`s (native
// scalars, raw bytes, or an opaque object owned by a host language such as Python), plus the
// record's timestamp, headers and, after a windowed aggregation, its window.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "client/types.h"
#include "common/bytes.h"

namespace kafkacore::streams {

// A value the engine carries but does not look into (a Python object, say). Serdes and user
// functions of the same host language know what it is.
class HostObject {
 public:
  virtual ~HostObject() = default;
};

// null, bytes, string, 64-bit integer, double, or a host object. Native aggregations (count,
// sum, min, max) work on int64 and double without leaving C++.
using Value = std::variant<std::monostate, Bytes, std::string, int64_t, double,
                           std::shared_ptr<const HostObject>>;

inline bool is_null(const Value& v) { return std::holds_alternative<std::monostate>(v); }

// [start, end) in milliseconds. Session windows are inclusive of both ends (as in Kafka), which
// the session operators handle; the representation is the same.
struct Window {
  int64_t start = 0;
  int64_t end = 0;
  bool session = false;  // decides the windowed-key layout on topics (serde.h)
  bool operator==(const Window&) const = default;
};

struct StreamRecord {
  Value key;
  Value value;
  int64_t timestamp = 0;
  std::vector<client::Header> headers;
  std::optional<Window> window;  // set on the results of windowed aggregations
};

// Where the record being processed came from (for user functions that want it, and for
// error messages).
struct RecordOrigin {
  std::string topic;
  int32_t partition = -1;
  int64_t offset = -1;
};

}  // namespace kafkacore::streams
