// Faults Python's Cluster injects through LocalCluster: pause/resume (a hung broker with its
// sockets open), kill (no clean shutdown: the next start recovers), and the admin and white-box
// calls that work without a Kafka client (create/delete topic, metadata images, partition reads).
#include <filesystem>
#include <future>
#include <thread>

#include "cluster/cluster_fixture.h"

namespace kafkacore::broker::testing {
namespace {

using namespace protocol;
using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

int64_t ms_since(SteadyClock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - t).count();
}

template <typename Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout = 10s) {
  const auto deadline = SteadyClock::now() + timeout;
  while (!pred()) {
    if (SteadyClock::now() > deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

class BrokerFaultsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { log::set_level(log::Level::warn); }
  TempDir dir_;
};

TEST_F(BrokerFaultsTest, PausedBrokerAnswersNothingUntilResumed) {
  auto broker = start_broker(dir_.path());
  TestClient early(broker->port());
  early.call(ApiVersionsRequest{}, 0);  // connected and answered before the pause

  ASSERT_TRUE(broker->pause());
  EXPECT_TRUE(broker->paused());
  EXPECT_TRUE(broker->pause());  // idempotent
  const auto paused_at = SteadyClock::now();
  const int32_t id = early.send(ApiVersionsRequest{}, 0);
  // A new connection still completes (the listening socket stays open) but gets no answer.
  {
    TestClient late(broker->port(), 300ms);
    EXPECT_THROW(late.call(ApiVersionsRequest{}, 0), ClientError);
  }
  // Work handed to the reactor runs inside the pause (fault settings, white-box reads).
  bool ran = false;
  EXPECT_TRUE(broker->run_on_reactor([&] { ran = true; }, 1000));
  EXPECT_TRUE(ran);
  broker->set_link_filter([](int32_t, int32_t) { return true; });

  broker->resume();
  EXPECT_FALSE(broker->paused());
  auto answer = early.receive<ApiVersionsResponse>(id, 0);  // the queued request is served
  EXPECT_EQ(answer.error_code, 0);
  EXPECT_GE(ms_since(paused_at), 290);
  TestClient after(broker->port());
  EXPECT_EQ(after.call(ApiVersionsRequest{}, 0).error_code, 0);

  // Pause again after a resume.
  ASSERT_TRUE(broker->pause());
  broker->resume();
  EXPECT_EQ(after.call(ApiVersionsRequest{}, 0).error_code, 0);
  EXPECT_TRUE(broker->stop());
}

TEST_F(BrokerFaultsTest, StopAndKillWhilePausedReturnPromptly) {
  {
    auto broker = start_broker(dir_.path() / "a");
    ASSERT_TRUE(broker->pause());
    const auto t0 = SteadyClock::now();
    EXPECT_TRUE(broker->stop());
    EXPECT_LT(ms_since(t0), 2000);
    EXPECT_FALSE(broker->pause());  // stopped
    broker->resume();               // harmless
  }
  {
    auto broker = start_broker(dir_.path() / "b");
    ASSERT_TRUE(broker->pause());
    const auto t0 = SteadyClock::now();
    broker->kill();
    EXPECT_LT(ms_since(t0), 2000);
  }
  {
    // Destroyed while paused (the destructor stops it).
    auto broker = start_broker(dir_.path() / "c");
    ASSERT_TRUE(broker->pause());
  }
}

TEST_F(BrokerFaultsTest, KillLeavesNoCleanShutdownMarkerSoTheNextStartRecovers) {
  const auto marker = dir_.path() / ".kafkacore_clean_shutdown";
  auto recovered = [](Broker& b) {
    bool crashed = false;
    EXPECT_TRUE(b.run_on_reactor([&] { crashed = b.logs().recovered_from_crash(); }));
    return crashed;
  };
  {
    auto broker = start_broker(dir_.path());
    TestClient c(broker->port());
    c.call(metadata_request({"killed"}, /*allow_auto_create=*/true), 12);
    const Bytes batch = make_batch("k", 3);
    ASSERT_TRUE(eventually([&] {
      auto resp = c.call(produce_request("killed", 0, batch, 1), 9);
      return resp.responses.at(0).partition_responses.at(0).error_code == 0;
    }));
    broker->kill();
    EXPECT_FALSE(std::filesystem::exists(marker));
    EXPECT_TRUE(broker->stop());  // already down: a no-op
  }
  {
    auto broker = start_broker(dir_.path());
    EXPECT_TRUE(recovered(*broker));
    // What the OS had is still there.
    TestClient c(broker->port());
    auto fetched = c.call(fetch_request("killed", 0, 0), 12);
    EXPECT_EQ(fetched.responses.at(0).partitions.at(0).high_watermark, 3);
    EXPECT_TRUE(broker->stop());
    EXPECT_TRUE(std::filesystem::exists(marker));
  }
  auto broker = start_broker(dir_.path());
  EXPECT_FALSE(recovered(*broker));
}

class LocalClusterFaultsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { log::set_level(log::Level::warn); }
  void SetUp() override {
    LocalClusterOptions options;
    options.brokers = 3;
    options.data_dir = dir_.path();
    options.properties = fast_failover_settings();
    const auto t0 = SteadyClock::now();
    auto cluster = LocalCluster::start(options);
    ASSERT_TRUE(cluster) << cluster.error().message();
    started_ms_ = ms_since(t0);
    cluster_ = std::move(*cluster);
  }
  void TearDown() override {
    if (cluster_) {
      EXPECT_TRUE(cluster_->stop());
    }
  }

  Result<void> create_topic(const std::string& name, int32_t partitions, int16_t rf) {
    std::promise<Result<void>> done;
    auto answer = done.get_future();
    cluster_->create_topic(name, partitions, rf, {}, [&](Result<void> r) { done.set_value(r); });
    if (answer.wait_for(10s) != std::future_status::ready) {
      return make_error(Errc::request_timed_out, "create_topic did not answer");
    }
    return answer.get();
  }

  TempDir dir_;
  std::unique_ptr<LocalCluster> cluster_;
  int64_t started_ms_ = 0;
};

TEST_F(LocalClusterFaultsTest, StartsWithoutWaitingForAnElectionTimeout) {
  // One voter campaigns at once: no 300-600 ms election timeout before the first leader.
  std::printf("3-broker start-up: %lld ms\n", static_cast<long long>(started_ms_));
  EXPECT_LT(started_ms_, 3000);
  EXPECT_GE(cluster_->controller_id(), 1);
}

TEST_F(LocalClusterFaultsTest, AdminCallsAndImagesWithoutAClient) {
  ASSERT_TRUE(create_topic("direct", 3, 3));
  ASSERT_TRUE(eventually([&] { return cluster_->topic_lagging("direct", true).empty(); }));
  for (int32_t id : cluster_->broker_ids()) {
    auto image = cluster_->image(id);
    ASSERT_TRUE(image);
    const auto* topic = image->topic("direct");
    ASSERT_NE(topic, nullptr) << "broker " << id;
    EXPECT_EQ(topic->partitions.size(), 3u);
    for (const auto& p : topic->partitions) {
      EXPECT_GE(p.leader, 1);
      EXPECT_EQ(p.isr.size(), 3u);
    }
  }
  auto again = create_topic("direct", 1, 1);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code(), Errc::topic_already_exists);

  // Produce through the leader, read it back from every replica's log.
  const int32_t leader = cluster_->image()->partition("direct", 0)->leader;
  TestClient c(cluster_->broker(leader)->port());
  auto resp = c.call(produce_request("direct", 0, make_batch("r", 4), -1), 9);
  ASSERT_EQ(resp.responses.at(0).partition_responses.at(0).error_code, 0);
  for (int32_t id : cluster_->broker_ids()) {
    ASSERT_TRUE(eventually([&] {
      auto read = cluster_->read_partition(id, "direct", 0, 0, 1 << 20, true);
      return read && read->high_watermark == 4 && !read->batches.empty();
    })) << "broker "
        << id;
    auto read = cluster_->read_partition(id, "direct", 0, 0, 1 << 20, true);
    EXPECT_EQ(read->leader, id == leader);
    EXPECT_EQ(read->log_end_offset, 4);
  }
  EXPECT_FALSE(cluster_->read_partition(1, "nope", 0, 0, 1024, true));

  std::promise<Result<void>> deleted;
  cluster_->delete_topic("direct", [&](Result<void> r) { deleted.set_value(r); });
  ASSERT_TRUE(deleted.get_future().get());
  EXPECT_TRUE(eventually([&] { return cluster_->topic_lagging("direct", false).empty(); }));
}

