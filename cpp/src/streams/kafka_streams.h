#pragma once
// Runs a Topology against a Kafka cluster: one stream thread consuming the topology's source
// topics in the consumer group `application.id`, one task per (sub-topology, partition),
// in-memory state stores restored from their changelogs before a task processes, and
// at-least-once commits (output and changelog writes are flushed before input offsets are
// committed). More instances with the same application.id split the tasks.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "client/config.h"
#include "common/error.h"
#include "streams/topology.h"

namespace kafkacore::streams {

enum class StreamsState { created, rebalancing, running, error, closed };
const char* to_string(StreamsState state);

struct TaskId {
  int sub_topology = 0;
  int32_t partition = 0;
  auto operator<=>(const TaskId&) const = default;
  std::string to_string() const;  // "0_1", as Kafka Streams
};

struct StreamsMetrics {
  int64_t records_processed = 0;  // input records
  int64_t records_produced = 0;   // to sink, repartition and changelog topics
  int64_t records_dropped = 0;    // on purpose: late, null keys, deserialization (continue)
  int64_t commits = 0;
  int64_t rebalances = 0;
  int64_t records_restored = 0;   // changelog records applied to stores
  std::map<std::string, int64_t> dropped_by_reason;
};

class KafkaStreams {
 public:
  // application.id (required; the group id and the prefix of internal topics),
  // bootstrap.servers (required), commit.interval.ms (default 1000; Kafka: 30000),
  // poll.ms (100), task.timeout.ms (300000: how long restoring a store may make no progress
  // before the app fails instead of hanging), replication.factor for internal topics (-1: the broker default),
  // processing.guarantee (at_least_once only, for now), default.deserialization.exception
  // .handler (fail | continue: drop the record and count it), and pass-through client configs
  // with a "consumer.", "producer." or "admin." prefix.
  static Result<std::unique_ptr<KafkaStreams>> create(Topology topology,
                                                      client::Properties config);
  ~KafkaStreams();
  KafkaStreams(const KafkaStreams&) = delete;
  KafkaStreams& operator=(const KafkaStreams&) = delete;

  // Creates internal topics, joins the group and starts the stream thread.
  Result<void> start();
  // Stops processing, commits what was processed, leaves the group. Idempotent.
  Result<void> close(std::chrono::milliseconds timeout = std::chrono::seconds(30));

  StreamsState state() const;
  // Why the app went to `error` (a user function, a serde, a fatal client error).
  std::optional<Error> error() const;
  std::vector<TaskId> active_tasks() const;
  StreamsMetrics metrics() const;
  // Blocks until every source partition assigned here is read to its end offset as of the
  // call and everything it produced is flushed, or until `timeout`; false on timeout or error.
  bool wait_until_idle(std::chrono::milliseconds timeout);

  // Reads a local store (the tasks on this instance). Key: serialized with the store's key
  // serde. nullopt: absent, or the task is not here.
  std::optional<Bytes> query_key_value(const std::string& store, ByteView key) const;

  // Host-language hooks. `scope` wraps each batch of processing on the stream thread (Python
  // takes the GIL once per batch there). `observer` sees every record written to a user sink
  // topic, after serialization, on the stream thread inside the scope.
  using ProcessingScope = std::function<void(const std::function<void()>& work)>;
  using OutputObserver = std::function<void(const std::string& topic, const StreamRecord& record)>;
  void set_processing_scope(ProcessingScope scope);
  void set_output_observer(OutputObserver observer);
  // Called (on the stream thread) when the state changes.
  void set_state_listener(std::function<void(StreamsState)> listener);

  struct Impl;

 private:
  explicit KafkaStreams(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace kafkacore::streams
