#include "replication/replica_fetcher.h"

#include <algorithm>
#include <limits>
#include <set>

#include "common/log.h"

namespace kafkacore::replication {

namespace asio = client::asio;
using Clock = std::chrono::steady_clock;
using protocol::FetchRequest;
using protocol::FetchResponse;
using protocol::OffsetForLeaderEpochRequest;
using protocol::OffsetForLeaderEpochResponse;

constexpr int16_t kOffsetForLeaderEpochVersion = 4;
constexpr int16_t kFetchVersion = 12;

struct ReplicaFetcherManager::Follower {
  Key key;
  Uuid topic_id;
  int32_t leader_id = -1;
  int32_t leader_epoch = -1;
  uint64_t incarnation = 0;  // new at every (re)start: answers for an older one are dropped
  bool truncating = true;
  bool failed = false;
  Clock::time_point delayed_until{};
  Offset leader_hw{-1};
  std::string last_error;

  bool delayed(Clock::time_point now) const { return delayed_until > now; }
};

struct ReplicaFetcherManager::Source {
  Source(asio::io_context& io, int32_t id, uint64_t inc, client::ConnectionOptions options)
      : broker_id(id), incarnation(inc), connection(io, std::move(options)), timer(io) {}
  int32_t broker_id;
  uint64_t incarnation;
  client::Connection connection;
  asio::steady_timer timer;
  std::set<Key> partitions;
  bool in_flight = false;
  bool connecting = false;
  Clock::time_point reconnect_at{};
  int failures = 0;  // consecutive connection failures (logged once)
};

std::string_view phase_name(FollowerPhase phase) {
  switch (phase) {
    case FollowerPhase::truncating: return "truncating";
    case FollowerPhase::fetching: return "fetching";
    case FollowerPhase::delayed: return "delayed";
    case FollowerPhase::failed: return "failed";
  }
  return "?";
}

namespace {

std::string describe(const std::pair<std::string, int32_t>& key) {
  return key.first + "-" + std::to_string(key.second);
}

// Whole batches only: a leader may cut the last batch of an answer short (Kafka does when the
// response limit falls inside it); the follower fetches the rest next time.
MutableByteView whole_batches(MutableByteView records) {
  size_t pos = 0;
  while (records.size() - pos >= 12) {
    const int32_t length = load_be<int32_t>(records.data() + pos + 8);
    if (length < 0 || records.size() - pos - 12 < static_cast<size_t>(length)) break;
    pos += 12 + static_cast<size_t>(length);
  }
  return records.first(pos);
}

// Appends whole batches in chunks of at most segment.bytes: the log refuses a larger single
// append, and a fetch answer (replica.fetch.max.bytes) may exceed a small topic's segment size.
Result<void> append_in_chunks(Partition& p, MutableByteView records) {
  const auto limit = static_cast<size_t>(std::max<int64_t>(p.log().config().segment_bytes, 1));
  size_t start = 0;
  size_t pos = 0;
  auto flush = [&]() -> Result<void> {
    if (pos == start) return {};
    auto r = p.append_as_follower(records.subspan(start, pos - start));
    if (!r) return std::unexpected(r.error());
    start = pos;
    return {};
  };
  while (pos < records.size()) {
    const size_t size = 12 + static_cast<size_t>(load_be<int32_t>(records.data() + pos + 8));
    if (pos > start && pos - start + size > limit) {
      if (auto r = flush(); !r) return r;
    }
    pos += size;
  }
  return flush();
}

}  // namespace

ReplicaFetcherManager::ReplicaFetcherManager(asio::io_context& io, int32_t local_broker_id,
                                             ResolveBroker resolve, LookupPartition lookup,
                                             FetcherConfig config)
    : io_(io), local_broker_id_(local_broker_id), resolve_(std::move(resolve)),
      lookup_(std::move(lookup)), config_(std::move(config)),
      alive_(std::make_shared<bool>(true)) {}

ReplicaFetcherManager::~ReplicaFetcherManager() {
  stop();
  *alive_ = false;
}

void ReplicaFetcherManager::stop() {
  stopped_ = true;
  // Connections drop their pending requests without callbacks; timer handlers see stopped_.
  sources_.clear();
  followers_.clear();
}

void ReplicaFetcherManager::follow(const std::string& topic, int32_t partition, Uuid topic_id,
                                   int32_t leader_id, int32_t leader_epoch) {
  if (stopped_) return;
  if (leader_id == local_broker_id_ || leader_id < 0) {
    unfollow(topic, partition);
    return;
  }
  Key key{topic, partition};
  auto& slot = followers_[key];
  if (slot) {
    if (slot->leader_id == leader_id && slot->leader_epoch == leader_epoch) return;
    if (slot->leader_id != leader_id) remove_from_source(slot->leader_id, key);
  } else {
    slot = std::make_unique<Follower>();
    slot->key = key;
  }
  Follower& f = *slot;
  f.topic_id = topic_id;
  f.leader_id = leader_id;
  f.leader_epoch = leader_epoch;
  f.incarnation = next_incarnation_++;
  f.truncating = true;
  f.failed = false;
  f.delayed_until = {};
  f.leader_hw = Offset{-1};
  f.last_error.clear();
  source_for(leader_id).partitions.insert(key);
  // Posted: follow() is called from metadata handling, which should not run partition work.
  asio::post(io_, [this, alive = alive_, leader_id] {
    if (*alive && !stopped_) pump(leader_id);
  });
}

void ReplicaFetcherManager::unfollow(const std::string& topic, int32_t partition) {
  Key key{topic, partition};
  auto it = followers_.find(key);
  if (it == followers_.end()) return;
  const int32_t leader = it->second->leader_id;
  followers_.erase(it);
  remove_from_source(leader, key);
}

ReplicaFetcherManager::Source& ReplicaFetcherManager::source_for(int32_t broker_id) {
  auto& slot = sources_[broker_id];
  if (!slot) {
    client::ConnectionOptions options;
    options.client_id = config_.client_id;
    options.request_timeout = config_.request_timeout;
    slot = std::make_unique<Source>(io_, broker_id, next_incarnation_++, std::move(options));
  }
  return *slot;
}

void ReplicaFetcherManager::remove_from_source(int32_t broker_id, const Key& key) {
  auto it = sources_.find(broker_id);
  if (it == sources_.end()) return;
  it->second->partitions.erase(key);
  // Destroying the connection drops its in-flight request without a callback.
  if (it->second->partitions.empty()) sources_.erase(it);
}

ReplicaFetcherManager::Follower* ReplicaFetcherManager::current(const Key& key,
                                                                uint64_t incarnation) {
  auto it = followers_.find(key);
  if (it == followers_.end() || it->second->incarnation != incarnation) return nullptr;
  return it->second.get();
}

void ReplicaFetcherManager::schedule(Source& source, Clock::time_point at) {
  source.timer.expires_at(at);
  source.timer.async_wait([this, alive = alive_, id = source.broker_id,
                           inc = source.incarnation](const boost::system::error_code& ec) {
    if (ec || !*alive || stopped_) return;
    auto it = sources_.find(id);
    if (it == sources_.end() || it->second->incarnation != inc) return;
    pump(id);
  });
}

void ReplicaFetcherManager::connection_failed(Source& source, const Error& error) {
  // A dead leader fails every backoff until the metadata moves its partitions: say it once.
  const bool first = source.failures++ == 0;
  if (first) {
    KC_LOG(warn, "replica-fetcher", "connection to leader failed; reconnecting after backoff",
           {{"broker", std::to_string(source.broker_id)}, {"error", error.message()}});
  } else {
    KC_LOG(debug, "replica-fetcher", "connection to leader failed again",
           {{"broker", std::to_string(source.broker_id)}, {"error", error.message()},
            {"failures", std::to_string(source.failures)}});
  }
  source.connection.close();
  source.reconnect_at = Clock::now() + config_.backoff;
  if (on_leader_unreachable) on_leader_unreachable(source.broker_id);
}

void ReplicaFetcherManager::delay(Follower& f, std::string why) {
  KC_LOG(info, "replica-fetcher", "partition delayed",
         {{"partition", describe(f.key)}, {"reason", why}});
  f.delayed_until = Clock::now() + config_.backoff;
  f.last_error = std::move(why);
}

void ReplicaFetcherManager::fail(Follower& f, std::string why) {
  KC_LOG(error, "replica-fetcher", "partition marked failed; not fetching it any more",
         {{"partition", describe(f.key)}, {"reason", why}});
  f.failed = true;
  f.last_error = std::move(why);
}

bool ReplicaFetcherManager::leader_gone(int32_t broker_id) const {
  auto it = sources_.find(broker_id);
  return it != sources_.end() && it->second->connection.peer_gone();
}

bool ReplicaFetcherManager::link_open(int32_t broker_id) const {
  return !link_filter_ ||
         (link_filter_(local_broker_id_, broker_id) && link_filter_(broker_id, local_broker_id_));
}

void ReplicaFetcherManager::pump(int32_t broker_id) {
  if (stopped_) return;
  auto it = sources_.find(broker_id);
  if (it == sources_.end()) return;
  Source& s = *it->second;
  if (s.in_flight || s.connecting) return;
  const auto now = Clock::now();
  if (!link_open(broker_id)) {
    if (now >= s.reconnect_at) connection_failed(s, Error(Errc::request_timed_out, "the link to the leader is cut"));
    schedule(s, s.reconnect_at);
    return;
  }
  if (!s.connection.connected()) {
    if (now < s.reconnect_at) {
      schedule(s, s.reconnect_at);
      return;
    }
    auto address = resolve_(broker_id);
    if (!address) {
      KC_LOG(warn, "replica-fetcher", "leader has no known address; retrying after backoff",
             {{"broker", std::to_string(broker_id)}});
      s.reconnect_at = now + config_.backoff;
      schedule(s, s.reconnect_at);
      return;
    }
    s.connecting = true;
    s.connection.connect(address->host, address->port, config_.connect_timeout,
                         [this, alive = alive_, broker_id, inc = s.incarnation](Result<void> r) {
                           if (!*alive || stopped_) return;
                           auto found = sources_.find(broker_id);
                           if (found == sources_.end() || found->second->incarnation != inc) return;
                           found->second->connecting = false;
                           if (r) {
                             found->second->failures = 0;
                             if (on_leader_reached) on_leader_reached(broker_id);
                           } else {
                             connection_failed(*found->second, r.error());
                           }
                           pump(broker_id);
                         });
    return;
  }
  bool truncating = false;
  bool fetching = false;
  auto wake = Clock::time_point::max();
  for (const Key& key : s.partitions) {
    Follower& f = *followers_.at(key);
    if (f.failed) continue;
    if (f.delayed(now)) {
      wake = std::min(wake, f.delayed_until);
      continue;
    }
    (f.truncating ? truncating : fetching) = true;
  }
  if (truncating) {
    send_offsets_for_epoch(s);
  } else if (fetching) {
    send_fetch(s);
  } else if (wake != Clock::time_point::max()) {
    schedule(s, wake);
  }
}

void ReplicaFetcherManager::send_offsets_for_epoch(Source& s) {
  const auto now = Clock::now();
  OffsetForLeaderEpochRequest req;
  req.replica_id = local_broker_id_;
  std::map<std::string, size_t> topic_index;
  std::vector<std::pair<Key, uint64_t>> sent;
  for (const Key& key : s.partitions) {
    Follower& f = *followers_.at(key);
    if (!f.truncating || f.failed || f.delayed(now)) continue;
    Partition* p = lookup_(key.first, key.second);
    if (!p) {
      delay(f, "no local replica of the partition");
      continue;
    }
    const int32_t latest = p->latest_epoch();
    if (latest < 0) {
      // No epoch to ask about: Kafka's fallback, truncate to the high watermark.
      const Offset target = std::min(p->high_watermark(), p->log().log_end_offset());
      if (auto r = p->truncate_to(target); !r) {
        fail(f, "truncation failed: " + r.error().message());
        continue;
      }
      f.truncating = false;
      continue;
    }
    auto [pos, added] = topic_index.try_emplace(key.first, req.topics.size());
    if (added) req.topics.emplace_back().topic = key.first;
    auto& part = req.topics[pos->second].partitions.emplace_back();
    part.partition = key.second;
    part.current_leader_epoch = f.leader_epoch;
    part.leader_epoch = latest;
    sent.emplace_back(key, f.incarnation);
  }
  const int32_t id = s.broker_id;
  if (sent.empty()) {
    // Everything was settled locally (or delayed): decide again, outside this call.
    asio::post(io_, [this, alive = alive_, id] {
      if (*alive && !stopped_) pump(id);
    });
    return;
  }
  s.in_flight = true;
  s.connection.send(
      req, kOffsetForLeaderEpochVersion,
      [this, alive = alive_, id, inc = s.incarnation, sent = std::move(sent)](
          Result<client::Response<OffsetForLeaderEpochResponse>> r) {
        if (!*alive || stopped_) return;
        auto it = sources_.find(id);
        if (it == sources_.end() || it->second->incarnation != inc) return;
        Source& source = *it->second;
        source.in_flight = false;
        if (!r) {
          connection_failed(source, r.error());
          pump(id);
          return;
        }
        std::set<Key> answered;
        for (const auto& t : r->body.topics) {
          for (const auto& a : t.partitions) {
            Key key{t.topic, a.partition};
            auto at = std::find_if(sent.begin(), sent.end(),
                                   [&](const auto& e) { return e.first == key; });
            if (at == sent.end()) continue;
            answered.insert(key);
            Follower* f = current(key, at->second);
            if (!f || !f->truncating || f->failed) continue;
            Partition* p = lookup_(key.first, key.second);
            if (!p) continue;
            on_epoch_answer(*f, *p, a.error_code, a.leader_epoch, a.end_offset);
          }
        }
        for (const auto& [key, incarnation] : sent) {
          if (answered.contains(key)) continue;
          if (Follower* f = current(key, incarnation)) delay(*f, "missing from OffsetForLeaderEpoch answer");
        }
        pump(id);
      },
      config_.request_timeout);
}

void ReplicaFetcherManager::on_epoch_answer(Follower& f, Partition& p, int16_t error_code,
                                            int32_t epoch, int64_t end_offset) {
  if (error_code != 0) {
    delay(f, "OffsetForLeaderEpoch: " + std::string(errc_name(static_cast<Errc>(error_code))));
    return;
  }
  auto done = truncate_for_leader_epoch(p, epoch, end_offset);
  if (!done) {
    fail(f, "truncation failed: " + done.error().message());
    return;
  }
  if (*done) {
    f.truncating = false;
    f.last_error.clear();
  }
  // Otherwise the next round asks again with our (now smaller) latest epoch.
}

Result<bool> ReplicaFetcherManager::truncate_for_leader_epoch(Partition& p, int32_t leader_epoch,
                                                              int64_t end_offset) {
  const Offset leo = p.log().log_end_offset();
  Offset target = leo;
  bool complete = true;
  std::optional<int32_t> ours_epoch;
  if (end_offset < 0) {
    // The leader knows no such epoch (UNDEFINED): fall back to our high watermark.
    target = std::min(p.high_watermark(), leo);
  } else if (leader_epoch < 0) {
    target = std::min(Offset{end_offset}, leo);
  } else {
    const EpochEndOffset ours = p.end_offset_for_epoch(leader_epoch);
    if (ours.epoch < 0 || ours.end_offset.value() < 0) {
      target = std::min(Offset{end_offset}, leo);
    } else if (ours.epoch != leader_epoch) {
      // KIP-279: we do not have the leader's epoch; cut to the end of our largest epoch below
      // it and ask again with that one.
      target = std::min(ours.end_offset, leo);
      complete = false;
      ours_epoch = ours.epoch;
    } else {
      target = std::min({ours.end_offset, Offset{end_offset}, leo});
    }
  }
  if (target < leo || !complete) {
    KC_LOG(info, "replica-fetcher", "truncating follower log",
           {{"partition", p.topic() + "-" + std::to_string(p.index())},
            {"from", std::to_string(leo.value())},
            {"to", std::to_string(target.value())}});
    if (auto r = p.truncate_to(target); !r) return std::unexpected(r.error());
  }
  // Guard against a round that cannot make progress (our epochs must shrink each round).
  if (!complete && ours_epoch && p.latest_epoch() > *ours_epoch) complete = true;
  return complete;
}

void ReplicaFetcherManager::send_fetch(Source& s) {
  const auto now = Clock::now();
  FetchRequest req;
  req.replica_id = local_broker_id_;
  req.max_wait_ms = static_cast<int32_t>(config_.max_wait.count());
  req.min_bytes = config_.min_bytes;
  req.max_bytes = config_.max_bytes;
  req.isolation_level = 0;
  req.session_id = 0;
  req.session_epoch = -1;  // no fetch session: every request is a full one
  struct Sent {
    Key key;
    uint64_t incarnation;
    Offset fetch_offset;
  };
  std::vector<Sent> sent;
  std::map<std::string, size_t> topic_index;
  for (const Key& key : s.partitions) {
    Follower& f = *followers_.at(key);
    if (f.truncating || f.failed || f.delayed(now)) continue;
    Partition* p = lookup_(key.first, key.second);
    if (!p) {
      delay(f, "no local replica of the partition");
      continue;
    }
    auto [pos, added] = topic_index.try_emplace(key.first, req.topics.size());
    if (added) req.topics.emplace_back().topic = key.first;
    auto& part = req.topics[pos->second].partitions.emplace_back();
    part.partition = key.second;
    part.current_leader_epoch = f.leader_epoch;
    part.fetch_offset = p->log().log_end_offset().value();
    part.last_fetched_epoch = p->latest_epoch();
    part.log_start_offset = p->log().log_start_offset().value();
    part.partition_max_bytes = config_.partition_max_bytes;
    sent.push_back(Sent{key, f.incarnation, p->log().log_end_offset()});
  }
  const int32_t id = s.broker_id;
  if (sent.empty()) {
    asio::post(io_, [this, alive = alive_, id] {
      if (*alive && !stopped_) pump(id);
    });
    return;
  }
  s.in_flight = true;
  // The leader may hold the request for max_wait: the timeout must cover it.
  const auto timeout = config_.request_timeout + config_.max_wait;
  s.connection.send(
      req, kFetchVersion,
      [this, alive = alive_, id, inc = s.incarnation, sent = std::move(sent)](
          Result<client::Response<FetchResponse>> r) {
        if (!*alive || stopped_) return;
        auto it = sources_.find(id);
        if (it == sources_.end() || it->second->incarnation != inc) return;
        Source& source = *it->second;
        source.in_flight = false;
        if (r && !link_open(id)) {
          // Cut while the request was out: a real partition would have lost this answer too.
          r = std::unexpected(Error(Errc::request_timed_out, "the link to the leader is cut"));
        }
        if (!r) {
          connection_failed(source, r.error());
          pump(id);
          return;
        }
        if (r->body.error_code != 0) {
          const std::string why =
              "Fetch: " + std::string(errc_name(static_cast<Errc>(r->body.error_code)));
          for (const Sent& e : sent) {
            if (Follower* f = current(e.key, e.incarnation)) delay(*f, why);
          }
          pump(id);
          return;
        }
        for (const auto& t : r->body.responses) {
          for (const auto& data : t.partitions) {
            Key key{t.topic, data.partition_index};
            auto at = std::find_if(sent.begin(), sent.end(),
                                   [&](const Sent& e) { return e.key == key; });
            if (at == sent.end()) continue;
            Follower* f = current(key, at->incarnation);
            if (!f || f->truncating || f->failed) continue;
            Partition* p = lookup_(key.first, key.second);
            // Our log moved meanwhile (it should not: we are its only writer): drop the answer.
            if (!p || p->log().log_end_offset() != at->fetch_offset) continue;
            handle_fetched(*f, *p, at->fetch_offset, data, *r);
          }
        }
        pump(id);
      },
      timeout);
}

void ReplicaFetcherManager::handle_fetched(Follower& f, Partition& p, Offset fetch_offset,
                                           const FetchResponse::PartitionData& data,
                                           const client::Response<FetchResponse>& response) {
  const auto error = static_cast<Errc>(data.error_code);
  if (error == Errc::none) {
    if (data.diverging_epoch.epoch >= 0 || data.diverging_epoch.end_offset >= 0) {
      // The leader saw our last fetched epoch diverge from its log: truncate as for an
      // OffsetForLeaderEpoch answer; if that is not final, go back to truncating.
      auto done = truncate_for_leader_epoch(p, data.diverging_epoch.epoch,
                                            data.diverging_epoch.end_offset);
      if (!done) {
        fail(f, "truncation failed: " + done.error().message());
        return;
      }
      if (!*done) f.truncating = true;
      f.leader_hw = Offset{data.high_watermark};
      return;
    }
    MutableByteView records = whole_batches(response.mutable_records(data.records));
    if (!records.empty()) {
      // The leader answers from the batch holding our log end. If that batch starts below it,
      // an earlier truncation cut inside one of its batches: drop our overlapping tail and
      // fetch again from wherever that leaves our log end (our truncation is batch-granular,
      // so it may land below the leader's batch).
      const Offset base{load_be<int64_t>(records.data())};
      if (base < fetch_offset && p.log().log_end_offset() == p.log().log_start_offset()) {
        // Our log is empty and starts inside the leader's first batch (its log start was cut
        // there by DeleteRecords): as Kafka does, start the log at the batch and take it whole;
        // the log start follows the leader's again below.
        if (auto r = p.truncate_fully_and_start_at(base); !r) {
          fail(f, "restarting the log at the fetched batch failed: " + r.error().message());
          return;
        }
      } else if (base < fetch_offset) {
        KC_LOG(info, "replica-fetcher", "fetched batch overlaps our log end; truncating the overlap",
               {{"partition", describe(f.key)},
                {"batch_base", std::to_string(base.value())},
                {"log_end", std::to_string(fetch_offset.value())}});
        if (auto r = p.truncate_to(base); !r) fail(f, "truncation failed: " + r.error().message());
        return;
      }
      auto appended = append_in_chunks(p, records);
      if (!appended) {
        const Errc code = appended.error().code();
        if (code == Errc::corrupt_message || code == Errc::invalid_record) {
          // Damaged in transit or at the leader: fetch it again later (as Kafka does).
          delay(f, "invalid fetched batch: " + appended.error().message());
        } else {
          fail(f, "append failed: " + appended.error().message());
        }
        return;
      }
    }
    p.update_high_watermark_from_leader(Offset{data.high_watermark});
    // Records the leader deleted (DeleteRecords, retention) go here too, so the log start
    // does not move back if this replica takes over.
    if (data.log_start_offset >= 0) {
      if (auto r = p.follow_leader_log_start(Offset{data.log_start_offset}); !r) {
        fail(f, "advancing the log start offset failed: " + r.error().message());
        return;
      }
    }
    f.leader_hw = Offset{data.high_watermark};
    f.last_error.clear();
    return;
  }
  switch (error) {
    case Errc::offset_out_of_range:
      if (data.log_start_offset >= 0 && fetch_offset.value() < data.log_start_offset) {
        // We fell behind the leader's log start (DeleteRecords or retention while we were
        // away): as Kafka does, our log restarts empty at the leader's start and fetches on.
        KC_LOG(info, "replica-fetcher", "behind the leader's log start; restarting the log there",
               {{"partition", describe(f.key)},
                {"log_end", std::to_string(fetch_offset.value())},
                {"leader_log_start", std::to_string(data.log_start_offset)}});
        if (auto r = p.truncate_fully_and_start_at(Offset{data.log_start_offset}); !r) {
          fail(f, "restarting the log at the leader's log start failed: " + r.error().message());
        }
      } else {
        // Ahead of the leader's end (it lost data or we diverged): find out where we agree.
        f.truncating = true;
      }
      return;
    default:
      // NOT_LEADER_OR_FOLLOWER, FENCED/UNKNOWN_LEADER_EPOCH, UNKNOWN_TOPIC_OR_PARTITION, the
      // leader's storage errors, ...: wait for metadata (follow() with a new leader or epoch
      // resumes at once) and retry after the backoff meanwhile.
      delay(f, "Fetch: " + std::string(errc_name(error)));
      return;
  }
}

std::optional<FollowerStatus> ReplicaFetcherManager::status(const std::string& topic,
                                                            int32_t partition) const {
  auto it = followers_.find(Key{topic, partition});
  if (it == followers_.end()) return std::nullopt;
  const Follower& f = *it->second;
  FollowerStatus out;
  out.topic = topic;
  out.partition = partition;
  out.leader_id = f.leader_id;
  out.leader_epoch = f.leader_epoch;
  out.phase = f.failed                    ? FollowerPhase::failed
              : f.delayed(Clock::now())   ? FollowerPhase::delayed
              : f.truncating              ? FollowerPhase::truncating
                                          : FollowerPhase::fetching;
  out.leader_high_watermark = f.leader_hw;
  out.last_error = f.last_error;
  if (const Partition* p = lookup_(topic, partition)) {
    out.log_end_offset = p->log().log_end_offset();
    if (f.leader_hw.value() >= 0) {
      out.lag = std::max<int64_t>(0, f.leader_hw.value() - out.log_end_offset.value());
    }
  }
  return out;
}

std::vector<FollowerStatus> ReplicaFetcherManager::statuses() const {
  std::vector<FollowerStatus> out;
  for (const auto& [key, f] : followers_) {
    if (auto s = status(key.first, key.second)) out.push_back(std::move(*s));
  }
  return out;
}

std::vector<int32_t> ReplicaFetcherManager::source_ids() const {
  std::vector<int32_t> out;
  for (const auto& [id, s] : sources_) out.push_back(id);
  return out;
}

}  // namespace kafkacore::replication
