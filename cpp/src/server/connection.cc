#include "server/connection.h"

#include <sys/sendfile.h>

#include <cerrno>
#include <cstring>

#include "common/log.h"

namespace kafkacore::server {
namespace {

constexpr size_t kReadBufferBytes = 64 * 1024;
// api_key + api_version + correlation_id: nothing shorter is a request.
constexpr int32_t kMinRequestBytes = 8;
constexpr int16_t kApiVersionsKey = 18;

using namespace std::chrono_literals;

}  // namespace

ResponseSlot::ResponseSlot(std::weak_ptr<Connection> connection,
                           std::shared_ptr<PendingResponse> pending)
    : connection_(std::move(connection)), pending_(std::move(pending)) {}

ResponseSlot::~ResponseSlot() {
  if (pending_ && pending_->state == PendingResponse::State::waiting) {
    finish(static_cast<int>(PendingResponse::State::close), {});
  }
}

void ResponseSlot::send(protocol::OutputFrame frame) {
  finish(static_cast<int>(PendingResponse::State::frame), std::move(frame));
}
void ResponseSlot::send_none() { finish(static_cast<int>(PendingResponse::State::none), {}); }
void ResponseSlot::close_connection() {
  finish(static_cast<int>(PendingResponse::State::close), {});
}

void ResponseSlot::finish(int kind, protocol::OutputFrame frame) {
  if (!pending_ || pending_->state != PendingResponse::State::waiting) return;
  pending_->state = static_cast<PendingResponse::State>(kind);
  pending_->frame = std::move(frame);
  if (auto connection = connection_.lock()) connection->response_ready(*pending_);
  pending_.reset();
}

void Request::report_encode_error(const protocol::EncodeError& e) {
  KC_LOG(error, "server", "could not encode a response; closing the connection",
         {{"api_key", std::to_string(header.api_key)},
          {"version", std::to_string(header.api_version)}, {"error", e.what()}});
  slot.close_connection();
}

Connection::Connection(tcp::socket socket, const HandlerRegistry& registry,
                       const ServerLimits& limits, uint64_t id,
                       std::function<void(uint64_t)> on_closed)
    : socket_(std::move(socket)),
      registry_(registry),
      limits_(limits),
      info_(std::make_shared<ClientInfo>()),
      on_closed_(std::move(on_closed)),
      write_signal_(socket_.get_executor()),
      read_signal_(socket_.get_executor()),
      idle_timer_(socket_.get_executor()),
      last_activity_(std::chrono::steady_clock::now()) {
  info_->connection_id = id;
  boost::system::error_code ec;
  auto peer = socket_.remote_endpoint(ec);
  if (!ec) info_->address = peer.address().to_string() + ":" + std::to_string(peer.port());
  socket_.set_option(tcp::no_delay(true), ec);
}

Connection::~Connection() = default;

void Connection::start() {
  auto self = shared_from_this();
  asio::co_spawn(socket_.get_executor(), [self]() { return self->read_loop(); }, asio::detached);
  asio::co_spawn(socket_.get_executor(), [self]() { return self->write_loop(); }, asio::detached);
  asio::co_spawn(socket_.get_executor(), [self]() { return self->idle_watch(); }, asio::detached);
}

void Connection::close(std::string_view reason) {
  if (closed_) return;
  closed_ = true;
  KC_LOG(debug, "server", "closing connection",
         {{"client", info_->address}, {"reason", std::string(reason)}});
  boost::system::error_code ec;
  socket_.shutdown(tcp::socket::shutdown_both, ec);
  socket_.close(ec);
  write_signal_.cancel();
  read_signal_.cancel();
  idle_timer_.cancel();
  pending_.clear();
  if (on_closed_) on_closed_(info_->connection_id);
}

void Connection::close_after_pending(std::string_view reason) {
  if (closed_ || draining_) return;
  draining_ = true;
  drain_reason_ = reason;
  wake(write_signal_);
}

bool Connection::should_pause_reading() const {
  return pending_.size() >= limits_.max_in_flight_requests ||
         queued_response_bytes_ >= limits_.max_queued_response_bytes;
}

awaitable<void> Connection::read_loop() {
  auto self = shared_from_this();
  Bytes buffer(kReadBufferBytes);
  size_t begin = 0;
  size_t end = 0;
  try {
    while (!closed_ && !draining_) {
      while (should_pause_reading() && !closed_) {
        read_signal_.expires_at(std::chrono::steady_clock::time_point::max());
        boost::system::error_code ec;
        co_await read_signal_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      }
      if (closed_) break;
      while (end - begin < 4) {
        if (begin > 0) {
          std::memmove(buffer.data(), buffer.data() + begin, end - begin);
          end -= begin;
          begin = 0;
        }
        size_t n = co_await socket_.async_read_some(
            asio::buffer(buffer.data() + end, buffer.size() - end), asio::use_awaitable);
        end += n;
        last_activity_ = std::chrono::steady_clock::now();
      }
      const int32_t size = load_be<int32_t>(buffer.data() + begin);
      begin += 4;
      if (size < kMinRequestBytes || size > limits_.max_request_bytes) {
        KC_LOG(warn, "server", "refusing request frame",
               {{"client", info_->address}, {"size", std::to_string(size)},
                {"limit", std::to_string(limits_.max_request_bytes)}});
        close_after_pending("bad request size");
        break;
      }
      auto frame = std::make_shared<Bytes>(static_cast<size_t>(size));
      const size_t have = std::min(end - begin, static_cast<size_t>(size));
      std::memcpy(frame->data(), buffer.data() + begin, have);
      begin += have;
      if (have < static_cast<size_t>(size)) {
        co_await asio::async_read(socket_, asio::buffer(frame->data() + have, size - have),
                                  asio::use_awaitable);
        last_activity_ = std::chrono::steady_clock::now();
      }
      if (begin == end) begin = end = 0;
      dispatch(std::move(frame));
    }
  } catch (const boost::system::system_error& e) {
    close(e.code() == asio::error::eof ? "client closed" : e.code().message());
  }
}

void Connection::dispatch(std::shared_ptr<Bytes> frame) {
  protocol::Reader reader(*frame);
  auto header = protocol::decode_request_header(reader);
  if (!header) {
    KC_LOG(info, "server", "unparseable request header",
           {{"client", info_->address}, {"error", header.error().message()}});
    close_after_pending("bad request header");
    return;
  }
  const ApiRegistration* api = registry_.find(header->api_key);
  if (!api) {
    KC_LOG(info, "server", "unsupported api key",
           {{"client", info_->address}, {"api_key", std::to_string(header->api_key)}});
    close_after_pending("unknown api key");
    return;
  }
  // ApiVersions answers every version itself (a v0 error reply, KIP-511); others close.
  if (header->api_key != kApiVersionsKey &&
      (header->api_version < api->min_served || header->api_version > api->max_advertised)) {
    KC_LOG(info, "server", "unsupported api version",
           {{"client", info_->address}, {"api", std::string(api->name)},
            {"version", std::to_string(header->api_version)}});
    close_after_pending("unsupported version");
    return;
  }
  auto pending = std::make_shared<PendingResponse>();
  pending_.push_back(pending);
  Request request;
  request.header = std::move(*header);
  request.body = ByteView(*frame).subspan(reader.position());
  request.frame = std::move(frame);
  request.client = info_;
  request.slot = ResponseSlot(weak_from_this(), std::move(pending));
  api->handler(std::move(request));
}

void Connection::response_ready(PendingResponse& pending) {
  if (pending.state == PendingResponse::State::frame) {
    queued_response_bytes_ += pending.frame.total_size();
  }
  wake(write_signal_);
}

awaitable<bool> Connection::send_frame(protocol::OutputFrame& frame) {
  size_t pos = 0;
  for (const auto& splice : frame.splices) {
    if (splice.at > pos) {
      co_await asio::async_write(socket_, asio::buffer(frame.bytes.data() + pos, splice.at - pos),
                                 asio::use_awaitable);
      pos = splice.at;
    }
    if (splice.range.fd < 0) {
      co_await asio::async_write(socket_, asio::buffer(splice.memory.data(), splice.memory.size()),
                                 asio::use_awaitable);
      continue;
    }
    off_t offset = static_cast<off_t>(splice.range.offset);
    uint64_t left = splice.range.size;
    while (left > 0) {
      ssize_t n = ::sendfile(socket_.native_handle(), splice.range.fd, &offset, left);
      if (n > 0) {
        left -= static_cast<uint64_t>(n);
      } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        co_await socket_.async_wait(tcp::socket::wait_write, asio::use_awaitable);
      } else {
        // The file ended early (truncated meanwhile): the frame cannot be completed.
        KC_LOG(warn, "server", "sendfile failed",
               {{"client", info_->address}, {"error", n < 0 ? std::strerror(errno) : "short file"}});
        co_return false;
      }
    }
  }
  if (pos < frame.bytes.size()) {
    co_await asio::async_write(socket_, asio::buffer(frame.bytes.data() + pos, frame.bytes.size() - pos),
                               asio::use_awaitable);
  }
  co_return true;
}

