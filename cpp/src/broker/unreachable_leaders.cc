#include "broker/unreachable_leaders.h"

namespace kafkacore::broker {

void UnreachableLeaders::failed(int32_t broker_id, int64_t epoch, Clock::time_point now) {
  auto [it, added] = failed_.try_emplace(broker_id, Failure{epoch, now});
  // Repeated failures (every reconnect backoff) keep the first time: max_age bounds the
  // whole outage, not the time since the last attempt.
  if (!added && it->second.epoch != epoch) it->second = Failure{epoch, now};
}

bool UnreachableLeaders::suspected(int32_t broker_id, int64_t epoch, Clock::time_point now) const {
  auto it = failed_.find(broker_id);
  return it != failed_.end() && it->second.epoch == epoch && now - it->second.since < max_age_;
}

}  // namespace kafkacore::broker
