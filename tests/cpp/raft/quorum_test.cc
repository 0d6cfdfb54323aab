// Raft quorums over real TCP sockets and real log stores on disk: three voters in one process,
// each on its own io_context thread, replicating into the metadata state machine.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <future>
#include <thread>

#include "common/log.h"
#include "metadata/metadata_machine.h"
#include "raft/quorum.h"

namespace kafkacore::raft {
namespace {

using namespace std::chrono_literals;
namespace asio = server::asio;

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "kafkacore-raft-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// One voter: its own reactor thread, quorum and metadata state machine.
class Voter {
 public:
  Voter(NodeId id, std::map<NodeId, Endpoint> voters, std::filesystem::path dir) {
    QuorumConfig config;
    config.id = id;
    config.voters = std::move(voters);
    config.dir = std::move(dir);
    config.tick_ms = 20;
    config.election_ticks = 10;
    config.snapshot_every = 50;
    config.seed = static_cast<uint64_t>(id);
    auto started = call([&] { return Quorum::start(io_, config, machine_); });
    if (!started) throw std::runtime_error(started.error().message());
    quorum_ = std::move(*started);
  }
  ~Voter() { stop(); }

  void stop() {
    if (!thread_.joinable()) return;
    call([&] {
      quorum_->stop();
      return 0;
    });
    work_.reset();
    io_.stop();
    thread_.join();
    quorum_.reset();
  }

  // Runs `fn` on the voter's thread and waits for its result.
  template <typename Fn>
  auto call(Fn fn) -> decltype(fn()) {
    std::packaged_task<decltype(fn())()> task(std::move(fn));
    auto future = task.get_future();
    asio::post(io_, [&task] { task(); });
    return future.get();
  }

  uint16_t port() { return call([&] { return quorum_->port(); }); }
  bool leads() { return call([&] { return quorum_->is_leader(); }); }
  int64_t offset() { return call([&] { return machine_.image()->offset(); }); }
  size_t topics() { return call([&] { return machine_.image()->topics().size(); }); }
  void set_peer(NodeId id, Endpoint e) { call([&] { quorum_->transport().set_peer(id, e); return 0; }); }
  void isolate(bool on, NodeId self) {
    call([&] {
      if (on) {
        quorum_->transport().set_filter([self](NodeId from, NodeId to) { return from != self && to != self; });
      } else {
        quorum_->transport().set_filter(nullptr);
      }
      return 0;
    });
  }

  // Proposes a TopicRecord; the commit result.
  Result<Index> create_topic(const std::string& name) {
    std::promise<Result<Index>> done;
    auto future = done.get_future();
    call([&] {
      std::vector<metadata::MetadataRecord> records{metadata::TopicRecord{name, Uuid::random()}};
      auto proposed = quorum_->propose(metadata::encode_records(records),
                                       [&done](Result<Index> r) { done.set_value(std::move(r)); });
      if (!proposed) done.set_value(std::unexpected(proposed.error()));
      return 0;
    });
    if (future.wait_for(5s) != std::future_status::ready) {
      return make_error(Errc::request_timed_out, "proposal did not complete");
    }
    return future.get();
  }

 private:
  asio::io_context io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_{asio::make_work_guard(io_)};
  std::thread thread_{[this] { io_.run(); }};
  metadata::MetadataMachine machine_;
  std::unique_ptr<Quorum> quorum_;
};

class QuorumTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { log::set_level(log::Level::warn); }

  void SetUp() override {
    for (NodeId id = 1; id <= 3; ++id) start(id);
    connect_all();
  }

  void start(NodeId id) {
    // Ports are known once each listens: start with port 0 and tell the others afterwards.
    std::map<NodeId, Endpoint> voters;
    for (NodeId v = 1; v <= 3; ++v) voters[v] = Endpoint{"127.0.0.1", ports_[v]};
    voters_[id] = std::make_unique<Voter>(id, voters, dir_.path() / std::to_string(id));
    ports_[id] = voters_[id]->port();
  }

