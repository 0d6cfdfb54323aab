#include "group/group_records.h"

#include <cstdint>
#include <exception>
#include <msgpack.hpp>
#include <span>
#include <string_view>
#include <utility>

#include "common/msgpack_input.h"

namespace kafkacore::group {
namespace {

constexpr int64_t kSchemaVersion = 1;
constexpr int64_t kKindOffset = 0;
constexpr int64_t kKindGroup = 1;
// Records nest three arrays deep (group value, members, member); the rest is room for fields
// added later. Bounds the parser's stacks, not our code: nothing here recurses.

// ---- encoding ----

// msgpack's packer only needs write(), so it can append to our Bytes without an sbuffer copy.
struct ByteSink {
  Bytes& out;
  void write(const char* data, std::size_t size) {
    const auto* p = reinterpret_cast<const std::byte*>(data);
    out.insert(out.end(), p, p + size);
  }
};
using Packer = msgpack::packer<ByteSink>;

// Kafka strings are at most 32767 bytes and byte fields at most 2 GiB, so uint32 sizes suffice.
void pack_string(Packer& pk, const std::string& s) {
  pk.pack_str(static_cast<uint32_t>(s.size()));
  pk.pack_str_body(s.data(), static_cast<uint32_t>(s.size()));
}

void pack_optional_string(Packer& pk, const std::optional<std::string>& s) {
  if (s) {
    pack_string(pk, *s);
  } else {
    pk.pack_nil();
  }
}

void pack_bytes(Packer& pk, const Bytes& b) {
  pk.pack_bin(static_cast<uint32_t>(b.size()));
  pk.pack_bin_body(reinterpret_cast<const char*>(b.data()), static_cast<uint32_t>(b.size()));
}

// ---- decoding ----

std::unexpected<Error> corrupt(std::string_view what, std::string_view detail) {
  std::string message(what);
  message += ": ";
  message += detail;
  return make_error(Errc::corrupt_message, std::move(message));
}

using msgpack_input::type_name;

// Parses `bytes` as exactly one msgpack object and hands it to `convert`; never throws.
template <typename T>
Result<T> decode_object(ByteView bytes, std::string_view what,
                        Result<T> (*convert)(const msgpack::object&)) {
  return msgpack_input::decode(bytes, std::string(what) + ":", convert);
}

// Reads the fields of one msgpack array. The first problem is kept and later reads return
// defaults, so decoders read straight through and check `ok()` once.
class FieldReader {
 public:
  FieldReader(const msgpack::object& o, std::string what, std::size_t min_fields)
      : what_(std::move(what)) {
    if (o.type != msgpack::type::ARRAY) {
      fail("expected an array, got " + std::string(type_name(o)));
    } else if (o.via.array.size < min_fields) {
      fail("has " + std::to_string(o.via.array.size) + " fields, expected at least " +
           std::to_string(min_fields));
    } else {
      fields_ = {o.via.array.ptr, o.via.array.size};
    }
  }

  bool ok() const { return !error_; }
  const Error& error() const { return *error_; }
  const std::string& what() const { return what_; }

  void expect_version(std::string_view schema) {
    const int64_t v = integer(0, "version", INT64_MIN, INT64_MAX);
    if (ok() && v != kSchemaVersion) {
      fail("unsupported " + std::string(schema) + " schema version " + std::to_string(v) +
           " (this broker reads version " + std::to_string(kSchemaVersion) + ")");
    }
  }

  int64_t i64(std::size_t i, std::string_view name) {
    return integer(i, name, INT64_MIN, INT64_MAX);
  }
  int32_t i32(std::size_t i, std::string_view name) {
    return static_cast<int32_t>(integer(i, name, INT32_MIN, INT32_MAX));
  }

  std::string str(std::size_t i, std::string_view name) {
    const auto* o = field(i, name, msgpack::type::STR, "a string");
    return o ? std::string(o->via.str.ptr, o->via.str.size) : std::string();
  }

  std::optional<std::string> optional_str(std::size_t i, std::string_view name) {
    if (const auto* o = at(i, name); o && o->type == msgpack::type::NIL) return std::nullopt;
    const auto* o = field(i, name, msgpack::type::STR, "a string or nil");
    if (!o) return std::nullopt;
    return std::string(o->via.str.ptr, o->via.str.size);
  }

  Bytes bin(std::size_t i, std::string_view name) {
    const auto* o = field(i, name, msgpack::type::BIN, "bin");
    if (!o) return {};
    const auto* p = reinterpret_cast<const std::byte*>(o->via.bin.ptr);
    return Bytes(p, p + o->via.bin.size);
  }

  std::span<const msgpack::object> array(std::size_t i, std::string_view name) {
    const auto* o = field(i, name, msgpack::type::ARRAY, "an array");
    if (!o) return {};
    return {o->via.array.ptr, o->via.array.size};
  }

  void fail(std::string_view detail) {
    if (!error_) error_ = corrupt(what_, detail).error();
  }
  void fail(const Error& error) {
    if (!error_) error_ = error;
  }

