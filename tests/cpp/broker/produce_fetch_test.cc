// Produce, Fetch (long polls, sessions), InitProducerId, ListOffsets, DeleteRecords and
// OffsetForLeaderEpoch against a real broker.
#include <thread>

#include "broker/harness.h"

namespace kafkacore::broker::testing {
namespace {

using namespace protocol;
using namespace std::chrono_literals;

using ProduceFetchTest = BrokerTest;

// Recent, so retention keeps the records (see now_ms()).
const int64_t kTs = now_ms();

// Checks that `fetched` is exactly `produced` (in order), each batch with the base offset from
// `bases` and the leader epoch the log stamped (0): only those two header fields may differ.
void expect_same_batches(ByteView fetched, const std::vector<Bytes>& produced,
                         const std::vector<int64_t>& bases) {
  record::BatchIterator it(fetched);
  size_t i = 0;
  for (;; ++i) {
    auto batch = it.next();
    ASSERT_TRUE(batch) << batch.error().message();
    if (!*batch) break;
    ASSERT_LT(i, produced.size()) << "more batches than produced";
    const auto& view = **batch;
    EXPECT_EQ(view.base_offset().value(), bases[i]);
    EXPECT_EQ(view.partition_leader_epoch().value(), 0);
    EXPECT_TRUE(view.validate());
    Bytes expected = produced[i];
    record::set_base_offset(expected, view.base_offset());
    record::set_partition_leader_epoch(expected, view.partition_leader_epoch());
    const ByteView got = fetched.subspan(it.position() - view.size_bytes(), view.size_bytes());
    EXPECT_TRUE(std::ranges::equal(got, expected)) << "batch " << i << " differs";
  }
  EXPECT_EQ(i, produced.size());
}

TEST_F(ProduceFetchTest, ProduceV9FetchV12RoundTrip) {
  create_topic("rt");
  const Bytes b1 = make_batch("a", 3, kTs);
  const Bytes b2 = make_batch("b", 2, kTs + 100);
  auto r1 = produce("rt", 0, b1);
  EXPECT_EQ(r1.error_code, 0);
  EXPECT_EQ(r1.base_offset, 0);
  EXPECT_EQ(r1.log_append_time_ms, -1);
  EXPECT_EQ(r1.log_start_offset, 0);
  EXPECT_FALSE(r1.error_message.has_value());
  auto r2 = produce("rt", 0, b2);
  EXPECT_EQ(r2.error_code, 0);
  EXPECT_EQ(r2.base_offset, 3);

  auto resp = client_->call(fetch_request("rt", 0, 0), 12);
  EXPECT_EQ(resp.error_code, 0);
  EXPECT_EQ(resp.session_id, 0);
  const auto* p = find_partition(resp, "rt", 0);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->error_code, 0);
  EXPECT_EQ(p->high_watermark, 5);
  EXPECT_EQ(p->last_stable_offset, 5);
  EXPECT_EQ(p->log_start_offset, 0);
  expect_same_batches(p->records.bytes, {b1, b2}, {0, 3});
  auto records = fetched_records(p->records.bytes);
  ASSERT_EQ(records.size(), 5u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(records[i].offset, i);
    EXPECT_EQ(records[i].key, i < 3 ? "a-" + std::to_string(i) : "b-" + std::to_string(i - 3));
  }
  EXPECT_EQ(records[3].timestamp, kTs + 100);

  // From the second batch; from the middle of the first (whole batches are sent); at the end;
  // beyond the end.
  auto from3 = client_->call(fetch_request("rt", 0, 3), 12);
  expect_same_batches(find_partition(from3, "rt", 0)->records.bytes, {b2}, {3});
  auto from1 = client_->call(fetch_request("rt", 0, 1), 12);
  expect_same_batches(find_partition(from1, "rt", 0)->records.bytes, {b1, b2}, {0, 3});
  auto at_end = client_->call(fetch_request("rt", 0, 5), 12);
  EXPECT_EQ(find_partition(at_end, "rt", 0)->error_code, 0);
  EXPECT_EQ(find_partition(at_end, "rt", 0)->records.size(), 0u);
  auto beyond = client_->call(fetch_request("rt", 0, 6), 12);
  EXPECT_EQ(find_partition(beyond, "rt", 0)->error_code, 1);  // OFFSET_OUT_OF_RANGE
  auto unknown = client_->call(fetch_request("rt", 7, 0), 12);
  EXPECT_EQ(find_partition(unknown, "rt", 7)->error_code, 3);

