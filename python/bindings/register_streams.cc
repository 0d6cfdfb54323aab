// pykafkacore._core.StreamsBuilder / KafkaStreams / StreamsSerde: the Streams engine
// (cpp/src/streams) for python/pykafkacore/streams.py, which builds the public API on top.
//
// The DSL is exposed flat: StreamsBuilder keeps the C++ handles (KStream, KTable, ...) in
// vectors and Python refers to them by index, so no handle outlives the builder it points into.
//
// Values: None, bytes, str, int (exactly int, fitting int64) and float become native Values;
// anything else (bool, dict, list, custom objects) travels as a PyHostObject. A record with a
// window shows its key to Python as pykafkacore.streams.Windowed(key, start, end).
//
// Threads and the GIL: user functions and Python serdes run on the stream thread, inside the
// processing scope, which takes the GIL once per batch; each call takes it again (cheap when
// held) so serdes called elsewhere (restoration, lookups) are safe too. Every Python reference a
// C++ object keeps is released with the GIL taken, on whatever thread drops it. start(),
// close() and wait_until_idle() release the GIL: close joins the stream thread, which needs it.
//
// Errors: a Python exception raised by a user function or serde is kept (the first one) in the
// app's ErrorSlot, shared by the builder's functions and the app, and the engine gets
// UNKNOWN_SERVER_ERROR (INVALID_RECORD for serdes) "<function> raised <Type>: <message>";
// streams.py re-raises the original exception, traceback included.
#include <pybind11/stl.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "bindings.h"
#include "streams/builder.h"
#include "streams/kafka_streams.h"
#include "streams/serde.h"

namespace kafkacore::python {
namespace {

namespace ks = kafkacore::streams;
using std::chrono::milliseconds;

bool finalizing() {
#if PY_VERSION_HEX >= 0x030D0000
  return Py_IsFinalizing() != 0;
#else
  return _Py_IsFinalizing() != 0;
#endif
}

// Drops a Python reference with the GIL taken, from any thread; leaks it when the interpreter
// is going away (touching it then could crash).
void release_with_gil(py::object& obj) {
  if (!obj) return;
  if (!Py_IsInitialized() || finalizing()) {
    (void)obj.release();
    return;
  }
  py::gil_scoped_acquire gil;
  obj = py::object();
}

// A Python object kept by C++ (a function, a serializer).
class PyRef {
 public:
  explicit PyRef(py::object obj) : obj_(std::move(obj)) {}
  PyRef(const PyRef&) = delete;
  PyRef& operator=(const PyRef&) = delete;
  ~PyRef() { release_with_gil(obj_); }
  const py::object& get() const { return obj_; }

 private:
  py::object obj_;
};

// A Python value the engine carries without looking into it.
class PyHostObject final : public ks::HostObject {
 public:
  explicit PyHostObject(py::object obj) : obj_(std::move(obj)) {}
  ~PyHostObject() override { release_with_gil(obj_); }
  const py::object& get() const { return obj_; }

 private:
  py::object obj_;
};

// pykafkacore.streams.Windowed, registered by streams.py at import (a leaked reference: it
// lives as long as the module).
PyObject* g_windowed = nullptr;

// The first Python exception a user function or serde raised, for streams.py to re-raise.
class ErrorSlot {
 public:
  ~ErrorSlot() { release_with_gil(exc_); }
  // With the GIL held.
  void keep(py::error_already_set& e) {
    std::lock_guard lock(mu_);
    if (exc_) return;
    py::object value = e.value();
    if (value && e.trace()) PyException_SetTraceback(value.ptr(), e.trace().ptr());
    exc_ = value;
  }
  // With the GIL held.
  py::object take() {
    std::lock_guard lock(mu_);
    py::object out = exc_ ? std::move(exc_) : py::none();
    exc_ = py::object();
    return out;
  }
  bool has() {
    std::lock_guard lock(mu_);
    return static_cast<bool>(exc_);
  }

