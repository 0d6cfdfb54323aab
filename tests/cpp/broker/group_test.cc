// The classic consumer-group coordinator over the wire, against a real broker: FindCoordinator,
// JoinGroup, SyncGroup, Heartbeat, LeaveGroup, OffsetCommit, OffsetFetch, ListGroups,
// DescribeGroups, DeleteGroups and OffsetDelete.
//
// Group members each get their own connection (a connection answers in request order, and a
// JoinGroup or SyncGroup answer may be held back until other members act). Conn below sends a
// request and receives its answer separately, and can tell whether an answer has arrived.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "broker/harness.h"

namespace kafkacore::broker::testing {
namespace {

using namespace protocol;
using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

// Every answer is awaited at most this long (a held JoinGroup included).
constexpr auto kAnswerTimeout = 3000ms;
// How long an answer that must NOT have arrived yet is watched for.
constexpr auto kNotYet = 200ms;
constexpr const char* kClientId = "group-test";

constexpr int16_t kNone = 0;
constexpr int16_t kUnknownTopicOrPartition = 3;
constexpr int16_t kOffsetMetadataTooLarge = 12;
constexpr int16_t kCoordinatorLoadInProgress = 14;
constexpr int16_t kCoordinatorNotAvailable = 15;
constexpr int16_t kIllegalGeneration = 22;
constexpr int16_t kInconsistentGroupProtocol = 23;
constexpr int16_t kInvalidGroupId = 24;
constexpr int16_t kUnknownMemberId = 25;
constexpr int16_t kInvalidSessionTimeout = 26;
constexpr int16_t kRebalanceInProgress = 27;
constexpr int16_t kNonEmptyGroup = 68;
constexpr int16_t kGroupIdNotFound = 69;
constexpr int16_t kMemberIdRequired = 79;
constexpr int16_t kGroupMaxSizeReached = 81;
constexpr int16_t kFencedInstanceId = 82;
constexpr int16_t kGroupSubscribedToTopic = 86;

void require(bool condition, const std::string& what) {
  if (!condition) throw ClientError(what);
}

// Polls `check` every 20 ms until it holds or `timeout` passes.
template <typename F>
bool eventually(F&& check, std::chrono::milliseconds timeout = kAnswerTimeout) {
  const auto deadline = SteadyClock::now() + timeout;
  for (;;) {
    if (check()) return true;
    if (SteadyClock::now() >= deadline) return false;
    std::this_thread::sleep_for(20ms);
  }
}

Bytes bytes_of(std::string_view s) {
  const ByteView v = as_bytes(s);
  return Bytes(v.begin(), v.end());
}

// A ConsumerProtocolSubscription v0: int16 version, array<string> topics, nullable bytes
// user data.
Bytes subscription(const std::vector<std::string>& topics,
                   const std::optional<std::string>& user_data = std::nullopt) {
  Bytes out;
  out.reserve(64);
  auto put16 = [&out](int16_t v) {
    out.resize(out.size() + 2);
    store_be(out.data() + out.size() - 2, v);
  };
  auto put32 = [&out](int32_t v) {
    out.resize(out.size() + 4);
    store_be(out.data() + out.size() - 4, v);
  };
  auto put_raw = [&out](std::string_view s) {
    for (char ch : s) out.push_back(static_cast<std::byte>(ch));
  };
  put16(0);
  put32(static_cast<int32_t>(topics.size()));
  for (const auto& t : topics) {
    put16(static_cast<int16_t>(t.size()));
    put_raw(t);
  }
  if (user_data) {
    put32(static_cast<int32_t>(user_data->size()));
    put_raw(*user_data);
  } else {
    put32(-1);
  }
  return out;
}

// The answer type of each request type sent here.
template <typename Req>
struct Answer;
#define GROUP_TEST_ANSWER(Name)  \
  template <>                    \
  struct Answer<Name##Request> { \
    using type = Name##Response; \
  };
GROUP_TEST_ANSWER(ApiVersions)
GROUP_TEST_ANSWER(FindCoordinator)
GROUP_TEST_ANSWER(JoinGroup)
GROUP_TEST_ANSWER(SyncGroup)
GROUP_TEST_ANSWER(Heartbeat)
GROUP_TEST_ANSWER(LeaveGroup)
GROUP_TEST_ANSWER(OffsetCommit)
GROUP_TEST_ANSWER(OffsetFetch)
GROUP_TEST_ANSWER(ListGroups)
GROUP_TEST_ANSWER(DescribeGroups)
GROUP_TEST_ANSWER(DeleteGroups)
GROUP_TEST_ANSWER(OffsetDelete)
#undef GROUP_TEST_ANSWER

// One TCP connection: send and receive separately, and a bounded "has an answer arrived" check.
class Conn {
 public:
  explicit Conn(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw ClientError(std::string("socket: ") + std::strerror(errno));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
      const std::string message = std::string("connect: ") + std::strerror(errno);
      ::close(fd_);
      fd_ = -1;
      throw ClientError(message);
    }
    int one = 1;
    (void)::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  ~Conn() {
    if (fd_ >= 0) ::close(fd_);
  }
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  template <typename Req>
  int32_t send(const Req& request, int16_t version) {
    RequestHeader header;
    header.api_key = Req::api_key;
    header.api_version = version;
    header.correlation_id = next_correlation_id_++;
    header.client_id = kClientId;
    const OutputFrame frame = encode_request(header, request);
    require(frame.splices.empty(), "a request frame cannot carry file ranges");
    write_all(frame.bytes);
    return header.correlation_id;
  }

  // True if (part of) an answer is waiting, or arrives within `wait`.
  bool answered_within(std::chrono::milliseconds wait) {
    pollfd p{fd_, POLLIN, 0};
    for (;;) {
      const int ready = ::poll(&p, 1, static_cast<int>(wait.count()));
      if (ready < 0 && errno == EINTR) continue;
      return ready > 0;
    }
  }

  template <typename Resp>
  Resp receive(int32_t correlation_id, int16_t version,
               std::chrono::milliseconds timeout = kAnswerTimeout) {
    const auto deadline = SteadyClock::now() + timeout;
    std::byte prefix[4];
    read_exact(prefix, sizeof prefix, deadline);
    const int32_t size = load_be<int32_t>(prefix);
    require(size >= 4, "bad answer size " + std::to_string(size));
    Bytes& frame = frames_.emplace_back(static_cast<size_t>(size));
    read_exact(frame.data(), frame.size(), deadline);
    Reader reader(frame);
    auto got = decode_response_header(reader, Resp::api_key, version);
    require(got.has_value(), std::string(Resp::api_name) + ": bad response header");
    require(*got == correlation_id, std::string(Resp::api_name) + ": expected correlation id " +
                                        std::to_string(correlation_id) + ", got " +
                                        std::to_string(*got));
    Resp response;
    if (auto r = response.decode(reader, version); !r) {
      throw ClientError(std::string(Resp::api_name) + " v" + std::to_string(version) +
                        " answer does not decode: " + r.error().message());
    }
    return response;
  }

  template <typename Req>
  typename Answer<Req>::type call(const Req& request, int16_t version) {
    const int32_t id = send(request, version);
    return receive<typename Answer<Req>::type>(id, version);
  }

 private:
  void write_all(ByteView bytes) {
    size_t sent = 0;
    while (sent < bytes.size()) {
      const ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EINTR) continue;
        throw ClientError(std::string("send: ") + std::strerror(errno));
      }
      sent += static_cast<size_t>(n);
    }
  }

  void read_exact(std::byte* out, size_t n, SteadyClock::time_point deadline) {
    size_t got = 0;
    while (got < n) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now());
      if (left.count() <= 0) throw ClientError("timed out waiting for an answer");
      pollfd p{fd_, POLLIN, 0};
      const int ready = ::poll(&p, 1, static_cast<int>(left.count()));
      if (ready < 0) {
        if (errno == EINTR) continue;
        throw ClientError(std::string("poll: ") + std::strerror(errno));
      }
      if (ready == 0) throw ClientError("timed out waiting for an answer");
      const ssize_t r = ::recv(fd_, out + got, n - got, 0);
      if (r < 0) {
        if (errno == EINTR || errno == EAGAIN) continue;
        throw ClientError(std::string("recv: ") + std::strerror(errno));
      }
      if (r == 0) throw ClientError("the broker closed the connection");
      got += static_cast<size_t>(r);
    }
  }

  int fd_ = -1;
  int32_t next_correlation_id_ = 1;
  std::deque<Bytes> frames_;
};

using Protocols = std::vector<std::pair<std::string, Bytes>>;
using TP = std::pair<std::string, int32_t>;

// A group member: its connection, what it sends, and what it learned.
struct Member {
  std::string label;
  std::string group;
  std::unique_ptr<Conn> conn;
  std::string id;
  std::optional<std::string> instance_id;
  std::string protocol_type = "consumer";
  Protocols protocols;
  int32_t session_ms = 10000;
  int32_t rebalance_ms = 10000;
  int16_t join_version = 7;
  int16_t sync_version = 5;
  int16_t heartbeat_version = 4;
  // From the last successful JoinGroup answer.
  int32_t generation = -1;
  std::string leader;
  std::optional<std::string> protocol_name;
  std::vector<JoinGroupResponse::JoinGroupResponseMember> join_members;
  // Requests in flight on `conn`.
  std::optional<int32_t> pending_join;
  std::optional<int32_t> pending_sync;
  // From the last successful SyncGroup answer.
  Bytes assignment;

  bool leads() const { return !id.empty() && leader == id; }
  const Bytes& metadata(const std::string& protocol) const {
    for (const auto& [name, md] : protocols) {
      if (name == protocol) return md;
    }
    throw ClientError(label + " has no protocol " + protocol);
  }
};

// member id -> metadata of a JoinGroup answer's member list.
std::map<std::string, std::string> members_of(const JoinGroupResponse& r) {
  std::map<std::string, std::string> out;
  for (const auto& m : r.members) out[m.member_id] = str(m.metadata);
  return out;
}

struct OffsetToCommit {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  std::optional<std::string> metadata = "";
  int32_t leader_epoch = -1;
};

struct Committed {
  int64_t offset = -1;
  int32_t leader_epoch = -1;
  std::optional<std::string> metadata;
  int16_t error = 0;
};

struct GroupOffsets {
  int16_t error = 0;
  std::map<TP, Committed> partitions;
};

// Topics of an OffsetFetch: nullopt = all topics.
using TopicSelection = std::optional<std::vector<std::pair<std::string, std::vector<int32_t>>>>;

// A member the leader left out gets an empty assignment: empty bytes (Kafka), or, in a
// "consumer" group, an encoded empty ConsumerProtocolAssignment (version 0, no partitions,
// null user data) is accepted too.
bool empty_assignment(const Bytes& assignment) {
  if (assignment.empty()) return true;
  const Bytes empty_consumer = {std::byte{0},    std::byte{0},   std::byte{0},    std::byte{0},
                                std::byte{0},    std::byte{0},   std::byte{0xff}, std::byte{0xff},
                                std::byte{0xff}, std::byte{0xff}};
  return assignment == empty_consumer;
}

// "No metadata": Kafka answers "" (NoMetadata) for offsets committed with null metadata and for
// partitions without an offset; null is accepted as well.
bool no_metadata(const std::optional<std::string>& md) { return !md || md->empty(); }

