#pragma once
// One TCP connection to a Kafka broker: typed requests in, typed responses out. Many requests
// may be in flight (pipelining); Kafka answers a connection's requests in order, so replies are
// matched to the oldest pending request and its correlation id is checked. Any failure (connect
// refused or timed out, EOF, a request timeout, an undecodable or oversized frame) fails every
// pending request and closes the connection; the owner reconnects (`connect` again).
// Single-threaded: every call, and every callback, on the io_context given at construction.
//
// Decoded `records` (Fetch) and other views point into the received frame, which the
// `Response` owns; `mutable_records` turns them into writable views (a follower appends the
// fetched batches in place, without a copy).
// Boost 1.74's awaitable.hpp uses std::exchange without including <utility>.
#include <utility>

#include <boost/asio.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "client/frame_pool.h"
#include "common/bytes.h"
#include "common/error.h"
#include "protocol/headers.h"
#include "protocol/messages.h"

namespace kafkacore::client {

namespace asio = boost::asio;

// Kafka's NETWORK_EXCEPTION (13): the connection failed.
inline constexpr Errc kNetworkError = Errc::network_exception;

// The response type of each request type: FooRequest -> FooResponse.
template <typename Req>
struct ResponseOf;
#define KAFKACORE_CLIENT_RESPONSE_OF(Name)      \
  template <>                                   \
  struct ResponseOf<protocol::Name##Request> {  \
    using type = protocol::Name##Response;      \
  };
KAFKACORE_PROTOCOL_FOR_EACH_API(KAFKACORE_CLIENT_RESPONSE_OF)
#undef KAFKACORE_CLIENT_RESPONSE_OF

template <typename Req>
using ResponseOfT = typename ResponseOf<Req>::type;

// A decoded response plus the frame its views (`records`, bytes views) point into.
template <typename Msg>
struct Response {
  Msg body;
  std::shared_ptr<Bytes> frame;
  int16_t version = 0;  // the version the request was sent (and the answer decoded) at

  // `records` decoded from this response, as a writable view of the owned frame (empty for
  // null or empty records). Asserts the view lies inside the frame.
  MutableByteView mutable_records(const protocol::Records& records) const;
};

struct ConnectionOptions {
  std::string client_id = "kafkacore";
  std::chrono::milliseconds request_timeout{30000};  // Kafka's request.timeout.ms
  size_t max_response_bytes = 256u << 20;            // larger frames close the connection
};

class Connection {
 public:
  template <typename Msg>
  using Callback = std::function<void(Result<Response<Msg>>)>;

  Connection(asio::io_context& io, ConnectionOptions options = {});
  // Drops pending requests without calling them back (their owner is going away).
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Opens the connection (closing any current one first). `done` gets success, or
  // NETWORK_EXCEPTION (refused, unresolvable) / REQUEST_TIMED_OUT (no answer within `timeout`).
  // Requests sent while connecting are queued and written once connected.
  void connect(const std::string& host, uint16_t port, std::chrono::milliseconds timeout,
               std::function<void(Result<void>)> done);

  // Sends `request` at `version`; `done` runs exactly once: with the decoded response, or with
  // the error that failed it. `timeout`: this request's limit (default: options.request_timeout).
  // On a closed connection `done` is posted with NETWORK_EXCEPTION.
  template <typename Req>
  void send(const Req& request, int16_t version, Callback<ResponseOfT<Req>> done,
            std::optional<std::chrono::milliseconds> timeout = {});

  // Sends a request the broker does not answer (Produce with acks=0). `done` is posted once the
  // frame is queued for writing, or with NETWORK_EXCEPTION on a closed connection; a later
  // write failure closes the connection and fails the requests behind it.
  template <typename Req>
  void send_oneway(const Req& request, int16_t version, std::function<void(Result<void>)> done);

  // Closes now and fails every pending request (synchronously, from within this call) with
  // NETWORK_EXCEPTION "connection closed". No-op when already closed.
  void close();
  bool closed() const { return state_ == State::closed; }
  bool connected() const { return state_ == State::connected; }
  // Connected, but the peer has already closed or reset its end and this side has not read
  // that yet (a zero-timeout poll of the socket). Lets a caller act on a dead peer before the
  // read loop gets to the EOF waiting in the queue.
  bool peer_gone() const;
  size_t in_flight() const { return pending_.size(); }
  const ConnectionOptions& options() const { return options_; }

 private:
  enum class State { closed, connecting, connected };
  struct Socket;

  // A type-erased pending request: `deliver` decodes the body (after the response header) or
  // reports the error; a decode failure it returns closes the connection.
  struct Pending {
    int32_t correlation_id = 0;
    int16_t api_key = 0;
    int16_t api_version = 0;
    std::function<Result<void>(Result<std::shared_ptr<Bytes>>, size_t body_offset)> deliver;
    std::shared_ptr<asio::steady_timer> timer;
  };

