// Word count with the Streams DSL from C++: an in-process broker, three lines of text, a
// topology that splits lines into words, regroups by word (through a repartition topic) and
// counts, then the counts read back and printed in word order. Exit status 0 on success.
#include <kafkacore/kafkacore.h>
#include <stdlib.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;
using kafkacore::Result;
using kafkacore::StreamRecord;
using kafkacore::Value;

int fail(const std::string& what, const kafkacore::Error& error) {
  std::fprintf(stderr, "%s: %s\n", what.c_str(), error.to_string().c_str());
  return 1;
}

Result<std::vector<Value>> words_of(const StreamRecord& line) {
  std::vector<Value> words;
  std::istringstream in(std::get<std::string>(line.value));
  for (std::string word; in >> word;) words.emplace_back(word);
  return words;
}

int run(const std::filesystem::path& data_dir) {
  kafkacore::LocalClusterOptions options;
  options.brokers = 1;
  options.data_dir = data_dir;
  options.properties = {{"group.initial.rebalance.delay.ms", "0"},
                        {"kafkacore.unsafe.bypass.fsync", "true"}};
  auto cluster = kafkacore::LocalCluster::start(options);
  if (!cluster) return fail("starting the cluster", cluster.error());
  const std::string servers = (*cluster)->bootstrap_servers();

  auto admin = kafkacore::AdminClient::create({{"bootstrap.servers", servers}});
  if (!admin) return fail("admin client", admin.error());
  auto created = (*admin)->create_topics({{.name = "lines", .partitions = 2},
                                          {.name = "word-counts", .partitions = 2}});
  if (!created) return fail("create_topics", created.error());

  auto producer = kafkacore::Producer::create({{"bootstrap.servers", servers}});
  if (!producer) return fail("producer", producer.error());
  for (const char* line : {"the quick fox", "the lazy dog", "the end"}) {
    auto sent = (*producer)->send({.topic = "lines", .value = kafkacore::bytes_of(line)});
    if (!sent) return fail("send", sent.error());
  }
  if (auto flushed = (*producer)->flush(10s); !flushed) return fail("flush", flushed.error());

  kafkacore::StreamsBuilder builder(kafkacore::string_serde(), kafkacore::string_serde());
  builder.stream({"lines"})
      .flat_map_values(words_of)
      .group_by([](const StreamRecord& r) -> Result<Value> { return r.value; })
      .count()
      .to_stream()
      .to("word-counts", {.key_serde = kafkacore::string_serde(),
                          .value_serde = kafkacore::int64_serde(),
                          .name = ""});
  auto topology = builder.build();
  if (!topology) return fail("topology", topology.error());
  auto app = kafkacore::KafkaStreams::create(
      *topology, {{"application.id", "wordcount"}, {"bootstrap.servers", servers}});
  if (!app) return fail("streams", app.error());
  if (auto started = (*app)->start(); !started) return fail("start", started.error());
  // Idle twice: the lines, then the words they sent through the repartition topic.
  if (!(*app)->wait_until_idle(30s) || !(*app)->wait_until_idle(30s)) {
    return fail("processing", (*app)->error().value_or(kafkacore::Error(
                                   kafkacore::Errc::request_timed_out, "not idle after 30 s")));
  }
  if (auto closed = (*app)->close(); !closed) return fail("close", closed.error());

  // The latest count per word.
  auto consumer = kafkacore::Consumer::create(
      {{"bootstrap.servers", servers}, {"group.id", "reader"}, {"auto.offset.reset", "earliest"}});
  if (!consumer) return fail("consumer", consumer.error());
  if (auto s = (*consumer)->subscribe({"word-counts"}); !s) return fail("subscribe", s.error());
  std::map<std::string, int64_t> counts;
  size_t updates = 0;
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (updates < 8 && std::chrono::steady_clock::now() < deadline) {
    auto records = (*consumer)->poll(500ms);
    if (!records) return fail("poll", records.error());
    for (const auto& r : *records) {
      counts[kafkacore::string_of(*r.key)] = kafkacore::load_be<int64_t>(r.value->data());
      ++updates;
    }
  }
  (*consumer)->close();
  for (const auto& [word, n] : counts) std::printf("%s %lld\n", word.c_str(), static_cast<long long>(n));
  if (auto stopped = (*cluster)->stop(); !stopped) return fail("stopping", stopped.error());
  return updates == 8 ? 0 : 1;  // one update per word read
}

}  // namespace

int main() {
  kafkacore::log::set_level(kafkacore::log::Level::warn);
  std::string pattern = (std::filesystem::temp_directory_path() / "kafkacore-streams-XXXXXX");
  if (mkdtemp(pattern.data()) == nullptr) {
    std::perror("mkdtemp");
    return 1;
  }
  const std::filesystem::path data_dir = pattern;
  const int status = run(data_dir);
  std::filesystem::remove_all(data_dir);
  return status;
}
