// Record batches: CRC32C, building RecordBatch v2 bytes, decoding them back.
#include <Python.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "bindings.h"
#include "record/batch_builder.h"
#include "record/compression.h"
#include "record/crc32c.h"
#include "record/record_batch.h"

namespace kafkacore::python {
namespace {

using record::BatchBuilder;
using record::BatchOptions;
using record::Compression;
using record::RecordHeader;

// Inputs at least this large are checksummed with the GIL released.
constexpr size_t kReleaseGilBytes = 64 * 1024;

std::string where(size_t index) { return "record " + std::to_string(index); }

// bytes are viewed in place; other bytes-like objects (bytearray, memoryview) are copied into a
// bytes object kept in `keep` so the view stays valid while the GIL is released.
ByteView bytes_like(py::handle obj, std::vector<py::object>& keep, const std::string& what,
                    bool none_allowed = false) {
  if (PyBytes_Check(obj.ptr())) return view_of(py::reinterpret_borrow<py::bytes>(obj));
  if (PyObject_CheckBuffer(obj.ptr()) && !PyUnicode_Check(obj.ptr())) {
    py::bytes copy = py::reinterpret_steal<py::bytes>(PyBytes_FromObject(obj.ptr()));
    if (!copy) throw py::error_already_set();
    keep.push_back(copy);
    return view_of(copy);
  }
  throw py::type_error(what +
                       (none_allowed ? " must be bytes or None, not " : " must be bytes, not ") +
                       std::string(py::str(py::type::handle_of(obj).attr("__name__"))));
}

std::optional<ByteView> nullable_bytes(py::handle obj, std::vector<py::object>& keep,
                                       const std::string& what) {
  if (obj.is_none()) return std::nullopt;
  return bytes_like(obj, keep, what, /*none_allowed=*/true);
}

// Header keys are strings in Kafka; str is encoded as UTF-8, bytes are taken as they are.
ByteView header_key(py::handle obj, std::vector<py::object>& keep, const std::string& what) {
  if (PyUnicode_Check(obj.ptr())) {
    py::bytes utf8 = py::reinterpret_steal<py::bytes>(PyUnicode_AsUTF8String(obj.ptr()));
    if (!utf8) throw py::error_already_set();
    keep.push_back(utf8);
    return view_of(utf8);
  }
  if (obj.is_none()) throw py::type_error(what + " must be str or bytes, not None");
  return bytes_like(obj, keep, what);
}

int64_t to_int64(py::handle obj, const std::string& what) {
  if (!PyLong_Check(obj.ptr())) {
    throw py::type_error(what + " must be int, not " +
                         std::string(py::str(py::type::handle_of(obj).attr("__name__"))));
  }
  int overflow = 0;
  const long long value = PyLong_AsLongLongAndOverflow(obj.ptr(), &overflow);
  if (overflow != 0) throw py::value_error(what + " does not fit in a signed 64-bit integer");
  if (value == -1 && PyErr_Occurred()) throw py::error_already_set();
  return static_cast<int64_t>(value);
}

struct PendingRecord {
  int64_t timestamp;
  std::optional<ByteView> key;
  std::optional<ByteView> value;
  size_t first_header;
  size_t header_count;
};

py::bytes build_batch(const py::sequence& records, const std::string& compression,
                      int64_t base_offset, int64_t producer_id, int producer_epoch,
                      int32_t base_sequence, int32_t partition_leader_epoch, bool transactional,
                      bool control, int compression_level) {
  auto codec = record::parse_compression(compression);
  if (!codec) {
    throw py::value_error("unknown compression '" + compression +
                          "'; expected none, gzip, snappy, lz4 or zstd");
  }
  if (producer_epoch < INT16_MIN || producer_epoch > INT16_MAX) {
    throw py::value_error("producer_epoch does not fit in a signed 16-bit integer");
  }

  // Convert everything with the GIL held, then build without it.
  std::vector<py::object> keep;
  std::vector<PendingRecord> pending;
  std::vector<RecordHeader> headers;
  const size_t n = py::len(records);
  pending.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    py::object item = records[i];
    if (!PySequence_Check(item.ptr()) || PyUnicode_Check(item.ptr()) || PyBytes_Check(item.ptr())) {
      throw py::type_error(where(i) + " must be a tuple (timestamp, key, value, headers)");
    }
    auto fields = py::reinterpret_borrow<py::sequence>(item);
    const size_t arity = py::len(fields);
    if (arity != 3 && arity != 4) {
      throw py::value_error(where(i) + " has " + std::to_string(arity) +
                            " fields; expected (timestamp, key, value, headers)");
    }
    PendingRecord r;
    r.timestamp = to_int64(fields[0], where(i) + " timestamp");
    r.key = nullable_bytes(fields[1], keep, where(i) + " key");
    r.value = nullable_bytes(fields[2], keep, where(i) + " value");
    r.first_header = headers.size();
    if (arity == 4 && !py::object(fields[3]).is_none()) {
      py::object hs = fields[3];
      size_t h = 0;
      for (py::handle header : py::iter(hs)) {
        const std::string what = where(i) + " header " + std::to_string(h);
        if (!PySequence_Check(header.ptr()) || PyUnicode_Check(header.ptr()) ||
            PyBytes_Check(header.ptr()) || PySequence_Size(header.ptr()) != 2) {
          throw py::type_error(what + " must be a pair (key, value)");
        }
        auto pair = py::reinterpret_borrow<py::sequence>(header);
        RecordHeader rh;
        rh.key = header_key(pair[0], keep, what + " key");
        rh.value = nullable_bytes(pair[1], keep, what + " value");
        headers.push_back(rh);
        ++h;
      }
    }
    r.header_count = headers.size() - r.first_header;
    pending.push_back(r);
  }

