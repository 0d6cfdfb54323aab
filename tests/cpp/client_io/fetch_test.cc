// The consumer's fetch path: the incremental fetch session handler (KIP-227), the record
// decoder (position, control batches, aborted transactions under read_committed, truncated and
// oversized batches, CRCs), and the fetcher
// against a real broker (incremental sessions in use, a forgotten session restarted).
#include "client/fetch_decoder.h"
#include "client/fetch_session.h"
#include "client/fetcher.h"
#include "record/batch_builder.h"
#include "record/control_record.h"
#include "replica_fetcher/fixture.h"

namespace kafkacore::client::testing {
namespace {

using broker::testing::make_batch;
using broker::testing::now_ms;
using broker::testing::str;

TopicPartition tp(const std::string& t, int32_t p) { return {t, p}; }

std::vector<std::pair<TopicPartition, int64_t>> listed(const protocol::FetchRequest& r) {
  std::vector<std::pair<TopicPartition, int64_t>> out;
  for (const auto& t : r.topics) {
    for (const auto& p : t.partitions) out.push_back({{t.topic, p.partition}, p.fetch_offset});
  }
  return out;
}

TEST(FetchSessionHandler, FullThenIncrementalThenForgetAndRestart) {
  FetchSessionHandler h;
  std::map<TopicPartition, FetchTarget> wanted = {{tp("a", 0), {0, 100, 3}},
                                                  {tp("a", 1), {0, 100, 3}}};
  protocol::FetchRequest r;
  h.build(wanted, 12, r);
  EXPECT_EQ(r.session_id, 0);
  EXPECT_EQ(r.session_epoch, 0) << "a full fetch opens a session";
  EXPECT_EQ(listed(r).size(), 2u);
  EXPECT_EQ(r.topics[0].partitions[0].current_leader_epoch, 3);
  h.on_response(77);
  EXPECT_EQ(h.session_id(), 77);
  EXPECT_EQ(h.next_epoch(), 1);

  wanted[tp("a", 0)].fetch_offset = 5;
  h.build(wanted, 12, r);
  EXPECT_EQ(r.session_id, 77);
  EXPECT_EQ(r.session_epoch, 1);
  EXPECT_EQ(listed(r), (std::vector<std::pair<TopicPartition, int64_t>>{{tp("a", 0), 5}}))
      << "only what changed";
  EXPECT_TRUE(r.forgotten_topics_data.empty());
  h.on_response(77);
  EXPECT_EQ(h.next_epoch(), 2);

  wanted.erase(tp("a", 0));
  h.build(wanted, 12, r);
  EXPECT_TRUE(r.topics.empty());
  ASSERT_EQ(r.forgotten_topics_data.size(), 1u);
  EXPECT_EQ(r.forgotten_topics_data[0].partitions, std::vector<int32_t>{0});
  h.on_error(Errc::invalid_fetch_session_epoch);

  h.build(wanted, 12, r);
  EXPECT_EQ(r.session_id, 77) << "closes the old session and opens a new one";
  EXPECT_EQ(r.session_epoch, 0);
  EXPECT_EQ(listed(r).size(), 1u);
  h.on_error(Errc::fetch_session_id_not_found);
  h.build(wanted, 12, r);
  EXPECT_EQ(r.session_id, 0);
  EXPECT_EQ(r.session_epoch, 0);
  h.on_response(0);  // the broker declined a session: keep sending full fetches
  h.build(wanted, 12, r);
  EXPECT_EQ(r.session_epoch, 0);

  FetchSessionHandler old;
  old.build(wanted, 6, r);
  EXPECT_EQ(r.session_epoch, -1) << "v6 has no sessions";
}

Bytes batch_at(int64_t base, int count, bool control = false,
               record::Compression compression = record::Compression::none) {
  record::BatchOptions o;
  o.compression = compression;
  o.base_offset = Offset{base};
  o.control = control;
  o.transactional = control;
  o.partition_leader_epoch = LeaderEpoch{4};
  record::BatchBuilder b(o);
  for (int i = 0; i < count; ++i) {
    const std::string key = "k" + std::to_string(base + i);
    b.append(1000 + i, as_bytes(key), as_bytes("v"));
  }
  return *b.build();
}

Bytes concat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

TEST(FetchDecoder, SkipsRecordsBeforeThePositionAndControlBatches) {
  Bytes data = concat({batch_at(0, 5), batch_at(5, 1, true), batch_at(6, 2)});
  auto chunk = decode_fetched_records("t", 3, data, nullptr, 3, true);
  ASSERT_TRUE(chunk) << chunk.error().to_string();
  const FetchedRecords& fetched = *chunk->fetched;
  std::vector<int64_t> offsets;
  for (const auto& r : fetched.records) offsets.push_back(r.offset);
  EXPECT_EQ(offsets, (std::vector<int64_t>{3, 4, 6, 7}));
  EXPECT_EQ(chunk->next_offset, 8);
  EXPECT_EQ(fetched.topic, "t");
  EXPECT_EQ(fetched.partition, 3);
  EXPECT_EQ(str(*fetched.records[0].key), "k3");
  EXPECT_EQ(fetched.records[0].timestamp, 1003);
  EXPECT_EQ(fetched.records[0].leader_epoch, 4);

  // Only a control batch past the position: no records, but the position moves past it.
  auto control = decode_fetched_records("t", 0, batch_at(5, 1, true), nullptr, 5, true);
  ASSERT_TRUE(control);
  EXPECT_TRUE(control->fetched->records.empty());
  EXPECT_EQ(control->next_offset, 6);
}

// A transactional producer's batch (`marker`: its control batch, one ABORT or COMMIT record).
Bytes txn_batch(int64_t base, int count, int64_t producer,
                std::optional<record::ControlType> marker = std::nullopt) {
  record::BatchOptions o;
  o.base_offset = Offset{base};
  o.transactional = true;
  o.control = marker.has_value();
  o.producer_id = ProducerId{producer};
  o.producer_epoch = ProducerEpoch{0};
  o.base_sequence = 0;
  record::BatchBuilder b(o);
  if (marker) {
    const Bytes key = record::control_record_key(*marker);
    b.append(2000, ByteView(key), as_bytes("marker"));
    return *b.build();
  }
  for (int i = 0; i < count; ++i) b.append(1000 + i, std::nullopt, as_bytes("v"));
  return *b.build();
}

std::vector<int64_t> offsets_of(const Result<FetchedChunk>& chunk) {
  std::vector<int64_t> out;
  for (const auto& r : chunk->fetched->records) out.push_back(r.offset);
  return out;
}

TEST(FetchDecoder, ReadCommittedDropsAbortedTransactionsUpToTheirAbortMarker) {
  using record::ControlType;
  // Producer 7 aborts [0,1], producer 8 commits [2,3], [4,5] is not transactional, then
  // producer 7 commits a new transaction [8,9] after its ABORT marker closed the first.
  const Bytes data = concat({txn_batch(0, 2, 7), txn_batch(2, 2, 8), batch_at(4, 2),
                             txn_batch(6, 1, 7, ControlType::abort),
                             txn_batch(7, 1, 8, ControlType::commit), txn_batch(8, 2, 7),
                             txn_batch(10, 1, 7, ControlType::commit)});
  const std::vector<AbortedTransaction> one_abort = {{7, 0}};

  auto committed = decode_fetched_records("t", 0, data, nullptr, 0, true, one_abort);
  ASSERT_TRUE(committed) << committed.error().to_string();
  EXPECT_EQ(offsets_of(committed), (std::vector<int64_t>{2, 3, 4, 5, 8, 9}));
  EXPECT_EQ(committed->next_offset, 11) << "dropped batches and markers still move the position";

  auto uncommitted = decode_fetched_records("t", 0, data, nullptr, 0, true);
  ASSERT_TRUE(uncommitted);
  EXPECT_EQ(offsets_of(uncommitted), (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 8, 9}));

