// kafkacore-server: one node in the foreground, in any of KRaft's roles.
//   kafkacore-server [--config FILE] [--process-roles broker,controller|broker|controller]
//                    [--port N] [--host H] [--data-dir DIR] [--node-id N]
//                    [--controller-port N] [--controller-quorum-voters ID@HOST:PORT,...]
//                    [--log-level LEVEL] [--set key=value ...]
// Prints "bootstrap.servers=HOST:PORT" once listening (a controller-only node, which serves no
// clients, prints "controller.listener=HOST:PORT" instead) and "ready" once it serves in its
// cluster (at once alone; in a cluster, when a majority of the controller voters runs; a
// controller once its quorum has a leader). SIGINT/SIGTERM shut it down cleanly (logs flushed
// and closed, clean-shutdown marker written).
#include <signal.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <thread>
#include <string>

#include "broker/broker.h"
#include "common/log.h"

namespace {

using kafkacore::broker::Broker;
using kafkacore::broker::BrokerConfig;

int usage(const char* error) {
  if (error) std::fprintf(stderr, "kafkacore-server: %s\n", error);
  std::fprintf(stderr,
               "usage: kafkacore-server [--config FILE] [--port N] [--host HOST] [--data-dir DIR]\n"
               "                        [--process-roles broker,controller|broker|controller]\n"
               "                        [--node-id N] [--controller-port N]\n"
               "                        [--controller-quorum-voters 1@host:port,2@host:port,...]\n"
               "                        [--log-level trace|debug|info|warn|error]\n"
               "                        [--set key=value ...]\n");
  return 2;
}

// Java-style properties: key=value or key: value, '#'/'!' comments.
bool read_properties(const std::string& path, std::map<std::string, std::string>& out) {
  std::ifstream in(path);
  if (!in) return false;
  std::string line;
  auto trim = [](std::string s) {
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.pop_back();
    size_t i = 0;
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
    return s.substr(i);
  };
  while (std::getline(in, line)) {
    line = trim(line);
    if (line.empty() || line[0] == '#' || line[0] == '!') continue;
    size_t sep = line.find_first_of("=:");
    if (sep == std::string::npos) continue;
    out[trim(line.substr(0, sep))] = trim(line.substr(sep + 1));
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> props;
  std::string controller_port;
  kafkacore::log::Level level = kafkacore::log::Level::info;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    if (arg == "--help" || arg == "-h") return usage(nullptr), 0;
    const char* v = value();
    if (!v) return usage(("missing value for " + arg).c_str());
    if (arg == "--config") {
      if (!read_properties(v, props)) return usage((std::string("cannot read ") + v).c_str());
    } else if (arg == "--process-roles") {
      props["process.roles"] = v;
    } else if (arg == "--port") {
      props["port"] = v;
    } else if (arg == "--host") {
      props["host"] = v;
    } else if (arg == "--data-dir") {
      props["log.dirs"] = v;
    } else if (arg == "--node-id") {
      props["node.id"] = v;
    } else if (arg == "--controller-port") {
      controller_port = v;
    } else if (arg == "--controller-quorum-voters") {
      props["controller.quorum.voters"] = v;
    } else if (arg == "--log-level") {
      if (!kafkacore::log::parse_level(v, level)) return usage("bad --log-level");
    } else if (arg == "--set") {
      std::string kv = v;
      auto eq = kv.find('=');
      if (eq == std::string::npos) return usage("--set needs key=value");
      props[kv.substr(0, eq)] = kv.substr(eq + 1);
    } else {
      return usage(("unknown option " + arg).c_str());
    }
  }
  kafkacore::log::set_level(level);
  const std::string roles = props.contains("process.roles") ? props["process.roles"] : "";
  const bool controller_only = roles.find("broker") == std::string::npos && !roles.empty();
  if (!controller_port.empty()) {
    const std::string host = props.contains("host") ? props["host"] : "127.0.0.1";
    if (controller_only) {
      // No Kafka listener at all (config validation rejects one).
      if (!props.contains("listeners")) props["listeners"] = "CONTROLLER://" + host + ":" + controller_port;
      else props["listeners"] += ",CONTROLLER://" + host + ":" + controller_port;
    } else {
      const std::string port = props.contains("port") ? props["port"] : "9092";
      if (!props.contains("listeners")) props["listeners"] = "PLAINTEXT://" + host + ":" + port;
      props["listeners"] += ",CONTROLLER://" + host + ":" + controller_port;
    }
  }

  // Signals are taken synchronously by this thread; the broker's threads never see them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto config = BrokerConfig::from_properties(props);
  if (!config) {
    std::fprintf(stderr, "kafkacore-server: %s\n", config.error().to_string().c_str());
    return 2;
  }
  auto broker = Broker::start(*config);
  if (!broker) {
    std::fprintf(stderr, "kafkacore-server: %s\n", broker.error().to_string().c_str());
    return 1;
  }
  if ((*broker)->config().serves_clients()) {
    std::printf("bootstrap.servers=%s\n", (*broker)->bootstrap_servers().c_str());
  } else {
    const auto& c = (*broker)->config();
    const std::string host = c.cluster.controller_host.empty() ? c.listen_host : c.cluster.controller_host;
    std::printf("controller.listener=%s:%u\n", host.c_str(), (*broker)->controller_port());
  }
  std::fflush(stdout);
  Broker* running = broker->get();
  std::thread announce([running] {
    if (running->wait_ready(24 * 3600 * 1000L)) {
      std::printf("ready\n");
      std::fflush(stdout);
    }
  });
  int sig = 0;
  sigwait(&signals, &sig);
  KC_LOG(info, "broker", "shutting down", {{"signal", sig == SIGINT ? "SIGINT" : "SIGTERM"}});
  auto stopped = (*broker)->stop();
  announce.join();  // wait_ready returns once the broker stopped
  if (!stopped) {
    std::fprintf(stderr, "kafkacore-server: unclean shutdown: %s\n",
                 stopped.error().to_string().c_str());
    return 1;
  }
  return 0;
}
