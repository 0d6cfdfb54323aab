#include "metadata/records.h"

#include <msgpack.hpp>

#include <cstring>
#include <type_traits>

#include "common/msgpack_input.h"
#include "metadata/msgpack_fields.h"

namespace kafkacore::metadata {

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
  f("elr", r.elr);
  f("last_known_leader", r.last_known_leader);
}
template <typename F> void fields(PartitionChangeRecord& r, F&& f) {
  f("topic_id", r.topic_id);
  f("partition", r.partition);
  f("leader", r.leader);
  f("isr", r.isr);
  f("replicas", r.replicas);
  f("elr", r.elr);
  f("last_known_leader", r.last_known_leader);
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

namespace {

using namespace msgpack_fields;

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

Result<void> validate_topic_name(const std::string& name) {
  if (name.empty() || name.size() > 249) {
    return make_error(Errc::invalid_topic_exception,
                      "topic name must have 1 to 249 characters, got " + std::to_string(name.size()));
  }
  if (name == "." || name == "..") {
    return make_error(Errc::invalid_topic_exception, "topic name cannot be '.' or '..'");
  }
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) {
      return make_error(Errc::invalid_topic_exception,
                        "topic name '" + name + "' has characters other than [a-zA-Z0-9._-]");
    }
  }
  return {};
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
