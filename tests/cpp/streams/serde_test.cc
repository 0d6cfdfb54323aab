#include "streams/serde.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "test_context.h"

namespace kafkacore::streams {
namespace {

using testutil::b;

struct Opaque : HostObject {};

Bytes ser(const SerdePtr& serde, const Value& v) {
  auto r = serde->serialize(v);
  EXPECT_TRUE(r.has_value()) << serde->name() << ": " << (r ? "" : r.error().to_string());
  if (!r || !*r) {
    ADD_FAILURE() << "no bytes";
    return {};
  }
  return **r;
}

Value de(const SerdePtr& serde, const Bytes& data) {
  auto r = serde->deserialize(ByteView(data));
  EXPECT_TRUE(r.has_value()) << serde->name() << ": " << (r ? "" : r.error().to_string());
  return r ? *r : Value{};
}

void expect_invalid_record(const Result<std::optional<Bytes>>& r, const std::string& serde,
                           const std::string& type) {
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), Errc::invalid_record);
  EXPECT_NE(r.error().message().find(serde), std::string::npos) << r.error().message();
  EXPECT_NE(r.error().message().find(type), std::string::npos) << r.error().message();
}

TEST(SerdeTest, NullIsNullBothWaysForEverySerde) {
  for (const char* name : {"bytes", "string", "int64", "double", "number"}) {
    SerdePtr serde = native_serde(name);
    ASSERT_NE(serde, nullptr) << name;
    EXPECT_EQ(serde->name(), name);
    auto s = serde->serialize(Value{});
    ASSERT_TRUE(s.has_value()) << name;
    EXPECT_FALSE(s->has_value()) << name;
    auto d = serde->deserialize(std::nullopt);
    ASSERT_TRUE(d.has_value()) << name;
    EXPECT_TRUE(is_null(*d)) << name;
  }
}

TEST(SerdeTest, NativeSerdeAliases) {
  EXPECT_EQ(native_serde("str"), string_serde());
  EXPECT_EQ(native_serde("long"), int64_serde());
  EXPECT_EQ(native_serde("json"), nullptr);
  EXPECT_EQ(native_serde(""), nullptr);
}

TEST(SerdeTest, BytesSerde) {
  SerdePtr serde = bytes_serde();
  EXPECT_EQ(ser(serde, Value(b(std::string_view("ab\0c", 4)))), b(std::string_view("ab\0c", 4)));
  EXPECT_EQ(ser(serde, Value(std::string("héllo"))), b("héllo"));
  EXPECT_EQ(de(serde, b("xyz")), Value(b("xyz")));
  EXPECT_EQ(de(serde, Bytes{}), Value(Bytes{}));  // empty is not null
  expect_invalid_record(serde->serialize(Value(int64_t{1})), "bytes", "int64");
  expect_invalid_record(serde->serialize(Value(std::make_shared<const Opaque>())), "bytes",
                        "host object");
}

TEST(SerdeTest, StringSerde) {
  SerdePtr serde = string_serde();
  EXPECT_EQ(ser(serde, Value(std::string("hi"))), b("hi"));
  EXPECT_EQ(ser(serde, Value(b("raw"))), b("raw"));
  EXPECT_EQ(ser(serde, Value(int64_t{-42})), b("-42"));
  EXPECT_EQ(ser(serde, Value(INT64_MIN)), b("-9223372036854775808"));
  EXPECT_EQ(ser(serde, Value(2.5)), b("2.5"));
  EXPECT_EQ(ser(serde, Value(0.1)), b("0.1"));  // shortest round-trip text
  EXPECT_EQ(de(serde, b("text")), Value(std::string("text")));
  EXPECT_EQ(de(serde, Bytes{}), Value(std::string()));
  expect_invalid_record(serde->serialize(Value(std::make_shared<const Opaque>())), "string",
                        "host object");
}

