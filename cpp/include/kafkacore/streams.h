#pragma once
// kafkacore public API: Streams, stateful stream processing on any Kafka-compatible cluster.
//
//   kafkacore::StreamsBuilder builder(kafkacore::string_serde(), kafkacore::string_serde());
//   builder.stream({"text"})
//       .flat_map_values(split_into_words)
//       .group_by([](const kafkacore::StreamRecord& r) -> kafkacore::Result<kafkacore::Value> {
//         return r.value;
//       })
//       .count()
//       .to_stream()
//       .to("counts", {.key_serde = kafkacore::string_serde(),
//                      .value_serde = kafkacore::int64_serde(), .name = ""});
//   auto app = kafkacore::KafkaStreams::create(*builder.build(),
//                                              {{"application.id", "wordcount"},
//                                               {"bootstrap.servers", servers}});
//   (*app)->start();
//   ...
//   (*app)->close();
//
// Records carry keys and values as kafkacore::Value (null, bytes, string, int64, double).
// User functions return Result<...>; an error stops the app (state() == error, error()).
#include "kafkacore/bytes.h"        // IWYU pragma: export
#include "streams/builder.h"        // IWYU pragma: export
#include "streams/kafka_streams.h"  // IWYU pragma: export

namespace kafkacore {
using streams::bytes_serde;
using streams::Consumed;
using streams::double_serde;
using streams::EmitStrategy;
using streams::Grouped;
using streams::int64_serde;
using streams::JoinType;
using streams::JoinWindows;
using streams::KafkaStreams;
using streams::KGroupedStream;
using streams::KStream;
using streams::KTable;
using streams::Materialized;
using streams::Produced;
using streams::SerdePtr;
using streams::SessionWindows;
using streams::StreamRecord;
using streams::StreamsBuilder;
using streams::StreamsState;
using streams::string_serde;
using streams::TimeWindows;
using streams::Value;
using streams::ValueJoiner;
using streams::Window;
}  // namespace kafkacore
