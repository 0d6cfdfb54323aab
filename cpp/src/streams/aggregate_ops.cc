// Non-windowed aggregation into a key-value store, and table materialization.
#include <memory>
#include <string>
#include <utility>

#include "streams/aggregation.h"
#include "streams/operators.h"

namespace kafkacore::streams {

namespace {

Result<KeyValueStore*> find_kv_store(ProcessorContext& ctx, const std::string& name) {
  KeyValueStore* store = ctx.kv_store(name);
  if (store == nullptr) {
    return make_error(Errc::invalid_config, "key-value store '" + name + "' is not available");
  }
  return store;
}

class AggregateProcessor final : public Processor {
 public:
  AggregateProcessor(std::string store, Aggregation aggregation, SerdePtr key_serde)
      : store_name_(std::move(store)),
        runner_(std::move(aggregation)),
        key_serde_(std::move(key_serde)) {}

  Result<void> init(ProcessorContext& context) override {
    context_ = &context;
    if (auto ok = runner_.check(); !ok) return ok;
    if (!key_serde_) return make_error(Errc::invalid_config, "aggregation needs a key serde");
    auto store = find_kv_store(context, store_name_);
    if (!store) return std::unexpected(std::move(store.error()));
    store_ = *store;
    return {};
  }

  Result<void> process(const StreamRecord& record) override {
    if (is_null(record.key)) {
      context().record_dropped("null key");
      return {};
    }
    if (is_null(record.value) && runner_.skips_null_values()) {
      context().record_dropped("null value");
      return {};
    }
    auto key = key_serde_->serialize(record.key);
    if (!key) return std::unexpected(std::move(key.error()));
    if (!*key) {
      context().record_dropped("null key");
      return {};
    }

    Result<Value> current = Value{};
    if (const Bytes* stored = store_->get(**key)) {
      current = runner_.serde()->deserialize(ByteView(*stored));
    } else {
      current = runner_.initial();
    }
    if (!current) return std::unexpected(std::move(current.error()));

    auto updated = runner_.add(record.key, record.value, *current);
    if (!updated) return std::unexpected(std::move(updated.error()));
    auto bytes = runner_.serde()->serialize(*updated);
    if (!bytes) return std::unexpected(std::move(bytes.error()));
    store_->put(**key, *bytes ? std::optional<ByteView>(**bytes) : std::nullopt, record.timestamp);

    StreamRecord out;
    out.key = record.key;
    out.value = std::move(*updated);
    out.timestamp = record.timestamp;
    out.headers = record.headers;
    return context().forward(out);
  }

 private:
  std::string store_name_;
  AggregationRunner runner_;
  SerdePtr key_serde_;
  KeyValueStore* store_ = nullptr;
};

class TableSourceProcessor final : public Processor {
 public:
  TableSourceProcessor(std::string store, SerdePtr key_serde, SerdePtr value_serde)
      : store_name_(std::move(store)),
        key_serde_(std::move(key_serde)),
        value_serde_(std::move(value_serde)) {}

  Result<void> init(ProcessorContext& context) override {
    context_ = &context;
    if (!key_serde_ || !value_serde_) {
      return make_error(Errc::invalid_config,
                        "table '" + store_name_ + "' needs key and value serdes");
    }
    auto store = find_kv_store(context, store_name_);
    if (!store) return std::unexpected(std::move(store.error()));
    store_ = *store;
    return {};
  }

  Result<void> process(const StreamRecord& record) override {
    if (is_null(record.key)) {
      context().record_dropped("null key");
      return {};
    }
    auto key = key_serde_->serialize(record.key);
    if (!key) return std::unexpected(std::move(key.error()));
    if (!*key) {
      context().record_dropped("null key");
      return {};
    }
    auto value = value_serde_->serialize(record.value);
    if (!value) return std::unexpected(std::move(value.error()));
    store_->put(**key, *value ? std::optional<ByteView>(**value) : std::nullopt, record.timestamp);
    return context().forward(record);
  }

 private:
  std::string store_name_;
  SerdePtr key_serde_;
  SerdePtr value_serde_;
  KeyValueStore* store_ = nullptr;
};

}  // namespace

ProcessorFactory aggregate_op(std::string store, Aggregation aggregation, SerdePtr key_serde) {
  return [store = std::move(store), aggregation = std::move(aggregation),
          key_serde = std::move(key_serde)]() -> std::unique_ptr<Processor> {
    return std::make_unique<AggregateProcessor>(store, aggregation, key_serde);
  };
}

ProcessorFactory table_source_op(std::string store, SerdePtr key_serde, SerdePtr value_serde) {
  return [store = std::move(store), key_serde = std::move(key_serde),
          value_serde = std::move(value_serde)]() -> std::unique_ptr<Processor> {
    return std::make_unique<TableSourceProcessor>(store, key_serde, value_serde);
  };
}

}  // namespace kafkacore::streams
