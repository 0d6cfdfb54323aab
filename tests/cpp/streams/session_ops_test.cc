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

std::vector<Out> outs(TestContext& ctx) { return testutil::windowed_outs(ctx, /*session=*/true); }

TEST(SessionOpsTest, RecordBridgingTwoSessionsMergesThem) {
  TestContext ctx;
  // Bridging reaches sessions ended before stream time - gap - grace: keep them here.
  ctx.add_session_store("s", 100);
  auto p = ctx.start(session_aggregate_op("s", {.gap_ms = 5, .grace_ms = 10}, count(),
                                          string_serde(), EmitStrategy::on_update));
  ASSERT_TRUE(ctx.run(*p, rec(str("a"), str("x"), 0)));
  ASSERT_TRUE(ctx.run(*p, rec(str("a"), str("x"), 10)));  // 10 - 0 > gap: a second session
  ASSERT_TRUE(ctx.run(*p, rec(str("b"), str("x"), 5)));   // other key: untouched
  EXPECT_EQ(outs(ctx), (std::vector<Out>{{str("a"), i64(1), 0, 0, 0},
                                         {str("a"), i64(1), 10, 10, 10},
                                         {str("b"), i64(1), 5, 5, 5}}));
  ASSERT_TRUE(ctx.run(*p, rec(str("a"), str("x"), 5)));  // within gap of both
  EXPECT_EQ(outs(ctx), (std::vector<Out>{{str("a"), Value{}, 0, 0, 5},
                                         {str("a"), Value{}, 10, 10, 5},
                                         {str("a"), i64(3), 0, 10, 5}}));
  EXPECT_EQ(ctx.store("s")->size(), 2u);
  EXPECT_TRUE(ctx.dropped.empty());
}

TEST(SessionOpsTest, RecordInsideOrExtendingASession) {
  TestContext ctx;
  ctx.add_session_store("s", 5);
  auto p = ctx.start(
      session_aggregate_op("s", {.gap_ms = 5}, count(), string_serde(), EmitStrategy::on_update));
  ASSERT_TRUE(ctx.run(*p, rec(str("a"), str("x"), 20)));
  ASSERT_TRUE(ctx.run(*p, rec(str("a"), str("x"), 20)));  // same window: no tombstone
  ASSERT_TRUE(ctx.run(*p, rec(str("a"), str("x"), 25)));  // end + gap: still joins
  ASSERT_TRUE(ctx.run(*p, rec(str("a"), str("x"), 22)));  // inside
  EXPECT_EQ(outs(ctx), (std::vector<Out>{{str("a"), i64(1), 20, 20, 20},
                                         {str("a"), i64(2), 20, 20, 20},
                                         {str("a"), Value{}, 20, 20, 25},
                                         {str("a"), i64(3), 20, 25, 25},
                                         {str("a"), i64(4), 20, 25, 22}}));
}

TEST(SessionOpsTest, LateRecordsAreDropped) {
  TestContext ctx;
  ctx.add_session_store("s", 100);
  auto p = ctx.start(session_aggregate_op("s", {.gap_ms = 5, .grace_ms = 10}, count(),
                                          string_serde(), EmitStrategy::on_update));
  ASSERT_TRUE(ctx.run(*p, rec(str("a"), str("x"), 0)));
  ASSERT_TRUE(ctx.run(*p, rec(str("b"), str("x"), 20)));
  ctx.take();
  ASSERT_TRUE(ctx.run(*p, rec(str("a"), str("x"), 3)));  // merges into [0,3]: 3 + 10 < 20
  ASSERT_TRUE(ctx.run(*p, rec(str("c"), str("x"), 9)));  // 9 + 10 < 20
  EXPECT_EQ(ctx.dropped["late"], 2);
  ASSERT_TRUE(ctx.run(*p, rec(str("c"), str("x"), 10)));  // 10 + 10 == 20: on time
  EXPECT_EQ(outs(ctx), (std::vector<Out>{{str("c"), i64(1), 10, 10, 10}}));
  EXPECT_EQ(ctx.dropped["late"], 2);
  // The merged session's end decides: alone b@9 is late, joining [20,20] b@16 is not.
  ASSERT_TRUE(ctx.run(*p, rec(str("b"), str("x"), 9)));
  ASSERT_TRUE(ctx.run(*p, rec(str("b"), str("x"), 16)));
  EXPECT_EQ(ctx.dropped["late"], 3);
  EXPECT_EQ(outs(ctx),
            (std::vector<Out>{{str("b"), Value{}, 20, 20, 16}, {str("b"), i64(2), 16, 20, 16}}));
}

