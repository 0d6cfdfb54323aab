# Thin wrappers over scripts/. Every target that needs the tree set up runs scripts/bootstrap
# first; it is idempotent and fast when nothing changed.
SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := build

PYTHON := .venv/bin/python
JOBS ?= 2
CTEST := ctest --output-on-failure --no-tests=error -j$(JOBS)
# Sanitizer and benchmark trees: C++ only.
CMAKE_CPP_ONLY := -G Ninja -DKAFKACORE_BUILD_PYTHON=OFF -DKAFKACORE_BUILD_BENCH=OFF

.PHONY: bootstrap build test test-kafka test-asan test-tsan bench bench-full fuzz run fmt clean

bootstrap:
	scripts/bootstrap

build: bootstrap

# C++ tests and Python tests both run; the target fails if either failed (pytest's exit code 5,
# "no tests collected", is a failure too). The Python suites mostly wait on sockets and timers,
# so three xdist workers on two cores halve their time (each worker gets its own clusters).
PYTEST_WORKERS ?= 3
test: bootstrap
	status=0; \
	$(CTEST) --test-dir build/py || status=1; \
	$(PYTHON) -m pytest -n $(PYTEST_WORKERS) || status=1; \
	FUZZ_RUNS=$(FUZZ_SMOKE_RUNS) scripts/fuzz || status=1; \
	exit $$status

# The native client's suites against Apache Kafka (fetched from Maven Central), not pykafkacore:
# "works against Kafka" is tested, not assumed. Needs Java 17+.
test-kafka: bootstrap
	scripts/test-against-kafka

# Bounded, deterministic fuzzing inside `make test` (fixed seed and input count); `make fuzz`
# runs each target for minutes with a random seed.
FUZZ_SMOKE_RUNS ?= 200000
fuzz:
	scripts/bootstrap --system-only
	scripts/fuzz $${FUZZ_SECONDS:-600}

test-asan:
	scripts/bootstrap --system-only
	cmake -S . -B build/asan $(CMAKE_CPP_ONLY) -DKAFKACORE_SANITIZE=address -DCMAKE_BUILD_TYPE=Debug
	cmake --build build/asan -j$(JOBS)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  $(CTEST) --test-dir build/asan

test-tsan:
	scripts/bootstrap --system-only
	cmake -S . -B build/tsan $(CMAKE_CPP_ONLY) -DKAFKACORE_SANITIZE=thread -DCMAKE_BUILD_TYPE=Debug
	cmake --build build/tsan -j$(JOBS)
	TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 $(CTEST) --test-dir build/tsan

# Storage micro-benchmarks, then pykafkacore side by side with Apache Kafka (fetched once by Maven
# into build/kafka-lib) and librdkafka's mock broker, then the Python clients against
# confluent-kafka's: `bench` is the short profile (< 10 min), `bench-full` the full one. Tables
# on stdout; every run in build/bench/results/{compare,clients,streams}-*.json.
bench bench-full: bootstrap
	cmake -S . -B build/bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DKAFKACORE_BUILD_BENCH=ON \
	  -DKAFKACORE_BUILD_TESTS=OFF -DKAFKACORE_BUILD_PYTHON=OFF
	cmake --build build/bench -j$(JOBS)
	scripts/bench build/bench
	$(PYTHON) bench/kafka_peer.py fetch
	$(PYTHON) bench/compare.py --profile $(if $(filter bench-full,$@),full,short) \
	  --server build/bench/cpp/tools/kafkacore-server \
	  --out build/bench/results/compare-$(if $(filter bench-full,$@),full,short).json
	$(PYTHON) bench/plot.py build/bench/results/compare-$(if $(filter bench-full,$@),full,short).json
	$(PYTHON) bench/client_throughput.py $(if $(filter bench-full,$@),--records 1000000 --runs 5,--records 300000 --runs 5) \
	  --out build/bench/results/clients-$(if $(filter bench-full,$@),full,short).json
	$(PYTHON) bench/streams_throughput.py $(if $(filter bench-full,$@),--records 300000 --runs 3,--records 100000 --runs 2) \
	  --out build/bench/results/streams-$(if $(filter bench-full,$@),full,short).json

# One broker on 127.0.0.1:9092 with its data in ./data, in the foreground until Ctrl-C
# (`pykafkacore serve --brokers 3` for a 3-broker cluster).
run: bootstrap
	.venv/bin/pykafkacore serve --data-dir data

fmt:
	if clang_format=$$(command -v clang-format || command -v clang-format-14); then \
	  find cpp tests python/bindings \( -name '*.h' -o -name '*.cc' \) -print0 \
	    | xargs -0 -r "$$clang_format" -i; \
	else \
	  echo "make fmt: clang-format is not installed (apt-get install clang-format)" >&2; \
	fi

clean:
	rm -rf build .pytest_cache
