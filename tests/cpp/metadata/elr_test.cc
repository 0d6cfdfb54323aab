// KIP-966 in the controller: eligible leader replicas, the last known leader, unclean restarts
// and unclean leader election, on the real controller state machine and metadata image.
#include <gtest/gtest.h>

#include <msgpack.hpp>

#include <set>

#include "metadata/controller.h"
#include "metadata/controller_fixture.h"
#include "metadata/image.h"
#include "metadata/records.h"

namespace kafkacore::metadata {
namespace {

using testing::id_of;
using Ids = std::vector<int32_t>;

TEST(ElrRecords, NewFieldsRoundTrip) {
  PartitionRecord p{id_of(9), 0, {1, 2, 3}, {1}, 1, 4, 9, {2, 3}, 3};
  PartitionChangeRecord c{id_of(9), 0, std::nullopt, std::nullopt, std::nullopt, Ids{2}, -1};
  for (const MetadataRecord& r : {MetadataRecord{p}, MetadataRecord{c}}) {
    auto decoded = decode_record(encode_record(r));
    ASSERT_TRUE(decoded) << decoded.error().message();
    EXPECT_EQ(*decoded, r);
  }
}

// Records written before KIP-966 have no elr / last_known_leader fields: an empty ELR, no
// last known leader, and a change that leaves both as they were.
TEST(ElrRecords, OldRecordsDecodeWithoutElr) {
  auto old_record = [](uint32_t type, auto&& pack_fields, uint32_t count) {
    msgpack::sbuffer buffer;
    msgpack::packer<msgpack::sbuffer> pk(buffer);
    pk.pack_array(2);
    pk.pack(type);
    pk.pack_map(count);
    pack_fields(pk);
    const auto* b = reinterpret_cast<const std::byte*>(buffer.data());
    return Bytes(b, b + buffer.size());
  };
  const Uuid tid = id_of(9);
  auto pack_id = [&](auto& pk) {
    pk.pack(std::string("topic_id"));
    pk.pack_bin(16);
    pk.pack_bin_body(reinterpret_cast<const char*>(tid.bytes.data()), 16);
  };
  const Bytes partition = old_record(5, [&](auto& pk) {
    pack_id(pk);
    pk.pack(std::string("partition")), pk.pack(0);
    pk.pack(std::string("replicas")), pk.pack(Ids{1, 2});
    pk.pack(std::string("isr")), pk.pack(Ids{1, 2});
    pk.pack(std::string("leader")), pk.pack(1);
    pk.pack(std::string("leader_epoch")), pk.pack(3);
    pk.pack(std::string("partition_epoch")), pk.pack(5);
  }, 7);
  const Bytes change = old_record(6, [&](auto& pk) {
    pack_id(pk);
    pk.pack(std::string("partition")), pk.pack(0);
    pk.pack(std::string("leader")), pk.pack_nil();
    pk.pack(std::string("isr")), pk.pack(Ids{1});
    pk.pack(std::string("replicas")), pk.pack_nil();
  }, 5);
  auto p = decode_record(partition);
  ASSERT_TRUE(p) << p.error().message();
  EXPECT_TRUE(std::get<PartitionRecord>(*p).elr.empty());
  EXPECT_EQ(std::get<PartitionRecord>(*p).last_known_leader, -1);
  auto c = decode_record(change);
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_FALSE(std::get<PartitionChangeRecord>(*c).elr);
  EXPECT_FALSE(std::get<PartitionChangeRecord>(*c).last_known_leader);

  // Applied over a partition that has an ELR, the old change keeps it.
  PartitionRecord with_elr = std::get<PartitionRecord>(*p);
  with_elr.isr = {1};
  with_elr.elr = {2};
  auto image = MetadataImage::empty()->apply({TopicRecord{"t", tid}, with_elr}, 1);
  image = image->apply({*c}, 2);
  EXPECT_EQ(image->partition("t", 0)->elr, Ids{2});
  EXPECT_EQ(image->partition("t", 0)->isr, Ids{1});
  // A snapshot carries the ELR.
  auto rebuilt = MetadataImage::empty()->apply(image->to_records(), image->offset());
  EXPECT_EQ(*rebuilt, *image);
}

class ElrTest : public testing::ControllerFixture {
 protected:
  // Replicas {1, 2, 3} (1 leads), min.insync.replicas=2 unless `configs` says otherwise.
  void create(std::map<std::string, std::string> configs = {{"min.insync.replicas", "2"}}) {
    for (int32_t id = 1; id <= 3; ++id) add_live_broker(id);
    auto r = controller_.create_topic("t", -1, -1, configs, {{1, 2, 3}});
    ASSERT_TRUE(r) << r.error().message();
    commit(*r);
  }

