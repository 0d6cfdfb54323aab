#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "streams/operators.h"
#include "streams/serde.h"
#include "test_context.h"

namespace kafkacore::streams {
namespace {

using testutil::b;
using testutil::rec;
using testutil::str;
using testutil::TestContext;

std::string text_of(const Value& v) { return is_null(v) ? "null" : std::get<std::string>(v); }

// "left|right", null sides spelled "null": shows the joiner's argument order.
Result<Value> pair_joiner(const Value& key, const Value& left, const Value& right) {
  return str(text_of(key) + ":" + text_of(left) + "|" + text_of(right));
}

struct Out {
  std::string value;
  int64_t timestamp;
  bool operator==(const Out&) const = default;
};

void PrintTo(const Out& o, std::ostream* os) {
  *os << "{" << o.value << ", t=" << o.timestamp << "}";
}

std::vector<Out> outs(TestContext& ctx) {
  std::vector<Out> result;
  for (auto& f : ctx.take()) result.push_back(Out{text_of(f.record.value), f.record.timestamp});
  return result;
}

// --- stream-table

TEST(StreamTableJoinTest, InnerJoinsHitsAndSkipsMisses) {
  TestContext ctx;
  auto& table = ctx.add_kv_store("t");
  table.put(b("a"), ByteView(b("A")), 0);
  auto p = ctx.start(
      stream_table_join_op("t", string_serde(), string_serde(), pair_joiner, JoinType::inner));
  ASSERT_TRUE(ctx.run(*p, rec(str("a"), str("x"), 5, {{"h", b("1")}})));
  ASSERT_TRUE(ctx.run(*p, rec(str("b"), str("y"), 6)));
  auto out = ctx.take();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].record.key, str("a"));
  EXPECT_EQ(out[0].record.value, str("a:x|A"));
  EXPECT_EQ(out[0].record.timestamp, 5);
  EXPECT_EQ(out[0].record.headers.size(), 1u);
  EXPECT_TRUE(ctx.dropped.empty());  // a miss is not a drop
  // Table updates are seen by later stream records.
  table.put(b("b"), ByteView(b("B")), 7);
  ASSERT_TRUE(ctx.run(*p, rec(str("b"), str("y"), 8)));
  EXPECT_EQ(outs(ctx), (std::vector<Out>{{"b:y|B", 8}}));
}

TEST(StreamTableJoinTest, LeftJoinsMissesWithNullAndDropsNullKeys) {
  TestContext ctx;
  auto& table = ctx.add_kv_store("t");
  table.put(b("a"), ByteView(b("A")), 0);
  auto p = ctx.start(
      stream_table_join_op("t", string_serde(), string_serde(), pair_joiner, JoinType::left));
  ASSERT_TRUE(ctx.run(*p, rec(str("a"), str("x"), 1)));
  ASSERT_TRUE(ctx.run(*p, rec(str("b"), str("y"), 2)));
  ASSERT_TRUE(ctx.run(*p, rec(Value{}, str("z"), 3)));
  EXPECT_EQ(outs(ctx), (std::vector<Out>{{"a:x|A", 1}, {"b:y|null", 2}}));
  EXPECT_EQ(ctx.dropped["null key"], 1);
}

// --- stream-stream

// Both sides' processors on one context; stream time advances for both, as in a task.
struct StreamStreamJoin {
  StreamStreamJoin(JoinWindows windows, JoinType type, TestContext& context, bool log = false)
      : ctx(context) {
    const int64_t retention = windows.before_ms + windows.after_ms + windows.grace_ms;
    if (ctx.store("L") == nullptr) ctx.add_window_store("L", retention, true);
    if (ctx.store("R") == nullptr) ctx.add_window_store("R", retention, true);
    if (log) {
      ctx.changelog("L");
      ctx.changelog("R");
    }
    left = ctx.start(stream_stream_join_op("L", "R", true, windows, string_serde(), string_serde(),
                                           string_serde(), pair_joiner, type));
    right = ctx.start(stream_stream_join_op("R", "L", false, windows, string_serde(),
                                            string_serde(), string_serde(), pair_joiner, type));
  }

