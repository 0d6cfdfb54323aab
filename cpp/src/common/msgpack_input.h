#pragma once
// Decoding msgpack we did not write ourselves in this process (records read back from disk,
// messages from peers) without trusting it: one object covering the whole input, no exception
// escaping, and memory bounded by the input size. Header-only; users link msgpackc-cxx.
#include <msgpack.hpp>

#include <cstdint>
#include <string>
#include <string_view>

#include "common/bytes.h"
#include "common/error.h"

namespace kafkacore::msgpack_input {

inline constexpr uint32_t kMaxDepth = 16;

inline std::string_view type_name(const msgpack::object& o) {
  switch (o.type) {
    case msgpack::type::NIL: return "nil";
    case msgpack::type::BOOLEAN: return "boolean";
    case msgpack::type::POSITIVE_INTEGER:
    case msgpack::type::NEGATIVE_INTEGER: return "integer";
    case msgpack::type::FLOAT32:
    case msgpack::type::FLOAT64: return "float";
    case msgpack::type::STR: return "string";
    case msgpack::type::BIN: return "bin";
    case msgpack::type::ARRAY: return "array";
    case msgpack::type::MAP: return "map";
    case msgpack::type::EXT: return "ext";
  }
  return "unknown type";
}

// msgpack-c's unpack reserves a declared array (24 bytes per element) before reading its
// elements, so a 5-byte header can ask for 100 GB; per-container limits alone still let nested
// headers multiply. But every element starts at its own input byte, so valid input of n bytes
// declares at most n elements in total: this allocation-free pre-pass checks that, which bounds
// unpack's memory to a small multiple of the input. It also finds truncation and trailing bytes.
class SizeGuard : public msgpack::null_visitor {
 public:
  explicit SizeGuard(std::size_t input_size) : budget_(input_size) {}

  bool start_array(uint32_t n) { return take(n) && enter(); }
  bool end_array() { return leave(); }
  bool start_map(uint32_t n) { return take(uint64_t{2} * n) && enter(); }
  bool end_map() { return leave(); }
  void parse_error(std::size_t, std::size_t) { problem_ = "is not valid msgpack"; }
  void insufficient_bytes(std::size_t, std::size_t) { problem_ = "is truncated"; }

  const std::string& problem() const { return problem_; }

 private:
  bool take(uint64_t elements) {
    if (elements > budget_) {
      problem_ = "declares " + std::to_string(elements) +
                 " container elements, more than its remaining bytes can hold";
      return false;
    }
    budget_ -= elements;
    return true;
  }
  bool enter() {
    if (++depth_ > kMaxDepth) {
      problem_ = "nests containers deeper than " + std::to_string(kMaxDepth);
      return false;
    }
    return true;
  }
  bool leave() {
    --depth_;
    return true;
  }

  uint64_t budget_;
  uint32_t depth_ = 0;
  std::string problem_;
};

// Objects point into the input instead of copying it; the input outlives the decode.
inline bool reference_input(msgpack::type::object_type, std::size_t, void*) { return true; }

// Parses `bytes` as exactly one msgpack object and returns `convert(object)` (a Result).
// Problems become CORRUPT_MESSAGE "<what> <problem>"; every exception ends here (msgpack-c
// reports malformed input by throwing), so callers never see one.
template <typename Convert>
auto decode(ByteView bytes, std::string_view what, Convert&& convert)
    -> decltype(convert(std::declval<const msgpack::object&>())) {
  auto corrupt = [&](std::string_view detail) {
    std::string message(what);
    if (!message.empty()) message += ' ';
    message += detail;
    return make_error(Errc::corrupt_message, std::move(message));
  };
  try {
    if (bytes.empty()) return corrupt("is empty");
    const auto* data = reinterpret_cast<const char*>(bytes.data());
    std::size_t end = 0;
    SizeGuard guard(bytes.size());
    if (!msgpack::parse(data, bytes.size(), end, guard)) {
      return corrupt(guard.problem().empty() ? "is not valid msgpack" : guard.problem());
    }
    if (end != bytes.size()) {
      return corrupt("has " + std::to_string(bytes.size() - end) +
                     " trailing bytes after the msgpack object");
    }
    // Redundant after the guard; kept so unpack can never be asked for more than the input holds.
    const std::size_t n = bytes.size();
    const msgpack::unpack_limit limit(n, n, n, n, n, kMaxDepth);
    std::size_t offset = 0;
    msgpack::object_handle handle = msgpack::unpack(data, n, offset, &reference_input, nullptr, limit);
    return convert(handle.get());
  } catch (const std::exception& e) {
    return corrupt(std::string("is not decodable: ") + e.what());
  } catch (...) {
    return corrupt("is not decodable");
  }
}

}  // namespace kafkacore::msgpack_input