  // KIP-74: a partition limit smaller than a batch still returns the first batch (only).
  auto small = fetch_request("rt", 0, 0);
  small.topics[0].partitions[0].partition_max_bytes = 10;
  auto limited = client_->call(small, 12);
  expect_same_batches(find_partition(limited, "rt", 0)->records.bytes, {b1}, {0});

  // The oldest Fetch version served returns the same bytes.
  auto v4 = client_->call(fetch_request("rt", 0, 0), 4);
  expect_same_batches(find_partition(v4, "rt", 0)->records.bytes, {b1, b2}, {0, 3});
}

TEST_F(ProduceFetchTest, AcksZeroGetsNoAnswer) {
  create_topic("fire");
  const Bytes batch = make_batch("f", 3);
  const int32_t silent = client_->send(produce_request("fire", 0, batch, /*acks=*/0), 9);
  const int32_t next = client_->send(ApiVersionsRequest{}, 0);
  ASSERT_NE(silent, next);
  // The next answer is the ApiVersions one (receive() checks the correlation id).
  EXPECT_EQ(client_->receive<ApiVersionsResponse>(next, 0).error_code, 0);
  EXPECT_EQ(list_offset("fire", 0, -1).offset, 3);

  // A failing acks=0 produce is not answered either.
  client_->send(produce_request("no-such-topic-x", 5, batch, 0), 9);
  const int32_t after = client_->send(ApiVersionsRequest{}, 0);
  EXPECT_EQ(client_->receive<ApiVersionsResponse>(after, 0).error_code, 0);

  // acks=2 is refused.
  auto bad = client_->call(produce_request("fire", 0, batch, 2), 9);
  EXPECT_EQ(bad.responses[0].partition_responses[0].error_code, 21);  // INVALID_REQUIRED_ACKS
  // acks=-1 is answered too.
  auto all = client_->call(produce_request("fire", 0, batch, -1), 9);
  EXPECT_EQ(all.responses[0].partition_responses[0].error_code, 0);
  EXPECT_EQ(all.responses[0].partition_responses[0].base_offset, 3);
}

TEST_F(ProduceFetchTest, CorruptBatchIsRejectedAndNotAppended) {
  create_topic("crc");
  Bytes batch = make_batch("c", 3);
  batch.back() ^= std::byte{0xff};  // inside the CRC-covered records
  auto r = produce("crc", 0, batch);
  EXPECT_EQ(r.error_code, 2);  // CORRUPT_MESSAGE
  EXPECT_EQ(r.base_offset, -1);
  EXPECT_TRUE(r.error_message.has_value());
  EXPECT_EQ(list_offset("crc", 0, -1).offset, 0);

  // Two batches in one partition's records, and no records at all, are INVALID_RECORD.
  Bytes two = make_batch("x", 1);
  const Bytes second = make_batch("y", 1);
  two.insert(two.end(), second.begin(), second.end());
  EXPECT_EQ(produce("crc", 0, two).error_code, 87);
  EXPECT_EQ(produce("crc", 0, ByteView{}).error_code, 87);
  // A truncated batch.
  Bytes cut = make_batch("z", 2);
  cut.resize(cut.size() - 5);
  EXPECT_NE(produce("crc", 0, cut).error_code, 0);
  EXPECT_EQ(list_offset("crc", 0, -1).offset, 0);

  // Unknown topic / partition.
  EXPECT_EQ(produce("crc", 3, make_batch("u", 1)).error_code, 3);
  EXPECT_EQ(produce("never-made", 0, make_batch("u", 1)).error_code, 3);

  // The partition still works.
  auto ok = produce("crc", 0, make_batch("good", 2));
  EXPECT_EQ(ok.error_code, 0);
  EXPECT_EQ(ok.base_offset, 0);
}

TEST_F(ProduceFetchTest, ZstdNeedsProduceV7) {
  create_topic("zstd");
  record::BatchOptions options;
  options.compression = record::Compression::zstd;
  const Bytes batch = make_batch("z", 4, kTs, options);
  auto v6 = produce(*client_, "zstd", 0, batch, 6);
  EXPECT_EQ(v6.error_code, 76);  // UNSUPPORTED_COMPRESSION_TYPE
  EXPECT_EQ(list_offset("zstd", 0, -1).offset, 0);
  auto v7 = produce(*client_, "zstd", 0, batch, 7);
  EXPECT_EQ(v7.error_code, 0);
  EXPECT_EQ(v7.base_offset, 0);
  auto fetched = client_->call(fetch_request("zstd", 0, 0), 12);
  auto records = fetched_records(find_partition(fetched, "zstd", 0)->records.bytes);
  ASSERT_EQ(records.size(), 4u);
  EXPECT_EQ(records[3].value, "value-z-3");
  // gzip is fine at v6.
  options.compression = record::Compression::gzip;
  EXPECT_EQ(produce(*client_, "zstd", 0, make_batch("g", 2, kTs, options), 6).error_code, 0);
}

InitProducerIdRequest init_producer_request() {
  InitProducerIdRequest req;
  req.transactional_id = std::nullopt;
  req.transaction_timeout_ms = 60000;
  req.producer_id = -1;
  req.producer_epoch = -1;
  return req;
}

Bytes idempotent_batch(const std::string& prefix, int count, int64_t pid, int16_t epoch,
                       int32_t sequence) {
  record::BatchOptions options;
  options.producer_id = ProducerId{pid};
  options.producer_epoch = ProducerEpoch{epoch};
  options.base_sequence = sequence;
  return make_batch(prefix, count, kTs, options);
}

TEST_F(ProduceFetchTest, IdempotentProducer) {
  create_topic("idem");
  ASSERT_EQ(produce("idem", 0, make_batch("plain", 2)).base_offset, 0);

  auto init = client_->call(init_producer_request(), 4);
  ASSERT_EQ(init.error_code, 0);
  ASSERT_GE(init.producer_id, 0);
  EXPECT_EQ(init.producer_epoch, 0);
  const int64_t pid = init.producer_id;
  // Another producer gets another id.
  auto other = client_->call(init_producer_request(), 2);
  EXPECT_EQ(other.error_code, 0);
  EXPECT_NE(other.producer_id, pid);

  const Bytes first = idempotent_batch("i", 3, pid, 0, 0);
  auto r = produce("idem", 0, first);
  ASSERT_EQ(r.error_code, 0);
  EXPECT_EQ(r.base_offset, 2);
  // A retry: the same offsets, nothing appended.
  auto retry = produce("idem", 0, first);
  EXPECT_EQ(retry.error_code, 0);
  EXPECT_EQ(retry.base_offset, 2);
  EXPECT_EQ(list_offset("idem", 0, -1).offset, 5);

  // A gap in the sequence.
  auto gap = produce("idem", 0, idempotent_batch("gap", 1, pid, 0, 5));
  EXPECT_EQ(gap.error_code, 45);  // OUT_OF_ORDER_SEQUENCE_NUMBER
  EXPECT_EQ(list_offset("idem", 0, -1).offset, 5);
  // The next sequence is fine.
  auto next = produce("idem", 0, idempotent_batch("next", 2, pid, 0, 3));
  EXPECT_EQ(next.error_code, 0);
  EXPECT_EQ(next.base_offset, 5);

  // KIP-360 epoch bump: the new epoch starts at 0, the old one is fenced.
  auto bump_req = init_producer_request();
  bump_req.producer_id = pid;
  bump_req.producer_epoch = 0;
  auto bump = client_->call(bump_req, 4);
  EXPECT_EQ(bump.error_code, 0);
  EXPECT_EQ(bump.producer_id, pid);
  EXPECT_EQ(bump.producer_epoch, 1);
  EXPECT_EQ(produce("idem", 0, idempotent_batch("e1", 1, pid, 1, 0)).base_offset, 7);
  EXPECT_EQ(produce("idem", 0, idempotent_batch("e0", 1, pid, 0, 5)).error_code, 47);

  // Transactions are not offered yet.
  auto tx_req = init_producer_request();
  tx_req.transactional_id = "tx";
  EXPECT_EQ(client_->call(tx_req, 4).error_code, 15);  // COORDINATOR_NOT_AVAILABLE

  auto fetched = client_->call(fetch_request("idem", 0, 0), 12);
  auto records = fetched_records(find_partition(fetched, "idem", 0)->records.bytes);
  ASSERT_EQ(records.size(), 8u);
  EXPECT_EQ(records[2].key, "i-0");
  EXPECT_EQ(records[5].key, "next-0");
  EXPECT_EQ(records[7].key, "e1-0");
}

TEST_F(ProduceFetchTest, LongPollWokenByProduceOnAnotherConnection) {
  create_topic("lp");
  auto waiter = connect();
  const auto start = std::chrono::steady_clock::now();
  const int32_t id = waiter->send(fetch_request("lp", 0, 0, /*max_wait_ms=*/2000, /*min_bytes=*/1), 12);
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(produce("lp", 0, make_batch("wake", 2)).error_code, 0);
  auto resp = waiter->receive<FetchResponse>(id, 12);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_LT(elapsed, 1s);
  EXPECT_GE(elapsed, 100ms);
  const auto* p = find_partition(resp, "lp", 0);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->error_code, 0);
  EXPECT_EQ(p->high_watermark, 2);
  EXPECT_EQ(fetched_records(p->records.bytes).size(), 2u);
}

