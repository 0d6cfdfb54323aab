#pragma once
// A built topology: named nodes (sources, processors, sinks), the stores they use and the
// internal topics between sub-topologies. Immutable once built; every task instantiates its
// sub-topology's processors from the factories here.
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "streams/functions.h"
#include "streams/processor.h"
#include "streams/state_store.h"

namespace kafkacore::streams {

struct SourceSpec {
  std::vector<std::string> topics;
  bool internal = false;  // a repartition topic: the real name is "<application.id>-<topic>"
  SerdePtr key_serde;
  SerdePtr value_serde;
  std::optional<TimestampExtractor> timestamp_extractor;
};

struct SinkSpec {
  std::string topic;
  bool internal = false;
  SerdePtr key_serde;
  SerdePtr value_serde;
  // Windowed keys are written in Kafka Streams' windowed layout (see serde.h).
  std::optional<KeySelector> partition_key;  // unused for now: partitions follow the key hash
};

struct NodeSpec {
  std::string name;
  std::string operation;  // "source", "sink", "filter", "count", ... (for describe())
  std::optional<SourceSpec> source;
  std::optional<SinkSpec> sink;
  ProcessorFactory factory;  // processors only
  std::vector<std::string> stores;
  std::vector<std::string> children;
};

struct StoreSpec {
  std::string name;
  StoreKind kind = StoreKind::key_value;
  int64_t retention_ms = 0;  // window and session stores
  bool retain_duplicates = false;
  // Changelog topic "<application.id>-<name>-changelog", compacted. A table read straight from
  // a topic uses that topic to restore instead and logs nothing.
  bool logged = true;
  std::string restore_topic;  // set when not logged: the source topic to restore from
};

enum class InternalTopicKind { repartition, changelog };

class Topology {
 public:
  std::vector<NodeSpec> nodes;
  std::map<std::string, StoreSpec> stores;

  const NodeSpec* node(const std::string& name) const;
  // Groups of nodes connected by parent-child links; repartition topics separate them. Each
  // gets one task per partition of its source topics. Ids are 0.. in node order.
  struct SubTopology {
    int id = 0;
    std::vector<std::string> nodes;
    std::vector<std::string> external_sources;  // user topics read
    std::vector<std::string> internal_sources;  // repartition topics read (unprefixed)
    std::vector<std::string> internal_sinks;    // repartition topics written (unprefixed)
    std::vector<std::string> stores;
  };
  std::vector<SubTopology> sub_topologies() const;
  // Multi-line text in the style of Kafka Streams' TopologyDescription.
  std::string describe() const;
  // Checks names are unique, children exist, stores declared, every node reachable from a
  // source; INVALID_CONFIG naming the problem.
  Result<void> validate() const;
};

}  // namespace kafkacore::streams
