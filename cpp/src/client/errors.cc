#include "client/errors.h"

namespace kafkacore::client {

bool retriable(Errc code) {
  switch (code) {
    case Errc::corrupt_message:
    case Errc::unknown_topic_or_partition:
    case Errc::leader_not_available:
    case Errc::not_leader_or_follower:
    case Errc::request_timed_out:
    case Errc::broker_not_available:
    case Errc::network_exception:
    case Errc::coordinator_load_in_progress:
    case Errc::coordinator_not_available:
    case Errc::not_coordinator:
    case Errc::not_enough_replicas:
    case Errc::not_enough_replicas_after_append:
    case Errc::not_controller:
    case Errc::kafka_storage_error:
    case Errc::fetch_session_id_not_found:
    case Errc::invalid_fetch_session_epoch:
    case Errc::fenced_leader_epoch:
    case Errc::unknown_leader_epoch:
    case Errc::unstable_offset_commit:
    case Errc::throttling_quota_exceeded:
    case Errc::unknown_topic_id:
    case Errc::rebalance_in_progress:
      return true;
    default:
      return false;
  }
}

bool invalidates_metadata(Errc code) {
  switch (code) {
    case Errc::unknown_topic_or_partition:
    case Errc::leader_not_available:
    case Errc::not_leader_or_follower:
    case Errc::broker_not_available:
    case Errc::network_exception:
    case Errc::kafka_storage_error:
    case Errc::fenced_leader_epoch:
    case Errc::unknown_leader_epoch:
    case Errc::unknown_topic_id:
      return true;
    default:
      return false;
  }
}

bool invalidates_coordinator(Errc code) {
  return code == Errc::not_coordinator || code == Errc::coordinator_not_available ||
         code == Errc::network_exception || code == Errc::request_timed_out;
}

}  // namespace kafkacore::client
