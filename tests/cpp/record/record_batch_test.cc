#include "record/record_batch.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <limits>
#include <map>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/bytes.h"
#include "common/error.h"
#include "common/strong_id.h"
#include "record/batch_builder.h"
#include "record/compression.h"
#include "record/crc32c.h"
#include "record/varint.h"

// Records the largest operator-new request while armed, so the hostile-count tests can show the
// decoder does not allocate what a corrupt count claims.
namespace {
std::atomic<bool> g_tracking{false};
std::atomic<size_t> g_largest_alloc{0};
}  // namespace

// noinline stops GCC pairing an inlined free() with a new-expression (-Wmismatched-new-delete).
[[gnu::noinline]] void* operator new(std::size_t n) {
  if (g_tracking.load(std::memory_order_relaxed)) {
    size_t prev = g_largest_alloc.load(std::memory_order_relaxed);
    while (n > prev && !g_largest_alloc.compare_exchange_weak(prev, n)) {
    }
  }
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
[[gnu::noinline]] void operator delete(void* p) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace kafkacore::record {
namespace {

// ---------------------------------------------------------------------------------------------
// A minimal JSON reader, enough for manifest.json: objects, arrays, strings, integers, null,
// booleans. Anything else (fractions, exotic escapes) throws, which fails the test loudly.

struct Json {
  enum class Kind { null, boolean, integer, string, array, object };
  Kind kind = Kind::null;
  bool boolean = false;
  int64_t integer = 0;
  std::string string;
  std::vector<Json> array;
  std::vector<std::pair<std::string, Json>> object;

  bool is_null() const { return kind == Kind::null; }
  const Json& operator[](std::string_view key) const {
    if (kind != Kind::object)
      throw std::runtime_error("not an object looking up " + std::string(key));
    for (const auto& [k, v] : object) {
      if (k == key) return v;
    }
    throw std::runtime_error("missing key " + std::string(key));
  }
  const std::vector<Json>& items() const {
    if (kind != Kind::array) throw std::runtime_error("not an array");
    return array;
  }
  int64_t as_int() const {
    if (kind != Kind::integer) throw std::runtime_error("not an integer");
    return integer;
  }
  const std::string& as_string() const {
    if (kind != Kind::string) throw std::runtime_error("not a string");
    return string;
  }
  std::optional<std::string> as_nullable_string() const {
    if (is_null()) return std::nullopt;
    return as_string();
  }
};

class JsonParser {
 public:
  explicit JsonParser(std::string_view text) : text_(text) {}

  Json parse_document() {
    Json v = parse_value();
    skip_ws();
    if (pos_ != text_.size()) fail("trailing characters");
    return v;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw std::runtime_error("JSON: " + what + " at " + std::to_string(pos_));
  }
  void skip_ws() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }
  char peek() {
    skip_ws();
    if (pos_ >= text_.size()) fail("unexpected end");
    return text_[pos_];
  }
  void expect(char c) {
    if (peek() != c) fail(std::string("expected '") + c + "'");
    ++pos_;
  }
  bool consume_literal(std::string_view lit) {
    if (text_.substr(pos_, lit.size()) != lit) return false;
    pos_ += lit.size();
    return true;
  }

  Json parse_value() {
    Json v;
    const char c = peek();
    if (c == '{') {
      v.kind = Json::Kind::object;
      ++pos_;
      if (peek() == '}') {
        ++pos_;
        return v;
      }
      for (;;) {
        std::string key = parse_string();
        expect(':');
        Json member = parse_value();
        v.object.emplace_back(std::move(key), std::move(member));
        if (peek() == ',') {
          ++pos_;
          continue;
        }
        expect('}');
        return v;
      }
    }
    if (c == '[') {
      v.kind = Json::Kind::array;
      ++pos_;
      if (peek() == ']') {
        ++pos_;
        return v;
      }
      for (;;) {
        v.array.push_back(parse_value());
        if (peek() == ',') {
          ++pos_;
          continue;
        }
        expect(']');
        return v;
      }
    }
    if (c == '"') {
      v.kind = Json::Kind::string;
      v.string = parse_string();
      return v;
    }
    if (consume_literal("null")) return v;
    if (consume_literal("true")) {
      v.kind = Json::Kind::boolean;
      v.boolean = true;
      return v;
    }
    if (consume_literal("false")) {
      v.kind = Json::Kind::boolean;
      return v;
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
      v.kind = Json::Kind::integer;
      v.integer = parse_integer();
      return v;
    }
    fail("unexpected character");
  }

  int64_t parse_integer() {
    const bool negative = text_[pos_] == '-';
    if (negative) ++pos_;
    const size_t start = pos_;
    uint64_t magnitude = 0;
    while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') {
      const auto digit = static_cast<uint64_t>(text_[pos_] - '0');
      if (magnitude > (std::numeric_limits<uint64_t>::max() - digit) / 10) fail("integer overflow");
      magnitude = magnitude * 10 + digit;
      ++pos_;
    }
    if (pos_ == start) fail("digits expected");
    if (pos_ < text_.size() && (text_[pos_] == '.' || text_[pos_] == 'e' || text_[pos_] == 'E')) {
      fail("only integers are supported");
    }
    if (negative) {
      if (magnitude > uint64_t{1} << 63) fail("integer overflow");
      return static_cast<int64_t>(0 - magnitude);
    }
    if (magnitude > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      fail("integer overflow");
    }
    return static_cast<int64_t>(magnitude);
  }

  std::string parse_string() {
    expect('"');
    std::string out;
    for (;;) {
      if (pos_ >= text_.size()) fail("unterminated string");
      const char c = text_[pos_++];
      if (c == '"') return out;
      if (c != '\\') {
        out.push_back(c);
        continue;
      }
      if (pos_ >= text_.size()) fail("unterminated escape");
      const char e = text_[pos_++];
      switch (e) {
        case '"':
          out.push_back('"');
          break;
        case '\\':
          out.push_back('\\');
          break;
        case '/':
          out.push_back('/');
          break;
        case 'n':
          out.push_back('\n');
          break;
        case 't':
          out.push_back('\t');
          break;
        case 'r':
          out.push_back('\r');
          break;
        case 'b':
          out.push_back('\b');
          break;
        case 'f':
          out.push_back('\f');
          break;
        case 'u': {
          if (pos_ + 4 > text_.size()) fail("short \\u escape");
          const unsigned long cp = std::stoul(std::string(text_.substr(pos_, 4)), nullptr, 16);
          pos_ += 4;
          if (cp > 0x7f) fail("only ASCII \\u escapes are supported");
          out.push_back(static_cast<char>(cp));
          break;
        }
        default:
          fail("bad escape");
      }
    }
  }

  std::string_view text_;
  size_t pos_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Fixtures and small helpers.

std::string fixture_dir() { return std::string(KAFKACORE_TEST_DATA_DIR) + "/record_batches/"; }

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in.good()) throw std::runtime_error("cannot open " + path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

Bytes read_fixture(const std::string& name) {
  const std::string text = read_text(fixture_dir() + name);
  const ByteView v = as_bytes(text);
  return Bytes(v.begin(), v.end());
}

const Json& manifest() {
  static const Json m = JsonParser(read_text(fixture_dir() + "manifest.json")).parse_document();
  return m;
}

const Json& manifest_batches(const std::string& file) {
  return manifest()["files"][file]["batches"];
}

// The codec of every fixture, stated independently of the manifest (see generate.py).
const std::map<std::string, Compression>& fixture_codecs() {
  static const std::map<std::string, Compression> m = {
      {"none.bin", Compression::none},     {"gzip.bin", Compression::gzip},
      {"snappy.bin", Compression::snappy}, {"lz4.bin", Compression::lz4},
      {"zstd.bin", Compression::zstd},     {"idempotent.bin", Compression::none},
      {"multi.bin", Compression::none},
  };
  return m;
}

const std::vector<std::string>& fixture_names() {
  static const std::vector<std::string> names = {
      "none.bin", "gzip.bin", "snappy.bin", "lz4.bin", "zstd.bin", "idempotent.bin", "multi.bin"};
  return names;
}

ByteView bv(std::string_view s) { return as_bytes(s); }

std::string to_string(ByteView v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size());
}

std::optional<std::string> to_opt_string(const std::optional<ByteView>& v) {
  if (!v) return std::nullopt;
  return to_string(*v);
}

std::optional<ByteView> opt_view(const std::optional<std::string>& s) {
  if (!s) return std::nullopt;
  return bv(*s);
}

std::string codec_param_name(const ::testing::TestParamInfo<Compression>& param_info) {
  return std::string(compression_name(param_info.param));
}

std::string file_param_name(const ::testing::TestParamInfo<std::string>& param_info) {
  std::string out;
  for (char c : param_info.param) {
    if (c == '.') break;
    out.push_back(c);
  }
  return out;
}

// Rewrites the CRC after a test has edited CRC-covered fields on purpose.
void recompute_crc(Bytes& batch) {
  auto view = RecordBatchView::parse(batch);
  ASSERT_TRUE(view) << view.error().to_string();
  store_be<uint32_t>(batch.data() + field::crc, view->compute_crc());
}

void expect_error(const Error& e, Errc code, const std::string& context) {
  EXPECT_EQ(e.code(), code) << context << ": " << e.to_string();
  EXPECT_FALSE(e.message().empty()) << context;
}

class AllocationTracker {
 public:
  AllocationTracker() {
    g_largest_alloc = 0;
    g_tracking = true;
  }
  ~AllocationTracker() { g_tracking = false; }
  AllocationTracker(const AllocationTracker&) = delete;
  AllocationTracker& operator=(const AllocationTracker&) = delete;
  size_t largest() const { return g_largest_alloc.load(); }
};

// Logical record content, owning its bytes.
struct Rec {
  int32_t offset_delta = 0;
  int64_t timestamp = 0;
  std::optional<std::string> key;
  std::optional<std::string> value;
  std::vector<std::pair<std::string, std::optional<std::string>>> headers;
};

void append_rec(BatchBuilder& builder, const Rec& r) {
  std::vector<RecordHeader> hs;
  for (const auto& [k, v] : r.headers) hs.push_back(RecordHeader{bv(k), opt_view(v)});
  builder.append_with_offset_delta(r.offset_delta, r.timestamp, opt_view(r.key), opt_view(r.value),
                                   hs);
}

void expect_record_eq(const Record& got, const Rec& want, int64_t base_timestamp,
                      const std::string& context) {
  SCOPED_TRACE(context);
  EXPECT_EQ(got.attributes, 0);
  EXPECT_EQ(got.offset_delta, want.offset_delta);
  EXPECT_EQ(got.timestamp_delta, want.timestamp - base_timestamp);
  EXPECT_EQ(to_opt_string(got.key), want.key);
  EXPECT_EQ(to_opt_string(got.value), want.value);
  ASSERT_EQ(got.headers.size(), want.headers.size());
  for (size_t h = 0; h < want.headers.size(); ++h) {
    EXPECT_EQ(to_string(got.headers[h].key), want.headers[h].first) << "header " << h;
    EXPECT_EQ(to_opt_string(got.headers[h].value), want.headers[h].second) << "header " << h;
  }
}

// The records of one manifest batch, as absolute timestamps.
std::vector<Rec> manifest_records(const Json& batch) {
  std::vector<Rec> out;
  const int64_t base_ts = batch["base_timestamp"].as_int();
  for (const Json& r : batch["records"].items()) {
    Rec rec;
    rec.offset_delta = static_cast<int32_t>(r["offset_delta"].as_int());
    rec.timestamp = base_ts + r["timestamp_delta"].as_int();
    rec.key = r["key"].as_nullable_string();
    rec.value = r["value"].as_nullable_string();
    for (const Json& h : r["headers"].items()) {
      const auto& pair = h.items();
      if (pair.size() != 2) throw std::runtime_error("header is not a [key, value] pair");
      rec.headers.emplace_back(pair[0].as_string(), pair[1].as_nullable_string());
    }
    out.push_back(std::move(rec));
  }
  return out;
}

// Every batch of a fixture, in order, as byte ranges of the file.
std::vector<Bytes> split_batches(const Bytes& file) {
  std::vector<Bytes> out;
  BatchIterator it(file);
  for (;;) {
    auto next = it.next();
    if (!next) {
      ADD_FAILURE() << next.error().to_string();
      break;
    }
    if (!*next) break;
    const ByteView b = (*next)->bytes();
    out.emplace_back(b.begin(), b.end());
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The manifest itself.

TEST(Manifest, ListsEveryFixture) {
  EXPECT_EQ(manifest()["generator"].as_string().rfind("kafka-python ", 0), 0u);
  const auto& files = manifest()["files"].object;
  EXPECT_EQ(files.size(), fixture_names().size());
  for (const auto& name : fixture_names()) {
    SCOPED_TRACE(name);
    EXPECT_FALSE(manifest_batches(name).items().empty());
  }
  EXPECT_EQ(manifest_batches("multi.bin").items().size(), 3u);
}

// ---------------------------------------------------------------------------------------------
// Fixtures written by kafka-python decode to exactly what kafka-python's reader saw.

class FixtureTest : public ::testing::TestWithParam<std::string> {};

INSTANTIATE_TEST_SUITE_P(KafkaPython, FixtureTest, ::testing::ValuesIn(fixture_names()),
                         file_param_name);

TEST_P(FixtureTest, DecodesAsManifestSays) {
  const std::string name = GetParam();
  const Bytes file = read_fixture(name);
  const Json& entry = manifest()["files"][name];
  ASSERT_EQ(static_cast<int64_t>(file.size()), entry["size"].as_int());
  const Compression codec = fixture_codecs().at(name);

  BatchIterator it(file);
  size_t pos = 0;
  size_t index = 0;
  for (const Json& want : entry["batches"].items()) {
    SCOPED_TRACE("batch " + std::to_string(index));
    auto next = it.next();
    ASSERT_TRUE(next) << next.error().to_string();
    ASSERT_TRUE(next->has_value()) << "iterator ended early";
    const RecordBatchView batch = **next;

    // parse() at the same position agrees with the iterator and stops at the batch's end.
    auto direct = RecordBatchView::parse(ByteView(file).subspan(pos));
    ASSERT_TRUE(direct) << direct.error().to_string();
    EXPECT_EQ(direct->bytes().data(), batch.bytes().data());
    EXPECT_EQ(direct->size_bytes(), batch.size_bytes());

    auto valid = batch.validate();
    EXPECT_TRUE(valid) << valid.error().to_string();

    EXPECT_EQ(static_cast<int64_t>(batch.size_bytes()), want["size_in_bytes"].as_int());
    EXPECT_EQ(batch.batch_length(), want["size_in_bytes"].as_int() - 12);
    EXPECT_EQ(batch.base_offset().value(), want["base_offset"].as_int());
    EXPECT_EQ(batch.partition_leader_epoch().value(), want["partition_leader_epoch"].as_int());
    EXPECT_EQ(batch.magic(), want["magic"].as_int());
    EXPECT_EQ(batch.crc(), want["crc"].as_int());
    EXPECT_EQ(batch.compute_crc(), batch.crc());
    EXPECT_EQ(batch.attributes(), want["attributes"].as_int());
    EXPECT_EQ(static_cast<int>(batch.compression()), want["compression"].as_int());
    EXPECT_EQ(batch.compression(), codec) << "fixture codec";
    EXPECT_EQ(batch.attributes() & attr::compression_mask, static_cast<int>(codec));
    EXPECT_EQ(batch.timestamp_type(), TimestampType::create_time);
    EXPECT_FALSE(batch.is_transactional());
    EXPECT_FALSE(batch.is_control());
    EXPECT_FALSE(batch.has_delete_horizon());
    EXPECT_EQ(batch.last_offset_delta(), want["last_offset_delta"].as_int());
    EXPECT_EQ(batch.last_offset().value(),
              want["base_offset"].as_int() + want["last_offset_delta"].as_int());
    EXPECT_EQ(batch.next_offset().value(), batch.last_offset().value() + 1);
    EXPECT_EQ(batch.base_timestamp(), want["base_timestamp"].as_int());
    EXPECT_EQ(batch.max_timestamp(), want["max_timestamp"].as_int());
    EXPECT_EQ(batch.producer_id().value(), want["producer_id"].as_int());
    EXPECT_EQ(batch.producer_epoch().value(), want["producer_epoch"].as_int());
    EXPECT_EQ(batch.has_producer_id(), want["producer_id"].as_int() >= 0);
    EXPECT_EQ(batch.base_sequence(), want["base_sequence"].as_int());
    if (want["base_sequence"].as_int() < 0) {
      EXPECT_EQ(batch.last_sequence(), kNoSequence);
    } else {
      EXPECT_EQ(batch.last_sequence(),
                want["base_sequence"].as_int() + want["last_offset_delta"].as_int());
    }
    EXPECT_EQ(batch.record_count(), want["record_count"].as_int());
    EXPECT_EQ(batch.records_region().size(), batch.size_bytes() - kBatchHeaderSize);

    auto decoded = decode_batch(batch);
    ASSERT_TRUE(decoded) << decoded.error().to_string();
    const std::vector<Rec> expected = manifest_records(want);
    ASSERT_EQ(decoded->records.size(), expected.size());
    ASSERT_EQ(static_cast<int64_t>(expected.size()), want["record_count"].as_int());
    for (size_t i = 0; i < expected.size(); ++i) {
      expect_record_eq(decoded->records[i], expected[i], batch.base_timestamp(),
                       "record " + std::to_string(i));
    }
    if (codec == Compression::none) {
      // Uncompressed records view straight into the batch; decode_records gives the same.
      EXPECT_TRUE(decoded->storage.empty());
      auto direct_records = decode_records(batch.records_region(), batch.record_count());
      ASSERT_TRUE(direct_records) << direct_records.error().to_string();
      EXPECT_EQ(direct_records->size(), expected.size());
    } else {
      EXPECT_FALSE(decoded->storage.empty());
    }

    pos += batch.size_bytes();
    EXPECT_EQ(it.position(), pos);
    ++index;
  }
  auto end = it.next();
  ASSERT_TRUE(end) << end.error().to_string();
  EXPECT_FALSE(end->has_value()) << "more batches than the manifest lists";
  EXPECT_EQ(it.position(), file.size());
  // A clean end stays a clean end.
  auto again = it.next();
  ASSERT_TRUE(again);
  EXPECT_FALSE(again->has_value());
}

// The same logical content built with our builder. Uncompressed output must match kafka-python
// byte for byte (codec output legitimately differs between libraries, so compressed fixtures are
// compared by header fields and decoded records).
TEST_P(FixtureTest, OurBuilderReproducesIt) {
  const std::string name = GetParam();
  const Bytes file = read_fixture(name);
  const std::vector<Bytes> theirs = split_batches(file);
  const auto& wanted = manifest_batches(name).items();
  ASSERT_EQ(theirs.size(), wanted.size());

  Bytes ours_concatenated;
  for (size_t b = 0; b < wanted.size(); ++b) {
    SCOPED_TRACE("batch " + std::to_string(b));
    const Json& want = wanted[b];
    BatchOptions options;
    options.compression = static_cast<Compression>(want["compression"].as_int());
    options.base_offset = Offset{want["base_offset"].as_int()};
    // kafka-python writes partitionLeaderEpoch 0 where our builder defaults to -1 (the manifest
    // shows 0); the broker overwrites the field on append anyway.
    options.partition_leader_epoch =
        LeaderEpoch{static_cast<int32_t>(want["partition_leader_epoch"].as_int())};
    options.producer_id = ProducerId{want["producer_id"].as_int()};
    options.producer_epoch = ProducerEpoch{static_cast<int16_t>(want["producer_epoch"].as_int())};
    options.base_sequence = static_cast<int32_t>(want["base_sequence"].as_int());
    BatchBuilder builder(options);
    const std::vector<Rec> records = manifest_records(want);
    for (const Rec& r : records) append_rec(builder, r);
    auto built = builder.build();
    ASSERT_TRUE(built) << built.error().to_string();
    ours_concatenated.insert(ours_concatenated.end(), built->begin(), built->end());

    auto ours = RecordBatchView::parse(*built);
    ASSERT_TRUE(ours) << ours.error().to_string();
    ASSERT_TRUE(ours->validate());
    EXPECT_EQ(ours->attributes(), want["attributes"].as_int());
    EXPECT_EQ(ours->last_offset_delta(), want["last_offset_delta"].as_int());
    EXPECT_EQ(ours->base_timestamp(), want["base_timestamp"].as_int());
    EXPECT_EQ(ours->max_timestamp(), want["max_timestamp"].as_int());
    EXPECT_EQ(ours->record_count(), want["record_count"].as_int());
    auto decoded = decode_batch(*ours);
    ASSERT_TRUE(decoded) << decoded.error().to_string();
    ASSERT_EQ(decoded->records.size(), records.size());
    for (size_t i = 0; i < records.size(); ++i) {
      expect_record_eq(decoded->records[i], records[i], ours->base_timestamp(),
                       "record " + std::to_string(i));
    }

    if (options.compression == Compression::none) {
      EXPECT_EQ(builder.estimated_size(), built->size());
      ASSERT_EQ(built->size(), theirs[b].size());
      for (size_t i = 0; i < built->size(); ++i) {
        ASSERT_EQ((*built)[i], theirs[b][i]) << "first difference at byte " << i;
      }
      EXPECT_EQ(ours->crc(), want["crc"].as_int());
    } else {
      // Same records region once decompressed, byte for byte.
      auto their_view = RecordBatchView::parse(theirs[b]);
      ASSERT_TRUE(their_view);
      auto their_plain = decompress(options.compression, their_view->records_region(), 1 << 20);
      auto our_plain = decompress(options.compression, ours->records_region(), 1 << 20);
      ASSERT_TRUE(their_plain && our_plain);
      EXPECT_TRUE(*their_plain == *our_plain);
      EXPECT_EQ(builder.estimated_size(), kBatchHeaderSize + our_plain->size());
    }
  }
  if (fixture_codecs().at(name) == Compression::none) {
    EXPECT_TRUE(ours_concatenated == file);
  }
}

// ---------------------------------------------------------------------------------------------
// Builder round trips.

class BuilderCodecTest : public ::testing::TestWithParam<Compression> {};

INSTANTIATE_TEST_SUITE_P(AllCodecs, BuilderCodecTest,
                         ::testing::Values(Compression::none, Compression::gzip,
                                           Compression::snappy, Compression::lz4,
                                           Compression::zstd),
                         codec_param_name);

constexpr int64_t kT0 = 1700000000000;

std::vector<Rec> varied_records() {
  std::string big_value;
  for (int i = 0; big_value.size() < 150000; ++i) big_value += "payload-" + std::to_string(i) + ";";
  return {
      {0, kT0, "k0", "v0", {}},
      // Gaps in the offset deltas, as compaction leaves them.
      {3,
       kT0 + 5,
       std::nullopt,
       "value without key",
       {{"h", "x"}, {"empty", ""}, {"null", std::nullopt}}},
      // Earlier than the first record: a negative timestamp delta.
      {4, kT0 - 2, "key without value", std::nullopt, {}},
      // Empty but present key and value, and a header with an empty key.
      {9, kT0 + 100, "", "", {{"", std::nullopt}, {"dup", "1"}, {"dup", "2"}}},
      {10, kT0 + 1, std::string(300, 'K'), big_value, {{"big", std::string(1000, 'h')}}},
      {11, kT0 + 100, std::nullopt, std::nullopt, {}},
  };
}

TEST_P(BuilderCodecTest, RoundTripsEveryField) {
  const Compression codec = GetParam();
  BatchOptions options;
  options.compression = codec;
  options.base_offset = Offset{1000};
  options.partition_leader_epoch = LeaderEpoch{17};
  options.producer_id = ProducerId{987654321012};
  options.producer_epoch = ProducerEpoch{3};
  options.base_sequence = 55;
  options.transactional = true;
  BatchBuilder builder(options);
  const std::vector<Rec> records = varied_records();
  for (const Rec& r : records) append_rec(builder, r);
  EXPECT_EQ(builder.record_count(), static_cast<int32_t>(records.size()));

  auto built = builder.build();
  ASSERT_TRUE(built) << built.error().to_string();
  auto batch = RecordBatchView::parse(*built);
  ASSERT_TRUE(batch) << batch.error().to_string();
  EXPECT_EQ(batch->size_bytes(), built->size());
  ASSERT_TRUE(batch->validate()) << batch->validate().error().to_string();
  EXPECT_EQ(batch->crc(), batch->compute_crc());
  EXPECT_EQ(batch->crc(), crc32c(ByteView(*built).subspan(field::attributes)));

  EXPECT_EQ(batch->base_offset(), Offset{1000});
  EXPECT_EQ(batch->batch_length(), static_cast<int32_t>(built->size() - kLogOverhead));
  EXPECT_EQ(batch->partition_leader_epoch(), LeaderEpoch{17});
  EXPECT_EQ(batch->magic(), kMagicV2);
  EXPECT_EQ(batch->attributes(),
            static_cast<int16_t>(static_cast<int>(codec) | attr::transactional));
  EXPECT_EQ(batch->compression(), codec);
  EXPECT_TRUE(batch->is_transactional());
  EXPECT_FALSE(batch->is_control());
  EXPECT_EQ(batch->timestamp_type(), TimestampType::create_time);
  EXPECT_EQ(batch->last_offset_delta(), 11);
  EXPECT_EQ(batch->last_offset(), Offset{1011});
  EXPECT_EQ(batch->next_offset(), Offset{1012});
  EXPECT_EQ(batch->base_timestamp(), kT0);
  EXPECT_EQ(batch->max_timestamp(), kT0 + 100);
  EXPECT_EQ(batch->producer_id(), ProducerId{987654321012});
  EXPECT_TRUE(batch->has_producer_id());
  EXPECT_EQ(batch->producer_epoch(), ProducerEpoch{3});
  EXPECT_EQ(batch->base_sequence(), 55);
  EXPECT_EQ(batch->last_sequence(), 66);
  EXPECT_EQ(batch->record_count(), static_cast<int32_t>(records.size()));
  if (codec == Compression::none) {
    EXPECT_EQ(builder.estimated_size(), built->size());
  } else {
    EXPECT_LT(built->size(), builder.estimated_size());
  }

  auto decoded = decode_batch(*batch);
  ASSERT_TRUE(decoded) << decoded.error().to_string();
  ASSERT_EQ(decoded->records.size(), records.size());
  for (size_t i = 0; i < records.size(); ++i) {
    expect_record_eq(decoded->records[i], records[i], kT0, "record " + std::to_string(i));
  }
}

TEST_P(BuilderCodecTest, SequentialAppendsAndLastOffsetDeltaOverride) {
  BatchOptions options;
  options.compression = GetParam();
  options.last_offset_delta = 9;  // compaction kept the original span of ten offsets
  BatchBuilder builder(options);
  builder.append(kT0, bv("a"), bv("1"));
  builder.append(kT0 + 1, bv("b"), bv("2"));
  builder.append(kT0 + 2, std::nullopt, bv("3"));
  auto built = builder.build();
  ASSERT_TRUE(built);
  auto batch = RecordBatchView::parse(*built);
  ASSERT_TRUE(batch);
  ASSERT_TRUE(batch->validate());
  EXPECT_EQ(batch->record_count(), 3);
  EXPECT_EQ(batch->last_offset_delta(), 9);
  EXPECT_EQ(batch->next_offset(), Offset{10});
  auto decoded = decode_batch(*batch);
  ASSERT_TRUE(decoded);
  ASSERT_EQ(decoded->records.size(), 3u);
  for (int32_t i = 0; i < 3; ++i) {
    EXPECT_EQ(decoded->records[static_cast<size_t>(i)].offset_delta, i);
    EXPECT_EQ(decoded->records[static_cast<size_t>(i)].timestamp_delta, i);
  }
  // Defaults: no producer, leader epoch -1, base offset 0.
  EXPECT_EQ(batch->base_offset(), Offset{0});
  EXPECT_EQ(batch->partition_leader_epoch(), LeaderEpoch{-1});
  EXPECT_EQ(batch->producer_id(), ProducerId{kNoProducerId});
  EXPECT_FALSE(batch->has_producer_id());
  EXPECT_EQ(batch->producer_epoch(), ProducerEpoch{kNoProducerEpoch});
  EXPECT_EQ(batch->base_sequence(), kNoSequence);
  EXPECT_EQ(batch->last_sequence(), kNoSequence);
}

TEST_P(BuilderCodecTest, ManyRecordsAcrossCodecBlocks) {
  BatchOptions options;
  options.compression = GetParam();
  BatchBuilder builder(options);
  std::vector<std::string> values;
  for (int i = 0; i < 3000; ++i) values.push_back("value number " + std::to_string(i * 7919));
  for (int i = 0; i < 3000; ++i) {
    const std::string key = "key-" + std::to_string(i);
    builder.append(kT0 + i, bv(key), bv(values[static_cast<size_t>(i)]));
  }
  auto built = builder.build();
  ASSERT_TRUE(built);
  auto batch = RecordBatchView::parse(*built);
  ASSERT_TRUE(batch);
  ASSERT_TRUE(batch->validate());
  EXPECT_EQ(batch->max_timestamp(), kT0 + 2999);
  auto decoded = decode_batch(*batch);
  ASSERT_TRUE(decoded) << decoded.error().to_string();
  ASSERT_EQ(decoded->records.size(), 3000u);
  for (size_t i = 0; i < 3000; ++i) {
    ASSERT_EQ(to_opt_string(decoded->records[i].key), "key-" + std::to_string(i));
    ASSERT_EQ(to_opt_string(decoded->records[i].value), values[i]);
    ASSERT_EQ(decoded->records[i].offset_delta, static_cast<int32_t>(i));
  }
}

TEST(BatchBuilderTest, LogAppendTimeAndExplicitMaxTimestamp) {
  BatchOptions options;
  options.timestamp_type = TimestampType::log_append_time;
  options.max_timestamp = kT0 + 999;
  BatchBuilder builder(options);
  builder.append(kT0, bv("k"), bv("v"));
  builder.append(kT0 + 5, bv("k"), bv("v"));
  auto built = builder.build();
  ASSERT_TRUE(built);
  auto batch = RecordBatchView::parse(*built);
  ASSERT_TRUE(batch);
  ASSERT_TRUE(batch->validate());
  EXPECT_EQ(batch->timestamp_type(), TimestampType::log_append_time);
  EXPECT_EQ(batch->attributes(), attr::timestamp_type);
  EXPECT_EQ(batch->max_timestamp(), kT0 + 999);
  EXPECT_EQ(batch->base_timestamp(), kT0);
}

TEST(BatchBuilderTest, ControlBatchBits) {
  BatchOptions options;
  options.transactional = true;
  options.control = true;
  options.producer_id = ProducerId{77};
  options.producer_epoch = ProducerEpoch{2};
  BatchBuilder builder(options);
  // An end-transaction marker: key = version 0, type 1 (commit); value = version 0, epoch 5.
  const Bytes key = {std::byte{0}, std::byte{0}, std::byte{0}, std::byte{1}};
  const Bytes value = {std::byte{0}, std::byte{0}, std::byte{0},
                       std::byte{0}, std::byte{0}, std::byte{5}};
  builder.append(kT0, ByteView(key), ByteView(value));
  auto built = builder.build();
  ASSERT_TRUE(built);
  auto batch = RecordBatchView::parse(*built);
  ASSERT_TRUE(batch);
  ASSERT_TRUE(batch->validate());
  EXPECT_TRUE(batch->is_control());
  EXPECT_TRUE(batch->is_transactional());
  EXPECT_EQ(batch->attributes(), attr::transactional | attr::control);
  EXPECT_EQ(batch->producer_id(), ProducerId{77});
  EXPECT_EQ(batch->producer_epoch(), ProducerEpoch{2});
  auto decoded = decode_batch(*batch);
  ASSERT_TRUE(decoded);
  ASSERT_EQ(decoded->records.size(), 1u);
  ASSERT_TRUE(decoded->records[0].key);
  EXPECT_TRUE(std::ranges::equal(*decoded->records[0].key, key));
}

TEST(BatchBuilderTest, DeleteHorizonUsesGivenBaseTimestamp) {
  BatchOptions options;
  options.has_delete_horizon = true;
  options.base_timestamp = kT0 + 86400000;
  BatchBuilder builder(options);
  builder.append(kT0, bv("k"), std::nullopt);  // a tombstone
  auto built = builder.build();
  ASSERT_TRUE(built);
  auto batch = RecordBatchView::parse(*built);
  ASSERT_TRUE(batch);
  ASSERT_TRUE(batch->validate());
  EXPECT_TRUE(batch->has_delete_horizon());
  EXPECT_EQ(batch->attributes(), attr::delete_horizon);
  EXPECT_EQ(batch->base_timestamp(), kT0 + 86400000);
  auto decoded = decode_batch(*batch);
  ASSERT_TRUE(decoded);
  ASSERT_EQ(decoded->records.size(), 1u);
  EXPECT_EQ(decoded->records[0].timestamp_delta, -86400000);
  EXPECT_FALSE(decoded->records[0].value);
}

TEST(BatchBuilderTest, SequenceWrapsLikeKafka) {
  BatchOptions options;
  options.producer_id = ProducerId{1};
  options.producer_epoch = ProducerEpoch{0};
  options.base_sequence = std::numeric_limits<int32_t>::max() - 1;
  BatchBuilder builder(options);
  for (int i = 0; i < 4; ++i) builder.append(kT0, std::nullopt, bv("v"));
  auto built = builder.build();
  ASSERT_TRUE(built);
  auto batch = RecordBatchView::parse(*built);
  ASSERT_TRUE(batch);
  // MAX-1, MAX, 0, 1
  EXPECT_EQ(batch->last_sequence(), 1);
}

TEST(BatchBuilderTest, EmptyBatchIsWellFormed) {
  BatchBuilder builder;
  auto built = builder.build();
  ASSERT_TRUE(built);
  EXPECT_EQ(built->size(), kBatchHeaderSize);
  auto batch = RecordBatchView::parse(*built);
  ASSERT_TRUE(batch);
  EXPECT_TRUE(batch->validate());
  EXPECT_EQ(batch->record_count(), 0);
  auto decoded = decode_batch(*batch);
  ASSERT_TRUE(decoded);
  EXPECT_TRUE(decoded->records.empty());
}

// ---------------------------------------------------------------------------------------------
// In-place edits.

TEST_P(FixtureTest, BaseOffsetAndLeaderEpochEditsKeepCrc) {
  for (Bytes batch : split_batches(read_fixture(GetParam()))) {
    const uint32_t crc_before = load_be<uint32_t>(batch.data() + field::crc);
    set_base_offset(batch, Offset{123456789012});
    set_partition_leader_epoch(batch, LeaderEpoch{42});
    auto view = RecordBatchView::parse(batch);
    ASSERT_TRUE(view);
    EXPECT_EQ(view->base_offset(), Offset{123456789012});
    EXPECT_EQ(view->partition_leader_epoch(), LeaderEpoch{42});
    EXPECT_EQ(view->crc(), crc_before);
    EXPECT_TRUE(view->validate()) << view->validate().error().to_string();
    EXPECT_EQ(view->next_offset(), Offset{123456789012 + view->last_offset_delta() + 1});
    EXPECT_TRUE(decode_batch(*view));
  }
}

TEST_P(FixtureTest, LogAppendTimeEditRewritesCrc) {
  for (Bytes batch : split_batches(read_fixture(GetParam()))) {
    const Bytes original = batch;
    const int64_t append_time = kT0 + 123456;
    set_log_append_time(batch, append_time);
    auto view = RecordBatchView::parse(batch);
    ASSERT_TRUE(view);
    auto before = RecordBatchView::parse(original);
    ASSERT_TRUE(before);
    EXPECT_EQ(view->attributes(), before->attributes() | attr::timestamp_type);
    EXPECT_EQ(view->compression(), before->compression());
    EXPECT_EQ(view->timestamp_type(), TimestampType::log_append_time);
    EXPECT_EQ(view->max_timestamp(), append_time);
    EXPECT_EQ(view->base_timestamp(), before->base_timestamp());
    EXPECT_NE(view->crc(), before->crc());
    EXPECT_EQ(view->crc(), view->compute_crc());
    EXPECT_TRUE(view->validate()) << view->validate().error().to_string();
    // Only attributes, maxTimestamp and the CRC changed.
    for (size_t i = 0; i < batch.size(); ++i) {
      const bool edited = (i >= field::crc && i < field::crc + 4) ||
                          (i >= field::attributes && i < field::attributes + 2) ||
                          (i >= field::max_timestamp && i < field::max_timestamp + 8);
      if (!edited) {
        ASSERT_EQ(batch[i], original[i]) << "byte " << i;
      }
    }
    auto decoded = decode_batch(*view);
    ASSERT_TRUE(decoded) << decoded.error().to_string();
    EXPECT_EQ(decoded->records.size(), static_cast<size_t>(view->record_count()));
    // Doing it again is harmless.
    set_log_append_time(batch, append_time);
    auto again = RecordBatchView::parse(batch);
    ASSERT_TRUE(again);
    EXPECT_TRUE(again->validate());
    EXPECT_EQ(again->attributes(), view->attributes());
  }
}

// ---------------------------------------------------------------------------------------------
// Hostile and damaged input.

TEST_P(FixtureTest, EveryTruncationFailsCleanly) {
  for (const Bytes& batch : split_batches(read_fixture(GetParam()))) {
    for (size_t len = 0; len < batch.size(); ++len) {
      // An exact-size copy, so a sanitizer build catches any read past the end.
      const Bytes prefix(batch.begin(), batch.begin() + static_cast<std::ptrdiff_t>(len));
      auto parsed = RecordBatchView::parse(prefix);
      if (!parsed) {
        expect_error(parsed.error(), Errc::corrupt_message, "truncated to " + std::to_string(len));
        continue;
      }
      auto valid = parsed->validate();
      ASSERT_FALSE(valid) << "truncated to " << len << " still validates";
      expect_error(valid.error(), Errc::corrupt_message, "truncated to " + std::to_string(len));
    }
  }
}

// Truncated, but with batchLength and CRC patched to match: framing and CRC pass, so decoding
// the records (and decompressing them) is what must notice.
TEST_P(FixtureTest, TruncationWithRepairedFramingFailsToDecode) {
  for (const Bytes& batch : split_batches(read_fixture(GetParam()))) {
    for (size_t len = kBatchHeaderSize; len < batch.size(); ++len) {
      Bytes cut(batch.begin(), batch.begin() + static_cast<std::ptrdiff_t>(len));
      store_be<int32_t>(cut.data() + field::batch_length, static_cast<int32_t>(len - kLogOverhead));
      recompute_crc(cut);
      auto parsed = RecordBatchView::parse(cut);
      ASSERT_TRUE(parsed) << parsed.error().to_string();
      ASSERT_EQ(parsed->size_bytes(), len);
      auto valid = parsed->validate();
      if (!valid) {
        expect_error(valid.error(), Errc::corrupt_message, "len " + std::to_string(len));
        continue;
      }
      auto decoded = decode_batch(*parsed);
      ASSERT_FALSE(decoded) << "truncated to " << len << " still decodes";
      expect_error(decoded.error(), Errc::corrupt_message, "len " + std::to_string(len));
    }
  }
}

TEST(BatchIteratorTest, TruncatedStreamStopsAtLastWholeBatch) {
  const Bytes file = read_fixture("multi.bin");
  std::vector<size_t> boundaries = {0};
  for (const Bytes& b : split_batches(file)) boundaries.push_back(boundaries.back() + b.size());
  ASSERT_EQ(boundaries.size(), 4u);
  ASSERT_EQ(boundaries.back(), file.size());
  for (size_t len = 0; len <= file.size(); ++len) {
    const Bytes prefix(file.begin(), file.begin() + static_cast<std::ptrdiff_t>(len));
    BatchIterator it(prefix);
    size_t whole = 0;
    for (;;) {
      auto next = it.next();
      if (!next) {
        expect_error(next.error(), Errc::corrupt_message, "len " + std::to_string(len));
        break;
      }
      if (!*next) break;
      ++whole;
      ASSERT_LE(whole, 3u);
    }
    const size_t expected_whole = static_cast<size_t>(
        std::upper_bound(boundaries.begin(), boundaries.end(), len) - boundaries.begin() - 1);
    EXPECT_EQ(whole, expected_whole) << "len " << len;
    EXPECT_EQ(it.position(), boundaries[expected_whole]) << "len " << len;
    const bool clean = std::find(boundaries.begin(), boundaries.end(), len) != boundaries.end();
    if (clean) {
      auto end = it.next();
      ASSERT_TRUE(end);
      EXPECT_FALSE(end->has_value());
    }
  }
}

TEST(BatchIteratorTest, GarbageAfterValidBatches) {
  Bytes data = read_fixture("multi.bin");
  const size_t valid_end = data.size();
  for (int i = 0; i < 20; ++i) data.push_back(std::byte{0xff});
  BatchIterator it(data);
  for (int i = 0; i < 3; ++i) {
    auto next = it.next();
    ASSERT_TRUE(next && *next);
  }
  auto bad = it.next();
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), Errc::corrupt_message);
  EXPECT_EQ(it.position(), valid_end);
}

TEST(BatchIteratorTest, EmptyInputIsCleanEnd) {
  BatchIterator it(ByteView{});
  auto next = it.next();
  ASSERT_TRUE(next);
  EXPECT_FALSE(next->has_value());
  EXPECT_EQ(it.position(), 0u);
}

TEST_P(FixtureTest, EveryBitFlipUnderTheCrcIsDetected) {
  for (const Bytes& original : split_batches(read_fixture(GetParam()))) {
    Bytes batch = original;
    // crc field itself (17..20) and everything it covers (21..end).
    for (size_t i = field::crc; i < batch.size(); ++i) {
      for (int bit = 0; bit < 8; ++bit) {
        batch[i] ^= static_cast<std::byte>(1u << bit);
        auto parsed = RecordBatchView::parse(batch);
        ASSERT_TRUE(parsed) << "byte " << i;
        auto valid = parsed->validate();
        ASSERT_FALSE(valid) << "flip of byte " << i << " bit " << bit << " not detected";
        ASSERT_EQ(valid.error().code(), Errc::corrupt_message) << valid.error().to_string();
        batch[i] ^= static_cast<std::byte>(1u << bit);
      }
    }
    ASSERT_TRUE(batch == original);
    // baseOffset and partitionLeaderEpoch are outside the CRC by design.
    for (size_t i : {field::base_offset, field::base_offset + 7, field::partition_leader_epoch,
                     field::partition_leader_epoch + 3}) {
      batch[i] ^= std::byte{0x01};
      auto parsed = RecordBatchView::parse(batch);
      ASSERT_TRUE(parsed);
      EXPECT_TRUE(parsed->validate()) << "byte " << i;
      batch[i] ^= std::byte{0x01};
    }
  }
}

// A legacy (magic 0/1) message set entry: offset, size, crc, magic, attributes, [timestamp],
// key, value. The magic byte sits at offset 16 in every format.
Bytes legacy_message(int8_t magic) {
  Bytes body;
  auto put = [&body](auto v) {
    const size_t at = body.size();
    body.resize(at + sizeof(v));
    store_be(body.data() + at, v);
  };
  put(uint32_t{0x12345678});  // crc (not checked: rejected before that)
  put(magic);
  put(int8_t{0});  // attributes
  if (magic == 1) put(int64_t{kT0});
  put(int32_t{-1});  // null key
  put(int32_t{5});
  for (char c : std::string_view("hello")) body.push_back(static_cast<std::byte>(c));
  Bytes out(12);
  store_be<int64_t>(out.data(), 0);
  store_be<int32_t>(out.data() + 8, static_cast<int32_t>(body.size()));
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

TEST(BadBatchTest, LegacyMagicIsUnsupportedFormat) {
  for (int8_t magic : {int8_t{0}, int8_t{1}}) {
    SCOPED_TRACE("magic " + std::to_string(magic));
    // A genuine legacy message (shorter than any v2 header) ...
    const Bytes legacy = legacy_message(magic);
    ASSERT_EQ(static_cast<int8_t>(legacy[field::magic]), magic);
    auto parsed = RecordBatchView::parse(legacy);
    ASSERT_FALSE(parsed);
    EXPECT_EQ(parsed.error().code(), Errc::unsupported_for_message_format);
    EXPECT_NE(parsed.error().message().find("v2"), std::string::npos) << parsed.error().message();
    BatchIterator it(legacy);
    auto next = it.next();
    ASSERT_FALSE(next);
    EXPECT_EQ(next.error().code(), Errc::unsupported_for_message_format);

    // ... and a v2 batch with its magic byte rewritten.
    Bytes batch = read_fixture("none.bin");
    batch[field::magic] = static_cast<std::byte>(magic);
    auto patched = RecordBatchView::parse(batch);
    ASSERT_FALSE(patched);
    EXPECT_EQ(patched.error().code(), Errc::unsupported_for_message_format);
    EXPECT_NE(patched.error().message().find("v2"), std::string::npos);
  }
}

TEST(BadBatchTest, UnknownMagicIsCorrupt) {
  for (int magic : {3, 4, 127, -1, -128}) {
    Bytes batch = read_fixture("none.bin");
    batch[field::magic] = static_cast<std::byte>(magic);
    auto parsed = RecordBatchView::parse(batch);
    ASSERT_FALSE(parsed) << magic;
    expect_error(parsed.error(), Errc::corrupt_message, "magic " + std::to_string(magic));
  }
}

TEST(BadBatchTest, AbsurdBatchLengthRejected) {
  const Bytes original = read_fixture("none.bin");
  for (int32_t length :
       {-1, -49, std::numeric_limits<int32_t>::min(), 0, 1, 48, std::numeric_limits<int32_t>::max(),
        (1 << 30) + 1, 1 << 30, static_cast<int32_t>(original.size() - kLogOverhead + 1)}) {
    Bytes batch = original;
    store_be<int32_t>(batch.data() + field::batch_length, length);
    auto parsed = RecordBatchView::parse(batch);
    ASSERT_FALSE(parsed) << length;
    expect_error(parsed.error(), Errc::corrupt_message, "length " + std::to_string(length));
    BatchIterator it(batch);
    auto next = it.next();
    ASSERT_FALSE(next);
    EXPECT_EQ(it.position(), 0u);
  }
}

TEST(BadBatchTest, ShorterLengthLeavesBatchThatFailsCrc) {
  // A batchLength smaller than the real one parses (it frames a shorter batch) but the CRC, which
  // covers up to the claimed end, no longer matches.
  Bytes batch = read_fixture("none.bin");
  store_be<int32_t>(batch.data() + field::batch_length, 100);
  auto parsed = RecordBatchView::parse(batch);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->size_bytes(), 112u);
  auto valid = parsed->validate();
  ASSERT_FALSE(valid);
  EXPECT_EQ(valid.error().code(), Errc::corrupt_message);
}

// A batch from our builder with a header field overwritten and the CRC recomputed, so only the
// consistency checks stand between it and the decoder.
template <typename T>
Bytes tampered(size_t offset, T value, Compression codec = Compression::none) {
  BatchOptions options;
  options.compression = codec;
  BatchBuilder builder(options);
  for (int i = 0; i < 5; ++i) builder.append(kT0 + i, bv("key"), bv("value"));
  auto built = builder.build();
  if (!built) throw std::runtime_error(built.error().to_string());
  Bytes batch = std::move(*built);
  store_be<T>(batch.data() + offset, value);
  auto view = RecordBatchView::parse(batch);
  if (!view) throw std::runtime_error(view.error().to_string());
  store_be<uint32_t>(batch.data() + field::crc, view->compute_crc());
  return batch;
}

void expect_validate_fails(const Bytes& batch, Errc code, const std::string& what) {
  auto parsed = RecordBatchView::parse(batch);
  ASSERT_TRUE(parsed) << what << ": " << parsed.error().to_string();
  EXPECT_EQ(parsed->crc(), parsed->compute_crc()) << what;
  auto valid = parsed->validate();
  ASSERT_FALSE(valid) << what << " passes validate()";
  expect_error(valid.error(), code, what);
}

TEST(BadBatchTest, InconsistentHeadersFailValidate) {
  expect_validate_fails(tampered<int32_t>(field::records_count, 6), Errc::corrupt_message,
                        "count above lastOffsetDelta + 1");
  expect_validate_fails(tampered<int32_t>(field::records_count, -1), Errc::corrupt_message,
                        "negative count");
  expect_validate_fails(
      tampered<int32_t>(field::records_count, std::numeric_limits<int32_t>::min()),
      Errc::corrupt_message, "INT32_MIN count");
  expect_validate_fails(tampered<int32_t>(field::last_offset_delta, -1), Errc::corrupt_message,
                        "negative lastOffsetDelta");
  for (int16_t codec : {int16_t{5}, int16_t{6}, int16_t{7}}) {
    expect_validate_fails(tampered<int16_t>(field::attributes, codec),
                          Errc::unsupported_compression_type, "codec " + std::to_string(codec));
  }
  // Count consistent with lastOffsetDelta but impossible for the bytes present.
  Bytes many = tampered<int32_t>(field::last_offset_delta, 1000000);
  store_be<int32_t>(many.data() + field::records_count, 1000000);
  recompute_crc(many);
  expect_validate_fails(many, Errc::corrupt_message, "count larger than region");
}

TEST(BadBatchTest, HugeLastOffsetDeltaIsNotAnOverflow) {
  // Compaction may leave few records under a huge lastOffsetDelta; INT32_MAX must not overflow
  // the count check.
  const Bytes batch =
      tampered<int32_t>(field::last_offset_delta, std::numeric_limits<int32_t>::max());
  auto parsed = RecordBatchView::parse(batch);
  ASSERT_TRUE(parsed);
  auto valid = parsed->validate();
  EXPECT_TRUE(valid) << valid.error().to_string();
  EXPECT_EQ(parsed->record_count(), 5);
}

TEST(BadBatchTest, CountMismatchFailsDecode) {
  // Fewer records claimed than present (allowed by validate) leaves trailing bytes.
  for (Compression codec : {Compression::none, Compression::zstd}) {
    const Bytes fewer = tampered<int32_t>(field::records_count, 4, codec);
    auto parsed = RecordBatchView::parse(fewer);
    ASSERT_TRUE(parsed);
    ASSERT_TRUE(parsed->validate());
    auto decoded = decode_batch(*parsed);
    ASSERT_FALSE(decoded);
    EXPECT_EQ(decoded.error().code(), Errc::corrupt_message);
  }
  // More claimed than present (compressed, so validate cannot bound it by size).
  Bytes more = tampered<int32_t>(field::last_offset_delta, 100, Compression::lz4);
  store_be<int32_t>(more.data() + field::records_count, 100);
  recompute_crc(more);
  auto parsed = RecordBatchView::parse(more);
  ASSERT_TRUE(parsed);
  ASSERT_TRUE(parsed->validate());
  auto decoded = decode_batch(*parsed);
  ASSERT_FALSE(decoded);
  EXPECT_EQ(decoded.error().code(), Errc::corrupt_message);
}

// ---------------------------------------------------------------------------------------------
// decode_records on hand-made regions.

struct RawHeader {
  int32_t key_len;  // -1 for null
  std::string key;
  int32_t value_len;
  std::string value;
};

// A record body with every length written as given, so tests can lie in any field.
Bytes raw_body(int32_t key_len, std::string_view key, int32_t value_len, std::string_view value,
               int32_t header_count, const std::vector<RawHeader>& headers = {}) {
  Bytes b;
  b.push_back(std::byte{0});  // attributes
  write_varlong(b, 0);        // timestamp delta
  write_varint(b, 0);         // offset delta
  write_varint(b, key_len);
  b.insert(b.end(), bv(key).begin(), bv(key).end());
  write_varint(b, value_len);
  b.insert(b.end(), bv(value).begin(), bv(value).end());
  write_varint(b, header_count);
  for (const auto& h : headers) {
    write_varint(b, h.key_len);
    b.insert(b.end(), bv(h.key).begin(), bv(h.key).end());
    write_varint(b, h.value_len);
    b.insert(b.end(), bv(h.value).begin(), bv(h.value).end());
  }
  return b;
}

Bytes good_body(std::string_view key = "k", std::string_view value = "v") {
  return raw_body(static_cast<int32_t>(key.size()), key, static_cast<int32_t>(value.size()), value,
                  1, {{1, "h", 2, "hv"}});
}

// Length prefix + body.
Bytes framed(const Bytes& body, std::optional<int32_t> length = std::nullopt) {
  Bytes out;
  write_varint(out, length.value_or(static_cast<int32_t>(body.size())));
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

Bytes concat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

void expect_decode_fails(const Bytes& region, int32_t count, const std::string& what) {
  auto decoded = decode_records(region, count);
  ASSERT_FALSE(decoded) << what << ": decoded " << decoded->size() << " records";
  expect_error(decoded.error(), Errc::corrupt_message, what);
}

TEST(DecodeRecordsTest, WellFormedRegion) {
  const Bytes region = concat({framed(good_body("a", "1")), framed(good_body("b", "2"))});
  auto decoded = decode_records(region, 2);
  ASSERT_TRUE(decoded) << decoded.error().to_string();
  ASSERT_EQ(decoded->size(), 2u);
  EXPECT_EQ(to_opt_string((*decoded)[1].key), "b");
  ASSERT_EQ((*decoded)[1].headers.size(), 1u);
  EXPECT_EQ(to_string((*decoded)[1].headers[0].key), "h");
  EXPECT_EQ(to_opt_string((*decoded)[1].headers[0].value), "hv");
  // Views point into the region, not into copies.
  EXPECT_GE((*decoded)[0].key->data(), region.data());
  EXPECT_LT((*decoded)[0].key->data(), region.data() + region.size());

  auto none = decode_records(ByteView{}, 0);
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
}

TEST(DecodeRecordsTest, RecordCountMismatch) {
  const Bytes two = concat({framed(good_body()), framed(good_body())});
  expect_decode_fails(two, 3, "count larger than present");
  expect_decode_fails(two, 1, "trailing record");
  expect_decode_fails(two, 0, "records but count 0");
  expect_decode_fails(two, -1, "negative count");
  expect_decode_fails(Bytes(two.begin(), two.end() - 1), 2, "last byte missing");
  Bytes trailing = two;
  trailing.push_back(std::byte{0});
  expect_decode_fails(trailing, 2, "trailing byte after the records");
}

TEST(DecodeRecordsTest, EveryTruncationFails) {
  const Bytes region = concat({framed(good_body("key", "value")), framed(good_body())});
  for (size_t len = 0; len < region.size(); ++len) {
    const Bytes prefix(region.begin(), region.begin() + static_cast<std::ptrdiff_t>(len));
    expect_decode_fails(prefix, 2, "truncated to " + std::to_string(len));
  }
}

TEST(DecodeRecordsTest, BadRecordLengths) {
  const Bytes body = good_body();
  const auto size = static_cast<int32_t>(body.size());
  expect_decode_fails(framed(body, -1), 1, "length -1");
  expect_decode_fails(framed(body, -2), 1, "length -2");
  expect_decode_fails(framed(body, std::numeric_limits<int32_t>::min()), 1, "length INT32_MIN");
  expect_decode_fails(framed(body, size + 1), 1, "length one past the region");
  expect_decode_fails(framed(body, std::numeric_limits<int32_t>::max()), 1, "length INT32_MAX");
  expect_decode_fails(framed(body, size - 1), 1, "length one short");
  expect_decode_fails(framed(body, 0), 1, "length 0");
  Bytes padded = body;
  padded.push_back(std::byte{0});
  expect_decode_fails(framed(padded), 1, "trailing byte inside the record");
  // An over-long varint as the length.
  Bytes overlong = {std::byte{0x80}, std::byte{0x80}, std::byte{0x80},
                    std::byte{0x80}, std::byte{0x80}, std::byte{0x00}};
  overlong.insert(overlong.end(), body.begin(), body.end());
  expect_decode_fails(overlong, 1, "over-long length varint");
  // Only the attributes byte.
  expect_decode_fails(framed(Bytes{std::byte{0}}), 1, "truncated record header");
}

TEST(DecodeRecordsTest, BadKeyAndValueLengths) {
  expect_decode_fails(framed(raw_body(-2, "", 1, "v", 0)), 1, "key length -2");
  expect_decode_fails(framed(raw_body(5, "k", 1, "v", 0)), 1, "key longer than record");
  expect_decode_fails(framed(raw_body(1, "k", -7, "", 0)), 1, "value length -7");
  expect_decode_fails(framed(raw_body(1, "k", 100, "v", 0)), 1, "value longer than record");
  expect_decode_fails(framed(raw_body(1, "k", std::numeric_limits<int32_t>::max(), "v", 0)), 1,
                      "value length INT32_MAX");
  // Null key and value are fine.
  auto ok = decode_records(framed(raw_body(-1, "", -1, "", 0)), 1);
  ASSERT_TRUE(ok);
  EXPECT_FALSE((*ok)[0].key);
  EXPECT_FALSE((*ok)[0].value);
}

TEST(DecodeRecordsTest, BadHeaders) {
  expect_decode_fails(framed(raw_body(1, "k", 1, "v", 1, {{-1, "", 1, "x"}})), 1,
                      "null header key");
  expect_decode_fails(framed(raw_body(1, "k", 1, "v", 1, {{-3, "", 1, "x"}})), 1,
                      "header key length -3");
  expect_decode_fails(framed(raw_body(1, "k", 1, "v", 1, {{1, "h", -2, ""}})), 1,
                      "header value length -2");
  expect_decode_fails(framed(raw_body(1, "k", 1, "v", 1, {{9, "h", 1, "x"}})), 1,
                      "header key past the record");
  expect_decode_fails(framed(raw_body(1, "k", 1, "v", -1)), 1, "header count -1");
  expect_decode_fails(framed(raw_body(1, "k", 1, "v", 2, {{1, "h", 1, "x"}})), 1,
                      "header count above headers present");
  expect_decode_fails(framed(raw_body(1, "k", 1, "v", 0, {{1, "h", 1, "x"}})), 1,
                      "header count below headers present");
  // A null header value is fine.
  auto ok = decode_records(framed(raw_body(1, "k", 1, "v", 1, {{1, "h", -1, ""}})), 1);
  ASSERT_TRUE(ok) << ok.error().to_string();
  ASSERT_EQ((*ok)[0].headers.size(), 1u);
  EXPECT_FALSE((*ok)[0].headers[0].value);
}

TEST(DecodeRecordsTest, AbsurdCountsDoNotAllocate) {
  const Bytes huge_headers = framed(raw_body(1, "k", 1, "v", 1 << 30, {{1, "h", 1, "x"}}));
  const Bytes max_headers =
      framed(raw_body(1, "k", 1, "v", std::numeric_limits<int32_t>::max(), {{1, "h", 1, "x"}}));
  const Bytes one = framed(good_body());
  size_t largest = 0;
  {
    AllocationTracker tracker;
    auto a = decode_records(huge_headers, 1);
    auto b = decode_records(max_headers, 1);
    auto c = decode_records(one, std::numeric_limits<int32_t>::max());
    auto d = decode_records(one, 1 << 30);
    largest = tracker.largest();
    EXPECT_FALSE(a);
    EXPECT_FALSE(b);
    EXPECT_FALSE(c);
    EXPECT_FALSE(d);
    if (!a) {
      EXPECT_EQ(a.error().code(), Errc::corrupt_message);
    }
    if (!c) {
      EXPECT_EQ(c.error().code(), Errc::corrupt_message);
    }
  }
  EXPECT_LT(largest, 4096u) << "a corrupt count drove an allocation of " << largest << " bytes";
}

// ---------------------------------------------------------------------------------------------
// decode_batch and the decompression limit.

class CompressedBatchTest : public ::testing::TestWithParam<Compression> {};

INSTANTIATE_TEST_SUITE_P(RealCodecs, CompressedBatchTest,
                         ::testing::Values(Compression::gzip, Compression::snappy, Compression::lz4,
                                           Compression::zstd),
                         codec_param_name);

TEST_P(CompressedBatchTest, DecompressionLimitApplies) {
  const Compression codec = GetParam();
  BatchOptions options;
  options.compression = codec;
  BatchBuilder builder(options);
  const std::string zeros(1 << 20, '\0');
  builder.append(kT0, bv("k"), bv(zeros));
  auto built = builder.build();
  ASSERT_TRUE(built);
  EXPECT_LT(built->size(), 64u << 10) << "should compress well";
  auto batch = RecordBatchView::parse(*built);
  ASSERT_TRUE(batch);
  ASSERT_TRUE(batch->validate());
  const size_t plain_size = builder.estimated_size() - kBatchHeaderSize;

  for (size_t limit : {size_t{64} << 10, plain_size - 1}) {
    auto decoded = decode_batch(*batch, limit);
    ASSERT_FALSE(decoded) << "limit " << limit;
    EXPECT_EQ(decoded.error().code(), Errc::corrupt_message);
    EXPECT_NE(decoded.error().message().find("exceeds limit"), std::string::npos)
        << decoded.error().message();
  }
  auto decoded = decode_batch(*batch, plain_size);
  ASSERT_TRUE(decoded) << decoded.error().to_string();
  ASSERT_EQ(decoded->records.size(), 1u);
  EXPECT_EQ(decoded->records[0].value->size(), zeros.size());
  EXPECT_TRUE(decode_batch(*batch));
}

TEST(DecodeBatchTest, GarbageCompressedRegionFails) {
  for (Compression codec :
       {Compression::gzip, Compression::snappy, Compression::lz4, Compression::zstd}) {
    BatchOptions options;
    options.compression = codec;
    BatchBuilder builder(options);
    builder.append(kT0, bv("k"), bv("some value"));
    auto built = builder.build();
    ASSERT_TRUE(built);
    Bytes batch = *built;
    for (size_t i = kBatchHeaderSize; i < batch.size(); ++i) batch[i] = std::byte{0xA5};
    recompute_crc(batch);
    auto parsed = RecordBatchView::parse(batch);
    ASSERT_TRUE(parsed);
    ASSERT_TRUE(parsed->validate());
    auto decoded = decode_batch(*parsed);
    ASSERT_FALSE(decoded) << compression_name(codec);
    EXPECT_EQ(decoded.error().code(), Errc::corrupt_message) << decoded.error().to_string();
  }
}

// finish() hands over the same bytes build() copies; restamp_producer keeps the batch valid.
TEST(BatchBuilderFinish, EqualsBuildAndRestampsTheProducerFields) {
  for (Compression codec : {Compression::none, Compression::lz4}) {
    BatchOptions options;
    options.compression = codec;
    BatchBuilder builder(options);
    builder.reserve(4096);
    for (int i = 0; i < 50; ++i) builder.append(kT0 + i, bv("key"), bv("value-" + std::to_string(i)));
    builder.set_producer(ProducerId{7}, ProducerEpoch{1}, 100);
    auto copied = builder.build();
    auto finished = builder.finish();
    ASSERT_TRUE(copied && finished);
    EXPECT_EQ(*copied, *finished) << compression_name(codec);

    Bytes batch = *finished;
    restamp_producer(batch, ProducerId{9}, ProducerEpoch{3}, 500);
    auto view = RecordBatchView::parse(batch);
    ASSERT_TRUE(view);
    EXPECT_TRUE(view->validate());
    EXPECT_EQ(view->crc(), view->compute_crc());
    EXPECT_EQ(view->producer_id(), ProducerId{9});
    EXPECT_EQ(view->producer_epoch(), ProducerEpoch{3});
    EXPECT_EQ(view->base_sequence(), 500);
    auto decoded = decode_batch(*view);
    ASSERT_TRUE(decoded);
    EXPECT_EQ(decoded->records.size(), 50u);
  }
}

}  // namespace
}  // namespace kafkacore::record
