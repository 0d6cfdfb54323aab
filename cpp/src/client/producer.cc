#include "client/producer.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>

#include "client/errors.h"
#include "client/io_thread.h"
#include "client/network_client.h"
#include "client/record_view.h"
#include "common/clock.h"
#include "common/log.h"

namespace kafkacore::client {

namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

struct ProducerSettings {
  ClientOptions client;
  AccumulatorOptions accumulator;
  int16_t acks = -1;
  bool idempotent = true;
  milliseconds linger{5};
  milliseconds delivery_timeout{120000};
  size_t max_request_size = 1 << 20;
  int max_in_flight = 5;
  int64_t retries = INT32_MAX;
};

Result<ProducerSettings> read_settings(Properties properties) {
  ConfigReader config(std::move(properties));
  ProducerSettings s;
  s.client = read_client_options(config, "pykafkacore-producer");
  std::string acks = config.get_choice("acks", "all", {"all", "-1", "0", "1"});
  s.acks = acks == "all" ? -1 : static_cast<int16_t>(std::stoi(acks));
  s.max_in_flight =
      static_cast<int>(config.get_int("max.in.flight.requests.per.connection", 5, 1, 1000));
  bool idempotence_set = config.get_optional("enable.idempotence").has_value();
  s.idempotent = config.get_bool("enable.idempotence", true);
  if (s.idempotent && (s.acks != -1 || s.max_in_flight > 5)) {
    if (idempotence_set) {
      config.fail("enable.idempotence",
                  "needs acks=all and max.in.flight.requests.per.connection <= 5");
    }
    s.idempotent = false;  // Kafka 3+: idempotence quietly off when the user chose otherwise
  }
  s.linger = config.get_ms("linger.ms", 5);
  s.accumulator.batch_size = static_cast<size_t>(config.get_int("batch.size", 16384, 1, 1 << 30));
  std::string compression = config.get_choice("compression.type", "none",
                                              {"none", "gzip", "snappy", "lz4", "zstd"});
  s.accumulator.compression = record::parse_compression(compression).value_or(record::Compression::none);
  s.accumulator.compression_level =
      static_cast<int>(config.get_int("compression.level", -1, -131072, 22));
  for (const char* key : {"compression.gzip.level", "compression.lz4.level", "compression.zstd.level"}) {
    if (auto level = config.get_optional(key)) {
      s.accumulator.compression_level = static_cast<int>(config.get_int(key, -1, -131072, 22));
    }
  }
  s.accumulator.buffer_memory =
      static_cast<size_t>(config.get_int("buffer.memory", 32 << 20, 1024, INT64_MAX));
  s.accumulator.max_block = config.get_ms("max.block.ms", 60000);
  s.max_request_size =
      static_cast<size_t>(config.get_int("max.request.size", 1 << 20, 1024, 1 << 30));
  s.delivery_timeout = config.get_ms("delivery.timeout.ms", 120000, 1);
  s.retries = config.get_int("retries", INT32_MAX, 0);
  if (config.get_optional("transactional.id")) {
    config.fail("transactional.id", "transactions are not supported yet");
  }
  config.ignore({"key.serializer", "value.serializer", "partitioner.class",
                 "partitioner.ignore.keys", "metrics.num.samples", "metrics.sample.window.ms"});
  if (auto ok = config.finish(); !ok) return std::unexpected(ok.error());
  return s;
}

size_t record_size(const ProducerRecordView& r) {
  size_t size = 32 + r.topic.size();  // record framing (varints, attributes) and bookkeeping
  if (r.key) size += r.key->size();
  if (r.value) size += r.value->size();
  for (const HeaderView& h : r.headers) size += 8 + h.key.size() + (h.value ? h.value->size() : 0);
  return size;
}

}  // namespace

struct Producer::Impl {
  explicit Impl(ProducerSettings settings)
      : s(std::move(settings)), accumulator(s.accumulator), io("kc-producer"),
        timer(io.io()) {}
  ~Impl() {
    io.stop();
    nc.reset();
  }

  ProducerSettings s;
  RecordAccumulator accumulator;
  IoThread io;
  std::unique_ptr<NetworkClient> nc;  // io thread only

