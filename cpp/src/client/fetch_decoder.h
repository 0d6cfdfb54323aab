#pragma once
// Turns one partition's fetched record batches into records viewing those bytes. Pure: bytes in,
// records out.
#include <cstdint>
#include <memory>
#include <string>

#include "client/subscription_state.h"
#include "common/bytes.h"
#include "common/error.h"

namespace kafkacore::client {

// Decodes the batches of `records` (one partition of a Fetch answer) into a chunk holding the
// records at or past `fetch_offset` (a batch may start before it), with next_offset past the
// last complete batch. Control batches are skipped (they only move next_offset). A partial
// batch at the end is ignored: a broker may cut the last batch at the size limit. A partial
// *first* batch fails with MESSAGE_TOO_LARGE (the broker gives at least one whole batch since
// KIP-74, so only an old broker does this). `check_crcs`: verify each batch's CRC32C first
// (CORRUPT_MESSAGE on mismatch). The records view `records` (and decompressed copies of
// compressed batches); `keepalive` is whatever keeps `records` alive, held by the chunk.
//
// TODO(transactions): with read_committed, records of aborted transactions (the answer's
// AbortedTransactions) must be dropped too. The broker has no transactions yet, so nothing is
// ever aborted; the LSO bound on what the broker returns is already honoured.
Result<FetchedChunk> decode_fetched_records(const std::string& topic, int32_t partition,
                                            ByteView records,
                                            std::shared_ptr<const void> keepalive,
                                            int64_t fetch_offset, bool check_crcs);

}  // namespace kafkacore::client
