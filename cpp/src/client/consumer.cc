// The user-thread half of the consumer: hands work to the io thread (ConsumerCore), waits for
// answers, and runs rebalance listeners and commit callbacks on the calling thread.
#include "client/consumer.h"

#include <atomic>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <regex>
#include <thread>

#include "client/consumer_config.h"
#include "client/consumer_core.h"
#include "client/consumer_errors.h"
#include "client/io_thread.h"
#include "common/log.h"

namespace kafkacore::client {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

Clock::time_point deadline_after(milliseconds timeout) {
  // Saturate: milliseconds::max() means "no limit" to callers.
  const auto now = Clock::now();
  if (timeout >= std::chrono::duration_cast<milliseconds>(Clock::time_point::max() - now)) {
    return Clock::time_point::max();
  }
  return now + std::max(timeout, milliseconds(0));
}

}  // namespace

struct Consumer::Impl {
  ConsumerConfig config;
  IoThread io{"kc-consumer"};
  std::unique_ptr<ConsumerCore> core;
  std::shared_ptr<RebalanceListener> listener;

  // Wake-ups from the io thread, and close() interrupting a wait on another thread.
  std::mutex mutex;
  std::condition_variable cv;
  uint64_t wake_seq = 0;
  bool interrupted = false;

  // Held by every public method, so close() from another thread waits for the user's call
  // (after interrupting it). Recursive: listeners call back into the consumer.
  std::recursive_mutex user_mutex;
  std::atomic<bool> closing{false};
  std::atomic<bool> closed{false};
  // close() runs the listener and commits; calls from its own thread must still work.
  std::atomic<std::thread::id> closing_thread{};
  // Set while user code (listener, commit callback) runs: close() from there would stop the
  // io thread under the poll() that called it.
  std::atomic<int> callback_depth{0};
  std::atomic<std::thread::id> callback_thread{};

  struct CallbackScope {
    explicit CallbackScope(Impl& i) : impl(i) {
      if (impl.callback_depth++ == 0) impl.callback_thread = std::this_thread::get_id();
    }
    ~CallbackScope() {
      if (--impl.callback_depth == 0) impl.callback_thread = std::thread::id{};
    }
    Impl& impl;
  };
  bool in_callback() const {
    return callback_depth > 0 && callback_thread.load() == std::this_thread::get_id();
  }

  explicit Impl(ConsumerConfig c) : config(std::move(c)) {
    core = io.call(
        [this] { return std::make_unique<ConsumerCore>(io.io(), config, [this] { wake(); }); });
  }

  ~Impl() {
    // close() normally did this already.
    if (core) {
      io.call([this] { core->close(); });
      io.stop();
      core.reset();
    }
  }

  void wake() {
    {
      std::lock_guard lock(mutex);
      ++wake_seq;
    }
    cv.notify_all();
  }

  uint64_t seen() {
    std::lock_guard lock(mutex);
    return wake_seq;
  }

  // Waits for a wake-up after `seen`, the deadline, or an interrupt; false when interrupted.
  bool wait(uint64_t seen_seq, Clock::time_point deadline) {
    std::unique_lock lock(mutex);
    cv.wait_until(lock, deadline, [&] { return wake_seq != seen_seq || interrupted; });
    return !interrupted;
  }

  bool is_interrupted() {
    std::lock_guard lock(mutex);
    return interrupted;
  }

  template <typename Fn>
  auto call(Fn&& fn) {
    return io.call(std::forward<Fn>(fn));
  }

  // Starts an asynchronous operation on the io thread and waits for its result.
  template <typename T, typename Start>
  Result<T> await(Clock::time_point deadline, Start start, const std::string& what) {
    auto result = std::make_shared<std::optional<Result<T>>>();
    io.post([this, result, start = std::move(start)]() mutable {
      start([this, result](Result<T> r) {
        {
          std::lock_guard lock(mutex);
          *result = std::move(r);
          ++wake_seq;
        }
        cv.notify_all();
      });
    });
    std::unique_lock lock(mutex);
    cv.wait_until(lock, deadline, [&] { return result->has_value() || interrupted; });
    if (result->has_value()) return std::move(**result);
    if (interrupted) return std::unexpected(consumer_closed_error());
    return std::unexpected(timed_out_error(what, std::nullopt));
  }

  Result<void> check_open() const {
    if (closed || (closing && closing_thread.load() != std::this_thread::get_id())) {
      return std::unexpected(consumer_closed_error());
    }
    return {};
  }