  std::atomic<bool> wake_pending{false};
  std::atomic<int> flushing{0};
  std::atomic<bool> closed{false};
  std::atomic<int64_t> public_producer_id{-1};
  std::atomic<int16_t> public_producer_epoch{-1};

  // ---- io thread state
  bool stopped = false;
  asio::steady_timer timer;
  Clock::time_point timer_at = Clock::time_point::max();
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
  bool producer_id_in_flight = false;
  Clock::time_point producer_id_retry_at{};
  struct PartitionState {
    int32_t next_sequence = 0;
    int in_flight = 0;
  };
  std::map<TopicPartition, PartitionState> partitions;
  std::map<int32_t, int> node_in_flight;

  // ---- delivery reports, for the user's threads
  std::mutex reports_mu;
  std::condition_variable reports_cv;
  std::deque<BatchReport> reports;

  void start() {
    io.call([this] {
      nc = std::make_unique<NetworkClient>(io.io(), s.client);
      nc->add_metadata_listener([this](const ClusterMetadata&) {
        std::vector<BatchReport> failed;
        accumulator.set_metadata(nc->metadata_snapshot(), failed);
        deliver(std::move(failed));
        run();
      });
      nc->update_metadata();
    });
  }

  void wake() {
    if (!wake_pending.exchange(true)) {
      io.post([this] {
        wake_pending = false;
        run();
      });
    }
  }

  void arm(Clock::time_point at) {
    if (at >= timer_at) return;
    timer_at = at;
    timer.expires_at(at);
    timer.async_wait([this](boost::system::error_code ec) {
      if (ec) return;
      timer_at = Clock::time_point::max();
      run();
    });
  }

  // Hands finished batches to the user's side (callbacks run in poll/flush).
  void deliver(std::vector<BatchReport> finished) {
    if (finished.empty()) return;
    size_t records = 0;
    {
      std::lock_guard lock(accumulator.mutex());
      for (const BatchReport& r : finished) {
        accumulator.release(*r.batch);
        records += r.batch->timestamps.size();
      }
    }
    {
      std::lock_guard lock(reports_mu);
      for (BatchReport& r : finished) reports.push_back(std::move(r));
    }
    accumulator.completed(records);
    reports_cv.notify_all();
  }

  milliseconds retry_backoff(int attempts) const {
    auto backoff = s.client.retry_backoff * (1LL << std::min(attempts - 1, 10));
    return std::min<milliseconds>(backoff, std::max(s.client.retry_backoff, s.client.retry_backoff_max));
  }

  void request_producer_id() {
    if (producer_id_in_flight) return;
    auto now = Clock::now();
    if (now < producer_id_retry_at) return arm(producer_id_retry_at);
    producer_id_in_flight = true;
    nc->send_any<protocol::InitProducerIdRequest>(
        [](int16_t) {
          protocol::InitProducerIdRequest request;
          request.transactional_id.reset();
          request.transaction_timeout_ms = 60000;
          return request;
        },
        [this](Result<Response<protocol::InitProducerIdResponse>> r) {
          producer_id_in_flight = false;
          if (stopped) return;
          Errc code = r ? static_cast<Errc>(r->body.error_code) : r.error().code();
          if (code == Errc::none) {
            producer_id = r->body.producer_id;
            producer_epoch = r->body.producer_epoch;
            public_producer_id = producer_id;
            public_producer_epoch = producer_epoch;
            for (auto& [tp, st] : partitions) st.next_sequence = 0;
          } else {
            KC_LOG(debug, "producer", "InitProducerId failed",
                   {{"error", r ? std::string(errc_name(code)) : r.error().to_string()}});
            producer_id_retry_at = Clock::now() + s.client.retry_backoff;
            if (invalidates_metadata(code)) nc->update_metadata();
          }
          run();
        });
  }

  // A sequence gap is left behind (a batch failed for good): start over with a new producer
  // id, as Kafka's producer does, so later batches are not refused as out of order.
  void reset_producer_id() {
    if (!s.idempotent || producer_id < 0) return;
    producer_id = -1;
    producer_epoch = -1;
    std::lock_guard lock(accumulator.mutex());
    for (auto& [tp, queue] : accumulator.batches()) {
      for (BatchPtr& b : queue) unfreeze(*b);
    }
  }

