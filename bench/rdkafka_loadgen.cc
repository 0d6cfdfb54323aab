// librdkafka's C API as a load generator, without Python in the loop.
//
// bench/loadgen.py drives librdkafka through confluent-kafka; there, building a message from a
// Python dict costs about 0.4 µs a record on this box, a single core's worth at 2.5 M rec/s,
// before librdkafka or the broker do anything. That caps one producer at the same rate against
// every broker, and the broker's own cost stops showing. This program hands librdkafka the same
// records with the same settings from C, so the client's own pipeline and the broker set the pace.
//
//   rdkafka_loadgen produce BOOTSTRAP|mock TOPIC RECORDS SIZE ACKS PARTITION(-1: partitioner)
//   rdkafka_loadgen consume BOOTSTRAP TOPIC RECORDS
//
// Prints one JSON line, the same fields as loadgen.py, cpu_s included: the CPU time of the whole
// process (every librdkafka thread; with `mock`, the mock broker too) while the clock ran.

#include <librdkafka/rdkafka.h>
#include <time.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void die(const std::string& why) {
  std::fprintf(stderr, "rdkafka_loadgen: %s\n", why.c_str());
  std::exit(1);
}

void set(rd_kafka_conf_t* conf, const std::string& key, const std::string& value) {
  char error[512];
  if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), error, sizeof error) !=
      RD_KAFKA_CONF_OK) {
    die(key + ": " + error);
  }
}

void set_all(rd_kafka_conf_t* conf,
             std::initializer_list<std::pair<std::string, std::string>> settings) {
  for (const auto& [key, value] : settings) set(conf, key, value);
}

rd_kafka_t* make_client(rd_kafka_type_t type, rd_kafka_conf_t* conf) {
  char error[512];
  rd_kafka_t* client = rd_kafka_new(type, conf, error, sizeof error);
  if (client == nullptr) die(error);
  return client;
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double process_cpu_seconds() {
  timespec now{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) / 1e9;
}

void print_result(long records, double seconds, double bytes, double cpu_seconds) {
  std::printf(
      "{\"records\": %ld, \"seconds\": %.6f, \"rec_s\": %.1f, \"mb_s\": %.3f, \"cpu_s\": %.4f}\n",
      records, seconds, records / seconds, bytes / seconds / 1e6, cpu_seconds);
}

long failed_deliveries = 0;
std::string first_failure;

void on_delivery(rd_kafka_t*, const rd_kafka_message_t* message, void*) {
  if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    if (failed_deliveries++ == 0) first_failure = rd_kafka_err2str(message->err);
  }
}

// The same client settings as loadgen.py's producer: no compression, no idempotence,
// linger.ms=5, large local queues; only failures get a delivery report.
class Producer {
 public:
  Producer(const std::string& bootstrap, const std::string& acks) {
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    if (bootstrap == "mock") {
      set(conf, "test.mock.num.brokers", "1");
    } else {
      set(conf, "bootstrap.servers", bootstrap);
    }
    set_all(conf, {{"acks", acks},
                   {"linger.ms", "5"},
                   {"batch.num.messages", "10000"},
                   {"queue.buffering.max.messages", "1000000"},
                   {"enable.idempotence", "false"},
                   {"compression.type", "none"},
                   {"message.timeout.ms", "120000"},
                   {"delivery.report.only.error", "true"},
                   {"log_level", "3"}});
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    client_ = make_client(RD_KAFKA_PRODUCER, conf);
  }
  ~Producer() {
    if (topic_ != nullptr) rd_kafka_topic_destroy(topic_);
    rd_kafka_destroy(client_);
  }
  Producer(const Producer&) = delete;
  Producer& operator=(const Producer&) = delete;

  // `records` records of `size` bytes to one partition (-1: the partitioner), then every
  // acknowledgement.
  void send(const std::string& topic_name, long records, int size, int partition) {
    if (topic_ == nullptr) topic_ = rd_kafka_topic_new(client_, topic_name.c_str(), nullptr);
    const int32_t target = partition < 0 ? RD_KAFKA_PARTITION_UA : partition;
    const std::vector<char> value(static_cast<size_t>(size), 'x');
    for (long i = 0; i < records; ++i) {
      while (rd_kafka_produce(topic_, target, RD_KAFKA_MSG_F_COPY,
                              const_cast<char*>(value.data()), value.size(), nullptr, 0,
                              nullptr) != 0) {
        if (rd_kafka_last_error() != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
          die(std::string("produce: ") + rd_kafka_err2str(rd_kafka_last_error()));
        }
        rd_kafka_poll(client_, 1);  // local queue full: let librdkafka drain a little
      }
      if ((i & 1023) == 0) rd_kafka_poll(client_, 0);
    }
    const bool drained = rd_kafka_flush(client_, 300000) == RD_KAFKA_RESP_ERR_NO_ERROR;
    if (!drained || failed_deliveries > 0) {
      die(std::to_string(rd_kafka_outq_len(client_)) + " records unsent, " +
          std::to_string(failed_deliveries) + " failed (" + first_failure + ")");
    }
  }