TEST_F(ProduceFetchTest, LongPollExpiresEmpty) {
  create_topic("idle");
  const auto start = std::chrono::steady_clock::now();
  auto resp = client_->call(fetch_request("idle", 0, 0, /*max_wait_ms=*/500), 12);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_GE(elapsed, 480ms);
  EXPECT_LT(elapsed, 1500ms);
  const auto* p = find_partition(resp, "idle", 0);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->error_code, 0);
  EXPECT_EQ(p->records.size(), 0u);
}

TEST_F(ProduceFetchTest, LongPollWithMinBytesWaitsForEnough) {
  create_topic("minb");
  auto waiter = connect();
  const Bytes small = make_batch("s", 1);
  const auto start = std::chrono::steady_clock::now();
  // min_bytes larger than one small batch: the first produce does not complete the poll.
  const int32_t id = waiter->send(
      fetch_request("minb", 0, 0, 1500, static_cast<int32_t>(small.size() * 2 + 1)), 12);
  std::this_thread::sleep_for(50ms);
  produce("minb", 0, small);
  std::this_thread::sleep_for(150ms);
  produce("minb", 0, make_batch("t", 1));
  std::this_thread::sleep_for(50ms);
  produce("minb", 0, make_batch("u", 1));
  auto resp = waiter->receive<FetchResponse>(id, 12);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_GE(elapsed, 250ms);
  EXPECT_LT(elapsed, 1200ms);
  EXPECT_EQ(fetched_records(find_partition(resp, "minb", 0)->records.bytes).size(), 3u);
}

