#include "record/compression.h"

#include <gtest/gtest.h>
#include <zstd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <new>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/error.h"

// Records the largest operator-new request while armed, so the bomb tests can show the decoder's
// own buffers stay within max_output. (Codec libraries allocate with malloc and are not counted.)
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

constexpr Compression kAllCodecs[] = {Compression::none, Compression::gzip, Compression::snappy,
                                      Compression::lz4, Compression::zstd};
constexpr Compression kRealCodecs[] = {Compression::gzip, Compression::snappy, Compression::lz4,
                                       Compression::zstd};
constexpr size_t kMiB = 1024 * 1024;
constexpr size_t kBatchHeaderSize = 61;

class AllocationTracker {
 public:
  AllocationTracker() {
    g_largest_alloc = 0;
    g_tracking = true;
  }
  ~AllocationTracker() { g_tracking = false; }
  size_t largest() const { return g_largest_alloc.load(); }
};

Bytes random_bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  Bytes out(n);
  for (auto& b : out) b = static_cast<std::byte>(rng() & 0xff);
  return out;
}

Bytes compressible(size_t n) {
  Bytes out;
  out.reserve(n);
  for (int i = 0; out.size() < n; ++i) {
    const std::string line = "record " + std::to_string(i % 97) + " the quick brown fox\n";
    for (char c : line) {
      if (out.size() == n) break;
      out.push_back(static_cast<std::byte>(c));
    }
  }
  return out;
}

Bytes to_bytes(std::string_view s) {
  const ByteView v = as_bytes(s);
  return Bytes(v.begin(), v.end());
}

