#include "metadata/controller_rpc.h"

#include "common/msgpack_input.h"
#include "metadata/msgpack_fields.h"

namespace kafkacore::metadata {

template <typename F> void fields(RegisterBrokerRequest& r, F&& f) {
  f("broker_id", r.broker_id);
  f("incarnation", r.incarnation);
  f("host", r.host);
  f("port", r.port);
  f("rack", r.rack);
  f("clean_shutdown", r.clean_shutdown);
}
template <typename F> void fields(BrokerHeartbeatRequest& r, F&& f) {
  f("broker_id", r.broker_id);
  f("epoch", r.epoch);
  f("metadata_offset", r.metadata_offset);
}
template <typename F> void fields(AlterPartitionRequest& r, F&& f) {
  f("topic_id", r.topic_id);
  f("partition", r.partition);
  f("leader", r.leader);
  f("leader_epoch", r.leader_epoch);
  f("partition_epoch", r.partition_epoch);
  f("isr", r.isr);
}
template <typename F> void fields(CreateTopicRequest& r, F&& f) {
  f("name", r.name);
  f("partitions", r.partitions);
  f("replication_factor", r.replication_factor);
  f("configs", r.configs);
  f("validate_only", r.validate_only);
  f("assignment", r.assignment);
}
template <typename F> void fields(DeleteTopicRequest& r, F&& f) { f("name", r.name); }
template <typename F> void fields(CreatePartitionsRequest& r, F&& f) {
  f("name", r.name);
  f("count", r.count);
  f("validate_only", r.validate_only);
}
template <typename F> void fields(AlterConfigsRequest& r, F&& f) {
  f("resource", r.resource);
  f("name", r.name);
  f("changes", r.changes);
  f("validate_only", r.validate_only);
}
template <typename F> void fields(AllocateProducerIdsRequest& r, F&& f) { f("broker_id", r.broker_id); }
template <typename F> void fields(ElectPreferredLeaderRequest& r, F&& f) {
  f("topic", r.topic);
  f("partition", r.partition);
}
template <typename F> void fields(ElectUncleanLeaderRequest& r, F&& f) {
  f("topic", r.topic);
  f("partition", r.partition);
}
template <typename F> void fields(ControllerResponse& r, F&& f) {
  f("error_code", r.error_code);
  f("error_message", r.error_message);
  f("offset", r.offset);
  f("epoch", r.epoch);
  f("fenced", r.fenced);
  f("producer_id_start", r.producer_id_start);
  f("producer_id_count", r.producer_id_count);
}

namespace {

using namespace msgpack_fields;

constexpr int64_t kRpcVersion = 1;
constexpr int64_t kResponseType = -1;

template <size_t I = 0>
ControllerRequest unpack_request(int64_t type, const msgpack::object& map) {
  if constexpr (I < std::variant_size_v<ControllerRequest>) {
    if (type == static_cast<int64_t>(I)) {
      return unpack_record<std::variant_alternative_t<I, ControllerRequest>>(map);
    }
    return unpack_request<I + 1>(type, map);
  } else {
    throw DecodeError{"unknown request type " + std::to_string(type)};
  }
}

}  // namespace

Bytes encode_rpc(const ControllerRpc& rpc) {
  msgpack::sbuffer buffer;
  Packer pk(buffer);
  pk.pack_array(4);
  pk.pack(kRpcVersion);
  pk.pack(rpc.id);
  if (const auto* request = std::get_if<ControllerRequest>(&rpc.body)) {
    pk.pack(static_cast<int64_t>(request->index()));
    std::visit([&](const auto& r) { pack_record(pk, r); }, *request);
  } else {
    pk.pack(kResponseType);
    pack_record(pk, std::get<ControllerResponse>(rpc.body));
  }
  const auto* p = reinterpret_cast<const std::byte*>(buffer.data());
  return Bytes(p, p + buffer.size());
}

Result<ControllerRpc> decode_rpc(ByteView bytes) {
  return msgpack_input::decode(bytes, "controller rpc", [](const msgpack::object& o) -> Result<ControllerRpc> {
    try {
      if (o.type != msgpack::type::ARRAY || o.via.array.size != 4) {
        throw DecodeError{"must be [version, id, type, fields]"};
      }
      int64_t version = 0;
      convert(o.via.array.ptr[0], version);
      if (version != kRpcVersion) throw DecodeError{"has unknown version " + std::to_string(version)};
      ControllerRpc rpc;
      convert(o.via.array.ptr[1], rpc.id);
      int64_t type = 0;
      convert(o.via.array.ptr[2], type);
      if (type == kResponseType) {
        rpc.body = unpack_record<ControllerResponse>(o.via.array.ptr[3]);
      } else {
        rpc.body = unpack_request(type, o.via.array.ptr[3]);
      }
      return rpc;
    } catch (const DecodeError& e) {
      return make_error(Errc::corrupt_message, "controller rpc: " + e.message);
    }
  });
}

std::string request_name(const ControllerRequest& request) {
  static const char* names[] = {"RegisterBroker",   "BrokerHeartbeat",  "AlterPartition",
                                "CreateTopic",      "DeleteTopic",      "CreatePartitions",
                                "AlterConfigs",     "AllocateProducerIds", "ElectPreferredLeader",
                                "ElectUncleanLeader"};
  static_assert(std::size(names) == std::variant_size_v<ControllerRequest>);
  return names[request.index()];
}

}  // namespace kafkacore::metadata
