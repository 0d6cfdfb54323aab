#include "broker/offsets_topic.h"

#include "broker/broker.h"
#include "common/log.h"
#include "record/batch_builder.h"
#include "record/record_batch.h"

namespace kafkacore::broker {
namespace {

constexpr uint64_t kLoadChunkBytes = 4 << 20;
constexpr int64_t kCommitTimeoutMs = 5000;  // offsets.commit.timeout.ms

}  // namespace

bool OffsetsTopic::exists() const { return broker_.image().topic(kOffsetsTopic) != nullptr; }

void OffsetsTopic::ensure_exists(std::function<void(Result<void>)> done) {
  if (exists()) return done({});
  creating_.push_back(std::move(done));
  if (creating_.size() > 1) return;  // one creation serves everyone waiting
  const auto& config = broker_.config();
  int32_t live = 0;
  for (const auto& [id, b] : broker_.image().brokers()) live += b.fenced ? 0 : 1;
  // Kafka refuses until offsets.topic.replication.factor brokers exist; a small cluster (and a
  // single test broker) gets what it has.
  const auto rf = static_cast<int16_t>(
      std::max<int32_t>(1, std::min<int32_t>(config.cluster.offsets_topic_replication_factor, live)));
  broker_.create_topic(kOffsetsTopic, config.groups.offsets_partitions, rf,
                       {{"cleanup.policy", "compact"},
                        {"segment.bytes", std::to_string(config.offsets_segment_bytes)},
                        {"compression.type", "producer"}},
                       false, [this](Result<void> created) {
                         auto waiters = std::move(creating_);
                         creating_.clear();
                         // Lost a race with another broker's creation: fine.
                         if (!created && created.error().code() == Errc::topic_already_exists) created = {};
                         for (auto& w : waiters) w(created);
                       });
}

void OffsetsTopic::load_partition(int32_t p) {
  coordinator_->begin_loading(p);
  auto* partition = broker_.partition(kOffsetsTopic, p);
  const int64_t from = partition ? partition->log().log_start_offset().value() : 0;
  const uint64_t generation = ++load_generation_;
  server::asio::post(broker_.io(), [this, p, from, generation] { load_chunk(p, from, generation); });
}

void OffsetsTopic::load_chunk(int32_t p, int64_t from, uint64_t generation) {
  auto* partition = broker_.partition(kOffsetsTopic, p);
  if (!partition || !partition->is_leader()) return;  // shutting down, or no longer ours
  (void)generation;
  auto& log = partition->log();
  auto fail = [&](const Error& e) {
    // What could be read is loaded; the rest of the partition is unreadable (the log dir went
    // offline). Serving the groups we have beats refusing every group on this partition.
    KC_LOG(error, "group", "could not read __consumer_offsets",
           {{"partition", std::to_string(p)}, {"error", e.message()}});
    coordinator_->finish_loading(p);
  };
  // Up to the log end, not the high watermark: a new leader learns the high watermark only from
  // its followers' next fetches, so commits every replica acknowledged may still sit above it.
  // Whatever this leader holds becomes committed (followers truncate to it) or it loses the lead.
  const Offset end = log.log_end_offset();
  if (from >= end.value()) return coordinator_->finish_loading(p);
  auto read = log.read(Offset{from}, kLoadChunkBytes, end, true);
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
  server::asio::post(broker_.io(), [this, p, next, generation] { load_chunk(p, next, generation); });
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
  if (!partition->is_leader()) {
    return done(make_error(Errc::not_coordinator, "this broker no longer leads __consumer_offsets partition " +
                                                      std::to_string(p)));
  }
  // As Kafka's coordinator writes (acks=all): refused while the ISR is below
  // min.insync.replicas, where the HW would not move (KIP-966).
  if (partition->isr_size() < broker_.min_insync_replicas(std::string(kOffsetsTopic))) {
    return done(make_error(Errc::coordinator_not_available,
                           "__consumer_offsets partition " + std::to_string(p) +
                               " has fewer in-sync replicas than min.insync.replicas"));
  }
  auto appended = partition->append_from_producer(MutableByteView(*batch));
  if (!appended) return done(std::unexpected(appended.error()));
  // Like acks=all: a commit is answered once every in-sync replica has it, or not at all.
  struct Wait {
    std::function<void(const Result<void>&)> done;
    std::unique_ptr<server::asio::steady_timer> timer;
    uint64_t id = 0;
  };
  auto wait = std::make_shared<Wait>();
  wait->done = std::move(done);
  wait->timer = std::make_unique<server::asio::steady_timer>(broker_.io());
  const auto key = std::pair{std::string(kOffsetsTopic), p};
  wait->id = partition->wait_for_high_watermark(appended->append.last_offset, [wait](Errc e) {
    if (!wait->done) return;
    wait->timer->cancel();
    auto d = std::move(wait->done);
    wait->done = nullptr;
    if (e == Errc::none) return d(Result<void>{});
    d(make_error(e == Errc::not_leader_or_follower ? Errc::not_coordinator : e,
                 "the group record was not replicated"));
  });
  if (!wait->done) return;  // answered already
  wait->timer->expires_after(std::chrono::milliseconds(kCommitTimeoutMs));
  wait->timer->async_wait([this, wait, key](const boost::system::error_code& ec) {
    if (ec || !wait->done) return;
    if (auto* part = broker_.partition(key.first, key.second)) part->cancel_wait(wait->id);
    auto d = std::move(wait->done);
    wait->done = nullptr;
    d(make_error(Errc::request_timed_out, "the group record was not replicated in time"));
  });
}

}  // namespace kafkacore::broker
