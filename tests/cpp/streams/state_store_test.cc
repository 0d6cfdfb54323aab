#include "streams/state_store.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "streams/serde.h"
#include "test_context.h"

namespace kafkacore::streams {
namespace {

using testutil::b;
using testutil::RecordingChangelog;
using testutil::text;

std::optional<ByteView> v(const Bytes& bytes) { return ByteView(bytes); }

std::vector<std::pair<std::string, std::string>> kv_contents(const KeyValueStore& store) {
  std::vector<std::pair<std::string, std::string>> out;
  store.for_each([&](ByteView k, ByteView val) { out.emplace_back(text(k), text(val)); });
  return out;
}

using WindowRow = std::tuple<std::string, int64_t, std::string>;
std::vector<WindowRow> window_contents(const WindowStore& store) {
  std::vector<WindowRow> out;
  store.fetch_all(INT64_MIN, INT64_MAX, [&](ByteView k, int64_t start, ByteView val) {
    out.emplace_back(text(k), start, text(val));
  });
  return out;
}

using SessionRow = std::tuple<std::string, int64_t, int64_t, std::string>;
std::vector<SessionRow> session_contents(const SessionStore& store) {
  std::vector<SessionRow> out;
  store.for_each_ending(INT64_MIN, INT64_MAX, [&](ByteView k, Window w, ByteView val) {
    EXPECT_TRUE(w.session);
    out.emplace_back(text(k), w.start, w.end, text(val));
  });
  return out;
}

// --- KeyValueStore

TEST(KeyValueStoreTest, PutGetDeleteAndOrder) {
  KeyValueStore store("kv");
  EXPECT_EQ(store.kind(), StoreKind::key_value);
  EXPECT_EQ(store.get(b("a")), nullptr);
  store.put(b("b"), v(b("2")), 1);
  store.put(b("a"), v(b("1")), 2);
  Bytes high{std::byte{0xff}};
  store.put(high, v(b("hi")), 3);  // unsigned order: 0xff sorts last
  store.put(b("ab"), v(b("12")), 4);
  ASSERT_NE(store.get(b("a")), nullptr);
  EXPECT_EQ(*store.get(b("a")), b("1"));
  EXPECT_EQ(store.size(), 4u);
  EXPECT_EQ(kv_contents(store), (std::vector<std::pair<std::string, std::string>>{
                                    {"a", "1"}, {"ab", "12"}, {"b", "2"}, {"\xff", "hi"}}));
  store.put(b("a"), v(b("one")), 5);
  EXPECT_EQ(*store.get(b("a")), b("one"));
  store.put(b("a"), std::nullopt, 6);
  EXPECT_EQ(store.get(b("a")), nullptr);
  EXPECT_EQ(store.size(), 3u);
  store.put(b("absent"), std::nullopt, 7);  // deleting nothing is fine
  EXPECT_EQ(store.size(), 3u);
}

TEST(KeyValueStoreTest, ChangelogRoundTrip) {
  KeyValueStore store("kv");
  RecordingChangelog log;
  store.put(b("unlogged"), v(b("x")), 1);  // before a sink is attached: not logged
  store.set_changelog(&log);
  store.put(b("k1"), v(b("v1")), 10);
  store.put(b("k2"), v(b("v2")), 11);
  store.put(b("k1"), v(b("v1b")), 12);
  store.put(b("k2"), std::nullopt, 13);
  store.put(b(""), v(b("empty key")), 14);

  ASSERT_EQ(log.entries.size(), 5u);
  EXPECT_EQ(log.entries[0].key, b("k1"));  // KV changelog key = the key itself
  EXPECT_EQ(log.entries[0].value, b("v1"));
  EXPECT_EQ(log.entries[0].timestamp, 10);
  EXPECT_EQ(log.entries[3].key, b("k2"));
  EXPECT_FALSE(log.entries[3].value.has_value());
  EXPECT_EQ(log.entries[3].timestamp, 13);

  KeyValueStore restored("kv");
  RecordingChangelog relog;
  restored.set_changelog(&relog);
  log.restore_into(restored);
  EXPECT_TRUE(relog.entries.empty()) << "restore must not log";
  store.put(b("unlogged"), std::nullopt, 15);
  EXPECT_EQ(kv_contents(restored), kv_contents(store));
  EXPECT_EQ(restored.size(), 2u);
  EXPECT_EQ(restored.malformed_restores(), 0u);
}

// --- WindowStore

TEST(WindowStoreTest, PutFetchAndRanges) {
  WindowStore store("w", 1000, false);
  EXPECT_EQ(store.kind(), StoreKind::window);
  EXPECT_EQ(store.retention_ms(), 1000);
  store.put(b("a"), 0, v(b("a0")), 1);
  store.put(b("a"), 10, v(b("a10")), 11);
  store.put(b("b"), 10, v(b("b10")), 12);
  store.put(b("a"), 20, v(b("a20")), 21);
  store.put(b("a"), 10, v(b("a10'")), 13);  // replaces
  EXPECT_EQ(store.size(), 4u);
  ASSERT_NE(store.fetch(b("a"), 10), nullptr);
  EXPECT_EQ(*store.fetch(b("a"), 10), b("a10'"));
  EXPECT_EQ(store.fetch(b("a"), 5), nullptr);
  EXPECT_EQ(store.fetch(b("c"), 10), nullptr);

  std::vector<std::pair<int64_t, std::string>> got;
  store.fetch_range(b("a"), 5, 20,
                    [&](int64_t s, ByteView val) { got.emplace_back(s, text(val)); });
  EXPECT_EQ(got, (std::vector<std::pair<int64_t, std::string>>{{10, "a10'"}, {20, "a20"}}));
  got.clear();
  store.fetch_range(b("a"), 20, 5,
                    [&](int64_t s, ByteView val) { got.emplace_back(s, text(val)); });
  EXPECT_TRUE(got.empty());

  std::vector<WindowRow> all;
  store.fetch_all(
      0, 10, [&](ByteView k, int64_t s, ByteView val) { all.emplace_back(text(k), s, text(val)); });
  EXPECT_EQ(all, (std::vector<WindowRow>{{"a", 0, "a0"}, {"a", 10, "a10'"}, {"b", 10, "b10"}}));

  store.put(b("a"), 10, std::nullopt, 30);
  EXPECT_EQ(store.fetch(b("a"), 10), nullptr);
  EXPECT_EQ(store.size(), 3u);
}

TEST(WindowStoreTest, RetentionAndExpiry) {
  WindowStore store("w", 100, false);
  RecordingChangelog log;
  store.set_changelog(&log);
  store.put(b("k"), 0, v(b("0")), 0);
  store.put(b("k"), 50, v(b("50")), 50);
  store.put(b("k"), 100, v(b("100")), 100);
  store.put(b("j"), 49, v(b("49")), 100);
  EXPECT_EQ(store.size(), 4u);

  store.expire(150);  // drops starts < 50
  EXPECT_EQ(window_contents(store), (std::vector<WindowRow>{{"k", 50, "50"}, {"k", 100, "100"}}));
  const size_t logged = log.entries.size();
  EXPECT_EQ(logged, 4u) << "expiry is not logged";

  store.put(b("k"), 49, v(b("late")), 150);  // older than stream time - retention: ignored
  EXPECT_EQ(store.fetch(b("k"), 49), nullptr);
  EXPECT_EQ(log.entries.size(), logged);
  store.put(b("k"), 50, v(b("edge")), 150);  // exactly at the bound: kept
  EXPECT_EQ(*store.fetch(b("k"), 50), b("edge"));

  store.expire(120);  // stream time never goes back
  store.put(b("k"), 30, v(b("late")), 150);
  EXPECT_EQ(store.fetch(b("k"), 30), nullptr);

  store.expire(1000);
  EXPECT_EQ(store.size(), 0u);
}

TEST(WindowStoreTest, ExpiryNearInt64MinDoesNotOverflow) {
  WindowStore store("w", INT64_MAX, false);
  store.put(b("k"), INT64_MIN, v(b("x")), 0);
  store.expire(-5);
  EXPECT_EQ(store.size(), 1u);
}

TEST(WindowStoreTest, ChangelogRoundTrip) {
  WindowStore store("w", 1000, false);
  RecordingChangelog log;
  store.set_changelog(&log);
  store.put(b("a"), 0, v(b("1")), 5);
  store.put(b("b"), 0, v(b("2")), 6);
  store.put(b("a"), 100, v(b("3")), 105);
  store.put(b("a"), 0, v(b("1b")), 7);
  store.put(b("b"), 0, std::nullopt, 8);

  ASSERT_EQ(log.entries.size(), 5u);
  EXPECT_EQ(log.entries[2].key, time_windowed_key(b("a"), 100));
  EXPECT_EQ(log.entries[2].value, b("3"));
  EXPECT_EQ(log.entries[2].timestamp, 105);
  EXPECT_EQ(log.entries[4].key, time_windowed_key(b("b"), 0));
  EXPECT_FALSE(log.entries[4].value.has_value());

  WindowStore restored("w", 1000, false);
  log.restore_into(restored);
  EXPECT_EQ(window_contents(restored), window_contents(store));
  EXPECT_EQ(restored.size(), 2u);

  restored.restore(b("short"), v(b("x")));  // < 8 bytes
  restored.restore(Bytes{}, std::nullopt);
  EXPECT_EQ(restored.malformed_restores(), 2u);
  EXPECT_EQ(restored.size(), 2u);
}

TEST(WindowStoreTest, RetainDuplicatesKeepsEveryPutWithSequenceNumbers) {
  WindowStore store("join", 1000, true);
  RecordingChangelog log;
  store.set_changelog(&log);
  store.put(b("k"), 10, v(b("first")), 10);
  store.put(b("k"), 10, v(b("second")), 10);
  store.put(b("k"), 5, v(b("earlier")), 10);
  store.put(b("other"), 10, v(b("o")), 10);
  EXPECT_EQ(store.size(), 4u);
  EXPECT_EQ(*store.fetch(b("k"), 10), b("first"));

  std::vector<std::pair<int64_t, std::string>> got;
  store.fetch_range(b("k"), 0, 100,
                    [&](int64_t s, ByteView val) { got.emplace_back(s, text(val)); });
  EXPECT_EQ(got, (std::vector<std::pair<int64_t, std::string>>{
                     {5, "earlier"}, {10, "first"}, {10, "second"}}));

  // Changelog keys: key + 8-byte start + 4-byte seq, distinct per put.
  ASSERT_EQ(log.entries.size(), 4u);
  for (size_t i = 0; i < log.entries.size(); ++i) {
    const Bytes& key = log.entries[i].key;
    ASSERT_GE(key.size(), 12u);
    EXPECT_EQ(load_be<uint32_t>(key.data() + key.size() - 4), i);
  }
  Bytes expected = time_windowed_key(b("k"), 10);
  expected.insert(expected.end(), {std::byte{0}, std::byte{0}, std::byte{0}, std::byte{1}});
  EXPECT_EQ(log.entries[1].key, expected);

  WindowStore restored("join", 1000, true);
  log.restore_into(restored);
  EXPECT_EQ(window_contents(restored), window_contents(store));
  log.restore_into(restored);  // restoring the same records again adds nothing
  EXPECT_EQ(restored.size(), 4u);

  // A restored store continues after the highest sequence number it saw.
  RecordingChangelog relog;
  restored.set_changelog(&relog);
  restored.put(b("k"), 10, v(b("third")), 11);
  ASSERT_EQ(relog.entries.size(), 1u);
  EXPECT_EQ(load_be<uint32_t>(relog.entries[0].key.data() + relog.entries[0].key.size() - 4), 4u);

  // Deleting removes every duplicate, each with its own tombstone.
  store.put(b("k"), 10, std::nullopt, 12);
  EXPECT_EQ(store.fetch(b("k"), 10), nullptr);
  EXPECT_EQ(store.size(), 2u);
  ASSERT_EQ(log.entries.size(), 6u);
  EXPECT_EQ(log.entries[4].key, log.entries[0].key);
  EXPECT_EQ(log.entries[5].key, log.entries[1].key);
  EXPECT_FALSE(log.entries[5].value.has_value());

  WindowStore restored_after_delete("join", 1000, true);
  log.restore_into(restored_after_delete);
  EXPECT_EQ(window_contents(restored_after_delete), window_contents(store));

  WindowStore picky("join", 1000, true);
  picky.restore(time_windowed_key(b("k"), 1), v(b("no seq")));  // 9 bytes: needs 12
  picky.restore(b("12345678901"), v(b("x")));
  EXPECT_EQ(picky.malformed_restores(), 2u);
  picky.restore(Bytes(12, std::byte{0}), v(b("empty key")));
  EXPECT_EQ(picky.malformed_restores(), 2u);
  EXPECT_EQ(picky.size(), 1u);
}

// --- SessionStore

TEST(SessionStoreTest, FindSessions) {
  SessionStore store("s", 1000);
  EXPECT_EQ(store.kind(), StoreKind::session);
  store.put(b("k"), Window{0, 10, true}, v(b("s1")), 10);
  store.put(b("k"), Window{20, 30, true}, v(b("s2")), 30);
  store.put(b("k"), Window{50, 50, true}, v(b("s3")), 50);
  store.put(b("other"), Window{20, 30, true}, v(b("o")), 30);
  EXPECT_EQ(store.size(), 4u);

  auto names = [](const std::vector<SessionStore::Session>& sessions) {
    std::vector<std::string> out;
    for (const auto& s : sessions) out.push_back(text(s.value));
    return out;
  };
  // Sessions a record at t=15 with gap 5 touches: end >= 10, start <= 20 (inclusive ends).
  EXPECT_EQ(names(store.find_sessions(b("k"), 10, 20)), (std::vector<std::string>{"s1", "s2"}));
  EXPECT_EQ(names(store.find_sessions(b("k"), 11, 19)), (std::vector<std::string>{}));
  EXPECT_EQ(names(store.find_sessions(b("k"), 0, 100)),
            (std::vector<std::string>{"s1", "s2", "s3"}));
  EXPECT_EQ(names(store.find_sessions(b("k"), 50, 50)), (std::vector<std::string>{"s3"}));
  EXPECT_TRUE(store.find_sessions(b("missing"), 0, 100).empty());
  auto found = store.find_sessions(b("k"), 25, 25);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].window, (Window{20, 30, true}));