 private:
  std::mutex mu_;
  py::object exc_;
};

[[noreturn]] void raise_type_error(const std::string& message) {
  PyErr_SetString(PyExc_TypeError, message.c_str());
  throw py::error_already_set();
}

// --- Value <-> Python (GIL held)

ks::Value to_value(py::handle h) {
  PyObject* o = h.ptr();
  if (o == Py_None) return ks::Value{};
  if (PyBytes_CheckExact(o)) {
    ByteView v = view_of(py::reinterpret_borrow<py::bytes>(h));
    return ks::Value(Bytes(v.begin(), v.end()));
  }
  if (PyUnicode_CheckExact(o)) {
    Py_ssize_t size = 0;
    const char* data = PyUnicode_AsUTF8AndSize(o, &size);
    if (data != nullptr) return ks::Value(std::string(data, static_cast<size_t>(size)));
    PyErr_Clear();  // lone surrogates: not UTF-8, keep the object as it is
  } else if (PyLong_CheckExact(o)) {
    int overflow = 0;
    const long long v = PyLong_AsLongLongAndOverflow(o, &overflow);
    if (overflow == 0 && !(v == -1 && PyErr_Occurred())) return ks::Value(static_cast<int64_t>(v));
    PyErr_Clear();
  } else if (PyFloat_CheckExact(o)) {
    return ks::Value(PyFloat_AS_DOUBLE(o));
  }
  return ks::Value(std::make_shared<const PyHostObject>(py::reinterpret_borrow<py::object>(h)));
}

py::object from_value(const ks::Value& v) {
  switch (v.index()) {
    case 0: return py::none();
    case 1: {
      const Bytes& b = std::get<Bytes>(v);
      return to_py_bytes(ByteView(b.data(), b.size()));
    }
    case 2: {
      const std::string& s = std::get<std::string>(v);
      PyObject* o = PyUnicode_DecodeUTF8(s.data(), static_cast<Py_ssize_t>(s.size()), "replace");
      if (o == nullptr) throw py::error_already_set();
      return py::reinterpret_steal<py::object>(o);
    }
    case 3: return py::int_(std::get<int64_t>(v));
    case 4: return py::float_(std::get<double>(v));
    default: {
      const auto& host = std::get<std::shared_ptr<const ks::HostObject>>(v);
      if (const auto* p = dynamic_cast<const PyHostObject*>(host.get())) return p->get();
      return py::none();  // another host language's object: nothing Python can use
    }
  }
}

py::object windowed_key(const py::object& key, const ks::Window& w) {
  if (g_windowed == nullptr) return py::make_tuple(key, w.start, w.end);
  return py::reinterpret_borrow<py::object>(g_windowed)(key, w.start, w.end);
}

// The key as user functions see it: Windowed(key, start, end) after a windowed aggregation.
py::object key_of(const ks::StreamRecord& r) {
  py::object key = from_value(r.key);
  if (r.window) return windowed_key(key, *r.window);
  return key;
}

py::list headers_of(const ks::StreamRecord& r) {
  py::list out;
  for (const auto& h : r.headers) {
    py::object value = h.value ? py::object(to_py_bytes(ByteView(h.value->data(), h.value->size())))
                               : py::object(py::none());
    out.append(py::make_tuple(py::str(h.key), value));
  }
  return out;
}

std::optional<Bytes> bytes_result(const py::object& r, const std::string& what) {
  if (r.is_none()) return std::nullopt;
  if (PyBytes_Check(r.ptr())) {
    ByteView v = view_of(py::reinterpret_borrow<py::bytes>(r));
    return Bytes(v.begin(), v.end());
  }
  if (PyByteArray_Check(r.ptr()) || PyMemoryView_Check(r.ptr())) {
    PyObject* copy = PyBytes_FromObject(r.ptr());
    if (copy == nullptr) throw py::error_already_set();
    py::bytes b = py::reinterpret_steal<py::bytes>(copy);
    ByteView v = view_of(b);
    return Bytes(v.begin(), v.end());
  }
  raise_type_error(what + " returned " + std::string(Py_TYPE(r.ptr())->tp_name) +
                   ", not bytes or None");
}

int64_t int64_result(const py::object& r, const std::string& what) {
  if (PyFloat_Check(r.ptr())) return static_cast<int64_t>(PyFloat_AS_DOUBLE(r.ptr()));
  if (!PyLong_Check(r.ptr())) {
    raise_type_error(what + " returned " + std::string(Py_TYPE(r.ptr())->tp_name) +
                     ", not an int (milliseconds)");
  }
  const long long v = PyLong_AsLongLong(r.ptr());
  if (v == -1 && PyErr_Occurred()) throw py::error_already_set();
  return static_cast<int64_t>(v);
}

ks::KeyValue pair_of(const py::handle& item, const std::string& what) {
  PyObject* o = item.ptr();
  if (!PyTuple_Check(o) && !PyList_Check(o)) {
    raise_type_error(what + " must give (key, value) pairs, got " +
                     std::string(Py_TYPE(o)->tp_name));
  }
  py::sequence seq = py::reinterpret_borrow<py::sequence>(item);
  if (seq.size() != 2) {
    raise_type_error(what + " must give (key, value) pairs, got a sequence of " +
                     std::to_string(seq.size()));
  }
  return {to_value(seq[0]), to_value(seq[1])};
}

// --- user functions

// One Python callable as the engine calls it: takes the GIL, converts, and turns a Python
// exception into an Error (keeping the exception in the slot).
class PyFn {
 public:
  PyFn(py::object fn, std::string label, std::shared_ptr<ErrorSlot> slot)
      : fn_(std::make_shared<PyRef>(std::move(fn))),
        label_(std::move(label)),
        slot_(std::move(slot)) {}

  template <typename T, typename Body>
  Result<T> call(Body&& body) const {
    py::gil_scoped_acquire gil;
    try {
      if constexpr (std::is_void_v<T>) {
        body(fn_->get());
        return {};
      } else {
        return body(fn_->get());
      }
    } catch (py::error_already_set& e) {
      return fail(e);
    }
  }

  std::unexpected<Error> fail(py::error_already_set& e) const {
    std::string type = "Exception";
    std::string message;
    try {
      type = py::str(e.type().attr("__name__"));
      message = py::str(e.value());
    } catch (...) {
    }
    slot_->keep(e);
    return make_error(Errc::unknown_server_error, label_ + " raised " + type + ": " + message);
  }

  const std::string& label() const { return label_; }

