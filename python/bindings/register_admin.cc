// pykafkacore._core.AdminClient: one method per call of client::AdminClient, taking and returning
// plain Python values (str, int, tuples, lists, dicts), so every type a user sees is defined in
// python/pykafkacore/admin.py. The GIL is released around each blocking call.
//
// Conventions:
// - timeouts are seconds as a float, or None for `default.api.timeout.ms`;
// - a topic-partition is a (topic, partition) tuple; a config resource is ("topic" | "broker",
//   name);
// - calls answering per item return (results, errors): `results` maps each successful item to its
//   value, `errors` maps each failed item to (code, message) — nothing is raised for an item, so
//   the Python side decides how to report them;
// - a call failing as a whole raises a pykafkacore.errors.KafkaError subclass (throw_kafka_error).
#include <pybind11/stl.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "bindings.h"
#include "client/admin_client.h"
#include "common/uuid.h"

namespace kafkacore::python {
namespace {

using std::chrono::milliseconds;

using TP = std::pair<std::string, int32_t>;
using Resource = std::pair<std::string, std::string>;  // ("topic" | "broker", name)
using ItemError = std::pair<int, std::string>;         // (code, message)
template <typename K, typename V>
using PerItem = std::pair<std::map<K, V>, std::map<K, ItemError>>;

// (partition, leader, leader_epoch, replicas, isr, offline_replicas)
using PyPartition = std::tuple<int32_t, int32_t, int32_t, std::vector<int32_t>,
                               std::vector<int32_t>, std::vector<int32_t>>;
// (topic id, internal, partitions)
using PyTopic = std::tuple<std::string, bool, std::vector<PyPartition>>;
// (name, value, read_only, is_default, sensitive, source)
using PyConfigEntry = std::tuple<std::string, std::optional<std::string>, bool, bool, bool, int>;
// (member_id, group_instance_id, client_id, host, assignment)
using PyMember =
    std::tuple<std::string, std::optional<std::string>, std::string, std::string, std::vector<TP>>;
// (protocol_type, protocol, state, coordinator, members)
using PyGroup = std::tuple<std::string, std::string, std::string, int32_t, std::vector<PyMember>>;
// (offset, metadata, leader_epoch)
using PyOffset = std::tuple<int64_t, std::string, std::optional<int32_t>>;
// (name, partitions, replication_factor, {partition: replicas}, configs)
using PyNewTopic =
    std::tuple<std::string, int32_t, int16_t, std::map<int32_t, std::vector<int32_t>>,
               std::map<std::string, std::string>>;
// (name, op, value) with op "set" | "delete" | "append" | "subtract"
using PyAlterOp = std::tuple<std::string, std::string, std::optional<std::string>>;
// (id, host, port, rack)
using PyBroker = std::tuple<int32_t, std::string, int, std::optional<std::string>>;

client::AdminClient::Timeout timeout_of(std::optional<double> seconds) {
  if (!seconds) return std::nullopt;
  if (*seconds < 0) throw py::value_error("timeout must be >= 0 seconds");
  return milliseconds(static_cast<int64_t>(*seconds * 1000));
}

client::TopicPartition tp_of(const TP& tp) { return {tp.first, tp.second}; }
TP py_tp(const client::TopicPartition& tp) { return {tp.topic, tp.partition}; }

client::ConfigResource resource_of(const Resource& r) {
  if (r.first == "topic") return {client::ConfigResourceType::topic, r.second};
  if (r.first == "broker") return {client::ConfigResourceType::broker, r.second};
  throw py::value_error("config resource type must be 'topic' or 'broker', not '" + r.first + "'");
}

Resource py_resource(const client::ConfigResource& r) {
  return {r.type == client::ConfigResourceType::broker ? "broker" : "topic", r.name};
}

client::AlterOp alter_op_of(const std::string& op) {
  if (op == "set") return client::AlterOp::set;
  if (op == "delete") return client::AlterOp::remove;
  if (op == "append") return client::AlterOp::append;
  if (op == "subtract") return client::AlterOp::subtract;
  throw py::value_error("config operation must be 'set', 'delete', 'append' or 'subtract', not '" +
                        op + "'");
}

client::OffsetSpec spec_of(int64_t value) {
  switch (value) {
    case -1:
      return client::OffsetSpec::latest();
    case -2:
      return client::OffsetSpec::earliest();
    case -3:
      return client::OffsetSpec::max_timestamp();
    default:
      if (value < 0) throw py::value_error("offset spec: a timestamp must be >= 0");
      return client::OffsetSpec::for_timestamp(value);
  }
}

std::string uuid_text(const protocol::Uuid& id) {
  Uuid u;
  for (size_t i = 0; i < u.bytes.size(); ++i) u.bytes[i] = static_cast<uint8_t>(id.bytes[i]);
  return u.to_string();
}

ItemError item_error(const Error& e) { return {static_cast<int>(e.code()), e.message()}; }

// Splits a per-item answer into (results, errors), converting each value with `convert`.
template <typename K, typename V, typename PyK, typename F>
auto split(const std::map<K, Result<V>>& answer, PyK (*key)(const K&), F convert) {
  using PyV = decltype(convert(std::declval<const V&>()));
  PerItem<PyK, PyV> out;
  for (const auto& [k, r] : answer) {
    if (r) {
      out.first.emplace(key(k), convert(*r));
    } else {
      out.second.emplace(key(k), item_error(r.error()));
    }
  }
  return out;
}

// For calls whose items carry no value: errors only.
template <typename K, typename PyK>
std::map<PyK, ItemError> errors_of(const std::map<K, Result<void>>& answer, PyK (*key)(const K&)) {
  std::map<PyK, ItemError> out;
  for (const auto& [k, r] : answer) {
    if (!r) out.emplace(key(k), item_error(r.error()));
  }
  return out;
}

std::string same(const std::string& s) { return s; }

// Unwraps a whole-call result, raising (with the GIL held) if the call failed.
template <typename T>
T unwrap(Result<T>&& r) {
  if (!r) throw_kafka_error(r.error());
  return std::move(*r);
}

class PyAdminClient {
 public:
  explicit PyAdminClient(client::Properties config) {
    auto admin = client::AdminClient::create(std::move(config));
    if (!admin) throw_kafka_error(admin.error());
    admin_ = std::move(*admin);
  }

