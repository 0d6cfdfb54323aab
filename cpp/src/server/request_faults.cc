#include "server/request_faults.h"

#include <algorithm>
#include <random>

#include "protocol/api_table.h"

namespace kafkacore::server {
namespace {

// splitmix64: tiny, and the same on every platform and standard library (std::mt19937 is, but
// the distributions are not), so a seed gives the same decisions everywhere.
uint64_t next_random(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

double next_unit(uint64_t& state) {
  return static_cast<double>(next_random(state) >> 11) * 0x1.0p-53;  // [0, 1)
}

std::string api_label(int16_t key) {
  const auto* api = protocol::find_api(key);
  return (api ? std::string(api->name) : std::string("API")) + " (key " + std::to_string(key) + ")";
}

}  // namespace

std::string_view fault_action_name(FaultAction action) {
  switch (action) {
    case FaultAction::error:
      return "error";
    case FaultAction::delay:
      return "delay";
    case FaultAction::drop_connection:
      return "drop_connection";
    case FaultAction::black_hole:
      return "black_hole";
  }
  return "unknown";
}

RequestFaults::RequestFaults(std::set<int16_t> error_apis) : error_apis_(std::move(error_apis)) {}

Result<uint64_t> RequestFaults::add(FaultRule rule) {
  auto invalid = [](std::string message) {
    return make_error(Errc::invalid_request, std::move(message));
  };
  if (rule.api_key && !protocol::find_api(*rule.api_key)) {
    return invalid("unknown API key " + std::to_string(*rule.api_key));
  }
  if (!(rule.probability > 0.0 && rule.probability <= 1.0)) {
    return invalid("probability must be in (0, 1], not " + std::to_string(rule.probability));
  }
  if (rule.after < 0) return invalid("after must be >= 0");
  if (rule.times == 0 || rule.times < -1) return invalid("times must be >= 1, or -1 for no limit");
  switch (rule.action) {
    case FaultAction::error: {
      if (!rule.api_key) return invalid("an error rule needs an API: an error answer is per API");
      if (!error_apis_.contains(*rule.api_key)) {
        std::string supported;
        for (int16_t key : error_apis_) {
          const auto* api = protocol::find_api(key);
          supported += (supported.empty() ? "" : ", ") +
                       (api ? std::string(api->name) : std::to_string(key));
        }
        return invalid("no error answer is implemented for " + api_label(*rule.api_key) +
                       "; error rules support " + supported +
                       " (latency, drop_connection and black_hole work for every API)");
      }
      if (rule.error_code == 0) return invalid("an error rule needs a non-zero error code");
      break;
    }
    case FaultAction::delay:
      if (rule.delay_ms < 0) return invalid("a delay must be >= 0 ms");
      break;
    case FaultAction::drop_connection:
    case FaultAction::black_hole:
      break;
  }
  Entry entry;
  if (rule.probability < 1.0) {
    if (!rule.seed)
      rule.seed = (static_cast<uint64_t>(std::random_device{}()) << 32) ^ std::random_device{}();
    entry.rng = *rule.seed;
  }
  entry.state.rule = std::move(rule);
  std::lock_guard lock(mutex_);
  entry.state.id = next_id_++;
  const uint64_t id = entry.state.id;
  entries_.push_back(std::move(entry));
  active_.fetch_add(1, std::memory_order_release);
  return id;
}

bool RequestFaults::remove(uint64_t id) {
  {
    std::lock_guard lock(mutex_);
    auto it = std::find_if(entries_.begin(), entries_.end(),
                           [&](const Entry& e) { return e.state.id == id; });
    if (it == entries_.end()) return false;
    if (!it->state.spent) active_.fetch_sub(1, std::memory_order_release);
    entries_.erase(it);
  }
  removed({id});
  return true;
}

void RequestFaults::clear() {
  std::vector<uint64_t> ids;
  {
    std::lock_guard lock(mutex_);
    for (const auto& e : entries_) ids.push_back(e.state.id);
    entries_.clear();
    active_.store(0, std::memory_order_release);
  }
  if (!ids.empty()) removed(std::move(ids));
}

std::optional<FaultRuleState> RequestFaults::state(uint64_t id) const {
  std::lock_guard lock(mutex_);
  for (const auto& e : entries_) {
    if (e.state.id == id) return e.state;
  }
  return std::nullopt;
}

std::vector<FaultRuleState> RequestFaults::rules() const {
  std::lock_guard lock(mutex_);
  std::vector<FaultRuleState> out;
  out.reserve(entries_.size());
  for (const auto& e : entries_) out.push_back(e.state);
  return out;
}

void RequestFaults::set_removal_hook(std::function<void(std::vector<uint64_t>)> hook) {
  std::lock_guard lock(mutex_);
  removal_hook_ = std::move(hook);
}

void RequestFaults::removed(std::vector<uint64_t> ids) {
  std::function<void(std::vector<uint64_t>)> hook;
  {
    std::lock_guard lock(mutex_);
    hook = removal_hook_;
  }
  if (hook) hook(std::move(ids));
}

bool RequestFaults::filters_match(const FaultRule& rule, const RequestFacts& facts,
                                  bool& replication_known, bool& replication) {
  if (rule.api_key && *rule.api_key != facts.api_key) return false;
  if (rule.client_id && *rule.client_id != facts.client_id) return false;
  if (!rule.include_replication) {
    if (!replication_known) {
      replication = facts.replication && facts.replication();
      replication_known = true;
    }
    if (replication) return false;
  }
  if (rule.topic) {
    if (!facts.topics) return false;
    const auto& topics = facts.topics();
    if (std::find(topics.begin(), topics.end(), *rule.topic) == topics.end()) return false;
  }
  return true;
}

std::optional<FaultDecision> RequestFaults::decide(const RequestFacts& facts) {
  if (idle()) return std::nullopt;
  bool replication_known = false;
  bool replication = false;
  std::lock_guard lock(mutex_);
  for (auto& e : entries_) {
    auto& s = e.state;
    if (s.spent || !filters_match(s.rule, facts, replication_known, replication)) continue;
    ++s.matched;
    if (s.matched <= s.rule.after) continue;
    if (s.rule.probability < 1.0 && next_unit(e.rng) >= s.rule.probability) continue;
    ++s.applied;
    if (s.rule.times >= 0 && s.applied >= s.rule.times) {
      s.spent = true;
      active_.fetch_sub(1, std::memory_order_release);
    }
    return FaultDecision{s.id, s.rule.action, s.rule.error_code, s.rule.delay_ms};
  }
  return std::nullopt;
}

}  // namespace kafkacore::server
