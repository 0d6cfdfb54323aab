#include "borrowed_record.h"

#include <string_view>

namespace kafkacore::python {

namespace {

std::optional<std::string_view> utf8_of(PyObject* o) {
  Py_ssize_t size = 0;
  const char* data = PyUnicode_AsUTF8AndSize(o, &size);  // cached in the str object
  if (data == nullptr) return std::nullopt;
  return std::string_view(data, static_cast<size_t>(size));
}

ByteView as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

bool optional_int(PyObject* o, const char* what, auto& out) {
  if (o == nullptr || o == Py_None) return true;
  long long v = PyLong_AsLongLong(o);
  if (v == -1 && PyErr_Occurred()) {
    if (PyErr_ExceptionMatches(PyExc_TypeError)) {
      PyErr_Format(PyExc_TypeError, "%s must be an int or None, not %s", what, Py_TYPE(o)->tp_name);
    }
    return false;
  }
  out = static_cast<std::remove_cvref_t<decltype(*out)>>(v);
  if (static_cast<long long>(*out) != v) {
    PyErr_Format(PyExc_OverflowError, "%s out of range: %lld", what, v);
    return false;
  }
  return true;
}

}  // namespace

BorrowedBytes::~BorrowedBytes() {
  if (held_) PyBuffer_Release(&buffer_);
}

bool BorrowedBytes::borrow(PyObject* o, const char* what) {
  if (o == nullptr || o == Py_None) return true;
  if (PyBytes_Check(o)) {
    view = ByteView(reinterpret_cast<const std::byte*>(PyBytes_AS_STRING(o)),
                    static_cast<size_t>(PyBytes_GET_SIZE(o)));
    return true;
  }
  if (PyUnicode_Check(o)) {
    auto s = utf8_of(o);
    if (!s) return false;
    view = as_bytes(*s);
    return true;
  }
  if (PyObject_CheckBuffer(o)) {
    if (PyObject_GetBuffer(o, &buffer_, PyBUF_SIMPLE) != 0) return false;
    held_ = true;
    view = ByteView(static_cast<const std::byte*>(buffer_.buf), static_cast<size_t>(buffer_.len));
    return true;
  }
  PyErr_Format(PyExc_TypeError,
               "cannot send %s as bytes (%s); give a serializer (value_serializer='json', 'str', "
               "'msgpack' or a callable)",
               Py_TYPE(o)->tp_name, what);
  return false;
}

bool BorrowedRecord::parse(PyObject* topic, PyObject* value, PyObject* key, PyObject* headers,
                           PyObject* partition, PyObject* timestamp) {
  if (topic == nullptr || !PyUnicode_Check(topic)) {
    PyErr_SetString(PyExc_TypeError, "send() needs the topic as a str");
    return false;
  }
  auto name = utf8_of(topic);
  if (!name) return false;
  view_.topic = *name;
  if (!value_.borrow(value, "value") || !key_.borrow(key, "key")) return false;
  view_.value = value_.view;
  view_.key = key_.view;
  if (!optional_int(partition, "partition", view_.partition) ||
      !optional_int(timestamp, "timestamp", view_.timestamp)) {
    return false;
  }
  return headers == nullptr || headers == Py_None || parse_headers(headers);
}

// A dict {key: value} or an iterable of (key, value) pairs; keys are str (or bytes).
bool BorrowedRecord::parse_headers(PyObject* headers) {
  py::object items;
  if (PyDict_Check(headers)) {
    items = py::reinterpret_steal<py::object>(PyDict_Items(headers));
  } else {
    items = py::reinterpret_steal<py::object>(PySequence_List(headers));
  }
  if (!items) return false;
  const Py_ssize_t n = PyList_GET_SIZE(items.ptr());
  header_values_ = std::make_unique<BorrowedBytes[]>(static_cast<size_t>(n));
  headers_.reserve(static_cast<size_t>(n));
  for (Py_ssize_t i = 0; i < n; ++i) {
    PyObject* item = PyList_GET_ITEM(items.ptr(), i);
    py::object pair = py::reinterpret_steal<py::object>(PySequence_Tuple(item));
    if (!pair) return false;
    if (PyTuple_GET_SIZE(pair.ptr()) != 2) {
      PyErr_SetString(PyExc_ValueError, "headers must be (key, value) pairs");
      return false;
    }
    PyObject* k = PyTuple_GET_ITEM(pair.ptr(), 0);
    std::string_view key;
    if (PyUnicode_Check(k)) {
      auto s = utf8_of(k);
      if (!s) return false;
      key = *s;
    } else if (PyBytes_Check(k)) {
      key = std::string_view(PyBytes_AS_STRING(k), static_cast<size_t>(PyBytes_GET_SIZE(k)));
    } else {
      PyErr_Format(PyExc_TypeError, "header keys must be str, not %s", Py_TYPE(k)->tp_name);
      return false;
    }
    BorrowedBytes& v = header_values_[static_cast<size_t>(i)];
    if (!v.borrow(PyTuple_GET_ITEM(pair.ptr(), 1), "header value")) return false;
    headers_.push_back(client::HeaderView{key, v.view});
    header_items_.push_back(std::move(pair));
  }
  header_items_.push_back(std::move(items));
  view_.headers = headers_;
  return true;
}

}  // namespace kafkacore::python