  // Runs `call` on the admin client without the GIL; raises if the call fails as a whole.
  template <typename F>
  auto run(F call) {
    decltype(call(std::declval<client::AdminClient&>())) result;
    {
      py::gil_scoped_release release;
      result = call(*admin_);
    }
    return unwrap(std::move(result));
  }

  // ---- topics

  std::map<std::string, ItemError> create_topics(const std::vector<PyNewTopic>& topics,
                                                 bool validate_only, bool wait_for_leaders,
                                                 std::optional<double> timeout) {
    std::vector<client::NewTopic> news;
    news.reserve(topics.size());
    for (const auto& [name, partitions, rf, assignment, configs] : topics) {
      news.push_back({name, partitions, rf, assignment, configs});
    }
    client::CreateTopicsOptions options;
    options.validate_only = validate_only;
    options.wait_for_leaders = wait_for_leaders;
    options.timeout = timeout_of(timeout);
    return errors_of(run([&](client::AdminClient& a) { return a.create_topics(news, options); }),
                     &same);
  }

  std::map<std::string, ItemError> delete_topics(const std::vector<std::string>& topics,
                                                 std::optional<double> timeout) {
    auto t = timeout_of(timeout);
    return errors_of(run([&](client::AdminClient& a) { return a.delete_topics(topics, t); }),
                     &same);
  }

  std::vector<std::string> list_topics(bool include_internal, std::optional<double> timeout) {
    auto t = timeout_of(timeout);
    return run([&](client::AdminClient& a) { return a.list_topics(include_internal, t); });
  }

  PerItem<std::string, PyTopic> describe_topics(const std::vector<std::string>& topics,
                                                std::optional<double> timeout) {
    auto t = timeout_of(timeout);
    auto answer = run([&](client::AdminClient& a) { return a.describe_topics(topics, t); });
    return split(answer, &same, [](const client::TopicDescription& d) {
      std::vector<PyPartition> partitions;
      partitions.reserve(d.partitions.size());
      for (const auto& p : d.partitions) {
        partitions.emplace_back(p.partition, p.leader, p.leader_epoch, p.replicas, p.isr,
                                p.offline_replicas);
      }
      return PyTopic(uuid_text(d.id), d.internal, std::move(partitions));
    });
  }

