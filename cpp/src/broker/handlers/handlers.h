#pragma once
// The Kafka API handlers of a broker: one file per API, each registering itself with its
// advertised version range. `register_handlers` is the one list (and so the ApiVersions answer).
#include "server/handler_registry.h"

namespace kafkacore::broker {

class Broker;

void register_handlers(server::HandlerRegistry& registry, Broker& broker);

void register_api_versions(server::HandlerRegistry& registry, Broker& broker);
void register_metadata(server::HandlerRegistry& registry, Broker& broker);
void register_produce(server::HandlerRegistry& registry, Broker& broker);
void register_fetch(server::HandlerRegistry& registry, Broker& broker);
void register_list_offsets(server::HandlerRegistry& registry, Broker& broker);
void register_topic_admin(server::HandlerRegistry& registry, Broker& broker);
void register_configs(server::HandlerRegistry& registry, Broker& broker);
void register_delete_records(server::HandlerRegistry& registry, Broker& broker);
void register_describe_cluster(server::HandlerRegistry& registry, Broker& broker);
void register_init_producer_id(server::HandlerRegistry& registry, Broker& broker);
void register_offset_for_leader_epoch(server::HandlerRegistry& registry, Broker& broker);
void register_find_coordinator(server::HandlerRegistry& registry, Broker& broker);
void register_group_membership(server::HandlerRegistry& registry, Broker& broker);
void register_group_offsets(server::HandlerRegistry& registry, Broker& broker);
void register_group_admin(server::HandlerRegistry& registry, Broker& broker);

}  // namespace kafkacore::broker
