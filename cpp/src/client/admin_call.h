#pragma once
// Internal to the admin client: the retry loop every admin call runs on the I/O thread.
//
// A call works on a set of keys (topics, config resources, groups, partitions; a single dummy
// key for calls with one answer). It proceeds in rounds: a round sends requests for the keys
// still pending and ends once every answer (or failure) is in; each key is then resolved (a
// value or a final error) or kept for the next round, which starts after a backoff, refreshing
// the metadata first if an error said it was stale. At the deadline, keys still pending fail
// with REQUEST_TIMED_OUT, or the whole call does when no key was answered at all.
// Single-threaded: everything on the NetworkClient's io_context.
#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <utility>

#include "client/errors.h"
#include "client/network_client.h"

namespace kafkacore::client::admin {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

struct AdminOptions {
  milliseconds default_api_timeout{60000};
  int64_t retries = INT32_MAX;  // rounds after the first
};

class CallBase {
 public:
  virtual ~CallBase() = default;
  // Ends the call now with `error` (the client is closing).
  virtual void abort(const Error& error) = 0;
};

// What the calls share; lives on the I/O thread.
struct Context {
  NetworkClient& net;
  AdminOptions options;
  std::map<CallBase*, std::shared_ptr<CallBase>> active;  // calls under way, for close()
  bool closed = false;
};

// A wire error code (and optional message) as an Error.
inline Error wire_error(int16_t code, const std::optional<std::string>& message = {}) {
  const auto errc = static_cast<Errc>(code);
  std::string text = message && !message->empty() ? *message : std::string(errc_name(errc));
  if (errc_name(errc) == "UNKNOWN_ERROR_CODE") text += " (" + std::to_string(code) + ")";
  return Error(errc, std::move(text));
}

template <typename K, typename V>
class Call : public CallBase, public std::enable_shared_from_this<Call<K, V>> {
 public:
  using Results = std::map<K, Result<V>>;
  using Done = std::function<void(Result<Results>)>;

  Call(Context& ctx, std::string name, Clock::time_point deadline, Done done)
      : ctx_(ctx),
        name_(std::move(name)),
        start_(Clock::now()),
        deadline_(deadline),
        done_(std::move(done)),
        deadline_timer_(ctx.net.io()),
        retry_timer_(ctx.net.io()) {}

  // Before start(): a key to work on, or one already answered (an argument error).
  void add(const K& key) { pending_.insert(key); }
  void add_resolved(const K& key, Result<V> value) {
    results_.insert_or_assign(key, std::move(value));
  }

  // Runs the first round. I/O thread.
  void start() {
    if (ctx_.closed) return finish(std::unexpected(Error(kNetworkError, "client closed")));
    if (pending_.empty()) return finish(std::move(results_));
    ctx_.active[this] = this->shared_from_this();
    // A client's first call learns the brokers first, so requests by broker id can find them.
    // The network client retries that metadata request itself until request.timeout.ms, so
    // say what is awaited in case the deadline comes first.
    if (ctx_.net.metadata().generation == 0) {
      refresh_ = true;
      std::string servers;
      for (const BrokerAddress& b : ctx_.net.options().bootstrap) {
        servers += (servers.empty() ? "" : ",") + b.host + ":" + std::to_string(b.port);
      }
      last_error_ = Error(kNetworkError, "no metadata yet from bootstrap.servers " + servers);
    }
    deadline_timer_.expires_at(deadline_);
    deadline_timer_.async_wait([self = this->shared_from_this()](boost::system::error_code ec) {
      if (!ec) self->expire();
    });
    begin_round();
  }

  void abort(const Error& error) override { finish(std::unexpected(error)); }

  // ---- for the operations (called from round() and the callbacks it tracks)

  const std::set<K>& pending() const { return pending_; }
  bool is_pending(const K& key) const { return pending_.contains(key); }

  // Final answer for `key` (ignored unless it is pending).
  void resolve(const K& key, Result<V> value) {
    if (pending_.erase(key) == 0) return;
    results_.insert_or_assign(key, std::move(value));
    progress_ = true;
  }
  // `key` stays pending for the next round; `why` is what a timeout reports.
  void again(const K& key, const Error& why) {
    if (!pending_.contains(key)) return;
    why_.insert_or_assign(key, why);
    last_error_ = why;
  }
  // Retriable errors (client/errors.h) are tried again, refreshing the metadata first when it
  // is stale; anything else is the key's answer.
  void retry_or_fail(const K& key, const Error& error) {
    if (retriable(error.code())) {
      if (invalidates_metadata(error.code())) refresh_ = true;
      again(key, error);
    } else {
      resolve(key, std::unexpected(error));
    }
  }
  template <typename Keys>
  void retry_or_fail_all(const Keys& keys, const Error& error) {
    for (const K& key : keys) retry_or_fail(key, error);
  }
  // The next round refreshes the network client's metadata first.
  void refresh_metadata() { refresh_ = true; }
  // Something moved forward without resolving a key (the next round comes without a
  // growing backoff).
  void progressed() { progress_ = true; }

  NetworkClient& net() { return ctx_.net; }
  Context& ctx() { return ctx_; }

