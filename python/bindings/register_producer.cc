// pykafkacore._core.Producer and the error-code helpers the Python client layer uses. Delivery
// reports never hold Python objects on the C++ side: send() returns an integer token and poll()
// / flush() return finished tokens as plain tuples, so nothing Python-owned is touched off the
// GIL or on the producer's io thread. pykafkacore.Producer maps tokens to futures.
#include <chrono>
#include <memory>
#include <mutex>
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
               const std::vector<std::pair<std::string, py::object>>& headers,
               std::optional<int32_t> partition, std::optional<int64_t> timestamp) {
    client::ProducerRecord record;
    record.topic = topic;
    record.key = optional_bytes(key);
    record.value = optional_bytes(value);
    record.partition = partition;
    record.timestamp = timestamp;
    for (const auto& [k, v] : headers) record.headers.push_back({k, optional_bytes(v)});
    return enqueue(std::move(record));
  }

  // Many records of one topic: values, optional keys (same length) — the batch path.
  std::vector<int64_t> send_many(const std::string& topic, const py::list& values,
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
    std::vector<int64_t> tokens;
    tokens.reserve(n);
    for (auto& r : records) tokens.push_back(enqueue(std::move(r)));
    return tokens;
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
  int64_t enqueue(client::ProducerRecord record) {
    const int64_t token = next_token_++;
    std::shared_ptr<ReportSink> sink = sink_;
    Result<void> sent;
    {
      // send() may block up to max.block.ms while the buffer is full.
      py::gil_scoped_release release;
      sent = producer_->send(std::move(record), [sink, token](const Result<client::RecordMetadata>& r) {
        std::lock_guard lock(sink->mu);
        if (r) {
          sink->reports.emplace_back(token, r->topic_partition.partition, r->offset, r->timestamp,
                                     0, std::string());
        } else {
          sink->reports.emplace_back(token, -1, -1, -1, static_cast<int>(r.error().code()),
                                     r.error().message());
        }
      });
    }
    if (!sent) throw_kafka_error(sent.error());
    return token;
  }

  std::vector<Report> take() {
    std::lock_guard lock(sink_->mu);
    return std::exchange(sink_->reports, {});
  }

  std::unique_ptr<client::Producer> producer_;
  std::shared_ptr<ReportSink> sink_ = std::make_shared<ReportSink>();
  int64_t next_token_ = 1;
};

}  // namespace

void register_producer(py::module_& m) {
  m.def("error_name", [](int code) { return std::string(errc_name(static_cast<Errc>(code))); },
        py::arg("code"), "Kafka's name for an error code (e.g. 'NOT_LEADER_OR_FOLLOWER').");
  m.def("error_retriable", [](int code) { return client::retriable(static_cast<Errc>(code)); },
        py::arg("code"), "Whether the same request may succeed later.");

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