 private:
  std::shared_ptr<PyRef> fn_;
  std::string label_;
  std::shared_ptr<ErrorSlot> slot_;
};

ks::Predicate predicate_of(PyFn f) {
  return [f = std::move(f)](const ks::StreamRecord& r) -> Result<bool> {
    return f.call<bool>([&](const py::object& fn) {
      py::object out = fn(key_of(r), from_value(r.value));
      const int truth = PyObject_IsTrue(out.ptr());
      if (truth < 0) throw py::error_already_set();
      return truth == 1;
    });
  };
}

ks::KeyValueMapper kv_mapper_of(PyFn f) {
  return [f = std::move(f)](const ks::StreamRecord& r) -> Result<ks::KeyValue> {
    return f.call<ks::KeyValue>([&](const py::object& fn) {
      return pair_of(fn(key_of(r), from_value(r.value)), f.label());
    });
  };
}

ks::ValueMapper value_mapper_of(PyFn f) {
  return [f = std::move(f)](const ks::StreamRecord& r) -> Result<ks::Value> {
    return f.call<ks::Value>(
        [&](const py::object& fn) { return to_value(fn(from_value(r.value))); });
  };
}

// Table.map_values / filter on tables and the like see (key, value); a value mapper sees value.
ks::FlatMapper flat_mapper_of(PyFn f) {
  return [f = std::move(f)](const ks::StreamRecord& r) -> Result<std::vector<ks::KeyValue>> {
    return f.call<std::vector<ks::KeyValue>>([&](const py::object& fn) {
      std::vector<ks::KeyValue> out;
      py::object result = fn(key_of(r), from_value(r.value));
      if (result.is_none()) return out;
      for (py::handle item : py::iter(result)) out.push_back(pair_of(item, f.label()));
      return out;
    });
  };
}

ks::FlatValueMapper flat_value_mapper_of(PyFn f) {
  return [f = std::move(f)](const ks::StreamRecord& r) -> Result<std::vector<ks::Value>> {
    return f.call<std::vector<ks::Value>>([&](const py::object& fn) {
      std::vector<ks::Value> out;
      py::object result = fn(from_value(r.value));
      if (result.is_none()) return out;
      for (py::handle item : py::iter(result)) out.push_back(to_value(item));
      return out;
    });
  };
}

ks::KeySelector key_selector_of(PyFn f) {
  return [f = std::move(f)](const ks::StreamRecord& r) -> Result<ks::Value> {
    return f.call<ks::Value>(
        [&](const py::object& fn) { return to_value(fn(key_of(r), from_value(r.value))); });
  };
}

ks::ForeachAction foreach_of(PyFn f) {
  return [f = std::move(f)](const ks::StreamRecord& r) -> Result<void> {
    return f.call<void>([&](const py::object& fn) { fn(key_of(r), from_value(r.value)); });
  };
}

ks::TimestampExtractor timestamp_extractor_of(PyFn f) {
  return [f = std::move(f)](const ks::StreamRecord& r) -> Result<int64_t> {
    return f.call<int64_t>([&](const py::object& fn) {
      return int64_result(fn(key_of(r), from_value(r.value), r.timestamp), f.label());
    });
  };
}

ks::Initializer initializer_of(PyFn f) {
  return [f = std::move(f)]() -> Result<ks::Value> {
    return f.call<ks::Value>([&](const py::object& fn) { return to_value(fn()); });
  };
}

ks::Aggregator aggregator_of(PyFn f) {
  return [f = std::move(f)](const ks::Value& key, const ks::Value& value,
                            const ks::Value& aggregate) -> Result<ks::Value> {
    return f.call<ks::Value>([&](const py::object& fn) {
      return to_value(fn(from_value(key), from_value(value), from_value(aggregate)));
    });
  };
}

ks::Reducer reducer_of(PyFn f) {
  return [f = std::move(f)](const ks::Value& aggregate,
                            const ks::Value& value) -> Result<ks::Value> {
    return f.call<ks::Value>([&](const py::object& fn) {
      return to_value(fn(from_value(aggregate), from_value(value)));
    });
  };
}

ks::Merger merger_of(PyFn f) {
  return [f = std::move(f)](const ks::Value& key, const ks::Value& left,
                            const ks::Value& right) -> Result<ks::Value> {
    return f.call<ks::Value>([&](const py::object& fn) {
      return to_value(fn(from_value(key), from_value(left), from_value(right)));
    });
  };
}

// joiner(left, right), or joiner(key, left, right) when `with_key`.
ks::ValueJoiner joiner_of(PyFn f, bool with_key) {
  return [f = std::move(f), with_key](const ks::Value& key, const ks::Value& left,
                                      const ks::Value& right) -> Result<ks::Value> {
    return f.call<ks::Value>([&](const py::object& fn) {
      if (with_key) return to_value(fn(from_value(key), from_value(left), from_value(right)));
      return to_value(fn(from_value(left), from_value(right)));
    });
  };
}

// --- serdes

// A serde written in Python: serialize(obj) -> bytes | None, deserialize(bytes) -> obj.
class PySerde final : public ks::Serde {
 public:
  PySerde(std::string name, py::object serialize, py::object deserialize,
          std::shared_ptr<ErrorSlot> slot)
      : name_(std::move(name)),
        serialize_(std::make_shared<PyRef>(std::move(serialize))),
        deserialize_(std::make_shared<PyRef>(std::move(deserialize))),
        slot_(std::move(slot)) {}

  std::string name() const override { return name_; }

  Result<std::optional<Bytes>> serialize(const ks::Value& value) const override {
    if (ks::is_null(value)) return std::nullopt;
    py::gil_scoped_acquire gil;
    try {
      return py_serialize(from_value(value));
    } catch (py::error_already_set& e) {
      return fail(e, "serializer");
    }
  }

  Result<ks::Value> deserialize(std::optional<ByteView> data) const override {
    if (!data) return ks::Value{};
    py::gil_scoped_acquire gil;
    try {
      return to_value(py_deserialize(to_py_bytes(*data)));
    } catch (py::error_already_set& e) {
      return fail(e, "deserializer");
    }
  }

  // Straight from Python (GIL held): exceptions propagate.
  std::optional<Bytes> py_serialize(const py::object& obj) const {
    if (obj.is_none()) return std::nullopt;
    return bytes_result(serialize_->get()(obj), name_ + " serializer");
  }
  py::object py_deserialize(const py::object& data) const {
    if (data.is_none()) return py::none();
    return deserialize_->get()(data);
  }