TEST_F(ProduceFetchTest, StopWithPendingLongPoll) {
  create_topic("pending");
  auto waiter = connect();
  waiter->send(fetch_request("pending", 0, 0, 5000), 12);
  std::this_thread::sleep_for(50ms);
  const auto start = std::chrono::steady_clock::now();
  auto stopped = broker_->stop();
  EXPECT_TRUE(stopped) << stopped.error().message();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  // The connection is closed without an answer.
  EXPECT_THROW(waiter->read_frame(), ClientError);
}

TEST_F(ProduceFetchTest, ClientGoneDuringLongPoll) {
  create_topic("gone");
  {
    auto waiter = connect();
    waiter->send(fetch_request("gone", 0, 0, 300), 12);
    waiter->send(fetch_request("gone", 0, 0, 1500), 12);
    std::this_thread::sleep_for(50ms);
  }  // disconnects with two polls pending
  // One is woken by an append, the other expires: neither has a connection to answer on.
  EXPECT_EQ(produce("gone", 0, make_batch("w", 1)).error_code, 0);
  std::this_thread::sleep_for(400ms);
  EXPECT_EQ(client_->call(ApiVersionsRequest{}, 0).error_code, 0);
}

TEST_F(ProduceFetchTest, TopicDeletedDuringLongPoll) {
  create_topic("doomed");
  auto waiter = connect();
  const auto start = std::chrono::steady_clock::now();
  const int32_t id = waiter->send(fetch_request("doomed", 0, 0, 500), 12);
  std::this_thread::sleep_for(50ms);
  DeleteTopicsRequest del;
  del.topic_names = {"doomed"};
  ASSERT_EQ(client_->call(del, 4).responses.at(0).error_code, 0);
  auto resp = waiter->receive<FetchResponse>(id, 12);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1500ms);
  const auto* p = find_partition(resp, "doomed", 0);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->error_code, 3);
}

