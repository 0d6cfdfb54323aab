// Soak runs of the Raft simulator, outside ctest:
//   raft_sim --seeds 10000 [--first N] [--nodes 3|5] [--observers K] [--events E] [--trace]
// Exits 1 on the first failing seed (printing how to replay it), 2 if some counter stayed at 0.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>

#include "raft/simulator.h"

using namespace kafkacore::raft::sim;

namespace {

[[noreturn]] void usage() {
  std::fprintf(stderr,
               "usage: raft_sim [--seeds COUNT] [--first SEED] [--nodes 3|5] [--observers K] "
               "[--events E] [--trace]\n"
               "  --seeds   how many seeds to run (default 1000)\n"
               "  --first   first seed (default 1)\n"
               "  --nodes   force the cluster size (default: the seed picks 3 or 5)\n"
               "  --observers  add K non-voting followers (default 0)\n"
               "  --events  events of the faulty phase per run (default 15000)\n"
               "  --trace   print every event (meant for replaying one seed)\n");
  std::exit(64);
}

long long number(int& i, int argc, char** argv) {
  if (i + 1 >= argc) usage();
  char* end = nullptr;
  const long long v = std::strtoll(argv[++i], &end, 10);
  if (*end != '\0' || v < 0) usage();
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t seeds = 1000;
  uint64_t first = 1;
  std::optional<int> nodes;
  std::optional<int> events;
  bool trace = false;
  int observers = 0;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--seeds")) {
      seeds = static_cast<uint64_t>(number(i, argc, argv));
    } else if (!std::strcmp(argv[i], "--first")) {
      first = static_cast<uint64_t>(number(i, argc, argv));
    } else if (!std::strcmp(argv[i], "--nodes")) {
      nodes = static_cast<int>(number(i, argc, argv));
      if (*nodes < 1 || *nodes > 9) usage();
    } else if (!std::strcmp(argv[i], "--observers")) {
      observers = static_cast<int>(number(i, argc, argv));
      if (observers > 9) usage();
    } else if (!std::strcmp(argv[i], "--events")) {
      events = static_cast<int>(number(i, argc, argv));
    } else if (!std::strcmp(argv[i], "--trace")) {
      trace = true;
    } else {
      usage();
    }
  }

  const auto start = std::chrono::steady_clock::now();
  Counters total;
  double worst_calm = 0;  // share of the liveness bound the slowest recovery used
  uint64_t worst_calm_seed = 0;
  for (uint64_t k = 0; k < seeds; ++k) {
    const uint64_t seed = first + k;
    if (trace || seeds == 1) {
      std::printf("%s\n", Options::from_seed(seed, nodes, events).describe().c_str());
      std::fflush(stdout);
    }
    const RunResult r = run_seed(seed, nodes, events, trace, observers);
    if (!r.ok) {
      std::printf("FAILED after %llu passing seeds\n%s", static_cast<unsigned long long>(k),
                  r.failure.c_str());
      return 1;
    }
    total.add(r.counters);
    const double calm = static_cast<double>(r.calm_ticks_used) / r.calm_ticks;
    if (calm > worst_calm) {
      worst_calm = calm;
      worst_calm_seed = seed;
    }
    if ((k + 1) % 1000 == 0) {
      std::printf("%llu seeds ok (up to %llu)\n", static_cast<unsigned long long>(k + 1),
                  static_cast<unsigned long long>(seed));
      std::fflush(stdout);
    }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%llu seeds (%llu..%llu) passed in %.1f s\n%s",
              static_cast<unsigned long long>(seeds), static_cast<unsigned long long>(first),
              static_cast<unsigned long long>(first + seeds - 1), seconds,
              total.describe().c_str());
  std::printf("slowest recovery after faults: %.0f%% of the liveness bound (seed %llu)\n",
              100 * worst_calm, static_cast<unsigned long long>(worst_calm_seed));
  // Single seeds often lack some fault kind by design; over many, none may be missing.
  int missing = 0;
  for (size_t i = 0; seeds >= 100 && i < total.values.size(); ++i) {
    if (total.values[i] == 0) {
      std::printf("never generated: %s\n", counter_name(static_cast<Counter>(i)));
      ++missing;
    }
  }
  return missing ? 2 : 0;
}
