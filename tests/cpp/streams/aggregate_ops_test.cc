#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "streams/aggregation.h"
#include "streams/operators.h"
#include "streams/serde.h"
#include "test_context.h"

namespace kafkacore::streams {
namespace {

using testutil::b;
using testutil::dbl;
using testutil::i64;
using testutil::null;
using testutil::rec;
using testutil::str;
using testutil::TestContext;

Aggregation of(Aggregation::Kind kind) {
  Aggregation a;
  a.kind = kind;
  return a;
}

Value add_all(const AggregationRunner& runner, const std::vector<Value>& values) {
  auto agg = runner.initial();
  EXPECT_TRUE(agg.has_value());
  for (const Value& v : values) {
    agg = runner.add(str("k"), v, *agg);
    EXPECT_TRUE(agg.has_value()) << agg.error().to_string();
    if (!agg) return Value{};
  }
  return *agg;
}

// --- AggregationRunner

TEST(AggregationRunnerTest, DefaultSerdesAndCheck) {
  EXPECT_EQ(AggregationRunner(of(Aggregation::Kind::count)).serde(), int64_serde());
  EXPECT_EQ(AggregationRunner(of(Aggregation::Kind::sum)).serde(), number_serde());
  EXPECT_EQ(AggregationRunner(of(Aggregation::Kind::min)).serde(), number_serde());
  EXPECT_EQ(AggregationRunner(of(Aggregation::Kind::max)).serde(), number_serde());
  EXPECT_TRUE(AggregationRunner(of(Aggregation::Kind::count)).check());

  Aggregation reduce = of(Aggregation::Kind::reduce);
  reduce.reducer = [](const Value& a, const Value&) -> Result<Value> { return a; };
  EXPECT_EQ(AggregationRunner(reduce).check().error().code(), Errc::invalid_config);  // no serde
  reduce.aggregate_serde = string_serde();
  EXPECT_TRUE(AggregationRunner(reduce).check());
  reduce.reducer = nullptr;
  EXPECT_EQ(AggregationRunner(reduce).check().error().code(), Errc::invalid_config);

  Aggregation agg = of(Aggregation::Kind::aggregate);
  agg.aggregate_serde = int64_serde();
  agg.initializer = []() -> Result<Value> { return i64(0); };
  EXPECT_EQ(AggregationRunner(agg).check().error().code(), Errc::invalid_config);  // no adder
  agg.adder = [](const Value&, const Value&, const Value& a) -> Result<Value> { return a; };
  EXPECT_TRUE(AggregationRunner(agg).check());
  agg.initializer = nullptr;
  EXPECT_EQ(AggregationRunner(agg).check().error().code(), Errc::invalid_config);

  // An explicit serde is kept.
  Aggregation custom = of(Aggregation::Kind::sum);
  custom.aggregate_serde = double_serde();
  EXPECT_EQ(AggregationRunner(custom).serde(), double_serde());
}

TEST(AggregationRunnerTest, CountSumMinMax) {
  AggregationRunner count(of(Aggregation::Kind::count));
  EXPECT_EQ(*count.initial(), i64(0));
  EXPECT_EQ(add_all(count, {str("a"), i64(5), b("x")}), i64(3));  // any type counts

  AggregationRunner sum(of(Aggregation::Kind::sum));
  EXPECT_TRUE(is_null(*sum.initial()));
  EXPECT_EQ(add_all(sum, {i64(1), i64(2), i64(3)}), i64(6));
  EXPECT_EQ(add_all(sum, {i64(1), dbl(0.5), i64(2)}), dbl(3.5));  // int64 + double -> double
  EXPECT_EQ(add_all(sum, {dbl(1.0)}), dbl(1.0));

  AggregationRunner min(of(Aggregation::Kind::min));
  AggregationRunner max(of(Aggregation::Kind::max));
  EXPECT_EQ(add_all(min, {i64(5), i64(-3), i64(7)}), i64(-3));
  EXPECT_EQ(add_all(max, {i64(5), i64(-3), i64(7)}), i64(7));
  EXPECT_EQ(add_all(min, {i64(5), dbl(9.5)}), dbl(5.0));
  EXPECT_EQ(add_all(max, {dbl(1.5), i64(2)}), dbl(2.0));
}

TEST(AggregationRunnerTest, SumOverflowFallsBackToDouble) {
  AggregationRunner sum(of(Aggregation::Kind::sum));
  EXPECT_EQ(add_all(sum, {i64(INT64_MAX - 1), i64(1)}), i64(INT64_MAX));
  Value overflowed = add_all(sum, {i64(INT64_MAX), i64(1)});
  ASSERT_TRUE(std::holds_alternative<double>(overflowed));
  EXPECT_DOUBLE_EQ(std::get<double>(overflowed), 9223372036854775808.0);
  Value underflowed = add_all(sum, {i64(INT64_MIN), i64(-10)});
  ASSERT_TRUE(std::holds_alternative<double>(underflowed));
  EXPECT_LT(std::get<double>(underflowed), -9.2e18);
  // Merging also does not wrap.
  auto merged = sum.merge(str("k"), i64(INT64_MAX), i64(INT64_MAX));
  ASSERT_TRUE(merged);
  EXPECT_TRUE(std::holds_alternative<double>(*merged));
}

TEST(AggregationRunnerTest, NonNumericValuesAreInvalidRecords) {
  for (auto kind : {Aggregation::Kind::sum, Aggregation::Kind::min, Aggregation::Kind::max}) {
    AggregationRunner runner(of(kind));
    for (const Value& bad : {str("1"), Value(b("1"))}) {
      auto first = runner.add(str("k"), bad, Value{});
      ASSERT_FALSE(first.has_value());
      EXPECT_EQ(first.error().code(), Errc::invalid_record);
      auto later = runner.add(str("k"), bad, i64(1));
      ASSERT_FALSE(later.has_value());
      EXPECT_EQ(later.error().code(), Errc::invalid_record);
    }
  }
  auto err = AggregationRunner(of(Aggregation::Kind::sum)).add(str("k"), str("x"), i64(1));
  EXPECT_NE(err.error().message().find("sum"), std::string::npos) << err.error().message();
  EXPECT_NE(err.error().message().find("string"), std::string::npos) << err.error().message();
  err = AggregationRunner(of(Aggregation::Kind::max)).add(str("k"), str("x"), i64(1));
  EXPECT_NE(err.error().message().find("max"), std::string::npos) << err.error().message();
}

TEST(AggregationRunnerTest, ReduceAndAggregate) {
  Aggregation concat = of(Aggregation::Kind::reduce);
  concat.aggregate_serde = string_serde();
  concat.reducer = [](const Value& a, const Value& v) -> Result<Value> {
    return str(std::get<std::string>(a) + "," + std::get<std::string>(v));
  };
  AggregationRunner reduce(concat);
  EXPECT_TRUE(is_null(*reduce.initial()));
  EXPECT_EQ(add_all(reduce, {str("a")}), str("a"));  // first value becomes the aggregate
  EXPECT_EQ(add_all(reduce, {str("a"), str("b"), str("c")}), str("a,b,c"));
  EXPECT_EQ(*reduce.merge(str("k"), str("x"), str("y")), str("x,y"));

  std::vector<std::string> seen_keys;
  Aggregation lengths = of(Aggregation::Kind::aggregate);
  lengths.aggregate_serde = int64_serde();
  lengths.initializer = []() -> Result<Value> { return i64(100); };
  lengths.adder = [&seen_keys](const Value& k, const Value& v, const Value& a) -> Result<Value> {
    seen_keys.push_back(std::get<std::string>(k));
    return i64(std::get<int64_t>(a) + static_cast<int64_t>(std::get<std::string>(v).size()));
  };
  AggregationRunner aggregate(lengths);
  EXPECT_EQ(*aggregate.initial(), i64(100));
  EXPECT_EQ(add_all(aggregate, {str("ab"), str("cde")}), i64(105));
  EXPECT_EQ(seen_keys, (std::vector<std::string>{"k", "k"}));
  // No merger: merging sessions is a config error.
  auto no_merger = aggregate.merge(str("k"), i64(1), i64(2));
  ASSERT_FALSE(no_merger.has_value());
  EXPECT_EQ(no_merger.error().code(), Errc::invalid_config);
  lengths.merger = [](const Value&, const Value& l, const Value& r) -> Result<Value> {
    return i64(std::get<int64_t>(l) * std::get<int64_t>(r));
  };
  EXPECT_EQ(*AggregationRunner(lengths).merge(str("k"), i64(3), i64(4)), i64(12));

  // Errors from user functions come back unchanged.
  concat.reducer = [](const Value&, const Value&) -> Result<Value> {
    return make_error(Errc::invalid_record, "reducer says no");
  };
  auto failed = AggregationRunner(concat).add(str("k"), str("b"), str("a"));
  ASSERT_FALSE(failed.has_value());
  EXPECT_EQ(failed.error().message(), "reducer says no");
}

TEST(AggregationRunnerTest, Merge) {
  AggregationRunner count(of(Aggregation::Kind::count));
  EXPECT_EQ(*count.merge(str("k"), i64(2), i64(3)), i64(5));
  EXPECT_EQ(*count.merge(str("k"), null(), i64(3)), i64(3));
  EXPECT_EQ(*count.merge(str("k"), i64(2), null()), i64(2));
  AggregationRunner sum(of(Aggregation::Kind::sum));
  EXPECT_EQ(*sum.merge(str("k"), i64(2), dbl(0.5)), dbl(2.5));
  AggregationRunner min(of(Aggregation::Kind::min));
  EXPECT_EQ(*min.merge(str("k"), i64(2), i64(-1)), i64(-1));
  AggregationRunner max(of(Aggregation::Kind::max));
  EXPECT_EQ(*max.merge(str("k"), i64(2), i64(-1)), i64(2));
  EXPECT_TRUE(is_null(*max.merge(str("k"), null(), null())));
}

// --- aggregate_op

TEST(AggregateOpTest, CountsPerKeyAndForwardsUpdates) {
  TestContext ctx;
  KeyValueStore& store = ctx.add_kv_store("counts");
  auto& log = ctx.changelog("counts");
  auto p = ctx.start(aggregate_op("counts", of(Aggregation::Kind::count), string_serde()));
  for (const char* k : {"a", "b", "a", "a"}) {
    ASSERT_TRUE(ctx.run(*p, rec(str(k), str("x"), 10, {{"h", std::nullopt}})));
  }
  auto out = ctx.take();
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[3].record.key, str("a"));
  EXPECT_EQ(out[3].record.value, i64(3));
  EXPECT_EQ(out[3].record.timestamp, 10);
  EXPECT_EQ(out[3].record.headers.size(), 1u);
  EXPECT_FALSE(out[3].record.window.has_value());
  EXPECT_EQ(out[1].record.value, i64(1));

