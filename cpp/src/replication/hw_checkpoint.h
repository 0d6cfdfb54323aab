#pragma once
// Kafka's replication-offset-checkpoint: the high watermark of every partition of one data
// directory, written periodically and on shutdown so a restarted broker does not expose records
// above the HW it had (load_high_watermark caps it at the log end). The text format Kafka uses:
// version line "0", count line, one "topic partition offset" line per partition; rewritten
// atomically (temp file, fsync, rename, fsync directory).
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <utility>

#include "common/error.h"
#include "common/strong_id.h"
#include "storage/io_faults.h"

namespace kafkacore::replication {

using HighWatermarks = std::map<std::pair<std::string, int32_t>, Offset>;

class HwCheckpoint {
 public:
  static constexpr const char* kFileName = "replication-offset-checkpoint";

  // `data_dir`: the log directory the checkpoint file lives in.
  explicit HwCheckpoint(const std::filesystem::path& data_dir, storage::IoFaults* faults = nullptr);

  // An empty map if there is no file yet; corrupt_message if it cannot be parsed.
  Result<HighWatermarks> read() const;
  Result<void> write(const HighWatermarks& hws) const;
  const std::filesystem::path& file() const { return file_; }

 private:
  std::filesystem::path file_;
  storage::IoFaults* faults_;
};

}  // namespace kafkacore::replication
