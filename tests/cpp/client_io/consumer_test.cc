// Consumer against one broker without group membership (assign): positions, seeks, pause,
// offset lookups, resets, commits with a group id, close().
#include "client/consumer.h"

#include <iostream>

#include "client_io/consumer_fixture.h"

namespace kafkacore::client::testing {
namespace {

using broker::testing::make_batch_with_timestamps;
using broker::testing::now_ms;

TEST_F(ConsumerTest, AssignAndPollFromTheBeginning) {
  create_topic("t", 2);
  produce_all("t", 2, "r", 10);
  auto consumer = make_consumer(props({{"auto.offset.reset", "earliest"}}));
  ASSERT_TRUE(consumer->assign({{"t", 0}, {"t", 1}}));
  EXPECT_EQ(consumer->assignment(), (std::vector<TopicPartition>{{"t", 0}, {"t", 1}}));
  EXPECT_TRUE(consumer->subscription().empty());
  auto records = poll_records(*consumer, 20);
  ASSERT_EQ(records.size(), 20u);
  std::map<int32_t, int64_t> next;
  for (const ConsumerRecord& r : records) {
    EXPECT_EQ(r.topic, "t");
    EXPECT_EQ(r.offset, next[r.partition]++) << "in order per partition";
    const std::string key = "r" + std::to_string(r.partition) + "-" + std::to_string(r.offset);
    ASSERT_TRUE(r.key && r.value);
    EXPECT_EQ(str(*r.key), key);
    EXPECT_EQ(str(*r.value), "value-" + key);
    EXPECT_GT(r.timestamp, 0);
    EXPECT_EQ(r.timestamp_type, TimestampKind::create_time);
  }
  EXPECT_EQ(*consumer->position({"t", 0}, 5s), 10);
  EXPECT_EQ(*consumer->position({"t", 1}, 5s), 10);
  // Nothing more: poll waits out its timeout and returns nothing.
  auto start = std::chrono::steady_clock::now();
  auto none = consumer->poll(200ms);
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
  EXPECT_GE(std::chrono::steady_clock::now() - start, 190ms);
  EXPECT_TRUE(consumer->close());
  EXPECT_TRUE(consumer->close()) << "idempotent";
  auto after = consumer->poll(10ms);
  ASSERT_FALSE(after);
  EXPECT_EQ(after.error().message(), "consumer closed");
}

TEST_F(ConsumerTest, LatestSeesOnlyNewRecordsAndMaxPollRecordsLimitsABatch) {
  create_topic("t");
  produce("t", 0, make_batch("old", 5));
  auto consumer = make_consumer(props({{"max.poll.records", "3"}}));  // latest by default
  ASSERT_TRUE(consumer->assign({{"t", 0}}));
  ASSERT_EQ(*consumer->position({"t", 0}, 5s), 5);
  produce("t", 0, make_batch("new", 7));
  size_t total = 0;
  int64_t expect = 5;
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (total < 7 && std::chrono::steady_clock::now() < deadline) {
    auto r = consumer->poll(100ms);
    ASSERT_TRUE(r);
    EXPECT_LE(r->size(), 3u);
    for (const auto& rec : *r) {
      EXPECT_EQ(rec.offset, expect++);
      EXPECT_EQ(str(*rec.key).substr(0, 3), "new");
    }
    total += r->size();
  }
  EXPECT_EQ(total, 7u);
}

TEST_F(ConsumerTest, CurrentLagFollowsTheHighWatermarkOfFetchResponses) {
  create_topic("t");
  produce("t", 0, make_batch("a", 10));
  auto consumer =
      make_consumer(props({{"auto.offset.reset", "earliest"}, {"max.poll.records", "4"}}));
  EXPECT_EQ(consumer->current_lag({"t", 0}), std::nullopt) << "not assigned";
  ASSERT_TRUE(consumer->assign({{"t", 0}}));
  EXPECT_EQ(consumer->current_lag({"t", 0}), std::nullopt) << "no fetch response yet";
  ASSERT_EQ(poll_records(*consumer, 4).size(), 4u);
  EXPECT_EQ(consumer->current_lag({"t", 0}), 6);
  ASSERT_EQ(poll_records(*consumer, 6).size(), 6u);
  EXPECT_EQ(consumer->current_lag({"t", 0}), 0);
  // The fetch response bringing the first new records carries the new high watermark.
  produce("t", 0, make_batch("b", 7));
  ASSERT_EQ(poll_records(*consumer, 4).size(), 4u);
  EXPECT_EQ(consumer->current_lag({"t", 0}), 3);
}

TEST_F(ConsumerTest, SeekPositionAndSeekToBeginningAndEnd) {
  create_topic("t");
  produce("t", 0, make_batch("a", 10));
  auto consumer = make_consumer(props({{"auto.offset.reset", "earliest"}}));
  ASSERT_TRUE(consumer->assign({{"t", 0}}));
  consumer->seek({"t", 0}, 7);
  EXPECT_EQ(*consumer->position({"t", 0}, 1s), 7);
  auto records = poll_records(*consumer, 3);
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records.front().offset, 7);  // the batch starts at 0: records before 7 skipped
  EXPECT_EQ(*consumer->position({"t", 0}, 1s), 10);

