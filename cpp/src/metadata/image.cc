#include "metadata/image.h"

namespace kafkacore::metadata {

std::shared_ptr<const MetadataImage> MetadataImage::empty() {
  static const auto image = std::make_shared<const MetadataImage>();
  return image;
}

const BrokerState* MetadataImage::broker(int32_t id) const {
  auto it = brokers_.find(id);
  return it == brokers_.end() ? nullptr : &it->second;
}

const TopicState* MetadataImage::topic(const std::string& name) const {
  auto it = topics_.find(name);
  return it == topics_.end() ? nullptr : &it->second;
}

const TopicState* MetadataImage::topic_by_id(const Uuid& id) const {
  auto it = topic_names_.find(id);
  return it == topic_names_.end() ? nullptr : topic(it->second);
}

const PartitionState* MetadataImage::partition(const std::string& name, int32_t index) const {
  const TopicState* t = topic(name);
  if (!t || index < 0 || static_cast<size_t>(index) >= t->partitions.size()) return nullptr;
  return &t->partitions[static_cast<size_t>(index)];
}

std::map<std::string, std::string> MetadataImage::configs(ConfigResource type,
                                                          const std::string& name) const {
  auto it = configs_.find({type, name});
  return it == configs_.end() ? std::map<std::string, std::string>{} : it->second;
}

std::shared_ptr<const MetadataImage> MetadataImage::apply(
    const std::vector<MetadataRecord>& records, int64_t offset,
    std::vector<std::string>* problems) const {
  auto next = std::make_shared<MetadataImage>(*this);
  for (const auto& record : records) {
    if (auto r = next->apply_one(record); !r && problems) {
      problems->push_back(record_name(record) + ": " + r.error().message());
    }
  }
  next->offset_ = offset;
  return next;
}

Result<void> MetadataImage::apply_one(const MetadataRecord& record) {
  auto bad = [](std::string message) { return make_error(Errc::invalid_request, std::move(message)); };
  return std::visit(
      [&](const auto& r) -> Result<void> {
        using T = std::decay_t<decltype(r)>;
        if constexpr (std::is_same_v<T, ClusterRecord>) {
          cluster_id_ = r.cluster_id;
        } else if constexpr (std::is_same_v<T, RegisterBrokerRecord>) {
          auto& b = brokers_[r.broker_id];
          b = BrokerState{r.broker_id, r.incarnation, r.epoch, r.host, r.port, r.rack, true};
        } else if constexpr (std::is_same_v<T, FenceBrokerRecord> ||
                             std::is_same_v<T, UnfenceBrokerRecord>) {
          auto it = brokers_.find(r.broker_id);
          if (it == brokers_.end()) return bad("unknown broker " + std::to_string(r.broker_id));
          if (it->second.epoch != r.epoch) return bad("stale broker epoch");
          it->second.fenced = std::is_same_v<T, FenceBrokerRecord>;
        } else if constexpr (std::is_same_v<T, TopicRecord>) {
          if (topics_.contains(r.name)) return bad("topic " + r.name + " exists");
          topics_[r.name] = TopicState{r.name, r.topic_id, {}};
          topic_names_[r.topic_id] = r.name;
        } else if constexpr (std::is_same_v<T, PartitionRecord>) {
          auto name = topic_names_.find(r.topic_id);
          if (name == topic_names_.end()) return bad("partition of an unknown topic");
          auto& parts = topics_[name->second].partitions;
          if (r.partition != static_cast<int32_t>(parts.size())) return bad("partitions must be added in order");
          parts.push_back(PartitionState{r.replicas, r.isr, r.leader, r.leader_epoch, r.partition_epoch,
                                         r.elr, r.last_known_leader});
        } else if constexpr (std::is_same_v<T, PartitionChangeRecord>) {
          auto name = topic_names_.find(r.topic_id);
          if (name == topic_names_.end()) return bad("change of an unknown topic");
          auto& parts = topics_[name->second].partitions;
          if (r.partition < 0 || static_cast<size_t>(r.partition) >= parts.size()) {
            return bad("change of an unknown partition");
          }
          auto& p = parts[static_cast<size_t>(r.partition)];
          if (r.leader && *r.leader != p.leader) {
            p.leader = *r.leader;
            ++p.leader_epoch;
          }
          if (r.isr) p.isr = *r.isr;
          if (r.replicas) p.replicas = *r.replicas;
          if (r.elr) p.elr = *r.elr;
          if (r.last_known_leader) p.last_known_leader = *r.last_known_leader;
          ++p.partition_epoch;
        } else if constexpr (std::is_same_v<T, RemoveTopicRecord>) {
          auto name = topic_names_.find(r.topic_id);
          if (name == topic_names_.end()) return bad("removal of an unknown topic");
          configs_.erase({ConfigResource::topic, name->second});
          topics_.erase(name->second);
          topic_names_.erase(name);
        } else if constexpr (std::is_same_v<T, ConfigRecord>) {
          auto& m = configs_[{r.resource, r.resource_name}];
          if (r.value) {
            m[r.key] = *r.value;
          } else {
            m.erase(r.key);
          }
          if (m.empty()) configs_.erase({r.resource, r.resource_name});
        } else if constexpr (std::is_same_v<T, ProducerIdsRecord>) {
          next_producer_id_ = std::max(next_producer_id_, r.start + r.size);
        }
        return {};
      },
      record);
}

std::vector<MetadataRecord> MetadataImage::to_records() const {
  std::vector<MetadataRecord> out;
  if (!cluster_id_.is_zero()) out.push_back(ClusterRecord{cluster_id_});
  for (const auto& [id, b] : brokers_) {
    out.push_back(RegisterBrokerRecord{id, b.incarnation, b.epoch, b.host, b.port, b.rack});
    if (!b.fenced) out.push_back(UnfenceBrokerRecord{id, b.epoch});
  }
  for (const auto& [name, t] : topics_) {
    out.push_back(TopicRecord{name, t.id});
    for (size_t i = 0; i < t.partitions.size(); ++i) {
      const auto& p = t.partitions[i];
      out.push_back(PartitionRecord{t.id, static_cast<int32_t>(i), p.replicas, p.isr, p.leader,
                                    p.leader_epoch, p.partition_epoch, p.elr,
                                    p.last_known_leader});
    }
  }
  for (const auto& [key, values] : configs_) {
    for (const auto& [k, v] : values) out.push_back(ConfigRecord{key.first, key.second, k, v});
  }
  if (next_producer_id_ > 0) out.push_back(ProducerIdsRecord{-1, 0, next_producer_id_});
  return out;
}

}  // namespace kafkacore::metadata
