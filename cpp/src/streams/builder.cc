#include "streams/builder.h"

#include <cstdio>

#include "streams/aggregation.h"
#include "streams/operators.h"

namespace kafkacore::streams {
namespace {

SerdePtr first(const SerdePtr& a, const SerdePtr& b) { return a ? a : b; }
SerdePtr first(const SerdePtr& a, const SerdePtr& b, const SerdePtr& c) {
  return a ? a : (b ? b : c);
}

SourceSpec source_spec(std::vector<std::string> topics, bool internal, SerdePtr ks, SerdePtr vs) {
  SourceSpec spec;
  spec.topics = std::move(topics);
  spec.internal = internal;
  spec.key_serde = std::move(ks);
  spec.value_serde = std::move(vs);
  return spec;
}

SinkSpec sink_spec(std::string topic, bool internal, SerdePtr ks, SerdePtr vs) {
  SinkSpec spec;
  spec.topic = std::move(topic);
  spec.internal = internal;
  spec.key_serde = std::move(ks);
  spec.value_serde = std::move(vs);
  return spec;
}

StoreSpec store_spec(std::string name, StoreKind kind, int64_t retention_ms = 0,
                     bool retain_duplicates = false) {
  StoreSpec spec;
  spec.name = std::move(name);
  spec.kind = kind;
  spec.retention_ms = retention_ms;
  spec.retain_duplicates = retain_duplicates;
  return spec;
}

Grouped grouped_with(SerdePtr ks, SerdePtr vs) {
  Grouped g;
  g.key_serde = std::move(ks);
  g.value_serde = std::move(vs);
  return g;
}

}  // namespace

StreamsBuilder::StreamsBuilder(SerdePtr default_key_serde, SerdePtr default_value_serde)
    : default_key_serde_(default_key_serde ? std::move(default_key_serde) : bytes_serde()),
      default_value_serde_(default_value_serde ? std::move(default_value_serde) : bytes_serde()) {}

std::string StreamsBuilder::node_name(const std::string& prefix, std::string name) {
  int index = next_index_++;
  if (!name.empty()) {
    if (topology_.node(name) != nullptr || topology_.stores.contains(name)) {
      fail("name used twice: " + name);
    }
    return name;
  }
  char digits[16];
  std::snprintf(digits, sizeof digits, "%010d", index);
  return prefix + "-" + digits;
}

NodeSpec& StreamsBuilder::add_node(NodeSpec node, const std::string& parent) {
  if (!parent.empty()) {
    for (auto& n : topology_.nodes) {
      if (n.name == parent) n.children.push_back(node.name);
    }
  }
  topology_.nodes.push_back(std::move(node));
  return topology_.nodes.back();
}

void StreamsBuilder::add_store(StoreSpec store) {
  if (!topology_.stores.emplace(store.name, store).second) fail("store name used twice: " + store.name);
}

void StreamsBuilder::fail(std::string message) {
  if (error_.empty()) error_ = std::move(message);
}

KStream StreamsBuilder::stream(std::vector<std::string> topics, Consumed consumed) {
  NodeSpec node;
  node.name = node_name("KSTREAM-SOURCE", consumed.name);
  node.operation = "source";
  node.source = source_spec(std::move(topics), false, first(consumed.key_serde, default_key_serde_),
                            first(consumed.value_serde, default_value_serde_));
  node.source->timestamp_extractor = consumed.timestamp_extractor;
  SerdePtr ks = node.source->key_serde;
  SerdePtr vs = node.source->value_serde;
  std::string name = add_node(std::move(node), "").name;
  return KStream(this, name, ks, vs, false);
}

KTable StreamsBuilder::table(std::string topic, Consumed consumed, Materialized materialized) {
  KStream source = stream({topic}, consumed);
  std::string store = node_name("KSTREAM-SOURCE-STATE-STORE", materialized.store_name);
  StoreSpec spec = store_spec(store, StoreKind::key_value);
  spec.logged = false;  // the source topic is its changelog
  spec.restore_topic = topic;
  add_store(std::move(spec));
  NodeSpec node;
  node.name = node_name("KTABLE-SOURCE", "");
  node.operation = "table";
  node.factory = table_source_op(store, source.key_serde_, source.value_serde_);
  node.stores = {store};
  std::string name = add_node(std::move(node), source.node_).name;
  return KTable(this, name, store, source.key_serde_, source.value_serde_);
}

Result<Topology> StreamsBuilder::build() {
  if (!error_.empty()) return make_error(Errc::invalid_config, "topology: " + error_);
  if (auto ok = topology_.validate(); !ok) return std::unexpected(ok.error());
  return topology_;
}

// --- KStream

KStream KStream::child(const std::string& op, ProcessorFactory factory, std::string name,
                       bool key_changes, bool value_changes) const {
  NodeSpec node;
  node.name = builder_->node_name("KSTREAM-" + op, std::move(name));
  node.operation = op;
  node.factory = std::move(factory);
  std::string added = builder_->add_node(std::move(node), node_).name;
  return KStream(builder_, added, key_changes ? nullptr : key_serde_,
                 value_changes ? nullptr : value_serde_, key_changed_ || key_changes);
}

KStream KStream::filter(Predicate p, std::string name) const {
  return child("FILTER", filter_op(std::move(p), false), std::move(name), false, false);
}
KStream KStream::filter_not(Predicate p, std::string name) const {
  return child("FILTER", filter_op(std::move(p), true), std::move(name), false, false);
}
KStream KStream::map(KeyValueMapper m, std::string name) const {
  return child("MAP", map_op(std::move(m)), std::move(name), true, true);
}
KStream KStream::map_values(ValueMapper m, std::string name) const {
  return child("MAPVALUES", map_values_op(std::move(m)), std::move(name), false, true);
}
KStream KStream::flat_map(FlatMapper m, std::string name) const {
  return child("FLATMAP", flat_map_op(std::move(m)), std::move(name), true, true);
}
KStream KStream::flat_map_values(FlatValueMapper m, std::string name) const {
  return child("FLATMAPVALUES", flat_map_values_op(std::move(m)), std::move(name), false, true);
}
KStream KStream::select_key(KeySelector s, std::string name) const {
  return child("KEY-SELECT", select_key_op(std::move(s)), std::move(name), true, false);
}
KStream KStream::peek(ForeachAction a, std::string name) const {
  return child("PEEK", peek_op(std::move(a), true), std::move(name), false, false);
}
void KStream::foreach (ForeachAction a, std::string name) const {
  child("FOREACH", peek_op(std::move(a), false), std::move(name), false, false);
}
KStream KStream::with_timestamps(TimestampExtractor e, std::string name) const {
  return child("TIMESTAMP", timestamp_op(std::move(e)), std::move(name), false, false);
}

std::vector<KStream> KStream::branch(std::vector<Predicate> predicates, bool default_branch,
                                     std::string name) const {
  size_t count = predicates.size() + (default_branch ? 1 : 0);
  KStream branch = child("BRANCH", branch_op(std::move(predicates), default_branch),
                         std::move(name), false, false);
  std::vector<KStream> out;
  for (size_t i = 0; i < count; ++i) {
    // Pass-through children in predicate order: forward_to(i) reaches branch i.
    out.push_back(branch.child("BRANCHCHILD", pass_through_op(), branch.node_ + "-" +
                                                                     std::to_string(i),
                               false, false));
  }
  return out;
}

KStream KStream::merge(const KStream& other, std::string name) const {
  KStream merged = child("MERGE", pass_through_op(), std::move(name), false, false);
  for (auto& n : builder_->topology_.nodes) {
    if (n.name == other.node_) n.children.push_back(merged.node_);
  }
  if (key_serde_ != other.key_serde_) merged.key_serde_ = nullptr;
  if (value_serde_ != other.value_serde_) merged.value_serde_ = nullptr;
  merged.key_changed_ = key_changed_ || other.key_changed_;
  return merged;
}

void KStream::to(std::string topic, Produced produced) const {
  NodeSpec node;
  node.name = builder_->node_name("KSTREAM-SINK", produced.name);
  node.operation = "sink";
  node.sink = sink_spec(std::move(topic), false,
                        first(produced.key_serde, key_serde_, builder_->default_key_serde_),
                        first(produced.value_serde, value_serde_, builder_->default_value_serde_));
  builder_->add_node(std::move(node), node_);
}

KStream KStream::repartition(Grouped grouped) const {
  KStream forced = *this;
  forced.key_changed_ = true;
  return forced.repartitioned_if_needed(grouped, "KSTREAM-REPARTITION");
}

KStream KStream::repartitioned_if_needed(const Grouped& grouped, const std::string& base) const {
  SerdePtr ks = first(grouped.key_serde, key_serde_, builder_->default_key_serde_);
  SerdePtr vs = first(grouped.value_serde, value_serde_, builder_->default_value_serde_);
  if (!key_changed_) return KStream(builder_, node_, ks, vs, false);
  std::string topic = builder_->node_name(base, grouped.name) + "-repartition";
  NodeSpec sink;
  sink.name = builder_->node_name("KSTREAM-SINK", "");
  sink.operation = "sink";
  sink.sink = sink_spec(topic, true, ks, vs);
  builder_->add_node(std::move(sink), node_);
  NodeSpec source;
  source.name = builder_->node_name("KSTREAM-SOURCE", "");
  source.operation = "source";
  source.source = source_spec({topic}, true, ks, vs);
  std::string name = builder_->add_node(std::move(source), "").name;
  return KStream(builder_, name, ks, vs, false);
}

KGroupedStream KStream::group_by_key(Grouped grouped) const {
  return KGroupedStream(repartitioned_if_needed(grouped, "KSTREAM-AGGREGATE"));
}

KGroupedStream KStream::group_by(KeySelector selector, Grouped grouped) const {
  KStream keyed = child("KEY-SELECT", select_key_op(std::move(selector)), "", true, false);
  return KGroupedStream(keyed.repartitioned_if_needed(grouped, "KSTREAM-AGGREGATE"));
}

KStream KStream::join(const KTable& table, ValueJoiner joiner, JoinType type,
                      Grouped grouped) const {
  if (table.store_.empty()) {
    builder_->fail("a stream-table join needs a materialized table (a source table or an "
                   "aggregation), not " + table.node_);
    return *this;
  }
  if (!grouped.key_serde) grouped.key_serde = table.key_serde_;
  KStream keyed = repartitioned_if_needed(grouped, "KSTREAM-JOIN");
  NodeSpec node;
  node.name = builder_->node_name("KSTREAM-JOIN", "");
  node.operation = "join";
  node.factory = stream_table_join_op(table.store_, first(table.key_serde_, keyed.key_serde_),
                                      first(table.value_serde_, builder_->default_value_serde_),
                                      std::move(joiner), type);
  node.stores = {table.store_};
  std::string name = builder_->add_node(std::move(node), keyed.node_).name;
  return KStream(builder_, name, keyed.key_serde_, nullptr, false);
}

KStream KStream::join(const KStream& other, ValueJoiner joiner, JoinWindows windows,
                      JoinType type, StreamJoined joined) const {
  KStream left = repartitioned_if_needed(
      grouped_with(joined.key_serde, joined.this_value_serde),
      "KSTREAM-JOINTHIS");
  KStream right = other.repartitioned_if_needed(
      grouped_with(joined.key_serde, joined.other_value_serde),
      "KSTREAM-JOINOTHER");
  std::string base = builder_->node_name("KSTREAM-JOIN", joined.name);
  std::string left_store = base + "-this-store";
  std::string right_store = base + "-other-store";
  int64_t retention = windows.before_ms + windows.after_ms + windows.grace_ms + 1;
  for (const auto& s : {left_store, right_store}) {
    builder_->add_store(store_spec(s, StoreKind::window, retention, true));
  }
  NodeSpec l;
  l.name = base + "-this";
  l.operation = "join-this";
  l.factory = stream_stream_join_op(left_store, right_store, true, windows, left.key_serde_,
                                    left.value_serde_, right.value_serde_, joiner, type);
  l.stores = {left_store, right_store};
  builder_->add_node(std::move(l), left.node_);
  NodeSpec r;
  r.name = base + "-other";
  r.operation = "join-other";
  r.factory = stream_stream_join_op(right_store, left_store, false, windows, left.key_serde_,
                                    right.value_serde_, left.value_serde_, joiner, type);
  r.stores = {right_store, left_store};
  builder_->add_node(std::move(r), right.node_);
  NodeSpec merge;
  merge.name = base + "-merge";
  merge.operation = "merge";
  merge.factory = pass_through_op();
  std::string merged = builder_->add_node(std::move(merge), base + "-this").name;
  for (auto& n : builder_->topology_.nodes) {
    if (n.name == base + "-other") n.children.push_back(merged);
  }
  return KStream(builder_, merged, left.key_serde_, nullptr, false);
}

// --- KTable

KStream KTable::to_stream(std::string name) const {
  NodeSpec node;
  node.name = builder_->node_name("KTABLE-TOSTREAM", std::move(name));
  node.operation = "to-stream";
  node.factory = pass_through_op();
  std::string added = builder_->add_node(std::move(node), node_).name;
  return KStream(builder_, added, key_serde_, value_serde_, false);
}

KTable KTable::filter(Predicate predicate, std::string name) const {
  NodeSpec node;
  node.name = builder_->node_name("KTABLE-FILTER", std::move(name));
  node.operation = "filter";
  node.factory = filter_op(std::move(predicate), false);
  std::string added = builder_->add_node(std::move(node), node_).name;
  return KTable(builder_, added, "", key_serde_, value_serde_);
}

KTable KTable::map_values(ValueMapper mapper, std::string name) const {
  NodeSpec node;
  node.name = builder_->node_name("KTABLE-MAPVALUES", std::move(name));
  node.operation = "map-values";
  node.factory = map_values_op(std::move(mapper));
  std::string added = builder_->add_node(std::move(node), node_).name;
  return KTable(builder_, added, "", key_serde_, nullptr);
}

// --- aggregations

Aggregation native_aggregation(Aggregation::Kind kind) {
  Aggregation a;
  a.kind = kind;
  return a;
}

Aggregation reduce_aggregation(Reducer reducer) {
  Aggregation a;
  a.kind = Aggregation::Kind::reduce;
  a.reducer = std::move(reducer);
  return a;
}

namespace {

Aggregation aggregating(Initializer initializer, Aggregator adder, Merger merger = nullptr) {
  Aggregation a;
  a.kind = Aggregation::Kind::aggregate;
  a.initializer = std::move(initializer);
  a.adder = std::move(adder);
  a.merger = std::move(merger);
  return a;
}

// Fills in the stored serde for reduce/aggregate and the serde results go to topics with.
SerdePtr prepare(Aggregation& aggregation, const Materialized& materialized,
                 const SerdePtr& stream_value_serde, const SerdePtr& default_value_serde) {
  using Kind = Aggregation::Kind;
  if (materialized.value_serde) aggregation.aggregate_serde = materialized.value_serde;
  if (!aggregation.aggregate_serde) {
    if (aggregation.kind == Kind::reduce) {
      aggregation.aggregate_serde = first(stream_value_serde, default_value_serde);
    } else if (aggregation.kind == Kind::aggregate) {
      aggregation.aggregate_serde = default_value_serde;
    }
  }
  switch (aggregation.kind) {
    case Kind::count: return int64_serde();
    case Kind::sum:
    case Kind::min:
    case Kind::max: return first(stream_value_serde, default_value_serde);
    default: return aggregation.aggregate_serde;
  }
}

}  // namespace

KTable KStream::aggregated(Aggregation aggregation, const Materialized& materialized,
                           StoreKind store_kind, int64_t retention_ms, std::string operation,
                           const AggregateOpMaker& make_op) const {
  StreamsBuilder* b = builder_;
  SerdePtr key_serde = first(materialized.key_serde, key_serde_, b->default_key_serde_);
  SerdePtr result_serde = prepare(aggregation, materialized, value_serde_, b->default_value_serde_);
  if (auto ok = AggregationRunner(aggregation).check(); !ok) b->fail(ok.error().message());
  std::string store = b->node_name("KSTREAM-AGGREGATE-STATE-STORE", materialized.store_name);
  b->add_store(store_spec(store, store_kind, retention_ms));
  NodeSpec node;
  node.name = b->node_name("KSTREAM-AGGREGATE", "");
  node.operation = std::move(operation);
  node.factory = make_op(store, key_serde, std::move(aggregation));
  node.stores = {store};
  std::string name = b->add_node(std::move(node), node_).name;
  return KTable(b, name, store, key_serde, result_serde);
}

KTable KGroupedStream::aggregate_with(Aggregation aggregation, Materialized materialized,
                                      const std::string& op) const {
  return stream_.aggregated(std::move(aggregation), materialized, StoreKind::key_value, 0, op,
                            [](const std::string& store, SerdePtr key_serde, Aggregation prepared) {
                              return aggregate_op(store, std::move(prepared), key_serde);
                            });
}

KTable KGroupedStream::aggregate(Initializer initializer, Aggregator adder, Materialized m) const {
  return aggregate_with(aggregating(std::move(initializer), std::move(adder)),
                        std::move(m), "aggregate");
}
TimeWindowedKStream KGroupedStream::windowed_by(TimeWindows windows) const {
  if (windows.advance_ms <= 0) windows.advance_ms = windows.size_ms;
  if (windows.size_ms <= 0 || windows.advance_ms > windows.size_ms || windows.grace_ms < 0) {
    stream_.builder_->fail("time windows need 0 < advance <= size and grace >= 0");
  }
  return TimeWindowedKStream(stream_, windows);
}
SessionWindowedKStream KGroupedStream::windowed_by(SessionWindows windows) const {
  if (windows.gap_ms <= 0 || windows.grace_ms < 0) {
    stream_.builder_->fail("session windows need gap > 0 and grace >= 0");
  }
  return SessionWindowedKStream(stream_, windows);
}

TimeWindowedKStream TimeWindowedKStream::emit(EmitStrategy strategy) const {
  TimeWindowedKStream copy = *this;
  copy.emit_ = strategy;
  return copy;
}

KTable TimeWindowedKStream::aggregate_with(Aggregation aggregation, Materialized materialized,
                                           const std::string& op) const {
  return stream_.aggregated(std::move(aggregation), materialized, StoreKind::window,
                            windows_.size_ms + windows_.grace_ms, "windowed-" + op,
                            [this](const std::string& store, SerdePtr key_serde, Aggregation prepared) {
                              return windowed_aggregate_op(store, windows_, std::move(prepared),
                                                           key_serde, emit_);
                            });
}

KTable TimeWindowedKStream::aggregate(Initializer initializer, Aggregator adder,
                                      Materialized m) const {
  return aggregate_with(aggregating(std::move(initializer), std::move(adder)),
                        std::move(m), "aggregate");
}

SessionWindowedKStream SessionWindowedKStream::emit(EmitStrategy strategy) const {
  SessionWindowedKStream copy = *this;
  copy.emit_ = strategy;
  return copy;
}

KTable SessionWindowedKStream::aggregate_with(Aggregation aggregation, Materialized materialized,
                                              const std::string& op) const {
  return stream_.aggregated(std::move(aggregation), materialized, StoreKind::session,
                            windows_.gap_ms + windows_.grace_ms, "session-" + op,
                            [this](const std::string& store, SerdePtr key_serde, Aggregation prepared) {
                              return session_aggregate_op(store, windows_, std::move(prepared),
                                                          key_serde, emit_);
                            });
}

KTable SessionWindowedKStream::aggregate(Initializer initializer, Aggregator adder, Merger merger,
                                         Materialized m) const {
  return aggregate_with(aggregating(std::move(initializer), std::move(adder), std::move(merger)),
                        std::move(m), "aggregate");
}

}  // namespace kafkacore::streams
