#pragma once
// How the clients react to Kafka error codes: which are worth retrying, and which mean the
// client's view of the cluster (leaders, coordinators) is stale.
#include "common/error.h"

namespace kafkacore::client {

// Kafka's RetriableException subclasses (plus connection failures): the same request may
// succeed later.
bool retriable(Errc code);

// The error says the partition's leader moved or is unknown: refresh metadata before retrying.
bool invalidates_metadata(Errc code);

// The error says the group/transaction coordinator moved: look it up again.
bool invalidates_coordinator(Errc code);

}  // namespace kafkacore::client