  store.put(b("k"), Window{20, 30, true}, std::nullopt, 40);
  EXPECT_EQ(names(store.find_sessions(b("k"), 0, 100)), (std::vector<std::string>{"s1", "s3"}));
  EXPECT_EQ(store.size(), 3u);
}

TEST(SessionStoreTest, ForEachEndingOrderAndExpiry) {
  SessionStore store("s", 100);
  store.put(b("b"), Window{0, 10, true}, v(b("b1")), 10);
  store.put(b("a"), Window{5, 10, true}, v(b("a1")), 10);
  store.put(b("a"), Window{20, 200, true}, v(b("a2")), 200);
  store.put(b("c"), Window{100, 150, true}, v(b("c1")), 150);
  EXPECT_EQ(
      session_contents(store),
      (std::vector<SessionRow>{
          {"a", 5, 10, "a1"}, {"b", 0, 10, "b1"}, {"c", 100, 150, "c1"}, {"a", 20, 200, "a2"}}));
  std::vector<SessionRow> mid;
  store.for_each_ending(11, 150, [&](ByteView k, Window w, ByteView val) {
    mid.emplace_back(text(k), w.start, w.end, text(val));
  });
  EXPECT_EQ(mid, (std::vector<SessionRow>{{"c", 100, 150, "c1"}}));

  store.expire(200);  // drops ends < 100
  EXPECT_EQ(session_contents(store),
            (std::vector<SessionRow>{{"c", 100, 150, "c1"}, {"a", 20, 200, "a2"}}));
  EXPECT_TRUE(store.find_sessions(b("b"), INT64_MIN, INT64_MAX).empty());
  store.expire(251);
  EXPECT_EQ(session_contents(store), (std::vector<SessionRow>{{"a", 20, 200, "a2"}}));
  EXPECT_EQ(store.size(), 1u);
}

