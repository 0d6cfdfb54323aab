#pragma once
// All partition logs of a broker in one data directory (`<topic>-<partition>/` each), with
// per-topic configs, the clean-shutdown marker, periodic retention/flush, and a background
// compaction worker. Not thread-safe: one owner thread calls it; the flusher and the cleaner
// worker run on their own threads.
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "common/clock.h"
#include "storage/flusher.h"
#include "storage/log_cleaner.h"
#include "storage/log_config.h"
#include "storage/log_dir.h"
#include "storage/partition_log.h"

namespace kafkacore::storage {

struct TopicPartition {
  std::string topic;
  int32_t partition = 0;
  auto operator<=>(const TopicPartition&) const = default;
  std::string dir_name() const { return topic + "-" + std::to_string(partition); }
};

struct LogManagerOptions {
  fs::path data_dir;
  LogConfig defaults;
  Clock* clock = &SystemClock::instance();
  std::function<void(const std::string&)> warn = {};
  bool bypass_fsync = false;  // IoFaults::bypass_syncs from the start (test clusters)
};

class LogManager {
 public:
  static Result<std::unique_ptr<LogManager>> open(LogManagerOptions options);
  ~LogManager();

  // True when the previous run did not shut down cleanly (logs were scanned and repaired).
  bool recovered_from_crash() const { return !clean_start_; }

  Result<PartitionLog*> get_or_create(const TopicPartition& tp);
  PartitionLog* get(const TopicPartition& tp) const;
  std::vector<TopicPartition> partitions() const;
  Result<void> remove(const TopicPartition& tp);

  // Overrides for one topic, applied to its existing and future partitions.
  Result<void> set_topic_config(const std::string& topic,
                                const std::map<std::string, std::string>& overrides);
  const LogConfig& config_for(const std::string& topic) const;

  // Periodic work: retention, flush.ms, and compaction (planned here, run on the worker,
  // committed on a later tick). Returns segments deleted by retention.
  size_t tick();
  // Waits for the compaction worker to go idle and commits what it finished (tests).
  void finish_compactions();

  // Closes every log and writes the clean-shutdown marker.
  Result<void> shutdown();

  LogDirHealth& health() { return health_; }
  IoFaults& faults() { return faults_; }
  Flusher& flusher() { return *flusher_; }
  const fs::path& data_dir() const { return options_.data_dir; }

 private:
  explicit LogManager(LogManagerOptions options);
  Result<void> load();
  LogEnvironment environment();
  void cleaner_loop();
  void commit_finished_compactions();

  LogManagerOptions options_;
  IoFaults faults_;
  LogDirHealth health_;
  std::unique_ptr<Flusher> flusher_;
  bool clean_start_ = false;
  bool shut_down_ = false;
  std::map<std::string, LogConfig> topic_configs_;
  std::map<TopicPartition, std::unique_ptr<PartitionLog>> logs_;

  // Compaction worker.
  struct Finished {
    TopicPartition tp;
    Result<CompactionOutput> output;
  };
  std::mutex cleaner_mutex_;
  std::condition_variable cleaner_wake_;
  std::condition_variable cleaner_idle_;
  std::deque<std::pair<TopicPartition, CompactionJob>> cleaner_queue_;
  std::vector<Finished> cleaner_done_;
  std::map<TopicPartition, bool> cleaning_;
  bool cleaner_busy_ = false;
  bool cleaner_stop_ = false;
  std::thread cleaner_thread_;
};

}  // namespace kafkacore::storage
