// The storage engine from Python: a LogManager over a data directory and handles to its
// partition logs. White-box access for tests, notebooks and `pykafkacore serve`; the broker
// itself drives the same C++ objects directly.
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <pybind11/stl.h>

#include "bindings.h"
#include "storage/log_manager.h"

namespace kafkacore::python {
namespace {

using storage::LogManager;
using storage::PartitionLog;
using storage::TopicPartition;

// The C++ manager is single-threaded; Python threads may call in with the GIL released.
struct ManagerHandle {
  std::mutex mutex;
  std::unique_ptr<LogManager> manager;

  LogManager& get() {
    if (!manager) throw py::value_error("the log manager is shut down");
    return *manager;
  }
};

// Looks its log up on every call, so a removed partition raises instead of dangling.
struct LogHandle {
  std::shared_ptr<ManagerHandle> owner;
  TopicPartition tp;

  template <typename F>
  auto with_log(F&& f) {
    std::lock_guard lock(owner->mutex);
    PartitionLog* log = owner->get().get(tp);
    if (!log) throw py::key_error("no log for " + tp.dir_name());
    return f(*log);
  }
};

template <typename T>
T unwrap(Result<T> r) {
  if (!r) throw_value_error(r.error());
  return std::move(*r);
}
inline void unwrap(Result<void> r) {
  if (!r) throw_value_error(r.error());
}

py::dict append_result(const storage::AppendResult& r) {
  py::dict d;
  d["first_offset"] = r.first_offset.value();
  d["last_offset"] = r.last_offset.value();
  d["log_append_time"] = r.log_append_time;
  d["log_start_offset"] = r.log_start_offset.value();
  d["record_count"] = r.record_count;
  return d;
}

}  // namespace

void register_storage(py::module_& m) {
  py::class_<LogHandle>(m, "PartitionLog",
                        "One partition's log inside a LogManager (see LogManager.partition).")
      .def_property_readonly("topic", [](const LogHandle& h) { return h.tp.topic; })
      .def_property_readonly("partition", [](const LogHandle& h) { return h.tp.partition; })
      .def_property_readonly("log_start_offset", [](LogHandle& h) {
        return h.with_log([](PartitionLog& l) { return l.log_start_offset().value(); });
      })
      .def_property_readonly("log_end_offset", [](LogHandle& h) {
        return h.with_log([](PartitionLog& l) { return l.log_end_offset().value(); });
      })
      .def_property_readonly("durable_offset", [](LogHandle& h) {
        return h.with_log([](PartitionLog& l) { return l.durable_offset().value(); });
      })
      .def_property_readonly("size_bytes", [](LogHandle& h) {
        return h.with_log([](PartitionLog& l) { return l.size_bytes(); });
      })
      .def_property_readonly("segment_count", [](LogHandle& h) {
        return h.with_log([](PartitionLog& l) { return l.segment_count(); });
      })
      .def(
          "append",
          [](LogHandle& h, const py::bytes& batches) {
            Bytes copy(view_of(batches).begin(), view_of(batches).end());
            storage::AppendResult result;
            {
              py::gil_scoped_release release;
              result = h.with_log([&](PartitionLog& l) { return unwrap(l.append(copy)); });
            }
            return append_result(result);
          },
          py::arg("batches"),
          "Appends one or more RecordBatch v2 (bytes); offsets are assigned by the log.")
      .def(
          "read",
          [](LogHandle& h, int64_t offset, uint64_t max_bytes, std::optional<int64_t> max_offset) {
            Bytes data;
            {
              py::gil_scoped_release release;
              data = h.with_log([&](PartitionLog& l) {
                std::optional<Offset> limit;
                if (max_offset) limit = Offset{*max_offset};
                return unwrap(unwrap(l.read(Offset{offset}, max_bytes, limit)).copy_bytes());
              });
            }
            return to_py_bytes(data);
          },
          py::arg("offset"), py::arg("max_bytes") = 1 << 20, py::arg("max_offset") = py::none(),
          "Whole batches from the one holding `offset` (decode with decode_batches).")
      .def(
          "offset_for_timestamp",
          [](LogHandle& h, int64_t timestamp) -> py::object {
            auto found = h.with_log(
                [&](PartitionLog& l) { return unwrap(l.offset_for_timestamp(timestamp)); });
            if (!found) return py::none();
            return py::make_tuple(found->offset.value(), found->timestamp);
          },
          py::arg("timestamp"), "(offset, timestamp) of the first record at or after it, or None.")
      .def("flush",
           [](LogHandle& h) {
             py::gil_scoped_release release;
             h.with_log([](PartitionLog& l) { unwrap(l.flush_sync()); });
           })
      .def(
          "truncate_to",
          [](LogHandle& h, int64_t offset) {
            h.with_log([&](PartitionLog& l) { unwrap(l.truncate_to(Offset{offset})); });
          },
          py::arg("offset"))
      .def(
          "delete_records_before",
          [](LogHandle& h, int64_t offset) {
            return h.with_log(
                [&](PartitionLog& l) { return unwrap(l.delete_records_before(Offset{offset})).value(); });
          },
          py::arg("offset"));

  py::class_<ManagerHandle, std::shared_ptr<ManagerHandle>>(
      m, "LogManager", "All partition logs of one data directory.")
      .def(py::init([](const std::string& data_dir, const std::map<std::string, std::string>& defaults) {
             storage::LogManagerOptions options;
             options.data_dir = data_dir;
             options.defaults = unwrap(storage::LogConfig::from_properties(defaults, {}));
             auto handle = std::make_shared<ManagerHandle>();
             py::gil_scoped_release release;
             handle->manager = unwrap(LogManager::open(std::move(options)));
             return handle;
           }),
           py::arg("data_dir"), py::arg("defaults") = std::map<std::string, std::string>{})
      .def_property_readonly("recovered_from_crash",
                             [](ManagerHandle& h) {
                               std::lock_guard lock(h.mutex);
                               return h.get().recovered_from_crash();
                             })
      .def(
          "partition",
          [](std::shared_ptr<ManagerHandle> h, const std::string& topic, int32_t partition) {
            TopicPartition tp{topic, partition};
            {
              std::lock_guard lock(h->mutex);
              (void)unwrap(h->get().get_or_create(tp));
            }
            return LogHandle{std::move(h), tp};
          },
          py::arg("topic"), py::arg("partition"), "The log of a partition, created if missing.")
      .def("partitions",
           [](ManagerHandle& h) {
             std::lock_guard lock(h.mutex);
             std::vector<std::pair<std::string, int32_t>> out;
             for (const auto& tp : h.get().partitions()) out.emplace_back(tp.topic, tp.partition);
             return out;
           })
      .def(
          "set_topic_config",
          [](ManagerHandle& h, const std::string& topic, const std::map<std::string, std::string>& configs) {
            std::lock_guard lock(h.mutex);
            unwrap(h.get().set_topic_config(topic, configs));
          },
          py::arg("topic"), py::arg("configs"))
      .def(
          "remove",
          [](ManagerHandle& h, const std::string& topic, int32_t partition) {
            std::lock_guard lock(h.mutex);
            unwrap(h.get().remove({topic, partition}));
          },
          py::arg("topic"), py::arg("partition"))
      .def("tick",
           [](ManagerHandle& h) {
             py::gil_scoped_release release;
             std::lock_guard lock(h.mutex);
             return h.get().tick();
           },
           "Retention, flush.ms and compaction; returns the number of segments deleted.")
      .def("shutdown",
           [](ManagerHandle& h) {
             py::gil_scoped_release release;
             std::lock_guard lock(h.mutex);
             if (!h.manager) return;
             auto r = h.manager->shutdown();
             h.manager.reset();
             unwrap(std::move(r));
           },
           "Closes every log and marks the directory cleanly shut down.")
      .def("__enter__", [](std::shared_ptr<ManagerHandle> h) { return h; })
      .def("__exit__", [](ManagerHandle& h, py::args) {
        py::gil_scoped_release release;
        std::lock_guard lock(h.mutex);
        if (!h.manager) return;
        auto r = h.manager->shutdown();
        h.manager.reset();
        unwrap(std::move(r));
      });
}

}  // namespace kafkacore::python
