#pragma once
// Request and response headers, and whole-frame helpers around a message body.
//
// Request header v1: api_key int16, api_version int16, correlation_id int32, client_id (classic
// nullable string). v2 (flexible request versions) adds a tagged-field section. client_id stays a
// classic string in v2 so any broker can read an ApiVersions header. Response header v0 is the
// correlation id; v1 adds a tagged-field section; ApiVersions responses always use v0.
#include <cstdint>
#include <optional>
#include <string>

#include "common/error.h"
#include "protocol/api_table.h"
#include "protocol/frame.h"
#include "protocol/reader.h"
#include "protocol/writer.h"

namespace kafkacore::protocol {

struct RequestHeader {
  int16_t api_key = 0;
  int16_t api_version = 0;
  int32_t correlation_id = 0;
  std::optional<std::string> client_id;

  bool operator==(const RequestHeader&) const = default;
};

// Reads a request header (`in` positioned after the frame's size prefix). The key and version
// are read first and decide whether a tagged section follows (request_header_version). An
// unknown api key is decoded as header v1 and returned as is: the caller checks find_api() and
// closes the connection. Unknown header tags are skipped. On success `in` is at the body.
[[nodiscard]] Result<RequestHeader> decode_request_header(Reader& in);
void encode_request_header(Writer& out, const RequestHeader& header);

// Reads a response header for a request of (api_key, api_version); returns the correlation id.
[[nodiscard]] Result<int32_t> decode_response_header(Reader& in, int16_t api_key,
                                                     int16_t api_version);
void encode_response_header(Writer& out, int32_t correlation_id, int16_t api_key,
                            int16_t api_version);

// A complete response frame: size prefix, correlation id, header tags when the response header
// is v1, then the body encoded at `version`. File-backed records become splices.
template <typename Msg>
OutputFrame encode_response(int32_t correlation_id, int16_t api_key, int16_t version,
                            const Msg& body) {
  if (api_key != Msg::api_key) encode_contract_violation("encode_response: api key mismatch");
  Writer out;
  out.begin_frame();
  encode_response_header(out, correlation_id, api_key, version);
  body.encode(out, version);
  return out.finish_frame();
}

template <typename Msg>
OutputFrame encode_response(int32_t correlation_id, int16_t version, const Msg& body) {
  return encode_response(correlation_id, Msg::api_key, version, body);
}

// A complete request frame (what a client sends): size prefix, header, body at
// header.api_version.
template <typename Msg>
OutputFrame encode_request(const RequestHeader& header, const Msg& body) {
  if (header.api_key != Msg::api_key) encode_contract_violation("encode_request: api key mismatch");
  Writer out;
  out.begin_frame();
  encode_request_header(out, header);
  body.encode(out, header.api_version);
  return out.finish_frame();
}

}  // namespace kafkacore::protocol
