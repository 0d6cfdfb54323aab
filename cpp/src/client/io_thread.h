#pragma once
// The thread a client's network work runs on. Public client methods are called from any thread;
// they hand work to this one (`post`) or run it here and wait for the answer (`call`).
#include <utility>

#include <boost/asio.hpp>
#include <functional>
#include <future>
#include <optional>
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
  bool on_this_thread() const { return std::this_thread::get_id() == thread_.get_id(); }

  void post(std::function<void()> fn) { boost::asio::post(io_, std::move(fn)); }

  // Runs `fn` on the io thread and returns its result. Called on the io thread, runs inline.
  template <typename Fn>
  auto call(Fn&& fn) -> std::invoke_result_t<Fn> {
    using T = std::invoke_result_t<Fn>;
    if (on_this_thread()) return fn();
    std::packaged_task<T()> task(std::forward<Fn>(fn));
    std::future<T> result = task.get_future();
    boost::asio::post(io_, [&task] { task(); });
    return result.get();
  }

  // Stops the loop and joins (idempotent). Must not be called on the io thread.
  void stop();

 private:
  boost::asio::io_context io_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::thread thread_;
};

}  // namespace kafkacore::client
