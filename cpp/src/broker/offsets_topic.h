#pragma once
// `__consumer_offsets` as the group coordinator's store: creates the compacted topic when the
// first group needs it, appends the coordinator's records as batches, and replays each partition
// into the coordinator when the broker starts (a chunk per reactor turn, so a large offsets
// topic does not hold up other requests; groups on a partition still loading answer
// COORDINATOR_LOAD_IN_PROGRESS). Reactor thread only.
#include <cstdint>
#include <string>

#include "common/error.h"
#include "group/group_coordinator.h"

namespace kafkacore::broker {

class Broker;

inline constexpr const char* kOffsetsTopic = "__consumer_offsets";

class OffsetsTopic final : public group::GroupStore {
 public:
  explicit OffsetsTopic(Broker& broker) : broker_(broker) {}

  void set_coordinator(group::GroupCoordinator* coordinator) { coordinator_ = coordinator; }

  // Starts loading every partition if the topic exists (broker start).
  void start_loading();
  // Creates the topic (and takes ownership of its empty partitions) if it does not exist yet.
  Result<void> ensure_exists();
  bool exists() const;

  void append(int32_t partition, std::vector<Record> records,
              std::function<void(const Result<void>&)> done) override;

 private:
  void load_chunk(int32_t partition, int64_t from);

  Broker& broker_;
  group::GroupCoordinator* coordinator_ = nullptr;
};

}  // namespace kafkacore::broker
