#include "metadata/metadata_store.h"

#include <msgpack.hpp>

#include "storage/file_io.h"

namespace kafkacore::metadata {
namespace {

constexpr const char* kFileName = "__metadata.msgpack";
constexpr int kFormatVersion = 1;
constexpr int64_t kProducerIdBlock = 1000;

// On-disk shapes (msgpack maps keyed by field name, so fields can be added compatibly).
struct StoredTopic {
  std::string name;
  std::vector<uint8_t> id;
  int32_t partitions = 0;
  std::map<std::string, std::string> configs;
  MSGPACK_DEFINE_MAP(name, id, partitions, configs)
};

struct StoredState {
  int version = kFormatVersion;
  std::vector<uint8_t> cluster_id;
  int64_t producer_ids_reserved_until = 0;
  std::vector<StoredTopic> topics;
  MSGPACK_DEFINE_MAP(version, cluster_id, producer_ids_reserved_until, topics)
};

Uuid uuid_from(const std::vector<uint8_t>& v) {
  Uuid id;
  if (v.size() == 16) std::copy(v.begin(), v.end(), id.bytes.begin());
  return id;
}

std::vector<uint8_t> bytes_of(const Uuid& id) { return {id.bytes.begin(), id.bytes.end()}; }

}  // namespace

Result<void> validate_topic_name(const std::string& name) {
  if (name.empty() || name.size() > 249) {
    return make_error(Errc::invalid_topic_exception,
                      "topic name must have 1 to 249 characters, got " + std::to_string(name.size()));
  }
  if (name == "." || name == "..") {
    return make_error(Errc::invalid_topic_exception, "topic name cannot be '.' or '..'");
  }
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) {
      return make_error(Errc::invalid_topic_exception,
                        "topic name '" + name + "' has characters other than [a-zA-Z0-9._-]");
    }
  }
  return {};
}

Result<std::unique_ptr<MetadataStore>> MetadataStore::open(const std::filesystem::path& data_dir) {
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (ec) return make_error(Errc::kafka_storage_error, "cannot create " + data_dir.string());
  std::unique_ptr<MetadataStore> store(new MetadataStore(data_dir / kFileName));
  if (auto r = store->load(); !r) return std::unexpected(r.error());
  return store;
}

Result<void> MetadataStore::load() {
  std::error_code ec;
  if (!std::filesystem::exists(path_, ec)) {
    cluster_id_ = Uuid::random();
    return save();
  }
  auto data = storage::read_whole_file(path_);
  if (!data) return std::unexpected(data.error());
  StoredState state;
  try {
    auto handle = msgpack::unpack(reinterpret_cast<const char*>(data->data()), data->size());
    handle.get().convert(state);
  } catch (const std::exception& e) {
    return make_error(Errc::kafka_storage_error,
                      "metadata file " + path_.string() + " is unreadable: " + e.what());
  }
  if (state.version != kFormatVersion) {
    return make_error(Errc::kafka_storage_error, "metadata file " + path_.string() +
                                                     " has unknown format version " +
                                                     std::to_string(state.version));
  }
  cluster_id_ = uuid_from(state.cluster_id);
  next_producer_id_ = reserved_producer_ids_until_ = state.producer_ids_reserved_until;
  for (auto& t : state.topics) {
    topics_[t.name] = TopicInfo{t.name, uuid_from(t.id), t.partitions, std::move(t.configs)};
  }
  return {};
}

Result<void> MetadataStore::save() {
  StoredState state;
  state.cluster_id = bytes_of(cluster_id_);
  state.producer_ids_reserved_until = reserved_producer_ids_until_;
  for (const auto& [name, t] : topics_) {
    state.topics.push_back(StoredTopic{t.name, bytes_of(t.id), t.partitions, t.configs});
  }
  msgpack::sbuffer buffer;
  msgpack::pack(buffer, state);
  return storage::write_file_atomically(
      path_, ByteView(reinterpret_cast<const std::byte*>(buffer.data()), buffer.size()));
}

const TopicInfo* MetadataStore::topic(const std::string& name) const {
  auto it = topics_.find(name);
  return it == topics_.end() ? nullptr : &it->second;
}

const TopicInfo* MetadataStore::topic_by_id(const Uuid& id) const {
  for (const auto& [name, t] : topics_) {
    if (t.id == id) return &t;
  }
  return nullptr;
}

std::vector<const TopicInfo*> MetadataStore::topics() const {
  std::vector<const TopicInfo*> out;
  for (const auto& [name, t] : topics_) out.push_back(&t);
  return out;
}

Result<const TopicInfo*> MetadataStore::create_topic(const std::string& name, int32_t partitions,
                                                     std::map<std::string, std::string> configs) {
  if (auto r = validate_topic_name(name); !r) return std::unexpected(r.error());
  if (topics_.contains(name)) {
    return make_error(Errc::topic_already_exists, "topic '" + name + "' already exists");
  }
  if (partitions <= 0) {
    return make_error(Errc::invalid_partitions, "number of partitions must be positive");
  }
  Uuid id;
  do {
    id = Uuid::random();
  } while (topic_by_id(id));
  auto& t = topics_[name] = TopicInfo{name, id, partitions, std::move(configs)};
  if (auto r = save(); !r) {
    topics_.erase(name);
    return std::unexpected(r.error());
  }
  return &t;
}

Result<void> MetadataStore::delete_topic(const std::string& name) {
  auto it = topics_.find(name);
  if (it == topics_.end()) {
    return make_error(Errc::unknown_topic_or_partition, "topic '" + name + "' does not exist");
  }
  TopicInfo saved = it->second;
  topics_.erase(it);
  if (auto r = save(); !r) {
    topics_[name] = std::move(saved);
    return r;
  }
  return {};
}

Result<void> MetadataStore::set_partition_count(const std::string& name, int32_t partitions) {
  auto it = topics_.find(name);
  if (it == topics_.end()) {
    return make_error(Errc::unknown_topic_or_partition, "topic '" + name + "' does not exist");
  }
  if (partitions <= it->second.partitions) {
    return make_error(Errc::invalid_partitions,
                      "topic '" + name + "' has " + std::to_string(it->second.partitions) +
                          " partitions; the count can only grow");
  }
  const int32_t before = it->second.partitions;
  it->second.partitions = partitions;
  if (auto r = save(); !r) {
    it->second.partitions = before;
    return r;
  }
  return {};
}

Result<void> MetadataStore::set_configs(const std::string& name,
                                        std::map<std::string, std::string> configs) {
  auto it = topics_.find(name);
  if (it == topics_.end()) {
    return make_error(Errc::unknown_topic_or_partition, "topic '" + name + "' does not exist");
  }
  std::swap(it->second.configs, configs);
  if (auto r = save(); !r) {
    std::swap(it->second.configs, configs);
    return r;
  }
  return {};
}

Result<int64_t> MetadataStore::allocate_producer_id() {
  if (next_producer_id_ >= reserved_producer_ids_until_) {
    reserved_producer_ids_until_ = next_producer_id_ + kProducerIdBlock;
    if (auto r = save(); !r) {
      reserved_producer_ids_until_ = next_producer_id_;
      return std::unexpected(r.error());
    }
  }
  return next_producer_id_++;
}

}  // namespace kafkacore::metadata
