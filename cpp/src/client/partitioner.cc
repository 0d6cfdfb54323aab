#include "client/partitioner.h"

#include <algorithm>

namespace kafkacore::client {

int32_t murmur2(ByteView data) {
  // Unsigned arithmetic throughout: Java's int overflow wraps, signed overflow in C++ is UB.
  constexpr uint32_t kSeed = 0x9747b28c;
  constexpr uint32_t kM = 0x5bd1e995;
  constexpr int kR = 24;
  const size_t length = data.size();
  auto byte = [&](size_t i) { return static_cast<uint32_t>(data[i]); };

  // Java hashes lengths as int; keys are far below 2 GiB, so truncating is exact.
  uint32_t h = kSeed ^ static_cast<uint32_t>(length);
  const size_t words = length / 4;
  for (size_t i = 0; i < words; ++i) {
    const size_t at = i * 4;
    uint32_t k = byte(at) | (byte(at + 1) << 8) | (byte(at + 2) << 16) | (byte(at + 3) << 24);
    k *= kM;
    k ^= k >> kR;
    k *= kM;
    h *= kM;
    h ^= k;
  }
  const size_t tail = words * 4;
  switch (length % 4) {
    case 3:
      h ^= byte(tail + 2) << 16;
      [[fallthrough]];
    case 2:
      h ^= byte(tail + 1) << 8;
      [[fallthrough]];
    case 1:
      h ^= byte(tail);
      h *= kM;
  }
  h ^= h >> 13;
  h *= kM;
  h ^= h >> 15;
  return static_cast<int32_t>(h);
}

int32_t partition_for_key(ByteView key, int32_t num_partitions) {
  if (num_partitions <= 0) return -1;
  return (murmur2(key) & 0x7fffffff) % num_partitions;
}

StickyPartitioner::StickyPartitioner() : rng_(std::random_device{}()) {}

StickyPartitioner::StickyPartitioner(uint32_t seed) : rng_(seed) {}

int32_t StickyPartitioner::partition(const std::string& topic, int32_t num_partitions,
                                     const std::vector<int32_t>& available) {
  if (num_partitions <= 0) return -1;
  auto it = sticky_.find(topic);
  if (it != sticky_.end() && it->second.num_partitions == num_partitions &&
      it->second.partition < num_partitions) {
    return it->second.partition;
  }
  const int32_t chosen = choose(num_partitions, available, std::nullopt);
  sticky_.insert_or_assign(topic, Sticky{chosen, num_partitions});
  return chosen;
}

std::optional<int32_t> StickyPartitioner::current(std::string_view topic,
                                                 int32_t num_partitions) const {
  auto it = sticky_.find(topic);
  if (it == sticky_.end() || it->second.num_partitions != num_partitions ||
      it->second.partition >= num_partitions) {
    return std::nullopt;
  }
  return it->second.partition;
}

void StickyPartitioner::on_new_batch(const std::string& topic, int32_t previous_partition,
                                     int32_t num_partitions,
                                     const std::vector<int32_t>& available) {
  if (num_partitions <= 0) return;
  auto it = sticky_.find(topic);
  if (it != sticky_.end() && it->second.partition != previous_partition) return;
  const int32_t chosen = choose(num_partitions, available, previous_partition);
  sticky_.insert_or_assign(topic, Sticky{chosen, num_partitions});
}

int32_t StickyPartitioner::choose(int32_t num_partitions, const std::vector<int32_t>& available,
                                  std::optional<int32_t> avoid) {
  // Candidates: the available partitions that exist (metadata may lag the count), else all.
  std::vector<int32_t> candidates;
  for (int32_t p : available) {
    if (p >= 0 && p < num_partitions) candidates.push_back(p);
  }
  std::sort(candidates.begin(), candidates.end());
  candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
  if (candidates.empty()) {
    candidates.resize(static_cast<size_t>(num_partitions));
    for (int32_t p = 0; p < num_partitions; ++p) candidates[static_cast<size_t>(p)] = p;
  }
  if (avoid && candidates.size() > 1) {
    auto at = std::find(candidates.begin(), candidates.end(), *avoid);
    if (at != candidates.end()) candidates.erase(at);
  }
  std::uniform_int_distribution<size_t> pick(0, candidates.size() - 1);
  return candidates[pick(rng_)];
}

}  // namespace kafkacore::client
