#pragma once
// Factories for the processors the DSL (builder.h) places in a topology. Stateless operators
// live in stateless_ops.cc; aggregations in aggregate_ops.cc, windowed_ops.cc and
// session_ops.cc; joins in join_ops.cc.
//
// Conventions: map, flat_map and select_key clear the record's window (the key is new);
// the other stateless operators keep it. A processor forwards records with the input's timestamp and headers unless said
// otherwise. Aggregations key their store by the key serialized with `key_serde`, forward
// (key, aggregate) with `window` set for windowed results, and drop (record_dropped) null keys,
// null values and records late for every window they fall in.
#include <string>
#include <vector>

#include "streams/functions.h"
#include "streams/processor.h"

namespace kafkacore::streams {

// --- stateless (stateless_ops.cc)
ProcessorFactory filter_op(Predicate predicate, bool negate);
ProcessorFactory map_op(KeyValueMapper mapper);
ProcessorFactory map_values_op(ValueMapper mapper);
ProcessorFactory flat_map_op(FlatMapper mapper);
ProcessorFactory flat_map_values_op(FlatValueMapper mapper);
ProcessorFactory select_key_op(KeySelector selector);
// Calls the action, then forwards (peek) or not (foreach).
ProcessorFactory peek_op(ForeachAction action, bool forward);
// Forwards to the child of the first predicate that holds (children in predicate order; a
// default branch, if any, is the child after the last predicate).
ProcessorFactory branch_op(std::vector<Predicate> predicates, bool has_default_branch);
// Passes records through unchanged (merge points, table-to-stream).
ProcessorFactory pass_through_op();
// Replaces the timestamp by the extractor's.
ProcessorFactory timestamp_op(TimestampExtractor extractor);

// --- aggregations
// Non-windowed: table result in a key-value store.
ProcessorFactory aggregate_op(std::string store, Aggregation aggregation, SerdePtr key_serde);
// Time windows (tumbling/hopping) in a window store (retention: size + grace at least).
ProcessorFactory windowed_aggregate_op(std::string store, TimeWindows windows,
                                       Aggregation aggregation, SerdePtr key_serde,
                                       EmitStrategy emit);
// Session windows in a session store. Merging two sessions forwards a tombstone (null value)
// for each replaced session (on_update), then the merged one.
ProcessorFactory session_aggregate_op(std::string store, SessionWindows windows,
                                      Aggregation aggregation, SerdePtr key_serde,
                                      EmitStrategy emit);

// --- tables
// Materializes a table from a changelog-shaped stream (null value deletes) into a key-value
// store and forwards every update.
ProcessorFactory table_source_op(std::string store, SerdePtr key_serde, SerdePtr value_serde);

// --- joins
// Stream-table: each stream record looks up `table_store` by its key; inner drops misses, left
// joins with null. Table updates do not trigger output (as in Kafka).
ProcessorFactory stream_table_join_op(std::string table_store, SerdePtr key_serde,
                                      SerdePtr table_value_serde, ValueJoiner joiner,
                                      JoinType type);
// Stream-stream: the two sides each get one processor, sharing two duplicate-retaining window
// stores (this side's buffer and the other side's). `this_is_left` orders the joiner's
// arguments. Left/outer joins emit unmatched records with null once the join window closes
// (stream time > t + after + grace), as Kafka 3.1+ does.
ProcessorFactory stream_stream_join_op(std::string this_store, std::string other_store,
                                       bool this_is_left, JoinWindows windows,
                                       SerdePtr key_serde, SerdePtr this_value_serde,
                                       SerdePtr other_value_serde, ValueJoiner joiner,
                                       JoinType type);

}  // namespace kafkacore::streams
