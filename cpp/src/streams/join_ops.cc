// Stream-table and stream-stream joins (Kafka Streams' KStreamKTableJoin, KStreamKStreamJoin).
//
// Stream-stream buffers: each side keeps its records in its own duplicate-retaining window
// store, keyed by (key, record time), the value prefixed by one state byte:
//   0 unmatched, 1 matched (joined at least once), 2 emitted with a null partner.
// The side that finds a partner rewrites that partner's entries (every duplicate at its
// (key, time), all of which fall in the same window) to "matched"; a left/outer side emits its
// still-unmatched records with a null partner once its join window has closed and rewrites them
// to "emitted". The state byte is in the changelog, so a restored buffer knows which records
// were matched or already emitted. Across a restore that gives: a record that was matched is
// never emitted with null; one emitted with null is not emitted again, unless its "emitted"
// rewrite was not yet in the changelog (at least once, duplicates limited to that window); one
// not yet emitted is emitted once its window closes (the scan after init starts from the
// oldest buffered record, so none is skipped). The joined results themselves are at least once
// as for any operator (records after the last commit are processed again).
//
// A record arriving for a window already closed (t + after + grace < stream time, `after`
// mirrored for the right side) is dropped ("late"). As in Kafka, with before > 0 a right
// record can still be on time and join a left record already emitted with null: both results
// go out.
#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <vector>

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

StreamRecord joined(const StreamRecord& in, Value value, int64_t timestamp) {
  StreamRecord out = in;
  out.value = std::move(value);
  out.timestamp = timestamp;
  return out;
}

// --- stream-table

class StreamTableJoinProcessor final : public Processor {
 public:
  StreamTableJoinProcessor(std::string table_store, SerdePtr key_serde, SerdePtr value_serde,
                           ValueJoiner joiner, JoinType type)
      : store_name_(std::move(table_store)),
        key_serde_(std::move(key_serde)),
        value_serde_(std::move(value_serde)),
        joiner_(std::move(joiner)),
        type_(type) {}

  Result<void> init(ProcessorContext& ctx) override {
    context_ = &ctx;
    if (type_ == JoinType::outer) {
      return make_error(Errc::invalid_config, "a stream-table join is inner or left");
    }
    if (!key_serde_ || !value_serde_ || !joiner_) {
      return make_error(Errc::invalid_config, "stream-table join on " + store_name_ +
                                                  " needs a key serde, value serde and joiner");
    }
    table_ = ctx.kv_store(store_name_);
    if (table_ == nullptr) {
      return make_error(Errc::invalid_config, "table store " + store_name_ + " not available");
    }
    return {};
  }

  Result<void> process(const StreamRecord& record) override {
    if (is_null(record.key)) {
      context().record_dropped("null key");
      return {};
    }
    auto key = key_serde_->serialize(record.key);
    if (!key) return std::unexpected(std::move(key.error()));
    const Bytes* found = *key ? table_->get(**key) : nullptr;
    Value table_value;
    if (found != nullptr) {
      auto v = value_serde_->deserialize(ByteView(*found));
      if (!v) return std::unexpected(std::move(v.error()));
      table_value = std::move(*v);
    }
    // A miss is normal for an inner join, not a drop.
    if (is_null(table_value) && type_ == JoinType::inner) return {};
    auto value = joiner_(record.key, record.value, table_value);
    if (!value) return std::unexpected(std::move(value.error()));
    return context().forward(joined(record, std::move(*value), record.timestamp));
  }

 private:
  std::string store_name_;
  SerdePtr key_serde_;
  SerdePtr value_serde_;
  ValueJoiner joiner_;
  JoinType type_;
  KeyValueStore* table_ = nullptr;
};

// --- stream-stream

enum State : uint8_t { kUnmatched = 0, kMatched = 1, kEmitted = 2 };

// Rewrites every duplicate at (key, start) through `next` (state -> state), keeping their
// order. Deleting removes all duplicates at once, so they are all put back.
void rewrite_states(WindowStore& store, ByteView key, int64_t start, int64_t timestamp,
                    State (*next)(State)) {
  std::vector<Bytes> values;
  bool changes = false;
  store.fetch_range(key, start, start, [&](int64_t, ByteView v) {
    values.emplace_back(v.begin(), v.end());
    if (!v.empty() && next(static_cast<State>(v[0])) != static_cast<State>(v[0])) changes = true;
  });
  if (!changes) return;
  store.put(key, start, std::nullopt, timestamp);
  for (auto& v : values) {
    if (!v.empty()) v[0] = static_cast<std::byte>(next(static_cast<State>(v[0])));
    store.put(key, start, ByteView(v), timestamp);
  }
}