 private:
  std::unexpected<Error> fail(py::error_already_set& e, const char* what) const {
    std::string type = "Exception";
    std::string message;
    try {
      type = py::str(e.type().attr("__name__"));
      message = py::str(e.value());
    } catch (...) {
    }
    slot_->keep(e);
    return make_error(Errc::invalid_record,
                      name_ + " " + what + " raised " + type + ": " + message);
  }

  std::string name_;
  std::shared_ptr<PyRef> serialize_;
  std::shared_ptr<PyRef> deserialize_;
  std::shared_ptr<ErrorSlot> slot_;
};

// What Python holds for a serde (native or PySerde).
struct SerdeHandle {
  ks::SerdePtr serde;
};

ks::SerdePtr serde_of(const std::optional<SerdeHandle>& h) {
  return h ? h->serde : nullptr;
}

py::object handle_serialize(const SerdeHandle& h, const py::object& obj) {
  std::optional<Bytes> out;
  if (const auto* p = dynamic_cast<const PySerde*>(h.serde.get())) {
    out = p->py_serialize(obj);
  } else {
    auto r = h.serde->serialize(to_value(obj));
    if (!r) throw_value_error(r.error());
    out = std::move(*r);
  }
  if (!out) return py::none();
  return to_py_bytes(ByteView(out->data(), out->size()));
}

py::object handle_deserialize(const SerdeHandle& h, const py::object& data) {
  if (const auto* p = dynamic_cast<const PySerde*>(h.serde.get())) return p->py_deserialize(data);
  std::optional<ByteView> view;
  if (!data.is_none()) view = view_of(py::reinterpret_borrow<py::bytes>(data));
  auto r = h.serde->deserialize(view);
  if (!r) throw_value_error(r.error());
  return from_value(*r);
}

ks::JoinType join_type_of(const std::string& how) {
  if (how == "inner") return ks::JoinType::inner;
  if (how == "left") return ks::JoinType::left;
  if (how == "outer") return ks::JoinType::outer;
  throw py::value_error("how must be 'inner', 'left' or 'outer', not '" + how + "'");
}

ks::EmitStrategy emit_of(bool final) {
  return final ? ks::EmitStrategy::on_window_close : ks::EmitStrategy::on_update;
}

// --- the builder

class PyStreamsBuilder {
 public:
  PyStreamsBuilder() = default;

  // The serdes used where a stream's own are unknown; before the first operation (the
  // serdes themselves come from native_serde/python_serde, which share this builder's slot).
  void set_defaults(std::optional<SerdeHandle> default_key,
                    std::optional<SerdeHandle> default_value) {
    if (builder_ || topology_) throw py::value_error("set_defaults comes before any operation");
    builder_ = std::make_unique<ks::StreamsBuilder>(serde_of(default_key), serde_of(default_value));
  }

  std::shared_ptr<ErrorSlot> slot() const { return slot_; }

  SerdeHandle native_serde(const std::string& name) const {
    ks::SerdePtr s = ks::native_serde(name);
    if (!s) throw py::value_error("unknown native serde '" + name + "'");
    return {s};
  }
  SerdeHandle python_serde(std::string name, py::object serialize, py::object deserialize) const {
    return {std::make_shared<PySerde>(std::move(name), std::move(serialize),
                                      std::move(deserialize), slot_)};
  }

  // ---- sources
  int stream(std::vector<std::string> topics, std::optional<SerdeHandle> key_serde,
             std::optional<SerdeHandle> value_serde, py::object timestamp_extractor,
             std::string name) {
    ks::Consumed consumed{serde_of(key_serde), serde_of(value_serde), std::nullopt,
                          std::move(name)};
    if (!timestamp_extractor.is_none()) {
      consumed.timestamp_extractor = timestamp_extractor_of(fn(timestamp_extractor, "timestamp_extractor"));
    }
    return add_stream(b().stream(std::move(topics), std::move(consumed)));
  }

  int table(std::string topic, std::optional<SerdeHandle> key_serde,
            std::optional<SerdeHandle> value_serde, std::string store) {
    ks::Consumed consumed{serde_of(key_serde), serde_of(value_serde), std::nullopt, ""};
    ks::Materialized materialized{std::move(store), serde_of(key_serde), serde_of(value_serde)};
    return add_table(b().table(std::move(topic), std::move(consumed), std::move(materialized)));
  }

