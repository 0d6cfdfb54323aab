// pykafkacore._core.Consumer: a thin binding of client::Consumer taking and returning plain
// Python values; python/pykafkacore/consumer.py builds the public types on top.
//
// Conventions (as register_admin.cc):
// - timeouts are seconds as a float; a topic-partition is a (topic, partition) tuple;
// - failures raise pykafkacore.errors.KafkaError subclasses (throw_kafka_error);
// - the GIL is released around every call into the consumer (they all wait for its io thread).
//
// Python code runs only on the thread calling poll()/commit()/close(): the rebalance listener is
// a C++ subclass that re-acquires the GIL (client::Consumer runs listeners on the polling thread),
// and an exception it raises leaves poll() once the consumer's rebalance step is done (the C++
// consumer rethrows it). Commit callbacks hold no Python object: commit(asynchronous=True)
// returns a token and take_commit_results() hands back finished (token, code, message) tuples.
#include <pybind11/stl.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "bindings.h"
#include "client/consumer.h"
#include "record_factory.h"

namespace kafkacore::python {
namespace {

using std::chrono::milliseconds;

using TP = std::pair<std::string, int32_t>;
using CommitResult = std::tuple<int64_t, int, std::string>;  // (token, code, message)

milliseconds ms_of(double seconds) {
  if (seconds < 0) throw py::value_error("timeout must be >= 0 seconds");
  // Beyond ~30 years is "forever"; keeps the conversion in range.
  return milliseconds(static_cast<int64_t>(std::min(seconds, 1e9) * 1000));
}

client::TopicPartition tp_of(const TP& tp) { return {tp.first, tp.second}; }
TP py_tp(const client::TopicPartition& tp) { return {tp.topic, tp.partition}; }

std::vector<client::TopicPartition> tps_of(const std::vector<TP>& tps) {
  std::vector<client::TopicPartition> out;
  out.reserve(tps.size());
  for (const TP& tp : tps) out.push_back(tp_of(tp));
  return out;
}

std::vector<TP> py_tps(const std::vector<client::TopicPartition>& tps) {
  std::vector<TP> out;
  out.reserve(tps.size());
  for (const auto& tp : tps) out.push_back(py_tp(tp));
  return out;
}

py::list py_tp_list(const std::vector<client::TopicPartition>& tps) {
  py::list out(tps.size());
  for (size_t i = 0; i < tps.size(); ++i) {
    out[i] = py::make_tuple(py::str(tps[i].topic), tps[i].partition);
  }
  return out;
}

// Runs `f` with the GIL released; its result is built in place (no default-constructed Result
// assigned later).
template <typename F>
auto without_gil(F&& f) {
  py::gil_scoped_release release;
  return f();
}

template <typename T>
const T& checked(const Result<T>& r) {
  if (!r) throw_kafka_error(r.error());
  return *r;
}

inline void raise_if_error(const Result<void>& r) {
  if (!r) throw_kafka_error(r.error());
}

py::object optional_py_bytes(const std::optional<ByteView>& b) {
  if (!b) return py::none();
  return to_py_bytes(*b);
}

// (topic, partition, offset, timestamp, timestamp_type, key, value, headers, leader_epoch)
py::tuple record_tuple(const client::FetchedRecords& fetched, const client::RecordRef& r) {
  py::list headers(r.headers_end - r.headers_begin);
  for (uint32_t i = r.headers_begin; i < r.headers_end; ++i) {
    const client::HeaderRef& h = fetched.headers[i];
    headers[i - r.headers_begin] = py::make_tuple(
        py::str(reinterpret_cast<const char*>(h.key.data()), h.key.size()),
        optional_py_bytes(h.value));
  }
  return py::make_tuple(py::str(fetched.topic), fetched.partition, r.offset, r.timestamp,
                        static_cast<int>(r.timestamp_type), optional_py_bytes(r.key),
                        optional_py_bytes(r.value), std::move(headers), r.leader_epoch);
}

bool finalizing() {
#if PY_VERSION_HEX >= 0x030D0000
  return Py_IsFinalizing() != 0;
#else
  return _Py_IsFinalizing() != 0;
#endif
}

// A Python callable kept by C++ objects that may be dropped on any thread, GIL held or not:
// the reference is released with the GIL taken.
class PyCallable {
 public:
  explicit PyCallable(py::object fn) : fn_(std::move(fn)) {}
  PyCallable(const PyCallable&) = delete;
  PyCallable& operator=(const PyCallable&) = delete;
  ~PyCallable() {
    if (!fn_) return;
    if (!Py_IsInitialized() || finalizing()) {
      (void)fn_.release();  // the interpreter is going away: leak rather than touch it
      return;
    }
    py::gil_scoped_acquire gil;
    fn_ = py::object();
  }
  bool empty() const { return !fn_ || fn_.is_none(); }
  // Call on the polling thread; a Python exception leaves as py::error_already_set.
  void operator()(const std::vector<client::TopicPartition>& tps) const {
    py::gil_scoped_acquire gil;
    fn_(py_tp_list(tps));
  }

