#pragma once
// Record-batch compression codecs, producing and accepting the byte formats Kafka clients use.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "common/bytes.h"
#include "common/error.h"

namespace kafkacore::record {

// Values are Kafka's attribute bits 0-2, so a batch's attributes can be cast directly.
enum class Compression : uint8_t { none = 0, gzip = 1, snappy = 2, lz4 = 3, zstd = 4 };

// "none", "gzip", ...; "unknown" for values outside the enum.
std::string_view compression_name(Compression c);

// Parses Kafka's compression.type values, except "producer": a topic-level policy, not a codec.
std::optional<Compression> parse_compression(std::string_view name);

// Output matches what the Java client writes: gzip is an RFC 1952 stream, snappy uses xerial
// framing with 32 KiB blocks, lz4 is a KIP-57 frame (independent 64 KiB blocks, no checksums
// beyond the header's), zstd is a standard frame. `level` -1 means the library's default; it is
// ignored by none and snappy.
Result<Bytes> compress(Compression codec, ByteView input, int level = -1);

// Same, appending to `out` so a builder can reuse its buffer. On error `out` keeps its old size.
Result<void> compress_into(Compression codec, ByteView input, Bytes& out, int level = -1);

// Never produces or allocates output buffers larger than `max_output`; input that would expand
// further fails with Errc::corrupt_message ("... decompressed size exceeds limit of N bytes"),
// as does malformed, truncated or trailing input. snappy accepts xerial-framed and raw blocks.
Result<Bytes> decompress(Compression codec, ByteView input, size_t max_output);

}  // namespace kafkacore::record