class StreamStreamJoinProcessor final : public Processor {
 public:
  StreamStreamJoinProcessor(std::string this_store, std::string other_store, bool this_is_left,
                            JoinWindows windows, SerdePtr key_serde, SerdePtr this_value_serde,
                            SerdePtr other_value_serde, ValueJoiner joiner, JoinType type)
      : this_name_(std::move(this_store)),
        other_name_(std::move(other_store)),
        this_is_left_(this_is_left),
        windows_(windows),
        key_serde_(std::move(key_serde)),
        this_value_serde_(std::move(this_value_serde)),
        other_value_serde_(std::move(other_value_serde)),
        joiner_(std::move(joiner)),
        // The right side looks at the window mirrored: a right record at t joins left records
        // in [t - after, t + before].
        before_(this_is_left ? windows.before_ms : windows.after_ms),
        after_(this_is_left ? windows.after_ms : windows.before_ms),
        this_emits_unmatched_(type == JoinType::outer || (type == JoinType::left && this_is_left)),
        other_emits_unmatched_(type == JoinType::outer ||
                               (type == JoinType::left && !this_is_left)) {}

  Result<void> init(ProcessorContext& ctx) override {
    context_ = &ctx;
    if (windows_.grace_ms < 0 || sat_add(windows_.before_ms, windows_.after_ms) < 0) {
      return make_error(Errc::invalid_config,
                        "join windows need before + after >= 0 and grace >= 0");
    }
    if (!key_serde_ || !this_value_serde_ || !other_value_serde_ || !joiner_) {
      return make_error(Errc::invalid_config,
                        "stream-stream join needs key and value serdes and a joiner");
    }
    this_ = ctx.window_store(this_name_);
    other_ = ctx.window_store(other_name_);
    if (this_ == nullptr || other_ == nullptr) {
      return make_error(Errc::invalid_config,
                        "join stores " + this_name_ + " / " + other_name_ + " not available");
    }
    observed_ = ctx.stream_time();
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
    // Its window already closed: partners that were buffered then may have been emitted
    // unmatched and expired; joining now would be arbitrary.
    if (closes_before(t, observed_)) {
      context().record_dropped("late");
      return {};
    }
    auto key = key_serde_->serialize(record.key);
    if (!key) return std::unexpected(std::move(key.error()));
    auto value = this_value_serde_->serialize(record.value);
    if (!value) return std::unexpected(std::move(value.error()));
    if (!*key || !*value) {
      context().record_dropped(*key ? "null value" : "null key");
      return {};
    }
    const ByteView key_bytes(**key);

    // Copied out: the joiner may be slow and the store is rewritten below.
    std::vector<std::pair<int64_t, Bytes>> partners;
    other_->fetch_range(key_bytes, sat_sub(t, before_), sat_add(t, after_),
                        [&](int64_t start, ByteView v) {
                          partners.emplace_back(start, Bytes(v.begin(), v.end()));
                        });
    std::vector<int64_t> to_mark;
    for (const auto& [start, buffered] : partners) {
      if (buffered.empty()) continue;  // not written by this operator
      if (other_emits_unmatched_ && static_cast<State>(buffered[0]) == kUnmatched &&
          (to_mark.empty() || to_mark.back() != start)) {
        to_mark.push_back(start);
      }
      auto other = other_value_serde_->deserialize(ByteView(buffered).subspan(1));
      if (!other) return std::unexpected(std::move(other.error()));
      auto result = this_is_left_ ? joiner_(record.key, record.value, *other)
                                  : joiner_(record.key, *other, record.value);
      if (!result) return std::unexpected(std::move(result.error()));
      if (auto ok = context().forward(joined(record, std::move(*result), std::max(t, start)));
          !ok) {
        return ok;
      }
    }
    for (int64_t start : to_mark) {
      rewrite_states(*other_, key_bytes, start, t,
                     [](State s) { return s == kUnmatched ? kMatched : s; });
    }

    Bytes buffered;
    buffered.reserve((*value)->size() + 1);
    buffered.push_back(static_cast<std::byte>(partners.empty() ? kUnmatched : kMatched));
    buffered.insert(buffered.end(), (*value)->begin(), (*value)->end());
    this_->put(key_bytes, t, ByteView(buffered), t);
    return {};
  }

