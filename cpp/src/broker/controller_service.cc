#include "broker/controller_service.h"

#include "common/log.h"

namespace kafkacore::broker {

using metadata::ControllerResponse;

ControllerService::ControllerService(raft::Quorum& quorum, metadata::MetadataMachine& machine,
                                     metadata::ControllerConfig config, Clock& clock)
    : quorum_(quorum), machine_(machine), controller_(config, clock),
      producer_id_block_size_(config.producer_id_block_size) {}

void ControllerService::leadership_changed(bool is_leader) {
  leader_ = is_leader;
  active_ = false;
  if (is_leader) {
    activates_at_ = quorum_.node().last_index();
    image_applied(machine_.image());
  }
}

void ControllerService::image_applied(const metadata::ImagePtr& image) {
  if (!leader_) return;
  if (!active_) {
    if (image->offset() < activates_at_) return;
    active_ = true;
    controller_.reset(image);
    KC_LOG(info, "controller", "active", {{"term", std::to_string(quorum_.term())},
                                          {"offset", std::to_string(image->offset())}});
    if (image->cluster_id().is_zero()) {
      propose(controller_.bootstrap(Uuid::random()), [](Result<raft::Index>) {});
    }
    return;
  }
  controller_.committed(image);
}

void ControllerService::tick() {
  if (!active_) return;
  auto records = controller_.tick();
  if (!records.empty()) propose(records, [](Result<raft::Index>) {});
}

void ControllerService::propose(const metadata::Records& records,
                                std::function<void(Result<raft::Index>)> done) {
  auto index = quorum_.propose(metadata::encode_records(records), std::move(done));
  if (!index) {
    // Not leading any more: the speculative state is void; leadership_changed follows.
    controller_.reset(machine_.image());
    return;
  }
  controller_.proposed(*index);
}

void ControllerService::commit_and_respond(Result<metadata::Records> records,
                                           ControllerResponse response, Respond respond) {
  if (!records) {
    response.error_code = static_cast<int16_t>(records.error().code());
    response.error_message = records.error().message();
    return respond(std::move(response));
  }
  if (records->empty()) return respond(std::move(response));
  auto index = quorum_.propose(
      metadata::encode_records(*records),
      [response, respond](Result<raft::Index> committed) mutable {
        if (!committed) {
          response.error_code = static_cast<int16_t>(Errc::not_controller);
          response.error_message = committed.error().message();
        } else {
          response.offset = *committed;
        }
        respond(std::move(response));
      });
  if (!index) {
    controller_.reset(machine_.image());
    response.error_code = static_cast<int16_t>(Errc::not_controller);
    response.error_message = index.error().message();
    return respond(std::move(response));
  }
  controller_.proposed(*index);
}

void ControllerService::handle(const metadata::ControllerRequest& request, Respond respond) {
  ControllerResponse response;
  if (!active_) {
    response.error_code = static_cast<int16_t>(Errc::not_controller);
    response.error_message = "node " + std::to_string(quorum_.node().id()) +
                             " is not the active controller (leader: " +
                             std::to_string(quorum_.leader()) + ")";
    return respond(std::move(response));
  }
  std::visit(
      [&](const auto& r) {
        using T = std::decay_t<decltype(r)>;
        if constexpr (std::is_same_v<T, metadata::RegisterBrokerRequest>) {
          auto records = controller_.register_broker(
              {r.broker_id, r.incarnation, r.host, r.port, r.rack, r.clean_shutdown});
          if (records) response.epoch = controller_.image().broker(r.broker_id)->epoch;
          commit_and_respond(std::move(records), response, respond);
        } else if constexpr (std::is_same_v<T, metadata::BrokerHeartbeatRequest>) {
          auto outcome = controller_.heartbeat(r.broker_id, r.epoch, r.metadata_offset);
          if (!outcome) return commit_and_respond(std::unexpected(outcome.error()), response, respond);
          response.fenced = outcome->second;
          commit_and_respond(std::move(outcome->first), response, respond);
        } else if constexpr (std::is_same_v<T, metadata::AlterPartitionRequest>) {
          commit_and_respond(controller_.alter_partition(r.topic_id, r.partition, r.leader,
                                                         r.leader_epoch, r.partition_epoch, r.isr),
                             response, respond);
        } else if constexpr (std::is_same_v<T, metadata::CreateTopicRequest>) {
          auto records = controller_.create_topic(r.name, r.partitions,
                                                  static_cast<int16_t>(r.replication_factor), r.configs,
                                                  r.assignment);
          // validate_only: the decision without its records (the speculative image is rebuilt).
          if (records && r.validate_only) {
            controller_.reset(machine_.image());
            records = metadata::Records{};
          }
          commit_and_respond(std::move(records), response, respond);
        } else if constexpr (std::is_same_v<T, metadata::DeleteTopicRequest>) {
          commit_and_respond(controller_.delete_topic(r.name), response, respond);
        } else if constexpr (std::is_same_v<T, metadata::CreatePartitionsRequest>) {
          auto records = controller_.create_partitions(r.name, r.count);
          if (records && r.validate_only) {
            controller_.reset(machine_.image());
            records = metadata::Records{};
          }
          commit_and_respond(std::move(records), response, respond);
        } else if constexpr (std::is_same_v<T, metadata::AlterConfigsRequest>) {
          auto records = controller_.alter_configs(r.resource, r.name, r.changes);
          if (records && r.validate_only) {
            controller_.reset(machine_.image());
            records = metadata::Records{};
          }
          commit_and_respond(std::move(records), response, respond);
        } else if constexpr (std::is_same_v<T, metadata::AllocateProducerIdsRequest>) {
          auto outcome = controller_.allocate_producer_ids(r.broker_id);
          if (!outcome) return commit_and_respond(std::unexpected(outcome.error()), response, respond);
          response.producer_id_start = outcome->second;
          response.producer_id_count = producer_id_block_size_;
          commit_and_respond(std::move(outcome->first), response, respond);
        } else if constexpr (std::is_same_v<T, metadata::ElectPreferredLeaderRequest>) {
          commit_and_respond(controller_.elect_preferred_leader(r.topic, r.partition), response,
                             respond);
        } else if constexpr (std::is_same_v<T, metadata::ElectUncleanLeaderRequest>) {
          commit_and_respond(controller_.elect_unclean_leader(r.topic, r.partition), response,
                             respond);
        }
      },
      request);
}

}  // namespace kafkacore::broker
