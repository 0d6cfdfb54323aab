#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "streams/operators.h"
#include "test_context.h"

namespace kafkacore::streams {
namespace {

using testutil::i64;
using testutil::rec;
using testutil::str;
using testutil::TestContext;

StreamRecord windowed(Value key, Value value, int64_t ts) {
  StreamRecord r = rec(std::move(key), std::move(value), ts, {{"h", Bytes{std::byte{1}}}});
  r.window = Window{0, 100, false};
  return r;
}

Error boom() { return Error(Errc::invalid_record, "boom"); }

TEST(StatelessOpsTest, FilterAndFilterNot) {
  auto even = [](const StreamRecord& r) -> Result<bool> {
    return std::get<int64_t>(r.value) % 2 == 0;
  };
  TestContext ctx;
  auto keep = ctx.start(filter_op(even, false));
  auto drop = ctx.start(filter_op(even, true));
  for (int64_t i = 0; i < 5; ++i) {
    ASSERT_TRUE(ctx.run(*keep, windowed(str("k"), i64(i), i)));
  }
  auto kept = ctx.take();
  ASSERT_EQ(kept.size(), 3u);
  EXPECT_EQ(kept[1].child, -1);
  EXPECT_EQ(kept[1].record.value, i64(2));
  EXPECT_EQ(kept[1].record.timestamp, 2);
  EXPECT_EQ(kept[1].record.window, (Window{0, 100, false}));  // filter keeps the window
  EXPECT_EQ(kept[1].record.headers.size(), 1u);
  for (int64_t i = 0; i < 5; ++i) ASSERT_TRUE(ctx.run(*drop, rec(str("k"), i64(i), i)));
  auto rest = ctx.take();
  ASSERT_EQ(rest.size(), 2u);
  EXPECT_EQ(rest[0].record.value, i64(1));
  EXPECT_EQ(rest[1].record.value, i64(3));
}

TEST(StatelessOpsTest, MapClearsWindowKeepsTimestampAndHeaders) {
  TestContext ctx;
  auto p = ctx.start(map_op([](const StreamRecord& r) -> Result<KeyValue> {
    return KeyValue{r.value, str(std::get<std::string>(r.key) + "!")};
  }));
  ASSERT_TRUE(ctx.run(*p, windowed(str("k"), i64(7), 42)));
  auto out = ctx.take();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].record.key, i64(7));
  EXPECT_EQ(out[0].record.value, str("k!"));
  EXPECT_EQ(out[0].record.timestamp, 42);
  ASSERT_EQ(out[0].record.headers.size(), 1u);
  EXPECT_EQ(out[0].record.headers[0].key, "h");
  EXPECT_FALSE(out[0].record.window.has_value());
}

TEST(StatelessOpsTest, MapValuesKeepsKeyAndWindow) {
  TestContext ctx;
  auto p = ctx.start(map_values_op(
      [](const StreamRecord& r) -> Result<Value> { return i64(std::get<int64_t>(r.value) * 10); }));
  ASSERT_TRUE(ctx.run(*p, windowed(str("k"), i64(3), 5)));
  auto out = ctx.take();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].record.key, str("k"));
  EXPECT_EQ(out[0].record.value, i64(30));
  EXPECT_EQ(out[0].record.timestamp, 5);
  EXPECT_TRUE(out[0].record.window.has_value());
  EXPECT_EQ(out[0].record.headers.size(), 1u);
}

