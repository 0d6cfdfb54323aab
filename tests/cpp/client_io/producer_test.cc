// The native Producer against real brokers: batching and partitioning, linger.ms, acks and
// codecs, max.in.flight.requests.per.connection, idempotent sequences, unknown topics, oversized
// records, buffer limits, and leader failover on a three-broker cluster with no loss and no
// duplicates.
#include "client/producer.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <functional>
#include <map>
#include <set>

#include "broker/local_cluster.h"
#include "client/partitioner.h"
#include "record/record_batch.h"
#include "replica_fetcher/fixture.h"

namespace kafkacore::client::testing {
namespace {

using broker::testing::fetched_records;
using broker::testing::FetchedRecord;

Bytes bytes_of(const std::string& s) {
  return Bytes(reinterpret_cast<const std::byte*>(s.data()),
               reinterpret_cast<const std::byte*>(s.data()) + s.size());
}

ProducerRecord record(const std::string& topic, std::optional<std::string> key,
                      const std::string& value) {
  ProducerRecord r;
  r.topic = topic;
  if (key) r.key = bytes_of(*key);
  r.value = bytes_of(value);
  return r;
}

// Every record of a partition, read with Fetch from offset 0 to its end: `decode` turns one
// answer's record bytes into records (anything with an `offset`).
template <typename Record, typename Decode>
std::vector<Record> fetch_all(broker::testing::TestClient& client, const std::string& topic,
                              int32_t partition, Decode decode) {
  std::vector<Record> out;
  int64_t offset = 0;
  while (true) {
    auto response = client.call(broker::testing::fetch_request(topic, partition, offset), 12);
    const auto* p = broker::testing::find_partition(response, topic, partition);
    if (!p || p->error_code != 0 || p->records.bytes.empty()) break;
    const size_t before = out.size();
    for (Record& r : decode(p->records.bytes)) {
      if (r.offset >= offset) out.push_back(std::move(r));
    }
    if (out.size() == before) break;
    offset = out.back().offset + 1;
  }
  return out;
}

std::vector<FetchedRecord> read_partition(broker::testing::TestClient& client,
                                          const std::string& topic, int32_t partition) {
  return fetch_all<FetchedRecord>(client, topic, partition, broker::testing::fetched_records);
}

// A stored record with its headers and the codec of the batch holding it.
struct StoredRecord {
  int64_t offset = 0;
  record::Compression codec = record::Compression::none;
  std::optional<std::string> key;
  std::optional<std::string> value;
  std::vector<std::pair<std::string, std::optional<std::string>>> headers;
};

std::vector<StoredRecord> stored_records(ByteView bytes) {
  using broker::testing::str;
  std::vector<StoredRecord> out;
  record::BatchIterator it(bytes);
  while (true) {
    auto batch = it.next();
    if (!batch || !*batch) break;
    const record::RecordBatchView& view = **batch;
    EXPECT_TRUE(view.validate());
    auto decoded = record::decode_batch(view);
    if (!decoded) {
      ADD_FAILURE() << decoded.error().message();
      break;
    }
    for (const record::Record& r : decoded->records) {
      StoredRecord stored{.offset = view.base_offset().value() + r.offset_delta,
                          .codec = view.compression(),
                          .key = {},
                          .value = {},
                          .headers = {}};
      if (r.key) stored.key = str(*r.key);
      if (r.value) stored.value = str(*r.value);
      for (const record::RecordHeader& h : r.headers) {
        stored.headers.emplace_back(str(h.key),
                                    h.value ? std::optional(str(*h.value)) : std::nullopt);
      }
      out.push_back(std::move(stored));
    }
  }
  return out;
}

std::vector<StoredRecord> read_with_headers(broker::testing::TestClient& client,
                                            const std::string& topic, int32_t partition) {
  return fetch_all<StoredRecord>(client, topic, partition, stored_records);
}

// Polls `producer` until `done()` or the timeout; false on timeout.
bool poll_until(Producer& producer, const std::function<bool()>& done,
                std::chrono::milliseconds timeout = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    producer.poll(10ms);
  }
  return true;
}

class ProducerTest : public IoTest {
 protected:
  std::map<std::string, std::string> extra_properties() const override {
    return {{"num.partitions", "3"}};
  }
  Properties config(Properties extra = {}) {
    Properties p{{"bootstrap.servers", "127.0.0.1:" + std::to_string(broker_->port())}};
    for (auto& [k, v] : extra) p[k] = v;
    return p;
  }
};

TEST_F(ProducerTest, KeyedRecordsLandOnTheJavaPartitionInOrderWithOffsets) {
  create_topic("keyed", 3);
  auto producer = Producer::create(config({{"linger.ms", "2"}}));
  ASSERT_TRUE(producer) << producer.error().message();
  constexpr int kRecords = 3000;
  std::vector<std::optional<Result<RecordMetadata>>> reports(kRecords);
  for (int i = 0; i < kRecords; ++i) {
    auto sent = (*producer)->send(record("keyed", "k" + std::to_string(i % 50), "v" + std::to_string(i)),
                                  [&reports, i](const Result<RecordMetadata>& r) { reports[i] = r; });
    ASSERT_TRUE(sent) << sent.error().message();
  }
  ASSERT_TRUE((*producer)->flush(std::chrono::seconds(20)));
  EXPECT_EQ((*producer)->outstanding(), 0u);
  std::map<int32_t, std::vector<int>> by_partition;
  for (int i = 0; i < kRecords; ++i) {
    ASSERT_TRUE(reports[i].has_value()) << i;
    ASSERT_TRUE(*reports[i]) << reports[i]->error().message();
    const RecordMetadata& md = **reports[i];
    std::string key = "k" + std::to_string(i % 50);
    EXPECT_EQ(md.topic_partition.partition, partition_for_key(as_bytes(key), 3));
    by_partition[md.topic_partition.partition].push_back(i);
    EXPECT_EQ(md.offset, static_cast<int64_t>(by_partition[md.topic_partition.partition].size() - 1));
  }
  // What the broker holds is exactly what was acknowledged, in send order per partition.
  for (auto& [partition, indexes] : by_partition) {
    auto stored = read_partition(*client_, "keyed", partition);
    ASSERT_EQ(stored.size(), indexes.size());
    for (size_t j = 0; j < indexes.size(); ++j) {
      EXPECT_EQ(stored[j].value, "v" + std::to_string(indexes[j]));
    }
  }
  // Idempotent by default: the producer holds an id.
  EXPECT_GE((*producer)->producer_id().first, 0);
  ASSERT_TRUE((*producer)->close());
}

TEST_F(ProducerTest, NullKeysStickToAPartitionPerBatchAndUseAllOverTime) {
  create_topic("sticky", 3);
  auto producer = Producer::create(config({{"batch.size", "1024"}, {"linger.ms", "50"}}));
  ASSERT_TRUE(producer);
  std::map<int32_t, int> counts;
  for (int i = 0; i < 600; ++i) {
    ASSERT_TRUE((*producer)->send(record("sticky", std::nullopt, std::string(100, 'x')),
                                  [&](const Result<RecordMetadata>& r) {
                                    ASSERT_TRUE(r);
                                    counts[r->topic_partition.partition]++;
                                  }));
  }
  ASSERT_TRUE((*producer)->flush(std::chrono::seconds(20)));
  EXPECT_EQ(counts.size(), 3u);  // 600 x 100 B over 1 KiB batches: every partition gets some
}

TEST_F(ProducerTest, AcksZeroAndOneAndCompression) {
  create_topic("acks", 1);
  for (std::string acks : {"0", "1"}) {
    for (std::string codec : {"none", "gzip", "snappy", "lz4", "zstd"}) {
      auto producer = Producer::create(config({{"acks", acks}, {"compression.type", codec}}));
      ASSERT_TRUE(producer) << producer.error().message();
      EXPECT_EQ((*producer)->producer_id().first, -1);  // idempotence off unless acks=all
      int ok = 0;
      for (int i = 0; i < 50; ++i) {
        ASSERT_TRUE((*producer)->send(record("acks", "k", acks + codec + std::to_string(i)),
                                      [&](const Result<RecordMetadata>& r) {
                                        EXPECT_TRUE(r);
                                        if (acks == "0") {
                                          EXPECT_EQ(r->offset, -1);
                                        }
                                        ok += r.has_value();
                                      }));
      }
      ASSERT_TRUE((*producer)->close(std::chrono::seconds(10)));
      EXPECT_EQ(ok, 50) << acks << " " << codec;
    }
  }
  // acks=0 is fire-and-forget, but on a healthy connection everything arrives.
  auto stored = read_partition(*client_, "acks", 0);
  EXPECT_EQ(stored.size(), 500u);
}

// acks=all (idempotent) with every codec: what the broker stores is each record's key, value
// and headers as sent, in batches of that codec.
class ProducerCodecTest : public ProducerTest, public ::testing::WithParamInterface<std::string> {};

TEST_P(ProducerCodecTest, AcksAllKeepsKeysValuesAndHeaders) {
  const std::string codec = GetParam();
  create_topic("codec", 1);
  auto producer =
      Producer::create(config({{"acks", "all"}, {"compression.type", codec}, {"linger.ms", "20"}}));
  ASSERT_TRUE(producer) << producer.error().message();
  constexpr int kRecords = 200;
  std::vector<ProducerRecord> sent;
  for (int i = 0; i < kRecords; ++i) {
    ProducerRecord r;
    r.topic = "codec";
    if (i % 7 != 0) r.key = bytes_of("key-" + std::to_string(i));  // some null keys
    if (i % 11 != 5) {                                             // some null values
      r.value = bytes_of("value " + std::to_string(i) + " " +
                         std::string(i % 50, static_cast<char>('a' + i % 26)));
    }
    if (i % 3 != 0) {
      r.headers.push_back(Header{"trace", bytes_of("t" + std::to_string(i))});
      r.headers.push_back(Header{"empty", std::nullopt});
    }
    sent.push_back(r);
  }
  std::vector<std::optional<Result<RecordMetadata>>> reports(kRecords);
  for (int i = 0; i < kRecords; ++i) {
    ASSERT_TRUE((*producer)->send(
        sent[i], [&reports, i](const Result<RecordMetadata>& r) { reports[i] = r; }));
  }
  ASSERT_TRUE((*producer)->flush(std::chrono::seconds(20)));
  EXPECT_GE((*producer)->producer_id().first, 0);  // acks=all: idempotent
  for (int i = 0; i < kRecords; ++i) {
    ASSERT_TRUE(reports[i].has_value()) << i;
    ASSERT_TRUE(*reports[i]) << i << ": " << reports[i]->error().message();
    EXPECT_EQ((*reports[i])->offset, i);
  }
  ASSERT_TRUE((*producer)->close());

  auto stored = read_with_headers(*client_, "codec", 0);
  ASSERT_EQ(stored.size(), static_cast<size_t>(kRecords));
  const auto expected_codec = record::parse_compression(codec);
  ASSERT_TRUE(expected_codec);
  auto text = [](const std::optional<Bytes>& b) -> std::optional<std::string> {
    if (!b) return std::nullopt;
    return std::string(reinterpret_cast<const char*>(b->data()), b->size());
  };
  for (int i = 0; i < kRecords; ++i) {
    SCOPED_TRACE("record " + std::to_string(i));
    const StoredRecord& got = stored[i];
    EXPECT_EQ(got.offset, i);
    EXPECT_EQ(got.codec, *expected_codec);
    EXPECT_EQ(got.key, text(sent[i].key));
    EXPECT_EQ(got.value, text(sent[i].value));
    ASSERT_EQ(got.headers.size(), sent[i].headers.size());
    for (size_t h = 0; h < got.headers.size(); ++h) {
      EXPECT_EQ(got.headers[h].first, sent[i].headers[h].key);
      EXPECT_EQ(got.headers[h].second, text(sent[i].headers[h].value));
    }
  }
}

INSTANTIATE_TEST_SUITE_P(EveryCodec, ProducerCodecTest,
                         ::testing::Values("none", "gzip", "snappy", "lz4", "zstd"),
                         [](const ::testing::TestParamInfo<std::string>& codec) {
                           return codec.param;
                         });

// A batch that is neither full nor lingered stays in the producer; a full one goes at once; a
// lingered one goes without a flush. (Observed through delivery reports, which need the answer.)
TEST_F(ProducerTest, LingerHoldsABatchUntilItIsFullOrLingered) {
  create_topic("linger", 1);
  auto producer = Producer::create(config({{"linger.ms", "60000"}, {"batch.size", "4096"}}));
  ASSERT_TRUE(producer);
  ASSERT_TRUE((*producer)->partitions_for("linger", 5s));
  ASSERT_TRUE(poll_until(**producer, [&] { return (*producer)->producer_id().first >= 0; }));
  std::atomic<int> delivered{0};
  auto count = [&](const Result<RecordMetadata>& r) {
    EXPECT_TRUE(r) << r.error().message();
    ++delivered;
  };
  ASSERT_TRUE((*producer)->send(record("linger", std::nullopt, "alone"), count));
  (*producer)->poll(500ms);
  EXPECT_EQ(delivered.load(), 0) << "sent before the batch was full or lingered";
  EXPECT_EQ((*producer)->outstanding(), 1u);
  // 300-byte records: the batch fills after about a dozen and goes long before linger.ms.
  int sent = 1;
  for (; sent < 30; ++sent) {
    ASSERT_TRUE((*producer)->send(record("linger", std::nullopt, std::string(300, 'x')), count));
  }
  ASSERT_TRUE(poll_until(**producer, [&] { return delivered.load() > 0; }));
  EXPECT_LT(delivered.load(), sent);  // the batch still filling stays
  EXPECT_GT((*producer)->outstanding(), 0u);
  ASSERT_TRUE((*producer)->flush(10s));
  EXPECT_EQ(delivered.load(), sent);

  // linger.ms=300: a lone record goes by itself, no sooner.
  auto lingering = Producer::create(config({{"linger.ms", "300"}}));
  ASSERT_TRUE(lingering);
  ASSERT_TRUE((*lingering)->partitions_for("linger", 5s));
  ASSERT_TRUE(poll_until(**lingering, [&] { return (*lingering)->producer_id().first >= 0; }));
  std::optional<std::chrono::steady_clock::duration> took;
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(
      (*lingering)
          ->send(record("linger", std::nullopt, "lone"), [&](const Result<RecordMetadata>& r) {
            EXPECT_TRUE(r);
            took = std::chrono::steady_clock::now() - start;
          }));
  ASSERT_TRUE(poll_until(**lingering, [&] { return took.has_value(); }));
  EXPECT_GE(*took, 300ms);
}

// max.in.flight.requests.per.connection: with the broker holding every Produce request (a
// black-hole rule: received, never answered), the requests it receives stop at the limit however
// many batches of however many partitions are ready. Removing the rule drops the connection;
// the held batches are retried and everything arrives once, in order.
TEST_F(ProducerTest, MaxInFlightBoundsTheProduceRequestsOutstanding) {
  create_topic("inflight", 3);
  auto& faults = broker_->request_faults();
  for (int limit : {1, 3}) {
    SCOPED_TRACE("max.in.flight " + std::to_string(limit));
    server::FaultRule hold;
    hold.api_key = protocol::ProduceRequest::api_key;
    hold.action = server::FaultAction::black_hole;
    auto rule = faults.add(hold);
    ASSERT_TRUE(rule) << rule.error().message();
    auto received = [&] { return faults.state(*rule)->matched; };
    auto producer =
        Producer::create(config({{"max.in.flight.requests.per.connection", std::to_string(limit)},
                                 {"linger.ms", "0"},
                                 {"batch.size", "256"},
                                 {"retry.backoff.ms", "20"}}));
    ASSERT_TRUE(producer) << producer.error().message();
    ASSERT_TRUE((*producer)->partitions_for("inflight", 5s));
    std::mutex mu;
    int acked = 0;
    std::vector<std::string> errors;
    auto send = [&](int32_t partition, int i) {
      ProducerRecord r =
          record("inflight", std::nullopt,
                 std::to_string(limit) + "-" + std::to_string(i) + std::string(150, '.'));
      r.partition = partition;
      return (*producer)->send(r, [&](const Result<RecordMetadata>& md) {
        std::lock_guard lock(mu);
        if (!md) {
          errors.push_back(md.error().message());
          return;
        }
        ++acked;
      });
    };
    ASSERT_TRUE(send(0, 0));
    ASSERT_TRUE(poll_until(**producer, [&] { return received() >= 1; }));
    // Plenty ready: one batch per record (batch.size 256), on every partition.
    for (int i = 1; i < 60; ++i) ASSERT_TRUE(send(i % 3, i));
    if (limit > 1) {
      ASSERT_TRUE(poll_until(**producer, [&] { return received() >= limit; }));
    }
    (*producer)->poll(500ms);  // time for any request beyond the limit to go out
    EXPECT_EQ(received(), limit);
    EXPECT_EQ((*producer)->outstanding(), 60u);

    ASSERT_TRUE(faults.remove(*rule));
    ASSERT_TRUE((*producer)->flush(20s));
    EXPECT_TRUE(errors.empty()) << errors.front();
    EXPECT_EQ(acked, 60);
    ASSERT_TRUE((*producer)->close());
  }
  // Each partition holds each round's records once, in send order.
  for (int32_t p = 0; p < 3; ++p) {
    auto stored = read_partition(*client_, "inflight", p);
    std::vector<std::string> expected;
    for (int limit : {1, 3}) {
      for (int i = p; i < 60; i += 3) {
        expected.push_back(std::to_string(limit) + "-" + std::to_string(i) + std::string(150, '.'));
      }
    }
    ASSERT_EQ(stored.size(), expected.size()) << p;
    for (size_t j = 0; j < expected.size(); ++j) EXPECT_EQ(stored[j].value, expected[j]) << p;
  }
}

TEST_F(ProducerTest, UnknownTopicFailsAfterMaxBlockWithAutoCreateOff) {
  client_.reset();  // a broker that does not auto-create
  auto stopped = broker_->stop();
  ASSERT_TRUE(stopped);
  broker_ = broker::testing::start_broker(dir_.path(), {{"auto.create.topics.enable", "false"}});
  client_ = std::make_unique<broker::testing::TestClient>(broker_->port());
  auto producer = Producer::create(config({{"max.block.ms", "300"}}));
  ASSERT_TRUE(producer);
  std::optional<Result<RecordMetadata>> got;
  ASSERT_TRUE((*producer)->send(record("missing", "k", "v"),
                                [&](const Result<RecordMetadata>& r) { got = r; }));
  auto flushed = (*producer)->flush(std::chrono::seconds(5));
  EXPECT_TRUE(flushed);
  ASSERT_TRUE(got.has_value());
  ASSERT_FALSE(*got);
  EXPECT_EQ(got->error().code(), Errc::unknown_topic_or_partition) << got->error().message();
}

TEST_F(ProducerTest, AutoCreatesTopicsAndParksRecordsUntilMetadataArrives) {
  auto producer = Producer::create(config());
  ASSERT_TRUE(producer);
  int ok = 0;
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE((*producer)->send(record("auto-created", std::to_string(i), "v"),
                                  [&](const Result<RecordMetadata>& r) {
                                    EXPECT_TRUE(r) << r.error().message();
                                    ok += r.has_value();
                                  }));
  }
  ASSERT_TRUE((*producer)->flush(std::chrono::seconds(10)));
  EXPECT_EQ(ok, 100);
  auto partitions = (*producer)->partitions_for("auto-created", std::chrono::seconds(5));
  ASSERT_TRUE(partitions);
  EXPECT_EQ(partitions->size(), 3u);  // num.partitions
}