Bytes read_fixture(const std::string& name) {
  const std::string path = std::string(KAFKACORE_TEST_DATA_DIR) + "/record_batches/" + name;
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot open " << path;
  std::vector<char> chars((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  Bytes out(chars.size());
  std::transform(chars.begin(), chars.end(), out.begin(),
                 [](char c) { return static_cast<std::byte>(c); });
  return out;
}

// Minimal v2 batch parse: the records region is everything after the fixed 61-byte header.
struct FixtureBatch {
  int16_t attributes = 0;
  int32_t record_count = 0;
  Bytes records;
};

FixtureBatch parse_single_batch(const Bytes& file) {
  FixtureBatch b;
  if (file.size() < kBatchHeaderSize) {
    ADD_FAILURE() << "fixture shorter than a batch header";
    return b;
  }
  const size_t batch_size = static_cast<size_t>(load_be<int32_t>(file.data() + 8)) + 12;
  EXPECT_EQ(batch_size, file.size());
  EXPECT_EQ(static_cast<int>(file[16]), 2) << "magic";
  b.attributes = load_be<int16_t>(file.data() + 21);
  b.record_count = load_be<int32_t>(file.data() + 57);
  b.records.assign(file.begin() + kBatchHeaderSize,
                   file.begin() + static_cast<std::ptrdiff_t>(std::min(batch_size, file.size())));
  return b;
}

void expect_corrupt(const Result<Bytes>& r, const std::string& what) {
  ASSERT_FALSE(r.has_value()) << what << ": expected failure, got " << r->size() << " bytes";
  EXPECT_EQ(r.error().code(), Errc::corrupt_message) << what << ": " << r.error().message();
}

void expect_too_large(const Result<Bytes>& r, size_t limit) {
  ASSERT_FALSE(r.has_value()) << "expected size-limit failure, got " << r->size() << " bytes";
  EXPECT_EQ(r.error().code(), Errc::corrupt_message);
  EXPECT_NE(r.error().message().find("decompressed size exceeds limit of " +
                                     std::to_string(limit) + " bytes"),
            std::string::npos)
      << r.error().message();
}

// Offsets at which a xerial stream could legitimately end (after the header or a whole chunk).
std::set<size_t> xerial_boundaries(const Bytes& s) {
  std::set<size_t> out{0, 16};
  for (size_t pos = 16; pos + 4 <= s.size();) {
    pos += 4 + static_cast<size_t>(load_be<int32_t>(s.data() + pos));
    out.insert(pos);
  }
  return out;
}

// A named function, since a lambda's parameter would shadow the macro's own.
std::string codec_name(const ::testing::TestParamInfo<Compression>& param_info) {
  return std::string(compression_name(param_info.param));
}

class CodecTest : public ::testing::TestWithParam<Compression> {};

INSTANTIATE_TEST_SUITE_P(AllCodecs, CodecTest, ::testing::ValuesIn(kAllCodecs),
                         codec_name);

class RealCodecTest : public ::testing::TestWithParam<Compression> {};

INSTANTIATE_TEST_SUITE_P(RealCodecs, RealCodecTest, ::testing::ValuesIn(kRealCodecs),
                         codec_name);

TEST_P(CodecTest, RoundTrips) {
  const Compression codec = GetParam();
  const std::vector<Bytes> inputs = {Bytes{},
                                     to_bytes("hello, kafka"),
                                     random_bytes(kMiB, 1),
                                     compressible(kMiB),
                                     random_bytes(100 * 1024 + 7, 2),
                                     Bytes(3 * kMiB + 1, std::byte{0})};
  for (const Bytes& input : inputs) {
    auto packed = compress(codec, input);
    ASSERT_TRUE(packed.has_value()) << packed.error().to_string();
    auto unpacked = decompress(codec, *packed, input.size());
    ASSERT_TRUE(unpacked.has_value()) << input.size() << ": " << unpacked.error().to_string();
    EXPECT_TRUE(*unpacked == input) << "round trip differs for " << input.size() << " bytes";
  }
}

TEST_P(RealCodecTest, ShrinksCompressibleInput) {
  const Bytes input = compressible(kMiB);
  auto packed = compress(GetParam(), input);
  ASSERT_TRUE(packed.has_value());
  EXPECT_LT(packed->size(), input.size() / 5);
}

TEST_P(CodecTest, CompressIntoAppendsAfterExistingBytes) {
  const Compression codec = GetParam();
  const Bytes input = compressible(200 * 1024);
  Bytes out = to_bytes("xyz");
  ASSERT_TRUE(compress_into(codec, input, out).has_value());
  ASSERT_GE(out.size(), 3u);
  EXPECT_EQ(out[0], std::byte{'x'});
  EXPECT_EQ(out[2], std::byte{'z'});
  auto unpacked = decompress(codec, ByteView(out).subspan(3), input.size());
  ASSERT_TRUE(unpacked.has_value()) << unpacked.error().to_string();
  EXPECT_TRUE(*unpacked == input);
}

TEST_P(CodecTest, LimitIsInclusive) {
  const Compression codec = GetParam();
  for (const Bytes& input : {compressible(300 * 1024), random_bytes(300 * 1024, 3)}) {
    auto packed = compress(codec, input);
    ASSERT_TRUE(packed.has_value());
    auto exact = decompress(codec, *packed, input.size());
    ASSERT_TRUE(exact.has_value()) << exact.error().to_string();
    EXPECT_EQ(exact->size(), input.size());
    expect_too_large(decompress(codec, *packed, input.size() - 1), input.size() - 1);
  }
  auto one = compress(codec, to_bytes("x"));
  ASSERT_TRUE(one.has_value());
  expect_too_large(decompress(codec, *one, 0), 0);
}

TEST_P(CodecTest, DecompressionBombStopsAtLimit) {
  const Compression codec = GetParam();
  const Bytes zeros(64 * kMiB, std::byte{0});
  auto packed = compress(codec, zeros);
  ASSERT_TRUE(packed.has_value());
  if (codec != Compression::none) {
    EXPECT_LT(packed->size(), 4 * kMiB);
  }
  AllocationTracker tracker;
  auto r = decompress(codec, *packed, kMiB);
  const size_t largest = tracker.largest();
  expect_too_large(r, kMiB);
  EXPECT_LE(largest, kMiB);
}

TEST_P(RealCodecTest, EveryTruncationFails) {
  const Compression codec = GetParam();
  auto packed = compress(codec, compressible(3000));
  ASSERT_TRUE(packed.has_value());
  const std::set<size_t> valid_ends =
      codec == Compression::snappy ? xerial_boundaries(*packed) : std::set<size_t>{};
  for (size_t cut = 0; cut < packed->size(); ++cut) {
    if (valid_ends.contains(cut)) continue;
    expect_corrupt(decompress(codec, ByteView(*packed).first(cut), kMiB),
                   "cut at " + std::to_string(cut));
  }
}

TEST_P(RealCodecTest, TruncatedLargeStreamFails) {
  const Compression codec = GetParam();
  auto packed = compress(codec, random_bytes(kMiB, 4));
  ASSERT_TRUE(packed.has_value());
  const std::set<size_t> valid_ends =
      codec == Compression::snappy ? xerial_boundaries(*packed) : std::set<size_t>{};
  const size_t n = packed->size();
  for (size_t cut : {size_t{20}, n / 3, n / 2, n - 100, n - 5, n - 1}) {
    if (valid_ends.contains(cut)) continue;
    expect_corrupt(decompress(codec, ByteView(*packed).first(cut), 2 * kMiB),
                   "cut at " + std::to_string(cut));
  }
}

TEST_P(RealCodecTest, GarbageFails) {
  const Compression codec = GetParam();
  for (uint32_t seed = 10; seed < 20; ++seed) {
    expect_corrupt(decompress(codec, random_bytes(1024, seed), kMiB),
                   "seed " + std::to_string(seed));
  }
  // Valid magic followed by junk must still be rejected.
  auto packed = compress(codec, compressible(1000));
  ASSERT_TRUE(packed.has_value());
  Bytes junk(packed->begin(), packed->begin() + 8);
  const Bytes tail = random_bytes(64, 99);
  junk.insert(junk.end(), tail.begin(), tail.end());
  expect_corrupt(decompress(codec, junk, kMiB), "magic + junk");
}

TEST_P(RealCodecTest, TrailingBytesFail) {
  const Compression codec = GetParam();
  auto packed = compress(codec, compressible(5000));
  ASSERT_TRUE(packed.has_value());
  const std::string_view extras[] = {"\x01", "junk", std::string_view("\0\0\0\0\0\0\0", 7)};
  for (std::string_view extra : extras) {
    Bytes data = *packed;
    const Bytes tail = to_bytes(extra);
    data.insert(data.end(), tail.begin(), tail.end());
    expect_corrupt(decompress(codec, data, kMiB), "trailing " + std::to_string(extra.size()));
  }
}

TEST(CompressionTest, GzipDetectsCorruptedPayload) {
  auto packed = compress(Compression::gzip, compressible(5000));
  ASSERT_TRUE(packed.has_value());
  // A flipped bit in the trailer's CRC32 leaves the deflate data valid; only the check sees it.
  Bytes data = *packed;
  data[data.size() - 6] ^= std::byte{0x40};
  expect_corrupt(decompress(Compression::gzip, data, kMiB), "bad crc");
}

TEST(CompressionTest, OutputsStartWithFormatMagic) {
  const Bytes input = compressible(1000);
  auto gz = compress(Compression::gzip, input);
  ASSERT_TRUE(gz.has_value());
  EXPECT_EQ((*gz)[0], std::byte{0x1f});
  EXPECT_EQ((*gz)[1], std::byte{0x8b});

  auto lz = compress(Compression::lz4, input);
  ASSERT_TRUE(lz.has_value());
  ASSERT_GE(lz->size(), 7u);
  uint32_t magic_le = 0;
  for (int i = 3; i >= 0; --i) magic_le = (magic_le << 8) | static_cast<uint8_t>((*lz)[i]);
  EXPECT_EQ(magic_le, 0x184D2204u);
  // FLG: version 01, independent blocks; BD: 64 KiB maximum block, as the Java client writes.
  EXPECT_EQ(static_cast<int>((*lz)[4]) & 0xe0, 0x60);
  EXPECT_EQ(static_cast<int>((*lz)[5]), 0x40);

  auto zs = compress(Compression::zstd, input);
  ASSERT_TRUE(zs.has_value());
  EXPECT_EQ(load_be<uint32_t>(zs->data()), 0x28b52ffdu);

  auto sn = compress(Compression::snappy, input);
  ASSERT_TRUE(sn.has_value());
  const Bytes header = to_bytes(std::string_view("\x82SNAPPY\0\0\0\0\x01\0\0\0\x01", 16));
  ASSERT_GE(sn->size(), header.size());
  EXPECT_TRUE(std::equal(header.begin(), header.end(), sn->begin()));
}

TEST(CompressionTest, SnappyXerialChunksHoldAtMost32KiB) {
  const Bytes input = compressible(kMiB + 5);
  auto packed = compress(Compression::snappy, input);
  ASSERT_TRUE(packed.has_value());
  size_t chunks = 0;
  size_t total = 0;
  for (size_t pos = 16; pos < packed->size(); ++chunks) {
    ASSERT_LE(pos + 5, packed->size());
    const auto len = static_cast<size_t>(load_be<int32_t>(packed->data() + pos));
    ASSERT_LE(len, packed->size() - pos - 4);
    // Each raw block opens with its uncompressed length as a varint.
    size_t ulen = 0;
    for (size_t i = pos + 4, shift = 0;; ++i, shift += 7) {
      const auto b = static_cast<uint8_t>((*packed)[i]);
      ulen |= static_cast<size_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) break;
    }
    EXPECT_LE(ulen, 32u * 1024);
    total += ulen;
    pos += 4 + len;
  }
  EXPECT_EQ(total, input.size());
  EXPECT_EQ(chunks, (input.size() + 32 * 1024 - 1) / (32 * 1024));
}

TEST(CompressionTest, SnappyDecodesRawAndXerial) {
  // Hand-built raw block: varint length 5, literal tag (5-1)<<2, "hello".
  const Bytes raw = to_bytes(std::string_view("\x05\x10hello", 7));
  auto r = decompress(Compression::snappy, raw, 100);
  ASSERT_TRUE(r.has_value()) << r.error().to_string();
  EXPECT_TRUE(*r == to_bytes("hello"));

  // A single-chunk xerial stream minus header and length is a raw block.
  const Bytes input = compressible(20000);
  auto xerial = compress(Compression::snappy, input);
  ASSERT_TRUE(xerial.has_value());
  ASSERT_EQ(static_cast<size_t>(load_be<int32_t>(xerial->data() + 16)), xerial->size() - 20);
  auto from_xerial = decompress(Compression::snappy, *xerial, input.size());
  ASSERT_TRUE(from_xerial.has_value());
  EXPECT_TRUE(*from_xerial == input);
  auto from_raw = decompress(Compression::snappy, ByteView(*xerial).subspan(20), input.size());
  ASSERT_TRUE(from_raw.has_value()) << from_raw.error().to_string();
  EXPECT_TRUE(*from_raw == input);
  expect_too_large(decompress(Compression::snappy, ByteView(*xerial).subspan(20), 1000), 1000);

  // snappy-java writes nothing for an empty stream; a bare header is also empty.
  auto empty = decompress(Compression::snappy, ByteView{}, 0);
  ASSERT_TRUE(empty.has_value());
  EXPECT_TRUE(empty->empty());
  auto bare = decompress(Compression::snappy, ByteView(*xerial).first(16), 0);
  ASSERT_TRUE(bare.has_value());
  EXPECT_TRUE(bare->empty());
}

TEST(CompressionTest, SnappyRejectsBadXerialFraming) {
  auto packed = compress(Compression::snappy, compressible(100 * 1024));
  ASSERT_TRUE(packed.has_value());

  Bytes too_long = *packed;
  store_be<int32_t>(too_long.data() + 16, static_cast<int32_t>(too_long.size()));
  expect_corrupt(decompress(Compression::snappy, too_long, kMiB), "chunk past end");

  Bytes negative = *packed;
  store_be<int32_t>(negative.data() + 16, -5);
  expect_corrupt(decompress(Compression::snappy, negative, kMiB), "negative chunk");

  Bytes zero = *packed;
  store_be<int32_t>(zero.data() + 16, 0);
  expect_corrupt(decompress(Compression::snappy, zero, kMiB), "zero chunk");

  expect_corrupt(decompress(Compression::snappy, ByteView(*packed).first(12), kMiB),
                 "short header");
  expect_corrupt(decompress(Compression::snappy, ByteView(*packed).first(18), kMiB),
                 "short chunk length");
}

TEST(CompressionTest, SnappyClaimedLengthCheckedBeforeAllocating) {
  // Raw block claiming 0xffffffff bytes, backed by almost nothing.
  const Bytes raw = to_bytes(std::string_view("\xff\xff\xff\xff\x0f\x10hello", 11));
  AllocationTracker tracker;
  auto r = decompress(Compression::snappy, raw, kMiB);
  const size_t largest = tracker.largest();
  expect_too_large(r, kMiB);
  EXPECT_LT(largest, kMiB);

  // Xerial chunks whose claims add up past the limit fail before any output exists.
  auto chunk = compress(Compression::snappy, Bytes(32 * 1024, std::byte{7}));
  ASSERT_TRUE(chunk.has_value());
  Bytes stream(chunk->begin(), chunk->begin() + 16);
  for (int i = 0; i < 40; ++i) stream.insert(stream.end(), chunk->begin() + 16, chunk->end());
  expect_too_large(decompress(Compression::snappy, stream, kMiB), kMiB);
  auto ok = decompress(Compression::snappy, stream, 40 * 32 * 1024);
  ASSERT_TRUE(ok.has_value()) << ok.error().to_string();
  EXPECT_EQ(ok->size(), 40u * 32 * 1024);
}

// Streaming zstd writers (like Java's zstd-jni) omit the content size, so the limit must be
// enforced while decoding rather than from the frame header.
Bytes zstd_stream_without_size(const Bytes& input, int window_log) {
  ZSTD_CCtx* ctx = ZSTD_createCCtx();
  if (window_log != 0) ZSTD_CCtx_setParameter(ctx, ZSTD_c_windowLog, window_log);
  Bytes out(ZSTD_compressBound(input.size()) + 64);
  ZSTD_outBuffer dst{out.data(), out.size(), 0};
  ZSTD_inBuffer src{input.data(), input.size(), 0};
  // ZSTD_e_continue first, so the encoder never learns the total size.
  size_t rc = ZSTD_compressStream2(ctx, &dst, &src, ZSTD_e_continue);
  while (!ZSTD_isError(rc)) {
    rc = ZSTD_compressStream2(ctx, &dst, &src, ZSTD_e_end);
    if (rc == 0) break;
  }
  ZSTD_freeCCtx(ctx);
  EXPECT_FALSE(ZSTD_isError(rc));
  out.resize(dst.pos);
  return out;
}

TEST(CompressionTest, ZstdBombWithoutContentSize) {
  const Bytes packed = zstd_stream_without_size(Bytes(64 * kMiB, std::byte{0}), 0);
  ASSERT_EQ(ZSTD_getFrameContentSize(packed.data(), packed.size()), ZSTD_CONTENTSIZE_UNKNOWN);
  AllocationTracker tracker;
  auto r = decompress(Compression::zstd, packed, kMiB);
  const size_t largest = tracker.largest();
  expect_too_large(r, kMiB);
  EXPECT_LE(largest, kMiB);

  const Bytes small = compressible(100000);
  const Bytes streamed = zstd_stream_without_size(small, 0);
  auto ok = decompress(Compression::zstd, streamed, small.size());
  ASSERT_TRUE(ok.has_value()) << ok.error().to_string();
  EXPECT_TRUE(*ok == small);
  expect_too_large(decompress(Compression::zstd, streamed, small.size() - 1), small.size() - 1);
}

TEST(CompressionTest, ZstdRefusesHugeDeclaredWindow) {
  // A 1 GiB window would be allocated up front by the decoder; it must be refused instead.
  const Bytes packed = zstd_stream_without_size(compressible(1000), 30);
  expect_corrupt(decompress(Compression::zstd, packed, kMiB), "window 2^30");
}

TEST(CompressionTest, NoneEnforcesLimit) {
  const Bytes input = random_bytes(100, 5);
  expect_too_large(decompress(Compression::none, input, 99), 99);
  auto r = decompress(Compression::none, input, 100);
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(*r == input);
}

TEST(CompressionTest, LevelsAreValidated) {
  const Bytes input = compressible(50000);
  const std::vector<std::pair<Compression, int>> good = {
      {Compression::gzip, 1},  {Compression::gzip, 9},  {Compression::lz4, 1},
      {Compression::lz4, 9},   {Compression::lz4, 17},  {Compression::zstd, 1},
      {Compression::zstd, 19}, {Compression::zstd, -5}, {Compression::snappy, 42}};
  for (auto [codec, level] : good) {
    auto packed = compress(codec, input, level);
    ASSERT_TRUE(packed.has_value()) << compression_name(codec) << " " << level;
    auto unpacked = decompress(codec, *packed, input.size());
    ASSERT_TRUE(unpacked.has_value());
    EXPECT_TRUE(*unpacked == input);
  }
  for (auto [codec, level] : std::vector<std::pair<Compression, int>>{
           {Compression::gzip, 10}, {Compression::lz4, 18}, {Compression::zstd, 1000}}) {
    auto packed = compress(codec, input, level);
    ASSERT_FALSE(packed.has_value()) << compression_name(codec) << " " << level;
    EXPECT_EQ(packed.error().code(), Errc::invalid_request);
  }
}

TEST(CompressionTest, NamesParse) {
  for (Compression c : kAllCodecs) EXPECT_EQ(parse_compression(compression_name(c)), c);
  EXPECT_EQ(compression_name(Compression::lz4), "lz4");
  EXPECT_FALSE(parse_compression("producer").has_value());
  EXPECT_FALSE(parse_compression("").has_value());
  EXPECT_FALSE(parse_compression("gzip ").has_value());
}

TEST(CompressionTest, UnknownCodecRejected) {
  const auto bogus = static_cast<Compression>(5);
  EXPECT_EQ(compression_name(bogus), "unknown");
  auto c = compress(bogus, to_bytes("abc"));
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().code(), Errc::unsupported_compression_type);
  auto d = decompress(bogus, to_bytes("abc"), 100);
  ASSERT_FALSE(d.has_value());
  EXPECT_EQ(d.error().code(), Errc::unsupported_compression_type);
}

