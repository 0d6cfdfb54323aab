// Child process of RecoveryCrashLoop (recovery_matrix_test.cc): opens a partition log after an
// unclean shutdown, appends batches in a loop and, after every successful flush_sync(), writes the
// durable log end offset (an int64_t in native byte order) to a pipe. The test SIGKILLs it at a
// random moment and then checks that everything reported as durable survived.
//
//   crash_writer <log dir> <pipe fd> <seed> <segment.bytes>
//
// The test also includes this file (with KAFKACORE_CRASH_WRITER_NO_MAIN) so that it can run the
// same writer in a forked child when the executable is not available, and so that both sides
// agree on the record content of every offset.
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <random>
#include <string>

#include "record/batch_builder.h"
#include "record/record_batch.h"
#include "storage/partition_log.h"

namespace kafkacore::storage::crash_writer {

inline constexpr int64_t kBaseTimestamp = 1'700'000'000'000;
// Appends per run before the writer idles.
inline constexpr int kMaxAppends = 300;
// Now and then the writer deletes records (DeleteRecords) so that only about this many offsets
// remain: the log stays small over many cycles, and kills also land in checkpoint writes and
// segment deletions.
inline constexpr int64_t kRetainedOffsets = 3000;

// The content of the record at `offset`: the verifier recomputes it from the offset alone.
inline std::string key_for(int64_t offset) { return "key-" + std::to_string(offset); }
inline std::string value_for(int64_t offset) {
  std::string value = "value-" + std::to_string(offset) + "-";
  // Mostly small values, now and then one large enough to span several index intervals.
  const size_t filler = offset % 61 == 0 ? 3000 : static_cast<size_t>(offset % 37);
  value.append(filler, static_cast<char>('a' + offset % 26));
  return value;
}
inline int64_t timestamp_for(int64_t offset) { return kBaseTimestamp + offset; }

inline LogConfig writer_config(int64_t segment_bytes) {
  LogConfig config;
  config.segment_bytes = segment_bytes;
  config.retention_ms = -1;
  config.index_interval_bytes = 512;
  return config;
}

// A batch of `count` records meant to land at offsets first_offset..first_offset+count-1.
inline Result<Bytes> batch_for(int64_t first_offset, int count) {
  record::BatchBuilder builder;
  for (int i = 0; i < count; ++i) {
    const int64_t offset = first_offset + i;
    const std::string key = key_for(offset);
    const std::string value = value_for(offset);
    builder.append(timestamp_for(offset), as_bytes(key), as_bytes(value));
  }
  return builder.build();
}

inline bool report(int fd, int64_t value) {
  const char* p = reinterpret_cast<const char*>(&value);
  size_t done = 0;
  while (done < sizeof(value)) {
    const ssize_t n = ::write(fd, p + done, sizeof(value) - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    done += static_cast<size_t>(n);
  }
  return true;
}

// Runs until killed; returns (as an exit status) only on failure.
inline int run(const char* dir, int fd, uint64_t seed, int64_t segment_bytes) {
  auto opened = PartitionLog::open(dir, writer_config(segment_bytes), LogEnvironment{}, false);
  if (!opened) {
    std::fprintf(stderr, "crash_writer: open failed: %s\n", opened.error().to_string().c_str());
    return 3;
  }
  PartitionLog& log = **opened;
  std::mt19937_64 rng(seed);
  auto flush_and_report = [&]() -> bool {
    if (auto r = log.flush_sync(); !r) {
      std::fprintf(stderr, "crash_writer: flush failed: %s\n", r.error().to_string().c_str());
      return false;
    }
    return report(fd, log.log_end_offset().value());
  };
  if (!flush_and_report()) return 4;
  int until_flush = 1 + static_cast<int>(rng() % 4);
  for (int i = 0; i < kMaxAppends; ++i) {
    const int64_t end = log.log_end_offset().value();
    auto batch = batch_for(end, 1 + static_cast<int>(rng() % 5));
    if (!batch) return 5;
    auto appended = log.append(*batch);
    if (!appended || appended->first_offset.value() != end) {
      std::fprintf(stderr, "crash_writer: append at %lld failed\n", static_cast<long long>(end));
      return 6;
    }
    if (--until_flush == 0) {
      if (!flush_and_report()) return 7;
      until_flush = 1 + static_cast<int>(rng() % 4);
      const int64_t now_end = log.log_end_offset().value();
      if (now_end - log.log_start_offset().value() > 2 * kRetainedOffsets && rng() % 4 == 0) {
        if (auto r = log.delete_records_before(Offset{now_end - kRetainedOffsets}); !r) {
          std::fprintf(stderr, "crash_writer: delete_records_before failed: %s\n",
                       r.error().to_string().c_str());
          return 9;
        }
      }
    }
  }
  if (!flush_and_report()) return 8;
  for (;;) ::pause();  // wait for the SIGKILL
}

}  // namespace kafkacore::storage::crash_writer

#ifndef KAFKACORE_CRASH_WRITER_NO_MAIN
int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: %s <log dir> <pipe fd> <seed> <segment.bytes>\n", argv[0]);
    return 2;
  }
  return kafkacore::storage::crash_writer::run(argv[1], std::atoi(argv[2]),
                                               std::strtoull(argv[3], nullptr, 10),
                                               std::strtoll(argv[4], nullptr, 10));
}
#endif
