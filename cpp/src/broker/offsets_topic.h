#pragma once
// `__consumer_offsets` as the group coordinator's store: has the controller create the compacted
// topic when the first group needs it, appends the coordinator's records as batches (answering
// once the in-sync replicas have them), and replays a partition into the coordinator when this
// broker becomes its leader (a chunk per reactor turn, so a large offsets topic does not hold up
// other requests; groups on a partition still loading answer COORDINATOR_LOAD_IN_PROGRESS).
// Reactor thread only.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/error.h"
#include "group/group_coordinator.h"

namespace kafkacore::broker {

class Broker;

inline constexpr const char* kOffsetsTopic = "__consumer_offsets";

class OffsetsTopic final : public group::GroupStore {
 public:
  explicit OffsetsTopic(Broker& broker) : broker_(broker) {}

  void set_coordinator(group::GroupCoordinator* coordinator) { coordinator_ = coordinator; }

  // This broker now leads `partition`: load its groups.
  void load_partition(int32_t partition);
  // Has the controller create the topic if it does not exist yet; `done` once it does.
  void ensure_exists(std::function<void(Result<void>)> done);
  bool exists() const;

  void append(int32_t partition, std::vector<Record> records,
              std::function<void(const Result<void>&)> done) override;

 private:
  void load_chunk(int32_t partition, int64_t from, uint64_t generation);

  Broker& broker_;
  group::GroupCoordinator* coordinator_ = nullptr;
  std::vector<std::function<void(Result<void>)>> creating_;
  uint64_t load_generation_ = 0;
};

}  // namespace kafkacore::broker
