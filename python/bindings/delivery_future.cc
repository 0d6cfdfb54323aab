#include "delivery_future.h"

#include <atomic>
#include <chrono>
#include <cmath>
#include <memory>
#include <new>
#include <string>

namespace kafkacore::python {

enum : uint8_t { kPending = 0, kDelivered = 1, kFailed = 2 };

struct DeliveryFutureObject {
  PyObject_HEAD
  PyObject* producer;   // the _core.Producer serving reports; dropped once drained
  PyObject* topic;      // str
  PyObject* callbacks;  // list of done-callbacks, or nullptr
  PyObject* metadata;   // RecordMetadata, built on first result()
  // Written by the delivery callback without the GIL: the fields below are published by the
  // release store of `state`.
  std::atomic<uint8_t> state;
  int32_t partition;
  int64_t offset;
  int64_t timestamp;
  int error_code;
  std::string* error_message;
};

namespace {

// pykafkacore classes the futures build on demand, looked up once.
PyObject* python_attr(const char* module, const char* name, PyObject*& cache) {
  if (cache == nullptr) {
    PyObject* mod = PyImport_ImportModule(module);
    if (mod == nullptr) return nullptr;
    cache = PyObject_GetAttrString(mod, name);  // kept for the life of the interpreter
    Py_DECREF(mod);
  }
  return cache;
}

PyObject* record_metadata_type() {
  static PyObject* cache = nullptr;
  return python_attr("pykafkacore.records", "RecordMetadata", cache);
}

PyObject* error_factory() {
  static PyObject* cache = nullptr;
  return python_attr("pykafkacore.errors", "error_for", cache);
}

PyObject* timeout_error_type() {
  static PyObject* cache = nullptr;
  return python_attr("pykafkacore.errors", "KafkaTimeoutError", cache);
}

uint8_t state_of(const DeliveryFutureObject* f) { return f->state.load(std::memory_order_acquire); }

// A new KafkaError for a failed future.
PyObject* make_error(const DeliveryFutureObject* f) {
  PyObject* factory = error_factory();
  if (factory == nullptr) return nullptr;
  const std::string empty;
  const std::string& message = f->error_message ? *f->error_message : empty;
  PyObject* text = PyUnicode_DecodeUTF8(message.data(), static_cast<Py_ssize_t>(message.size()), "replace");
  if (text == nullptr) return nullptr;
  PyObject* error = PyObject_CallFunction(factory, "iO", f->error_code, text);
  Py_DECREF(text);
  return error;
}

// Serves the producer's reports until `f` is done or `timeout_s` (< 0: no limit) passes.
bool wait_done(DeliveryFutureObject* f, double timeout_s) {
  if (state_of(f) != kPending) return true;
  using Clock = std::chrono::steady_clock;
  const auto deadline = timeout_s < 0 ? Clock::time_point::max()
                                      : Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                                           std::chrono::duration<double>(timeout_s));
  while (state_of(f) == kPending) {
    double left = 0.1;
    if (timeout_s >= 0) {
      left = std::min(left, std::chrono::duration<double>(deadline - Clock::now()).count());
    }
    if (left <= 0) {
      if (PyObject* type = timeout_error_type()) {
        PyErr_SetString(type, "no delivery report within the timeout");
      }
      return false;
    }
    if (f->producer == nullptr) {  // cannot happen: a pending future keeps its producer
      PyErr_SetString(PyExc_RuntimeError, "delivery future has no producer");
      return false;
    }
    PyObject* served = PyObject_CallMethod(f->producer, "poll", "d", left);
    if (served == nullptr) return false;
    Py_DECREF(served);
  }
  return true;
}

bool parse_timeout(PyObject* args, PyObject* kwargs, double& timeout_s) {
  static const char* names[] = {"timeout", nullptr};
  PyObject* timeout = Py_None;
  if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|O", const_cast<char**>(names), &timeout)) {
    return false;
  }
  timeout_s = -1;
  if (timeout != Py_None) {
    timeout_s = PyFloat_AsDouble(timeout);
    if (timeout_s == -1 && PyErr_Occurred()) return false;
    if (std::isnan(timeout_s) || timeout_s < 0) timeout_s = 0;
  }
  return true;
}