  ASSERT_TRUE(consumer->seek_to_beginning({}));
  EXPECT_EQ(*consumer->position({"t", 0}, 5s), 0);
  records = poll_records(*consumer, 10);
  ASSERT_EQ(records.size(), 10u);
  EXPECT_EQ(records.front().offset, 0);

  consumer->seek({"t", 0}, 2);
  ASSERT_TRUE(consumer->seek_to_end({{"t", 0}}));
  EXPECT_EQ(*consumer->position({"t", 0}, 5s), 10);
  EXPECT_FALSE(consumer->seek_to_end({{"t", 5}})) << "not assigned";
  EXPECT_FALSE(consumer->position({"other", 0}, 100ms));
}

TEST_F(ConsumerTest, PauseAndResume) {
  create_topic("t", 2);
  produce_all("t", 2, "p", 5);
  auto consumer = make_consumer(props({{"auto.offset.reset", "earliest"}}));
  ASSERT_TRUE(consumer->assign({{"t", 0}, {"t", 1}}));
  consumer->pause({{"t", 0}});
  EXPECT_EQ(consumer->paused(), (std::vector<TopicPartition>{{"t", 0}}));
  auto records = poll_records(*consumer, 5);
  ASSERT_EQ(records.size(), 5u);
  for (const auto& r : records) EXPECT_EQ(r.partition, 1);
  auto more = consumer->poll(300ms);
  ASSERT_TRUE(more);
  EXPECT_TRUE(more->empty()) << "partition 0 is paused";
  consumer->resume({{"t", 0}});
  EXPECT_TRUE(consumer->paused().empty());
  records = poll_records(*consumer, 5);
  ASSERT_EQ(records.size(), 5u);
  for (const auto& r : records) EXPECT_EQ(r.partition, 0);
}

TEST_F(ConsumerTest, OffsetsForTimesAndBeginningAndEndOffsets) {
  create_topic("t", 2);
  const int64_t base = now_ms() - 60000;
  produce("t", 0, make_batch_with_timestamps({base, base + 10, base + 20, base + 30}));
  auto consumer = make_consumer(props());
  auto found = consumer->offsets_for_times(
      {{{"t", 0}, base + 15}, {{"t", 0}, base + 15}, {{"t", 1}, base}}, 5s);
  ASSERT_TRUE(found) << found.error().to_string();
  ASSERT_TRUE((*found)[tp_of("t", 0)].has_value());
  EXPECT_EQ((*found)[tp_of("t", 0)]->first, 2);
  EXPECT_EQ((*found)[tp_of("t", 0)]->second, base + 20);
  EXPECT_FALSE((*found)[tp_of("t", 1)].has_value()) << "empty partition";
  auto later = consumer->offsets_for_times({{{"t", 0}, base + 31}}, 5s);
  ASSERT_TRUE(later);
  EXPECT_FALSE((*later)[tp_of("t", 0)].has_value());
  EXPECT_FALSE(consumer->offsets_for_times({{{"t", 0}, -5}}, 1s));

  auto begin = consumer->beginning_offsets({{"t", 0}, {"t", 1}}, 5s);
  ASSERT_TRUE(begin);
  EXPECT_EQ((*begin)[tp_of("t", 0)], 0);
  auto end = consumer->end_offsets({{"t", 0}, {"t", 1}}, 5s);
  ASSERT_TRUE(end);
  EXPECT_EQ((*end)[tp_of("t", 0)], 4);
  EXPECT_EQ((*end)[tp_of("t", 1)], 0);

  // read_committed: the end is the last stable offset (the high watermark, no transactions).
  auto rc = make_consumer(props({{"isolation.level", "read_committed"}}));
  auto rc_end = rc->end_offsets({{"t", 0}}, 5s);
  ASSERT_TRUE(rc_end);
  EXPECT_EQ((*rc_end)[tp_of("t", 0)], 4);

  // A partition that does not exist: retried until the timeout.
  auto missing = consumer->end_offsets({{"t", 9}}, 300ms);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), Errc::request_timed_out);
}