 private:
  py::object fn_;
};

class PyRebalanceListener final : public client::RebalanceListener {
 public:
  PyRebalanceListener(py::object on_revoked, py::object on_assigned, py::object on_lost)
      : on_revoked_(std::move(on_revoked)),
        on_assigned_(std::move(on_assigned)),
        on_lost_(std::move(on_lost)) {}

  void on_partitions_revoked(const std::vector<client::TopicPartition>& tps) override {
    if (!on_revoked_.empty()) on_revoked_(tps);
  }
  void on_partitions_assigned(const std::vector<client::TopicPartition>& tps) override {
    if (!on_assigned_.empty()) on_assigned_(tps);
  }
  void on_partitions_lost(const std::vector<client::TopicPartition>& tps) override {
    if (!on_lost_.empty()) {
      on_lost_(tps);
    } else {
      on_partitions_revoked(tps);  // Kafka's default
    }
  }

 private:
  PyCallable on_revoked_;
  PyCallable on_assigned_;
  PyCallable on_lost_;
};

std::shared_ptr<client::RebalanceListener> listener_of(const py::object& listener) {
  if (listener.is_none()) return nullptr;
  // (on_revoked, on_assigned, on_lost), each a callable or None.
  auto parts = listener.cast<std::tuple<py::object, py::object, py::object>>();
  return std::make_shared<PyRebalanceListener>(std::get<0>(parts), std::get<1>(parts),
                                               std::get<2>(parts));
}

struct CommitSink {
  std::mutex mu;
  std::vector<CommitResult> results;
};

class PyConsumer {
 public:
  explicit PyConsumer(client::Properties config) {
    auto consumer = client::Consumer::create(std::move(config));
    if (!consumer) throw_kafka_error(consumer.error());
    consumer_ = std::move(*consumer);
  }

  ~PyConsumer() {
    // Closing may run the listener (which takes the GIL) and joins the io thread (which may
    // drop a listener and take the GIL too): never hold it meanwhile.
    py::gil_scoped_release release;
    try {
      (void)consumer_->close(milliseconds(0));
    } catch (...) {  // a listener's exception has nowhere to go now
    }
    try {
      consumer_.reset();
    } catch (...) {
    }
  }

  void subscribe(std::vector<std::string> topics, const py::object& listener) {
    auto l = listener_of(listener);
    raise_if_error(without_gil([&] { return consumer_->subscribe(std::move(topics), std::move(l)); }));
  }

  void subscribe_pattern(std::string regex, const py::object& listener) {
    auto l = listener_of(listener);
    raise_if_error(
        without_gil([&] { return consumer_->subscribe_pattern(std::move(regex), std::move(l)); }));
  }

  void unsubscribe() {
    py::gil_scoped_release release;
    consumer_->unsubscribe();
  }

  void assign(const std::vector<TP>& partitions) {
    auto tps = tps_of(partitions);
    raise_if_error(without_gil([&] { return consumer_->assign(std::move(tps)); }));
  }

