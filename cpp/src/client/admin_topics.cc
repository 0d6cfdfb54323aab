// Admin operations on topics (CreateTopics, DeleteTopics, Metadata, CreatePartitions) and the
// cluster (DescribeCluster). Topic admin requests go to any broker: brokers forward them to the
// controller (KIP-590), and a broker that cannot answers NOT_CONTROLLER, which is retried.
#include <algorithm>
#include <set>

#include "client/admin_ops.h"

namespace kafkacore::client::admin {
namespace {

using protocol::CreatePartitionsRequest;
using protocol::CreatePartitionsResponse;
using protocol::CreateTopicsRequest;
using protocol::CreateTopicsResponse;
using protocol::DeleteTopicsRequest;
using protocol::DeleteTopicsResponse;
using protocol::DescribeClusterRequest;
using protocol::DescribeClusterResponse;

// CreateTopics, then (unless validate_only / !wait_for_leaders) Metadata polls until every
// partition of each created topic has a leader.
class CreateTopics final : public Call<std::string, void> {
 public:
  CreateTopics(Context& ctx, Deadline deadline, Done done, std::map<std::string, NewTopic> topics,
               bool validate_only, bool wait_for_leaders)
      : Call(ctx, "CreateTopics", deadline, std::move(done)),
        topics_(std::move(topics)),
        validate_only_(validate_only),
        wait_(wait_for_leaders && !validate_only) {}

 protected:
  void round() override {
    std::vector<std::string> to_create;
    std::vector<std::string> to_wait;
    for (const std::string& name : pending()) {
      (expected_.contains(name) ? to_wait : to_create).push_back(name);
    }
    if (!to_create.empty()) create(to_create);
    if (!to_wait.empty()) poll_leaders(to_wait);
  }

 private:
  void create(const std::vector<std::string>& names) {
    CreateTopicsRequest request;
    bool broker_defaults = false;
    for (const std::string& name : names) {
      const NewTopic& t = topics_.at(name);
      auto& out = request.topics.emplace_back();
      out.name = t.name;
      out.num_partitions = t.partitions;
      out.replication_factor = t.replication_factor;
      for (const auto& [index, brokers] : t.assignment) {
        auto& a = out.assignments.emplace_back();
        a.partition_index = index;
        a.broker_ids = brokers;
      }
      for (const auto& [key, value] : t.configs) {
        auto& c = out.configs.emplace_back();
        c.name = key;
        c.value = value;
      }
      if (t.assignment.empty() && (t.partitions == -1 || t.replication_factor == -1)) {
        broker_defaults = true;
      }
    }
    request.timeout_ms = server_timeout_ms();
    request.validate_only = validate_only_;
    net().send_any<CreateTopicsRequest>(
        [request](int16_t) { return request; },
        track([this, names](const Result<Response<CreateTopicsResponse>>& r) {
          if (!r) return retry_or_fail_all(names, r.error());
          std::map<std::string, const CreateTopicsResponse::CreatableTopicResult*> answers;
          for (const auto& t : r->body.topics) answers[t.name] = &t;
          std::vector<std::string> created;
          for (const std::string& name : names) {
            auto it = answers.find(name);
            if (it == answers.end()) {
              again(name, Error(Errc::unknown_server_error, "no answer for topic " + name));
              continue;
            }
            const auto& answer = *it->second;
            if (answer.error_code != 0) {
              retry_or_fail(name, wire_error(answer.error_code, answer.error_message));
              continue;
            }
            if (!wait_) {
              resolve(name, {});
              continue;
            }
            const NewTopic& t = topics_.at(name);
            int32_t expected = t.partitions;
            if (!t.assignment.empty()) expected = static_cast<int32_t>(t.assignment.size());
            if (expected < 0) expected = answer.num_partitions;  // v5+; -1 before
            expected_[name] = expected;
            created.push_back(name);
            progressed();
          }
          // Most topics have their leaders at once: look now rather than after a backoff.
          if (!created.empty()) poll_leaders(created);
        }),
        // CreateTopics v4 is the first to take -1 for "the broker's default".
        send_options(broker_defaults ? 4 : 0));
  }