  ASSERT_NE(store.get(b("a")), nullptr);
  EXPECT_EQ(*int64_serde()->deserialize(ByteView(*store.get(b("a")))), i64(3));
  ASSERT_EQ(log.entries.size(), 4u);
  EXPECT_EQ(log.entries[3].key, b("a"));
  EXPECT_EQ(log.entries[3].timestamp, 10);

  // Changelog -> fresh store -> a new processor continues the counts.
  TestContext again;
  KeyValueStore& restored = again.add_kv_store("counts");
  log.restore_into(restored);
  EXPECT_EQ(restored.size(), store.size());
  auto p2 = again.start(aggregate_op("counts", of(Aggregation::Kind::count), string_serde()));
  ASSERT_TRUE(again.run(*p2, rec(str("b"), str("y"), 11)));
  auto more = again.take();
  ASSERT_EQ(more.size(), 1u);
  EXPECT_EQ(more[0].record.value, i64(2));
}

TEST(AggregateOpTest, DropsNullKeysAndValues) {
  TestContext ctx;
  KeyValueStore& store = ctx.add_kv_store("s");
  auto p = ctx.start(aggregate_op("s", of(Aggregation::Kind::count), string_serde()));
  ASSERT_TRUE(ctx.run(*p, rec(null(), str("x"), 1)));
  ASSERT_TRUE(ctx.run(*p, rec(str("k"), null(), 2)));
  ASSERT_TRUE(ctx.run(*p, rec(null(), null(), 3)));
  EXPECT_TRUE(ctx.take().empty());
  EXPECT_EQ(store.size(), 0u);
  EXPECT_EQ(ctx.dropped["null key"], 2);
  EXPECT_EQ(ctx.dropped["null value"], 1);
}

TEST(AggregateOpTest, SumKeepsTypeInStoreAndErrorsOnBadValues) {
  TestContext ctx;
  KeyValueStore& store = ctx.add_kv_store("sum");
  auto p = ctx.start(aggregate_op("sum", of(Aggregation::Kind::sum), int64_serde()));
  ASSERT_TRUE(ctx.run(*p, rec(i64(1), i64(INT64_MAX), 1)));
  ASSERT_TRUE(ctx.run(*p, rec(i64(1), i64(1), 2)));
  ASSERT_TRUE(ctx.run(*p, rec(i64(2), i64(4), 3)));
  auto out = ctx.take();
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].record.value, i64(INT64_MAX));
  EXPECT_TRUE(std::holds_alternative<double>(out[1].record.value));  // overflowed to double
  EXPECT_EQ(out[2].record.value, i64(4));
  const Bytes* stored = store.get(*(*int64_serde()->serialize(i64(1))));
  ASSERT_NE(stored, nullptr);
  EXPECT_TRUE(std::holds_alternative<double>(*number_serde()->deserialize(ByteView(*stored))));

  auto bad = ctx.run(*p, rec(i64(2), str("nope"), 4));
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code(), Errc::invalid_record);
  EXPECT_TRUE(ctx.take().empty());
  // The failed record left the aggregate alone.
  EXPECT_EQ(
      *number_serde()->deserialize(ByteView(*store.get(*(*int64_serde()->serialize(i64(2)))))),
      i64(4));

  // A key the key serde cannot serialize is an error too.
  auto bad_key = ctx.run(*p, rec(str("k"), i64(1), 5));
  ASSERT_FALSE(bad_key.has_value());
  EXPECT_EQ(bad_key.error().code(), Errc::invalid_record);
}