// The fixtures were built by kafka-python with the same logical records in every file, so the
// uncompressed records region of none.bin must equal each decompressed region byte for byte.
TEST_P(RealCodecTest, DecodesRealClientBatches) {
  const Compression codec = GetParam();
  const FixtureBatch plain = parse_single_batch(read_fixture("none.bin"));
  ASSERT_EQ(plain.attributes & 7, 0);
  ASSERT_EQ(plain.record_count, 5);
  ASSERT_FALSE(plain.records.empty());

  const FixtureBatch batch =
      parse_single_batch(read_fixture(std::string(compression_name(codec)) + ".bin"));
  ASSERT_EQ(batch.attributes & 7, static_cast<int>(codec));
  EXPECT_EQ(batch.record_count, 5);
  EXPECT_LT(batch.records.size(), plain.records.size());
  auto records = decompress(codec, batch.records, kMiB);
  ASSERT_TRUE(records.has_value()) << records.error().to_string();
  EXPECT_GT(records->size(), 0u);
  EXPECT_TRUE(*records == plain.records);

  expect_too_large(decompress(codec, batch.records, plain.records.size() - 1),
                   plain.records.size() - 1);

  // And our own output for the same records must decode back identically.
  auto ours = compress(codec, plain.records);
  ASSERT_TRUE(ours.has_value());
  auto back = decompress(codec, *ours, plain.records.size());
  ASSERT_TRUE(back.has_value());
  EXPECT_TRUE(*back == plain.records);
}

}  // namespace
}  // namespace kafkacore::record
