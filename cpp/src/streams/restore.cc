#include "streams/restore.h"

#include <map>

#include "client/consumer.h"
#include "common/log.h"

namespace kafkacore::streams {

using std::chrono::milliseconds;

Result<int64_t> restore_stores(const client::Properties& consumer_config,
                               const std::vector<RestoreTarget>& targets,
                               const std::atomic<bool>& stop,
                               std::chrono::milliseconds stall_timeout) {
  auto created = client::Consumer::create(consumer_config);
  if (!created) return std::unexpected(created.error());
  client::Consumer& consumer = **created;
  std::vector<client::TopicPartition> partitions;
  std::map<client::TopicPartition, StateStore*> store_of;
  for (const auto& t : targets) {
    partitions.push_back(t.source);
    store_of[t.source] = t.store;
  }
  // End offsets before assigning: an assigned partition starts fetching, and a lookup sent
  // later would queue behind that fetch on the same connection. A lookup that cannot finish is
  // a restore making no progress too.
  auto ends = consumer.end_offsets(partitions, stall_timeout);
  if (!ends && ends.error().code() != Errc::request_timed_out) {
    return std::unexpected(ends.error());
  }
  if (!ends) {
    return make_error(Errc::request_timed_out,
                      "restoring state from " + partitions.front().to_string() +
                          " made no progress for " + std::to_string(stall_timeout.count()) +
                          " ms (looking up its end offset: " + ends.error().message() + ")");
  }
  if (auto ok = consumer.assign(partitions); !ok) return std::unexpected(ok.error());
  if (auto ok = consumer.seek_to_beginning(partitions); !ok) return std::unexpected(ok.error());
  std::map<client::TopicPartition, int64_t> remaining;  // partition -> end offset
  for (const auto& [tp, end] : *ends) {
    auto position = consumer.position(tp, milliseconds(30'000));
    if (!position) return std::unexpected(position.error());
    if (*position < end) remaining[tp] = end;
  }
  int64_t applied = 0;
  auto last_progress = std::chrono::steady_clock::now();
  while (!remaining.empty() && !stop.load()) {
    auto records = consumer.poll(milliseconds(100));
    if (!records) return std::unexpected(records.error());
    if (!records->empty()) {
      last_progress = std::chrono::steady_clock::now();
    } else if (std::chrono::steady_clock::now() - last_progress > stall_timeout) {
      const auto& [tp, end] = *remaining.begin();
      auto position = consumer.position(tp, milliseconds(1000));
      return make_error(Errc::request_timed_out,
                        "restoring state from " + tp.to_string() + " made no progress for " +
                            std::to_string(stall_timeout.count()) + " ms (at offset " +
                            (position ? std::to_string(*position) : std::string("?")) + " of " +
                            std::to_string(end) + ")");
    }
    for (const auto& r : *records) {
      client::TopicPartition tp{r.topic, r.partition};
      auto it = remaining.find(tp);
      if (it == remaining.end() || r.offset >= it->second) continue;
      std::optional<ByteView> value;
      if (r.value) value = ByteView(*r.value);
      store_of.at(tp)->restore(r.key ? ByteView(*r.key) : ByteView(), value);
      ++applied;
    }
    // Compacted changelogs have gaps: the position, not the last offset seen, says we are done.
    for (auto it = remaining.begin(); it != remaining.end();) {
      auto position = consumer.position(it->first, milliseconds(30'000));
      if (!position) return std::unexpected(position.error());
      it = *position >= it->second ? remaining.erase(it) : std::next(it);
    }
  }
  consumer.close(milliseconds(5000));
  KC_LOG(debug, "streams", "restored stores", {{"records", std::to_string(applied)}});
  return applied;
}

}  // namespace kafkacore::streams
