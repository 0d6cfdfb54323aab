// The public umbrella header compiles on its own (as an embedder includes it, through the
// kafkacore::kafkacore target's include directories) and names the client's value types in
// namespace kafkacore, as kafkacore.h promises.
#include <gtest/gtest.h>

#include <type_traits>

#include "kafkacore/kafkacore.h"

namespace {

template <typename Alias, typename Real>
constexpr bool same = std::is_same_v<Alias, Real>;

namespace kc = kafkacore;
namespace cl = kafkacore::client;

// admin_client.h
static_assert(same<kc::GroupListing, cl::GroupListing>);
static_assert(same<kc::GroupDescription, cl::GroupDescription>);
static_assert(same<kc::MemberDescription, cl::MemberDescription>);
static_assert(same<kc::ConfigEntry, cl::ConfigEntry>);
static_assert(same<kc::ConfigSource, cl::ConfigSource>);
static_assert(same<kc::AlterOp, cl::AlterOp>);
static_assert(same<kc::ClusterDescription, cl::ClusterDescription>);
static_assert(same<kc::ListedOffset, cl::ListedOffset>);
static_assert(same<kc::ElectionType, cl::ElectionType>);
// producer.h
static_assert(same<kc::ProducerRecordView, cl::ProducerRecordView>);
static_assert(same<kc::HeaderView, cl::HeaderView>);
// consumer.h
static_assert(same<kc::TimestampKind, cl::TimestampKind>);
static_assert(same<kc::PolledRecords, cl::PolledRecords>);

TEST(PublicHeader, AliasesAreUsableWithoutTheInternalNamespace) {
  kc::ElectionType type = kc::ElectionType::preferred;
  kc::AlterConfigOp op{.name = "retention.ms", .op = kc::AlterOp::set, .value = "1000"};
  kc::HeaderView header{.key = "h"};
  kc::ProducerRecordView view{.topic = "t", .headers = {&header, 1}};
  EXPECT_EQ(type, kc::ElectionType::preferred);
  EXPECT_EQ(op.op, kc::AlterOp::set);
  EXPECT_EQ(view.headers.front().key, "h");
  EXPECT_EQ(kc::ConfigEntry{}.source, kc::ConfigSource::unknown);
  EXPECT_EQ(kc::ConsumerRecord{}.timestamp_type, kc::TimestampKind::create_time);
}

}  // namespace
