#pragma once
// The producer's buffer: records handed to send() wait here in per-partition batches until the
// sender takes them. Shared by user threads (append) and the producer's io thread (drain,
// complete), so everything is under one mutex. Memory is bounded by buffer.memory: append()
// blocks up to max.block.ms for space. Records of a topic whose partitions are not known yet
// are parked until metadata arrives (or max.block.ms passes).
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "client/cluster_metadata.h"
#include "client/partitioner.h"
#include "client/types.h"
#include "common/error.h"
#include "record/batch_builder.h"

namespace kafkacore::client {

using SteadyTime = std::chrono::steady_clock::time_point;
using DeliveryCallback = std::function<void(const Result<RecordMetadata>&)>;

struct ProducerBatch {
  TopicPartition tp;
  record::BatchBuilder builder;
  std::vector<DeliveryCallback> callbacks;  // one per record (may be empty functions)
  std::vector<int64_t> timestamps;
  size_t reserved = 0;  // bytes held against buffer.memory
  SteadyTime created;
  bool closed = false;  // no more appends (full, or a later batch exists)
  // Fixed when first sent, so a retry resends identical bytes with the same sequence numbers.
  std::optional<Bytes> built;
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
  int32_t base_sequence = -1;
  int attempts = 0;
  SteadyTime retry_at{};
  // The leader the last attempt went to: once the metadata names another one, a retry goes at
  // once instead of after its backoff (as KIP-951 has Kafka's clients do after a failover).
  int32_t sent_to = -1;
  bool leader_suspect = false;  // the last attempt failed in a way that says the leader moved
  int32_t record_count() const { return static_cast<int32_t>(timestamps.size()); }
};
using BatchPtr = std::shared_ptr<ProducerBatch>;

// What a finished batch tells its records' callbacks.
struct BatchReport {
  BatchPtr batch;
  Result<int64_t> base_offset;  // or the error
  int64_t log_append_time = -1;
};

struct AccumulatorOptions {
  size_t batch_size = 16384;
  size_t buffer_memory = 32u << 20;
  std::chrono::milliseconds max_block{60000};
  record::Compression compression = record::Compression::none;
  int compression_level = -1;
};

class RecordAccumulator {
 public:
  explicit RecordAccumulator(AccumulatorOptions options) : options_(options) {}

  struct Appended {
    bool wake_sender = false;  // a batch became ready or a new one needs its linger timer
    bool needs_metadata = false;
    // Only when appending without blocking: the buffer is full, nothing was appended and the
    // callback was not taken.
    bool buffer_full = false;
  };
  // Any thread. The record's bytes are copied before it returns. Blocks while the buffer is
  // full (up to max.block.ms) unless `block` is false.
  Result<Appended> append(const ProducerRecordView& record, DeliveryCallback& callback,
                          size_t size, int64_t now_ms, bool block = true);

  // ---- io thread
  // New metadata: parked records of now-known topics go into batches (a record whose explicit
  // partition does not exist fails into `reports`).
  void set_metadata(std::shared_ptr<const ClusterMetadata> metadata,
                    std::vector<BatchReport>& reports);
  // Topics with parked records.
  std::vector<std::string> parked_topics();
  // Fails parked records whose max.block.ms has passed; returns how many.
  size_t expire_parked(SteadyTime now, std::vector<BatchReport>& reports);

  std::mutex& mutex() { return mu_; }
  // Under mutex(): the queued batches per partition (front = oldest).
  std::map<TopicPartition, std::deque<BatchPtr>>& batches() { return batches_; }
  // Under mutex(): gives the batch's memory back.
  void release(const ProducerBatch& batch);

  // Records appended and not yet reported (flush waits for 0).
  size_t incomplete() const {
    std::lock_guard lock(mu_);
    return incomplete_;
  }
  void completed(size_t records);
  // Wakes blocked appenders with "producer closed".
  void close();

 private:
  struct Parked {
    ProducerRecord record;
    DeliveryCallback callback;
    size_t size;
    int64_t timestamp;
    SteadyTime deadline;
  };
  // Under mu_. Appends to the partition's open batch or a new one.
  Result<Appended> place(const ProducerRecordView& record, DeliveryCallback& callback,
                         size_t size, int64_t timestamp, const TopicInfo& topic);
  std::vector<int32_t> available_partitions(const TopicInfo& topic) const;

  AccumulatorOptions options_;
  mutable std::mutex mu_;
  std::condition_variable space_;
  size_t used_ = 0;
  size_t incomplete_ = 0;
  bool closed_ = false;
  std::shared_ptr<const ClusterMetadata> metadata_ = std::make_shared<ClusterMetadata>();
  std::map<TopicPartition, std::deque<BatchPtr>> batches_;
  std::map<std::string, std::vector<Parked>, std::less<>> parked_;
  StickyPartitioner sticky_;
};

}  // namespace kafkacore::client