TEST(SessionStoreTest, ChangelogRoundTrip) {
  SessionStore store("s", 1000);
  RecordingChangelog log;
  store.set_changelog(&log);
  store.put(b("k"), Window{0, 10, true}, v(b("1")), 10);
  store.put(b("k"), Window{15, 20, true}, v(b("2")), 20);
  // A merge: both old sessions removed, the merged one written.
  store.put(b("k"), Window{0, 10, true}, std::nullopt, 12);
  store.put(b("k"), Window{15, 20, true}, std::nullopt, 12);
  store.put(b("k"), Window{0, 20, true}, v(b("3")), 12);
  store.put(b("j"), Window{7, 7, true}, v(b("4")), 7);

  ASSERT_EQ(log.entries.size(), 6u);
  EXPECT_EQ(log.entries[0].key, session_windowed_key(b("k"), Window{0, 10, true}));
  const Bytes& key = log.entries[1].key;
  ASSERT_EQ(key.size(), 17u);
  EXPECT_EQ(load_be<int64_t>(key.data() + 1), 20);  // end
  EXPECT_EQ(load_be<int64_t>(key.data() + 9), 15);  // start
  EXPECT_FALSE(log.entries[2].value.has_value());

  SessionStore restored("s", 1000);
  RecordingChangelog relog;
  restored.set_changelog(&relog);
  log.restore_into(restored);
  EXPECT_TRUE(relog.entries.empty());
  EXPECT_EQ(session_contents(restored), session_contents(store));
  EXPECT_EQ(restored.size(), 2u);

  restored.restore(b("fifteen bytes!!"), v(b("x")));
  EXPECT_EQ(restored.malformed_restores(), 1u);
  restored.restore(Bytes(16, std::byte{0}), v(b("empty key")));  // 16 bytes: empty key
  EXPECT_EQ(restored.malformed_restores(), 1u);
  EXPECT_EQ(restored.size(), 3u);
}

}  // namespace
}  // namespace kafkacore::streams