void future_dealloc(PyObject* self) {
  auto* f = reinterpret_cast<DeliveryFutureObject*>(self);
  Py_XDECREF(f->producer);
  Py_XDECREF(f->topic);
  Py_XDECREF(f->callbacks);
  Py_XDECREF(f->metadata);
  delete f->error_message;
  f->state.~atomic();
  PyTypeObject* type = Py_TYPE(self);
  type->tp_free(self);
  Py_DECREF(type);  // a heap type: each instance holds a reference
}

PyObject* future_done(PyObject* self, PyObject*) {
  return PyBool_FromLong(state_of(reinterpret_cast<DeliveryFutureObject*>(self)) != kPending);
}

PyObject* future_result(PyObject* self, PyObject* args, PyObject* kwargs) {
  auto* f = reinterpret_cast<DeliveryFutureObject*>(self);
  double timeout_s;
  if (!parse_timeout(args, kwargs, timeout_s) || !wait_done(f, timeout_s)) return nullptr;
  if (state_of(f) == kFailed) {
    PyObject* error = make_error(f);
    if (error == nullptr) return nullptr;
    PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(error)), error);
    Py_DECREF(error);
    return nullptr;
  }
  if (f->metadata == nullptr) {
    PyObject* type = record_metadata_type();
    if (type == nullptr) return nullptr;
    f->metadata = PyObject_CallFunction(type, "OiLL", f->topic, f->partition,
                                        static_cast<long long>(f->offset),
                                        static_cast<long long>(f->timestamp));
    if (f->metadata == nullptr) return nullptr;
  }
  Py_INCREF(f->metadata);
  return f->metadata;
}

PyObject* future_exception(PyObject* self, PyObject* args, PyObject* kwargs) {
  auto* f = reinterpret_cast<DeliveryFutureObject*>(self);
  double timeout_s;
  if (!parse_timeout(args, kwargs, timeout_s) || !wait_done(f, timeout_s)) return nullptr;
  if (state_of(f) == kFailed) return make_error(f);
  Py_RETURN_NONE;
}

PyObject* future_add_done_callback(PyObject* self, PyObject* fn) {
  auto* f = reinterpret_cast<DeliveryFutureObject*>(self);
  if (!PyCallable_Check(fn)) {
    PyErr_SetString(PyExc_TypeError, "add_done_callback() needs a callable");
    return nullptr;
  }
  // Done (even if not drained yet): run now; the drain only runs callbacks registered before.
  if (state_of(f) != kPending) {
    PyObject* r = PyObject_CallOneArg(fn, self);
    if (r == nullptr) return nullptr;
    Py_DECREF(r);
    Py_RETURN_NONE;
  }
  if (f->callbacks == nullptr && (f->callbacks = PyList_New(0)) == nullptr) return nullptr;
  if (PyList_Append(f->callbacks, fn) != 0) return nullptr;
  Py_RETURN_NONE;
}

PyObject* future_repr(PyObject* self) {
  auto* f = reinterpret_cast<DeliveryFutureObject*>(self);
  switch (state_of(f)) {
    case kPending: return PyUnicode_FromFormat("<DeliveryFuture %U pending>", f->topic);
    case kDelivered:
      return PyUnicode_FromFormat("<DeliveryFuture %U-%d@%lld>", f->topic, f->partition,
                                  static_cast<long long>(f->offset));
    default:
      return PyUnicode_FromFormat("<DeliveryFuture %U failed: %s>", f->topic,
                                  f->error_message ? f->error_message->c_str() : "");
  }
}

PyMethodDef future_methods[] = {
    {"done", future_done, METH_NOARGS, "Whether the record's outcome is known."},
    {"result", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(future_result)),
     METH_VARARGS | METH_KEYWORDS,
     "result(timeout=None): waits for the outcome (serving the producer's delivery reports "
     "meanwhile) and returns the RecordMetadata or raises the KafkaError; KafkaTimeoutError "
     "after `timeout` seconds."},
    {"exception", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(future_exception)),
     METH_VARARGS | METH_KEYWORDS,
     "exception(timeout=None): waits like result() and returns the KafkaError, or None."},
    {"add_done_callback", future_add_done_callback, METH_O,
     "add_done_callback(fn): fn(future) runs on the thread that serves reports (poll, flush, "
     "result), or now if the future is already done."},
    {nullptr, nullptr, 0, nullptr},
};

