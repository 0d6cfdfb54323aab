#pragma once
// Source of sample values for the generated fill_sample() functions (protocol_samples.h): every
// call returns a fresh value different from the field's default, so a round trip that loses or
// swaps a field shows up as a difference.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"
#include "protocol/records.h"
#include "protocol/types.h"

namespace kafkacore::protocol::testing {

enum class SampleMode {
  values,  // every field present in the version holds a non-default value; unknown tags added
  nulls,   // like values, but every field nullable in the version is null; no unknown tags
};

class SampleSource {
 public:
  explicit SampleSource(SampleMode mode) : mode_(mode) {}

  bool want_null() const { return mode_ == SampleMode::nulls; }

  template <typename T>
  T integer(T default_value) {
    auto v = static_cast<T>(next() % 100 + 1);
    if (v == default_value) v = static_cast<T>(v + 1);
    return v;
  }
  bool boolean(bool default_value) { return !default_value; }
  double float64() { return static_cast<double>(next()) + 0.25; }
  std::string string(std::string_view field) {
    return std::string(field) + "-" + std::to_string(next());
  }
  Bytes bytes() {
    const uint64_t n = next();
    return Bytes{std::byte{0xab}, static_cast<std::byte>(n & 0xff), std::byte{0}};
  }
  Uuid uuid() {
    Uuid id;
    const uint64_t n = next();
    for (size_t i = 0; i < id.bytes.size(); ++i) id.bytes[i] = static_cast<std::byte>(n + i);
    return id;
  }
  Records records() {
    Records r;
    r.bytes = ByteView(record_bytes()).first(next() % 40 + 1);
    return r;
  }
  // A tagged field no definition uses (above every known tag) to check it is carried through.
  void add_unknown_tag(std::vector<TaggedField>& fields) {
    if (mode_ != SampleMode::values) return;
    const uint64_t n = next();
    fields.push_back(TaggedField{
        kUnknownTag, Bytes{static_cast<std::byte>(n & 0xff), std::byte{0x5a}}});
  }

  static constexpr uint32_t kUnknownTag = 9999;

 private:
  static const std::array<std::byte, 64>& record_bytes() {
    static const std::array<std::byte, 64> bytes = [] {
      std::array<std::byte, 64> b{};
      for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<std::byte>(0x80 + i);
      return b;
    }();
    return bytes;
  }
  uint64_t next() { return ++counter_; }

  SampleMode mode_;
  uint64_t counter_ = 0;
};

}  // namespace kafkacore::protocol::testing
