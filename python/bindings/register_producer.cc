// pykafkacore._core.Producer and the error-code helpers the Python client layer uses. send() is a
// raw METH_FASTCALL function, not a pybind11 method: it is the per-record path, where argument
// conversion and the GIL round trip used to cost more than the producer itself. It borrows the
// record's bytes (the accumulator copies them into the batch at once), keeps the GIL unless the
// buffer is full, and returns a native DeliveryFuture (delivery_future.h).
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <pybind11/stl.h>

#include "bindings.h"
#include "borrowed_record.h"
#include "client/errors.h"
#include "client/producer.h"
#include "delivery_future.h"

namespace kafkacore::python {
namespace {

using std::chrono::milliseconds;

// The outcome of one send_many(): per-record partition and offset, filled by delivery callbacks
// (on the thread serving reports) without creating any Python object per record.
struct BatchTracker {
  explicit BatchTracker(std::string t, size_t n) : topic(std::move(t)), partitions(n, -1), offsets(n, -1), timestamps(n, -1) {}
  std::string topic;
  std::vector<int32_t> partitions;
  std::vector<int64_t> offsets;
  std::vector<int64_t> timestamps;
  size_t queued = 0;  // records accepted by send()
  std::atomic<size_t> reported{0};
  std::mutex mu;
  size_t failed = 0;
  std::optional<Error> first_error;
};

class PyProducer {
 public:
  explicit PyProducer(client::Properties config) {
    auto producer = client::Producer::create(std::move(config));
    if (!producer) throw_kafka_error(producer.error());
    producer_ = std::move(*producer);
  }

  // The blocking fallback once the non-blocking attempt found the buffer full: send() may wait
  // up to max.block.ms, so without the GIL. The record's bytes stay valid: the caller holds them.
  Result<bool> send(const client::ProducerRecordView& record, DeliveryFutureObject* future) {
    client::DeliveryCallback callback = delivery_callback(future, &completions_);
    auto sent = producer_->try_send_view(record, callback);
    if (!sent || *sent) return sent;
    Result<void> blocked;
    {
      py::gil_scoped_release release;
      blocked = producer_->send_view(record, std::move(callback));
    }
    if (!blocked) return std::unexpected(blocked.error());
    return true;
  }

  // Many records of one topic: values and optional per-record keys, headers and timestamps
  // (each a list of the values' length) — the batch path. One tracker reports the whole batch.
  std::shared_ptr<BatchTracker> send_many(const std::string& topic, const py::list& values,
                                          const py::object& keys, std::optional<int32_t> partition,
                                          const py::object& headers, const py::object& timestamps) {
    const size_t n = values.size();
    auto column = [n](const py::object& o, const char* name) {
      if (o.is_none()) return py::list();
      py::list l(o);
      if (l.size() != n) {
        throw py::value_error(std::string("send_many: ") + name + " and values differ in length");
      }
      return l;
    };
    const py::list key_list = column(keys, "keys");
    const py::list header_list = column(headers, "headers");
    const py::list timestamp_list = column(timestamps, "timestamps");
    // The lists are ours, but their items are referenced here too: another thread may change
    // the caller's objects while the GIL is released below, and the views must stay valid.
    std::vector<py::object> held;
    held.reserve(3 * n);
    auto item = [&](const py::list& l, size_t i) -> PyObject* {
      if (l.empty()) return nullptr;
      held.push_back(l[i]);
      return held.back().ptr();
    };
    py::str topic_str(topic);
    py::object partition_obj = partition ? py::object(py::int_(*partition)) : py::object(py::none());
    auto records = std::make_unique<BorrowedRecord[]>(n);
    for (size_t i = 0; i < n; ++i) {
      PyObject* value = item(values, i);
      if (!records[i].parse(topic_str.ptr(), value, item(key_list, i), item(header_list, i),
                            partition_obj.ptr(), item(timestamp_list, i))) {
        throw py::error_already_set();
      }
    }
    auto tracker = std::make_shared<BatchTracker>(topic, n);
    Result<void> sent;
    {
      py::gil_scoped_release release;  // once for the whole batch
      for (size_t i = 0; i < n; ++i) {
        // A raw pointer and an index fit std::function's inline storage: no allocation per
        // record. The producer's callbacks run only while this object (and the tracker, kept in
        // trackers_) is alive.
        BatchTracker* t = tracker.get();
        sent = producer_->send_view(records[i].view(), [t, i](const Result<client::RecordMetadata>& r) {
          if (r) {
            t->partitions[i] = r->topic_partition.partition;
            t->offsets[i] = r->offset;
            t->timestamps[i] = r->timestamp;
          } else {
            std::lock_guard lock(t->mu);
            ++t->failed;
            if (!t->first_error) t->first_error = r.error();
          }
          t->reported.fetch_add(1, std::memory_order_release);
        });
        if (!sent) break;
        tracker->queued = i + 1;
      }
    }
    trackers_.push_back(tracker);
    if (!sent) throw_kafka_error(sent.error());  // records before the failing one are sent
    return tracker;
  }

