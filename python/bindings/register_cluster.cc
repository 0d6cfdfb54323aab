// Several brokers inside the Python process forming one replicated cluster (every broker a
// controller voter, or with `controllers` > 0 broker-only nodes following dedicated controllers
// with ids 3000..). Each broker runs on its own reactor thread; these calls start, stop,
// restart, kill, pause and inspect them, create or delete topics through them without a
// Kafka client, and inject request faults (errors, delays, dropped connections, black holes),
// read the request log and set disk faults per broker (pykafkacore/faults.py builds on these).
// Every wait releases the GIL and checks for signals every few milliseconds, so Ctrl-C
// interrupts it (KeyboardInterrupt). Not thread-safe: pykafkacore.Cluster serialises its calls.
#include <pybind11/stl.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "bindings.h"
#include "broker/error_responses.h"
#include "broker/local_cluster.h"
#include "protocol/api_table.h"

namespace kafkacore::python {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kSlice = std::chrono::milliseconds(20);

// Polls `done()` (called without the GIL) until it is true or `timeout_ms` passed, checking for
// signals between slices. Returns false on timeout; raises on a signal (KeyboardInterrupt).
template <typename F>
bool wait_interruptible(F&& done, int64_t timeout_ms) {
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  while (true) {
    bool finished = false;
    {
      py::gil_scoped_release release;
      const auto slice_end = std::min(deadline, Clock::now() + kSlice);
      while (!(finished = done()) && Clock::now() < slice_end) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    }
    if (finished) return true;
    if (PyErr_CheckSignals() != 0) throw py::error_already_set();
    if (Clock::now() >= deadline) return false;
  }
}

// The outcome of an asynchronous admin call, set on a broker's reactor thread.
struct Pending {
  std::mutex mutex;
  std::optional<Result<void>> result;
  void set(Result<void> r) {
    std::lock_guard lock(mutex);
    result = std::move(r);
  }
  bool ready() {
    std::lock_guard lock(mutex);
    return result.has_value();
  }
};

struct ClusterHandle {
  std::unique_ptr<broker::LocalCluster> cluster;
  int64_t ready_timeout_ms = 30000;

