#pragma once
// A tiny blocking Kafka client for the broker tests: one TCP connection, requests encoded with
// protocol::encode_request, answers read as int32 size + frame and decoded with the generated
// messages. Failures (connection, timeout, undecodable answer) throw ClientError, which
// GoogleTest reports as a test failure. Every received frame is kept alive for the client's
// lifetime, so decoded `records` views stay valid.
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include "common/bytes.h"
#include "protocol/headers.h"
#include "protocol/messages.h"

namespace kafkacore::broker::testing {

class ClientError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The response type of each request type the tests use.
template <typename Req>
struct ResponseOf;
#define KAFKACORE_TEST_RESPONSE(Name)                  \
  template <>                                          \
  struct ResponseOf<protocol::Name##Request> {         \
    using type = protocol::Name##Response;             \
  };
KAFKACORE_TEST_RESPONSE(ApiVersions)
KAFKACORE_TEST_RESPONSE(Metadata)
KAFKACORE_TEST_RESPONSE(Produce)
KAFKACORE_TEST_RESPONSE(Fetch)
KAFKACORE_TEST_RESPONSE(ListOffsets)
KAFKACORE_TEST_RESPONSE(CreateTopics)
KAFKACORE_TEST_RESPONSE(DeleteTopics)
KAFKACORE_TEST_RESPONSE(CreatePartitions)
KAFKACORE_TEST_RESPONSE(DescribeConfigs)
KAFKACORE_TEST_RESPONSE(AlterConfigs)
KAFKACORE_TEST_RESPONSE(IncrementalAlterConfigs)
KAFKACORE_TEST_RESPONSE(DeleteRecords)
KAFKACORE_TEST_RESPONSE(ElectLeaders)
KAFKACORE_TEST_RESPONSE(DescribeCluster)
KAFKACORE_TEST_RESPONSE(InitProducerId)
KAFKACORE_TEST_RESPONSE(OffsetForLeaderEpoch)
#undef KAFKACORE_TEST_RESPONSE

class TestClient {
 public:
  // Connects to 127.0.0.1:port (throws ClientError on failure).
  explicit TestClient(uint16_t port,
                      std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));
  ~TestClient();
  TestClient(const TestClient&) = delete;
  TestClient& operator=(const TestClient&) = delete;

  // Writes every byte (blocking).
  void send_raw(ByteView bytes);

  // Encodes and writes one request; returns its correlation id (the next one unless given).
  template <typename Req>
  int32_t send(const Req& request, int16_t version, std::optional<int32_t> correlation_id = {}) {
    protocol::RequestHeader header;
    header.api_key = Req::api_key;
    header.api_version = version;
    header.correlation_id = correlation_id.value_or(next_correlation_id_++);
    header.client_id = "broker-test";
    protocol::OutputFrame frame = protocol::encode_request(header, request);
    if (!frame.splices.empty()) throw ClientError("a request frame cannot carry file ranges");
    send_raw(frame.bytes);
    return header.correlation_id;
  }

  // The request frame (size prefix included) without sending it.
  template <typename Req>
  Bytes encode(const Req& request, int16_t version, int32_t correlation_id) const {
    protocol::RequestHeader header;
    header.api_key = Req::api_key;
    header.api_version = version;
    header.correlation_id = correlation_id;
    header.client_id = "broker-test";
    return protocol::encode_request(header, request).bytes;
  }

  // Reads one whole answer frame (without its size prefix). Throws on timeout or EOF.
  const Bytes& read_frame();
  // True if the peer closed the connection within `wait` (no bytes arrived meanwhile).
  bool closed_within(std::chrono::milliseconds wait);

  // Reads the next answer, which must carry `correlation_id`, and decodes it as `Resp` at
  // `version`.
  template <typename Resp>
  Resp receive(int32_t correlation_id, int16_t version) {
    const Bytes& frame = read_frame();
    protocol::Reader reader(frame);
    auto got = protocol::decode_response_header(reader, Resp::api_key, version);
    if (!got) throw ClientError("bad response header: " + got.error().message());
    if (*got != correlation_id) {
      throw ClientError("expected correlation id " + std::to_string(correlation_id) + ", got " +
                        std::to_string(*got));
    }
    Resp response;
    if (auto r = response.decode(reader, version); !r) {
      throw ClientError(std::string(Resp::api_name) + " v" + std::to_string(version) +
                        " answer does not decode: " + r.error().message());
    }
    return response;
  }

  // send + receive.
  template <typename Req>
  typename ResponseOf<Req>::type call(const Req& request, int16_t version) {
    const int32_t id = send(request, version);
    return receive<typename ResponseOf<Req>::type>(id, version);
  }

  int32_t next_correlation_id() const { return next_correlation_id_; }

 private:
  void read_exact(std::byte* out, size_t n);

  int fd_ = -1;
  std::chrono::milliseconds timeout_;
  int32_t next_correlation_id_ = 1;
  std::deque<Bytes> frames_;  // every frame received, so decoded views stay valid
};

}  // namespace kafkacore::broker::testing
