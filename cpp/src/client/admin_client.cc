// AdminClient: configuration, the blocking front (each call posts its operation to the I/O
// thread and waits for its answer), close(), and group_lag (two calls composed). The
// operations themselves are in admin_topics.cc, admin_configs.cc, admin_groups.cc and
// admin_records.cc; their retry loop in admin_call.h.
#include "client/admin_client.h"

#include <future>
#include <mutex>

#include "client/admin_ops.h"
#include "client/io_thread.h"

namespace kafkacore::client {

struct AdminClient::State {
  // Declared first: destroyed last, after everything that uses its io_context.
  std::unique_ptr<IoThread> io;
  std::unique_ptr<NetworkClient> net;
  std::unique_ptr<admin::Context> ctx;
  std::mutex mu;
  bool closed = false;  // under mu: no call is posted once set
};

namespace {

Error closed_error() { return Error(kNetworkError, "client closed"); }

// Posts `start(ctx, deadline, done)` to the I/O thread and waits for `done`.
template <typename T, typename Start>
Result<T> run(AdminClient::State& s, AdminClient::Timeout timeout, Start start) {
  const auto limit =
      std::max(timeout.value_or(s.ctx->options.default_api_timeout), std::chrono::milliseconds(0));
  const auto deadline = admin::Clock::now() + limit;
  auto promise = std::make_shared<std::promise<Result<T>>>();
  std::future<Result<T>> answer = promise->get_future();
  {
    std::lock_guard lock(s.mu);
    if (s.closed) return std::unexpected(closed_error());
    if (s.io->on_this_thread()) {
      return make_error(Errc::invalid_request, "AdminClient called on its own I/O thread");
    }
    // Calls posted before close() sets `closed` run before its cleanup, which aborts them.
    s.io->post([&s, deadline, promise, start = std::move(start)]() mutable {
      start(*s.ctx, deadline, [promise](Result<T> r) { promise->set_value(std::move(r)); });
    });
  }
  return answer.get();
}

}  // namespace

Result<std::unique_ptr<AdminClient>> AdminClient::create(Properties config) {
  ConfigReader reader(std::move(config));
  ClientOptions options = read_client_options(reader, "pykafkacore-admin");
  // An admin client only looks: describing a missing topic must not create it.
  options.allow_auto_create_topics = false;
  admin::AdminOptions admin_options;
  admin_options.default_api_timeout = reader.get_ms("default.api.timeout.ms", 60000, 1);
  admin_options.retries = reader.get_int("retries", INT32_MAX, 0);
  // Java AdminClient settings without an effect here, accepted so shared configs work.
  reader.ignore({"metadata.recovery.strategy", "enable.metrics.push", "metric.reporters",
                 "metrics.num.samples", "metrics.recording.level", "metrics.sample.window.ms",
                 "auto.include.jmx.reporter", "client.rack"});
  if (auto ok = reader.finish(); !ok) return std::unexpected(ok.error());

  auto state = std::make_unique<State>();
  state->io = std::make_unique<IoThread>("kc-admin");
  state->net = std::make_unique<NetworkClient>(state->io->io(), std::move(options));
  state->ctx = std::make_unique<admin::Context>(admin::Context{*state->net, admin_options, {}});
  return std::unique_ptr<AdminClient>(new AdminClient(std::move(state)));
}

AdminClient::AdminClient(std::unique_ptr<State> state) : state_(std::move(state)) {}

AdminClient::~AdminClient() { (void)close(); }

Result<void> AdminClient::close() {
  State& s = *state_;
  {
    std::lock_guard lock(s.mu);
    if (s.closed) return {};
    s.closed = true;
  }
  s.io->call([&s] {
    s.ctx->closed = true;
    auto active = s.ctx->active;  // aborting a call removes it from the map
    for (auto& [ptr, call] : active) call->abort(closed_error());
    s.net->close();
  });
  s.io->stop();
  return {};
}

// ---- topics

Result<std::map<std::string, Result<void>>> AdminClient::create_topics(
    const std::vector<NewTopic>& topics, CreateTopicsOptions options) {
  return run<admin::ItemResults<void>>(
      *state_, options.timeout,
      [topics, options](admin::Context& ctx, admin::Deadline d, auto done) {
        admin::create_topics(ctx, topics, options.validate_only, options.wait_for_leaders, d,
                             std::move(done));
      });
}

Result<std::map<std::string, Result<void>>> AdminClient::delete_topics(
    const std::vector<std::string>& topics, Timeout timeout) {
  return run<admin::ItemResults<void>>(*state_, timeout,
                                       [topics](admin::Context& ctx, admin::Deadline d, auto done) {
                                         admin::delete_topics(ctx, topics, d, std::move(done));
                                       });
}

Result<std::vector<std::string>> AdminClient::list_topics(bool include_internal, Timeout timeout) {
  return run<std::vector<std::string>>(
      *state_, timeout, [include_internal](admin::Context& ctx, admin::Deadline d, auto done) {
        admin::list_topics(ctx, include_internal, d, std::move(done));
      });
}

Result<std::map<std::string, Result<TopicDescription>>> AdminClient::describe_topics(
    const std::vector<std::string>& topics, Timeout timeout) {
  return run<admin::ItemResults<TopicDescription>>(
      *state_, timeout, [topics](admin::Context& ctx, admin::Deadline d, auto done) {
        admin::describe_topics(ctx, topics, d, std::move(done));
      });
}

Result<std::map<std::string, Result<void>>> AdminClient::create_partitions(
    const std::map<std::string, int32_t>& new_totals, bool validate_only, Timeout timeout) {
  return run<admin::ItemResults<void>>(
      *state_, timeout,
      [new_totals, validate_only](admin::Context& ctx, admin::Deadline d, auto done) {
        admin::create_partitions(ctx, new_totals, validate_only, d, std::move(done));
      });
}

// ---- configs

Result<std::map<ConfigResource, Result<std::vector<ConfigEntry>>>> AdminClient::describe_configs(
    const std::vector<ConfigResource>& resources, Timeout timeout) {
  return run<admin::ConfigResults<std::vector<ConfigEntry>>>(
      *state_, timeout, [resources](admin::Context& ctx, admin::Deadline d, auto done) {
        admin::describe_configs(ctx, resources, d, std::move(done));
      });
}

Result<std::map<ConfigResource, Result<void>>> AdminClient::alter_configs(
    const std::map<ConfigResource, std::map<std::string, std::string>>& configs, Timeout timeout) {
  return run<admin::ConfigResults<void>>(
      *state_, timeout, [configs](admin::Context& ctx, admin::Deadline d, auto done) {
        admin::alter_configs(ctx, configs, d, std::move(done));
      });
}

Result<std::map<ConfigResource, Result<void>>> AdminClient::incremental_alter_configs(
    const std::map<ConfigResource, std::vector<AlterConfigOp>>& changes, Timeout timeout) {
  return run<admin::ConfigResults<void>>(
      *state_, timeout, [changes](admin::Context& ctx, admin::Deadline d, auto done) {
        admin::incremental_alter_configs(ctx, changes, d, std::move(done));
      });
}

// ---- groups

Result<std::vector<GroupListing>> AdminClient::list_groups(Timeout timeout) {
  return run<std::vector<GroupListing>>(*state_, timeout,
                                        [](admin::Context& ctx, admin::Deadline d, auto done) {
                                          admin::list_groups(ctx, d, std::move(done));
                                        });
}

Result<std::map<std::string, Result<GroupDescription>>> AdminClient::describe_groups(
    const std::vector<std::string>& groups, Timeout timeout) {
  return run<admin::ItemResults<GroupDescription>>(
      *state_, timeout, [groups](admin::Context& ctx, admin::Deadline d, auto done) {
        admin::describe_groups(ctx, groups, d, std::move(done));
      });
}

Result<std::map<std::string, Result<void>>> AdminClient::delete_groups(
    const std::vector<std::string>& groups, Timeout timeout) {
  return run<admin::ItemResults<void>>(*state_, timeout,
                                       [groups](admin::Context& ctx, admin::Deadline d, auto done) {
                                         admin::delete_groups(ctx, groups, d, std::move(done));
                                       });
}

Result<std::map<TopicPartition, OffsetAndMetadata>> AdminClient::list_group_offsets(
    const std::string& group, std::optional<std::vector<TopicPartition>> partitions,
    Timeout timeout) {
  return run<std::map<TopicPartition, OffsetAndMetadata>>(
      *state_, timeout, [group, partitions](admin::Context& ctx, admin::Deadline d, auto done) {
        admin::list_group_offsets(ctx, group, partitions, d, std::move(done));
      });
}

Result<std::map<TopicPartition, Result<void>>> AdminClient::alter_group_offsets(
    const std::string& group, const std::map<TopicPartition, OffsetAndMetadata>& offsets,
    Timeout timeout) {
  return run<admin::PartitionResults<void>>(
      *state_, timeout, [group, offsets](admin::Context& ctx, admin::Deadline d, auto done) {
        admin::alter_group_offsets(ctx, group, offsets, d, std::move(done));
      });
}

Result<std::map<TopicPartition, Result<void>>> AdminClient::delete_group_offsets(
    const std::string& group, const std::vector<TopicPartition>& partitions, Timeout timeout) {
  return run<admin::PartitionResults<void>>(
      *state_, timeout, [group, partitions](admin::Context& ctx, admin::Deadline d, auto done) {
        admin::delete_group_offsets(ctx, group, partitions, d, std::move(done));
      });
}

Result<std::map<TopicPartition, PartitionLag>> AdminClient::group_lag(const std::string& group,
                                                                      Timeout timeout) {
  const auto limit = timeout.value_or(state_->ctx->options.default_api_timeout);
  const auto deadline = admin::Clock::now() + limit;
  auto committed = list_group_offsets(group, std::nullopt, limit);
  if (!committed) return std::unexpected(committed.error());
  std::map<TopicPartition, PartitionLag> out;
  if (committed->empty()) return out;
  std::map<TopicPartition, OffsetSpec> specs;
  for (const auto& [tp, o] : *committed) specs.emplace(tp, OffsetSpec::latest());
  const auto left = std::max(
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - admin::Clock::now()),
      std::chrono::milliseconds(0));
  auto ends = list_offsets(specs, false, left);
  if (!ends) return std::unexpected(ends.error());
  for (const auto& [tp, o] : *committed) {
    PartitionLag lag;
    lag.committed = o.offset;
    if (auto it = ends->find(tp); it != ends->end() && it->second) {
      lag.end_offset = it->second->offset;
      lag.lag = std::max<int64_t>(0, lag.end_offset - lag.committed);
    }
    out.emplace(tp, lag);
  }
  return out;
}