PyType_Slot future_slots[] = {
    {Py_tp_dealloc, reinterpret_cast<void*>(future_dealloc)},
    {Py_tp_repr, reinterpret_cast<void*>(future_repr)},
    {Py_tp_methods, future_methods},
    {Py_tp_doc, const_cast<char*>(
        "The outcome of one Producer.send(): done(), result(timeout), exception(timeout), "
        "add_done_callback(fn). Completed by the producer's poll(), flush() or result() on the "
        "caller's thread; callbacks never run on a background thread.")},
    {0, nullptr},
};

PyType_Spec future_spec = {"pykafkacore.DeliveryFuture", sizeof(DeliveryFutureObject), 0,
                           Py_TPFLAGS_DEFAULT | Py_TPFLAGS_DISALLOW_INSTANTIATION, future_slots};

PyTypeObject* delivery_future_type = nullptr;  // made once, by register_delivery_future

}  // namespace

void FutureCompletions::push(DeliveryFutureObject* future) {
  std::lock_guard lock(mu_);
  done_.push_back(future);
}

bool FutureCompletions::drain() {
  std::vector<DeliveryFutureObject*> done;
  {
    std::lock_guard lock(mu_);
    done.swap(done_);
  }
  PyObject *error_type = nullptr, *error_value = nullptr, *error_tb = nullptr;
  for (DeliveryFutureObject* f : done) {
    if (PyObject* callbacks = f->callbacks) {
      f->callbacks = nullptr;
      for (Py_ssize_t i = 0; i < PyList_GET_SIZE(callbacks); ++i) {
        PyObject* r = PyObject_CallOneArg(PyList_GET_ITEM(callbacks, i), reinterpret_cast<PyObject*>(f));
        if (r != nullptr) {
          Py_DECREF(r);
        } else if (error_type == nullptr) {
          PyErr_Fetch(&error_type, &error_value, &error_tb);
        } else {
          PyErr_WriteUnraisable(PyList_GET_ITEM(callbacks, i));  // reported, not lost
        }
      }
      Py_DECREF(callbacks);
    }
    Py_CLEAR(f->producer);
    Py_DECREF(f);
  }
  if (error_type == nullptr) return true;
  PyErr_Restore(error_type, error_value, error_tb);
  return false;
}

void register_delivery_future(py::module_& m) {
  PyObject* type = PyType_FromSpec(&future_spec);
  if (type == nullptr) throw py::error_already_set();
  delivery_future_type = reinterpret_cast<PyTypeObject*>(type);  // kept for the interpreter's life
  m.attr("DeliveryFuture") = py::reinterpret_borrow<py::object>(type);
}

DeliveryFutureObject* new_delivery_future(PyObject* producer, PyObject* topic) {
  auto* f = PyObject_New(DeliveryFutureObject, delivery_future_type);
  if (f == nullptr) return nullptr;
  Py_INCREF(producer);
  f->producer = producer;
  Py_INCREF(topic);
  f->topic = topic;
  f->callbacks = nullptr;
  f->metadata = nullptr;
  new (&f->state) std::atomic<uint8_t>(kPending);
  f->partition = -1;
  f->offset = -1;
  f->timestamp = -1;
  f->error_code = 0;
  f->error_message = nullptr;
  Py_INCREF(f);  // the pending record's reference, released by FutureCompletions::drain
  return f;
}

client::DeliveryCallback delivery_callback(DeliveryFutureObject* future,
                                           FutureCompletions* completions) {
  return [future, completions](const Result<client::RecordMetadata>& r) {
    if (r) {
      future->partition = r->topic_partition.partition;
      future->offset = r->offset;
      future->timestamp = r->timestamp;
      future->state.store(kDelivered, std::memory_order_release);
    } else {
      future->error_code = static_cast<int>(r.error().code());
      future->error_message = new std::string(r.error().message());
      future->state.store(kFailed, std::memory_order_release);
    }
    completions->push(future);
  };
}

void drop_pending(DeliveryFutureObject* future) {
  Py_CLEAR(future->producer);
  Py_DECREF(future);
}

}  // namespace kafkacore::python
