#pragma once
// kafkacore public API: the native admin client (topics, configs, consumer groups and their
// offsets and lag, records, the cluster), over the Kafka protocol.
//
//   auto admin = kafkacore::AdminClient::create({{"bootstrap.servers", servers}});
//   auto created = (*admin)->create_topics({{.name = "orders", .partitions = 3}});
//   // Result<std::map<topic, Result<void>>>: the call, then each topic, may fail.
//
// Thread-safe; every call blocks until done or its timeout (default.api.timeout.ms).
#include "client/admin_client.h"  // IWYU pragma: export
#include "client/types.h"         // IWYU pragma: export
#include "common/error.h"         // IWYU pragma: export

namespace kafkacore {
using client::AdminClient;
using client::AlterConfigOp;
using client::AlterOp;
using client::ClusterDescription;
using client::ConfigEntry;
using client::ConfigResource;
using client::ConfigResourceType;
using client::ConfigSource;
using client::CreateTopicsOptions;
using client::ElectionType;
using client::GroupDescription;
using client::GroupListing;
using client::ListedOffset;
using client::MemberDescription;
using client::NewTopic;
using client::OffsetSpec;
using client::PartitionLag;
using client::Properties;
using client::TopicDescription;
using client::TopicPartition;
}  // namespace kafkacore
