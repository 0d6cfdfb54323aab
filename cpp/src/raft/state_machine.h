#pragma once
// What a Raft quorum replicates into: the application's state (the metadata image).
#include "common/bytes.h"
#include "raft/node.h"

namespace kafkacore::raft {

class StateMachine {
 public:
  virtual ~StateMachine() = default;
  // Replaces the state with a snapshot (at start, or one received from the leader).
  virtual void restore(const Snapshot& snapshot) = 0;
  // Applies one committed entry (entries with empty data are Raft's own no-ops).
  virtual void apply(const Entry& entry) = 0;
  // The state as of the last applied entry, for compaction.
  virtual Bytes snapshot() = 0;
};

}  // namespace kafkacore::raft
