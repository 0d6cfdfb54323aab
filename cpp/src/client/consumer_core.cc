#include "client/consumer_core.h"

#include <algorithm>

#include "client/consumer_errors.h"
#include "client/errors.h"
#include "common/log.h"

namespace kafkacore::client {

namespace {

Error no_group_error(const std::string& what) {
  return Error(Errc::invalid_group_id, what + " needs a group.id");
}

}  // namespace

ConsumerCore::ConsumerCore(asio::io_context& io, const ConsumerConfig& config,
                           std::function<void()> wake)
    : config_(config),
      wake_(std::move(wake)),
      network_(io, config.client),
      subscriptions_(config.auto_offset_reset),
      lister_(network_, config.isolation_level),
      validator_(network_),
      fetcher_(network_, subscriptions_, config_, [this] {
        update_positions();  // an OFFSET_OUT_OF_RANGE may have asked for a reset
        wake_();
      }) {
  if (config_.group_id) {
    OffsetCommitter::Hooks hooks;
    hooks.identity = [this]() -> Result<CommitIdentity> { return coordinator_->commit_identity(); };
    hooks.on_membership_error = [this](Errc code) { coordinator_->on_commit_error(code); };
    committer_ = std::make_unique<OffsetCommitter>(
        network_, *config_.group_id, config_.isolation_level == IsolationLevel::read_committed,
        std::move(hooks));
    ConsumerCoordinator::Hooks group_hooks;
    group_hooks.emit = [this](RebalanceEvent event) {
      events_.push_back(std::move(event));
      wake_();
    };
    group_hooks.fatal = [this](const Error& error) {
      if (!fatal_) fatal_ = error;
      wake_();
    };
    coordinator_ = std::make_unique<ConsumerCoordinator>(network_, config_, subscriptions_,
                                                         std::move(group_hooks));
  }
  network_.add_metadata_listener([this, alive = alive_](const ClusterMetadata& md) {
    if (!*alive || closed_) return;
    if (coordinator_) coordinator_->on_metadata(md);
    update_positions();
    fetcher_.maybe_send();
  });
  next_auto_commit_ = Clock::now() + config_.auto_commit_interval;
  timer_ = std::make_unique<asio::steady_timer>(io);
  tick();
}

ConsumerCore::~ConsumerCore() { *alive_ = false; }

void ConsumerCore::tick() {
  // Retries after backoffs (fetches, lookups) are picked up here rather than by a timer each.
  const auto period = std::max(network_.options().retry_backoff, std::chrono::milliseconds(10));
  timer_->expires_after(period);
  timer_->async_wait([this, alive = alive_](boost::system::error_code ec) {
    if (ec || !*alive || closed_) return;
    update_positions();
    fetcher_.maybe_send();
    tick();
  });
}

void ConsumerCore::close() {
  if (closed_) return;
  closed_ = true;
  timer_->cancel();
  fetcher_.close();
  lister_.close();
  validator_.close();
  if (committer_) committer_->close();
  if (coordinator_) coordinator_->close();
  network_.close();
}

// ---- subscription

void ConsumerCore::want_subscription_topics() {
  std::set<std::string> topics = subscriptions_.topics();
  for (const std::string& t : subscriptions_.assigned_topics()) topics.insert(t);
  std::vector<std::string> drop;
  for (const std::string& t : wanted_) {
    if (!topics.contains(t)) drop.push_back(t);
  }
  network_.unwant_topics(drop);
  network_.want_topics(std::vector<std::string>(topics.begin(), topics.end()));
  wanted_ = std::move(topics);
}

Result<void> ConsumerCore::subscribe(std::set<std::string> topics) {
  if (!coordinator_) return std::unexpected(no_group_error("subscribe()"));
  if (auto r = subscriptions_.subscribe(std::move(topics)); !r) return r;
  network_.want_all_topics(false);
  want_subscription_topics();
  network_.update_metadata();
  // A changed topic set makes a joined member rejoin (the coordinator compares it with the
  // set it joined with); the first join waits for poll().
  return {};
}

Result<void> ConsumerCore::subscribe_pattern(std::string source, std::regex pattern) {
  if (!coordinator_) return std::unexpected(no_group_error("subscribe_pattern()"));
  if (auto r = subscriptions_.subscribe_pattern(std::move(source), std::move(pattern)); !r) {
    return r;
  }
  network_.want_all_topics(true);
  subscriptions_.update_pattern_topics(network_.metadata(), config_.exclude_internal_topics);
  want_subscription_topics();
  network_.update_metadata();
  return {};
}

Result<void> ConsumerCore::assign(const std::vector<TopicPartition>& partitions) {
  if (auto r = subscriptions_.assign_manual(partitions); !r) return r;
  want_subscription_topics();
  network_.update_metadata();
  update_positions();
  fetcher_.maybe_send();
  return {};
}

void ConsumerCore::unsubscribe() {
  events_.clear();
  if (coordinator_) coordinator_->leave("the consumer unsubscribed", nullptr);
  subscriptions_.unsubscribe();
  network_.want_all_topics(false);
  want_subscription_topics();
}

// ---- poll

void ConsumerCore::poll_started() {
  if (coordinator_) coordinator_->on_poll_start();
  maybe_auto_commit();
  update_positions();
  fetcher_.maybe_send();
}

void ConsumerCore::poll_ended() {
  if (coordinator_) coordinator_->on_poll_end();
}

ConsumerCore::UserWork ConsumerCore::take_user_work() {
  UserWork work;
  work.callbacks = std::move(callbacks_);
  callbacks_.clear();
  work.events.assign(std::make_move_iterator(events_.begin()),
                     std::make_move_iterator(events_.end()));
  events_.clear();
  return work;
}

std::vector<std::pair<ConsumerCore::CommitCallback, Result<void>>> ConsumerCore::take_callbacks() {
  auto out = std::move(callbacks_);
  callbacks_.clear();
  return out;
}

Result<PolledRecords> ConsumerCore::collect(size_t max) {
  if (fatal_) return std::unexpected(*fatal_);
  PolledRecords records = subscriptions_.drain(max);
  fetcher_.maybe_send();  // room in the buffer again: fetch ahead while the user works
  if (!records.empty()) return records;
  // Partition errors are reported once each, after the records fetched before them.
  for (auto& [tp, p] : subscriptions_.partitions()) {
    if (p.error) {
      Error e = std::move(*p.error);
      p.error.reset();
      return std::unexpected(std::move(e));
    }
  }
  return records;
}

ConsumerCore::PollStep ConsumerCore::poll_step(size_t max) {
  PollStep step{take_user_work(), PolledRecords{}};
  if (step.work.empty()) step.records = collect(max);
  return step;
}

void ConsumerCore::prepare_done(const RebalanceEvent& event) {
  if (!coordinator_ || coordinator_->pending_event() != event.id) return;
  subscriptions_.remove(event.revoked);
  want_subscription_topics();
  coordinator_->event_done(event.id);
}

void ConsumerCore::apply_assignment(const RebalanceEvent& event) {
  if (!coordinator_ || coordinator_->pending_event() != event.id) return;
  subscriptions_.set_assignment(event.assignment);
  want_subscription_topics();
  update_positions();
  fetcher_.maybe_send();
}

void ConsumerCore::assignment_done(const RebalanceEvent& event) {
  if (!coordinator_) return;
  coordinator_->event_done(event.id);
}

// ---- positions

void ConsumerCore::seek(const TopicPartition& tp, int64_t offset) {
  PartitionState* p = subscriptions_.find(tp);
  if (!p || offset < 0) {
    KC_LOG(warn, "consumer", "seek ignored: partition not assigned or offset negative",
           {{"partition", tp.to_string()}, {"offset", std::to_string(offset)}});
    return;
  }
  subscriptions_.seek(*p, offset);
  fetcher_.maybe_send();
}

Result<void> ConsumerCore::seek_to(const std::vector<TopicPartition>& tps,
                                   OffsetResetPolicy policy) {
  std::vector<TopicPartition> targets = tps.empty() ? subscriptions_.assigned() : tps;
  for (const TopicPartition& tp : targets) {
    if (!subscriptions_.is_assigned(tp)) {
      return make_error(Errc::invalid_request, "seek: " + tp.to_string() + " is not assigned");
    }
  }
  for (const TopicPartition& tp : targets) {
    subscriptions_.request_reset(*subscriptions_.find(tp), policy);
  }
  update_positions();
  return {};
}

std::optional<int64_t> ConsumerCore::current_lag(const TopicPartition& tp) {
  PartitionState* p = subscriptions_.find(tp);
  if (!p || !p->has_position()) return std::nullopt;
  int64_t end = config_.isolation_level == IsolationLevel::read_committed ? p->last_stable_offset
                                                                          : p->high_watermark;
  if (end < 0) return std::nullopt;
  return std::max<int64_t>(0, end - p->position);
}

std::optional<Result<int64_t>> ConsumerCore::position(const TopicPartition& tp) {
  PartitionState* p = subscriptions_.find(tp);
  if (!p) {
    return Result<int64_t>(
        make_error(Errc::invalid_request, "position: " + tp.to_string() + " is not assigned"));
  }
  if (p->has_position()) return Result<int64_t>(p->position);
  if (fatal_) return Result<int64_t>(std::unexpected(*fatal_));
  if (p->error) return Result<int64_t>(std::unexpected(*p->error));
  update_positions();
  return std::nullopt;
}

void ConsumerCore::set_paused(const std::vector<TopicPartition>& tps, bool paused) {
  for (const TopicPartition& tp : tps) {
    if (PartitionState* p = subscriptions_.find(tp)) subscriptions_.set_paused(*p, paused);
  }
  if (!paused) fetcher_.maybe_send();
}

std::vector<TopicPartition> ConsumerCore::paused() const {
  std::vector<TopicPartition> out;
  for (const auto& [tp, p] : subscriptions_.partitions()) {
    if (p.paused) out.push_back(tp);
  }
  return out;
}

void ConsumerCore::update_positions() {
  if (closed_) return;
  validate_positions();
  const auto now = Clock::now();
  const auto backoff = network_.options().retry_backoff;
  const auto deadline = now + network_.options().request_timeout;

  // Newly assigned partitions start at the group's committed offset, if there is one.
  std::map<TopicPartition, uint64_t> committed_lookups;
  std::map<TopicPartition, int64_t> resets;
  std::map<TopicPartition, uint64_t> reset_lookups;
  for (auto& [tp, p] : subscriptions_.partitions()) {
    if (p.lookup != 0 || now < p.retry_after) continue;
    if (p.init == PartitionState::Init::committed) {
      if (!committer_) {
        p.init = PartitionState::Init::reset;
        p.reset_policy = subscriptions_.default_reset();
      } else {
        p.lookup = next_lookup_++;
        committed_lookups[tp] = p.lookup;
        continue;
      }
    }
    if (p.init != PartitionState::Init::reset) continue;
    if (p.reset_policy == OffsetResetPolicy::none) {
      // Java's NoOffsetForPartitionException: poll() reports it (again after a backoff).
      if (!p.error) {
        p.error = Error(Errc::offset_out_of_range,
                        "no committed offset for " + tp.to_string() +
                            " and auto.offset.reset is none; seek() to a position");
        p.retry_after = now + std::max(backoff, std::chrono::milliseconds(1000));
        wake_();
      }
      continue;
    }
    p.lookup = next_lookup_++;
    reset_lookups[tp] = p.lookup;
    resets[tp] =
        p.reset_policy == OffsetResetPolicy::earliest ? kEarliestTimestamp : kLatestTimestamp;
  }
  if (!committed_lookups.empty()) {
    std::vector<TopicPartition> tps;
    for (const auto& [tp, token] : committed_lookups) tps.push_back(tp);
    committer_->fetch(
        std::move(tps), deadline,
        [this, committed_lookups, backoff, alive = alive_](Result<OffsetCommitter::Committed> r) {
          if (!*alive || closed_) return;
          for (const auto& [tp, token] : committed_lookups) {
            PartitionState* p = subscriptions_.find(tp);
            if (!p || p->lookup != token || p->init != PartitionState::Init::committed) continue;
            p->lookup = 0;
            if (!r) {
              KC_LOG(debug, "consumer", "committed offset lookup failed",
                     {{"partition", tp.to_string()}, {"error", r.error().to_string()}});
              p->retry_after = Clock::now() + backoff;
              continue;
            }
            auto it = r->find(tp);
            if (it != r->end() && it->second) {
              subscriptions_.seek(*p, it->second->offset, it->second->leader_epoch);
              // KIP-320: the log may have been truncated below a committed offset since.
              subscriptions_.request_validation(*p);
            } else {
              p->init = PartitionState::Init::reset;
              p->reset_policy = subscriptions_.default_reset();
            }
          }
          update_positions();
          fetcher_.maybe_send();
          wake_();
        });
  }
  if (!resets.empty()) {
    lister_.list(std::move(resets), deadline,
                 [this, reset_lookups, backoff,
                  alive = alive_](Result<std::map<TopicPartition, TimestampedOffset>> r) {
                   if (!*alive || closed_) return;
                   for (const auto& [tp, token] : reset_lookups) {
                     PartitionState* p = subscriptions_.find(tp);
                     if (!p || p->lookup != token || p->init != PartitionState::Init::reset)
                       continue;
                     p->lookup = 0;
                     const TimestampedOffset* listed = nullptr;
                     if (r) {
                       auto it = r->find(tp);
                       if (it != r->end() && it->second.offset >= 0) listed = &it->second;
                     }
                     if (!listed) {
                       KC_LOG(debug, "consumer", "offset reset lookup failed",
                              {{"partition", tp.to_string()},
                               {"error", r ? std::string("no offset") : r.error().to_string()}});
                       p->retry_after = Clock::now() + backoff;
                       continue;
                     }
                     subscriptions_.seek(*p, listed->offset, listed->leader_epoch);
                     if (listed->leader_epoch) p->leader_epoch = *listed->leader_epoch;
                   }
                   fetcher_.maybe_send();
                   wake_();
                 });
  }
}

void ConsumerCore::validate_positions() {
  const auto now = Clock::now();
  const ClusterMetadata& md = network_.metadata();
  std::map<TopicPartition, int32_t> epochs;
  std::map<TopicPartition, uint64_t> tokens;
  for (auto& [tp, p] : subscriptions_.partitions()) {
    const PartitionInfo* info = md.partition(tp.topic, tp.partition);
    if (p.init == PartitionState::Init::ready && info && info->leader_epoch >= 0) {
      if (p.leader_epoch >= 0 && info->leader_epoch > p.leader_epoch) {
        subscriptions_.request_validation(p);
      }
      if (p.init == PartitionState::Init::ready) {
        p.leader_epoch = std::max(p.leader_epoch, info->leader_epoch);
      }
    }
    if (p.init != PartitionState::Init::validate || p.lookup != 0 || now < p.retry_after) continue;
    p.lookup = next_lookup_++;
    tokens[tp] = p.lookup;
    epochs[tp] = *p.position_epoch;
  }
  if (epochs.empty()) return;
  validator_.validate(
      epochs, [this, tokens, alive = alive_](std::map<TopicPartition, EpochEndAnswer> answers) {
        if (!*alive || closed_) return;
        for (const auto& [tp, answer] : answers) {
          PartitionState* p = subscriptions_.find(tp);
          auto token = tokens.find(tp);
          // Sought, reset or revoked meanwhile: the answer is about a position we no longer have.
          if (!p || token == tokens.end() || p->lookup != token->second ||
              p->init != PartitionState::Init::validate) {
            continue;
          }
          p->lookup = 0;
          on_validated(tp, *p, answer);
        }
        update_positions();
        fetcher_.maybe_send();
        wake_();
      });
}

void ConsumerCore::on_validated(const TopicPartition& tp, PartitionState& p,
                                const EpochEndAnswer& answer) {
  const auto now = Clock::now();
  const auto backoff = network_.options().retry_backoff;
  if (answer.error == Errc::unsupported_version) {
    // A broker without OffsetForLeaderEpoch v2 cannot check: go on, as Java does.
    p.init = PartitionState::Init::ready;
    p.leader_epoch = answer.current_leader_epoch;
    return;
  }
  if (answer.error != Errc::none) {
    KC_LOG(debug, "consumer", "position validation failed; retrying",
           {{"partition", tp.to_string()}, {"error", std::string(errc_name(answer.error))}});
    if (invalidates_metadata(answer.error) || answer.error == Errc::leader_not_available) {
      network_.update_metadata();
    }
    p.retry_after = now + backoff;
    return;
  }
  const bool reset_allowed = subscriptions_.default_reset() != OffsetResetPolicy::none;
  auto truncated = [&](const std::string& divergence) {
    // Java's LogTruncationException (an OffsetOutOfRangeException): poll() reports it until
    // the user seeks.
    p.error = Error(Errc::offset_out_of_range,
                    "log truncation detected for " + tp.to_string() + " at offset " +
                        std::to_string(p.position) + divergence +
                        " and auto.offset.reset is none; seek() to a position");
    p.retry_after = now + std::max(backoff, std::chrono::milliseconds(1000));
  };
  if (answer.epoch < 0 || answer.end_offset < 0) {
    // The leader knows nothing of the epoch we read under: no divergence point to go back to.
    if (!reset_allowed) return truncated("");
    KC_LOG(info, "consumer", "log truncation detected; resetting the offset",
           {{"partition", tp.to_string()}, {"offset", std::to_string(p.position)}});
    subscriptions_.request_reset(p, subscriptions_.default_reset());
    return;
  }
  if (answer.end_offset < p.position) {
    if (!reset_allowed) {
      return truncated(" (the log diverges from offset " + std::to_string(answer.end_offset) + ")");
    }
    // Records from the divergence point on were never the leader's: read from there again.
    KC_LOG(info, "consumer", "log truncation detected; resetting to the first diverging offset",
           {{"partition", tp.to_string()},
            {"offset", std::to_string(p.position)},
            {"reset_to", std::to_string(answer.end_offset)}});
    subscriptions_.seek(p, answer.end_offset, answer.epoch);
  } else {
    p.init = PartitionState::Init::ready;
  }
  p.leader_epoch = answer.current_leader_epoch;
}

// ---- offsets

void ConsumerCore::maybe_auto_commit() {
  if (!config_.enable_auto_commit || !committer_) return;
  const auto now = Clock::now();
  if (now < next_auto_commit_) return;
  next_auto_commit_ = now + config_.auto_commit_interval;
  auto_commit_now();
}

void ConsumerCore::auto_commit_now() {
  if (!config_.enable_auto_commit || !committer_) return;
  auto offsets = subscriptions_.consumed();
  if (offsets.empty()) return;
  committer_->commit(
      std::move(offsets), Clock::now() + network_.options().request_timeout, false,
      [](Result<void> r) {
        if (!r) {
          KC_LOG(debug, "consumer", "auto-commit failed", {{"error", r.error().to_string()}});
        }
      });
}

void ConsumerCore::commit(std::map<TopicPartition, OffsetAndMetadata> offsets,
                          Clock::time_point deadline, bool retry, CommitCallback done) {
  if (!committer_) return done(std::unexpected(no_group_error("committing offsets")));
  committer_->commit(std::move(offsets), deadline, retry, std::move(done));
}

void ConsumerCore::commit_async(std::map<TopicPartition, OffsetAndMetadata> offsets,
                                CommitCallback callback) {
  auto deliver = [this, callback = std::move(callback), alive = alive_](Result<void> r) {
    if (!*alive) return;
    if (!r) KC_LOG(debug, "consumer", "async commit failed", {{"error", r.error().to_string()}});
    if (!callback) return;
    callbacks_.emplace_back(callback, std::move(r));
    wake_();
  };
  if (!committer_) return deliver(std::unexpected(no_group_error("committing offsets")));
  committer_->commit(std::move(offsets), Clock::now() + network_.options().request_timeout, false,
                     std::move(deliver));
}

void ConsumerCore::fetch_committed(std::vector<TopicPartition> tps, Clock::time_point deadline,
                                   std::function<void(Result<OffsetCommitter::Committed>)> done) {
  if (!committer_) return done(std::unexpected(no_group_error("committed()")));
  committer_->fetch(std::move(tps), deadline, std::move(done));
}

void ConsumerCore::list_offsets(std::map<TopicPartition, int64_t> timestamps,
                                Clock::time_point deadline, ListOffsetsClient::Done done) {
  lister_.list(std::move(timestamps), deadline, std::move(done));
}

void ConsumerCore::describe_topics(std::optional<std::vector<std::string>> topics,
                                   Clock::time_point deadline,
                                   std::function<void(Result<ClusterMetadata>)> done) {
  describe_attempt(std::move(topics), deadline, std::move(done), std::nullopt);
}

void ConsumerCore::describe_attempt(std::optional<std::vector<std::string>> topics,
                                    Clock::time_point deadline,
                                    std::function<void(Result<ClusterMetadata>)> done,
                                    std::optional<Error> last) {
  if (closed_) return done(std::unexpected(consumer_closed_error()));
  if (Clock::now() >= deadline) return done(std::unexpected(timed_out_error("Metadata", last)));
  const bool auto_create = config_.client.allow_auto_create_topics && topics.has_value();
  network_.send_any<protocol::MetadataRequest>(
      [topics, auto_create](int16_t) {
        return metadata_request(topics, auto_create);
      },
      [this, topics, deadline, done = std::move(done),
       alive = alive_](Result<Response<protocol::MetadataResponse>> r) mutable {
        if (!*alive) return;
        std::optional<Error> error;
        if (!r) {
          error = r.error();
        } else {
          ClusterMetadata md = ClusterMetadata::from_response(r->body);
          // A topic being created has no leaders yet: ask again.
          for (const auto& [name, info] : md.topics) {
            if (info.error == Errc::leader_not_available) {
              error = Error(info.error, "topic " + name + " has no leader yet");
            }
          }
          if (!error) return done(std::move(md));
        }
        if (closed_ || (!r && !retriable(r.error().code()))) return done(std::unexpected(*error));
        auto timer =
            std::make_shared<asio::steady_timer>(network_.io(), network_.options().retry_backoff);
        timer->async_wait([this, timer, topics, deadline, done = std::move(done), error,
                           alive](boost::system::error_code ec) mutable {
          if (ec || !*alive) return;
          describe_attempt(std::move(topics), deadline, std::move(done), error);
        });
      },
      SendOptions{.min_version = 1, .max_version = INT16_MAX, .timeout = {}});
}

// ---- group

void ConsumerCore::leave(const std::string& reason, std::function<void()> done) {
  events_.clear();
  if (!coordinator_) return done();
  coordinator_->leave(reason, std::move(done));
}

std::string ConsumerCore::member_id() const {
  return coordinator_ ? coordinator_->member_id() : std::string();
}

int32_t ConsumerCore::generation() const { return coordinator_ ? coordinator_->generation() : -1; }

}  // namespace kafkacore::client