TEST(StatelessOpsTest, FlatMapAndFlatMapValues) {
  TestContext ctx;
  auto fm = ctx.start(flat_map_op([](const StreamRecord& r) -> Result<std::vector<KeyValue>> {
    std::vector<KeyValue> out;
    for (int64_t i = 0; i < std::get<int64_t>(r.value); ++i) out.emplace_back(i64(i), r.key);
    return out;
  }));
  ASSERT_TRUE(ctx.run(*fm, windowed(str("k"), i64(3), 9)));
  auto out = ctx.take();
  ASSERT_EQ(out.size(), 3u);
  for (int64_t i = 0; i < 3; ++i) {
    EXPECT_EQ(out[i].record.key, i64(i));
    EXPECT_EQ(out[i].record.value, str("k"));
    EXPECT_EQ(out[i].record.timestamp, 9);
    EXPECT_FALSE(out[i].record.window.has_value());
  }
  ASSERT_TRUE(ctx.run(*fm, rec(str("k"), i64(0), 10)));
  EXPECT_TRUE(ctx.take().empty());

  auto fmv = ctx.start(flat_map_values_op([](const StreamRecord& r) -> Result<std::vector<Value>> {
    const std::string& s = std::get<std::string>(r.value);
    std::vector<Value> chars;
    for (char c : s) chars.push_back(str(std::string(1, c)));
    return chars;
  }));
  ASSERT_TRUE(ctx.run(*fmv, windowed(str("key"), str("ab"), 11)));
  out = ctx.take();
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].record.value, str("a"));
  EXPECT_EQ(out[1].record.value, str("b"));
  EXPECT_EQ(out[1].record.key, str("key"));
  EXPECT_TRUE(out[1].record.window.has_value());
}

TEST(StatelessOpsTest, SelectKey) {
  TestContext ctx;
  auto p = ctx.start(select_key_op([](const StreamRecord& r) -> Result<Value> {
    return str("user-" + std::to_string(std::get<int64_t>(r.value)));
  }));
  ASSERT_TRUE(ctx.run(*p, windowed(str("old"), i64(4), 1)));
  auto out = ctx.take();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].record.key, str("user-4"));
  EXPECT_EQ(out[0].record.value, i64(4));
  EXPECT_FALSE(out[0].record.window.has_value());
  EXPECT_EQ(out[0].record.headers.size(), 1u);
}

TEST(StatelessOpsTest, PeekAndForeach) {
  TestContext ctx;
  int calls = 0;
  auto count = [&calls](const StreamRecord&) -> Result<void> {
    ++calls;
    return {};
  };
  auto peek = ctx.start(peek_op(count, true));
  auto foreach = ctx.start(peek_op(count, false));
  ASSERT_TRUE(ctx.run(*peek, rec(str("k"), i64(1), 1)));
  ASSERT_TRUE(ctx.run(*foreach, rec(str("k"), i64(2), 2)));
  EXPECT_EQ(calls, 2);
  auto out = ctx.take();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].record.value, i64(1));
}

TEST(StatelessOpsTest, BranchRoutesToFirstMatchingPredicate) {
  auto less_than = [](int64_t n) {
    return [n](const StreamRecord& r) -> Result<bool> { return std::get<int64_t>(r.value) < n; };
  };
  TestContext ctx;
  ctx.children = 3;
  auto p = ctx.start(branch_op({less_than(10), less_than(100)}, true));
  for (int64_t v : {5, 50, 500, 1}) ASSERT_TRUE(ctx.run(*p, rec(str("k"), i64(v), v)));
  auto out = ctx.take();
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[0].child, 0);  // 5 matches both; the first wins
  EXPECT_EQ(out[1].child, 1);
  EXPECT_EQ(out[2].child, 2);  // default branch
  EXPECT_EQ(out[3].child, 0);
  EXPECT_EQ(out[2].record.value, i64(500));

  TestContext no_default;
  no_default.children = 2;
  auto q = no_default.start(branch_op({less_than(10), less_than(100)}, false));
  ASSERT_TRUE(no_default.run(*q, rec(str("k"), i64(500), 1)));
  EXPECT_TRUE(no_default.take().empty());
}

