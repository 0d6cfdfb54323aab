// Reader/Writer primitives: every wire type, classic and compact encodings, nulls, uuids,
// varints, tagged-field sections (unknown tags kept), records and frame splices.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "protocol/frame.h"
#include "protocol/reader.h"
#include "protocol/records.h"
#include "protocol/writer.h"
#include "test_util.h"

namespace kafkacore::protocol {
namespace {

using test::bytes_of;

TEST(Primitives, FixedWidthIntegersAreBigEndian) {
  Writer w;
  w.write_bool(true);
  w.write_bool(false);
  w.write_int8(-2);
  w.write_int16(0x1234);
  w.write_int32(-2);
  w.write_int64(0x0102030405060708LL);
  w.write_uint16(0xfffe);
  w.write_uint32(0x89abcdefU);
  EXPECT_EQ(w.bytes(), bytes_of({1, 0, 0xfe, 0x12, 0x34, 0xff, 0xff, 0xff, 0xfe, 1, 2, 3, 4, 5,
                                 6, 7, 8, 0xff, 0xfe, 0x89, 0xab, 0xcd, 0xef}));
  Reader r(w.bytes());
  EXPECT_TRUE(r.read_bool());
  EXPECT_FALSE(r.read_bool());
  EXPECT_EQ(r.read_int8(), -2);
  EXPECT_EQ(r.read_int16(), 0x1234);
  EXPECT_EQ(r.read_int32(), -2);
  EXPECT_EQ(r.read_int64(), 0x0102030405060708LL);
  EXPECT_EQ(r.read_uint16(), 0xfffe);
  EXPECT_EQ(r.read_uint32(), 0x89abcdefU);
  EXPECT_TRUE(r.ok());
  EXPECT_TRUE(r.at_end());
}

TEST(Primitives, IntegerExtremes) {
  Writer w;
  w.write_int8(std::numeric_limits<int8_t>::min());
  w.write_int16(std::numeric_limits<int16_t>::min());
  w.write_int32(std::numeric_limits<int32_t>::min());
  w.write_int64(std::numeric_limits<int64_t>::min());
  w.write_int64(std::numeric_limits<int64_t>::max());
  Reader r(w.bytes());
  EXPECT_EQ(r.read_int8(), std::numeric_limits<int8_t>::min());
  EXPECT_EQ(r.read_int16(), std::numeric_limits<int16_t>::min());
  EXPECT_EQ(r.read_int32(), std::numeric_limits<int32_t>::min());
  EXPECT_EQ(r.read_int64(), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(r.read_int64(), std::numeric_limits<int64_t>::max());
  EXPECT_TRUE(r.ok() && r.at_end());
}

TEST(Primitives, AnyNonZeroByteIsTrue) {
  const Bytes data = bytes_of({2, 0xff, 0});
  Reader r(data);
  EXPECT_TRUE(r.read_bool());
  EXPECT_TRUE(r.read_bool());
  EXPECT_FALSE(r.read_bool());
}

TEST(Primitives, Float64) {
  Writer w;
  w.write_float64(1.5);
  w.write_float64(-0.0);
  w.write_float64(std::numeric_limits<double>::infinity());
  w.write_float64(std::nan(""));
  EXPECT_EQ(Bytes(w.bytes().begin(), w.bytes().begin() + 8),
            bytes_of({0x3f, 0xf8, 0, 0, 0, 0, 0, 0}));
  Reader r(w.bytes());
  EXPECT_EQ(r.read_float64(), 1.5);
  const double negative_zero = r.read_float64();
  EXPECT_EQ(negative_zero, 0.0);
  EXPECT_TRUE(std::signbit(negative_zero));
  EXPECT_EQ(r.read_float64(), std::numeric_limits<double>::infinity());
  EXPECT_TRUE(std::isnan(r.read_float64()));
  EXPECT_TRUE(r.ok() && r.at_end());
}

TEST(Primitives, Uuid) {
  Uuid id;
  for (size_t i = 0; i < 16; ++i) id.bytes[i] = static_cast<std::byte>(i * 17);
  Writer w;
  w.write_uuid(id);
  w.write_uuid(Uuid{});
  ASSERT_EQ(w.bytes().size(), 32u);
  EXPECT_EQ(w.bytes()[1], std::byte{17});
  Reader r(w.bytes());
  EXPECT_EQ(r.read_uuid(), id);
  const Uuid zero = r.read_uuid();
  EXPECT_TRUE(zero.is_zero());
  EXPECT_FALSE(id.is_zero());
  EXPECT_TRUE(r.ok() && r.at_end());
  Reader short_input(ByteView(w.bytes()).first(15));
  short_input.read_uuid();
  EXPECT_FALSE(short_input.ok());
}

TEST(Primitives, Varints) {
  Writer w;
  w.write_unsigned_varint(0);
  w.write_unsigned_varint(127);
  w.write_unsigned_varint(128);
  w.write_unsigned_varint(std::numeric_limits<uint32_t>::max());
  w.write_varint(-1);
  w.write_varlong(std::numeric_limits<int64_t>::min());
  EXPECT_EQ(Bytes(w.bytes().begin(), w.bytes().begin() + 4), bytes_of({0, 0x7f, 0x80, 0x01}));
  Reader r(w.bytes());
  EXPECT_EQ(r.read_unsigned_varint(), 0u);
  EXPECT_EQ(r.read_unsigned_varint(), 127u);
  EXPECT_EQ(r.read_unsigned_varint(), 128u);
  EXPECT_EQ(r.read_unsigned_varint(), std::numeric_limits<uint32_t>::max());
  EXPECT_EQ(r.read_varint(), -1);
  EXPECT_EQ(r.read_varlong(), std::numeric_limits<int64_t>::min());
  EXPECT_TRUE(r.ok() && r.at_end());
}

TEST(Primitives, ClassicAndCompactStrings) {
  Writer w;
  w.write_string("abc", /*compact=*/false);
  w.write_string("abc", /*compact=*/true);
  w.write_string("", false);
  w.write_string("", true);
  w.write_nullable_string(std::nullopt, false);
  w.write_nullable_string(std::nullopt, true);
  w.write_nullable_string(std::string("x"), true);
  EXPECT_EQ(w.bytes(), bytes_of({0, 3, 'a', 'b', 'c', 4, 'a', 'b', 'c', 0, 0, 1, 0xff, 0xff, 0,
                                 2, 'x'}));
  Reader r(w.bytes());
  EXPECT_EQ(r.read_string(false), "abc");
  EXPECT_EQ(r.read_string(true), "abc");
  EXPECT_EQ(r.read_nullable_string(false), std::optional<std::string>(""));
  EXPECT_EQ(r.read_nullable_string(true), std::optional<std::string>(""));
  EXPECT_EQ(r.read_nullable_string(false), std::nullopt);
  EXPECT_EQ(r.read_nullable_string(true), std::nullopt);
  EXPECT_EQ(r.read_nullable_string(true), std::optional<std::string>("x"));
  EXPECT_TRUE(r.ok() && r.at_end());
}

TEST(Primitives, LongStringUsesMultiByteCompactLength) {
  const std::string s(300, 'q');
  Writer w;
  w.write_string(s, true);
  EXPECT_EQ(w.bytes()[0], std::byte{0xad});  // 301 = 0b10'0101101
  EXPECT_EQ(w.bytes()[1], std::byte{0x02});
  Reader r(w.bytes());
  EXPECT_EQ(r.read_string(true), s);
  EXPECT_TRUE(r.at_end());
}

TEST(Primitives, NullWhereNotNullableIsAnError) {
  const Bytes classic = bytes_of({0xff, 0xff});
  Reader r1(classic);
  r1.read_string(false);
  EXPECT_FALSE(r1.ok());
  Reader r2(classic);
  EXPECT_EQ(r2.read_nullable_string(false, /*nullable=*/false), std::string());
  EXPECT_FALSE(r2.ok());
  const Bytes compact = bytes_of({0});
  Reader r3(compact);
  r3.read_string(true);
  EXPECT_FALSE(r3.ok());
  const Bytes array = bytes_of({0xff, 0xff, 0xff, 0xff});
  Reader r4(array);
  EXPECT_EQ(r4.read_array_length(false, /*nullable=*/false), 0);
  EXPECT_FALSE(r4.ok());
  Reader r5(array);
  EXPECT_EQ(r5.read_array_length(false, /*nullable=*/true), -1);
  EXPECT_TRUE(r5.ok());
}

TEST(Primitives, Bytes) {
  const Bytes payload = bytes_of({1, 2, 3});
  Writer w;
  w.write_bytes(payload, false);
  w.write_bytes(payload, true);
  w.write_nullable_bytes(std::nullopt, false);
  w.write_nullable_bytes(std::nullopt, true);
  w.write_nullable_bytes(Bytes{}, true);
  EXPECT_EQ(w.bytes(), bytes_of({0, 0, 0, 3, 1, 2, 3, 4, 1, 2, 3, 0xff, 0xff, 0xff, 0xff, 0, 1}));
  Reader r(w.bytes());
  EXPECT_EQ(r.read_bytes(false), payload);
  auto view = r.read_bytes_view(true, false);
  ASSERT_TRUE(view.has_value());
  EXPECT_EQ(Bytes(view->begin(), view->end()), payload);
  EXPECT_EQ(view->data(), w.bytes().data() + 8);  // zero-copy
  EXPECT_EQ(r.read_nullable_bytes(false), std::nullopt);
  EXPECT_EQ(r.read_nullable_bytes(true), std::nullopt);
  EXPECT_EQ(r.read_nullable_bytes(true), std::optional<Bytes>(Bytes{}));
  EXPECT_TRUE(r.ok() && r.at_end());
}

TEST(Primitives, ArrayLengths) {
  Writer w;
  w.write_array_length(2, false);
  w.write_array_length(2, true);
  w.write_null_array(false);
  w.write_null_array(true);
  w.write_array_length(0, true);
  EXPECT_EQ(w.bytes(), bytes_of({0, 0, 0, 2, 3, 0xff, 0xff, 0xff, 0xff, 0, 1}));
  Bytes data = w.bytes();
  data.push_back(std::byte{9});  // room for the two announced elements
  data.push_back(std::byte{9});
  Reader r(data);
  EXPECT_EQ(r.read_array_length(false, false), 2);
  EXPECT_EQ(r.read_array_length(true, false), 2);
  EXPECT_EQ(r.read_array_length(false, true), -1);
  EXPECT_EQ(r.read_array_length(true, true), -1);
  EXPECT_EQ(r.read_array_length(true, false), 0);
  EXPECT_TRUE(r.ok());
}

TEST(Primitives, RecordsAreZeroCopyViews) {
  const Bytes batch = bytes_of({10, 11, 12, 13});
  Records records;
  records.bytes = batch;
  Writer w;
  w.write_records(records, false);
  w.write_records(records, true);
  w.write_records(Records::null(), false);
  w.write_records(Records::null(), true);
  w.write_records(Records{}, true);
  EXPECT_EQ(w.bytes(), bytes_of({0, 0, 0, 4, 10, 11, 12, 13, 5, 10, 11, 12, 13, 0xff, 0xff, 0xff,
                                 0xff, 0, 1}));
  Reader r(w.bytes());
  Records a = r.read_records(false, false);
  EXPECT_FALSE(a.is_null);
  EXPECT_EQ(a.bytes.data(), w.bytes().data() + 4);
  EXPECT_EQ(a, records);
  EXPECT_EQ(r.read_records(true, false), records);
  EXPECT_TRUE(r.read_records(false, true).is_null);
  EXPECT_TRUE(r.read_records(true, true).is_null);
  Records empty = r.read_records(true, true);
  EXPECT_FALSE(empty.is_null);
  EXPECT_EQ(empty.size(), 0u);
  EXPECT_TRUE(r.ok() && r.at_end());
}

TEST(Primitives, FileRecordsBecomeSplicesAndCountInTheFrameSize) {
  auto keepalive = std::make_shared<int>(7);
  const Bytes head = bytes_of({1, 2});
  Records records;
  records.bytes = head;
  records.files.push_back(FileRange{keepalive, 5, 100, 1000});
  records.files.push_back(FileRange{keepalive, 6, 0, 24});
  EXPECT_EQ(records.size(), 1026u);

  Writer w;
  w.begin_frame();
  w.write_int32(42);
  w.write_records(records, /*compact=*/false);
  w.write_int16(-1);  // something after the records
  EXPECT_EQ(w.wire_size(), 4u + 4 + 4 + 2 + 1024 + 2);
  OutputFrame frame = w.finish_frame();
  EXPECT_EQ(frame.total_size(), 4u + 4 + 4 + 2 + 1024 + 2);
  EXPECT_EQ(load_be<int32_t>(frame.bytes.data()), static_cast<int32_t>(frame.total_size() - 4));
  EXPECT_EQ(load_be<int32_t>(frame.bytes.data() + 8), 1026);
  ASSERT_EQ(frame.splices.size(), 2u);
  EXPECT_EQ(frame.splices[0].at, 14u);  // after size, correlation id, length and the 2 bytes
  EXPECT_EQ(frame.splices[0].range.fd, 5);
  EXPECT_EQ(frame.splices[0].range.offset, 100u);
  EXPECT_EQ(frame.splices[1].at, 14u);
  EXPECT_EQ(frame.splices[1].range.fd, 6);
  EXPECT_EQ(frame.splices[0].range.keepalive.get(), keepalive.get());
  EXPECT_EQ(frame.bytes.size(), 16u);
  // The writer is reusable afterwards.
  EXPECT_EQ(w.wire_size(), 0u);
}

TEST(Primitives, CompactRecordsLengthCountsFileRanges) {
  Records records;
  records.files.push_back(FileRange{nullptr, 3, 0, 200});
  Writer w;
  w.write_records(records, /*compact=*/true);
  EXPECT_EQ(w.bytes(), bytes_of({0xc9, 0x01}));  // 201
  EXPECT_EQ(w.wire_size(), 202u);
}

TEST(Primitives, TaggedFieldsKeepUnknownTags) {
  Writer w;
  w.write_unsigned_varint(3);
  w.write_tagged_field(0, bytes_of({0, 0, 0, 7}));
  w.write_tagged_field(5, bytes_of({0xaa}));
  w.write_tagged_field(300, Bytes{});
  Reader r(w.bytes());
  int32_t known = 0;
  std::vector<TaggedField> unknown;
  r.read_tagged_fields(unknown, [&](uint32_t tag, Reader& sub) {
    if (tag != 0) return false;
    known = sub.read_int32();
    return true;
  });
  EXPECT_TRUE(r.ok() && r.at_end());
  EXPECT_EQ(known, 7);
  ASSERT_EQ(unknown.size(), 2u);
  EXPECT_EQ(unknown[0], (TaggedField{5, bytes_of({0xaa})}));
  EXPECT_EQ(unknown[1], (TaggedField{300, Bytes{}}));

  // Written back in tag order around the known fields.
  Writer back;
  size_t next = 0;
  back.write_unsigned_varint(3);
  back.write_unknown_tagged_fields(unknown, next, 0);
  back.write_tagged_field(0, bytes_of({0, 0, 0, 7}));
  back.write_unknown_tagged_fields(unknown, next, std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(back.bytes(), w.bytes());
}

TEST(Primitives, KnownTaggedFieldMustUseItsWholePayload) {
  Writer w;
  w.write_unsigned_varint(1);
  w.write_tagged_field(0, bytes_of({0, 0, 0, 7, 0}));  // one byte too many for an int32
  Reader r(w.bytes());
  std::vector<TaggedField> unknown;
  r.read_tagged_fields(unknown, [&](uint32_t, Reader& sub) {
    sub.read_int32();
    return true;
  });
  EXPECT_FALSE(r.ok());
}

TEST(Primitives, KnownTaggedFieldCannotReadPastItsPayload) {
  Writer w;
  w.write_unsigned_varint(1);
  w.write_tagged_field(0, bytes_of({0, 7}));  // an int32 needs four bytes
  w.write_int32(0);                            // bytes after the section must stay out of reach
  Reader r(w.bytes());
  std::vector<TaggedField> unknown;
  r.read_tagged_fields(unknown, [&](uint32_t, Reader& sub) {
    sub.read_int32();
    return true;
  });
  EXPECT_FALSE(r.ok());
}

TEST(Primitives, SkipTaggedFields) {
  Writer w;
  w.write_unsigned_varint(2);
  w.write_tagged_field(1, bytes_of({1, 2, 3}));
  w.write_tagged_field(2, bytes_of({4}));
  w.write_int8(9);
  Reader r(w.bytes());
  r.skip_tagged_fields();
  EXPECT_EQ(r.read_int8(), 9);
  EXPECT_TRUE(r.ok() && r.at_end());
}

TEST(Primitives, TaggedPayloadWithSplicesIsShifted) {
  Records records;
  records.files.push_back(FileRange{nullptr, 4, 0, 10});
  Writer payload;
  payload.write_records(records, true);
  Writer w;
  w.write_int8(1);
  w.write_tagged_field(7, payload);
  // tag, size (1 length byte + 10 spliced), the length byte; the splice lands after it.
  EXPECT_EQ(w.bytes(), bytes_of({1, 7, 11, 11}));
  ASSERT_EQ(w.splices().size(), 1u);
  EXPECT_EQ(w.splices()[0].at, 4u);
  EXPECT_EQ(w.wire_size(), 14u);
}

TEST(Primitives, ErrorsAreStickyAndCarryThePosition) {
  const Bytes data = bytes_of({0, 1, 2});
  Reader r(data);
  EXPECT_EQ(r.read_int16(), 1);
  EXPECT_EQ(r.read_int32(), 0);  // only one byte left
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.position(), 2u);  // nothing consumed by the failed read
  EXPECT_EQ(r.read_int8(), 0);  // later reads see the error too
  EXPECT_EQ(r.position(), 2u);
  auto status = r.status();
  ASSERT_FALSE(status.has_value());
  EXPECT_EQ(status.error().code(), Errc::invalid_request);
  EXPECT_NE(status.error().message().find("byte 2"), std::string::npos);
}

TEST(PrimitivesDeathTest, EncodingContractViolationsAbort) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  Writer w;
  EXPECT_THROW(w.write_string(std::string(40000, 'x'), false), EncodeError);
  Records null_with_bytes = Records::null();
  const Bytes b = bytes_of({1});
  null_with_bytes.bytes = b;
  EXPECT_THROW(w.write_records(null_with_bytes, false), EncodeError);
  EXPECT_THROW(w.finish_frame(), EncodeError);
}

}  // namespace
}  // namespace kafkacore::protocol