  void poll_leaders(const std::vector<std::string>& names) {
    fetch_metadata(*this, names, [this, names](const Result<ClusterMetadata>& md) {
      for (const std::string& name : names) {
        // The topic exists whatever this says: keep waiting, never fail the creation.
        const Error waiting(Errc::leader_not_available,
                            "topic " + name + " was created, but not every partition has a leader");
        if (!md) {
          again(name, md.error());
          continue;
        }
        const TopicInfo* topic = md->topic(name);
        const int32_t expected = expected_.at(name);
        const bool ready =
            topic && topic->error == Errc::none && !topic->partitions.empty() &&
            (expected < 0 || static_cast<int32_t>(topic->partitions.size()) >= expected) &&
            std::ranges::all_of(topic->partitions,
                                [](const PartitionInfo& p) { return p.leader >= 0; });
        if (ready) {
          resolve(name, {});
        } else {
          again(name, waiting);
        }
      }
    });
  }

  std::map<std::string, NewTopic> topics_;
  bool validate_only_;
  bool wait_;
  std::map<std::string, int32_t> expected_;  // created; partition count to wait for (-1: any)
};

class DeleteTopics final : public Call<std::string, void> {
 public:
  DeleteTopics(Context& ctx, Deadline deadline, Done done)
      : Call(ctx, "DeleteTopics", deadline, std::move(done)) {}

 protected:
  void round() override {
    std::vector<std::string> names(pending().begin(), pending().end());
    const int32_t timeout_ms = server_timeout_ms();
    net().send_any<DeleteTopicsRequest>(
        [names, timeout_ms](int16_t version) {
          DeleteTopicsRequest request;
          if (version >= 6) {
            for (const std::string& name : names) request.topics.emplace_back().name = name;
          } else {
            request.topic_names = names;
          }
          request.timeout_ms = timeout_ms;
          return request;
        },
        track([this, names](const Result<Response<DeleteTopicsResponse>>& r) {
          if (!r) return retry_or_fail_all(names, r.error());
          for (const auto& answer : r->body.responses) {
            if (!answer.name) continue;  // only topic-id deletes answer without a name
            if (answer.error_code == 0) {
              resolve(*answer.name, {});
            } else {
              item_error(*this, *answer.name, wire_error(answer.error_code, answer.error_message));
            }
          }
          for (const std::string& name : names) {
            if (is_pending(name)) again(name, Error(Errc::unknown_server_error, "no answer"));
          }
        }),
        send_options());
  }
};

class DescribeTopics final : public Call<std::string, TopicDescription> {
 public:
  DescribeTopics(Context& ctx, Deadline deadline, Done done)
      : Call(ctx, "DescribeTopics", deadline, std::move(done)) {}

 protected:
  void round() override {
    std::vector<std::string> names(pending().begin(), pending().end());
    fetch_metadata(*this, names, [this, names](const Result<ClusterMetadata>& md) {
      if (!md) return retry_or_fail_all(names, md.error());
      for (const std::string& name : names) {
        const TopicInfo* topic = md->topic(name);
        if (!topic) {
          again(name, Error(Errc::unknown_topic_or_partition, "no metadata answer for " + name));
        } else if (topic->error == Errc::none) {
          resolve(name,
                  TopicDescription{topic->name, topic->id, topic->internal, topic->partitions});
        } else if (topic->error == Errc::invalid_topic_exception) {
          resolve(name, std::unexpected(wire_error(static_cast<int16_t>(topic->error))));
        } else {
          item_error(
              *this, name,
              wire_error(static_cast<int16_t>(topic->error),
                         topic->error == Errc::unknown_topic_or_partition
                             ? std::optional<std::string>("topic " + name + " does not exist")
                             : std::nullopt));
        }
      }
    });
  }
};

class CreatePartitions final : public Call<std::string, void> {
 public:
  CreatePartitions(Context& ctx, Deadline deadline, Done done,
                   std::map<std::string, int32_t> totals, bool validate_only)
      : Call(ctx, "CreatePartitions", deadline, std::move(done)),
        totals_(std::move(totals)),
        validate_only_(validate_only) {}

 protected:
  void round() override {
    std::vector<std::string> names(pending().begin(), pending().end());
    CreatePartitionsRequest request;
    for (const std::string& name : names) {
      auto& t = request.topics.emplace_back();
      t.name = name;
      t.count = totals_.at(name);
      t.assignments.reset();  // null: the controller places the new replicas
    }
    request.timeout_ms = server_timeout_ms();
    request.validate_only = validate_only_;
    net().send_any<CreatePartitionsRequest>(
        [request](int16_t) { return request; },
        track([this, names](const Result<Response<CreatePartitionsResponse>>& r) {
          if (!r) return retry_or_fail_all(names, r.error());
          for (const auto& answer : r->body.results) {
            if (answer.error_code == 0) {
              resolve(answer.name, {});
            } else {
              item_error(*this, answer.name, wire_error(answer.error_code, answer.error_message));
            }
          }
          for (const std::string& name : names) {
            if (is_pending(name)) again(name, Error(Errc::unknown_server_error, "no answer"));
          }
        }),
        send_options());
  }

