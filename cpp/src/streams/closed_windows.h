#pragma once
// What the time- and session-window aggregations share when they emit final results
// (EmitStrategy::on_window_close): the aggregates of windows that have just closed, copied out
// of the store first (forwarding may write to stores), then deserialized and forwarded once.
#include <cstdint>
#include <utility>
#include <vector>

#include "streams/processor.h"
#include "streams/serde.h"
#include "streams/value.h"

namespace kafkacore::streams {

struct ClosedWindow {
  Bytes key;
  Window window;
  int64_t timestamp = 0;  // of the result: no record in the window is later
  Bytes value;
};

inline Result<void> forward_closed(ProcessorContext& context, const Serde& key_serde,
                                   const Serde& value_serde, const std::vector<ClosedWindow>& closed) {
  for (const auto& c : closed) {
    auto key = key_serde.deserialize(ByteView(c.key));
    if (!key) return std::unexpected(std::move(key.error()));
    auto value = value_serde.deserialize(ByteView(c.value));
    if (!value) return std::unexpected(std::move(value.error()));
    StreamRecord out;
    out.key = std::move(*key);
    out.value = std::move(*value);
    out.timestamp = c.timestamp;
    out.window = c.window;
    if (auto ok = context.forward(out); !ok) return ok;
  }
  return {};
}

}  // namespace kafkacore::streams
