#include "client/consumer_protocol.h"

#include <algorithm>
#include <string>
#include <string_view>
#include <utility>

#include "protocol/reader.h"
#include "protocol/writer.h"

namespace kafkacore::client {
namespace {

constexpr bool kClassic = false;  // neither format uses compact encodings

// Smallest encodings, so a hostile count is rejected before anything is allocated.
constexpr size_t kMinStringSize = 2;               // int16 length
constexpr size_t kMinTopicPartitionsSize = 2 + 4;  // topic + partition count
constexpr size_t kPartitionSize = 4;

int16_t clamp_version(int16_t version) {
  if (version < 0) {
    protocol::encode_contract_violation("consumer protocol version " + std::to_string(version));
  }
  return std::min(version, kConsumerProtocolVersion);
}

void write_topic_partitions(protocol::Writer& w, const std::vector<TopicPartitions>& list) {
  w.write_array_length(list.size(), kClassic);
  for (const TopicPartitions& tp : list) {
    w.write_string(tp.topic, kClassic);
    w.write_array_length(tp.partitions.size(), kClassic);
    for (int32_t p : tp.partitions) w.write_int32(p);
  }
}

std::vector<TopicPartitions> read_topic_partitions(protocol::Reader& r) {
  std::vector<TopicPartitions> out;
  const int32_t count = r.read_array_length(kClassic, /*nullable=*/false, kMinTopicPartitionsSize);
  out.reserve(static_cast<size_t>(std::max(count, 0)));
  for (int32_t i = 0; i < count && r.ok(); ++i) {
    TopicPartitions tp;
    tp.topic = r.read_string(kClassic);
    const int32_t n = r.read_array_length(kClassic, /*nullable=*/false, kPartitionSize);
    tp.partitions.reserve(static_cast<size_t>(std::max(n, 0)));
    for (int32_t j = 0; j < n && r.ok(); ++j) tp.partitions.push_back(r.read_int32());
    out.push_back(std::move(tp));
  }
  return out;
}

// The version prefix: negative versions are refused, newer ones read as the newest known.
Result<int16_t> read_version(protocol::Reader& r, std::string_view what) {
  const int16_t version = r.read_int16();
  if (!r.ok()) {
    return make_error(Errc::corrupt_message, std::string(what) + ": " + r.error()->message());
  }
  if (version < 0) {
    return make_error(Errc::unsupported_version,
                      std::string(what) + ": unsupported version " + std::to_string(version));
  }
  return std::min(version, kConsumerProtocolVersion);
}

// The reader's error as a corrupt_message naming the format (the reader says invalid_request,
// which is about requests, not about embedded group metadata).
std::unexpected<Error> corrupt(const protocol::Reader& r, std::string_view what) {
  return make_error(Errc::corrupt_message, std::string(what) + ": " + r.error()->message());
}

}  // namespace

Bytes encode_subscription(const Subscription& s, int16_t version) {
  version = clamp_version(version);
  protocol::Writer w;
  w.write_int16(version);
  w.write_array_length(s.topics.size(), kClassic);
  for (const std::string& topic : s.topics) w.write_string(topic, kClassic);
  w.write_nullable_bytes(s.user_data, kClassic);
  if (version >= 1) write_topic_partitions(w, s.owned_partitions);
  if (version >= 2) w.write_int32(s.generation_id);
  if (version >= 3) w.write_nullable_string(s.rack_id, kClassic);
  return w.take_bytes();
}

Result<Subscription> decode_subscription(ByteView data) {
  constexpr std::string_view kWhat = "ConsumerProtocolSubscription";
  protocol::Reader r(data);
  auto version = read_version(r, kWhat);
  if (!version) return std::unexpected(std::move(version.error()));

  Subscription s;
  const int32_t count = r.read_array_length(kClassic, /*nullable=*/false, kMinStringSize);
  s.topics.reserve(static_cast<size_t>(std::max(count, 0)));
  for (int32_t i = 0; i < count && r.ok(); ++i) s.topics.push_back(r.read_string(kClassic));
  s.user_data = r.read_nullable_bytes(kClassic);
  if (*version >= 1) s.owned_partitions = read_topic_partitions(r);
  if (*version >= 2) s.generation_id = r.read_int32();
  if (*version >= 3) {
    s.rack_id = r.read_nullable_string(kClassic);
    if (s.rack_id && s.rack_id->empty()) s.rack_id.reset();
  }
  if (!r.ok()) return corrupt(r, kWhat);
  return s;
}

Bytes encode_assignment(const Assignment& a, int16_t version) {
  version = clamp_version(version);
  protocol::Writer w;
  w.write_int16(version);
  write_topic_partitions(w, a.partitions);
  w.write_nullable_bytes(a.user_data, kClassic);
  return w.take_bytes();
}

Result<Assignment> decode_assignment(ByteView data) {
  constexpr std::string_view kWhat = "ConsumerProtocolAssignment";
  if (data.empty()) return Assignment{};
  protocol::Reader r(data);
  auto version = read_version(r, kWhat);
  if (!version) return std::unexpected(std::move(version.error()));

  // Versions 1-3 only bumped along with the subscription; the layout is the same in all.
  Assignment a;
  a.partitions = read_topic_partitions(r);
  a.user_data = r.read_nullable_bytes(kClassic);
  if (!r.ok()) return corrupt(r, kWhat);
  return a;
}

}  // namespace kafkacore::client
