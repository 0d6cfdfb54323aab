// KRaft's dedicated mode in one process: controller-only nodes form the Raft quorum and run the
// controller logic; broker-only nodes follow the metadata log as Raft observers and serve
// clients. Covers RF=3 topics, controller failover, broker fencing, that brokers never vote,
// a 1+1 cluster, and the process.roles validation.
#include <set>
#include <thread>

#include "cluster/cluster_fixture.h"

namespace kafkacore::broker::testing {
namespace {

using namespace protocol;
using namespace std::chrono_literals;

class DedicatedControllersTest : public LocalClusterTest {
 protected:
  void start(int controllers, int brokers) {
    start_cluster(brokers, controllers,
                  fast_failover_settings({{"group.initial.rebalance.delay.ms", "0"}}));
  }

  void create_topic(const std::string& name, int partitions, int rf, int32_t avoid = -1) {
    auto resp =
        client(avoid)->call(create_topic_request(name, partitions, static_cast<int16_t>(rf)), 7);
    ASSERT_EQ(resp.topics.size(), 1u);
    ASSERT_EQ(resp.topics[0].error_code, 0) << resp.topics[0].error_message.value_or("");
  }

  MetadataResponse metadata(const std::string& topic, int32_t avoid = -1) {
    return client(avoid)->call(metadata_request({topic}, false), 12);
  }

  int16_t produce(int32_t leader, const std::string& topic, const std::string& prefix) {
    return produce_to(leader, topic, 0, make_batch(prefix, 3), -1, 5000).error_code;
  }

  // The Raft view of node `id`: (observer, role, leader, term).
  struct RaftView {
    bool observer = false;
    raft::Role role = raft::Role::follower;
    int32_t leader = -1;
    int64_t term = 0;
  };
  RaftView raft_view(int32_t id) {
    Broker* b = cluster_->broker(id);
    RaftView v;
    if (!b) {
      ADD_FAILURE() << "node " << id << " is not running";
      return v;
    }
    EXPECT_TRUE(b->run_on_reactor([&] {
      const auto& node = b->quorum().node();
      v = {node.observer(), node.role(), node.leader(), node.term()};
    }));
    return v;
  }