class GroupTest : public BrokerTest {
 protected:
  std::map<std::string, std::string> extra_properties() const override {
    return {
        {"group.initial.rebalance.delay.ms", "0"},
        {"offsets.topic.num.partitions", "3"},
        {"group.min.session.timeout.ms", "100"},
    };
  }

  void SetUp() override {
    BrokerTest::SetUp();
    admin_ = std::make_unique<Conn>(broker_->port());
    await_coordinator();
  }

  void TearDown() override {
    members_.clear();
    admin_.reset();
    BrokerTest::TearDown();
  }

  // FindCoordinator until the coordinator answers (a lazily created offsets topic may answer
  // COORDINATOR_NOT_AVAILABLE / LOAD_IN_PROGRESS for a moment, as in Kafka).
  void await_coordinator() {
    const auto deadline = SteadyClock::now() + 5s;
    for (;;) {
      FindCoordinatorRequest req;
      req.key = "warm-up";
      req.key_type = 0;
      auto resp = admin_->call(req, 3);
      if (resp.error_code == kNone) return;
      require((resp.error_code == kCoordinatorNotAvailable ||
               resp.error_code == kCoordinatorLoadInProgress) &&
                  SteadyClock::now() < deadline,
              "FindCoordinator failed with error " + std::to_string(resp.error_code));
      std::this_thread::sleep_for(20ms);
    }
  }

  // After a restart: DescribeGroups until the group is no longer loading.
  void await_loaded(const std::string& group) {
    bool loaded = eventually(
        [&] {
          DescribeGroupsRequest req;
          req.groups = {group};
          auto resp = admin_->call(req, 5);
          return resp.groups.size() == 1 &&
                 resp.groups[0].error_code != kCoordinatorLoadInProgress &&
                 resp.groups[0].error_code != kCoordinatorNotAvailable;
        },
        5000ms);
    require(loaded, "group " + group + " still loading");
  }

  // Stops the broker and starts a new one on the same data directory; members reconnect.
  void restart() {
    for (auto& m : members_) {
      m.conn.reset();
      m.pending_join.reset();
      m.pending_sync.reset();
    }
    admin_.reset();
    client_.reset();
    auto stopped = broker_->stop();
    require(stopped.has_value(), "broker stop failed");
    broker_.reset();
    broker_ = start_broker(dir_.path(), extra_properties(), clock());
    client_ = std::make_unique<TestClient>(broker_->port());
    admin_ = std::make_unique<Conn>(broker_->port());
    for (auto& m : members_) m.conn = std::make_unique<Conn>(broker_->port());
    await_coordinator();
  }

  // A new member (own connection) whose one protocol is "range" with a consumer subscription
  // to "t" whose user data names the member.
  Member& new_member(const std::string& group, const std::string& label,
                     std::optional<std::string> instance_id = std::nullopt) {
    Member& m = members_.emplace_back();
    m.label = label;
    m.group = group;
    m.conn = std::make_unique<Conn>(broker_->port());
    m.instance_id = std::move(instance_id);
    m.protocols = {{"range", subscription({"t"}, label + "/range")}};
    return m;
  }

  // ---- JoinGroup ----

  JoinGroupRequest join_request(const Member& m) const {
    JoinGroupRequest req;
    req.group_id = m.group;
    req.session_timeout_ms = m.session_ms;
    req.rebalance_timeout_ms = m.rebalance_ms;
    req.member_id = m.id;
    if (m.instance_id) {
      require(m.join_version >= 5, m.label + ": static membership needs JoinGroup v5+");
      req.group_instance_id = m.instance_id;
    }
    req.protocol_type = m.protocol_type;
    for (const auto& [name, md] : m.protocols) {
      auto& p = req.protocols.emplace_back();
      p.name = name;
      p.metadata = md;
    }
    return req;
  }

  // Sends the member's JoinGroup without awaiting the answer. A new dynamic member at v4+ first
  // goes through the MEMBER_ID_REQUIRED round trip (awaited).
  void start_join(Member& m) {
    require(!m.pending_join && !m.pending_sync, m.label + ": a request is already in flight");
    if (m.id.empty() && m.join_version >= 4 && !m.instance_id) {
      auto first = m.conn->call(join_request(m), m.join_version);
      require(first.error_code == kMemberIdRequired,
              m.label + ": expected MEMBER_ID_REQUIRED, got " + std::to_string(first.error_code));
      require(!first.member_id.empty(), m.label + ": MEMBER_ID_REQUIRED without a member id");
      m.id = first.member_id;
    }
    m.pending_join = m.conn->send(join_request(m), m.join_version);
  }

  JoinGroupResponse finish_join(Member& m, std::chrono::milliseconds timeout = kAnswerTimeout) {
    require(m.pending_join.has_value(), m.label + ": no JoinGroup in flight");
    auto resp = m.conn->receive<JoinGroupResponse>(*m.pending_join, m.join_version, timeout);
    m.pending_join.reset();
    if (resp.error_code == kMemberIdRequired && m.instance_id && m.id.empty()) {
      // Tolerated for static members (Kafka assigns their id directly).
      m.id = resp.member_id;
      m.pending_join = m.conn->send(join_request(m), m.join_version);
      return finish_join(m, timeout);
    }
    if (resp.error_code == kNone) {
      m.id = resp.member_id;
      m.generation = resp.generation_id;
      m.leader = resp.leader;
      m.protocol_name = resp.protocol_name;
      m.join_members = resp.members;
    }
    return resp;
  }

  JoinGroupResponse join(Member& m) {
    start_join(m);
    return finish_join(m);
  }

  // Joins and requires success.
  JoinGroupResponse joined(Member& m) {
    auto resp = join(m);
    require(resp.error_code == kNone,
            m.label + ": JoinGroup failed with error " + std::to_string(resp.error_code));
    return resp;
  }

  // Every member not already joining starts a JoinGroup; then all answers are awaited and must
  // be successes of one generation with one leader among them.
  std::vector<JoinGroupResponse> join_round(const std::vector<Member*>& ms) {
    for (Member* m : ms) {
      if (!m->pending_join) start_join(*m);
    }
    std::vector<JoinGroupResponse> out;
    for (Member* m : ms) {
      out.push_back(finish_join(*m));
      require(out.back().error_code == kNone,
              m->label + ": JoinGroup failed with error " + std::to_string(out.back().error_code));
    }
    for (Member* m : ms) {
      require(m->generation == ms[0]->generation, "members answered with different generations");
      require(m->leader == ms[0]->leader, "members answered with different leaders");
    }
    return out;
  }

  // ---- SyncGroup ----

  SyncGroupRequest sync_request(const Member& m,
                                const std::map<std::string, Bytes>& assignments) const {
    SyncGroupRequest req;
    req.group_id = m.group;
    req.generation_id = m.generation;
    req.member_id = m.id;
    if (m.sync_version >= 3) req.group_instance_id = m.instance_id;
    if (m.sync_version >= 5) {
      req.protocol_type = m.protocol_type;
      req.protocol_name = m.protocol_name;
    }
    for (const auto& [id, a] : assignments) {
      auto& e = req.assignments.emplace_back();
      e.member_id = id;
      e.assignment = a;
    }
    return req;
  }

  void start_sync(Member& m, const std::map<std::string, Bytes>& assignments = {}) {
    require(!m.pending_join && !m.pending_sync, m.label + ": a request is already in flight");
    m.pending_sync = m.conn->send(sync_request(m, assignments), m.sync_version);
  }

  SyncGroupResponse finish_sync(Member& m) {
    require(m.pending_sync.has_value(), m.label + ": no SyncGroup in flight");
    auto resp = m.conn->receive<SyncGroupResponse>(*m.pending_sync, m.sync_version);
    m.pending_sync.reset();
    if (resp.error_code == kNone) m.assignment = resp.assignment;
    return resp;
  }

  static Bytes assignment_for(const Member& m) {
    return bytes_of("asg-" + m.label + "-g" + std::to_string(m.generation));
  }

  // The leader syncs with an assignment for every member, then the followers; all must succeed
  // and get their assignment.
  void complete_sync(const std::vector<Member*>& ms) {
    Member* leader = nullptr;
    std::map<std::string, Bytes> assignments;
    for (Member* m : ms) {
      if (m->leads()) {
        require(leader == nullptr, "two leaders");
        leader = m;
      }
      assignments[m->id] = assignment_for(*m);
    }
    require(leader != nullptr, "no leader among the members");
    start_sync(*leader, assignments);
    auto lr = finish_sync(*leader);
    require(lr.error_code == kNone,
            leader->label + ": SyncGroup failed with error " + std::to_string(lr.error_code));
    for (Member* m : ms) {
      if (m == leader) continue;
      start_sync(*m);
      auto r = finish_sync(*m);
      require(r.error_code == kNone,
              m->label + ": SyncGroup failed with error " + std::to_string(r.error_code));
    }
    for (Member* m : ms) {
      require(str(m->assignment) == str(assignment_for(*m)), m->label + ": wrong assignment");
    }
  }

  // ---- Heartbeat ----

  int16_t heartbeat(Member& m, std::optional<int32_t> generation = std::nullopt,
                    std::optional<std::string> member_id = std::nullopt) {
    require(!m.pending_join && !m.pending_sync, m.label + ": a request is already in flight");
    HeartbeatRequest req;
    req.group_id = m.group;
    req.generation_id = generation.value_or(m.generation);
    req.member_id = member_id.value_or(m.id);
    if (m.heartbeat_version >= 3) req.group_instance_id = m.instance_id;
    return m.conn->call(req, m.heartbeat_version).error_code;
  }

  // Heartbeats (every 20 ms) until the answer is `error`.
  bool await_heartbeat(Member& m, int16_t error,
                       std::chrono::milliseconds timeout = kAnswerTimeout) {
    return eventually([&] { return heartbeat(m) == error; }, timeout);
  }

  // ---- whole groups ----

  // ms[0] forms the group alone, then each further member joins it in turn (the others are
  // told by their heartbeat to rejoin); ends Stable at generation ms.size().
  void form_group(const std::vector<Member*>& ms) {
    require(!ms.empty(), "no members");
    join_round({ms[0]});
    complete_sync({ms[0]});
    for (size_t k = 1; k < ms.size(); ++k) {
      std::vector<Member*> existing(ms.begin(), ms.begin() + static_cast<std::ptrdiff_t>(k));
      grow_group(existing, *ms[k]);
    }
  }

  // `newcomer` joins the Stable group of `existing`; everyone rejoins and, if `sync`, syncs.
  void grow_group(const std::vector<Member*>& existing, Member& newcomer, bool sync = true) {
    start_join(newcomer);
    for (Member* m : existing) {
      require(await_heartbeat(*m, kRebalanceInProgress),
              m->label + ": heartbeat never reported the rebalance");
    }
    std::vector<Member*> all = existing;
    all.push_back(&newcomer);
    join_round(all);
    if (sync) complete_sync(all);
  }

  // ---- describe / list / delete ----

  DescribeGroupsResponse::DescribedGroup describe(const std::string& group, int16_t version = 5) {
    DescribeGroupsRequest req;
    req.groups = {group};
    auto resp = admin_->call(req, version);
    require(resp.groups.size() == 1, "DescribeGroups: expected one group");
    return resp.groups[0];
  }

