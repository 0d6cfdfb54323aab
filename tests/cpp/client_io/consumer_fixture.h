#pragma once
// Helpers for the consumer suites: consumer properties for tests (short timeouts), a blocking
// producer over NetworkClient that follows leaders (the test data), and a thread that polls a
// consumer in a loop recording what it sees.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "broker/harness.h"
#include "client/consumer.h"
#include "client/io_thread.h"
#include "client/network_client.h"

namespace kafkacore::client::testing {

using namespace std::chrono_literals;
using broker::testing::make_batch;
using broker::testing::str;

// A TopicPartition without braces (braces confuse GoogleTest's macros).
inline TopicPartition tp_of(const std::string& topic, int32_t partition) {
  return {topic, partition};
}

// Consumer properties for a broker at `bootstrap`: short session and heartbeat so groups
// settle fast; `extra` overrides.
inline Properties consumer_props(const std::string& bootstrap,
                                 const std::map<std::string, std::string>& extra = {}) {
  Properties p = {
      {"bootstrap.servers", bootstrap}, {"session.timeout.ms", "6000"},
      {"heartbeat.interval.ms", "200"}, {"retry.backoff.ms", "50"},
      {"fetch.max.wait.ms", "100"},     {"request.timeout.ms", "10000"},
  };
  for (const auto& [k, v] : extra) p[k] = v;
  return p;
}

inline std::unique_ptr<Consumer> make_consumer(const Properties& props) {
  auto c = Consumer::create(props);
  if (!c) throw std::runtime_error("Consumer::create: " + c.error().message());
  return std::move(*c);
}

// Produces batches to partition leaders (acks=all), retrying leader moves until `timeout`.
class TestProducer {
 public:
  explicit TestProducer(const std::string& bootstrap) : io_("test-producer") {
    ClientOptions o;
    o.bootstrap = *parse_bootstrap_servers(bootstrap);
    o.request_timeout = 5s;
    o.retry_backoff = 50ms;
    network_ = io_.call([&] { return std::make_unique<NetworkClient>(io_.io(), o); });
  }
  ~TestProducer() {
    io_.call([&] { network_->close(); });
    io_.stop();
    network_.reset();
  }

  // The base offset the batch got.
  int64_t produce(const std::string& topic, int32_t partition, ByteView batch,
                  std::chrono::milliseconds timeout = 20s) {
    Bytes copy(batch.begin(), batch.end());
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::string last = "no attempt";
    while (std::chrono::steady_clock::now() < deadline) {
      std::promise<std::pair<int64_t, std::string>> done;
      auto got = done.get_future();
      io_.post([&] {
        network_->want_topics({topic});
        const int32_t leader = network_->metadata().leader(topic, partition);
        if (leader < 0) {
          network_->update_metadata([&](Result<void>) { done.set_value({-1, "no leader"}); });
          return;
        }
        network_->send<protocol::ProduceRequest>(
            leader, broker::testing::produce_request(topic, partition, copy, -1),
            [&](Result<Response<protocol::ProduceResponse>> r) {
              if (!r) {
                network_->update_metadata();
                return done.set_value({-1, r.error().to_string()});
              }
              const auto& p = r->body.responses.at(0).partition_responses.at(0);
              if (p.error_code != 0) {
                network_->update_metadata();
                return done.set_value({-1, "error " + std::to_string(p.error_code)});
              }
              done.set_value({p.base_offset, ""});
            });
      });
      auto [offset, error] = got.get();
      if (offset >= 0) return offset;
      last = error;
      std::this_thread::sleep_for(50ms);
    }
    throw std::runtime_error("produce to " + topic + " failed: " + last);
  }

  // The broker coordinating `group`.
  int32_t coordinator_of(const std::string& group) {
    std::promise<Result<int32_t>> done;
    io_.post([&] {
      network_->forget_coordinator(group, 0);
      network_->find_coordinator(group, 0, [&](Result<int32_t> r) { done.set_value(r); });
    });
    auto node = done.get_future().get();
    if (!node) throw std::runtime_error("FindCoordinator: " + node.error().to_string());
    return NetworkClient::broker_of(*node);
  }

  // `count` records keyed "<prefix>-<i>" in one batch.
  int64_t produce(const std::string& topic, int32_t partition, const std::string& prefix,
                  int count) {
    Bytes batch = make_batch(prefix, count);
    return produce(topic, partition, batch);
  }

 private:
  IoThread io_;
  std::unique_ptr<NetworkClient> network_;
};

// Records what a listener saw (read from any thread).
class RecordingListener : public RebalanceListener {
 public:
  using Calls = std::vector<std::vector<TopicPartition>>;
  void on_partitions_revoked(const std::vector<TopicPartition>& p) override {
    std::lock_guard lock(mutex_);
    revoked_.push_back(p);
  }
  void on_partitions_assigned(const std::vector<TopicPartition>& p) override {
    std::lock_guard lock(mutex_);
    assigned_.push_back(p);
  }
  void on_partitions_lost(const std::vector<TopicPartition>& p) override {
    std::lock_guard lock(mutex_);
    lost_.push_back(p);
  }
  Calls revoked() {
    std::lock_guard lock(mutex_);
    return revoked_;
  }
  Calls assigned() {
    std::lock_guard lock(mutex_);
    return assigned_;
  }
  Calls lost() {
    std::lock_guard lock(mutex_);
    return lost_;
  }