  // Every running node sees controller `leader` leading, and no broker ever voted or led.
  void expect_brokers_only_observe() {
    const auto ids = cluster_->controller_ids();
    const std::set<int32_t> controllers(ids.begin(), ids.end());
    for (int32_t id : cluster_->broker_ids()) {
      if (!cluster_->broker(id)) continue;
      const RaftView v = raft_view(id);
      EXPECT_TRUE(v.observer) << "broker " << id;
      EXPECT_EQ(v.role, raft::Role::follower) << "broker " << id;
      EXPECT_TRUE(v.leader == -1 || controllers.contains(v.leader)) << "broker " << id << " follows " << v.leader;
    }
    for (int32_t id : cluster_->controller_ids()) {
      if (!cluster_->broker(id)) continue;
      EXPECT_FALSE(raft_view(id).observer) << "controller " << id;
    }
  }
};

TEST_F(DedicatedControllersTest, ThreeControllersThreeBrokersServeReplicatedTopics) {
  start(3, 3);
  EXPECT_EQ(cluster_->broker_ids(), (std::vector<int32_t>{1, 2, 3}));
  EXPECT_EQ(cluster_->controller_ids(), (std::vector<int32_t>{3000, 3001, 3002}));
  // A controller whose election lost (a higher term, no leader) may hide the winner briefly.
  ASSERT_TRUE(eventually([&] { return cluster_->controller_id() >= kFirstControllerId; }));
  const int32_t active = cluster_->controller_id();
  // Controllers have no Kafka listener.
  for (int32_t id : cluster_->controller_ids()) EXPECT_EQ(cluster_->broker(id)->port(), 0);

  create_topic("rf3", 3, 3);
  auto resp = metadata("rf3");
  // Clients see the brokers only; controllers never hold replicas.
  std::set<int32_t> listed;
  for (const auto& b : resp.brokers) listed.insert(b.node_id);
  EXPECT_EQ(listed, (std::set<int32_t>{1, 2, 3}));
  for (const auto& p : resp.topics.at(0).partitions) {
    EXPECT_EQ(std::set<int32_t>(p.replica_nodes.begin(), p.replica_nodes.end()),
              (std::set<int32_t>{1, 2, 3}));
  }
  auto state = wait_for_partition("rf3", 0, [](const auto& s) { return s.isr_nodes.size() == 3; });
  ASSERT_EQ(produce(state.leader_id, "rf3", "a"), 0);

  expect_brokers_only_observe();
  // Every node, brokers included, follows the same controller in the same term.
  const RaftView lead = raft_view(active);
  EXPECT_EQ(lead.role, raft::Role::leader);
  for (int32_t id : cluster_->broker_ids()) {
    EXPECT_EQ(raft_view(id).term, lead.term);
    EXPECT_EQ(raft_view(id).leader, active);
  }
  // The active controller replicates the metadata log to the three brokers as observers.
  std::vector<raft::NodeId> observers;
  ASSERT_TRUE(cluster_->broker(active)->run_on_reactor(
      [&] { observers = cluster_->broker(active)->quorum().node().known_observers(); }));
  EXPECT_EQ(observers, (std::vector<raft::NodeId>{1, 2, 3}));
}

TEST_F(DedicatedControllersTest, ControllerFailoverAndBrokerFencing) {
  start(3, 3);
  create_topic("before", 1, 3);
  auto state =
      wait_for_partition("before", 0, [](const auto& s) { return s.isr_nodes.size() == 3; });

  // The active controller dies: the other two elect one of themselves.
  ASSERT_TRUE(eventually([&] { return cluster_->controller_id() >= kFirstControllerId; }));
  const int32_t old_active = cluster_->controller_id();
  const RaftView old_view = raft_view(old_active);
  ASSERT_TRUE(cluster_->kill_broker(old_active));
  ASSERT_TRUE(eventually([&] {
    const int32_t c = cluster_->controller_id();
    return c >= kFirstControllerId && c != old_active;
  }));
  const int32_t new_active = cluster_->controller_id();
  EXPECT_GT(raft_view(new_active).term, old_view.term);

  // Metadata changes keep working through the new controller.
  create_topic("after", 2, 3);
  wait_for_partition("after", 1, [](const auto& s) { return s.leader_id >= 0; });

  // A broker dies: the controllers fence it once its session expires and move its leadership.
  const int32_t victim = state.leader_id;
  ASSERT_TRUE(cluster_->kill_broker(victim));
  auto moved = wait_for_partition(
      "before", 0, [&](const auto& s) { return s.leader_id >= 0 && s.leader_id != victim; },
      victim);
  EXPECT_GT(moved.leader_epoch, state.leader_epoch);
  ASSERT_TRUE(eventually([&] {
    auto img = cluster_->image(new_active);
    const auto* b = img ? img->broker(victim) : nullptr;
    return b && b->fenced;
  }));
  ASSERT_EQ(produce(moved.leader_id, "before", "b"), 0);
  expect_brokers_only_observe();

  // Both come back: the controller rejoins the quorum as a voter, the broker catches up.
  ASSERT_TRUE(cluster_->restart_broker(old_active));
  ASSERT_TRUE(cluster_->restart_broker(victim));
  wait_for_partition("before", 0, [](const auto& s) { return s.isr_nodes.size() == 3; });
  EXPECT_FALSE(raft_view(old_active).observer);
  expect_brokers_only_observe();
}

TEST_F(DedicatedControllersTest, OneControllerOneBroker) {
  start(1, 1);
  EXPECT_EQ(cluster_->controller_id(), kFirstControllerId);
  create_topic("solo", 2, 1);
  auto state = wait_for_partition("solo", 0, [](const auto& s) { return s.leader_id == 1; });
  EXPECT_EQ(produce(state.leader_id, "solo", "x"), 0);
  auto fetched = client_of(1)->call(fetch_request("solo", 0, 0), 12);
  EXPECT_EQ(fetched.responses.at(0).partitions.at(0).high_watermark, 3);
  expect_brokers_only_observe();
  // The broker restarts and follows the controller's log again (from its own copy).
  ASSERT_TRUE(cluster_->stop_broker(1));
  ASSERT_TRUE(cluster_->restart_broker(1));
  wait_for_partition("solo", 1, [](const auto& s) { return s.leader_id == 1; });
}

// ---- process.roles validation

std::string config_error(std::map<std::string, std::string> props) {
  auto c = BrokerConfig::from_properties(props);
  return c ? std::string() : c.error().message();
}

TEST(ProcessRolesConfig, AcceptsTheThreeModes) {
  auto combined = BrokerConfig::from_properties({{"node.id", "1"}});
  ASSERT_TRUE(combined);
  EXPECT_EQ(combined->cluster.roles, ProcessRoles::combined);
  auto broker = BrokerConfig::from_properties({{"node.id", "4"},
                                               {"process.roles", "broker"},
                                               {"controller.quorum.voters", "1@h:9093,2@h:9094"}});
  ASSERT_TRUE(broker) << broker.error().message();
  EXPECT_EQ(broker->cluster.roles, ProcessRoles::broker);
  EXPECT_TRUE(broker->serves_clients());
  EXPECT_FALSE(broker->is_controller());
  auto controller = BrokerConfig::from_properties({{"node.id", "1"},
                                                   {"process.roles", "controller"},
                                                   {"listeners", "CONTROLLER://127.0.0.1:9093"},
                                                   {"controller.quorum.voters", "1@h:9093"}});
  ASSERT_TRUE(controller) << controller.error().message();
  EXPECT_FALSE(controller->serves_clients());
  auto both = BrokerConfig::from_properties({{"process.roles", "controller, broker"}});
  ASSERT_TRUE(both);
  EXPECT_EQ(both->cluster.roles, ProcessRoles::combined);
}

TEST(ProcessRolesConfig, RejectsInconsistentSettings) {
  EXPECT_NE(config_error({{"process.roles", "observer"}}).find("unknown role 'observer'"), std::string::npos);
  EXPECT_NE(config_error({{"process.roles", ""}}).find("unknown role"), std::string::npos);
  // A broker-only node listed as a voter.
  EXPECT_NE(config_error({{"node.id", "1"}, {"process.roles", "broker"}, {"controller.quorum.voters", "1@h:1"}})
                .find("node.id 1 is listed in controller.quorum.voters, but process.roles=broker"),
            std::string::npos);
  // A broker-only node with nothing to follow.
  EXPECT_NE(config_error({{"process.roles", "broker"}}).find("needs controller.quorum.voters"),
            std::string::npos);
  EXPECT_NE(config_error({{"node.id", "4"},
                          {"process.roles", "broker"},
                          {"controller.quorum.voters", "1@h:1"},
                          {"listeners", "PLAINTEXT://:9092,CONTROLLER://:9093"}})
                .find("must not name CONTROLLER"),
            std::string::npos);
  // A controller-only node not among the voters.
  EXPECT_NE(config_error({{"node.id", "5"},
                          {"process.roles", "controller"},
                          {"controller.quorum.voters", "1@h:1,2@h:2"}})
                .find("node.id 5 is not listed in controller.quorum.voters"),
            std::string::npos);
  // ... or with a Kafka listener.
  EXPECT_NE(config_error({{"node.id", "1"},
                          {"process.roles", "controller"},
                          {"controller.quorum.voters", "1@h:1"},
                          {"listeners", "PLAINTEXT://:9092,CONTROLLER://:9093"}})
                .find("serves no Kafka clients"),
            std::string::npos);
  EXPECT_NE(config_error({{"node.id", "1"}, {"process.roles", "controller"}, {"port", "9092"}})
                .find("serves no Kafka clients"),
            std::string::npos);
  // Combined nodes vote too.
  EXPECT_NE(config_error({{"node.id", "3"}, {"controller.quorum.voters", "1@h:1"}}).find("not listed"),
            std::string::npos);
}

}  // namespace
}  // namespace kafkacore::broker::testing
