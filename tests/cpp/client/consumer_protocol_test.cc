#include "client/consumer_protocol.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/writer.h"

namespace kafkacore::client {
namespace {

Bytes hex_bytes(std::initializer_list<int> values) {
  Bytes out;
  for (int v : values) out.push_back(static_cast<std::byte>(v));
  return out;
}

Bytes bytes_of(std::string_view s) {
  const ByteView v = as_bytes(s);
  return Bytes(v.begin(), v.end());
}

Bytes from_hex(std::string_view hex) {
  Bytes out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<std::byte>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

Subscription full_subscription() {
  Subscription s;
  s.topics = {"orders", "payments"};
  s.user_data = hex_bytes({0, 0, 0, 7});
  s.owned_partitions = {{"orders", {0, 2}}, {"payments", {1}}};
  s.generation_id = 7;
  s.rack_id = "rack-a";
  return s;
}

// What decoding an encoding at `version` gives back: the fields the version lacks at their
// defaults.
Subscription as_of_version(Subscription s, int16_t version) {
  if (version < 1) s.owned_partitions.clear();
  if (version < 2) s.generation_id = -1;
  if (version < 3) s.rack_id.reset();
  return s;
}

TEST(ConsumerProtocol, SubscriptionV0Layout) {
  Subscription s;
  s.topics = {"ab", "c"};
  s.user_data = hex_bytes({0xfe});
  // clang-format off
  const Bytes expected = hex_bytes({
      0, 0,                  // version 0
      0, 0, 0, 2,            // 2 topics
      0, 2, 'a', 'b',        //
      0, 1, 'c',             //
      0, 0, 0, 1, 0xfe,      // user data
  });
  // clang-format on
  EXPECT_EQ(encode_subscription(s, 0), expected);
}

TEST(ConsumerProtocol, SubscriptionV3Layout) {
  Subscription s;
  s.topics = {"t"};
  s.owned_partitions = {{"t", {0, 1}}};
  s.generation_id = 5;
  // clang-format off
  const Bytes expected = hex_bytes({
      0, 3,                          // version 3
      0, 0, 0, 1, 0, 1, 't',         // topics
      0xff, 0xff, 0xff, 0xff,        // null user data
      0, 0, 0, 1,                    // owned partitions: 1 topic
      0, 1, 't', 0, 0, 0, 2,         //   "t", 2 partitions
      0, 0, 0, 0, 0, 0, 0, 1,        //   0, 1
      0, 0, 0, 5,                    // generation 5
      0xff, 0xff,                    // null rack id
  });
  // clang-format on
  EXPECT_EQ(encode_subscription(s), expected);
}

TEST(ConsumerProtocol, SubscriptionRoundTripEveryVersion) {
  const Subscription s = full_subscription();
  for (int16_t version = 0; version <= kConsumerProtocolVersion; ++version) {
    SCOPED_TRACE(version);
    const Bytes encoded = encode_subscription(s, version);
    EXPECT_EQ(load_be<int16_t>(encoded.data()), version);
    auto decoded = decode_subscription(encoded);
    ASSERT_TRUE(decoded.has_value()) << decoded.error().to_string();
    EXPECT_EQ(*decoded, as_of_version(s, version));
  }
}

TEST(ConsumerProtocol, SubscriptionDefaultsAndNulls) {
  Subscription s;  // no topics, null user data, nothing owned, generation -1, no rack
  for (int16_t version = 0; version <= kConsumerProtocolVersion; ++version) {
    auto decoded = decode_subscription(encode_subscription(s, version));
    ASSERT_TRUE(decoded.has_value()) << decoded.error().to_string();
    EXPECT_EQ(*decoded, s);
  }
  // Empty (not null) user data stays empty: librdkafka sends it that way.
  s.user_data = Bytes{};
  auto decoded = decode_subscription(encode_subscription(s));
  ASSERT_TRUE(decoded.has_value());
  ASSERT_TRUE(decoded->user_data.has_value());
  EXPECT_TRUE(decoded->user_data->empty());
}

TEST(ConsumerProtocol, EmptyRackIdDecodesAsNone) {
  Subscription s;
  s.topics = {"t"};
  s.rack_id = "";
  auto decoded = decode_subscription(encode_subscription(s));
  ASSERT_TRUE(decoded.has_value());
  EXPECT_FALSE(decoded->rack_id.has_value());
}

TEST(ConsumerProtocol, EncodeVersionAboveKnownIsClampedBelowZeroThrows) {
  const Subscription s = full_subscription();
  EXPECT_EQ(encode_subscription(s, 9), encode_subscription(s, kConsumerProtocolVersion));
  EXPECT_THROW((void)encode_subscription(s, -1), protocol::EncodeError);
  const Assignment a{{{"t", {1}}}, std::nullopt};
  EXPECT_EQ(encode_assignment(a, 9), encode_assignment(a, kConsumerProtocolVersion));
  EXPECT_THROW((void)encode_assignment(a, -1), protocol::EncodeError);
}

TEST(ConsumerProtocol, NewerSubscriptionVersionDecodesKnownPrefix) {
  // A hypothetical v4 appends a field; we read the v3 fields and ignore the rest, like Kafka.
  Bytes encoded = encode_subscription(full_subscription(), 3);
  encoded[1] = std::byte{4};
  for (int v : {0, 0, 0, 42, 0x12, 0x34}) encoded.push_back(static_cast<std::byte>(v));
  auto decoded = decode_subscription(encoded);
  ASSERT_TRUE(decoded.has_value()) << decoded.error().to_string();
  EXPECT_EQ(*decoded, full_subscription());
}

TEST(ConsumerProtocol, OlderVersionWithTrailingBytesIsAccepted) {
  // Kafka does not check for bytes after the fields of the version it reads.
  Bytes encoded = encode_subscription(full_subscription(), 1);
  encoded.push_back(std::byte{0x55});
  auto decoded = decode_subscription(encoded);
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(*decoded, as_of_version(full_subscription(), 1));
}

TEST(ConsumerProtocol, NegativeVersionIsUnsupported) {
  Bytes encoded = encode_subscription(full_subscription(), 0);
  encoded[0] = std::byte{0xff};
  encoded[1] = std::byte{0xff};
  auto s = decode_subscription(encoded);
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code(), Errc::unsupported_version);
  EXPECT_NE(s.error().message().find("ConsumerProtocolSubscription"), std::string::npos);

  auto a = decode_assignment(hex_bytes({0x80, 0x00, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff}));
  ASSERT_FALSE(a.has_value());
  EXPECT_EQ(a.error().code(), Errc::unsupported_version);
}

TEST(ConsumerProtocol, EveryTruncatedSubscriptionFails) {
  const Bytes encoded = encode_subscription(full_subscription(), 3);
  for (size_t n = 0; n < encoded.size(); ++n) {
    auto decoded = decode_subscription(ByteView(encoded).first(n));
    ASSERT_FALSE(decoded.has_value()) << n;
    EXPECT_EQ(decoded.error().code(), Errc::corrupt_message) << n;
    EXPECT_NE(decoded.error().message().find("ConsumerProtocolSubscription"), std::string::npos);
  }
}

TEST(ConsumerProtocol, MalformedSubscriptions) {
  // A null topic array.
  auto null_topics = decode_subscription(hex_bytes({0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0}));
  ASSERT_FALSE(null_topics.has_value());
  EXPECT_EQ(null_topics.error().code(), Errc::corrupt_message);
  // A hostile topic count: rejected from the remaining size, nothing allocated for it.
  auto huge = decode_subscription(hex_bytes({0, 0, 0x7f, 0xff, 0xff, 0xff, 0, 0}));
  ASSERT_FALSE(huge.has_value());
  EXPECT_EQ(huge.error().code(), Errc::corrupt_message);
  // A null topic name.
  auto null_name = decode_subscription(hex_bytes({0, 0, 0, 0, 0, 1, 0xff, 0xff, 0, 0, 0, 0}));
  ASSERT_FALSE(null_name.has_value());
  // A negative user data length other than -1.
  auto bad_bytes = decode_subscription(hex_bytes({0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xfe}));
  ASSERT_FALSE(bad_bytes.has_value());
  // A hostile partition count in owned partitions.
  auto bad_owned = decode_subscription(
      hex_bytes({0, 1, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1, 0, 1, 't', 0x10, 0, 0, 0}));
  ASSERT_FALSE(bad_owned.has_value());
  EXPECT_EQ(bad_owned.error().code(), Errc::corrupt_message);
}

TEST(ConsumerProtocol, AssignmentLayout) {
  const Assignment a{{{"t", {3}}}, hex_bytes({9})};
  // clang-format off
  const Bytes expected = hex_bytes({
      0, 3,                    // version 3
      0, 0, 0, 1,              // 1 topic
      0, 1, 't', 0, 0, 0, 1,   //   "t", 1 partition
      0, 0, 0, 3,              //   3
      0, 0, 0, 1, 9,           // user data
  });
  // clang-format on
  EXPECT_EQ(encode_assignment(a), expected);
}

TEST(ConsumerProtocol, AssignmentRoundTripEveryVersion) {
  const Assignment a{{{"orders", {0, 1, 5}}, {"payments", {}}, {"x", {2}}}, bytes_of("hi")};
  for (int16_t version = 0; version <= kConsumerProtocolVersion; ++version) {
    SCOPED_TRACE(version);
    const Bytes encoded = encode_assignment(a, version);
    EXPECT_EQ(load_be<int16_t>(encoded.data()), version);
    auto decoded = decode_assignment(encoded);
    ASSERT_TRUE(decoded.has_value()) << decoded.error().to_string();
    EXPECT_EQ(*decoded, a);
  }
  auto empty = decode_assignment(encode_assignment(Assignment{}, 0));
  ASSERT_TRUE(empty.has_value());
  EXPECT_EQ(*empty, Assignment{});
}

TEST(ConsumerProtocol, EmptyAssignmentBytesMeanNothingAssigned) {
  auto decoded = decode_assignment(ByteView{});
  ASSERT_TRUE(decoded.has_value());
  EXPECT_TRUE(decoded->partitions.empty());
  EXPECT_FALSE(decoded->user_data.has_value());
}

TEST(ConsumerProtocol, DecodesCoordinatorsEmptyAssignment) {
  // group::empty_consumer_assignment(): version 0, no partitions, null user data.
  auto decoded = decode_assignment(hex_bytes({0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff}));
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(*decoded, Assignment{});
}

TEST(ConsumerProtocol, NewerAssignmentVersionDecodesKnownPrefix) {
  const Assignment a{{{"t", {0}}}, std::nullopt};
  Bytes encoded = encode_assignment(a);
  encoded[1] = std::byte{12};
  encoded.push_back(std::byte{1});
  auto decoded = decode_assignment(encoded);
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(*decoded, a);
}

TEST(ConsumerProtocol, EveryTruncatedAssignmentFails) {
  const Bytes encoded = encode_assignment(Assignment{{{"t", {0, 1}}, {"u", {4}}}, bytes_of("x")});
  for (size_t n = 1; n < encoded.size(); ++n) {
    auto decoded = decode_assignment(ByteView(encoded).first(n));
    ASSERT_FALSE(decoded.has_value()) << n;
    EXPECT_EQ(decoded.error().code(), Errc::corrupt_message) << n;
    EXPECT_NE(decoded.error().message().find("ConsumerProtocolAssignment"), std::string::npos);
  }
}

// Bytes librdkafka 2.16.0 (confluent-kafka 2.16.1) sent: two consumers with client.rack=rack-1
// joined group "g" on a 4-partition topic "cap" of our broker, one after the other; the members'
// metadata and assignments were then read back with DescribeGroups v0.
TEST(ConsumerProtocol, DecodesLibrdkafkaRangeMember) {
  auto s = decode_subscription(
      from_hex("00030000000100036361700000000000000000ffffffff00067261636b2d31"));
  ASSERT_TRUE(s.has_value()) << s.error().to_string();
  EXPECT_EQ(s->topics, std::vector<std::string>{"cap"});
  ASSERT_TRUE(s->user_data.has_value());  // empty, not null: for Kafka 0.9 leaders
  EXPECT_TRUE(s->user_data->empty());
  EXPECT_TRUE(s->owned_partitions.empty());
  EXPECT_EQ(s->generation_id, -1);
  EXPECT_EQ(s->rack_id, "rack-1");
  // Re-encoding gives the same bytes.
  EXPECT_EQ(encode_subscription(*s), from_hex("00030000000100036361700000000000000000ffffffff"
                                              "00067261636b2d31"));

  auto a = decode_assignment(from_hex("000000000001000363617000000002000000020000000300000000"));
  ASSERT_TRUE(a.has_value()) << a.error().to_string();
  EXPECT_EQ(*a, (Assignment{{{"cap", {2, 3}}}, Bytes{}}));
  EXPECT_EQ(encode_assignment(*a, 0),
            from_hex("000000000001000363617000000002000000020000000300000000"));
}

TEST(ConsumerProtocol, DecodesLibrdkafkaCooperativeStickyMember) {
  // The first consumer, rejoining when the second arrived (partition.assignment.strategy
  // cooperative-sticky): it owns cap-2 and cap-3 from generation 2. Its user data is librdkafka's
  // sticky-assignor format (the previous assignment and the generation), which a v2+ leader does
  // not need: GenerationId is a field.
  const Bytes metadata = from_hex(
      "0003000000010003636170000000190000000100036361700000000200000002000000030000000200000001"
      "00036361700000000200000002000000030000000200067261636b2d31");
  auto s = decode_subscription(metadata);
  ASSERT_TRUE(s.has_value()) << s.error().to_string();
  EXPECT_EQ(s->topics, std::vector<std::string>{"cap"});
  EXPECT_EQ(s->user_data, from_hex("00000001000363617000000002000000020000000300000002"));
  EXPECT_EQ(s->owned_partitions, (std::vector<TopicPartitions>{{"cap", {2, 3}}}));
  EXPECT_EQ(s->generation_id, 2);
  EXPECT_EQ(s->rack_id, "rack-1");
  EXPECT_EQ(encode_subscription(*s), metadata);

  // The second consumer's assignment.
  auto a = decode_assignment(
      from_hex("0000000000010003636170000000020000000100000000000000080000000000000002"));
  ASSERT_TRUE(a.has_value()) << a.error().to_string();
  // Partitions stay in the order sent (librdkafka's here is not ascending).
  EXPECT_EQ(a->partitions, (std::vector<TopicPartitions>{{"cap", {1, 0}}}));
  EXPECT_EQ(a->user_data, from_hex("0000000000000002"));
}

}  // namespace
}  // namespace kafkacore::client