awaitable<void> Connection::write_loop() {
  auto self = shared_from_this();
  socket_.native_non_blocking(true);
  try {
    while (!closed_) {
      if (draining_ && pending_.empty()) {
        close(drain_reason_);
        co_return;
      }
      if (pending_.empty() || pending_.front()->state == PendingResponse::State::waiting) {
        write_signal_.expires_at(std::chrono::steady_clock::time_point::max());
        boost::system::error_code ec;
        co_await write_signal_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        continue;
      }
      // Gather every consecutive ready answer without file ranges into one write.
      std::vector<std::shared_ptr<PendingResponse>> batch;
      std::vector<asio::const_buffer> buffers;
      while (!pending_.empty() && pending_.front()->state != PendingResponse::State::waiting) {
        auto& front = pending_.front();
        if (front->state == PendingResponse::State::close) {
          close("handler asked to close");
          co_return;
        }
        if (front->state == PendingResponse::State::frame) {
          if (!front->frame.splices.empty()) {
            if (!batch.empty()) break;  // flush the gathered ones first
            auto one = front;
            pending_.pop_front();
            const uint64_t size = one->frame.total_size();
            if (!co_await send_frame(one->frame)) {
              close("sendfile failed");
              co_return;
            }
            queued_response_bytes_ -= size;
            continue;
          }
          buffers.emplace_back(front->frame.bytes.data(), front->frame.bytes.size());
          batch.push_back(front);
        }
        pending_.pop_front();
      }
      if (!buffers.empty()) {
        co_await asio::async_write(socket_, buffers, asio::use_awaitable);
        for (auto& p : batch) queued_response_bytes_ -= p->frame.total_size();
      }
      last_activity_ = std::chrono::steady_clock::now();
      wake(read_signal_);
    }
  } catch (const boost::system::system_error& e) {
    close(e.code().message());
  }
}

awaitable<void> Connection::idle_watch() {
  auto self = shared_from_this();
  const auto idle = std::chrono::milliseconds(limits_.idle_timeout_ms);
  while (!closed_) {
    idle_timer_.expires_at(last_activity_ + idle);
    boost::system::error_code ec;
    co_await idle_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (closed_) break;
    if (pending_.empty() && std::chrono::steady_clock::now() - last_activity_ >= idle) {
      close("idle timeout");
    }
  }
}

}  // namespace kafkacore::server
