// A broker stopped and started again on the same data directory.
#include <filesystem>

#include "broker/harness.h"

namespace kafkacore::broker::testing {
namespace {

using namespace protocol;

using RestartTest = BrokerTest;

TEST_F(RestartTest, TopicsOffsetsAndDataSurvive) {
  const protocol::Uuid id = create_topic("kept", 2, {{"retention.ms", "86400000"}});
  const Bytes b0 = make_batch("p0", 3);
  const Bytes b1 = make_batch("p1", 2);
  ASSERT_EQ(produce("kept", 0, b0).base_offset, 0);
  ASSERT_EQ(produce("kept", 1, b1).base_offset, 0);
  ASSERT_EQ(produce("kept", 1, b1).base_offset, 2);

  // An idempotent producer's last batch, to retry after the restart.
  InitProducerIdRequest init_req;
  init_req.transactional_id = std::nullopt;
  auto init = client_->call(init_req, 4);
  ASSERT_EQ(init.error_code, 0);
  record::BatchOptions options;
  options.producer_id = ProducerId{init.producer_id};
  options.producer_epoch = ProducerEpoch{init.producer_epoch};
  options.base_sequence = 0;
  const Bytes idempotent = make_batch("idem", 2, -1, options);
  ASSERT_EQ(produce("kept", 0, idempotent).base_offset, 3);

  auto before = client_->call(metadata_request({"kept"}), 12);
  auto fetched_before = client_->call(fetch_request("kept", 1, 0), 12);
  // A copy: the decoded views die with the client.
  const ByteView view_before = find_partition(fetched_before, "kept", 1)->records.bytes;
  const Bytes bytes_before(view_before.begin(), view_before.end());
  const auto records_before = fetched_records(bytes_before);

  client_.reset();
  auto stopped = broker_->stop();
  ASSERT_TRUE(stopped) << stopped.error().message();
  EXPECT_TRUE(std::filesystem::exists(dir_.path() / ".kafkacore_clean_shutdown"));
  broker_.reset();

  broker_ = start_broker(dir_.path());
  client_ = std::make_unique<TestClient>(broker_->port());
  // While running, a crash would be unclean: the marker is gone.
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / ".kafkacore_clean_shutdown"));

  auto after = client_->call(metadata_request({"kept"}, false), 12);
  ASSERT_EQ(after.topics.size(), 1u);
  EXPECT_EQ(after.topics[0].error_code, 0);
  EXPECT_EQ(after.topics[0].topic_id, id);
  EXPECT_EQ(after.topics[0].partitions.size(), 2u);
  EXPECT_EQ(after.cluster_id, before.cluster_id);

  EXPECT_EQ(list_offset("kept", 0, -1).offset, 5);
  EXPECT_EQ(list_offset("kept", 1, -1).offset, 4);
  EXPECT_EQ(list_offset("kept", 1, -2).offset, 0);

  auto fetched_after = client_->call(fetch_request("kept", 1, 0), 12);
  const auto* p = find_partition(fetched_after, "kept", 1);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->high_watermark, 4);
  EXPECT_TRUE(std::ranges::equal(p->records.bytes, bytes_before));
  const auto records_after = fetched_records(p->records.bytes);
  ASSERT_EQ(records_after.size(), records_before.size());
  for (size_t i = 0; i < records_after.size(); ++i) {
    EXPECT_EQ(records_after[i].offset, records_before[i].offset);
    EXPECT_EQ(records_after[i].key, records_before[i].key);
    EXPECT_EQ(records_after[i].value, records_before[i].value);
  }

  // The topic config survived.
  DescribeConfigsRequest describe;
  auto& res = describe.resources.emplace_back();
  res.resource_type = 2;
  res.resource_name = "kept";
  res.configuration_keys = std::vector<std::string>{"retention.ms"};
  auto configs = client_->call(describe, 4);
  ASSERT_EQ(configs.results[0].configs.size(), 1u);
  EXPECT_EQ(configs.results[0].configs[0].value, "86400000");

  // The idempotent producer's retry is still recognised; new appends continue the offsets.
  auto retry = produce("kept", 0, idempotent);
  EXPECT_EQ(retry.error_code, 0);
  EXPECT_EQ(retry.base_offset, 3);
  EXPECT_EQ(list_offset("kept", 0, -1).offset, 5);
  EXPECT_EQ(produce("kept", 0, make_batch("new", 1)).base_offset, 5);
  // Producer ids are not reused.
  auto init_again = client_->call(init_req, 4);
  EXPECT_NE(init_again.producer_id, init.producer_id);

  // The next clean stop writes the marker again.
  client_.reset();
  ASSERT_TRUE(broker_->stop());
  EXPECT_TRUE(std::filesystem::exists(dir_.path() / ".kafkacore_clean_shutdown"));
}

TEST_F(RestartTest, DeletedTopicStaysDeleted) {
  create_topic("gone");
  create_topic("stays");
  produce("gone", 0, make_batch("g", 2));
  DeleteTopicsRequest del;
  del.topic_names = {"gone"};
  ASSERT_EQ(client_->call(del, 4).responses[0].error_code, 0);
  client_.reset();
  ASSERT_TRUE(broker_->stop());
  broker_.reset();

  broker_ = start_broker(dir_.path(), {{"auto.create.topics.enable", "false"}});
  client_ = std::make_unique<TestClient>(broker_->port());
  auto meta = client_->call(metadata_request({"gone", "stays"}, false), 12);
  ASSERT_EQ(meta.topics.size(), 2u);
  EXPECT_EQ(meta.topics[0].error_code, 3);
  EXPECT_EQ(meta.topics[1].error_code, 0);
}

}  // namespace
}  // namespace kafkacore::broker::testing