TEST_F(ProduceFetchTest, LongPollOnRecreatedTopicIsStillWoken) {
  create_topic("phoenix");
  auto old_poll = connect();
  const int32_t old_id = old_poll->send(fetch_request("phoenix", 0, 0, 300), 12);
  std::this_thread::sleep_for(50ms);
  DeleteTopicsRequest del;
  del.topic_names = {"phoenix"};
  ASSERT_EQ(client_->call(del, 4).responses.at(0).error_code, 0);
  create_topic("phoenix");
  // A poll on the new partition, then the old poll expires (it must not disturb the new one).
  auto new_poll = connect();
  const auto start = std::chrono::steady_clock::now();
  const int32_t new_id = new_poll->send(fetch_request("phoenix", 0, 0, 1800), 12);
  // (Fetch v12 names topics, so the old poll now looks at the new partition: no error.)
  auto old_answer = old_poll->receive<FetchResponse>(old_id, 12);
  EXPECT_EQ(find_partition(old_answer, "phoenix", 0)->records.size(), 0u);
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(produce("phoenix", 0, make_batch("new", 1)).error_code, 0);
  auto new_answer = new_poll->receive<FetchResponse>(new_id, 12);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1000ms) << "the append did not wake the poll";
  EXPECT_EQ(fetched_records(find_partition(new_answer, "phoenix", 0)->records.bytes).size(), 1u);
}

TEST_F(ProduceFetchTest, LargeBatchRoundTrip) {
  create_topic("large");
  // Larger than the server's 64 KiB read buffer and the socket buffers.
  const std::string value(700 * 1024, 'x');
  record::BatchBuilder builder;
  builder.append(now_ms(), text("big"), text(value));
  auto built = builder.build();
  ASSERT_TRUE(built);
  const Bytes batch = std::move(*built);
  auto r = produce("large", 0, batch);
  ASSERT_EQ(r.error_code, 0);
  for (int i = 0; i < 3; ++i) ASSERT_EQ(produce("large", 0, batch).error_code, 0);
  auto fetch = fetch_request("large", 0, 0);
  fetch.max_bytes = 4 << 20;
  fetch.topics[0].partitions[0].partition_max_bytes = 4 << 20;
  auto resp = client_->call(fetch, 12);
  const auto* p = find_partition(resp, "large", 0);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->error_code, 0);
  expect_same_batches(p->records.bytes, {batch, batch, batch, batch}, {0, 1, 2, 3});
  auto records = fetched_records(p->records.bytes);
  ASSERT_EQ(records.size(), 4u);
  EXPECT_EQ(records[3].value, value);
  // The response limit caps what comes back (but at least one batch).
  fetch.max_bytes = 1024;
  auto capped = client_->call(fetch, 12);
  expect_same_batches(find_partition(capped, "large", 0)->records.bytes, {batch}, {0});
}

