#include "streams/restore.h"

#include <algorithm>
#include <map>
#include <string>

#include "client/consumer.h"
#include "common/log.h"

namespace kafkacore::streams {

using std::chrono::milliseconds;

namespace {

using Clock = std::chrono::steady_clock;

// Every wait of a restore (lookups, positions, polls) counts against one clock that restarts
// whenever records arrive: whatever step is stuck, the restore fails after `stall_timeout`
// without progress, naming the partition, instead of after some step's own timeout.
class StallClock {
 public:
  explicit StallClock(milliseconds stall_timeout) : timeout_(stall_timeout) {}

  void progressed() { last_progress_ = Clock::now(); }
  bool expired() const { return Clock::now() - last_progress_ > timeout_; }
  // What is left of the allowance, for a blocking call (at least 1 ms: an expired clock is
  // reported by that call timing out).
  milliseconds left() const {
    auto left =
        std::chrono::duration_cast<milliseconds>(timeout_ - (Clock::now() - last_progress_));
    return std::max(left, milliseconds(1));
  }

  std::unexpected<Error> no_progress(const client::TopicPartition& tp,
                                     const std::string& detail) const {
    return make_error(Errc::request_timed_out,
                      "restoring state from " + tp.to_string() + " made no progress for " +
                          std::to_string(timeout_.count()) + " ms (" + detail + ")");
  }

 private:
  milliseconds timeout_;
  Clock::time_point last_progress_ = Clock::now();
};

// A call that timed out is the restore making no progress; other errors are themselves.
template <typename T>
Result<T> within(Result<T> r, const StallClock& clock, const client::TopicPartition& tp,
                 const std::string& step) {
  if (r || r.error().code() != Errc::request_timed_out) return r;
  return clock.no_progress(tp, step + ": " + r.error().message());
}

}  // namespace

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
  StallClock clock(stall_timeout);
  // End offsets before assigning: an assigned partition starts fetching, and a lookup sent
  // later would queue behind that fetch on the same connection.
  auto ends = within(consumer.end_offsets(partitions, clock.left()), clock, partitions.front(),
                     "looking up its end offset");
  if (!ends) return std::unexpected(ends.error());
  clock.progressed();  // each step that completes is progress
  if (auto ok = consumer.assign(partitions); !ok) return std::unexpected(ok.error());
  if (auto ok = consumer.seek_to_beginning(partitions); !ok) return std::unexpected(ok.error());
  std::map<client::TopicPartition, int64_t> remaining;  // partition -> end offset
  for (const auto& [tp, end] : *ends) {
    auto position =
        within(consumer.position(tp, clock.left()), clock, tp, "looking up its start offset");
    if (!position) return std::unexpected(position.error());
    clock.progressed();
    if (*position < end) remaining[tp] = end;
  }
  int64_t applied = 0;
  while (!remaining.empty() && !stop.load()) {
    auto records = consumer.poll(std::min(milliseconds(100), clock.left()));
    if (!records) return std::unexpected(records.error());
    if (!records->empty()) {
      clock.progressed();
    } else if (clock.expired()) {
      const auto& [tp, end] = *remaining.begin();
      auto position = consumer.position(tp, milliseconds(100));
      return clock.no_progress(tp, "at offset " +
                                       (position ? std::to_string(*position) : std::string("?")) +
                                       " of " + std::to_string(end));
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
      auto position = within(consumer.position(it->first, clock.left()), clock, it->first,
                             "reading its position");
      if (!position) return std::unexpected(position.error());
      it = *position >= it->second ? remaining.erase(it) : std::next(it);
    }
  }
  consumer.close(milliseconds(5000));
  KC_LOG(debug, "streams", "restored stores", {{"records", std::to_string(applied)}});
  return applied;
}

}  // namespace kafkacore::streams
