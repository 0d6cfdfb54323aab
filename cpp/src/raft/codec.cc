#include "raft/codec.h"

#include <algorithm>
#include <climits>
#include <exception>
#include <msgpack.hpp>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "common/msgpack_input.h"

namespace kafkacore::raft {
namespace {

// Wire numbers of the payload kinds: fixed here, not taken from the variant's order, so
// reordering Payload cannot silently change the format.
enum class Kind : int64_t {
  vote_request = 0,
  vote_response = 1,
  append_request = 2,
  append_response = 3,
  snapshot_request = 4,
  snapshot_response = 5,
  application = 6,
  observe = 7,
};

constexpr uint32_t kHeaderFields = 4;  // version, kind, from, to

// Payload fields after the header, per kind; the decoder requires exactly this many so a
// truncated or padded array is caught (new fields come with a new version).
constexpr uint32_t payload_fields(Kind kind) {
  switch (kind) {
    case Kind::vote_request: return 4;
    case Kind::vote_response: return 3;
    case Kind::append_request: return 5;
    case Kind::append_response: return 3;
    case Kind::snapshot_request: return 4;
    case Kind::snapshot_response: return 2;
    case Kind::application: return 1;
    case Kind::observe: return 2;
  }
  return 0;
}

// The deepest valid message is message > entries > entry; the rest is slack for the parser.
// ---- encoding ----

// msgpack's packer only needs write(), so it can append to our Bytes without an sbuffer copy.
struct ByteSink {
  Bytes& out;
  void write(const char* data, std::size_t size) {
    const auto* p = reinterpret_cast<const std::byte*>(data);
    out.insert(out.end(), p, p + size);
  }
};
using Packer = msgpack::packer<ByteSink>;

void pack_bin(Packer& pk, const Bytes& b) {
  pk.pack_bin(static_cast<uint32_t>(b.size()));
  pk.pack_bin_body(reinterpret_cast<const char*>(b.data()), static_cast<uint32_t>(b.size()));
}

void pack_header(Packer& pk, Kind kind, const Message& m) {
  pk.pack_array(kHeaderFields + payload_fields(kind));
  pk.pack_int64(kMessageFormatVersion);
  pk.pack_int64(static_cast<int64_t>(kind));
  pk.pack_int32(m.from);
  pk.pack_int32(m.to);
}

void pack_payload(Packer& pk, const Message& m, const VoteRequest& r) {
  pack_header(pk, Kind::vote_request, m);
  pk.pack_int64(r.term);
  pk.pack_int64(r.last_index);
  pk.pack_int64(r.last_term);
  r.pre_vote ? pk.pack_true() : pk.pack_false();
}

void pack_payload(Packer& pk, const Message& m, const VoteResponse& r) {
  pack_header(pk, Kind::vote_response, m);
  pk.pack_int64(r.term);
  r.granted ? pk.pack_true() : pk.pack_false();
  r.pre_vote ? pk.pack_true() : pk.pack_false();
}

void pack_payload(Packer& pk, const Message& m, const AppendRequest& r) {
  pack_header(pk, Kind::append_request, m);
  pk.pack_int64(r.term);
  pk.pack_int64(r.prev_index);
  pk.pack_int64(r.prev_term);
  pk.pack_array(static_cast<uint32_t>(r.entries.size()));
  for (const Entry& e : r.entries) {
    pk.pack_array(3);
    pk.pack_int64(e.term);
    pk.pack_int64(e.index);
    pack_bin(pk, e.data);
  }
  pk.pack_int64(r.commit);
}

void pack_payload(Packer& pk, const Message& m, const AppendResponse& r) {
  pack_header(pk, Kind::append_response, m);
  pk.pack_int64(r.term);
  r.success ? pk.pack_true() : pk.pack_false();
  pk.pack_int64(r.index);
}

void pack_payload(Packer& pk, const Message& m, const SnapshotRequest& r) {
  pack_header(pk, Kind::snapshot_request, m);
  pk.pack_int64(r.term);
  pk.pack_int64(r.snapshot.last_index);
  pk.pack_int64(r.snapshot.last_term);
  pack_bin(pk, r.snapshot.data);
}

void pack_payload(Packer& pk, const Message& m, const SnapshotResponse& r) {
  pack_header(pk, Kind::snapshot_response, m);
  pk.pack_int64(r.term);
  pk.pack_int64(r.last_index);
}

void pack_payload(Packer& pk, const Message& m, const ApplicationMessage& r) {
  pack_header(pk, Kind::application, m);
  pack_bin(pk, r.data);
}

void pack_payload(Packer& pk, const Message& m, const ObserveRequest& r) {
  pack_header(pk, Kind::observe, m);
  pk.pack_int64(r.term);
  pk.pack_int64(r.last_index);
}

// ---- decoding ----

std::unexpected<Error> corrupt(std::string_view detail) {
  return make_error(Errc::corrupt_message, "raft message " + std::string(detail));
}

using msgpack_input::type_name;

// Reads the fields of one msgpack array. The first problem is kept and later reads return
// defaults, so readers go straight through and check `ok()` once.
class Fields {
 public:
  Fields(const msgpack::object& o, std::string what) : what_(std::move(what)) {
    if (o.type != msgpack::type::ARRAY) {
      fail("must be an array, got " + std::string(type_name(o)));
    } else {
      fields_ = {o.via.array.ptr, o.via.array.size};
    }
  }

