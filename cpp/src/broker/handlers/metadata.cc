// Metadata (key 3): the unfenced brokers (as in Kafka, a fenced broker is not listed, nor
// advertised as a leader), cluster id, active controller, and topics with their partitions
// (leader, epoch, replicas, ISR, offline replicas) from this broker's metadata image.
// Unknown topics are created when auto.create.topics.enable and the request allow it (v4+ flag;
// always for v0-3); the answer waits until the creation is in this broker's image.
//
// An answer naming a partition whose leader this broker has just lost (unreachable_leaders.h),
// but which the controller has not fenced yet, is held until the image moves the leadership or
// the controller's grace for lost connections has passed, re-checked every few milliseconds.
// A dead broker whose listener refuses is fenced about 20 ms after its death; a client asking
// in between would learn "no leader" and, being librdkafka, not ask again before its 1 s leader
// scan. Held, it learns the new leader in its first answer.
//
// That held answer still lists the broker it waited for, fenced by then, as a broker (leading
// nothing). librdkafka decommissions a broker that leaves the list, and the decommission races
// the move of that broker's partitions to their new leaders: it sends them back to "no leader"
// until the next 1 s scan. Gone from a later answer, the broker has no partitions left to send
// back. Only answers that waited list it, so other clients never see a fenced broker.
#include <chrono>
#include <memory>
#include <set>

#include "broker/broker.h"
#include "broker/handlers/handlers.h"
#include "broker/handlers/util.h"
#include "broker/offsets_topic.h"
#include "protocol/messages.h"

