// The producer's record accumulator without a network: metadata is handed in directly and the
// per-partition batch queues are inspected the way the sender sees them. The accumulator keeps a
// batch open (accepting appends, the sender not woken again) until it is full; when an open
// batch has lingered long enough is the sender's decision (producer.cc, tested in
// client_io/producer_test.cc).
#include "client/record_accumulator.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "client/partitioner.h"

namespace kafkacore::client {
namespace {

constexpr size_t kBatchSize = 1000;

std::shared_ptr<const ClusterMetadata> metadata_with(const std::string& topic, int partitions) {
  auto md = std::make_shared<ClusterMetadata>();
  md->generation = 1;
  md->brokers[1] = BrokerInfo{.id = 1, .host = "127.0.0.1", .port = 9092, .rack = {}};
  TopicInfo& t = md->topics[topic];
  t.name = topic;
  for (int32_t p = 0; p < partitions; ++p) {
    PartitionInfo info;
    info.partition = p;
    info.leader = 1;
    info.replicas = {1};
    info.isr = {1};
    t.partitions.push_back(info);
  }
  return md;
}

class RecordAccumulatorTest : public ::testing::Test {
 protected:
  RecordAccumulatorTest() : acc_(AccumulatorOptions{.batch_size = kBatchSize}) {
    std::vector<BatchReport> failed;
    acc_.set_metadata(metadata_with("t", 3), failed);
    EXPECT_TRUE(failed.empty());
  }

  // Appends a record of `value_size` bytes (accounted like the producer does: value + 32).
  RecordAccumulator::Appended append(std::optional<int32_t> partition, size_t value_size,
                                     std::optional<std::string> key = std::nullopt,
                                     const std::string& topic = "t") {
    values_.emplace_back(value_size, std::byte{'v'});
    ProducerRecordView r{.topic = topic, .partition = partition, .value = ByteView(values_.back())};
    if (key) r.key = as_bytes(keys_.emplace_back(*key));
    DeliveryCallback callback = [](const Result<RecordMetadata>&) {};
    auto appended = acc_.append(r, callback, value_size + 32, /*now_ms=*/1);
    EXPECT_TRUE(appended) << appended.error().message();
    return appended.value_or(RecordAccumulator::Appended{});
  }

  std::deque<BatchPtr> queue(int32_t partition) {
    std::lock_guard lock(acc_.mutex());
    auto it = acc_.batches().find(TopicPartition{"t", partition});
    return it == acc_.batches().end() ? std::deque<BatchPtr>{} : it->second;
  }

  RecordAccumulator acc_;
  std::deque<Bytes> values_;  // stable addresses: batches copy on append, but keep them anyway
  std::deque<std::string> keys_;
};

TEST_F(RecordAccumulatorTest, AnUnfilledBatchStaysOpenForMoreRecords) {
  // The first record opens a batch: the sender is woken to arm its linger timer.
  auto first = append(0, 100);
  EXPECT_TRUE(first.wake_sender);
  EXPECT_FALSE(first.needs_metadata);
  // Later small records join it without waking the sender again (it is lingering).
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(append(0, 100).wake_sender) << i;
  auto q = queue(0);
  ASSERT_EQ(q.size(), 1u);
  EXPECT_EQ(q.front()->record_count(), 4);
  EXPECT_EQ(q.front()->callbacks.size(), 4u);
  EXPECT_FALSE(q.front()->closed);
  EXPECT_LT(q.front()->builder.estimated_size(), kBatchSize);
}

TEST_F(RecordAccumulatorTest, BatchSizeClosesABatchAndTheNextRecordOpensAnother) {
  // A record joins the open batch only while its encoded bytes plus the new record's accounted
  // size stay within batch.size.
  int closed_at = -1;
  for (int i = 0; i < 20 && closed_at < 0; ++i) {
    append(0, 100);
    if (queue(0).size() > 1) closed_at = i;
  }
  ASSERT_GT(closed_at, 0) << "the batch never closed";
  auto q = queue(0);
  ASSERT_EQ(q.size(), 2u);
  EXPECT_TRUE(q[0]->closed);
  EXPECT_LE(q[0]->builder.estimated_size(), kBatchSize);
  EXPECT_EQ(q[0]->record_count(), closed_at);
  EXPECT_FALSE(q[1]->closed);
  EXPECT_EQ(q[1]->record_count(), 1);
  // The record that overflowed woke the sender: a full batch goes without lingering.
  EXPECT_TRUE(append(0, 5000).wake_sender);

  // Many records: every batch but the last is closed and none is over batch.size.
  RecordAccumulator acc(AccumulatorOptions{.batch_size = kBatchSize});
  std::vector<BatchReport> failed;
  acc.set_metadata(metadata_with("t", 1), failed);
  const Bytes value(100, std::byte{'x'});
  for (int i = 0; i < 200; ++i) {
    DeliveryCallback cb;
    ASSERT_TRUE(acc.append({.topic = "t", .value = ByteView(value)}, cb, 132, 1));
  }
  std::lock_guard lock(acc.mutex());
  const auto& batches = acc.batches().at({"t", 0});
  ASSERT_GT(batches.size(), 20u);
  int32_t total = 0;
  for (size_t i = 0; i < batches.size(); ++i) {
    total += batches[i]->record_count();
    EXPECT_LE(batches[i]->builder.estimated_size(), kBatchSize) << i;
    EXPECT_EQ(batches[i]->closed, i + 1 < batches.size()) << i;
  }
  EXPECT_EQ(total, 200);
}

TEST_F(RecordAccumulatorTest, EachPartitionHasItsOwnBatches) {
  EXPECT_TRUE(append(0, 10).wake_sender);
  EXPECT_TRUE(append(1, 10).wake_sender);  // a new batch, not a record in partition 0's
  EXPECT_TRUE(append(2, 10).wake_sender);
  append(1, 10);
  for (int32_t p = 0; p < 3; ++p) {
    ASSERT_EQ(queue(p).size(), 1u) << p;
    EXPECT_EQ(queue(p).front()->tp, (TopicPartition{"t", p}));
    EXPECT_EQ(queue(p).front()->record_count(), p == 1 ? 2 : 1) << p;
  }
  // A key goes to its murmur2 partition's batch.
  append(std::nullopt, 10, "some-key");
  const int32_t keyed = partition_for_key(as_bytes(std::string_view("some-key")), 3);
  ASSERT_EQ(queue(keyed).size(), 1u);
  EXPECT_EQ(queue(keyed).front()->record_count(), keyed == 1 ? 3 : 2);
  // A partition beyond the topic's count is refused and leaves nothing behind.
  DeliveryCallback cb = [](const Result<RecordMetadata>&) {};
  const Bytes v(1, std::byte{'v'});
  auto bad = acc_.append({.topic = "t", .partition = 3, .value = ByteView(v)}, cb, 33, 1);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), Errc::unknown_topic_or_partition);
  EXPECT_EQ(acc_.incomplete(), 5u);
}