  // The batch gets a new producer id and sequence when next sent (its bytes are restamped).
  static void unfreeze(ProducerBatch& b) {
    b.base_sequence = -1;
    b.producer_id = -1;
    b.producer_epoch = -1;
  }

  void run() {
    if (stopped) return;
    const auto now = Clock::now();
    std::vector<BatchReport> finished;
    accumulator.expire_parked(now, finished);
    bool need_metadata = false;
    if (auto parked = accumulator.parked_topics(); !parked.empty()) {
      nc->want_topics(parked);
      need_metadata = true;
      arm(now + milliseconds(100));  // to expire parked records on time
    }
    if (s.idempotent && producer_id < 0) {
      deliver(std::move(finished));
      if (need_metadata) nc->update_metadata();
      return request_producer_id();
    }

    Clock::time_point next_wake = Clock::time_point::max();
    bool more = false;
    bool gap = false;
    std::map<int32_t, std::vector<BatchPtr>> requests;  // node -> one batch per partition
    std::map<int32_t, size_t> request_bytes;
    {
      std::lock_guard lock(accumulator.mutex());
      const ClusterMetadata& md = nc->metadata();
      const bool urgent = flushing > 0 || closed;
      for (auto& [tp, queue] : accumulator.batches()) {
        // Batches past delivery.timeout.ms fail (those in flight wait for their answer).
        while (!queue.empty() && now >= queue.front()->created + s.delivery_timeout) {
          BatchPtr b = std::move(queue.front());
          queue.pop_front();
          if (b->base_sequence >= 0) gap = true;
          finished.push_back({b, make_error(Errc::request_timed_out,
                                            "delivery.timeout.ms expired for " +
                                                std::to_string(b->record_count()) +
                                                " record(s) of " + tp.to_string())});
        }
        if (queue.empty()) continue;
        next_wake = std::min(next_wake, queue.front()->created + s.delivery_timeout);
        const int32_t leader = md.leader(tp.topic, tp.partition);
        if (leader < 0) {
          need_metadata = true;
          continue;
        }
        PartitionState& st = partitions[tp];
        BatchPtr& b = queue.front();
        const bool retrying = b->attempts > 0;
        if (retrying && st.in_flight > 0) continue;  // resend in order, one at a time
        if (st.in_flight >= (retrying ? 1 : s.max_in_flight)) continue;
        if (retrying && b->retry_at > now && leader == b->sent_to) {
          // Keep asking who leads (rate-limited to one Metadata per retry.backoff.ms): the
          // batch goes as soon as a new leader shows up rather than at the end of its backoff.
          if (b->leader_suspect) need_metadata = true;
          next_wake = std::min(next_wake, b->retry_at);
          continue;
        }
        const bool ready = b->closed || queue.size() > 1 || urgent || retrying ||
                           now >= b->created + s.linger;
        if (!ready) {
          next_wake = std::min(next_wake, b->created + s.linger);
          continue;
        }
        if (node_in_flight[leader] >= s.max_in_flight) continue;  // woken by an answer
        const bool stamp = s.idempotent && b->base_sequence < 0;
        if (stamp) {
          b->producer_id = producer_id;
          b->producer_epoch = producer_epoch;
          b->base_sequence = st.next_sequence;
          st.next_sequence = static_cast<int32_t>(
              (static_cast<int64_t>(st.next_sequence) + b->record_count()) % INT32_MAX);
        }
        if (!b->built) {
          b->builder.set_producer(ProducerId{b->producer_id}, ProducerEpoch{b->producer_epoch},
                                  b->base_sequence);
          // Finished in place (no copy of the records); the builder is spent, so the batch
          // takes no more appends from here on.
          b->closed = true;
          auto bytes = b->builder.finish();
          if (!bytes) {
            finished.push_back({b, std::unexpected(bytes.error())});
            queue.pop_front();
            continue;
          }
          b->built = std::move(*bytes);
        } else if (stamp) {
          record::restamp_producer(*b->built, ProducerId{b->producer_id},
                                   ProducerEpoch{b->producer_epoch}, b->base_sequence);
        }
        size_t& bytes = request_bytes[leader];
        if (bytes > 0 && bytes + b->built->size() > s.max_request_size) {
          more = true;
          continue;
        }
        bytes += b->built->size();
        b->closed = true;
        b->sent_to = leader;
        requests[leader].push_back(b);
        ++st.in_flight;
        queue.pop_front();
        if (!queue.empty()) more = true;
      }
      std::erase_if(accumulator.batches(), [](const auto& entry) { return entry.second.empty(); });
    }
    if (gap) reset_producer_id();
    deliver(std::move(finished));
    for (auto& [node, batches] : requests) send(node, std::move(batches));
    if (need_metadata) nc->update_metadata();
    if (more) wake();
    if (next_wake != Clock::time_point::max()) arm(next_wake);
  }