FetchRequest session_fetch(int32_t session_id, int32_t epoch) {
  FetchRequest req;
  req.replica_id = -1;
  req.max_wait_ms = 0;
  req.min_bytes = 1;
  req.max_bytes = 1 << 20;
  req.session_id = session_id;
  req.session_epoch = epoch;
  return req;
}

void add_partition(FetchRequest& req, const std::string& topic, int32_t partition, int64_t offset) {
  if (req.topics.empty() || req.topics.back().topic != topic) req.topics.emplace_back().topic = topic;
  auto& p = req.topics.back().partitions.emplace_back();
  p.partition = partition;
  p.fetch_offset = offset;
  p.partition_max_bytes = 1 << 20;
}

size_t partition_count(const FetchResponse& resp) {
  size_t n = 0;
  for (const auto& t : resp.responses) n += t.partitions.size();
  return n;
}

TEST_F(ProduceFetchTest, FetchSessions) {
  create_topic("fs", 2);
  // Epoch 0: a full fetch that opens a session.
  auto full = session_fetch(0, 0);
  add_partition(full, "fs", 0, 0);
  add_partition(full, "fs", 1, 0);
  auto opened = client_->call(full, 12);
  EXPECT_EQ(opened.error_code, 0);
  const int32_t session = opened.session_id;
  ASSERT_NE(session, 0);
  EXPECT_EQ(partition_count(opened), 2u);

  // Nothing new: an incremental fetch lists no partition.
  auto quiet = client_->call(session_fetch(session, 1), 12);
  EXPECT_EQ(quiet.error_code, 0);
  EXPECT_EQ(quiet.session_id, session);
  EXPECT_EQ(partition_count(quiet), 0u);

  // New data on partition 1: only it comes back.
  produce("fs", 1, make_batch("n", 2));
  auto news = client_->call(session_fetch(session, 2), 12);
  EXPECT_EQ(news.error_code, 0);
  ASSERT_EQ(partition_count(news), 1u);
  const auto* p1 = find_partition(news, "fs", 1);
  ASSERT_NE(p1, nullptr);
  EXPECT_EQ(p1->high_watermark, 2);
  EXPECT_EQ(fetched_records(p1->records.bytes).size(), 2u);

  // The client moves its position on partition 1: nothing more to say.
  auto moved = session_fetch(session, 3);
  add_partition(moved, "fs", 1, 2);
  auto after = client_->call(moved, 12);
  EXPECT_EQ(after.error_code, 0);
  EXPECT_EQ(partition_count(after), 0u);

  // A wrong epoch (the one just used, again).
  auto stale = client_->call(session_fetch(session, 3), 12);
  EXPECT_EQ(stale.error_code, 71);  // INVALID_FETCH_SESSION_EPOCH
  EXPECT_EQ(partition_count(stale), 0u);
  auto ahead = client_->call(session_fetch(session, 9), 12);
  EXPECT_EQ(ahead.error_code, 71);
  // The right epoch still works after errors.
  auto right = client_->call(session_fetch(session, 4), 12);
  EXPECT_EQ(right.error_code, 0);

  // An unknown session.
  auto unknown = client_->call(session_fetch(session + 1000, 1), 12);
  EXPECT_EQ(unknown.error_code, 70);  // FETCH_SESSION_ID_NOT_FOUND

  // Closing it (epoch -1): a sessionless fetch; later use of the id is unknown.
  auto close = session_fetch(session, -1);
  add_partition(close, "fs", 1, 0);
  auto closed = client_->call(close, 12);
  EXPECT_EQ(closed.error_code, 0);
  EXPECT_EQ(partition_count(closed), 1u);
  EXPECT_EQ(client_->call(session_fetch(session, 5), 12).error_code, 70);

  // Fetch v6 and below have no sessions; session id 0 / epoch -1 is sessionless.
  auto sessionless = client_->call(fetch_request("fs", 1, 0), 12);
  EXPECT_EQ(sessionless.session_id, 0);
}

