#include "common/uuid.h"

#include <random>

namespace kafkacore {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int decode_char(char c) {
  for (int i = 0; i < 64; ++i) {
    if (kAlphabet[i] == c) return i;
  }
  return -1;
}

}  // namespace

Uuid Uuid::random() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  Uuid id;
  do {
    for (size_t i = 0; i < 16; i += 8) {
      uint64_t v = rng();
      for (size_t j = 0; j < 8; ++j) id.bytes[i + j] = static_cast<uint8_t>(v >> (8 * j));
    }
    // RFC 4122 version 4 bits, as Java's UUID.randomUUID() sets them.
    id.bytes[6] = static_cast<uint8_t>((id.bytes[6] & 0x0f) | 0x40);
    id.bytes[8] = static_cast<uint8_t>((id.bytes[8] & 0x3f) | 0x80);
    // Kafka reserves ids whose base64 form starts with '-' and the all-zero id.
  } while (id.is_zero() || (id.bytes[0] >> 2) == 62);
  return id;
}

std::string Uuid::to_string() const {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (uint8_t b : bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += kAlphabet[(acc >> bits) & 0x3f];
    }
  }
  if (bits > 0) out += kAlphabet[(acc << (6 - bits)) & 0x3f];
  return out;
}

std::optional<Uuid> Uuid::parse(std::string_view text) {
  if (text.size() != 22) return std::nullopt;
  Uuid id;
  uint32_t acc = 0;
  int bits = 0;
  size_t n = 0;
  for (char c : text) {
    int v = decode_char(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      if (n < 16) id.bytes[n++] = static_cast<uint8_t>(acc >> bits);
    }
  }
  return id;
}

}  // namespace kafkacore