 private:
  const msgpack::object* at(std::size_t i, std::string_view name) {
    if (!ok()) return nullptr;
    if (i >= fields_.size()) {  // unreachable when min_fields covers i; kept as a bounds guard
      fail("missing field '" + std::string(name) + "'");
      return nullptr;
    }
    return &fields_[i];
  }

  const msgpack::object* field(std::size_t i, std::string_view name,
                               msgpack::type::object_type type, std::string_view expected) {
    const auto* o = at(i, name);
    if (!o) return nullptr;
    if (o->type != type) {
      fail("field '" + std::string(name) + "' must be " + std::string(expected) + ", got " +
           std::string(type_name(*o)));
      return nullptr;
    }
    return o;
  }

  int64_t integer(std::size_t i, std::string_view name, int64_t min, int64_t max) {
    const auto* o = at(i, name);
    if (!o) return 0;
    bool in_range = false;
    int64_t value = 0;
    if (o->type == msgpack::type::POSITIVE_INTEGER) {
      in_range = o->via.u64 <= static_cast<uint64_t>(max);
      value = static_cast<int64_t>(o->via.u64);
    } else if (o->type == msgpack::type::NEGATIVE_INTEGER) {
      in_range = o->via.i64 >= min;
      value = o->via.i64;
    } else {
      fail("field '" + std::string(name) + "' must be an integer, got " +
           std::string(type_name(*o)));
      return 0;
    }
    if (!in_range) {
      fail("field '" + std::string(name) + "' is out of range");
      return 0;
    }
    return value;
  }

  std::string what_;
  std::span<const msgpack::object> fields_;
  std::optional<Error> error_;
};

MemberValue read_member(const msgpack::object& o, FieldReader& group, std::size_t index) {
  FieldReader r(o, group.what() + " member " + std::to_string(index), 8);
  MemberValue m;
  m.member_id = r.str(0, "member_id");
  m.instance_id = r.optional_str(1, "instance_id");
  m.client_id = r.str(2, "client_id");
  m.client_host = r.str(3, "client_host");
  m.rebalance_timeout_ms = r.i32(4, "rebalance_timeout_ms");
  m.session_timeout_ms = r.i32(5, "session_timeout_ms");
  m.subscription = r.bin(6, "subscription");
  m.assignment = r.bin(7, "assignment");
  if (!r.ok()) group.fail(r.error());
  return m;
}

constexpr std::string_view kKeyWhat = "group record key";
constexpr std::string_view kOffsetWhat = "offset commit value";
constexpr std::string_view kGroupWhat = "group metadata value";

Result<RecordKey> read_key(const msgpack::object& o) {
  FieldReader head(o, std::string(kKeyWhat), 2);
  head.expect_version("key");
  const int64_t kind = head.i64(1, "kind");
  if (!head.ok()) return std::unexpected(head.error());
  if (kind == kKindOffset) {
    FieldReader r(o, std::string(kKeyWhat) + " (offset)", 5);
    OffsetKey key;
    key.group = r.str(2, "group");
    key.topic = r.str(3, "topic");
    key.partition = r.i32(4, "partition");
    if (!r.ok()) return std::unexpected(r.error());
    return key;
  }
  if (kind == kKindGroup) {
    FieldReader r(o, std::string(kKeyWhat) + " (group)", 3);
    GroupKey key;
    key.group = r.str(2, "group");
    if (!r.ok()) return std::unexpected(r.error());
    return key;
  }
  return corrupt(kKeyWhat, "unknown key kind " + std::to_string(kind));
}

Result<OffsetValue> read_offset_value(const msgpack::object& o) {
  FieldReader r(o, std::string(kOffsetWhat), 6);
  r.expect_version("value");
  OffsetValue v;
  v.offset = r.i64(1, "offset");
  v.leader_epoch = r.i32(2, "leader_epoch");
  v.metadata = r.optional_str(3, "metadata");
  v.commit_timestamp = r.i64(4, "commit_timestamp");
  v.expire_timestamp = r.i64(5, "expire_timestamp");
  if (!r.ok()) return std::unexpected(r.error());
  return v;
}

Result<GroupValue> read_group_value(const msgpack::object& o) {
  FieldReader r(o, std::string(kGroupWhat), 7);
  r.expect_version("value");
  GroupValue v;
  v.protocol_type = r.str(1, "protocol_type");
  v.generation = r.i32(2, "generation");
  v.protocol_name = r.optional_str(3, "protocol_name");
  v.leader = r.optional_str(4, "leader");
  v.state_timestamp = r.i64(5, "state_timestamp");
  const auto members = r.array(6, "members");
  v.members.reserve(members.size());  // bounded by the input size (SizeGuard)
  for (std::size_t i = 0; i < members.size() && r.ok(); ++i) {
    v.members.push_back(read_member(members[i], r, i));
  }
  if (!r.ok()) return std::unexpected(r.error());
  return v;
}

// ---- partition_for_group ----

// Decodes the well-formed UTF-8 sequence at s[i] (Unicode Table 3-7: no overlongs, surrogates
// or code points above U+10FFFF) into `cp`; returns its length, or 0 if it is not well formed.
std::size_t decode_utf8(std::string_view s, std::size_t i, char32_t& cp) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) {
    cp = b0;
    return 1;
  }
  std::size_t len = 0;
  unsigned char lo = 0x80;  // range of the second byte; later bytes are always 80..BF
  unsigned char hi = 0xBF;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2;
    cp = b0 & 0x1F;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3;
    cp = b0 & 0x0F;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4;
    cp = b0 & 0x07;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (s.size() - i < len) return 0;
  for (std::size_t k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if (b < (k == 1 ? lo : 0x80) || b > (k == 1 ? hi : 0xBF)) return 0;
    cp = (cp << 6) | (b & 0x3F);
  }
  return len;
}

}  // namespace