 private:
  std::mutex mutex_;
  Calls revoked_, assigned_, lost_;
};

// Polls a consumer on its own thread until stopped, committing synchronously after each batch
// (so a rebalance never replays records), and records every (partition, offset) seen.
class PollLoop {
 public:
  PollLoop(std::unique_ptr<Consumer> consumer, bool commit_each_batch = true)
      : consumer_(std::move(consumer)), commit_(commit_each_batch) {
    thread_ = std::thread([this] { run(); });
  }
  ~PollLoop() { stop(); }

  // Stops polling and closes the consumer (from the loop's thread).
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }

  std::vector<TopicPartition> assignment() {
    std::lock_guard lock(mutex_);
    return assignment_;
  }
  std::multiset<std::pair<TopicPartition, int64_t>> seen() {
    std::lock_guard lock(mutex_);
    return seen_;
  }
  std::vector<std::string> errors() {
    std::lock_guard lock(mutex_);
    return errors_;
  }
  int32_t generation() {
    std::lock_guard lock(mutex_);
    return generation_;
  }
  // Runs `fn` on the loop's thread between polls (the consumer is single-threaded).
  void run_on_loop(std::function<void(Consumer&)> fn) {
    std::promise<void> done;
    {
      std::lock_guard lock(mutex_);
      tasks_.push_back([&](Consumer& c) {
        fn(c);
        done.set_value();
      });
    }
    done.get_future().wait();
  }
  // Pauses polling (to exceed max.poll.interval.ms) until resumed.
  void hold(bool h) { hold_ = h; }
  std::chrono::milliseconds close_duration() const { return close_duration_; }

 private:
  void run() {
    while (!stop_) {
      std::vector<std::function<void(Consumer&)>> tasks;
      {
        std::lock_guard lock(mutex_);
        tasks.swap(tasks_);
      }
      for (auto& t : tasks) t(*consumer_);
      if (hold_) {
        std::this_thread::sleep_for(20ms);
        continue;
      }
      auto records = consumer_->poll(100ms);
      std::lock_guard lock(mutex_);
      if (!records) {
        errors_.push_back(records.error().to_string());
        continue;
      }
      for (const ConsumerRecord& r : *records) seen_.insert({{r.topic, r.partition}, r.offset});
      assignment_ = consumer_->assignment();
      generation_ = consumer_->generation();
      if (commit_ && !records->empty()) {
        // A commit while the group is mid-rebalance is refused, as in Java; the committing
        // listener saves those positions when the partitions are revoked.
        if (auto c = consumer_->commit_sync(5s);
            !c && c.error().code() != Errc::rebalance_in_progress) {
          errors_.push_back(c.error().to_string());
        }
      }
    }
    const auto start = std::chrono::steady_clock::now();
    (void)consumer_->close(10s);
    close_duration_ = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - start);
  }

  std::unique_ptr<Consumer> consumer_;
  bool commit_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> hold_{false};
  std::mutex mutex_;
  std::vector<TopicPartition> assignment_;
  std::multiset<std::pair<TopicPartition, int64_t>> seen_;
  std::vector<std::string> errors_;
  std::vector<std::function<void(Consumer&)>> tasks_;
  int32_t generation_ = -1;
  std::chrono::milliseconds close_duration_{0};
  std::thread thread_;
};

// Polls `consumer` until `count` records arrived or `timeout`; returns them.
inline std::vector<ConsumerRecord> poll_records(Consumer& consumer, size_t count,
                                                std::chrono::milliseconds timeout = 15s) {
  std::vector<ConsumerRecord> out;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (out.size() < count && std::chrono::steady_clock::now() < deadline) {
    auto r = consumer.poll(100ms);
    if (!r) {
      ADD_FAILURE() << "poll: " << r.error().to_string();
      return out;
    }
    for (auto& rec : *r) out.push_back(std::move(rec));
  }
  return out;
}

// Waits until `cond()` or `timeout`.
inline bool eventually(const std::function<bool()>& cond, std::chrono::milliseconds timeout = 20s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!cond()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(20ms);
  }
  return true;
}

// One broker with groups that settle at once.
class ConsumerTest : public broker::testing::BrokerTest {
 protected:
  std::map<std::string, std::string> extra_properties() const override {
    return {{"group.initial.rebalance.delay.ms", "0"}, {"offsets.topic.num.partitions", "3"}};
  }
  std::string bootstrap() const { return "127.0.0.1:" + std::to_string(broker_->port()); }
  Properties props(const std::map<std::string, std::string>& extra = {}) const {
    return consumer_props(bootstrap(), extra);
  }
  // Produces `count` records to each partition of `topic` (keys "<prefix>-<i>").
  void produce_all(const std::string& topic, int32_t partitions, const std::string& prefix,
                   int count) {
    for (int32_t p = 0; p < partitions; ++p) {
      produce(topic, p, make_batch(prefix + std::to_string(p), count));
    }
  }
};

}  // namespace kafkacore::client::testing
