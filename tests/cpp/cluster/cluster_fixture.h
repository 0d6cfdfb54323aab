#pragma once
// What the tests on an in-process LocalCluster (tests/cpp/cluster and tests/cpp/client_io)
// share: fast failover settings, a fixture that starts and stops the cluster, clients of its
// brokers, and the CreateTopics, metadata-wait and Produce steps they all repeat.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "broker/harness.h"
#include "broker/local_cluster.h"

namespace kafkacore::broker::testing {

// Fast failure detection for tests (Kafka's defaults take ~10 s to fence a dead broker);
// `extra` adds to (or overrides) them.
inline std::map<std::string, std::string> fast_failover_settings(
    const std::map<std::string, std::string>& extra = {}) {
  std::map<std::string, std::string> settings = {{"broker.session.timeout.ms", "1000"},
                                                 {"broker.heartbeat.interval.ms", "100"},
                                                 {"controller.quorum.election.timeout.ms", "300"},
                                                 {"replica.lag.time.max.ms", "2000"},
                                                 {"replica.fetch.backoff.ms", "50"},
                                                 {"replica.fetch.wait.max.ms", "100"},
                                                 {"kafkacore.tick.ms", "50"}};
  for (const auto& [key, value] : extra) settings[key] = value;
  return settings;
}

// Polls `pred` every 20 ms until it holds; false once `timeout` passed without it.
template <typename Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout = std::chrono::seconds(15)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

// CreateTopics for one topic with topic `configs`: the request every cluster test starts with.
inline protocol::CreateTopicsRequest create_topic_request(
    const std::string& name, int partitions, int16_t replication_factor,
    const std::map<std::string, std::string>& configs = {}) {
  protocol::CreateTopicsRequest req;
  req.topics.push_back(creatable(name, partitions, replication_factor, configs));
  return req;
}

// A LocalCluster in a temp dir, started by the test and stopped (checked) after it.
class LocalClusterTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { log::set_level(log::Level::warn); }

  // `brokers` brokers and `controllers` dedicated controllers (0: combined mode).
  void start_cluster(int brokers, int controllers, std::map<std::string, std::string> properties) {
    LocalClusterOptions options;
    options.brokers = brokers;
    options.controllers = controllers;
    options.data_dir = dir_.path();
    options.properties = std::move(properties);
    auto cluster = LocalCluster::start(options);
    ASSERT_TRUE(cluster) << cluster.error().message();
    cluster_ = std::move(*cluster);
  }
  void TearDown() override {
    if (cluster_) {
      EXPECT_TRUE(cluster_->stop());
    }
  }

  // A client of some running broker other than `avoid`.
  std::unique_ptr<TestClient> client(int32_t avoid = -1) {
    for (int32_t id : cluster_->broker_ids()) {
      if (id == avoid) continue;
      if (auto* b = cluster_->broker(id)) return std::make_unique<TestClient>(b->port());
    }
    throw ClientError("no broker is running");
  }
  std::unique_ptr<TestClient> client_of(int32_t id) {
    return std::make_unique<TestClient>(cluster_->broker(id)->port());
  }

  // Partition `p` of `topic` once `pred` accepts it (as a running broker other than `avoid`
  // reports it, polled every `poll`); throws after `timeout`.
  template <typename Pred>
  protocol::MetadataResponse::MetadataResponsePartition wait_for_partition(
      const std::string& topic, int32_t p, Pred pred, int32_t avoid = -1,
      std::chrono::milliseconds timeout = std::chrono::seconds(15),
      std::chrono::milliseconds poll = std::chrono::milliseconds(20)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      auto resp = client(avoid)->call(metadata_request({topic}, false), 12);
      if (resp.topics.size() == 1 && resp.topics[0].partitions.size() > static_cast<size_t>(p) &&
          pred(resp.topics[0].partitions[p])) {
        return resp.topics[0].partitions[p];
      }
      if (std::chrono::steady_clock::now() > deadline) {
        throw ClientError("timed out waiting for a partition state of " + topic);
      }
      std::this_thread::sleep_for(poll);
    }
  }

  // One Produce of `batch` to broker `leader` with `acks` and `timeout_ms`: the partition's answer.
  protocol::ProduceResponse::PartitionProduceResponse produce_to(int32_t leader,
                                                                 const std::string& topic,
                                                                 int32_t p, ByteView batch,
                                                                 int16_t acks, int32_t timeout_ms) {
    auto req = produce_request(topic, p, batch, acks);
    req.timeout_ms = timeout_ms;
    return client_of(leader)->call(req, 9).responses.at(0).partition_responses.at(0);
  }

  TempDir dir_;
  std::unique_ptr<LocalCluster> cluster_;
};

}  // namespace kafkacore::broker::testing
