#pragma once
// The unit of a topology: a Processor gets records from its parent node, may read and write the
// state stores it declared, and forwards records to its children. One Processor instance exists
// per node per task; a task calls it from one thread at a time.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "common/error.h"
#include "streams/state_store.h"
#include "streams/value.h"

namespace kafkacore::streams {

class ProcessorContext {
 public:
  virtual ~ProcessorContext() = default;
  // To every child, in the order they were attached.
  virtual Result<void> forward(const StreamRecord& record) = 0;
  // To the child at `index` only (branch/split).
  virtual Result<void> forward_to(size_t index, const StreamRecord& record) = 0;
  virtual size_t child_count() const = 0;
  // The largest record timestamp this task has processed; INT64_MIN before the first.
  virtual int64_t stream_time() const = 0;
  // The input record being processed (topic, partition, offset).
  virtual const RecordOrigin& origin() const = 0;
  // The task's partition number (every source topic of a task has the same one).
  virtual int32_t partition() const = 0;
  // Stores declared by this node; nullptr when not declared or of another kind.
  virtual KeyValueStore* kv_store(const std::string& name) = 0;
  virtual WindowStore* window_store(const std::string& name) = 0;
  virtual SessionStore* session_store(const std::string& name) = 0;
  // Counts a record the node dropped on purpose (late for its window, null key for an
  // aggregation...); the reason shows in the app's metrics.
  virtual void record_dropped(std::string_view reason) = 0;
};

class Processor {
 public:
  virtual ~Processor() = default;
  // Called once before the first record, after the task's stores are restored.
  virtual Result<void> init(ProcessorContext& context) {
    context_ = &context;
    return {};
  }
  virtual Result<void> process(const StreamRecord& record) = 0;
  // The task's stream time moved forward (called after processing each input record that
  // advanced it): close windows, emit final results, expire stores.
  virtual Result<void> on_stream_time(int64_t /*stream_time*/) { return {}; }

 protected:
  ProcessorContext& context() { return *context_; }
  ProcessorContext* context_ = nullptr;
};

using ProcessorFactory = std::function<std::unique_ptr<Processor>()>;

}  // namespace kafkacore::streams
