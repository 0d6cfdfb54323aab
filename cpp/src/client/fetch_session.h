#pragma once
// The client half of an incremental fetch session (KIP-227) with one broker. The first request
// is full (epoch 0) and opens a session; later ones carry the session id and the next epoch and
// name only partitions that are new or whose fetch offset, size limit or leader epoch changed,
// plus the partitions to forget. The broker fetches every partition the session holds, so a
// partition the consumer must not fetch right now (paused, buffer full, moved) is forgotten.
// Any error (FETCH_SESSION_ID_NOT_FOUND, INVALID_FETCH_SESSION_EPOCH, a failed connection)
// makes the next request full again. Pure: no I/O.
#include <cstdint>
#include <map>

#include "client/types.h"
#include "common/error.h"
#include "protocol/messages.h"

namespace kafkacore::client {

struct FetchTarget {
  int64_t fetch_offset = 0;
  int32_t max_bytes = 0;
  int32_t leader_epoch = -1;
  bool operator==(const FetchTarget&) const = default;
};

class FetchSessionHandler {
 public:
  // Fills session_id, session_epoch, topics and forgotten_topics_data of `request` so that the
  // broker fetches exactly `wanted`. One request at a time: the next build() must follow
  // on_response() or on_error() for this one.
  void build(const std::map<TopicPartition, FetchTarget>& wanted, int16_t version,
             protocol::FetchRequest& request);
  // The answer to the last request carried no top-level error.
  void on_response(int32_t response_session_id);
  // The last request failed (connection, timeout) or was answered with a top-level error.
  void on_error(Errc code);

  int32_t session_id() const { return id_; }
  int32_t next_epoch() const { return epoch_; }
  bool last_was_full() const { return pending_full_; }

 private:
  int32_t id_ = 0;
  int32_t epoch_ = 0;  // 0: the next request is full and opens a new session
  std::map<TopicPartition, FetchTarget> session_;  // what the broker's session holds
  std::map<TopicPartition, FetchTarget> pending_;  // ... once the request in flight succeeds
  bool pending_full_ = true;
  bool sessions_supported_ = true;
};

}  // namespace kafkacore::client
