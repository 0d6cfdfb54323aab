#include "storage/segment_recovery.h"

#include <algorithm>
#include <cstring>

#include "record/crc32c.h"
#include "record/record_batch.h"

namespace kafkacore::storage {
namespace {

namespace rf = record::field;

constexpr int64_t kMaxBatchLength = int64_t{1} << 30;

// A batch at `pos` with a plausible length whose CRC checks out.
std::optional<RecoveredBatch> intact_batch_at(ByteView data, size_t pos) {
  if (data.size() - pos < record::kBatchHeaderSize) return std::nullopt;
  const std::byte* p = data.data() + pos;
  if (static_cast<int8_t>(p[rf::magic]) != record::kMagicV2) return std::nullopt;
  const int64_t length = load_be<int32_t>(p + rf::batch_length);
  if (length < static_cast<int64_t>(record::kBatchHeaderSize - record::kLogOverhead) ||
      length > kMaxBatchLength) {
    return std::nullopt;
  }
  const size_t total = record::kLogOverhead + static_cast<size_t>(length);
  if (total > data.size() - pos) return std::nullopt;
  if (record::crc32c_extend(0, p + rf::attributes, total - rf::attributes) !=
      load_be<uint32_t>(p + rf::crc)) {
    return std::nullopt;
  }
  RecoveredBatch b;
  b.position = static_cast<uint32_t>(pos);
  b.size = static_cast<uint32_t>(total);
  b.base_offset = load_be<int64_t>(p + rf::base_offset);
  b.last_offset_delta = load_be<int32_t>(p + rf::last_offset_delta);
  b.max_timestamp = load_be<int64_t>(p + rf::max_timestamp);
  b.leader_epoch = load_be<int32_t>(p + rf::partition_leader_epoch);
  if (b.last_offset_delta < 0) return std::nullopt;
  return b;
}

// Damage between `pos` and the next intact batch at `next`: if the bytes there are one batch whose
// magic or length field was hit, its CRC still proves the content, so keep it.
std::optional<RecoveredBatch> repair_frame(ByteView data, size_t pos, size_t next) {
  const size_t total = next - pos;
  if (total < record::kBatchHeaderSize) return std::nullopt;
  const std::byte* p = data.data() + pos;
  if (record::crc32c_extend(0, p + rf::attributes, total - rf::attributes) !=
      load_be<uint32_t>(p + rf::crc)) {
    return std::nullopt;
  }
  RecoveredBatch b;
  b.position = static_cast<uint32_t>(pos);
  b.size = static_cast<uint32_t>(total);
  b.base_offset = load_be<int64_t>(p + rf::base_offset);
  b.last_offset_delta = load_be<int32_t>(p + rf::last_offset_delta);
  b.max_timestamp = load_be<int64_t>(p + rf::max_timestamp);
  b.leader_epoch = load_be<int32_t>(p + rf::partition_leader_epoch);
  b.repaired = true;
  if (b.last_offset_delta < 0) return std::nullopt;
  return b;
}

std::optional<size_t> find_next_intact(ByteView data, size_t from) {
  for (size_t q = from; q + record::kBatchHeaderSize <= data.size(); ++q) {
    if (intact_batch_at(data, q)) return q;
  }
  return std::nullopt;
}

// Offsets are read from disk and may be anything: only a batch whose offsets fit
// [0, INT64_MAX) is used in offset arithmetic (its last_offset() + 1 cannot overflow).
bool offsets_sane(const RecoveredBatch& b) {
  return b.base_offset >= 0 && b.base_offset < INT64_MAX - b.last_offset_delta;
}

std::string range_text(const RecoveredBatch& b) {
  return "with base offset " + std::to_string(b.base_offset) + " (+" +
         std::to_string(b.last_offset_delta) + ") at byte " + std::to_string(b.position);
}

// baseOffset and partitionLeaderEpoch are outside the CRC: check them against the neighbours.
void check_uncovered_fields_once(RecoveryScan& scan, int64_t segment_base) {
  auto& v = scan.batches;
  std::vector<RecoveredBatch> kept;
  kept.reserve(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    RecoveredBatch b = v[i];
    const int64_t min_base = kept.empty() ? segment_base : kept.back().last_offset() + 1;
    // Kept batches are sane, so min_base is too; an insane neighbour counts as no neighbour.
    const RecoveredBatch* next =
        i + 1 < v.size() && offsets_sane(v[i + 1]) ? &v[i + 1] : nullptr;
    const bool fits_prev = offsets_sane(b) && b.base_offset >= min_base;
    const bool fits_next = !next || (offsets_sane(b) && b.last_offset() < next->base_offset);
    if (!fits_prev || !fits_next) {
      // The neighbours agree with each other, so this batch's offset field is the damaged one.
      // Its value is pinned only if it fits exactly between them: where offsets may have a gap
      // (compaction, or a dropped batch before this one) any value in between could be the
      // original, so the batch is dropped rather than served with guessed offsets.
      const bool next_fits_prev = next && next->base_offset >= min_base;
      const int64_t pinned = next ? next->base_offset - b.last_offset_delta - 1 : -1;
      if (next_fits_prev && pinned == min_base) {
        scan.problems.push_back("repaired base offset of batch " + range_text(b) + " to " +
                                std::to_string(pinned));
        b.base_offset = pinned;
        b.repaired = true;
      } else if (!next_fits_prev && next && fits_prev) {
        // The next batch is the odd one; keep this one, the next iteration judges it.
      } else {
        scan.problems.push_back("dropped batch with inconsistent offsets " + range_text(b));
        scan.dropped_bytes += b.size;
        continue;
      }
    }
    if (!kept.empty()) {
      const int32_t prev_epoch = kept.back().leader_epoch;
      const int32_t next_epoch = next ? next->leader_epoch : INT32_MAX;
      if ((b.leader_epoch < prev_epoch || b.leader_epoch > next_epoch) && prev_epoch <= next_epoch) {
        if (prev_epoch != next_epoch) {
          // Epochs only grow, but the original could be any value between the neighbours'.
          scan.problems.push_back("dropped batch with inconsistent leader epoch " +
                                  std::to_string(b.leader_epoch) + " " + range_text(b));
          scan.dropped_bytes += b.size;
          continue;
        }
        scan.problems.push_back("repaired leader epoch of batch " + range_text(b) + " from " +
                                std::to_string(b.leader_epoch) + " to " +
                                std::to_string(prev_epoch));
        b.leader_epoch = prev_epoch;
        b.repaired = true;
      }
    } else if (next && i + 2 < v.size() && b.leader_epoch > next->leader_epoch &&
               next->leader_epoch == v[i + 2].leader_epoch) {
      // The first batch has an epoch above the two that follow (which agree): it is the damaged
      // one, and with no batch before it nothing pins its value.
      scan.problems.push_back("dropped batch with inconsistent leader epoch " +
                              std::to_string(b.leader_epoch) + " " + range_text(b));
      scan.dropped_bytes += b.size;
      continue;
    }
    kept.push_back(b);
  }
  v = std::move(kept);
}

// A batch is judged by its neighbours, so dropping one changes what its neighbours are judged
// by: repeat until a pass changes nothing. Every pass that changes something drops or repairs a
// batch, and a repaired batch fits its neighbours, so this ends; the bound is a safety net.
void check_uncovered_fields(RecoveryScan& scan, int64_t segment_base) {
  const size_t max_passes = scan.batches.size() + 2;  // fixed before passes shrink the list
  for (size_t pass = 0; pass < max_passes; ++pass) {
    const size_t problems_before = scan.problems.size();
    check_uncovered_fields_once(scan, segment_base);
    if (scan.problems.size() == problems_before) return;
  }
}

}  // namespace

bool RecoveryScan::needs_rewrite() const {
  uint64_t expected = 0;
  for (const auto& b : batches) {
    if (b.repaired || b.position != expected) return true;
    expected += b.size;
  }
  return false;
}

RecoveryScan scan_segment_for_recovery(ByteView data, Offset segment_base) {
  RecoveryScan scan;
  size_t pos = 0;
  while (pos < data.size()) {
    if (auto b = intact_batch_at(data, pos)) {
      scan.batches.push_back(*b);
      pos += b->size;
      continue;
    }
    auto next = find_next_intact(data, pos + 1);
    if (!next) break;  // nothing intact follows: a torn or garbage tail
    if (auto fixed = repair_frame(data, pos, *next)) {
      scan.problems.push_back("repaired framing (magic/length) of batch " + range_text(*fixed));
      scan.batches.push_back(*fixed);
    } else {
      scan.problems.push_back("dropped " + std::to_string(*next - pos) +
                              " damaged bytes at byte " + std::to_string(pos));
      scan.dropped_bytes += *next - pos;
    }
    pos = *next;
  }
  check_uncovered_fields(scan, segment_base.value());
  // What follows the last kept batch in the file is tail, whatever its cause.
  const uint64_t end = scan.batches.empty()
                           ? 0
                           : scan.batches.back().position + uint64_t{scan.batches.back().size};
  scan.tail_bytes = data.size() - end;
  uint64_t kept_bytes = 0;
  for (const auto& b : scan.batches) kept_bytes += b.size;
  scan.valid_end = kept_bytes;
  if (scan.tail_bytes > 0) {
    scan.problems.push_back("truncated " + std::to_string(scan.tail_bytes) +
                            " bytes of torn or invalid tail at byte " + std::to_string(end));
  }
  return scan;
}

Bytes rebuild_segment(ByteView data, const RecoveryScan& scan) {
  Bytes out;
  out.reserve(scan.valid_end);
  for (const auto& b : scan.batches) {
    const size_t at = out.size();
    out.insert(out.end(), data.begin() + b.position, data.begin() + b.position + b.size);
    if (!b.repaired) continue;
    std::byte* p = out.data() + at;
    store_be<int64_t>(p + rf::base_offset, b.base_offset);
    store_be<int32_t>(p + rf::batch_length, static_cast<int32_t>(b.size - record::kLogOverhead));
    store_be<int32_t>(p + rf::partition_leader_epoch, b.leader_epoch);
    p[rf::magic] = std::byte{record::kMagicV2};
  }
  return out;
}

}  // namespace kafkacore::storage
