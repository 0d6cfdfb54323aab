// Several brokers inside the Python process forming one replicated cluster (every broker a
// controller voter). Each broker runs on its own reactor thread; these calls start, stop and
// restart them, with the GIL released while they wait.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <pybind11/stl.h>

#include "bindings.h"
#include "broker/local_cluster.h"

namespace kafkacore::python {
namespace {

struct ClusterHandle {
  std::unique_ptr<broker::LocalCluster> cluster;

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
  void stop_broker(int32_t id) {
    auto& c = get();
    Result<void> r;
    {
      py::gil_scoped_release release;
      r = c.stop_broker(id);
    }
    if (!r) throw_value_error(r.error());
  }
  void restart_broker(int32_t id) {
    auto& c = get();
    Result<void> r;
    {
      py::gil_scoped_release release;
      r = c.restart_broker(id);
    }
    if (!r) throw_value_error(r.error());
  }
  void check_id(int32_t id) {
    for (int32_t known : get().broker_ids()) {
      if (known == id) return;
    }
    throw py::value_error("no broker " + std::to_string(id));
  }
};

uint16_t to_port(int port) {
  if (port < 0 || port > 65535) throw py::value_error("a port is between 0 and 65535");
  return static_cast<uint16_t>(port);
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
             auto handle = std::make_shared<ClusterHandle>();
             Result<std::unique_ptr<broker::LocalCluster>> started =
                 make_error(Errc::unknown_server_error, "not started");
             {
               py::gil_scoped_release release;
               started = broker::LocalCluster::start(std::move(options));
             }
             if (!started) throw_value_error(started.error());
             handle->cluster = std::move(*started);
             return handle;
           }),
           py::arg("brokers"), py::arg("data_dir"),
           py::arg("properties") = std::map<std::string, std::string>{},
           py::arg("base_port") = 0, py::arg("base_controller_port") = 0,
           py::arg("ready_timeout_ms") = 30000,
           "Starts `brokers` brokers (ids 1..N) with Kafka-named `properties` shared by all; "
           "broker i listens on base_port + i - 1 and base_controller_port + i - 1 (0: any free "
           "port). Returns once every broker serves in the cluster.")
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
      .def("stop_broker", &ClusterHandle::stop_broker, py::arg("id"),
           "Clean stop of one broker (logs flushed and closed); its partitions fail over once its "
           "session expires.")
      .def("restart_broker", &ClusterHandle::restart_broker, py::arg("id"),
           "Starts a stopped broker again on its ports and data directory; returns once it serves.")
      .def("partition", [](ClusterHandle& h, const std::vector<int32_t>& a,
                           const std::vector<int32_t>& b) { h.get().partition(a, b); },
           py::arg("side_a"), py::arg("side_b"),
           "Cuts every link between brokers of side_a and side_b (clients still reach all).")
      .def("isolate", [](ClusterHandle& h, int32_t id) { h.get().isolate(id); }, py::arg("id"),
           "Cuts broker `id` off from every other broker.")
      .def("heal", [](ClusterHandle& h) { h.get().heal(); }, "Restores every link between brokers.")
      .def("stop", &ClusterHandle::stop, "Clean shutdown of every broker.")
      .def("__enter__", [](std::shared_ptr<ClusterHandle> h) { return h; })
      .def("__exit__", [](ClusterHandle& h, py::args) { h.stop(); });
}

}  // namespace kafkacore::python
