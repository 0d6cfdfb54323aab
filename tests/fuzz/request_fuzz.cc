// Fuzz target: the request decoder, as the server runs it on bytes from the network — the header,
// then the body of whichever API the header names. A body that decodes must re-encode to bytes
// that decode to the same message (the codec has one definition for both directions).
#include <cstddef>
#include <cstdint>

#include "protocol/headers.h"
#include "protocol/messages.h"

namespace {

using namespace kafkacore;
using namespace kafkacore::protocol;

template <typename Msg>
void round_trip(Reader& in, int16_t version) {
  if (version < Msg::min_version || version > Msg::max_version) return;
  Msg message;
  if (!message.decode(in, version)) return;
  Writer out;
  message.encode(out, version);
  Bytes bytes = out.take_bytes();
  Reader again(bytes);
  Msg copy;
  if (!copy.decode(again, version) || !(copy == message)) __builtin_trap();
}

template <typename... Msgs>
void dispatch(int16_t key, Reader& in, int16_t version) {
  ((key == Msgs::api_key ? round_trip<Msgs>(in, version) : void()), ...);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Reader in(ByteView(reinterpret_cast<const std::byte*>(data), size));
  auto header = decode_request_header(in);
  if (!header) return 0;
  dispatch<ApiVersionsRequest, MetadataRequest, ProduceRequest, FetchRequest, ListOffsetsRequest,
           CreateTopicsRequest, DeleteTopicsRequest, CreatePartitionsRequest,
           DescribeConfigsRequest, AlterConfigsRequest, IncrementalAlterConfigsRequest,
           DeleteRecordsRequest, DescribeClusterRequest, InitProducerIdRequest,
           OffsetForLeaderEpochRequest, FindCoordinatorRequest, JoinGroupRequest,
           SyncGroupRequest, HeartbeatRequest, LeaveGroupRequest, OffsetCommitRequest,
           OffsetFetchRequest, ListGroupsRequest, DescribeGroupsRequest, DeleteGroupsRequest,
           OffsetDeleteRequest>(header->api_key, in, header->api_version);
  return 0;
}
