// RequestLog on its own: what an entry holds, the ring's bound and order, clear, and records
// arriving while another thread takes snapshots.
#include "server/request_log.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace kafkacore::server {
namespace {

protocol::RequestHeader header(int16_t key, int16_t version, int32_t correlation,
                               std::optional<std::string> client = "app") {
  protocol::RequestHeader h;
  h.api_key = key;
  h.api_version = version;
  h.correlation_id = correlation;
  h.client_id = std::move(client);
  return h;
}

std::shared_ptr<const ClientInfo> client(uint64_t id, std::string address) {
  auto c = std::make_shared<ClientInfo>();
  c->connection_id = id;
  c->address = std::move(address);
  return c;
}

TEST(RequestLogTest, EntriesHoldTheHeaderAndTheConnection) {
  RequestLog log;
  EXPECT_EQ(log.capacity(), RequestLog::kDefaultCapacity);
  const auto peer = client(7, "127.0.0.1:5555");
  log.record(header(0, 9, 1, "producer-1"), peer);
  log.record(header(18, 3, 2, std::nullopt), peer);
  auto entries = log.snapshot();
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].api_key, 0);
  EXPECT_EQ(entries[0].api_name, "Produce");
  EXPECT_EQ(entries[0].api_version, 9);
  EXPECT_EQ(entries[0].correlation_id, 1);
  EXPECT_EQ(entries[0].client_id, "producer-1");
  EXPECT_EQ(entries[0].connection_id, 7u);
  EXPECT_EQ(entries[0].peer, "127.0.0.1:5555");
  EXPECT_GT(entries[0].time_ms, 1'600'000'000'000);
  EXPECT_EQ(entries[1].api_name, "ApiVersions");
  EXPECT_EQ(entries[1].client_id, "");  // null client id
  EXPECT_LE(entries[0].time_ms, entries[1].time_ms);
}

TEST(RequestLogTest, KeepsTheNewestEntriesOldestFirst) {
  RequestLog log(5);
  const auto peer = client(1, "p");
  for (int i = 1; i <= 12; ++i) log.record(header(3, 12, i), peer);
  auto entries = log.snapshot();
  ASSERT_EQ(entries.size(), 5u);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(entries[i].correlation_id, 8 + i);
  EXPECT_EQ(log.total(), 12u);
  log.clear();
  EXPECT_TRUE(log.snapshot().empty());
  EXPECT_EQ(log.total(), 0u);
  log.record(header(3, 12, 100), peer);
  ASSERT_EQ(log.snapshot().size(), 1u);
  EXPECT_EQ(log.snapshot()[0].correlation_id, 100);
}

TEST(RequestLogTest, SnapshotsWhileRecording) {
  RequestLog log(64);
  const auto peer = client(1, "p");
  std::atomic<bool> done{false};
  std::thread reader([&] {
    while (!done) {
      auto entries = log.snapshot();
      // Always in order: each entry's correlation id follows the previous one.
      for (size_t i = 1; i < entries.size(); ++i) {
        ASSERT_EQ(entries[i].correlation_id, entries[i - 1].correlation_id + 1);
      }
    }
  });
  for (int i = 0; i < 50000; ++i) log.record(header(1, 12, i), peer);
  done = true;
  reader.join();
  EXPECT_EQ(log.total(), 50000u);
  EXPECT_EQ(log.snapshot().back().correlation_id, 49999);
}

}  // namespace
}  // namespace kafkacore::server
