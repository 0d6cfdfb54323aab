#pragma once
// Strong integer ids: an Offset cannot be passed where a LeaderEpoch is expected.
#include <compare>
#include <cstdint>
#include <functional>

namespace kafkacore {

template <typename Rep, typename Tag>
class StrongId {
 public:
  using rep = Rep;
  constexpr StrongId() = default;
  constexpr explicit StrongId(Rep value) : value_(value) {}
  constexpr Rep value() const { return value_; }
  constexpr auto operator<=>(const StrongId&) const = default;

 private:
  Rep value_{};
};

using Offset = StrongId<int64_t, struct OffsetTag>;
using LeaderEpoch = StrongId<int32_t, struct LeaderEpochTag>;
using ProducerId = StrongId<int64_t, struct ProducerIdTag>;
using ProducerEpoch = StrongId<int16_t, struct ProducerEpochTag>;
using PartitionId = StrongId<int32_t, struct PartitionIdTag>;
using NodeId = StrongId<int32_t, struct NodeIdTag>;
using Term = StrongId<int64_t, struct TermTag>;

// Milliseconds since the Unix epoch, as Kafka timestamps are.
using TimestampMs = int64_t;

}  // namespace kafkacore

template <typename Rep, typename Tag>
struct std::hash<kafkacore::StrongId<Rep, Tag>> {
  size_t operator()(const kafkacore::StrongId<Rep, Tag>& id) const noexcept {
    return std::hash<Rep>{}(id.value());
  }
};
