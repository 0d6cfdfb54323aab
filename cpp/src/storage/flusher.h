#pragma once
// Group commit: one background thread performs every fsync of a broker's logs, so no network
// thread ever blocks on the disk. Requests that arrive while a pass is running are served by the
// next pass together: one fdatasync per distinct file covers every append queued before it.
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "common/error.h"
#include "storage/file_io.h"

namespace kafkacore::storage {

class Flusher {
 public:
  struct Request {
    std::vector<std::shared_ptr<File>> files;  // fdatasync each
    std::vector<fs::path> directories;         // fsync each (after the files)
    std::function<Result<void>()> task;        // optional extra work, e.g. writing index files
    // Called on the flusher thread with the outcome; must not block.
    std::function<void(const Result<void>&)> done;
  };

  explicit Flusher(IoFaults* faults = nullptr);
  ~Flusher();  // drains queued requests, then stops
  Flusher(const Flusher&) = delete;
  Flusher& operator=(const Flusher&) = delete;

  void submit(Request request);
  // Blocks until everything submitted before the call has been processed (tests, shutdown).
  void drain();
  uint64_t passes() const;  // group-commit passes run (for tests and metrics)
  uint64_t syncs() const;   // fdatasync/fsync calls made

 private:
  void run();

  IoFaults* faults_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable idle_;
  std::deque<Request> queue_;
  bool busy_ = false;
  bool stopping_ = false;
  uint64_t passes_ = 0;
  uint64_t syncs_ = 0;
  std::thread thread_;
};

}  // namespace kafkacore::storage