// ---- records, offsets, cluster

Result<std::map<TopicPartition, Result<int64_t>>> AdminClient::delete_records(
    const std::map<TopicPartition, int64_t>& before_offsets, Timeout timeout) {
  return run<admin::PartitionResults<int64_t>>(
      *state_, timeout, [before_offsets](admin::Context& ctx, admin::Deadline d, auto done) {
        admin::delete_records(ctx, before_offsets, d, std::move(done));
      });
}

Result<std::map<TopicPartition, Result<ListedOffset>>> AdminClient::list_offsets(
    const std::map<TopicPartition, OffsetSpec>& specs, bool read_committed, Timeout timeout) {
  return run<admin::PartitionResults<ListedOffset>>(
      *state_, timeout, [specs, read_committed](admin::Context& ctx, admin::Deadline d, auto done) {
        admin::list_offsets(ctx, specs, read_committed, d, std::move(done));
      });
}

Result<std::map<TopicPartition, Result<void>>> AdminClient::elect_leaders(
    ElectionType type, const std::optional<std::vector<TopicPartition>>& partitions,
    Timeout timeout) {
  return run<admin::PartitionResults<void>>(
      *state_, timeout, [type, partitions](admin::Context& ctx, admin::Deadline d, auto done) {
        admin::elect_leaders(ctx, type, partitions, d, std::move(done));
      });
}

Result<ClusterDescription> AdminClient::describe_cluster(Timeout timeout) {
  return run<ClusterDescription>(*state_, timeout,
                                 [](admin::Context& ctx, admin::Deadline d, auto done) {
                                   admin::describe_cluster(ctx, d, std::move(done));
                                 });
}

}  // namespace kafkacore::client
