#include "streams/stream_task.h"

#include "streams/serde.h"

namespace kafkacore::streams {

// Sends a store's changes to its changelog partition (the task's partition).
// Sends a store's changes to its changelog partition (the task's partition). Changes are held
// until the task flushes (every commit) and only the latest per key goes out: the changelog is
// compacted anyway, so an aggregate updated a thousand times between commits costs one write,
// as with Kafka Streams' record cache. A bounded number of keys keeps memory in check.
class StreamTask::Changelog final : public ChangelogSink {
 public:
  static constexpr size_t kMaxPending = 10'000;

  Changelog(std::string topic, int32_t partition, RecordSender& sender)
      : topic_(std::move(topic)), partition_(partition), sender_(sender) {}

  void append(ByteView key, std::optional<ByteView> value, int64_t timestamp) override {
    auto it = pending_.find(key);
    if (it == pending_.end()) it = pending_.emplace(Bytes(key.begin(), key.end()), Change{}).first;
    it->second.value.reset();
    if (value) it->second.value.emplace(value->begin(), value->end());
    it->second.timestamp = timestamp;
    if (pending_.size() >= kMaxPending) flush();
  }

  void flush() {
    for (auto& [key, change] : pending_) {
      sender_.send(topic_, partition_, key, std::move(change.value), change.timestamp, {}, nullptr,
                   false);
    }
    pending_.clear();
  }

