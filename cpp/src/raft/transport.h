#pragma once
// Raft messages between controller voters over TCP: length-prefixed msgpack frames on a
// separate controller listener (not the Kafka port). One outgoing connection per peer, opened
// lazily and re-opened after a failure; a message that cannot be sent now is dropped — Raft
// retries by itself (heartbeats, re-sent appends), so a queue that only grows helps nobody.
// A filter hook drops chosen links for fault injection (network partitions in tests).
// Observers (broker-only nodes) have no listener: they dial the voters, who learn the route back
// from the first message on that connection and answer over it; a node reads every connection it
// dialled for such answers.
// Runs on the owner's io_context; not thread-safe.
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "common/error.h"
#include "raft/node.h"
#include "server/asio.h"

namespace kafkacore::raft {

struct Endpoint {
  std::string host;
  uint16_t port = 0;
};

// Parses Kafka's `controller.quorum.voters`: "1@host:9093,2@host:9094".
Result<std::map<NodeId, Endpoint>> parse_voters(const std::string& text);

struct TransportLimits {
  size_t max_frame_bytes = 64u << 20;   // a snapshot travels in one message
  size_t max_queued_per_peer = 1024;    // beyond this, new messages are dropped
  std::chrono::milliseconds reconnect_backoff{100};
};

class Transport {
 public:
  using Deliver = std::function<void(Message)>;
  // false: drop the message on this link (from, to).
  using LinkFilter = std::function<bool(NodeId from, NodeId to)>;

  Transport(server::asio::io_context& io, NodeId self, std::map<NodeId, Endpoint> peers,
            Deliver deliver, TransportLimits limits = {});
  ~Transport();

  // Binds the controller listener (port 0: any); returns the bound port.
  Result<uint16_t> listen(const std::string& host, uint16_t port);
  void send(const Message& message);
  void set_filter(LinkFilter filter) { filter_ = std::move(filter); }
  // A connection that carried messages from `from` broke (EOF or reset: the peer stopped,
  // crashed or was killed, or the link failed). A hint, not proof: the peer may reconnect.
  std::function<void(NodeId from)> on_peer_lost;
  // A peer's address changed (its port is only known once it listens, in tests).
  void set_peer(NodeId id, Endpoint endpoint);
  void stop();

  uint64_t dropped() const { return dropped_; }

 private:
  struct Peer;
  // Coroutines outlive no Transport: each holds `alive` and stops when it turns false.
  server::awaitable<void> accept_loop(std::shared_ptr<bool> alive);
  server::awaitable<void> read_loop(std::shared_ptr<server::tcp::socket> socket,
                                    std::shared_ptr<bool> alive, bool inbound);
  void learn_route(NodeId from, const std::shared_ptr<server::tcp::socket>& socket);
  void forget_socket(const std::shared_ptr<server::tcp::socket>& socket);
  server::awaitable<void> write_loop(std::shared_ptr<Peer> peer, std::shared_ptr<bool> alive);

  server::asio::io_context& io_;
  NodeId self_;
  Deliver deliver_;
  TransportLimits limits_;
  LinkFilter filter_;
  server::tcp::acceptor acceptor_;
  std::map<NodeId, std::shared_ptr<Peer>> peers_;
  std::map<uint64_t, std::weak_ptr<server::tcp::socket>> inbound_;
  uint64_t next_inbound_ = 0;
  bool stopped_ = false;
  uint64_t dropped_ = 0;
  std::shared_ptr<bool> alive_;
};

}  // namespace kafkacore::raft
