#include "broker/controller_channel.h"

#include "common/log.h"

namespace kafkacore::broker {

namespace asio = server::asio;
using metadata::ControllerResponse;
using metadata::ControllerRpc;

constexpr auto kSweepInterval = std::chrono::milliseconds(20);

ControllerChannel::ControllerChannel(asio::io_context& io, raft::Quorum& quorum,
                                     ControllerService* local, Clock& clock)
    : io_(io), quorum_(quorum), local_(local), clock_(clock) {
  schedule_sweep();
}

ControllerChannel::~ControllerChannel() { stop(); }

void ControllerChannel::stop() {
  *alive_ = false;
  if (timer_) timer_->cancel();
  calls_.clear();
}

void ControllerChannel::call(metadata::ControllerRequest request, int64_t timeout_ms, Done done) {
  const uint64_t id = next_id_++;
  Call& c = calls_[id];
  c.request = std::move(request);
  c.deadline_ms = clock_.now_ms() + timeout_ms;
  c.done = std::move(done);
  // Posted so `done` never runs inside call() (callers hold references into their state).
  asio::post(io_, [this, id, alive = alive_] {
    if (!*alive) return;
    auto it = calls_.find(id);
    if (it != calls_.end() && it->second.sent_to == raft::kNoNode) send(id, it->second);
  });
}

void ControllerChannel::send(uint64_t id, Call& c) {
  const raft::NodeId leader = quorum_.leader();
  if (leader == raft::kNoNode) return;  // the sweep retries
  c.sent_to = leader;
  if (local_ && leader == quorum_.node().id()) {
    // Posted: the service may answer at once, and callers of send() are iterating calls_.
    asio::post(io_, [this, id, request = c.request, alive = alive_] {
      if (!*alive) return;
      local_->handle(request, [this, id, alive](ControllerResponse response) {
        if (*alive) answered(id, std::move(response));
      });
    });
    return;
  }
  quorum_.send_application(leader, metadata::encode_rpc(ControllerRpc{id, c.request}));
}

void ControllerChannel::on_application(raft::NodeId from, Bytes data) {
  auto rpc = metadata::decode_rpc(data);
  if (!rpc) {
    KC_LOG(warn, "controller", "undecodable controller message",
           {{"from", std::to_string(from)}, {"error", rpc.error().message()}});
    return;
  }
  if (auto* request = std::get_if<metadata::ControllerRequest>(&rpc->body)) {
    const uint64_t id = rpc->id;
    auto reply = [this, from, id, alive = alive_](ControllerResponse response) {
      if (*alive) quorum_.send_application(from, metadata::encode_rpc(ControllerRpc{id, response}));
    };
    if (!local_) {
      ControllerResponse refused;
      refused.error_code = static_cast<int16_t>(Errc::not_controller);
      refused.error_message = "node " + std::to_string(quorum_.node().id()) + " is not a controller";
      return reply(std::move(refused));
    }
    local_->handle(*request, std::move(reply));
    return;
  }
  auto it = calls_.find(rpc->id);
  // Only the node we asked may answer (an old answer from a former leader is ignored).
  if (it == calls_.end() || it->second.sent_to != from) return;
  answered(rpc->id, std::get<ControllerResponse>(std::move(rpc->body)));
}

void ControllerChannel::answered(uint64_t id, ControllerResponse response) {
  auto it = calls_.find(id);
  if (it == calls_.end()) return;
  if (response.error_code == static_cast<int16_t>(Errc::not_controller)) {
    it->second.sent_to = raft::kNoNode;  // nothing was written: ask the next controller
    return;
  }
  if (response.error_code == 0 && response.offset > image_offset_) {
    it->second.answer = std::move(response);
    return;
  }
  finish(id, std::move(response));
}

void ControllerChannel::image_applied(int64_t offset) {
  image_offset_ = offset;
  std::vector<uint64_t> ready;
  for (auto& [id, c] : calls_) {
    if (c.answer && c.answer->offset <= offset) ready.push_back(id);
  }
  for (uint64_t id : ready) {
    auto it = calls_.find(id);
    if (it != calls_.end()) finish(id, std::move(*it->second.answer));
  }
}

void ControllerChannel::finish(uint64_t id, Result<ControllerResponse> result) {
  auto it = calls_.find(id);
  if (it == calls_.end()) return;
  KC_LOG(debug, "controller", "call finished",
         {{"request", metadata::request_name(it->second.request)},
          {"error", result ? std::to_string(result->error_code) + " " + result->error_message
                           : result.error().message()}});
  Done done = std::move(it->second.done);
  calls_.erase(it);
  done(std::move(result));
}

void ControllerChannel::leader_changed() {
  // Posted: the quorum is in the middle of driving its Ready.
  asio::post(io_, [this, alive = alive_] {
    if (*alive) sweep();
  });
}

void ControllerChannel::schedule_sweep() {
  if (!timer_) timer_ = std::make_unique<asio::steady_timer>(io_);
  timer_->expires_after(kSweepInterval);
  timer_->async_wait([this, alive = alive_](const boost::system::error_code& ec) {
    if (ec || !*alive) return;
    sweep();
    schedule_sweep();
  });
}

void ControllerChannel::sweep() {
  const int64_t now = clock_.now_ms();
  const raft::NodeId leader = quorum_.leader();
  std::vector<uint64_t> expired;
  for (auto& [id, c] : calls_) {
    if (now >= c.deadline_ms) {
      expired.push_back(id);
    } else if (!c.answer && (c.sent_to == raft::kNoNode || (leader != raft::kNoNode && c.sent_to != leader))) {
      send(id, c);  // never sent, or sent to a node that no longer leads
    }
  }
  for (uint64_t id : expired) {
    finish(id, make_error(Errc::request_timed_out, "the controller did not answer in time"));
  }
}

}  // namespace kafkacore::broker
