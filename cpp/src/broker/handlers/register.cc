#include "broker/handlers/handlers.h"

namespace kafkacore::broker {

void register_handlers(server::HandlerRegistry& registry, Broker& broker) {
  register_api_versions(registry, broker);
  register_metadata(registry, broker);
  register_produce(registry, broker);
  register_fetch(registry, broker);
  register_list_offsets(registry, broker);
  register_topic_admin(registry, broker);
  register_configs(registry, broker);
  register_delete_records(registry, broker);
  register_describe_cluster(registry, broker);
  register_init_producer_id(registry, broker);
  register_offset_for_leader_epoch(registry, broker);
  register_find_coordinator(registry, broker);
  register_group_membership(registry, broker);
  register_group_offsets(registry, broker);
  register_group_admin(registry, broker);
}

}  // namespace kafkacore::broker