  // A position inside the aborted transaction: the span opened before it still drops offset 1.
  auto mid = decode_fetched_records("t", 0, data, nullptr, 1, true, one_abort);
  ASSERT_TRUE(mid);
  EXPECT_EQ(offsets_of(mid), (std::vector<int64_t>{2, 3, 4, 5, 8, 9}));

  // Producer 7's second transaction aborted as well (listed out of order: the decoder sorts).
  const std::vector<AbortedTransaction> two_aborts = {{7, 8}, {7, 0}};
  auto both = decode_fetched_records("t", 0, data, nullptr, 0, true, two_aborts);
  ASSERT_TRUE(both);
  EXPECT_EQ(offsets_of(both), (std::vector<int64_t>{2, 3, 4, 5}));

  // A non-transactional batch of a producer id with an aborted span is kept (only
  // transactional batches belong to a transaction).
  const std::vector<AbortedTransaction> of_plain = {{-1, 0}};
  auto plain = decode_fetched_records("t", 0, data, nullptr, 0, true, of_plain);
  ASSERT_TRUE(plain);
  EXPECT_EQ(offsets_of(plain), (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 8, 9}));
}

TEST(ControlRecordKey, RoundTripsAndRejectsShortOrUnknownKeys) {
  using record::ControlType;
  EXPECT_EQ(record::parse_control_record_key(record::control_record_key(ControlType::abort)),
            ControlType::abort);
  EXPECT_EQ(record::parse_control_record_key(record::control_record_key(ControlType::commit)),
            ControlType::commit);
  const Bytes short_key(3);
  EXPECT_EQ(record::parse_control_record_key(short_key), std::nullopt);
  Bytes unknown = record::control_record_key(ControlType::commit);
  unknown[3] = std::byte{9};
  EXPECT_EQ(record::parse_control_record_key(unknown), std::nullopt);
}