  std::map<std::string, ItemError> create_partitions(const std::map<std::string, int32_t>& totals,
                                                     bool validate_only,
                                                     std::optional<double> timeout) {
    auto t = timeout_of(timeout);
    return errors_of(
        run([&](client::AdminClient& a) { return a.create_partitions(totals, validate_only, t); }),
        &same);
  }

  // ---- configs

  PerItem<Resource, std::vector<PyConfigEntry>> describe_configs(
      const std::vector<Resource>& resources, std::optional<double> timeout) {
    std::vector<client::ConfigResource> rs;
    for (const auto& r : resources) rs.push_back(resource_of(r));
    auto t = timeout_of(timeout);
    auto answer = run([&](client::AdminClient& a) { return a.describe_configs(rs, t); });
    return split(answer, &py_resource, [](const std::vector<client::ConfigEntry>& entries) {
      std::vector<PyConfigEntry> out;
      out.reserve(entries.size());
      for (const auto& e : entries) {
        out.emplace_back(e.name, e.value, e.read_only, e.is_default, e.sensitive,
                         static_cast<int>(e.source));
      }
      return out;
    });
  }

  std::map<Resource, ItemError> alter_configs(
      const std::map<Resource, std::map<std::string, std::string>>& configs,
      std::optional<double> timeout) {
    std::map<client::ConfigResource, std::map<std::string, std::string>> cs;
    for (const auto& [r, values] : configs) cs.emplace(resource_of(r), values);
    auto t = timeout_of(timeout);
    return errors_of(run([&](client::AdminClient& a) { return a.alter_configs(cs, t); }),
                     &py_resource);
  }

  std::map<Resource, ItemError> incremental_alter_configs(
      const std::map<Resource, std::vector<PyAlterOp>>& changes, std::optional<double> timeout) {
    std::map<client::ConfigResource, std::vector<client::AlterConfigOp>> cs;
    for (const auto& [r, ops] : changes) {
      auto& out = cs[resource_of(r)];
      for (const auto& [name, op, value] : ops) out.push_back({name, alter_op_of(op), value});
    }
    auto t = timeout_of(timeout);
    return errors_of(
        run([&](client::AdminClient& a) { return a.incremental_alter_configs(cs, t); }),
        &py_resource);
  }

  // ---- consumer groups

  // [(group_id, protocol_type, state)]
  std::vector<std::tuple<std::string, std::string, std::string>> list_groups(
      std::optional<double> timeout) {
    auto t = timeout_of(timeout);
    auto groups = run([&](client::AdminClient& a) { return a.list_groups(t); });
    std::vector<std::tuple<std::string, std::string, std::string>> out;
    out.reserve(groups.size());
    for (auto& g : groups) out.emplace_back(g.group_id, g.protocol_type, g.state);
    return out;
  }

  PerItem<std::string, PyGroup> describe_groups(const std::vector<std::string>& groups,
                                                std::optional<double> timeout) {
    auto t = timeout_of(timeout);
    auto answer = run([&](client::AdminClient& a) { return a.describe_groups(groups, t); });
    return split(answer, &same, [](const client::GroupDescription& g) {
      std::vector<PyMember> members;
      members.reserve(g.members.size());
      for (const auto& m : g.members) {
        std::vector<TP> assignment;
        assignment.reserve(m.assignment.size());
        for (const auto& tp : m.assignment) assignment.push_back(py_tp(tp));
        members.emplace_back(m.member_id, m.group_instance_id, m.client_id, m.host,
                             std::move(assignment));
      }
      return PyGroup(g.protocol_type, g.protocol, g.state, g.coordinator, std::move(members));
    });
  }

  std::map<std::string, ItemError> delete_groups(const std::vector<std::string>& groups,
                                                 std::optional<double> timeout) {
    auto t = timeout_of(timeout);
    return errors_of(run([&](client::AdminClient& a) { return a.delete_groups(groups, t); }),
                     &same);
  }

