#include "raft/codec.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <climits>
#include <random>
#include <string>
#include <vector>

namespace kafkacore::raft {
namespace {

Bytes bytes(std::initializer_list<int> values) {
  Bytes out;
  for (int v : values) out.push_back(static_cast<std::byte>(v));
  return out;
}

Bytes text(const std::string& s) {
  const auto v = as_bytes(s);
  return Bytes(v.begin(), v.end());
}

// One message of every kind, with edge values (no node, zero and maximal terms, empty and
// large data, both booleans).
std::vector<Message> samples() {
  std::vector<Message> out;
  out.push_back({1, 2, VoteRequest{7, 100, 6, false}});
  out.push_back({3, 1, VoteRequest{INT64_MAX, 0, 0, true}});
  out.push_back({2, 1, VoteResponse{7, true, false}});
  out.push_back({2, 3, VoteResponse{0, false, true}});
  out.push_back({1, 2, AppendRequest{5, 9, 4, {}, 8}});
  out.push_back({1, 2,
                 AppendRequest{5, 9, 4,
                               {Entry{4, 10, text("first")}, Entry{5, 11, {}},
                                Entry{5, 12, Bytes(70000, std::byte{0xab})}},
                               11}});
  out.push_back({2, 1, AppendResponse{5, true, 12}});
  out.push_back({2, 1, ApplicationMessage{0, text("controller rpc")}});
  out.push_back({1, 3, ApplicationMessage{0, {}}});
  out.push_back({2, 1, AppendResponse{5, false, 0}});
  out.push_back({1, 3, SnapshotRequest{6, Snapshot{40, 5, text("state machine image")}}});
  out.push_back({1, 3, SnapshotRequest{6, Snapshot{1, 1, {}}}});
  out.push_back({3, 1, SnapshotResponse{6, 40}});
  out.push_back({kNoNode, INT32_MAX, SnapshotResponse{0, 0}});
  out.push_back({INT32_MIN, kNoNode, VoteResponse{1, true, true}});
  out.push_back({4, 1, ObserveRequest{3, 17}});
  out.push_back({4, 2, ObserveRequest{0, 0}});
  return out;
}

TEST(RaftCodec, RoundTripsEveryKind) {
  for (const Message& m : samples()) {
    const Bytes encoded = encode_message(m);
    auto decoded = decode_message(encoded);
    ASSERT_TRUE(decoded) << decoded.error().to_string();
    EXPECT_EQ(*decoded, m) << "kind " << m.payload.index();
  }
}

TEST(RaftCodec, GoldenBytes) {
  const Message m{1, 2, AppendRequest{5, 9, 4, {Entry{5, 10, text("ab")}}, 8}};
  // [version 1, kind 2 (append request), from 1, to 2, term 5, prev_index 9, prev_term 4,
  //  entries [[term 5, index 10, bin "ab"]], commit 8]
  const Bytes golden = bytes({0x99, 0x01, 0x02, 0x01, 0x02, 0x05, 0x09, 0x04, 0x91, 0x93, 0x05,
                              0x0a, 0xc4, 0x02, 0x61, 0x62, 0x08});
  EXPECT_EQ(encode_message(m), golden);
  auto decoded = decode_message(golden);
  ASSERT_TRUE(decoded) << decoded.error().to_string();
  EXPECT_EQ(*decoded, m);
}

TEST(RaftCodec, EveryTruncatedPrefixIsRejected) {
  for (const Message& m : samples()) {
    const Bytes encoded = encode_message(m);
    for (size_t n = 0; n < encoded.size(); ++n) {
      auto decoded = decode_message(ByteView(encoded).first(n));
      ASSERT_FALSE(decoded) << "prefix " << n << " of " << encoded.size();
      EXPECT_EQ(decoded.error().code(), Errc::corrupt_message);
    }
  }
}

TEST(RaftCodec, TrailingBytesAreRejected) {
  Bytes encoded = encode_message(samples()[0]);
  encoded.push_back(std::byte{0xc0});
  auto decoded = decode_message(encoded);
  ASSERT_FALSE(decoded);
  EXPECT_EQ(decoded.error().code(), Errc::corrupt_message);
  EXPECT_NE(decoded.error().message().find("trailing"), std::string::npos);
}

void expect_corrupt(const Bytes& input, const std::string& fragment) {
  auto decoded = decode_message(input);
  ASSERT_FALSE(decoded) << "accepted input expected to fail with '" << fragment << "'";
  EXPECT_EQ(decoded.error().code(), Errc::corrupt_message);
  EXPECT_NE(decoded.error().message().find(fragment), std::string::npos)
      << decoded.error().message();
}

TEST(RaftCodec, MalformedInputsAreRejected) {
  // Well-formed msgpack that is not a message.
  expect_corrupt(bytes({0xc0}), "must be an array");
  expect_corrupt(bytes({0x90}), "at least 2");
  expect_corrupt(bytes({0x91, 0x01}), "at least 2");
  // Unknown version and unknown kind.
  expect_corrupt(bytes({0x96, 0x02, 0x05, 0x01, 0x02, 0x07, 0x07}), "format version 2");
  expect_corrupt(bytes({0x96, 0x01, 0x08, 0x01, 0x02, 0x07, 0x07}), "unknown kind 8");
  expect_corrupt(bytes({0x96, 0x01, 0xff, 0x01, 0x02, 0x07, 0x07}), "unknown kind -1");
  expect_corrupt(bytes({0x96, 0x01, 0xa1, 0x35, 0x01, 0x02, 0x07, 0x07}), "'kind' must be an integer");
  // Snapshot response with a missing and an extra field.
  expect_corrupt(bytes({0x95, 0x01, 0x05, 0x01, 0x02, 0x07}), "has 5 fields, expected 6");
  expect_corrupt(bytes({0x97, 0x01, 0x05, 0x01, 0x02, 0x07, 0x07, 0x07}), "has 7 fields");
  // Wrong types: a string term, an integer where a boolean belongs, a string where bin belongs.
  expect_corrupt(bytes({0x96, 0x01, 0x05, 0x01, 0x02, 0xa1, 0x37, 0x07}), "'term' must be an integer");
  expect_corrupt(bytes({0x97, 0x01, 0x03, 0x01, 0x02, 0x07, 0x01, 0x07}), "'success' must be a boolean");
  expect_corrupt(bytes({0x98, 0x01, 0x04, 0x01, 0x02, 0x07, 0x03, 0x02, 0xa1, 0x61}), "'data' must be bin");
  expect_corrupt(bytes({0x96, 0x01, 0x05, 0x01, 0x02, 0xcb, 0, 0, 0, 0, 0, 0, 0, 0, 0x07}),
                 "must be an integer, got float");
  // Out of range: negative term, a node id beyond int32, an index beyond int64.
  expect_corrupt(bytes({0x96, 0x01, 0x05, 0x01, 0x02, 0xff, 0x07}), "'term' is out of range");
  expect_corrupt(bytes({0x96, 0x01, 0x05, 0xce, 0x80, 0, 0, 0, 0x02, 0x07, 0x07}), "'from' is out of range");
  expect_corrupt(bytes({0x96, 0x01, 0x05, 0x01, 0x02, 0x07, 0xcf, 0x80, 0, 0, 0, 0, 0, 0, 0}),
                 "'last_index' is out of range");
  // Append request entries: not an array, a short entry, an entry that does not follow prev_index.
  expect_corrupt(bytes({0x99, 0x01, 0x02, 0x01, 0x02, 0x05, 0x09, 0x04, 0xc0, 0x08}), "'entries' must be an array");
  expect_corrupt(bytes({0x99, 0x01, 0x02, 0x01, 0x02, 0x05, 0x09, 0x04, 0x91, 0x92, 0x05, 0x0a, 0x08}),
                 "entry 0 has 2 fields");
  expect_corrupt(bytes({0x99, 0x01, 0x02, 0x01, 0x02, 0x05, 0x09, 0x04, 0x91, 0x93, 0x05, 0x0b, 0xc4,
                        0x00, 0x08}),
                 "entry 0 has index 11");
  expect_corrupt(bytes({0x99, 0x01, 0x02, 0x01, 0x02, 0x05, 0x09, 0x04, 0x92, 0x93, 0x05, 0x0a, 0xc4,
                        0x00, 0x93, 0x05, 0x0a, 0xc4, 0x00, 0x08}),
                 "entry 1 has index 10");
  // Not msgpack at all (0xc1 is never used).
  expect_corrupt(bytes({0xc1}), "not valid msgpack");
  expect_corrupt({}, "empty");
}

TEST(RaftCodec, HugeDeclaredSizesAllocateNothing) {
  // An array of 2^32-1 elements, a map of as many pairs, a 4 GiB bin and a 4 GiB entry list:
  // each is rejected from its header, long before anything that size could be reserved.
  expect_corrupt(bytes({0xdd, 0xff, 0xff, 0xff, 0xff, 0x01, 0x02}), "container elements");
  expect_corrupt(bytes({0xdf, 0xff, 0xff, 0xff, 0xff, 0x01, 0x02}), "container elements");
  expect_corrupt(bytes({0x98, 0x01, 0x04, 0x01, 0x02, 0x07, 0x03, 0x02, 0xc6, 0xff, 0xff, 0xff, 0xff}),
                 "truncated");
  expect_corrupt(bytes({0x99, 0x01, 0x02, 0x01, 0x02, 0x05, 0x09, 0x04, 0xdd, 0xff, 0xff, 0xff, 0xff,
                        0x08}),
                 "container elements");
  // Deep nesting is bounded too.
  Bytes deep(10000, std::byte{0x91});
  deep.push_back(std::byte{0x01});
  expect_corrupt(deep, "deeper");
}

TEST(RaftCodec, RandomDamageNeverThrowsAndIsEitherValidOrCorrupt) {
  std::mt19937_64 rng(42);
  const auto all = samples();
  for (int round = 0; round < 20000; ++round) {
    Bytes b = encode_message(all[rng() % all.size()]);
    if (b.size() > 200) b.resize(200);
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int i = 0; i < flips; ++i) b[rng() % b.size()] = static_cast<std::byte>(rng());
    auto decoded = decode_message(b);
    if (!decoded) {
      EXPECT_EQ(decoded.error().code(), Errc::corrupt_message);
    } else {
      // What decodes must survive its own round trip.
      auto again = decode_message(encode_message(*decoded));
      ASSERT_TRUE(again);
      EXPECT_EQ(*again, *decoded);
    }
  }
}

TEST(RaftFrames, CutsFramesFromAStreamInAnyChunking) {
  const auto all = samples();
  Bytes stream;
  for (const Message& m : all) ASSERT_TRUE(append_frame(stream, m));
  // Feed the stream through a buffer that receives it in chunks of every size from 1 up.
  for (size_t chunk : {size_t{1}, size_t{3}, size_t{7}, size_t{64}, size_t{4096}, stream.size()}) {
    Bytes buffer;
    std::vector<Message> got;
    for (size_t at = 0; at < stream.size(); at += chunk) {
      const size_t n = std::min(chunk, stream.size() - at);
      buffer.insert(buffer.end(), stream.begin() + static_cast<std::ptrdiff_t>(at),
                    stream.begin() + static_cast<std::ptrdiff_t>(at + n));
      for (;;) {
        auto frame = cut_frame(buffer);
        ASSERT_TRUE(frame) << frame.error().to_string();
        if (!*frame) break;
        auto m = decode_message((*frame)->message);
        ASSERT_TRUE(m) << m.error().to_string();
        got.push_back(std::move(*m));
        buffer.erase(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>((*frame)->size));
      }
    }
    EXPECT_TRUE(buffer.empty());
    EXPECT_EQ(got, all) << "chunk " << chunk;
  }
}

TEST(RaftFrames, HeaderIsBigEndianLength) {
  Bytes out = bytes({0xee});  // frames append after what is already there
  const Message m{1, 2, VoteRequest{7, 100, 6, false}};
  ASSERT_TRUE(append_frame(out, m));
  const Bytes body = encode_message(m);
  ASSERT_EQ(out.size(), 1 + 4 + body.size());
  EXPECT_EQ(out[0], std::byte{0xee});
  EXPECT_EQ(load_be<uint32_t>(out.data() + 1), body.size());
  EXPECT_TRUE(std::equal(body.begin(), body.end(), out.begin() + 5));
}

TEST(RaftFrames, OversizedFramesAreErrorsNotAllocations) {
  // A header declaring 4 GiB is refused on its own: nothing waits for (or buffers) the body.
  auto r = cut_frame(bytes({0xff, 0xff, 0xff, 0xff}), 1 << 20);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Errc::message_too_large);
  // Exactly at the limit is fine; one more is not.
  Bytes frame = bytes({0, 0, 0, 3, 1, 2, 3});
  auto at_limit = cut_frame(frame, 3);
  ASSERT_TRUE(at_limit);
  ASSERT_TRUE(*at_limit);
  EXPECT_EQ((*at_limit)->size, 7u);
  EXPECT_EQ((*at_limit)->message.size(), 3u);
  EXPECT_FALSE(cut_frame(frame, 2));
  // Incomplete header or body: wait for more.
  for (size_t n = 0; n < frame.size(); ++n) {
    auto partial = cut_frame(ByteView(frame).first(n), 3);
    ASSERT_TRUE(partial);
    EXPECT_FALSE(*partial) << n;
  }
  // The sender learns it before sending, and its buffer is left as it was.
  Bytes out = bytes({1, 2});
  const Message big{1, 2, SnapshotRequest{1, Snapshot{5, 1, Bytes(2000)}}};
  auto sent = append_frame(out, big, 1000);
  ASSERT_FALSE(sent);
  EXPECT_EQ(sent.error().code(), Errc::message_too_large);
  EXPECT_EQ(out, bytes({1, 2}));
}

}  // namespace
}  // namespace kafkacore::raft
