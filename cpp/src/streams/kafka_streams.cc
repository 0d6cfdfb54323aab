#include "streams/kafka_streams.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

#include "client/admin_client.h"
#include "client/consumer.h"
#include "client/producer.h"
#include "common/log.h"
#include "streams/internal_topics.h"
#include "streams/restore.h"
#include "streams/stream_task.h"

namespace kafkacore::streams {

using client::TopicPartition;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

const char* to_string(StreamsState state) {
  switch (state) {
    case StreamsState::created: return "CREATED";
    case StreamsState::rebalancing: return "REBALANCING";
    case StreamsState::running: return "RUNNING";
    case StreamsState::error: return "ERROR";
    case StreamsState::closed: return "CLOSED";
  }
  return "?";
}

std::string TaskId::to_string() const {
  return std::to_string(sub_topology) + "_" + std::to_string(partition);
}

namespace {

struct StreamsConfig {
  std::string application_id;
  std::string bootstrap_servers;
  milliseconds commit_interval{1000};
  milliseconds poll{100};
  milliseconds task_timeout{300'000};
  int16_t replication_factor = -1;
  bool skip_bad_records = false;
  client::Properties consumer;
  client::Properties producer;
  client::Properties admin;
};

Result<StreamsConfig> parse_config(client::Properties properties) {
  StreamsConfig c;
  // Client settings with a prefix go to that client only; unprefixed client keys to all.
  client::Properties own;
  for (auto& [key, value] : properties) {
    if (key.starts_with("consumer.")) {
      c.consumer[key.substr(9)] = value;
    } else if (key.starts_with("producer.")) {
      c.producer[key.substr(9)] = value;
    } else if (key.starts_with("admin.")) {
      c.admin[key.substr(6)] = value;
    } else {
      own[key] = value;
    }
  }
  client::ConfigReader reader(std::move(own));
  c.application_id = reader.get_string("application.id", "");
  c.bootstrap_servers = reader.get_string("bootstrap.servers", "");
  c.commit_interval = reader.get_ms("commit.interval.ms", 1000, 1);
  c.poll = reader.get_ms("poll.ms", 100, 1);
  c.task_timeout = reader.get_ms("task.timeout.ms", 300'000, 1);
  c.replication_factor = static_cast<int16_t>(reader.get_int("replication.factor", -1, -1, 32767));
  reader.get_choice("processing.guarantee", "at_least_once", {"at_least_once"});
  c.skip_bad_records = reader.get_choice("default.deserialization.exception.handler", "fail",
                                         {"fail", "continue"}) == "continue";
  std::string client_id = reader.get_string("client.id", "");
  if (auto ok = reader.finish(); !ok) return std::unexpected(ok.error());
  if (c.application_id.empty()) {
    return make_error(Errc::invalid_config, "application.id is required (it names the group "
                                            "and prefixes internal topics)");
  }
  if (c.bootstrap_servers.empty()) return make_error(Errc::invalid_config, "bootstrap.servers is required");
  std::string id = client_id.empty() ? c.application_id : client_id;
  auto defaults = [&](client::Properties& p, client::Properties base) {
    base["bootstrap.servers"] = c.bootstrap_servers;
    for (auto& [k, v] : p) base[k] = v;
    p = std::move(base);
  };
  defaults(c.consumer, {{"group.id", c.application_id},
                        {"client.id", id + "-consumer"},
                        {"enable.auto.commit", "false"},
                        {"auto.offset.reset", "earliest"},
                        // Range gives partition p of every co-partitioned topic to one member,
                        // so a task's inputs always land together.
                        {"partition.assignment.strategy", "range"},
                        {"max.poll.records", "1000"},
                        // Bounds how long an end-offsets lookup (wait_until_idle) queues
                        // behind a long-polling fetch on the same connection.
                        {"fetch.max.wait.ms", "100"}});
  defaults(c.producer, {{"client.id", id + "-producer"}, {"acks", "all"}, {"linger.ms", "10"}});
  defaults(c.admin, {{"client.id", id + "-admin"}});
  return c;
}

std::string encode_stream_time(int64_t time) {
  return time == INT64_MIN ? "" : "stream-time=" + std::to_string(time);
}

std::optional<int64_t> decode_stream_time(const std::string& metadata) {
  static constexpr std::string_view kPrefix = "stream-time=";
  if (!metadata.starts_with(kPrefix)) return std::nullopt;
  try {
    return std::stoll(metadata.substr(kPrefix.size()));
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace

struct KafkaStreams::Impl final : RecordSender {
  Impl(Topology t, StreamsConfig c) : topology(std::move(t)), config(std::move(c)) {
    subs = topology.sub_topologies();
    if (auto it = config.consumer.find("max.poll.records"); it != config.consumer.end()) {
      // Consumer::create validates the value; a bad one never gets to run.
      max_poll_records = std::max<size_t>(1, std::strtoul(it->second.c_str(), nullptr, 10));
    }
  }

  Topology topology;
  StreamsConfig config;
  std::vector<Topology::SubTopology> subs;
  PartitionPlan plan;
  std::unique_ptr<client::AdminClient> admin;
  std::unique_ptr<client::Producer> producer;
  std::unique_ptr<client::Consumer> consumer;
  std::thread thread;
  std::atomic<bool> stopping{false};

  mutable std::mutex mu;  // state, error, metrics, idle requests; never held while calling out
  std::condition_variable changed;
  StreamsState state = StreamsState::created;
  std::optional<Error> error;
  StreamsMetrics counters;
  uint64_t idle_requested = 0;
  uint64_t idle_reached = 0;

  // Tasks; taken by the stream thread while it processes and by local store queries.
  mutable std::mutex tasks_mu;
  std::map<TaskId, std::unique_ptr<StreamTask>> tasks;

  // Stream thread only.
  std::map<TopicPartition, int64_t> processed;  // next offset to commit
  std::vector<TopicPartition> assigned_pending;
  bool assignment_received = false;
  bool last_poll_full = false;
  size_t max_poll_records = 1000;  // a rebalance completed (even with nothing for us)
  Clock::time_point last_commit = Clock::now();

  std::mutex send_mu;
  std::optional<Error> send_error;

  ProcessingScope scope;
  OutputObserver observer;
  std::function<void(StreamsState)> state_listener;

  void scoped(const std::function<void()>& work) {
    if (scope) {
      scope(work);
    } else {
      work();
    }
  }

  void set_state(StreamsState s) {
    {
      std::lock_guard lock(mu);
      if (state == s || state == StreamsState::error || state == StreamsState::closed) return;
      state = s;
      if (s == StreamsState::rebalancing) ++counters.rebalances;
    }
    changed.notify_all();
    if (state_listener) state_listener(s);
  }

  void fail(const Error& e) {
    KC_LOG(error, "streams", "stopping on error",
           {{"application", config.application_id}, {"error", e.to_string()}});
    {
      std::lock_guard lock(mu);
      if (!error) error = e;
      state = StreamsState::error;
    }
    changed.notify_all();
    if (state_listener) state_listener(StreamsState::error);
  }

  bool failed() const {
    std::lock_guard lock(mu);
    return error.has_value();
  }

  // RecordSender
  void send(const std::string& topic, std::optional<int32_t> partition, std::optional<Bytes> key,
            std::optional<Bytes> value, int64_t timestamp,
            const std::vector<client::Header>& headers, const StreamRecord* record,
            bool user_topic) override {
    client::ProducerRecord out{.topic = topic,
                               .partition = partition,
                               .key = std::move(key),
                               .value = std::move(value),
                               .headers = headers,
                               .timestamp = timestamp};
    auto sent = producer->send(std::move(out), [this, topic](const Result<client::RecordMetadata>& r) {
      if (r) return;
      std::lock_guard lock(send_mu);
      if (!send_error) {
        send_error = Error(r.error().code(), "writing to " + topic + ": " + r.error().message());
      }
    });
    if (!sent) {
      std::lock_guard lock(send_mu);
      if (!send_error) send_error = sent.error();
    }
    {
      std::lock_guard lock(mu);
      ++counters.records_produced;
    }
    if (user_topic && observer && record) observer(topic, *record);
  }

  void record_dropped(std::string_view reason) override {
    std::lock_guard lock(mu);
    ++counters.records_dropped;
    ++counters.dropped_by_reason[std::string(reason)];
  }

  std::optional<Error> take_send_error() {
    std::lock_guard lock(send_mu);
    return send_error;
  }

  // Output and changelog writes reach the brokers before the input offsets are committed:
  // that order is what makes processing at-least-once.
  Result<void> commit() {
    last_commit = Clock::now();
    {
      std::lock_guard lock(tasks_mu);
      for (auto& [id, task] : tasks) task->flush_changelogs();
    }
    if (auto flushed = producer->flush(milliseconds(60'000)); !flushed) return flushed;
    if (auto e = take_send_error()) return std::unexpected(*e);
    if (processed.empty()) return {};
    std::map<TopicPartition, client::OffsetAndMetadata> offsets;
    {
      std::lock_guard lock(tasks_mu);
      for (const auto& [tp, next] : processed) {
        offsets[tp].offset = next;
        auto task = tasks.find(TaskId{plan.sub_topology_by_topic.at(tp.topic), tp.partition});
        if (task != tasks.end()) offsets[tp].metadata = encode_stream_time(task->second->stream_time());
      }
    }
    auto committed = consumer->commit_sync(offsets, milliseconds(30'000));
    if (!committed) {
      // A rebalance took the partitions: their new owner replays from the last commit.
      KC_LOG(warn, "streams", "commit failed",
             {{"application", config.application_id}, {"error", committed.error().to_string()}});
      return {};
    }
    processed.clear();
    std::lock_guard lock(mu);
    ++counters.commits;
    return {};
  }

  client::Properties restore_config() const {
    return {{"bootstrap.servers", config.bootstrap_servers},
            {"client.id", config.application_id + "-restore-consumer"},
            {"enable.auto.commit", "false"},
            {"auto.offset.reset", "earliest"}};
  }

  void close_tasks() {
    scoped([&] {
      std::lock_guard lock(tasks_mu);
      tasks.clear();
    });
  }

  class Listener final : public client::RebalanceListener {
   public:
    explicit Listener(Impl& impl) : impl_(impl) {}
    void on_partitions_revoked(const std::vector<TopicPartition>&) override {
      impl_.set_state(StreamsState::rebalancing);
      if (!impl_.failed()) {
        if (auto ok = impl_.commit(); !ok) impl_.fail(ok.error());
      }
      impl_.close_tasks();
      impl_.processed.clear();
      // One poll() may run several rebalances: an assignment not yet acted on is gone too.
      impl_.assigned_pending.clear();
    }
    void on_partitions_assigned(const std::vector<TopicPartition>& tps) override {
      impl_.assigned_pending.insert(impl_.assigned_pending.end(), tps.begin(), tps.end());
      impl_.assignment_received = true;
    }
    void on_partitions_lost(const std::vector<TopicPartition>&) override {
      impl_.set_state(StreamsState::rebalancing);
      impl_.close_tasks();
      impl_.processed.clear();
      impl_.assigned_pending.clear();
    }

   private:
    Impl& impl_;
  };

  // Creates the tasks of newly assigned partitions and restores their stores before any of
  // their records is processed.
  Result<void> open_new_tasks() {
    if (assigned_pending.empty()) {
      if (assignment_received) set_state(StreamsState::running);
      return {};
    }
    std::vector<std::unique_ptr<StreamTask>> created;
    std::set<TaskId> ids;
    {
      std::lock_guard lock(tasks_mu);
      for (const auto& tp : assigned_pending) {
        TaskId id{plan.sub_topology_by_topic.at(tp.topic), tp.partition};
        if (tasks.contains(id) || !ids.insert(id).second) continue;
        created.push_back(std::make_unique<StreamTask>(id, topology, subs.at(id.sub_topology),
                                                       config.application_id + "-", *this,
                                                       config.skip_bad_records));
      }
    }
    assigned_pending.clear();
    std::vector<RestoreTarget> targets;
    for (auto& task : created) {
      for (auto& [topic, store] : task->restore_sources()) {
        targets.push_back({TopicPartition{topic, task->id().partition}, store});
      }
    }
    if (!targets.empty()) {
      auto restored = restore_stores(restore_config(), targets, stopping, config.task_timeout);
      if (!restored) return std::unexpected(restored.error());
      std::lock_guard lock(mu);
      counters.records_restored += *restored;
    }
    if (auto ok = restore_stream_times(created); !ok) return ok;
    Result<void> result;
    scoped([&] {
      std::lock_guard lock(tasks_mu);
      for (auto& task : created) {
        if (auto ok = task->initialize(); !ok) {
          result = ok;
          return;
        }
        TaskId id = task->id();
        tasks[id] = std::move(task);
      }
    });
    if (!result) return result;
    set_state(StreamsState::running);
    return {};
  }

  Result<void> restore_stream_times(std::vector<std::unique_ptr<StreamTask>>& created) {
    std::map<TaskId, StreamTask*> by_id;
    for (auto& task : created) by_id[task->id()] = task.get();
    std::vector<TopicPartition> inputs;
    for (const auto& [topic, sub] : plan.sub_topology_by_topic) {
      for (const auto& [id, task] : by_id) {
        if (id.sub_topology == sub) inputs.push_back({topic, id.partition});
      }
    }
    auto committed = consumer->committed(inputs, milliseconds(30'000));
    if (!committed) return std::unexpected(committed.error());
    for (const auto& [tp, offset] : *committed) {
      if (!offset) continue;
      if (auto time = decode_stream_time(offset->metadata)) {
        by_id.at(TaskId{plan.sub_topology_by_topic.at(tp.topic), tp.partition})
            ->restore_stream_time(*time);
      }
    }
    return {};
  }

  // Within a task, records of its different input partitions go in timestamp order (always
  // offset order within one partition), so a join sees table updates and stream records in
  // event-time order as far as this batch allows, as Kafka Streams' record picking does.
  Result<void> process(const std::vector<client::ConsumerRecord>& records) {
    if (records.empty()) return {};
    std::map<TaskId, std::map<TopicPartition, std::vector<const client::ConsumerRecord*>>> queues;
    for (const auto& record : records) {
      TaskId id{plan.sub_topology_by_topic.at(record.topic), record.partition};
      queues[id][TopicPartition{record.topic, record.partition}].push_back(&record);
    }
    Result<void> result;
    int64_t done = 0;
    scoped([&] {
      std::lock_guard lock(tasks_mu);
      for (auto& [id, by_partition] : queues) {
        auto it = tasks.find(id);
        if (it == tasks.end()) continue;  // revoked meanwhile
        std::map<TopicPartition, size_t> next;
        for (const auto& [tp, queue] : by_partition) next[tp] = 0;
        while (true) {
          const client::ConsumerRecord* pick = nullptr;
          for (const auto& [tp, queue] : by_partition) {
            size_t i = next[tp];
            if (i < queue.size() && (pick == nullptr || queue[i]->timestamp < pick->timestamp)) {
              pick = queue[i];
            }
          }
          if (pick == nullptr) break;
          TopicPartition tp{pick->topic, pick->partition};
          ++next[tp];
          if (auto ok = it->second->process(*pick); !ok) {
            result = std::unexpected(Error(ok.error().code(), "task " + id.to_string() + ": " +
                                                                  ok.error().message()));
            return;
          }
          processed[tp] = pick->offset + 1;
          ++done;
        }
      }
    });
    std::lock_guard lock(mu);
    counters.records_processed += done;
    return result;
  }

  // `precise`: ask the brokers for the end offsets (a round trip that may wait behind a
  // long-polling fetch); otherwise trust the high watermarks of the latest fetch responses.
  bool caught_up(bool precise) {
    auto assignment = consumer->assignment();
    if (assignment.empty()) return true;
    if (!precise) {
      bool unknown = false;
      for (const auto& tp : assignment) {
        auto lag = consumer->current_lag(tp);
        if (lag && *lag > 0) return false;
        // An incremental fetch session leaves out partitions that did not change, so a
        // re-assigned partition may not have a high watermark yet: ask the brokers.
        unknown = unknown || !lag;
      }
      if (!unknown) return true;
    }
    auto ends = consumer->end_offsets(assignment, milliseconds(5000));
    if (!ends) return false;  // try again next round
    for (const auto& [tp, end] : *ends) {
      auto position = consumer->position(tp, milliseconds(5000));
      if (!position || *position < end) return false;
    }
    return true;
  }

  // Answers wait_until_idle(): every assigned partition consumed to its end and everything
  // written flushed and committed.
  Result<void> check_idle() {
    uint64_t request;
    {
      std::lock_guard lock(mu);
      if (idle_requested == idle_reached || state != StreamsState::running) return {};
      request = idle_requested;
    }
    // Cheap checks first: a full poll means more is waiting. The commit flushes what we
    // wrote, which may land in our own repartition partitions, hence the second look.
    if (last_poll_full || !caught_up(false)) return {};
    if (auto ok = commit(); !ok) return ok;
    if (!caught_up(true)) return {};
    {
      std::lock_guard lock(mu);
      idle_reached = std::max(idle_reached, request);
    }
    changed.notify_all();
    return {};
  }

  void run() {
    set_state(StreamsState::rebalancing);
    auto listener = std::make_shared<Listener>(*this);
    if (auto ok = consumer->subscribe(plan.source_topics, listener); !ok) {
      fail(ok.error());
      return;
    }
    while (!stopping.load()) {
      auto records = consumer->poll(config.poll);
      if (stopping.load()) break;
      Result<void> ok = records ? open_new_tasks() : Result<void>(std::unexpected(records.error()));
      if (ok) {
        last_poll_full = records->size() >= max_poll_records;
        ok = process(*records);
      }
      if (ok) {
        if (auto e = take_send_error()) ok = std::unexpected(*e);
      }
      if (ok && Clock::now() - last_commit >= config.commit_interval) ok = commit();
      if (ok) ok = check_idle();
      if (!ok) {
        fail(ok.error());
        break;
      }
    }
    if (!failed()) {
      if (auto ok = commit(); !ok) fail(ok.error());
    }
  }

  void shutdown_clients(milliseconds timeout) {
    // The revocation inside consumer close() commits unless the app failed.
    if (consumer) consumer->close(timeout);
    close_tasks();
    if (producer) producer->close(timeout);
    if (admin) admin->close();
  }
};

KafkaStreams::KafkaStreams(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

KafkaStreams::~KafkaStreams() { close(); }

Result<std::unique_ptr<KafkaStreams>> KafkaStreams::create(Topology topology,
                                                           client::Properties config) {
  if (auto ok = topology.validate(); !ok) return std::unexpected(ok.error());
  auto parsed = parse_config(std::move(config));
  if (!parsed) return std::unexpected(parsed.error());
  auto impl = std::make_unique<Impl>(std::move(topology), std::move(*parsed));
  auto admin = client::AdminClient::create(impl->config.admin);
  if (!admin) return std::unexpected(admin.error());
  impl->admin = std::move(*admin);
  auto producer = client::Producer::create(impl->config.producer);
  if (!producer) return std::unexpected(producer.error());
  impl->producer = std::move(*producer);
  auto consumer = client::Consumer::create(impl->config.consumer);
  if (!consumer) return std::unexpected(consumer.error());
  impl->consumer = std::move(*consumer);
  return std::unique_ptr<KafkaStreams>(new KafkaStreams(std::move(impl)));
}

Result<void> KafkaStreams::start() {
  Impl& impl = *impl_;
  {
    std::lock_guard lock(impl.mu);
    if (impl.state != StreamsState::created) {
      return make_error(Errc::invalid_request, std::string("start() in state ") + to_string(impl.state));
    }
  }
  auto plan = prepare_internal_topics(*impl.admin, impl.topology, impl.subs,
                                      impl.config.application_id, impl.config.replication_factor);
  if (!plan) {
    impl.fail(plan.error());
    return std::unexpected(plan.error());
  }
  impl.plan = std::move(*plan);
  impl.set_state(StreamsState::rebalancing);
  impl.thread = std::thread([&impl] { impl.run(); });
  return {};
}

Result<void> KafkaStreams::close(milliseconds timeout) {
  Impl& impl = *impl_;
  {
    std::lock_guard lock(impl.mu);
    if (impl.state == StreamsState::closed) return {};
  }
  impl.stopping = true;
  if (impl.thread.joinable()) impl.thread.join();
  impl.shutdown_clients(timeout);
  std::optional<Error> error;
  {
    std::lock_guard lock(impl.mu);
    error = impl.error;
    if (impl.state != StreamsState::error) impl.state = StreamsState::closed;
  }
  impl.changed.notify_all();
  if (error) return std::unexpected(*error);
  return {};
}

StreamsState KafkaStreams::state() const {
  std::lock_guard lock(impl_->mu);
  return impl_->state;
}

std::optional<Error> KafkaStreams::error() const {
  std::lock_guard lock(impl_->mu);
  return impl_->error;
}

std::vector<TaskId> KafkaStreams::active_tasks() const {
  std::lock_guard lock(impl_->tasks_mu);
  std::vector<TaskId> out;
  for (const auto& [id, task] : impl_->tasks) out.push_back(id);
  return out;
}

StreamsMetrics KafkaStreams::metrics() const {
  std::lock_guard lock(impl_->mu);
  return impl_->counters;
}

bool KafkaStreams::wait_until_idle(milliseconds timeout) {
  Impl& impl = *impl_;
  std::unique_lock lock(impl.mu);
  uint64_t target = ++impl.idle_requested;
  return impl.changed.wait_for(lock, timeout, [&] {
    return impl.idle_reached >= target || impl.state == StreamsState::error ||
           impl.state == StreamsState::closed;
  }) && impl.idle_reached >= target;
}

std::optional<Bytes> KafkaStreams::query_key_value(const std::string& store, ByteView key) const {
  std::lock_guard lock(impl_->tasks_mu);
  for (const auto& [id, task] : impl_->tasks) {
    auto* kv = dynamic_cast<KeyValueStore*>(task->store(store));
    if (kv == nullptr) continue;
    if (const Bytes* value = kv->get(key)) return *value;
  }
  return std::nullopt;
}

void KafkaStreams::set_processing_scope(ProcessingScope scope) { impl_->scope = std::move(scope); }
void KafkaStreams::set_output_observer(OutputObserver observer) {
  impl_->observer = std::move(observer);
}
void KafkaStreams::set_state_listener(std::function<void(StreamsState)> listener) {
  impl_->state_listener = std::move(listener);
}

}  // namespace kafkacore::streams