  Result<void> commit_until(std::map<TopicPartition, OffsetAndMetadata> offsets,
                            Clock::time_point deadline) {
    if (offsets.empty()) return {};
    return await<void>(
        deadline,
        [this, offsets = std::move(offsets), deadline](auto done) mutable {
          core->commit(std::move(offsets), deadline, true, std::move(done));
        },
        "OffsetCommit");
  }

  std::map<TopicPartition, OffsetAndMetadata> consumed(const std::vector<TopicPartition>* only) {
    auto all = call([this] { return core->subscriptions().consumed(); });
    if (!only) return all;
    std::map<TopicPartition, OffsetAndMetadata> out;
    for (const TopicPartition& tp : *only) {
      if (auto it = all.find(tp); it != all.end()) out.insert(*it);
    }
    return out;
  }

  // A bound for the commits a rebalance makes on the user's behalf.
  Clock::time_point rebalance_commit_deadline() const {
    return deadline_after(std::min(config.default_api_timeout, config.max_poll_interval));
  }

  // Runs user code; an exception it throws is kept for the caller to rethrow once the
  // consumer's own bookkeeping is done (a rebalance must not stall half-way).
  template <typename Fn>
  static void guarded(std::exception_ptr& error, Fn&& fn) {
    try {
      fn();
    } catch (...) {
      if (!error) error = std::current_exception();
    }
  }

  void handle_event(const RebalanceEvent& event, std::exception_ptr& error) {
    const bool cooperative = call([this] { return core->cooperative(); });
    if (event.kind == RebalanceEvent::Kind::prepare) {
      if (event.lost) {
        if (listener && !event.revoked.empty()) {
          guarded(error, [&] { listener->on_partitions_lost(event.revoked); });
        }
      } else {
        if (event.commit) {
          if (auto r = commit_until(consumed(nullptr), rebalance_commit_deadline()); !r) {
            KC_LOG(warn, "consumer", "commit before rebalance failed",
                   {{"error", r.error().to_string()}});
          }
        }
        // Eager: always (even empty), as Java; cooperative: only when something goes.
        if (listener && (!cooperative || !event.revoked.empty())) {
          guarded(error, [&] { listener->on_partitions_revoked(event.revoked); });
        }
      }
      call([this, &event] { core->prepare_done(event); });
      return;
    }
    if (!event.revoked.empty()) {
      if (event.commit) {
        if (auto r = commit_until(consumed(&event.revoked), rebalance_commit_deadline()); !r) {
          KC_LOG(warn, "consumer", "commit of revoked partitions failed",
                 {{"error", r.error().to_string()}});
        }
      }
      if (listener) guarded(error, [&] { listener->on_partitions_revoked(event.revoked); });
    }
    call([this, &event] { core->apply_assignment(event); });
    if (listener) guarded(error, [&] { listener->on_partitions_assigned(event.added); });
    call([this, &event] { core->assignment_done(event); });
  }

  // unsubscribe()/close(): the listener learns that the assigned partitions go (lost when
  // the membership already was).
  void revoke_for_leaving(std::exception_ptr& error) {
    if (!listener) return;
    struct Owned {
      std::vector<TopicPartition> partitions;
      bool lost = false;
    };
    Owned owned = call([this] {
      Owned o;
      if (core->subscriptions().auto_assigned()) {
        o.partitions = core->subscriptions().assigned();
        o.lost = core->generation() < 0;
      }
      return o;
    });
    if (owned.partitions.empty()) return;
    CallbackScope scope(*this);
    guarded(error, [&] {
      if (owned.lost) {
        listener->on_partitions_lost(owned.partitions);
      } else {
        listener->on_partitions_revoked(owned.partitions);
      }
    });
  }

  // Commit callbacks and rebalance steps that were due, on this thread.
  void run_work(ConsumerCore::UserWork work) {
    CallbackScope scope(*this);
    std::exception_ptr error;
    for (auto& [callback, result] : work.callbacks) {
      guarded(error, [&] { callback(std::move(result)); });
    }
    for (const RebalanceEvent& event : work.events) handle_event(event, error);
    if (error) std::rethrow_exception(error);
  }

  void run_callbacks_only() {
    // commit_sync() runs finished async callbacks (as Java does); rebalance steps wait for poll().
    auto callbacks = call([this] { return core->take_callbacks(); });
    CallbackScope scope(*this);
    std::exception_ptr error;
    for (auto& [callback, result] : callbacks) {
      guarded(error, [&] { callback(std::move(result)); });
    }
    if (error) std::rethrow_exception(error);
  }
};