  BatchOptions options;
  options.compression = *codec;
  options.base_offset = Offset{base_offset};
  options.producer_id = ProducerId{producer_id};
  options.producer_epoch = ProducerEpoch{static_cast<int16_t>(producer_epoch)};
  options.base_sequence = base_sequence;
  options.partition_leader_epoch = LeaderEpoch{partition_leader_epoch};
  options.transactional = transactional;
  options.control = control;
  options.compression_level = compression_level;

  Result<Bytes> built = [&] {
    py::gil_scoped_release release;
    BatchBuilder builder(options);
    const std::span<const RecordHeader> all(headers);
    for (const auto& r : pending) {
      builder.append(r.timestamp, r.key, r.value, all.subspan(r.first_header, r.header_count));
    }
    return builder.build();
  }();
  if (!built) throw_value_error(built.error());
  return to_py_bytes(*built);
}

struct DecodedOne {
  record::RecordBatchView view;
  record::DecodedBatch batch;
};

py::object optional_bytes(const std::optional<ByteView>& b) {
  if (!b) return py::none();
  return to_py_bytes(*b);
}

py::str header_key_str(ByteView key) {
  // Kafka header keys are UTF-8 strings; surrogateescape keeps any stray byte round-trippable.
  PyObject* s = PyUnicode_DecodeUTF8(reinterpret_cast<const char*>(key.data()),
                                     static_cast<Py_ssize_t>(key.size()), "surrogateescape");
  if (s == nullptr) throw py::error_already_set();
  return py::reinterpret_steal<py::str>(s);
}

py::list decode_batches(const py::object& data, size_t max_decompressed) {
  std::vector<py::object> keep;
  const ByteView input = bytes_like(data, keep, "data");
  std::vector<DecodedOne> decoded;
  std::optional<Error> failure;
  size_t failed_at = 0;
  {
    py::gil_scoped_release release;
    record::BatchIterator it(input);
    while (true) {
      const size_t position = it.position();
      auto next = it.next();
      if (!next) {
        failure = next.error();
        failed_at = position;
        break;
      }
      if (!*next) break;
      const record::RecordBatchView& view = **next;
      auto valid = view.validate();
      if (!valid) {
        failure = valid.error();
        failed_at = position;
        break;
      }
      auto batch = record::decode_batch(view, max_decompressed);
      if (!batch) {
        failure = batch.error();
        failed_at = position;
        break;
      }
      decoded.push_back(DecodedOne{view, std::move(*batch)});
    }
  }
  if (failure) {
    throw py::value_error(failure->to_string() + " (batch at byte " + std::to_string(failed_at) +
                          " of " + std::to_string(input.size()) + ")");
  }

  py::list out;
  for (const auto& [view, batch] : decoded) {
    py::dict d;
    d["base_offset"] = view.base_offset().value();
    d["batch_length"] = view.batch_length();
    d["partition_leader_epoch"] = view.partition_leader_epoch().value();
    d["magic"] = view.magic();
    d["crc"] = view.crc();
    d["attributes"] = view.attributes();
    d["compression"] = std::string(record::compression_name(view.compression()));
    d["timestamp_type"] = view.timestamp_type() == record::TimestampType::log_append_time
                              ? "log_append_time"
                              : "create_time";
    d["is_transactional"] = view.is_transactional();
    d["is_control"] = view.is_control();
    d["has_delete_horizon"] = view.has_delete_horizon();
    d["last_offset_delta"] = view.last_offset_delta();
    d["base_timestamp"] = view.base_timestamp();
    d["max_timestamp"] = view.max_timestamp();
    d["producer_id"] = view.producer_id().value();
    d["producer_epoch"] = view.producer_epoch().value();
    d["base_sequence"] = view.base_sequence();
    d["record_count"] = view.record_count();
    const bool log_append = view.timestamp_type() == record::TimestampType::log_append_time;
    py::list records;
    for (const auto& r : batch.records) {
      py::dict rec;
      rec["offset"] = view.base_offset().value() + r.offset_delta;
      // As Kafka reads them: LogAppendTime batches stamp every record with maxTimestamp.
      rec["timestamp"] =
          log_append ? view.max_timestamp() : view.base_timestamp() + r.timestamp_delta;
      rec["key"] = optional_bytes(r.key);
      rec["value"] = optional_bytes(r.value);
      py::list headers;
      for (const auto& h : r.headers) {
        headers.append(py::make_tuple(header_key_str(h.key), optional_bytes(h.value)));
      }
      rec["headers"] = headers;
      records.append(rec);
    }
    d["records"] = records;
    out.append(d);
  }
  return out;
}

uint32_t crc32c_of(const py::buffer& data) {
  py::buffer_info info = data.request();  // PyBUF_SIMPLE: contiguous bytes
  const auto* p = static_cast<const std::byte*>(info.ptr);
  const size_t size = static_cast<size_t>(info.size * info.itemsize);
  if (size >= kReleaseGilBytes) {
    py::gil_scoped_release release;
    return record::crc32c_extend(0, p, size);
  }
  return record::crc32c_extend(0, p, size);
}

}  // namespace