TEST(StatelessOpsTest, PassThroughAndTimestamp) {
  TestContext ctx;
  auto pass = ctx.start(pass_through_op());
  StreamRecord in = windowed(str("k"), str("v"), 3);
  ASSERT_TRUE(ctx.run(*pass, in));
  auto out = ctx.take();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].record.key, in.key);
  EXPECT_EQ(out[0].record.value, in.value);
  EXPECT_EQ(out[0].record.window, in.window);
  EXPECT_EQ(out[0].record.timestamp, 3);

  auto ts = ctx.start(timestamp_op(
      [](const StreamRecord& r) -> Result<int64_t> { return std::get<int64_t>(r.value) * 1000; }));
  ASSERT_TRUE(ctx.run(*ts, windowed(str("k"), i64(7), 3)));
  out = ctx.take();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].record.timestamp, 7000);
  EXPECT_EQ(out[0].record.value, i64(7));
  EXPECT_TRUE(out[0].record.window.has_value());
}

TEST(StatelessOpsTest, UserFunctionErrorsPropagateUnchanged) {
  auto expect_boom = [](const Result<void>& r) {
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code(), Errc::invalid_record);
    EXPECT_EQ(r.error().message(), "boom");
  };
  TestContext ctx;
  ctx.children = 2;
  const StreamRecord in = rec(str("k"), i64(1), 1);
  expect_boom(
      ctx
          .start(filter_op(
              [](const StreamRecord&) -> Result<bool> { return std::unexpected(boom()); }, false))
          ->process(in));
  expect_boom(ctx.start(map_op([](const StreamRecord&) -> Result<KeyValue> {
                   return std::unexpected(boom());
                 }))
                  ->process(in));
  expect_boom(ctx.start(map_values_op([](const StreamRecord&) -> Result<Value> {
                   return std::unexpected(boom());
                 }))
                  ->process(in));
  expect_boom(ctx.start(flat_map_op([](const StreamRecord&) -> Result<std::vector<KeyValue>> {
                   return std::unexpected(boom());
                 }))
                  ->process(in));
  expect_boom(ctx.start(flat_map_values_op([](const StreamRecord&) -> Result<std::vector<Value>> {
                   return std::unexpected(boom());
                 }))
                  ->process(in));
  expect_boom(ctx.start(select_key_op([](const StreamRecord&) -> Result<Value> {
                   return std::unexpected(boom());
                 }))
                  ->process(in));
  expect_boom(
      ctx.start(peek_op([](const StreamRecord&) -> Result<void> { return std::unexpected(boom()); },
                        true))
          ->process(in));
  expect_boom(ctx.start(timestamp_op([](const StreamRecord&) -> Result<int64_t> {
                   return std::unexpected(boom());
                 }))
                  ->process(in));
  expect_boom(ctx.start(branch_op({[](const StreamRecord&) -> Result<bool> { return false; },
                                   [](const StreamRecord&) -> Result<bool> {
                                     return std::unexpected(boom());
                                   }},
                                  true))
                  ->process(in));
  EXPECT_TRUE(ctx.take().empty()) << "nothing forwarded after a failure";

  // A downstream failure stops a flat_map at the failing record and comes back as is.
  int forwards = 0;
  ctx.forward_hook = [&forwards](int64_t, const StreamRecord&) -> Result<void> {
    if (++forwards == 2) return std::unexpected(boom());
    return {};
  };
  auto fm = ctx.start(flat_map_values_op([](const StreamRecord&) -> Result<std::vector<Value>> {
    return std::vector<Value>{i64(1), i64(2), i64(3)};
  }));
  expect_boom(fm->process(in));
  EXPECT_EQ(forwards, 2);
}

TEST(StatelessOpsTest, FactoryMakesIndependentProcessors) {
  ProcessorFactory f = pass_through_op();
  auto a = f();
  auto b = f();
  EXPECT_NE(a.get(), b.get());
  TestContext ca;
  TestContext cb;
  ASSERT_TRUE(a->init(ca));
  ASSERT_TRUE(b->init(cb));
  ASSERT_TRUE(a->process(rec(str("k"), str("a"), 1)));
  EXPECT_EQ(ca.forwarded.size(), 1u);
  EXPECT_TRUE(cb.forwarded.empty());
}

}  // namespace
}  // namespace kafkacore::streams