 private:
  std::map<std::string, int32_t> totals_;
  bool validate_only_;
};

ClusterDescription describe_from_metadata(const ClusterMetadata& md) {
  ClusterDescription out;
  out.cluster_id = md.cluster_id;
  out.controller_id = md.controller_id;
  for (const auto& [id, broker] : md.brokers) out.brokers.push_back(broker);
  return out;
}

}  // namespace

void create_topics(Context& ctx, const std::vector<NewTopic>& topics, bool validate_only,
                   bool wait_for_leaders, Deadline deadline, Done<ItemResults<void>> done) {
  std::map<std::string, NewTopic> by_name;
  for (const NewTopic& t : topics) {
    if (!by_name.emplace(t.name, t).second) {
      return done(make_error(Errc::invalid_request, "topic '" + t.name + "' is given twice"));
    }
  }
  auto call = std::make_shared<CreateTopics>(ctx, deadline, std::move(done), by_name, validate_only,
                                             wait_for_leaders);
  for (const auto& [name, t] : by_name) call->add(name);
  call->start();
}

void delete_topics(Context& ctx, const std::vector<std::string>& topics, Deadline deadline,
                   Done<ItemResults<void>> done) {
  auto call = std::make_shared<DeleteTopics>(ctx, deadline, std::move(done));
  for (const std::string& t : topics) call->add(t);
  call->start();
}

void list_topics(Context& ctx, bool include_internal, Deadline deadline,
                 Done<std::vector<std::string>> done) {
  using C = LambdaCall<int, std::vector<std::string>>;
  auto call = std::make_shared<C>(
      ctx, "ListTopics", deadline, unwrap(std::move(done)), [include_internal](C& c) {
        fetch_metadata(c, std::nullopt, [&c, include_internal](const Result<ClusterMetadata>& md) {
          if (!md) return c.retry_or_fail(0, md.error());
          std::vector<std::string> names;
          for (const auto& [name, t] : md->topics) {
            if (include_internal || !t.internal) {
              names.push_back(name);
            }
          }
          c.resolve(0, std::move(names));
        });
      });
  call->add(0);
  call->start();
}

void describe_topics(Context& ctx, const std::vector<std::string>& topics, Deadline deadline,
                     Done<ItemResults<TopicDescription>> done) {
  auto call = std::make_shared<DescribeTopics>(ctx, deadline, std::move(done));
  for (const std::string& t : topics) call->add(t);
  call->start();
}

void create_partitions(Context& ctx, const std::map<std::string, int32_t>& new_totals,
                       bool validate_only, Deadline deadline, Done<ItemResults<void>> done) {
  auto call =
      std::make_shared<CreatePartitions>(ctx, deadline, std::move(done), new_totals, validate_only);
  for (const auto& [name, total] : new_totals) call->add(name);
  call->start();
}

void describe_cluster(Context& ctx, Deadline deadline, Done<ClusterDescription> done) {
  using C = LambdaCall<int, ClusterDescription>;
  auto call =
      std::make_shared<C>(ctx, "DescribeCluster", deadline, unwrap(std::move(done)), [](C& c) {
        c.net().send_any<DescribeClusterRequest>(
            [](int16_t) { return DescribeClusterRequest{}; },
            c.track([&c](const Result<Response<DescribeClusterResponse>>& r) {
              if (!r && r.error().code() == Errc::unsupported_version) {
                // Brokers before Kafka 2.8: the same facts from Metadata.
                return fetch_metadata(c, std::vector<std::string>{},
                                      [&c](const Result<ClusterMetadata>& md) {
                                        if (!md) return c.retry_or_fail(0, md.error());
                                        c.resolve(0, describe_from_metadata(*md));
                                      });
              }
              if (!r) return c.retry_or_fail(0, r.error());
              const DescribeClusterResponse& body = r->body;
              if (body.error_code != 0) {
                return c.retry_or_fail(0, wire_error(body.error_code, body.error_message));
              }
              ClusterDescription out;
              out.cluster_id = body.cluster_id;
              out.controller_id = body.controller_id;
              for (const auto& b : body.brokers) {
                out.brokers.push_back(
                    BrokerInfo{b.broker_id, b.host, static_cast<uint16_t>(b.port), b.rack});
              }
              std::ranges::sort(out.brokers, {}, &BrokerInfo::id);
              c.resolve(0, std::move(out));
            }),
            c.send_options());
      });
  call->add(0);
  call->start();
}

}  // namespace kafkacore::client::admin