TEST_F(ProducerTest, RejectsBadInputClearly) {
  auto bad = Producer::create(config({{"acks", "2"}}));
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("acks"), std::string::npos);
  bad = Producer::create(config({{"lingerr.ms", "2"}}));
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("lingerr.ms"), std::string::npos);
  bad = Producer::create(config({{"enable.idempotence", "true"}, {"acks", "1"}}));
  ASSERT_FALSE(bad);
  bad = Producer::create({});
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("bootstrap.servers"), std::string::npos);

  create_topic("bad", 2);
  auto producer = Producer::create(config({{"max.request.size", "2048"}}));
  ASSERT_TRUE(producer);
  auto big = (*producer)->send(record("bad", "k", std::string(4096, 'x')));
  ASSERT_FALSE(big);
  EXPECT_EQ(big.error().code(), Errc::message_too_large);
  ProducerRecord wrong = record("bad", "k", "v");
  wrong.partition = 7;
  std::optional<Result<RecordMetadata>> got;
  auto sent = (*producer)->send(wrong, [&](const Result<RecordMetadata>& r) { got = r; });
  if (sent) {  // metadata not there yet: the record was parked, the callback says why
    ASSERT_TRUE((*producer)->flush(std::chrono::seconds(5)));
    ASSERT_TRUE(got.has_value());
    ASSERT_FALSE(*got);
    EXPECT_EQ(got->error().code(), Errc::unknown_topic_or_partition);
  } else {
    EXPECT_EQ(sent.error().code(), Errc::unknown_topic_or_partition);
  }
}

