// Request headers v1/v2 and unknown keys; response headers and whole frames (encode_response,
// encode_request), including the ApiVersions response header that is always v0.
#include "protocol/headers.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "protocol/messages.h"
#include "test_util.h"

namespace kafkacore::protocol {
namespace {

using test::bytes_of;
using test::concat;

constexpr int16_t kProduce = 0;
constexpr int16_t kApiVersions = 18;

TEST(RequestHeader, Version1HasNoTags) {
  // Produce v8 (not flexible): key, version, correlation id, client id "ab", then the body.
  const Bytes data = bytes_of({0, 0, 0, 8, 0, 0, 0, 42, 0, 2, 'a', 'b', 0x77});
  Reader in(data);
  auto h = decode_request_header(in);
  ASSERT_TRUE(h.has_value()) << h.error().to_string();
  EXPECT_EQ(h->api_key, kProduce);
  EXPECT_EQ(h->api_version, 8);
  EXPECT_EQ(h->correlation_id, 42);
  EXPECT_EQ(h->client_id, std::optional<std::string>("ab"));
  EXPECT_EQ(in.position(), 12u);  // the body byte is next, not taken as a tag count

  Writer w;
  encode_request_header(w, *h);
  EXPECT_EQ(w.bytes(), Bytes(data.begin(), data.end() - 1));
}

TEST(RequestHeader, Version2HasTagsAndAClassicClientId) {
  // Produce v9 (flexible): client id stays a classic int16-length string; then a tag section
  // with one unknown tag, which is skipped.
  const Bytes data = bytes_of({0, 0, 0, 9, 0x12, 0x34, 0x56, 0x78, 0, 1, 'c', 1, 3, 1, 0xee,
                               0x99});
  Reader in(data);
  auto h = decode_request_header(in);
  ASSERT_TRUE(h.has_value()) << h.error().to_string();
  EXPECT_EQ(h->api_version, 9);
  EXPECT_EQ(h->correlation_id, 0x12345678);
  EXPECT_EQ(h->client_id, std::optional<std::string>("c"));
  EXPECT_EQ(in.remaining(), 1u);

  Writer w;
  encode_request_header(w, *h);  // re-encoded without the unknown tag
  EXPECT_EQ(w.bytes(), bytes_of({0, 0, 0, 9, 0x12, 0x34, 0x56, 0x78, 0, 1, 'c', 0}));
}

TEST(RequestHeader, NullClientId) {
  const Bytes data = bytes_of({0, 18, 0, 3, 0, 0, 0, 1, 0xff, 0xff, 0});
  Reader in(data);
  auto h = decode_request_header(in);
  ASSERT_TRUE(h.has_value());
  EXPECT_EQ(h->client_id, std::nullopt);
  EXPECT_TRUE(in.at_end());
  Writer w;
  encode_request_header(w, *h);
  EXPECT_EQ(w.bytes(), data);
}

TEST(RequestHeader, UnknownKeyIsReadAsVersion1AndReported) {
  const Bytes data = bytes_of({0x03, 0xe7, 0, 12, 0, 0, 0, 5, 0, 1, 'z', 0, 1, 2});
  Reader in(data);
  auto h = decode_request_header(in);
  ASSERT_TRUE(h.has_value());
  EXPECT_EQ(h->api_key, 999);
  EXPECT_EQ(find_api(h->api_key), nullptr);  // the server closes the connection
  EXPECT_EQ(h->correlation_id, 5);
  EXPECT_EQ(in.position(), 11u);  // no tag section consumed
}

TEST(RequestHeader, NewerApiVersionsStillParses) {
  // ApiVersions v9 (beyond our range): flexible by the first flexible version, so header v2.
  const Bytes data = bytes_of({0, 18, 0, 9, 0, 0, 0, 7, 0, 0, 0, 0xab});
  Reader in(data);
  auto h = decode_request_header(in);
  ASSERT_TRUE(h.has_value());
  EXPECT_EQ(h->api_version, 9);
  EXPECT_EQ(in.remaining(), 1u);
  EXPECT_FALSE(find_api(kApiVersions)->supports(9));
}

TEST(RequestHeader, TruncatedAtEveryByteFails) {
  const Bytes data = bytes_of({0, 0, 0, 9, 0, 0, 0, 1, 0, 3, 'a', 'b', 'c', 1, 4, 2, 1, 2});
  {
    Reader full(data);
    ASSERT_TRUE(decode_request_header(full).has_value());
    EXPECT_TRUE(full.at_end());
  }
  for (size_t n = 0; n < data.size(); ++n) {
    Reader in(ByteView(data).first(n));
    EXPECT_FALSE(decode_request_header(in).has_value()) << n;
  }
}

TEST(RequestHeader, NegativeClientIdLengthFails) {
  const Bytes in_data = bytes_of({0, 0, 0, 1, 0, 0, 0, 1, 0xff, 0xfe});
  Reader in(in_data);
  auto h = decode_request_header(in);
  ASSERT_FALSE(h.has_value());
  EXPECT_EQ(h.error().code(), Errc::invalid_request);
}

TEST(ResponseFrame, FlexibleResponseHasHeaderTags) {
  ProduceResponse body;  // empty response list, throttle 0
  OutputFrame frame = encode_response(77, kProduce, 9, body);
  // size, correlation id, header tags (0), body: compact empty array, throttle, body tags.
  EXPECT_EQ(frame.bytes, bytes_of({0, 0, 0, 11, 0, 0, 0, 77, 0, 1, 0, 0, 0, 0, 0}));
  EXPECT_TRUE(frame.splices.empty());
  EXPECT_EQ(frame.total_size(), frame.bytes.size());

  Reader in(ByteView(frame.bytes).subspan(4));
  auto correlation = decode_response_header(in, kProduce, 9);
  ASSERT_TRUE(correlation.has_value());
  EXPECT_EQ(*correlation, 77);
  ProduceResponse back;
  ASSERT_TRUE(back.decode(in, 9).has_value());
  EXPECT_TRUE(in.at_end());
}

TEST(ResponseFrame, NonFlexibleResponseHasNoHeaderTags) {
  ProduceResponse body;
  OutputFrame frame = encode_response(1, 8, body);
  EXPECT_EQ(frame.bytes, bytes_of({0, 0, 0, 12, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0}));
}

TEST(ResponseFrame, ApiVersionsResponseHeaderIsAlwaysVersion0) {
  ApiVersionsResponse body;
  body.api_keys.push_back({18, 0, 4, {}});
  for (int16_t v = 0; v <= 4; ++v) {
    OutputFrame frame = encode_response(3, kApiVersions, v, body);
    // Right after the correlation id comes the body's error code (franz-go reads byte 1 of
    // the body for error 35), never a tag count.
    Reader in(ByteView(frame.bytes).subspan(4));
    auto correlation = decode_response_header(in, kApiVersions, v);
    ASSERT_TRUE(correlation.has_value());
    EXPECT_EQ(in.position(), 4u);
    ApiVersionsResponse back;
    ASSERT_TRUE(back.decode(in, v).has_value()) << v;
    EXPECT_TRUE(back == body);
    EXPECT_EQ(frame.bytes[8], std::byte{0});
    EXPECT_EQ(frame.bytes[9], std::byte{0});
  }
}

TEST(ResponseFrame, UnsupportedApiVersionsAnswerIsAVersion0Body) {
  // The broker's answer to an ApiVersions request of a version it does not know.
  ApiVersionsResponse body;
  body.error_code = 35;
  body.api_keys.push_back({18, 0, 4, {}});
  OutputFrame frame = encode_response(9, kApiVersions, 0, body);
  EXPECT_EQ(frame.bytes, bytes_of({0, 0, 0, 16, 0, 0, 0, 9, 0, 35, 0, 0, 0, 1, 0, 18, 0, 0, 0,
                                   4}));
}

TEST(ResponseFrame, FileBackedRecordsAreSpliced) {
  auto keepalive = std::make_shared<int>(1);
  FetchResponse body;
  auto& topic = body.responses.emplace_back();
  topic.topic = "t";
  auto& partition = topic.partitions.emplace_back();
  partition.partition_index = 0;
  partition.high_watermark = 10;
  partition.records.files.push_back(FileRange{keepalive, 3, 4096, 500});
  partition.records.files.push_back(FileRange{keepalive, 4, 0, 100});
  for (int16_t v : {int16_t{4}, int16_t{11}, int16_t{12}}) {
    OutputFrame frame = encode_response(5, v, body);
    ASSERT_EQ(frame.splices.size(), 2u);
    EXPECT_EQ(frame.total_size(), frame.bytes.size() + 600);
    EXPECT_EQ(load_be<int32_t>(frame.bytes.data()), static_cast<int32_t>(frame.total_size() - 4));
    // Splices sit right after the records length, and nothing of the partition follows in
    // non-flexible versions except the rest of the frame.
    EXPECT_EQ(frame.splices[0].at, frame.splices[1].at);
    const size_t at = frame.splices[0].at;
    if (v < 12) {
      EXPECT_EQ(load_be<int32_t>(frame.bytes.data() + at - 4), 600);
    } else {
      EXPECT_EQ(frame.bytes[at - 2], std::byte{0xd9});  // varint 601
      EXPECT_EQ(frame.bytes[at - 1], std::byte{0x04});
    }
  }
}

// A producer's batch travels as a memory splice; the bytes plus the splice in order are exactly
// the frame a plain copy would have produced.
TEST(RequestFrame, BorrowedRecordsAreSplicedNotCopied) {
  auto batch = std::make_shared<Bytes>(bytes_of({1, 2, 3, 4, 5, 6, 7, 8, 9}));
  ProduceRequest body;
  body.acks = -1;
  body.timeout_ms = 1000;
  auto& topic = body.topic_data.emplace_back();
  topic.name = "t";
  auto& partition = topic.partition_data.emplace_back();
  partition.index = 2;
  partition.records.bytes = ByteView(*batch);
  ProduceRequest copied = body;
  partition.records.keepalive = batch;
  for (int16_t v : {int16_t{3}, int16_t{9}}) {
    RequestHeader header{kProduce, v, 5, "client"};
    OutputFrame spliced = encode_request(header, body);
    OutputFrame plain = encode_request(header, copied);
    ASSERT_EQ(spliced.splices.size(), 1u);
    EXPECT_TRUE(plain.splices.empty());
    EXPECT_LT(spliced.splices[0].range.fd, 0);
    EXPECT_EQ(spliced.splices[0].memory.data(), batch->data());  // not copied
    EXPECT_EQ(spliced.total_size(), plain.bytes.size());
    Bytes joined(spliced.bytes.begin(), spliced.bytes.begin() + static_cast<ptrdiff_t>(spliced.splices[0].at));
    joined.insert(joined.end(), batch->begin(), batch->end());
    joined.insert(joined.end(), spliced.bytes.begin() + static_cast<ptrdiff_t>(spliced.splices[0].at),
                  spliced.bytes.end());
    EXPECT_EQ(joined, plain.bytes) << v;
  }
}

TEST(RequestFrame, EncodeRequestRoundTrips) {
  RequestHeader header{kApiVersions, 3, 11, "client"};
  ApiVersionsRequest body;
  body.client_software_name = "kafkacore";
  body.client_software_version = "0.1";
  OutputFrame frame = encode_request(header, body);
  EXPECT_EQ(load_be<int32_t>(frame.bytes.data()), static_cast<int32_t>(frame.bytes.size() - 4));
  Reader in(ByteView(frame.bytes).subspan(4));
  auto h = decode_request_header(in);
  ASSERT_TRUE(h.has_value());
  EXPECT_EQ(*h, header);
  ApiVersionsRequest back;
  ASSERT_TRUE(back.decode(in, h->api_version).has_value());
  EXPECT_TRUE(back == body);
  EXPECT_TRUE(in.at_end());
}

}  // namespace
}  // namespace kafkacore::protocol
