// Produce (key 0). Advertised from v0 like Kafka 4.x (older librdkafka turns compression off
// otherwise) but served from v3: v0-2 carry the old message formats and close the connection.
// acks=0 gets no answer; acks=1 answers after the append; acks=-1 also waits until the append is
// durable when the topic syncs every message (flush.messages=1) — with one replica the ISR is
// just this broker, so min.insync.replicas > 1 makes acks=-1 fail with NOT_ENOUGH_REPLICAS.
#include <memory>

#include "broker/broker.h"
#include "broker/offsets_topic.h"
#include "broker/handlers/handlers.h"
#include "broker/handlers/util.h"
#include "protocol/messages.h"
#include "record/record_batch.h"

namespace kafkacore::broker {
namespace {

using protocol::ProduceRequest;
using protocol::ProduceResponse;
using PartitionResponse = ProduceResponse::PartitionProduceResponse;

// Answers once every partition's append is durable and replicated as acks asks (or failed).
struct DurableWait : std::enable_shared_from_this<DurableWait> {
  server::Request request;
  ProduceResponse response;
  int outstanding = 0;
  // acks=all: partitions waiting for their high watermark, until the request's timeout.
  struct Replication {
    std::string topic;
    int32_t index;
    uint64_t wait_id = 0;
    int32_t min_isr = 1;
    PartitionResponse* slot;
    bool finished = false;
  };
  std::vector<Replication> replication;
  std::unique_ptr<boost::asio::steady_timer> timer;

  void done() {
    if (--outstanding == 0) {
      if (timer) timer->cancel();
      request.respond(response);
    }
  }
};

}  // namespace

void register_produce(server::HandlerRegistry& registry, Broker& broker) {
  auto handler = server::typed_handler<ProduceRequest>([&broker](ProduceRequest req,
                                                                 server::Request request) {
    const int16_t version = request.header.api_version;
    auto wait = std::make_shared<DurableWait>();
    ProduceResponse& response = wait->response;
    struct Durable {
      replication::Partition* partition;
      Offset until;
      PartitionResponse* slot;
    };
    std::vector<Durable> durable;
    std::vector<std::pair<replication::Partition*, Offset>> replicated;  // parallel to wait->replication
    const bool valid_acks = req.acks == 0 || req.acks == 1 || req.acks == -1;

    // Reserved so the pointers kept in `durable` stay valid.
    response.responses.reserve(req.topic_data.size());
    for (auto& topic : req.topic_data) {
      auto& topic_response = response.responses.emplace_back();
      topic_response.name = topic.name;
      topic_response.partition_responses.reserve(topic.partition_data.size());
      for (auto& data : topic.partition_data) {
        auto& out = topic_response.partition_responses.emplace_back();
        out.index = data.index;
        out.base_offset = -1;
        auto fail = [&](Errc code, std::string message) {
          out.error_code = error_code(code);
          if (version >= 8) out.error_message = std::move(message);
        };
        if (!valid_acks) {
          fail(Errc::invalid_required_acks, "acks must be -1, 0 or 1");
          continue;
        }
        if (req.transactional_id) {
          fail(Errc::invalid_request, "transactional produce is not supported yet");
          continue;
        }
        if (topic.name == kOffsetsTopic) {
          // The group coordinator's own records: a client writing there could corrupt groups.
          fail(Errc::invalid_topic_exception, "clients may not produce to " + topic.name);
          continue;
        }
        replication::Partition* partition = broker.partition(topic.name, data.index);
        if (!partition) {
          fail(Errc::unknown_topic_or_partition,
               "no partition " + topic.name + "-" + std::to_string(data.index));
          continue;
        }
        if (!partition->is_leader()) {
          fail(Errc::not_leader_or_follower, "broker " + std::to_string(broker.node_id()) +
                                                 " does not lead " + topic.name + "-" +
                                                 std::to_string(data.index));
          continue;
        }
        if (data.records.is_null || data.records.bytes.empty()) {
          fail(Errc::invalid_record, "no records");
          continue;
        }
        auto batch = record::RecordBatchView::parse(data.records.bytes);
        if (batch && batch->compression() == record::Compression::zstd && version < 7) {
          fail(Errc::unsupported_compression_type, "zstd needs Produce v7 or later");
          continue;
        }
        const int32_t min_isr = broker.min_insync_replicas(topic.name);
        if (req.acks == -1 && partition->isr_size() < min_isr) {
          fail(Errc::not_enough_replicas,
               "the partition has " + std::to_string(partition->isr_size()) +
                   " in-sync replicas, fewer than min.insync.replicas=" + std::to_string(min_isr));
          continue;
        }
        auto outcome = partition->append_from_producer(request.writable(data.records.bytes));
        out.log_start_offset = partition->log().log_start_offset().value();
        if (!outcome) {
          fail(outcome.error().code(), outcome.error().message());
          continue;
        }
        out.base_offset = outcome->append.first_offset.value();
        out.log_append_time_ms = outcome->append.log_append_time;
        if (req.acks == -1 && partition->log().config().flush_messages == 1) {
          durable.push_back({partition, Offset{outcome->append.last_offset.value() + 1}, &out});
        }
        if (req.acks == -1 && partition->high_watermark() <= outcome->append.last_offset) {
          wait->replication.push_back({topic.name, data.index, 0, min_isr, &out, false});
          replicated.push_back({partition, outcome->append.last_offset});
        }
      }
    }

    if (req.acks == 0) {
      request.slot.send_none();
      return;
    }
    if (durable.empty() && replicated.empty()) {
      request.respond(response);
      return;
    }
    wait->request = std::move(request);
    wait->outstanding = static_cast<int>(durable.size() + replicated.size()) + 1;
    auto& io = broker.io();
    for (size_t i = 0; i < replicated.size(); ++i) {
      auto* p = replicated[i].first;
      wait->replication[i].wait_id = p->wait_for_high_watermark(
          replicated[i].second, [wait, i, p](Errc e) {
            auto& r = wait->replication[i];
            if (r.finished) return;
            r.finished = true;
            if (e == Errc::none && p->isr_size() < r.min_isr) e = Errc::not_enough_replicas_after_append;
            if (e != Errc::none) {
              r.slot->error_code = error_code(e);
              r.slot->base_offset = -1;
            }
            wait->done();
          });
    }
    if (!replicated.empty()) {
      wait->timer = std::make_unique<boost::asio::steady_timer>(io);
      wait->timer->expires_after(std::chrono::milliseconds(std::max(req.timeout_ms, 0)));
      wait->timer->async_wait([wait, &broker](const boost::system::error_code& ec) {
        if (ec) return;
        for (auto& r : wait->replication) {
          if (r.finished) continue;
          r.finished = true;
          if (auto* p = broker.partition(r.topic, r.index)) p->cancel_wait(r.wait_id);
          r.slot->error_code = error_code(Errc::request_timed_out);
          r.slot->base_offset = -1;
          wait->done();
        }
      });
    }
    for (auto& d : durable) {
      PartitionResponse* slot = d.slot;
      // The callback runs on the flusher thread; the answer is built on the reactor.
      d.partition->log().on_durable(d.until, [wait, slot, &io](const Result<void>& r) {
        std::optional<Error> failure;
        if (!r) failure = r.error();
        boost::asio::post(io, [wait, slot, failure] {
          if (failure) {
            slot->error_code = error_code(*failure);
            slot->base_offset = -1;
          }
          wait->done();
        });
      });
    }
    wait->done();
  });
  registry.add({ProduceRequest::api_key, "Produce", 0, 11, 3, handler});
}

}  // namespace kafkacore::broker