  size_t size() const { return fields_.size(); }
  bool ok() const { return !error_; }
  const Error& error() const { return *error_; }

  void expect_size(size_t n) {
    if (ok() && fields_.size() != n) {
      fail("has " + std::to_string(fields_.size()) + " fields, expected " + std::to_string(n));
    }
  }

  int64_t integer(size_t i, std::string_view name, int64_t min, int64_t max) {
    const auto* o = at(i, name);
    if (!o) return 0;
    bool in_range = false;
    int64_t value = 0;
    if (o->type == msgpack::type::POSITIVE_INTEGER) {
      in_range = o->via.u64 <= static_cast<uint64_t>(max);
      value = static_cast<int64_t>(o->via.u64);
    } else if (o->type == msgpack::type::NEGATIVE_INTEGER) {
      in_range = o->via.i64 >= min;
      value = o->via.i64;
    } else {
      fail("field '" + std::string(name) + "' must be an integer, got " +
           std::string(type_name(*o)));
      return 0;
    }
    if (!in_range) {
      fail("field '" + std::string(name) + "' is out of range");
      return 0;
    }
    return value;
  }
  // Terms and indexes are never negative; a negative one is damage, not a value to act on.
  int64_t non_negative(size_t i, std::string_view name) { return integer(i, name, 0, INT64_MAX); }
  NodeId node(size_t i, std::string_view name) {
    return static_cast<NodeId>(integer(i, name, INT32_MIN, INT32_MAX));
  }

  bool boolean(size_t i, std::string_view name) {
    const auto* o = typed(i, name, msgpack::type::BOOLEAN, "a boolean");
    return o && o->via.boolean;
  }

  Bytes bin(size_t i, std::string_view name) {
    const auto* o = typed(i, name, msgpack::type::BIN, "bin");
    if (!o) return {};
    const auto* p = reinterpret_cast<const std::byte*>(o->via.bin.ptr);
    return Bytes(p, p + o->via.bin.size);
  }

  std::span<const msgpack::object> array(size_t i, std::string_view name) {
    const auto* o = typed(i, name, msgpack::type::ARRAY, "an array");
    if (!o) return {};
    return {o->via.array.ptr, o->via.array.size};
  }

  void fail(std::string_view detail) {
    if (!error_) error_ = corrupt(what_.empty() ? std::string(detail) : what_ + " " + std::string(detail)).error();
  }
  void fail(const Error& error) {
    if (!error_) error_ = error;
  }

 private:
  const msgpack::object* at(size_t i, std::string_view name) {
    if (!ok()) return nullptr;
    if (i >= fields_.size()) {
      fail("misses field '" + std::string(name) + "'");
      return nullptr;
    }
    return &fields_[i];
  }

  const msgpack::object* typed(size_t i, std::string_view name, msgpack::type::object_type type,
                               std::string_view expected) {
    const auto* o = at(i, name);
    if (!o) return nullptr;
    if (o->type != type) {
      fail("field '" + std::string(name) + "' must be " + std::string(expected) + ", got " +
           std::string(type_name(*o)));
      return nullptr;
    }
    return o;
  }