void register_record(py::module_& m) {
  using namespace pybind11::literals;

  m.def("crc32c", &crc32c_of, "data"_a,
        "CRC-32C (Castagnoli) of a bytes-like object, the checksum of RecordBatch v2.");
  m.def("crc32c_hardware", &record::crc32c_hardware_available,
        "True when crc32c uses the CPU's SSE4.2 instruction rather than the portable table.");

  m.def("build_batch", &build_batch, "records"_a, "compression"_a = "none", "base_offset"_a = 0,
        "producer_id"_a = -1, "producer_epoch"_a = -1, "base_sequence"_a = -1, py::kw_only(),
        "partition_leader_epoch"_a = -1, "transactional"_a = false, "control"_a = false,
        "compression_level"_a = -1,
        R"doc(Build one Kafka RecordBatch v2 and return its bytes.

records: a sequence of (timestamp_ms, key, value, headers) tuples; key and value are bytes or
None, headers a list of (key: str | bytes, value: bytes | None) pairs (may be omitted).
Offsets are base_offset + position in the list. Raises ValueError for an unknown compression
name or a codec failure.)doc");

  m.def("decode_batches", &decode_batches, "data"_a, py::kw_only(),
        "max_decompressed"_a = record::kDefaultMaxDecompressedBytes,
        R"doc(Decode concatenated RecordBatch v2 bytes into a list of dicts.

Each dict holds the batch header fields and "records": a list of dicts with offset, timestamp,
key, value and headers. CRCs are verified. Raises ValueError with the library's message (and
the byte position of the bad batch) on truncated, corrupt or unsupported input.)doc");
}

}  // namespace kafkacore::python