 private:
  rd_kafka_t* client_ = nullptr;
  rd_kafka_topic_t* topic_ = nullptr;
};

int produce(const std::string& bootstrap, const std::string& topic_name, long records, int size,
            const std::string& acks, int partition) {
  Producer producer(bootstrap, acks);
  producer.send(topic_name, 1, size, partition);  // metadata and connection before the clock
  const double cpu_start = process_cpu_seconds();
  const auto start = Clock::now();
  producer.send(topic_name, records, size, partition);
  const double elapsed = seconds_since(start);
  print_result(records, elapsed, static_cast<double>(records) * size,
               process_cpu_seconds() - cpu_start);
  return 0;
}

// Reads `records` records from the start of every partition (assigned, no group membership).
// No mock here: librdkafka's mock keeps only the last 5 MB of a partition.
int consume(const std::string& bootstrap, const std::string& topic_name, long records) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  // librdkafka stops fetching while its local queue holds queued.min.messages; keep that well
  // above what one fetch returns so the fetcher never idles.
  set_all(conf, {{"bootstrap.servers", bootstrap},
                 {"group.id", "rdkafka-loadgen"},
                 {"enable.auto.commit", "false"},
                 {"enable.partition.eof", "false"},
                 {"queued.min.messages", "1000000"},
                 {"log_level", "3"}});
  rd_kafka_t* consumer = make_client(RD_KAFKA_CONSUMER, conf);

  const rd_kafka_metadata_t* metadata = nullptr;
  rd_kafka_topic_t* topic = rd_kafka_topic_new(consumer, topic_name.c_str(), nullptr);
  if (rd_kafka_metadata(consumer, 0, topic, &metadata, 10000) != RD_KAFKA_RESP_ERR_NO_ERROR ||
      metadata->topic_cnt != 1 || metadata->topics[0].partition_cnt == 0) {
    die("no metadata for " + topic_name);
  }
  rd_kafka_topic_partition_list_t* partitions = rd_kafka_topic_partition_list_new(1);
  for (int i = 0; i < metadata->topics[0].partition_cnt; ++i) {
    rd_kafka_topic_partition_list_add(partitions, topic_name.c_str(),
                                      metadata->topics[0].partitions[i].id)
        ->offset = RD_KAFKA_OFFSET_BEGINNING;
  }
  rd_kafka_metadata_destroy(metadata);
  rd_kafka_topic_destroy(topic);
  if (rd_kafka_assign(consumer, partitions) != RD_KAFKA_RESP_ERR_NO_ERROR) die("assign failed");
  rd_kafka_topic_partition_list_destroy(partitions);

  // Batches of up to 10,000 messages, as confluent-kafka's consume() takes them: the clock is
  // read once per batch, not per record.
  rd_kafka_queue_t* queue = rd_kafka_queue_get_consumer(consumer);
  std::vector<rd_kafka_message_t*> batch(10000);
  long got = 0;
  double bytes = 0;
  const double cpu_start = process_cpu_seconds();
  double cpu = 0;
  const auto start = Clock::now();
  auto last = start;
  while (got < records) {
    const ssize_t n = rd_kafka_consume_batch_queue(queue, 500, batch.data(), batch.size());
    if (n < 0) die(std::string("consume: ") + rd_kafka_err2str(rd_kafka_last_error()));
    if (n == 0) {
      if (std::chrono::duration<double>(Clock::now() - last).count() > 10) break;
      continue;
    }
    for (ssize_t i = 0; i < n; ++i) {
      if (batch[i]->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        ++got;
        bytes += static_cast<double>(batch[i]->len);
      }
      rd_kafka_message_destroy(batch[i]);
    }
    last = Clock::now();
    if (got >= records) cpu = process_cpu_seconds() - cpu_start;
  }
  rd_kafka_queue_destroy(queue);
  const double elapsed = std::chrono::duration<double>(last - start).count();
  rd_kafka_consumer_close(consumer);
  rd_kafka_destroy(consumer);
  if (got < records) die("consumed " + std::to_string(got) + " of " + std::to_string(records));
  print_result(got, elapsed, bytes, cpu);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() == 7 && args[0] == "produce") {
    return produce(args[1], args[2], std::stol(args[3]), std::stoi(args[4]), args[5],
                   std::stoi(args[6]));
  }
  if (args.size() == 4 && args[0] == "consume") {
    return consume(args[1], args[2], std::stol(args[3]));
  }
  std::fprintf(stderr,
               "usage: rdkafka_loadgen produce BOOTSTRAP|mock TOPIC RECORDS SIZE ACKS PARTITION\n"
               "       rdkafka_loadgen consume BOOTSTRAP TOPIC RECORDS\n");
  return 2;
}