  std::vector<TP> assignment() const {
    return py_tps(without_gil([&] { return consumer_->assignment(); }));
  }

  std::vector<std::string> subscription() const {
    py::gil_scoped_release release;
    return consumer_->subscription();
  }

  // Waits in slices of at most 100 ms so Ctrl-C (PyErr_CheckSignals) interrupts a long poll.
  py::list poll(double timeout_s) {
    const auto deadline = std::chrono::steady_clock::now() + ms_of(timeout_s);
    client::PolledRecords records;
    while (true) {
      auto left = std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
      auto r = without_gil([&] {
        return consumer_->poll_shared(std::clamp(left, milliseconds(0), milliseconds(100)));
      });
      if (!r) throw_kafka_error(r.error());
      if (!r->empty()) {
        records = std::move(*r);
        break;
      }
      if (std::chrono::steady_clock::now() >= deadline) break;
      if (PyErr_CheckSignals() != 0) throw py::error_already_set();
    }
    if (factory_.configured()) return factory_.build(records);
    py::list out;
    for (const client::RecordRun& run : records.runs) {
      for (size_t i = run.begin; i < run.end; ++i) {
        out.append(record_tuple(*run.fetched, run.fetched->records[i]));
      }
    }
    return out;
  }

  void set_record_factory(const py::object& type, py::object key_de, py::object value_de) {
    factory_.configure(type, std::move(key_de), std::move(value_de));
  }

  void seek(const TP& tp, int64_t offset) {
    auto t = tp_of(tp);
    py::gil_scoped_release release;
    consumer_->seek(t, offset);
  }

  void seek_to_beginning(const std::vector<TP>& tps) {
    auto t = tps_of(tps);
    raise_if_error(without_gil([&] { return consumer_->seek_to_beginning(t); }));
  }

  void seek_to_end(const std::vector<TP>& tps) {
    auto t = tps_of(tps);
    raise_if_error(without_gil([&] { return consumer_->seek_to_end(t); }));
  }

  std::optional<int64_t> current_lag(const TP& tp) {
    auto t = tp_of(tp);
    return without_gil([&] { return consumer_->current_lag(t); });
  }

  int64_t position(const TP& tp, double timeout_s) {
    auto t = tp_of(tp);
    const auto timeout = ms_of(timeout_s);
    return checked(without_gil([&] { return consumer_->position(t, timeout); }));
  }

  // {tp: (offset, metadata, leader_epoch) | None}
  std::map<TP, std::optional<std::tuple<int64_t, std::string, std::optional<int32_t>>>> committed(
      const std::vector<TP>& tps, double timeout_s) {
    auto t = tps_of(tps);
    const auto timeout = ms_of(timeout_s);
    const auto r = without_gil([&] { return consumer_->committed(t, timeout); });
    std::map<TP, std::optional<std::tuple<int64_t, std::string, std::optional<int32_t>>>> out;
    for (const auto& [tp, om] : checked(r)) {
      if (om) {
        out.emplace(py_tp(tp), std::make_tuple(om->offset, om->metadata, om->leader_epoch));
      } else {
        out.emplace(py_tp(tp), std::nullopt);
      }
    }
    return out;
  }

