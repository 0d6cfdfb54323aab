#pragma once
// A real broker on 127.0.0.1 (port 0) over a temporary data directory, plus request builders
// shared by the broker suites.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "broker/broker.h"
#include "broker/client.h"
#include "common/log.h"
#include "protocol/messages.h"
#include "record/batch_builder.h"
#include "record/record_batch.h"

namespace kafkacore::broker::testing {

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "kafkacore-broker-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// Broker properties for a test broker over `dir`; `extra` overrides.
inline std::map<std::string, std::string> test_properties(
    const std::filesystem::path& dir, const std::map<std::string, std::string>& extra = {}) {
  std::map<std::string, std::string> props = {
      {"node.id", "1"},
      {"listeners", "PLAINTEXT://127.0.0.1:0"},
      {"log.dirs", dir.string()},
      {"kafkacore.tick.ms", "20"},
  };
  for (const auto& [k, v] : extra) props[k] = v;
  return props;
}

// `clock`: the broker's time (nullptr: the system clock).
inline std::unique_ptr<Broker> start_broker(const std::filesystem::path& dir,
                                            const std::map<std::string, std::string>& extra = {},
                                            Clock* clock = nullptr) {
  auto config = BrokerConfig::from_properties(test_properties(dir, extra));
  if (!config) throw std::runtime_error("bad broker config: " + config.error().message());
  if (clock) config->clock = clock;
  auto broker = Broker::start(std::move(*config));
  if (!broker) throw std::runtime_error("broker did not start: " + broker.error().message());
  return std::move(*broker);
}

// One broker per test, and a connected client.
class BrokerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { log::set_level(log::Level::warn); }

  void SetUp() override {
    broker_ = start_broker(dir_.path(), extra_properties(), clock());
    client_ = std::make_unique<TestClient>(broker_->port());
  }
  void TearDown() override {
    client_.reset();
    if (broker_) {
      auto stopped = broker_->stop();
      EXPECT_TRUE(stopped) << stopped.error().message();
      broker_.reset();
    }
  }
  virtual std::map<std::string, std::string> extra_properties() const { return {}; }
  // The broker's clock; a test that moves time itself returns a ManualClock.
  virtual Clock* clock() { return nullptr; }

  std::unique_ptr<TestClient> connect() { return std::make_unique<TestClient>(broker_->port()); }

  // Creates a topic (CreateTopics v7) and checks it worked; returns its id.
  protocol::Uuid create_topic(const std::string& name, int32_t partitions = 1,
                              const std::map<std::string, std::string>& configs = {});
  // Produce v9, acks=1, one batch to one partition; returns the partition answer.
  protocol::ProduceResponse::PartitionProduceResponse produce(TestClient& client,
                                                              const std::string& topic,
                                                              int32_t partition, ByteView batch,
                                                              int16_t version = 9);
  protocol::ProduceResponse::PartitionProduceResponse produce(const std::string& topic,
                                                              int32_t partition, ByteView batch) {
    return produce(*client_, topic, partition, batch);
  }
  // ListOffsets v7 for one partition and one timestamp.
  protocol::ListOffsetsResponse::ListOffsetsPartitionResponse list_offset(const std::string& topic,
                                                                          int32_t partition,
                                                                          int64_t timestamp);

  // ListOffsets(latest) of partition 0 at `version`; returns the error code.
  int16_t list_offset_at(const std::string& topic, int16_t version);

  TempDir dir_;
  std::unique_ptr<Broker> broker_;
  std::unique_ptr<TestClient> client_;
};

// ---- builders ----

// One topic of a CreateTopics request, with topic `configs`.
inline protocol::CreateTopicsRequest::CreatableTopic creatable(
    const std::string& name, int32_t partitions, int16_t replication = 1,
    const std::map<std::string, std::string>& configs = {}) {
  protocol::CreateTopicsRequest::CreatableTopic t;
  t.name = name;
  t.num_partitions = partitions;
  t.replication_factor = replication;
  for (const auto& [key, value] : configs) {
    auto& c = t.configs.emplace_back();
    c.name = key;
    c.value = value;
  }
  return t;
}

inline ByteView text(const std::string& s) { return as_bytes(s); }
inline std::string str(ByteView v) { return {reinterpret_cast<const char*>(v.data()), v.size()}; }

// Milliseconds since the epoch. Record timestamps must be recent: the broker's retention
// (7 days by default) runs every tick and would delete older records.
inline int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A batch of `count` records keyed "<prefix>-<i>", timestamps `timestamp + i` (-1: now).
Bytes make_batch(const std::string& prefix, int count, int64_t timestamp = -1,
                 record::BatchOptions options = {});
// A batch whose records carry exactly the given timestamps.
Bytes make_batch_with_timestamps(const std::vector<int64_t>& timestamps);

protocol::ProduceRequest produce_request(const std::string& topic, int32_t partition,
                                         ByteView batch, int16_t acks = 1);
protocol::FetchRequest fetch_request(const std::string& topic, int32_t partition, int64_t offset,
                                     int32_t max_wait_ms = 0, int32_t min_bytes = 1);
protocol::MetadataRequest metadata_request(const std::vector<std::string>& topics,
                                           bool allow_auto_create = true);

// The partition of a fetch answer (nullptr if absent).
const protocol::FetchResponse::PartitionData* find_partition(const protocol::FetchResponse& response,
                                                             const std::string& topic,
                                                             int32_t partition);

struct FetchedRecord {
  int64_t offset;
  int64_t timestamp;
  std::optional<std::string> key;
  std::optional<std::string> value;
};
// Decodes every record of a fetched blob (checking each batch's CRC).
std::vector<FetchedRecord> fetched_records(ByteView records);

}  // namespace kafkacore::broker::testing