  void send(int32_t node, std::vector<BatchPtr> batches) {
    auto shared = std::make_shared<std::vector<BatchPtr>>(std::move(batches));
    auto build = [shared, acks = s.acks, timeout = s.client.request_timeout](int16_t) {
      protocol::ProduceRequest request;
      request.acks = acks;
      request.timeout_ms = static_cast<int32_t>(timeout.count());
      for (const BatchPtr& b : *shared) {
        if (request.topic_data.empty() || request.topic_data.back().name != b->tp.topic) {
          request.topic_data.emplace_back();
          request.topic_data.back().name = b->tp.topic;
        }
        protocol::ProduceRequest::PartitionProduceData data;
        data.index = b->tp.partition;
        data.records.bytes = ByteView(*b->built);
        data.records.keepalive = b;  // sent from the batch itself, not copied into the request
        request.topic_data.back().partition_data.push_back(std::move(data));
      }
      return request;
    };
    ++node_in_flight[node];
    SendOptions options{.min_version = 3, .max_version = INT16_MAX, .timeout = {}};
    if (s.acks == 0) {
      nc->send_oneway<protocol::ProduceRequest>(
          node, build,
          [this, node, shared](Result<void> r) {
            --node_in_flight[node];
            std::vector<BatchPtr> retry;
            std::vector<BatchReport> finished;
            for (BatchPtr& b : *shared) {
              if (r) {
                --partitions[b->tp].in_flight;
                finished.push_back({b, int64_t{-1}});
              } else {
                on_batch_error(b, r.error(), finished);
              }
            }
            deliver(std::move(finished));
            wake();  // not run(): see the acks != 0 callback
          },
          options);
      return;
    }
    nc->send<protocol::ProduceRequest>(
        node, build,
        [this, node, shared](Result<Response<protocol::ProduceResponse>> r) {
          --node_in_flight[node];
          if (stopped) return;
          std::vector<BatchReport> finished;
          for (BatchPtr& b : *shared) {
            if (!r) {
              on_batch_error(b, r.error(), finished);
              continue;
            }
            const protocol::ProduceResponse::PartitionProduceResponse* answer = nullptr;
            for (const auto& t : r->body.responses) {
              if (t.name != b->tp.topic) continue;
              for (const auto& p : t.partition_responses) {
                if (p.index == b->tp.partition) answer = &p;
              }
            }
            if (!answer) {
              on_batch_error(b, Error(Errc::unknown_server_error,
                                      "no answer for " + b->tp.to_string() + " in the response"),
                             finished);
              continue;
            }
            auto code = static_cast<Errc>(answer->error_code);
            if (code == Errc::none || code == Errc::duplicate_sequence_number) {
              --partitions[b->tp].in_flight;
              int64_t offset = code == Errc::none ? answer->base_offset : -1;
              finished.push_back({b, offset, answer->log_append_time_ms});
            } else {
              on_batch_error(b,
                             Error(code, answer->error_message.value_or(std::string(errc_name(code)))),
                             finished);
            }
          }
          deliver(std::move(finished));
          // Deferred: a dropped connection fails its requests one callback after another, and
          // running now would send a later batch of a partition ahead of earlier ones whose
          // failure (and requeueing for retry) is still to come, reordering them.
          wake();
        },
        options);
  }