Bytes encode_key(const RecordKey& key) {
  Bytes out;
  ByteSink sink{out};
  Packer pk(sink);
  if (const auto* k = std::get_if<OffsetKey>(&key)) {
    pk.pack_array(5);
    pk.pack_int64(kSchemaVersion);
    pk.pack_int64(kKindOffset);
    pack_string(pk, k->group);
    pack_string(pk, k->topic);
    pk.pack_int32(k->partition);
  } else {
    const auto& g = std::get<GroupKey>(key);
    pk.pack_array(3);
    pk.pack_int64(kSchemaVersion);
    pk.pack_int64(kKindGroup);
    pack_string(pk, g.group);
  }
  return out;
}

Bytes encode_value(const OffsetValue& value) {
  Bytes out;
  ByteSink sink{out};
  Packer pk(sink);
  pk.pack_array(6);
  pk.pack_int64(kSchemaVersion);
  pk.pack_int64(value.offset);
  pk.pack_int32(value.leader_epoch);
  pack_optional_string(pk, value.metadata);
  pk.pack_int64(value.commit_timestamp);
  pk.pack_int64(value.expire_timestamp);
  return out;
}

Bytes encode_value(const GroupValue& value) {
  Bytes out;
  ByteSink sink{out};
  Packer pk(sink);
  pk.pack_array(7);
  pk.pack_int64(kSchemaVersion);
  pack_string(pk, value.protocol_type);
  pk.pack_int32(value.generation);
  pack_optional_string(pk, value.protocol_name);
  pack_optional_string(pk, value.leader);
  pk.pack_int64(value.state_timestamp);
  pk.pack_array(static_cast<uint32_t>(value.members.size()));
  for (const auto& m : value.members) {
    pk.pack_array(8);
    pack_string(pk, m.member_id);
    pack_optional_string(pk, m.instance_id);
    pack_string(pk, m.client_id);
    pack_string(pk, m.client_host);
    pk.pack_int32(m.rebalance_timeout_ms);
    pk.pack_int32(m.session_timeout_ms);
    pack_bytes(pk, m.subscription);
    pack_bytes(pk, m.assignment);
  }
  return out;
}

Result<RecordKey> decode_key(ByteView bytes) {
  return decode_object<RecordKey>(bytes, kKeyWhat, read_key);
}

Result<OffsetValue> decode_offset_value(ByteView bytes) {
  return decode_object<OffsetValue>(bytes, kOffsetWhat, read_offset_value);
}

Result<GroupValue> decode_group_value(ByteView bytes) {
  return decode_object<GroupValue>(bytes, kGroupWhat, read_group_value);
}

int32_t partition_for_group(const std::string& group_id, int32_t partitions) {
  if (partitions <= 0) return 0;  // no partitions to choose from; avoids dividing by zero
  uint32_t h = 0;                 // unsigned so that overflow wraps exactly like Java's int
  const auto add = [&h](uint32_t unit) { h = 31 * h + unit; };
  const std::string_view s = group_id;
  for (std::size_t i = 0; i < s.size();) {
    char32_t cp = 0;
    const std::size_t len = decode_utf8(s, i, cp);
    if (len == 0) {
      add(static_cast<unsigned char>(s[i]));
      ++i;
      continue;
    }
    if (cp >= 0x10000) {  // UTF-16 surrogate pair
      add(0xD800 + ((cp - 0x10000) >> 10));
      add(0xDC00 + ((cp - 0x10000) & 0x3FF));
    } else {
      add(cp);
    }
    i += len;
  }
  // Kafka's Utils.abs (Math.abs, but MIN_VALUE maps to 0), not `& 0x7fffffff`: the two disagree
  // for every negative hash ("testgroup" lands on 27 of 50 in Kafka, 21 with the mask).
  const auto hash = static_cast<int32_t>(h);
  const int32_t non_negative = hash == INT32_MIN ? 0 : (hash < 0 ? -hash : hash);
  return non_negative % partitions;
}

}  // namespace kafkacore::group