TEST_F(ConsumerTest, OffsetOutOfRangeResetsPerPolicy) {
  create_topic("t");
  produce("t", 0, make_batch("a", 5));
  auto consumer = make_consumer(props({{"auto.offset.reset", "earliest"}}));
  ASSERT_TRUE(consumer->assign({{"t", 0}}));
  consumer->seek({"t", 0}, 100);
  auto records = poll_records(*consumer, 5);
  ASSERT_EQ(records.size(), 5u);
  EXPECT_EQ(records.front().offset, 0) << "reset to earliest";

  auto strict = make_consumer(props({{"auto.offset.reset", "none"}}));
  ASSERT_TRUE(strict->assign({{"t", 0}}));
  // No group, no committed offset, policy none: position() and poll() fail.
  auto pos = strict->position({"t", 0}, 2s);
  ASSERT_FALSE(pos);
  EXPECT_EQ(pos.error().code(), Errc::offset_out_of_range);
  strict->seek({"t", 0}, 100);
  std::optional<Error> error;
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (!error && std::chrono::steady_clock::now() < deadline) {
    auto r = strict->poll(100ms);
    if (!r) error = r.error();
  }
  ASSERT_TRUE(error);
  EXPECT_EQ(error->code(), Errc::offset_out_of_range) << error->to_string();
  strict->seek({"t", 0}, 3);
  records = poll_records(*strict, 2);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records.front().offset, 3);
}

TEST_F(ConsumerTest, ABatchLargerThanTheFetchSizeIsStillConsumed) {
  create_topic("t");
  record::BatchBuilder builder;
  std::string big(20000, 'x');
  for (int i = 0; i < 5; ++i) builder.append(now_ms(), std::nullopt, as_bytes(big));
  produce("t", 0, *builder.build());
  produce("t", 0, make_batch("after", 2));
  auto consumer = make_consumer(props({{"auto.offset.reset", "earliest"},
                                       {"max.partition.fetch.bytes", "1024"},
                                       {"fetch.max.bytes", "1024"}}));
  ASSERT_TRUE(consumer->assign({{"t", 0}}));
  auto records = poll_records(*consumer, 7);
  ASSERT_EQ(records.size(), 7u);
  EXPECT_FALSE(records[0].key.has_value());
  EXPECT_EQ(records[0].value->size(), 20000u);
  EXPECT_EQ(records[6].offset, 6);
}

TEST_F(ConsumerTest, CompressedBatchesAndHeaders) {
  create_topic("t");
  for (auto codec : {record::Compression::gzip, record::Compression::snappy,
                     record::Compression::lz4, record::Compression::zstd}) {
    record::BatchOptions options;
    options.compression = codec;
    record::BatchBuilder builder(options);
    std::vector<record::RecordHeader> headers = {{as_bytes("h"), as_bytes("v")},
                                                 {as_bytes("null"), std::nullopt}};
    for (int i = 0; i < 3; ++i) builder.append(now_ms(), as_bytes("k"), as_bytes("v"), headers);
    produce("t", 0, *builder.build());
  }
  auto consumer = make_consumer(props({{"auto.offset.reset", "earliest"}}));
  ASSERT_TRUE(consumer->assign({{"t", 0}}));
  auto records = poll_records(*consumer, 12);
  ASSERT_EQ(records.size(), 12u);
  for (size_t i = 0; i < records.size(); ++i) {
    EXPECT_EQ(records[i].offset, static_cast<int64_t>(i));
    ASSERT_EQ(records[i].headers.size(), 2u);
    EXPECT_EQ(records[i].headers[0].key, "h");
    EXPECT_EQ(str(*records[i].headers[0].value), "v");
    EXPECT_FALSE(records[i].headers[1].value.has_value());
  }
}

