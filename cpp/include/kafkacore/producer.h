#pragma once
// kafkacore public API: the native Kafka producer (any Kafka-compatible cluster).
//
//   auto producer = kafkacore::Producer::create({{"bootstrap.servers", servers}});
//   kafkacore::ProducerRecord record{.topic = "orders", .value = kafkacore::bytes_of("hello")};
//   (*producer)->send(record, [](const kafkacore::Result<kafkacore::RecordMetadata>& r) {...});
//   (*producer)->flush(std::chrono::seconds(10));
//
// Thread-safe. Delivery callbacks run on the thread calling poll()/flush()/close().
#include "client/producer.h"  // IWYU pragma: export
#include "client/types.h"     // IWYU pragma: export
#include "common/error.h"     // IWYU pragma: export
#include "kafkacore/bytes.h"  // IWYU pragma: export

namespace kafkacore {
using client::DeliveryCallback;
using client::Header;
using client::HeaderView;
using client::Producer;
using client::ProducerRecord;
using client::ProducerRecordView;
using client::Properties;
using client::RecordMetadata;
using client::TopicPartition;
}  // namespace kafkacore