  // The timeout of each request: request.timeout.ms, but not past the deadline.
  milliseconds request_timeout() const {
    auto left = std::chrono::duration_cast<milliseconds>(deadline_ - Clock::now());
    return std::clamp(left, milliseconds(1), ctx_.net.options().request_timeout);
  }
  SendOptions send_options(int16_t min_version = 0, int16_t max_version = INT16_MAX) const {
    return SendOptions{
        .min_version = min_version, .max_version = max_version, .timeout = request_timeout()};
  }
  // The TimeoutMs sent in admin requests: a little below the request's own timeout, so the
  // broker's answer (even a timeout) arrives before the connection gives up on it.
  int32_t server_timeout_ms() const {
    const int64_t t = request_timeout().count();
    return static_cast<int32_t>(
        std::clamp<int64_t>(t - std::min<int64_t>(t / 10, 1000), 1, INT32_MAX));
  }

  // Wraps a callback of this round: ignored once the call has finished; the round ends after
  // the last tracked callback of the round has run (a callback may track further requests).
  template <typename Fn>
  auto track(Fn fn) {
    ++outstanding_;
    return [self = this->shared_from_this(), fn = std::move(fn)](auto&&... args) mutable {
      if (self->finished_) return;
      fn(args...);  // as lvalues: callbacks take const&, nothing is moved
      self->answered();
    };
  }

 protected:
  // Sends the requests for pending(), every callback wrapped by track().
  virtual void round() = 0;

 private:
  void begin_round() {
    if (finished_) return;
    if (Clock::now() >= deadline_) return expire();
    progress_ = false;
    outstanding_ = 1;  // held by this function, so callbacks cannot end the round early
    if (refresh_) {
      refresh_ = false;
      ctx_.net.update_metadata(track([this](const Result<void>& r) {
        if (!r) last_error_ = r.error();
        round();
      }));
    } else {
      round();
    }
    answered();
  }

  void answered() {
    if (--outstanding_ == 0 && !finished_) end_round();
  }

  void end_round() {
    if (pending_.empty()) return finish(std::move(results_));
    if (++retries_ > ctx_.options.retries) return expire();
    const milliseconds base = ctx_.net.options().retry_backoff;
    if (progress_ || backoff_.count() == 0) {
      backoff_ = base;
    } else {
      backoff_ = std::min(ctx_.net.options().retry_backoff_max, backoff_ * 2);
    }
    // +-20% jitter, as Kafka's ExponentialBackoff.
    static thread_local std::minstd_rand rng{std::random_device{}()};
    std::uniform_real_distribution<double> jitter(0.8, 1.2);
    const auto wait =
        milliseconds(static_cast<int64_t>(static_cast<double>(backoff_.count()) * jitter(rng)));
    // Past the deadline the deadline timer ends the call.
    retry_timer_.expires_after(wait);
    retry_timer_.async_wait([self = this->shared_from_this()](boost::system::error_code ec) {
      if (!ec) self->begin_round();
    });
  }

  void expire() {
    if (finished_) return;
    const auto took = std::chrono::duration_cast<milliseconds>(Clock::now() - start_).count();
    const std::string timed_out = name_ + " timed out after " + std::to_string(took) + " ms";
    if (results_.empty()) {
      std::string text = timed_out;
      if (last_error_) text += "; last error: " + last_error_->to_string();
      return finish(std::unexpected(Error(Errc::request_timed_out, std::move(text))));
    }
    for (const K& key : pending_) {
      std::string text = timed_out;
      if (auto it = why_.find(key); it != why_.end()) {
        text += "; last error: " + it->second.to_string();
      } else if (last_error_) {
        text += "; last error: " + last_error_->to_string();
      }
      results_.insert_or_assign(key, std::unexpected(Error(Errc::request_timed_out, text)));
    }
    pending_.clear();
    finish(std::move(results_));
  }

  void finish(Result<Results> result) {
    if (finished_) return;
    finished_ = true;
    deadline_timer_.cancel();
    retry_timer_.cancel();
    auto keep = this->shared_from_this();  // `active` may hold the last reference
    ctx_.active.erase(this);
    Done done = std::move(done_);
    done(std::move(result));
  }

  Context& ctx_;
  std::string name_;
  Clock::time_point start_;
  Clock::time_point deadline_;
  Done done_;
  asio::steady_timer deadline_timer_;
  asio::steady_timer retry_timer_;

  std::set<K> pending_;
  Results results_;
  std::map<K, Error> why_;
  std::optional<Error> last_error_;
  int outstanding_ = 0;
  int64_t retries_ = 0;
  milliseconds backoff_{0};
  bool refresh_ = false;
  bool progress_ = false;
  bool finished_ = false;
};

// A call whose operation is a lambda: round(call) sends the requests.
template <typename K, typename V>
class LambdaCall final : public Call<K, V> {
 public:
  using Round = std::function<void(LambdaCall&)>;
  LambdaCall(Context& ctx, std::string name, Clock::time_point deadline,
             typename Call<K, V>::Done done, Round round)
      : Call<K, V>(ctx, std::move(name), deadline, std::move(done)), round_(std::move(round)) {}

 protected:
  void round() override { round_(*this); }

 private:
  Round round_;
};

}  // namespace kafkacore::client::admin
