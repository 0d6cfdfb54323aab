// Request frames encoded by a real client (kafka-python 3.0.12, tests/data/frames/generate.py):
// decode the header and body, check the values the script set, and re-encode to the same bytes.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <string>

#include "protocol/headers.h"
#include "protocol/messages.h"
#include "test_util.h"

namespace kafkacore::protocol {
namespace {

Bytes read_frame(const std::string& name) {
  const std::string path = std::string(KAFKACORE_TEST_DATA_DIR) + "/frames/" + name;
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot open " << path;
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return test::bytes_of(data);
}

// Decodes size prefix, header and body; checks the body ends the frame and that encode_request
// writes the identical frame back.
template <typename M>
void decode_frame(const Bytes& frame, RequestHeader& header, M& body) {
  ASSERT_GE(frame.size(), 4u);
  ASSERT_EQ(load_be<int32_t>(frame.data()), static_cast<int32_t>(frame.size() - 4));
  Reader in(ByteView(frame).subspan(4));
  auto h = decode_request_header(in);
  ASSERT_TRUE(h.has_value()) << h.error().to_string();
  header = *h;
  EXPECT_EQ(header.api_key, M::api_key);
  EXPECT_EQ(header.client_id, std::optional<std::string>("golden-client"));
  auto status = body.decode(in, header.api_version);
  ASSERT_TRUE(status.has_value()) << status.error().to_string();
  EXPECT_TRUE(in.at_end()) << in.remaining() << " bytes left";
  OutputFrame again = encode_request(header, body);
  EXPECT_TRUE(again.splices.empty());
  EXPECT_EQ(again.bytes, frame) << "re-encoded frame differs";
}

TEST(GoldenFrames, ApiVersionsV3) {
  const Bytes frame = read_frame("api_versions_v3.bin");
  RequestHeader header;
  ApiVersionsRequest body;
  ASSERT_NO_FATAL_FAILURE(decode_frame(frame, header, body));
  EXPECT_EQ(header.api_version, 3);
  EXPECT_EQ(header.correlation_id, 1);
  EXPECT_EQ(body.client_software_name, "kafka-python");
  EXPECT_EQ(body.client_software_version, "3.0.12");
  EXPECT_TRUE(body.unknown_tagged_fields.empty());
}

TEST(GoldenFrames, MetadataV12) {
  const Bytes frame = read_frame("metadata_v12.bin");
  RequestHeader header;
  MetadataRequest body;
  ASSERT_NO_FATAL_FAILURE(decode_frame(frame, header, body));
  EXPECT_EQ(header.api_version, 12);
  EXPECT_EQ(header.correlation_id, 2);
  ASSERT_TRUE(body.topics.has_value());
  ASSERT_EQ(body.topics->size(), 2u);
  EXPECT_EQ((*body.topics)[0].name, std::optional<std::string>("orders"));
  EXPECT_TRUE((*body.topics)[0].topic_id.is_zero());
  EXPECT_EQ((*body.topics)[1].name, std::nullopt);
  EXPECT_EQ((*body.topics)[1].topic_id.bytes[0], std::byte{0x01});
  EXPECT_EQ((*body.topics)[1].topic_id.bytes[15], std::byte{0xef});
  EXPECT_FALSE(body.allow_auto_topic_creation);
  EXPECT_TRUE(body.include_topic_authorized_operations);
}

TEST(GoldenFrames, ProduceV9) {
  const Bytes frame = read_frame("produce_v9.bin");
  RequestHeader header;
  ProduceRequest body;
  ASSERT_NO_FATAL_FAILURE(decode_frame(frame, header, body));
  EXPECT_EQ(header.api_version, 9);
  EXPECT_EQ(header.correlation_id, 3);
  EXPECT_EQ(body.transactional_id, std::nullopt);
  EXPECT_EQ(body.acks, -1);
  EXPECT_EQ(body.timeout_ms, 30000);
  ASSERT_EQ(body.topic_data.size(), 1u);
  EXPECT_EQ(body.topic_data[0].name, "orders");
  ASSERT_EQ(body.topic_data[0].partition_data.size(), 2u);
  const auto& p0 = body.topic_data[0].partition_data[0];
  EXPECT_EQ(p0.index, 0);
  ASSERT_FALSE(p0.records.is_null);
  // A RecordBatch v2, viewed in place: batch length covers the rest, magic byte 2.
  ASSERT_GE(p0.records.bytes.size(), 61u);
  EXPECT_GE(p0.records.bytes.data(), frame.data());
  EXPECT_LT(p0.records.bytes.data(), frame.data() + frame.size());
  EXPECT_EQ(load_be<int32_t>(p0.records.bytes.data() + 8),
            static_cast<int32_t>(p0.records.bytes.size() - 12));
  EXPECT_EQ(p0.records.bytes[16], std::byte{2});
  EXPECT_EQ(load_be<int32_t>(p0.records.bytes.data() + 57), 3);  // record count
  const auto& p1 = body.topic_data[0].partition_data[1];
  EXPECT_EQ(p1.index, 1);
  EXPECT_TRUE(p1.records.is_null);
}

TEST(GoldenFrames, FetchV12) {
  const Bytes frame = read_frame("fetch_v12.bin");
  RequestHeader header;
  FetchRequest body;
  ASSERT_NO_FATAL_FAILURE(decode_frame(frame, header, body));
  EXPECT_EQ(header.api_version, 12);
  EXPECT_EQ(header.correlation_id, 4);
  EXPECT_EQ(body.cluster_id, std::optional<std::string>("cluster-1"));  // tagged field 0
  EXPECT_EQ(body.replica_id, -1);
  EXPECT_EQ(body.max_wait_ms, 500);
  EXPECT_EQ(body.min_bytes, 1);
  EXPECT_EQ(body.max_bytes, 52428800);
  EXPECT_EQ(body.isolation_level, 1);
  EXPECT_EQ(body.session_id, 0);
  EXPECT_EQ(body.session_epoch, -1);
  ASSERT_EQ(body.topics.size(), 1u);
  EXPECT_EQ(body.topics[0].topic, "orders");
  ASSERT_EQ(body.topics[0].partitions.size(), 2u);
  const auto& p0 = body.topics[0].partitions[0];
  EXPECT_EQ(p0.partition, 0);
  EXPECT_EQ(p0.current_leader_epoch, 5);
  EXPECT_EQ(p0.fetch_offset, 100);
  EXPECT_EQ(p0.last_fetched_epoch, 4);
  EXPECT_EQ(p0.log_start_offset, -1);
  EXPECT_EQ(p0.partition_max_bytes, 1048576);
  EXPECT_EQ(body.topics[0].partitions[1].partition, 2);
  EXPECT_EQ(body.topics[0].partitions[1].partition_max_bytes, 65536);
  ASSERT_EQ(body.forgotten_topics_data.size(), 1u);
  EXPECT_EQ(body.forgotten_topics_data[0].topic, "old");
  EXPECT_EQ(body.forgotten_topics_data[0].partitions, (std::vector<int32_t>{3, 4}));
  EXPECT_EQ(body.rack_id, "rack-a");
  EXPECT_TRUE(body.unknown_tagged_fields.empty());
}

// Every frame decoded at every cut point fails cleanly.
TEST(GoldenFrames, TruncatedFramesFail) {
  for (const char* name :
       {"api_versions_v3.bin", "metadata_v12.bin", "produce_v9.bin", "fetch_v12.bin"}) {
    const Bytes frame = read_frame(name);
    for (size_t n = 4; n < frame.size(); ++n) {
      Reader in(ByteView(frame).subspan(4, n - 4));
      auto h = decode_request_header(in);
      if (!h) continue;
      Result<void> status;
      switch (h->api_key) {
        case ApiVersionsRequest::api_key: {
          ApiVersionsRequest m;
          status = m.decode(in, h->api_version);
          break;
        }
        case MetadataRequest::api_key: {
          MetadataRequest m;
          status = m.decode(in, h->api_version);
          break;
        }
        case ProduceRequest::api_key: {
          ProduceRequest m;
          status = m.decode(in, h->api_version);
          break;
        }
        default: {
          FetchRequest m;
          status = m.decode(in, h->api_version);
        }
      }
      EXPECT_FALSE(status.has_value()) << name << " cut at " << n;
    }
  }
}

}  // namespace
}  // namespace kafkacore::protocol