  std::map<std::string, ListGroupsResponse::ListedGroup> list_groups(
      int16_t version = 4, const std::vector<std::string>& states = {}) {
    ListGroupsRequest req;
    req.states_filter = states;
    auto resp = admin_->call(req, version);
    require(resp.error_code == kNone,
            "ListGroups failed with error " + std::to_string(resp.error_code));
    std::map<std::string, ListGroupsResponse::ListedGroup> out;
    for (const auto& g : resp.groups) out[g.group_id] = g;
    return out;
  }

  std::map<std::string, int16_t> delete_groups(const std::vector<std::string>& groups,
                                               int16_t version = 2) {
    DeleteGroupsRequest req;
    req.groups_names = groups;
    auto resp = admin_->call(req, version);
    std::map<std::string, int16_t> out;
    for (const auto& r : resp.results) out[r.group_id] = r.error_code;
    require(out.size() == groups.size(), "DeleteGroups: expected one result per group");
    return out;
  }

  // ---- offsets ----

  static OffsetCommitRequest commit_request(const std::string& group, int32_t generation,
                                            const std::string& member_id,
                                            const std::vector<OffsetToCommit>& offsets,
                                            int16_t version,
                                            std::optional<std::string> instance_id = std::nullopt) {
    OffsetCommitRequest req;
    req.group_id = group;
    req.generation_id_or_member_epoch = generation;
    req.member_id = member_id;
    if (version >= 7) req.group_instance_id = std::move(instance_id);
    for (const auto& o : offsets) {
      auto it = std::find_if(req.topics.begin(), req.topics.end(),
                             [&](const auto& t) { return t.name == o.topic; });
      if (it == req.topics.end()) {
        it = req.topics.emplace(req.topics.end());
        it->name = o.topic;
      }
      auto& p = it->partitions.emplace_back();
      p.partition_index = o.partition;
      p.committed_offset = o.offset;
      if (version >= 6) p.committed_leader_epoch = o.leader_epoch;
      p.committed_metadata = o.metadata;
    }
    return req;
  }

  // Commits on `conn`; the error of every partition.
  std::map<TP, int16_t> commit(Conn& conn, const std::string& group, int32_t generation,
                               const std::string& member_id,
                               const std::vector<OffsetToCommit>& offsets, int16_t version = 8,
                               std::optional<std::string> instance_id = std::nullopt) {
    auto resp = conn.call(
        commit_request(group, generation, member_id, offsets, version, std::move(instance_id)),
        version);
    std::map<TP, int16_t> out;
    for (const auto& t : resp.topics) {
      for (const auto& p : t.partitions) out[{t.name, p.partition_index}] = p.error_code;
    }
    require(out.size() == offsets.size(), "OffsetCommit: expected one answer per partition");
    return out;
  }

  // A simple-consumer commit (generation -1, no member id) on the admin connection.
  std::map<TP, int16_t> commit_simple(const std::string& group,
                                      const std::vector<OffsetToCommit>& offsets,
                                      int16_t version = 8) {
    return commit(*admin_, group, -1, "", offsets, version);
  }

  // OffsetFetch of several groups: one request at v8+, one request per group below.
  std::map<std::string, GroupOffsets> fetch_offsets_of(
      const std::vector<std::pair<std::string, TopicSelection>>& groups, int16_t version = 9) {
    std::map<std::string, GroupOffsets> out;
    if (version >= 8) {
      OffsetFetchRequest req;
      req.topics = std::vector<OffsetFetchRequest::OffsetFetchRequestTopic>{};
      for (const auto& [group, topics] : groups) {
        auto& g = req.groups.emplace_back();
        g.group_id = group;
        if (topics) {
          g.topics.emplace();
          for (const auto& [name, partitions] : *topics) {
            auto& t = g.topics->emplace_back();
            t.name = name;
            t.partition_indexes = partitions;
          }
        } else {
          g.topics = std::nullopt;
        }
      }
      auto resp = admin_->call(req, version);
      for (const auto& g : resp.groups) {
        GroupOffsets& got = out[g.group_id];
        got.error = g.error_code;
        for (const auto& t : g.topics) {
          for (const auto& p : t.partitions) {
            got.partitions[{t.name, p.partition_index}] =
                Committed{p.committed_offset, p.committed_leader_epoch, p.metadata, p.error_code};
          }
        }
      }
      require(out.size() == groups.size(), "OffsetFetch: expected one answer per group");
      return out;
    }
    for (const auto& [group, topics] : groups) {
      OffsetFetchRequest req;
      req.group_id = group;
      if (topics) {
        req.topics.emplace();
        for (const auto& [name, partitions] : *topics) {
          auto& t = req.topics->emplace_back();
          t.name = name;
          t.partition_indexes = partitions;
        }
      } else {
        require(version >= 2, "OffsetFetch: all topics needs v2+");
        req.topics = std::nullopt;
      }
      auto resp = admin_->call(req, version);
      GroupOffsets& got = out[group];
      got.error = resp.error_code;
      for (const auto& t : resp.topics) {
        for (const auto& p : t.partitions) {
          got.partitions[{t.name, p.partition_index}] =
              Committed{p.committed_offset, p.committed_leader_epoch, p.metadata, p.error_code};
        }
      }
    }
    return out;
  }

  GroupOffsets fetch_offsets(const std::string& group, const TopicSelection& topics,
                             int16_t version = 9) {
    return fetch_offsets_of({{group, topics}}, version).at(group);
  }

  // The committed offset of one partition (-1 if none).
  Committed committed(const std::string& group, const std::string& topic, int32_t partition,
                      int16_t version = 9) {
    auto got = fetch_offsets(
        group, std::vector<std::pair<std::string, std::vector<int32_t>>>{{topic, {partition}}},
        version);
    auto it = got.partitions.find({topic, partition});
    require(it != got.partitions.end(), "OffsetFetch: partition missing from the answer");
    return it->second;
  }

  std::unique_ptr<Conn> admin_;
  std::deque<Member> members_;
};

// ==== ApiVersions, FindCoordinator ====

TEST_F(GroupTest, ApiVersionsAdvertisesGroupApis) {
  auto resp = admin_->call(ApiVersionsRequest{}, 0);
  ASSERT_EQ(resp.error_code, 0);
  std::map<int16_t, std::pair<int16_t, int16_t>> got;
  for (const auto& a : resp.api_keys) got[a.api_key] = {a.min_version, a.max_version};
  const std::map<int16_t, std::pair<int16_t, int16_t>> exact = {
      {8, {0, 9}},   // OffsetCommit
      {9, {0, 9}},   // OffsetFetch
      {11, {0, 9}},  // JoinGroup
      {12, {0, 4}},  // Heartbeat
      {13, {0, 5}},  // LeaveGroup
      {14, {0, 5}},  // SyncGroup
      {42, {0, 2}},  // DeleteGroups
      {47, {0, 0}},  // OffsetDelete
  };
  for (const auto& [key, range] : exact) {
    auto it = got.find(key);
    ASSERT_NE(it, got.end()) << "api " << key << " missing";
    EXPECT_EQ(it->second, range) << "api " << key;
  }
  struct AtLeast {
    int16_t key;
    int16_t max_at_least;
    int16_t max_at_most;
  };
  for (const auto& [key, lo, hi] : {AtLeast{10, 4, 6},     // FindCoordinator
                                    AtLeast{16, 4, 5},     // ListGroups
                                    AtLeast{15, 5, 6}}) {  // DescribeGroups
    auto it = got.find(key);
    ASSERT_NE(it, got.end()) << "api " << key << " missing";
    EXPECT_EQ(it->second.first, 0) << "api " << key;
    EXPECT_GE(it->second.second, lo) << "api " << key;
    EXPECT_LE(it->second.second, hi) << "api " << key;
  }
}

TEST_F(GroupTest, FindCoordinatorReturnsThisBrokerAtEveryVersion) {
  for (int16_t v = 0; v <= 3; ++v) {
    SCOPED_TRACE("FindCoordinator v" + std::to_string(v));
    FindCoordinatorRequest req;
    req.key = "fc-group-" + std::to_string(v);
    req.key_type = 0;
    auto resp = admin_->call(req, v);
    EXPECT_EQ(resp.error_code, 0);
    EXPECT_EQ(resp.node_id, 1);
    EXPECT_EQ(resp.host, "127.0.0.1");
    EXPECT_EQ(resp.port, broker_->port());
  }
  // v4: batched keys, one answer each.
  FindCoordinatorRequest req;
  req.key_type = 0;
  req.coordinator_keys = {"fc-a", "fc-b", "fc-c", "fc-d"};
  auto resp = admin_->call(req, 4);
  ASSERT_EQ(resp.coordinators.size(), 4u);
  std::set<std::string> keys;
  for (const auto& c : resp.coordinators) {
    SCOPED_TRACE("key " + c.key);
    keys.insert(c.key);
    EXPECT_EQ(c.error_code, 0);
    EXPECT_EQ(c.node_id, 1);
    EXPECT_EQ(c.host, "127.0.0.1");
    EXPECT_EQ(c.port, broker_->port());
  }
  EXPECT_EQ(keys, (std::set<std::string>{"fc-a", "fc-b", "fc-c", "fc-d"}));
}

// ==== JoinGroup ====

TEST_F(GroupTest, JoinGroupV4PlusRequiresMemberIdThenJoins) {
  for (int16_t v = 4; v <= 9; ++v) {
    SCOPED_TRACE("JoinGroup v" + std::to_string(v));
    Member& m = new_member("join-v" + std::to_string(v), "a");
    m.join_version = v;
    auto first = m.conn->call(join_request(m), v);
    EXPECT_EQ(first.error_code, kMemberIdRequired);
    ASSERT_FALSE(first.member_id.empty());
    EXPECT_EQ(first.generation_id, -1);
    EXPECT_TRUE(first.members.empty());

    m.id = first.member_id;
    auto resp = join(m);
    ASSERT_EQ(resp.error_code, 0);
    EXPECT_EQ(resp.member_id, first.member_id);
    EXPECT_EQ(resp.generation_id, 1);
    EXPECT_EQ(resp.leader, first.member_id);
    EXPECT_EQ(resp.protocol_name.value_or("<null>"), "range");
    if (v >= 7) {
      EXPECT_EQ(resp.protocol_type.value_or("<null>"), "consumer");
    }
    EXPECT_FALSE(resp.skip_assignment);
    ASSERT_EQ(resp.members.size(), 1u);
    EXPECT_EQ(resp.members[0].member_id, m.id);
    EXPECT_EQ(str(resp.members[0].metadata), str(m.metadata("range")));

    start_sync(m, {{m.id, bytes_of("mine")}});
    auto sync = finish_sync(m);
    EXPECT_EQ(sync.error_code, 0);
    EXPECT_EQ(str(sync.assignment), "mine");
    EXPECT_EQ(sync.protocol_type.value_or("<null>"), "consumer");  // SyncGroup v5
    EXPECT_EQ(sync.protocol_name.value_or("<null>"), "range");
    EXPECT_EQ(heartbeat(m), 0);
  }
}