// ---- construction

Result<std::unique_ptr<Consumer>> Consumer::create(Properties config) {
  auto parsed = parse_consumer_config(std::move(config));
  if (!parsed) return std::unexpected(parsed.error());
  return std::unique_ptr<Consumer>(new Consumer(std::make_unique<Impl>(std::move(*parsed))));
}

Consumer::Consumer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Consumer::~Consumer() {
  if (impl_ && !impl_->closed) (void)close(milliseconds(0));
}

// ---- subscription

Result<void> Consumer::subscribe(std::vector<std::string> topics,
                                 std::shared_ptr<RebalanceListener> listener) {
  std::lock_guard user(impl_->user_mutex);
  if (auto r = impl_->check_open(); !r) return r;
  if (!impl_->config.group_id) {
    return make_error(Errc::invalid_group_id, "subscribe() needs a group.id");
  }
  if (topics.empty()) {
    unsubscribe();
    return {};
  }
  for (const std::string& t : topics) {
    if (t.empty()) return make_error(Errc::invalid_topic_exception, "empty topic name");
  }
  std::set<std::string> set(topics.begin(), topics.end());
  auto r = impl_->call([&] { return impl_->core->subscribe(std::move(set)); });
  if (r) impl_->listener = std::move(listener);
  return r;
}