  // ---- stateless
  int filter(int s, py::object f, bool negate, std::string name) {
    auto p = predicate_of(fn(f, negate ? "filter_not" : "filter"));
    return add_stream(negate ? stream_at(s).filter_not(std::move(p), std::move(name))
                             : stream_at(s).filter(std::move(p), std::move(name)));
  }
  int map(int s, py::object f, std::string name) {
    return add_stream(stream_at(s).map(kv_mapper_of(fn(f, "map")), std::move(name)));
  }
  int map_values(int s, py::object f, std::string name) {
    return add_stream(stream_at(s).map_values(value_mapper_of(fn(f, "map_values")), std::move(name)));
  }
  int flat_map(int s, py::object f, std::string name) {
    return add_stream(stream_at(s).flat_map(flat_mapper_of(fn(f, "flat_map")), std::move(name)));
  }
  int flat_map_values(int s, py::object f, std::string name) {
    return add_stream(stream_at(s).flat_map_values(flat_value_mapper_of(fn(f, "flat_map_values")),
                                                   std::move(name)));
  }
  int select_key(int s, py::object f, std::string name) {
    return add_stream(stream_at(s).select_key(key_selector_of(fn(f, "select_key")), std::move(name)));
  }
  int peek(int s, py::object f, std::string name) {
    return add_stream(stream_at(s).peek(foreach_of(fn(f, "peek")), std::move(name)));
  }
  void foreach_(int s, py::object f, std::string name) {
    stream_at(s).foreach (foreach_of(fn(f, "foreach")), std::move(name));
  }
  std::vector<int> branch(int s, const std::vector<py::object>& predicates, bool default_branch,
                          std::string name) {
    std::vector<ks::Predicate> preds;
    for (size_t i = 0; i < predicates.size(); ++i) {
      preds.push_back(predicate_of(fn(predicates[i], "branch predicate " + std::to_string(i))));
    }
    std::vector<int> out;
    for (auto& k : stream_at(s).branch(std::move(preds), default_branch, std::move(name))) {
      out.push_back(add_stream(std::move(k)));
    }
    return out;
  }
  int merge(int s, int other, std::string name) {
    return add_stream(stream_at(s).merge(stream_at(other), std::move(name)));
  }
  int with_timestamps(int s, py::object f, std::string name) {
    return add_stream(stream_at(s).with_timestamps(timestamp_extractor_of(fn(f, "with_timestamps")),
                                                   std::move(name)));
  }
  void to(int s, std::string topic, std::optional<SerdeHandle> key_serde,
          std::optional<SerdeHandle> value_serde, std::string name) {
    stream_at(s).to(std::move(topic),
                    ks::Produced{serde_of(key_serde), serde_of(value_serde), std::move(name)});
  }
  int repartition(int s, std::optional<SerdeHandle> key_serde,
                  std::optional<SerdeHandle> value_serde, std::string name) {
    return add_stream(stream_at(s).repartition(
        ks::Grouped{serde_of(key_serde), serde_of(value_serde), std::move(name)}));
  }

  // ---- grouping
  int group_by_key(int s, std::optional<SerdeHandle> key_serde,
                   std::optional<SerdeHandle> value_serde, std::string name) {
    grouped_.push_back(stream_at(s).group_by_key(
        ks::Grouped{serde_of(key_serde), serde_of(value_serde), std::move(name)}));
    return static_cast<int>(grouped_.size()) - 1;
  }
  int group_by(int s, py::object f, std::optional<SerdeHandle> key_serde,
               std::optional<SerdeHandle> value_serde, std::string name) {
    grouped_.push_back(stream_at(s).group_by(
        key_selector_of(fn(f, "group_by")),
        ks::Grouped{serde_of(key_serde), serde_of(value_serde), std::move(name)}));
    return static_cast<int>(grouped_.size()) - 1;
  }
  int windowed_by_time(int g, int64_t size_ms, int64_t advance_ms, int64_t grace_ms, bool final) {
    check(g, grouped_.size(), "grouped stream");
    time_windowed_.push_back(
        grouped_[g].windowed_by(ks::TimeWindows{size_ms, advance_ms, grace_ms}).emit(emit_of(final)));
    return static_cast<int>(time_windowed_.size()) - 1;
  }
  int windowed_by_session(int g, int64_t gap_ms, int64_t grace_ms, bool final) {
    check(g, grouped_.size(), "grouped stream");
    session_windowed_.push_back(
        grouped_[g].windowed_by(ks::SessionWindows{gap_ms, grace_ms}).emit(emit_of(final)));
    return static_cast<int>(session_windowed_.size()) - 1;
  }

  // kind: "grouped", "time" or "session"; op: count, sum, min, max, reduce, aggregate.
  int aggregate(const std::string& kind, int g, const std::string& op, std::string store,
                std::optional<SerdeHandle> key_serde, std::optional<SerdeHandle> aggregate_serde,
                py::object initializer, py::object adder, py::object reducer, py::object merger) {
    ks::Materialized m{std::move(store), serde_of(key_serde), serde_of(aggregate_serde)};
    if (kind == "grouped") {
      check(g, grouped_.size(), "grouped stream");
      return add_table(run_op(grouped_[g], op, std::move(m), initializer, adder, reducer, merger));
    }
    if (kind == "time") {
      check(g, time_windowed_.size(), "windowed stream");
      return add_table(run_op(time_windowed_[g], op, std::move(m), initializer, adder, reducer, merger));
    }
    if (kind == "session") {
      check(g, session_windowed_.size(), "session-windowed stream");
      return add_table(
          run_op(session_windowed_[g], op, std::move(m), initializer, adder, reducer, merger));
    }
    throw py::value_error("unknown grouping kind '" + kind + "'");
  }

  // ---- joins
  int join_table(int s, int t, py::object joiner, bool with_key, const std::string& how,
                 std::optional<SerdeHandle> key_serde, std::optional<SerdeHandle> value_serde,
                 std::string name) {
    check(t, tables_.size(), "table");
    return add_stream(stream_at(s).join(
        tables_[t], joiner_of(fn(joiner, "joiner"), with_key), join_type_of(how),
        ks::Grouped{serde_of(key_serde), serde_of(value_serde), std::move(name)}));
  }
  int join_stream(int s, int other, py::object joiner, bool with_key, int64_t before_ms,
                  int64_t after_ms, int64_t grace_ms, const std::string& how,
                  std::optional<SerdeHandle> key_serde, std::optional<SerdeHandle> this_value_serde,
                  std::optional<SerdeHandle> other_value_serde, std::string name) {
    return add_stream(stream_at(s).join(
        stream_at(other), joiner_of(fn(joiner, "joiner"), with_key),
        ks::JoinWindows{before_ms, after_ms, grace_ms}, join_type_of(how),
        ks::StreamJoined{serde_of(key_serde), serde_of(this_value_serde),
                         serde_of(other_value_serde), std::move(name)}));
  }

