#pragma once
// What the time- and session-window operator tests share: the aggregations they run and the
// results they expect, as (key, value, window, timestamp) for compact expectations.
#include <gtest/gtest.h>

#include <cstdint>
#include <ostream>
#include <vector>

#include "streams/functions.h"
#include "test_context.h"

namespace kafkacore::streams::testutil {

inline Aggregation count() { return Aggregation{.kind = Aggregation::Kind::count}; }
inline Aggregation sum() { return Aggregation{.kind = Aggregation::Kind::sum}; }

struct WindowedOut {
  Value key;
  Value value;  // null: a session was replaced
  int64_t start;
  int64_t end;
  int64_t timestamp;
  bool operator==(const WindowedOut&) const = default;
};

inline void PrintTo(const WindowedOut& o, std::ostream* os) {
  *os << "{" << describe(o.key) << ", " << describe(o.value) << ", [" << o.start << "," << o.end
      << "], t=" << o.timestamp << "}";
}

// What the processor forwarded since the last call; each must carry a window of the kind.
inline std::vector<WindowedOut> windowed_outs(TestContext& ctx, bool session) {
  std::vector<WindowedOut> result;
  for (auto& f : ctx.take()) {
    EXPECT_TRUE(f.record.window.has_value());
    const Window w = f.record.window.value_or(Window{});
    EXPECT_EQ(w.session, session);
    result.push_back(WindowedOut{f.record.key, f.record.value, w.start, w.end, f.record.timestamp});
  }
  return result;
}

}  // namespace kafkacore::streams::testutil
