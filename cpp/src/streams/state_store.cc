// In-memory key-value, window and session stores with Kafka Streams' changelog key layouts.
#include "streams/state_store.h"

#include <algorithm>
#include <cstring>

#include "streams/serde.h"

namespace kafkacore::streams {

namespace {

Bytes copy(ByteView v) { return Bytes(v.begin(), v.end()); }

int64_t read_i64(const std::byte* p) { return static_cast<int64_t>(load_be<uint64_t>(p)); }

// stream_time - retention without overflow; INT64_MIN means nothing has expired yet.
int64_t expiry_bound(int64_t stream_time, int64_t retention_ms) {
  if (stream_time == INT64_MIN) return INT64_MIN;
  int64_t bound;
  if (__builtin_sub_overflow(stream_time, retention_ms, &bound)) return INT64_MIN;
  return bound;
}

Bytes window_changelog_key(ByteView key, int64_t start, std::optional<uint32_t> seq) {
  Bytes out = time_windowed_key(key, start);
  if (seq) {
    out.resize(out.size() + 4);
    store_be<uint32_t>(out.data() + out.size() - 4, *seq);
  }
  return out;
}

}  // namespace

bool BytesLess::operator()(ByteView a, ByteView b) const {
  const size_t n = std::min(a.size(), b.size());
  if (n > 0) {
    if (int c = std::memcmp(a.data(), b.data(), n); c != 0) return c < 0;
  }
  return a.size() < b.size();
}

// --- KeyValueStore

const Bytes* KeyValueStore::get(ByteView key) const {
  auto it = entries_.find(key);
  return it == entries_.end() ? nullptr : &it->second;
}

void KeyValueStore::put(ByteView key, std::optional<ByteView> value, int64_t timestamp) {
  if (value) {
    auto it = entries_.find(key);
    if (it != entries_.end()) {
      it->second.assign(value->begin(), value->end());
    } else {
      entries_.emplace(copy(key), copy(*value));
    }
  } else {
    auto it = entries_.find(key);
    if (it != entries_.end()) entries_.erase(it);
  }
  log(key, value, timestamp);
}

void KeyValueStore::for_each(const std::function<void(ByteView key, ByteView value)>& fn) const {
  for (const auto& [k, v] : entries_) fn(k, v);
}

void KeyValueStore::restore(ByteView changelog_key, std::optional<ByteView> value) {
  if (value) {
    entries_.insert_or_assign(copy(changelog_key), copy(*value));
  } else {
    auto it = entries_.find(changelog_key);
    if (it != entries_.end()) entries_.erase(it);
  }
}

// --- WindowStore

WindowStore::WindowStore(std::string name, int64_t retention_ms, bool retain_duplicates)
    : StateStore(std::move(name)),
      retention_ms_(retention_ms),
      retain_duplicates_(retain_duplicates) {}

bool WindowStore::expired(int64_t window_start) const {
  return window_start < expiry_bound(observed_stream_time_, retention_ms_);
}

const Bytes* WindowStore::fetch(ByteView key, int64_t window_start) const {
  auto at = entries_.find(window_start);
  if (at == entries_.end()) return nullptr;
  auto it = at->second.find(key);
  if (it == at->second.end() || it->second.empty()) return nullptr;
  return &it->second.front().second;
}

void WindowStore::put(ByteView key, int64_t window_start, std::optional<ByteView> value,
                      int64_t timestamp) {
  if (expired(window_start)) return;
  if (!value) {
    std::vector<std::pair<uint32_t, Bytes>> removed;
    if (auto at = entries_.find(window_start); at != entries_.end()) {
      if (auto it = at->second.find(key); it != at->second.end()) {
        removed = std::move(it->second);
        at->second.erase(it);
        if (at->second.empty()) entries_.erase(at);
      }
    }
    if (retain_duplicates_) {
      for (const auto& [seq, v] : removed) {
        log(window_changelog_key(key, window_start, seq), std::nullopt, timestamp);
      }
    } else {
      // Logged even when absent here: the changelog may still hold it.
      log(window_changelog_key(key, window_start, std::nullopt), std::nullopt, timestamp);
    }
    return;
  }

  auto& by_key = entries_[window_start];
  auto it = by_key.find(key);
  if (it == by_key.end()) {
    it = by_key.emplace(copy(key), std::vector<std::pair<uint32_t, Bytes>>{}).first;
  }
  if (retain_duplicates_) {
    const uint32_t seq = next_seq_++;
    it->second.emplace_back(seq, copy(*value));
    log(window_changelog_key(key, window_start, seq), value, timestamp);
  } else {
    it->second.clear();
    it->second.emplace_back(0, copy(*value));
    log(window_changelog_key(key, window_start, std::nullopt), value, timestamp);
  }
}

void WindowStore::fetch_range(ByteView key, int64_t from, int64_t to,
                              const std::function<void(int64_t start, ByteView value)>& fn) const {
  if (from > to) return;
  for (auto at = entries_.lower_bound(from); at != entries_.end() && at->first <= to; ++at) {
    auto it = at->second.find(key);
    if (it == at->second.end()) continue;
    for (const auto& [seq, v] : it->second) fn(at->first, v);
  }
}

void WindowStore::fetch_all(
    int64_t from, int64_t to,
    const std::function<void(ByteView key, int64_t start, ByteView value)>& fn) const {
  if (from > to) return;
  for (auto at = entries_.lower_bound(from); at != entries_.end() && at->first <= to; ++at) {
    for (const auto& [k, values] : at->second) {
      for (const auto& [seq, v] : values) fn(k, at->first, v);
    }
  }
}

void WindowStore::expire(int64_t stream_time) {
  observed_stream_time_ = std::max(observed_stream_time_, stream_time);
  const int64_t bound = expiry_bound(observed_stream_time_, retention_ms_);
  entries_.erase(entries_.begin(), entries_.lower_bound(bound));
}

void WindowStore::restore(ByteView changelog_key, std::optional<ByteView> value) {
  const size_t suffix = retain_duplicates_ ? 12 : 8;
  if (changelog_key.size() < suffix) {
    ++malformed_restores_;
    return;
  }
  const size_t key_size = changelog_key.size() - suffix;
  const ByteView key = changelog_key.first(key_size);
  const int64_t start = read_i64(changelog_key.data() + key_size);
  const uint32_t seq =
      retain_duplicates_ ? load_be<uint32_t>(changelog_key.data() + key_size + 8) : 0;
  if (retain_duplicates_) next_seq_ = std::max(next_seq_, seq + 1);
  if (expired(start)) return;

  auto at = entries_.find(start);
  if (!value) {
    if (at == entries_.end()) return;
    auto it = at->second.find(key);
    if (it == at->second.end()) return;
    if (retain_duplicates_) {
      std::erase_if(it->second, [seq](const auto& e) { return e.first == seq; });
    } else {
      it->second.clear();
    }
    if (it->second.empty()) at->second.erase(it);
    if (at->second.empty()) entries_.erase(at);
    return;
  }
  auto& values = entries_[start][copy(key)];
  if (!retain_duplicates_) values.clear();
  // A seq seen again (a changelog restored twice, before compaction) replaces its entry.
  auto same =
      std::find_if(values.begin(), values.end(), [seq](const auto& e) { return e.first == seq; });
  if (same != values.end()) {
    same->second = copy(*value);
  } else {
    values.emplace_back(seq, copy(*value));
  }
}

size_t WindowStore::size() const {
  size_t n = 0;
  for (const auto& [start, by_key] : entries_) {
    for (const auto& [k, values] : by_key) n += values.size();
  }
  return n;
}

// --- SessionStore

SessionStore::SessionStore(std::string name, int64_t retention_ms)
    : StateStore(std::move(name)), retention_ms_(retention_ms) {}

std::vector<SessionStore::Session> SessionStore::find_sessions(ByteView key, int64_t earliest_end,
                                                               int64_t latest_start) const {
  std::vector<Session> out;
  auto it = entries_.find(key);
  if (it == entries_.end()) return out;
  for (const auto& [range, value] : it->second) {
    const auto [start, end] = range;
    if (start > latest_start) break;
    if (end < earliest_end) continue;
    out.push_back(Session{Window{start, end, true}, value});
  }
  return out;
}

void SessionStore::put(ByteView key, Window window, std::optional<ByteView> value,
                       int64_t timestamp) {
  const auto range = std::make_pair(window.start, window.end);
  if (value) {
    auto it = entries_.find(key);
    if (it == entries_.end()) it = entries_.emplace(copy(key), decltype(it->second){}).first;
    it->second.insert_or_assign(range, copy(*value));
    by_end_.emplace(window.end, it->first, window.start);
  } else {
    auto it = entries_.find(key);
    if (it != entries_.end() && it->second.erase(range) > 0) {
      by_end_.erase(std::make_tuple(window.end, it->first, window.start));
      if (it->second.empty()) entries_.erase(it);
    }
  }
  log(session_windowed_key(key, window), value, timestamp);
}

bool SessionStore::ByEndLess::operator()(const std::tuple<int64_t, Bytes, int64_t>& a,
                                         const std::tuple<int64_t, Bytes, int64_t>& b) const {
  if (std::get<0>(a) != std::get<0>(b)) return std::get<0>(a) < std::get<0>(b);
  BytesLess less;
  if (less(std::get<1>(a), std::get<1>(b))) return true;
  if (less(std::get<1>(b), std::get<1>(a))) return false;
  return std::get<2>(a) < std::get<2>(b);
}

void SessionStore::for_each_ending(
    int64_t from, int64_t to,
    const std::function<void(ByteView key, Window w, ByteView value)>& fn) const {
  if (from > to) return;
  for (auto it = by_end_.lower_bound(std::make_tuple(from, Bytes{}, INT64_MIN));
       it != by_end_.end() && std::get<0>(*it) <= to; ++it) {
    const auto& [end, key, start] = *it;
    const Bytes& value = entries_.find(key)->second.at({start, end});
    fn(key, Window{start, end, true}, value);
  }
}

void SessionStore::expire(int64_t stream_time) {
  const int64_t bound = expiry_bound(stream_time, retention_ms_);
  while (!by_end_.empty() && std::get<0>(*by_end_.begin()) < bound) {
    const auto& [end, key, start] = *by_end_.begin();
    auto it = entries_.find(key);
    it->second.erase(std::make_pair(start, end));
    if (it->second.empty()) entries_.erase(it);
    by_end_.erase(by_end_.begin());
  }
}

void SessionStore::restore(ByteView changelog_key, std::optional<ByteView> value) {
  if (changelog_key.size() < 16) {
    ++malformed_restores_;
    return;
  }
  const size_t key_size = changelog_key.size() - 16;
  const ByteView key = changelog_key.first(key_size);
  const int64_t end = read_i64(changelog_key.data() + key_size);
  const int64_t start = read_i64(changelog_key.data() + key_size + 8);
  const auto range = std::make_pair(start, end);
  if (value) {
    auto it = entries_.find(key);
    if (it == entries_.end()) it = entries_.emplace(copy(key), decltype(it->second){}).first;
    it->second.insert_or_assign(range, copy(*value));
    by_end_.emplace(end, it->first, start);
  } else {
    auto it = entries_.find(key);
    if (it != entries_.end() && it->second.erase(range) > 0) {
      by_end_.erase(std::make_tuple(end, it->first, start));
      if (it->second.empty()) entries_.erase(it);
    }
  }
}

size_t SessionStore::size() const { return by_end_.size(); }

}  // namespace kafkacore::streams
