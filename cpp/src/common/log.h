#pragma once
// Structured logging: one line per event, `key=value` pairs (logfmt), to stderr by default.
//   KC_LOG(info, "server", "listening", {{"port", "9092"}});
// The level check is one relaxed atomic load, so disabled debug logs cost almost nothing.
#include <atomic>
#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace kafkacore::log {

enum class Level : int { trace = 0, debug = 1, info = 2, warn = 3, error = 4, off = 5 };

using Field = std::pair<std::string_view, std::string>;
using Sink = std::function<void(std::string_view line)>;

void set_level(Level level);
Level level();
// Parses "trace|debug|info|warn|error|off"; false for anything else.
bool parse_level(std::string_view name, Level& out);
// Replaces where lines go (default: stderr). Thread-safe.
void set_sink(Sink sink);

inline bool enabled(Level l) { return static_cast<int>(l) >= static_cast<int>(level()); }
void write(Level l, std::string_view component, std::string_view message,
           std::initializer_list<Field> fields = {});

}  // namespace kafkacore::log

#define KC_LOG(lvl, component, message, ...)                                          \
  do {                                                                                \
    if (::kafkacore::log::enabled(::kafkacore::log::Level::lvl)) {                    \
      ::kafkacore::log::write(::kafkacore::log::Level::lvl, component,                \
                              message __VA_OPT__(, ) __VA_ARGS__);                    \
    }                                                                                 \
  } while (0)
