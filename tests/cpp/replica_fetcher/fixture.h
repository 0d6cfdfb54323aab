#pragma once
// A real broker (the leader) plus an io_context the test thread runs for the client side.
#include <chrono>
#include <functional>
#include <optional>
#include <thread>

#include "broker/harness.h"
#include "client/connection.h"

namespace kafkacore::client::testing {

using namespace std::chrono_literals;
using broker::testing::BrokerTest;

class IoTest : public BrokerTest {
 protected:
  // Runs the client io_context until `done()` or `timeout`; false on timeout.
  bool run_until(const std::function<bool()>& done, std::chrono::milliseconds timeout = 20s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      io_.run_for(5ms);
    }
    return true;
  }
  void run_for(std::chrono::milliseconds d) { io_.run_for(d); }

  // Sends one request and runs the io_context until it completes.
  template <typename Req>
  Result<Response<ResponseOfT<Req>>> call(Connection& conn, const Req& req, int16_t version,
                                          std::optional<std::chrono::milliseconds> timeout = {}) {
    std::optional<Result<Response<ResponseOfT<Req>>>> got;
    conn.send(req, version, [&](Result<Response<ResponseOfT<Req>>> r) { got.emplace(std::move(r)); },
              timeout);
    if (!run_until([&] { return got.has_value(); })) {
      ADD_FAILURE() << "no answer within the test timeout";
      return make_error(Errc::request_timed_out, "test timeout");
    }
    return std::move(*got);
  }

  Result<void> connect(Connection& conn, uint16_t port) {
    std::optional<Result<void>> got;
    conn.connect("127.0.0.1", port, 5s, [&](Result<void> r) { got.emplace(std::move(r)); });
    if (!run_until([&] { return got.has_value(); })) {
      return make_error(Errc::request_timed_out, "test timeout");
    }
    return std::move(*got);
  }

  // Stops the broker and starts it again over the same directory (it gets a new port).
  void restart_broker() {
    client_.reset();
    auto stopped = broker_->stop();
    ASSERT_TRUE(stopped) << stopped.error().message();
    broker_.reset();
    broker_ = broker::testing::start_broker(dir_.path(), extra_properties(), clock());
    client_ = std::make_unique<broker::testing::TestClient>(broker_->port());
  }

  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_{io_.get_executor()};
};

}  // namespace kafkacore::client::testing
