#include "broker/fetch_sessions.h"

#include <climits>

namespace kafkacore::broker {
namespace {
constexpr auto kEvictAfter = std::chrono::milliseconds(120000);
}

FetchSession* FetchSessionCache::create() {
  if (static_cast<int32_t>(sessions_.size()) >= slots_) {
    expire();
    if (static_cast<int32_t>(sessions_.size()) >= slots_) return nullptr;
  }
  int32_t id;
  do {
    id = next_id_;
    next_id_ = next_id_ == INT32_MAX ? 1 : next_id_ + 1;
  } while (sessions_.contains(id));
  auto session = std::make_unique<FetchSession>();
  session->id = id;
  session->last_used = std::chrono::steady_clock::now();
  auto* raw = session.get();
  sessions_.emplace(id, std::move(session));
  return raw;
}

FetchSession* FetchSessionCache::find(int32_t id) {
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return nullptr;
  it->second->last_used = std::chrono::steady_clock::now();
  return it->second.get();
}

void FetchSessionCache::forget_topic(const std::string& topic) {
  for (auto& [id, s] : sessions_) {
    std::erase_if(s->partitions, [&](const auto& kv) { return kv.first.first == topic; });
  }
}

void FetchSessionCache::expire() {
  const auto now = std::chrono::steady_clock::now();
  std::erase_if(sessions_, [&](const auto& kv) { return now - kv.second->last_used > kEvictAfter; });
}

}  // namespace kafkacore::broker
