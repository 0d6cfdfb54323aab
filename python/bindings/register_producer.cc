// pykafkacore._core.Producer and the error-code helpers the Python client layer uses. Delivery
// reports never hold Python objects on the C++ side: send() returns an integer token and poll()
// / flush() return finished tokens as plain tuples, so nothing Python-owned is touched off the
// GIL or on the producer's io thread. pykafkacore.Producer maps tokens to futures.
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <pybind11/stl.h>

#include "bindings.h"
#include "client/errors.h"
#include "client/producer.h"

namespace kafkacore::python {
namespace {

using std::chrono::milliseconds;

// (token, partition, offset, timestamp, error code, error message)
using Report = std::tuple<int64_t, int32_t, int64_t, int64_t, int, std::string>;

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

struct ReportSink {
  std::mutex mu;
  std::vector<Report> reports;
};

std::optional<Bytes> optional_bytes(const py::object& o) {
  if (o.is_none()) return std::nullopt;
  ByteView v = view_of(py::reinterpret_borrow<py::bytes>(o));
  return Bytes(v.begin(), v.end());
}

class PyProducer {
 public:
  explicit PyProducer(client::Properties config) {
    auto producer = client::Producer::create(std::move(config));
    if (!producer) throw_kafka_error(producer.error());
    producer_ = std::move(*producer);
  }

  // One record; returns its token (reported later by poll/flush).
  int64_t send(const std::string& topic, const py::object& value, const py::object& key,
               const std::optional<std::vector<std::pair<std::string, py::object>>>& headers,
               std::optional<int32_t> partition, std::optional<int64_t> timestamp) {
    client::ProducerRecord record;
    record.topic = topic;
    record.key = optional_bytes(key);
    record.value = optional_bytes(value);
    record.partition = partition;
    record.timestamp = timestamp;
    if (headers) {
      for (const auto& [k, v] : *headers) record.headers.push_back({k, optional_bytes(v)});
    }
    return enqueue(std::move(record));
  }

  // Many records of one topic: values, optional keys (same length) — the batch path. One
  // tracker reports the whole batch.
  std::shared_ptr<BatchTracker> send_many(const std::string& topic, const py::list& values,
                                          const py::object& keys, std::optional<int32_t> partition) {
    const size_t n = values.size();
    py::list key_list = keys.is_none() ? py::list() : py::list(keys);
    if (!keys.is_none() && key_list.size() != n) {
      throw py::value_error("send_many: keys and values differ in length");
    }
    std::vector<client::ProducerRecord> records(n);
    for (size_t i = 0; i < n; ++i) {
      records[i].topic = topic;
      records[i].value = optional_bytes(values[i]);
      if (!keys.is_none()) records[i].key = optional_bytes(key_list[i]);
      records[i].partition = partition;
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
        sent = producer_->send(std::move(records[i]), [t, i](const Result<client::RecordMetadata>& r) {
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

  std::vector<Report> poll(double timeout_s) {
    {
      py::gil_scoped_release release;
      producer_->poll(milliseconds(static_cast<int64_t>(timeout_s * 1000)));
    }
    return take();
  }

  std::vector<Report> flush(double timeout_s) {
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
      if (flushed || std::chrono::steady_clock::now() >= deadline) break;
      if (PyErr_CheckSignals() != 0) throw py::error_already_set();
    }
    auto reports = take();
    if (!flushed) {
      sink_->mu.lock();  // keep the reports for the next poll; the error says what is left
      for (auto& r : reports) sink_->reports.push_back(std::move(r));
      sink_->mu.unlock();
      throw_kafka_error(flushed.error());
    }
    return reports;
  }

  std::vector<Report> close(double timeout_s) {
    Result<void> closed;
    {
      py::gil_scoped_release release;
      closed = producer_->close(milliseconds(static_cast<int64_t>(timeout_s * 1000)));
    }
    return take();
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

 private:
  client::DeliveryCallback reporter(int64_t token) {
    return [sink = sink_.get(), token](const Result<client::RecordMetadata>& r) {
      std::lock_guard lock(sink->mu);
      if (r) {
        sink->reports.emplace_back(token, r->topic_partition.partition, r->offset, r->timestamp, 0,
                                   std::string());
      } else {
        sink->reports.emplace_back(token, -1, -1, -1, static_cast<int>(r.error().code()),
                                   r.error().message());
      }
    };
  }

  int64_t enqueue(client::ProducerRecord record) {
    const int64_t token = next_token_++;
    Result<void> sent;
    {
      // send() may block up to max.block.ms while the buffer is full.
      py::gil_scoped_release release;
      sent = producer_->send(std::move(record), reporter(token));
    }
    if (!sent) throw_kafka_error(sent.error());
    return token;
  }

  std::vector<Report> take() {
    std::erase_if(trackers_, [](const std::shared_ptr<BatchTracker>& t) {
      return t->reported.load(std::memory_order_acquire) >= t->queued;
    });
    std::lock_guard lock(sink_->mu);
    return std::exchange(sink_->reports, {});
  }

  // Declared first so it outlives the producer whose callbacks write into it.
  std::shared_ptr<ReportSink> sink_ = std::make_shared<ReportSink>();
  std::vector<std::shared_ptr<BatchTracker>> trackers_;  // send_many batches not yet reported
  std::unique_ptr<client::Producer> producer_;
  std::atomic<int64_t> next_token_{1};  // sends may run on several threads without the GIL
};

}  // namespace

void register_producer(py::module_& m) {
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

  py::class_<PyProducer>(m, "Producer")
      .def(py::init<client::Properties>(), py::arg("config"))
      .def("send", &PyProducer::send, py::arg("topic"), py::arg("value"), py::arg("key"),
           py::arg("headers"), py::arg("partition"), py::arg("timestamp"))
      .def("send_many", &PyProducer::send_many, py::arg("topic"), py::arg("values"),
           py::arg("keys"), py::arg("partition"))
      .def("poll", &PyProducer::poll, py::arg("timeout"))
      .def("flush", &PyProducer::flush, py::arg("timeout"))
      .def("close", &PyProducer::close, py::arg("timeout"))
      .def("partitions_for", &PyProducer::partitions_for, py::arg("topic"), py::arg("timeout"))
      .def_property_readonly("outstanding", &PyProducer::outstanding)
      .def_property_readonly("producer_id", &PyProducer::producer_id);
}

}  // namespace kafkacore::python