TEST(SessionOpsTest, EmitOnWindowCloseEmitsFinalSessionsOnce) {
  TestContext ctx;
  ctx.add_session_store("s", 7);
  auto p = ctx.start(session_aggregate_op("s", {.gap_ms = 5, .grace_ms = 2}, sum(), string_serde(),
                                          EmitStrategy::on_window_close));
  ASSERT_TRUE(ctx.run(*p, rec(str("a"), i64(1), 0)));
  ASSERT_TRUE(ctx.run(*p, rec(str("a"), i64(2), 3)));
  ASSERT_TRUE(ctx.run(*p, rec(str("b"), i64(10), 4)));
  ASSERT_TRUE(ctx.advance(*p, 10));  // 3 + 5 + 2: [0,3] can still grow
  EXPECT_TRUE(ctx.take().empty());
  ASSERT_TRUE(ctx.run(*p, rec(str("a"), i64(5), 8)));  // and does: [0,8]
  ASSERT_TRUE(ctx.advance(*p, 11));
  EXPECT_TRUE(ctx.take().empty());
  ASSERT_TRUE(ctx.advance(*p, 12));
  EXPECT_EQ(outs(ctx), (std::vector<Out>{{str("b"), i64(10), 4, 4, 4}}));
  ASSERT_TRUE(ctx.run(*p, rec(str("c"), i64(7), 12)));
  ASSERT_TRUE(ctx.advance(*p, 40));
  EXPECT_EQ(outs(ctx),
            (std::vector<Out>{{str("a"), i64(8), 0, 8, 8}, {str("c"), i64(7), 12, 12, 12}}));
  ASSERT_TRUE(ctx.advance(*p, 100));
  EXPECT_TRUE(ctx.take().empty());
  EXPECT_EQ(ctx.store("s")->size(), 0u);
}

TEST(SessionOpsTest, RestoreFromChangelogContinuesSessions) {
  const SessionWindows windows{.gap_ms = 5};
  TestContext first;
  first.add_session_store("s", 100);
  auto& log = first.changelog("s");
  auto p1 = first.start(
      session_aggregate_op("s", windows, count(), string_serde(), EmitStrategy::on_update));
  ASSERT_TRUE(first.run(*p1, rec(str("a"), str("x"), 0)));
  ASSERT_TRUE(first.run(*p1, rec(str("a"), str("x"), 2)));

  TestContext second;
  log.restore_into(second.add_session_store("s", 100));
  EXPECT_EQ(second.store("s")->size(), 1u);
  auto p2 = second.start(
      session_aggregate_op("s", windows, count(), string_serde(), EmitStrategy::on_update));
  ASSERT_TRUE(second.run(*p2, rec(str("a"), str("x"), 4)));
  EXPECT_EQ(outs(second),
            (std::vector<Out>{{str("a"), Value{}, 0, 2, 4}, {str("a"), i64(3), 0, 4, 4}}));
}

TEST(SessionOpsTest, AggregateWithMergerAndReduce) {
  TestContext ctx;
  ctx.add_session_store("agg", 100);
  ctx.add_session_store("red", 100);
  auto cat = [](const Value& l, const Value& r) {
    return str(std::get<std::string>(l) + std::get<std::string>(r));
  };
  Aggregation concat{.kind = Aggregation::Kind::aggregate,
                     .initializer = []() -> Result<Value> { return str(""); },
                     .adder = [cat](const Value&, const Value& v,
                                    const Value& agg) -> Result<Value> { return cat(agg, v); },
                     .merger = [cat](const Value&, const Value& l,
                                     const Value& r) -> Result<Value> { return cat(l, r); },
                     .aggregate_serde = string_serde()};
  Aggregation reduce{
      .kind = Aggregation::Kind::reduce,
      .reducer = [cat](const Value& agg, const Value& v) -> Result<Value> { return cat(agg, v); },
      .aggregate_serde = string_serde()};
  const SessionWindows windows{.gap_ms = 5};
  auto a = ctx.start(
      session_aggregate_op("agg", windows, concat, string_serde(), EmitStrategy::on_update));
  auto r = ctx.start(
      session_aggregate_op("red", windows, reduce, string_serde(), EmitStrategy::on_update));
  for (auto [s, t] : std::vector<std::pair<const char*, int64_t>>{{"x", 0}, {"y", 10}, {"z", 5}}) {
    ASSERT_TRUE(a->process(rec(str("k"), str(s), t)));
    auto out = outs(ctx);
    ASSERT_TRUE(r->process(rec(str("k"), str(s), t)));
    EXPECT_EQ(outs(ctx), out);
  }
  EXPECT_EQ(ctx.store("agg")->size(), 1u);
  ASSERT_TRUE(a->process(rec(str("k"), str("w"), 10)));
  EXPECT_EQ(outs(ctx), (std::vector<Out>{{str("k"), str("xyzw"), 0, 10, 10}}));
}

}  // namespace
}  // namespace kafkacore::streams