  size_t poll(double timeout_s) {
    size_t served;
    {
      py::gil_scoped_release release;
      served = producer_->poll(milliseconds(static_cast<int64_t>(timeout_s * 1000)));
    }
    drain();
    return served;
  }

  void flush(double timeout_s) {
    Result<void> flushed;
    const auto deadline = std::chrono::steady_clock::now() +
                          milliseconds(static_cast<int64_t>(timeout_s * 1000));
    // In slices, so Ctrl-C interrupts a long flush.
    while (true) {
      auto left = std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
      {
        py::gil_scoped_release release;
        flushed = producer_->flush(std::clamp(left, milliseconds(0), milliseconds(100)));
      }
      drain();
      if (flushed || std::chrono::steady_clock::now() >= deadline) break;
      if (PyErr_CheckSignals() != 0) throw py::error_already_set();
    }
    if (!flushed) throw_kafka_error(flushed.error());
  }

  void close(double timeout_s) {
    {
      py::gil_scoped_release release;
      // Whatever is left fails with "producer closed": every future completes.
      (void)producer_->close(milliseconds(static_cast<int64_t>(timeout_s * 1000)));
    }
    drain();
  }

  size_t outstanding() const { return producer_->outstanding(); }

  std::vector<int32_t> partitions_for(const std::string& topic, double timeout_s) {
    Result<std::vector<int32_t>> r;
    {
      py::gil_scoped_release release;
      r = producer_->partitions_for(topic, milliseconds(static_cast<int64_t>(timeout_s * 1000)));
    }
    if (!r) throw_kafka_error(r.error());
    return *r;
  }

  std::pair<int64_t, int16_t> producer_id() const { return producer_->producer_id(); }

  // Completes the futures whose reports were served, and forgets finished send_many batches.
  void drain() {
    std::erase_if(trackers_, [](const std::shared_ptr<BatchTracker>& t) {
      return t->reported.load(std::memory_order_acquire) >= t->queued;
    });
    if (!completions_.drain()) throw py::error_already_set();
  }

