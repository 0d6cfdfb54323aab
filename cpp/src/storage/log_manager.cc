#include "storage/log_manager.h"

#include <charconv>

namespace kafkacore::storage {
namespace {

constexpr const char* kCleanShutdownMarker = ".kafkacore_clean_shutdown";

std::optional<TopicPartition> parse_dir_name(const std::string& name) {
  const size_t dash = name.rfind('-');
  if (dash == std::string::npos || dash == 0 || dash + 1 == name.size()) return std::nullopt;
  int32_t partition = 0;
  auto [end, ec] = std::from_chars(name.data() + dash + 1, name.data() + name.size(), partition);
  if (ec != std::errc{} || end != name.data() + name.size() || partition < 0) return std::nullopt;
  return TopicPartition{name.substr(0, dash), partition};
}

}  // namespace

LogManager::LogManager(LogManagerOptions options)
    : options_(std::move(options)), flusher_(std::make_unique<Flusher>(&faults_)) {
  faults_.bypass_syncs = options_.bypass_fsync;
  cleaner_thread_ = std::thread([this] { cleaner_loop(); });
}

LogManager::~LogManager() {
  {
    std::lock_guard lock(cleaner_mutex_);
    cleaner_stop_ = true;
  }
  cleaner_wake_.notify_all();
  cleaner_thread_.join();
  flusher_->drain();
  logs_.clear();
}

Result<std::unique_ptr<LogManager>> LogManager::open(LogManagerOptions options) {
  std::unique_ptr<LogManager> manager(new LogManager(std::move(options)));
  if (auto r = manager->load(); !r) return std::unexpected(r.error());
  return manager;
}

LogEnvironment LogManager::environment() {
  return LogEnvironment{options_.clock, flusher_.get(), &health_, &faults_, options_.warn};
}

Result<void> LogManager::load() {
  std::error_code ec;
  const fs::path& dir = options_.data_dir;
  if (!fs::exists(dir, ec)) {
    fs::create_directories(dir, ec);
    if (ec) return std::unexpected(io_error("cannot create data directory", dir, ec.value()));
  }
  const fs::path marker = dir / kCleanShutdownMarker;
  clean_start_ = fs::exists(marker, ec);
  std::vector<TopicPartition> found;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (!entry.is_directory()) continue;
    if (auto tp = parse_dir_name(entry.path().filename().string())) found.push_back(*tp);
  }
  if (ec) return std::unexpected(io_error("cannot list", dir, ec.value()));
  for (const auto& tp : found) {
    auto log = PartitionLog::open(dir / tp.dir_name(), config_for(tp.topic), environment(), clean_start_);
    if (!log) return std::unexpected(log.error());
    logs_.emplace(tp, std::move(*log));
  }
  // From now on a crash is unclean: the marker goes before anything is written.
  if (clean_start_) {
    if (auto r = remove_file(marker); !r) return r;
    if (auto r = sync_directory(dir, &faults_); !r) return r;
  }
  return {};
}

const LogConfig& LogManager::config_for(const std::string& topic) const {
  auto it = topic_configs_.find(topic);
  return it == topic_configs_.end() ? options_.defaults : it->second;
}

Result<void> LogManager::set_topic_config(const std::string& topic,
                                          const std::map<std::string, std::string>& overrides) {
  auto config = LogConfig::from_properties(overrides, options_.defaults);
  if (!config) return std::unexpected(config.error());
  topic_configs_[topic] = *config;
  for (auto& [tp, log] : logs_) {
    if (tp.topic == topic) log->set_config(*config);
  }
  return {};
}

Result<PartitionLog*> LogManager::get_or_create(const TopicPartition& tp) {
  if (auto* log = get(tp)) return log;
  if (health_.offline()) return std::unexpected(health_.error());
  if (tp.topic.empty() || tp.partition < 0 || tp.topic.find('/') != std::string::npos ||
      tp.topic == "." || tp.topic == "..") {
    return make_error(Errc::invalid_request, "invalid topic partition name '" + tp.dir_name() + "'");
  }
  auto log = PartitionLog::open(options_.data_dir / tp.dir_name(), config_for(tp.topic),
                                environment(), true);
  if (!log) return std::unexpected(log.error());
  PartitionLog* raw = log->get();
  logs_.emplace(tp, std::move(*log));
  return raw;
}