TEST_F(LocalClusterFaultsTest, PausedControllerLosesLeadershipAndRejoinsAfterResume) {
  const int32_t controller = cluster_->controller_id();
  ASSERT_GE(controller, 1);
  ASSERT_TRUE(cluster_->pause_broker(controller));
  EXPECT_TRUE(cluster_->paused(controller));
  // The others elect a new controller and fence the silent broker.
  ASSERT_TRUE(eventually([&] {
    const int32_t now = cluster_->controller_id();
    if (now < 1 || now == controller) return false;
    const auto image = cluster_->image(now);  // kept: `state` points into it
    const auto* state = image->broker(controller);
    return state && state->fenced;
  }));
  // Topics can be created meanwhile; the paused broker does not count as lagging.
  ASSERT_TRUE(create_topic("while-paused", 1, 2));
  ASSERT_TRUE(eventually([&] { return cluster_->topic_lagging("while-paused", true).empty(); }));

  ASSERT_TRUE(cluster_->resume_broker(controller));
  EXPECT_FALSE(cluster_->paused(controller));
  ASSERT_TRUE(eventually([&] {
    const auto image = cluster_->image(controller);
    const auto* state = image->broker(controller);
    return image->topic("while-paused") && state && !state->fenced;
  }));
}

TEST_F(LocalClusterFaultsTest, KilledBrokerRestartsAndRecovers) {
  ASSERT_TRUE(cluster_->kill_broker(2));
  EXPECT_EQ(cluster_->broker(2), nullptr);
  EXPECT_FALSE(cluster_->kill_broker(2));
  EXPECT_FALSE(cluster_->pause_broker(2));
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "broker-2" / ".kafkacore_clean_shutdown"));
  ASSERT_TRUE(cluster_->restart_broker(2));
  bool crashed = false;
  ASSERT_TRUE(cluster_->broker(2)->run_on_reactor(
      [&] { crashed = cluster_->broker(2)->logs().recovered_from_crash(); }));
  EXPECT_TRUE(crashed);
}