TEST(AggregateOpTest, ReduceAndAggregateWithUserFunctions) {
  TestContext ctx;
  ctx.add_kv_store("r");
  ctx.add_kv_store("a");
  Aggregation reduce = of(Aggregation::Kind::reduce);
  reduce.aggregate_serde = string_serde();
  reduce.reducer = [](const Value& a, const Value& v) -> Result<Value> {
    if (std::get<std::string>(v) == "fail") return make_error(Errc::invalid_record, "bad value");
    return str(std::get<std::string>(a) + std::get<std::string>(v));
  };
  auto r = ctx.start(aggregate_op("r", reduce, string_serde()));
  for (const char* v : {"x", "y", "z"}) ASSERT_TRUE(ctx.run(*r, rec(str("k"), str(v), 1)));
  auto out = ctx.take();
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].record.value, str("x"));
  EXPECT_EQ(out[2].record.value, str("xyz"));
  auto failed = ctx.run(*r, rec(str("k"), str("fail"), 2));
  ASSERT_FALSE(failed.has_value());
  EXPECT_EQ(failed.error().message(), "bad value");

  Aggregation agg = of(Aggregation::Kind::aggregate);
  agg.aggregate_serde = int64_serde();
  agg.initializer = []() -> Result<Value> { return i64(1000); };
  agg.adder = [](const Value&, const Value& v, const Value& a) -> Result<Value> {
    return i64(std::get<int64_t>(a) - std::get<int64_t>(v));
  };
  auto a = ctx.start(aggregate_op("a", agg, string_serde()));
  ASSERT_TRUE(ctx.run(*a, rec(str("k"), i64(1), 1)));
  ASSERT_TRUE(ctx.run(*a, rec(str("k"), i64(10), 1)));
  ASSERT_TRUE(ctx.run(*a, rec(str("j"), i64(5), 1)));
  out = ctx.take();
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].record.value, i64(999));
  EXPECT_EQ(out[1].record.value, i64(989));
  EXPECT_EQ(out[2].record.value, i64(995));
}

