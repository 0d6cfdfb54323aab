// The native serdes: bytes, string, int64, double and the internal tagged number.
#include "streams/serde.h"

#include <bit>
#include <charconv>
#include <cstring>
#include <string_view>
#include <system_error>

namespace kafkacore::streams {

namespace {

const char* type_name(const Value& v) {
  switch (v.index()) {
    case 0:
      return "null";
    case 1:
      return "bytes";
    case 2:
      return "string";
    case 3:
      return "int64";
    case 4:
      return "double";
    default:
      return "host object";
  }
}

std::unexpected<Error> wrong_type(std::string_view serde, const Value& v) {
  return make_error(Errc::invalid_record,
                    std::string(serde) + " serde cannot serialize a " + type_name(v) + " value");
}

std::unexpected<Error> wrong_size(std::string_view serde, size_t want, size_t got) {
  return make_error(Errc::invalid_record, std::string(serde) + " serde expects " +
                                              std::to_string(want) + " bytes, got " +
                                              std::to_string(got));
}

Bytes to_bytes(std::string_view s) {
  const ByteView v = as_bytes(s);
  return Bytes(v.begin(), v.end());
}

Bytes be64(uint64_t bits) {
  Bytes out(8);
  store_be<uint64_t>(out.data(), bits);
  return out;
}

// Shortest text that reads back as the same double (what Java's Double.toString aims at).
std::string double_text(double d) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d);
  if (ec != std::errc()) return std::to_string(d);
  return std::string(buf, end);
}

class BytesSerde final : public Serde {
 public:
  std::string name() const override { return "bytes"; }
  Result<std::optional<Bytes>> serialize(const Value& value) const override {
    if (is_null(value)) return std::nullopt;
    if (const auto* b = std::get_if<Bytes>(&value)) return *b;
    if (const auto* s = std::get_if<std::string>(&value)) return to_bytes(*s);
    return wrong_type("bytes", value);
  }
  Result<Value> deserialize(std::optional<ByteView> data) const override {
    if (!data) return Value{};
    return Value(Bytes(data->begin(), data->end()));
  }
};

class StringSerde final : public Serde {
 public:
  std::string name() const override { return "string"; }
  Result<std::optional<Bytes>> serialize(const Value& value) const override {
    if (is_null(value)) return std::nullopt;
    if (const auto* s = std::get_if<std::string>(&value)) return to_bytes(*s);
    if (const auto* b = std::get_if<Bytes>(&value)) return *b;
    if (const auto* i = std::get_if<int64_t>(&value)) return to_bytes(std::to_string(*i));
    if (const auto* d = std::get_if<double>(&value)) return to_bytes(double_text(*d));
    return wrong_type("string", value);
  }
  Result<Value> deserialize(std::optional<ByteView> data) const override {
    if (!data) return Value{};
    return Value(std::string(reinterpret_cast<const char*>(data->data()), data->size()));
  }
};

class Int64Serde final : public Serde {
 public:
  std::string name() const override { return "int64"; }
  Result<std::optional<Bytes>> serialize(const Value& value) const override {
    if (is_null(value)) return std::nullopt;
    if (const auto* i = std::get_if<int64_t>(&value)) return be64(static_cast<uint64_t>(*i));
    return wrong_type("int64", value);
  }
  Result<Value> deserialize(std::optional<ByteView> data) const override {
    if (!data) return Value{};
    if (data->size() != 8) return wrong_size("int64", 8, data->size());
    return Value(static_cast<int64_t>(load_be<uint64_t>(data->data())));
  }
};

class DoubleSerde final : public Serde {
 public:
  std::string name() const override { return "double"; }
  Result<std::optional<Bytes>> serialize(const Value& value) const override {
    if (is_null(value)) return std::nullopt;
    if (const auto* d = std::get_if<double>(&value)) return be64(std::bit_cast<uint64_t>(*d));
    return wrong_type("double", value);
  }
  Result<Value> deserialize(std::optional<ByteView> data) const override {
    if (!data) return Value{};
    if (data->size() != 8) return wrong_size("double", 8, data->size());
    return Value(std::bit_cast<double>(load_be<uint64_t>(data->data())));
  }
};

class NumberSerde final : public Serde {
 public:
  std::string name() const override { return "number"; }
  Result<std::optional<Bytes>> serialize(const Value& value) const override {
    if (is_null(value)) return std::nullopt;
    Bytes out(9);
    if (const auto* i = std::get_if<int64_t>(&value)) {
      out[0] = std::byte{0};
      store_be<uint64_t>(out.data() + 1, static_cast<uint64_t>(*i));
    } else if (const auto* d = std::get_if<double>(&value)) {
      out[0] = std::byte{1};
      store_be<uint64_t>(out.data() + 1, std::bit_cast<uint64_t>(*d));
    } else {
      return wrong_type("number", value);
    }
    return out;
  }
  Result<Value> deserialize(std::optional<ByteView> data) const override {
    if (!data) return Value{};
    if (data->size() != 9) return wrong_size("number", 9, data->size());
    const uint64_t bits = load_be<uint64_t>(data->data() + 1);
    switch (static_cast<uint8_t>((*data)[0])) {
      case 0:
        return Value(static_cast<int64_t>(bits));
      case 1:
        return Value(std::bit_cast<double>(bits));
      default:
        return make_error(Errc::invalid_record, "number serde: unknown tag " +
                                                    std::to_string(static_cast<int>((*data)[0])));
    }
  }
};

}  // namespace

SerdePtr bytes_serde() {
  static const SerdePtr serde = std::make_shared<BytesSerde>();
  return serde;
}

SerdePtr string_serde() {
  static const SerdePtr serde = std::make_shared<StringSerde>();
  return serde;
}

SerdePtr int64_serde() {
  static const SerdePtr serde = std::make_shared<Int64Serde>();
  return serde;
}

SerdePtr double_serde() {
  static const SerdePtr serde = std::make_shared<DoubleSerde>();
  return serde;
}

SerdePtr number_serde() {
  static const SerdePtr serde = std::make_shared<NumberSerde>();
  return serde;
}

SerdePtr native_serde(const std::string& name) {
  if (name == "bytes") return bytes_serde();
  if (name == "string" || name == "str") return string_serde();
  if (name == "int64" || name == "long") return int64_serde();
  if (name == "double") return double_serde();
  if (name == "number") return number_serde();
  return nullptr;
}

Bytes time_windowed_key(ByteView key, int64_t window_start) {
  Bytes out(key.size() + 8);
  if (!key.empty()) std::memcpy(out.data(), key.data(), key.size());
  store_be<uint64_t>(out.data() + key.size(), static_cast<uint64_t>(window_start));
  return out;
}

Bytes session_windowed_key(ByteView key, Window window) {
  Bytes out(key.size() + 16);
  if (!key.empty()) std::memcpy(out.data(), key.data(), key.size());
  store_be<uint64_t>(out.data() + key.size(), static_cast<uint64_t>(window.end));
  store_be<uint64_t>(out.data() + key.size() + 8, static_cast<uint64_t>(window.start));
  return out;
}

}  // namespace kafkacore::streams
