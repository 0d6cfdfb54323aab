// Storage micro-benchmarks. Each log benchmark has a physical-ceiling twin doing the same bytes
// with plain syscalls on the same disk, so the report can state a ratio measured in one run.
// Scratch files go to $KAFKACORE_BENCH_DIR (default: the system temp dir).
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>

#include "record/batch_builder.h"
#include "storage/partition_log.h"

namespace kafkacore::storage {
namespace {

constexpr size_t kRecordBytes = 100;
constexpr size_t kBatchTarget = 16 * 1024;
constexpr int64_t kBytesPerRun = 256ll << 20;

std::filesystem::path scratch_dir(const char* name) {
  const char* env = std::getenv("KAFKACORE_BENCH_DIR");
  std::filesystem::path base = env ? env : std::filesystem::temp_directory_path();
  auto dir = base / (std::string("kafkacore-bench-") + name + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

// One ~16 KiB batch of 100-byte records with distinct-ish content.
Bytes make_batch() {
  record::BatchBuilder builder;
  std::mt19937_64 rng(42);
  std::string value(kRecordBytes, 'x');
  while (builder.estimated_size() + kRecordBytes + 16 < kBatchTarget) {
    for (auto& c : value) c = static_cast<char>('a' + rng() % 26);
    builder.append(1'700'000'000'000, std::nullopt, as_bytes(value));
  }
  return std::move(*builder.build());
}

void BM_PlainWriteCeiling(benchmark::State& state) {
  const Bytes batch = make_batch();
  for (auto _ : state) {
    state.PauseTiming();
    auto dir = scratch_dir("plain");
    int fd = ::open((dir / "data").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    state.ResumeTiming();
    for (int64_t written = 0; written < kBytesPerRun; written += static_cast<int64_t>(batch.size())) {
      if (::write(fd, batch.data(), batch.size()) != static_cast<ssize_t>(batch.size())) {
        state.SkipWithError("write failed");
        break;
      }
    }
    state.PauseTiming();
    ::close(fd);
    std::filesystem::remove_all(dir);
    state.ResumeTiming();
  }
  state.SetBytesProcessed(state.iterations() * (kBytesPerRun / static_cast<int64_t>(batch.size())) *
                          static_cast<int64_t>(batch.size()));
}

void BM_LogAppend(benchmark::State& state) {
  const Bytes batch = make_batch();
  Bytes scratch = batch;
  LogConfig config;  // Kafka defaults: 1 GiB segments, no fsync per append
  for (auto _ : state) {
    state.PauseTiming();
    auto dir = scratch_dir("append");
    auto log = std::move(*PartitionLog::open(dir / "bench-0", config, {}, true));
    state.ResumeTiming();
    for (int64_t written = 0; written < kBytesPerRun; written += static_cast<int64_t>(batch.size())) {
      // The network layer hands the log a fresh buffer per request; so does this copy.
      std::memcpy(scratch.data(), batch.data(), batch.size());
      auto r = log->append(scratch);
      if (!r) {
        state.SkipWithError(r.error().message().c_str());
        break;
      }
    }
    state.PauseTiming();
    log.reset();
    std::filesystem::remove_all(dir);
    state.ResumeTiming();
  }
  state.SetBytesProcessed(state.iterations() * (kBytesPerRun / static_cast<int64_t>(batch.size())) *
                          static_cast<int64_t>(batch.size()));
}

// A filled log shared by the read benchmarks.
struct FilledLog {
  std::filesystem::path dir;
  std::unique_ptr<PartitionLog> log;
  int64_t batches = 0;
  FilledLog() {
    dir = scratch_dir("read");
    LogConfig config;
    config.segment_bytes = 64 << 20;
    log = std::move(*PartitionLog::open(dir / "bench-0", config, {}, true));
    const Bytes batch = make_batch();
    Bytes scratch = batch;
    for (int64_t written = 0; written < kBytesPerRun; written += static_cast<int64_t>(batch.size())) {
      std::memcpy(scratch.data(), batch.data(), batch.size());
      (void)log->append(scratch);
      ++batches;
    }
  }
  ~FilledLog() {
    log.reset();
    std::filesystem::remove_all(dir);
  }
  static FilledLog& instance() {
    static FilledLog filled;
    return filled;
  }
};

void BM_PlainReadCeiling(benchmark::State& state) {
  auto& filled = FilledLog::instance();
  Bytes buffer(1 << 20);
  uint64_t total = 0;
  for (auto _ : state) {
    for (const auto& entry : std::filesystem::directory_iterator(filled.dir / "bench-0")) {
      if (entry.path().extension() != ".log") continue;
      int fd = ::open(entry.path().c_str(), O_RDONLY);
      ssize_t n;
      off_t pos = 0;
      while ((n = ::pread(fd, buffer.data(), buffer.size(), pos)) > 0) {
        pos += n;
        total += static_cast<uint64_t>(n);
      }
      ::close(fd);
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(total));
}

void BM_LogSequentialRead(benchmark::State& state) {
  auto& filled = FilledLog::instance();
  Bytes buffer(1 << 20);
  uint64_t total = 0;
  for (auto _ : state) {
    Offset next = filled.log->log_start_offset();
    while (next < filled.log->log_end_offset()) {
      auto r = filled.log->read(next, buffer.size());
      if (!r || r->batches.empty()) {
        state.SkipWithError("read failed");
        return;
      }
      // What the network layer would sendfile(), read into user space here instead.
      size_t at = 0;
      for (const auto& s : r->slices) {
        if (!s.file->pread_exact(MutableByteView(buffer).subspan(at, s.size), static_cast<off_t>(s.position))) {
          state.SkipWithError("pread failed");
          return;
        }
        at += s.size;
      }
      total += r->total_bytes;
      next = Offset{r->batches.back().last_offset.value() + 1};
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(total));
}

void BM_IndexLookup(benchmark::State& state) {
  auto& filled = FilledLog::instance();
  std::mt19937_64 rng(7);
  const int64_t end = filled.log->log_end_offset().value();
  for (auto _ : state) {
    auto r = filled.log->read(Offset{static_cast<int64_t>(rng() % static_cast<uint64_t>(end))}, 1);
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK(BM_PlainWriteCeiling)->Unit(benchmark::kMillisecond)->Iterations(1)->Repetitions(5);
BENCHMARK(BM_LogAppend)->Unit(benchmark::kMillisecond)->Iterations(1)->Repetitions(5);
BENCHMARK(BM_PlainReadCeiling)->Unit(benchmark::kMillisecond)->Repetitions(5);
BENCHMARK(BM_LogSequentialRead)->Unit(benchmark::kMillisecond)->Repetitions(5);
BENCHMARK(BM_IndexLookup)->Unit(benchmark::kMicrosecond)->Repetitions(5);

}  // namespace
}  // namespace kafkacore::storage

BENCHMARK_MAIN();