TEST_F(GroupTest, JoinGroupV0ToV3JoinsDirectly) {
  for (int16_t v = 0; v <= 3; ++v) {
    SCOPED_TRACE("JoinGroup v" + std::to_string(v));
    const std::string group = "old-join-v" + std::to_string(v);
    Member& a = new_member(group, "a");
    Member& b = new_member(group, "b");
    for (Member* m : {&a, &b}) {
      m->join_version = v;
      m->sync_version = v;
      m->heartbeat_version = v;
    }
    auto resp = join(a);
    ASSERT_EQ(resp.error_code, 0);
    EXPECT_FALSE(resp.member_id.empty());
    EXPECT_EQ(resp.generation_id, 1);
    EXPECT_EQ(resp.leader, resp.member_id);
    EXPECT_EQ(resp.protocol_name.value_or("<null>"), "range");
    ASSERT_EQ(resp.members.size(), 1u);
    EXPECT_EQ(resp.members[0].member_id, resp.member_id);
    complete_sync({&a});
    EXPECT_EQ(heartbeat(a), 0);

    grow_group({&a}, b);
    EXPECT_EQ(a.generation, 2);
    EXPECT_NE(a.id, b.id);
    Member& leader = a.leads() ? a : b;
    EXPECT_EQ(leader.join_members.size(), 2u);
    EXPECT_EQ(heartbeat(a), 0);
    EXPECT_EQ(heartbeat(b), 0);
  }
}

TEST_F(GroupTest, JoinGroupUnknownMemberIdIsRejected) {
  Member& m = new_member("unknown-member", "a");
  m.id = "not-a-member";
  EXPECT_EQ(join(m).error_code, kUnknownMemberId);
  // Also in an existing group.
  Member& a = new_member("known-group", "a");
  form_group({&a});
  Member& stranger = new_member("known-group", "s");
  stranger.id = "not-a-member";
  EXPECT_EQ(join(stranger).error_code, kUnknownMemberId);
  EXPECT_EQ(heartbeat(a), 0);
}

TEST_F(GroupTest, JoinGroupSessionTimeoutOutOfBounds) {
  Member& m = new_member("session-bounds", "a");
  m.join_version = 5;
  m.session_ms = 99;  // group.min.session.timeout.ms = 100
  EXPECT_EQ(m.conn->call(join_request(m), 5).error_code, kInvalidSessionTimeout);
  m.session_ms = 1800001;  // default group.max.session.timeout.ms = 1800000
  EXPECT_EQ(m.conn->call(join_request(m), 5).error_code, kInvalidSessionTimeout);
  m.join_version = 3;
  m.session_ms = 99;
  EXPECT_EQ(m.conn->call(join_request(m), 3).error_code, kInvalidSessionTimeout);
  // The boundaries themselves are fine.
  m.session_ms = 100;
  EXPECT_EQ(join(m).error_code, 0);
  Member& n = new_member("session-bounds-max", "b");
  n.join_version = 3;
  n.session_ms = 1800000;
  EXPECT_EQ(join(n).error_code, 0);
}

TEST_F(GroupTest, JoinGroupEmptyGroupIdIsInvalid) {
  Member& m = new_member("", "a");
  for (int16_t v : {0, 3, 5, 9}) {
    SCOPED_TRACE("JoinGroup v" + std::to_string(v));
    m.join_version = v;
    EXPECT_EQ(m.conn->call(join_request(m), v).error_code, kInvalidGroupId);
  }
  HeartbeatRequest hb;
  hb.group_id = "";
  hb.generation_id = 1;
  hb.member_id = "x";
  EXPECT_EQ(m.conn->call(hb, 4).error_code, kInvalidGroupId);
}

TEST_F(GroupTest, JoinGroupInconsistentProtocol) {
  // An empty group needs a protocol type and at least one protocol.
  Member& no_protocols = new_member("inconsistent-empty", "n");
  no_protocols.join_version = 3;
  no_protocols.protocols.clear();
  EXPECT_EQ(join(no_protocols).error_code, kInconsistentGroupProtocol);
  Member& no_type = new_member("inconsistent-empty", "n2");
  no_type.join_version = 3;
  no_type.protocol_type = "";
  EXPECT_EQ(join(no_type).error_code, kInconsistentGroupProtocol);

  Member& a = new_member("inconsistent", "a");
  form_group({&a});
  // Another protocol type: refused before any member id is handed out (Kafka's order).
  Member& other_type = new_member("inconsistent", "b");
  other_type.protocol_type = "connect";
  other_type.join_version = 5;
  auto r1 = other_type.conn->call(join_request(other_type), 5);
  EXPECT_EQ(r1.error_code, kInconsistentGroupProtocol);
  other_type.join_version = 1;
  EXPECT_EQ(other_type.conn->call(join_request(other_type), 1).error_code,
            kInconsistentGroupProtocol);
  // No protocol in common.
  Member& other_protocol = new_member("inconsistent", "c");
  other_protocol.protocols = {{"sticky", subscription({"t"}, "c")}};
  other_protocol.join_version = 5;
  EXPECT_EQ(other_protocol.conn->call(join_request(other_protocol), 5).error_code,
            kInconsistentGroupProtocol);
  // The group did not notice.
  EXPECT_EQ(heartbeat(a), 0);
  EXPECT_EQ(describe("inconsistent").members.size(), 1u);
}

TEST_F(GroupTest, ProtocolSelectedByVoteAmongCommonProtocols) {
  Member& a = new_member("vote", "a");
  Member& b = new_member("vote", "b");
  Member& c = new_member("vote", "c");
  auto md = [](const std::string& who, const std::string& protocol) {
    return subscription({"t"}, who + "/" + protocol);
  };
  a.protocols = {{"sticky", md("a", "sticky")},
                 {"range", md("a", "range")},
                 {"roundrobin", md("a", "roundrobin")}};
  b.protocols = {{"roundrobin", md("b", "roundrobin")}, {"range", md("b", "range")}};
  c.protocols = {{"roundrobin", md("c", "roundrobin")},
                 {"range", md("c", "range")},
                 {"sticky", md("c", "sticky")}};
  join_round({&a});
  EXPECT_EQ(a.protocol_name.value_or("<null>"), "sticky");  // alone: its first choice
  complete_sync({&a});
  grow_group({&a}, b);  // range/roundrobin tie: not checked
  grow_group({&a, &b}, c);
  // Common: range, roundrobin (b lacks sticky). Votes: a range, b roundrobin, c roundrobin.
  for (Member* m : {&a, &b, &c}) {
    EXPECT_EQ(m->protocol_name.value_or("<null>"), "roundrobin") << m->label;
  }
  Member& leader = a.leads() ? a : b.leads() ? b : c;
  std::map<std::string, std::string> seen;
  for (const auto& m : leader.join_members) seen[m.member_id] = str(m.metadata);
  EXPECT_EQ(seen, (std::map<std::string, std::string>{{a.id, str(md("a", "roundrobin"))},
                                                      {b.id, str(md("b", "roundrobin"))},
                                                      {c.id, str(md("c", "roundrobin"))}}));
  auto d = describe("vote");
  EXPECT_EQ(d.group_state, "Stable");
  EXPECT_EQ(d.protocol_data, "roundrobin");

  // A member supporting only sticky has no protocol in common with b.
  Member& e = new_member("vote", "e");
  e.protocols = {{"sticky", md("e", "sticky")}};
  e.join_version = 5;
  EXPECT_EQ(e.conn->call(join_request(e), 5).error_code, kInconsistentGroupProtocol);
  EXPECT_EQ(heartbeat(a), 0);
}

// ==== delayed JoinGroup answers ====

TEST_F(GroupTest, SecondMemberJoinHeldUntilFirstRejoins) {
  Member& a = new_member("two", "a");
  Member& b = new_member("two", "b");
  join_round({&a});
  EXPECT_EQ(a.generation, 1);
  EXPECT_TRUE(a.leads());
  complete_sync({&a});
  EXPECT_EQ(describe("two").group_state, "Stable");

  start_join(b);
  EXPECT_FALSE(b.conn->answered_within(kNotYet)) << "b's JoinGroup must wait for a to rejoin";
  EXPECT_TRUE(await_heartbeat(a, kRebalanceInProgress));
  EXPECT_EQ(describe("two").group_state, "PreparingRebalance");
  EXPECT_FALSE(b.conn->answered_within(0ms));

  start_join(a);
  auto ra = finish_join(a);
  auto rb = finish_join(b);
  ASSERT_EQ(ra.error_code, 0);
  ASSERT_EQ(rb.error_code, 0);
  EXPECT_EQ(ra.generation_id, 2);
  EXPECT_EQ(rb.generation_id, 2);
  EXPECT_EQ(ra.leader, rb.leader);
  EXPECT_EQ(ra.leader, a.id) << "the previous leader stays leader (as in Kafka)";
  const JoinGroupResponse& leader = ra.leader == a.id ? ra : rb;
  const JoinGroupResponse& follower = ra.leader == a.id ? rb : ra;
  EXPECT_EQ(members_of(leader),
            (std::map<std::string, std::string>{{a.id, str(a.metadata("range"))},
                                                {b.id, str(b.metadata("range"))}}));
  EXPECT_TRUE(follower.members.empty());
  EXPECT_EQ(describe("two").group_state, "CompletingRebalance");
  complete_sync({&a, &b});
  EXPECT_EQ(describe("two").group_state, "Stable");
  EXPECT_EQ(heartbeat(a), 0);
  EXPECT_EQ(heartbeat(b), 0);
}

// ==== SyncGroup ====

TEST_F(GroupTest, SyncGroupFollowersWaitForLeaderAssignment) {
  Member& a = new_member("sync-wait", "a");
  Member& b = new_member("sync-wait", "b");
  Member& c = new_member("sync-wait", "c");
  form_group({&a, &b});
  grow_group({&a, &b}, c, /*sync=*/false);
  ASSERT_EQ(a.generation, 3);
  std::vector<Member*> followers;
  Member* leader = nullptr;
  for (Member* m : {&a, &b, &c}) {
    if (m->leads()) {
      leader = m;
    } else {
      followers.push_back(m);
    }
  }
  ASSERT_NE(leader, nullptr);
  ASSERT_EQ(followers.size(), 2u);
  Member& given = *followers[0];
  Member& left_out = *followers[1];

  start_sync(given);
  start_sync(left_out);
  EXPECT_FALSE(given.conn->answered_within(kNotYet))
      << "a follower's SyncGroup waits for the leader";
  EXPECT_FALSE(left_out.conn->answered_within(0ms));

  start_sync(*leader, {{leader->id, bytes_of("for-leader")}, {given.id, bytes_of("for-given")}});
  auto rl = finish_sync(*leader);
  auto rg = finish_sync(given);
  auto ro = finish_sync(left_out);
  EXPECT_EQ(rl.error_code, 0);
  EXPECT_EQ(rg.error_code, 0);
  EXPECT_EQ(ro.error_code, 0);
  EXPECT_EQ(str(rl.assignment), "for-leader");
  EXPECT_EQ(str(rg.assignment), "for-given");
  EXPECT_TRUE(empty_assignment(ro.assignment)) << "left out: " << ro.assignment.size() << " bytes";
  EXPECT_EQ(describe("sync-wait").group_state, "Stable");
  for (Member* m : {&a, &b, &c}) EXPECT_EQ(heartbeat(*m), 0) << m->label;
}

