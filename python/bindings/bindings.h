#pragma once
// Shared by the register_*.cc files of pykafkacore._core: one registration function per area and
// the few conversions every area needs. Bindings stay thin: convert, release the GIL around work
// that may take a while, call the library, convert back.
#include <pybind11/pybind11.h>

#include <cstddef>
#include <string>
#include <string_view>

#include "common/bytes.h"
#include "common/error.h"

namespace kafkacore::python {

namespace py = pybind11;

// One per area, each defined in register_<area>.cc and called from module.cc.
void register_record(py::module_& m);
void register_storage(py::module_& m);
void register_broker(py::module_& m);
void register_cluster(py::module_& m);
void register_producer(py::module_& m);
void register_admin(py::module_& m);
void register_consumer(py::module_& m);
void register_streams(py::module_& m);

// Client errors reach Python as pykafkacore.errors.KafkaError subclasses carrying the Kafka error
// code (see errors.py). Call with the GIL held.
[[noreturn]] inline void throw_kafka_error(const Error& error) {
  py::object errors = py::module_::import("pykafkacore.errors");
  py::object exc = errors.attr("error_for")(static_cast<int>(error.code()), error.message());
  PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(exc.ptr())), exc.ptr());
  throw py::error_already_set();
}

// Library errors reach Python as ValueError with the library's message ("CORRUPT_MESSAGE: ...").
[[noreturn]] inline void throw_value_error(const Error& error) {
  throw py::value_error(error.to_string());
}

// A view of a `bytes` object's buffer; valid while the object is alive (bytes are immutable).
inline ByteView view_of(const py::bytes& b) {
  char* data = nullptr;
  Py_ssize_t size = 0;
  if (PyBytes_AsStringAndSize(b.ptr(), &data, &size) != 0) throw py::error_already_set();
  return {reinterpret_cast<const std::byte*>(data), static_cast<size_t>(size)};
}

inline py::bytes to_py_bytes(ByteView data) {
  return py::bytes(reinterpret_cast<const char*>(data.data()), data.size());
}

}  // namespace kafkacore::python