  // ---- tables
  int table_to_stream(int t, std::string name) {
    check(t, tables_.size(), "table");
    return add_stream(tables_[t].to_stream(std::move(name)));
  }
  int table_filter(int t, py::object f, bool negate, std::string name) {
    check(t, tables_.size(), "table");
    ks::Predicate p = predicate_of(fn(f, negate ? "filter_not" : "filter"));
    if (negate) {
      p = [inner = std::move(p)](const ks::StreamRecord& r) -> Result<bool> {
        auto v = inner(r);
        if (!v) return v;
        return !*v;
      };
    }
    return add_table(tables_[t].filter(std::move(p), std::move(name)));
  }
  int table_map_values(int t, py::object f, std::string name) {
    check(t, tables_.size(), "table");
    return add_table(tables_[t].map_values(value_mapper_of(fn(f, "map_values")), std::move(name)));
  }
  std::string table_store(int t) const {
    check(t, tables_.size(), "table");
    return tables_[t].store();
  }
  std::string stream_node(int s) const {
    check(s, streams_.size(), "stream");
    return streams_[s].node();
  }

  // Builds (once) and returns the topology; the builder takes no more operations after.
  const ks::Topology& topology() {
    if (!topology_) {
      auto built = b().build();
      if (!built) throw_value_error(built.error());
      topology_ = std::move(*built);
    }
    return *topology_;
  }
  std::string describe() { return topology().describe(); }
  // (topic, internal) for every topic the application consumes; internal names unprefixed.
  std::vector<std::pair<std::string, bool>> source_topics() {
    std::vector<std::pair<std::string, bool>> out;
    for (const auto& sub : topology().sub_topologies()) {
      for (const auto& t : sub.external_sources) out.emplace_back(t, false);
      for (const auto& t : sub.internal_sources) out.emplace_back(t, true);
    }
    return out;
  }
  bool built() const { return topology_.has_value(); }

 private:
  ks::StreamsBuilder& b() {
    if (topology_) throw py::value_error("the topology is built already (after describe() or start())");
    if (!builder_) builder_ = std::make_unique<ks::StreamsBuilder>();
    return *builder_;
  }
  PyFn fn(py::object f, std::string op) const {
    if (!PyCallable_Check(f.ptr())) {
      throw py::type_error(op + " takes a callable, not " + std::string(Py_TYPE(f.ptr())->tp_name));
    }
    std::string label = op + " function";
    if (py::hasattr(f, "__qualname__")) {
      label += " " + py::str(f.attr("__qualname__")).cast<std::string>();
    }
    return PyFn(std::move(f), std::move(label), slot_);
  }
  static void check(int i, size_t size, const char* what) {
    if (i < 0 || static_cast<size_t>(i) >= size) {
      throw py::index_error(std::string("no such ") + what + " handle " + std::to_string(i));
    }
  }
  ks::KStream& stream_at(int s) {
    b();
    check(s, streams_.size(), "stream");
    return streams_[s];
  }
  int add_stream(ks::KStream k) {
    streams_.push_back(std::move(k));
    return static_cast<int>(streams_.size()) - 1;
  }
  int add_table(ks::KTable t) {
    tables_.push_back(std::move(t));
    return static_cast<int>(tables_.size()) - 1;
  }

  template <typename G>
  ks::KTable run_op(const G& g, const std::string& op, ks::Materialized m, py::object initializer,
                    py::object adder, py::object reducer, py::object merger) {
    b();
    if (op == "count") return g.count(std::move(m));
    if (op == "sum") return g.sum(std::move(m));
    if (op == "min") return g.min(std::move(m));
    if (op == "max") return g.max(std::move(m));
    if (op == "reduce") return g.reduce(reducer_of(fn(reducer, "reducer")), std::move(m));
    if (op == "aggregate") {
      if constexpr (std::is_same_v<G, ks::SessionWindowedKStream>) {
        return g.aggregate(initializer_of(fn(initializer, "initializer")),
                           aggregator_of(fn(adder, "adder")), merger_of(fn(merger, "merger")),
                           std::move(m));
      } else {
        return g.aggregate(initializer_of(fn(initializer, "initializer")),
                           aggregator_of(fn(adder, "adder")), std::move(m));
      }
    }
    throw py::value_error("unknown aggregation '" + op + "'");
  }

  std::shared_ptr<ErrorSlot> slot_ = std::make_shared<ErrorSlot>();
  std::unique_ptr<ks::StreamsBuilder> builder_;
  std::vector<ks::KStream> streams_;
  std::vector<ks::KTable> tables_;
  std::vector<ks::KGroupedStream> grouped_;
  std::vector<ks::TimeWindowedKStream> time_windowed_;
  std::vector<ks::SessionWindowedKStream> session_windowed_;
  std::optional<ks::Topology> topology_;
};

// --- the app

milliseconds ms_of(double seconds) {
  if (seconds < 0) throw py::value_error("timeout must be >= 0 seconds");
  return milliseconds(static_cast<int64_t>(std::min(seconds, 1e9) * 1000));
}

// Output records captured for Python: (topic, key, value, timestamp, headers) tuples appended
// by the observer (stream thread, GIL taken) while capture is on.
struct Outputs {
  ~Outputs() { release_with_gil(list); }
  std::atomic<bool> capture{false};
  py::object list;
};

class PyKafkaStreams {
 public:
  PyKafkaStreams(PyStreamsBuilder& builder, client::Properties config)
      : slot_(builder.slot()), outputs_(std::make_shared<Outputs>()) {
    outputs_->list = py::list();
    ks::Topology topology = builder.topology();  // a copy: the builder may make more apps
    Result<std::unique_ptr<ks::KafkaStreams>> app = [&] {
      py::gil_scoped_release release;
      return ks::KafkaStreams::create(std::move(topology), std::move(config));
    }();
    if (!app) throw_kafka_error(app.error());
    app_ = std::move(*app);
    app_->set_processing_scope([](const std::function<void()>& work) {
      py::gil_scoped_acquire gil;
      work();
    });
    app_->set_output_observer(
        [out = outputs_](const std::string& topic, const ks::StreamRecord& r) {
          if (!out->capture.load(std::memory_order_relaxed)) return;
          py::gil_scoped_acquire gil;
          try {
            py::list list = py::reinterpret_borrow<py::list>(out->list);
            list.append(py::make_tuple(py::str(topic), key_of(r), from_value(r.value),
                                       r.timestamp, headers_of(r)));
          } catch (py::error_already_set& e) {
            e.discard_as_unraisable("pykafkacore streams output observer");
          }
        });
  }

