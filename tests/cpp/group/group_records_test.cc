#include "group/group_records.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <initializer_list>
#include <msgpack.hpp>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace kafkacore::group {
namespace {

Bytes hex_bytes(std::initializer_list<int> values) {
  Bytes out;
  for (int v : values) out.push_back(static_cast<std::byte>(v));
  return out;
}

Bytes bytes_of(std::string_view s) {
  const auto v = as_bytes(s);
  return Bytes(v.begin(), v.end());
}

Bytes concat(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// Builds arbitrary msgpack, including shapes our encoders never produce.
class Pack {
 public:
  Pack() : pk_(sink_) {}
  Pack& array(uint32_t n) { return pk_.pack_array(n), *this; }
  Pack& map(uint32_t n) { return pk_.pack_map(n), *this; }
  Pack& i(int64_t v) { return pk_.pack_int64(v), *this; }
  Pack& u(uint64_t v) { return pk_.pack_uint64(v), *this; }
  // msgpack-c packs integral doubles as integers, so type tests need fractional values.
  Pack& f(double v) { return pk_.pack_double(v), *this; }
  Pack& b(bool v) { return (v ? pk_.pack_true() : pk_.pack_false()), *this; }
  Pack& nil() { return pk_.pack_nil(), *this; }
  Pack& s(std::string_view v) {
    pk_.pack_str(static_cast<uint32_t>(v.size()));
    pk_.pack_str_body(v.data(), static_cast<uint32_t>(v.size()));
    return *this;
  }
  Pack& bin(std::string_view v) {
    pk_.pack_bin(static_cast<uint32_t>(v.size()));
    pk_.pack_bin_body(v.data(), static_cast<uint32_t>(v.size()));
    return *this;
  }
  Bytes bytes() const { return sink_.out; }

 private:
  struct Sink {
    Bytes out;
    void write(const char* p, std::size_t n) {
      const auto* b = reinterpret_cast<const std::byte*>(p);
      out.insert(out.end(), b, b + n);
    }
  };
  Sink sink_;
  msgpack::packer<Sink> pk_;
};

template <typename T>
void expect_corrupt(const Result<T>& r, std::string_view needle) {
  ASSERT_FALSE(r.has_value()) << "expected a decode error mentioning '" << needle << "'";
  EXPECT_EQ(r.error().code(), Errc::corrupt_message);
  EXPECT_NE(r.error().message().find(needle), std::string::npos) << r.error().message();
}

MemberValue sample_member(int n) {
  MemberValue m;
  m.member_id = "consumer-" + std::to_string(n) + "-6f1c";
  if (n % 2 == 0) m.instance_id = "instance-" + std::to_string(n);
  m.client_id = "client-" + std::to_string(n);
  m.client_host = "/10.0.0." + std::to_string(n);
  m.rebalance_timeout_ms = 300000;
  m.session_timeout_ms = 45000;
  m.subscription = bytes_of("sub-" + std::to_string(n));
  m.assignment = bytes_of("assign-" + std::to_string(n));
  return m;
}

GroupValue sample_group() {
  GroupValue g;
  g.protocol_type = "consumer";
  g.generation = 7;
  g.protocol_name = "cooperative-sticky";
  g.leader = "consumer-0-6f1c";
  g.state_timestamp = 1700000000123;
  for (int i = 0; i < 3; ++i) g.members.push_back(sample_member(i));
  return g;
}

OffsetValue sample_offset() {
  OffsetValue v;
  v.offset = 42;
  v.leader_epoch = 3;
  v.metadata = "meta";
  v.commit_timestamp = 1700000000000;
  v.expire_timestamp = -1;
  return v;
}

// Every decoder over the same input: malformed bytes must give CORRUPT_MESSAGE from all of them.
void expect_all_decoders_safe(ByteView input) {
  auto k = decode_key(input);
  auto o = decode_offset_value(input);
  auto g = decode_group_value(input);
  if (!k) {
    EXPECT_EQ(k.error().code(), Errc::corrupt_message);
  }
  if (!o) {
    EXPECT_EQ(o.error().code(), Errc::corrupt_message);
  }
  if (!g) {
    EXPECT_EQ(g.error().code(), Errc::corrupt_message);
  }
}

// ---- round trips ----

TEST(GroupRecords, KeysRoundTrip) {
  const std::vector<RecordKey> keys = {
      OffsetKey{"group", "topic", 0},
      OffsetKey{"", "", -1},
      OffsetKey{"grüppe-😀", "topic.with-dots_1", INT32_MAX},
      OffsetKey{"消费组", "t", INT32_MIN},
      GroupKey{"group"},
      GroupKey{""},
      GroupKey{"🚀-Ω-é"},
      GroupKey{std::string(70000, 'g')},  // str32
  };
  for (const auto& key : keys) {
    auto decoded = decode_key(encode_key(key));
    ASSERT_TRUE(decoded) << decoded.error().to_string();
    EXPECT_EQ(*decoded, key);
  }
}

TEST(GroupRecords, OffsetValueRoundTrip) {
  std::vector<OffsetValue> values;
  values.push_back(OffsetValue{});
  values.push_back(sample_offset());
  OffsetValue null_metadata = sample_offset();
  null_metadata.metadata = std::nullopt;
  values.push_back(null_metadata);
  OffsetValue empty_metadata = sample_offset();
  empty_metadata.metadata = "";
  values.push_back(empty_metadata);
  values.push_back(OffsetValue{INT64_MAX, INT32_MAX, "métadonnées ✓ 😀", INT64_MAX, INT64_MAX});
  values.push_back(OffsetValue{INT64_MIN, INT32_MIN, std::string(100000, 'x'), INT64_MIN, 0});
  for (const auto& v : values) {
    auto decoded = decode_offset_value(encode_value(v));
    ASSERT_TRUE(decoded) << decoded.error().to_string();
    EXPECT_EQ(*decoded, v);
  }
  // Null and empty metadata must stay distinguishable on disk.
  EXPECT_NE(encode_value(null_metadata), encode_value(empty_metadata));
}

TEST(GroupRecords, GroupValueRoundTrip) {
  std::vector<GroupValue> values;
  values.push_back(GroupValue{});  // offsets-only group: "" protocol type, null protocol/leader
  values.push_back(sample_group());

  GroupValue edge = sample_group();
  edge.protocol_name = std::nullopt;
  edge.leader = std::nullopt;
  edge.generation = INT32_MAX;
  edge.state_timestamp = INT64_MIN;
  edge.members[0].instance_id = std::nullopt;
  edge.members[0].subscription.clear();
  edge.members[0].assignment.clear();
  edge.members[1].instance_id = "";
  edge.members[1].client_host = "ホスト";
  edge.members[1].rebalance_timeout_ms = INT32_MIN;
  edge.members[1].session_timeout_ms = -1;
  edge.members[2].assignment.assign(200000, std::byte{0xab});  // bin32
  edge.members[2].subscription.assign(300, std::byte{0});      // bin16
  values.push_back(edge);

  GroupValue many = sample_group();
  for (int i = 3; i < 1000; ++i) many.members.push_back(sample_member(i));
  values.push_back(many);

  for (const auto& v : values) {
    auto decoded = decode_group_value(encode_value(v));
    ASSERT_TRUE(decoded) << decoded.error().to_string();
    EXPECT_EQ(*decoded, v);
  }
}

// ---- golden bytes: the on-disk format must not drift ----

TEST(GroupRecords, OffsetKeyGoldenBytes) {
  const Bytes expected = hex_bytes({
      0x95,                           // fixarray, 5 elements
      0x01,                           // key schema version 1 (positive fixint)
      0x00,                           // kind 0: offset
      0xa3, 'g', 'r', 'p',            // fixstr "grp"
      0xa5, 't', 'o', 'p', 'i', 'c',  // fixstr "topic"
      0x07,                           // partition 7
  });
  EXPECT_EQ(encode_key(OffsetKey{"grp", "topic", 7}), expected);
  auto decoded = decode_key(expected);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(*decoded, RecordKey(OffsetKey{"grp", "topic", 7}));
}

TEST(GroupRecords, GroupKeyGoldenBytes) {
  const Bytes expected = hex_bytes({
      0x93,                 // fixarray, 3 elements
      0x01,                 // key schema version 1
      0x01,                 // kind 1: group
      0xa3, 'g', 'r', 'p',  // fixstr "grp"
  });
  EXPECT_EQ(encode_key(GroupKey{"grp"}), expected);
}

TEST(GroupRecords, OffsetValueGoldenBytes) {
  const Bytes expected = hex_bytes({
      0x96,                                                  // fixarray, 6 elements
      0x01,                                                  // value schema version 1
      0xcd, 0x04, 0xd2,                                      // uint16 1234 (offset)
      0xff,                                                  // negative fixint -1 (leader epoch)
      0xc0,                                                  // nil (metadata)
      0xcf, 0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00,  // uint64 1700000000000 = 0x18bcfe56800
      0xff,                                                  // -1 (expire timestamp)
  });
  const OffsetValue v{1234, -1, std::nullopt, 1700000000000, -1};
  EXPECT_EQ(encode_value(v), expected);
  auto decoded = decode_offset_value(expected);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(*decoded, v);
}

TEST(GroupRecords, GroupValueGoldenBytes) {
  const Bytes expected = hex_bytes({
      0x97,                                              // fixarray, 7 elements
      0x01,                                              // value schema version 1
      0xa8, 'c',  'o',  'n',  's',  'u', 'm', 'e', 'r',  // protocol type "consumer"
      0x03,                                              // generation 3
      0xa5, 'r',  'a',  'n',  'g',  'e',                 // protocol name "range"
      0xc0,                                              // leader: nil
      0x00,                                              // state timestamp 0
      0x91,                                              // members: fixarray, 1 element
      0x98,                                              //   member: fixarray, 8 elements
      0xa1, 'm',                                         //   member id "m"
      0xc0,                                              //   instance id: nil
      0xa1, 'c',                                         //   client id "c"
      0xa2, '/',  'h',                                   //   client host "/h"
      0xce, 0x00, 0x04, 0x93, 0xe0,                      //   uint32 300000 (rebalance timeout)
      0xcd, 0xaf, 0xc8,                                  //   uint16 45000 (session timeout)
      0xc4, 0x02, 0x01, 0x02,                            //   bin8, 2 bytes (subscription)
      0xc4, 0x00,                                        //   bin8, empty (assignment)
  });
  GroupValue v;
  v.protocol_type = "consumer";
  v.generation = 3;
  v.protocol_name = "range";
  v.state_timestamp = 0;
  v.members.push_back(
      MemberValue{"m", std::nullopt, "c", "/h", 300000, 45000, hex_bytes({0x01, 0x02}), {}});
  EXPECT_EQ(encode_value(v), expected);
  auto decoded = decode_group_value(expected);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(*decoded, v);
}

// ---- forward compatibility: a newer writer appends fields ----

TEST(GroupRecords, KeysAcceptTrailingFields) {
  Pack key;
  key.array(7).i(1).i(0).s("g").s("t").i(3);
  key.s("future").map(1).s("x").array(2).i(1).i(2);  // fields a newer version might add
  auto offset_key = decode_key(key.bytes());
  ASSERT_TRUE(offset_key) << offset_key.error().to_string();
  EXPECT_EQ(*offset_key, RecordKey(OffsetKey{"g", "t", 3}));

  auto group_key = decode_key(Pack().array(4).i(1).i(1).s("g").nil().bytes());
  ASSERT_TRUE(group_key) << group_key.error().to_string();
  EXPECT_EQ(*group_key, RecordKey(GroupKey{"g"}));
}

TEST(GroupRecords, ValuesAcceptTrailingFields) {
  auto offset = decode_offset_value(
      Pack().array(8).i(1).i(42).i(3).s("meta").i(1700000000000).i(-1).b(true).bin("x").bytes());
  ASSERT_TRUE(offset) << offset.error().to_string();
  EXPECT_EQ(*offset, sample_offset());

  // An extra field on the group and on a member, one of them nested a few levels deep.
  Pack value;
  value.array(8).i(1).s("consumer").i(2).s("range").s("m").i(5).array(1);
  value.array(9).s("m").nil().s("c").s("h").i(10).i(20).bin("s").bin("a").f(1.5);  // member
  value.array(1).array(1).array(1).map(0);  // the group's extra field
  auto group = decode_group_value(value.bytes());
  ASSERT_TRUE(group) << group.error().to_string();
  GroupValue want;
  want.protocol_type = "consumer";
  want.generation = 2;
  want.protocol_name = "range";
  want.leader = "m";
  want.state_timestamp = 5;
  want.members.push_back(
      MemberValue{"m", std::nullopt, "c", "h", 10, 20, bytes_of("s"), bytes_of("a")});
  EXPECT_EQ(*group, want);
}

// ---- rejection ----

TEST(GroupRecords, RejectsEveryTruncation) {
  const std::vector<Bytes> valid = {
      encode_key(OffsetKey{"group", "topic", 300}),
      encode_key(GroupKey{"group"}),
      encode_value(sample_offset()),
      encode_value(sample_group()),
  };
  for (const auto& full : valid) {
    for (std::size_t n = 0; n < full.size(); ++n) {
      const ByteView prefix(full.data(), n);
      SCOPED_TRACE("prefix of " + std::to_string(n) + "/" + std::to_string(full.size()));
      EXPECT_FALSE(decode_key(prefix));
      EXPECT_FALSE(decode_offset_value(prefix));
      EXPECT_FALSE(decode_group_value(prefix));
      expect_all_decoders_safe(prefix);
    }
  }
  expect_corrupt(decode_key({}), "is empty");
  const Bytes offset = encode_value(sample_offset());
  expect_corrupt(decode_offset_value(ByteView(offset.data(), offset.size() - 1)), "truncated");
}

TEST(GroupRecords, RejectsTrailingBytes) {
  const Bytes key = encode_key(GroupKey{"g"});
  expect_corrupt(decode_key(concat(key, hex_bytes({0x00}))), "1 trailing bytes");
  expect_corrupt(decode_key(concat(key, key)), "trailing bytes");
  const Bytes value = encode_value(sample_group());
  expect_corrupt(decode_group_value(concat(value, hex_bytes({0xc0, 0xc0}))), "2 trailing bytes");
  expect_corrupt(decode_offset_value(concat(encode_value(sample_offset()), hex_bytes({0xc1}))),
                 "trailing bytes");
}

TEST(GroupRecords, RejectsUnknownVersionsAndKinds) {
  expect_corrupt(decode_key(Pack().array(5).i(2).i(0).s("g").s("t").i(0).bytes()),
                 "unsupported key schema version 2");
  expect_corrupt(decode_key(Pack().array(3).i(0).i(1).s("g").bytes()),
                 "unsupported key schema version 0");
  expect_corrupt(decode_key(Pack().array(3).s("1").i(1).s("g").bytes()),
                 "field 'version' must be an integer, got string");
  expect_corrupt(decode_key(Pack().array(3).i(1).i(2).s("g").bytes()), "unknown key kind 2");
  expect_corrupt(decode_key(Pack().array(3).i(1).i(-1).s("g").bytes()), "unknown key kind -1");
  expect_corrupt(decode_key(Pack().array(3).i(1).s("group").s("g").bytes()),
                 "field 'kind' must be an integer");
  expect_corrupt(decode_offset_value(Pack().array(6).i(2).i(1).i(0).nil().i(0).i(-1).bytes()),
                 "unsupported value schema version 2");
  expect_corrupt(decode_offset_value(Pack().array(6).i(-1).i(1).i(0).nil().i(0).i(-1).bytes()),
                 "unsupported value schema version -1");
  expect_corrupt(
      decode_group_value(Pack().array(7).i(2).s("").i(0).nil().nil().i(0).array(0).bytes()),
      "unsupported value schema version 2");
}

TEST(GroupRecords, RejectsMissingFields) {
  expect_corrupt(decode_key(Pack().array(0).bytes()), "has 0 fields, expected at least 2");
  expect_corrupt(decode_key(Pack().array(1).i(1).bytes()), "has 1 fields, expected at least 2");
  expect_corrupt(decode_key(Pack().array(4).i(1).i(0).s("g").s("t").bytes()),
                 "has 4 fields, expected at least 5");
  expect_corrupt(decode_key(Pack().array(2).i(1).i(1).bytes()),
                 "has 2 fields, expected at least 3");
  expect_corrupt(decode_offset_value(Pack().array(5).i(1).i(1).i(0).nil().i(0).bytes()),
                 "has 5 fields, expected at least 6");
  expect_corrupt(decode_group_value(Pack().array(6).i(1).s("").i(0).nil().nil().i(0).bytes()),
                 "has 6 fields, expected at least 7");
  Pack short_member;
  short_member.array(7).i(1).s("consumer").i(1).nil().nil().i(0).array(1);
  short_member.array(7).s("m").nil().s("c").s("h").i(1).i(1).bin("");
  expect_corrupt(decode_group_value(short_member.bytes()),
                 "member 0: has 7 fields, expected at least 8");
}

TEST(GroupRecords, RejectsWrongTypes) {
  // Top level is not an array.
  expect_corrupt(decode_key(Pack().map(0).bytes()), "expected an array, got map");
  expect_corrupt(decode_offset_value(Pack().i(1).bytes()), "expected an array, got integer");
  expect_corrupt(decode_group_value(Pack().s("x").bytes()), "expected an array, got string");

  expect_corrupt(decode_key(Pack().array(5).i(1).i(0).bin("g").s("t").i(0).bytes()),
                 "field 'group' must be a string, got bin");
  expect_corrupt(decode_key(Pack().array(5).i(1).i(0).s("g").nil().i(0).bytes()),
                 "field 'topic' must be a string, got nil");
  expect_corrupt(decode_key(Pack().array(5).i(1).i(0).s("g").s("t").s("0").bytes()),
                 "field 'partition' must be an integer, got string");
  expect_corrupt(decode_key(Pack().array(5).i(1).i(0).s("g").s("t").i(int64_t{1} << 31).bytes()),
                 "field 'partition' is out of range");
  expect_corrupt(decode_key(Pack().array(3).i(1).i(1).i(7).bytes()),
                 "field 'group' must be a string, got integer");

  auto offset = [](auto&& mutate) {
    Pack p;
    p.array(6).i(1);
    mutate(p);
    return decode_offset_value(p.bytes());
  };
  expect_corrupt(offset([](Pack& p) { p.s("10").i(0).nil().i(0).i(-1); }),
                 "field 'offset' must be an integer, got string");
  expect_corrupt(offset([](Pack& p) { p.u(uint64_t{1} << 63).i(0).nil().i(0).i(-1); }),
                 "field 'offset' is out of range");
  expect_corrupt(offset([](Pack& p) { p.i(10).i(int64_t{1} << 31).nil().i(0).i(-1); }),
                 "field 'leader_epoch' is out of range");
  expect_corrupt(offset([](Pack& p) { p.i(10).i(-(int64_t{1} << 31) - 1).nil().i(0).i(-1); }),
                 "field 'leader_epoch' is out of range");
  expect_corrupt(offset([](Pack& p) { p.i(10).b(false).nil().i(0).i(-1); }),
                 "field 'leader_epoch' must be an integer, got boolean");
  expect_corrupt(offset([](Pack& p) { p.i(10).i(0).i(5).i(0).i(-1); }),
                 "field 'metadata' must be a string or nil, got integer");
  expect_corrupt(offset([](Pack& p) { p.i(10).i(0).bin("m").i(0).i(-1); }),
                 "field 'metadata' must be a string or nil, got bin");
  expect_corrupt(offset([](Pack& p) { p.i(10).i(0).nil().f(1.5).i(-1); }),
                 "field 'commit_timestamp' must be an integer, got float");
  expect_corrupt(offset([](Pack& p) { p.i(10).i(0).nil().i(0).nil(); }),
                 "field 'expire_timestamp' must be an integer, got nil");

  auto group = [](auto&& mutate) {
    Pack p;
    p.array(7).i(1);
    mutate(p);
    return decode_group_value(p.bytes());
  };
  auto member = [](Pack& p) { p.array(8).s("m").nil().s("c").s("h").i(1).i(2).bin("s").bin("a"); };
  expect_corrupt(group([](Pack& p) { p.nil().i(1).nil().nil().i(0).array(0); }),
                 "field 'protocol_type' must be a string, got nil");
  expect_corrupt(group([](Pack& p) { p.s("consumer").f(2.5).nil().nil().i(0).array(0); }),
                 "field 'generation' must be an integer, got float");
  expect_corrupt(group([](Pack& p) { p.s("consumer").i(1).i(0).nil().i(0).array(0); }),
                 "field 'protocol_name' must be a string or nil, got integer");
  expect_corrupt(group([](Pack& p) { p.s("consumer").i(1).nil().array(0).i(0).array(0); }),
                 "field 'leader' must be a string or nil, got array");
  expect_corrupt(group([](Pack& p) { p.s("consumer").i(1).nil().nil().s("0").array(0); }),
                 "field 'state_timestamp' must be an integer, got string");
  expect_corrupt(group([](Pack& p) { p.s("consumer").i(1).nil().nil().i(0).nil(); }),
                 "field 'members' must be an array, got nil");
  expect_corrupt(group([](Pack& p) { p.s("consumer").i(1).nil().nil().i(0).map(0); }),
                 "field 'members' must be an array, got map");
  expect_corrupt(group([](Pack& p) { p.s("consumer").i(1).nil().nil().i(0).array(1).i(5); }),
                 "member 0: expected an array, got integer");
  expect_corrupt(group([&](Pack& p) {
                   p.s("consumer").i(1).nil().nil().i(0).array(2);
                   member(p);
                   p.array(8).s("m").nil().s("c").s("h").i(1).i(2).s("s").bin("a");
                 }),
                 "member 1: field 'subscription' must be bin, got string");
  expect_corrupt(group([](Pack& p) {
                   p.s("consumer").i(1).nil().nil().i(0).array(1);
                   p.array(8).s("m").i(9).s("c").s("h").i(1).i(2).bin("s").bin("a");
                 }),
                 "member 0: field 'instance_id' must be a string or nil, got integer");
  expect_corrupt(
      group([](Pack& p) {
        p.s("consumer").i(1).nil().nil().i(0).array(1);
        p.array(8).s("m").nil().s("c").s("h").u(uint64_t{1} << 32).i(2).bin("s").bin("a");
      }),
      "member 0: field 'rebalance_timeout_ms' is out of range");
}

TEST(GroupRecords, RejectsHugeDeclaredSizesWithoutAllocating) {
  // array32 / map32 claiming 2^32-1 elements in 5 bytes: msgpack-c would reserve ~100 GB.
  expect_corrupt(decode_key(hex_bytes({0xdd, 0xff, 0xff, 0xff, 0xff})), "4294967295");
  expect_corrupt(decode_group_value(hex_bytes({0xdf, 0xff, 0xff, 0xff, 0xff})), "8589934590");
  // str32 / bin32 claiming 4 GiB.
  expect_corrupt(decode_key(hex_bytes({0xdb, 0xff, 0xff, 0xff, 0xff, 'a'})), "truncated");
  expect_corrupt(decode_offset_value(hex_bytes({0xc6, 0xff, 0xff, 0xff, 0xff})), "truncated");
  // Inside an otherwise valid value: the members array claims 2^32-1 members.
  const Bytes group_head = Pack().array(7).i(1).s("").i(0).nil().nil().i(0).bytes();
  expect_corrupt(decode_group_value(concat(group_head, hex_bytes({0xdd, 0xff, 0xff, 0xff, 0xff}))),
                 "container elements");
  // Ten nested array16 headers each claiming 26 elements: each alone fits the 30-byte input (so
  // a per-array limit would pass them), together they cannot.
  Bytes nested;
  for (int i = 0; i < 10; ++i) nested = concat(nested, hex_bytes({0xdc, 0x00, 0x1a}));
  expect_corrupt(decode_key(nested), "container elements");
}

TEST(GroupRecords, RejectsDeepNestingAndInvalidMsgpack) {
  Bytes deep = hex_bytes({0x96, 0x01, 0x0a, 0x00, 0xc0, 0x05});
  for (int i = 0; i < 20; ++i) deep.push_back(std::byte{0x91});  // fixarray of one element
  deep.push_back(std::byte{0xc0});
  expect_corrupt(decode_offset_value(deep), "deeper than 16");

  expect_corrupt(decode_key(hex_bytes({0xc1})), "not valid msgpack");  // never-used byte
  expect_corrupt(decode_offset_value(hex_bytes({0x96, 0x01, 0xc1, 0x00, 0xc0, 0x00, 0xff})),
                 "not valid msgpack");
}

TEST(GroupRecords, ArbitraryBytesNeverThrow) {
  // Every single-byte mutation of valid encodings, then random buffers: decoders either succeed
  // or report CORRUPT_MESSAGE (run under ASan to also catch out-of-bounds reads).
  const std::vector<Bytes> valid = {
      encode_key(OffsetKey{"group", "topic", 300}),
      encode_key(GroupKey{"group"}),
      encode_value(sample_offset()),
      encode_value(sample_group()),
  };
  for (const auto& original : valid) {
    for (std::size_t pos = 0; pos < original.size(); ++pos) {
      for (int b = 0; b < 256; ++b) {
        Bytes mutated = original;
        mutated[pos] = static_cast<std::byte>(b);
        expect_all_decoders_safe(mutated);
      }
    }
  }
  std::mt19937 rng(20240611);
  for (int i = 0; i < 20000; ++i) {
    Bytes buffer(rng() % 48);
    for (auto& b : buffer) b = static_cast<std::byte>(rng() % 8 == 0 ? 0x90 + rng() % 16 : rng());
    expect_all_decoders_safe(buffer);
  }
}

// ---- partition_for_group ----

// Expected values are Java's String.hashCode (h = 31*h + unit over UTF-16 code units, wrapping
// at 32 bits), computed with a Python reimplementation:
//   h = 0; for u in units: h = (31*h + u) & 0xffffffff;  then h -= 2**32 if h >= 2**31
// where units are s.encode('utf-16-be') split into 16-bit words, and for invalid UTF-8 each
// offending byte is one unit of its own value. Kafka then takes Utils.abs(h) % partitions
// (Math.abs, except Integer.MIN_VALUE -> 0). partitions = INT32_MAX exposes |h| itself.

TEST(PartitionForGroup, EmptyAndSingleCharacter) {
  EXPECT_EQ(partition_for_group("", 50), 0);
  EXPECT_EQ(partition_for_group("", 1), 0);
  for (int32_t n : {1, 7, 50, 97, 1000}) EXPECT_EQ(partition_for_group("a", n), 97 % n);
}

TEST(PartitionForGroup, AsciiGroups) {
  // "my-consumer-group".hashCode() == 1513705513 (positive).
  EXPECT_EQ(partition_for_group("my-consumer-group", INT32_MAX), 1513705513);
  EXPECT_EQ(partition_for_group("my-consumer-group", 50), 13);
  // "testgroup".hashCode() == -1172783827: Kafka puts it on partition 27 of 50 (the example
  // commonly quoted for Kafka's coordinator lookup); masking with 0x7fffffff would give 21.
  EXPECT_EQ(partition_for_group("testgroup", INT32_MAX), 1172783827);
  EXPECT_EQ(partition_for_group("testgroup", 50), 27);
  // "polygenelubricants".hashCode() == Integer.MIN_VALUE, which Utils.abs maps to 0.
  EXPECT_EQ(partition_for_group("polygenelubricants", 50), 0);
  EXPECT_EQ(partition_for_group("polygenelubricants", 7), 0);
}

TEST(PartitionForGroup, NonAsciiGroups) {
  // "grüppe-😀": units 67 72 FC 70 70 65 2D D83D DE00 (😀 = U+1F600 is a surrogate pair);
  // hashCode == -1039948164.
  EXPECT_EQ(partition_for_group("grüppe-😀", INT32_MAX), 1039948164);
  EXPECT_EQ(partition_for_group("grüppe-😀", 50), 14);
  // "消费组": units 6D88 8D39 7EC4; hashCode == 28099635.
  EXPECT_EQ(partition_for_group("消费组", INT32_MAX), 28099635);
  EXPECT_EQ(partition_for_group("消费组", 50), 35);
}

TEST(PartitionForGroup, InvalidUtf8BytesCountAsOneUnitEach) {
  EXPECT_EQ(partition_for_group("ab\xff"
                                "c",
                                INT32_MAX),
            2991909);                                                      // 61 62 FF 63
  EXPECT_EQ(partition_for_group("x\xe2\x82", INT32_MAX), 122456);          // truncated sequence
  EXPECT_EQ(partition_for_group("\xed\xa0\x80", INT32_MAX), 232845);       // encoded surrogate
  EXPECT_EQ(partition_for_group("\xc0\xaf", INT32_MAX), 6127);             // overlong '/'
  EXPECT_EQ(partition_for_group("\xf4\x90\x80\x80", INT32_MAX), 7411484);  // above U+10FFFF
}

TEST(PartitionForGroup, NonPositivePartitionCounts) {
  EXPECT_EQ(partition_for_group("testgroup", 0), 0);
  EXPECT_EQ(partition_for_group("testgroup", -5), 0);
}

}  // namespace
}  // namespace kafkacore::group
