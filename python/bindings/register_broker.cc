// A broker inside the Python process: start, address, clean stop. The broker runs on its own
// reactor thread; these calls only start and stop it, with the GIL released while they wait.
#include <chrono>
#include <map>
#include <memory>
#include <string>

#include <pybind11/stl.h>

#include "bindings.h"
#include "broker/broker.h"
#include "common/log.h"

namespace kafkacore::python {
namespace {

struct BrokerHandle {
  std::unique_ptr<broker::Broker> broker;

  broker::Broker& get() {
    if (!broker) throw py::value_error("the broker is stopped");
    return *broker;
  }
  void stop() {
    if (!broker) return;
    Result<void> r;
    {
      py::gil_scoped_release release;
      r = broker->stop();
      broker.reset();
    }
    if (!r) throw_value_error(r.error());
  }
};

}  // namespace

void register_broker(py::module_& m) {
  m.def(
      "set_log_level",
      [](const std::string& name) {
        log::Level level;
        if (!log::parse_level(name, level)) {
          throw py::value_error("log level must be trace, debug, info, warn, error or off");
        }
        log::set_level(level);
      },
      py::arg("level"), "Sets the level of the core's structured logs (stderr).");

  py::class_<BrokerHandle, std::shared_ptr<BrokerHandle>>(
      m, "Broker", "A Kafka-compatible broker running in this process on its own thread.",
      py::dynamic_attr())
      .def(py::init([](const std::map<std::string, std::string>& properties) {
             auto config = broker::BrokerConfig::from_properties(properties);
             if (!config) throw_value_error(config.error());
             auto handle = std::make_shared<BrokerHandle>();
             Result<std::unique_ptr<broker::Broker>> started =
                 make_error(Errc::unknown_server_error, "not started");
             {
               py::gil_scoped_release release;
               started = broker::Broker::start(*config);
             }
             if (!started) throw_value_error(started.error());
             handle->broker = std::move(*started);
             return handle;
           }),
           py::arg("properties") = std::map<std::string, std::string>{},
           "Starts a broker; `properties` use Kafka's names (port, log.dirs, num.partitions, ...). "
           "Returns once it accepts connections.")
      .def_property_readonly("port", [](BrokerHandle& h) { return h.get().port(); })
      .def_property_readonly("node_id", [](BrokerHandle& h) { return h.get().node_id(); })
      .def_property_readonly(
          "controller_port", [](BrokerHandle& h) { return h.get().controller_port(); },
          "The controller (Raft) listener's port (0 for a broker-only node).")
      .def_property_readonly("bootstrap_servers",
                             [](BrokerHandle& h) { return h.get().bootstrap_servers(); })
      .def_property_readonly("running", [](BrokerHandle& h) { return static_cast<bool>(h.broker); })
      .def(
          "wait_ready",
          [](BrokerHandle& h, double timeout) {
            // In slices with the GIL released, checking for Ctrl-C between them.
            auto& b = h.get();
            const auto deadline =
                std::chrono::steady_clock::now() +
                std::chrono::milliseconds(static_cast<int64_t>(timeout * 1000));
            while (true) {
              Result<void> r;
              {
                py::gil_scoped_release release;
                r = b.wait_ready(20);
              }
              if (r) return;
              if (r.error().code() != Errc::request_timed_out ||
                  std::chrono::steady_clock::now() >= deadline) {
                throw_value_error(r.error());
              }
              if (PyErr_CheckSignals() != 0) throw py::error_already_set();
            }
          },
          py::arg("timeout") = 30.0,
          "Until the broker serves in its cluster (at once for a broker alone in its quorum).")
      .def("stop", &BrokerHandle::stop,
           "Clean shutdown: closes connections, flushes and closes the logs.")
      .def("__enter__", [](std::shared_ptr<BrokerHandle> h) { return h; })
      .def("__exit__", [](BrokerHandle& h, py::args) { h.stop(); });
}

}  // namespace kafkacore::python
