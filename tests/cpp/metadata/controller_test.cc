// The metadata log's records, the image they build and the controller's decisions.
#include <gtest/gtest.h>

#include <set>

#include "metadata/controller.h"
#include "metadata/controller_fixture.h"
#include "metadata/image.h"
#include "metadata/records.h"

namespace kafkacore::metadata {
namespace {

using testing::id_of;

TEST(MetadataRecords, EveryTypeRoundTrips) {
  std::vector<MetadataRecord> all = {
      ClusterRecord{id_of(1)},
      RegisterBrokerRecord{3, id_of(2), 7, "host-3", 9094, "rack-a"},
      FenceBrokerRecord{3, 7},
      UnfenceBrokerRecord{3, 7},
      TopicRecord{"orders", id_of(9)},
      PartitionRecord{id_of(9), 2, {1, 2, 3}, {1, 3}, 1, 4, 9},
      PartitionChangeRecord{id_of(9), 2, 3, std::vector<int32_t>{3}, std::nullopt},
      RemoveTopicRecord{id_of(9)},
      ConfigRecord{ConfigResource::topic, "orders", "retention.ms", std::nullopt},
      ConfigRecord{ConfigResource::broker, "", "log.retention.ms", "1000"},
      ProducerIdsRecord{2, 5000, 1000},
  };
  for (const auto& r : all) {
    auto decoded = decode_record(encode_record(r));
    ASSERT_TRUE(decoded) << record_name(r) << ": " << decoded.error().message();
    EXPECT_EQ(*decoded, r) << record_name(r);
  }
  auto batch = decode_records(encode_records(all));
  ASSERT_TRUE(batch);
  EXPECT_EQ(*batch, all);
}

TEST(MetadataRecords, MalformedInputIsAnErrorNeverACrash) {
  const Bytes good = encode_record(PartitionRecord{id_of(9), 2, {1, 2, 3}, {1, 3}, 1, 4, 9});
  for (size_t n = 0; n < good.size(); ++n) {
    EXPECT_FALSE(decode_record(ByteView(good).first(n))) << "prefix of " << n << " bytes";
  }
  Bytes trailing = good;
  trailing.push_back(std::byte{0});
  EXPECT_FALSE(decode_record(trailing));
  // [99, {}]: an unknown record type.
  const Bytes unknown = {std::byte{0x92}, std::byte{99}, std::byte{0x80}};
  auto r = decode_record(unknown);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Errc::corrupt_message);
  // An array header claiming 2^32-1 elements in 6 bytes.
  const Bytes huge = {std::byte{0xdd}, std::byte{0xff}, std::byte{0xff}, std::byte{0xff},
                      std::byte{0xff}, std::byte{0x00}};
  EXPECT_FALSE(decode_records(huge));
}

TEST(MetadataRecords, UnknownFieldsAreIgnoredForForwardCompatibility) {
  // [4 (TopicRecord), {"name": "t", "future": 1}] — topic id missing keeps its default.
  const Bytes bytes = {std::byte{0x92}, std::byte{0x04}, std::byte{0x82},
                       std::byte{0xa4}, std::byte{'n'},  std::byte{'a'},  std::byte{'m'},
                       std::byte{'e'},  std::byte{0xa1}, std::byte{'t'},  std::byte{0xa6},
                       std::byte{'f'},  std::byte{'u'},  std::byte{'t'},  std::byte{'u'},
                       std::byte{'r'},  std::byte{'e'},  std::byte{0x01}};
  auto r = decode_record(bytes);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(std::get<TopicRecord>(*r).name, "t");
}

TEST(MetadataImage, AppliesRecordsWithoutChangingTheOldImage) {
  auto empty = MetadataImage::empty();
  auto one = empty->apply({ClusterRecord{id_of(1)}, RegisterBrokerRecord{1, id_of(2), 1, "h", 1, ""},
                           TopicRecord{"t", id_of(5)},
                           PartitionRecord{id_of(5), 0, {1}, {1}, 1, 0, 0}},
                          10);
  EXPECT_EQ(empty->topics().size(), 0u);
  EXPECT_EQ(one->offset(), 10);
  ASSERT_NE(one->partition("t", 0), nullptr);
  EXPECT_TRUE(one->broker(1)->fenced);
  std::vector<std::string> problems;
  auto two = one->apply({PartitionChangeRecord{id_of(5), 0, 2, std::vector<int32_t>{1, 2}, std::nullopt},
                         PartitionChangeRecord{id_of(5), 7, 2, std::nullopt, std::nullopt}},
                        11, &problems);
  EXPECT_EQ(problems.size(), 1u) << "a change of an unknown partition is reported";
  EXPECT_EQ(one->partition("t", 0)->leader, 1);
  EXPECT_EQ(two->partition("t", 0)->leader, 2);
  EXPECT_EQ(two->partition("t", 0)->leader_epoch, 1);
  EXPECT_EQ(two->partition("t", 0)->partition_epoch, 1);
  // A snapshot (to_records) rebuilds the same image.
  auto rebuilt = MetadataImage::empty()->apply(two->to_records(), two->offset());
  EXPECT_EQ(*rebuilt, *two);
}

class ControllerTest : public testing::ControllerFixture {};

TEST_F(ControllerTest, PlacementSpreadsReplicasAndLeadersEvenly) {
  for (int32_t id = 1; id <= 3; ++id) add_live_broker(id);
  auto records = controller_.create_topic("t", 6, 3, {{"retention.ms", "1000"}});
  ASSERT_TRUE(records) << records.error().message();
  commit(*records);
  std::map<int32_t, int> leaders;
  for (int32_t p = 0; p < 6; ++p) {
    const auto* part = image_->partition("t", p);
    ASSERT_NE(part, nullptr);
    EXPECT_EQ(std::set<int32_t>(part->replicas.begin(), part->replicas.end()).size(), 3u);
    EXPECT_EQ(part->isr, part->replicas);
    EXPECT_EQ(part->leader, part->replicas.front());
    ++leaders[part->leader];
  }
  EXPECT_EQ(leaders, (std::map<int32_t, int>{{1, 2}, {2, 2}, {3, 2}}));
  EXPECT_EQ(image_->configs(ConfigResource::topic, "t").at("retention.ms"), "1000");
  auto too_many = controller_.create_topic("u", 1, 4, {});
  ASSERT_FALSE(too_many);
  EXPECT_EQ(too_many.error().code(), Errc::invalid_replication_factor);
  EXPECT_EQ(controller_.create_topic("t", 1, 1, {}).error().code(), Errc::topic_already_exists);
}

TEST_F(ControllerTest, ABrokerThatMissesItsSessionIsFencedAndLosesLeadership) {
  for (int32_t id = 1; id <= 3; ++id) add_live_broker(id);
  commit(*controller_.create_topic("t", 3, 3, {}));
  const ImagePtr before = image_;
  // Broker 2 goes silent; the others keep heartbeating.
  for (int i = 0; i < 12; ++i) {
    clock_.advance_ms(100);
    heartbeat_all_but(2);
    commit(controller_.tick());
  }
  EXPECT_TRUE(image_->broker(2)->fenced);
  for (int32_t p = 0; p < 3; ++p) {
    const auto* now = image_->partition("t", p);
    const auto* was = before->partition("t", p);
    EXPECT_NE(now->leader, 2);
    EXPECT_EQ(std::count(now->isr.begin(), now->isr.end(), 2), 0);
    if (was->leader == 2) {
      EXPECT_EQ(now->leader_epoch, was->leader_epoch + 1) << "a new leader bumps the epoch";
      EXPECT_NE(now->leader, -1);
    } else {
      EXPECT_EQ(now->leader, was->leader);
    }
  }
  EXPECT_TRUE(image_->broker(1) && !image_->broker(1)->fenced);
}

TEST_F(ControllerTest, TheLastInSyncReplicaKeepsThePartitionUntilItReturns) {
  add_live_broker(1);
  commit(*controller_.create_topic("solo", 1, 1, {}));
  clock_.advance_ms(1500);
  commit(controller_.tick());
  EXPECT_EQ(image_->partition("solo", 0)->leader, -1) << "offline, no unclean election";
  EXPECT_EQ(image_->partition("solo", 0)->isr, std::vector<int32_t>{1});
  // Broker 1 restarts: a new incarnation registers, catches up and is elected again.
  auto reg = controller_.register_broker({1, Uuid::random(), "127.0.0.1", 9001, ""});
  ASSERT_TRUE(reg);
  commit(*reg);
  auto hb = controller_.heartbeat(1, image_->broker(1)->epoch, image_->offset());
  ASSERT_TRUE(hb);
  commit(hb->first);
  EXPECT_EQ(image_->partition("solo", 0)->leader, 1);
}

TEST_F(ControllerTest, AlterPartitionChecksLeaderAndEpochs) {
  for (int32_t id = 1; id <= 3; ++id) add_live_broker(id);
  commit(*controller_.create_topic("t", 1, 3, {}));
  const PartitionState* p = image_->partition("t", 0);  // valid until the next commit()
  const PartitionState before = *p;
  const Uuid tid = image_->topic("t")->id;
  const int32_t leader = p->leader;
  std::vector<int32_t> shrunk = {leader};
  auto ok = controller_.alter_partition(tid, 0, leader, p->leader_epoch, p->partition_epoch, shrunk);
  ASSERT_TRUE(ok) << ok.error().message();
  commit(*ok);
  EXPECT_EQ(image_->partition("t", 0)->isr, shrunk);
  // The same request again carries a stale partition epoch.
  EXPECT_FALSE(controller_.alter_partition(tid, 0, leader, before.leader_epoch, 0, shrunk));
  // Not the leader.
  const int32_t other = leader == 1 ? 2 : 1;
  EXPECT_EQ(controller_.alter_partition(tid, 0, other, 0, 1, {other}).error().code(),
            Errc::fenced_leader_epoch);
}

TEST_F(ControllerTest, PreferredLeaderComesBackAfterItReturns) {
  for (int32_t id = 1; id <= 3; ++id) add_live_broker(id);
  commit(*controller_.create_topic("t", 3, 3, {}));
  int32_t preferred_of_0 = image_->partition("t", 0)->replicas.front();
  // The preferred leader of partition 0 restarts (a new incarnation: leadership moves away).
  auto reg = controller_.register_broker({preferred_of_0, Uuid::random(), "127.0.0.1", 9000, ""});
  commit(*reg);
  EXPECT_NE(image_->partition("t", 0)->leader, preferred_of_0);
  auto hb = controller_.heartbeat(preferred_of_0, image_->broker(preferred_of_0)->epoch, image_->offset());
  commit(hb->first);
  // Back in the ISR (as the leader's AlterPartition would do), then the rebalance check moves
  // leadership home.
  const PartitionState p = *image_->partition("t", 0);  // a copy: commit() replaces the image
  std::vector<int32_t> isr = p.isr;
  isr.push_back(preferred_of_0);
  commit(*controller_.alter_partition(image_->topic("t")->id, 0, p.leader, p.leader_epoch,
                                      p.partition_epoch, isr));
  clock_.advance_ms(6000);
  heartbeat_all_but(-1);
  commit(controller_.tick());
  EXPECT_EQ(image_->partition("t", 0)->leader, preferred_of_0);
}

TEST_F(ControllerTest, ABrokerWhoseConnectionBrokeIsFencedAfterTheGrace) {
  for (int32_t id = 1; id <= 3; ++id) add_live_broker(id);
  commit(*controller_.create_topic("t", 3, 3, {}));
  // Broker 2's connection breaks and it stays silent: fenced after 300 ms, not 1000.
  controller_.connection_lost(2);
  // Broker 3's breaks too, but it heartbeats again (it reconnected): it stays.
  controller_.connection_lost(3);
  for (int i = 0; i < 2; ++i) {
    clock_.advance_ms(100);
    heartbeat_all_but(2);
    commit(controller_.tick());
  }
  EXPECT_FALSE(image_->broker(2)->fenced) << "within the grace";
  for (int i = 0; i < 2; ++i) {
    clock_.advance_ms(100);
    heartbeat_all_but(2);
    commit(controller_.tick());
  }
  EXPECT_TRUE(image_->broker(2)->fenced);
  EXPECT_FALSE(image_->broker(3)->fenced);
  for (int32_t p = 0; p < 3; ++p) EXPECT_NE(image_->partition("t", p)->leader, 2);
  // A loss recorded before this node became the controller still counts after reset (the
  // previous controller died), but not once a session has passed.
  controller_.connection_lost(1);
  clock_.advance_ms(400);
  controller_.reset(image_);
  commit(controller_.tick());
  EXPECT_TRUE(image_->broker(1)->fenced);
  controller_.connection_lost(3);
  clock_.advance_ms(1000);
  controller_.reset(image_);
  commit(controller_.tick());
  EXPECT_FALSE(image_->broker(3)->fenced);
}

TEST_F(ControllerTest, ABrokerWhoseListenerRefusesIsFencedWithoutWaitingForTheGrace) {
  for (int32_t id = 1; id <= 3; ++id) add_live_broker(id);
  commit(*controller_.create_topic("t", 3, 3, {}));
  // A refusal with no lost connection (a stale probe, or one of a broker that is back) is
  // ignored.
  controller_.listener_refused(3);
  clock_.advance_ms(10);
  heartbeat_all_but(-1);
  commit(controller_.tick());
  EXPECT_FALSE(image_->broker(3)->fenced);
  // Broker 2's connection breaks and its listener refuses: fenced at the next tick.
  controller_.connection_lost(2);
  controller_.listener_refused(2);
  clock_.advance_ms(10);
  heartbeat_all_but(2);
  commit(controller_.tick());
  EXPECT_TRUE(image_->broker(2)->fenced) << "10 ms in, far inside the 300 ms grace";
  for (int32_t p = 0; p < 3; ++p) EXPECT_NE(image_->partition("t", p)->leader, 2);
  // A heartbeat after the loss cancels a refusal that comes later.
  controller_.connection_lost(3);
  clock_.advance_ms(10);
  heartbeat_all_but(2);
  controller_.listener_refused(3);
  clock_.advance_ms(10);
  heartbeat_all_but(2);
  commit(controller_.tick());
  EXPECT_FALSE(image_->broker(3)->fenced);
}

TEST_F(ControllerTest, ElectPreferredLeader) {
  for (int32_t id = 1; id <= 3; ++id) add_live_broker(id);
  commit(*controller_.create_topic("t", 1, 3, {}));
  const int32_t preferred = image_->partition("t", 0)->replicas.front();
  EXPECT_EQ(controller_.elect_preferred_leader("t", 0).error().code(), Errc::election_not_needed);
  EXPECT_EQ(controller_.elect_preferred_leader("t", 1).error().code(),
            Errc::unknown_topic_or_partition);
  EXPECT_EQ(controller_.elect_preferred_leader("nope", 0).error().code(),
            Errc::unknown_topic_or_partition);
  // The preferred replica restarts: leadership moves away, and while it is out of the ISR it
  // cannot be elected.
  commit(*controller_.register_broker({preferred, Uuid::random(), "127.0.0.1", 9000, ""}));
  ASSERT_NE(image_->partition("t", 0)->leader, preferred);
  auto hb = controller_.heartbeat(preferred, image_->broker(preferred)->epoch, image_->offset());
  commit(hb->first);
  EXPECT_EQ(controller_.elect_preferred_leader("t", 0).error().code(),
            Errc::preferred_leader_not_available);
  const PartitionState p = *image_->partition("t", 0);
  std::vector<int32_t> isr = p.isr;
  isr.push_back(preferred);
  commit(*controller_.alter_partition(image_->topic("t")->id, 0, p.leader, p.leader_epoch,
                                      p.partition_epoch, isr));
  auto elected = controller_.elect_preferred_leader("t", 0);
  ASSERT_TRUE(elected) << elected.error().message();
  commit(*elected);
  EXPECT_EQ(image_->partition("t", 0)->leader, preferred);
  EXPECT_GT(image_->partition("t", 0)->leader_epoch, p.leader_epoch);
}

}  // namespace
}  // namespace kafkacore::metadata