PartitionLog* LogManager::get(const TopicPartition& tp) const {
  auto it = logs_.find(tp);
  return it == logs_.end() ? nullptr : it->second.get();
}

std::vector<TopicPartition> LogManager::partitions() const {
  std::vector<TopicPartition> out;
  for (const auto& [tp, log] : logs_) out.push_back(tp);
  return out;
}

Result<void> LogManager::remove(const TopicPartition& tp) {
  auto it = logs_.find(tp);
  if (it == logs_.end()) {
    return make_error(Errc::unknown_topic_or_partition, "no log for " + tp.dir_name());
  }
  finish_compactions();
  auto r = it->second->remove_all();
  logs_.erase(it);
  return r;
}

size_t LogManager::tick() {
  commit_finished_compactions();
  size_t deleted = 0;
  for (auto& [tp, log] : logs_) {
    if (health_.offline()) break;
    log->maybe_flush_on_time();
    auto r = log->enforce_retention();
    if (r) {
      deleted += *r;
    } else if (options_.warn) {
      options_.warn("retention of " + tp.dir_name() + " failed: " + r.error().message());
    }
    std::lock_guard lock(cleaner_mutex_);
    if (cleaning_[tp]) continue;
    if (auto job = LogCleaner::plan(*log)) {
      cleaning_[tp] = true;
      cleaner_queue_.emplace_back(tp, std::move(*job));
      cleaner_wake_.notify_one();
    }
  }
  return deleted;
}

void LogManager::cleaner_loop() {
  std::unique_lock lock(cleaner_mutex_);
  for (;;) {
    cleaner_wake_.wait(lock, [this] { return cleaner_stop_ || !cleaner_queue_.empty(); });
    if (cleaner_stop_) return;
    auto [tp, job] = std::move(cleaner_queue_.front());
    cleaner_queue_.pop_front();
    cleaner_busy_ = true;
    lock.unlock();
    auto output = LogCleaner::run(job);
    lock.lock();
    cleaner_done_.push_back({tp, std::move(output)});
    cleaner_busy_ = false;
    if (cleaner_queue_.empty()) cleaner_idle_.notify_all();
  }
}

void LogManager::commit_finished_compactions() {
  std::vector<Finished> done;
  {
    std::lock_guard lock(cleaner_mutex_);
    done.swap(cleaner_done_);
  }
  for (auto& f : done) {
    {
      std::lock_guard lock(cleaner_mutex_);
      cleaning_[f.tp] = false;
    }
    PartitionLog* log = get(f.tp);
    if (!f.output) {
      if (options_.warn) options_.warn("compaction of " + f.tp.dir_name() + " failed: " + f.output.error().message());
      continue;
    }
    if (!log) continue;
    auto r = LogCleaner::commit(*log, std::move(*f.output));
    if (!r && options_.warn) {
      options_.warn("compaction of " + f.tp.dir_name() + " not applied: " + r.error().message());
    }
  }
}

void LogManager::finish_compactions() {
  {
    std::unique_lock lock(cleaner_mutex_);
    cleaner_idle_.wait(lock, [this] { return cleaner_queue_.empty() && !cleaner_busy_; });
  }
  commit_finished_compactions();
}

Result<void> LogManager::shutdown() {
  if (shut_down_) return {};
  shut_down_ = true;
  finish_compactions();
  std::optional<Error> first_error;
  for (auto& [tp, log] : logs_) {
    if (auto r = log->close(); !r && !first_error) first_error = r.error();
  }
  flusher_->drain();
  if (first_error) return std::unexpected(*first_error);
  // Only a fully clean close earns the marker that lets the next start skip recovery.
  return write_file_atomically(options_.data_dir / kCleanShutdownMarker, {}, &faults_);
}

}  // namespace kafkacore::storage
