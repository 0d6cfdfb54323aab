// Dedicated controllers as real processes: three `kafkacore-server --process-roles controller`
// and two `--process-roles broker`, on fixed localhost ports. The brokers serve an RF=2 topic;
// a controller killed with SIGKILL leaves a majority that keeps metadata changes working; every
// process shuts down cleanly on SIGTERM. Also: a broker listed as a voter is refused at start.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <unistd.h>

#include <thread>

#include "broker/harness.h"

extern char** environ;

namespace kafkacore::broker::testing {
namespace {

using namespace protocol;
using namespace std::chrono_literals;

// A port nobody listens on right now (the kernel's pick; reused at once by the child).
uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    throw std::runtime_error("no free port");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

// One kafkacore-server child with its stdout on a pipe (stderr passes through).
class Server {
 public:
  explicit Server(const std::vector<std::string>& args) {
    int out[2];
    if (::pipe(out) != 0) throw std::runtime_error("pipe failed");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, out[0]);
    std::vector<std::string> all{KAFKACORE_SERVER_BIN};
    all.insert(all.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : all) argv.push_back(a.data());
    argv.push_back(nullptr);
    const int rc = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(out[1]);
    stdout_ = out[0];
    if (rc != 0) throw std::runtime_error("cannot start " + all[0]);
  }
  ~Server() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      (void)wait();
    }
    ::close(stdout_);
  }

  // True once the child printed `line` (everything it printed so far is kept in output()).
  bool wait_line(const std::string& line, std::chrono::milliseconds timeout = 20s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      if (output_.find(line + "\n") != std::string::npos) return true;
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd p{stdout_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char buf[512];
      const ssize_t n = ::read(stdout_, buf, sizeof buf);
      if (n <= 0) return output_.find(line + "\n") != std::string::npos;
      output_.append(buf, static_cast<size_t>(n));
    }
  }
  void signal(int sig) { ::kill(pid_, sig); }
  // The exit status (WEXITSTATUS), -1 if killed by a signal.
  int wait() {
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  const std::string& output() const { return output_; }

 private:
  pid_t pid_ = -1;
  int stdout_ = -1;
  std::string output_;
};

const std::vector<std::string> kFast = {
    "--set", "broker.session.timeout.ms=1000",        "--set", "broker.heartbeat.interval.ms=100",
    "--set", "controller.quorum.election.timeout.ms=300", "--set", "kafkacore.unsafe.bypass.fsync=true",
    "--log-level", "error"};

TEST(DedicatedProcesses, ControllersAndBrokersAsProcesses) {
  TempDir dir;
  std::vector<uint16_t> cports;
  std::string voters;
  for (int i = 0; i < 3; ++i) {
    cports.push_back(free_port());
    voters += (i ? "," : "") + std::to_string(3000 + i) + "@127.0.0.1:" + std::to_string(cports[i]);
  }
  auto args = [&](std::vector<std::string> a) {
    a.insert(a.end(), {"--controller-quorum-voters", voters});
    a.insert(a.end(), kFast.begin(), kFast.end());
    return a;
  };
  std::vector<std::unique_ptr<Server>> controllers;
  for (int i = 0; i < 3; ++i) {
    controllers.push_back(std::make_unique<Server>(args(
        {"--process-roles", "controller", "--node-id", std::to_string(3000 + i), "--controller-port",
         std::to_string(cports[i]), "--data-dir", (dir.path() / ("c" + std::to_string(i))).string()})));
  }
  std::vector<uint16_t> bports;
  std::vector<std::unique_ptr<Server>> brokers;
  for (int i = 0; i < 2; ++i) {
    bports.push_back(free_port());
    brokers.push_back(std::make_unique<Server>(args(
        {"--process-roles", "broker", "--node-id", std::to_string(i + 1), "--port",
         std::to_string(bports[i]), "--data-dir", (dir.path() / ("b" + std::to_string(i))).string()})));
  }
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(controllers[i]->wait_line("controller.listener=127.0.0.1:" + std::to_string(cports[i])))
        << controllers[i]->output();
    ASSERT_TRUE(controllers[i]->wait_line("ready")) << controllers[i]->output();
  }
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(brokers[i]->wait_line("bootstrap.servers=127.0.0.1:" + std::to_string(bports[i])));
    ASSERT_TRUE(brokers[i]->wait_line("ready")) << brokers[i]->output();
  }

  auto create = [&](const std::string& name) {
    CreateTopicsRequest req;
    auto& t = req.topics.emplace_back();
    t.name = name;
    t.num_partitions = 1;
    t.replication_factor = 2;
    // A controller change may be under way: retry what is retriable.
    for (int attempt = 0;; ++attempt) {
      auto resp = TestClient(bports[0]).call(req, 7);
      const int16_t code = resp.topics.at(0).error_code;
      if (code == 0 || attempt == 50) return code;
      std::this_thread::sleep_for(100ms);
    }
  };
  ASSERT_EQ(create("procs"), 0);
  // The topic reaches both brokers with a leader; produce acks=all to it.
  int32_t leader = -1;
  for (int i = 0; i < 200 && leader < 0; ++i) {
    auto md = TestClient(bports[1]).call(metadata_request({"procs"}, false), 12);
    if (!md.topics.empty() && !md.topics[0].partitions.empty() &&
        md.topics[0].partitions[0].isr_nodes.size() == 2) {
      leader = md.topics[0].partitions[0].leader_id;
    }
    if (leader < 0) std::this_thread::sleep_for(50ms);
  }
  ASSERT_GE(leader, 1);
  const Bytes batch = make_batch("p", 3);
  auto req = produce_request("procs", 0, batch, -1);
  req.timeout_ms = 5000;
  auto produced = TestClient(bports[leader - 1]).call(req, 9);
  EXPECT_EQ(produced.responses.at(0).partition_responses.at(0).error_code, 0);

  // Any one controller may die (the active one or not): two of three still decide.
  controllers[0]->signal(SIGKILL);
  EXPECT_EQ(controllers[0]->wait(), -1);
  EXPECT_EQ(create("after-kill"), 0);

  for (auto& b : brokers) b->signal(SIGTERM);
  for (auto& b : brokers) EXPECT_EQ(b->wait(), 0);
  for (int i = 1; i < 3; ++i) controllers[i]->signal(SIGTERM);
  for (int i = 1; i < 3; ++i) EXPECT_EQ(controllers[i]->wait(), 0);
}

TEST(DedicatedProcesses, BrokerListedAsVoterIsRefused) {
  TempDir dir;
  Server s({"--process-roles", "broker", "--node-id", "1", "--controller-quorum-voters",
            "1@127.0.0.1:1", "--data-dir", dir.path().string()});
  EXPECT_EQ(s.wait(), 2);  // a configuration error
}

}  // namespace
}  // namespace kafkacore::broker::testing