// A manual clock moves only with advance_time(), which also runs the brokers' timed work, so
// time-based retention happens exactly when the test says.
TEST(LocalClusterClockTest, AdvanceTimeExpiresRetentionDeterministically) {
  log::set_level(log::Level::warn);
  TempDir dir;
  LocalClusterOptions options;
  options.brokers = 1;
  options.data_dir = dir.path();
  options.manual_clock = true;
  auto started = LocalCluster::start(options);
  ASSERT_TRUE(started) << started.error().message();
  auto& cluster = **started;
  std::promise<Result<void>> created;
  cluster.create_topic("expiring", 1, 1, {{"retention.ms", "60000"}},
                       [&](Result<void> r) { created.set_value(r); });
  ASSERT_TRUE(created.get_future().get());
  ASSERT_TRUE(eventually([&] { return cluster.topic_lagging("expiring", true).empty(); }));

  TestClient c(cluster.broker(1)->port());
  const int64_t t0 = cluster.now_ms();
  auto resp = c.call(produce_request("expiring", 0, make_batch("r", 4, t0), -1), 9);
  ASSERT_EQ(resp.responses.at(0).partition_responses.at(0).error_code, 0);
  auto start_offset = [&] { return cluster.read_partition(1, "expiring", 0, 0, 1 << 20, false)->log_start_offset; };

  // Real time passing changes nothing; the cluster's time does not move on its own.
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(cluster.now_ms(), t0);
  ASSERT_TRUE(cluster.advance_time(59000));
  EXPECT_EQ(start_offset(), 0);
  ASSERT_TRUE(cluster.advance_time(2000));
  EXPECT_EQ(start_offset(), 4);
  EXPECT_EQ(cluster.now_ms(), t0 + 61000);
  EXPECT_FALSE(cluster.advance_time(-1));
  EXPECT_TRUE(cluster.stop());
}

TEST_F(LocalClusterFaultsTest, AdvanceTimeNeedsAManualClock) {
  auto moved = cluster_->advance_time(1000);
  ASSERT_FALSE(moved);
  EXPECT_EQ(moved.error().code(), Errc::invalid_request);
}

}  // namespace
}  // namespace kafkacore::broker::testing
