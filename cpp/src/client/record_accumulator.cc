#include "client/record_accumulator.h"

#include <algorithm>

#include "client/record_view.h"

namespace kafkacore::client {

Result<RecordAccumulator::Appended> RecordAccumulator::append(const ProducerRecordView& record,
                                                              DeliveryCallback& callback,
                                                              size_t size, int64_t now_ms,
                                                              bool block) {
  const int64_t timestamp = record.timestamp.value_or(now_ms);
  std::unique_lock lock(mu_);
  if (size > options_.buffer_memory) {
    return make_error(Errc::message_too_large,
                      "record of " + std::to_string(size) + " bytes is larger than buffer.memory");
  }
  if (used_ + size > options_.buffer_memory && !closed_) {
    if (!block) return Appended{.buffer_full = true};
    auto deadline = std::chrono::steady_clock::now() + options_.max_block;
    if (!space_.wait_until(lock, deadline,
                           [&] { return closed_ || used_ + size <= options_.buffer_memory; })) {
      return make_error(Errc::request_timed_out,
                        "buffer.memory full for max.block.ms (" +
                            std::to_string(options_.max_block.count()) + " ms)");
    }
  }
  if (closed_) return make_error(Errc::network_exception, "producer closed");
  used_ += size;
  ++incomplete_;
  const TopicInfo* topic = metadata_->topic(record.topic);
  if (!topic || topic->error != Errc::none || topic->partitions.empty()) {
    auto parked_it = parked_.find(record.topic);
    if (parked_it == parked_.end()) parked_it = parked_.emplace(std::string(record.topic), std::vector<Parked>{}).first;
    auto& parked = parked_it->second;
    parked.push_back(Parked{to_owned(record), std::move(callback), size, timestamp,
                            std::chrono::steady_clock::now() + options_.max_block});
    return Appended{.wake_sender = parked.size() == 1, .needs_metadata = true};
  }
  auto placed = place(record, callback, size, timestamp, *topic);
  if (!placed) {
    used_ -= size;
    --incomplete_;
  }
  return placed;
}

std::vector<int32_t> RecordAccumulator::available_partitions(const TopicInfo& topic) const {
  std::vector<int32_t> out;
  for (const PartitionInfo& p : topic.partitions) {
    if (p.leader >= 0) out.push_back(p.partition);
  }
  return out;
}

Result<RecordAccumulator::Appended> RecordAccumulator::place(const ProducerRecordView& record,
                                                             DeliveryCallback& callback,
                                                             size_t size, int64_t timestamp,
                                                             const TopicInfo& topic) {
  const auto count = static_cast<int32_t>(topic.partitions.size());
  int32_t partition;
  bool sticky = false;
  if (record.partition) {
    partition = *record.partition;
    if (partition < 0 || partition >= count) {
      return make_error(Errc::unknown_topic_or_partition,
                        "partition " + std::to_string(partition) + " of topic '" + topic.name +
                            "' does not exist (it has " + std::to_string(count) + ")");
    }
  } else if (record.key) {
    partition = partition_for_key(*record.key, count);
  } else {
    // The partition list is only needed when the topic has no sticky partition yet.
    auto current = sticky_.current(topic.name, count);
    partition = current ? *current : sticky_.partition(topic.name, count, available_partitions(topic));
    sticky = true;
  }
  TopicPartition tp{topic.name, partition};
  auto* queue = &batches_[tp];
  auto fits = [&](const ProducerBatch& b) {
    return !b.closed && (b.record_count() == 0 || b.builder.estimated_size() + size <= options_.batch_size);
  };
  Appended appended;
  if (sticky && !queue->empty() && !fits(*queue->back())) {
    // KIP-480: a null-key topic moves on to another partition once its batch is complete.
    sticky_.on_new_batch(topic.name, partition, count, available_partitions(topic));
    int32_t next = sticky_.partition(topic.name, count, available_partitions(topic));
    if (next != partition) {
      queue->back()->closed = true;
      appended.wake_sender = true;
      partition = next;
      tp.partition = next;
      queue = &batches_[tp];
    }
  }
  if (queue->empty() || !fits(*queue->back())) {
    if (!queue->empty()) queue->back()->closed = true;
    auto batch = std::make_shared<ProducerBatch>();
    batch->tp = tp;
    record::BatchOptions batch_options;
    batch_options.compression = options_.compression;
    batch_options.compression_level = options_.compression_level;
    batch->builder = record::BatchBuilder(batch_options);
    // Most batches fill up when records arrive faster than linger.ms (capped: a large
    // batch.size with few records per partition would otherwise hold megabytes each).
    batch->builder.reserve(std::min<size_t>(options_.batch_size, 256u << 10));
    batch->created = std::chrono::steady_clock::now();
    queue->push_back(std::move(batch));
    appended.wake_sender = true;  // the sender arms its linger timer (or sends a full one)
  }
  ProducerBatch& batch = *queue->back();
  std::vector<record::RecordHeader> headers;
  headers.reserve(record.headers.size());
  for (const HeaderView& h : record.headers) {
    headers.push_back(record::RecordHeader{
        ByteView(reinterpret_cast<const std::byte*>(h.key.data()), h.key.size()), h.value});
  }
  batch.builder.append(timestamp, record.key, record.value, headers);
  batch.callbacks.push_back(std::move(callback));
  batch.timestamps.push_back(timestamp);
  batch.reserved += size;
  if (batch.builder.estimated_size() >= options_.batch_size) {
    batch.closed = true;
    appended.wake_sender = true;
  }
  return appended;
}

namespace {

BatchReport single_failure(const std::string& topic, DeliveryCallback callback, int64_t timestamp,
                           size_t size, Error error) {
  auto batch = std::make_shared<ProducerBatch>();
  batch->tp = {topic, -1};
  batch->callbacks.push_back(std::move(callback));
  batch->timestamps.push_back(timestamp);
  batch->reserved = size;
  return BatchReport{std::move(batch), std::unexpected(std::move(error))};
}

}  // namespace

void RecordAccumulator::set_metadata(std::shared_ptr<const ClusterMetadata> metadata,
                                     std::vector<BatchReport>& reports) {
  std::lock_guard lock(mu_);
  metadata_ = std::move(metadata);
  for (auto it = parked_.begin(); it != parked_.end();) {
    const TopicInfo* topic = metadata_->topic(it->first);
    if (!topic || topic->error != Errc::none || topic->partitions.empty()) {
      ++it;
      continue;
    }
    for (Parked& p : it->second) {
      RecordViewHolder held(p.record);
      auto placed = place(held.view, p.callback, p.size, p.timestamp, *topic);
      if (!placed) {  // an explicit partition beyond the topic's count
        reports.push_back(single_failure(it->first, std::move(p.callback), p.timestamp, p.size,
                                         placed.error()));
      }
    }
    it = parked_.erase(it);
  }
  space_.notify_all();
}

std::vector<std::string> RecordAccumulator::parked_topics() {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  for (const auto& [topic, records] : parked_) out.push_back(topic);
  return out;
}

size_t RecordAccumulator::expire_parked(SteadyTime now, std::vector<BatchReport>& reports) {
  std::lock_guard lock(mu_);
  size_t expired = 0;
  for (auto it = parked_.begin(); it != parked_.end();) {
    auto& records = it->second;
    const TopicInfo* topic = metadata_->topic(it->first);
    Error error = topic && topic->error != Errc::none
                      ? Error(topic->error, "topic '" + it->first + "': " +
                                                std::string(errc_name(topic->error)))
                      : Error(Errc::request_timed_out, "topic '" + it->first +
                                                           "' not present in metadata after " +
                                                           std::to_string(options_.max_block.count()) +
                                                           " ms");
    std::erase_if(records, [&](Parked& p) {
      if (p.deadline > now) return false;
      reports.push_back(
          single_failure(it->first, std::move(p.callback), p.timestamp, p.size, error));
      ++expired;
      return true;
    });
    it = records.empty() ? parked_.erase(it) : std::next(it);
  }
  return expired;
}

void RecordAccumulator::release(const ProducerBatch& batch) {
  used_ -= std::min(used_, batch.reserved);
  space_.notify_all();
}

void RecordAccumulator::completed(size_t records) {
  std::lock_guard lock(mu_);
  incomplete_ -= std::min(incomplete_, records);
}

void RecordAccumulator::close() {
  std::lock_guard lock(mu_);
  closed_ = true;
  space_.notify_all();
}

}  // namespace kafkacore::client