  // offsets: {tp: offset | (offset, metadata, leader_epoch | None)} or None for the current
  // positions. Sync: waits up to `timeout` and returns None. Async: returns a token that
  // take_commit_results() reports.
  std::optional<int64_t> commit(const py::object& offsets, bool asynchronous, double timeout_s) {
    std::optional<std::map<client::TopicPartition, client::OffsetAndMetadata>> explicit_offsets;
    if (!offsets.is_none()) {
      explicit_offsets.emplace();
      for (auto [k, v] : py::dict(offsets)) {
        client::OffsetAndMetadata om;
        if (py::isinstance<py::tuple>(v)) {
          auto [offset, metadata, epoch] =
              v.cast<std::tuple<int64_t, std::string, std::optional<int32_t>>>();
          om.offset = offset;
          om.metadata = std::move(metadata);
          om.leader_epoch = epoch;
        } else {
          om.offset = v.cast<int64_t>();
        }
        explicit_offsets->insert_or_assign(tp_of(k.cast<TP>()), std::move(om));
      }
    }
    if (asynchronous) {
      const int64_t token = next_token_++;
      auto callback = [sink = sink_, token](Result<void> r) {
        std::lock_guard lock(sink->mu);
        if (r) {
          sink->results.emplace_back(token, 0, std::string());
        } else {
          sink->results.emplace_back(token, static_cast<int>(r.error().code()), r.error().message());
        }
      };
      py::gil_scoped_release release;
      if (explicit_offsets) {
        consumer_->commit_async(std::move(*explicit_offsets), std::move(callback));
      } else {
        consumer_->commit_async(std::move(callback));
      }
      return token;
    }
    const auto timeout = ms_of(timeout_s);
    raise_if_error(without_gil([&] {
      return explicit_offsets ? consumer_->commit_sync(*explicit_offsets, timeout)
                              : consumer_->commit_sync(timeout);
    }));
    return std::nullopt;
  }

  std::vector<CommitResult> take_commit_results() {
    std::lock_guard lock(sink_->mu);
    return std::exchange(sink_->results, {});
  }

  // {tp: (offset, timestamp) | None}
  std::map<TP, std::optional<std::pair<int64_t, int64_t>>> offsets_for_times(
      const std::map<TP, int64_t>& timestamps, double timeout_s) {
    std::map<client::TopicPartition, int64_t> in;
    for (const auto& [tp, ts] : timestamps) in.emplace(tp_of(tp), ts);
    const auto timeout = ms_of(timeout_s);
    const auto r = without_gil([&] { return consumer_->offsets_for_times(in, timeout); });
    std::map<TP, std::optional<std::pair<int64_t, int64_t>>> out;
    for (const auto& [tp, v] : checked(r)) out.emplace(py_tp(tp), v);
    return out;
  }

  std::map<TP, int64_t> beginning_offsets(const std::vector<TP>& tps, double timeout_s) {
    return offsets(tps, timeout_s, /*end=*/false);
  }
  std::map<TP, int64_t> end_offsets(const std::vector<TP>& tps, double timeout_s) {
    return offsets(tps, timeout_s, /*end=*/true);
  }

  void pause(const std::vector<TP>& tps) {
    auto t = tps_of(tps);
    py::gil_scoped_release release;
    consumer_->pause(t);
  }
  void resume(const std::vector<TP>& tps) {
    auto t = tps_of(tps);
    py::gil_scoped_release release;
    consumer_->resume(t);
  }
  std::vector<TP> paused() const {
    return py_tps(without_gil([&] { return consumer_->paused(); }));
  }

  std::vector<int32_t> partitions_for(const std::string& topic, double timeout_s) {
    const auto timeout = ms_of(timeout_s);
    const auto r = without_gil([&] { return consumer_->partitions_for(topic, timeout); });
    std::vector<int32_t> out;
    for (const auto& tp : checked(r)) out.push_back(tp.partition);
    std::sort(out.begin(), out.end());
    return out;
  }

  std::vector<std::string> list_topics(double timeout_s) {
    const auto timeout = ms_of(timeout_s);
    return checked(without_gil([&] { return consumer_->list_topics(timeout); }));
  }

  std::string member_id() const {
    py::gil_scoped_release release;
    return consumer_->member_id();
  }
  int32_t generation() const {
    py::gil_scoped_release release;
    return consumer_->generation();
  }
  std::optional<std::string> group_id() const { return consumer_->group_id(); }

  // May come from another thread to wake a blocked poll().
  void close(double timeout_s) {
    const auto timeout = ms_of(timeout_s);
    raise_if_error(without_gil([&] { return consumer_->close(timeout); }));
  }