  std::map<TP, PyOffset> list_group_offsets(const std::string& group,
                                            const std::optional<std::vector<TP>>& partitions,
                                            std::optional<double> timeout) {
    std::optional<std::vector<client::TopicPartition>> tps;
    if (partitions) {
      tps.emplace();
      for (const auto& tp : *partitions) tps->push_back(tp_of(tp));
    }
    auto t = timeout_of(timeout);
    auto offsets = run([&](client::AdminClient& a) { return a.list_group_offsets(group, tps, t); });
    std::map<TP, PyOffset> out;
    for (const auto& [tp, o] : offsets)
      out.emplace(py_tp(tp), PyOffset(o.offset, o.metadata, o.leader_epoch));
    return out;
  }

  std::map<TP, ItemError> alter_group_offsets(const std::string& group,
                                              const std::map<TP, PyOffset>& offsets,
                                              std::optional<double> timeout) {
    std::map<client::TopicPartition, client::OffsetAndMetadata> os;
    for (const auto& [tp, o] : offsets) {
      os.emplace(tp_of(tp),
                 client::OffsetAndMetadata{std::get<0>(o), std::get<1>(o), std::get<2>(o)});
    }
    auto t = timeout_of(timeout);
    return errors_of(
        run([&](client::AdminClient& a) { return a.alter_group_offsets(group, os, t); }), &py_tp);
  }

  std::map<TP, ItemError> delete_group_offsets(const std::string& group,
                                               const std::vector<TP>& partitions,
                                               std::optional<double> timeout) {
    std::vector<client::TopicPartition> tps;
    tps.reserve(partitions.size());
    for (const auto& tp : partitions) tps.push_back(tp_of(tp));
    auto t = timeout_of(timeout);
    return errors_of(
        run([&](client::AdminClient& a) { return a.delete_group_offsets(group, tps, t); }), &py_tp);
  }

  // {(topic, partition): (committed, end_offset, lag)}
  std::map<TP, std::tuple<int64_t, int64_t, int64_t>> group_lag(const std::string& group,
                                                                std::optional<double> timeout) {
    auto t = timeout_of(timeout);
    auto lags = run([&](client::AdminClient& a) { return a.group_lag(group, t); });
    std::map<TP, std::tuple<int64_t, int64_t, int64_t>> out;
    for (const auto& [tp, l] : lags)
      out.emplace(py_tp(tp), std::make_tuple(l.committed, l.end_offset, l.lag));
    return out;
  }

  // ---- records and offsets

  PerItem<TP, int64_t> delete_records(const std::map<TP, int64_t>& before_offsets,
                                      std::optional<double> timeout) {
    std::map<client::TopicPartition, int64_t> bs;
    for (const auto& [tp, o] : before_offsets) bs.emplace(tp_of(tp), o);
    auto t = timeout_of(timeout);
    auto answer = run([&](client::AdminClient& a) { return a.delete_records(bs, t); });
    return split(answer, &py_tp, [](int64_t low) { return low; });
  }

  // ---- leaders

  // (partitions elected, {partition: error}); partitions None: every partition.
  std::pair<std::vector<TP>, std::map<TP, ItemError>> elect_leaders(
      std::optional<std::vector<TP>> partitions, bool unclean, std::optional<double> timeout) {
    std::optional<std::vector<client::TopicPartition>> tps;
    if (partitions) {
      tps.emplace();
      for (const auto& tp : *partitions) tps->push_back(tp_of(tp));
    }
    const auto type = unclean ? client::ElectionType::unclean : client::ElectionType::preferred;
    auto t = timeout_of(timeout);
    auto answer = run([&](client::AdminClient& a) { return a.elect_leaders(type, tps, t); });
    std::pair<std::vector<TP>, std::map<TP, ItemError>> out;
    for (const auto& [tp, r] : answer) {
      if (r) {
        out.first.push_back(py_tp(tp));
      } else {
        out.second.emplace(py_tp(tp), item_error(r.error()));
      }
    }
    return out;
  }

