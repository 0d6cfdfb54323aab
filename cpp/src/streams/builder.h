#pragma once
// The Streams DSL: build a Topology from streams and tables, as Kafka Streams' StreamsBuilder.
//
//   StreamsBuilder builder;
//   builder.stream({"text"}, {.key_serde = string_serde(), .value_serde = string_serde()})
//       .flat_map_values(split_words)
//       .group_by([](const StreamRecord& r) -> Result<Value> { return r.value; })
//       .count()
//       .to_stream()
//       .to("counts", {.value_serde = int64_serde()});
//   auto topology = builder.build();
//
// Handles (KStream, KTable, ...) are small values pointing into their builder; they stay valid
// while the builder lives. Names are generated ("KSTREAM-FILTER-0000000003") unless given.
// Serdes: a stream carries the serdes of its source until an operation changes key or value;
// then the builder's defaults apply where a serde is needed (repartition topics, stores, sinks)
// unless the operation's options give one.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/error.h"
#include "streams/functions.h"
#include "streams/topology.h"

namespace kafkacore::streams {

class StreamsBuilder;
class KTable;
class KGroupedStream;
class TimeWindowedKStream;
class SessionWindowedKStream;

struct Consumed {
  SerdePtr key_serde{};
  SerdePtr value_serde{};
  std::optional<TimestampExtractor> timestamp_extractor{};
  std::string name{};
};

struct Produced {
  SerdePtr key_serde{};
  SerdePtr value_serde{};
  std::string name{};
};

// Serdes for the repartition topic a grouping or join may need.
struct Grouped {
  SerdePtr key_serde{};
  SerdePtr value_serde{};
  std::string name{};
};

// Store name (also the changelog's: "<application.id>-<store>-changelog") and the serde of
// what the store keeps (the aggregate; defaults per Aggregation::aggregate_serde).
struct Materialized {
  std::string store_name{};
  SerdePtr key_serde{};
  SerdePtr value_serde{};
};

struct StreamJoined {
  SerdePtr key_serde{};
  SerdePtr this_value_serde{};
  SerdePtr other_value_serde{};
  std::string name{};
};

class KStream {
 public:
  KStream filter(Predicate predicate, std::string name = "") const;
  KStream filter_not(Predicate predicate, std::string name = "") const;
  KStream map(KeyValueMapper mapper, std::string name = "") const;
  KStream map_values(ValueMapper mapper, std::string name = "") const;
  KStream flat_map(FlatMapper mapper, std::string name = "") const;
  KStream flat_map_values(FlatValueMapper mapper, std::string name = "") const;
  KStream select_key(KeySelector selector, std::string name = "") const;
  KStream peek(ForeachAction action, std::string name = "") const;
  void foreach (ForeachAction action, std::string name = "") const;
  // One stream per predicate (a record goes to the first that holds), plus a last one for the
  // rest when `default_branch`.
  std::vector<KStream> branch(std::vector<Predicate> predicates, bool default_branch = false,
                              std::string name = "") const;
  KStream merge(const KStream& other, std::string name = "") const;
  KStream with_timestamps(TimestampExtractor extractor, std::string name = "") const;
  void to(std::string topic, Produced produced = {}) const;
  // Through "<application.id>-<name>-repartition", partitioned by the current key.
  KStream repartition(Grouped grouped = {}) const;

  KGroupedStream group_by_key(Grouped grouped = {}) const;
  KGroupedStream group_by(KeySelector selector, Grouped grouped = {}) const;

  // The table must be materialized (a source table or an aggregation) and co-partitioned.
  KStream join(const KTable& table, ValueJoiner joiner, JoinType type = JoinType::inner,
               Grouped grouped = {}) const;
  KStream join(const KStream& other, ValueJoiner joiner, JoinWindows windows,
               JoinType type = JoinType::inner, StreamJoined joined = {}) const;

  const std::string& node() const { return node_; }

 private:
  friend class StreamsBuilder;
  friend class KTable;
  friend class KGroupedStream;
  friend class TimeWindowedKStream;
  friend class SessionWindowedKStream;
  KStream(StreamsBuilder* builder, std::string node, SerdePtr key_serde, SerdePtr value_serde,
          bool key_changed)
      : builder_(builder),
        node_(std::move(node)),
        key_serde_(std::move(key_serde)),
        value_serde_(std::move(value_serde)),
        key_changed_(key_changed) {}
  KStream child(const std::string& op, ProcessorFactory factory, std::string name,
                bool key_changes, bool value_changes) const;
  // This stream, repartitioned first if its key changed since the source.
  KStream repartitioned_if_needed(const Grouped& grouped, const std::string& base) const;
  // The table an aggregation of this (grouped) stream makes, windowed or not: serdes, the
  // aggregation's check, its store (`store_kind`, `retention_ms`) and its node, whose
  // processor `make_op(store name, key serde, aggregation with its serdes settled)` builds.
  using AggregateOpMaker = std::function<ProcessorFactory(const std::string&, SerdePtr, Aggregation)>;
  KTable aggregated(Aggregation aggregation, const Materialized& materialized, StoreKind store_kind,
                    int64_t retention_ms, std::string operation, const AggregateOpMaker& make_op) const;

  StreamsBuilder* builder_;
  std::string node_;
  SerdePtr key_serde_;
  SerdePtr value_serde_;
  bool key_changed_;
};

class KTable {
 public:
  KStream to_stream(std::string name = "") const;
  KTable filter(Predicate predicate, std::string name = "") const;
  KTable map_values(ValueMapper mapper, std::string name = "") const;
  // "" when not materialized.
  const std::string& store() const { return store_; }
  const std::string& node() const { return node_; }

