// ListOffsets (key 2): -1 latest (the high watermark), -2 earliest (the log start), -3 the record
// with the largest timestamp (v7), or the first record at or after a timestamp.
#include "broker/broker.h"
#include "broker/handlers/handlers.h"
#include "broker/handlers/util.h"
#include "protocol/messages.h"

namespace kafkacore::broker {
namespace {

using protocol::ListOffsetsRequest;
using protocol::ListOffsetsResponse;

constexpr int64_t kLatest = -1;
constexpr int64_t kEarliest = -2;
constexpr int64_t kMaxTimestamp = -3;

}  // namespace

void register_list_offsets(server::HandlerRegistry& registry, Broker& broker) {
  auto handler = server::typed_handler<ListOffsetsRequest>([&broker](ListOffsetsRequest req,
                                                                     server::Request request) {
    const int16_t version = request.header.api_version;
    ListOffsetsResponse response;
    for (const auto& topic : req.topics) {
      auto& t = response.topics.emplace_back();
      t.name = topic.name;
      for (const auto& p : topic.partitions) {
        auto& out = t.partitions.emplace_back();
        out.partition_index = p.partition_index;
        out.timestamp = -1;
        out.offset = -1;
        replication::Partition* partition = broker.partition(topic.name, p.partition_index);
        if (!partition) {
          out.error_code = error_code(Errc::unknown_topic_or_partition);
          continue;
        }
        if (auto bad = partition->check_leader_epoch(p.current_leader_epoch); bad != Errc::none) {
          out.error_code = error_code(bad);
          continue;
        }
        if (!partition->is_leader()) {
          out.error_code = error_code(Errc::not_leader_or_follower);
          continue;
        }
        const int32_t epoch = partition->leader_epoch().value();
        out.leader_epoch = epoch;
        auto& log = partition->log();
        if (p.timestamp == kLatest) {
          out.offset = (req.isolation_level == 1 ? partition->last_stable_offset()
                                                 : partition->high_watermark()).value();
        } else if (p.timestamp == kEarliest) {
          out.offset = log.log_start_offset().value();
        } else {
          int64_t target = p.timestamp;
          if (target == kMaxTimestamp) {
            const int64_t max_ts = log.max_timestamp();
            if (max_ts < 0) {
              out.offset = -1;
              continue;
            }
            target = max_ts;
          } else if (target < 0) {
            out.error_code = error_code(Errc::invalid_request);
            continue;
          }
          auto found = log.offset_for_timestamp(target);
          if (!found) {
            out.error_code = error_code(found.error());
          } else if (*found) {
            out.offset = (*found)->offset.value();
            out.timestamp = (*found)->timestamp;
          }
        }
      }
    }
    // Fields a version does not carry must keep their defaults: v0 has only OldStyleOffsets,
    // LeaderEpoch starts at v4.
    for (auto& t : response.topics) {
      for (auto& out : t.partitions) {
        if (version == 0) {
          if (out.offset >= 0) out.old_style_offsets = {out.offset};
          out.offset = -1;
          out.timestamp = -1;
        }
        if (version < 4) out.leader_epoch = -1;
      }
    }
    request.respond(response);
  });
  registry.add({ListOffsetsRequest::api_key, "ListOffsets", 0, 7, 0, handler});
}

}  // namespace kafkacore::broker
