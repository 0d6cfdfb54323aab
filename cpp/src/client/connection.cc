#include "client/connection.h"

#include <poll.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace kafkacore::client {

using asio::ip::tcp;

struct Connection::Socket {
  explicit Socket(asio::io_context& io) : socket(io) {}
  tcp::socket socket;
  std::string peer;  // host:port, for error messages
};

namespace {

Error network_error(std::string message) { return Error(kNetworkError, std::move(message)); }

// One gathered write takes at most this much of the queue (asio splits it into writev calls of
// at most 64 buffers; the bound keeps one write from holding megabytes of frames back).
constexpr size_t kMaxGatheredBuffers = 256;
constexpr size_t kMaxGatheredBytes = 4u << 20;

}  // namespace

Connection::Connection(asio::io_context& io, ConnectionOptions options)
    : io_(io), options_(std::move(options)), alive_(std::make_shared<bool>(true)) {}

Connection::~Connection() {
  *alive_ = false;
  for (Pending& p : pending_) {
    if (p.timer) p.timer->cancel();
  }
  pending_.clear();
  if (socket_) {
    boost::system::error_code ignored;
    socket_->socket.close(ignored);
  }
}

void Connection::connect(const std::string& host, uint16_t port,
                         std::chrono::milliseconds timeout,
                         std::function<void(Result<void>)> done) {
  if (state_ != State::closed) {
    auto alive = alive_;
    close();
    if (!*alive) return;
  }
  ++generation_;
  state_ = State::connecting;
  socket_ = std::make_shared<Socket>(io_);
  socket_->peer = host + ":" + std::to_string(port);
  asio::co_spawn(io_, connect_loop(host, port, timeout, generation_, socket_, std::move(done), alive_),
                 asio::detached);
}

asio::awaitable<void> Connection::connect_loop(std::string host, uint16_t port,
                                               std::chrono::milliseconds timeout,
                                               uint64_t generation, std::shared_ptr<Socket> socket,
                                               std::function<void(Result<void>)> done,
                                               std::shared_ptr<bool> alive) {
  // co_spawn starts this later: the connection may have been destroyed since connect().
  if (!*alive) co_return;
  // The timer closes the socket, which aborts the resolve/connect in progress.
  auto timed_out = std::make_shared<bool>(false);
  auto finished = std::make_shared<bool>(false);  // a late timer handler must not close it
  auto resolver = std::make_shared<tcp::resolver>(io_);
  asio::steady_timer timer(io_, timeout);
  timer.async_wait([socket, resolver, timed_out, finished](const boost::system::error_code& ec) {
    if (ec || *finished) return;
    *timed_out = true;
    resolver->cancel();
    boost::system::error_code ignored;
    socket->socket.close(ignored);
  });

  boost::system::error_code ec;
  std::vector<tcp::endpoint> targets;
  auto address = asio::ip::make_address(host, ec);
  if (!ec) {
    targets.emplace_back(address, port);
  } else {
    auto results = co_await resolver->async_resolve(host, std::to_string(port),
                                                    asio::redirect_error(asio::use_awaitable, ec));
    if (!ec) {
      for (const auto& entry : results) targets.push_back(entry.endpoint());
    }
  }
  if (!ec && !*timed_out) {
    if (targets.empty()) {
      ec = asio::error::host_not_found;
    } else {
      co_await asio::async_connect(socket->socket, targets,
                                   asio::redirect_error(asio::use_awaitable, ec));
    }
  }
  *finished = true;
  timer.cancel();
  if (!*alive) co_return;
  if (generation != generation_) {
    // close() or another connect() overtook this one.
    done(std::unexpected(network_error("connection to " + socket->peer + " closed while connecting")));
    co_return;
  }
  if (*timed_out || ec) {
    Error error = *timed_out ? Error(Errc::request_timed_out,
                                     "connect to " + socket->peer + " timed out after " +
                                         std::to_string(timeout.count()) + " ms")
                             : network_error("connect to " + socket->peer + " failed: " + ec.message());
    fail_all(error);
    if (*alive) done(std::unexpected(std::move(error)));
    co_return;
  }
  socket->socket.set_option(tcp::no_delay(true), ec);
  state_ = State::connected;
  asio::co_spawn(io_, read_loop(generation, socket, alive), asio::detached);
  start_writing();
  done({});
}

