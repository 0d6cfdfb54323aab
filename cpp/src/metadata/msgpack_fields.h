#pragma once
// Msgpack encoding of plain structs that list their fields once, in a `fields(T&, F&&)` overload
// found by argument-dependent lookup (in the struct's namespace): a map of field name to value,
// so later versions can add fields (unknown ones are ignored, missing ones keep defaults).
// Decoders throw DecodeError; callers wrap them with msgpack_input::decode.
#include <msgpack.hpp>

#include <cstdint>
#include <cstring>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "common/uuid.h"
#include "metadata/records.h"

namespace kafkacore::metadata::msgpack_fields {

using Packer = msgpack::packer<msgpack::sbuffer>;

inline void pack_value(Packer& pk, const Uuid& v) {
  pk.pack_bin(16);
  pk.pack_bin_body(reinterpret_cast<const char*>(v.bytes.data()), 16);
}
inline void pack_value(Packer& pk, const std::string& v) { pk.pack(v); }
inline void pack_value(Packer& pk, ConfigResource v) { pk.pack(static_cast<int>(v)); }
template <typename T>
  requires std::is_arithmetic_v<T>
void pack_value(Packer& pk, T v) {
  pk.pack(v);
}
inline void pack_value(Packer& pk, const std::vector<int32_t>& v) { pk.pack(v); }
inline void pack_value(Packer& pk, const std::map<std::string, std::string>& v) { pk.pack(v); }
inline void pack_value(Packer& pk, const std::vector<std::vector<int32_t>>& v) { pk.pack(v); }
inline void pack_value(Packer& pk, const std::map<std::string, std::optional<std::string>>& v) {
  pk.pack_map(static_cast<uint32_t>(v.size()));
  for (const auto& [key, value] : v) {
    pk.pack(key);
    if (value) {
      pk.pack(*value);
    } else {
      pk.pack_nil();
    }
  }
}
template <typename T>
inline void pack_value(Packer& pk, const std::optional<T>& v) {
  if (v) {
    pack_value(pk, *v);
  } else {
    pk.pack_nil();
  }
}

struct DecodeError {
  std::string message;
};

template <typename T>
  requires std::is_integral_v<T> && (!std::is_same_v<T, bool>)
void convert(const msgpack::object& o, T& out) {
  if (o.type == msgpack::type::POSITIVE_INTEGER) {
    if (o.via.u64 > static_cast<uint64_t>(std::numeric_limits<T>::max())) throw DecodeError{"integer out of range"};
    out = static_cast<T>(o.via.u64);
  } else if (o.type == msgpack::type::NEGATIVE_INTEGER) {
    if (o.via.i64 < static_cast<int64_t>(std::numeric_limits<T>::min())) throw DecodeError{"integer out of range"};
    out = static_cast<T>(o.via.i64);
  } else {
    throw DecodeError{"expected an integer"};
  }
}
inline void convert(const msgpack::object& o, std::string& out) {
  if (o.type != msgpack::type::STR) throw DecodeError{"expected a string"};
  out.assign(o.via.str.ptr, o.via.str.size);
}
inline void convert(const msgpack::object& o, Uuid& out) {
  if (o.type != msgpack::type::BIN || o.via.bin.size != 16) throw DecodeError{"expected a 16-byte id"};
  std::memcpy(out.bytes.data(), o.via.bin.ptr, 16);
}
inline void convert(const msgpack::object& o, ConfigResource& out) {
  int v = 0;
  convert(o, v);
  if (v != static_cast<int>(ConfigResource::topic) && v != static_cast<int>(ConfigResource::broker)) {
    throw DecodeError{"unknown config resource type"};
  }
  out = static_cast<ConfigResource>(v);
}
inline void convert(const msgpack::object& o, std::vector<int32_t>& out) {
  if (o.type != msgpack::type::ARRAY) throw DecodeError{"expected an array"};
  out.clear();
  for (uint32_t i = 0; i < o.via.array.size; ++i) convert(o.via.array.ptr[i], out.emplace_back());
}
inline void convert(const msgpack::object& o, std::vector<std::vector<int32_t>>& out) {
  if (o.type != msgpack::type::ARRAY) throw DecodeError{"expected an array"};
  out.clear();
  for (uint32_t i = 0; i < o.via.array.size; ++i) convert(o.via.array.ptr[i], out.emplace_back());
}
inline void convert(const msgpack::object& o, bool& out) {
  if (o.type != msgpack::type::BOOLEAN) throw DecodeError{"expected a boolean"};
  out = o.via.boolean;
}
inline void convert(const msgpack::object& o, std::map<std::string, std::optional<std::string>>& out) {
  if (o.type != msgpack::type::MAP) throw DecodeError{"expected a map"};
  out.clear();
  for (uint32_t i = 0; i < o.via.map.size; ++i) {
    std::string key;
    convert(o.via.map.ptr[i].key, key);
    auto& value = out[key];
    if (o.via.map.ptr[i].val.type != msgpack::type::NIL) convert(o.via.map.ptr[i].val, value.emplace());
  }
}
inline void convert(const msgpack::object& o, std::map<std::string, std::string>& out) {
  if (o.type != msgpack::type::MAP) throw DecodeError{"expected a map"};
  out.clear();
  for (uint32_t i = 0; i < o.via.map.size; ++i) {
    std::string key;
    convert(o.via.map.ptr[i].key, key);
    convert(o.via.map.ptr[i].val, out[key]);
  }
}
template <typename T>
inline void convert(const msgpack::object& o, std::optional<T>& out) {
  if (o.type == msgpack::type::NIL) {
    out.reset();
    return;
  }
  convert(o, out.emplace());
}

template <typename R>
void pack_record(Packer& pk, const R& record) {
  R copy = record;  // fields() takes a mutable reference (shared with decoding)
  uint32_t count = 0;
  fields(copy, [&](const char*, auto&) { ++count; });
  pk.pack_map(count);
  fields(copy, [&](const char* name, auto& value) {
    pk.pack(std::string_view(name));
    pack_value(pk, value);
  });
}

template <typename R>
R unpack_record(const msgpack::object& map) {
  if (map.type != msgpack::type::MAP) throw DecodeError{"record fields must be a map"};
  R out;
  for (uint32_t i = 0; i < map.via.map.size; ++i) {
    const auto& kv = map.via.map.ptr[i];
    if (kv.key.type != msgpack::type::STR) throw DecodeError{"field names must be strings"};
    const std::string_view key(kv.key.via.str.ptr, kv.key.via.str.size);
    fields(out, [&](const char* name, auto& value) {
      if (key == name) {
        try {
          convert(kv.val, value);
        } catch (const DecodeError& e) {
          throw DecodeError{"field '" + std::string(name) + "': " + e.message};
        }
      }
    });
  }
  return out;
}


}  // namespace kafkacore::metadata::msgpack_fields