// The decoded records view the fetched bytes: they must stay readable after the caller lets go
// of the frame (the chunk keeps it) and for compressed batches, whose bytes are decompressed.
TEST(FetchDecoder, RecordsOutliveTheFrameTheyView) {
  auto frame = std::make_shared<Bytes>(
      concat({batch_at(0, 3), batch_at(3, 4, false, record::Compression::lz4),
              batch_at(7, 2, false, record::Compression::zstd)}));
  auto chunk = decode_fetched_records("t", 0, *frame, frame, 0, true);
  ASSERT_TRUE(chunk) << chunk.error().to_string();
  std::weak_ptr<Bytes> watch = frame;
  frame.reset();
  ASSERT_FALSE(watch.expired()) << "the chunk holds the frame";
  PolledRecords polled;
  polled.runs.push_back({chunk->fetched, 0, chunk->fetched->records.size()});
  chunk.value().fetched.reset();
  std::vector<ConsumerRecord> records = polled.to_records();
  ASSERT_EQ(records.size(), 9u);
  for (int i = 0; i < 9; ++i) {
    EXPECT_EQ(records[i].offset, i);
    ASSERT_TRUE(records[i].key && records[i].value);
    EXPECT_EQ(str(*records[i].key), "k" + std::to_string(i));
    EXPECT_EQ(str(*records[i].value), "v");
    EXPECT_EQ(records[i].topic, "t");
  }
  polled.runs.clear();
  EXPECT_TRUE(watch.expired()) << "released with the last record";
}

TEST(FetchDecoder, TruncatedTailIgnoredOversizedFirstBatchAndCorruptionReported) {
  Bytes data = concat({batch_at(0, 2), batch_at(2, 3)});
  data.resize(data.size() - 7);
  auto chunk = decode_fetched_records("t", 0, data, nullptr, 0, true);
  ASSERT_TRUE(chunk);
  EXPECT_EQ(chunk->fetched->records.size(), 2u);
  EXPECT_EQ(chunk->next_offset, 2);

  Bytes partial = batch_at(0, 3);
  partial.resize(40);
  auto too_large = decode_fetched_records("t", 0, partial, nullptr, 0, true);
  ASSERT_FALSE(too_large);
  EXPECT_EQ(too_large.error().code(), Errc::message_too_large);

  Bytes corrupt = batch_at(0, 3);
  corrupt[corrupt.size() - 2] ^= std::byte{0x01};  // the last record's value: "v" -> "w"
  auto bad = decode_fetched_records("t", 0, corrupt, nullptr, 0, true);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), Errc::corrupt_message);
  EXPECT_TRUE(decode_fetched_records("t", 0, corrupt, nullptr, 0, false)) << "check.crcs=false";
}

