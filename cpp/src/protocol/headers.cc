#include "protocol/headers.h"

namespace kafkacore::protocol {

Result<RequestHeader> decode_request_header(Reader& in) {
  RequestHeader h;
  h.api_key = in.read_int16();
  h.api_version = in.read_int16();
  h.correlation_id = in.read_int32();
  h.client_id = in.read_nullable_string(/*compact=*/false);
  if (in.ok() && request_header_version(h.api_key, h.api_version) >= 2) in.skip_tagged_fields();
  if (!in.ok()) return std::unexpected(*in.error());
  return h;
}

void encode_request_header(Writer& out, const RequestHeader& header) {
  out.write_int16(header.api_key);
  out.write_int16(header.api_version);
  out.write_int32(header.correlation_id);
  out.write_nullable_string(header.client_id, /*compact=*/false);
  if (request_header_version(header.api_key, header.api_version) >= 2) {
    out.write_unsigned_varint(0);  // no header tags
  }
}

Result<int32_t> decode_response_header(Reader& in, int16_t api_key, int16_t api_version) {
  const int32_t correlation_id = in.read_int32();
  if (in.ok() && response_header_version(api_key, api_version) >= 1) in.skip_tagged_fields();
  if (!in.ok()) return std::unexpected(*in.error());
  return correlation_id;
}

void encode_response_header(Writer& out, int32_t correlation_id, int16_t api_key,
                            int16_t api_version) {
  out.write_int32(correlation_id);
  if (response_header_version(api_key, api_version) >= 1) {
    out.write_unsigned_varint(0);  // no header tags
  }
}

}  // namespace kafkacore::protocol
