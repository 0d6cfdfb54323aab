#pragma once
// One task: the processors and stores of one sub-topology for one partition number. It turns
// consumed records into StreamRecords at its sources, runs them through the processors, and
// hands what reaches a sink (and every store change) to a RecordSender.
#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "client/types.h"
#include "common/error.h"
#include "streams/kafka_streams.h"
#include "streams/processor.h"
#include "streams/topology.h"

namespace kafkacore::streams {

// Where a task's output goes: the producer, in production.
class RecordSender {
 public:
  virtual ~RecordSender() = default;
  // partition: nullopt = by key hash. `record` is the unserialized form, for observers.
  virtual void send(const std::string& topic, std::optional<int32_t> partition,
                    std::optional<Bytes> key, std::optional<Bytes> value, int64_t timestamp,
                    const std::vector<client::Header>& headers, const StreamRecord* record,
                    bool user_topic) = 0;
  virtual void record_dropped(std::string_view reason) = 0;
};

class StreamTask final : private ProcessorContext {
 public:
  // `prefix` is "<application.id>-" for internal topic and changelog names.
  StreamTask(TaskId id, const Topology& topology, const Topology::SubTopology& sub_topology,
             std::string prefix, RecordSender& sender, bool skip_bad_records);
  ~StreamTask() override;

  const TaskId& id() const { return id_; }
  // (changelog or restore topic, store) for every store of the task, to restore from.
  std::vector<std::pair<std::string, StateStore*>> restore_sources();
  // After restoring: processors created and initialized.
  Result<void> initialize();
  // One consumed record of one of the task's source topics (real, prefixed names).
  Result<void> process(const client::ConsumerRecord& record);
  StateStore* store(const std::string& name);
  // Hands the stores' pending changelog writes to the sender; before every commit.
  void flush_changelogs();
  int64_t stream_time() const override { return stream_time_; }
  // Stream time survives restarts through the commit metadata (as Kafka Streams does): a
  // restarted task must not see windows it already closed as newly closed.
  void restore_stream_time(int64_t time) { stream_time_ = std::max(stream_time_, time); }

 private:
  class Changelog;
  struct Node {
    const NodeSpec* spec = nullptr;
    std::unique_ptr<Processor> processor;
    std::vector<Node*> children;
    std::string sink_topic;  // resolved (prefixed when internal)
  };

  Result<void> deliver(Node& node, const StreamRecord& record);
  Result<void> send_to_sink(Node& node, const StreamRecord& record);
  Result<void> advance_stream_time(int64_t timestamp);

  // ProcessorContext
  Result<void> forward(const StreamRecord& record) override;
  Result<void> forward_to(size_t index, const StreamRecord& record) override;
  size_t child_count() const override;
  const RecordOrigin& origin() const override { return origin_; }
  int32_t partition() const override { return id_.partition; }
  KeyValueStore* kv_store(const std::string& name) override;
  WindowStore* window_store(const std::string& name) override;
  SessionStore* session_store(const std::string& name) override;
  void record_dropped(std::string_view reason) override { sender_.record_dropped(reason); }

  TaskId id_;
  std::string prefix_;
  RecordSender& sender_;
  bool skip_bad_records_;
  std::map<std::string, Node> nodes_;
  std::map<std::string, Node*> source_by_topic_;
  std::vector<Node*> processors_;  // topology order, for stream-time callbacks
  std::map<std::string, std::unique_ptr<StateStore>> stores_;
  std::map<std::string, const StoreSpec*> store_specs_;
  std::vector<std::unique_ptr<Changelog>> changelogs_;
  Node* current_ = nullptr;
  RecordOrigin origin_;
  int64_t stream_time_ = INT64_MIN;
};

}  // namespace kafkacore::streams
