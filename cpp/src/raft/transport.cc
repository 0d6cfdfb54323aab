#include "raft/transport.h"

#include <charconv>

#include "common/log.h"
#include "raft/codec.h"

namespace kafkacore::raft {

namespace asio = server::asio;
using server::awaitable;
using server::tcp;

struct Transport::Peer {
  NodeId id = kNoNode;
  Endpoint endpoint;
  std::shared_ptr<tcp::socket> socket;
  std::deque<Bytes> queue;
  bool writing = false;
  std::chrono::steady_clock::time_point retry_at{};
  // Known only from its inbound connection (an observer, which has no listener): messages to it
  // go back over that connection and are dropped while there is none; never dialled.
  bool accepted = false;
};

Result<std::map<NodeId, Endpoint>> parse_voters(const std::string& text) {
  std::map<NodeId, Endpoint> out;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find(',', pos);
    if (end == std::string::npos) end = text.size();
    const std::string item = text.substr(pos, end - pos);
    pos = end + 1;
    if (item.empty()) continue;
    const size_t at = item.find('@');
    const size_t colon = item.rfind(':');
    if (at == std::string::npos || colon == std::string::npos || colon < at) {
      return make_error(Errc::invalid_config, "controller.quorum.voters entries look like id@host:port, got '" + item + "'");
    }
    int32_t id = 0;
    int port = 0;
    auto id_ok = std::from_chars(item.data(), item.data() + at, id);
    auto port_ok = std::from_chars(item.data() + colon + 1, item.data() + item.size(), port);
    if (id_ok.ec != std::errc{} || id_ok.ptr != item.data() + at || port_ok.ec != std::errc{} ||
        port_ok.ptr != item.data() + item.size() || port < 0 || port > 65535 || id < 0) {
      return make_error(Errc::invalid_config, "bad controller.quorum.voters entry '" + item + "'");
    }
    std::string host = item.substr(at + 1, colon - at - 1);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    if (out.contains(id)) return make_error(Errc::invalid_config, "voter " + std::to_string(id) + " listed twice");
    out[id] = Endpoint{host, static_cast<uint16_t>(port)};
  }
  if (out.empty()) return make_error(Errc::invalid_config, "controller.quorum.voters is empty");
  return out;
}

Transport::Transport(asio::io_context& io, NodeId self, std::map<NodeId, Endpoint> peers,
                     Deliver deliver, TransportLimits limits)
    : io_(io), self_(self), deliver_(std::move(deliver)), limits_(limits), acceptor_(io),
      alive_(std::make_shared<bool>(true)) {
  for (auto& [id, endpoint] : peers) {
    if (id == self_) continue;
    auto peer = std::make_shared<Peer>();
    peer->id = id;
    peer->endpoint = std::move(endpoint);
    peers_[id] = std::move(peer);
  }
}

Transport::~Transport() {
  stop();
  *alive_ = false;
}

void Transport::set_peer(NodeId id, Endpoint endpoint) {
  if (id == self_) return;
  auto& peer = peers_[id];
  if (!peer) {
    peer = std::make_shared<Peer>();
    peer->id = id;
  }
  peer->endpoint = std::move(endpoint);
  peer->accepted = false;
  if (peer->socket) {
    boost::system::error_code ec;
    peer->socket->close(ec);
    peer->socket.reset();
  }
  peer->retry_at = {};
}

Result<uint16_t> Transport::listen(const std::string& host, uint16_t port) {
  boost::system::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  if (ec) return make_error(Errc::invalid_config, "controller listener host must be an address: " + host);
  tcp::endpoint endpoint(address, port);
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return make_error(Errc::unknown_server_error, "cannot listen on controller port " + host + ":" +
                                                      std::to_string(port) + ": " + ec.message());
  }
  asio::co_spawn(io_, accept_loop(alive_), asio::detached);
  return acceptor_.local_endpoint().port();
}

awaitable<void> Transport::accept_loop(std::shared_ptr<bool> alive) {
  for (;;) {
    boost::system::error_code ec;
    tcp::socket socket = co_await acceptor_.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (!*alive || stopped_) co_return;
    if (ec) {
      asio::steady_timer pause(io_, std::chrono::milliseconds(50));
      co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      if (!*alive || stopped_) co_return;
      continue;
    }
    socket.set_option(tcp::no_delay(true), ec);
    auto shared = std::make_shared<tcp::socket>(std::move(socket));
    inbound_[next_inbound_++] = shared;
    asio::co_spawn(io_, read_loop(shared, alive, /*inbound=*/true), asio::detached);
  }
}

void Transport::learn_route(NodeId from, const std::shared_ptr<tcp::socket>& socket) {
  auto& peer = peers_[from];
  if (peer && !peer->accepted) return;  // a configured peer: we dial it ourselves
  if (!peer) {
    peer = std::make_shared<Peer>();
    peer->id = from;
    peer->accepted = true;
  }
  peer->socket = socket;  // its latest connection (it reconnects after a failure)
}

void Transport::forget_socket(const std::shared_ptr<tcp::socket>& socket) {
  // The connection broke: the next message to that peer dials again (or, to an observer,
  // waits for it to connect again) instead of writing into a dead socket first.
  for (auto& [id, peer] : peers_) {
    if (peer->socket == socket) {
      boost::system::error_code ignored;
      socket->close(ignored);
      peer->socket.reset();
    }
  }
}