namespace kafkacore::broker {
namespace {

using protocol::MetadataRequest;
using protocol::MetadataResponse;

using Clock = std::chrono::steady_clock;
constexpr auto kUndecidedRecheck = std::chrono::milliseconds(5);

// `undecided` gets the leaders that are registered and unfenced in the image but lost to this
// broker: the controller is about to decide on them.
MetadataResponse::MetadataResponseTopic describe_topic(const Broker& broker,
                                                       const metadata::MetadataImage& image,
                                                       const metadata::TopicState& topic,
                                                       std::set<int32_t>& undecided) {
  MetadataResponse::MetadataResponseTopic out;
  out.name = topic.name;
  out.topic_id = to_wire(topic.id);
  out.is_internal = topic.name == kOffsetsTopic || topic.name == "__transaction_state";
  for (int32_t p = 0; p < static_cast<int32_t>(topic.partitions.size()); ++p) {
    const auto& state = topic.partitions[p];
    MetadataResponse::MetadataResponsePartition part;
    part.partition_index = p;
    // A leader whose broker is fenced (or unknown) is not advertised, as the broker list leaves
    // it out: a client would only wait on a dead connection. Kafka answers the same. Nor is
    // one this broker's replica fetcher has just lost (a dead leader not fenced yet).
    part.leader_id = broker.advertised_leader(state.leader);
    if (part.leader_id < 0 && state.leader >= 0) {
      const auto* leader = image.broker(state.leader);
      if (leader && !leader->fenced) undecided.insert(state.leader);
    }
    part.leader_epoch = state.leader_epoch;
    part.replica_nodes = state.replicas;
    part.isr_nodes = state.isr;
    for (int32_t r : state.replicas) {
      const auto* b = image.broker(r);
      if (!b || b->fenced) part.offline_replicas.push_back(r);
    }
    part.error_code = part.leader_id < 0 ? error_code(Errc::leader_not_available) : 0;
    out.partitions.push_back(std::move(part));
  }
  return out;
}

struct PendingAnswer {
  MetadataRequest req;
  server::Request request;
  std::map<std::string, Error> creation_errors;
  Clock::time_point hold_until;
  std::unique_ptr<boost::asio::steady_timer> timer;
  std::set<int32_t> awaited;  // undecided leaders this answer was held for
};

// Responds, or holds the answer (see the top of this file) and tries again shortly.
void answer(Broker& broker, const std::shared_ptr<PendingAnswer>& pending) {
  const MetadataRequest& req = pending->req;
  server::Request& request = pending->request;
  const auto& creation_errors = pending->creation_errors;
  const int16_t version = request.header.api_version;
  const auto& image = broker.image();
  MetadataResponse response;
  response.cluster_id = image.cluster_id().to_string();
  response.controller_id = broker.controller_id();

  // v0: an empty list means every topic; v1+: null means every topic.
  const bool all_topics = !req.topics.has_value() || (version == 0 && req.topics->empty());
  std::set<int32_t> undecided;
  if (all_topics) {
    for (const auto& [name, topic] : image.topics()) {
      response.topics.push_back(describe_topic(broker, image, topic, undecided));
    }
  } else {
    for (const auto& wanted : *req.topics) {
      const metadata::TopicState* topic = nullptr;
      if (wanted.name) {
        topic = image.topic(*wanted.name);
      } else if (!wanted.topic_id.is_zero()) {
        topic = image.topic_by_id(from_wire(wanted.topic_id));
      }
      if (topic) {
        response.topics.push_back(describe_topic(broker, image, *topic, undecided));
        continue;
      }
      MetadataResponse::MetadataResponseTopic missing;
      missing.name = wanted.name;
      missing.topic_id = wanted.topic_id;
      auto failed = wanted.name ? creation_errors.find(*wanted.name) : creation_errors.end();
      if (failed != creation_errors.end()) {
        missing.error_code = error_code(failed->second.code());
      } else {
        missing.error_code = error_code(wanted.name ? Errc::unknown_topic_or_partition
                                                    : Errc::unknown_topic_id);
      }
      response.topics.push_back(std::move(missing));
    }
  }
  if (!undecided.empty() && Clock::now() < pending->hold_until) {
    pending->awaited.insert(undecided.begin(), undecided.end());
    if (!pending->timer) pending->timer = std::make_unique<boost::asio::steady_timer>(broker.io());
    pending->timer->expires_after(kUndecidedRecheck);
    pending->timer->async_wait([&broker, pending](const boost::system::error_code& ec) {
      if (ec) return;  // the broker is stopping: its connections close unanswered
      answer(broker, pending);
    });
    return;
  }
  for (const auto& [id, b] : image.brokers()) {
    if (b.fenced && !pending->awaited.contains(id)) continue;
    MetadataResponse::MetadataResponseBroker out;
    out.node_id = id;
    out.host = b.host;
    out.port = b.port;
    if (!b.rack.empty()) out.rack = b.rack;
    response.brokers.push_back(std::move(out));
  }
  request.respond(response);
}

void answer(Broker& broker, MetadataRequest req, server::Request request,
            std::map<std::string, Error> creation_errors) {
  const auto hold = std::chrono::milliseconds(broker.lost_connection_grace_ms());
  answer(broker, std::make_shared<PendingAnswer>(PendingAnswer{
                     std::move(req), std::move(request), std::move(creation_errors),
                     Clock::now() + hold, nullptr, {}}));
}

struct PendingCreations {
  MetadataRequest req;
  server::Request request;
  std::map<std::string, Error> errors;
  int outstanding = 0;
};

}  // namespace

void register_metadata(server::HandlerRegistry& registry, Broker& broker) {
  auto handler = server::typed_handler<MetadataRequest>([&broker](MetadataRequest req,
                                                                  server::Request request) {
    const int16_t version = request.header.api_version;
    const bool all_topics = !req.topics.has_value() || (version == 0 && req.topics->empty());
    const bool may_create = version < 4 || req.allow_auto_topic_creation;
    std::vector<std::string> to_create;
    if (!all_topics && may_create) {
      for (const auto& wanted : *req.topics) {
        if (wanted.name && !broker.image().topic(*wanted.name)) to_create.push_back(*wanted.name);
      }
    }
    if (to_create.empty()) return answer(broker, std::move(req), std::move(request), {});
    auto pending = std::make_shared<PendingCreations>(PendingCreations{std::move(req), std::move(request), {}, 0});
    pending->outstanding = static_cast<int>(to_create.size());
    for (const auto& name : to_create) {
      broker.auto_create_topic(name, [&broker, pending, name](Result<void> created) {
        // Another client's creation of the same topic won the race: it exists, all is well.
        if (!created && created.error().code() != Errc::topic_already_exists) {
          pending->errors.emplace(name, created.error());
        }
        if (--pending->outstanding == 0) {
          answer(broker, std::move(pending->req), std::move(pending->request),
                 std::move(pending->errors));
        }
      });
    }
  });
  registry.add({MetadataRequest::api_key, "Metadata", 0, 12, 0, handler});
}

}  // namespace kafkacore::broker