TEST_F(ProduceFetchTest, ListOffsetsV7) {
  create_topic("lo");
  // Empty partition.
  EXPECT_EQ(list_offset("lo", 0, -1).offset, 0);
  EXPECT_EQ(list_offset("lo", 0, -2).offset, 0);
  EXPECT_EQ(list_offset("lo", 0, -3).offset, -1);

  const int64_t t0 = now_ms();
  produce("lo", 0, make_batch_with_timestamps({t0 + 1000, t0 + 1001, t0 + 1002}));  // offsets 0-2
  produce("lo", 0, make_batch_with_timestamps({t0 + 4000, t0 + 5000, t0 + 4500}));  // offsets 3-5
  auto latest = list_offset("lo", 0, -1);
  EXPECT_EQ(latest.error_code, 0);
  EXPECT_EQ(latest.offset, 6);
  EXPECT_EQ(latest.leader_epoch, 0);
  EXPECT_EQ(list_offset("lo", 0, -2).offset, 0);
  auto max_ts = list_offset("lo", 0, -3);
  EXPECT_EQ(max_ts.error_code, 0);
  EXPECT_EQ(max_ts.offset, 4);
  EXPECT_EQ(max_ts.timestamp, t0 + 5000);
  auto at = list_offset("lo", 0, t0 + 1001);
  EXPECT_EQ(at.offset, 1);
  EXPECT_EQ(at.timestamp, t0 + 1001);
  auto between = list_offset("lo", 0, t0 + 2000);
  EXPECT_EQ(between.offset, 3);
  EXPECT_EQ(between.timestamp, t0 + 4000);
  auto early = list_offset("lo", 0, t0 - 100000);
  EXPECT_EQ(early.offset, 0);
  auto after_all = list_offset("lo", 0, t0 + 6000);
  EXPECT_EQ(after_all.error_code, 0);
  EXPECT_EQ(after_all.offset, -1);
  EXPECT_EQ(after_all.timestamp, -1);
  EXPECT_EQ(list_offset("lo", 3, -1).error_code, 3);

  // A fenced / unknown leader epoch.
  ListOffsetsRequest req;
  req.replica_id = -1;
  auto& t = req.topics.emplace_back();
  t.name = "lo";
  auto& p = t.partitions.emplace_back();
  p.partition_index = 0;
  p.timestamp = -1;
  p.current_leader_epoch = 3;
  EXPECT_EQ(client_->call(req, 7).topics[0].partitions[0].error_code, 75);
  // Older versions: v0 answers with old_style_offsets, v1-3 without a leader epoch.
  req.topics[0].partitions[0].current_leader_epoch = -1;
  auto v0 = client_->call(req, 0);
  EXPECT_EQ(v0.topics[0].partitions[0].error_code, 0);
  EXPECT_EQ(v0.topics[0].partitions[0].old_style_offsets, std::vector<int64_t>{6});
  for (int16_t version : {1, 2, 3}) {
    auto old = client_->call(req, version);
    EXPECT_EQ(old.topics[0].partitions[0].error_code, 0) << "v" << version;
    EXPECT_EQ(old.topics[0].partitions[0].offset, 6) << "v" << version;
  }
  req.topics[0].partitions[0].timestamp = t0 + 1001;
  auto v1 = client_->call(req, 1);
  EXPECT_EQ(v1.topics[0].partitions[0].offset, 1);
  EXPECT_EQ(v1.topics[0].partitions[0].timestamp, t0 + 1001);
}

