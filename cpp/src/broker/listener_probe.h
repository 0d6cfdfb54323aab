#pragma once
// Tells a dead broker process from a silent one. After a broker's controller link breaks, the
// controller dials the broker's client listener: a refused connection means no process listens
// there any more (kill -9, crash, shutdown), so the broker can be fenced at once. A live broker
// accepts, and a lost host does not answer; both leave the decision to the heartbeat grace and
// the session, as before.
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

namespace kafkacore::broker {

enum class ListenerProbe { accepted, refused, no_answer };

// Calls `done` exactly once, on `io`'s thread, unless `io` stops first.
void probe_listener(boost::asio::io_context& io, const std::string& host, int32_t port,
                    std::chrono::milliseconds timeout, std::function<void(ListenerProbe)> done);

}  // namespace kafkacore::broker
