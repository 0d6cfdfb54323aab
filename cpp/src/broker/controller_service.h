#pragma once
// The active controller inside a broker that is a controller-quorum voter (KRaft's combined
// mode): while this node leads the Raft quorum it answers brokers' requests (registration,
// heartbeats, ISR changes, admin operations) with the metadata::Controller's decisions, proposes
// the resulting records and answers once they commit. It acts only after the quorum has applied
// everything committed before its term (its own no-op), so its image is never behind.
// Reactor thread only.
#include <cstdint>
#include <functional>

#include "common/clock.h"
#include "metadata/controller.h"
#include "metadata/controller_rpc.h"
#include "metadata/metadata_machine.h"
#include "raft/quorum.h"

namespace kafkacore::broker {

class ControllerService {
 public:
  using Respond = std::function<void(metadata::ControllerResponse)>;

  ControllerService(raft::Quorum& quorum, metadata::MetadataMachine& machine,
                    metadata::ControllerConfig config, Clock& clock);

  void leadership_changed(bool is_leader);
  void image_applied(const metadata::ImagePtr& image);
  // A broker's controller connection broke (any node records it: a controller elected after
  // the death of the previous one uses it too).
  void connection_lost(int32_t broker_id) { controller_.connection_lost(broker_id); }
  // ... and then its client listener refused a connection (broker/listener_probe.h).
  void listener_refused(int32_t broker_id) { controller_.listener_refused(broker_id); }
  // Session expiry and preferred-leader election; call every few tens of milliseconds.
  void tick();
  void handle(const metadata::ControllerRequest& request, Respond respond);
  bool active() const { return active_; }

 private:
  // Proposes `records` (if any) and answers once they commit.
  void commit_and_respond(Result<metadata::Records> records, metadata::ControllerResponse response,
                          Respond respond);
  void propose(const metadata::Records& records, std::function<void(Result<raft::Index>)> done);

  raft::Quorum& quorum_;
  metadata::MetadataMachine& machine_;
  metadata::Controller controller_;
  int64_t producer_id_block_size_;
  bool leader_ = false;
  bool active_ = false;
  raft::Index activates_at_ = 0;  // the index of this term's no-op
};

}  // namespace kafkacore::broker
