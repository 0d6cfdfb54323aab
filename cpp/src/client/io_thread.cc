#include "client/io_thread.h"

#include <pthread.h>

#include "common/log.h"

namespace kafkacore::client {

IoThread::IoThread(std::string name) : work_(boost::asio::make_work_guard(io_)) {
  thread_ = std::thread([this, name = std::move(name)] {
    pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
    io_.run();
  });
  thread_id_ = thread_.get_id();
}

IoThread::~IoThread() { stop(); }

void IoThread::stop() {
  if (!thread_.joinable()) return;
  work_.reset();
  io_.stop();
  thread_.join();
  joined_.store(true, std::memory_order_release);
}

}  // namespace kafkacore::client