  void send(Processor& p, const std::string& key, const std::string& value, int64_t ts) {
    ASSERT_TRUE(p.process(rec(str(key), str(value), ts)));
    advance(ts);
  }
  void l(const std::string& key, const std::string& value, int64_t ts) {
    send(*left, key, value, ts);
  }
  void r(const std::string& key, const std::string& value, int64_t ts) {
    send(*right, key, value, ts);
  }
  void advance(int64_t ts) {
    if (ts <= ctx.stream_time()) return;
    ctx.set_stream_time(ts);
    ASSERT_TRUE(left->on_stream_time(ts));
    ASSERT_TRUE(right->on_stream_time(ts));
  }

  TestContext& ctx;
  std::unique_ptr<Processor> left;
  std::unique_ptr<Processor> right;
};

TEST(StreamStreamJoinTest, InnerJoinLeftFirstWindowBoundsInclusive) {
  TestContext ctx;
  // A left record at t joins right records in [t - 10, t + 5].
  StreamStreamJoin j({.before_ms = 10, .after_ms = 5, .grace_ms = 100}, JoinType::inner, ctx);
  j.l("a", "l1", 100);
  j.r("a", "r1", 105);  // t + after: in
  j.r("a", "r2", 106);  // out
  j.r("a", "r3", 90);   // t - before: in
  j.r("a", "r4", 89);   // out
  j.r("b", "r5", 100);  // other key
  EXPECT_EQ(outs(ctx), (std::vector<Out>{{"a:l1|r1", 105}, {"a:l1|r3", 100}}));
}

TEST(StreamStreamJoinTest, InnerJoinRightFirstMirrorsTheWindow) {
  TestContext ctx;
  StreamStreamJoin j({.before_ms = 10, .after_ms = 5, .grace_ms = 100}, JoinType::inner, ctx);
  j.r("a", "r1", 200);
  j.l("a", "l1", 194);  // right must be in [184, 199]: no
  j.l("a", "l2", 195);  // [185, 200]: yes
  j.l("a", "l3", 210);  // [200, 215]: yes
  j.l("a", "l4", 211);  // [201, 216]: no
  j.r("a", "r2", 200);  // a duplicate timestamp: joins l2 and l3, still as left|right
  EXPECT_EQ(
      outs(ctx),
      (std::vector<Out>{{"a:l2|r1", 200}, {"a:l3|r1", 210}, {"a:l2|r2", 200}, {"a:l3|r2", 210}}));
  EXPECT_TRUE(ctx.dropped.empty());
}

TEST(StreamStreamJoinTest, LateAndNullRecordsAreDropped) {
  TestContext ctx;
  StreamStreamJoin j({.before_ms = 10, .after_ms = 10, .grace_ms = 0}, JoinType::inner, ctx);
  j.l("a", "l1", 100);
  j.r("b", "r1", 200);
  j.r("a", "r2", 95);  // 95 + 10 < 200: its window closed
  ASSERT_TRUE(j.left->process(rec(Value{}, str("x"), 200)));
  ASSERT_TRUE(j.left->process(rec(str("a"), Value{}, 200)));
  EXPECT_TRUE(ctx.take().empty());
  EXPECT_EQ(ctx.dropped["late"], 1);
  EXPECT_EQ(ctx.dropped["null key"], 1);
  EXPECT_EQ(ctx.dropped["null value"], 1);
}

TEST(StreamStreamJoinTest, LeftJoinEmitsUnmatchedOnceAfterTheWindowCloses) {
  TestContext ctx;
  StreamStreamJoin j({.before_ms = 10, .after_ms = 10, .grace_ms = 5}, JoinType::left, ctx);
  j.l("a", "l1", 100);
  j.l("b", "l2", 100);
  j.r("a", "r1", 105);  // matches l1
  j.r("c", "r2", 106);  // right records are never emitted alone in a left join
  j.r("d", "r3", 100);
  j.l("d", "l3", 101);  // matched on arrival
  EXPECT_EQ(outs(ctx), (std::vector<Out>{{"a:l1|r1", 105}, {"d:l3|r3", 101}}));
  j.advance(115);  // 100 + 10 + 5: not closed yet
  EXPECT_TRUE(ctx.take().empty());
  j.advance(116);
  EXPECT_EQ(outs(ctx), (std::vector<Out>{{"b:l2|null", 100}}));
  j.advance(200);
  EXPECT_TRUE(ctx.take().empty());
  EXPECT_EQ(ctx.store("L")->size(), 0u);  // expired
  EXPECT_EQ(ctx.store("R")->size(), 0u);
}

