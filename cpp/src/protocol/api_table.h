#pragma once
// The APIs that messages/*.msg define: key, name, the version range the codec handles and the
// first flexible version. Generated (api_table.cc) from the same definitions as the messages.
// This is what the codec can decode, not what the broker advertises (the handler registry
// decides that). Immutable; safe from any thread.
#include <cstdint>
#include <limits>
#include <span>
#include <string_view>

namespace kafkacore::protocol {

inline constexpr int16_t kNoFlexibleVersion = std::numeric_limits<int16_t>::max();

struct ApiInfo {
  int16_t key;
  std::string_view name;  // e.g. "Produce"
  int16_t min_version;
  int16_t max_version;
  int16_t first_flexible_version;  // kNoFlexibleVersion when no version is flexible

  bool supports(int16_t version) const { return version >= min_version && version <= max_version; }
  bool is_flexible(int16_t version) const { return version >= first_flexible_version; }
};

// Every defined API, sorted by key.
std::span<const ApiInfo> all_apis();
// nullptr for a key no definition covers.
const ApiInfo* find_api(int16_t key);

// Request header version for (key, version): 2 if that version is flexible, else 1 (also for
// unknown keys, so their header can still be read). Versions outside the range are judged by
// the first flexible version alone, so a newer client's ApiVersions header parses.
int16_t request_header_version(int16_t key, int16_t version);
// Response header version: 1 if flexible, else 0; ApiVersions (key 18) is always 0.
int16_t response_header_version(int16_t key, int16_t version);

}  // namespace kafkacore::protocol
