#include "metadata/records.h"

#include <msgpack.hpp>

#include <cstring>
#include <type_traits>

#include "common/msgpack_input.h"

namespace kafkacore::metadata {
namespace {

// Each record lists its fields once; encoding and decoding both walk that list.
template <typename F> void fields(ClusterRecord& r, F&& f) { f("cluster_id", r.cluster_id); }
template <typename F> void fields(RegisterBrokerRecord& r, F&& f) {
  f("broker_id", r.broker_id);
  f("incarnation", r.incarnation);
  f("epoch", r.epoch);
  f("host", r.host);
  f("port", r.port);
  f("rack", r.rack);
}
template <typename F> void fields(FenceBrokerRecord& r, F&& f) {
  f("broker_id", r.broker_id);
  f("epoch", r.epoch);
}
template <typename F> void fields(UnfenceBrokerRecord& r, F&& f) {
  f("broker_id", r.broker_id);
  f("epoch", r.epoch);
}
template <typename F> void fields(TopicRecord& r, F&& f) {
  f("name", r.name);
  f("topic_id", r.topic_id);
}
template <typename F> void fields(PartitionRecord& r, F&& f) {
  f("topic_id", r.topic_id);
  f("partition", r.partition);
  f("replicas", r.replicas);
  f("isr", r.isr);
  f("leader", r.leader);
  f("leader_epoch", r.leader_epoch);
  f("partition_epoch", r.partition_epoch);
}
template <typename F> void fields(PartitionChangeRecord& r, F&& f) {
  f("topic_id", r.topic_id);
  f("partition", r.partition);
  f("leader", r.leader);
  f("isr", r.isr);
  f("replicas", r.replicas);
}
template <typename F> void fields(RemoveTopicRecord& r, F&& f) { f("topic_id", r.topic_id); }
template <typename F> void fields(ConfigRecord& r, F&& f) {
  f("resource", r.resource);
  f("resource_name", r.resource_name);
  f("key", r.key);
  f("value", r.value);
}
template <typename F> void fields(ProducerIdsRecord& r, F&& f) {
  f("broker_id", r.broker_id);
  f("start", r.start);
  f("size", r.size);
}

using Packer = msgpack::packer<msgpack::sbuffer>;

void pack_value(Packer& pk, const Uuid& v) {
  pk.pack_bin(16);
  pk.pack_bin_body(reinterpret_cast<const char*>(v.bytes.data()), 16);
}
void pack_value(Packer& pk, const std::string& v) { pk.pack(v); }
void pack_value(Packer& pk, ConfigResource v) { pk.pack(static_cast<int>(v)); }
template <typename T>
  requires std::is_arithmetic_v<T>
void pack_value(Packer& pk, T v) {
  pk.pack(v);
}
void pack_value(Packer& pk, const std::vector<int32_t>& v) { pk.pack(v); }
template <typename T>
void pack_value(Packer& pk, const std::optional<T>& v) {
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
void convert(const msgpack::object& o, std::string& out) {
  if (o.type != msgpack::type::STR) throw DecodeError{"expected a string"};
  out.assign(o.via.str.ptr, o.via.str.size);
}
void convert(const msgpack::object& o, Uuid& out) {
  if (o.type != msgpack::type::BIN || o.via.bin.size != 16) throw DecodeError{"expected a 16-byte id"};
  std::memcpy(out.bytes.data(), o.via.bin.ptr, 16);
}
void convert(const msgpack::object& o, ConfigResource& out) {
  int v = 0;
  convert(o, v);
  if (v != static_cast<int>(ConfigResource::topic) && v != static_cast<int>(ConfigResource::broker)) {
    throw DecodeError{"unknown config resource type"};
  }
  out = static_cast<ConfigResource>(v);
}
void convert(const msgpack::object& o, std::vector<int32_t>& out) {
  if (o.type != msgpack::type::ARRAY) throw DecodeError{"expected an array"};
  out.clear();
  for (uint32_t i = 0; i < o.via.array.size; ++i) convert(o.via.array.ptr[i], out.emplace_back());
}
template <typename T>
void convert(const msgpack::object& o, std::optional<T>& out) {
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

template <size_t I = 0>
MetadataRecord unpack_by_type(size_t type, const msgpack::object& map) {
  if constexpr (I < std::variant_size_v<MetadataRecord>) {
    if (type == I) return unpack_record<std::variant_alternative_t<I, MetadataRecord>>(map);
    return unpack_by_type<I + 1>(type, map);
  } else {
    throw DecodeError{"unknown record type " + std::to_string(type)};
  }
}

void pack_one(Packer& pk, const MetadataRecord& record) {
  pk.pack_array(2);
  pk.pack(static_cast<uint32_t>(record.index()));
  std::visit([&](const auto& r) { pack_record(pk, r); }, record);
}

MetadataRecord unpack_one(const msgpack::object& o) {
  if (o.type != msgpack::type::ARRAY || o.via.array.size < 2) {
    throw DecodeError{"a record is [type, fields]"};
  }
  uint32_t type = 0;
  convert(o.via.array.ptr[0], type);
  return unpack_by_type(type, o.via.array.ptr[1]);
}

// Decodes with the shared guards (bounded memory, one object, no exception escapes); the
// converters below report problems by throwing DecodeError.
template <typename Fn>
auto parse(ByteView bytes, Fn&& fn) -> Result<decltype(fn(std::declval<const msgpack::object&>()))> {
  using Out = decltype(fn(std::declval<const msgpack::object&>()));
  return msgpack_input::decode(bytes, "metadata record", [&](const msgpack::object& o) -> Result<Out> {
    try {
      return fn(o);
    } catch (const DecodeError& e) {
      return make_error(Errc::corrupt_message, "metadata record: " + e.message);
    }
  });
}

Bytes to_bytes(const msgpack::sbuffer& buffer) {
  const auto* p = reinterpret_cast<const std::byte*>(buffer.data());
  return Bytes(p, p + buffer.size());
}

}  // namespace

Bytes encode_record(const MetadataRecord& record) {
  msgpack::sbuffer buffer;
  Packer pk(buffer);
  pack_one(pk, record);
  return to_bytes(buffer);
}

Result<MetadataRecord> decode_record(ByteView bytes) {
  return parse(bytes, [](const msgpack::object& o) { return unpack_one(o); });
}

Bytes encode_records(const std::vector<MetadataRecord>& records) {
  msgpack::sbuffer buffer;
  Packer pk(buffer);
  pk.pack_array(static_cast<uint32_t>(records.size()));
  for (const auto& r : records) pack_one(pk, r);
  return to_bytes(buffer);
}

Result<std::vector<MetadataRecord>> decode_records(ByteView bytes) {
  return parse(bytes, [](const msgpack::object& o) {
    if (o.type != msgpack::type::ARRAY) throw DecodeError{"a record batch is an array"};
    std::vector<MetadataRecord> out;
    out.reserve(o.via.array.size);
    for (uint32_t i = 0; i < o.via.array.size; ++i) out.push_back(unpack_one(o.via.array.ptr[i]));
    return out;
  });
}

std::string record_name(const MetadataRecord& record) {
  static const char* names[] = {"Cluster",       "RegisterBroker",  "FenceBroker",
                                "UnfenceBroker", "Topic",           "Partition",
                                "PartitionChange", "RemoveTopic",   "Config",
                                "ProducerIds"};
  static_assert(std::size(names) == std::variant_size_v<MetadataRecord>);
  return names[record.index()];
}

}  // namespace kafkacore::metadata
