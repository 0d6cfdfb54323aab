#pragma once
// The arguments of Producer.send() as a ProducerRecordView over the Python objects' own memory:
// bytes and str without a copy, anything with the buffer protocol through a held buffer. Valid
// while the argument objects are alive (the caller's call frame holds them).
#include <memory>
#include <optional>
#include <vector>

#include "bindings.h"
#include "client/types.h"

namespace kafkacore::python {

class BorrowedBytes {
 public:
  BorrowedBytes() = default;
  BorrowedBytes(const BorrowedBytes&) = delete;
  BorrowedBytes& operator=(const BorrowedBytes&) = delete;
  ~BorrowedBytes();
  // None → no bytes. False with a TypeError set for what cannot be sent as bytes.
  bool borrow(PyObject* o, const char* what);
  std::optional<ByteView> view;

 private:
  Py_buffer buffer_{};
  bool held_ = false;
};

class BorrowedRecord {
 public:
  // Any argument may be nullptr (not given) or None. False with a Python error set.
  bool parse(PyObject* topic, PyObject* value, PyObject* key, PyObject* headers,
             PyObject* partition, PyObject* timestamp);
  const client::ProducerRecordView& view() const { return view_; }

 private:
  bool parse_headers(PyObject* headers);

  client::ProducerRecordView view_;
  BorrowedBytes value_, key_;
  std::vector<py::object> header_items_;  // keeps pairs made by iteration alive
  std::unique_ptr<BorrowedBytes[]> header_values_;
  std::vector<client::HeaderView> headers_;
};

}  // namespace kafkacore::python
