// Stateless operators: filter, map, flat_map, select_key, peek/foreach, branch, pass-through and
// timestamp assignment. Errors from user functions leave process() as they are.
#include <memory>
#include <utility>
#include <vector>

#include "streams/operators.h"

namespace kafkacore::streams {

namespace {

// A processor whose process() is one callable given (context, record).
template <typename Fn>
class LambdaProcessor final : public Processor {
 public:
  explicit LambdaProcessor(Fn fn) : fn_(std::move(fn)) {}
  Result<void> process(const StreamRecord& record) override { return fn_(context(), record); }

 private:
  Fn fn_;
};

// Each factory call gets its own copy of `fn` (and of the user function it captured).
template <typename Fn>
ProcessorFactory factory(Fn fn) {
  return [fn = std::move(fn)]() -> std::unique_ptr<Processor> {
    return std::make_unique<LambdaProcessor<Fn>>(fn);
  };
}

StreamRecord with_key_value(const StreamRecord& in, Value key, Value value) {
  StreamRecord out;
  out.key = std::move(key);
  out.value = std::move(value);
  out.timestamp = in.timestamp;
  out.headers = in.headers;
  return out;  // window cleared: the key is new
}

}  // namespace

ProcessorFactory filter_op(Predicate predicate, bool negate) {
  return factory([predicate = std::move(predicate), negate](ProcessorContext& ctx,
                                                            const StreamRecord& r) -> Result<void> {
    auto keep = predicate(r);
    if (!keep) return std::unexpected(std::move(keep.error()));
    if (*keep != negate) return ctx.forward(r);
    return {};
  });
}

ProcessorFactory map_op(KeyValueMapper mapper) {
  return factory(
      [mapper = std::move(mapper)](ProcessorContext& ctx, const StreamRecord& r) -> Result<void> {
        auto kv = mapper(r);
        if (!kv) return std::unexpected(std::move(kv.error()));
        return ctx.forward(with_key_value(r, std::move(kv->first), std::move(kv->second)));
      });
}

ProcessorFactory map_values_op(ValueMapper mapper) {
  return factory(
      [mapper = std::move(mapper)](ProcessorContext& ctx, const StreamRecord& r) -> Result<void> {
        auto value = mapper(r);
        if (!value) return std::unexpected(std::move(value.error()));
        StreamRecord out = r;
        out.value = std::move(*value);
        return ctx.forward(out);
      });
}

ProcessorFactory flat_map_op(FlatMapper mapper) {
  return factory(
      [mapper = std::move(mapper)](ProcessorContext& ctx, const StreamRecord& r) -> Result<void> {
        auto kvs = mapper(r);
        if (!kvs) return std::unexpected(std::move(kvs.error()));
        for (auto& [k, v] : *kvs) {
          if (auto ok = ctx.forward(with_key_value(r, std::move(k), std::move(v))); !ok) return ok;
        }
        return {};
      });
}

ProcessorFactory flat_map_values_op(FlatValueMapper mapper) {
  return factory(
      [mapper = std::move(mapper)](ProcessorContext& ctx, const StreamRecord& r) -> Result<void> {
        auto values = mapper(r);
        if (!values) return std::unexpected(std::move(values.error()));
        StreamRecord out = r;
        for (auto& v : *values) {
          out.value = std::move(v);
          if (auto ok = ctx.forward(out); !ok) return ok;
        }
        return {};
      });
}

ProcessorFactory select_key_op(KeySelector selector) {
  return factory([selector = std::move(selector)](ProcessorContext& ctx,
                                                  const StreamRecord& r) -> Result<void> {
    auto key = selector(r);
    if (!key) return std::unexpected(std::move(key.error()));
    return ctx.forward(with_key_value(r, std::move(*key), r.value));
  });
}

ProcessorFactory peek_op(ForeachAction action, bool forward) {
  return factory([action = std::move(action), forward](ProcessorContext& ctx,
                                                       const StreamRecord& r) -> Result<void> {
    if (auto ok = action(r); !ok) return ok;
    if (forward) return ctx.forward(r);
    return {};
  });
}

ProcessorFactory branch_op(std::vector<Predicate> predicates, bool has_default_branch) {
  return factory([predicates = std::move(predicates), has_default_branch](
                     ProcessorContext& ctx, const StreamRecord& r) -> Result<void> {
    for (size_t i = 0; i < predicates.size(); ++i) {
      auto holds = predicates[i](r);
      if (!holds) return std::unexpected(std::move(holds.error()));
      if (*holds) return ctx.forward_to(i, r);
    }
    if (has_default_branch) return ctx.forward_to(predicates.size(), r);
    return {};
  });
}

ProcessorFactory pass_through_op() {
  return factory(
      [](ProcessorContext& ctx, const StreamRecord& r) -> Result<void> { return ctx.forward(r); });
}

ProcessorFactory timestamp_op(TimestampExtractor extractor) {
  return factory([extractor = std::move(extractor)](ProcessorContext& ctx,
                                                    const StreamRecord& r) -> Result<void> {
    auto ts = extractor(r);
    if (!ts) return std::unexpected(std::move(ts.error()));
    StreamRecord out = r;
    out.timestamp = *ts;
    return ctx.forward(out);
  });
}

}  // namespace kafkacore::streams