 private:
  friend class StreamsBuilder;
  friend class KStream;
  friend class KGroupedStream;
  friend class TimeWindowedKStream;
  friend class SessionWindowedKStream;
  KTable(StreamsBuilder* builder, std::string node, std::string store, SerdePtr key_serde,
         SerdePtr value_serde)
      : builder_(builder),
        node_(std::move(node)),
        store_(std::move(store)),
        key_serde_(std::move(key_serde)),
        value_serde_(std::move(value_serde)) {}
  StreamsBuilder* builder_;
  std::string node_;
  std::string store_;
  SerdePtr key_serde_;
  SerdePtr value_serde_;
};

// count/sum/min/max/reduce, the same for plain, time-windowed and session-windowed grouped
// streams: each supplies aggregate_with(aggregation, materialized, operation name).
Aggregation native_aggregation(Aggregation::Kind kind);
Aggregation reduce_aggregation(Reducer reducer);

template <typename Grouping>
class Aggregations {
 public:
  KTable count(Materialized m = {}) const {
    return of(Aggregation::Kind::count, std::move(m), "count");
  }
  KTable sum(Materialized m = {}) const { return of(Aggregation::Kind::sum, std::move(m), "sum"); }
  KTable min(Materialized m = {}) const { return of(Aggregation::Kind::min, std::move(m), "min"); }
  KTable max(Materialized m = {}) const { return of(Aggregation::Kind::max, std::move(m), "max"); }
  KTable reduce(Reducer reducer, Materialized m = {}) const {
    return self().aggregate_with(reduce_aggregation(std::move(reducer)), std::move(m), "reduce");
  }

 private:
  const Grouping& self() const { return static_cast<const Grouping&>(*this); }
  KTable of(Aggregation::Kind kind, Materialized m, const char* op) const {
    return self().aggregate_with(native_aggregation(kind), std::move(m), op);
  }
};

class KGroupedStream : public Aggregations<KGroupedStream> {
 public:
  KTable aggregate(Initializer initializer, Aggregator adder,
                   Materialized materialized = {}) const;
  TimeWindowedKStream windowed_by(TimeWindows windows) const;
  SessionWindowedKStream windowed_by(SessionWindows windows) const;

 private:
  friend class KStream;
  friend class TimeWindowedKStream;
  friend class SessionWindowedKStream;
  friend class Aggregations<KGroupedStream>;
  explicit KGroupedStream(KStream stream) : stream_(std::move(stream)) {}
  KTable aggregate_with(Aggregation aggregation, Materialized materialized,
                        const std::string& op) const;
  KStream stream_;
};

class TimeWindowedKStream : public Aggregations<TimeWindowedKStream> {
 public:
  TimeWindowedKStream emit(EmitStrategy strategy) const;
  KTable aggregate(Initializer initializer, Aggregator adder,
                   Materialized materialized = {}) const;

 private:
  friend class KGroupedStream;
  friend class Aggregations<TimeWindowedKStream>;
  TimeWindowedKStream(KStream stream, TimeWindows windows)
      : stream_(std::move(stream)), windows_(windows) {}
  KTable aggregate_with(Aggregation aggregation, Materialized materialized,
                        const std::string& op) const;
  KStream stream_;
  TimeWindows windows_;
  EmitStrategy emit_ = EmitStrategy::on_update;
};

class SessionWindowedKStream : public Aggregations<SessionWindowedKStream> {
 public:
  SessionWindowedKStream emit(EmitStrategy strategy) const;
  KTable aggregate(Initializer initializer, Aggregator adder, Merger merger,
                   Materialized materialized = {}) const;

 private:
  friend class KGroupedStream;
  friend class Aggregations<SessionWindowedKStream>;
  SessionWindowedKStream(KStream stream, SessionWindows windows)
      : stream_(std::move(stream)), windows_(windows) {}
  KTable aggregate_with(Aggregation aggregation, Materialized materialized,
                        const std::string& op) const;
  KStream stream_;
  SessionWindows windows_;
  EmitStrategy emit_ = EmitStrategy::on_update;
};

class StreamsBuilder {
 public:
  // Serdes used where a stream's own are unknown (after map and friends). Bytes by default.
  explicit StreamsBuilder(SerdePtr default_key_serde = nullptr,
                          SerdePtr default_value_serde = nullptr);

  KStream stream(std::vector<std::string> topics, Consumed consumed = {});
  // A table read from a (preferably compacted) topic; null values delete.
  KTable table(std::string topic, Consumed consumed = {}, Materialized materialized = {});
  // Checks and returns the topology; the builder should not be used afterwards.
  Result<Topology> build();

  const SerdePtr& default_key_serde() const { return default_key_serde_; }
  const SerdePtr& default_value_serde() const { return default_value_serde_; }

 private:
  friend class KStream;
  friend class KTable;
  friend class KGroupedStream;
  friend class TimeWindowedKStream;
  friend class SessionWindowedKStream;
  // "KSTREAM-<OP>-0000000007" when `name` is empty; records a duplicate name as a build error.
  std::string node_name(const std::string& prefix, std::string name);
  NodeSpec& add_node(NodeSpec node, const std::string& parent);
  void add_store(StoreSpec store);
  void fail(std::string message);

  SerdePtr default_key_serde_;
  SerdePtr default_value_serde_;
  Topology topology_;
  int next_index_ = 0;
  std::string error_;
};

}  // namespace kafkacore::streams
