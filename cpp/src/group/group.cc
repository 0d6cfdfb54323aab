#include "group/group.h"

#include <algorithm>

namespace kafkacore::group {

const char* state_name(GroupState state) {
  switch (state) {
    case GroupState::empty: return "Empty";
    case GroupState::preparing_rebalance: return "PreparingRebalance";
    case GroupState::completing_rebalance: return "CompletingRebalance";
    case GroupState::stable: return "Stable";
    case GroupState::dead: return "Dead";
  }
  return "Unknown";
}

const Bytes* Member::metadata_for(const std::string& protocol) const {
  for (const auto& p : protocols) {
    if (p.name == protocol) return &p.metadata;
  }
  return nullptr;
}

bool Group::all_members_joined() const {
  if (!pending_members.empty()) return false;
  return std::all_of(members.begin(), members.end(),
                     [](const auto& entry) { return static_cast<bool>(entry.second.pending_join); });
}

std::set<std::string> Group::candidate_protocols() const {
  std::map<std::string, size_t> counts;
  for (const auto& [member_id, member] : members) {
    for (const auto& p : member.protocols) ++counts[p.name];
  }
  std::set<std::string> out;
  for (const auto& [name, count] : counts) {
    if (count == members.size()) out.insert(name);
  }
  return out;
}

bool Group::supports(const std::string& type, const std::vector<Protocol>& protocols) const {
  if (members.empty()) return !type.empty() && !protocols.empty();
  if (type != protocol_type) return false;
  const auto candidates = candidate_protocols();
  return std::any_of(protocols.begin(), protocols.end(),
                     [&](const Protocol& p) { return candidates.contains(p.name); });
}

std::string Group::select_protocol() const {
  const auto candidates = candidate_protocols();
  // Each member votes for the candidate it prefers most; ties go to the protocol the earliest
  // voter preferred, so the choice does not depend on map order of names.
  std::map<std::string, size_t> votes;
  std::vector<std::string> first_seen;
  for (const auto& [member_id, member] : members) {
    for (const auto& p : member.protocols) {
      if (candidates.contains(p.name)) {
        if (votes[p.name]++ == 0) first_seen.push_back(p.name);
        break;
      }
    }
  }
  std::string best;
  size_t best_votes = 0;
  for (const auto& name : first_seen) {
    if (votes[name] > best_votes) {
      best = name;
      best_votes = votes[name];
    }
  }
  return best;
}

int32_t Group::max_rebalance_timeout_ms() const {
  int32_t out = 0;
  for (const auto& [member_id, member] : members) out = std::max(out, member.rebalance_timeout_ms);
  return out;
}

std::optional<std::set<std::string>> Group::subscribed_topics() const {
  if (protocol_type != "consumer" || !protocol_name) return std::nullopt;
  std::set<std::string> out;
  for (const auto& [member_id, member] : members) {
    const Bytes* metadata = member.metadata_for(*protocol_name);
    if (!metadata) return std::nullopt;
    auto topics = parse_subscription_topics(*metadata);
    if (!topics) return std::nullopt;
    out.insert(topics->begin(), topics->end());
  }
  return out;
}

std::optional<std::vector<std::string>> parse_subscription_topics(ByteView bytes) {
  // int16 version, then [int32 count, (int16 length, bytes)...]: the non-flexible layout every
  // ConsumerProtocolSubscription version shares.
  size_t pos = 0;
  auto read = [&](size_t n) -> std::optional<uint64_t> {
    if (bytes.size() - pos < n) return std::nullopt;
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) v = (v << 8) | static_cast<uint8_t>(bytes[pos + i]);
    pos += n;
    return v;
  };
  auto version = read(2);
  if (!version || static_cast<int16_t>(*version) < 0) return std::nullopt;
  auto count = read(4);
  if (!count || static_cast<int32_t>(*count) < 0) return std::nullopt;
  std::vector<std::string> topics;
  for (uint32_t i = 0; i < static_cast<uint32_t>(*count); ++i) {
    auto length = read(2);
    if (!length || static_cast<int16_t>(*length) < 0 || bytes.size() - pos < *length) {
      return std::nullopt;
    }
    topics.emplace_back(reinterpret_cast<const char*>(bytes.data() + pos), *length);
    pos += *length;
  }
  return topics;
}

Bytes empty_consumer_assignment() {
  // version 0, no topic partitions, null user data.
  Bytes out(10, std::byte{0});
  for (size_t i = 6; i < 10; ++i) out[i] = std::byte{0xff};
  return out;
}

}  // namespace kafkacore::group
