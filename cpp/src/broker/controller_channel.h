#pragma once
// A broker's requests to the active controller. The controller is whichever voter leads the Raft
// quorum: requests go to it as application messages on the controller listener (or straight to
// the local ControllerService when this node leads), and wait for it to be known. A request is
// sent again when leadership moves before it was answered, or when the answer is
// NOT_CONTROLLER (nothing was written). An answer that committed records completes only once this
// broker's own metadata image has applied them, so the caller sees its change. Also serves the
// other side: requests arriving from other brokers go to the local ControllerService (none on a
// broker-only node, which never leads: such requests are answered NOT_CONTROLLER).
// Reactor thread only.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>

#include "broker/controller_service.h"
#include "metadata/controller_rpc.h"
#include "raft/quorum.h"
#include "server/asio.h"

namespace kafkacore::broker {

class ControllerChannel {
 public:
  using Done = std::function<void(Result<metadata::ControllerResponse>)>;

  // `local`: nullptr on a broker-only node (an observer of the quorum).
  ControllerChannel(server::asio::io_context& io, raft::Quorum& quorum, ControllerService* local,
                    Clock& clock);
  ~ControllerChannel();

  // `done` runs exactly once (unless stop() comes first), never inside this call.
  void call(metadata::ControllerRequest request, int64_t timeout_ms, Done done);
  void on_application(raft::NodeId from, Bytes data);
  void image_applied(int64_t offset);
  // The quorum learnt of a new leader: calls waiting for one go out now rather than at the next
  // sweep (start-up waits on registration).
  void leader_changed();
  void stop();

 private:
  struct Call {
    metadata::ControllerRequest request;
    int64_t deadline_ms = 0;
    Done done;
    raft::NodeId sent_to = raft::kNoNode;  // kNoNode: waiting for a controller to send to
    std::optional<metadata::ControllerResponse> answer;  // committed; waits for the local image
  };
  void schedule_sweep();
  void sweep();
  void send(uint64_t id, Call& call);
  void answered(uint64_t id, metadata::ControllerResponse response);
  void finish(uint64_t id, Result<metadata::ControllerResponse> result);

  server::asio::io_context& io_;
  raft::Quorum& quorum_;
  ControllerService* local_;
  Clock& clock_;
  std::map<uint64_t, Call> calls_;
  uint64_t next_id_ = 1;
  int64_t image_offset_ = -1;
  std::unique_ptr<server::asio::steady_timer> timer_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace kafkacore::broker
