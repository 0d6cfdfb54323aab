#include "record/compression.h"

#define ZLIB_CONST  // makes z_stream::next_in const, so input spans need no const_cast
#include <lz4frame.h>
#include <snappy.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <array>
#include <bit>
#include <climits>
#include <cstdint>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <utility>

namespace kafkacore::record {
namespace {

// snappy-java's stream header: marker, "SNAPPY\0", then big-endian version and compat (both 1).
constexpr std::array<std::byte, 8> kXerialMagic = {
    std::byte{0x82}, std::byte{'S'}, std::byte{'N'}, std::byte{'A'},
    std::byte{'P'},  std::byte{'P'}, std::byte{'Y'}, std::byte{0}};
constexpr size_t kXerialHeaderSize = 16;
constexpr size_t kXerialBlockSize = 32 * 1024;  // snappy-java's default, which Kafka keeps
constexpr size_t kMinOutputStep = 64 * 1024;

auto corrupt(Compression codec, std::string_view what) {
  std::string msg(compression_name(codec));
  msg += ": ";
  msg += what;
  return make_error(Errc::corrupt_message, std::move(msg));
}

auto too_large(Compression codec, size_t limit) {
  return corrupt(codec,
                 "decompressed size exceeds limit of " + std::to_string(limit) + " bytes");
}

auto internal(Compression codec, std::string_view what) {
  std::string msg(compression_name(codec));
  msg += ": ";
  msg += what;
  return make_error(Errc::unknown_server_error, std::move(msg));
}

auto bad_level(Compression codec, int level, int lo, int hi) {
  return make_error(Errc::invalid_request,
                    std::string(compression_name(codec)) + " level " + std::to_string(level) +
                        " outside [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
}

size_t saturating_mul(size_t n, size_t k) {
  return n > std::numeric_limits<size_t>::max() / k ? std::numeric_limits<size_t>::max() : n * k;
}

// zlib counts bytes in uInt.
uInt clamp_uint(size_t n) { return static_cast<uInt>(std::min<size_t>(n, UINT_MAX)); }

// Output buffer for streaming decoders. Capacity grows geometrically but is reserved exactly
// (never past `limit`), because vector's own growth could overshoot the limit. Once full at the
// limit it lends a one-byte probe: if the decoder writes into it, the stream is too large.
class BoundedSink {
 public:
  BoundedSink(size_t limit, size_t hint)
      : limit_(limit), first_step_(std::min(limit, std::max(hint, kMinOutputStep))) {}

  std::span<std::byte> space() {
    if (used_ == buf_.size()) grow();
    if (used_ == buf_.size()) return {&probe_, 1};
    return {buf_.data() + used_, buf_.size() - used_};
  }

  // False when bytes landed in the probe, i.e. the output would exceed the limit.
  [[nodiscard]] bool commit(std::span<std::byte> region, size_t n) {
    if (region.data() == &probe_) return n == 0;
    used_ += n;
    return true;
  }

  Bytes take() && {
    buf_.resize(used_);
    return std::move(buf_);
  }

 private:
  void grow() {
    const size_t cap = buf_.size();
    if (cap >= limit_) return;
    const size_t next = cap == 0 ? first_step_ : (cap >= limit_ / 2 ? limit_ : cap * 2);
    buf_.reserve(next);
    buf_.resize(next);
  }

  size_t limit_;
  size_t first_step_;
  size_t used_ = 0;
  Bytes buf_;
  std::byte probe_{};
};

// ---- gzip ----

struct ZStream {
  explicit ZStream(bool deflating) : deflating_(deflating) {}
  ~ZStream() {
    if (!live_) return;
    if (deflating_) {
      deflateEnd(&zs_);
    } else {
      inflateEnd(&zs_);
    }
  }
  ZStream(const ZStream&) = delete;
  ZStream& operator=(const ZStream&) = delete;

  z_stream zs_{};
  bool deflating_;
  bool live_ = false;
};

Result<void> gzip_compress(ByteView in, Bytes& out, int level) {
  if (level < -1 || level > 9) return bad_level(Compression::gzip, level, -1, 9);
  ZStream s(true);
  // windowBits + 16 selects the gzip wrapper rather than zlib's.
  if (deflateInit2(&s.zs_, level, Z_DEFLATED, MAX_WBITS + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    return internal(Compression::gzip, "deflateInit2 failed");
  }
  s.live_ = true;
  const size_t start = out.size();
  size_t used = start;
  out.resize(start + deflateBound(&s.zs_, in.size()));
  const std::byte* src = in.data();
  size_t src_left = in.size();
  for (;;) {
    if (used == out.size()) out.resize(out.size() + kMinOutputStep);
    const uInt in_chunk = clamp_uint(src_left);
    const uInt out_chunk = clamp_uint(out.size() - used);
    s.zs_.next_in = reinterpret_cast<const Bytef*>(src);
    s.zs_.avail_in = in_chunk;
    s.zs_.next_out = reinterpret_cast<Bytef*>(out.data() + used);
    s.zs_.avail_out = out_chunk;
    const int rc = deflate(&s.zs_, in_chunk == src_left ? Z_FINISH : Z_NO_FLUSH);
    const size_t consumed = in_chunk - s.zs_.avail_in;
    src += consumed;
    src_left -= consumed;
    used += out_chunk - s.zs_.avail_out;
    if (rc == Z_STREAM_END) break;
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
      out.resize(start);
      return internal(Compression::gzip, "deflate failed");
    }
  }
  out.resize(used);
  return {};
}

Result<Bytes> gzip_decompress(ByteView in, size_t max_output) {
  ZStream s(false);
  if (inflateInit2(&s.zs_, MAX_WBITS + 16) != Z_OK) {
    return internal(Compression::gzip, "inflateInit2 failed");
  }
  s.live_ = true;
  BoundedSink sink(max_output, saturating_mul(in.size(), 4));
  const std::byte* src = in.data();
  size_t src_left = in.size();
  for (;;) {
    const auto space = sink.space();
    const uInt in_chunk = clamp_uint(src_left);
    const uInt out_chunk = clamp_uint(space.size());
    s.zs_.next_in = reinterpret_cast<const Bytef*>(src);
    s.zs_.avail_in = in_chunk;
    s.zs_.next_out = reinterpret_cast<Bytef*>(space.data());
    s.zs_.avail_out = out_chunk;
    const int rc = inflate(&s.zs_, Z_NO_FLUSH);
    const size_t consumed = in_chunk - s.zs_.avail_in;
    const size_t produced = out_chunk - s.zs_.avail_out;
    src += consumed;
    src_left -= consumed;
    if (!sink.commit(space, produced)) return too_large(Compression::gzip, max_output);
    if (rc == Z_STREAM_END) break;
    if (rc == Z_DATA_ERROR || rc == Z_NEED_DICT || rc == Z_STREAM_ERROR) {
      return corrupt(Compression::gzip,
                     std::string("invalid stream: ") + (s.zs_.msg ? s.zs_.msg : "bad data"));
    }
    if (rc == Z_MEM_ERROR) return internal(Compression::gzip, "out of memory");
    // Output space was available, so no progress with all input consumed means it ended early.
    if (consumed == 0 && produced == 0 && src_left == 0) {
      return corrupt(Compression::gzip, "truncated stream");
    }
  }
  if (src_left != 0) return corrupt(Compression::gzip, "trailing data after gzip stream");
  return std::move(sink).take();
}

// ---- snappy (xerial framing) ----

Result<void> snappy_compress(ByteView in, Bytes& out) {
  const size_t start = out.size();
  const size_t blocks = (in.size() + kXerialBlockSize - 1) / kXerialBlockSize;
  out.reserve(start + kXerialHeaderSize +
              blocks * (4 + snappy::MaxCompressedLength(kXerialBlockSize)));
  out.insert(out.end(), kXerialMagic.begin(), kXerialMagic.end());
  out.resize(start + kXerialHeaderSize);
  store_be<int32_t>(out.data() + start + 8, 1);   // version
  store_be<int32_t>(out.data() + start + 12, 1);  // minimum compatible version
  for (size_t pos = 0; pos < in.size(); pos += kXerialBlockSize) {
    const size_t len = std::min(kXerialBlockSize, in.size() - pos);
    const size_t at = out.size();
    out.resize(at + 4 + snappy::MaxCompressedLength(len));
    size_t written = 0;
    snappy::RawCompress(reinterpret_cast<const char*>(in.data() + pos), len,
                        reinterpret_cast<char*>(out.data() + at + 4), &written);
    store_be<int32_t>(out.data() + at, static_cast<int32_t>(written));
    out.resize(at + 4 + written);
  }
  return {};
}

bool is_xerial(ByteView in) {
  return in.size() >= kXerialMagic.size() &&
         std::equal(kXerialMagic.begin(), kXerialMagic.end(), in.begin());
}

// Raw snappy states its uncompressed length up front; checking it before allocating is the guard.
Result<size_t> snappy_block_length(ByteView block, size_t budget, size_t limit) {
  size_t n = 0;
  if (!snappy::GetUncompressedLength(reinterpret_cast<const char*>(block.data()), block.size(),
                                     &n)) {
    return corrupt(Compression::snappy, "invalid block header");
  }
  if (n > budget) return too_large(Compression::snappy, limit);
  return n;
}

Result<void> snappy_block_decode(ByteView block, std::byte* dst) {
  if (!snappy::RawUncompress(reinterpret_cast<const char*>(block.data()), block.size(),
                             reinterpret_cast<char*>(dst))) {
    return corrupt(Compression::snappy, "invalid block data");
  }
  return {};
}

Result<Bytes> snappy_decompress(ByteView in, size_t max_output) {
  // snappy-java emits no bytes at all for an empty stream, not even the header.
  if (in.empty()) return Bytes{};
  if (!is_xerial(in)) {
    auto n = snappy_block_length(in, max_output, max_output);
    if (!n) return std::unexpected(std::move(n.error()));
    Bytes out(*n);
    if (auto r = snappy_block_decode(in, out.data()); !r) {
      return std::unexpected(std::move(r.error()));
    }
    return out;
  }
  // Version/compat are ignored, as other clients do: some producers write them little-endian.
  if (in.size() < kXerialHeaderSize) return corrupt(Compression::snappy, "truncated xerial header");

  // First pass validates the framing and totals the block sizes, so the output is allocated once
  // and only after the total is known to fit the limit.
  struct Chunk {
    ByteView block;
    size_t length;
  };
  std::vector<Chunk> chunks;
  size_t total = 0;
  for (size_t pos = kXerialHeaderSize; pos < in.size();) {
    if (in.size() - pos < 4) return corrupt(Compression::snappy, "truncated xerial chunk length");
    const int32_t len = load_be<int32_t>(in.data() + pos);
    pos += 4;
    if (len <= 0 || static_cast<size_t>(len) > in.size() - pos) {
      return corrupt(Compression::snappy, "xerial chunk length " + std::to_string(len) +
                                              " invalid with " + std::to_string(in.size() - pos) +
                                              " bytes remaining");
    }
    const ByteView block = in.subspan(pos, static_cast<size_t>(len));
    auto n = snappy_block_length(block, max_output - total, max_output);
    if (!n) return std::unexpected(std::move(n.error()));
    chunks.push_back({block, *n});
    total += *n;
    pos += static_cast<size_t>(len);
  }
  Bytes out(total);
  size_t at = 0;
  for (const Chunk& c : chunks) {
    if (auto r = snappy_block_decode(c.block, out.data() + at); !r) {
      return std::unexpected(std::move(r.error()));
    }
    at += c.length;
  }
  return out;
}

// ---- lz4 (frame format) ----

Result<void> lz4_compress(ByteView in, Bytes& out, int level) {
  if (level < -1 || level > 17) return bad_level(Compression::lz4, level, -1, 17);
  // Mirrors the Java client's frames: independent 64 KiB blocks, no content size or checksums,
  // which every Kafka reader since KIP-57 accepts.
  LZ4F_preferences_t prefs{};
  prefs.frameInfo.blockSizeID = LZ4F_max64KB;
  prefs.frameInfo.blockMode = LZ4F_blockIndependent;
  prefs.compressionLevel = level == -1 ? 0 : level;
  const size_t bound = LZ4F_compressFrameBound(in.size(), &prefs);
  const size_t start = out.size();
  out.resize(start + bound);
  const size_t n = LZ4F_compressFrame(out.data() + start, bound, in.data(), in.size(), &prefs);
  if (LZ4F_isError(n)) {
    out.resize(start);
    return internal(Compression::lz4, LZ4F_getErrorName(n));
  }
  out.resize(start + n);
  return {};
}

Result<Bytes> lz4_decompress(ByteView in, size_t max_output) {
  LZ4F_dctx* raw_ctx = nullptr;
  if (LZ4F_isError(LZ4F_createDecompressionContext(&raw_ctx, LZ4F_VERSION))) {
    return internal(Compression::lz4, "cannot create decompression context");
  }
  const std::unique_ptr<LZ4F_dctx, decltype(&LZ4F_freeDecompressionContext)> ctx(
      raw_ctx, &LZ4F_freeDecompressionContext);

  const std::byte* src = in.data();
  size_t src_left = in.size();
  LZ4F_frameInfo_t info{};
  size_t header_len = src_left;
  size_t hint = LZ4F_getFrameInfo(ctx.get(), &info, src, &header_len);
  if (LZ4F_isError(hint)) {
    return corrupt(Compression::lz4, std::string("bad frame header: ") + LZ4F_getErrorName(hint));
  }
  src += header_len;
  src_left -= header_len;
  // A stated content size beyond the limit fails now; a false one would fail later anyway.
  if (info.contentSize > max_output) return too_large(Compression::lz4, max_output);

  BoundedSink sink(max_output,
                   info.contentSize != 0 ? info.contentSize : saturating_mul(in.size(), 4));
  while (hint != 0) {  // 0 means the frame, end mark included, is complete
    const auto space = sink.space();
    size_t dst_size = space.size();
    size_t src_size = src_left;
    hint = LZ4F_decompress(ctx.get(), space.data(), &dst_size, src, &src_size, nullptr);
    if (LZ4F_isError(hint)) {
      return corrupt(Compression::lz4, std::string("invalid frame: ") + LZ4F_getErrorName(hint));
    }
    src += src_size;
    src_left -= src_size;
    if (!sink.commit(space, dst_size)) return too_large(Compression::lz4, max_output);
    if (hint != 0 && src_left == 0 && dst_size == 0) {
      return corrupt(Compression::lz4, "truncated frame");
    }
  }
  if (src_left != 0) return corrupt(Compression::lz4, "trailing data after lz4 frame");
  return std::move(sink).take();
}

// ---- zstd ----

struct ZstdFree {
  void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
  void operator()(ZSTD_DCtx* d) const { ZSTD_freeDCtx(d); }
};

// Contexts are costly to set up (hundreds of KiB), so each thread keeps one.
ZSTD_CCtx* zstd_cctx() {
  thread_local std::unique_ptr<ZSTD_CCtx, ZstdFree> ctx(ZSTD_createCCtx());
  return ctx.get();
}

ZSTD_DCtx* zstd_dctx() {
  thread_local std::unique_ptr<ZSTD_DCtx, ZstdFree> ctx(ZSTD_createDCtx());
  return ctx.get();
}

// Streaming producers (Java's zstd-jni among them) declare a window sized by level, not by data,
// e.g. 2 MiB at level 3, so small limits still admit windows up to 8 MiB. 27 is zstd's default cap.
int zstd_window_log_max(size_t max_output) {
  return std::clamp(static_cast<int>(std::bit_width(max_output)), 23, 27);
}

Result<void> zstd_compress(ByteView in, Bytes& out, int level) {
  if (level == -1) {
    level = ZSTD_CLEVEL_DEFAULT;
  } else if (level < ZSTD_minCLevel() || level > ZSTD_maxCLevel()) {
    return bad_level(Compression::zstd, level, ZSTD_minCLevel(), ZSTD_maxCLevel());
  }
  ZSTD_CCtx* ctx = zstd_cctx();
  if (ctx == nullptr) return internal(Compression::zstd, "cannot create compression context");
  const size_t bound = ZSTD_compressBound(in.size());
  if (ZSTD_isError(bound)) return internal(Compression::zstd, ZSTD_getErrorName(bound));
  const size_t start = out.size();
  out.resize(start + bound);
  const size_t n = ZSTD_compressCCtx(ctx, out.data() + start, bound, in.data(), in.size(), level);
  if (ZSTD_isError(n)) {
    out.resize(start);
    return internal(Compression::zstd, ZSTD_getErrorName(n));
  }
  out.resize(start + n);
  return {};
}

Result<Bytes> zstd_decompress(ByteView in, size_t max_output) {
  if (in.empty()) return corrupt(Compression::zstd, "empty input");
  size_t hint = saturating_mul(in.size(), 4);
  const unsigned long long claimed = ZSTD_getFrameContentSize(in.data(), in.size());
  if (claimed != ZSTD_CONTENTSIZE_UNKNOWN && claimed != ZSTD_CONTENTSIZE_ERROR) {
    if (claimed > max_output) return too_large(Compression::zstd, max_output);
    hint = static_cast<size_t>(claimed);
  }
  ZSTD_DCtx* ctx = zstd_dctx();
  if (ctx == nullptr) return internal(Compression::zstd, "cannot create decompression context");
  ZSTD_DCtx_reset(ctx, ZSTD_reset_session_and_parameters);
  const size_t set = ZSTD_DCtx_setParameter(ctx, ZSTD_d_windowLogMax,
                                            zstd_window_log_max(max_output));
  if (ZSTD_isError(set)) return internal(Compression::zstd, ZSTD_getErrorName(set));

  BoundedSink sink(max_output, hint);
  ZSTD_inBuffer src{in.data(), in.size(), 0};
  size_t remaining = 1;  // nonzero while a frame is still open
  // Concatenated frames are accepted, as zstd-jni's stream reader does; garbage after a frame
  // fails as an invalid frame header.
  while (src.pos < src.size || remaining != 0) {
    const auto space = sink.space();
    ZSTD_outBuffer dst{space.data(), space.size(), 0};
    remaining = ZSTD_decompressStream(ctx, &dst, &src);
    if (ZSTD_isError(remaining)) {
      return corrupt(Compression::zstd,
                     std::string("invalid frame: ") + ZSTD_getErrorName(remaining));
    }
    if (!sink.commit(space, dst.pos)) return too_large(Compression::zstd, max_output);
    // With output room left and input used up, the decoder is waiting for bytes that never come.
    if (remaining != 0 && src.pos == src.size && dst.pos < dst.size) {
      return corrupt(Compression::zstd, "truncated frame");
    }
  }
  return std::move(sink).take();
}

}  // namespace

std::string_view compression_name(Compression c) {
  switch (c) {
    case Compression::none: return "none";
    case Compression::gzip: return "gzip";
    case Compression::snappy: return "snappy";
    case Compression::lz4: return "lz4";
    case Compression::zstd: return "zstd";
  }
  return "unknown";
}

std::optional<Compression> parse_compression(std::string_view name) {
  for (auto c : {Compression::none, Compression::gzip, Compression::snappy, Compression::lz4,
                 Compression::zstd}) {
    if (compression_name(c) == name) return c;
  }
  return std::nullopt;
}

Result<void> compress_into(Compression codec, ByteView input, Bytes& out, int level) {
  switch (codec) {
    case Compression::none:
      out.insert(out.end(), input.begin(), input.end());
      return {};
    case Compression::gzip: return gzip_compress(input, out, level);
    case Compression::snappy: return snappy_compress(input, out);
    case Compression::lz4: return lz4_compress(input, out, level);
    case Compression::zstd: return zstd_compress(input, out, level);
  }
  return make_error(Errc::unsupported_compression_type,
                    "unsupported compression codec " + std::to_string(static_cast<int>(codec)));
}

Result<Bytes> compress(Compression codec, ByteView input, int level) {
  Bytes out;
  if (auto r = compress_into(codec, input, out, level); !r) {
    return std::unexpected(std::move(r.error()));
  }
  return out;
}

Result<Bytes> decompress(Compression codec, ByteView input, size_t max_output) {
  switch (codec) {
    case Compression::none:
      if (input.size() > max_output) return too_large(codec, max_output);
      return Bytes(input.begin(), input.end());
    case Compression::gzip: return gzip_decompress(input, max_output);
    case Compression::snappy: return snappy_decompress(input, max_output);
    case Compression::lz4: return lz4_decompress(input, max_output);
    case Compression::zstd: return zstd_decompress(input, max_output);
  }
  return make_error(Errc::unsupported_compression_type,
                    "unsupported compression codec " + std::to_string(static_cast<int>(codec)));
}

}  // namespace kafkacore::record
