#pragma once
// kafkacore: a Kafka-compatible broker cluster as a C++ library (C++23). Link the CMake target
// kafkacore::kafkacore (find_package(kafkacore)) and include this header, or the one you need:
//
//   kafkacore/broker.h         Broker, BrokerConfig         one broker in this process
//   kafkacore/local_cluster.h  LocalCluster                 N brokers in this process
//   kafkacore/producer.h       Producer, ProducerRecord     Kafka clients, for any cluster
//   kafkacore/consumer.h       Consumer, ConsumerRecord
//   kafkacore/admin_client.h   AdminClient, NewTopic
//   kafkacore/streams.h        StreamsBuilder, KafkaStreams stream processing (Streams DSL)
//   kafkacore/bytes.h          bytes_of(), string_of()      keys and values from/to text
//   kafkacore/version.h        KAFKACORE_VERSION
//
// Everything is in namespace kafkacore (aliases of the classes in kafkacore::broker and
// kafkacore::client). kafkacore::log::set_level(kafkacore::log::Level::warn) quiets the
// brokers' logs (stderr by default; kafkacore::log::set_sink redirects them).
#include "common/log.h"               // IWYU pragma: export
#include "kafkacore/admin_client.h"   // IWYU pragma: export
#include "kafkacore/broker.h"         // IWYU pragma: export
#include "kafkacore/bytes.h"          // IWYU pragma: export
#include "kafkacore/consumer.h"       // IWYU pragma: export
#include "kafkacore/local_cluster.h"  // IWYU pragma: export
#include "kafkacore/producer.h"       // IWYU pragma: export
#include "kafkacore/streams.h"        // IWYU pragma: export
#include "kafkacore/version.h"        // IWYU pragma: export