  void on_batch_error(const BatchPtr& b, const Error& error, std::vector<BatchReport>& finished) {
    PartitionState& st = partitions[b->tp];
    --st.in_flight;
    const auto now = Clock::now();
    const Errc code = error.code();
    bool retry = retriable(code);
    if (s.idempotent && !retry &&
        (code == Errc::out_of_order_sequence_number || code == Errc::unknown_producer_id ||
         code == Errc::invalid_producer_epoch)) {
      // Out of order behind an earlier batch of ours that is being retried: retry too, in
      // sequence. Otherwise the producer's state on the broker is gone (e.g. a new leader
      // without it): resend under a new producer id.
      retry = true;
      bool earlier_pending = false;
      {
        std::lock_guard lock(accumulator.mutex());
        auto it = accumulator.batches().find(b->tp);
        if (it != accumulator.batches().end() && !it->second.empty()) {
          const ProducerBatch& front = *it->second.front();
          earlier_pending = front.attempts > 0 && front.base_sequence >= 0 &&
                            front.base_sequence < b->base_sequence &&
                            front.producer_id == b->producer_id;
        }
      }
      if (!earlier_pending) {
        reset_producer_id();
        unfreeze(*b);
      }
    }
    const bool time_left = now + retry_backoff(b->attempts + 1) < b->created + s.delivery_timeout;
    if (!retry || b->attempts >= s.retries || !time_left) {
      if (s.idempotent && b->base_sequence >= 0) reset_producer_id();
      finished.push_back({b, std::unexpected(error)});
      return;
    }
    b->leader_suspect = invalidates_metadata(code);
    if (b->leader_suspect) nc->update_metadata();
    if (b->producer_id != producer_id) unfreeze(*b);
    b->attempts++;
    b->retry_at = now + retry_backoff(b->attempts);
    std::lock_guard lock(accumulator.mutex());
    auto& queue = accumulator.batches()[b->tp];
    // Back in sequence order ahead of batches not sent yet.
    auto pos = std::ranges::find_if(queue, [&](const BatchPtr& q) {
      return q->base_sequence < 0 || b->base_sequence < 0 || q->base_sequence > b->base_sequence;
    });
    queue.insert(pos, b);
  }

  // false: not blocking and the buffer is full.
  Result<bool> append(const ProducerRecordView& record, DeliveryCallback& callback, bool block) {
    if (closed) return make_error(Errc::network_exception, "producer closed");
    const size_t size = record_size(record);
    if (size > s.max_request_size) {
      return make_error(Errc::message_too_large,
                        "record of " + std::to_string(size) +
                            " bytes is larger than max.request.size (" +
                            std::to_string(s.max_request_size) + ")");
    }
    auto appended = accumulator.append(record, callback, size, SystemClock::instance().now_ms(), block);
    if (!appended) return std::unexpected(appended.error());
    if (appended->buffer_full) return false;
    if (appended->wake_sender) wake();
    return true;
  }

  size_t serve_reports(milliseconds timeout) {
    std::deque<BatchReport> due;
    {
      std::unique_lock lock(reports_mu);
      if (timeout.count() > 0) {
        reports_cv.wait_for(lock, timeout, [&] { return !reports.empty(); });
      }
      due.swap(reports);
    }
    size_t count = 0;
    for (const BatchReport& r : due) {
      const ProducerBatch& b = *r.batch;
      count += b.timestamps.size();
      for (size_t i = 0; i < b.callbacks.size(); ++i) {
        if (!b.callbacks[i]) continue;
        if (!r.base_offset) {
          b.callbacks[i](std::unexpected(r.base_offset.error()));
          continue;
        }
        RecordMetadata md;
        md.topic_partition = b.tp;
        md.offset = *r.base_offset < 0 ? -1 : *r.base_offset + static_cast<int64_t>(i);
        md.timestamp = r.log_append_time >= 0 ? r.log_append_time : b.timestamps[i];
        b.callbacks[i](md);
      }
    }
    return count;
  }

  bool reports_pending() {
    std::lock_guard lock(reports_mu);
    return !reports.empty();
  }

