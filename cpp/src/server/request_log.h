#pragma once
// The last N requests a broker received on its Kafka listener (a bounded ring, always on), for
// tests that check what a client actually sent: which API, version, client id. Recording costs
// a clock read, an uncontended lock and a copy of the client id into a reused slot; nothing
// allocates once the ring is full and client ids repeat. Thread-safe: the reactor records while
// any thread takes snapshots or clears.
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/headers.h"
#include "server/request.h"

namespace kafkacore::server {

struct RequestLogEntry {
  int64_t time_ms = 0;  // wall clock, milliseconds since the epoch
  int16_t api_key = 0;
  std::string_view api_name;  // the codec's static API table ("" for a key it does not know)
  int16_t api_version = 0;
  std::string client_id;  // "" when the header's client id is null
  int32_t correlation_id = 0;
  uint64_t connection_id = 0;
  std::string peer;  // host:port of the client
};

class RequestLog {
 public:
  static constexpr size_t kDefaultCapacity = 10000;
  explicit RequestLog(size_t capacity = kDefaultCapacity);

  // Reactor: one request as it arrives (before any handler or fault sees it).
  void record(const protocol::RequestHeader& header,
              const std::shared_ptr<const ClientInfo>& client);
  // Oldest first; at most capacity() entries.
  std::vector<RequestLogEntry> snapshot() const;
  void clear();
  size_t capacity() const { return capacity_; }
  // Every request recorded since start or the last clear(), including those the ring dropped.
  uint64_t total() const;

 private:
  struct Slot {
    int64_t time_ms = 0;
    int16_t api_key = 0;
    int16_t api_version = 0;
    int32_t correlation_id = 0;
    std::string client_id;
    // Shared with the connection: the peer address is copied only when a snapshot is taken.
    std::shared_ptr<const ClientInfo> client;
  };

  const size_t capacity_;
  mutable std::mutex mutex_;
  std::vector<Slot> ring_;  // grows to capacity_, then `next_` overwrites the oldest
  size_t next_ = 0;
  uint64_t total_ = 0;
};

}  // namespace kafkacore::server
