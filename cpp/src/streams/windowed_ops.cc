// Tumbling and hopping window aggregations (Kafka Streams' KStreamWindowAggregate).
//
// A record at t belongs to every window [start, start + size) with start a multiple of the
// advance, start >= 0 and start <= t < start + size. A window is closed once stream time
// reaches end + grace; a record late for every window it falls in is dropped ("late").
//
// on_window_close emits each window once, when stream time closes it, in window order, with
// timestamp end - 1 (no record in it is later). What was emitted is not persisted: the emit
// frontier starts at the task's stream time at init (after restore), minus grace. A task that
// knows its stream time then had emitted those windows before committing past them; one that
// does not (INT64_MIN, as StreamTask today) emits every closed window still in the restored
// store again on its first stream-time advance. At least once either way, never lost.
#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "streams/aggregation.h"
#include "streams/closed_windows.h"
#include "streams/operators.h"

namespace kafkacore::streams {

namespace {

int64_t sat_add(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_add_overflow(a, b, &r)) return b > 0 ? INT64_MAX : INT64_MIN;
  return r;
}

int64_t sat_sub(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_sub_overflow(a, b, &r)) return b > 0 ? INT64_MIN : INT64_MAX;
  return r;
}

class WindowedAggregateProcessor final : public Processor {
 public:
  WindowedAggregateProcessor(std::string store, TimeWindows windows, Aggregation aggregation,
                             SerdePtr key_serde, EmitStrategy emit)
      : store_name_(std::move(store)),
        windows_(windows),
        runner_(std::move(aggregation)),
        key_serde_(std::move(key_serde)),
        emit_(emit) {}

  Result<void> init(ProcessorContext& ctx) override {
    context_ = &ctx;
    if (windows_.size_ms <= 0 || windows_.advance_ms <= 0 ||
        windows_.advance_ms > windows_.size_ms || windows_.grace_ms < 0) {
      return make_error(
          Errc::invalid_config,
          "time windows need 0 < advance <= size and grace >= 0 (store " + store_name_ + ")");
    }
    if (!key_serde_) return make_error(Errc::invalid_config, "no key serde for " + store_name_);
    if (auto ok = runner_.check(); !ok) return ok;
    store_ = ctx.window_store(store_name_);
    if (store_ == nullptr) {
      return make_error(Errc::invalid_config, "window store " + store_name_ + " not available");
    }
    observed_ = ctx.stream_time();
    emitted_until_ = close_bound(observed_);
    return {};
  }

  Result<void> process(const StreamRecord& record) override {
    if (is_null(record.key)) {
      context().record_dropped("null key");
      return {};
    }
    if (is_null(record.value)) {
      context().record_dropped("null value");
      return {};
    }
    const int64_t t = record.timestamp;
    if (t < 0) {
      // No window has a negative start; Kafka rejects such timestamps too.
      context().record_dropped("negative timestamp");
      return {};
    }
    // The record's own time counts: it may be ahead of the task's stream time while processed.
    observed_ = std::max({observed_, context().stream_time(), t});
    auto key = key_serde_->serialize(record.key);
    if (!key) return std::unexpected(std::move(key.error()));
    if (!*key) {
      context().record_dropped("null key");
      return {};
    }

    const int64_t size = windows_.size_ms;
    const int64_t advance = windows_.advance_ms;
    // First start > t - size: windows are [start, start + size).
    int64_t start = std::max<int64_t>(0, sat_add(t - size, advance)) / advance * advance;
    bool accepted = false;
    for (; start <= t; start = sat_add(start, advance)) {
      const int64_t end = sat_add(start, size);
      if (sat_add(end, windows_.grace_ms) <= observed_) continue;  // closed
      accepted = true;
      Value aggregate;
      if (const Bytes* old = store_->fetch(**key, start)) {
        auto v = runner_.serde()->deserialize(ByteView(*old));
        if (!v) return std::unexpected(std::move(v.error()));
        aggregate = std::move(*v);
      } else {
        auto v = runner_.initial();
        if (!v) return std::unexpected(std::move(v.error()));
        aggregate = std::move(*v);
      }
      auto updated = runner_.add(record.key, record.value, aggregate);
      if (!updated) return std::unexpected(std::move(updated.error()));
      auto bytes = runner_.serde()->serialize(*updated);
      if (!bytes) return std::unexpected(std::move(bytes.error()));
      store_->put(**key, start, *bytes ? std::optional<ByteView>(**bytes) : std::nullopt, t);
      if (emit_ == EmitStrategy::on_update) {
        StreamRecord out;
        out.key = record.key;
        out.value = std::move(*updated);
        out.timestamp = t;
        out.headers = record.headers;
        out.window = Window{start, end, false};
        if (auto ok = context().forward(out); !ok) return ok;
      }
      if (start == INT64_MAX) break;
    }
    if (!accepted) context().record_dropped("late");
    return {};
  }

  Result<void> on_stream_time(int64_t stream_time) override {
    observed_ = std::max(observed_, stream_time);
    if (emit_ == EmitStrategy::on_window_close) {
      if (auto ok = emit_closed(); !ok) return ok;
    }
    // After emitting: retention (>= size + grace) keeps a window until it has closed.
    store_->expire(observed_);
    return {};
  }

 private:
  // The largest window end that is closed at `stream_time`.
  int64_t close_bound(int64_t stream_time) const {
    return stream_time == INT64_MIN ? INT64_MIN : sat_sub(stream_time, windows_.grace_ms);
  }

  // Final results of the windows with end in (emitted_until_, observed_ - grace], by
  // (end, key). A closed window takes no more records, so each goes out once.
  Result<void> emit_closed() {
    const int64_t to_end = close_bound(observed_);
    if (to_end <= emitted_until_) return {};
    const int64_t size = windows_.size_ms;
    const int64_t from_start =
        emitted_until_ == INT64_MIN ? INT64_MIN : sat_add(sat_sub(emitted_until_, size), 1);
    const int64_t to_start = sat_sub(to_end, size);
    std::vector<ClosedWindow> closed;
    store_->fetch_all(from_start, to_start, [&](ByteView key, int64_t start, ByteView value) {
      const int64_t end = sat_add(start, size);
      closed.push_back(ClosedWindow{Bytes(key.begin(), key.end()), Window{start, end, false},
                                    end - 1, Bytes(value.begin(), value.end())});
    });
    if (auto ok = forward_closed(context(), *key_serde_, *runner_.serde(), closed); !ok) return ok;
    emitted_until_ = to_end;
    return {};
  }

  std::string store_name_;
  TimeWindows windows_;
  AggregationRunner runner_;
  SerdePtr key_serde_;
  EmitStrategy emit_;
  WindowStore* store_ = nullptr;
  int64_t observed_ = INT64_MIN;
  // Windows ending at or before this were emitted (on_window_close).
  int64_t emitted_until_ = INT64_MIN;
};

}  // namespace

ProcessorFactory windowed_aggregate_op(std::string store, TimeWindows windows,
                                       Aggregation aggregation, SerdePtr key_serde,
                                       EmitStrategy emit) {
  return [store = std::move(store), windows, aggregation = std::move(aggregation),
          key_serde = std::move(key_serde), emit]() -> std::unique_ptr<Processor> {
    return std::make_unique<WindowedAggregateProcessor>(store, windows, aggregation, key_serde,
                                                        emit);
  };
}

}  // namespace kafkacore::streams