TEST_F(ProduceFetchTest, DeleteRecordsThenFetchBelowStart) {
  create_topic("dr");
  for (int i = 0; i < 5; ++i) produce("dr", 0, make_batch("d" + std::to_string(i), 1));
  DeleteRecordsRequest req;
  req.timeout_ms = 1000;
  auto& t = req.topics.emplace_back();
  t.name = "dr";
  auto& p = t.partitions.emplace_back();
  p.partition_index = 0;
  p.offset = 3;
  auto resp = client_->call(req, 2);
  ASSERT_EQ(resp.topics.size(), 1u);
  EXPECT_EQ(resp.topics[0].partitions[0].error_code, 0);
  EXPECT_EQ(resp.topics[0].partitions[0].low_watermark, 3);

  auto below = client_->call(fetch_request("dr", 0, 0), 12);
  const auto* bp = find_partition(below, "dr", 0);
  ASSERT_NE(bp, nullptr);
  EXPECT_EQ(bp->error_code, 1);  // OFFSET_OUT_OF_RANGE
  auto from_start = client_->call(fetch_request("dr", 0, 3), 12);
  const auto* sp = find_partition(from_start, "dr", 0);
  EXPECT_EQ(sp->error_code, 0);
  EXPECT_EQ(sp->log_start_offset, 3);
  auto records = fetched_records(sp->records.bytes);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].offset, 3);
  EXPECT_EQ(list_offset("dr", 0, -2).offset, 3);

  // Beyond the high watermark; -1 means up to it.
  req.topics[0].partitions[0].offset = 10;
  EXPECT_EQ(client_->call(req, 2).topics[0].partitions[0].error_code, 1);
  req.topics[0].partitions[0].offset = -1;
  auto to_end = client_->call(req, 1);
  EXPECT_EQ(to_end.topics[0].partitions[0].error_code, 0);
  EXPECT_EQ(to_end.topics[0].partitions[0].low_watermark, 5);
  req.topics[0].name = "missing";
  EXPECT_EQ(client_->call(req, 0).topics[0].partitions[0].error_code, 3);
  EXPECT_EQ(produce("dr", 0, make_batch("again", 1)).base_offset, 5);
}

TEST_F(ProduceFetchTest, OffsetForLeaderEpoch) {
  create_topic("ofle");
  produce("ofle", 0, make_batch("o", 2));
  OffsetForLeaderEpochRequest req;
  auto& t = req.topics.emplace_back();
  t.topic = "ofle";
  auto& p = t.partitions.emplace_back();
  p.partition = 0;
  p.current_leader_epoch = -1;
  p.leader_epoch = 0;
  auto resp = client_->call(req, 4);
  ASSERT_EQ(resp.topics.size(), 1u);
  ASSERT_EQ(resp.topics[0].partitions.size(), 1u);
  EXPECT_EQ(resp.topics[0].partitions[0].error_code, 0);
  EXPECT_EQ(resp.topics[0].partitions[0].leader_epoch, 0);
  EXPECT_EQ(resp.topics[0].partitions[0].end_offset, 2);

  req.topics[0].partitions[0].current_leader_epoch = 0;
  EXPECT_EQ(client_->call(req, 3).topics[0].partitions[0].end_offset, 2);
  req.topics[0].partitions[0].current_leader_epoch = 5;
  EXPECT_EQ(client_->call(req, 4).topics[0].partitions[0].error_code, 75);  // UNKNOWN_LEADER_EPOCH
  req.topics[0].partitions[0].current_leader_epoch = -1;
  req.topics[0].partitions[0].leader_epoch = 3;  // an epoch we never had
  auto future = client_->call(req, 4);
  EXPECT_EQ(future.topics[0].partitions[0].error_code, 0);
  EXPECT_EQ(future.topics[0].partitions[0].leader_epoch, -1);
  EXPECT_EQ(future.topics[0].partitions[0].end_offset, -1);
  req.topics[0].topic = "missing";
  EXPECT_EQ(client_->call(req, 4).topics[0].partitions[0].error_code, 3);
}

}  // namespace
}  // namespace kafkacore::broker::testing