TEST_F(ConsumerTest, CommitsWithAGroupIdAndManualAssignment) {
  create_topic("t", 2);
  produce_all("t", 2, "c", 10);
  Properties p = props(
      {{"group.id", "manual"}, {"auto.offset.reset", "earliest"}, {"enable.auto.commit", "false"}});
  {
    auto consumer = make_consumer(p);
    ASSERT_TRUE(consumer->assign({{"t", 0}, {"t", 1}}));
    auto none = consumer->committed({{"t", 0}}, 5s);
    ASSERT_TRUE(none) << none.error().to_string();
    EXPECT_FALSE((*none)[tp_of("t", 0)].has_value());
    ASSERT_EQ(poll_records(*consumer, 20).size(), 20u);
    ASSERT_TRUE(consumer->commit_sync({{{"t", 0}, {4, "meta", std::nullopt}}}, 5s));
    auto committed = consumer->committed({{"t", 0}, {"t", 1}}, 5s);
    ASSERT_TRUE(committed);
    ASSERT_TRUE((*committed)[tp_of("t", 0)]);
    EXPECT_EQ((*committed)[tp_of("t", 0)]->offset, 4);
    EXPECT_EQ((*committed)[tp_of("t", 0)]->metadata, "meta");
    EXPECT_FALSE((*committed)[tp_of("t", 1)]);
    // Async: the callback runs in a later poll() on this thread.
    std::optional<Result<void>> got;
    const auto me = std::this_thread::get_id();
    consumer->commit_async({{{"t", 1}, {7, "", std::nullopt}}}, [&](Result<void> r) {
      EXPECT_EQ(std::this_thread::get_id(), me);
      got = r;
    });
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (!got && std::chrono::steady_clock::now() < deadline) ASSERT_TRUE(consumer->poll(50ms));
    ASSERT_TRUE(got);
    EXPECT_TRUE(*got);
    ASSERT_TRUE(consumer->close());
  }
  // A new consumer of the group starts at the committed offsets.
  auto again = make_consumer(p);
  ASSERT_TRUE(again->assign({{"t", 0}, {"t", 1}}));
  EXPECT_EQ(*again->position({"t", 0}, 5s), 4);
  EXPECT_EQ(*again->position({"t", 1}, 5s), 7);
  // commit_sync() of positions.
  ASSERT_EQ(poll_records(*again, 9).size(), 9u);
  ASSERT_TRUE(again->commit_sync(5s));
  auto committed = again->committed({{"t", 0}, {"t", 1}}, 5s);
  ASSERT_TRUE(committed);
  EXPECT_EQ((*committed)[tp_of("t", 0)]->offset, 10);
  EXPECT_EQ((*committed)[tp_of("t", 1)]->offset, 10);
}

TEST_F(ConsumerTest, AutoCommitOnCloseAndOnTheInterval) {
  create_topic("t");
  produce("t", 0, make_batch("a", 10));
  Properties p = props({{"group.id", "auto"},
                        {"auto.offset.reset", "earliest"},
                        {"auto.commit.interval.ms", "100"}});
  auto consumer = make_consumer(p);
  ASSERT_TRUE(consumer->assign({{"t", 0}}));
  ASSERT_EQ(poll_records(*consumer, 10).size(), 10u);
  // The next polls after the interval commit position 10.
  ASSERT_TRUE(eventually([&] {
    (void)consumer->poll(50ms);
    auto c = consumer->committed({{"t", 0}}, 5s);
    return c && (*c)[tp_of("t", 0)] && (*c)[tp_of("t", 0)]->offset == 10;
  }));
  produce("t", 0, make_batch("b", 3));
  ASSERT_EQ(poll_records(*consumer, 3).size(), 3u);
  ASSERT_TRUE(consumer->close());
  auto check = make_consumer(props({{"group.id", "auto"}}));
  auto c = check->committed({{"t", 0}}, 5s);
  ASSERT_TRUE(c);
  EXPECT_EQ((*c)[tp_of("t", 0)]->offset, 13) << "close() auto-commits";
}