  const PartitionState& part() const { return *image_->partition("t", 0); }

  // The brokers in `dead` stop heartbeating until the controller has fenced them all.
  void fence(std::set<int32_t> dead) {
    for (int i = 0; i < 40; ++i) {
      bool all = true;
      for (int32_t d : dead) all = all && image_->broker(d)->fenced;
      if (all) return;
      clock_.advance_ms(100);
      const ImagePtr image = image_;
      for (const auto& [id, b] : image->brokers()) {
        if (dead.contains(id) || b.fenced) continue;
        auto hb = controller_.heartbeat(id, b.epoch, image->offset());
        ASSERT_TRUE(hb);
        commit(hb->first);
      }
      commit(controller_.tick());
    }
    FAIL() << "brokers not fenced";
  }

  // A restart: a new incarnation registers (clean or not) and heartbeats until unfenced.
  void restart(int32_t id, bool clean) {
    BrokerRegistration reg{id, Uuid::random(), "127.0.0.1", 9000 + id, "", clean};
    auto r = controller_.register_broker(reg);
    ASSERT_TRUE(r) << r.error().message();
    commit(*r);
    auto hb = controller_.heartbeat(id, image_->broker(id)->epoch, image_->offset());
    ASSERT_TRUE(hb);
    commit(hb->first);
  }

  // 3, then 2 are fenced: ISR {1}, ELR {2}.
  void shrink_to_leader() {
    fence({3});
    fence({2, 3});
  }

