#pragma once
// In-memory state stores, each optionally backed by a compacted changelog topic. Stores hold
// serialized keys and values (Bytes), as Kafka Streams' stores do: equality of keys is equality
// of their serialized form, and every change is a ready-to-send changelog record.
//
// Writes go to the store and, when a ChangelogSink is attached, to the changelog (same key
// layout Kafka Streams uses, so a changelog written here restores there and vice versa).
// `restore()` applies one changelog record without logging it again.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "common/bytes.h"
#include "streams/value.h"

namespace kafkacore::streams {

// Receives every change a store makes; the task sends them to the store's changelog partition.
class ChangelogSink {
 public:
  virtual ~ChangelogSink() = default;
  // nullopt value: a tombstone (the key was deleted).
  virtual void append(ByteView key, std::optional<ByteView> value, int64_t timestamp) = 0;
};

enum class StoreKind { key_value, window, session };

// Unsigned lexicographic byte order; transparent so a ByteView finds Bytes keys.
struct BytesLess {
  using is_transparent = void;
  bool operator()(ByteView a, ByteView b) const;
};

class StateStore {
 public:
  explicit StateStore(std::string name) : name_(std::move(name)) {}
  virtual ~StateStore() = default;
  StateStore(const StateStore&) = delete;
  StateStore& operator=(const StateStore&) = delete;

  const std::string& name() const { return name_; }
  virtual StoreKind kind() const = 0;
  // nullptr: not logged.
  void set_changelog(ChangelogSink* sink) { changelog_ = sink; }
  // Applies one changelog record (key in the changelog layout; nullopt value = tombstone).
  // Malformed keys (too short for the layout) are ignored and counted.
  virtual void restore(ByteView changelog_key, std::optional<ByteView> value) = 0;
  virtual size_t size() const = 0;
  size_t malformed_restores() const { return malformed_restores_; }

 protected:
  void log(ByteView key, std::optional<ByteView> value, int64_t timestamp) {
    if (changelog_ != nullptr) changelog_->append(key, value, timestamp);
  }
  size_t malformed_restores_ = 0;

 private:
  std::string name_;
  ChangelogSink* changelog_ = nullptr;
};

// Changelog key = the key itself.
class KeyValueStore : public StateStore {
 public:
  using StateStore::StateStore;
  StoreKind kind() const override { return StoreKind::key_value; }
  // nullptr when absent; valid until the next write.
  const Bytes* get(ByteView key) const;
  // nullopt deletes.
  void put(ByteView key, std::optional<ByteView> value, int64_t timestamp);
  // Every entry in key order (serialized-byte order).
  void for_each(const std::function<void(ByteView key, ByteView value)>& fn) const;
  void restore(ByteView changelog_key, std::optional<ByteView> value) override;
  size_t size() const override { return entries_.size(); }

 private:
  std::map<Bytes, Bytes, BytesLess> entries_;
};

// Entries keyed by (key, window start). With `retain_duplicates` (stream-stream join buffers)
// every put adds an entry, even for the same key and start, and changelog keys carry a 4-byte
// sequence number: key + 8-byte start + 4-byte seq (Kafka's layout); without it the changelog
// key is key + 8-byte start and a put replaces.
class WindowStore : public StateStore {
 public:
  WindowStore(std::string name, int64_t retention_ms, bool retain_duplicates);
  StoreKind kind() const override { return StoreKind::window; }
  int64_t retention_ms() const { return retention_ms_; }

  // nullptr when absent (first match when retaining duplicates); valid until the next write.
  const Bytes* fetch(ByteView key, int64_t window_start) const;
  // nullopt deletes (every duplicate at that start). Entries whose start is already older
  // than observed_stream_time - retention are not stored.
  void put(ByteView key, int64_t window_start, std::optional<ByteView> value, int64_t timestamp);
  // Entries for `key` with from <= start <= to, in start order (duplicates in insertion order).
  void fetch_range(ByteView key, int64_t from, int64_t to,
                   const std::function<void(int64_t start, ByteView value)>& fn) const;
  // Every entry with from <= start <= to, in (start, key) order.
  void fetch_all(int64_t from, int64_t to,
                 const std::function<void(ByteView key, int64_t start, ByteView value)>& fn) const;
  // Drops entries with start < stream_time - retention (not logged: the changelog's own
  // retention removes them there). Call as stream time advances.
  void expire(int64_t stream_time);
  void restore(ByteView changelog_key, std::optional<ByteView> value) override;
  size_t size() const override;

 private:
  int64_t retention_ms_;
  bool retain_duplicates_;
  int64_t observed_stream_time_ = INT64_MIN;
  uint32_t next_seq_ = 0;
  // start -> key -> values (one unless retaining duplicates)
  std::map<int64_t, std::map<Bytes, std::vector<std::pair<uint32_t, Bytes>>, BytesLess>> entries_;
  bool expired(int64_t window_start) const;
};

// Sessions keyed by (key, [start, end]) with both ends inclusive. Changelog key:
// key + 8-byte end + 8-byte start (Kafka's layout).
class SessionStore : public StateStore {
 public:
  SessionStore(std::string name, int64_t retention_ms);
  StoreKind kind() const override { return StoreKind::session; }

  struct Session {
    Window window;
    Bytes value;
  };
  // Sessions of `key` with end >= earliest_end and start <= latest_start, by start.
  std::vector<Session> find_sessions(ByteView key, int64_t earliest_end,
                                     int64_t latest_start) const;
  // nullopt removes that session.
  void put(ByteView key, Window window, std::optional<ByteView> value, int64_t timestamp);
  // Every session whose end is in [from, to], by (end, key).
  void for_each_ending(int64_t from, int64_t to,
                       const std::function<void(ByteView key, Window w, ByteView value)>& fn) const;
  // Drops sessions with end < stream_time - retention (not logged).
  void expire(int64_t stream_time);
  void restore(ByteView changelog_key, std::optional<ByteView> value) override;
  size_t size() const override;

 private:
  int64_t retention_ms_;
  // key -> (start, end) -> value
  std::map<Bytes, std::map<std::pair<int64_t, int64_t>, Bytes>, BytesLess> entries_;
  // (end, key, start) of every session: for_each_ending and expire without a full scan.
  // (end, key, start), ordered with BytesLess for the key: std::vector's own <=> trips a GCC
  // 12 -Wstringop-overread false positive.
  struct ByEndLess {
    bool operator()(const std::tuple<int64_t, Bytes, int64_t>& a,
                    const std::tuple<int64_t, Bytes, int64_t>& b) const;
  };
  std::set<std::tuple<int64_t, Bytes, int64_t>, ByEndLess> by_end_;
};

}  // namespace kafkacore::streams