TEST_F(ConsumerTest, CloseFromAnotherThreadInterruptsPoll) {
  create_topic("t");
  auto consumer = make_consumer(props());
  ASSERT_TRUE(consumer->assign({{"t", 0}}));
  std::optional<Result<std::vector<ConsumerRecord>>> got;
  std::thread poller([&] { got = consumer->poll(30s); });
  std::this_thread::sleep_for(200ms);
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(consumer->close(5s));
  poller.join();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
  ASSERT_TRUE(got);
  ASSERT_FALSE(*got);
  EXPECT_EQ(got->error().message(), "consumer closed");
}

TEST_F(ConsumerTest, ConfigErrorsAndMisuse) {
  auto bad = Consumer::create(props({{"no.such.key", "1"}}));
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("no.such.key"), std::string::npos);
  EXPECT_FALSE(Consumer::create(props({{"auto.offset.reset", "sometimes"}})));
  EXPECT_FALSE(Consumer::create(props({{"partition.assignment.strategy", "random"}})));
  EXPECT_FALSE(Consumer::create(props({{"enable.auto.commit", "true"}}))) << "needs group.id";
  EXPECT_FALSE(Consumer::create({{"group.id", "g"}})) << "bootstrap.servers is required";

  auto consumer = make_consumer(props());
  auto r = consumer->subscribe({"t"});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Errc::invalid_group_id);
  EXPECT_FALSE(consumer->commit_sync(1s));
  EXPECT_FALSE(consumer->committed({{"t", 0}}, 1s));
  EXPECT_EQ(consumer->member_id(), "");
  EXPECT_EQ(consumer->generation(), -1);
  EXPECT_FALSE(consumer->group_id());

  auto grouped = make_consumer(props({{"group.id", "g"}}));
  ASSERT_TRUE(grouped->assign({{"t", 0}}));
  EXPECT_FALSE(grouped->subscribe({"t"})) << "assign and subscribe are exclusive";
  grouped->unsubscribe();
  EXPECT_TRUE(grouped->assignment().empty());
  ASSERT_TRUE(grouped->subscribe({"t"}));
  EXPECT_FALSE(grouped->assign({{"t", 0}}));
  EXPECT_FALSE(grouped->subscribe_pattern("(unclosed"));
  EXPECT_EQ(grouped->subscription(), std::vector<std::string>{"t"});
}

TEST_F(ConsumerTest, PartitionsForAndListTopics) {
  create_topic("t", 3);
  auto consumer = make_consumer(props({{"allow.auto.create.topics", "false"}}));
  auto parts = consumer->partitions_for("t", 5s);
  ASSERT_TRUE(parts) << parts.error().to_string();
  EXPECT_EQ(*parts, (std::vector<TopicPartition>{{"t", 0}, {"t", 1}, {"t", 2}}));
  auto none = consumer->partitions_for("nope", 5s);
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
  auto topics = consumer->list_topics(5s);
  ASSERT_TRUE(topics);
  EXPECT_NE(std::ranges::find(*topics, "t"), topics->end());
  EXPECT_EQ(std::ranges::find(*topics, "nope"), topics->end());
}

// Not run by default: a rough consume rate (records of 100 B, one partition, one broker).
TEST_F(ConsumerTest, DISABLED_Throughput) {
  create_topic("tp");
  constexpr int kBatches = 400;
  constexpr int kPerBatch = 1000;
  const std::string value(100, 'v');
  for (int b = 0; b < kBatches; ++b) {
    record::BatchBuilder builder;
    for (int i = 0; i < kPerBatch; ++i) builder.append(now_ms(), std::nullopt, as_bytes(value));
    produce("tp", 0, *builder.build());
  }
  auto consumer = make_consumer(props({{"auto.offset.reset", "earliest"}}));
  ASSERT_TRUE(consumer->assign({{"tp", 0}}));
  const auto start = std::chrono::steady_clock::now();
  size_t n = 0;
  while (n < static_cast<size_t>(kBatches * kPerBatch)) {
    auto r = consumer->poll(1s);
    ASSERT_TRUE(r);
    n += r->size();
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << n << " records in " << s << " s: " << static_cast<int64_t>(n / s) << " records/s\n";
}

}  // namespace
}  // namespace kafkacore::client::testing