TEST_F(ProducerTest, FullBufferBlocksThenFailsAfterMaxBlock) {
  create_topic("full", 1);
  // The broker is paused by stopping it: nothing drains, the 4 KiB buffer fills.
  auto producer = Producer::create(config({{"buffer.memory", "4096"}, {"max.block.ms", "200"},
                                           {"delivery.timeout.ms", "1000"},
                                           {"request.timeout.ms", "500"}}));
  ASSERT_TRUE(producer);
  ASSERT_TRUE((*producer)->partitions_for("full", std::chrono::seconds(5)));
  client_.reset();
  ASSERT_TRUE(broker_->stop());
  std::optional<Error> refused;
  for (int i = 0; i < 100 && !refused; ++i) {
    auto sent = (*producer)->send(record("full", "k", std::string(200, 'x')));
    if (!sent) refused = sent.error();
  }
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->code(), Errc::request_timed_out);
  EXPECT_NE(refused->message().find("buffer.memory"), std::string::npos);
  // Undeliverable records fail after delivery.timeout.ms, giving the buffer back.
  EXPECT_TRUE((*producer)->flush(std::chrono::seconds(10)));
  EXPECT_EQ((*producer)->outstanding(), 0u);
  broker_.reset();
}

TEST_F(ProducerTest, TrySendViewReportsAFullBufferWithoutTakingTheRecord) {
  create_topic("views", 1);
  auto producer = Producer::create(config({{"buffer.memory", "4096"}, {"max.block.ms", "200"},
                                           {"delivery.timeout.ms", "1000"},
                                           {"request.timeout.ms", "500"}}));
  ASSERT_TRUE(producer);
  ASSERT_TRUE((*producer)->partitions_for("views", std::chrono::seconds(5)));
  // Borrowed bytes: the caller's buffer is reused at once, so it must have been copied.
  Bytes value = bytes_of("first");
  const Bytes header_value = bytes_of("hv");
  const std::array<HeaderView, 1> headers{HeaderView{"h", ByteView(header_value)}};
  std::atomic<int> delivered{0};
  DeliveryCallback count = [&](const Result<RecordMetadata>& r) { delivered += r ? 1 : 0; };
  ProducerRecordView view{.topic = "views", .value = ByteView(value), .headers = headers};
  ASSERT_TRUE((*producer)->send_view(view, count));
  std::ranges::fill(value, std::byte{'X'});
  ASSERT_TRUE((*producer)->flush(std::chrono::seconds(5)));
  EXPECT_EQ(delivered.load(), 1);
  auto read = read_partition(*client_, "views", 0);
  ASSERT_EQ(read.size(), 1u);
  EXPECT_EQ(read[0].value, std::optional<std::string>("first"));

  client_.reset();
  ASSERT_TRUE(broker_->stop());
  const Bytes big_bytes = bytes_of(std::string(200, 'x'));
  ProducerRecordView filler{.topic = "views", .value = ByteView(big_bytes)};
  bool full = false;
  int taken = 0;
  for (int i = 0; i < 100 && !full; ++i) {
    DeliveryCallback cb = [](const Result<RecordMetadata>&) {};
    auto sent = (*producer)->try_send_view(filler, cb);
    ASSERT_TRUE(sent);
    if (*sent) {
      EXPECT_FALSE(cb);  // taken by the producer
      ++taken;
    } else {
      full = true;
      EXPECT_TRUE(cb);  // left with the caller
    }
  }
  EXPECT_TRUE(full);
  EXPECT_GT(taken, 5);
  EXPECT_TRUE((*producer)->flush(std::chrono::seconds(10)));  // failed after delivery.timeout.ms
  EXPECT_EQ((*producer)->outstanding(), 0u);
  broker_.reset();
}

