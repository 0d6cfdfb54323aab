#pragma once
// One member of a Raft quorum in a process, a voter or an observer (QuorumConfig::observer): the sans-io Node driven by a tick timer, its
// durable LogStore, the TCP Transport to the other voters, and the application's state machine
// (the metadata image, for the controller quorum). Follows node.h's Ready contract: persist
// (fsync), then send, then apply. Proposals complete when their entry commits. Runs on the
// given io_context; every call from that context's thread.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>

#include "common/error.h"
#include "raft/log_store.h"
#include "raft/node.h"
#include "raft/state_machine.h"
#include "raft/transport.h"
#include "server/asio.h"

namespace kafkacore::raft {


struct QuorumConfig {
  NodeId id = 1;
  std::map<NodeId, Endpoint> voters;  // including this node, unless it is an observer
  // Follow the log without voting (KRaft's process.roles=broker): not among `voters`, no
  // listener (it dials the voters, who answer on that connection), never a leader.
  bool observer = false;
  std::filesystem::path dir;          // the node's log store
  std::string listen_host = "127.0.0.1";
  uint16_t listen_port = 0;           // 0: the port in `voters`, or any if that is 0 too
  int tick_ms = 50;
  int election_ticks = 10;            // elections after 0.5-1 s of silence at 50 ms ticks
  int heartbeat_ticks = 1;
  Index snapshot_every = 1000;        // compact after this many applied entries
  uint64_t seed = 0;
  storage::IoFaults* faults = nullptr;  // for the log store (must outlive the quorum)
};

class Quorum {
 public:
  static Result<std::unique_ptr<Quorum>> start(server::asio::io_context& io, QuorumConfig config,
                                               StateMachine& machine);
  ~Quorum();

  // Returns the index the entry was appended at, or NOT_CONTROLLER if this node does not lead
  // (then `done` is never called). `done` gets the index once the entry commits, or an error if
  // leadership is lost first (it may still commit later: callers re-check the committed state,
  // as Kafka's controller does).
  Result<Index> propose(Bytes data, std::function<void(Result<Index>)> done);
  // Application bytes to another member (dropped if the link is down, like any message).
  void send_application(NodeId to, Bytes data);
  // Application bytes from another member.
  std::function<void(NodeId from, Bytes data)> on_application;

  bool is_leader() const { return node_->role() == Role::leader; }
  NodeId leader() const { return node_->leader(); }
  Term term() const { return node_->term(); }
  Index commit_index() const { return node_->commit_index(); }
  uint16_t port() const { return port_; }
  Transport& transport() { return *transport_; }
  const Node& node() const { return *node_; }

  // Called after every change of leadership seen by this node (including losing it).
  std::function<void(bool is_leader, NodeId leader, Term term)> on_leadership;

  // Campaigns now instead of after an election timeout, unless a leader is known (voters that
  // start together; see Broker::campaign_now).
  void campaign_now();

  void stop();

 private:
  Quorum(server::asio::io_context& io, QuorumConfig config, StateMachine& machine);
  void schedule_tick();
  void drive();
  void fail_pending(const std::string& why);

  server::asio::io_context& io_;
  QuorumConfig config_;
  StateMachine& machine_;
  std::unique_ptr<LogStore> store_;
  std::unique_ptr<Node> node_;
  std::unique_ptr<Transport> transport_;
  std::unique_ptr<server::asio::steady_timer> timer_;
  uint16_t port_ = 0;
  std::map<Index, std::pair<Term, std::function<void(Result<Index>)>>> pending_;
  Index applied_since_snapshot_ = 0;
  Role last_role_ = Role::follower;
  NodeId last_leader_ = kNoNode;
  bool stopped_ = false;
  bool failed_ = false;  // the store failed: this node stops participating (fail-stop)
};

}  // namespace kafkacore::raft
