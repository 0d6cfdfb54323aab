#pragma once
// Leaders this broker's replica fetcher cannot reach. When a leader dies its followers notice
// first (their fetch connection drops); the controller fences it only after its grace for lost
// connections. Meanwhile Metadata answers from this broker leave such a leader out
// (LEADER_NOT_AVAILABLE), so clients keep asking for the new one instead of waiting on a dead
// connection: librdkafka, told the old leader again, would not look before its next 1 s scan.
//
// A suspicion ends when the fetcher connects to that broker again, when the broker registers
// anew (another epoch in the image: it restarted), or after `max_age` (by then the controller
// has decided). Reactor thread only.
#include <chrono>
#include <cstdint>
#include <map>

namespace kafkacore::broker {

class UnreachableLeaders {
 public:
  using Clock = std::chrono::steady_clock;

  explicit UnreachableLeaders(std::chrono::milliseconds max_age) : max_age_(max_age) {}

  // `epoch`: the broker's registration epoch in this broker's image when the link failed.
  void failed(int32_t broker_id, int64_t epoch, Clock::time_point now = Clock::now());
  void reached(int32_t broker_id) { failed_.erase(broker_id); }
  bool suspected(int32_t broker_id, int64_t epoch, Clock::time_point now = Clock::now()) const;

 private:
  struct Failure {
    int64_t epoch = 0;
    Clock::time_point since;
  };
  std::chrono::milliseconds max_age_;
  std::map<int32_t, Failure> failed_;
};

}  // namespace kafkacore::broker
