// Native count/sum/min/max arithmetic and the calls into user reduce/aggregate functions.
#include "streams/aggregation.h"

#include <string>
#include <utility>

namespace kafkacore::streams {

namespace {

const char* kind_name(Aggregation::Kind kind) {
  switch (kind) {
    case Aggregation::Kind::count:
      return "count";
    case Aggregation::Kind::sum:
      return "sum";
    case Aggregation::Kind::min:
      return "min";
    case Aggregation::Kind::max:
      return "max";
    case Aggregation::Kind::reduce:
      return "reduce";
    case Aggregation::Kind::aggregate:
      return "aggregate";
  }
  return "aggregation";
}

const char* type_name(const Value& v) {
  switch (v.index()) {
    case 0:
      return "null";
    case 1:
      return "bytes";
    case 2:
      return "string";
    case 3:
      return "int64";
    case 4:
      return "double";
    default:
      return "host object";
  }
}

bool is_number(const Value& v) {
  return std::holds_alternative<int64_t>(v) || std::holds_alternative<double>(v);
}

double as_double(const Value& v) {
  if (const auto* i = std::get_if<int64_t>(&v)) return static_cast<double>(*i);
  return std::get<double>(v);
}

Result<void> require_number(Aggregation::Kind kind, const Value& v, const char* what) {
  if (is_number(v)) return {};
  return make_error(Errc::invalid_record, std::string(kind_name(kind)) + ": " + what +
                                              " must be int64 or double, got " + type_name(v));
}

// int64 while both are int64 and the sum fits; double otherwise (wrapping would be wrong).
Value add_numbers(const Value& a, const Value& b) {
  const auto* x = std::get_if<int64_t>(&a);
  const auto* y = std::get_if<int64_t>(&b);
  if (x != nullptr && y != nullptr) {
    int64_t sum;
    if (!__builtin_add_overflow(*x, *y, &sum)) return sum;
  }
  return as_double(a) + as_double(b);
}

// min/max: the result is double as soon as either side is.
Value pick(const Value& a, const Value& b, bool want_min) {
  const auto* x = std::get_if<int64_t>(&a);
  const auto* y = std::get_if<int64_t>(&b);
  if (x != nullptr && y != nullptr) return want_min ? std::min(*x, *y) : std::max(*x, *y);
  const double dx = as_double(a);
  const double dy = as_double(b);
  return want_min ? std::min(dx, dy) : std::max(dx, dy);
}

}  // namespace

AggregationRunner::AggregationRunner(Aggregation aggregation)
    : aggregation_(std::move(aggregation)) {
  if (aggregation_.aggregate_serde) return;
  switch (aggregation_.kind) {
    case Aggregation::Kind::count:
      aggregation_.aggregate_serde = int64_serde();
      break;
    case Aggregation::Kind::sum:
    case Aggregation::Kind::min:
    case Aggregation::Kind::max:
      aggregation_.aggregate_serde = number_serde();
      break;
    case Aggregation::Kind::reduce:
    case Aggregation::Kind::aggregate:
      break;
  }
}

Result<void> AggregationRunner::check() const {
  const std::string kind = kind_name(aggregation_.kind);
  if (!aggregation_.aggregate_serde) {
    return make_error(Errc::invalid_config, kind + " needs an aggregate serde");
  }
  if (aggregation_.kind == Aggregation::Kind::reduce && !aggregation_.reducer) {
    return make_error(Errc::invalid_config, "reduce needs a reducer");
  }
  if (aggregation_.kind == Aggregation::Kind::aggregate) {
    if (!aggregation_.initializer) {
      return make_error(Errc::invalid_config, "aggregate needs an initializer");
    }
    if (!aggregation_.adder) return make_error(Errc::invalid_config, "aggregate needs an adder");
  }
  return {};
}

Result<Value> AggregationRunner::initial() const {
  switch (aggregation_.kind) {
    case Aggregation::Kind::count:
      return Value(int64_t{0});
    case Aggregation::Kind::aggregate:
      if (!aggregation_.initializer) {
        return make_error(Errc::invalid_config, "aggregate needs an initializer");
      }
      return aggregation_.initializer();
    default:
      return Value{};
  }
}

Result<Value> AggregationRunner::add(const Value& key, const Value& value,
                                     const Value& aggregate) const {
  const auto kind = aggregation_.kind;
  // Operators drop null values first; should one get here it changes nothing.
  if (is_null(value)) return aggregate;
  switch (kind) {
    case Aggregation::Kind::count: {
      int64_t n = 0;
      if (!is_null(aggregate)) {
        const auto* current = std::get_if<int64_t>(&aggregate);
        if (current == nullptr) {
          return make_error(
              Errc::invalid_record,
              std::string("count: aggregate must be int64, got ") + type_name(aggregate));
        }
        n = *current;
      }
      return Value(n + 1);
    }
    case Aggregation::Kind::sum:
    case Aggregation::Kind::min:
    case Aggregation::Kind::max: {
      if (auto ok = require_number(kind, value, "value"); !ok) return std::unexpected(ok.error());
      if (is_null(aggregate)) return value;
      if (auto ok = require_number(kind, aggregate, "aggregate"); !ok) {
        return std::unexpected(ok.error());
      }
      if (kind == Aggregation::Kind::sum) return add_numbers(aggregate, value);
      return pick(aggregate, value, kind == Aggregation::Kind::min);
    }
    case Aggregation::Kind::reduce:
      if (is_null(aggregate)) return value;
      if (!aggregation_.reducer) return make_error(Errc::invalid_config, "reduce needs a reducer");
      return aggregation_.reducer(aggregate, value);
    case Aggregation::Kind::aggregate:
      if (!aggregation_.adder) return make_error(Errc::invalid_config, "aggregate needs an adder");
      return aggregation_.adder(key, value, aggregate);
  }
  return make_error(Errc::invalid_config, "unknown aggregation kind");
}

Result<Value> AggregationRunner::merge(const Value& key, const Value& left,
                                       const Value& right) const {
  if (is_null(left)) return right;
  if (is_null(right)) return left;
  const auto kind = aggregation_.kind;
  switch (kind) {
    case Aggregation::Kind::count:
    case Aggregation::Kind::sum:
    case Aggregation::Kind::min:
    case Aggregation::Kind::max:
      if (auto ok = require_number(kind, left, "aggregate"); !ok)
        return std::unexpected(ok.error());
      if (auto ok = require_number(kind, right, "aggregate"); !ok) {
        return std::unexpected(ok.error());
      }
      if (kind == Aggregation::Kind::min || kind == Aggregation::Kind::max) {
        return pick(left, right, kind == Aggregation::Kind::min);
      }
      return add_numbers(left, right);
    case Aggregation::Kind::reduce:
      if (!aggregation_.reducer) return make_error(Errc::invalid_config, "reduce needs a reducer");
      return aggregation_.reducer(left, right);
    case Aggregation::Kind::aggregate:
      if (!aggregation_.merger) {
        return make_error(Errc::invalid_config, "aggregate over session windows needs a merger");
      }
      return aggregation_.merger(key, left, right);
  }
  return make_error(Errc::invalid_config, "unknown aggregation kind");
}

}  // namespace kafkacore::streams
