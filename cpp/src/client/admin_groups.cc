// Admin operations on consumer groups: ListGroups (every broker), and DescribeGroups,
// DeleteGroups, OffsetFetch, OffsetCommit, OffsetDelete (each group's coordinator, found with
// FindCoordinator and looked up again when an answer says it moved).
#include <set>

#include "client/admin_ops.h"
#include "client/consumer_protocol.h"

namespace kafkacore::client::admin {
namespace {

using protocol::DeleteGroupsRequest;
using protocol::DeleteGroupsResponse;
using protocol::DescribeGroupsRequest;
using protocol::DescribeGroupsResponse;
using protocol::ListGroupsRequest;
using protocol::ListGroupsResponse;
using protocol::OffsetCommitRequest;
using protocol::OffsetCommitResponse;
using protocol::OffsetDeleteRequest;
using protocol::OffsetDeleteResponse;
using protocol::OffsetFetchRequest;
using protocol::OffsetFetchResponse;

// OffsetFetch v8 batches groups (Groups replaces GroupId/Topics).
constexpr int16_t kOffsetFetchGroupsVersion = 8;

// ListGroups to every broker of the (freshly refreshed) metadata; brokers that answered keep
// their answer across rounds; a broker that left the cluster is not waited for.
class ListGroups final : public Call<int, std::vector<GroupListing>> {
 public:
  ListGroups(Context& ctx, Deadline deadline, Done done)
      : Call(ctx, "ListGroups", deadline, std::move(done)) {}

 protected:
  void round() override {
    net().update_metadata(track([this](const Result<void>& updated) {
      if (!updated) return retry_or_fail(0, updated.error());
      std::vector<int32_t> targets;
      for (const auto& [id, broker] : net().metadata().brokers) targets.push_back(id);
      if (targets.empty()) return again(0, Error(Errc::broker_not_available, "no brokers known"));
      for (int32_t broker : targets) {
        if (answers_.contains(broker)) continue;
        net().send<ListGroupsRequest>(
            broker, [](int16_t) { return ListGroupsRequest{}; },
            track([this, broker, targets](const Result<Response<ListGroupsResponse>>& r) {
              if (!r) {
                return retry_or_fail(0, Error(r.error().code(), "broker " + std::to_string(broker) +
                                                                    ": " + r.error().message()));
              }
              if (r->body.error_code != 0) {
                const Error e = wire_error(r->body.error_code);
                return retry_or_fail(
                    0, Error(e.code(), "broker " + std::to_string(broker) + ": " + e.message()));
              }
              auto& listed = answers_[broker];
              for (const auto& g : r->body.groups) {
                listed.push_back(GroupListing{g.group_id, g.protocol_type, g.group_state});
              }
              progressed();
              if (std::ranges::all_of(targets, [&](int32_t b) { return answers_.contains(b); })) {
                resolve(0, merged());
              }
            }),
            send_options());
      }
    }));
  }

 private:
  std::vector<GroupListing> merged() const {
    std::map<std::string, GroupListing> by_id;  // a group moving between coordinators: once
    for (const auto& [broker, listed] : answers_) {
      for (const GroupListing& g : listed) by_id.emplace(g.group_id, g);
    }
    std::vector<GroupListing> out;
    for (auto& [id, g] : by_id) out.push_back(std::move(g));
    return out;
  }

