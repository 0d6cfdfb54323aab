#pragma once
// kafkacore public API: one Kafka-compatible broker in this process.
//
//   auto config = kafkacore::BrokerConfig::from_properties(
//       {{"port", "0"}, {"log.dirs", "/tmp/kc"}, {"kafkacore.unsafe.bypass.fsync", "true"}});
//   auto broker = kafkacore::Broker::start(*config);      // Result<std::unique_ptr<Broker>>
//   std::string servers = (*broker)->bootstrap_servers();  // "127.0.0.1:PORT"
//   (*broker)->stop();
//
// Properties use Kafka's names (port, host, node.id, log.dirs, num.partitions, log.retention.ms,
// ...). A broker that is the only controller voter returns from start() ready to serve.
// Errors are values: kafkacore::Result<T> is std::expected<T, kafkacore::Error>.
#include "broker/broker.h"  // IWYU pragma: export
#include "broker/config.h"  // IWYU pragma: export
#include "common/error.h"   // IWYU pragma: export

namespace kafkacore {
using broker::Broker;
using broker::BrokerConfig;
}  // namespace kafkacore