TEST_F(GroupTest, SyncGroupErrors) {
  Member& a = new_member("sync-errors", "a");
  form_group({&a});
  ASSERT_EQ(a.generation, 1);

  auto sync_with = [&](SyncGroupRequest req, int16_t version = 5) {
    return a.conn->call(req, version).error_code;
  };
  SyncGroupRequest req = sync_request(a, {});
  req.generation_id = 2;
  EXPECT_EQ(sync_with(req), kIllegalGeneration);
  req.generation_id = 0;
  EXPECT_EQ(sync_with(req), kIllegalGeneration);
  req = sync_request(a, {});
  req.member_id = "nobody";
  EXPECT_EQ(sync_with(req), kUnknownMemberId);
  req = sync_request(a, {});
  req.group_id = "no-such-group";
  EXPECT_EQ(sync_with(req), kUnknownMemberId);
  // v5 carries the protocol type and name, which must match the group's (KIP-559).
  req = sync_request(a, {});
  req.protocol_name = "roundrobin";
  EXPECT_EQ(sync_with(req), kInconsistentGroupProtocol);
  req = sync_request(a, {});
  req.protocol_type = "connect";
  EXPECT_EQ(sync_with(req), kInconsistentGroupProtocol);
  // A correct SyncGroup in a Stable group returns the current assignment.
  req = sync_request(a, {});
  auto again = a.conn->call(req, 5);
  EXPECT_EQ(again.error_code, 0);
  EXPECT_EQ(str(again.assignment), str(assignment_for(a)));

  // PreparingRebalance.
  Member& b = new_member("sync-errors", "b");
  start_join(b);
  ASSERT_TRUE(await_heartbeat(a, kRebalanceInProgress));
  EXPECT_EQ(sync_with(sync_request(a, {})), kRebalanceInProgress);
  join_round({&a, &b});
  complete_sync({&a, &b});
}

// ==== Heartbeat ====

TEST_F(GroupTest, HeartbeatErrors) {
  Member& a = new_member("hb", "a");
  form_group({&a});
  for (int16_t v = 0; v <= 4; ++v) {
    SCOPED_TRACE("Heartbeat v" + std::to_string(v));
    a.heartbeat_version = v;
    EXPECT_EQ(heartbeat(a), 0);
    EXPECT_EQ(heartbeat(a, a.generation + 1), kIllegalGeneration);
    EXPECT_EQ(heartbeat(a, a.generation - 1), kIllegalGeneration);
    EXPECT_EQ(heartbeat(a, std::nullopt, "nobody"), kUnknownMemberId);
  }
  HeartbeatRequest unknown_group;
  unknown_group.group_id = "no-such-group";
  unknown_group.generation_id = 1;
  unknown_group.member_id = "nobody";
  EXPECT_EQ(a.conn->call(unknown_group, 4).error_code, kUnknownMemberId);

  // While a rebalance is pending: REBALANCE_IN_PROGRESS. While the leader computes the
  // assignment (CompletingRebalance) a member of the new generation may heartbeat (Kafka: OK).
  Member& b = new_member("hb", "b");
  start_join(b);
  EXPECT_TRUE(await_heartbeat(a, kRebalanceInProgress));
  join_round({&a, &b});
  ASSERT_EQ(describe("hb").group_state, "CompletingRebalance");
  EXPECT_EQ(heartbeat(b), 0);
  EXPECT_EQ(heartbeat(a), 0);
  EXPECT_EQ(heartbeat(a, 1), kIllegalGeneration);
  complete_sync({&a, &b});
  EXPECT_EQ(heartbeat(a), 0);
  EXPECT_EQ(heartbeat(b), 0);
}

// ==== timeouts ====

TEST_F(GroupTest, SessionTimeoutRemovesSilentMember) {
  Member& a = new_member("session", "a");
  Member& b = new_member("session", "b");
  b.session_ms = 400;
  form_group({&a, &b});
  ASSERT_EQ(a.generation, 2);
  const auto start = SteadyClock::now();
  // a keeps heartbeating; b is silent from now on.
  ASSERT_TRUE(await_heartbeat(a, kRebalanceInProgress));
  EXPECT_GE(SteadyClock::now() - start, 250ms) << "b was removed before its session could expire";
  auto r = join_round({&a});
  EXPECT_EQ(a.generation, 3);
  EXPECT_TRUE(a.leads());
  EXPECT_EQ(members_of(r[0]),
            (std::map<std::string, std::string>{{a.id, str(a.metadata("range"))}}));
  complete_sync({&a});
  EXPECT_EQ(heartbeat(a), 0);
  EXPECT_EQ(heartbeat(b), kUnknownMemberId);
  EXPECT_EQ(describe("session").members.size(), 1u);
}

TEST_F(GroupTest, RebalanceTimeoutDropsMemberThatDoesNotRejoin) {
  Member& a = new_member("rebalance-timeout", "a");
  Member& b = new_member("rebalance-timeout", "b");
  Member& c = new_member("rebalance-timeout", "c");
  for (Member* m : {&a, &b, &c}) m->rebalance_ms = 500;
  form_group({&a, &b});
  const auto start = SteadyClock::now();
  start_join(c);
  ASSERT_TRUE(await_heartbeat(a, kRebalanceInProgress));
  start_join(a);
  // b never rejoins.
  auto ra = finish_join(a);
  auto rc = finish_join(c);
  EXPECT_GE(SteadyClock::now() - start, 400ms) << "the rebalance completed before its timeout";
  ASSERT_EQ(ra.error_code, 0);
  ASSERT_EQ(rc.error_code, 0);
  EXPECT_EQ(ra.generation_id, 3);
  EXPECT_EQ(rc.generation_id, 3);
  const JoinGroupResponse& leader = ra.leader == a.id ? ra : rc;
  EXPECT_EQ(members_of(leader),
            (std::map<std::string, std::string>{{a.id, str(a.metadata("range"))},
                                                {c.id, str(c.metadata("range"))}}));
  EXPECT_EQ(heartbeat(b), kUnknownMemberId);
  complete_sync({&a, &c});
  EXPECT_EQ(heartbeat(a), 0);
  EXPECT_EQ(heartbeat(c), 0);
}

TEST_F(GroupTest, PendingMemberThatNeverRejoinsDoesNotBlockTheGroup) {
  Member& a = new_member("pending", "a");
  Member& b = new_member("pending", "b");
  Member& c = new_member("pending", "c");
  a.rebalance_ms = 1500;
  c.rebalance_ms = 1500;
  b.session_ms = 300;
  form_group({&a});
  // b gets a member id but never joins with it.
  b.join_version = 5;
  auto first = b.conn->call(join_request(b), 5);
  ASSERT_EQ(first.error_code, kMemberIdRequired);
  // A pending member alone does not disturb the group.
  EXPECT_EQ(heartbeat(a), 0);

  const auto start = SteadyClock::now();
  start_join(c);
  ASSERT_TRUE(await_heartbeat(a, kRebalanceInProgress));
  start_join(a);
  auto ra = finish_join(a);
  auto rc = finish_join(c);
  EXPECT_LT(SteadyClock::now() - start, 2500ms);
  ASSERT_EQ(ra.error_code, 0);
  ASSERT_EQ(rc.error_code, 0);
  EXPECT_EQ(ra.generation_id, 2);
  const JoinGroupResponse& leader = ra.leader == a.id ? ra : rc;
  EXPECT_EQ(members_of(leader),
            (std::map<std::string, std::string>{{a.id, str(a.metadata("range"))},
                                                {c.id, str(c.metadata("range"))}}));
  complete_sync({&a, &c});
}

// ==== LeaveGroup ====

TEST_F(GroupTest, LeaveGroupV0ToV2) {
  for (int16_t v = 0; v <= 2; ++v) {
    SCOPED_TRACE("LeaveGroup v" + std::to_string(v));
    const std::string group = "leave-v" + std::to_string(v);
    Member& a = new_member(group, "a");
    Member& b = new_member(group, "b");
    form_group({&a, &b});

    LeaveGroupRequest leave;
    leave.group_id = group;
    leave.member_id = "nobody";
    EXPECT_EQ(admin_->call(leave, v).error_code, kUnknownMemberId);
    leave.member_id = b.id;
    EXPECT_EQ(b.conn->call(leave, v).error_code, 0);

    ASSERT_TRUE(await_heartbeat(a, kRebalanceInProgress));
    auto r = join_round({&a});
    EXPECT_EQ(a.generation, 3);
    EXPECT_EQ(members_of(r[0]).size(), 1u);
    complete_sync({&a});
    EXPECT_EQ(heartbeat(b), kUnknownMemberId);

    leave.member_id = a.id;
    EXPECT_EQ(a.conn->call(leave, v).error_code, 0);
    auto d = describe(group);
    EXPECT_EQ(d.group_state, "Empty");
    EXPECT_TRUE(d.members.empty());
  }
}

TEST_F(GroupTest, LeaveGroupV3PlusBatchedMembers) {
  for (int16_t v = 3; v <= 5; ++v) {
    SCOPED_TRACE("LeaveGroup v" + std::to_string(v));
    const std::string group = "batch-leave-v" + std::to_string(v);
    Member& a = new_member(group, "a");
    Member& b = new_member(group, "b", "inst-b");
    Member& c = new_member(group, "c");
    Member& d = new_member(group, "d", "inst-d");
    form_group({&a, &b, &c, &d});
    ASSERT_EQ(a.generation, 4);

    LeaveGroupRequest leave;
    leave.group_id = group;
    auto add = [&](const std::string& member_id, std::optional<std::string> instance) {
      auto& m = leave.members.emplace_back();
      m.member_id = member_id;
      m.group_instance_id = std::move(instance);
      if (v >= 5) m.reason = "test";
    };
    add(c.id, std::nullopt);      // dynamic, by member id
    add("", "inst-b");            // static, by instance id alone
    add("nobody", std::nullopt);  // unknown
    add("wrong-id", "inst-d");    // instance id of another member id: fenced
    auto resp = admin_->call(leave, v);
    EXPECT_EQ(resp.error_code, 0);
    ASSERT_EQ(resp.members.size(), 4u);
    EXPECT_EQ(resp.members[0].error_code, 0);
    EXPECT_EQ(resp.members[0].member_id, c.id);
    EXPECT_EQ(resp.members[1].error_code, 0);
    EXPECT_EQ(resp.members[1].group_instance_id.value_or("<null>"), "inst-b");
    EXPECT_EQ(resp.members[2].error_code, kUnknownMemberId);
    EXPECT_EQ(resp.members[2].member_id, "nobody");
    EXPECT_EQ(resp.members[3].error_code, kFencedInstanceId);
    EXPECT_EQ(resp.members[3].group_instance_id.value_or("<null>"), "inst-d");

    // a and d remain and rebalance without b and c.
    ASSERT_TRUE(await_heartbeat(a, kRebalanceInProgress));
    join_round({&a, &d});
    EXPECT_EQ(a.generation, 5);
    Member& leader = a.leads() ? a : d;
    std::set<std::string> ids;
    for (const auto& m : leader.join_members) ids.insert(m.member_id);
    EXPECT_EQ(ids, (std::set<std::string>{a.id, d.id}));
    complete_sync({&a, &d});
    EXPECT_EQ(heartbeat(c), kUnknownMemberId);

    // The last members leave: Empty.
    leave.members.clear();
    add(a.id, std::nullopt);
    add(d.id, "inst-d");
    resp = admin_->call(leave, v);
    EXPECT_EQ(resp.error_code, 0);
    ASSERT_EQ(resp.members.size(), 2u);
    EXPECT_EQ(resp.members[0].error_code, 0);
    EXPECT_EQ(resp.members[1].error_code, 0);
    auto described = describe(group);
    EXPECT_EQ(described.group_state, "Empty");
    EXPECT_TRUE(described.members.empty());
  }
}

// ==== static membership ====