  broker::LocalCluster& get() {
    if (!cluster) throw py::value_error("the cluster is stopped");
    return *cluster;
  }
  void stop() {
    if (!cluster) return;
    Result<void> r;
    {
      py::gil_scoped_release release;
      r = cluster->stop();
      cluster.reset();
    }
    if (!r) throw_value_error(r.error());
  }
  // Runs a LocalCluster call that may block briefly, without the GIL.
  template <typename F>
  void unlocked(F&& f) {
    auto& c = get();
    Result<void> r;
    {
      py::gil_scoped_release release;
      r = f(c);
    }
    if (!r) throw_value_error(r.error());
  }
  // Until every running broker serves (interruptible).
  void wait_ready(int64_t timeout_ms) {
    auto& c = get();
    Result<void> last;
    const bool ok = wait_interruptible(
        [&] {
          last = c.wait_ready(0);
          return static_cast<bool>(last) || last.error().code() != Errc::request_timed_out;
        },
        timeout_ms);
    if (!ok) {
      last = c.wait_ready(0);
      if (last) return;
    }
    if (!last) throw_value_error(last.error());
  }
  void restart_broker(int32_t id, std::optional<int64_t> timeout_ms, bool wait = true) {
    unlocked([&](broker::LocalCluster& c) { return c.restart_broker(id, /*wait=*/false); });
    if (wait) wait_ready(timeout_ms.value_or(ready_timeout_ms));
  }
  // A running broker (its faults and request log), or ValueError.
  broker::Broker& running_broker(int32_t id) {
    check_id(id);
    broker::Broker* b = get().broker(id);
    if (!b) {
      throw py::value_error("INVALID_REQUEST: broker " + std::to_string(id) + " is not running");
    }
    return *b;
  }
  // A broker or dedicated controller id (the fault calls take either, as LocalCluster does).
  void check_id(int32_t id) {
    for (int32_t known : get().broker_ids()) {
      if (known == id) return;
    }
    for (int32_t known : get().controller_ids()) {
      if (known == id) return;
    }
    throw py::value_error("no broker or controller " + std::to_string(id));
  }
  // Waits for an admin call, then until every serving broker shows its outcome.
  void settle(const std::shared_ptr<Pending>& pending, const std::string& name, bool present,
              int64_t timeout_ms, const char* what) {
    const auto start = Clock::now();
    if (!wait_interruptible([&] { return pending->ready(); }, timeout_ms)) {
      throw py::value_error(std::string("REQUEST_TIMED_OUT: ") + what + " '" + name +
                            "' was not answered within " + std::to_string(timeout_ms) + " ms");
    }
    {
      std::lock_guard lock(pending->mutex);
      if (!*pending->result) throw_value_error(pending->result->error());
    }
    const int64_t left = std::max<int64_t>(
        0, timeout_ms -
               std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count());
    auto& c = get();
    std::vector<int32_t> lagging;
    const bool settled = wait_interruptible(
        [&] {
          lagging = c.topic_lagging(name, present);
          return lagging.empty();
        },
        left);
    if (!settled) {
      std::string ids;
      for (int32_t id : lagging) ids += (ids.empty() ? "" : ", ") + std::to_string(id);
      throw py::value_error(std::string("REQUEST_TIMED_OUT: ") + what + " '" + name +
                            "' done, but not yet seen by broker(s) " + ids + " after " +
                            std::to_string(timeout_ms) + " ms");
    }
  }
};

uint16_t to_port(int port) {
  if (port < 0 || port > 65535) throw py::value_error("a port is between 0 and 65535");
  return static_cast<uint16_t>(port);
}

py::dict image_to_dict(const metadata::MetadataImage& image) {
  py::dict brokers;
  for (const auto& [id, b] : image.brokers()) {
    py::dict d;
    d["id"] = id;
    d["host"] = b.host;
    d["port"] = b.port;
    d["rack"] = b.rack;
    d["epoch"] = b.epoch;
    d["fenced"] = b.fenced;
    brokers[py::int_(id)] = d;
  }
  py::dict topics;
  for (const auto& [name, t] : image.topics()) {
    py::list partitions;
    for (size_t i = 0; i < t.partitions.size(); ++i) {
      const auto& p = t.partitions[i];
      py::dict d;
      d["partition"] = static_cast<int32_t>(i);
      d["leader"] = p.leader;
      d["replicas"] = p.replicas;
      d["isr"] = p.isr;
      d["elr"] = p.elr;
      d["leader_epoch"] = p.leader_epoch;
      partitions.append(d);
    }
    py::dict d;
    d["name"] = name;
    d["id"] = t.id.to_string();
    d["partitions"] = partitions;
    d["configs"] = image.configs(metadata::ConfigResource::topic, name);
    topics[py::str(name)] = d;
  }
  py::dict out;
  out["offset"] = image.offset();
  out["cluster_id"] = image.cluster_id().to_string();
  out["brokers"] = brokers;
  out["topics"] = topics;
  return out;
}


server::FaultAction fault_action(const std::string& name) {
  if (name == "error") return server::FaultAction::error;
  if (name == "delay") return server::FaultAction::delay;
  if (name == "drop_connection") return server::FaultAction::drop_connection;
  if (name == "black_hole") return server::FaultAction::black_hole;
  throw py::value_error("unknown fault action '" + name +
                        "' (error, delay, drop_connection, black_hole)");
}

py::dict rule_state_to_dict(const server::FaultRuleState& s) {
  py::dict d;
  d["id"] = s.id;
  d["action"] = std::string(server::fault_action_name(s.rule.action));
  d["api_key"] = s.rule.api_key ? py::object(py::int_(*s.rule.api_key)) : py::object(py::none());
  d["topic"] = s.rule.topic ? py::object(py::str(*s.rule.topic)) : py::object(py::none());
  d["client_id"] =
      s.rule.client_id ? py::object(py::str(*s.rule.client_id)) : py::object(py::none());
  d["include_replication"] = s.rule.include_replication;
  d["error_code"] = s.rule.error_code;
  d["delay_ms"] = s.rule.delay_ms;
  d["after"] = s.rule.after;
  d["times"] = s.rule.times;
  d["probability"] = s.rule.probability;
  d["seed"] = s.rule.seed ? py::object(py::int_(*s.rule.seed)) : py::object(py::none());
  d["matched"] = s.matched;
  d["applied"] = s.applied;
  d["spent"] = s.spent;
  return d;
}

}  // namespace

