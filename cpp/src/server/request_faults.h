#pragma once
// Request-level fault injection for one broker's Kafka listener: rules that pick requests (by
// API, topic, client id) and answer them with an error, answer them late, close the connection
// or never answer. Tests add and remove rules from any thread while the reactor consults them.
//
// Matching: every filter a rule sets must hold. `topic` holds when the request names that topic
// anywhere (a Produce to several topics, a Metadata request listing it, a DescribeConfigs of the
// topic resource, ...); the fault then applies to the whole request, not to that topic's part of
// it. A Fetch inside an incremental fetch session names only the partitions that changed, so a
// topic rule sees such a Fetch only when it names the topic. `client_id` compares the request
// header's client id exactly. Broker-to-broker replication requests (Fetch, and
// OffsetForLeaderEpoch/ListOffsets, with a replica id >= 0) never match unless the rule sets
// `include_replication`: the clients are the target, not the cluster's own replication.
//
// Triggers, in this order for every request the filters match (while the rule is not spent):
// `matched` counts it; the first `after` matches are let through; then each is applied with
// `probability` (a per-rule generator seeded with `seed`: the same seed and the same sequence of
// matching requests give the same decisions); `times` applications spend the rule (-1: never),
// after which it matches nothing but stays listed with its counters until removed.
//
// Rules are tried in the order they were added; the first one applied decides, and the rules
// after it do not see that request (they do not count it as matched).
#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace kafkacore::server {

enum class FaultAction : uint8_t {
  error,            // a well-formed answer whose every error code is `error_code`
  delay,            // handled normally, `delay_ms` later
  drop_connection,  // the connection is closed instead of answering
  black_hole,       // never answered, the connection stays open (released when the rule goes)
};

std::string_view fault_action_name(FaultAction action);

struct FaultRule {
  std::optional<int16_t> api_key;
  std::optional<std::string> topic;
  std::optional<std::string> client_id;
  bool include_replication = false;

  FaultAction action = FaultAction::error;
  int16_t error_code = 0;  // FaultAction::error
  int64_t delay_ms = 0;    // FaultAction::delay

  int64_t after = 0;             // matching requests let through before the first application
  int64_t times = -1;            // applications before the rule is spent; -1: until removed
  double probability = 1.0;      // in (0, 1]
  std::optional<uint64_t> seed;  // for probability < 1; none: a random seed
};

struct FaultRuleState {
  uint64_t id = 0;
  FaultRule rule;
  int64_t matched = 0;
  int64_t applied = 0;
  bool spent = false;  // `times` reached
};

// What the reactor knows of one request when it asks. The topics and the replication flag cost
// a decode of the body, so they are computed only if a rule needs them, at most once.
struct RequestFacts {
  int16_t api_key = 0;
  std::string_view client_id;
  std::function<bool()> replication;                        // nullptr: false
  std::function<const std::vector<std::string>&()> topics;  // nullptr: names no topic
};

struct FaultDecision {
  uint64_t rule_id = 0;
  FaultAction action = FaultAction::error;
  int16_t error_code = 0;
  int64_t delay_ms = 0;
};

class RequestFaults {
 public:
  // `error_apis`: the API keys that can be answered with an error (the broker's builders); an
  // error rule for any other API is refused.
  explicit RequestFaults(std::set<int16_t> error_apis = {});
  RequestFaults(const RequestFaults&) = delete;
  RequestFaults& operator=(const RequestFaults&) = delete;

  // Any thread. Returns the new rule's id, or INVALID_REQUEST naming what is wrong with it.
  Result<uint64_t> add(FaultRule rule);
  // Any thread. false if no such rule. Calls the removal hook (outside the lock).
  bool remove(uint64_t id);
  void clear();
  std::optional<FaultRuleState> state(uint64_t id) const;
  std::vector<FaultRuleState> rules() const;
  const std::set<int16_t>& error_apis() const { return error_apis_; }

  // Reactor: true while no rule can apply, so the common path costs one atomic load.
  bool idle() const { return active_.load(std::memory_order_acquire) == 0; }
  // Reactor: the rule that applies to this request, if any (counters updated).
  std::optional<FaultDecision> decide(const RequestFacts& facts);

  // Called with the ids of removed rules (remove(), clear()) on the removing thread, so held
  // requests can be released. Set once, before rules are added.
  void set_removal_hook(std::function<void(std::vector<uint64_t>)> hook);

 private:
  struct Entry {
    FaultRuleState state;
    uint64_t rng = 0;  // splitmix64 state
  };
  static bool filters_match(const FaultRule& rule, const RequestFacts& facts,
                            bool& replication_known, bool& replication);
  void removed(std::vector<uint64_t> ids);

  const std::set<int16_t> error_apis_;
  mutable std::mutex mutex_;
  std::vector<Entry> entries_;
  uint64_t next_id_ = 1;
  std::atomic<int> active_{0};  // rules not spent
  std::function<void(std::vector<uint64_t>)> removal_hook_;
};

}  // namespace kafkacore::server