TEST_F(GroupTest, StaticMemberRejoinWithoutRebalanceFencesOldMemberId) {
  create_topic("t", 2);
  Member& a = new_member("static", "a");
  Member& s = new_member("static", "s", "inst-s");
  form_group({&a, &s});
  ASSERT_EQ(a.generation, 2);
  ASSERT_TRUE(a.leads()) << "this test assumes the first member stays leader (as in Kafka)";
  const std::string old_id = s.id;
  const Bytes old_assignment = s.assignment;

  // s restarts: empty member id, same instance id, same protocols.
  s.id.clear();
  auto r = join(s);
  ASSERT_EQ(r.error_code, 0);
  EXPECT_FALSE(r.member_id.empty());
  EXPECT_NE(r.member_id, old_id);
  EXPECT_EQ(r.generation_id, 2);
  EXPECT_EQ(r.leader, a.id);
  EXPECT_EQ(r.protocol_name.value_or("<null>"), "range");
  EXPECT_TRUE(r.members.empty());
  // No rebalance for the others.
  EXPECT_EQ(heartbeat(a), 0);
  auto d = describe("static");
  EXPECT_EQ(d.group_state, "Stable");
  ASSERT_EQ(d.members.size(), 2u);
  std::map<std::string, std::optional<std::string>> described;
  for (const auto& m : d.members) described[m.member_id] = m.group_instance_id;
  EXPECT_EQ(described, (std::map<std::string, std::optional<std::string>>{{a.id, std::nullopt},
                                                                          {s.id, "inst-s"}}));

  // The new id syncs to its previous assignment and heartbeats.
  start_sync(s);
  auto sync = finish_sync(s);
  EXPECT_EQ(sync.error_code, 0);
  EXPECT_EQ(str(sync.assignment), str(old_assignment));
  EXPECT_EQ(heartbeat(s), 0);

  // The old member id (with the instance id) is fenced.
  EXPECT_EQ(heartbeat(s, std::nullopt, old_id), kFencedInstanceId);
  SyncGroupRequest old_sync = sync_request(s, {});
  old_sync.member_id = old_id;
  EXPECT_EQ(s.conn->call(old_sync, 5).error_code, kFencedInstanceId);
  auto commit_errors = commit(*s.conn, "static", 2, old_id, {{"t", 0, 5}}, 8, "inst-s");
  EXPECT_EQ(commit_errors.at({"t", 0}), kFencedInstanceId);
  // The new one commits.
  commit_errors = commit(*s.conn, "static", 2, s.id, {{"t", 0, 5}}, 8, "inst-s");
  EXPECT_EQ(commit_errors.at({"t", 0}), 0);
  EXPECT_EQ(heartbeat(a), 0);
}

// ==== consecutive rebalances ====

TEST_F(GroupTest, ConsecutiveCooperativeRebalanceRounds) {
  Member& a = new_member("coop", "a");
  Member& b = new_member("coop", "b");
  auto md = [](const std::string& who, int round) {
    return subscription({"t"}, who + "/round-" + std::to_string(round));
  };
  a.protocols = {{"cooperative-sticky", md("a", 0)}};
  b.protocols = {{"cooperative-sticky", md("b", 0)}};
  form_group({&a, &b});
  int32_t generation = a.generation;
  ASSERT_EQ(generation, 2);
  for (int round = 1; round <= 3; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    // a rejoins with new metadata (e.g. owned partitions changed): the group rebalances.
    a.protocols = {{"cooperative-sticky", md("a", round)}};
    start_join(a);
    ASSERT_TRUE(await_heartbeat(b, kRebalanceInProgress));
    b.protocols = {{"cooperative-sticky", md("b", round)}};
    auto answers = join_round({&a, &b});
    EXPECT_EQ(a.generation, generation + 1);
    generation = a.generation;
    EXPECT_EQ(a.protocol_name.value_or("<null>"), "cooperative-sticky");
    const JoinGroupResponse& leader = a.leads() ? answers[0] : answers[1];
    EXPECT_EQ(members_of(leader), (std::map<std::string, std::string>{
                                      {a.id, str(md("a", round))}, {b.id, str(md("b", round))}}));
    complete_sync({&a, &b});
    EXPECT_EQ(heartbeat(a), 0);
    EXPECT_EQ(heartbeat(b), 0);
    EXPECT_EQ(describe("coop").group_state, "Stable");
  }
}

// ==== OffsetCommit / OffsetFetch ====

TEST_F(GroupTest, OffsetCommitAndFetchEveryVersion) {
  create_topic("t", 3);
  for (int16_t cv = 2; cv <= 9; ++cv) {
    SCOPED_TRACE("OffsetCommit v" + std::to_string(cv));
    const std::string group = "oc-v" + std::to_string(cv);
    auto errors = commit_simple(
        group,
        {{"t", 0, 100 + cv, "meta-v" + std::to_string(cv), 7}, {"t", 1, 200 + cv, std::nullopt, 7}},
        cv);
    EXPECT_EQ(errors, (std::map<TP, int16_t>{{{"t", 0}, 0}, {{"t", 1}, 0}}));
    for (int16_t fv = 1; fv <= 9; ++fv) {
      SCOPED_TRACE("OffsetFetch v" + std::to_string(fv));
      auto got = fetch_offsets(
          group, std::vector<std::pair<std::string, std::vector<int32_t>>>{{"t", {0, 1, 2}}}, fv);
      EXPECT_EQ(got.error, 0);
      ASSERT_EQ(got.partitions.size(), 3u);
      const Committed& p0 = got.partitions[{"t", 0}];
      EXPECT_EQ(p0.error, 0);
      EXPECT_EQ(p0.offset, 100 + cv);
      EXPECT_EQ(p0.metadata.value_or("<null>"), "meta-v" + std::to_string(cv));
      EXPECT_EQ(p0.leader_epoch, fv >= 5 && cv >= 6 ? 7 : -1);
      const Committed& p1 = got.partitions[{"t", 1}];
      EXPECT_EQ(p1.error, 0);
      EXPECT_EQ(p1.offset, 200 + cv);
      EXPECT_TRUE(no_metadata(p1.metadata));
      const Committed& p2 = got.partitions[{"t", 2}];
      EXPECT_EQ(p2.error, 0);
      EXPECT_EQ(p2.offset, -1);
      EXPECT_EQ(p2.leader_epoch, -1);
      EXPECT_TRUE(no_metadata(p2.metadata));
      if (fv >= 2) {
        // All topics: exactly the committed partitions.
        auto all = fetch_offsets(group, std::nullopt, fv);
        EXPECT_EQ(all.error, 0);
        ASSERT_EQ(all.partitions.size(), 2u);
        EXPECT_EQ((all.partitions[{"t", 0}].offset), 100 + cv);
        EXPECT_EQ((all.partitions[{"t", 0}].metadata.value_or("<null>")),
                  "meta-v" + std::to_string(cv));
        EXPECT_EQ((all.partitions[{"t", 1}].offset), 200 + cv);
      }
    }
  }
}

TEST_F(GroupTest, OffsetFetchSeveralGroupsInOneRequest) {
  create_topic("t", 2);
  create_topic("u", 1);
  ASSERT_EQ(commit_simple("multi-1", {{"t", 0, 5, "a", 1}}).at({"t", 0}), 0);
  ASSERT_EQ(commit_simple("multi-2", {{"t", 1, 6, "b", 2}, {"u", 0, 7, "c", 3}}).at({"u", 0}), 0);
  for (int16_t v : {8, 9}) {
    SCOPED_TRACE("OffsetFetch v" + std::to_string(v));
    auto got = fetch_offsets_of(
        {{"multi-1", std::vector<std::pair<std::string, std::vector<int32_t>>>{{"t", {0, 1}}}},
         {"multi-2", std::nullopt},
         {"multi-none", std::vector<std::pair<std::string, std::vector<int32_t>>>{{"t", {0}}}}},
        v);
    ASSERT_EQ(got.size(), 3u);
    auto& g1 = got["multi-1"];
    EXPECT_EQ(g1.error, 0);
    ASSERT_EQ(g1.partitions.size(), 2u);
    EXPECT_EQ((g1.partitions[{"t", 0}].offset), 5);
    EXPECT_EQ((g1.partitions[{"t", 0}].leader_epoch), 1);
    EXPECT_EQ((g1.partitions[{"t", 0}].metadata.value_or("<null>")), "a");
    EXPECT_EQ((g1.partitions[{"t", 1}].offset), -1);
    auto& g2 = got["multi-2"];
    EXPECT_EQ(g2.error, 0);
    ASSERT_EQ(g2.partitions.size(), 2u);
    EXPECT_EQ((g2.partitions[{"t", 1}].offset), 6);
    EXPECT_EQ((g2.partitions[{"u", 0}].offset), 7);
    EXPECT_EQ((g2.partitions[{"u", 0}].leader_epoch), 3);
    EXPECT_EQ((g2.partitions[{"u", 0}].metadata.value_or("<null>")), "c");
    auto& g3 = got["multi-none"];
    EXPECT_EQ(g3.error, 0);
    ASSERT_EQ(g3.partitions.size(), 1u);
    EXPECT_EQ((g3.partitions[{"t", 0}].offset), -1);
    EXPECT_EQ((g3.partitions[{"t", 0}].error), 0);
  }
}

TEST_F(GroupTest, OffsetCommitGenerationRulesWithoutMembers) {
  create_topic("t", 1);
  // A simple consumer (generation -1, no member id) creates an Empty group.
  EXPECT_EQ(commit_simple("simple", {{"t", 0, 3}}).at({"t", 0}), 0);
  auto d = describe("simple");
  EXPECT_EQ(d.error_code, 0);
  EXPECT_EQ(d.group_state, "Empty");
  EXPECT_TRUE(d.members.empty());
  auto listed = list_groups();
  ASSERT_TRUE(listed.contains("simple"));
  EXPECT_EQ(listed["simple"].protocol_type, "");
  // And commits again to it.
  EXPECT_EQ(commit_simple("simple", {{"t", 0, 4}}).at({"t", 0}), 0);
  EXPECT_EQ(committed("simple", "t", 0).offset, 4);

  // A generation >= 0 for a group that does not exist.
  EXPECT_EQ(commit(*admin_, "ghost", 1, "member-x", {{"t", 0, 3}}).at({"t", 0}),
            kIllegalGeneration);
  EXPECT_EQ(describe("ghost").group_state, "Dead");
  EXPECT_EQ(committed("ghost", "t", 0).offset, -1);

  // Generation -1 against a group with members: the committer is not one of them.
  Member& a = new_member("has-members", "a");
  form_group({&a});
  EXPECT_EQ(commit(*admin_, "has-members", -1, "", {{"t", 0, 3}}).at({"t", 0}), kUnknownMemberId);
  EXPECT_EQ(heartbeat(a), 0);
}