TEST(StreamStreamJoinTest, LeftJoinDuplicatesAtOneTimestamp) {
  TestContext ctx;
  StreamStreamJoin j({.before_ms = 0, .after_ms = 0, .grace_ms = 0}, JoinType::left, ctx);
  j.l("a", "l1", 10);
  j.l("a", "l2", 10);
  j.l("b", "l3", 10);
  j.l("b", "l4", 10);
  j.r("a", "r1", 10);  // matches both a's
  j.advance(11);
  EXPECT_EQ(
      outs(ctx),
      (std::vector<Out>{{"a:l1|r1", 10}, {"a:l2|r1", 10}, {"b:l3|null", 10}, {"b:l4|null", 10}}));
}

TEST(StreamStreamJoinTest, OuterJoinEmitsBothSidesUnmatched) {
  TestContext ctx;
  // Right records close at t + before + grace, left ones at t + after + grace.
  StreamStreamJoin j({.before_ms = 20, .after_ms = 5, .grace_ms = 0}, JoinType::outer, ctx);
  j.l("a", "l1", 100);
  j.r("b", "r1", 100);
  j.advance(106);
  EXPECT_EQ(outs(ctx), (std::vector<Out>{{"a:l1|null", 100}}));
  j.advance(121);
  EXPECT_EQ(outs(ctx), (std::vector<Out>{{"b:null|r1", 100}}));
}

TEST(StreamStreamJoinTest, LeftJoinStateSurvivesRestore) {
  const JoinWindows windows{.before_ms = 10, .after_ms = 10, .grace_ms = 0};
  TestContext first;
  StreamStreamJoin j1(windows, JoinType::left, first, /*log=*/true);
  j1.l("a", "l1", 100);
  j1.l("c", "l3", 95);
  j1.l("b", "l2", 101);
  j1.r("a", "r1", 105);      // rewrites l1 as matched in L's changelog
  j1.advance(101 + 10 + 1);  // all three windows closed; l1 matched
  EXPECT_EQ(outs(first),
            (std::vector<Out>{{"a:l1|r1", 105}, {"c:l3|null", 95}, {"b:l2|null", 101}}));
  // A restored task knows l1 matched and l2, l3 went out: nothing again.
  TestContext second;
  first.changelog("L").restore_into(second.add_window_store("L", 20, true));
  first.changelog("R").restore_into(second.add_window_store("R", 20, true));
  EXPECT_EQ(second.store("L")->size(), 3u);
  StreamStreamJoin j2(windows, JoinType::left, second);
  j2.advance(112);
  j2.advance(200);
  EXPECT_TRUE(second.take().empty());

  // Restored before the windows closed: l2 and l3 still come out, once; l1 does not.
  TestContext third;
  TestContext fourth;
  StreamStreamJoin j3(windows, JoinType::left, third, /*log=*/true);
  j3.l("a", "l1", 100);
  j3.l("c", "l3", 95);
  j3.l("b", "l2", 101);
  j3.r("a", "r1", 105);
  third.take();
  third.changelog("L").restore_into(fourth.add_window_store("L", 20, true));
  third.changelog("R").restore_into(fourth.add_window_store("R", 20, true));
  StreamStreamJoin j4(windows, JoinType::left, fourth);
  j4.advance(112);
  j4.advance(300);
  EXPECT_EQ(outs(fourth), (std::vector<Out>{{"c:l3|null", 95}, {"b:l2|null", 101}}));
}

}  // namespace
}  // namespace kafkacore::streams
