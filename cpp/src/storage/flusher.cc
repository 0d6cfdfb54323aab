#include "storage/flusher.h"

#include <map>
#include <set>

namespace kafkacore::storage {

Flusher::Flusher(IoFaults* faults) : faults_(faults), thread_([this] { run(); }) {}

Flusher::~Flusher() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void Flusher::submit(Request request) {
  {
    std::lock_guard lock(mutex_);
    queue_.push_back(std::move(request));
  }
  wake_.notify_one();
}

void Flusher::drain() {
  std::unique_lock lock(mutex_);
  idle_.wait(lock, [this] { return queue_.empty() && !busy_; });
}

uint64_t Flusher::passes() const {
  std::lock_guard lock(mutex_);
  return passes_;
}

uint64_t Flusher::syncs() const {
  std::lock_guard lock(mutex_);
  return syncs_;
}

void Flusher::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) {
      if (stopping_) return;
      continue;
    }
    std::deque<Request> batch;
    batch.swap(queue_);
    busy_ = true;
    lock.unlock();

    // Tasks first (they may write files that the syncs below then cover), in submission order.
    std::vector<Result<void>> task_results;
    task_results.reserve(batch.size());
    for (auto& r : batch) task_results.push_back(r.task ? r.task() : Result<void>{});

    std::map<File*, Result<void>> file_results;
    std::map<fs::path, Result<void>> dir_results;
    uint64_t syncs = 0;
    for (auto& r : batch) {
      for (auto& f : r.files) {
        if (!file_results.contains(f.get())) {
          file_results.emplace(f.get(), f->sync());
          ++syncs;
        }
      }
    }
    for (auto& r : batch) {
      for (auto& d : r.directories) {
        if (!dir_results.contains(d)) {
          dir_results.emplace(d, sync_directory(d, faults_));
          ++syncs;
        }
      }
    }
    for (size_t i = 0; i < batch.size(); ++i) {
      auto& r = batch[i];
      Result<void> outcome = task_results[i];
      for (auto& f : r.files) {
        if (outcome && !file_results.at(f.get())) outcome = file_results.at(f.get());
      }
      for (auto& d : r.directories) {
        if (outcome && !dir_results.at(d)) outcome = dir_results.at(d);
      }
      if (r.done) r.done(outcome);
    }
    batch.clear();  // release file handles before reporting idle

    lock.lock();
    busy_ = false;
    ++passes_;
    syncs_ += syncs;
    if (queue_.empty()) idle_.notify_all();
  }
}

}  // namespace kafkacore::storage
