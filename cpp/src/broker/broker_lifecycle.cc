#include "broker/broker_lifecycle.h"

#include <algorithm>

#include "common/log.h"

namespace kafkacore::broker {

BrokerLifecycle::BrokerLifecycle(ControllerChannel& channel, LifecycleConfig config,
                                 std::function<int64_t()> image_offset)
    : channel_(channel), config_(std::move(config)), image_offset_(std::move(image_offset)) {}

void BrokerLifecycle::tick(int64_t now_ms) {
  if (in_flight_ || now_ms < next_send_ms_) return;
  in_flight_ = true;
  // Until registered, retry quickly: start-up waits on it.
  next_send_ms_ = now_ms + (epoch_ < 0 || !running_ ? 50 : config_.heartbeat_interval_ms);
  if (epoch_ < 0) {
    channel_.call(config_.registration, config_.request_timeout_ms,
                  [this, alive = alive_](Result<metadata::ControllerResponse> answer) {
                    if (!*alive) return;
                    in_flight_ = false;
                    if (!answer || answer->error_code != 0) {
                      KC_LOG(debug, "broker", "registration not accepted yet",
                             {{"error", answer ? answer->error_message : answer.error().message()}});
                      return;
                    }
                    epoch_ = answer->epoch;
                    // A later registration of this process (after being fenced for good) has
                    // lost nothing since this one.
                    config_.registration.clean_shutdown = true;
                    next_send_ms_ = 0;
                    KC_LOG(info, "broker", "registered",
                           {{"broker", std::to_string(config_.registration.broker_id)},
                            {"epoch", std::to_string(epoch_)}});
                    tick(0);  // the first heartbeat now: start-up waits on it
                  });
    return;
  }
  metadata::BrokerHeartbeatRequest heartbeat{config_.registration.broker_id, epoch_, image_offset_()};
  channel_.call(heartbeat, config_.request_timeout_ms,
                [this, alive = alive_](Result<metadata::ControllerResponse> answer) {
                  if (!*alive) return;
                  in_flight_ = false;
                  heartbeat_answered(answer);
                });
}

void BrokerLifecycle::link_lost(int64_t now_ms) {
  constexpr int64_t kRedialMs = 100;  // the controller transport's reconnect backoff
  in_flight_ = false;
  next_send_ms_ = std::min(next_send_ms_, now_ms + kRedialMs);
}

void BrokerLifecycle::heartbeat_answered(const Result<metadata::ControllerResponse>& answer) {
  if (!answer) return;  // timed out: the next tick tries again
  if (answer->error_code != 0) {
    // Unknown or stale epoch: a controller fenced us for good (or lost our registration).
    KC_LOG(warn, "broker", "heartbeat refused; registering again", {{"error", answer->error_message}});
    epoch_ = -1;
    next_send_ms_ = 0;
    set_running(false);
    return;
  }
  set_running(!answer->fenced);
  if (answer->fenced) next_send_ms_ = 0;
}

void BrokerLifecycle::set_running(bool running) {
  if (running == running_) return;
  running_ = running;
  if (on_running_changed) on_running_changed(running);
}

}  // namespace kafkacore::broker