 private:
  // Declared first so they outlive the producer whose callbacks write into them.
  FutureCompletions completions_;
  std::vector<std::shared_ptr<BatchTracker>> trackers_;  // send_many batches not yet reported
  std::unique_ptr<client::Producer> producer_;
};

constexpr const char* kSendArgs[] = {"topic", "value", "key", "headers", "partition", "timestamp"};
constexpr Py_ssize_t kSendArgCount = 6;

// Matches positional and keyword arguments to kSendArgs; false with a TypeError set.
bool send_arguments(PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames,
                    PyObject* (&out)[kSendArgCount]) {
  if (nargs > kSendArgCount) {
    PyErr_Format(PyExc_TypeError, "send() takes at most %d arguments (%zd given)",
                 static_cast<int>(kSendArgCount), nargs);
    return false;
  }
  for (Py_ssize_t i = 0; i < nargs; ++i) out[i] = args[i];
  const Py_ssize_t nkw = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
  for (Py_ssize_t k = 0; k < nkw; ++k) {
    PyObject* name = PyTuple_GET_ITEM(kwnames, k);
    Py_ssize_t slot = 0;
    while (slot < kSendArgCount && PyUnicode_CompareWithASCIIString(name, kSendArgs[slot]) != 0) ++slot;
    if (slot == kSendArgCount) {
      PyErr_Format(PyExc_TypeError, "send() got an unexpected keyword argument '%U'", name);
      return false;
    }
    if (out[slot] != nullptr) {
      PyErr_Format(PyExc_TypeError, "send() got multiple values for argument '%U'", name);
      return false;
    }
    out[slot] = args[nargs + k];
  }
  return true;
}

// _core.Producer.send(topic, value=None, key=None, headers=None, partition=None, timestamp=None)
// -> DeliveryFuture.
PyObject* producer_send(PyObject* self, PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames) {
  try {
    PyObject* a[kSendArgCount] = {};
    if (!send_arguments(args, nargs, kwnames, a)) return nullptr;
    BorrowedRecord record;
    if (!record.parse(a[0], a[1], a[2], a[3], a[4], a[5])) return nullptr;
    auto& producer = py::handle(self).cast<PyProducer&>();
    DeliveryFutureObject* future = new_delivery_future(self, a[0]);
    if (future == nullptr) return nullptr;
    auto sent = producer.send(record.view(), future);
    if (!sent) {
      drop_pending(future);
      Py_DECREF(future);
      throw_kafka_error(sent.error());
    }
    return reinterpret_cast<PyObject*>(future);
  } catch (py::error_already_set& e) {
    e.restore();
  } catch (const std::exception& e) {
    PyErr_SetString(PyExc_RuntimeError, e.what());
  }
  return nullptr;
}

PyMethodDef producer_send_def = {
    "send", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(producer_send)),
    METH_FASTCALL | METH_KEYWORDS,
    "send(topic, value=None, key=None, headers=None, partition=None, timestamp=None) -> "
    "DeliveryFuture: queues one record; value/key are bytes, str or buffers, headers a dict or "
    "(key, value) pairs."};

}  // namespace

void register_producer(py::module_& m) {
  register_delivery_future(m);
  m.def("error_name", [](int code) { return std::string(errc_name(static_cast<Errc>(code))); },
        py::arg("code"), "Kafka's name for an error code (e.g. 'NOT_LEADER_OR_FOLLOWER').");
  m.def("error_retriable", [](int code) { return client::retriable(static_cast<Errc>(code)); },
        py::arg("code"), "Whether the same request may succeed later.");

  py::class_<BatchTracker, std::shared_ptr<BatchTracker>>(m, "BatchTracker")
      .def_readonly("topic", &BatchTracker::topic)
      .def_property_readonly("queued", [](const BatchTracker& t) { return t.queued; })
      .def_property_readonly("reported", [](const BatchTracker& t) { return t.reported.load(); })
      .def_property_readonly("failed", [](BatchTracker& t) {
        std::lock_guard lock(t.mu);
        return t.failed;
      })
      .def_property_readonly("first_error", [](BatchTracker& t) -> py::object {
        std::lock_guard lock(t.mu);
        if (!t.first_error) return py::none();
        return py::make_tuple(static_cast<int>(t.first_error->code()), t.first_error->message());
      })
      // (partitions, offsets, timestamps) of the records, -1 where not (yet) known.
      .def("results", [](const BatchTracker& t) {
        return py::make_tuple(t.partitions, t.offsets, t.timestamps);
      });

  py::class_<PyProducer> producer(m, "Producer");
  producer.def(py::init<client::Properties>(), py::arg("config"))
      .def("send_many", &PyProducer::send_many, py::arg("topic"), py::arg("values"),
           py::arg("keys"), py::arg("partition"), py::arg("headers") = py::none(),
           py::arg("timestamps") = py::none())
      .def("poll", &PyProducer::poll, py::arg("timeout"))
      .def("flush", &PyProducer::flush, py::arg("timeout"))
      .def("close", &PyProducer::close, py::arg("timeout"))
      .def("partitions_for", &PyProducer::partitions_for, py::arg("topic"), py::arg("timeout"))
      .def_property_readonly("outstanding", &PyProducer::outstanding)
      .def_property_readonly("producer_id", &PyProducer::producer_id);
  PyObject* send = PyDescr_NewMethod(reinterpret_cast<PyTypeObject*>(producer.ptr()), &producer_send_def);
  if (send == nullptr) throw py::error_already_set();
  producer.attr("send") = py::reinterpret_steal<py::object>(send);
}

}  // namespace kafkacore::python