  std::string what_;
  std::span<const msgpack::object> fields_;
  std::optional<Error> error_;
};

constexpr size_t kP = kHeaderFields;  // index of the first payload field

Payload read_payload(Kind kind, Fields& f) {
  switch (kind) {
    case Kind::vote_request:
      return VoteRequest{f.non_negative(kP, "term"), f.non_negative(kP + 1, "last_index"),
                         f.non_negative(kP + 2, "last_term"), f.boolean(kP + 3, "pre_vote")};
    case Kind::vote_response:
      return VoteResponse{f.non_negative(kP, "term"), f.boolean(kP + 1, "granted"),
                          f.boolean(kP + 2, "pre_vote")};
    case Kind::append_request: {
      AppendRequest r;
      r.term = f.non_negative(kP, "term");
      r.prev_index = f.non_negative(kP + 1, "prev_index");
      r.prev_term = f.non_negative(kP + 2, "prev_term");
      const auto entries = f.array(kP + 3, "entries");
      r.entries.reserve(entries.size());  // bounded by the input size (SizeGuard)
      for (size_t i = 0; i < entries.size() && f.ok(); ++i) {
        Fields e(entries[i], "entry " + std::to_string(i));
        e.expect_size(3);
        Entry entry{e.non_negative(0, "term"), e.non_negative(1, "index"), e.bin(2, "data")};
        // The node appends entries by position after prev_index; a gap or repeat here would
        // corrupt its log, so it is rejected as damage.
        if (e.ok() && (r.prev_index > INT64_MAX - 1 - static_cast<int64_t>(i) ||
                       entry.index != r.prev_index + 1 + static_cast<int64_t>(i))) {
          e.fail("has index " + std::to_string(entry.index) + ", expected " +
                 std::to_string(r.prev_index) + " + " + std::to_string(i + 1));
        }
        if (!e.ok()) f.fail(e.error());
        r.entries.push_back(std::move(entry));
      }
      r.commit = f.non_negative(kP + 4, "commit");
      return r;
    }
    case Kind::append_response:
      return AppendResponse{f.non_negative(kP, "term"), f.boolean(kP + 1, "success"),
                            f.non_negative(kP + 2, "index")};
    case Kind::snapshot_request: {
      SnapshotRequest r;
      r.term = f.non_negative(kP, "term");
      r.snapshot.last_index = f.non_negative(kP + 1, "last_index");
      r.snapshot.last_term = f.non_negative(kP + 2, "last_term");
      r.snapshot.data = f.bin(kP + 3, "data");
      return r;
    }
    case Kind::snapshot_response:
      return SnapshotResponse{f.non_negative(kP, "term"), f.non_negative(kP + 1, "last_index")};
    case Kind::application:
      return ApplicationMessage{0, f.bin(kP, "data")};
    case Kind::observe:
      return ObserveRequest{f.non_negative(kP, "term"), f.non_negative(kP + 1, "last_index")};
  }
  return {};  // unreachable: the kind was checked
}

Result<Message> read_message(const msgpack::object& o) {
  Fields f(o, "");
  if (f.ok() && f.size() < 2) f.fail("has " + std::to_string(f.size()) + " fields, expected at least 2");
  const int64_t version = f.integer(0, "version", INT64_MIN, INT64_MAX);
  if (f.ok() && version != kMessageFormatVersion) {
    f.fail("has format version " + std::to_string(version) + " (this node reads version " +
           std::to_string(kMessageFormatVersion) + ")");
  }
  const int64_t kind_number = f.integer(1, "kind", INT64_MIN, INT64_MAX);
  if (f.ok() && (kind_number < 0 || kind_number > static_cast<int64_t>(Kind::observe))) {
    f.fail("has unknown kind " + std::to_string(kind_number));
  }
  if (!f.ok()) return std::unexpected(f.error());
  const auto kind = static_cast<Kind>(kind_number);
  f.expect_size(kHeaderFields + payload_fields(kind));
  Message m;
  m.from = f.node(2, "from");
  m.to = f.node(3, "to");
  if (f.ok()) m.payload = read_payload(kind, f);
  if (!f.ok()) return std::unexpected(f.error());
  return m;
}

}  // namespace

Bytes encode_message(const Message& message) {
  Bytes out;
  ByteSink sink{out};
  Packer pk(sink);
  std::visit([&](const auto& p) { pack_payload(pk, message, p); }, message.payload);
  return out;
}

// msgpack-c reports malformed input by throwing (and allocation may throw): every exception
// ends here, so decoding never throws.
Result<Message> decode_message(ByteView bytes) {
  return msgpack_input::decode(bytes, "raft message", [](const msgpack::object& o) { return read_message(o); });
}

Result<void> append_frame(Bytes& out, const Message& message, size_t max_frame_size) {
  Bytes body = encode_message(message);
  const size_t limit = std::min<size_t>(max_frame_size, UINT32_MAX);
  if (body.size() > limit) {
    return make_error(Errc::message_too_large,
                      "raft message of " + std::to_string(body.size()) +
                          " bytes exceeds the frame limit of " + std::to_string(limit));
  }
  const size_t at = out.size();
  out.resize(at + kFrameHeaderSize);
  store_be<uint32_t>(out.data() + at, static_cast<uint32_t>(body.size()));
  out.insert(out.end(), body.begin(), body.end());
  return {};
}

Result<std::optional<Frame>> cut_frame(ByteView buffer, size_t max_frame_size) {
  if (buffer.size() < kFrameHeaderSize) return std::optional<Frame>{};
  const uint32_t length = load_be<uint32_t>(buffer.data());
  if (length > max_frame_size) {
    return make_error(Errc::message_too_large,
                      "raft frame declares " + std::to_string(length) +
                          " bytes, more than the limit of " + std::to_string(max_frame_size));
  }
  if (buffer.size() - kFrameHeaderSize < length) return std::optional<Frame>{};
  return std::optional<Frame>{Frame{buffer.subspan(kFrameHeaderSize, length), kFrameHeaderSize + length}};
}

}  // namespace kafkacore::raft
