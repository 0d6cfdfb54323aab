#pragma once
// 128-bit ids (Kafka topic ids, cluster ids), with Kafka's URL-safe base64 text form.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace kafkacore {

struct Uuid {
  std::array<uint8_t, 16> bytes{};
  auto operator<=>(const Uuid&) const = default;
  bool is_zero() const { return *this == Uuid{}; }
  static Uuid random();
  // 22 characters of URL-safe base64 without padding, as Kafka prints topic and cluster ids.
  std::string to_string() const;
  static std::optional<Uuid> parse(std::string_view text);
};

}  // namespace kafkacore
