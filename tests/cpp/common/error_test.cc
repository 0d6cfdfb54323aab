#include "common/error.h"

#include <gtest/gtest.h>

#include "common/strong_id.h"

namespace kafkacore {
namespace {

TEST(Error, CarriesKafkaCodeAndMessage) {
  Result<int> r = make_error(Errc::corrupt_message, "bad crc");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Errc::corrupt_message);
  EXPECT_EQ(static_cast<int>(r.error().code()), 2);
  EXPECT_EQ(r.error().to_string(), "CORRUPT_MESSAGE: bad crc");
  EXPECT_EQ(errc_name(Errc::kafka_storage_error), "KAFKA_STORAGE_ERROR");
}

TEST(StrongId, ComparesWithinOneKindOnly) {
  Offset a{5};
  Offset b{7};
  EXPECT_LT(a, b);
  EXPECT_EQ(a.value(), 5);
  static_assert(!std::is_convertible_v<Offset, LeaderEpoch>);
  static_assert(!std::is_convertible_v<int64_t, Offset>);
}

}  // namespace
}  // namespace kafkacore
