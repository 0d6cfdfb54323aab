#pragma once
// Builds pykafkacore.Record objects for consumed records straight from C++: the Python layer's
// per-record loop (unpack a tuple, deserialize, call the dataclass constructor) cost more than
// fetching and decoding the record. Record is a slots dataclass, so its fields live at fixed
// offsets that its member descriptors name; the factory allocates the instance and fills them
// as the dataclass's __init__ would, calling the deserializers for non-None keys and values.
// Keys and values are copied once, from the fetched bytes straight into Python bytes. Headers
// are a tuple (the shared empty tuple when there are none): immutable, and one object fewer per
// record for the cyclic GC to track, which otherwise costs more than building the record.
#include <array>
#include <string>
#include <vector>

#include "bindings.h"
#include "client/fetched_records.h"

namespace kafkacore::python {

class RecordFactory {
 public:
  // GIL held. `type` is pykafkacore.records.Record; deserializers are callables or None.
  void configure(const py::object& type, py::object key_deserializer, py::object value_deserializer);
  bool configured() const { return type_ != nullptr; }
  // GIL held. A Python error (a deserializer raised) leaves as py::error_already_set.
  py::list build(const client::PolledRecords& polled);

 private:
  enum Field { kTopic, kPartition, kOffset, kTimestamp, kKey, kValue, kHeaders, kTimestampType,
               kLeaderEpoch, kFieldCount };
  py::object one(const client::FetchedRecords& fetched, const client::RecordRef& r,
                 const py::object& topic, const py::object& partition);
  py::object topic_str(const std::string& topic);

  py::object type_object_;
  PyTypeObject* type_ = nullptr;
  std::array<Py_ssize_t, kFieldCount> offsets_{};
  py::object key_deserializer_, value_deserializer_;
  std::string last_topic_;  // consecutive records share a topic: one str for all of them
  py::object last_topic_str_;
};

}  // namespace kafkacore::python