 private:
  std::map<TP, int64_t> offsets(const std::vector<TP>& tps, double timeout_s, bool end) {
    auto t = tps_of(tps);
    const auto timeout = ms_of(timeout_s);
    const auto r = without_gil([&] {
      return end ? consumer_->end_offsets(t, timeout) : consumer_->beginning_offsets(t, timeout);
    });
    std::map<TP, int64_t> out;
    for (const auto& [tp, o] : checked(r)) out.emplace(py_tp(tp), o);
    return out;
  }

  // Declared first so it outlives the consumer whose callbacks write into it.
  std::shared_ptr<CommitSink> sink_ = std::make_shared<CommitSink>();
  std::unique_ptr<client::Consumer> consumer_;
  int64_t next_token_ = 1;
  RecordFactory factory_;
};

}  // namespace

void register_consumer(py::module_& m) {
  py::class_<PyConsumer>(m, "Consumer")
      .def(py::init<client::Properties>(), py::arg("config"))
      .def("subscribe", &PyConsumer::subscribe, py::arg("topics"), py::arg("listener") = py::none(),
           "listener: (on_revoked, on_assigned, on_lost), each a callable or None.")
      .def("subscribe_pattern", &PyConsumer::subscribe_pattern, py::arg("regex"),
           py::arg("listener") = py::none())
      .def("unsubscribe", &PyConsumer::unsubscribe)
      .def("assign", &PyConsumer::assign, py::arg("partitions"))
      .def("assignment", &PyConsumer::assignment)
      .def("subscription", &PyConsumer::subscription)
      .def("set_record_factory", &PyConsumer::set_record_factory, py::arg("record_type"),
           py::arg("key_deserializer"), py::arg("value_deserializer"),
           "poll() returns record_type objects (pykafkacore.Record), keys and values passed "
           "through the deserializers (None: bytes as they are), instead of tuples.")
      .def("poll", &PyConsumer::poll, py::arg("timeout"),
           "[(topic, partition, offset, timestamp, timestamp_type, key, value, headers, "
           "leader_epoch)]")
      .def("seek", &PyConsumer::seek, py::arg("tp"), py::arg("offset"))
      .def("seek_to_beginning", &PyConsumer::seek_to_beginning, py::arg("partitions"))
      .def("seek_to_end", &PyConsumer::seek_to_end, py::arg("partitions"))
      .def("position", &PyConsumer::position, py::arg("tp"), py::arg("timeout"))
      .def("current_lag", &PyConsumer::current_lag, py::arg("tp"),
           "Records to the high watermark (LSO with read_committed) as of the last fetch; "
           "None when unknown.")
      .def("committed", &PyConsumer::committed, py::arg("partitions"), py::arg("timeout"))
      .def("commit", &PyConsumer::commit, py::arg("offsets") = py::none(),
           py::arg("asynchronous") = false, py::arg("timeout") = 60.0)
      .def("take_commit_results", &PyConsumer::take_commit_results,
           "Finished async commits: [(token, error code, message)].")
      .def("offsets_for_times", &PyConsumer::offsets_for_times, py::arg("timestamps"),
           py::arg("timeout"))
      .def("beginning_offsets", &PyConsumer::beginning_offsets, py::arg("partitions"),
           py::arg("timeout"))
      .def("end_offsets", &PyConsumer::end_offsets, py::arg("partitions"), py::arg("timeout"))
      .def("pause", &PyConsumer::pause, py::arg("partitions"))
      .def("resume", &PyConsumer::resume, py::arg("partitions"))
      .def("paused", &PyConsumer::paused)
      .def("partitions_for", &PyConsumer::partitions_for, py::arg("topic"), py::arg("timeout"))
      .def("list_topics", &PyConsumer::list_topics, py::arg("timeout"))
      .def_property_readonly("member_id", &PyConsumer::member_id)
      .def_property_readonly("generation", &PyConsumer::generation)
      .def_property_readonly("group_id", &PyConsumer::group_id)
      .def("close", &PyConsumer::close, py::arg("timeout"));
}

}  // namespace kafkacore::python
