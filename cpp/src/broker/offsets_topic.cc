#include "broker/offsets_topic.h"

#include "broker/broker.h"
#include "common/log.h"
#include "record/batch_builder.h"
#include "record/record_batch.h"

namespace kafkacore::broker {
namespace {

constexpr uint64_t kLoadChunkBytes = 4 << 20;

}  // namespace

bool OffsetsTopic::exists() const { return broker_.metadata().topic(kOffsetsTopic) != nullptr; }

Result<void> OffsetsTopic::ensure_exists() {
  if (exists()) return {};
  const auto& config = broker_.config();
  auto created = broker_.create_topic(
      kOffsetsTopic, config.groups.offsets_partitions, 1,
      {{"cleanup.policy", "compact"},
       {"segment.bytes", std::to_string(config.offsets_segment_bytes)},
       {"compression.type", "producer"}},
      false);
  if (!created) return std::unexpected(created.error());
  // A new topic has nothing to load.
  for (int32_t p = 0; p < (*created)->partitions; ++p) {
    coordinator_->begin_loading(p);
    coordinator_->finish_loading(p);
  }
  return {};
}

void OffsetsTopic::start_loading() {
  const auto* topic = broker_.metadata().topic(kOffsetsTopic);
  if (!topic) return;
  for (int32_t p = 0; p < topic->partitions; ++p) {
    coordinator_->begin_loading(p);
    auto* partition = broker_.partition(kOffsetsTopic, p);
    const int64_t from = partition ? partition->log().log_start_offset().value() : 0;
    server::asio::post(broker_.io(), [this, p, from] { load_chunk(p, from); });
  }
}

void OffsetsTopic::load_chunk(int32_t p, int64_t from) {
  auto* partition = broker_.partition(kOffsetsTopic, p);
  if (!partition) return;  // shutting down
  auto& log = partition->log();
  auto fail = [&](const Error& e) {
    // What could be read is loaded; the rest of the partition is unreadable (the log dir went
    // offline). Serving the groups we have beats refusing every group on this partition.
    KC_LOG(error, "group", "could not read __consumer_offsets",
           {{"partition", std::to_string(p)}, {"error", e.message()}});
    coordinator_->finish_loading(p);
  };
  if (from >= partition->high_watermark().value()) return coordinator_->finish_loading(p);
  auto read = log.read(Offset{from}, kLoadChunkBytes, partition->high_watermark(), true);
  if (!read) return fail(read.error());
  if (read->batches.empty()) return coordinator_->finish_loading(p);
  auto bytes = read->copy_bytes();
  if (!bytes) return fail(bytes.error());
  record::BatchIterator batches(*bytes);
  int64_t next = from;
  for (;;) {
    auto b = batches.next();
    if (!b) return fail(b.error());
    if (!*b) break;
    const auto& batch = **b;
    next = batch.last_offset().value() + 1;
    if (batch.is_control()) continue;
    auto decoded = record::decode_batch(batch);
    if (!decoded) {
      KC_LOG(warn, "group", "skipping an undecodable __consumer_offsets batch",
             {{"partition", std::to_string(p)}, {"error", decoded.error().message()}});
      continue;
    }
    const int64_t base = batch.base_offset().value();
    for (const auto& r : decoded->records) {
      if (base + r.offset_delta < from || !r.key) continue;
      coordinator_->load_record(p, *r.key, r.value);
    }
  }
  if (next <= from) return coordinator_->finish_loading(p);
  server::asio::post(broker_.io(), [this, p, next] { load_chunk(p, next); });
}

void OffsetsTopic::append(int32_t p, std::vector<Record> records,
                          std::function<void(const Result<void>&)> done) {
  auto* partition = broker_.partition(kOffsetsTopic, p);
  if (!partition) {
    return done(make_error(Errc::not_coordinator, "__consumer_offsets partition " +
                                                      std::to_string(p) + " is not here"));
  }
  const int64_t now = broker_.config().clock->now_ms();
  record::BatchBuilder builder;
  std::vector<Bytes> keys;
  keys.reserve(records.size());
  for (const auto& r : records) {
    keys.push_back(group::encode_key(r.key));
    std::optional<ByteView> value;
    if (r.value) value = ByteView(*r.value);
    builder.append(now, ByteView(keys.back()), value);
  }
  auto batch = builder.build();
  if (!batch) return done(std::unexpected(batch.error()));
  auto appended = partition->append_from_producer(MutableByteView(*batch));
  if (!appended) return done(std::unexpected(appended.error()));
  done(Result<void>{});
}

}  // namespace kafkacore::broker