void Connection::enqueue(int16_t api_key, int16_t version, protocol::OutputFrame frame,
                         std::chrono::milliseconds timeout,
                         std::function<Result<void>(Result<std::shared_ptr<Bytes>>, size_t)> deliver) {
  if (state_ == State::closed) {
    // Posted, so a callback never runs inside the send() that caused it.
    asio::post(io_, [alive = alive_, deliver = std::move(deliver)] {
      if (*alive) (void)deliver(std::unexpected(network_error("connection is closed")), 0);
    });
    return;
  }
  Pending pending;
  pending.correlation_id = load_be<int32_t>(frame.bytes.data() + 8);  // size, key, version, id
  pending.api_key = api_key;
  pending.api_version = version;
  pending.deliver = std::move(deliver);
  arm_timer(pending, timeout);
  pending_.push_back(std::move(pending));
  write_queue_.push_back(std::move(frame));
  if (state_ == State::connected) start_writing();
}

void Connection::enqueue_oneway(protocol::OutputFrame frame, std::function<void(Result<void>)> done) {
  if (state_ == State::closed) {
    asio::post(io_, [alive = alive_, done = std::move(done)] {
      if (*alive) done(std::unexpected(network_error("connection is closed")));
    });
    return;
  }
  write_queue_.push_back(std::move(frame));
  if (state_ == State::connected) start_writing();
  asio::post(io_, [alive = alive_, done = std::move(done)] {
    if (*alive) done({});
  });
}

void Connection::arm_timer(Pending& pending, std::chrono::milliseconds timeout) {
  pending.timer = std::make_shared<asio::steady_timer>(io_, timeout);
  pending.timer->async_wait([this, alive = alive_, generation = generation_,
                             id = pending.correlation_id,
                             timeout](const boost::system::error_code& ec) {
    if (ec || !*alive || generation != generation_) return;
    // Answers come in order, so a late one would block everything behind it: close (as
    // Kafka's NetworkClient does) and let the owner reconnect.
    fail_all(network_error("connection closed: request " + std::to_string(id) + " timed out"), id,
             Error(Errc::request_timed_out,
                   "request timed out after " + std::to_string(timeout.count()) + " ms"));
  });
}

void Connection::start_writing() {
  if (writing_ || write_queue_.empty() || state_ != State::connected) return;
  writing_ = true;
  asio::co_spawn(io_, write_loop(generation_, socket_, alive_), asio::detached);
}

asio::awaitable<void> Connection::write_loop(uint64_t generation, std::shared_ptr<Socket> socket,
                                             std::shared_ptr<bool> alive) {
  while (*alive && generation == generation_ && !write_queue_.empty()) {
    // Everything queued goes out in one gathered write: frames back to back, each frame's
    // bytes interleaved with its in-memory splices (never copied into the frame).
    std::vector<protocol::OutputFrame> frames;
    std::vector<asio::const_buffer> buffers;
    size_t bytes = 0;
    while (!write_queue_.empty() && buffers.size() < kMaxGatheredBuffers && bytes < kMaxGatheredBytes) {
      frames.push_back(std::move(write_queue_.front()));
      write_queue_.pop_front();
      const protocol::OutputFrame& frame = frames.back();
      size_t pos = 0;
      for (const auto& splice : frame.splices) {  // requests carry no file ranges, only memory
        if (splice.at > pos) buffers.emplace_back(frame.bytes.data() + pos, splice.at - pos);
        buffers.emplace_back(splice.memory.data(), splice.memory.size());
        pos = splice.at;
      }
      if (pos < frame.bytes.size()) buffers.emplace_back(frame.bytes.data() + pos, frame.bytes.size() - pos);
      bytes += frame.total_size();
    }
    boost::system::error_code ec;
    co_await asio::async_write(socket->socket, buffers,
                               asio::redirect_error(asio::use_awaitable, ec));
    if (!*alive || generation != generation_) co_return;
    if (ec) {
      fail_all(network_error("write to " + socket->peer + " failed: " + ec.message()));
      co_return;
    }
  }
  if (*alive && generation == generation_) writing_ = false;
}