TEST_F(GroupTest, OffsetCommitErrors) {
  create_topic("t", 2);
  Member& a = new_member("commit-errors", "a");
  Member& b = new_member("commit-errors", "b");
  form_group({&a});
  ASSERT_EQ(a.generation, 1);
  EXPECT_EQ(commit(*a.conn, a.group, 1, a.id, {{"t", 0, 10, "ok"}}).at({"t", 0}), 0);
  EXPECT_EQ(commit(*a.conn, a.group, 0, a.id, {{"t", 0, 11}}).at({"t", 0}), kIllegalGeneration);
  EXPECT_EQ(commit(*a.conn, a.group, 2, a.id, {{"t", 0, 11}}).at({"t", 0}), kIllegalGeneration);
  EXPECT_EQ(commit(*a.conn, a.group, 1, "nobody", {{"t", 0, 11}}).at({"t", 0}), kUnknownMemberId);
  EXPECT_EQ(committed(a.group, "t", 0).offset, 10);

  // offset.metadata.max.bytes = 4096: per partition.
  auto errors =
      commit(*a.conn, a.group, 1, a.id,
             {{"t", 0, 12, std::string(4097, 'x')}, {"t", 1, 13, std::string(4096, 'y')}});
  EXPECT_EQ(errors.at({"t", 0}), kOffsetMetadataTooLarge);
  EXPECT_EQ(errors.at({"t", 1}), 0);
  auto c0 = committed(a.group, "t", 0);
  EXPECT_EQ(c0.offset, 10);
  EXPECT_EQ(c0.metadata.value_or("<null>"), "ok");
  auto c1 = committed(a.group, "t", 1);
  EXPECT_EQ(c1.offset, 13);
  EXPECT_EQ(c1.metadata.value_or("<null>"), std::string(4096, 'y'));

  // Unknown topic, partition out of range.
  errors = commit(*a.conn, a.group, 1, a.id, {{"nope", 0, 1}, {"t", 99, 1}, {"t", 0, 14}});
  EXPECT_EQ(errors.at({"nope", 0}), kUnknownTopicOrPartition);
  EXPECT_EQ(errors.at({"t", 99}), kUnknownTopicOrPartition);
  EXPECT_EQ(errors.at({"t", 0}), 0);

  // CompletingRebalance: REBALANCE_IN_PROGRESS until the assignment is synced.
  start_join(b);
  ASSERT_TRUE(await_heartbeat(a, kRebalanceInProgress));
  join_round({&a, &b});
  ASSERT_EQ(describe(a.group).group_state, "CompletingRebalance");
  EXPECT_EQ(commit(*b.conn, a.group, 2, b.id, {{"t", 0, 20}}).at({"t", 0}), kRebalanceInProgress);
  EXPECT_EQ(commit(*a.conn, a.group, 2, a.id, {{"t", 0, 20}}).at({"t", 0}), kRebalanceInProgress);
  complete_sync({&a, &b});
  EXPECT_EQ(commit(*b.conn, a.group, 2, b.id, {{"t", 0, 21}}).at({"t", 0}), 0);
  EXPECT_EQ(committed(a.group, "t", 0).offset, 21);
}

// ==== restart ====

TEST_F(GroupTest, OffsetsAndGroupsSurviveRestart) {
  create_topic("t", 2);
  Member& a = new_member("durable", "a");
  Member& b = new_member("durable", "b");
  form_group({&a, &b});
  ASSERT_EQ(a.generation, 2);
  auto errors = commit(*a.conn, "durable", 2, a.id,
                       {{"t", 0, 42, "meta-a", 3}, {"t", 1, 7, std::nullopt, 4}});
  ASSERT_EQ(errors, (std::map<TP, int16_t>{{{"t", 0}, 0}, {{"t", 1}, 0}}));
  ASSERT_EQ(commit_simple("durable-empty", {{"t", 0, 5, "e", -1}}).at({"t", 0}), 0);
  const auto before = describe("durable");
  ASSERT_EQ(before.group_state, "Stable");

  restart();
  await_loaded("durable");
  await_loaded("durable-empty");

  auto got = fetch_offsets_of({{"durable", std::nullopt}, {"durable-empty", std::nullopt}});
  auto& g = got["durable"];
  EXPECT_EQ(g.error, 0);
  ASSERT_EQ(g.partitions.size(), 2u);
  EXPECT_EQ((g.partitions[{"t", 0}].offset), 42);
  EXPECT_EQ((g.partitions[{"t", 0}].leader_epoch), 3);
  EXPECT_EQ((g.partitions[{"t", 0}].metadata.value_or("<null>")), "meta-a");
  EXPECT_EQ((g.partitions[{"t", 1}].offset), 7);
  EXPECT_EQ((g.partitions[{"t", 1}].leader_epoch), 4);
  EXPECT_TRUE(no_metadata(g.partitions[{"t", 1}].metadata));
  auto& e = got["durable-empty"];
  ASSERT_EQ(e.partitions.size(), 1u);
  EXPECT_EQ((e.partitions[{"t", 0}].offset), 5);
  EXPECT_EQ((e.partitions[{"t", 0}].metadata.value_or("<null>")), "e");

  // The loaded group is Stable with its members (their sessions have not expired).
  auto after = describe("durable");
  EXPECT_EQ(after.error_code, 0);
  EXPECT_EQ(after.group_state, "Stable");
  EXPECT_EQ(after.protocol_type, "consumer");
  EXPECT_EQ(after.protocol_data, "range");
  ASSERT_EQ(after.members.size(), 2u);
  std::map<std::string, std::pair<std::string, std::string>> members_before, members_after;
  for (const auto& m : before.members) {
    members_before[m.member_id] = {str(m.member_metadata), str(m.member_assignment)};
  }
  for (const auto& m : after.members) {
    members_after[m.member_id] = {str(m.member_metadata), str(m.member_assignment)};
  }
  EXPECT_EQ(members_after, members_before);
  EXPECT_EQ(describe("durable-empty").group_state, "Empty");
  auto listed = list_groups();
  EXPECT_TRUE(listed.contains("durable"));
  EXPECT_TRUE(listed.contains("durable-empty"));

  // The members carry on in their generation.
  EXPECT_EQ(heartbeat(a), 0);
  EXPECT_EQ(heartbeat(b), 0);
  EXPECT_EQ(commit(*b.conn, "durable", 2, b.id, {{"t", 0, 43}}).at({"t", 0}), 0);
  EXPECT_EQ(committed("durable", "t", 0).offset, 43);
}

// ==== ListGroups / DescribeGroups ====

TEST_F(GroupTest, ListGroupsEveryVersionAndStatesFilter) {
  create_topic("t", 1);
  Member& s = new_member("lg-stable", "s");
  form_group({&s});
  ASSERT_EQ(commit_simple("lg-empty", {{"t", 0, 1}}).at({"t", 0}), 0);
  Member& c = new_member("lg-connect", "c");
  c.protocol_type = "connect";
  c.protocols = {{"default", bytes_of("worker")}};
  join_round({&c});  // CompletingRebalance: no SyncGroup

  const std::map<std::string, std::string> expected_types = {
      {"lg-stable", "consumer"}, {"lg-empty", ""}, {"lg-connect", "connect"}};
  const std::map<std::string, std::string> expected_states = {
      {"lg-stable", "Stable"}, {"lg-empty", "Empty"}, {"lg-connect", "CompletingRebalance"}};
  for (int16_t v = 0; v <= 4; ++v) {
    SCOPED_TRACE("ListGroups v" + std::to_string(v));
    std::map<std::string, std::string> types, states;
    for (const auto& [id, g] : list_groups(v)) {
      types[id] = g.protocol_type;
      states[id] = g.group_state;
    }
    EXPECT_EQ(types, expected_types);
    if (v >= 4) {
      EXPECT_EQ(states, expected_states);
    }
  }
  auto names = [&](const std::vector<std::string>& states) {
    std::set<std::string> out;
    for (const auto& [id, g] : list_groups(4, states)) out.insert(id);
    return out;
  };
  EXPECT_EQ(names({"Stable"}), (std::set<std::string>{"lg-stable"}));
  EXPECT_EQ(names({"Empty", "CompletingRebalance"}),
            (std::set<std::string>{"lg-empty", "lg-connect"}));
  EXPECT_EQ(names({"PreparingRebalance"}), (std::set<std::string>{}));
  EXPECT_EQ(names({}), (std::set<std::string>{"lg-stable", "lg-empty", "lg-connect"}));
}

TEST_F(GroupTest, DescribeGroupsEveryVersion) {
  Member& a = new_member("dg", "a");
  Member& b = new_member("dg", "b");
  form_group({&a, &b});
  for (int16_t v = 0; v <= 5; ++v) {
    SCOPED_TRACE("DescribeGroups v" + std::to_string(v));
    DescribeGroupsRequest req;
    req.groups = {"dg", "dg-unknown"};
    auto resp = admin_->call(req, v);
    ASSERT_EQ(resp.groups.size(), 2u);
    const auto& g = resp.groups[0].group_id == "dg" ? resp.groups[0] : resp.groups[1];
    const auto& u = resp.groups[0].group_id == "dg" ? resp.groups[1] : resp.groups[0];
    EXPECT_EQ(g.group_id, "dg");
    EXPECT_EQ(g.error_code, 0);
    EXPECT_EQ(g.group_state, "Stable");
    EXPECT_EQ(g.protocol_type, "consumer");
    EXPECT_EQ(g.protocol_data, "range");
    ASSERT_EQ(g.members.size(), 2u);
    for (const auto& m : g.members) {
      const Member& who = m.member_id == a.id ? a : b;
      EXPECT_EQ(m.member_id, who.id);
      EXPECT_EQ(m.client_id, kClientId);
      EXPECT_NE(m.client_host.find("127.0.0.1"), std::string::npos) << m.client_host;
      EXPECT_EQ(str(m.member_metadata), str(who.metadata("range")));
      EXPECT_EQ(str(m.member_assignment), str(assignment_for(who)));
      EXPECT_FALSE(m.group_instance_id.has_value());
    }
    EXPECT_EQ(u.group_id, "dg-unknown");
    EXPECT_EQ(u.error_code, 0);
    EXPECT_EQ(u.group_state, "Dead");
    EXPECT_EQ(u.protocol_type, "");
    EXPECT_TRUE(u.members.empty());
  }
}

TEST_F(GroupTest, DescribeGroupsStatesThroughALifecycle) {
  Member& a = new_member("lifecycle", "a");
  Member& b = new_member("lifecycle", "b");
  a.join_version = 3;  // joins directly
  join_round({&a});
  EXPECT_EQ(describe("lifecycle").group_state, "CompletingRebalance");
  complete_sync({&a});
  EXPECT_EQ(describe("lifecycle").group_state, "Stable");
  start_join(b);
  ASSERT_TRUE(await_heartbeat(a, kRebalanceInProgress));
  auto preparing = describe("lifecycle");
  EXPECT_EQ(preparing.group_state, "PreparingRebalance");
  EXPECT_EQ(preparing.protocol_type, "consumer");
  join_round({&a, &b});
  EXPECT_EQ(describe("lifecycle").group_state, "CompletingRebalance");
  complete_sync({&a, &b});
  EXPECT_EQ(describe("lifecycle").group_state, "Stable");
  LeaveGroupRequest leave;
  leave.group_id = "lifecycle";
  for (Member* m : {&a, &b}) leave.members.emplace_back().member_id = m->id;
  auto left = admin_->call(leave, 4);
  EXPECT_EQ(left.error_code, 0);
  EXPECT_EQ(describe("lifecycle").group_state, "Empty");
  EXPECT_EQ(delete_groups({"lifecycle"}).at("lifecycle"), 0);
  EXPECT_EQ(describe("lifecycle").group_state, "Dead");
}

// ==== DeleteGroups ====