  // Fails everything not yet sent (the producer is closing).
  void abandon() {
    stopped = true;
    timer.cancel();
    std::vector<BatchReport> finished;
    {
      std::lock_guard lock(accumulator.mutex());
      for (auto& [tp, queue] : accumulator.batches()) {
        for (BatchPtr& b : queue) {
          finished.push_back({b, make_error(Errc::network_exception, "producer closed")});
        }
      }
      accumulator.batches().clear();
    }
    accumulator.expire_parked(Clock::time_point::max(), finished);
    for (BatchReport& r : finished) {
      if (!r.base_offset) r.base_offset = make_error(Errc::network_exception, "producer closed");
    }
    deliver(std::move(finished));
    nc->close();
  }
};

Producer::Producer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<Producer>> Producer::create(Properties config) {
  auto settings = read_settings(std::move(config));
  if (!settings) return std::unexpected(settings.error());
  auto impl = std::make_unique<Impl>(std::move(*settings));
  impl->start();
  return std::unique_ptr<Producer>(new Producer(std::move(impl)));
}

Producer::~Producer() {
  if (!impl_->closed.exchange(true)) {
    impl_->accumulator.close();
    impl_->io.call([this] { impl_->abandon(); });
  }
}

Result<void> Producer::send(ProducerRecord record, DeliveryCallback callback) {
  RecordViewHolder held(record);
  return send_view(held.view, std::move(callback));
}

Result<void> Producer::send_view(const ProducerRecordView& record, DeliveryCallback callback) {
  auto sent = impl_->append(record, callback, true);
  if (!sent) return std::unexpected(sent.error());
  return {};
}

Result<bool> Producer::try_send_view(const ProducerRecordView& record, DeliveryCallback& callback) {
  return impl_->append(record, callback, false);
}

size_t Producer::poll(milliseconds timeout) { return impl_->serve_reports(timeout); }

size_t Producer::outstanding() const { return impl_->accumulator.incomplete(); }

Result<void> Producer::flush(milliseconds timeout) {
  const auto start = Clock::now();
  const auto deadline =
      timeout >= milliseconds(INT64_MAX / 1'000'000 / 2) ? Clock::time_point::max() : start + timeout;
  impl_->flushing++;
  impl_->wake();
  Result<void> result;
  while (impl_->accumulator.incomplete() > 0) {
    const auto now = Clock::now();
    if (now >= deadline) {
      result = make_error(Errc::request_timed_out,
                          std::to_string(impl_->accumulator.incomplete()) +
                              " record(s) still outstanding after flush timeout");
      break;
    }
    impl_->serve_reports(std::min<milliseconds>(
        milliseconds(50), std::chrono::duration_cast<milliseconds>(deadline - now)));
  }
  impl_->flushing--;
  impl_->serve_reports(milliseconds(0));
  return result;
}

Result<std::vector<int32_t>> Producer::partitions_for(const std::string& topic,
                                                      milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (true) {
    auto found = impl_->io.call([&]() -> std::optional<Result<std::vector<int32_t>>> {
      const TopicInfo* t = impl_->nc->metadata().topic(topic);
      if (t && t->error == Errc::none && !t->partitions.empty()) {
        std::vector<int32_t> out;
        for (const PartitionInfo& p : t->partitions) out.push_back(p.partition);
        return out;
      }
      if (t && t->error != Errc::none && !retriable(t->error)) {
        return make_error(t->error, "topic '" + topic + "': " + std::string(errc_name(t->error)));
      }
      impl_->nc->want_topics({topic});
      impl_->nc->update_metadata();
      return std::nullopt;
    });
    if (found) return std::move(*found);
    if (Clock::now() >= deadline) {
      return make_error(Errc::request_timed_out,
                        "topic '" + topic + "' not present in metadata within the timeout");
    }
    std::this_thread::sleep_for(milliseconds(20));
  }
}

std::pair<int64_t, int16_t> Producer::producer_id() const {
  return {impl_->public_producer_id.load(), impl_->public_producer_epoch.load()};
}

Result<void> Producer::close(milliseconds timeout) {
  if (impl_->closed.load()) return {};
  Result<void> flushed = timeout.count() > 0 ? flush(timeout) : Result<void>{};
  if (impl_->closed.exchange(true)) return flushed;
  impl_->accumulator.close();
  impl_->io.call([this] { impl_->abandon(); });
  impl_->io.stop();
  impl_->serve_reports(milliseconds(0));
  return flushed;
}

}  // namespace kafkacore::client