Result<void> Consumer::subscribe_pattern(std::string regex,
                                         std::shared_ptr<RebalanceListener> listener) {
  std::lock_guard user(impl_->user_mutex);
  if (auto r = impl_->check_open(); !r) return r;
  if (!impl_->config.group_id) {
    return make_error(Errc::invalid_group_id, "subscribe_pattern() needs a group.id");
  }
  std::regex pattern;
  try {
    pattern = std::regex(regex, std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    return make_error(Errc::invalid_request, "bad pattern '" + regex + "': " + e.what());
  }
  auto r = impl_->call(
      [&] { return impl_->core->subscribe_pattern(std::move(regex), std::move(pattern)); });
  if (r) impl_->listener = std::move(listener);
  return r;
}

void Consumer::unsubscribe() {
  std::lock_guard user(impl_->user_mutex);
  if (!impl_->check_open()) return;
  std::exception_ptr error;
  impl_->revoke_for_leaving(error);
  impl_->call([&] { impl_->core->unsubscribe(); });
  impl_->listener.reset();
  if (error) std::rethrow_exception(error);
}

Result<void> Consumer::assign(std::vector<TopicPartition> partitions) {
  std::lock_guard user(impl_->user_mutex);
  if (auto r = impl_->check_open(); !r) return r;
  for (const TopicPartition& tp : partitions) {
    if (tp.topic.empty() || tp.partition < 0) {
      return make_error(Errc::invalid_request, "assign(): bad partition '" + tp.to_string() + "'");
    }
  }
  return impl_->call([&]() -> Result<void> {
    // Java commits what was consumed before the assignment changes.
    if (impl_->core->subscriptions().type() == SubscriptionType::manual) {
      impl_->core->auto_commit_now();
    }
    return impl_->core->assign(partitions);
  });
}

std::vector<TopicPartition> Consumer::assignment() const {
  std::lock_guard user(impl_->user_mutex);
  if (!impl_->check_open()) return {};
  return impl_->call([&] { return impl_->core->subscriptions().assigned(); });
}

std::vector<std::string> Consumer::subscription() const {
  std::lock_guard user(impl_->user_mutex);
  if (!impl_->check_open()) return {};
  return impl_->call([&] {
    const SubscriptionState& s = impl_->core->subscriptions();
    if (!s.auto_assigned()) return std::vector<std::string>{};
    return std::vector<std::string>(s.topics().begin(), s.topics().end());
  });
}

// ---- poll

Result<std::vector<ConsumerRecord>> Consumer::poll(milliseconds timeout) {
  auto polled = poll_shared(timeout);
  if (!polled) return std::unexpected(std::move(polled.error()));
  return polled->to_records();  // on this thread: the io thread only decodes
}

Result<PolledRecords> Consumer::poll_shared(milliseconds timeout) {
  std::lock_guard user(impl_->user_mutex);
  if (auto r = impl_->check_open(); !r) return std::unexpected(r.error());
  const auto deadline = deadline_after(timeout);
  Impl& impl = *impl_;
  // One round trip to the io thread per poll when records are waiting (each costs a thread
  // wake-up both ways): the start rides with the first step, and the end is posted, not waited
  // for (anything the user does next queues behind it).
  struct PollEnd {
    Impl& impl;
    ~PollEnd() {
      impl.io.post([core = impl.core.get()] { core->poll_ended(); });
    }
  } end{impl};
  const auto max = static_cast<size_t>(impl.config.max_poll_records);
  bool started = false;
  while (true) {
    const uint64_t seen = impl.seen();
    ConsumerCore::PollStep step = impl.call([&] {
      if (!std::exchange(started, true)) impl.core->poll_started();
      return impl.core->poll_step(max);
    });
    if (!step.work.empty()) {
      impl.run_work(std::move(step.work));
      continue;
    }
    auto& records = step.records;
    if (!records || !records->empty()) return std::move(records);
    if (impl.is_interrupted()) return std::unexpected(consumer_closed_error());
    if (Clock::now() >= deadline) return records;
    if (!impl.wait(seen, deadline)) return std::unexpected(consumer_closed_error());
  }
}

// ---- positions

void Consumer::seek(const TopicPartition& tp, int64_t offset) {
  std::lock_guard user(impl_->user_mutex);
  if (!impl_->check_open()) return;
  impl_->call([&] { impl_->core->seek(tp, offset); });
}

Result<void> Consumer::seek_to_beginning(const std::vector<TopicPartition>& tps) {
  std::lock_guard user(impl_->user_mutex);
  if (auto r = impl_->check_open(); !r) return r;
  return impl_->call([&] { return impl_->core->seek_to(tps, OffsetResetPolicy::earliest); });
}

Result<void> Consumer::seek_to_end(const std::vector<TopicPartition>& tps) {
  std::lock_guard user(impl_->user_mutex);
  if (auto r = impl_->check_open(); !r) return r;
  return impl_->call([&] { return impl_->core->seek_to(tps, OffsetResetPolicy::latest); });
}

Result<int64_t> Consumer::position(const TopicPartition& tp, milliseconds timeout) {
  std::lock_guard user(impl_->user_mutex);
  if (auto r = impl_->check_open(); !r) return std::unexpected(r.error());
  const auto deadline = deadline_after(timeout);
  while (true) {
    const uint64_t seen = impl_->seen();
    auto r = impl_->call([&] { return impl_->core->position(tp); });
    if (r) return *r;
    if (Clock::now() >= deadline) {
      return std::unexpected(timed_out_error("position() of " + tp.to_string(), std::nullopt));
    }
    if (!impl_->wait(seen, deadline)) return std::unexpected(consumer_closed_error());
  }
}

std::optional<int64_t> Consumer::current_lag(const TopicPartition& tp) {
  std::lock_guard user(impl_->user_mutex);
  if (auto r = impl_->check_open(); !r) return std::nullopt;
  return impl_->call([&] { return impl_->core->current_lag(tp); });
}

Result<std::map<TopicPartition, std::optional<OffsetAndMetadata>>> Consumer::committed(
    const std::vector<TopicPartition>& tps, milliseconds timeout) {
  std::lock_guard user(impl_->user_mutex);
  if (auto r = impl_->check_open(); !r) return std::unexpected(r.error());
  const auto deadline = deadline_after(timeout);
  return impl_->await<OffsetCommitter::Committed>(
      deadline,
      [this, tps, deadline](auto done) { impl_->core->fetch_committed(tps, deadline, done); },
      "committed()");
}

// ---- commits

Result<void> Consumer::commit_sync(milliseconds timeout) {
  std::lock_guard user(impl_->user_mutex);
  if (auto r = impl_->check_open(); !r) return r;
  if (!impl_->config.group_id) {
    return make_error(Errc::invalid_group_id, "commit_sync() needs a group.id");
  }
  return commit_sync(impl_->consumed(nullptr), timeout);
}

Result<void> Consumer::commit_sync(const std::map<TopicPartition, OffsetAndMetadata>& offsets,
                                   milliseconds timeout) {
  std::lock_guard user(impl_->user_mutex);
  if (auto r = impl_->check_open(); !r) return r;
  if (!impl_->config.group_id) {
    return make_error(Errc::invalid_group_id, "commit_sync() needs a group.id");
  }
  for (const auto& [tp, om] : offsets) {
    if (om.offset < 0) {
      return make_error(Errc::invalid_request,
                        "commit_sync(): negative offset for " + tp.to_string());
    }
  }
  impl_->run_callbacks_only();
  return impl_->commit_until(offsets, deadline_after(timeout));
}

void Consumer::commit_async(std::function<void(Result<void>)> callback) {
  std::lock_guard user(impl_->user_mutex);
  if (auto r = impl_->check_open(); !r) {
    if (callback) callback(std::unexpected(r.error()));
    return;
  }
  commit_async(impl_->consumed(nullptr), std::move(callback));
}

void Consumer::commit_async(std::map<TopicPartition, OffsetAndMetadata> offsets,
                            std::function<void(Result<void>)> callback) {
  std::lock_guard user(impl_->user_mutex);
  if (auto r = impl_->check_open(); !r) {
    if (callback) callback(std::unexpected(r.error()));
    return;
  }
  impl_->call([&] { impl_->core->commit_async(std::move(offsets), std::move(callback)); });
}

// ---- offsets by time

namespace {

template <typename Out, typename Convert>
Result<Out> list_offsets(Consumer::Impl& impl, std::map<TopicPartition, int64_t> timestamps,
                         milliseconds timeout, const std::string& what, Convert convert) {
  const auto deadline = deadline_after(timeout);
  auto listed = impl.await<std::map<TopicPartition, TimestampedOffset>>(
      deadline,
      [&impl, timestamps = std::move(timestamps), deadline](auto done) mutable {
        impl.core->list_offsets(std::move(timestamps), deadline, done);
      },
      what);
  if (!listed) return std::unexpected(listed.error());
  Out out;
  for (const auto& [tp, l] : *listed) out[tp] = convert(l);
  return out;
}

}  // namespace

Result<std::map<TopicPartition, std::optional<std::pair<int64_t, int64_t>>>>
Consumer::offsets_for_times(const std::map<TopicPartition, int64_t>& timestamps,
                            milliseconds timeout) {
  std::lock_guard user(impl_->user_mutex);
  if (auto r = impl_->check_open(); !r) return std::unexpected(r.error());
  for (const auto& [tp, ts] : timestamps) {
    if (ts < 0) {
      return make_error(Errc::invalid_request,
                        "offsets_for_times(): negative timestamp for " + tp.to_string());
    }
  }
  using Out = std::map<TopicPartition, std::optional<std::pair<int64_t, int64_t>>>;
  return list_offsets<Out>(
      *impl_, timestamps, timeout, "offsets_for_times()",
      [](const TimestampedOffset& l) -> std::optional<std::pair<int64_t, int64_t>> {
        if (l.offset < 0) return std::nullopt;
        return std::make_pair(l.offset, l.timestamp);
      });
}

Result<std::map<TopicPartition, int64_t>> Consumer::beginning_offsets(
    const std::vector<TopicPartition>& tps, milliseconds timeout) {
  std::lock_guard user(impl_->user_mutex);
  if (auto r = impl_->check_open(); !r) return std::unexpected(r.error());
  std::map<TopicPartition, int64_t> timestamps;
  for (const TopicPartition& tp : tps) timestamps[tp] = kEarliestTimestamp;
  return list_offsets<std::map<TopicPartition, int64_t>>(
      *impl_, std::move(timestamps), timeout, "beginning_offsets()",
      [](const TimestampedOffset& l) { return l.offset; });
}

Result<std::map<TopicPartition, int64_t>> Consumer::end_offsets(
    const std::vector<TopicPartition>& tps, milliseconds timeout) {
  std::lock_guard user(impl_->user_mutex);
  if (auto r = impl_->check_open(); !r) return std::unexpected(r.error());
  std::map<TopicPartition, int64_t> timestamps;
  for (const TopicPartition& tp : tps) timestamps[tp] = kLatestTimestamp;
  return list_offsets<std::map<TopicPartition, int64_t>>(
      *impl_, std::move(timestamps), timeout, "end_offsets()",
      [](const TimestampedOffset& l) { return l.offset; });
}

// ---- pause

void Consumer::pause(const std::vector<TopicPartition>& tps) {
  std::lock_guard user(impl_->user_mutex);
  if (!impl_->check_open()) return;
  impl_->call([&] { impl_->core->set_paused(tps, true); });
}

void Consumer::resume(const std::vector<TopicPartition>& tps) {
  std::lock_guard user(impl_->user_mutex);
  if (!impl_->check_open()) return;
  impl_->call([&] { impl_->core->set_paused(tps, false); });
}

std::vector<TopicPartition> Consumer::paused() const {
  std::lock_guard user(impl_->user_mutex);
  if (!impl_->check_open()) return {};
  return impl_->call([&] { return impl_->core->paused(); });
}

// ---- metadata

Result<std::vector<TopicPartition>> Consumer::partitions_for(const std::string& topic,
                                                             milliseconds timeout) {
  std::lock_guard user(impl_->user_mutex);
  if (auto r = impl_->check_open(); !r) return std::unexpected(r.error());
  const auto deadline = deadline_after(timeout);
  auto md = impl_->await<ClusterMetadata>(
      deadline,
      [this, topic, deadline](auto done) {
        impl_->core->describe_topics(std::vector<std::string>{topic}, deadline, done);
      },
      "partitions_for()");
  if (!md) return std::unexpected(md.error());
  std::vector<TopicPartition> out;
  const TopicInfo* info = md->topic(topic);
  if (!info || info->error == Errc::unknown_topic_or_partition) return out;  // as Java: empty
  if (info->error != Errc::none) {
    return make_error(info->error,
                      "partitions_for(" + topic + "): " + std::string(errc_name(info->error)));
  }
  for (const PartitionInfo& p : info->partitions) out.push_back({topic, p.partition});
  return out;
}

Result<std::vector<std::string>> Consumer::list_topics(milliseconds timeout) {
  std::lock_guard user(impl_->user_mutex);
  if (auto r = impl_->check_open(); !r) return std::unexpected(r.error());
  const auto deadline = deadline_after(timeout);
  auto md = impl_->await<ClusterMetadata>(
      deadline,
      [this, deadline](auto done) { impl_->core->describe_topics(std::nullopt, deadline, done); },
      "list_topics()");
  if (!md) return std::unexpected(md.error());
  std::vector<std::string> out;
  for (const auto& [name, info] : md->topics) {
    if (info.error == Errc::none) out.push_back(name);
  }
  return out;
}

// ---- group

std::string Consumer::member_id() const {
  std::lock_guard user(impl_->user_mutex);
  if (!impl_->check_open()) return {};
  return impl_->call([&] { return impl_->core->member_id(); });
}

int32_t Consumer::generation() const {
  std::lock_guard user(impl_->user_mutex);
  if (!impl_->check_open()) return -1;
  return impl_->call([&] { return impl_->core->generation(); });
}

std::optional<std::string> Consumer::group_id() const { return impl_->config.group_id; }

// ---- close

Result<void> Consumer::close(milliseconds timeout) {
  Impl& impl = *impl_;
  if (impl.closed) return {};
  if (impl.in_callback()) {
    return make_error(Errc::invalid_request,
                      "close() cannot be called from a rebalance listener or commit callback");
  }
  {
    std::lock_guard lock(impl.mutex);
    impl.interrupted = true;  // wakes a poll() blocked on another thread
  }
  impl.closing = true;
  impl.cv.notify_all();
  std::lock_guard user(impl.user_mutex);
  if (impl.closed) return {};
  impl.closing_thread = std::this_thread::get_id();
  {
    std::lock_guard lock(impl.mutex);
    impl.interrupted = false;  // our own waits below must not be cut short
  }
  const auto deadline = deadline_after(timeout);
  Result<void> result;
  // close(0) (the destructor) waits for nothing, so it does not try to commit either.
  if (impl.config.enable_auto_commit && timeout > milliseconds(0)) {
    const bool member =
        impl.call([&] { return impl.core->subscriptions().type() != SubscriptionType::none; });
    if (member) {
      if (auto r = impl.commit_until(impl.consumed(nullptr), deadline); !r) {
        KC_LOG(warn, "consumer", "auto-commit on close failed", {{"error", r.error().to_string()}});
        result = r;
      }
    }
  }
  std::exception_ptr error;  // from user code: rethrown once the consumer is shut down
  impl.revoke_for_leaving(error);
  (void)impl.await<void>(
      deadline,
      [&impl](auto done) {
        impl.core->leave("the consumer is being closed", [done] { done({}); });
      },
      "LeaveGroup");
  // Async commits still in flight get until the deadline to finish (Java does the same).
  while (impl.call([&] { return impl.core->commits_in_flight(); }) > 0 && Clock::now() < deadline) {
    const uint64_t seen = impl.seen();
    impl.wait(seen, std::min(deadline, Clock::now() + milliseconds(10)));
  }
  Impl::guarded(error, [&] { impl.run_callbacks_only(); });
  impl.call([&] { impl.core->close(); });  // fails what is left; their callbacks run next
  Impl::guarded(error, [&] { impl.run_callbacks_only(); });
  impl.io.stop();
  impl.core.reset();
  impl.closed = true;
  if (error) std::rethrow_exception(error);
  return result;
}

}  // namespace kafkacore::client