TEST(SerdeTest, Int64SerdeIsBigEndianLikeKafkaLongSerde) {
  SerdePtr serde = int64_serde();
  EXPECT_EQ(ser(serde, Value(int64_t{1})),
            (Bytes{std::byte{0}, std::byte{0}, std::byte{0}, std::byte{0}, std::byte{0},
                   std::byte{0}, std::byte{0}, std::byte{1}}));
  EXPECT_EQ(ser(serde, Value(int64_t{-1})), Bytes(8, std::byte{0xff}));
  for (int64_t v : {int64_t{0}, int64_t{1234567890123}, INT64_MIN, INT64_MAX}) {
    EXPECT_EQ(de(serde, ser(serde, Value(v))), Value(v));
  }
  expect_invalid_record(serde->serialize(Value(1.0)), "int64", "double");
  expect_invalid_record(serde->serialize(Value(std::string("1"))), "int64", "string");
  auto short_data = serde->deserialize(ByteView(b("1234567")));
  ASSERT_FALSE(short_data.has_value());
  EXPECT_EQ(short_data.error().code(), Errc::invalid_record);
  EXPECT_FALSE(serde->deserialize(ByteView(b("123456789"))).has_value());
}

TEST(SerdeTest, DoubleSerdeIsBigEndianIeee754) {
  SerdePtr serde = double_serde();
  // 1.0 = 0x3FF0000000000000
  Bytes one(8, std::byte{0});
  one[0] = std::byte{0x3f};
  one[1] = std::byte{0xf0};
  EXPECT_EQ(ser(serde, Value(1.0)), one);
  for (double v : {0.0, -2.75, 1e300, std::numeric_limits<double>::infinity()}) {
    EXPECT_EQ(de(serde, ser(serde, Value(v))), Value(v));
  }
  Value nan = de(serde, ser(serde, Value(std::nan(""))));
  ASSERT_TRUE(std::holds_alternative<double>(nan));
  EXPECT_TRUE(std::isnan(std::get<double>(nan)));
  expect_invalid_record(serde->serialize(Value(int64_t{1})), "double", "int64");
  EXPECT_EQ(serde->deserialize(ByteView(b("1"))).error().code(), Errc::invalid_record);
}

TEST(SerdeTest, NumberSerdeKeepsTheType) {
  SerdePtr serde = number_serde();
  Bytes i = ser(serde, Value(int64_t{7}));
  ASSERT_EQ(i.size(), 9u);
  EXPECT_EQ(i[0], std::byte{0});
  EXPECT_EQ(i[8], std::byte{7});
  Bytes d = ser(serde, Value(7.0));
  ASSERT_EQ(d.size(), 9u);
  EXPECT_EQ(d[0], std::byte{1});
  EXPECT_EQ(de(serde, i), Value(int64_t{7}));
  EXPECT_EQ(de(serde, d), Value(7.0));
  EXPECT_EQ(de(serde, ser(serde, Value(INT64_MIN))), Value(INT64_MIN));
  expect_invalid_record(serde->serialize(Value(std::string("7"))), "number", "string");
  EXPECT_EQ(serde->deserialize(ByteView(b("12345678"))).error().code(), Errc::invalid_record);
  Bytes bad_tag = i;
  bad_tag[0] = std::byte{2};
  EXPECT_EQ(serde->deserialize(ByteView(bad_tag)).error().code(), Errc::invalid_record);
}

TEST(SerdeTest, WindowedKeyLayouts) {
  Bytes tk = time_windowed_key(b("k"), 0x0102030405060708);
  ASSERT_EQ(tk.size(), 9u);
  EXPECT_EQ(tk[0], std::byte{'k'});
  EXPECT_EQ(load_be<int64_t>(tk.data() + 1), 0x0102030405060708);

  Bytes sk = session_windowed_key(b("key"), Window{100, 250, true});
  ASSERT_EQ(sk.size(), 3u + 16u);
  EXPECT_EQ(Bytes(sk.begin(), sk.begin() + 3), b("key"));
  EXPECT_EQ(load_be<int64_t>(sk.data() + 3), 250);  // end first, as Kafka does
  EXPECT_EQ(load_be<int64_t>(sk.data() + 11), 100);

  EXPECT_EQ(time_windowed_key(ByteView{}, -1), Bytes(8, std::byte{0xff}));
}

}  // namespace
}  // namespace kafkacore::streams
