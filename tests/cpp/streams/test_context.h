#pragma once
// A ProcessorContext for operator tests: real stores added by name, every forward recorded,
// drops counted by reason, stream time / origin / partition set by the test, and optional
// recording changelogs so a test can check what a store logged and restore a fresh store from it.
#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/bytes.h"
#include "common/error.h"
#include "streams/processor.h"
#include "streams/state_store.h"
#include "streams/value.h"

namespace kafkacore::streams::testutil {

// --- Values and records

inline Bytes b(std::string_view s) {
  const ByteView v = as_bytes(s);
  return Bytes(v.begin(), v.end());
}
inline Value str(std::string s) { return Value(std::move(s)); }
inline Value i64(int64_t v) { return Value(v); }
inline Value dbl(double v) { return Value(v); }
inline Value bytes_value(std::string_view s) { return Value(b(s)); }
inline Value null() { return Value{}; }

inline std::string text(ByteView v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size());
}

// Readable form for assertion messages.
inline std::string describe(const Value& v) {
  switch (v.index()) {
    case 0:
      return "null";
    case 1:
      return "bytes(" + text(std::get<Bytes>(v)) + ")";
    case 2:
      return "\"" + std::get<std::string>(v) + "\"";
    case 3:
      return std::to_string(std::get<int64_t>(v));
    case 4:
      return std::to_string(std::get<double>(v)) + "d";
    default:
      return "host object";
  }
}

inline StreamRecord rec(Value key, Value value, int64_t timestamp,
                        std::vector<client::Header> headers = {}) {
  StreamRecord r;
  r.key = std::move(key);
  r.value = std::move(value);
  r.timestamp = timestamp;
  r.headers = std::move(headers);
  return r;
}

// --- Changelog

class RecordingChangelog : public ChangelogSink {
 public:
  struct Entry {
    Bytes key;
    std::optional<Bytes> value;
    int64_t timestamp = 0;
  };

  void append(ByteView key, std::optional<ByteView> value, int64_t timestamp) override {
    Entry e;
    e.key.assign(key.begin(), key.end());
    if (value) e.value = Bytes(value->begin(), value->end());
    e.timestamp = timestamp;
    entries.push_back(std::move(e));
  }

  // Replays every entry, in order, into `store` (as a task restoring from the topic would).
  void restore_into(StateStore& store) const {
    for (const auto& e : entries) {
      store.restore(e.key, e.value ? std::optional<ByteView>(*e.value) : std::nullopt);
    }
  }

  std::vector<Entry> entries;
};

// --- Context

class TestContext : public ProcessorContext {
 public:
  struct Forwarded {
    int64_t child = -1;  // -1: forward() to every child; otherwise forward_to(child)
    StreamRecord record;
  };

  // Store registry.
  KeyValueStore& add_kv_store(const std::string& name) {
    return add<KeyValueStore>(name, std::make_unique<KeyValueStore>(name));
  }
  WindowStore& add_window_store(const std::string& name, int64_t retention_ms,
                                bool retain_duplicates = false) {
    return add<WindowStore>(name,
                            std::make_unique<WindowStore>(name, retention_ms, retain_duplicates));
  }
  SessionStore& add_session_store(const std::string& name, int64_t retention_ms) {
    return add<SessionStore>(name, std::make_unique<SessionStore>(name, retention_ms));
  }
  // Attaches (once) and returns a recording changelog for the store `name`.
  RecordingChangelog& changelog(const std::string& name) {
    auto& sink = changelogs_[name];
    if (!sink) {
      sink = std::make_unique<RecordingChangelog>();
      auto it = stores_.find(name);
      if (it != stores_.end())
        it->second->set_changelog(sink.get());
      else
        ADD_FAILURE() << "changelog for unknown store " << name;
    }
    return *sink;
  }
  StateStore* store(const std::string& name) {
    auto it = stores_.find(name);
    return it == stores_.end() ? nullptr : it->second.get();
  }

  // Makes a processor from `factory` and initializes it against this context.
  std::unique_ptr<Processor> start(const ProcessorFactory& factory) {
    std::unique_ptr<Processor> p = factory();
    auto ok = p->init(*this);
    EXPECT_TRUE(ok.has_value()) << "init failed: " << ok.error().to_string();
    return p;
  }

  // process(), then, as a task does, advances stream time and tells the processor if the
  // record moved it forward.
  Result<void> run(Processor& p, StreamRecord record) {
    const int64_t ts = record.timestamp;
    if (auto ok = p.process(record); !ok) return ok;
    if (ts > stream_time_) {
      stream_time_ = ts;
      return p.on_stream_time(ts);
    }
    return {};
  }
  // Moves stream time forward without a record (e.g. a record for another node).
  Result<void> advance(Processor& p, int64_t stream_time) {
    if (stream_time <= stream_time_) return {};
    stream_time_ = stream_time;
    return p.on_stream_time(stream_time);
  }

  // Everything forwarded since the last call, then forgets it.
  std::vector<Forwarded> take() { return std::exchange(forwarded, {}); }

  // ProcessorContext
  Result<void> forward(const StreamRecord& record) override {
    forwarded.push_back({-1, record});
    if (forward_hook) return forward_hook(-1, record);
    return {};
  }
  Result<void> forward_to(size_t index, const StreamRecord& record) override {
    EXPECT_LT(index, children) << "forward_to past the last child";
    forwarded.push_back({static_cast<int64_t>(index), record});
    if (forward_hook) return forward_hook(static_cast<int64_t>(index), record);
    return {};
  }
  size_t child_count() const override { return children; }
  int64_t stream_time() const override { return stream_time_; }
  const RecordOrigin& origin() const override { return origin_; }
  int32_t partition() const override { return partition_; }
  KeyValueStore* kv_store(const std::string& name) override { return find<KeyValueStore>(name); }
  WindowStore* window_store(const std::string& name) override { return find<WindowStore>(name); }
  SessionStore* session_store(const std::string& name) override { return find<SessionStore>(name); }
  void record_dropped(std::string_view reason) override { ++dropped[std::string(reason)]; }

  void set_stream_time(int64_t t) { stream_time_ = t; }
  void set_origin(RecordOrigin origin) { origin_ = std::move(origin); }
  void set_partition(int32_t p) { partition_ = p; }

  std::vector<Forwarded> forwarded;
  std::map<std::string, int> dropped;
  size_t children = 1;
  // Called after a forward is recorded; lets a test make downstream fail.
  std::function<Result<void>(int64_t child, const StreamRecord&)> forward_hook;

 private:
  template <typename T>
  T& add(const std::string& name, std::unique_ptr<T> store) {
    T& ref = *store;
    stores_[name] = std::move(store);
    return ref;
  }
  template <typename T>
  T* find(const std::string& name) {
    auto it = stores_.find(name);
    return it == stores_.end() ? nullptr : dynamic_cast<T*>(it->second.get());
  }

  std::map<std::string, std::unique_ptr<StateStore>> stores_;
  std::map<std::string, std::unique_ptr<RecordingChangelog>> changelogs_;
  int64_t stream_time_ = INT64_MIN;
  RecordOrigin origin_{"input", 0, 0};
  int32_t partition_ = 0;
};

}  // namespace kafkacore::streams::testutil
