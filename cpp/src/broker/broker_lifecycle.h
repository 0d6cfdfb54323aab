#pragma once
// A broker's membership in the cluster: it registers with the active controller (a new epoch
// per process start), then heartbeats with how far it has applied the metadata log. The
// controller keeps it fenced (no leaderships, not listed to clients) until it has caught up, and
// fences it again if heartbeats stop for broker.session.timeout.ms. Reactor thread only.
#include <cstdint>
#include <functional>

#include "broker/controller_channel.h"

namespace kafkacore::broker {

struct LifecycleConfig {
  metadata::RegisterBrokerRequest registration;
  int64_t heartbeat_interval_ms = 2000;  // broker.heartbeat.interval.ms
  int64_t request_timeout_ms = 2000;
};

class BrokerLifecycle {
 public:
  BrokerLifecycle(ControllerChannel& channel, LifecycleConfig config,
                  std::function<int64_t()> image_offset);

  // Sends what is due; call often (every ~20 ms).
  void tick(int64_t now_ms);
  int64_t epoch() const { return epoch_; }
  // Registered and unfenced: the controller considers this broker caught up.
  bool running() const { return running_; }
  // Runs when the broker becomes (or stops being) unfenced.
  std::function<void(bool running)> on_running_changed;
  // A connection to a controller broke. If it was the active controller's, that controller
  // fences us unless a heartbeat arrives within its short grace for lost connections: send one
  // as soon as the link can be dialled again, whatever the heartbeat interval, abandoning a
  // call that went out on the dead link.
  void link_lost(int64_t now_ms);

 private:
  void heartbeat_answered(const Result<metadata::ControllerResponse>& answer);
  void set_running(bool running);

  ControllerChannel& channel_;
  LifecycleConfig config_;
  std::function<int64_t()> image_offset_;
  int64_t epoch_ = -1;  // -1: not registered
  bool in_flight_ = false;
  bool running_ = false;
  int64_t next_send_ms_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);

 public:
  ~BrokerLifecycle() { *alive_ = false; }
};

}  // namespace kafkacore::broker
