#pragma once
// The arithmetic of an Aggregation, shared by the plain, windowed and session aggregate
// operators: start, add one value, merge two aggregates, and how the result is stored.
#include "common/error.h"
#include "streams/functions.h"

namespace kafkacore::streams {

class AggregationRunner {
 public:
  // Fills in the default aggregate serde (int64 for count, number for sum/min/max); reduce and
  // aggregate need one (INVALID_CONFIG from check() otherwise).
  explicit AggregationRunner(Aggregation aggregation);
  // INVALID_CONFIG when a function or serde the kind needs is missing.
  Result<void> check() const;
  const SerdePtr& serde() const { return aggregation_.aggregate_serde; }
  Aggregation::Kind kind() const { return aggregation_.kind; }

  // Kafka Streams drops null values before every aggregation, count included; so do we.
  bool skips_null_values() const { return true; }
  // The aggregate before any value: int64 0 for count, the initializer's for aggregate, null
  // for sum/min/max/reduce (their first value becomes the aggregate).
  Result<Value> initial() const;
  // `aggregate` as returned by initial() or an earlier add(). sum/min/max: int64 or double
  // values (INVALID_RECORD otherwise); an int64 aggregate becomes double when a double comes.
  Result<Value> add(const Value& key, const Value& value, const Value& aggregate) const;
  // Session merges: counts and sums add, min/max compare, reduce applies the reducer,
  // aggregate the merger (INVALID_CONFIG without one). Null on either side gives the other.
  Result<Value> merge(const Value& key, const Value& left, const Value& right) const;

 private:
  Aggregation aggregation_;
};

}  // namespace kafkacore::streams