TEST_F(RecordAccumulatorTest, ARecordLargerThanBatchSizeGetsABatchOfItsOwn) {
  append(0, 100);
  auto big = append(0, 3 * kBatchSize);
  EXPECT_TRUE(big.wake_sender);
  // Closed at once (full), not only when the next record comes.
  EXPECT_TRUE(queue(0).back()->closed);
  EXPECT_EQ(queue(0).back()->record_count(), 1);
  append(0, 100);
  auto q = queue(0);
  ASSERT_EQ(q.size(), 3u);
  EXPECT_EQ(q[0]->record_count(), 1);  // the small one before it, closed early
  EXPECT_TRUE(q[0]->closed);
  EXPECT_EQ(q[1]->record_count(), 1);  // the big one, alone and closed (full)
  EXPECT_TRUE(q[1]->closed);
  EXPECT_GT(q[1]->builder.estimated_size(), kBatchSize);
  EXPECT_EQ(q[2]->record_count(), 1);  // the next one starts afresh
  EXPECT_FALSE(q[2]->closed);

  // Also as the first record of a partition.
  append(1, 2 * kBatchSize);
  ASSERT_EQ(queue(1).size(), 1u);
  EXPECT_TRUE(queue(1).back()->closed);
  append(1, 10);
  auto q1 = queue(1);
  ASSERT_EQ(q1.size(), 2u);
  EXPECT_EQ(q1[0]->record_count(), 1);
  EXPECT_TRUE(q1[0]->closed);
  EXPECT_EQ(q1[1]->record_count(), 1);
}

TEST_F(RecordAccumulatorTest, RecordsOfAnUnknownTopicWaitForItsMetadata) {
  auto parked = append(1, 10, std::nullopt, "later");
  EXPECT_TRUE(parked.needs_metadata);
  EXPECT_TRUE(parked.wake_sender);
  EXPECT_FALSE(append(1, 10, std::nullopt, "later").wake_sender);  // the sender already knows
  EXPECT_EQ(acc_.parked_topics(), std::vector<std::string>{"later"});
  {
    std::lock_guard lock(acc_.mutex());
    EXPECT_FALSE(acc_.batches().contains({"later", 1}));
  }
  std::vector<BatchReport> failed;
  acc_.set_metadata(metadata_with("later", 2), failed);
  EXPECT_TRUE(failed.empty());
  EXPECT_TRUE(acc_.parked_topics().empty());
  std::lock_guard lock(acc_.mutex());
  ASSERT_TRUE(acc_.batches().contains({"later", 1}));
  EXPECT_EQ(acc_.batches().at({"later", 1}).front()->record_count(), 2);
}

}  // namespace
}  // namespace kafkacore::client