  void enqueue(int16_t api_key, int16_t version, protocol::OutputFrame frame,
               std::chrono::milliseconds timeout,
               std::function<Result<void>(Result<std::shared_ptr<Bytes>>, size_t)> deliver);
  // Fails everything pending with `error` (the request `culprit`, if any, gets `culprit_error`),
  // closes the socket. Callbacks run last; `this` may be gone after them.
  void fail_all(const Error& error, std::optional<int32_t> culprit = {},
                std::optional<Error> culprit_error = {});
  void enqueue_oneway(protocol::OutputFrame frame, std::function<void(Result<void>)> done);
  void start_writing();
  void arm_timer(Pending& pending, std::chrono::milliseconds timeout);
  asio::awaitable<void> connect_loop(std::string host, uint16_t port,
                                     std::chrono::milliseconds timeout, uint64_t generation,
                                     std::shared_ptr<Socket> socket,
                                     std::function<void(Result<void>)> done,
                                     std::shared_ptr<bool> alive);
  asio::awaitable<void> read_loop(uint64_t generation, std::shared_ptr<Socket> socket,
                                  std::shared_ptr<bool> alive);
  asio::awaitable<void> write_loop(uint64_t generation, std::shared_ptr<Socket> socket,
                                   std::shared_ptr<bool> alive);

  asio::io_context& io_;
  ConnectionOptions options_;
  std::shared_ptr<FramePool> frames_ = FramePool::create();
  State state_ = State::closed;
  uint64_t generation_ = 0;  // bumped by every connect/close so stale coroutines stop
  std::shared_ptr<Socket> socket_;
  std::deque<Pending> pending_;     // in send order == answer order
  // Encoded frames not yet written; a frame's splices are producer batches sent in place.
  std::deque<protocol::OutputFrame> write_queue_;
  bool writing_ = false;
  int32_t next_correlation_id_ = 1;
  std::shared_ptr<bool> alive_;
};

// ---- templates

template <typename Msg>
MutableByteView Response<Msg>::mutable_records(const protocol::Records& records) const {
  if (records.is_null || records.bytes.empty()) return {};
  const std::byte* begin = frame ? frame->data() : nullptr;
  const std::byte* p = records.bytes.data();
  if (!frame || p < begin || p + records.bytes.size() > begin + frame->size()) {
    protocol::encode_contract_violation("mutable_records: records not from this response");
  }
  return MutableByteView(frame->data() + (p - begin), records.bytes.size());
}

template <typename Req>
void Connection::send(const Req& request, int16_t version, Callback<ResponseOfT<Req>> done,
                      std::optional<std::chrono::milliseconds> timeout) {
  using Resp = ResponseOfT<Req>;
  protocol::RequestHeader header;
  header.api_key = Req::api_key;
  header.api_version = version;
  header.correlation_id = next_correlation_id_;
  header.client_id = options_.client_id;
  next_correlation_id_ = next_correlation_id_ == INT32_MAX ? 1 : next_correlation_id_ + 1;
  protocol::OutputFrame frame = protocol::encode_request(header, request);
  auto deliver = [done = std::move(done), version](Result<std::shared_ptr<Bytes>> got,
                                                  size_t body_offset) -> Result<void> {
    if (!got) {
      done(std::unexpected(got.error()));
      return {};
    }
    Response<Resp> response;
    response.frame = std::move(*got);
    response.version = version;
    protocol::Reader reader(ByteView(*response.frame).subspan(body_offset));
    if (auto r = response.body.decode(reader, version); !r) {
      Error error(kNetworkError, std::string(Resp::api_name) + " v" + std::to_string(version) +
                                     " response does not decode: " + r.error().message());
      done(std::unexpected(error));
      return std::unexpected(std::move(error));
    }
    done(std::move(response));
    return {};
  };
  enqueue(Req::api_key, version, std::move(frame),
          timeout.value_or(options_.request_timeout), std::move(deliver));
}

template <typename Req>
void Connection::send_oneway(const Req& request, int16_t version,
                             std::function<void(Result<void>)> done) {
  protocol::RequestHeader header;
  header.api_key = Req::api_key;
  header.api_version = version;
  header.correlation_id = next_correlation_id_;
  header.client_id = options_.client_id;
  next_correlation_id_ = next_correlation_id_ == INT32_MAX ? 1 : next_correlation_id_ + 1;
  enqueue_oneway(protocol::encode_request(header, request), std::move(done));
}

}  // namespace kafkacore::client