  ~PyKafkaStreams() {
    if (!app_) return;
    if (!Py_IsInitialized() || finalizing()) {
      (void)app_.release();  // the stream thread may need the GIL: leave it be
      return;
    }
    py::gil_scoped_release release;
    (void)app_->close(std::chrono::seconds(30));
    app_.reset();
  }

  void start() {
    Result<void> r;
    {
      py::gil_scoped_release release;
      r = app_->start();
    }
    if (!r) throw_kafka_error(r.error());
  }

  void close(double timeout_s) {
    const milliseconds timeout = ms_of(timeout_s);
    Result<void> r;
    {
      py::gil_scoped_release release;
      r = app_->close(timeout);
    }
    outputs_->capture = false;
    if (!r) throw_kafka_error(r.error());
  }

  std::string state() const {
    py::gil_scoped_release release;
    return ks::to_string(app_->state());
  }

  py::object error() const {
    std::optional<Error> e;
    {
      py::gil_scoped_release release;
      e = app_->error();
    }
    if (!e) return py::none();
    return py::make_tuple(static_cast<int>(e->code()), e->message());
  }

  py::object take_python_error() { return slot_->take(); }

  // Engine locks are taken without the GIL: the stream thread may hold one while it waits for
  // the GIL.
  std::vector<std::string> active_tasks() const {
    std::vector<ks::TaskId> tasks;
    {
      py::gil_scoped_release release;
      tasks = app_->active_tasks();
    }
    std::vector<std::string> out;
    for (const auto& t : tasks) out.push_back(t.to_string());
    return out;
  }

  py::dict metrics() const {
    ks::StreamsMetrics m;
    {
      py::gil_scoped_release release;
      m = app_->metrics();
    }
    py::dict d;
    d["records_processed"] = m.records_processed;
    d["records_produced"] = m.records_produced;
    d["records_dropped"] = m.records_dropped;
    d["commits"] = m.commits;
    d["rebalances"] = m.rebalances;
    d["records_restored"] = m.records_restored;
    d["dropped_by_reason"] = m.dropped_by_reason;
    return d;
  }

  bool wait_until_idle(double timeout_s) {
    const milliseconds timeout = ms_of(timeout_s);
    py::gil_scoped_release release;
    return app_->wait_until_idle(timeout);
  }

  py::object query(const std::string& store, const py::bytes& key) const {
    ByteView k = view_of(key);
    std::optional<Bytes> v;
    {
      py::gil_scoped_release release;
      v = app_->query_key_value(store, k);
    }
    if (!v) return py::none();
    return to_py_bytes(ByteView(v->data(), v->size()));
  }

  void set_capture(bool on) { outputs_->capture = on; }
  // The captured outputs so far, handed over (the app starts a new list).
  py::list take_outputs() {
    py::list out = py::reinterpret_borrow<py::list>(outputs_->list);
    outputs_->list = py::list();
    return out;
  }
  size_t output_count() const { return py::reinterpret_borrow<py::list>(outputs_->list).size(); }