asio::awaitable<void> Connection::read_loop(uint64_t generation, std::shared_ptr<Socket> socket,
                                            std::shared_ptr<bool> alive) {
  for (;;) {
    std::array<std::byte, 4> prefix{};
    boost::system::error_code ec;
    co_await asio::async_read(socket->socket, asio::buffer(prefix),
                              asio::redirect_error(asio::use_awaitable, ec));
    if (!*alive || generation != generation_) co_return;
    if (ec) {
      fail_all(network_error(ec == asio::error::eof
                                 ? "connection to " + socket->peer + " closed by the broker"
                                 : "read from " + socket->peer + " failed: " + ec.message()));
      co_return;
    }
    const int32_t size = load_be<int32_t>(prefix.data());
    if (size < 4 || static_cast<size_t>(size) > options_.max_response_bytes) {
      fail_all(network_error("response frame of " + std::to_string(size) + " bytes from " +
                             socket->peer + " (limit " +
                             std::to_string(options_.max_response_bytes) + ")"));
      co_return;
    }
    auto frame = frames_->take(static_cast<size_t>(size));
    co_await asio::async_read(socket->socket, asio::buffer(*frame),
                              asio::redirect_error(asio::use_awaitable, ec));
    if (!*alive || generation != generation_) co_return;
    if (ec) {
      fail_all(network_error("connection to " + socket->peer + " lost mid-frame: " + ec.message()));
      co_return;
    }
    if (pending_.empty()) {
      fail_all(network_error("unsolicited response from " + socket->peer));
      co_return;
    }
    Pending& front = pending_.front();
    protocol::Reader reader(*frame);
    auto id = protocol::decode_response_header(reader, front.api_key, front.api_version);
    if (!id || *id != front.correlation_id) {
      fail_all(network_error(
          !id ? "bad response header from " + socket->peer + ": " + id.error().message()
              : "response correlation id " + std::to_string(*id) + " from " + socket->peer +
                    ", expected " + std::to_string(front.correlation_id)));
      co_return;
    }
    Pending done = std::move(front);
    pending_.pop_front();
    if (done.timer) done.timer->cancel();
    auto delivered = done.deliver(std::move(frame), reader.position());
    if (!*alive || generation != generation_) co_return;
    if (!delivered) {
      fail_all(delivered.error());
      co_return;
    }
  }
}

bool Connection::peer_gone() const {
  if (state_ != State::connected || !socket_) return false;
  pollfd probe{socket_->socket.native_handle(), POLLRDHUP, 0};
  return ::poll(&probe, 1, 0) > 0 && (probe.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

void Connection::close() {
  if (state_ == State::closed) return;
  fail_all(network_error("connection closed"));
}

void Connection::fail_all(const Error& error, std::optional<int32_t> culprit,
                          std::optional<Error> culprit_error) {
  auto alive = alive_;
  state_ = State::closed;
  ++generation_;
  writing_ = false;
  write_queue_.clear();
  if (socket_) {
    boost::system::error_code ignored;
    socket_->socket.close(ignored);
    socket_.reset();
  }
  std::deque<Pending> failed = std::move(pending_);
  pending_.clear();
  for (Pending& p : failed) {
    if (p.timer) p.timer->cancel();
  }
  for (Pending& p : failed) {
    if (!*alive) return;  // a callback destroyed the connection: drop the rest silently
    const Error& e = (culprit && culprit_error && p.correlation_id == *culprit) ? *culprit_error : error;
    (void)p.deliver(std::unexpected(e), 0);
  }
}

}  // namespace kafkacore::client