  // specs: -1 latest, -2 earliest, -3 max timestamp, else a timestamp (ms). Values:
  // (offset, timestamp, leader_epoch).
  PerItem<TP, std::tuple<int64_t, int64_t, int32_t>> list_offsets(
      const std::map<TP, int64_t>& specs, bool read_committed, std::optional<double> timeout) {
    std::map<client::TopicPartition, client::OffsetSpec> ss;
    for (const auto& [tp, v] : specs) ss.emplace(tp_of(tp), spec_of(v));
    auto t = timeout_of(timeout);
    auto answer =
        run([&](client::AdminClient& a) { return a.list_offsets(ss, read_committed, t); });
    return split(answer, &py_tp, [](const client::ListedOffset& o) {
      return std::make_tuple(o.offset, o.timestamp, o.leader_epoch);
    });
  }

  // ---- cluster

  // (cluster_id, controller_id, [(id, host, port, rack)])
  std::tuple<std::optional<std::string>, int32_t, std::vector<PyBroker>> describe_cluster(
      std::optional<double> timeout) {
    auto t = timeout_of(timeout);
    auto d = run([&](client::AdminClient& a) { return a.describe_cluster(t); });
    std::vector<PyBroker> brokers;
    brokers.reserve(d.brokers.size());
    for (const auto& b : d.brokers)
      brokers.emplace_back(b.id, b.host, static_cast<int>(b.port), b.rack);
    return {d.cluster_id, d.controller_id, std::move(brokers)};
  }

  void close() {
    Result<void> closed;
    {
      py::gil_scoped_release release;
      closed = admin_->close();
    }
    if (!closed) throw_kafka_error(closed.error());
  }

 private:
  std::unique_ptr<client::AdminClient> admin_;
};

}  // namespace

void register_admin(py::module_& m) {
  using py::arg;
  auto timeout = arg("timeout") = py::none();
  py::class_<PyAdminClient>(m, "AdminClient",
                            "The native admin client (private: use pykafkacore.AdminClient).")
      .def(py::init<client::Properties>(), arg("config"))
      .def("create_topics", &PyAdminClient::create_topics, arg("topics"),
           arg("validate_only") = false, arg("wait_for_leaders") = true, timeout)
      .def("delete_topics", &PyAdminClient::delete_topics, arg("topics"), timeout)
      .def("list_topics", &PyAdminClient::list_topics, arg("include_internal") = false, timeout)
      .def("describe_topics", &PyAdminClient::describe_topics, arg("topics"), timeout)
      .def("create_partitions", &PyAdminClient::create_partitions, arg("new_totals"),
           arg("validate_only") = false, timeout)
      .def("describe_configs", &PyAdminClient::describe_configs, arg("resources"), timeout)
      .def("alter_configs", &PyAdminClient::alter_configs, arg("configs"), timeout)
      .def("incremental_alter_configs", &PyAdminClient::incremental_alter_configs, arg("changes"),
           timeout)
      .def("list_groups", &PyAdminClient::list_groups, timeout)
      .def("describe_groups", &PyAdminClient::describe_groups, arg("groups"), timeout)
      .def("delete_groups", &PyAdminClient::delete_groups, arg("groups"), timeout)
      .def("list_group_offsets", &PyAdminClient::list_group_offsets, arg("group"),
           arg("partitions") = py::none(), timeout)
      .def("alter_group_offsets", &PyAdminClient::alter_group_offsets, arg("group"), arg("offsets"),
           timeout)
      .def("delete_group_offsets", &PyAdminClient::delete_group_offsets, arg("group"),
           arg("partitions"), timeout)
      .def("group_lag", &PyAdminClient::group_lag, arg("group"), timeout)
      .def("delete_records", &PyAdminClient::delete_records, arg("before_offsets"), timeout)
      .def("list_offsets", &PyAdminClient::list_offsets, arg("specs"),
           arg("read_committed") = false, timeout)
      .def("elect_leaders", &PyAdminClient::elect_leaders, arg("partitions") = py::none(),
           arg("unclean") = false, timeout)
      .def("describe_cluster", &PyAdminClient::describe_cluster, timeout)
      .def("close", &PyAdminClient::close);
}

}  // namespace kafkacore::python
