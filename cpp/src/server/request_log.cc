#include "server/request_log.h"

#include <chrono>

#include "protocol/api_table.h"

namespace kafkacore::server {

RequestLog::RequestLog(size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}

void RequestLog::record(const protocol::RequestHeader& header,
                        const std::shared_ptr<const ClientInfo>& client) {
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  std::lock_guard lock(mutex_);
  ++total_;
  Slot* slot;
  if (ring_.size() < capacity_) {
    slot = &ring_.emplace_back();
  } else {
    slot = &ring_[next_];
    next_ = (next_ + 1) % capacity_;
  }
  slot->time_ms = now;
  slot->api_key = header.api_key;
  slot->api_version = header.api_version;
  slot->correlation_id = header.correlation_id;
  if (header.client_id) {
    slot->client_id.assign(*header.client_id);  // reuses the slot's buffer
  } else {
    slot->client_id.clear();
  }
  slot->client = client;
}

std::vector<RequestLogEntry> RequestLog::snapshot() const {
  std::lock_guard lock(mutex_);
  std::vector<RequestLogEntry> out;
  out.reserve(ring_.size());
  // While the ring is not full `next_` is 0 and the order is the insertion order.
  for (size_t i = 0; i < ring_.size(); ++i) {
    const Slot& s = ring_[(next_ + i) % ring_.size()];
    RequestLogEntry e;
    e.time_ms = s.time_ms;
    e.api_key = s.api_key;
    if (const auto* api = protocol::find_api(s.api_key)) e.api_name = api->name;
    e.api_version = s.api_version;
    e.client_id = s.client_id;
    e.correlation_id = s.correlation_id;
    if (s.client) {
      e.connection_id = s.client->connection_id;
      e.peer = s.client->address;
    }
    out.push_back(std::move(e));
  }
  return out;
}

void RequestLog::clear() {
  std::lock_guard lock(mutex_);
  ring_.clear();
  next_ = 0;
  total_ = 0;
}

uint64_t RequestLog::total() const {
  std::lock_guard lock(mutex_);
  return total_;
}

}  // namespace kafkacore::server