  // The leader's AlterPartition.
  void alter_isr(Ids isr) {
    const PartitionState p = part();
    auto r = controller_.alter_partition(image_->topic("t")->id, 0, p.leader, p.leader_epoch,
                                         p.partition_epoch, isr);
    ASSERT_TRUE(r) << r.error().message();
    commit(*r);
  }
};

TEST_F(ElrTest, ReplicasLeavingAnIsrBelowMinIsrBecomeEligible) {
  create();
  fence({3});
  EXPECT_EQ(part().isr, (Ids{1, 2}));
  EXPECT_TRUE(part().elr.empty()) << "the ISR still has min.insync.replicas members";
  fence({2, 3});
  EXPECT_EQ(part().isr, Ids{1});
  EXPECT_EQ(part().elr, Ids{2}) << "the HW stood still since 2 left: it has every committed record";
  EXPECT_EQ(part().leader, 1);
}

TEST_F(ElrTest, AlterPartitionShrinkBelowMinIsrFillsTheElrAndExpansionClearsIt) {
  create();
  alter_isr({1});  // both followers lag
  EXPECT_EQ(part().elr, (Ids{2, 3}));
  alter_isr({1, 3});  // 3 caught up: back at min.insync.replicas
  EXPECT_EQ(part().isr, (Ids{1, 3}));
  EXPECT_TRUE(part().elr.empty());
  alter_isr({1});
  EXPECT_EQ(part().elr, Ids{3}) << "2 left while the ISR was at the minimum: not eligible";
}

// The KIP-966 story: ISR {1,2,3} shrinks to {1}; 1 dies too. Nobody in the ISR is live, so the
// partition waits (no unclean election) until an ELR member returns; that one leads alone and
// the old leader is eligible in its place.
TEST_F(ElrTest, ALeaderlessPartitionWaitsForAnEligibleReplica) {
  create();
  shrink_to_leader();
  fence({1, 2, 3});
  EXPECT_EQ(part().leader, -1);
  EXPECT_EQ(part().isr, Ids{1}) << "the last ISR member keeps its place";
  EXPECT_EQ(part().elr, Ids{2});
  restart(3, true);
  EXPECT_EQ(part().leader, -1) << "3 is neither in the ISR nor eligible";
  const int32_t epoch = part().leader_epoch;
  restart(2, true);
  EXPECT_EQ(part().leader, 2);
  EXPECT_EQ(part().isr, Ids{2});
  EXPECT_EQ(part().elr, Ids{1}) << "1 has every committed record too";
  EXPECT_EQ(part().leader_epoch, epoch + 1);
}

TEST_F(ElrTest, ALiveElrMemberTakesOverWhenTheLastIsrMemberDies) {
  create();
  alter_isr({1});  // 2 and 3 lag but live
  fence({1});
  EXPECT_EQ(part().leader, 2);
  EXPECT_EQ(part().isr, Ids{2});
  EXPECT_EQ(part().elr, (Ids{3, 1}));
}

TEST_F(ElrTest, AnUncleanRestartLeavesTheElr) {
  create();
  shrink_to_leader();
  ASSERT_EQ(part().elr, Ids{2});
  fence({1, 2, 3});
  restart(2, false);  // its log may have lost records it had acknowledged
  EXPECT_TRUE(part().elr.empty());
  EXPECT_EQ(part().leader, -1);
  // 1, the last ISR member, is the one that may lead.
  restart(1, true);
  EXPECT_EQ(part().leader, 1);
}

// The "last replica standing" hole: the last ISR member restarts uncleanly. With an ELR
// member left it is not elected (it may have lost committed records); the ELR member is.
TEST_F(ElrTest, AnUncleanlyRestartedLastIsrMemberYieldsToTheElr) {
  create();
  shrink_to_leader();
  fence({1, 2, 3});
  restart(1, false);
  EXPECT_EQ(part().leader, -1);
  EXPECT_TRUE(part().isr.empty());
  EXPECT_EQ(part().last_known_leader, 1);
  EXPECT_EQ(part().elr, Ids{2});
  restart(2, true);
  EXPECT_EQ(part().leader, 2);
  EXPECT_EQ(part().isr, Ids{2});
  EXPECT_TRUE(part().elr.empty()) << "1 restarted uncleanly: not eligible";
  EXPECT_EQ(part().last_known_leader, -1);
}

// With no ISR and no ELR member left, the last known leader is elected when live (Kafka's
// fallback; without it a cluster whose replicas all crashed would stay offline).
TEST_F(ElrTest, TheLastKnownLeaderIsTheFallback) {
  create();
  shrink_to_leader();
  fence({1, 2, 3});
  restart(1, false);
  EXPECT_EQ(part().leader, -1);
  restart(2, false);
  EXPECT_EQ(part().leader, 1);
  EXPECT_EQ(part().isr, Ids{1});
}

// With minISR=1 (the default) the ELR never fills: the old behaviour is kept.
TEST_F(ElrTest, DefaultMinIsrNeverNeedsTheElr) {
  create({});
  shrink_to_leader();
  fence({1, 2, 3});
  EXPECT_EQ(part().isr, Ids{1});
  EXPECT_TRUE(part().elr.empty());
  restart(1, false);
  EXPECT_EQ(part().leader, 1) << "the only candidate, clean or not";
}

TEST_F(ElrTest, UncleanElectionByTopicConfig) {
  create({{"min.insync.replicas", "2"}, {"unclean.leader.election.enable", "true"}});
  shrink_to_leader();
  fence({1, 2, 3});
  restart(3, true);  // neither in the ISR nor eligible, but unclean election is on
  EXPECT_EQ(part().leader, 3);
  EXPECT_EQ(part().isr, Ids{3});
  EXPECT_TRUE(part().elr.empty()) << "the new history is 3's alone";
}

TEST_F(ElrTest, TurningUncleanElectionOnElectsAtOnce) {
  create();
  shrink_to_leader();
  fence({1, 2, 3});
  restart(3, true);
  ASSERT_EQ(part().leader, -1);
  auto r = controller_.alter_configs(ConfigResource::topic, "t",
                                     {{"unclean.leader.election.enable", "true"}});
  ASSERT_TRUE(r);
  commit(*r);
  EXPECT_EQ(part().leader, 3);
}

TEST_F(ElrTest, ElectUncleanLeader) {
  create();
  EXPECT_EQ(controller_.elect_unclean_leader("t", 0).error().code(), Errc::election_not_needed);
  EXPECT_EQ(controller_.elect_unclean_leader("t", 5).error().code(), Errc::unknown_topic_or_partition);
  shrink_to_leader();
  fence({1, 2, 3});
  EXPECT_EQ(controller_.elect_unclean_leader("t", 0).error().code(),
            Errc::eligible_leaders_not_available);
  restart(3, true);
  auto r = controller_.elect_unclean_leader("t", 0);
  ASSERT_TRUE(r) << r.error().message();
  commit(*r);
  EXPECT_EQ(part().leader, 3);
  EXPECT_EQ(part().isr, Ids{3});
  EXPECT_TRUE(part().elr.empty());
}

TEST_F(ElrTest, ChangingMinIsrClearsTheElr) {
  create();
  alter_isr({1});
  ASSERT_FALSE(part().elr.empty());
  auto r = controller_.alter_configs(ConfigResource::topic, "t", {{"min.insync.replicas", "3"}});
  ASSERT_TRUE(r);
  commit(*r);
  EXPECT_TRUE(part().elr.empty());
}

}  // namespace
}  // namespace kafkacore::metadata
