#include "broker/harness.h"

namespace kafkacore::broker::testing {

protocol::Uuid BrokerTest::create_topic(const std::string& name, int32_t partitions,
                                        const std::map<std::string, std::string>& configs) {
  protocol::CreateTopicsRequest req;
  auto& t = req.topics.emplace_back();
  t.name = name;
  t.num_partitions = partitions;
  t.replication_factor = 1;
  for (const auto& [k, v] : configs) {
    auto& c = t.configs.emplace_back();
    c.name = k;
    c.value = v;
  }
  auto resp = client_->call(req, 7);
  if (resp.topics.size() != 1) throw ClientError("CreateTopics: expected one result");
  if (resp.topics[0].error_code != 0) {
    throw ClientError("CreateTopics " + name + " failed with error " +
                      std::to_string(resp.topics[0].error_code) + ": " +
                      resp.topics[0].error_message.value_or(""));
  }
  return resp.topics[0].topic_id;
}

protocol::ProduceResponse::PartitionProduceResponse BrokerTest::produce(
    TestClient& client, const std::string& topic, int32_t partition, ByteView batch,
    int16_t version) {
  auto resp = client.call(produce_request(topic, partition, batch), version);
  if (resp.responses.size() != 1 || resp.responses[0].partition_responses.size() != 1) {
    throw ClientError("Produce: expected one partition answer");
  }
  return resp.responses[0].partition_responses[0];
}

protocol::ListOffsetsResponse::ListOffsetsPartitionResponse BrokerTest::list_offset(
    const std::string& topic, int32_t partition, int64_t timestamp) {
  protocol::ListOffsetsRequest req;
  req.replica_id = -1;
  auto& t = req.topics.emplace_back();
  t.name = topic;
  auto& p = t.partitions.emplace_back();
  p.partition_index = partition;
  p.timestamp = timestamp;
  auto resp = client_->call(req, 7);
  if (resp.topics.size() != 1 || resp.topics[0].partitions.size() != 1) {
    throw ClientError("ListOffsets: expected one partition answer");
  }
  return resp.topics[0].partitions[0];
}

int16_t BrokerTest::list_offset_at(const std::string& topic, int16_t version) {
  protocol::ListOffsetsRequest req;
  req.replica_id = -1;
  auto& t = req.topics.emplace_back();
  t.name = topic;
  auto& p = t.partitions.emplace_back();
  p.partition_index = 0;
  p.timestamp = -1;
  auto resp = client_->call(req, version);
  if (resp.topics.size() != 1 || resp.topics[0].partitions.size() != 1) {
    throw ClientError("ListOffsets: expected one partition answer");
  }
  return resp.topics[0].partitions[0].error_code;
}

Bytes make_batch(const std::string& prefix, int count, int64_t timestamp,
                 record::BatchOptions options) {
  if (timestamp < 0) timestamp = now_ms();
  record::BatchBuilder builder(options);
  for (int i = 0; i < count; ++i) {
    const std::string key = prefix + "-" + std::to_string(i);
    const std::string value = "value-" + key;
    builder.append(timestamp + i, text(key), text(value));
  }
  auto bytes = builder.build();
  if (!bytes) throw std::runtime_error("BatchBuilder: " + bytes.error().message());
  return std::move(*bytes);
}

Bytes make_batch_with_timestamps(const std::vector<int64_t>& timestamps) {
  record::BatchBuilder builder;
  int i = 0;
  for (int64_t ts : timestamps) {
    const std::string key = "k" + std::to_string(i++);
    builder.append(ts, text(key), text("v"));
  }
  auto bytes = builder.build();
  if (!bytes) throw std::runtime_error("BatchBuilder: " + bytes.error().message());
  return std::move(*bytes);
}

protocol::ProduceRequest produce_request(const std::string& topic, int32_t partition,
                                         ByteView batch, int16_t acks) {
  protocol::ProduceRequest req;
  req.transactional_id = std::nullopt;
  req.acks = acks;
  req.timeout_ms = 5000;
  auto& t = req.topic_data.emplace_back();
  t.name = topic;
  auto& p = t.partition_data.emplace_back();
  p.index = partition;
  p.records.bytes = batch;
  return req;
}

protocol::FetchRequest fetch_request(const std::string& topic, int32_t partition, int64_t offset,
                                     int32_t max_wait_ms, int32_t min_bytes) {
  protocol::FetchRequest req;
  req.replica_id = -1;
  req.max_wait_ms = max_wait_ms;
  req.min_bytes = min_bytes;
  req.max_bytes = 1 << 20;
  req.session_id = 0;
  req.session_epoch = -1;  // no session
  auto& t = req.topics.emplace_back();
  t.topic = topic;
  auto& p = t.partitions.emplace_back();
  p.partition = partition;
  p.fetch_offset = offset;
  p.partition_max_bytes = 1 << 20;
  return req;
}

protocol::MetadataRequest metadata_request(const std::vector<std::string>& topics,
                                           bool allow_auto_create) {
  protocol::MetadataRequest req;
  req.topics.emplace();
  for (const auto& name : topics) {
    auto& t = req.topics->emplace_back();
    t.name = name;
  }
  req.allow_auto_topic_creation = allow_auto_create;
  return req;
}

const protocol::FetchResponse::PartitionData* find_partition(const protocol::FetchResponse& response,
                                                             const std::string& topic,
                                                             int32_t partition) {
  for (const auto& t : response.responses) {
    if (t.topic != topic) continue;
    for (const auto& p : t.partitions) {
      if (p.partition_index == partition) return &p;
    }
  }
  return nullptr;
}

std::vector<FetchedRecord> fetched_records(ByteView records) {
  std::vector<FetchedRecord> out;
  record::BatchIterator it(records);
  for (;;) {
    auto batch = it.next();
    if (!batch) throw std::runtime_error("fetched records: " + batch.error().message());
    if (!*batch) break;
    const auto& view = **batch;
    if (auto r = view.validate(); !r) throw std::runtime_error("fetched batch: " + r.error().message());
    auto decoded = record::decode_batch(view);
    if (!decoded) throw std::runtime_error("fetched batch: " + decoded.error().message());
    for (const auto& r : decoded->records) {
      FetchedRecord f{view.base_offset().value() + r.offset_delta,
                      view.base_timestamp() + r.timestamp_delta, std::nullopt, std::nullopt};
      if (r.key) f.key = str(*r.key);
      if (r.value) f.value = str(*r.value);
      out.push_back(std::move(f));
    }
  }
  return out;
}

}  // namespace kafkacore::broker::testing
