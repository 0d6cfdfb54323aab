#include "client/subscription_state.h"

#include <algorithm>

namespace kafkacore::client {

Result<void> SubscriptionState::subscribe(std::set<std::string> topics) {
  if (type_ == SubscriptionType::manual) {
    return make_error(Errc::invalid_request,
                      "subscribe(): the consumer has a manual assignment; unsubscribe first");
  }
  type_ = SubscriptionType::topics;
  topics_ = std::move(topics);
  pattern_.reset();
  pattern_source_.clear();
  return {};
}

Result<void> SubscriptionState::subscribe_pattern(std::string source, std::regex pattern) {
  if (type_ == SubscriptionType::manual) {
    return make_error(
        Errc::invalid_request,
        "subscribe_pattern(): the consumer has a manual assignment; unsubscribe first");
  }
  if (type_ != SubscriptionType::pattern || source != pattern_source_) topics_.clear();
  type_ = SubscriptionType::pattern;
  pattern_source_ = std::move(source);
  pattern_ = std::move(pattern);
  return {};
}

bool SubscriptionState::update_pattern_topics(const ClusterMetadata& metadata,
                                              bool exclude_internal) {
  if (type_ != SubscriptionType::pattern || !pattern_) return false;
  std::set<std::string> matched;
  for (const auto& [name, topic] : metadata.topics) {
    if (exclude_internal && topic.internal) continue;
    if (topic.error != Errc::none) continue;
    if (std::regex_match(name, *pattern_)) matched.insert(name);
  }
  if (matched == topics_) return false;
  topics_ = std::move(matched);
  return true;
}

void SubscriptionState::unsubscribe() {
  type_ = SubscriptionType::none;
  topics_.clear();
  pattern_.reset();
  pattern_source_.clear();
  partitions_.clear();
  buffered_bytes_ = 0;
  drain_cursor_.reset();
}

PartitionState SubscriptionState::fresh_partition() const {
  PartitionState p;
  p.init = PartitionState::Init::committed;
  p.reset_policy = default_reset_;
  return p;
}

Result<void> SubscriptionState::assign_manual(const std::vector<TopicPartition>& partitions) {
  if (auto_assigned()) {
    return make_error(Errc::invalid_request,
                      "assign(): the consumer is subscribed; unsubscribe first");
  }
  if (partitions.empty()) {
    unsubscribe();
    return {};
  }
  type_ = SubscriptionType::manual;
  set_assignment(partitions);
  topics_ = assigned_topics();
  return {};
}

void SubscriptionState::set_assignment(const std::vector<TopicPartition>& partitions) {
  std::set<TopicPartition> wanted(partitions.begin(), partitions.end());
  for (auto it = partitions_.begin(); it != partitions_.end();) {
    if (wanted.contains(it->first)) {
      ++it;
      continue;
    }
    buffered_bytes_ -= it->second.buffered_bytes;
    it = partitions_.erase(it);
  }
  for (const TopicPartition& tp : wanted) {
    if (!partitions_.contains(tp)) partitions_.emplace(tp, fresh_partition());
  }
}

void SubscriptionState::remove(const std::vector<TopicPartition>& partitions) {
  for (const TopicPartition& tp : partitions) {
    auto it = partitions_.find(tp);
    if (it == partitions_.end()) continue;
    buffered_bytes_ -= it->second.buffered_bytes;
    partitions_.erase(it);
  }
}

std::vector<TopicPartition> SubscriptionState::assigned() const {
  std::vector<TopicPartition> out;
  out.reserve(partitions_.size());
  for (const auto& [tp, p] : partitions_) out.push_back(tp);
  return out;
}

std::set<std::string> SubscriptionState::assigned_topics() const {
  std::set<std::string> out;
  for (const auto& [tp, p] : partitions_) out.insert(tp.topic);
  return out;
}

PartitionState* SubscriptionState::find(const TopicPartition& tp) {
  auto it = partitions_.find(tp);
  return it == partitions_.end() ? nullptr : &it->second;
}

void SubscriptionState::clear_buffer(PartitionState& p) {
  buffered_bytes_ -= p.buffered_bytes;
  p.buffered_bytes = 0;
  p.chunks.clear();
  p.fetch_offset = p.position;
  ++p.seek_generation;
}

void SubscriptionState::seek(PartitionState& p, int64_t offset, std::optional<int32_t> epoch) {
  p.init = PartitionState::Init::ready;
  p.position = offset;
  p.position_epoch = epoch;
  p.lookup = 0;
  p.error.reset();
  p.retry_after = {};
  clear_buffer(p);
}

void SubscriptionState::request_reset(PartitionState& p, OffsetResetPolicy policy) {
  p.init = PartitionState::Init::reset;
  p.reset_policy = policy;
  p.lookup = 0;
  p.error.reset();
  p.retry_after = {};
  clear_buffer(p);
}

void SubscriptionState::request_validation(PartitionState& p) {
  if (!p.position_epoch || p.init != PartitionState::Init::ready) return;
  p.init = PartitionState::Init::validate;
  p.lookup = 0;
  p.retry_after = {};
  clear_buffer(p);
}

void SubscriptionState::set_paused(PartitionState& p, bool paused) {
  if (p.paused == paused) return;
  p.paused = paused;
  // Simpler than keeping records poll() must not return: refetch them after resume().
  if (paused && p.has_position()) clear_buffer(p);
}

void SubscriptionState::add_chunk(PartitionState& p, FetchedChunk chunk) {
  p.fetch_offset = chunk.next_offset;
  p.buffered_bytes += chunk.bytes;
  buffered_bytes_ += chunk.bytes;
  p.chunks.push_back(std::move(chunk));
}

bool SubscriptionState::has_buffered_records() const {
  for (const auto& [tp, p] : partitions_) {
    if (!p.chunks.empty() && !p.paused && p.has_position()) return true;
  }
  return false;
}

PolledRecords SubscriptionState::drain(size_t max) {
  PolledRecords out;
  size_t taken = 0;
  if (partitions_.empty()) return out;
  // Start after the partition drained last time, so no partition starves the others.
  auto start = drain_cursor_ ? partitions_.upper_bound(*drain_cursor_) : partitions_.begin();
  if (start == partitions_.end()) start = partitions_.begin();
  auto it = start;
  do {
    auto& [tp, p] = *it;
    if (!p.paused && p.has_position()) {
      const size_t taken_before = taken;
      while (!p.chunks.empty() && taken < max) {
        FetchedChunk& chunk = p.chunks.front();
        const std::vector<RecordRef>& records = chunk.fetched->records;
        const size_t n = std::min(records.size() - chunk.next, max - taken);
        if (n > 0) {
          out.runs.push_back(RecordRun{chunk.fetched, chunk.next, chunk.next + n});
          chunk.next += n;
          taken += n;
          const RecordRef& last = records[chunk.next - 1];
          p.position = last.offset + 1;
          p.position_epoch =
              last.leader_epoch >= 0 ? std::optional<int32_t>(last.leader_epoch) : std::nullopt;
        }
        if (chunk.next < records.size()) break;
        p.position = std::max(p.position, chunk.next_offset);
        p.buffered_bytes -= chunk.bytes;
        buffered_bytes_ -= chunk.bytes;
        p.chunks.pop_front();
      }
      if (taken > taken_before) drain_cursor_ = tp;
    }
    if (taken >= max) break;
    if (++it == partitions_.end()) it = partitions_.begin();
  } while (it != start);
  return out;
}

std::map<TopicPartition, OffsetAndMetadata> SubscriptionState::consumed() const {
  std::map<TopicPartition, OffsetAndMetadata> out;
  for (const auto& [tp, p] : partitions_) {
    if (!p.has_position()) continue;
    out[tp] = OffsetAndMetadata{p.position, "", p.position_epoch};
  }
  return out;
}

}  // namespace kafkacore::client