  std::map<int32_t, std::vector<GroupListing>> answers_;
};

std::map<std::string, std::vector<std::string>> groups_as_keys(
    const std::set<std::string>& groups) {
  std::map<std::string, std::vector<std::string>> out;
  for (const std::string& g : groups) out[g] = {g};
  return out;
}

GroupDescription describe_one(const DescribeGroupsResponse::DescribedGroup& g, int32_t node) {
  GroupDescription out;
  out.group_id = g.group_id;
  out.protocol_type = g.protocol_type;
  out.protocol = g.protocol_data;
  out.state = g.group_state;
  out.coordinator = NetworkClient::broker_of(node);
  for (const auto& m : g.members) {
    MemberDescription member;
    member.member_id = m.member_id;
    member.group_instance_id = m.group_instance_id;
    member.client_id = m.client_id;
    member.host = m.client_host;
    if (g.protocol_type == "consumer") {
      // Bytes that do not decode leave the assignment empty: a description is still useful.
      if (auto assignment = decode_assignment(m.member_assignment)) {
        for (const auto& tps : assignment->partitions) {
          for (int32_t p : tps.partitions) member.assignment.push_back({tps.topic, p});
        }
      }
    }
    out.members.push_back(std::move(member));
  }
  return out;
}

template <typename K, typename V, typename Keys>
void coordinator_error_all(Call<K, V>& call, const std::string& group, const Keys& keys,
                           const Error& error) {
  for (const K& key : keys) coordinator_error(call, group, key, error);
}

}  // namespace

void list_groups(Context& ctx, Deadline deadline, Done<std::vector<GroupListing>> done) {
  auto call = std::make_shared<ListGroups>(ctx, deadline, unwrap(std::move(done)));
  call->add(0);
  call->start();
}

void describe_groups(Context& ctx, const std::vector<std::string>& groups, Deadline deadline,
                     Done<ItemResults<GroupDescription>> done) {
  using C = LambdaCall<std::string, GroupDescription>;
  auto call = std::make_shared<C>(ctx, "DescribeGroups", deadline, std::move(done), [](C& c) {
    with_coordinators(
        c, groups_as_keys(c.pending()), [&c](std::map<int32_t, std::vector<std::string>> by_node) {
          for (const auto& [node, asked] : by_node) {
            c.net().send<DescribeGroupsRequest>(
                node,
                [asked](int16_t) {
                  DescribeGroupsRequest request;
                  request.groups = asked;
                  return request;
                },
                c.track([&c, node, asked](const Result<Response<DescribeGroupsResponse>>& r) {
                  if (!r) {
                    for (const std::string& g : asked) coordinator_error(c, g, g, r.error());
                    return;
                  }
                  for (const auto& g : r->body.groups) {
                    if (!c.is_pending(g.group_id)) continue;
                    if (g.error_code != 0) {
                      coordinator_error(c, g.group_id, g.group_id,
                                        wire_error(g.error_code, g.error_message));
                    } else if (g.group_state == "Dead") {
                      // Before v6 an unknown group is described as Dead.
                      c.resolve(g.group_id,
                                std::unexpected(Error(Errc::group_id_not_found,
                                                      "group " + g.group_id + " does not exist")));
                    } else {
                      c.resolve(g.group_id, describe_one(g, node));
                    }
                  }
                  for (const std::string& g : asked) {
                    if (c.is_pending(g)) c.again(g, Error(Errc::unknown_server_error, "no answer"));
                  }
                }),
                c.send_options());
          }
        });
  });
  for (const std::string& g : groups) call->add(g);
  call->start();
}

void delete_groups(Context& ctx, const std::vector<std::string>& groups, Deadline deadline,
                   Done<ItemResults<void>> done) {
  using C = LambdaCall<std::string, void>;
  auto call = std::make_shared<C>(ctx, "DeleteGroups", deadline, std::move(done), [](C& c) {
    with_coordinators(
        c, groups_as_keys(c.pending()), [&c](std::map<int32_t, std::vector<std::string>> by_node) {
          for (const auto& [node, asked] : by_node) {
            c.net().send<DeleteGroupsRequest>(
                node,
                [asked](int16_t) {
                  DeleteGroupsRequest request;
                  request.groups_names = asked;
                  return request;
                },
                c.track([&c, asked](const Result<Response<DeleteGroupsResponse>>& r) {
                  if (!r) {
                    for (const std::string& g : asked) coordinator_error(c, g, g, r.error());
                    return;
                  }
                  for (const auto& g : r->body.results) {
                    if (g.error_code == 0) {
                      c.resolve(g.group_id, {});
                    } else {
                      coordinator_error(c, g.group_id, g.group_id, wire_error(g.error_code));
                    }
                  }
                  for (const std::string& g : asked) {
                    if (c.is_pending(g)) c.again(g, Error(Errc::unknown_server_error, "no answer"));
                  }
                }),
                c.send_options());
          }
        });
  });
  for (const std::string& g : groups) call->add(g);
  call->start();
}

void list_group_offsets(Context& ctx, const std::string& group,
                        const std::optional<std::vector<TopicPartition>>& partitions,
                        Deadline deadline, Done<std::map<TopicPartition, OffsetAndMetadata>> done) {
  using Offsets = std::map<TopicPartition, OffsetAndMetadata>;
  using C = LambdaCall<int, Offsets>;
  std::optional<std::map<std::string, std::vector<int32_t>>> wanted;
  if (partitions) wanted = by_topic(*partitions);
  auto call = std::make_shared<C>(
      ctx, "OffsetFetch", deadline, unwrap(std::move(done)), [group, wanted](C& c) {
        with_coordinators(c, {{group, {0}}}, [&c, group, wanted](auto by_node) {
          const int32_t node = by_node.begin()->first;
          c.net().send<OffsetFetchRequest>(
              node,
              [group, wanted](int16_t version) {
                OffsetFetchRequest request;
                if (version >= kOffsetFetchGroupsVersion) {
                  auto& g = request.groups.emplace_back();
                  g.group_id = group;
                  if (wanted) {
                    for (const auto& [topic, ps] : *wanted) {
                      auto& t = g.topics->emplace_back();
                      t.name = topic;
                      t.partition_indexes = ps;
                    }
                  } else {
                    g.topics.reset();  // every topic
                  }
                } else {
                  request.group_id = group;
                  if (wanted) {
                    for (const auto& [topic, ps] : *wanted) {
                      auto& t = request.topics->emplace_back();
                      t.name = topic;
                      t.partition_indexes = ps;
                    }
                  } else {
                    request.topics.reset();
                  }
                }
                return request;
              },
              c.track([&c, group](const Result<Response<OffsetFetchResponse>>& r) {
                if (!r) return coordinator_error(c, group, 0, r.error());
                const auto& body = r->body;
                Offsets out;
                bool unstable = false;
                auto take = [&](const std::string& topic, const auto& p) {
                  if (p.error_code == static_cast<int16_t>(Errc::unstable_offset_commit)) {
                    unstable = true;
                  } else if (p.error_code == 0 && p.committed_offset >= 0) {
                    // Other partition errors leave the partition out, as Java's client does.
                    OffsetAndMetadata o;
                    o.offset = p.committed_offset;
                    o.metadata = p.metadata.value_or("");
                    if (p.committed_leader_epoch >= 0) o.leader_epoch = p.committed_leader_epoch;
                    out[{topic, p.partition_index}] = std::move(o);
                  }
                };
                int16_t group_error = body.error_code;
                if (r->version >= kOffsetFetchGroupsVersion) {
                  group_error = body.groups.empty()
                                    ? static_cast<int16_t>(Errc::unknown_server_error)
                                    : body.groups.front().error_code;
                  if (group_error == 0) {
                    for (const auto& t : body.groups.front().topics) {
                      for (const auto& p : t.partitions) take(t.name, p);
                    }
                  }
                } else if (group_error == 0) {
                  for (const auto& t : body.topics) {
                    for (const auto& p : t.partitions) take(t.name, p);
                  }
                }
                if (group_error != 0)
                  return coordinator_error(c, group, 0, wire_error(group_error));
                if (unstable) {
                  return c.again(0, Error(Errc::unstable_offset_commit,
                                          "a transaction's offsets are not settled yet"));
                }
                c.resolve(0, std::move(out));
              }),
              // v2 is the first that can ask for "every topic".
              c.send_options(wanted ? 0 : 2));
        });
      });
  call->add(0);
  call->start();
}

void alter_group_offsets(Context& ctx, const std::string& group,
                         const std::map<TopicPartition, OffsetAndMetadata>& offsets,
                         Deadline deadline, Done<PartitionResults<void>> done) {
  using C = LambdaCall<TopicPartition, void>;
  auto call =
      std::make_shared<C>(ctx, "OffsetCommit", deadline, std::move(done), [group, offsets](C& c) {
        std::vector<TopicPartition> keys(c.pending().begin(), c.pending().end());
        with_coordinators(c, {{group, keys}}, [&c, &offsets, group, keys](auto by_node) {
          OffsetCommitRequest request;
          request.group_id = group;
          request.generation_id_or_member_epoch = -1;  // an admin commit: no member
          for (const auto& [topic, partitions] : by_topic(keys)) {
            auto& t = request.topics.emplace_back();
            t.name = topic;
            for (int32_t p : partitions) {
              const OffsetAndMetadata& o = offsets.at({topic, p});
              auto& out = t.partitions.emplace_back();
              out.partition_index = p;
              out.committed_offset = o.offset;
              out.committed_leader_epoch = o.leader_epoch.value_or(-1);
              out.committed_metadata = o.metadata;
            }
          }
          c.net().send<OffsetCommitRequest>(
              by_node.begin()->first, [request](int16_t) { return request; },
              c.track([&c, group, keys](const Result<Response<OffsetCommitResponse>>& r) {
                if (!r) return coordinator_error_all(c, group, keys, r.error());
                for (const auto& t : r->body.topics) {
                  for (const auto& p : t.partitions) {
                    TopicPartition tp{t.name, p.partition_index};
                    if (p.error_code == 0) {
                      c.resolve(tp, {});
                    } else if (p.error_code ==
                               static_cast<int16_t>(Errc::unknown_topic_or_partition)) {
                      c.resolve(tp, std::unexpected(wire_error(p.error_code)));
                    } else {
                      coordinator_error(c, group, tp, wire_error(p.error_code));
                    }
                  }
                }
                for (const TopicPartition& tp : keys) {
                  if (c.is_pending(tp)) c.again(tp, Error(Errc::unknown_server_error, "no answer"));
                }
              }),
              c.send_options());
        });
      });
  for (const auto& [tp, o] : offsets) call->add(tp);
  call->start();
}

void delete_group_offsets(Context& ctx, const std::string& group,
                          const std::vector<TopicPartition>& partitions, Deadline deadline,
                          Done<PartitionResults<void>> done) {
  using C = LambdaCall<TopicPartition, void>;
  auto call = std::make_shared<C>(ctx, "OffsetDelete", deadline, std::move(done), [group](C& c) {
    std::vector<TopicPartition> keys(c.pending().begin(), c.pending().end());
    with_coordinators(c, {{group, keys}}, [&c, group, keys](auto by_node) {
      OffsetDeleteRequest request;
      request.group_id = group;
      for (const auto& [topic, ps] : by_topic(keys)) {
        auto& t = request.topics.emplace_back();
        t.name = topic;
        for (int32_t p : ps) t.partitions.emplace_back().partition_index = p;
      }
      c.net().send<OffsetDeleteRequest>(
          by_node.begin()->first, [request](int16_t) { return request; },
          c.track([&c, group, keys](const Result<Response<OffsetDeleteResponse>>& r) {
            if (!r) return coordinator_error_all(c, group, keys, r.error());
            if (r->body.error_code != 0) {
              return coordinator_error_all(c, group, keys, wire_error(r->body.error_code));
            }
            for (const auto& t : r->body.topics) {
              for (const auto& p : t.partitions) {
                TopicPartition tp{t.name, p.partition_index};
                if (p.error_code == 0) {
                  c.resolve(tp, {});
                } else {
                  // GROUP_SUBSCRIBED_TO_TOPIC, UNKNOWN_TOPIC_OR_PARTITION: final.
                  c.resolve(tp, std::unexpected(wire_error(p.error_code)));
                }
              }
            }
            for (const TopicPartition& tp : keys) {
              if (c.is_pending(tp)) c.again(tp, Error(Errc::unknown_server_error, "no answer"));
            }
          }),
          c.send_options());
    });
  });
  for (const TopicPartition& tp : partitions) call->add(tp);
  call->start();
}

}  // namespace kafkacore::client::admin
