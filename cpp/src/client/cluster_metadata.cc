#include "client/cluster_metadata.h"

#include <algorithm>

namespace kafkacore::client {

protocol::MetadataRequest metadata_request(const std::optional<std::vector<std::string>>& topics,
                                           bool allow_auto_create) {
  protocol::MetadataRequest request;
  if (topics) {
    request.topics.emplace();
    for (const std::string& t : *topics) {
      protocol::MetadataRequest::MetadataRequestTopic topic;
      topic.name = t;
      request.topics->push_back(std::move(topic));
    }
  } else {
    request.topics.reset();
  }
  request.allow_auto_topic_creation = allow_auto_create;
  return request;
}

ClusterMetadata ClusterMetadata::from_response(const protocol::MetadataResponse& response) {
  ClusterMetadata m;
  m.cluster_id = response.cluster_id;
  m.controller_id = response.controller_id;
  for (const auto& b : response.brokers) {
    m.brokers[b.node_id] = BrokerInfo{b.node_id, b.host, static_cast<uint16_t>(b.port), b.rack};
  }
  for (const auto& t : response.topics) {
    if (!t.name) continue;  // only a topic-id lookup answers without a name
    TopicInfo topic;
    topic.name = *t.name;
    topic.id = t.topic_id;
    topic.error = static_cast<Errc>(t.error_code);
    topic.internal = t.is_internal;
    for (const auto& p : t.partitions) {
      topic.partitions.push_back(PartitionInfo{p.partition_index,
                                               static_cast<Errc>(p.error_code), p.leader_id,
                                               p.leader_epoch, p.replica_nodes, p.isr_nodes,
                                               p.offline_replicas});
    }
    std::ranges::sort(topic.partitions, {}, &PartitionInfo::partition);
    m.topics[topic.name] = std::move(topic);
  }
  return m;
}

const TopicInfo* ClusterMetadata::topic(std::string_view name) const {
  auto it = topics.find(name);
  return it == topics.end() ? nullptr : &it->second;
}

const PartitionInfo* ClusterMetadata::partition(const std::string& topic_name,
                                                int32_t index) const {
  const TopicInfo* t = topic(topic_name);
  if (!t || index < 0) return nullptr;
  if (static_cast<size_t>(index) < t->partitions.size() &&
      t->partitions[index].partition == index) {
    return &t->partitions[index];
  }
  auto it = std::ranges::find(t->partitions, index, &PartitionInfo::partition);
  return it == t->partitions.end() ? nullptr : &*it;
}

int32_t ClusterMetadata::leader(const std::string& topic_name, int32_t index) const {
  const PartitionInfo* p = partition(topic_name, index);
  return p ? p->leader : -1;
}

}  // namespace kafkacore::client
