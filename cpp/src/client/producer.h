#pragma once
// The native Kafka producer. send() batches records per partition (batch.size, linger.ms,
// compression) in a bounded buffer; the producer's io thread sends ready batches to partition
// leaders, retries what failed retriably within delivery.timeout.ms, and with idempotence (on by
// default, as in Kafka 3+) gives every batch a producer id and sequence numbers so retries
// neither duplicate nor reorder. Delivery reports run on the thread that calls poll() or
// flush(), never on the io thread.
//
// Thread-safe: send/poll/flush from any thread.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "client/config.h"
#include "client/record_accumulator.h"
#include "client/types.h"
#include "common/error.h"

namespace kafkacore::client {

class Producer {
 public:
  // Kafka-named configs: bootstrap.servers (required), acks (all|1|0, default all),
  // enable.idempotence (default true; off by default when acks != all or
  // max.in.flight.requests.per.connection > 5 unless set explicitly, where it is an error),
  // linger.ms (5), batch.size (16384), compression.type (none|gzip|snappy|lz4|zstd),
  // compression.level, buffer.memory (33554432), max.block.ms (60000), max.request.size
  // (1048576), delivery.timeout.ms (120000), retries, max.in.flight.requests.per.connection
  // (5), and the shared client keys (client.id, request.timeout.ms, retry.backoff.ms, ...).
  static Result<std::unique_ptr<Producer>> create(Properties config);
  // Unsent records are dropped without reports; call flush() or close() first to deliver them.
  ~Producer();
  Producer(const Producer&) = delete;
  Producer& operator=(const Producer&) = delete;

  // Queues `record`. Fails at once for a record larger than max.request.size, a buffer still
  // full after max.block.ms, or a closed producer; everything later (unknown topic, timeouts,
  // broker errors) reaches `callback`.
  Result<void> send(ProducerRecord record, DeliveryCallback callback = nullptr);
  // The same for a borrowed record: its bytes are copied before send() returns.
  Result<void> send_view(const ProducerRecordView& record, DeliveryCallback callback = nullptr);
  // Never blocks: false when the buffer is full (nothing queued, `callback` left untouched), so
  // a caller holding a lock (Python's GIL) can release it and retry with the blocking send_view().
  Result<bool> try_send_view(const ProducerRecordView& record, DeliveryCallback& callback);

  // Runs delivery callbacks that are due, waiting up to `timeout` for the first. Returns how
  // many records were reported.
  size_t poll(std::chrono::milliseconds timeout);
  // Sends everything now (ignoring linger.ms) and waits until every record is reported (running
  // callbacks). REQUEST_TIMED_OUT if some are still outstanding after `timeout`.
  Result<void> flush(std::chrono::milliseconds timeout);
  // Records sent but not yet reported to a callback.
  size_t outstanding() const;
  // Partitions of `topic` (fetching metadata if needed).
  Result<std::vector<int32_t>> partitions_for(const std::string& topic,
                                              std::chrono::milliseconds timeout);
  // The idempotent producer id and epoch in use (-1 before the first is obtained or when
  // idempotence is off).
  std::pair<int64_t, int16_t> producer_id() const;
  // flush(timeout), then fails whatever is left with "producer closed" and stops the io thread.
  Result<void> close(std::chrono::milliseconds timeout = std::chrono::milliseconds::max());

  struct Impl;

 private:
  explicit Producer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace kafkacore::client
