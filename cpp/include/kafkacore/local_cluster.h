#pragma once
// kafkacore public API: N brokers in this process forming one cluster (every broker a controller
// voter), each with its own data directory and ports, with fault injection (kill, stop, restart,
// pause, network partitions between brokers).
//
//   kafkacore::LocalClusterOptions options;
//   options.brokers = 3;
//   options.data_dir = "/tmp/kc";                  // broker-<id> below it
//   auto cluster = kafkacore::LocalCluster::start(options);
//   std::string servers = (*cluster)->bootstrap_servers();
//   (*cluster)->kill_broker(1);
//   (*cluster)->stop();
//
// Not thread-safe: one caller at a time.
#include "broker/local_cluster.h"  // IWYU pragma: export
#include "kafkacore/broker.h"      // IWYU pragma: export

namespace kafkacore {
using broker::LocalCluster;
using broker::LocalClusterOptions;
using broker::PartitionRead;
}  // namespace kafkacore
