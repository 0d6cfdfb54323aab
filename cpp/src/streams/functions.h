#pragma once
// User logic as the engine calls it, and the specs of windows, joins and aggregations. A user
// function reports failure through its Result; the task stops with that error.
#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

#include "common/error.h"
#include "streams/serde.h"
#include "streams/value.h"

namespace kafkacore::streams {

using KeyValue = std::pair<Value, Value>;

// Stateless functions see the whole record: key, value, timestamp, headers and, after a
// windowed aggregation, its window.
using Predicate = std::function<Result<bool>(const StreamRecord& record)>;
using KeyValueMapper = std::function<Result<KeyValue>(const StreamRecord& record)>;
using ValueMapper = std::function<Result<Value>(const StreamRecord& record)>;
using FlatMapper = std::function<Result<std::vector<KeyValue>>(const StreamRecord& record)>;
using FlatValueMapper = std::function<Result<std::vector<Value>>(const StreamRecord& record)>;
using KeySelector = std::function<Result<Value>(const StreamRecord& record)>;
using ForeachAction = std::function<Result<void>(const StreamRecord& record)>;
// Event time for a record (defaults to the record's own timestamp).
using TimestampExtractor = std::function<Result<int64_t>(const StreamRecord& record)>;

using Initializer = std::function<Result<Value>()>;
using Aggregator =
    std::function<Result<Value>(const Value& key, const Value& value, const Value& aggregate)>;
using Reducer = std::function<Result<Value>(const Value& aggregate, const Value& value)>;
// Session windows: combines the aggregates of two sessions a new record joins together.
using Merger =
    std::function<Result<Value>(const Value& key, const Value& left, const Value& right)>;
using ValueJoiner =
    std::function<Result<Value>(const Value& key, const Value& left, const Value& right)>;

// count, sum, min and max run natively (int64, or double once a double is seen); reduce and
// aggregate call user functions. Records with a null key or a null value are
// dropped, as in Kafka Streams.
struct Aggregation {
  enum class Kind { count, sum, min, max, reduce, aggregate };
  Kind kind = Kind::count;
  Initializer initializer{};  // aggregate
  Aggregator adder{};         // aggregate
  Reducer reducer{};          // reduce
  Merger merger{};            // aggregate over session windows
  // How the aggregate is kept in the store and its changelog: int64 for count, number for
  // sum/min/max, the given serde for reduce (the value serde) and aggregate.
  SerdePtr aggregate_serde{};
};

// Tumbling when advance == size. Records later than window end + grace (by stream time) are
// dropped.
struct TimeWindows {
  int64_t size_ms = 0;
  int64_t advance_ms = 0;
  int64_t grace_ms = 0;
};

// A session closes after `gap_ms` without records for its key.
struct SessionWindows {
  int64_t gap_ms = 0;
  int64_t grace_ms = 0;
};

// Stream-stream joins: a left record at t joins right records in [t - before, t + after].
struct JoinWindows {
  int64_t before_ms = 0;
  int64_t after_ms = 0;
  int64_t grace_ms = 0;
};

enum class JoinType { inner, left, outer };

// on_update: every change to a window's result is sent downstream. on_window_close: one final
// result per window once stream time passes its end + grace (Kafka's suppress(untilWindowCloses)
// / emitStrategy(onWindowClose)).
enum class EmitStrategy { on_update, on_window_close };

}  // namespace kafkacore::streams
