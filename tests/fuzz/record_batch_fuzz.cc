// Fuzz target: the record-batch parser and the segment recovery scan, the two places that read
// untrusted batch bytes (from producers and from disk). Nothing may crash, read out of bounds,
// or allocate beyond what the input justifies.
#include <cstddef>
#include <cstdint>

#include "record/record_batch.h"
#include "storage/segment_recovery.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kafkacore;
  ByteView input(reinterpret_cast<const std::byte*>(data), size);
  record::BatchIterator it(input);
  for (int i = 0; i < 64; ++i) {
    auto batch = it.next();
    if (!batch || !*batch) break;
    if (!(*batch)->validate()) continue;
    auto decoded = record::decode_batch(**batch, 1 << 20);
    if (decoded) {
      size_t total = 0;
      for (const auto& r : decoded->records) total += r.key ? r.key->size() : 0;
      (void)total;
    }
  }
  auto scan = storage::scan_segment_for_recovery(input, Offset{0});
  if (scan.needs_rewrite()) {
    Bytes rebuilt = storage::rebuild_segment(input, scan);
    // A rebuilt segment must scan clean.
    auto again = storage::scan_segment_for_recovery(rebuilt, Offset{0});
    if (again.needs_rewrite() || again.tail_bytes != 0) __builtin_trap();
  }
  return 0;
}