void register_cluster(py::module_& m) {
  m.def(
      "api_table",
      [] {
        py::list out;
        for (const auto& api : protocol::all_apis()) {
          out.append(py::make_tuple(api.key, std::string(api.name), api.min_version,
                                    api.max_version));
        }
        return out;
      },
      "Every API the protocol codec defines: [(key, name, min_version, max_version)], by key.");
  m.def(
      "error_response_apis",
      [] {
        const auto& apis = broker::error_response_apis();
        return std::vector<int16_t>(apis.begin(), apis.end());
      },
      "The API keys a fault rule can answer with an error (the others take latency, "
      "drop_connection and black_hole only).");

  py::class_<ClusterHandle, std::shared_ptr<ClusterHandle>>(
      m, "LocalCluster",
      "A replicated cluster of brokers in this process, each on its own thread with its own "
      "data directory (data_dir/broker-<id>), Kafka port and controller port.",
      py::dynamic_attr())
      .def(py::init([](int brokers, const std::string& data_dir,
                       const std::map<std::string, std::string>& properties, int base_port,
                       int base_controller_port, int64_t ready_timeout_ms, bool manual_clock,
                       int controllers) {
             if (brokers < 1) throw py::value_error("a cluster needs at least one broker");
             if (controllers < 0) throw py::value_error("controllers must be >= 0");
             broker::LocalClusterOptions options;
             options.brokers = brokers;
             options.controllers = controllers;
             options.data_dir = data_dir;
             options.base_port = to_port(base_port);
             options.base_controller_port = to_port(base_controller_port);
             options.properties = properties;
             if (auto it = properties.find("host"); it != properties.end()) {
               options.host = it->second;
             }
             options.ready_timeout_ms = ready_timeout_ms;
             options.manual_clock = manual_clock;
             options.wait_ready = false;  // waited for below, interruptibly
             auto handle = std::make_shared<ClusterHandle>();
             handle->ready_timeout_ms = ready_timeout_ms;
             Result<std::unique_ptr<broker::LocalCluster>> started =
                 make_error(Errc::unknown_server_error, "not started");
             {
               py::gil_scoped_release release;
               started = broker::LocalCluster::start(std::move(options));
             }
             if (!started) throw_value_error(started.error());
             handle->cluster = std::move(*started);
             try {
               handle->wait_ready(ready_timeout_ms);
             } catch (...) {
               // Timed out or interrupted: nothing is left running.
               py::gil_scoped_release release;
               (void)handle->cluster->stop();
               handle->cluster.reset();
               throw;
             }
             return handle;
           }),
           py::arg("brokers"), py::arg("data_dir"),
           py::arg("properties") = std::map<std::string, std::string>{}, py::arg("base_port") = 0,
           py::arg("base_controller_port") = 0, py::arg("ready_timeout_ms") = 30000,
           py::arg("manual_clock") = false, py::arg("controllers") = 0,
           "Starts `brokers` brokers (ids 1..N) with Kafka-named `properties` shared by all; "
           "broker i listens on base_port + i - 1 and base_controller_port + i - 1 (0: any free "
           "port). With `controllers` > 0 the quorum is that many dedicated controllers (ids "
           "3000 + i on base_controller_port + i) and the brokers are broker-only. Returns once "
           "every broker serves in the cluster (Ctrl-C interrupts and stops them).")
      .def_property_readonly("bootstrap_servers",
                             [](ClusterHandle& h) { return h.get().bootstrap_servers(); })
      .def_property_readonly("broker_ids", [](ClusterHandle& h) { return h.get().broker_ids(); })
      .def_property_readonly(
          "controller_ids", [](ClusterHandle& h) { return h.get().controller_ids(); },
          "The dedicated controllers' ids (empty in combined mode).")
      .def(
          "controller_port",
          [](ClusterHandle& h, int32_t id) -> int {
            h.check_id(id);
            broker::Broker* b = h.get().broker(id);
            return b ? b->controller_port() : -1;
          },
          py::arg("id"), "The controller (Raft) port of node `id` (-1 while it is stopped).")
      .def(
          "advance_time",
          [](ClusterHandle& h, int64_t ms) {
            Result<void> moved;
            {
              py::gil_scoped_release release;
              moved = h.get().advance_time(ms);
            }
            if (!moved) throw_value_error(moved.error());
          },
          py::arg("ms"),
          "Moves a manual clock forward and runs every broker's timed work at once.")
      .def_property_readonly(
          "now_ms", [](ClusterHandle& h) { return h.get().now_ms(); },
          "The time the brokers see, ms since the epoch.")
      .def(
          "broker_port",
          [](ClusterHandle& h, int32_t id) -> int {
            h.check_id(id);
            if (broker::Broker* b = h.get().broker(id)) return b->port();
            // A stopped broker keeps its port; bootstrap_servers lists every broker in id order.
            const auto ids = h.get().broker_ids();
            const std::string servers = h.get().bootstrap_servers();
            size_t start = 0;
            for (int32_t known : ids) {
              const size_t end = servers.find(',', start);
              if (known == id) {
                const std::string entry = servers.substr(start, end - start);
                return std::stoi(entry.substr(entry.rfind(':') + 1));
              }
              start = end + 1;
            }
            throw py::value_error("no broker " + std::to_string(id));
          },
          py::arg("id"), "The Kafka port of broker `id` (kept while it is stopped).")
      .def(
          "running",
          [](ClusterHandle& h, int32_t id) {
            if (!h.cluster) return false;
            h.check_id(id);
            return h.cluster->broker(id) != nullptr;
          },
          py::arg("id"), "Whether broker `id` runs (False after stop_broker until restart_broker).")
      .def(
          "paused",
          [](ClusterHandle& h, int32_t id) {
            if (!h.cluster) return false;
            h.check_id(id);
            return h.cluster->paused(id);
          },
          py::arg("id"), "Whether broker `id` is paused (pause_broker until resume_broker).")
      .def(
          "wait_ready",
          [](ClusterHandle& h, std::optional<int64_t> timeout_ms) {
            h.wait_ready(timeout_ms.value_or(h.ready_timeout_ms));
          },
          py::arg("timeout_ms") = py::none(), "Until every running broker serves in the cluster.")
      .def(
          "stop_broker",
          [](ClusterHandle& h, int32_t id) {
            h.check_id(id);
            h.unlocked([&](broker::LocalCluster& c) { return c.stop_broker(id); });
          },
          py::arg("id"),
          "Clean stop of one broker (logs flushed and closed); its partitions fail over once its "
          "session expires.")
      .def(
          "kill_broker",
          [](ClusterHandle& h, int32_t id) {
            h.check_id(id);
            h.unlocked([&](broker::LocalCluster& c) { return c.kill_broker(id); });
          },
          py::arg("id"),
          "Abrupt stop of one broker: connections drop, nothing is flushed or checkpointed and no "
          "clean-shutdown marker is written, so restart_broker recovers its logs as after a "
          "crash.")
      .def(
          "restart_broker",
          [](ClusterHandle& h, int32_t id, std::optional<int64_t> timeout_ms, bool wait) {
            h.check_id(id);
            h.restart_broker(id, timeout_ms, wait);
          },
          py::arg("id"), py::arg("timeout_ms") = py::none(), py::arg("wait") = true,
          "Starts a stopped broker again on its ports and data directory; returns once it serves "
          "(wait=False: once it listens; then wait_ready()).")
      .def(
          "pause_broker",
          [](ClusterHandle& h, int32_t id) {
            h.check_id(id);
            h.unlocked([&](broker::LocalCluster& c) { return c.pause_broker(id); });
          },
          py::arg("id"),
          "Holds broker `id`'s reactor (like SIGSTOP): it answers nothing, its sockets stay open.")
      .def(
          "resume_broker",
          [](ClusterHandle& h, int32_t id) {
            h.check_id(id);
            h.unlocked([&](broker::LocalCluster& c) { return c.resume_broker(id); });
          },
          py::arg("id"), "Lets a paused broker run again.")
      .def(
          "partition",
          [](ClusterHandle& h, const std::vector<int32_t>& a, const std::vector<int32_t>& b) {
            auto& c = h.get();
            py::gil_scoped_release release;
            c.partition(a, b);
          },
          py::arg("side_a"), py::arg("side_b"),
          "Cuts every link between brokers of side_a and side_b (clients still reach all).")
      .def(
          "isolate",
          [](ClusterHandle& h, int32_t id) {
            auto& c = h.get();
            py::gil_scoped_release release;
            c.isolate(id);
          },
          py::arg("id"), "Cuts broker `id` off from every other broker.")
      .def(
          "heal",
          [](ClusterHandle& h) {
            auto& c = h.get();
            py::gil_scoped_release release;
            c.heal();
          },
          "Restores every link between brokers.")
      .def_property_readonly(
          "controller_id", [](ClusterHandle& h) { return h.get().controller_id(); },
          "The active controller as the running brokers see it (-1: none yet).")
      .def(
          "metadata",
          [](ClusterHandle& h, int32_t id) -> py::object {
            auto image = h.get().image(id);
            if (!image) return py::none();
            return image_to_dict(*image);
          },
          py::arg("id") = -1,
          "The metadata image broker `id` last applied (-1: the freshest among running "
          "brokers) as a dict: offset, cluster_id, brokers {id: {host, port, rack, epoch, "
          "fenced}}, topics {name: {id, partitions [{partition, leader, replicas, isr, "
          "leader_epoch}], configs}}; None if that broker is not running.")
      .def(
          "create_topic",
          [](ClusterHandle& h, const std::string& name, int32_t partitions,
             int16_t replication_factor, const std::map<std::string, std::string>& configs,
             int64_t timeout_ms) {
            auto pending = std::make_shared<Pending>();
            {
              auto& c = h.get();
              py::gil_scoped_release release;
              c.create_topic(name, partitions, replication_factor, configs,
                             [pending](Result<void> r) { pending->set(std::move(r)); });
            }
            h.settle(pending, name, /*present=*/true, timeout_ms, "create_topic");
          },
          py::arg("name"), py::arg("partitions") = -1, py::arg("replication_factor") = -1,
          py::arg("configs") = std::map<std::string, std::string>{}, py::arg("timeout_ms") = 30000,
          "Creates a topic through the active controller (-1: the broker defaults); returns once "
          "every running, unpaused, unfenced broker shows it with a leader for every partition. "
          "Errors are ValueError('TOPIC_ALREADY_EXISTS: ...') and the like.")
      .def(
          "delete_topic",
          [](ClusterHandle& h, const std::string& name, int64_t timeout_ms) {
            auto pending = std::make_shared<Pending>();
            {
              auto& c = h.get();
              py::gil_scoped_release release;
              c.delete_topic(name, [pending](Result<void> r) { pending->set(std::move(r)); });
            }
            h.settle(pending, name, /*present=*/false, timeout_ms, "delete_topic");
          },
          py::arg("name"), py::arg("timeout_ms") = 30000,
          "Deletes a topic; returns once no running, unpaused, unfenced broker shows it.")
      .def(
          "read_partition",
          [](ClusterHandle& h, int32_t id, const std::string& topic, int32_t partition,
             int64_t start, uint64_t max_bytes, bool committed) {
            h.check_id(id);
            auto& c = h.get();
            Result<broker::PartitionRead> read = make_error(Errc::unknown_server_error, "not read");
            {
              py::gil_scoped_release release;
              read = c.read_partition(id, topic, partition, start, max_bytes, committed);
            }
            if (!read) throw_value_error(read.error());
            py::dict d;
            d["batches"] = to_py_bytes(read->batches);
            d["log_start_offset"] = read->log_start_offset;
            d["log_end_offset"] = read->log_end_offset;
            d["high_watermark"] = read->high_watermark;
            d["leader"] = read->leader;
            return d;
          },
          py::arg("id"), py::arg("topic"), py::arg("partition"), py::arg("start") = 0,
          py::arg("max_bytes") = 1 << 20, py::arg("committed") = true,
          "Broker `id`'s copy of a partition: {batches (RecordBatch v2 bytes from the batch "
          "holding `start`, below the high watermark if `committed`), log_start_offset, "
          "log_end_offset, high_watermark, leader}. Works while the broker is paused.")
      .def(
          "add_fault",
          [](ClusterHandle& h, int32_t id, const std::string& action,
             std::optional<int16_t> api_key, std::optional<std::string> topic,
             std::optional<std::string> client_id, bool include_replication, int16_t error_code,
             int64_t delay_ms, int64_t after, int64_t times, double probability,
             std::optional<uint64_t> seed) {
            server::FaultRule rule;
            rule.action = fault_action(action);
            rule.api_key = api_key;
            rule.topic = std::move(topic);
            rule.client_id = std::move(client_id);
            rule.include_replication = include_replication;
            rule.error_code = error_code;
            rule.delay_ms = delay_ms;
            rule.after = after;
            rule.times = times;
            rule.probability = probability;
            rule.seed = seed;
            auto& b = h.running_broker(id);
            Result<uint64_t> added = make_error(Errc::unknown_server_error, "not added");
            {
              py::gil_scoped_release release;
              added = b.request_faults().add(std::move(rule));
            }
            if (!added) throw py::value_error(added.error().message());
            return *added;
          },
          py::arg("id"), py::arg("action"), py::arg("api_key") = py::none(),
          py::arg("topic") = py::none(), py::arg("client_id") = py::none(),
          py::arg("include_replication") = false, py::arg("error_code") = 0,
          py::arg("delay_ms") = 0, py::arg("after") = 0, py::arg("times") = -1,
          py::arg("probability") = 1.0, py::arg("seed") = py::none(),
          "Adds a request fault rule to broker `id` (server/request_faults.h): action 'error', "
          "'delay', 'drop_connection' or 'black_hole'. Returns its id on that broker; "
          "ValueError says why a rule is refused.")
      .def(
          "remove_fault",
          [](ClusterHandle& h, int32_t id, uint64_t rule_id) {
            auto& b = h.running_broker(id);
            py::gil_scoped_release release;
            return b.request_faults().remove(rule_id);
          },
          py::arg("id"), py::arg("rule_id"),
          "Removes a rule (its held requests are released: their connections close). False if "
          "the broker has no such rule.")
      .def(
          "clear_faults",
          [](ClusterHandle& h, int32_t id) {
            auto& b = h.running_broker(id);
            py::gil_scoped_release release;
            b.request_faults().clear();
          },
          py::arg("id"), "Removes every request fault rule of broker `id`.")
      .def(
          "fault_rules",
          [](ClusterHandle& h, int32_t id) {
            auto& b = h.running_broker(id);
            std::vector<server::FaultRuleState> rules;
            {
              py::gil_scoped_release release;
              rules = b.request_faults().rules();
            }
            py::list out;
            for (const auto& s : rules) out.append(rule_state_to_dict(s));
            return out;
          },
          py::arg("id"),
          "Broker `id`'s rules with their counters: [{id, action, api_key, topic, client_id, "
          "include_replication, error_code, delay_ms, after, times, probability, seed, matched, "
          "applied, spent}].")
      .def(
          "requests",
          [](ClusterHandle& h, int32_t id) {
            auto& b = h.running_broker(id);
            std::vector<server::RequestLogEntry> entries;
            {
              py::gil_scoped_release release;
              entries = b.request_log().snapshot();
            }
            py::list out;
            for (const auto& e : entries) {
              out.append(py::make_tuple(e.time_ms, e.api_key, std::string(e.api_name),
                                        e.api_version, e.client_id, e.correlation_id,
                                        e.connection_id, e.peer));
            }
            return out;
          },
          py::arg("id"),
          "The requests broker `id` received (its last 10000, oldest first): [(time_ms, api_key, "
          "api_name, api_version, client_id, correlation_id, connection_id, peer)].")
      .def(
          "clear_requests",
          [](ClusterHandle& h, int32_t id) {
            auto& b = h.running_broker(id);
            py::gil_scoped_release release;
            b.request_log().clear();
          },
          py::arg("id"), "Empties broker `id`'s request log.")
      .def(
          "set_disk_faults",
          [](ClusterHandle& h, int32_t id, std::optional<int64_t> write_budget_bytes,
             std::optional<int64_t> sync_delay_us, std::optional<int> fail_next_syncs) {
            auto& b = h.running_broker(id);
            storage::IoFaults* faults = b.disk_faults();
            if (!faults) {
              throw py::value_error("INVALID_REQUEST: broker " + std::to_string(id) +
                                    " has no open logs");
            }
            if (write_budget_bytes) faults->write_budget_bytes = *write_budget_bytes;
            if (sync_delay_us) faults->sync_delay_us = *sync_delay_us;
            if (fail_next_syncs) faults->fail_next_syncs = *fail_next_syncs;
          },
          py::arg("id"), py::arg("write_budget_bytes") = py::none(),
          py::arg("sync_delay_us") = py::none(), py::arg("fail_next_syncs") = py::none(),
          "Disk faults of broker `id`'s partition logs (storage::IoFaults; None leaves a setting "
          "as it is): write_budget_bytes (>= 0: writes beyond it fail with ENOSPC; -1: "
          "unlimited), sync_delay_us (every fsync sleeps first), fail_next_syncs (the next N "
          "fsyncs fail with EIO). A failed write or fsync takes the log directory offline until "
          "the broker restarts.")
      .def(
          "disk_faults",
          [](ClusterHandle& h, int32_t id) {
            auto& b = h.running_broker(id);
            storage::IoFaults* faults = b.disk_faults();
            py::dict d;
            if (!faults) return d;
            d["write_budget_bytes"] = faults->write_budget_bytes.load();
            d["sync_delay_us"] = faults->sync_delay_us.load();
            d["fail_next_syncs"] = faults->fail_next_syncs.load();
            return d;
          },
          py::arg("id"), "Broker `id`'s current disk fault settings.")
      .def("stop", &ClusterHandle::stop, "Clean shutdown of every broker.")
      .def("__enter__", [](std::shared_ptr<ClusterHandle> h) { return h; })
      .def("__exit__", [](ClusterHandle& h, py::args) { h.stop(); });
}

}  // namespace kafkacore::python