  void connect_all() {
    for (auto& [id, v] : voters_) {
      if (!v) continue;
      for (NodeId other = 1; other <= 3; ++other) v->set_peer(other, Endpoint{"127.0.0.1", ports_[other]});
    }
  }

  // The one leader among the running voters, waiting up to `timeout`.
  NodeId await_leader(std::chrono::milliseconds timeout = 5000ms, NodeId excluding = kNoNode) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      std::vector<NodeId> leaders;
      for (auto& [id, v] : voters_) {
        if (v && id != excluding && v->leads()) leaders.push_back(id);
      }
      if (leaders.size() == 1) return leaders.front();
      std::this_thread::sleep_for(20ms);
    }
    return kNoNode;
  }

  bool await_offsets_equal(std::chrono::milliseconds timeout = 5000ms) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      std::set<int64_t> offsets;
      std::set<size_t> topics;
      for (auto& [id, v] : voters_) {
        if (!v) continue;
        offsets.insert(v->offset());
        topics.insert(v->topics());
      }
      if (offsets.size() == 1 && topics.size() == 1) return true;
      std::this_thread::sleep_for(20ms);
    }
    return false;
  }

  TempDir dir_;
  std::map<NodeId, uint16_t> ports_{{1, 0}, {2, 0}, {3, 0}};
  std::map<NodeId, std::unique_ptr<Voter>> voters_;
};

TEST_F(QuorumTest, ElectsOneLeaderAndReplicatesToAll) {
  const NodeId leader = await_leader();
  ASSERT_NE(leader, kNoNode);
  for (int i = 0; i < 120; ++i) {
    auto r = voters_[leader]->create_topic("t" + std::to_string(i));
    ASSERT_TRUE(r) << r.error().message();
  }
  ASSERT_TRUE(await_offsets_equal());
  EXPECT_EQ(voters_[1]->topics(), 120u);
  const NodeId follower = leader == 1 ? 2 : 1;
  auto refused = voters_[follower]->create_topic("nope");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code(), Errc::not_controller);
}

TEST_F(QuorumTest, ANewLeaderTakesOverAndTheOldOneCatchesUpAfterRestart) {
  const NodeId first = await_leader();
  ASSERT_NE(first, kNoNode);
  for (int i = 0; i < 60; ++i) ASSERT_TRUE(voters_[first]->create_topic("a" + std::to_string(i)));
  const auto stopped_at = std::chrono::steady_clock::now();
  voters_[first]->stop();
  voters_[first].reset();
  const NodeId second = await_leader(5000ms, first);
  ASSERT_NE(second, kNoNode);
  const auto failover = std::chrono::steady_clock::now() - stopped_at;
  EXPECT_LT(failover, 3s) << "election after the leader stopped";
  for (int i = 0; i < 60; ++i) ASSERT_TRUE(voters_[second]->create_topic("b" + std::to_string(i)));
  // The old leader restarts from its store (snapshots were taken every 50 entries) and catches
  // up from the new leader.
  start(first);
  connect_all();
  ASSERT_TRUE(await_offsets_equal(10000ms));
  EXPECT_EQ(voters_[first]->topics(), 120u);
}

TEST_F(QuorumTest, AnIsolatedLeaderCannotCommitAndAMajorityElectsAnother) {
  const NodeId leader = await_leader();
  ASSERT_NE(leader, kNoNode);
  ASSERT_TRUE(voters_[leader]->create_topic("before"));
  voters_[leader]->isolate(true, leader);
  auto lost = voters_[leader]->create_topic("lost");
  EXPECT_FALSE(lost) << "a leader cut off from the majority must not commit";
  const NodeId other = await_leader(5000ms, leader);
  ASSERT_NE(other, kNoNode);
  EXPECT_NE(other, leader);
  ASSERT_TRUE(voters_[other]->create_topic("after"));
  voters_[leader]->isolate(false, leader);
  ASSERT_TRUE(await_offsets_equal(10000ms));
  EXPECT_EQ(voters_[leader]->topics(), 2u) << "the uncommitted entry of the isolated leader is gone";
}

}  // namespace
}  // namespace kafkacore::raft
