// Session window aggregations (Kafka Streams' KStreamSessionWindowAggregate).
//
// A record at t joins every session of its key within `gap` of it (end >= t - gap and
// start <= t + gap); they merge into one session [min start, max end], both ends inclusive.
// The merged session is late (the record is dropped) once its end + grace < stream time: the
// end is inclusive, so a record at the stream time with zero grace is still on time. A session
// can grow while a record at end + gap is on time, i.e. until stream time passes
// end + gap + grace; on_window_close emits it then, once. As for time windows
// (windowed_ops.cc) the emit frontier is not persisted: it starts at the task's stream time at
// init, so results are at least once across a restore (closed sessions still in the store are
// emitted again when the task did not restore its stream time).
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

class SessionAggregateProcessor final : public Processor {
 public:
  SessionAggregateProcessor(std::string store, SessionWindows windows, Aggregation aggregation,
                            SerdePtr key_serde, EmitStrategy emit)
      : store_name_(std::move(store)),
        windows_(windows),
        runner_(std::move(aggregation)),
        key_serde_(std::move(key_serde)),
        emit_(emit) {}

  Result<void> init(ProcessorContext& ctx) override {
    context_ = &ctx;
    if (windows_.gap_ms < 0 || windows_.grace_ms < 0) {
      return make_error(Errc::invalid_config,
                        "session windows need gap >= 0 and grace >= 0 (store " + store_name_ + ")");
    }
    if (!key_serde_) return make_error(Errc::invalid_config, "no key serde for " + store_name_);
    if (auto ok = runner_.check(); !ok) return ok;
    store_ = ctx.session_store(store_name_);
    if (store_ == nullptr) {
      return make_error(Errc::invalid_config, "session store " + store_name_ + " not available");
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
    observed_ = std::max({observed_, context().stream_time(), t});
    auto key = key_serde_->serialize(record.key);
    if (!key) return std::unexpected(std::move(key.error()));
    if (!*key) {
      context().record_dropped("null key");
      return {};
    }
    const ByteView key_bytes(**key);

    const auto sessions =
        store_->find_sessions(key_bytes, sat_sub(t, windows_.gap_ms), sat_add(t, windows_.gap_ms));
    Window merged{t, t, true};
    for (const auto& s : sessions) {
      merged.start = std::min(merged.start, s.window.start);
      merged.end = std::max(merged.end, s.window.end);
    }
    if (sat_add(merged.end, windows_.grace_ms) < observed_) {
      context().record_dropped("late");
      return {};
    }

    // As Kafka: initializer, merge every old session in, then add the record.
    auto aggregate = runner_.initial();
    if (!aggregate) return std::unexpected(std::move(aggregate.error()));
    for (const auto& s : sessions) {
      auto old = runner_.serde()->deserialize(ByteView(s.value));
      if (!old) return std::unexpected(std::move(old.error()));
      aggregate = runner_.merge(record.key, *aggregate, *old);
      if (!aggregate) return std::unexpected(std::move(aggregate.error()));
    }
    aggregate = runner_.add(record.key, record.value, *aggregate);
    if (!aggregate) return std::unexpected(std::move(aggregate.error()));
    auto bytes = runner_.serde()->serialize(*aggregate);
    if (!bytes) return std::unexpected(std::move(bytes.error()));

    // Replaced sessions go; one equal to the merged window is simply overwritten below.
    for (const auto& s : sessions) {
      if (s.window == merged) continue;
      store_->put(key_bytes, s.window, std::nullopt, t);
      if (emit_ == EmitStrategy::on_update) {
        if (auto ok = context().forward(result(record, Value{}, s.window)); !ok) return ok;
      }
    }
    store_->put(key_bytes, merged, *bytes ? std::optional<ByteView>(**bytes) : std::nullopt, t);
    if (emit_ == EmitStrategy::on_update) {
      return context().forward(result(record, std::move(*aggregate), merged));
    }
    return {};
  }

  Result<void> on_stream_time(int64_t stream_time) override {
    observed_ = std::max(observed_, stream_time);
    if (emit_ == EmitStrategy::on_window_close) {
      if (auto ok = emit_closed(); !ok) return ok;
    }
    store_->expire(observed_);
    return {};
  }

 private:
  static StreamRecord result(const StreamRecord& in, Value value, Window window) {
    StreamRecord out;
    out.key = in.key;
    out.value = std::move(value);
    out.timestamp = in.timestamp;
    out.headers = in.headers;
    out.window = window;
    return out;
  }

  // The largest session end that can no longer grow at `stream_time`.
  int64_t close_bound(int64_t stream_time) const {
    if (stream_time == INT64_MIN) return INT64_MIN;
    return sat_sub(sat_sub(sat_sub(stream_time, windows_.grace_ms), windows_.gap_ms), 1);
  }

  // Sessions with end in (emitted_until_, stream time - gap - grace - 1], by (end, key). A
  // record reaching such a session would make a merged session that is late, so none changes
  // after.
  Result<void> emit_closed() {
    const int64_t to_end = close_bound(observed_);
    if (to_end <= emitted_until_) return {};
    std::vector<ClosedWindow> closed;
    store_->for_each_ending(
        sat_add(emitted_until_, 1), to_end, [&](ByteView key, Window w, ByteView value) {
          // The session's time is its latest record's.
          closed.push_back(ClosedWindow{Bytes(key.begin(), key.end()), w, w.end,
                                        Bytes(value.begin(), value.end())});
        });
    if (auto ok = forward_closed(context(), *key_serde_, *runner_.serde(), closed); !ok) return ok;
    emitted_until_ = to_end;
    return {};
  }

  std::string store_name_;
  SessionWindows windows_;
  AggregationRunner runner_;
  SerdePtr key_serde_;
  EmitStrategy emit_;
  SessionStore* store_ = nullptr;
  int64_t observed_ = INT64_MIN;
  // Sessions ending at or before this were emitted (on_window_close).
  int64_t emitted_until_ = INT64_MIN;
};

}  // namespace

ProcessorFactory session_aggregate_op(std::string store, SessionWindows windows,
                                      Aggregation aggregation, SerdePtr key_serde,
                                      EmitStrategy emit) {
  return [store = std::move(store), windows, aggregation = std::move(aggregation),
          key_serde = std::move(key_serde), emit]() -> std::unique_ptr<Processor> {
    return std::make_unique<SessionAggregateProcessor>(store, windows, aggregation, key_serde,
                                                       emit);
  };
}

}  // namespace kafkacore::streams
