#include "record_factory.h"

#include <structmember.h>

namespace kafkacore::python {

namespace {

py::object bytes_or_none(const std::optional<ByteView>& b) {
  if (!b) return py::none();
  return py::reinterpret_steal<py::object>(PyBytes_FromStringAndSize(
      reinterpret_cast<const char*>(b->data()), static_cast<Py_ssize_t>(b->size())));
}

py::object int_of(long long v) { return py::reinterpret_steal<py::object>(PyLong_FromLongLong(v)); }

}  // namespace

void RecordFactory::configure(const py::object& type, py::object key_deserializer,
                              py::object value_deserializer) {
  if (!PyType_Check(type.ptr())) throw py::type_error("record type must be a class");
  auto* t = reinterpret_cast<PyTypeObject*>(type.ptr());
  static constexpr const char* names[kFieldCount] = {"topic", "partition", "offset", "timestamp",
                                                     "key", "value", "headers", "timestamp_type",
                                                     "leader_epoch"};
  for (int i = 0; i < kFieldCount; ++i) {
    PyObject* d = PyDict_GetItemString(t->tp_dict, names[i]);  // borrowed
    if (d == nullptr || !Py_IS_TYPE(d, &PyMemberDescr_Type)) {
      throw py::type_error(std::string("record type has no slot '") + names[i] + "'");
    }
    const PyMemberDef* member = reinterpret_cast<PyMemberDescrObject*>(d)->d_member;
    if (member->type != T_OBJECT_EX) throw py::type_error("record slots must hold objects");
    offsets_[i] = member->offset;
  }
  type_object_ = type;
  type_ = t;
  key_deserializer_ = key_deserializer.is_none() ? py::object() : std::move(key_deserializer);
  value_deserializer_ = value_deserializer.is_none() ? py::object() : std::move(value_deserializer);
}

py::object RecordFactory::topic_str(const std::string& topic) {
  if (!last_topic_str_ || topic != last_topic_) {
    last_topic_ = topic;
    last_topic_str_ = py::str(topic);
  }
  return last_topic_str_;
}

py::object RecordFactory::one(const client::FetchedRecords& fetched, const client::RecordRef& r,
                              const py::object& topic, const py::object& partition) {
  std::array<py::object, kFieldCount> fields;
  fields[kTopic] = topic;
  fields[kPartition] = partition;
  fields[kOffset] = int_of(r.offset);
  fields[kTimestamp] = int_of(r.timestamp);
  fields[kKey] = bytes_or_none(r.key);
  if (key_deserializer_ && r.key) fields[kKey] = key_deserializer_(fields[kKey]);
  fields[kValue] = bytes_or_none(r.value);
  if (value_deserializer_ && r.value) fields[kValue] = value_deserializer_(fields[kValue]);
  py::tuple headers(r.headers_end - r.headers_begin);
  for (uint32_t i = r.headers_begin; i < r.headers_end; ++i) {
    const client::HeaderRef& h = fetched.headers[i];
    py::str key(reinterpret_cast<const char*>(h.key.data()), h.key.size());
    PyTuple_SET_ITEM(headers.ptr(), i - r.headers_begin,
                     py::make_tuple(std::move(key), bytes_or_none(h.value)).release().ptr());
  }
  fields[kHeaders] = std::move(headers);
  fields[kTimestampType] = int_of(static_cast<int>(r.timestamp_type));
  fields[kLeaderEpoch] = int_of(r.leader_epoch);
  for (const auto& f : fields) {
    if (!f) throw py::error_already_set();
  }
  PyObject* record = type_->tp_alloc(type_, 0);  // zeroed slots
  if (record == nullptr) throw py::error_already_set();
  for (int i = 0; i < kFieldCount; ++i) {
    *reinterpret_cast<PyObject**>(reinterpret_cast<char*>(record) + offsets_[i]) =
        fields[i].release().ptr();
  }
  return py::reinterpret_steal<py::object>(record);
}

py::list RecordFactory::build(const client::PolledRecords& polled) {
  py::list out(static_cast<Py_ssize_t>(polled.size()));
  Py_ssize_t at = 0;
  for (const client::RecordRun& run : polled.runs) {
    const client::FetchedRecords& fetched = *run.fetched;
    py::object topic = topic_str(fetched.topic);
    py::object partition = int_of(fetched.partition);
    for (size_t i = run.begin; i < run.end; ++i) {
      PyList_SET_ITEM(out.ptr(), at++, one(fetched, fetched.records[i], topic, partition).release().ptr());
    }
  }
  return out;
}

}  // namespace kafkacore::python