TEST_F(GroupTest, DeleteGroupsAndTheyStayDeletedAfterRestart) {
  create_topic("t", 1);
  Member& a = new_member("busy", "a");
  form_group({&a});
  for (const char* g : {"gone-0", "gone-1", "gone-2", "kept"}) {
    ASSERT_EQ(commit_simple(g, {{"t", 0, 9, "x"}}).at({"t", 0}), 0);
  }
  for (int16_t v = 0; v <= 2; ++v) {
    SCOPED_TRACE("DeleteGroups v" + std::to_string(v));
    const std::string gone = "gone-" + std::to_string(v);
    auto results = delete_groups({"busy", "missing", gone}, v);
    EXPECT_EQ(results.at("busy"), kNonEmptyGroup);
    EXPECT_EQ(results.at("missing"), kGroupIdNotFound);
    EXPECT_EQ(results.at(gone), 0);
    EXPECT_EQ(committed(gone, "t", 0).offset, -1);
    EXPECT_FALSE(list_groups().contains(gone));
    EXPECT_EQ(describe(gone).group_state, "Dead");
    // Deleted twice: not found.
    EXPECT_EQ(delete_groups({gone}, v).at(gone), kGroupIdNotFound);
  }
  EXPECT_EQ(heartbeat(a), 0);
  EXPECT_EQ(committed("kept", "t", 0).offset, 9);

  restart();
  await_loaded("kept");
  auto listed = list_groups();
  EXPECT_TRUE(listed.contains("kept"));
  EXPECT_TRUE(listed.contains("busy"));
  for (const char* g : {"gone-0", "gone-1", "gone-2"}) {
    SCOPED_TRACE(g);
    EXPECT_FALSE(listed.contains(g));
    EXPECT_EQ(committed(g, "t", 0).offset, -1);
    EXPECT_EQ(describe(g).group_state, "Dead");
  }
  EXPECT_EQ(committed("kept", "t", 0).offset, 9);
}

// ==== OffsetDelete ====

TEST_F(GroupTest, OffsetDelete) {
  create_topic("od", 2);
  create_topic("other", 1);
  auto offset_delete = [&](const std::string& group,
                           const std::vector<std::pair<std::string, int32_t>>& partitions) {
    OffsetDeleteRequest req;
    req.group_id = group;
    for (const auto& [topic, partition] : partitions) {
      auto it = std::find_if(req.topics.begin(), req.topics.end(),
                             [&](const auto& t) { return t.name == topic; });
      if (it == req.topics.end()) {
        it = req.topics.emplace(req.topics.end());
        it->name = topic;
      }
      it->partitions.emplace_back().partition_index = partition;
    }
    return admin_->call(req, 0);
  };
  auto partition_errors = [](const OffsetDeleteResponse& resp) {
    std::map<TP, int16_t> out;
    for (const auto& t : resp.topics) {
      for (const auto& p : t.partitions) out[{t.name, p.partition_index}] = p.error_code;
    }
    return out;
  };

  // An Empty group: one partition's offset goes, the other stays.
  ASSERT_EQ(commit_simple("od-empty", {{"od", 0, 1}, {"od", 1, 2}}),
            (std::map<TP, int16_t>{{{"od", 0}, 0}, {{"od", 1}, 0}}));
  auto resp = offset_delete("od-empty", {{"od", 0}});
  EXPECT_EQ(resp.error_code, 0);
  EXPECT_EQ(partition_errors(resp), (std::map<TP, int16_t>{{{"od", 0}, 0}}));
  EXPECT_EQ(committed("od-empty", "od", 0).offset, -1);
  EXPECT_EQ(committed("od-empty", "od", 1).offset, 2);

  // A Stable consumer group subscribed to "od": its partitions are protected, others are not.
  Member& a = new_member("od-stable", "a");
  a.protocols = {{"range", subscription({"od"})}};
  form_group({&a});
  auto errors = commit(*a.conn, a.group, a.generation, a.id, {{"od", 0, 3}, {"other", 0, 4}});
  ASSERT_EQ(errors, (std::map<TP, int16_t>{{{"od", 0}, 0}, {{"other", 0}, 0}}));
  resp = offset_delete("od-stable", {{"od", 0}, {"other", 0}});
  EXPECT_EQ(resp.error_code, 0);
  EXPECT_EQ(partition_errors(resp),
            (std::map<TP, int16_t>{{{"od", 0}, kGroupSubscribedToTopic}, {{"other", 0}, 0}}));
  EXPECT_EQ(committed("od-stable", "od", 0).offset, 3);
  EXPECT_EQ(committed("od-stable", "other", 0).offset, -1);
  EXPECT_EQ(heartbeat(a), 0);

  // Unknown group.
  resp = offset_delete("od-missing", {{"od", 0}});
  EXPECT_EQ(resp.error_code, kGroupIdNotFound);
}

// ==== configuration ====

class InitialDelayGroupTest : public GroupTest {
 protected:
  std::map<std::string, std::string> extra_properties() const override {
    auto props = GroupTest::extra_properties();
    props["group.initial.rebalance.delay.ms"] = "300";
    return props;
  }
};

TEST_F(InitialDelayGroupTest, FirstGenerationWaitsForTheDelayAndGathersLateJoiners) {
  Member& a = new_member("delayed", "a");
  Member& b = new_member("delayed", "b");
  const auto start = SteadyClock::now();
  start_join(a);
  EXPECT_FALSE(a.conn->answered_within(100ms)) << "the first JoinGroup must wait for the delay";
  start_join(b);  // within the delay
  auto ra = finish_join(a);
  auto rb = finish_join(b);
  EXPECT_GE(SteadyClock::now() - start, 280ms);
  ASSERT_EQ(ra.error_code, 0);
  ASSERT_EQ(rb.error_code, 0);
  EXPECT_EQ(ra.generation_id, 1);
  EXPECT_EQ(rb.generation_id, 1);
  EXPECT_EQ(ra.leader, rb.leader);
  const JoinGroupResponse& leader = ra.leader == a.id ? ra : rb;
  EXPECT_EQ(members_of(leader),
            (std::map<std::string, std::string>{{a.id, str(a.metadata("range"))},
                                                {b.id, str(b.metadata("range"))}}));
  complete_sync({&a, &b});
  EXPECT_EQ(heartbeat(a), 0);
  EXPECT_EQ(heartbeat(b), 0);
}

class GroupMaxSizeTest : public GroupTest {
 protected:
  std::map<std::string, std::string> extra_properties() const override {
    auto props = GroupTest::extra_properties();
    props["group.max.size"] = "2";
    return props;
  }
};

TEST_F(GroupMaxSizeTest, JoinBeyondMaxSizeIsRefused) {
  Member& a = new_member("full", "a");
  Member& b = new_member("full", "b");
  form_group({&a, &b});
  Member& c = new_member("full", "c");
  c.join_version = 5;
  EXPECT_EQ(c.conn->call(join_request(c), 5).error_code, kGroupMaxSizeReached);
  c.join_version = 3;
  EXPECT_EQ(c.conn->call(join_request(c), 3).error_code, kGroupMaxSizeReached);
  EXPECT_EQ(heartbeat(a), 0);
  EXPECT_EQ(heartbeat(b), 0);
  EXPECT_EQ(describe("full").members.size(), 2u);
}

// The session timeout bounds at their defaults (6000 .. 1800000).
class DefaultSessionBoundsTest : public GroupTest {
 protected:
  std::map<std::string, std::string> extra_properties() const override {
    auto props = GroupTest::extra_properties();
    props.erase("group.min.session.timeout.ms");
    return props;
  }
};

TEST_F(DefaultSessionBoundsTest, SessionTimeoutBelowDefaultMinimumIsInvalid) {
  Member& m = new_member("default-bounds", "a");
  m.join_version = 5;
  m.session_ms = 5999;
  EXPECT_EQ(m.conn->call(join_request(m), 5).error_code, kInvalidSessionTimeout);
  m.session_ms = 1800001;
  EXPECT_EQ(m.conn->call(join_request(m), 5).error_code, kInvalidSessionTimeout);
  m.session_ms = 6000;
  auto r = join(m);
  EXPECT_EQ(r.error_code, 0);
  EXPECT_EQ(r.generation_id, 1);
}

// Time-driven behaviour on the broker's injectable clock: nothing here waits for real time
// except the coordinator's 50 ms tick noticing the jump.
class ManualClockGroupTest : public GroupTest {
 protected:
  std::map<std::string, std::string> extra_properties() const override {
    auto props = GroupTest::extra_properties();
    props["offsets.retention.minutes"] = "1";
    props["offsets.retention.check.interval.ms"] = "10";
    return props;
  }
  kafkacore::Clock* clock() override { return &time_; }

  bool has_offset(const std::string& group, const std::string& topic) {
    auto all = fetch_offsets_of({{group, TopicSelection{{{topic, {0}}}}}});
    return all.at(group).partitions.at({topic, 0}).offset >= 0;
  }

  ManualClock time_;
};

TEST_F(ManualClockGroupTest, OffsetsOfAnEmptyGroupExpireAfterRetention) {
  create_topic("t", 1);  // the topic the members subscribe to
  create_topic("other", 1);
  Member& a = new_member("retained", "a");
  a.session_ms = 600000;
  form_group({&a});
  ASSERT_EQ(commit(*a.conn, "retained", a.generation, a.id, {{"t", 0, 42}, {"other", 0, 5}}).at({"t", 0}), 0);
  ASSERT_EQ(commit_simple("simple", {{"t", 0, 7}}).at({"t", 0}), 0);

  // A live group keeps the offsets of topics it subscribes to however old the commit (those of
  // other topics expire per commit, KIP-496); a simple group's expire per commit.
  time_.advance_ms(61'000);
  ASSERT_TRUE(eventually([&] { return !has_offset("simple", "t"); }, 3000ms));
  EXPECT_FALSE(list_groups().contains("simple"));
  EXPECT_TRUE(has_offset("retained", "t"));
  EXPECT_TRUE(eventually([&] { return !has_offset("retained", "other"); }, 3000ms));
  EXPECT_EQ(heartbeat(a), 0);

  // Once empty, the clock starts: not yet after 59 s, gone after 61 s, group and all.
  LeaveGroupRequest leave;
  leave.group_id = "retained";
  leave.member_id = a.id;
  ASSERT_EQ(a.conn->call(leave, 2).error_code, 0);
  EXPECT_EQ(describe("retained").group_state, "Empty");
  time_.advance_ms(59'000);
  std::this_thread::sleep_for(200ms);
  EXPECT_TRUE(has_offset("retained", "t"));
  time_.advance_ms(2'000);
  EXPECT_TRUE(eventually([&] { return !has_offset("retained", "t"); }, 3000ms));
  EXPECT_TRUE(eventually([&] { return !list_groups().contains("retained"); }, 3000ms));

  // And it stays gone after a restart (tombstones were written).
  restart();
  await_loaded("retained");
  EXPECT_FALSE(has_offset("retained", "t"));
  EXPECT_FALSE(list_groups().contains("retained"));
}

TEST_F(ManualClockGroupTest, SessionExpiresOnTheBrokersClock) {
  Member& a = new_member("clock-session", "a");
  Member& b = new_member("clock-session", "b");
  a.session_ms = 60000;
  b.session_ms = 10000;
  form_group({&a, &b});
  time_.advance_ms(9'000);
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(heartbeat(a), 0);  // b's session has 1 s left
  time_.advance_ms(2'000);
  ASSERT_TRUE(await_heartbeat(a, kRebalanceInProgress));
  join_round({&a});
  complete_sync({&a});
  EXPECT_EQ(heartbeat(b), kUnknownMemberId);
}

}  // namespace
}  // namespace kafkacore::broker::testing