 private:
  struct Change {
    std::optional<Bytes> value;
    int64_t timestamp = 0;
  };
  std::string topic_;
  int32_t partition_;
  RecordSender& sender_;
  std::map<Bytes, Change, BytesLess> pending_;
};

StreamTask::StreamTask(TaskId id, const Topology& topology,
                       const Topology::SubTopology& sub_topology, std::string prefix,
                       RecordSender& sender, bool skip_bad_records)
    : id_(id), prefix_(std::move(prefix)), sender_(sender), skip_bad_records_(skip_bad_records) {
  for (const auto& name : sub_topology.nodes) nodes_[name].spec = topology.node(name);
  for (const auto& name : sub_topology.nodes) {
    Node& node = nodes_[name];
    for (const auto& child : node.spec->children) node.children.push_back(&nodes_.at(child));
    if (node.spec->source) {
      for (const auto& topic : node.spec->source->topics) {
        source_by_topic_[node.spec->source->internal ? prefix_ + topic : topic] = &node;
      }
    } else if (node.spec->sink) {
      node.sink_topic = node.spec->sink->internal ? prefix_ + node.spec->sink->topic
                                                  : node.spec->sink->topic;
    } else {
      processors_.push_back(&node);
    }
  }
  for (const auto& name : sub_topology.stores) {
    const StoreSpec& spec = topology.stores.at(name);
    store_specs_[name] = &spec;
    std::unique_ptr<StateStore> store;
    switch (spec.kind) {
      case StoreKind::key_value: store = std::make_unique<KeyValueStore>(name); break;
      case StoreKind::window:
        store = std::make_unique<WindowStore>(name, spec.retention_ms, spec.retain_duplicates);
        break;
      case StoreKind::session:
        store = std::make_unique<SessionStore>(name, spec.retention_ms);
        break;
    }
    if (spec.logged) {
      changelogs_.push_back(
          std::make_unique<Changelog>(prefix_ + name + "-changelog", id_.partition, sender_));
      store->set_changelog(changelogs_.back().get());
    }
    stores_[name] = std::move(store);
  }
}

StreamTask::~StreamTask() = default;

std::vector<std::pair<std::string, StateStore*>> StreamTask::restore_sources() {
  std::vector<std::pair<std::string, StateStore*>> out;
  for (auto& [name, store] : stores_) {
    const StoreSpec& spec = *store_specs_.at(name);
    out.emplace_back(spec.logged ? prefix_ + name + "-changelog" : spec.restore_topic,
                     store.get());
  }
  return out;
}

Result<void> StreamTask::initialize() {
  for (Node* node : processors_) {
    node->processor = node->spec->factory();
    current_ = node;
    if (auto ok = node->processor->init(*this); !ok) return ok;
  }
  current_ = nullptr;
  return {};
}

void StreamTask::flush_changelogs() {
  for (auto& changelog : changelogs_) changelog->flush();
}

StateStore* StreamTask::store(const std::string& name) {
  auto it = stores_.find(name);
  return it == stores_.end() ? nullptr : it->second.get();
}

Result<void> StreamTask::process(const client::ConsumerRecord& in) {
  auto source_it = source_by_topic_.find(in.topic);
  if (source_it == source_by_topic_.end()) {
    return make_error(Errc::unknown_topic_or_partition,
                      "task " + id_.to_string() + " has no source for topic " + in.topic);
  }
  Node& source = *source_it->second;
  const SourceSpec& spec = *source.spec->source;
  origin_ = RecordOrigin{in.topic, in.partition, in.offset};
  auto key = spec.key_serde->deserialize(in.key ? std::optional<ByteView>(*in.key) : std::nullopt);
  auto value =
      key ? spec.value_serde->deserialize(in.value ? std::optional<ByteView>(*in.value) : std::nullopt)
          : Result<Value>(std::unexpected(key.error()));
  if (!key || !value) {
    const Error& e = key ? value.error() : key.error();
    std::string where = in.topic + "-" + std::to_string(in.partition) + "@" +
                        std::to_string(in.offset);
    if (skip_bad_records_) {
      sender_.record_dropped("deserialization error");
      return {};
    }
    return make_error(e.code(), "cannot deserialize the record at " + where + ": " + e.message());
  }
  StreamRecord record{.key = std::move(*key),
                      .value = std::move(*value),
                      .timestamp = in.timestamp,
                      .headers = in.headers,
                      .window = std::nullopt};
  if (spec.timestamp_extractor) {
    auto ts = (*spec.timestamp_extractor)(record);
    if (!ts) return std::unexpected(ts.error());
    record.timestamp = *ts;
  }
  if (record.timestamp < 0) {
    // Kafka Streams skips records without a valid event time rather than guess one.
    sender_.record_dropped("negative timestamp");
    return {};
  }
  current_ = &source;
  auto ok = forward(record);
  current_ = nullptr;
  if (!ok) return ok;
  return advance_stream_time(record.timestamp);
}

Result<void> StreamTask::advance_stream_time(int64_t timestamp) {
  if (timestamp <= stream_time_) return {};
  stream_time_ = timestamp;
  for (Node* node : processors_) {
    current_ = node;
    auto ok = node->processor->on_stream_time(stream_time_);
    if (!ok) {
      current_ = nullptr;
      return ok;
    }
  }
  current_ = nullptr;
  return {};
}

Result<void> StreamTask::deliver(Node& node, const StreamRecord& record) {
  if (node.spec->sink) return send_to_sink(node, record);
  Node* caller = current_;
  current_ = &node;
  auto ok = node.processor->process(record);
  current_ = caller;
  return ok;
}

Result<void> StreamTask::send_to_sink(Node& node, const StreamRecord& record) {
  const SinkSpec& sink = *node.spec->sink;
  auto key = sink.key_serde->serialize(record.key);
  if (!key) return std::unexpected(key.error());
  auto value = sink.value_serde->serialize(record.value);
  if (!value) return std::unexpected(value.error());
  if (record.window && *key) {
    *key = record.window->session ? session_windowed_key(**key, *record.window)
                                  : time_windowed_key(**key, record.window->start);
  }
  sender_.send(node.sink_topic, std::nullopt, std::move(*key), std::move(*value),
               record.timestamp, record.headers, &record, !sink.internal);
  return {};
}

Result<void> StreamTask::forward(const StreamRecord& record) {
  for (Node* child : current_->children) {
    if (auto ok = deliver(*child, record); !ok) return ok;
  }
  return {};
}

Result<void> StreamTask::forward_to(size_t index, const StreamRecord& record) {
  if (index >= current_->children.size()) {
    return make_error(Errc::invalid_config, current_->spec->name + " has no child " +
                                                std::to_string(index));
  }
  return deliver(*current_->children[index], record);
}

size_t StreamTask::child_count() const { return current_ ? current_->children.size() : 0; }

KeyValueStore* StreamTask::kv_store(const std::string& name) {
  return dynamic_cast<KeyValueStore*>(store(name));
}
WindowStore* StreamTask::window_store(const std::string& name) {
  return dynamic_cast<WindowStore*>(store(name));
}
SessionStore* StreamTask::session_store(const std::string& name) {
  return dynamic_cast<SessionStore*>(store(name));
}

}  // namespace kafkacore::streams
