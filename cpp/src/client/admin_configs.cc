// Admin operations on configs: DescribeConfigs, AlterConfigs, IncrementalAlterConfigs. Topic
// configs (and the cluster-wide broker defaults, name "") go to any broker; a broker's own
// configs go to that broker, the only one that can answer for it.
#include <charconv>

#include "client/admin_ops.h"

namespace kafkacore::client::admin {
namespace {

using protocol::AlterConfigsRequest;
using protocol::AlterConfigsResponse;
using protocol::DescribeConfigsRequest;
using protocol::DescribeConfigsResponse;
using protocol::IncrementalAlterConfigsRequest;
using protocol::IncrementalAlterConfigsResponse;

constexpr int8_t kDefaultConfigSource = 5;

// The broker a resource's requests must reach; nullopt: any.
std::optional<int32_t> destination(const ConfigResource& resource) {
  if (resource.type != ConfigResourceType::broker || resource.name.empty()) return std::nullopt;
  int32_t id = -1;
  std::from_chars(resource.name.data(), resource.name.data() + resource.name.size(), id);
  return id;
}

// A broker resource needs a broker id (or "" for the defaults) as its name.
std::optional<Error> invalid(const ConfigResource& resource) {
  if (resource.type != ConfigResourceType::broker || resource.name.empty()) return std::nullopt;
  int32_t id = -1;
  auto [end, ec] =
      std::from_chars(resource.name.data(), resource.name.data() + resource.name.size(), id);
  if (ec != std::errc() || end != resource.name.data() + resource.name.size() || id < 0) {
    return Error(Errc::invalid_request,
                 "a broker config resource is named by the broker id, not '" + resource.name + "'");
  }
  return std::nullopt;
}

template <typename Req, typename V>
void send_to(Call<ConfigResource, V>& call, std::optional<int32_t> broker,
             std::function<Req(int16_t)> build, NetworkClient::Callback<ResponseOfT<Req>> done) {
  if (broker) {
    call.net().template send<Req>(*broker, std::move(build), std::move(done), call.send_options());
  } else {
    call.net().template send_any<Req>(std::move(build), std::move(done), call.send_options());
  }
}

// One request per destination for the pending resources: `send(broker, resources)`.
template <typename V>
void per_destination(
    Call<ConfigResource, V>& call,
    const std::function<void(std::optional<int32_t>, std::vector<ConfigResource>)>& send) {
  std::map<std::optional<int32_t>, std::vector<ConfigResource>> groups;
  for (const ConfigResource& r : call.pending()) groups[destination(r)].push_back(r);
  for (auto& [broker, resources] : groups) send(broker, std::move(resources));
}

// Applies per-resource answers (`code`, `message` of each (type, name)); resources without an
// answer are tried again.
template <typename V, typename Answers, typename OnOk>
void apply_answers(Call<ConfigResource, V>& call, const std::vector<ConfigResource>& asked,
                   const Answers& answers, OnOk on_ok) {
  for (const auto& a : answers) {
    ConfigResource key{static_cast<ConfigResourceType>(a.resource_type), a.resource_name};
    if (!call.is_pending(key)) continue;
    if (a.error_code == 0) {
      on_ok(key, a);
    } else {
      item_error(call, key, wire_error(a.error_code, a.error_message));
    }
  }
  for (const ConfigResource& r : asked) {
    if (call.is_pending(r)) {
      call.again(r, Error(Errc::unknown_server_error, "no answer for config resource " + r.name));
    }
  }
}

template <typename Map, typename C>
void add_all(C& call, const Map& items) {
  for (const auto& [resource, value] : items) {
    if (auto bad = invalid(resource)) {
      call.add_resolved(resource, std::unexpected(*bad));
    } else {
      call.add(resource);
    }
  }
}

}  // namespace

void describe_configs(Context& ctx, const std::vector<ConfigResource>& resources, Deadline deadline,
                      Done<ConfigResults<std::vector<ConfigEntry>>> done) {
  using C = LambdaCall<ConfigResource, std::vector<ConfigEntry>>;
  auto call = std::make_shared<C>(ctx, "DescribeConfigs", deadline, std::move(done), [](C& c) {
    per_destination(c, [&c](std::optional<int32_t> broker, std::vector<ConfigResource> asked) {
      send_to<DescribeConfigsRequest>(
          c, broker,
          [asked](int16_t) {
            DescribeConfigsRequest request;
            for (const ConfigResource& r : asked) {
              auto& out = request.resources.emplace_back();
              out.resource_type = static_cast<int8_t>(r.type);
              out.resource_name = r.name;
              out.configuration_keys.reset();  // null: every key
            }
            return request;
          },
          c.track([&c, asked](const Result<Response<DescribeConfigsResponse>>& r) {
            if (!r) return c.retry_or_fail_all(asked, r.error());
            const int16_t version = r->version;
            apply_answers(c, asked, r->body.results, [&](const ConfigResource& key, const auto& a) {
              std::vector<ConfigEntry> entries;
              for (const auto& e : a.configs) {
                ConfigEntry entry;
                entry.name = e.name;
                entry.value = e.value;
                entry.read_only = e.read_only;
                entry.sensitive = e.is_sensitive;
                // v0 has IsDefault instead of ConfigSource.
                entry.is_default =
                    version == 0 ? e.is_default : e.config_source == kDefaultConfigSource;
                entry.source = version == 0 ? (e.is_default ? ConfigSource::default_config
                                                            : ConfigSource::unknown)
                                            : static_cast<ConfigSource>(e.config_source);
                entries.push_back(std::move(entry));
              }
              c.resolve(key, std::move(entries));
            });
          }));
    });
  });
  for (const ConfigResource& r : resources) {
    if (auto bad = invalid(r)) {
      call->add_resolved(r, std::unexpected(*bad));
    } else {
      call->add(r);
    }
  }
  call->start();
}

void alter_configs(Context& ctx,
                   const std::map<ConfigResource, std::map<std::string, std::string>>& configs,
                   Deadline deadline, Done<ConfigResults<void>> done) {
  using C = LambdaCall<ConfigResource, void>;
  auto call = std::make_shared<C>(ctx, "AlterConfigs", deadline, std::move(done), [configs](C& c) {
    per_destination(
        c, [&c, &configs](std::optional<int32_t> broker, std::vector<ConfigResource> asked) {
          AlterConfigsRequest request;
          for (const ConfigResource& r : asked) {
            auto& out = request.resources.emplace_back();
            out.resource_type = static_cast<int8_t>(r.type);
            out.resource_name = r.name;
            for (const auto& [name, value] : configs.at(r)) {
              auto& entry = out.configs.emplace_back();
              entry.name = name;
              entry.value = value;
            }
          }
          send_to<AlterConfigsRequest>(
              c, broker, [request](int16_t) { return request; },
              c.track([&c, asked](const Result<Response<AlterConfigsResponse>>& r) {
                if (!r) return c.retry_or_fail_all(asked, r.error());
                apply_answers(c, asked, r->body.responses,
                              [&](const ConfigResource& key, const auto&) { c.resolve(key, {}); });
              }));
        });
  });
  add_all(*call, configs);
  call->start();
}

void incremental_alter_configs(Context& ctx,
                               const std::map<ConfigResource, std::vector<AlterConfigOp>>& changes,
                               Deadline deadline, Done<ConfigResults<void>> done) {
  using C = LambdaCall<ConfigResource, void>;
  auto call = std::make_shared<C>(
      ctx, "IncrementalAlterConfigs", deadline, std::move(done), [changes](C& c) {
        per_destination(c, [&c, &changes](std::optional<int32_t> broker,
                                          std::vector<ConfigResource> asked) {
          IncrementalAlterConfigsRequest request;
          for (const ConfigResource& r : asked) {
            auto& out = request.resources.emplace_back();
            out.resource_type = static_cast<int8_t>(r.type);
            out.resource_name = r.name;
            for (const AlterConfigOp& op : changes.at(r)) {
              auto& entry = out.configs.emplace_back();
              entry.name = op.name;
              entry.config_operation = static_cast<int8_t>(op.op);
              entry.value = op.value;
            }
          }
          send_to<IncrementalAlterConfigsRequest>(
              c, broker, [request](int16_t) { return request; },
              c.track([&c, asked](const Result<Response<IncrementalAlterConfigsResponse>>& r) {
                if (!r) return c.retry_or_fail_all(asked, r.error());
                apply_answers(c, asked, r->body.responses,
                              [&](const ConfigResource& key, const auto&) { c.resolve(key, {}); });
              }));
        });
      });
  add_all(*call, changes);
  call->start();
}

}  // namespace kafkacore::client::admin