  Result<void> on_stream_time(int64_t stream_time) override {
    observed_ = std::max(observed_, stream_time);
    if (this_emits_unmatched_) {
      if (auto ok = emit_unmatched(); !ok) return ok;
    }
    // Only our own buffer, unless the other side never emits from its: with a stream-time
    // jump, expiring it here could drop records it has yet to emit unmatched.
    this_->expire(observed_);
    if (!other_emits_unmatched_) other_->expire(observed_);
    return {};
  }

 private:
  // This side's record at t can take no more partners once stream time > t + after + grace.
  bool closes_before(int64_t t, int64_t stream_time) const {
    return sat_add(sat_add(t, after_), windows_.grace_ms) < stream_time;
  }

  // Unmatched records whose window closed since the last call, with a null partner, in time
  // order. The scan starts from the beginning of the buffer after init, so a restored buffer's
  // closed, unmatched (state 0) records are emitted too.
  Result<void> emit_unmatched() {
    if (observed_ == INT64_MIN) return {};
    const int64_t to = sat_sub(sat_sub(sat_sub(observed_, after_), windows_.grace_ms), 1);
    if (to <= scanned_until_) return {};
    struct Unmatched {
      Bytes key;
      int64_t start;
      Bytes value;
    };
    std::vector<Unmatched> found;
    this_->fetch_all(sat_add(scanned_until_, 1), to, [&](ByteView key, int64_t start, ByteView v) {
      if (!v.empty() && static_cast<State>(v[0]) == kUnmatched) {
        found.push_back(
            Unmatched{Bytes(key.begin(), key.end()), start, Bytes(v.begin() + 1, v.end())});
      }
    });
    for (size_t i = 0; i < found.size(); ++i) {
      const auto& u = found[i];
      auto key = key_serde_->deserialize(ByteView(u.key));
      if (!key) return std::unexpected(std::move(key.error()));
      auto value = this_value_serde_->deserialize(ByteView(u.value));
      if (!value) return std::unexpected(std::move(value.error()));
      auto result = this_is_left_ ? joiner_(*key, *value, Value{}) : joiner_(*key, Value{}, *value);
      if (!result) return std::unexpected(std::move(result.error()));
      StreamRecord out;
      out.key = std::move(*key);
      out.value = std::move(*result);
      out.timestamp = u.start;
      if (auto ok = context().forward(out); !ok) return ok;
      // Once per (key, time), after its last duplicate went out.
      if (i + 1 == found.size() || found[i + 1].start != u.start || found[i + 1].key != u.key) {
        rewrite_states(*this_, ByteView(u.key), u.start, u.start,
                       [](State s) { return s == kUnmatched ? kEmitted : s; });
      }
    }
    scanned_until_ = to;
    return {};
  }

  std::string this_name_;
  std::string other_name_;
  bool this_is_left_;
  JoinWindows windows_;
  SerdePtr key_serde_;
  SerdePtr this_value_serde_;
  SerdePtr other_value_serde_;
  ValueJoiner joiner_;
  int64_t before_;
  int64_t after_;
  bool this_emits_unmatched_;
  bool other_emits_unmatched_;
  WindowStore* this_ = nullptr;
  WindowStore* other_ = nullptr;
  int64_t observed_ = INT64_MIN;
  // Buffered records with time <= this were looked at for emitting unmatched.
  int64_t scanned_until_ = INT64_MIN;
};

}  // namespace

ProcessorFactory stream_table_join_op(std::string table_store, SerdePtr key_serde,
                                      SerdePtr table_value_serde, ValueJoiner joiner,
                                      JoinType type) {
  return [table_store = std::move(table_store), key_serde = std::move(key_serde),
          table_value_serde = std::move(table_value_serde), joiner = std::move(joiner),
          type]() -> std::unique_ptr<Processor> {
    return std::make_unique<StreamTableJoinProcessor>(table_store, key_serde, table_value_serde,
                                                      joiner, type);
  };
}

ProcessorFactory stream_stream_join_op(std::string this_store, std::string other_store,
                                       bool this_is_left, JoinWindows windows, SerdePtr key_serde,
                                       SerdePtr this_value_serde, SerdePtr other_value_serde,
                                       ValueJoiner joiner, JoinType type) {
  return [this_store = std::move(this_store), other_store = std::move(other_store), this_is_left,
          windows, key_serde = std::move(key_serde), this_value_serde = std::move(this_value_serde),
          other_value_serde = std::move(other_value_serde), joiner = std::move(joiner),
          type]() -> std::unique_ptr<Processor> {
    return std::make_unique<StreamStreamJoinProcessor>(this_store, other_store, this_is_left,
                                                       windows, key_serde, this_value_serde,
                                                       other_value_serde, joiner, type);
  };
}

}  // namespace kafkacore::streams
