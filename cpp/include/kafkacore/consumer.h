#pragma once
// kafkacore public API: the native Kafka consumer, in a consumer group (subscribe) or with a
// manual assignment (assign).
//
//   auto consumer = kafkacore::Consumer::create({{"bootstrap.servers", servers},
//                                                {"group.id", "readers"},
//                                                {"auto.offset.reset", "earliest"}});
//   (*consumer)->subscribe({"orders"});
//   auto records = (*consumer)->poll(std::chrono::milliseconds(500));
//   (*consumer)->close();
//
// One thread at a time calls a consumer (close() may come from another to wake a poll()).
#include "client/consumer.h"  // IWYU pragma: export
#include "client/types.h"     // IWYU pragma: export
#include "common/error.h"     // IWYU pragma: export
#include "kafkacore/bytes.h"  // IWYU pragma: export

namespace kafkacore {
using client::Consumer;
using client::ConsumerRecord;
using client::OffsetAndMetadata;
using client::PolledRecords;
using client::Properties;
using client::RebalanceListener;
using client::TimestampKind;
using client::TopicPartition;
}  // namespace kafkacore
