#include <gtest/gtest.h>

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "streams/operators.h"
#include "streams/serde.h"
#include "test_context.h"
#include "windowed_outputs.h"

namespace kafkacore::streams {
namespace {

using testutil::i64;
using testutil::rec;
using testutil::str;
using testutil::TestContext;

using testutil::count;
using testutil::sum;
using Out = testutil::WindowedOut;

std::vector<Out> outs(TestContext& ctx) { return testutil::windowed_outs(ctx, /*session=*/false); }

TEST(WindowedOpsTest, TumblingAssignsEachRecordToOneWindow) {
  TestContext ctx;
  ctx.add_window_store("w", 10);
  auto p = ctx.start(windowed_aggregate_op("w", {.size_ms = 10, .advance_ms = 10}, count(),
                                           string_serde(), EmitStrategy::on_update));
  ASSERT_TRUE(ctx.run(*p, rec(str("a"), str("x"), 3)));
  ASSERT_TRUE(ctx.run(*p, rec(str("a"), str("x"), 10)));
  ASSERT_TRUE(ctx.run(*p, rec(str("a"), str("x"), 19)));
  ASSERT_TRUE(ctx.run(*p, rec(str("b"), str("x"), 19)));
  EXPECT_EQ(outs(ctx), (std::vector<Out>{{str("a"), i64(1), 0, 10, 3},
                                         {str("a"), i64(1), 10, 20, 10},
                                         {str("a"), i64(2), 10, 20, 19},
                                         {str("b"), i64(1), 10, 20, 19}}));
  EXPECT_TRUE(ctx.dropped.empty());
}

TEST(WindowedOpsTest, HoppingAssignsEachRecordToEveryWindowContainingIt) {
  TestContext ctx;
  ctx.add_window_store("w", 10);
  auto p = ctx.start(windowed_aggregate_op("w", {.size_ms = 10, .advance_ms = 5}, sum(),
                                           string_serde(), EmitStrategy::on_update));
  ASSERT_TRUE(ctx.run(*p, rec(str("a"), i64(1), 3)));     // [0,10) only: no negative starts
  ASSERT_TRUE(ctx.run(*p, rec(str("a"), i64(10), 7)));    // [0,10), [5,15)
  ASSERT_TRUE(ctx.run(*p, rec(str("a"), i64(100), 10)));  // [5,15), [10,20)
  EXPECT_EQ(outs(ctx), (std::vector<Out>{{str("a"), i64(1), 0, 10, 3},
                                         {str("a"), i64(11), 0, 10, 7},
                                         {str("a"), i64(10), 5, 15, 7},
                                         {str("a"), i64(110), 5, 15, 10},
                                         {str("a"), i64(100), 10, 20, 10}}));
}

TEST(WindowedOpsTest, GraceAndLateDrops) {
  TestContext ctx;
  ctx.add_window_store("w", 15);
  auto p = ctx.start(windowed_aggregate_op("w", {.size_ms = 10, .advance_ms = 10, .grace_ms = 5},
                                           count(), string_serde(), EmitStrategy::on_update));
  ASSERT_TRUE(ctx.run(*p, rec(str("a"), str("x"), 3)));
  ASSERT_TRUE(ctx.run(*p, rec(str("a"), str("x"), 14)));
  ASSERT_TRUE(ctx.run(*p, rec(str("a"), str("x"), 8)));  // 14 < 10 + 5: still open
  ASSERT_TRUE(ctx.run(*p, rec(str("a"), str("x"), 15)));
  ASSERT_TRUE(ctx.run(*p, rec(str("a"), str("x"), 9)));  // 15 >= 10 + 5: closed
  EXPECT_EQ(outs(ctx), (std::vector<Out>{{str("a"), i64(1), 0, 10, 3},
                                         {str("a"), i64(1), 10, 20, 14},
                                         {str("a"), i64(2), 0, 10, 8},
                                         {str("a"), i64(2), 10, 20, 15}}));
  EXPECT_EQ(ctx.dropped["late"], 1);
  ASSERT_TRUE(ctx.run(*p, rec(str("a"), Value{}, 16)));
  ASSERT_TRUE(ctx.run(*p, rec(Value{}, str("x"), 16)));
  EXPECT_EQ(ctx.dropped["null value"], 1);
  EXPECT_EQ(ctx.dropped["null key"], 1);
  EXPECT_TRUE(ctx.take().empty());
}

TEST(WindowedOpsTest, HoppingRecordLateForSomeWindowsOnlyIsKept) {
  TestContext ctx;
  ctx.add_window_store("w", 10);
  auto p = ctx.start(windowed_aggregate_op("w", {.size_ms = 10, .advance_ms = 5}, count(),
                                           string_serde(), EmitStrategy::on_update));
  ASSERT_TRUE(ctx.run(*p, rec(str("a"), str("x"), 12)));
  ctx.take();
  ASSERT_TRUE(ctx.run(*p, rec(str("a"), str("x"), 8)));  // [0,10) closed, [5,15) open
  EXPECT_EQ(outs(ctx), (std::vector<Out>{{str("a"), i64(2), 5, 15, 8}}));
  EXPECT_TRUE(ctx.dropped.empty());
  ASSERT_TRUE(ctx.run(*p, rec(str("a"), str("x"), 4)));  // [0,10) only: closed
  EXPECT_EQ(ctx.dropped["late"], 1);
}

TEST(WindowedOpsTest, EmitOnWindowCloseEmitsEachWindowOnceInOrder) {
  TestContext ctx;
  ctx.add_window_store("w", 12);
  auto p = ctx.start(windowed_aggregate_op("w", {.size_ms = 10, .advance_ms = 10, .grace_ms = 2},
                                           count(), string_serde(), EmitStrategy::on_window_close));
  ASSERT_TRUE(ctx.run(*p, rec(str("b"), str("x"), 1)));
  ASSERT_TRUE(ctx.run(*p, rec(str("a"), str("x"), 3)));
  ASSERT_TRUE(ctx.run(*p, rec(str("a"), str("x"), 5)));
  ASSERT_TRUE(ctx.run(*p, rec(str("a"), str("x"), 11)));
  EXPECT_TRUE(ctx.take().empty());                       // 11 < 10 + 2
  ASSERT_TRUE(ctx.run(*p, rec(str("b"), str("x"), 9)));  // still in grace
  EXPECT_TRUE(ctx.take().empty());
  ASSERT_TRUE(ctx.run(*p, rec(str("b"), str("x"), 12)));
  EXPECT_EQ(outs(ctx),
            (std::vector<Out>{{str("a"), i64(2), 0, 10, 9}, {str("b"), i64(2), 0, 10, 9}}));
  ASSERT_TRUE(ctx.run(*p, rec(str("a"), str("x"), 8)));  // window 0 closed: late
  EXPECT_EQ(ctx.dropped["late"], 1);
  ASSERT_TRUE(ctx.run(*p, rec(str("a"), str("x"), 13)));
  ASSERT_TRUE(ctx.advance(*p, 21));
  EXPECT_TRUE(ctx.take().empty());
  // One jump closes two windows: both come out, in window order.
  ASSERT_TRUE(p->process(rec(str("a"), str("x"), 25)));
  ASSERT_TRUE(ctx.advance(*p, 45));
  EXPECT_EQ(outs(ctx), (std::vector<Out>{{str("a"), i64(2), 10, 20, 19},
                                         {str("b"), i64(1), 10, 20, 19},
                                         {str("a"), i64(1), 20, 30, 29}}));
  ASSERT_TRUE(ctx.advance(*p, 100));
  EXPECT_TRUE(ctx.take().empty());
  EXPECT_EQ(ctx.store("w")->size(), 0u);  // expired
}

TEST(WindowedOpsTest, RestoreFromChangelogContinuesCounts) {
  TestContext first;
  first.add_window_store("w", 100);
  auto& log = first.changelog("w");
  const TimeWindows windows{.size_ms = 100, .advance_ms = 100};
  {
    auto p = first.start(
        windowed_aggregate_op("w", windows, count(), string_serde(), EmitStrategy::on_update));
    ASSERT_TRUE(first.run(*p, rec(str("a"), str("x"), 1)));
    ASSERT_TRUE(first.run(*p, rec(str("a"), str("x"), 2)));
    ASSERT_TRUE(first.run(*p, rec(str("b"), str("x"), 3)));
  }
  TestContext second;
  log.restore_into(second.add_window_store("w", 100));
  auto p = second.start(
      windowed_aggregate_op("w", windows, count(), string_serde(), EmitStrategy::on_update));
  ASSERT_TRUE(second.run(*p, rec(str("a"), str("x"), 4)));
  ASSERT_TRUE(second.run(*p, rec(str("b"), str("x"), 5)));
  EXPECT_EQ(outs(second),
            (std::vector<Out>{{str("a"), i64(3), 0, 100, 4}, {str("b"), i64(2), 0, 100, 5}}));
}

TEST(WindowedOpsTest, RestoredClosedWindowsAreEmittedAgainAtLeastOnce) {
  // Nothing about emission is persisted: a restored task without stream time re-emits closed
  // windows still in the store (at least once, never lost).
  const TimeWindows windows{.size_ms = 10, .advance_ms = 10};
  TestContext first;
  first.add_window_store("w", 100);
  auto& log = first.changelog("w");
  auto p1 = first.start(
      windowed_aggregate_op("w", windows, count(), string_serde(), EmitStrategy::on_window_close));
  ASSERT_TRUE(first.run(*p1, rec(str("a"), str("x"), 1)));
  ASSERT_TRUE(first.run(*p1, rec(str("a"), str("x"), 15)));
  EXPECT_EQ(outs(first), (std::vector<Out>{{str("a"), i64(1), 0, 10, 9}}));

  TestContext second;
  log.restore_into(second.add_window_store("w", 100));
  auto p2 = second.start(
      windowed_aggregate_op("w", windows, count(), string_serde(), EmitStrategy::on_window_close));
  ASSERT_TRUE(second.run(*p2, rec(str("a"), str("x"), 16)));
  EXPECT_EQ(outs(second), (std::vector<Out>{{str("a"), i64(1), 0, 10, 9}}));
  ASSERT_TRUE(second.advance(*p2, 20));
  EXPECT_EQ(outs(second), (std::vector<Out>{{str("a"), i64(2), 10, 20, 19}}));

  // With the task's stream time known at init, windows closed before it count as emitted.
  TestContext third;
  log.restore_into(third.add_window_store("w", 100));
  third.set_stream_time(15);
  auto p3 = third.start(
      windowed_aggregate_op("w", windows, count(), string_serde(), EmitStrategy::on_window_close));
  ASSERT_TRUE(third.advance(*p3, 20));
  EXPECT_EQ(outs(third), (std::vector<Out>{{str("a"), i64(1), 10, 20, 19}}));
}

TEST(WindowedOpsTest, AggregateAndReduceWithUserFunctions) {
  TestContext ctx;
  ctx.add_window_store("agg", 10);
  ctx.add_window_store("red", 10);
  Aggregation concat{.kind = Aggregation::Kind::aggregate,
                     .initializer = []() -> Result<Value> { return str(""); },
                     .adder = [](const Value&, const Value& v, const Value& agg) -> Result<Value> {
                       return str(std::get<std::string>(agg) + std::get<std::string>(v));
                     },
                     .aggregate_serde = string_serde()};
  Aggregation longest{
      .kind = Aggregation::Kind::reduce,
      .reducer = [](const Value& agg, const Value& v) -> Result<Value> {
        return std::get<std::string>(v).size() > std::get<std::string>(agg).size() ? v : agg;
      },
      .aggregate_serde = string_serde()};
  const TimeWindows windows{.size_ms = 10, .advance_ms = 10};
  auto a = ctx.start(
      windowed_aggregate_op("agg", windows, concat, string_serde(), EmitStrategy::on_update));
  auto r = ctx.start(
      windowed_aggregate_op("red", windows, longest, string_serde(), EmitStrategy::on_update));
  for (const char* s : {"x", "yyy", "zz"}) {
    ASSERT_TRUE(a->process(rec(str("k"), str(s), 1)));
    ASSERT_TRUE(r->process(rec(str("k"), str(s), 1)));
  }
  auto out = outs(ctx);
  ASSERT_EQ(out.size(), 6u);
  EXPECT_EQ(out[4].value, str("xyyyzz"));
  EXPECT_EQ(out[5].value, str("yyy"));
}

TEST(WindowedOpsTest, InvalidWindowsFailInit) {
  TestContext ctx;
  ctx.add_window_store("w", 10);
  auto p = windowed_aggregate_op("w", {.size_ms = 10, .advance_ms = 20}, count(), string_serde(),
                                 EmitStrategy::on_update)();
  EXPECT_FALSE(p->init(ctx).has_value());
  auto q = windowed_aggregate_op("missing", {.size_ms = 10, .advance_ms = 10}, count(),
                                 string_serde(), EmitStrategy::on_update)();
  EXPECT_FALSE(q->init(ctx).has_value());
}

}  // namespace
}  // namespace kafkacore::streams