TEST(AggregateOpTest, InitFailsWithoutStoreOrConfig) {
  TestContext ctx;
  auto p = aggregate_op("missing", of(Aggregation::Kind::count), string_serde())();
  auto ok = p->init(ctx);
  ASSERT_FALSE(ok.has_value());
  EXPECT_EQ(ok.error().code(), Errc::invalid_config);

  ctx.add_window_store("w", 100);  // wrong kind
  EXPECT_FALSE(aggregate_op("w", of(Aggregation::Kind::count), string_serde())()->init(ctx));

  ctx.add_kv_store("kv");
  EXPECT_FALSE(aggregate_op("kv", of(Aggregation::Kind::reduce), string_serde())()->init(ctx));
}

// --- table_source_op

TEST(TableSourceOpTest, MaterializesAndForwardsEveryUpdate) {
  TestContext ctx;
  KeyValueStore& store = ctx.add_kv_store("table");
  auto& log = ctx.changelog("table");
  auto p = ctx.start(table_source_op("table", string_serde(), int64_serde()));
  ASSERT_TRUE(ctx.run(*p, rec(str("a"), i64(1), 1)));
  ASSERT_TRUE(ctx.run(*p, rec(str("b"), i64(2), 2)));
  ASSERT_TRUE(ctx.run(*p, rec(str("a"), i64(3), 3)));
  ASSERT_TRUE(ctx.run(*p, rec(str("b"), null(), 4)));  // tombstone deletes
  ASSERT_TRUE(ctx.run(*p, rec(null(), i64(9), 5)));    // null key: dropped
  EXPECT_EQ(ctx.dropped["null key"], 1);

  auto out = ctx.take();
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[3].record.key, str("b"));
  EXPECT_TRUE(is_null(out[3].record.value));
  EXPECT_EQ(out[2].record.value, i64(3));
  EXPECT_EQ(out[2].record.timestamp, 3);

  EXPECT_EQ(store.size(), 1u);
  EXPECT_EQ(store.get(b("b")), nullptr);
  EXPECT_EQ(*int64_serde()->deserialize(ByteView(*store.get(b("a")))), i64(3));

  ASSERT_EQ(log.entries.size(), 4u);
  EXPECT_FALSE(log.entries[3].value.has_value());
  KeyValueStore restored("table");
  log.restore_into(restored);
  EXPECT_EQ(restored.size(), 1u);
  EXPECT_EQ(*restored.get(b("a")), *store.get(b("a")));

  auto bad = ctx.run(*p, rec(str("c"), str("not a number"), 6));
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code(), Errc::invalid_record);
}

}  // namespace
}  // namespace kafkacore::streams
