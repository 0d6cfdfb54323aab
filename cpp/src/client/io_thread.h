#pragma once
// The thread a client's network work runs on. Public client methods are called from any thread;
// they hand work to this one (`post`) or run it here and wait for the answer (`call`).
#include <utility>

#include <boost/asio.hpp>
#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>

namespace kafkacore::client {

class IoThread {
 public:
  explicit IoThread(std::string name);
  // Stops the loop and joins; work still queued is dropped (owners shut down first).
  ~IoThread();
  IoThread(const IoThread&) = delete;
  IoThread& operator=(const IoThread&) = delete;

  boost::asio::io_context& io() { return io_; }
  bool on_this_thread() const { return std::this_thread::get_id() == thread_id_; }

  void post(std::function<void()> fn) { boost::asio::post(io_, std::move(fn)); }

  // Runs `fn` on the io thread and returns its result. Called on the io thread, runs inline.
  template <typename Fn>
  auto call(Fn&& fn) -> std::invoke_result_t<Fn> {
    using T = std::invoke_result_t<Fn>;
    if (on_this_thread()) return fn();
    std::packaged_task<T()> task(std::forward<Fn>(fn));
    std::future<T> result = task.get_future();
    boost::asio::post(io_, [&task] { task(); });
    // A task posted as the loop stops is never run: once the thread has joined, an unfinished
    // answer will not come, and waiting for it would hang the caller.
    while (result.wait_for(std::chrono::milliseconds(50)) != std::future_status::ready) {
      if (joined_.load(std::memory_order_acquire) &&
          result.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
        throw std::runtime_error("the client is closed: its io thread has stopped");
      }
    }
    return result.get();
  }

  // Stops the loop and joins (idempotent). Must not be called on the io thread. A call() made
  // afterwards throws std::runtime_error.
  void stop();

 private:
  boost::asio::io_context io_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::thread thread_;
  // Kept apart from thread_, which join() resets while other threads may be calling in.
  std::thread::id thread_id_;
  std::atomic<bool> joined_{false};
};

}  // namespace kafkacore::client