 private:
  std::shared_ptr<ErrorSlot> slot_;
  std::shared_ptr<Outputs> outputs_;
  std::unique_ptr<ks::KafkaStreams> app_;
};

}  // namespace

void register_streams(py::module_& m) {
  m.def(
      "_streams_set_windowed",
      [](py::object cls) {
        Py_XINCREF(cls.ptr());
        PyObject* old = g_windowed;
        g_windowed = cls.ptr();
        Py_XDECREF(old);
      },
      py::arg("cls"), "Registers pykafkacore.streams.Windowed (streams.py does, at import).");
  m.def(
      "_streams_roundtrip", [](py::object obj) { return from_value(to_value(obj)); },
      py::arg("value"), "Converts a value to the engine's Value and back (for tests).");
  m.def(
      "_streams_value_kind",
      [](py::object obj) {
        static const char* names[] = {"null", "bytes", "string", "int64", "double", "host"};
        return std::string(names[to_value(obj).index()]);
      },
      py::arg("value"), "Which kind of engine Value a Python value becomes (for tests).");

  py::class_<SerdeHandle>(m, "StreamsSerde")
      .def_property_readonly("name", [](const SerdeHandle& h) { return h.serde->name(); })
      .def("serialize", &handle_serialize, py::arg("value"))
      .def("deserialize", &handle_deserialize, py::arg("data"))
      .def("__repr__",
           [](const SerdeHandle& h) { return "<StreamsSerde " + h.serde->name() + ">"; });

  using B = PyStreamsBuilder;
  py::class_<B>(m, "StreamsBuilder")
      .def(py::init<>())
      .def("set_defaults", &B::set_defaults, py::arg("default_key_serde"),
           py::arg("default_value_serde"))
      .def("native_serde", &B::native_serde, py::arg("name"))
      .def("python_serde", &B::python_serde, py::arg("name"), py::arg("serialize"),
           py::arg("deserialize"))
      .def("stream", &B::stream, py::arg("topics"), py::arg("key_serde"), py::arg("value_serde"),
           py::arg("timestamp_extractor") = py::none(), py::arg("name") = "")
      .def("table", &B::table, py::arg("topic"), py::arg("key_serde"), py::arg("value_serde"),
           py::arg("store") = "")
      .def("filter", &B::filter, py::arg("stream"), py::arg("fn"), py::arg("negate") = false,
           py::arg("name") = "")
      .def("map", &B::map, py::arg("stream"), py::arg("fn"), py::arg("name") = "")
      .def("map_values", &B::map_values, py::arg("stream"), py::arg("fn"), py::arg("name") = "")
      .def("flat_map", &B::flat_map, py::arg("stream"), py::arg("fn"), py::arg("name") = "")
      .def("flat_map_values", &B::flat_map_values, py::arg("stream"), py::arg("fn"),
           py::arg("name") = "")
      .def("select_key", &B::select_key, py::arg("stream"), py::arg("fn"), py::arg("name") = "")
      .def("peek", &B::peek, py::arg("stream"), py::arg("fn"), py::arg("name") = "")
      .def("foreach", &B::foreach_, py::arg("stream"), py::arg("fn"), py::arg("name") = "")
      .def("branch", &B::branch, py::arg("stream"), py::arg("predicates"),
           py::arg("default_branch") = false, py::arg("name") = "")
      .def("merge", &B::merge, py::arg("stream"), py::arg("other"), py::arg("name") = "")
      .def("with_timestamps", &B::with_timestamps, py::arg("stream"), py::arg("fn"),
           py::arg("name") = "")
      .def("to", &B::to, py::arg("stream"), py::arg("topic"), py::arg("key_serde") = py::none(),
           py::arg("value_serde") = py::none(), py::arg("name") = "")
      .def("repartition", &B::repartition, py::arg("stream"), py::arg("key_serde") = py::none(),
           py::arg("value_serde") = py::none(), py::arg("name") = "")
      .def("group_by_key", &B::group_by_key, py::arg("stream"), py::arg("key_serde") = py::none(),
           py::arg("value_serde") = py::none(), py::arg("name") = "")
      .def("group_by", &B::group_by, py::arg("stream"), py::arg("fn"),
           py::arg("key_serde") = py::none(), py::arg("value_serde") = py::none(),
           py::arg("name") = "")
      .def("windowed_by_time", &B::windowed_by_time, py::arg("grouped"), py::arg("size_ms"),
           py::arg("advance_ms"), py::arg("grace_ms"), py::arg("final") = false)
      .def("windowed_by_session", &B::windowed_by_session, py::arg("grouped"), py::arg("gap_ms"),
           py::arg("grace_ms"), py::arg("final") = false)
      .def("aggregate", &B::aggregate, py::arg("kind"), py::arg("grouped"), py::arg("op"),
           py::arg("store") = "", py::arg("key_serde") = py::none(),
           py::arg("aggregate_serde") = py::none(), py::arg("initializer") = py::none(),
           py::arg("adder") = py::none(), py::arg("reducer") = py::none(),
           py::arg("merger") = py::none())
      .def("join_table", &B::join_table, py::arg("stream"), py::arg("table"), py::arg("joiner"),
           py::arg("with_key") = false, py::arg("how") = "inner",
           py::arg("key_serde") = py::none(), py::arg("value_serde") = py::none(),
           py::arg("name") = "")
      .def("join_stream", &B::join_stream, py::arg("stream"), py::arg("other"), py::arg("joiner"),
           py::arg("with_key"), py::arg("before_ms"), py::arg("after_ms"), py::arg("grace_ms"),
           py::arg("how") = "inner", py::arg("key_serde") = py::none(),
           py::arg("this_value_serde") = py::none(), py::arg("other_value_serde") = py::none(),
           py::arg("name") = "")
      .def("table_to_stream", &B::table_to_stream, py::arg("table"), py::arg("name") = "")
      .def("table_filter", &B::table_filter, py::arg("table"), py::arg("fn"),
           py::arg("negate") = false, py::arg("name") = "")
      .def("table_map_values", &B::table_map_values, py::arg("table"), py::arg("fn"),
           py::arg("name") = "")
      .def("table_store", &B::table_store, py::arg("table"))
      .def("stream_node", &B::stream_node, py::arg("stream"))
      .def("describe", &B::describe)
      .def("source_topics", &B::source_topics)
      .def_property_readonly("built", &B::built);

  py::class_<PyKafkaStreams>(m, "KafkaStreams")
      .def(py::init<PyStreamsBuilder&, client::Properties>(), py::arg("builder"),
           py::arg("config"), py::keep_alive<1, 2>())
      .def("start", &PyKafkaStreams::start)
      .def("close", &PyKafkaStreams::close, py::arg("timeout") = 30.0)
      .def_property_readonly("state", &PyKafkaStreams::state)
      .def("error", &PyKafkaStreams::error)
      .def("take_python_error", &PyKafkaStreams::take_python_error)
      .def("active_tasks", &PyKafkaStreams::active_tasks)
      .def("metrics", &PyKafkaStreams::metrics)
      .def("wait_until_idle", &PyKafkaStreams::wait_until_idle, py::arg("timeout"))
      .def("query", &PyKafkaStreams::query, py::arg("store"), py::arg("key"))
      .def("set_capture", &PyKafkaStreams::set_capture, py::arg("on"))
      .def("take_outputs", &PyKafkaStreams::take_outputs)
      .def_property_readonly("output_count", &PyKafkaStreams::output_count);
}

}  // namespace kafkacore::python
