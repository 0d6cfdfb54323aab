#pragma once
// Helpers shared by the storage suites: a temp directory per test and batch builders.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "record/batch_builder.h"
#include "record/record_batch.h"
#include "storage/partition_log.h"

namespace kafkacore::storage::testing {

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "kafkacore-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline ByteView text(const std::string& s) { return as_bytes(s); }

// A batch of `count` records keyed "<prefix>-<i>" with value "value-<prefix>-<i>".
inline Bytes make_batch(const std::string& prefix, int count, int64_t timestamp = 1'700'000'000'000,
                        record::Compression compression = record::Compression::none) {
  record::BatchOptions options;
  options.compression = compression;
  record::BatchBuilder builder(options);
  for (int i = 0; i < count; ++i) {
    std::string key = prefix + "-" + std::to_string(i);
    std::string value = "value-" + key;
    builder.append(timestamp + i, text(key), text(value));
  }
  auto bytes = builder.build();
  EXPECT_TRUE(bytes) << bytes.error().to_string();
  return std::move(*bytes);
}

inline Bytes make_keyed(const std::vector<std::pair<std::string, std::optional<std::string>>>& kvs,
                        int64_t timestamp = 1'700'000'000'000) {
  record::BatchBuilder builder;
  int i = 0;
  for (const auto& [k, v] : kvs) {
    std::optional<ByteView> value;
    if (v) value = text(*v);
    builder.append(timestamp + i++, text(k), value);
  }
  return std::move(*builder.build());
}

struct ReadRecord {
  int64_t offset;
  int64_t timestamp;
  std::optional<std::string> key;
  std::optional<std::string> value;
};

inline std::string str(ByteView v) { return {reinterpret_cast<const char*>(v.data()), v.size()}; }

// Reads every record in [from, end) and checks each batch's CRC on the way.
inline std::vector<ReadRecord> read_all(const PartitionLog& log, std::optional<Offset> from = {}) {
  std::vector<ReadRecord> out;
  auto result = log.read(from.value_or(log.log_start_offset()), UINT64_MAX);
  EXPECT_TRUE(result) << result.error().to_string();
  if (!result) return out;
  auto bytes = result->copy_bytes();
  EXPECT_TRUE(bytes);
  record::BatchIterator it(*bytes);
  for (;;) {
    auto batch = it.next();
    EXPECT_TRUE(batch) << batch.error().to_string();
    if (!batch || !*batch) break;
    EXPECT_TRUE((*batch)->validate());
    auto decoded = record::decode_batch(**batch);
    EXPECT_TRUE(decoded);
    if (!decoded) break;
    for (const auto& r : decoded->records) {
      ReadRecord rr{(*batch)->base_offset().value() + r.offset_delta,
                    (*batch)->base_timestamp() + r.timestamp_delta, std::nullopt, std::nullopt};
      if (r.key) rr.key = str(*r.key);
      if (r.value) rr.value = str(*r.value);
      out.push_back(rr);
    }
  }
  return out;
}

}  // namespace kafkacore::storage::testing
