// Fetch (key 1), v4-12: long polls woken by appends, per-partition and response byte limits,
// incremental fetch sessions (KIP-227), and records sent straight from the segment files.
#include <memory>
#include <set>

#include "broker/broker.h"
#include "broker/fetch_sessions.h"
#include "broker/handlers/handlers.h"
#include "broker/handlers/util.h"
#include "protocol/messages.h"

namespace kafkacore::broker {
namespace {

using protocol::FetchRequest;
using protocol::FetchResponse;

constexpr int32_t kFinalEpoch = -1;

struct Wanted {
  std::string topic;
  int32_t partition;
  int64_t fetch_offset;
  int32_t max_bytes;
  int32_t current_leader_epoch;
  int32_t last_fetched_epoch = -1;
  int64_t log_start_offset = -1;  // a follower's, which DeleteRecords waits on
};

struct FetchPlan {
  server::Request request;
  int16_t version = 0;
  int32_t max_bytes = 0;
  int32_t min_bytes = 0;
  int32_t session_id = 0;
  bool incremental = false;
  int32_t session_key = 0;  // session to look entries up in when answering (0: none)
  int32_t replica_id = -1;  // >= 0: a follower replicating (reads up to the log end)
  bool progress_recorded = false;
  std::vector<Wanted> wanted;
  // Delayed-fetch state.
  std::unique_ptr<boost::asio::steady_timer> timer;
  struct Watch {
    std::string topic;
    int32_t partition;
    Uuid topic_id;  // a topic deleted and created again has a new partition, with its own ids
    uint64_t id;
  };
  std::vector<Watch> watches;
  bool answered = false;
};

struct Gathered {
  FetchResponse response;
  uint64_t bytes = 0;
  bool has_error = false;
  // What the session will have told the client once this answer is sent.
  std::vector<std::tuple<SessionPartition*, int64_t, int64_t>> reported;
};

Gathered gather(Broker& broker, FetchPlan& plan) {
  Gathered g;
  std::map<std::string, size_t> topic_index;
  uint64_t remaining = static_cast<uint64_t>(std::max(plan.max_bytes, 0));
  FetchSession* session = plan.session_key ? broker.fetch_sessions().find(plan.session_key) : nullptr;
  for (auto& w : plan.wanted) {
    FetchResponse::PartitionData data;
    data.partition_index = w.partition;
    data.high_watermark = -1;
    data.last_stable_offset = -1;
    data.log_start_offset = -1;
    data.records.is_null = false;
    replication::Partition* partition = broker.partition(w.topic, w.partition);
    const bool follower = plan.replica_id >= 0;
    std::optional<replication::EpochEndOffset> diverging;
    if (partition && partition->is_leader() && follower && w.last_fetched_epoch >= 0) {
      // KIP-320/v12: a follower whose last epoch ended earlier here must truncate first.
      const auto end = partition->end_offset_for_epoch(w.last_fetched_epoch);
      if (end.epoch != w.last_fetched_epoch || end.end_offset.value() < w.fetch_offset) diverging = end;
    }
    // The epoch first, as Kafka does: a fetcher with stale metadata hears FENCED_LEADER_EPOCH
    // (a zombie follower is never recorded as caught up), one ahead of us UNKNOWN_LEADER_EPOCH.
    const Errc epoch_error =
        partition ? partition->check_leader_epoch(w.current_leader_epoch) : Errc::none;
    if (!partition) {
      data.error_code = error_code(Errc::unknown_topic_or_partition);
    } else if (epoch_error != Errc::none) {
      data.error_code = error_code(epoch_error);
    } else if (!partition->is_leader()) {
      data.error_code = error_code(Errc::not_leader_or_follower);
    } else if (diverging) {
      data.high_watermark = partition->high_watermark().value();
      data.log_start_offset = partition->log().log_start_offset().value();
      data.diverging_epoch.epoch = diverging->epoch;
      data.diverging_epoch.end_offset = diverging->end_offset.value();
      g.bytes += 1;  // answer at once: the follower cannot make progress otherwise
    } else {
      if (follower && !plan.progress_recorded) {
        partition->record_follower_fetch(plan.replica_id, Offset{w.fetch_offset},
                                         SystemClock::instance().now_ms(),
                                         Offset{w.log_start_offset});
      }
      auto& log = partition->log();
      data.high_watermark = partition->high_watermark().value();
      data.last_stable_offset = partition->last_stable_offset().value();
      data.log_start_offset = log.log_start_offset().value();
      // KIP-74: the first partition with data may exceed the limits by one batch, so a batch
      // larger than the limits can still be consumed.
      const bool first_with_data = g.bytes == 0;
      const uint64_t limit = std::min<uint64_t>(remaining, static_cast<uint64_t>(std::max(w.max_bytes, 0)));
      // Followers replicate everything; consumers see only what the ISR has.
      std::optional<Offset> upto;
      if (!follower) upto = partition->high_watermark();
      auto read = log.read(Offset{w.fetch_offset}, limit, upto, first_with_data);
      if (!read) {
        data.error_code = error_code(read.error());
      } else {
        for (const auto& slice : read->slices) {
          data.records.files.push_back(protocol::FileRange{slice.file, slice.file->fd(), slice.position, slice.size});
        }
        g.bytes += read->total_bytes;
        remaining -= std::min(remaining, read->total_bytes);
      }
    }
    if (data.error_code != 0) g.has_error = true;
    if (plan.version >= 4) data.aborted_transactions = std::vector<FetchResponse::AbortedTransaction>{};
    // Within a session, incremental answers leave out partitions with nothing new.
    SessionPartition* entry = nullptr;
    if (session) {
      auto it = session->partitions.find({w.topic, w.partition});
      if (it != session->partitions.end()) entry = &it->second;
    }
    if (plan.incremental && entry && data.error_code == 0 && data.records.files.empty() &&
        data.high_watermark == entry->reported_high_watermark &&
        data.log_start_offset == entry->reported_log_start_offset) {
      continue;
    }
    if (entry) g.reported.emplace_back(entry, data.high_watermark, data.log_start_offset);
    auto [it, inserted] = topic_index.emplace(w.topic, g.response.responses.size());
    if (inserted) {
      auto& t = g.response.responses.emplace_back();
      t.topic = w.topic;
    }
    g.response.responses[it->second].partitions.push_back(std::move(data));
  }
  g.response.session_id = plan.session_id;
  plan.progress_recorded = true;
  return g;
}

void finish(Broker& broker, const std::shared_ptr<FetchPlan>& plan, Gathered g) {
  if (plan->answered) return;
  plan->answered = true;
  if (plan->timer) plan->timer->cancel();
  for (const auto& w : plan->watches) {
    auto* p = broker.partition(w.topic, w.partition);
    if (p && p->topic_id() == w.topic_id) p->unwatch_appends(w.id);
  }
  plan->watches.clear();
  // Applied in the same reactor turn as gather(), so the entries are still alive.
  for (auto& [entry, hw, log_start] : g.reported) {
    entry->reported_high_watermark = hw;
    entry->reported_log_start_offset = log_start;
  }
  plan->request.respond(g.response);
}

void retry(Broker& broker, const std::shared_ptr<FetchPlan>& plan, bool expired) {
  if (plan->answered) return;
  Gathered g = gather(broker, *plan);
  // A follower also wants the news of a higher high watermark, which comes without bytes.
  const bool follower_woken = plan->replica_id >= 0 && !expired;
  if (expired || follower_woken || g.bytes >= static_cast<uint64_t>(std::max(plan->min_bytes, 1)) ||
      g.has_error) {
    finish(broker, plan, std::move(g));
  }
}

}  // namespace

void register_fetch(server::HandlerRegistry& registry, Broker& broker) {
  auto handler = server::typed_handler<FetchRequest>([&broker](FetchRequest req,
                                                               server::Request request) {
    auto plan = std::make_shared<FetchPlan>();
    plan->version = request.header.api_version;
    plan->max_bytes = static_cast<int32_t>(
        std::min<int64_t>(req.max_bytes, broker.config().fetch_max_bytes));
    plan->min_bytes = req.min_bytes;
    auto error_answer = [&](Errc code) {
      FetchResponse response;
      response.error_code = error_code(code);
      response.session_id = req.session_id;
      request.respond(response);
    };

    auto& sessions = broker.fetch_sessions();
    FetchSession* session = nullptr;
    if (plan->version >= 7) {
      if (req.session_epoch == 0) {
        // A full fetch that opens a session (or not, if the cache is full); naming an existing
        // session with epoch 0 closes it first (KIP-227).
        if (req.session_id != 0) sessions.remove(req.session_id);
        session = sessions.create();
      } else if (req.session_id != 0 && req.session_epoch == kFinalEpoch) {
        sessions.remove(req.session_id);
      } else if (req.session_id != 0) {
        session = sessions.find(req.session_id);
        if (!session) return error_answer(Errc::fetch_session_id_not_found);
        if (session->next_epoch != req.session_epoch) {
          return error_answer(Errc::invalid_fetch_session_epoch);
        }
        plan->incremental = true;
      } else if (req.session_epoch != kFinalEpoch) {
        return error_answer(Errc::invalid_fetch_session_epoch);
      }
    }

    if (session) {
      if (!plan->incremental) session->partitions.clear();
      for (const auto& t : req.topics) {
        for (const auto& p : t.partitions) {
          auto& entry = session->partitions[{t.topic, p.partition}];
          entry.fetch_offset = p.fetch_offset;
          entry.max_bytes = p.partition_max_bytes;
          entry.log_start_offset = p.log_start_offset;
          entry.current_leader_epoch = p.current_leader_epoch;
        }
      }
      for (const auto& f : req.forgotten_topics_data) {
        for (int32_t p : f.partitions) session->partitions.erase({f.topic, p});
      }
      // A new session's first incremental request carries epoch 1 (its next_epoch already).
      if (plan->incremental) {
        session->next_epoch = session->next_epoch == INT32_MAX ? 1 : session->next_epoch + 1;
      }
      plan->session_id = session->id;
      plan->session_key = session->id;
      if (plan->incremental) {
        // Incremental: fetch everything in the session; the request's own order first.
        std::set<std::pair<std::string, int32_t>> seen;
        for (const auto& t : req.topics) {
          for (const auto& p : t.partitions) {
            seen.insert({t.topic, p.partition});
            plan->wanted.push_back({t.topic, p.partition, p.fetch_offset, p.partition_max_bytes,
                                    p.current_leader_epoch, p.last_fetched_epoch,
                                    p.log_start_offset});
          }
        }
        for (const auto& [key, entry] : session->partitions) {
          if (seen.contains(key)) continue;
          plan->wanted.push_back({key.first, key.second, entry.fetch_offset, entry.max_bytes,
                                  entry.current_leader_epoch, -1, entry.log_start_offset});
        }
      }
    }
    if (!plan->incremental) {
      for (const auto& t : req.topics) {
        for (const auto& p : t.partitions) {
          plan->wanted.push_back({t.topic, p.partition, p.fetch_offset, p.partition_max_bytes,
                                  p.current_leader_epoch, p.last_fetched_epoch,
                                  p.log_start_offset});
        }
      }
    }
    plan->replica_id = req.replica_id;
    plan->request = std::move(request);

    Gathered first = gather(broker, *plan);
    if (req.max_wait_ms <= 0 || first.has_error ||
        first.bytes >= static_cast<uint64_t>(std::max(req.min_bytes, 1)) || plan->wanted.empty()) {
      finish(broker, plan, std::move(first));
      return;
    }
    // Long poll: wake on any append to a wanted partition, or give up after max_wait_ms.
    plan->timer = std::make_unique<boost::asio::steady_timer>(broker.io());
    plan->timer->expires_after(std::chrono::milliseconds(req.max_wait_ms));
    std::weak_ptr<FetchPlan> weak = plan;
    plan->timer->async_wait([&broker, weak](const boost::system::error_code& ec) {
      if (ec) return;
      if (auto p = weak.lock()) retry(broker, p, true);
    });
    for (const auto& w : plan->wanted) {
      if (auto* partition = broker.partition(w.topic, w.partition)) {
        const uint64_t id = partition->watch_appends([&broker, weak] {
          if (auto p = weak.lock()) retry(broker, p, false);
        });
        plan->watches.push_back({w.topic, w.partition, partition->topic_id(), id});
      }
    }
    // The plan lives as long as one of its callbacks can still answer it.
    auto keep = plan;
    plan->timer->async_wait([keep](const boost::system::error_code&) {});
  });
  registry.add({FetchRequest::api_key, "Fetch", 4, 12, 4, handler});
}

}  // namespace kafkacore::broker
