#pragma once
// Recovery scan of one segment file after an unclean shutdown, as a pure function over its bytes.
// A torn or zero-filled tail is cut off. Damage *before* the tail is not taken for the end of the
// log: the scan resynchronises on the next batch whose CRC checks out, so every intact batch after
// the damage is kept. Fields the CRC does not cover (baseOffset, partitionLeaderEpoch, magic,
// batchLength) are repaired when the neighbouring batches pin their value; a batch that cannot be
// repaired is dropped and reported — never served.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/strong_id.h"

namespace kafkacore::storage {

struct RecoveredBatch {
  uint32_t position = 0;  // in the original bytes
  uint32_t size = 0;
  int64_t base_offset = 0;
  int32_t last_offset_delta = 0;
  int64_t max_timestamp = 0;
  int32_t leader_epoch = 0;
  bool repaired = false;  // header bytes differ from the original: rewrite needed
  int64_t last_offset() const { return base_offset + last_offset_delta; }
};

struct RecoveryScan {
  std::vector<RecoveredBatch> batches;
  uint64_t valid_end = 0;       // bytes up to the end of the last kept batch
  uint64_t dropped_bytes = 0;   // damaged bytes before valid_end (not counting the tail)
  uint64_t tail_bytes = 0;      // torn tail cut off after valid_end
  std::vector<std::string> problems;  // one line per repair or drop, for the log
  // True when the kept batches are not simply a prefix of the file.
  bool needs_rewrite() const;
};

RecoveryScan scan_segment_for_recovery(ByteView data, Offset segment_base);

// The new file content: kept batches, in order, with repaired header fields.
Bytes rebuild_segment(ByteView data, const RecoveryScan& scan);

}  // namespace kafkacore::storage
