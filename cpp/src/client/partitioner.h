#pragma once
// Choosing a partition for a record, compatibly with the Java client and librdkafka: a record
// with a key goes where murmur2(key) sends it (so every client agrees on where a key lives); a
// record without one sticks to one partition per topic until its batch is sent (KIP-480), which
// fills batches faster than spreading single records. Pure: no I/O, no clocks.
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"

namespace kafkacore::client {

// Kafka's murmur2 (org.apache.kafka.common.utils.Utils.murmur2): MurmurHash2, 32 bits, seed
// 0x9747b28c, words read little-endian, the result as a signed int.
int32_t murmur2(ByteView data);

// The partition of a non-null key: (murmur2(key) & 0x7fffffff) % num_partitions, as Java's
// built-in partitioner and librdkafka's murmur2 / murmur2_random partitioners compute it.
// Returns -1 when num_partitions <= 0 (no partition to choose).
int32_t partition_for_key(ByteView key, int32_t num_partitions);

// The sticky partition of each topic, for records without a key. A topic's partition is chosen
// at random, preferring `available` (partitions with a leader; may be empty: then any of
// [0, num_partitions)), and kept until the batch for it is sent (`on_new_batch`) or the
// partition count changes. Not thread-safe: one per producer, on the producer's thread.
class StickyPartitioner {
 public:
  // Seeded from std::random_device.
  StickyPartitioner();
  // Deterministic, for tests.
  explicit StickyPartitioner(uint32_t seed);

  // The topic's current sticky partition, choosing one first if there is none yet, if
  // num_partitions differs from the count it was chosen with, or if it is out of range.
  // Returns -1 when num_partitions <= 0.
  int32_t partition(const std::string& topic, int32_t num_partitions,
                    const std::vector<int32_t>& available);

  // The topic's sticky partition if it has a valid one for `num_partitions` (no choice made).
  std::optional<int32_t> current(std::string_view topic, int32_t num_partitions) const;

  // A batch for `previous_partition` of `topic` was completed: move the topic to a different
  // random partition (if there is more than one to choose from). Nothing happens when the topic
  // has already moved away from `previous_partition` (another batch completed first), so two
  // completions never skip a partition twice.
  void on_new_batch(const std::string& topic, int32_t previous_partition, int32_t num_partitions,
                    const std::vector<int32_t>& available);

 private:
  struct Sticky {
    int32_t partition;
    int32_t num_partitions;
  };
  // A random partition from `available` (valid entries only) or else from [0, num_partitions),
  // other than `avoid` when there is another choice.
  int32_t choose(int32_t num_partitions, const std::vector<int32_t>& available,
                 std::optional<int32_t> avoid);

  std::mt19937 rng_;
  std::map<std::string, Sticky, std::less<>> sticky_;
};

}  // namespace kafkacore::client