awaitable<void> Transport::read_loop(std::shared_ptr<tcp::socket> socket, std::shared_ptr<bool> alive,
                                     bool inbound) {
  Bytes buffer;
  NodeId last_from = kNoNode;  // who spoke on this connection, for on_peer_lost
  auto lost = [&] {
    forget_socket(socket);
    if (last_from != kNoNode && on_peer_lost) on_peer_lost(last_from);
  };
  for (;;) {
    std::array<std::byte, 4> header{};
    boost::system::error_code ec;
    co_await asio::async_read(*socket, asio::buffer(header), asio::redirect_error(asio::use_awaitable, ec));
    if (*alive && !stopped_ && ec) lost();
    if (!*alive || stopped_ || ec) co_return;
    const uint32_t size = load_be<uint32_t>(header.data());
    if (size > limits_.max_frame_bytes) {
      KC_LOG(warn, "raft", "oversized frame from a controller peer; closing",
             {{"size", std::to_string(size)}});
      socket->close(ec);
      co_return;
    }
    buffer.resize(size);
    co_await asio::async_read(*socket, asio::buffer(buffer), asio::redirect_error(asio::use_awaitable, ec));
    if (*alive && !stopped_ && ec) lost();
    if (!*alive || stopped_ || ec) co_return;
    auto message = decode_message(buffer);
    if (!message) {
      KC_LOG(warn, "raft", "undecodable message from a controller peer; closing",
             {{"error", message.error().message()}});
      socket->close(ec);
      co_return;
    }
    if (message->to != self_) continue;  // misrouted: not ours to act on
    if (filter_ && !filter_(message->from, message->to)) continue;
    last_from = message->from;
    if (inbound) learn_route(message->from, socket);
    deliver_(std::move(*message));
  }
}

void Transport::send(const Message& message) {
  if (stopped_) return;
  if (filter_ && !filter_(message.from, message.to)) {
    ++dropped_;
    return;
  }
  auto it = peers_.find(message.to);
  if (it == peers_.end()) {
    ++dropped_;
    return;
  }
  auto& peer = it->second;
  if (peer->queue.size() >= limits_.max_queued_per_peer) {
    ++dropped_;
    return;
  }
  Bytes body = encode_message(message);
  Bytes frame(4 + body.size());
  store_be<uint32_t>(frame.data(), static_cast<uint32_t>(body.size()));
  std::copy(body.begin(), body.end(), frame.begin() + 4);
  peer->queue.push_back(std::move(frame));
  if (!peer->writing) {
    peer->writing = true;
    asio::co_spawn(io_, write_loop(peer, alive_), asio::detached);
  }
}

awaitable<void> Transport::write_loop(std::shared_ptr<Peer> peer, std::shared_ptr<bool> alive) {
  auto give_up = [&] {
    // The peer is unreachable: drop what waits; Raft will send fresh messages later.
    dropped_ += peer->queue.size();
    peer->queue.clear();
    if (peer->socket) {
      boost::system::error_code ignored;
      peer->socket->close(ignored);
      peer->socket.reset();
    }
    peer->retry_at = std::chrono::steady_clock::now() + limits_.reconnect_backoff;
  };
  while (!peer->queue.empty()) {
    if (!peer->socket && peer->accepted) {
      // Reachable only once it connects to us again.
      dropped_ += peer->queue.size();
      peer->queue.clear();
      break;
    }
    if (!peer->socket) {
      if (std::chrono::steady_clock::now() < peer->retry_at) {
        // Still backing off: drop what waits but keep the deadline. Pushing it back here would
        // mean a leader heartbeating faster than the backoff never reconnects to a peer that
        // restarted.
        dropped_ += peer->queue.size();
        peer->queue.clear();
        break;
      }
      boost::system::error_code ec;
      auto address = asio::ip::make_address(peer->endpoint.host, ec);
      tcp::endpoint target;
      if (ec) {
        tcp::resolver resolver(io_);
        auto results = co_await resolver.async_resolve(peer->endpoint.host, std::to_string(peer->endpoint.port),
                                                       asio::redirect_error(asio::use_awaitable, ec));
        if (!*alive) co_return;
        if (ec || results.empty()) {
          give_up();
          break;
        }
        target = results.begin()->endpoint();
      } else {
        target = tcp::endpoint(address, peer->endpoint.port);
      }
      auto socket = std::make_shared<tcp::socket>(io_);
      co_await socket->async_connect(target, asio::redirect_error(asio::use_awaitable, ec));
      if (!*alive) co_return;
      if (ec || stopped_) {
        give_up();
        break;
      }
      socket->set_option(tcp::no_delay(true), ec);
      peer->socket = socket;
      // Answers may come back on this connection (to an observer, which has no listener).
      asio::co_spawn(io_, read_loop(socket, alive, /*inbound=*/false), asio::detached);
    }
    Bytes frame = std::move(peer->queue.front());
    peer->queue.pop_front();
    auto socket = peer->socket;
    boost::system::error_code ec;
    co_await asio::async_write(*socket, asio::buffer(frame), asio::redirect_error(asio::use_awaitable, ec));
    if (!*alive) co_return;
    if (ec || stopped_) {
      give_up();
      break;
    }
  }
  peer->writing = false;
}

void Transport::stop() {
  if (stopped_) return;
  stopped_ = true;
  boost::system::error_code ec;
  acceptor_.close(ec);
  for (auto& [id, peer] : peers_) {
    peer->queue.clear();
    if (peer->socket) peer->socket->close(ec);
  }
  for (auto& [id, weak] : inbound_) {
    if (auto s = weak.lock()) s->close(ec);
  }
  inbound_.clear();
}

}  // namespace kafkacore::raft