// ---- three brokers

class ProducerClusterTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { log::set_level(log::Level::warn); }
  void SetUp() override {
    broker::LocalClusterOptions options;
    options.brokers = 3;
    options.data_dir = dir_.path();
    options.properties = {{"broker.session.timeout.ms", "1000"},
                          {"broker.heartbeat.interval.ms", "100"},
                          {"controller.quorum.election.timeout.ms", "300"},
                          {"kafkacore.tick.ms", "20"},
                          {"replica.lag.time.max.ms", "2000"},
                          {"default.replication.factor", "3"},
                          {"num.partitions", "3"},
                          {"min.insync.replicas", "2"}};
    auto cluster = broker::LocalCluster::start(options);
    ASSERT_TRUE(cluster) << cluster.error().message();
    cluster_ = std::move(*cluster);
  }
  void TearDown() override {
    if (cluster_) {
      EXPECT_TRUE(cluster_->stop());
    }
  }
  broker::testing::TempDir dir_;
  std::unique_ptr<broker::LocalCluster> cluster_;
};

TEST_F(ProducerClusterTest, AcksAllSurvivesLeaderStopWithoutLossOrDuplicates) {
  auto producer = Producer::create({{"bootstrap.servers", cluster_->bootstrap_servers()},
                                    {"linger.ms", "1"},
                                    {"retry.backoff.ms", "50"},
                                    {"request.timeout.ms", "3000"}});
  ASSERT_TRUE(producer);
  std::atomic<int> acked{0};
  std::mutex mu;
  std::set<int64_t> offsets;
  std::vector<std::string> errors;
  auto send = [&](int i) {
    ProducerRecord r = record("failover", std::nullopt, std::to_string(i));
    r.partition = 0;
    return (*producer)->send(r, [&, i](const Result<RecordMetadata>& md) {
      std::lock_guard lock(mu);
      if (!md) {
        errors.push_back(std::to_string(i) + ": " + md.error().message());
        return;
      }
      EXPECT_TRUE(offsets.insert(md->offset).second) << "offset twice: " << md->offset;
      acked++;
    });
  };
  ASSERT_TRUE(send(0));
  ASSERT_TRUE((*producer)->flush(std::chrono::seconds(20)));
  // The leader of failover-0 goes away mid-stream.
  broker::testing::TestClient client(cluster_->broker(1)->port());
  auto md = client.call(broker::testing::metadata_request({"failover"}), 12);
  ASSERT_EQ(md.topics.size(), 1u);
  ASSERT_EQ(md.topics[0].partitions.size(), 3u);
  const int32_t leader = md.topics[0].partitions[0].leader_id;
  ASSERT_GE(leader, 1);
  EXPECT_EQ(md.topics[0].partitions[0].replica_nodes.size(), 3u);
  constexpr int kRecords = 2000;
  for (int i = 1; i < kRecords; ++i) {
    ASSERT_TRUE(send(i));
    if (i == kRecords / 4) {
      ASSERT_TRUE(cluster_->stop_broker(leader));
    }
    if (i % 100 == 0) (*producer)->poll(std::chrono::milliseconds(1));
  }
  ASSERT_TRUE((*producer)->flush(std::chrono::seconds(30)));
  EXPECT_TRUE(errors.empty()) << errors.front();
  EXPECT_EQ(acked.load(), kRecords);
  // Offsets 0..N-1: nothing lost, nothing written twice.
  EXPECT_EQ(offsets.size(), static_cast<size_t>(kRecords));
  EXPECT_EQ(*offsets.rbegin(), kRecords - 1);
  ASSERT_TRUE(cluster_->restart_broker(leader));
}

}  // namespace
}  // namespace kafkacore::client::testing
