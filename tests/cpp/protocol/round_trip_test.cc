// Every message of every definition in messages/*.msg, at every version of its range: fill with
// sample values (generated fill_sample), encode, decode, compare, encode again to the same bytes;
// every strict prefix of the encoding must fail to decode; mutated encodings must decode or fail
// cleanly and, when they decode, re-encode to something that decodes to the same value.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "protocol/api_table.h"
#include "protocol/messages.h"
#include "protocol/reader.h"
#include "protocol/writer.h"
#include "protocol_samples.h"

namespace kafkacore::protocol {
namespace {

using testing::SampleMode;
using testing::SampleSource;

template <typename M>
Bytes encode(const M& m, int16_t version) {
  Writer w;
  m.encode(w, version);
  return w.take_bytes();
}

template <typename M>
void check_round_trip(int16_t version, SampleMode mode) {
  M original;
  SampleSource source(mode);
  fill_sample(original, version, source);
  const Bytes wire = encode(original, version);

  M decoded;
  Reader in(wire);
  auto status = decoded.decode(in, version);
  ASSERT_TRUE(status.has_value()) << status.error().to_string();
  EXPECT_EQ(in.remaining(), 0u);
  EXPECT_TRUE(decoded == original) << "decoded value differs from the encoded one";
  EXPECT_EQ(encode(decoded, version), wire) << "re-encoding gives different bytes";

  // The sample must not be all defaults (unless the version carries nothing at all).
  if (mode == SampleMode::values && !encode(M{}, version).empty()) {
    EXPECT_NE(encode(M{}, version), wire) << "fill_sample left every field at its default";
  }

  // Truncated at every byte: must fail, never read past the end.
  for (size_t n = 0; n < wire.size(); ++n) {
    M partial;
    Reader cut(ByteView(wire).first(n));
    EXPECT_FALSE(partial.decode(cut, version).has_value()) << "prefix of " << n << " bytes";
  }

  // Random byte mutations: decode must fail cleanly or yield a value that survives a round trip.
  std::mt19937 rng(static_cast<uint32_t>(version * 7919 + wire.size()));
  for (int round = 0; round < 64 && !wire.empty(); ++round) {
    Bytes mutated = wire;
    const int flips = 1 + static_cast<int>(rng() % 3);
    for (int i = 0; i < flips; ++i) {
      mutated[rng() % mutated.size()] = static_cast<std::byte>(rng() & 0xff);
    }
    M value;
    Reader r(mutated);
    if (!value.decode(r, version).has_value()) continue;
    const Bytes again = encode(value, version);
    M reread;
    Reader r2(again);
    ASSERT_TRUE(reread.decode(r2, version).has_value()) << "round " << round;
    EXPECT_TRUE(reread == value) << "round " << round;
  }
}

struct Case {
  std::string message;
  int16_t version;
  SampleMode mode;
  void (*run)(int16_t, SampleMode);
};

template <typename M>
void add_cases(std::vector<Case>& cases, const char* name) {
  for (int v = M::min_version; v <= M::max_version; ++v) {
    for (SampleMode mode : {SampleMode::values, SampleMode::nulls}) {
      cases.push_back(Case{name, static_cast<int16_t>(v), mode, &check_round_trip<M>});
    }
  }
}

std::vector<Case> all_cases() {
  std::vector<Case> cases;
#define KAFKACORE_ADD_CASES(Name)                        \
  add_cases<Name##Request>(cases, #Name "Request");   \
  add_cases<Name##Response>(cases, #Name "Response");
  KAFKACORE_PROTOCOL_FOR_EACH_API(KAFKACORE_ADD_CASES)
#undef KAFKACORE_ADD_CASES
  return cases;
}

class RoundTrip : public ::testing::TestWithParam<Case> {};

TEST_P(RoundTrip, EncodeDecodeEncode) { GetParam().run(GetParam().version, GetParam().mode); }

INSTANTIATE_TEST_SUITE_P(
    AllMessages, RoundTrip, ::testing::ValuesIn(all_cases()),
    [](const ::testing::TestParamInfo<Case>& param_info) {
      return param_info.param.message + "_v" + std::to_string(param_info.param.version) +
             (param_info.param.mode == SampleMode::values ? "_values" : "_nulls");
    });

// Versions outside the range are refused on decode with UNSUPPORTED_VERSION.
template <typename M>
void check_unsupported_versions() {
  const Bytes empty;
  for (int v : {M::min_version - 1, M::max_version + 1}) {
    M m;
    Reader in(empty);
    auto status = m.decode(in, static_cast<int16_t>(v));
    ASSERT_FALSE(status.has_value()) << M::api_name << " v" << v;
    EXPECT_EQ(status.error().code(), Errc::unsupported_version);
  }
}

TEST(Messages, UnsupportedVersionsAreRefused) {
#define KAFKACORE_CHECK(Name)                          \
  check_unsupported_versions<Name##Request>();         \
  check_unsupported_versions<Name##Response>();
  KAFKACORE_PROTOCOL_FOR_EACH_API(KAFKACORE_CHECK)
#undef KAFKACORE_CHECK
}

// The api table agrees with the message types and is sorted by key.
TEST(ApiTable, MatchesTheMessages) {
  size_t count = 0;
#define KAFKACORE_CHECK(Name)                                                          \
  {                                                                                    \
    ++count;                                                                           \
    const ApiInfo* info = find_api(Name##Request::api_key);                            \
    ASSERT_NE(info, nullptr) << #Name;                                                 \
    EXPECT_EQ(info->name, #Name);                                                      \
    EXPECT_EQ(info->min_version, Name##Request::min_version);                          \
    EXPECT_EQ(info->max_version, Name##Request::max_version);                          \
    EXPECT_EQ(info->first_flexible_version, Name##Request::first_flexible_version);    \
    EXPECT_EQ(Name##Response::api_key, Name##Request::api_key);                        \
    EXPECT_TRUE(Name##Request::is_request);                                            \
    EXPECT_FALSE(Name##Response::is_request);                                          \
  }
  KAFKACORE_PROTOCOL_FOR_EACH_API(KAFKACORE_CHECK)
#undef KAFKACORE_CHECK
  auto apis = all_apis();
  EXPECT_EQ(apis.size(), count);
  for (size_t i = 1; i < apis.size(); ++i) EXPECT_LT(apis[i - 1].key, apis[i].key);
  EXPECT_EQ(find_api(-1), nullptr);
  EXPECT_EQ(find_api(32000), nullptr);
}

TEST(ApiTable, HeaderVersions) {
  for (const ApiInfo& api : all_apis()) {
    for (int v = api.min_version; v <= api.max_version; ++v) {
      const bool flexible = v >= api.first_flexible_version;
      const auto version = static_cast<int16_t>(v);
      EXPECT_EQ(request_header_version(api.key, version), flexible ? 2 : 1) << api.name << v;
      EXPECT_EQ(response_header_version(api.key, version),
                api.key == ApiVersionsRequest::api_key ? 0 : (flexible ? 1 : 0))
          << api.name << v;
    }
  }
  // Unknown keys: header v1 / v0.
  EXPECT_EQ(request_header_version(999, 20), 1);
  EXPECT_EQ(response_header_version(999, 20), 0);
  // A newer ApiVersions than we know is still read with the flexible request header.
  EXPECT_EQ(request_header_version(18, 99), 2);
  EXPECT_EQ(response_header_version(18, 99), 0);
}

}  // namespace
}  // namespace kafkacore::protocol
