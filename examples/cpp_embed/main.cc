// Embeds a one-broker Kafka-compatible cluster in this program, then talks to it with the C++
// clients: creates a topic (AdminClient), produces three records (Producer), reads them back in
// a consumer group (Consumer), prints them and stops. Exit status 0 on success.
#include <kafkacore/kafkacore.h>
#include <stdlib.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;

int fail(const std::string& what, const kafkacore::Error& error) {
  std::fprintf(stderr, "%s: %s\n", what.c_str(), error.to_string().c_str());
  return 1;
}

int run(const std::filesystem::path& data_dir) {
  // One broker on a free port, its data in data_dir. The properties are Kafka's; these two
  // suit a short-lived test cluster (see docs/testing.md).
  kafkacore::LocalClusterOptions options;
  options.brokers = 1;
  options.data_dir = data_dir;
  options.properties = {{"group.initial.rebalance.delay.ms", "0"},
                        {"kafkacore.unsafe.bypass.fsync", "true"}};
  auto cluster = kafkacore::LocalCluster::start(options);
  if (!cluster) return fail("starting the cluster", cluster.error());
  const std::string servers = (*cluster)->bootstrap_servers();
  std::printf("kafkacore %s: broker listening on %s\n", KAFKACORE_VERSION, servers.c_str());

  {
    auto admin = kafkacore::AdminClient::create({{"bootstrap.servers", servers}});
    if (!admin) return fail("admin client", admin.error());
    // One Result for the call, one per topic.
    auto created = (*admin)->create_topics({{.name = "greetings", .partitions = 1}});
    if (!created) return fail("create_topics", created.error());
    if (!created->at("greetings"))
      return fail("creating greetings", created->at("greetings").error());
  }

  const std::vector<std::pair<std::string, std::string>> greetings = {
      {"en", "hello"}, {"fr", "bonjour"}, {"de", "hallo"}};
  {
    auto producer = kafkacore::Producer::create({{"bootstrap.servers", servers}, {"acks", "all"}});
    if (!producer) return fail("producer", producer.error());
    int acknowledged = 0;
    for (const auto& [key, value] : greetings) {
      kafkacore::ProducerRecord record{.topic = "greetings",
                                       .key = kafkacore::bytes_of(key),
                                       .value = kafkacore::bytes_of(value)};
      // The callback runs on this thread, inside flush().
      auto sent =
          (*producer)->send(record, [&](const kafkacore::Result<kafkacore::RecordMetadata>& r) {
            if (r) {
              ++acknowledged;
              std::printf("produced %s to partition %d at offset %lld\n", key.c_str(),
                          r->topic_partition.partition, static_cast<long long>(r->offset));
            } else {
              std::fprintf(stderr, "delivery failed: %s\n", r.error().to_string().c_str());
            }
          });
      if (!sent) return fail("send", sent.error());
    }
    if (auto flushed = (*producer)->flush(10s); !flushed) return fail("flush", flushed.error());
    if (acknowledged != static_cast<int>(greetings.size())) return 1;
  }

  {
    auto consumer = kafkacore::Consumer::create(
        {{"bootstrap.servers", servers}, {"group.id", "embed"}, {"auto.offset.reset", "earliest"}});
    if (!consumer) return fail("consumer", consumer.error());
    if (auto s = (*consumer)->subscribe({"greetings"}); !s) return fail("subscribe", s.error());
    size_t received = 0;
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (received < greetings.size() && std::chrono::steady_clock::now() < deadline) {
      auto records = (*consumer)->poll(500ms);  // the first poll joins the group
      if (!records) return fail("poll", records.error());
      for (const auto& r : *records) {
        std::printf("consumed offset %lld: %s=%s\n", static_cast<long long>(r.offset),
                    kafkacore::string_of(*r.key).c_str(), kafkacore::string_of(*r.value).c_str());
        ++received;
      }
    }
    if (auto c = (*consumer)->commit_sync(10s); !c) return fail("commit", c.error());
    (*consumer)->close();
    if (received != greetings.size()) {
      std::fprintf(stderr, "received %zu of %zu records\n", received, greetings.size());
      return 1;
    }
  }

  if (auto stopped = (*cluster)->stop(); !stopped) return fail("stopping", stopped.error());
  std::printf("stopped\n");
  return 0;
}

}  // namespace

int main() {
  kafkacore::log::set_level(kafkacore::log::Level::warn);  // the broker logs info to stderr
  std::string pattern = (std::filesystem::temp_directory_path() / "kafkacore-embed-XXXXXX");
  if (mkdtemp(pattern.data()) == nullptr) {
    std::perror("mkdtemp");
    return 1;
  }
  const std::filesystem::path data_dir = pattern;
  const int status = run(data_dir);
  std::filesystem::remove_all(data_dir);
  return status;
}
