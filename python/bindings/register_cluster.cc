// Several brokers inside the Python process forming one replicated cluster (every broker a
// controller voter). Each broker runs on its own reactor thread; these calls start, stop,
// restart, kill, pause and inspect them, and create or delete topics through them without a
// Kafka client. Every wait releases the GIL and checks for signals every few milliseconds, so
// Ctrl-C interrupts it (KeyboardInterrupt). Not thread-safe: pykafkacore.Cluster serialises
// its calls.
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
#include "broker/local_cluster.h"

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
  void restart_broker(int32_t id, std::optional<int64_t> timeout_ms) {
    unlocked([&](broker::LocalCluster& c) { return c.restart_broker(id, /*wait=*/false); });
    wait_ready(timeout_ms.value_or(ready_timeout_ms));
  }
  void check_id(int32_t id) {
    for (int32_t known : get().broker_ids()) {
      if (known == id) return;
    }
    throw py::value_error("no broker " + std::to_string(id));
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

}  // namespace

void register_cluster(py::module_& m) {
  py::class_<ClusterHandle, std::shared_ptr<ClusterHandle>>(
      m, "LocalCluster",
      "A replicated cluster of brokers in this process, each on its own thread with its own "
      "data directory (data_dir/broker-<id>), Kafka port and controller port.",
      py::dynamic_attr())
      .def(py::init([](int brokers, const std::string& data_dir,
                       const std::map<std::string, std::string>& properties, int base_port,
                       int base_controller_port, int64_t ready_timeout_ms) {
             if (brokers < 1) throw py::value_error("a cluster needs at least one broker");
             broker::LocalClusterOptions options;
             options.brokers = brokers;
             options.data_dir = data_dir;
             options.base_port = to_port(base_port);
             options.base_controller_port = to_port(base_controller_port);
             options.properties = properties;
             if (auto it = properties.find("host"); it != properties.end()) {
               options.host = it->second;
             }
             options.ready_timeout_ms = ready_timeout_ms;
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
           "Starts `brokers` brokers (ids 1..N) with Kafka-named `properties` shared by all; "
           "broker i listens on base_port + i - 1 and base_controller_port + i - 1 (0: any free "
           "port). Returns once every broker serves in the cluster (Ctrl-C interrupts and stops "
           "them).")
      .def_property_readonly("bootstrap_servers",
                             [](ClusterHandle& h) { return h.get().bootstrap_servers(); })
      .def_property_readonly("broker_ids", [](ClusterHandle& h) { return h.get().broker_ids(); })
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
          [](ClusterHandle& h, int32_t id, std::optional<int64_t> timeout_ms) {
            h.check_id(id);
            h.restart_broker(id, timeout_ms);
          },
          py::arg("id"), py::arg("timeout_ms") = py::none(),
          "Starts a stopped broker again on its ports and data directory; returns once it serves.")
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
      .def("stop", &ClusterHandle::stop, "Clean shutdown of every broker.")
      .def("__enter__", [](std::shared_ptr<ClusterHandle> h) { return h; })
      .def("__exit__", [](ClusterHandle& h, py::args) { h.stop(); });
}

}  // namespace kafkacore::python
