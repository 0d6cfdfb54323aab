#pragma once
// What a handler receives and how it answers. Handlers run on the connection's executor (the
// broker's reactor thread) and may answer later (long polls, acks=all); answers are sent in
// request order whatever order they complete in.
#include <functional>
#include <memory>
#include <string>

#include "common/bytes.h"
#include "protocol/frame.h"
#include "protocol/headers.h"
#include "protocol/writer.h"

namespace kafkacore::server {

class Connection;
struct PendingResponse;

struct ClientInfo {
  uint64_t connection_id = 0;
  std::string address;  // host:port of the peer
};

// One-shot: exactly one of send/send_none/close_connection should be called; if the slot is
// dropped unused the connection is closed (a handler bug must not stall the pipeline).
class ResponseSlot {
 public:
  ResponseSlot() = default;
  ResponseSlot(std::weak_ptr<Connection> connection, std::shared_ptr<PendingResponse> pending);
  ResponseSlot(ResponseSlot&&) noexcept = default;
  ResponseSlot& operator=(ResponseSlot&&) noexcept = default;
  ~ResponseSlot();

  void send(protocol::OutputFrame frame);
  void send_none();          // produce with acks=0: the client expects no answer
  void close_connection();   // unparseable request or unsupported version

 private:
  void finish(int kind, protocol::OutputFrame frame);
  std::weak_ptr<Connection> connection_;
  std::shared_ptr<PendingResponse> pending_;
};

struct Request {
  protocol::RequestHeader header;
  // Owns the bytes `body` (and decoded views) point into. Mutable: a produce handler assigns
  // offsets inside the received batches in place, with no copy.
  std::shared_ptr<Bytes> frame;
  ByteView body;
  std::shared_ptr<const ClientInfo> client;
  ResponseSlot slot;

  // The writable bytes of a view into this request's frame.
  MutableByteView writable(ByteView view) {
    const auto offset = static_cast<size_t>(view.data() - frame->data());
    return MutableByteView(*frame).subspan(offset, view.size());
  }

  // Encodes and sends `response` at the request's version. A response the version cannot carry
  // is a handler bug: it is logged and this connection closed, the broker keeps running.
  template <typename Response>
  void respond(const Response& response) {
    try {
      slot.send(protocol::encode_response(header.correlation_id, header.api_key,
                                          header.api_version, response));
    } catch (const protocol::EncodeError& e) {
      report_encode_error(e);
    }
  }
  void report_encode_error(const protocol::EncodeError& e);
};

using Handler = std::function<void(Request)>;

}  // namespace kafkacore::server