// drain() hands out runs of the buffered chunks, at most `max` records, across chunk ends,
// moving the position past what it returned.
TEST(SubscriptionDrain, RunsSpanChunksUpToMax) {
  SubscriptionState subs(OffsetResetPolicy::earliest);
  ASSERT_TRUE(subs.assign_manual({{"t", 0}}));
  PartitionState& p = *subs.find({"t", 0});
  subs.seek(p, 0);
  for (int64_t base : {0, 5}) {
    auto frame = std::make_shared<Bytes>(batch_at(base, 5));
    auto chunk = decode_fetched_records("t", 0, *frame, frame, base, true);
    ASSERT_TRUE(chunk);
    subs.add_chunk(p, std::move(*chunk));
  }
  PolledRecords first = subs.drain(7);
  ASSERT_EQ(first.runs.size(), 2u);
  EXPECT_EQ(first.size(), 7u);
  EXPECT_EQ(p.position, 7);
  PolledRecords rest = subs.drain(100);
  EXPECT_EQ(rest.size(), 3u);
  EXPECT_EQ(p.position, 10);
  std::vector<int64_t> offsets;
  for (const auto& r : first.to_records()) offsets.push_back(r.offset);
  for (const auto& r : rest.to_records()) offsets.push_back(r.offset);
  EXPECT_EQ(offsets, (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
  EXPECT_TRUE(subs.drain(100).empty());
  EXPECT_EQ(subs.buffered_bytes(), 0u);
}

class FetcherTest : public IoTest {
 protected:
  ConsumerConfig config_for(uint16_t port) {
    Properties p = {{"bootstrap.servers", "127.0.0.1:" + std::to_string(port)},
                    {"fetch.max.wait.ms", "50"},
                    {"retry.backoff.ms", "20"}};
    return *parse_consumer_config(p);
  }
};

TEST_F(FetcherTest, FetchesIncrementallyWithinASession) {
  create_topic("f", 3);
  for (int32_t p = 0; p < 3; ++p) produce("f", p, make_batch("a", 10));
  ConsumerConfig config = config_for(broker_->port());
  NetworkClient network(io_, config.client);
  SubscriptionState subs(OffsetResetPolicy::earliest);
  int progress = 0;
  Fetcher fetcher(network, subs, config, [&] { ++progress; });
  ASSERT_TRUE(subs.assign_manual({{"f", 0}, {"f", 1}, {"f", 2}}));
  for (auto& [tp_, p] : subs.partitions()) subs.seek(p, 0);
  network.want_topics({"f"});
  std::optional<Result<void>> updated;
  network.update_metadata([&](Result<void> r) { updated = r; });
  ASSERT_TRUE(run_until([&] { return updated.has_value(); }));

  std::vector<ConsumerRecord> got;
  auto drain_until = [&](size_t n) {
    return run_until([&] {
      fetcher.maybe_send();
      for (auto& r : subs.drain(100).to_records()) got.push_back(std::move(r));
      return got.size() >= n;
    });
  };
  ASSERT_TRUE(drain_until(30));
  for (int32_t p = 0; p < 3; ++p) produce("f", p, make_batch("b", 5));
  ASSERT_TRUE(drain_until(45));
  EXPECT_EQ(got.size(), 45u);
  EXPECT_GT(fetcher.incremental_fetches(), 0u);
  EXPECT_GT(progress, 0);
  for (auto& [tp_, p] : subs.partitions()) EXPECT_EQ(p.position, 15) << tp_.to_string();

  // A paused partition is forgotten by the session; resumed, it is fetched again.
  subs.set_paused(*subs.find({"f", 0}), true);
  produce("f", 0, make_batch("c", 2));
  produce("f", 1, make_batch("c", 2));
  ASSERT_TRUE(drain_until(47));
  run_for(200ms);
  for (auto& r : subs.drain(100).to_records()) got.push_back(std::move(r));
  EXPECT_EQ(got.size(), 47u);
  subs.set_paused(*subs.find({"f", 0}), false);
  ASSERT_TRUE(drain_until(49));
  EXPECT_EQ(subs.find({"f", 0})->position, 17);
  network.close();
}

TEST_F(FetcherTest, RestartsTheSessionAfterTheBrokerForgetsIt) {
  create_topic("f");
  produce("f", 0, make_batch("a", 5));
  ConsumerConfig config = config_for(broker_->port());
  NetworkClient network(io_, config.client);
  SubscriptionState subs(OffsetResetPolicy::earliest);
  Fetcher fetcher(network, subs, config, [] {});
  ASSERT_TRUE(subs.assign_manual({{"f", 0}}));
  subs.seek(*subs.find({"f", 0}), 0);
  network.want_topics({"f"});
  std::vector<ConsumerRecord> got;
  auto drain_until = [&](size_t n) {
    return run_until([&] {
      fetcher.maybe_send();
      for (auto& r : subs.drain(100).to_records()) got.push_back(std::move(r));
      return got.size() >= n;
    });
  };
  ASSERT_TRUE(drain_until(5));
  const uint64_t incremental = fetcher.incremental_fetches();
  ASSERT_TRUE(run_until([&] {
    fetcher.maybe_send();
    return fetcher.incremental_fetches() > incremental;
  }));
  // Close the session behind the fetcher's back (a fresh broker's first session is id 1), as
  // a broker restart or cache eviction would: FETCH_SESSION_ID_NOT_FOUND, then a full fetch.
  protocol::FetchRequest close;
  close.replica_id = -1;
  close.session_id = 1;
  close.session_epoch = -1;
  std::optional<Result<Response<protocol::FetchResponse>>> closed;
  network.send<protocol::FetchRequest>(broker_->node_id(), close,
                                       [&](auto r) { closed.emplace(std::move(r)); });
  ASSERT_TRUE(run_until([&] { return closed.has_value(); }));
  ASSERT_TRUE(*closed);
  produce("f", 0, make_batch("b", 3));
  ASSERT_TRUE(drain_until(8));
  EXPECT_EQ(got.back().offset, 7);
  network.close();
}

}  // namespace
}  // namespace kafkacore::client::testing
