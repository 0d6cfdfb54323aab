#pragma once
// Consumed records as views of the bytes they arrived in. The fetcher decodes each partition of
// a Fetch answer into a FetchedRecords that points into the answer's frame (or a compressed
// batch's decompressed storage) and keeps those buffers alive, so the io thread never copies a
// key or value: whoever takes the records copies each once, straight to where it goes (a
// ConsumerRecord for C++ callers, a Python bytes object for the binding).
//
// A FetchedRecords is immutable once built and shared by shared_ptr, so the io thread's buffer
// and the polling thread's PolledRecords may hold it at the same time. A frame carrying several
// partitions is freed once the last of them has been polled (as the Java consumer's completed
// fetches hold their response buffer): the prefetch limit counts batch bytes, so a partition
// drained much later than the others holds more memory than it counts.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "client/types.h"
#include "common/bytes.h"

namespace kafkacore::client {

struct HeaderRef {
  ByteView key;
  std::optional<ByteView> value;
};

struct RecordRef {
  int64_t offset = 0;
  int64_t timestamp = -1;
  int32_t leader_epoch = -1;
  TimestampKind timestamp_type = TimestampKind::create_time;
  std::optional<ByteView> key;
  std::optional<ByteView> value;
  uint32_t headers_begin = 0;  // [headers_begin, headers_end) of FetchedRecords::headers
  uint32_t headers_end = 0;
};

struct FetchedRecords {
  std::string topic;
  int32_t partition = 0;
  std::vector<RecordRef> records;
  std::vector<HeaderRef> headers;
  std::vector<std::shared_ptr<const void>> keepalive;  // the buffers the views point into

  ConsumerRecord to_record(const RecordRef& r) const;
};

// Consecutive records [begin, end) of one FetchedRecords.
struct RecordRun {
  std::shared_ptr<const FetchedRecords> fetched;
  size_t begin = 0;
  size_t end = 0;
};

// What one poll returns, before anything is copied out: runs in the order poll() hands them
// out (offset order within a partition).
struct PolledRecords {
  std::vector<RecordRun> runs;

  size_t size() const;
  bool empty() const { return runs.empty(); }
  // Copies every record out (the C++ Consumer::poll result).
  std::vector<ConsumerRecord> to_records() const;
};

}  // namespace kafkacore::client
