#pragma once
// Turns one partition's fetched record batches into records viewing those bytes. Pure: bytes in,
// records out.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "client/subscription_state.h"
#include "common/bytes.h"
#include "common/error.h"

namespace kafkacore::client {

// A transaction the partition's leader knows was aborted: read_committed consumers drop that
// producer's transactional batches from `first_offset` up to its abort marker.
struct AbortedTransaction {
  int64_t producer_id = -1;
  int64_t first_offset = -1;
};

// Decodes the batches of `records` (one partition of a Fetch answer) into a chunk holding the
// records at or past `fetch_offset` (a batch may start before it), with next_offset past the
// last complete batch. Control batches are skipped (they only move next_offset). A partial
// batch at the end is ignored: a broker may cut the last batch at the size limit. A partial
// *first* batch fails with MESSAGE_TOO_LARGE (the broker gives at least one whole batch since
// KIP-74, so only an old broker does this). `check_crcs`: verify each batch's CRC32C first
// (CORRUPT_MESSAGE on mismatch). The records view `records` (and decompressed copies of
// compressed batches); `keepalive` is whatever keeps `records` alive, held by the chunk.
//
// `aborted`: the answer's AbortedTransactions, given for read_committed only (a
// read_uncommitted answer has none). A transactional batch of a producer whose aborted
// transaction began at or before the batch's last offset is dropped, until that producer's
// ABORT marker: Kafka's consumer does the same.
Result<FetchedChunk> decode_fetched_records(const std::string& topic, int32_t partition,
                                            ByteView records,
                                            std::shared_ptr<const void> keepalive,
                                            int64_t fetch_offset, bool check_crcs,
                                            std::vector<AbortedTransaction> aborted = {});

}  // namespace kafkacore::client
