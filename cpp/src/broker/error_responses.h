#pragma once
// "This request failed with error X", per API: the answer a broker would give if the request
// failed everywhere it could, well formed for the request's API and version, with every error
// code field (top level, per topic, per partition, per group or resource, as the API has them)
// set to one code. Used by fault injection (server/request_faults.h) so a client sees an error
// exactly as a real broker reports it.
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "server/request.h"

namespace kafkacore::broker {

class Broker;

// The API keys answer_with_error handles.
const std::set<int16_t>& error_response_apis();

// Answers `request` with `code` everywhere. Produce with acks=0 gets no answer (as Kafka: the
// client expects none) and its records are dropped. A body that does not decode closes the
// connection, as the real handler would. Metadata answers carry the live brokers, cluster id
// and controller from `broker`'s image, and the requested topics (every topic for an
// all-topics request) with the error. Reactor thread.
void answer_with_error(Broker& broker, server::Request request, int16_t code);

// The topic names a request mentions (for matching fault rules): topics it produces to, fetches,
// lists, commits, creates, deletes or describes (topic config resources). Empty for APIs that
// name no topic or a body that does not decode.
std::vector<std::string> request_topics(int16_t api_key, int16_t version, ByteView body);

// Whether the request comes from a follower replica (Fetch, OffsetForLeaderEpoch or ListOffsets
// with replica id >= 0), not from a client.
bool is_replication_request(int16_t api_key, int16_t version, ByteView body);

}  // namespace kafkacore::broker
