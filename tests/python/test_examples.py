"""The programs in examples/ run as a user would run them (a subprocess of this interpreter, on
their own cluster or on one given with --bootstrap-servers) and print what they claim."""

from __future__ import annotations

import ast
import collections
import contextlib
import fcntl
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


def run_example(name: str, *args: str, timeout: float = 60) -> str:
    proc = subprocess.run([sys.executable, str(EXAMPLES / name), *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert proc.returncode == 0, (
        f"{name} {' '.join(args)} exited with {proc.returncode}\n--- stdout\n{proc.stdout}"
        f"\n--- stderr\n{proc.stderr[-4000:]}")
    return proc.stdout


def test_every_example_is_tested():
    tested = {"produce_consume.py", "consumer_group.py", "admin_topics.py", "kill_a_leader.py",
              "record_batches.py", "streams_word_count.py", "streams_click_windows.py",
              "streams_enrichment_join.py", "streams_sessions.py"}
    assert {p.name for p in EXAMPLES.glob("*.py")} == tested
    readme = (EXAMPLES / "README.md").read_text()
    for name in tested | {"cpp_embed/"}:
        assert f"`{name}`" in readme, f"examples/README.md does not list {name}"


def check_produce_consume(out: str) -> None:
    produced = re.findall(r"^produced order (\d+) of (\w+) to partition (\d+) at offset (\d+)$",
                          out, re.M)
    consumed = re.findall(r"^consumed partition (\d+) offset (\d+): key=(\w+) value=\{'order': "
                          r"(\d+), 'amount': (\d+)\} headers=\{'source': b'produce_consume.py'\}$",
                          out, re.M)
    assert len(produced) == 6 and len(consumed) == 6, out
    # What was consumed is what was produced, at the same partition and offset.
    assert ({(p, o, k, n) for n, k, p, o in produced}
            == {(p, o, k, n) for p, o, k, n, _ in consumed}), out
    # One customer, one partition.
    partitions: dict[str, set[str]] = {}
    for _, key, partition, _ in produced:
        partitions.setdefault(key, set()).add(partition)
    assert all(len(p) == 1 for p in partitions.values()), out
    assert "consumed 6 of 6 records" in out


def check_consumer_group(out: str) -> None:
    assert "three members join:" in out and "member-3 leaves:" in out, out
    before, after = out.split("member-3 leaves:")
    final = dict(re.findall(r"^(member-\d): partitions (\[[\d, ]*\])", after, re.M))
    # After member-3 left, the two others own all six partitions, three each.
    assert sorted(final) == ["member-1", "member-2"], out
    lists = [ast.literal_eval(ps) for ps in final.values()]  # "[0, 2, 4]"
    assert sorted(p for ps in lists for p in ps) == [0, 1, 2, 3, 4, 5], out
    assert all(len(ps) == 3 for ps in lists), out
    # Cooperative: the members staying revoke nothing when member-3 leaves.
    assert not re.search(r"member-[12] revoked", after.split("group ")[0]), out
    assert re.search(r"committed offsets on 6 partitions, total lag 0$", out, re.M), out
    assert re.search(r"^processed (\d+) records for 900 produced", out, re.M), out


def check_admin_topics(out: str) -> None:
    for pattern in [r"^cluster \S+: controller \d+, brokers \[",
                    r"^created events-\w+ and audit-\w+$",
                    r"^creating events-\w+ again fails: TopicAlreadyExistsError$",
                    r"^audit-\w+ overrides: \{'cleanup.policy': 'compact', "
                    r"'min.insync.replicas': '1'\}$",
                    r"^events-\w+ retention.ms = 3600000 \(DYNAMIC_TOPIC_CONFIG\)$",
                    r"^events-\w+ now has 6 partitions$",
                    r"^deleted both topics$"]:
        assert re.search(pattern, out, re.M), f"no line like {pattern!r} in\n{out}"
    assert len(re.findall(r"^  partition \d+: leader \d+", out, re.M)) == 4, out


def test_produce_consume():
    check_produce_consume(run_example("produce_consume.py"))


def test_consumer_group():
    check_consumer_group(run_example("consumer_group.py"))


def test_admin_topics():
    out = run_example("admin_topics.py")
    check_admin_topics(out)
    assert "replication factor 3" in out  # its own cluster has three brokers


def test_kill_a_leader():
    out = run_example("kill_a_leader.py")
    assert re.search(r"^killed broker (\d), the partition's leader$", out, re.M), out
    assert re.search(r"^500 more records acknowledged [\d.]+ s after the kill; broker \d leads",
                     out, re.M), out
    assert "read back all 1000 acknowledged records, in order, none duplicated" in out


def test_kill_a_leader_processes():
    """The same with one kafkacore-server process per broker: kill is a real SIGKILL."""
    pytest.importorskip("confluent_kafka")  # process mode's topic admin uses it for now
    out = run_example("kill_a_leader.py", "--mode", "process")
    assert out.startswith("process cluster of 3 brokers"), out
    assert "read back all 1000 acknowledged records, in order, none duplicated" in out


def test_record_batches():
    out = run_example("record_batches.py")
    assert "built one batch of 3 records" in out
    assert "a truncated batch is rejected" in out


def check_streams_word_count(out: str) -> None:
    assert re.search(r"^the: 4$", out, re.M) and re.search(r"^dog: 3$", out, re.M), out
    assert "22 updates for 22 words; counts match" in out, out
    assert "-repartition)" in out  # the printed topology groups through a repartition topic


def check_streams_click_windows(out: str) -> None:
    windows = re.findall(r"^(\w+) +\d\d:\d\d:00-\d\d:\d\d:00  (\d+) clicks$", out, re.M)
    assert sorted(windows) == [("alice", "1"), ("alice", "3"), ("bob", "1"), ("bob", "1"),
                               ("carol", "1")], out
    assert "late clicks dropped: 1" in out and "final counts match" in out, out


def check_streams_enrichment_join(out: str) -> None:
    assert "customer c2 in the app's store: {'name': 'Grace', 'tier': 'silver'}" in out, out
    assert re.search(r"^order 3 of c9: .*'customer': None", out, re.M), out  # a left join
    assert "5 orders enriched; all as expected" in out, out


def check_streams_sessions(out: str) -> None:
    assert re.search(r"^ana: session \S+, 5 views", out, re.M), out  # merged into one
    assert len(re.findall(r"^ben: session", out, re.M)) == 3, out
    assert "4 sessions; as expected" in out, out


def test_streams_word_count():
    check_streams_word_count(run_example("streams_word_count.py"))


def test_streams_click_windows():
    check_streams_click_windows(run_example("streams_click_windows.py"))


def test_streams_enrichment_join():
    check_streams_enrichment_join(run_example("streams_enrichment_join.py"))


def test_streams_sessions():
    check_streams_sessions(run_example("streams_sessions.py"))


@pytest.mark.kafka_cluster(brokers=3)
def test_examples_on_a_running_cluster(kafka_cluster):
    """--bootstrap-servers: the examples work against a cluster they did not start, and leave
    no topic behind."""
    bootstrap = ("--bootstrap-servers", kafka_cluster.bootstrap_servers)
    check_produce_consume(run_example("produce_consume.py", *bootstrap))
    check_consumer_group(run_example("consumer_group.py", *bootstrap))
    check_admin_topics(run_example("admin_topics.py", *bootstrap))
    check_streams_word_count(run_example("streams_word_count.py", *bootstrap))
    check_streams_click_windows(run_example("streams_click_windows.py", *bootstrap))
    check_streams_enrichment_join(run_example("streams_enrichment_join.py", *bootstrap))
    check_streams_sessions(run_example("streams_sessions.py", *bootstrap))
    assert kafka_cluster.topics() == {}


# ------------------------------------------------------------------------------------------------
# examples/cpp_embed: the C++ package, installed and used through find_package(kafkacore)

CORE_TREE_ENV = "KAFKACORE_BUILD_DIR"
EMBED_OUTPUT = re.compile(
    r"^kafkacore 0\.1\.0: broker listening on 127\.0\.0\.1:\d+\n"
    r"produced en to partition 0 at offset 0\n"
    r"produced fr to partition 0 at offset 1\n"
    r"produced de to partition 0 at offset 2\n"
    r"consumed offset 0: en=hello\n"
    r"consumed offset 1: fr=bonjour\n"
    r"consumed offset 2: de=hallo\n"
    r"stopped\n\Z")


def run(*cmd: object, timeout: float = 600, **kwargs) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True,
                          timeout=timeout, **kwargs)
    assert proc.returncode == 0, (f"{' '.join(map(str, cmd))} exited with {proc.returncode}\n"
                                  f"--- stdout\n{proc.stdout[-6000:]}\n--- stderr\n"
                                  f"{proc.stderr[-6000:]}")
    return proc


def core_tree() -> Path:
    """The already built tree to install the package from: $KAFKACORE_BUILD_DIR, else build/py
    (scripts/bootstrap's, built before `make test` runs pytest), so the core is not compiled a
    second time."""
    tree = Path(os.environ.get(CORE_TREE_ENV) or ROOT / "build" / "py")
    if not (tree / "CMakeCache.txt").is_file():
        pytest.skip(f"no configured build tree at {tree} (run scripts/bootstrap, or set "
                    f"{CORE_TREE_ENV})")
    if "kafkacore-dev" not in (tree / "cmake_install.cmake").read_text():
        pytest.skip(f"{tree} was configured before the kafkacore-dev install component existed "
                    "(run scripts/bootstrap to reconfigure it)")
    if not list(tree.glob("cpp/src/broker/libkafkacore_broker.*")):
        pytest.skip(f"{tree} has not built the core libraries yet")
    return tree


@contextlib.contextmanager
def tree_lock(tree: Path):
    """Serialises tests that read or rebuild one build tree (test_install.py builds a wheel in
    it) across pytest-xdist workers."""
    with open(tree / ".pykafkacore-tests.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def build_and_run_embed(prefix: Path, work: Path) -> None:
    # Ninja when present, as the rest of the project builds with it.
    generator = ["-G", "Ninja"] if shutil.which("ninja") else []
    run("cmake", "-S", EXAMPLES / "cpp_embed", "-B", work / "embed", *generator,
        f"-DCMAKE_PREFIX_PATH={prefix}")
    run("cmake", "--build", work / "embed", "-j2")
    out = run(work / "embed" / "kafkacore_embed", timeout=60, cwd=work).stdout
    assert EMBED_OUTPUT.match(out), out
    # The Streams DSL from C++: word counts of three lines, computed here independently.
    out = run(work / "embed" / "kafkacore_streams_word_count", timeout=60, cwd=work).stdout
    words = collections.Counter("the quick fox the lazy dog the end".split())
    assert out == "".join(f"{w} {n}\n" for w, n in sorted(words.items())), out


def check_installed_layout(prefix: Path) -> None:
    for path in ["include/kafkacore/kafkacore.h", "include/kafkacore/version.h",
                 "include/kafkacore/internal/broker/local_cluster.h",
                 "include/kafkacore/internal/client/producer.h",
                 "include/kafkacore/internal/protocol/messages.h",  # generated
                 "lib/cmake/kafkacore/kafkacoreConfig.cmake",
                 "lib/cmake/kafkacore/kafkacoreConfigVersion.cmake",
                 "lib/cmake/kafkacore/kafkacoreTargets.cmake",
                 "lib/libkafkacore_broker.a", "lib/libkafkacore_client.a"]:
        assert (prefix / path).is_file(), f"{path} is not installed"
    # Only the C++ package: not the Python module, the tests or the protocol generator.
    assert not list(prefix.rglob("*.py")) and not list(prefix.rglob("_core*.so"))
    assert not (prefix / "include/kafkacore/internal/protocol/gen").exists()
    # Relocatable: nothing points back into the source or build tree.
    for config in (prefix / "lib/cmake/kafkacore").glob("*.cmake"):
        assert str(ROOT) not in config.read_text(), f"{config.name} names {ROOT}"


def test_cpp_embed(tmp_path):
    """Installs the kafkacore-dev component of the existing build tree (no compilation), moves
    the prefix elsewhere (the package must be relocatable), builds examples/cpp_embed against it
    with find_package(kafkacore) and runs it."""
    tree = core_tree()
    with tree_lock(tree):
        run("cmake", "--install", tree, "--component", "kafkacore-dev",
            "--prefix", tmp_path / "staged")
    prefix = tmp_path / "moved"
    (tmp_path / "staged").rename(prefix)
    check_installed_layout(prefix)
    build_and_run_embed(prefix, tmp_path)


@pytest.mark.slow
def test_cpp_embed_from_a_cpp_only_build(tmp_path):
    """From scratch, as an embedder would: configure and build the core alone (no Python, no
    tests), `cmake --install` it with the default component, then build and run the example.
    Compiles the whole core (minutes on 2 cores), hence slow."""
    build = tmp_path / "core"
    generator = ["-G", "Ninja"] if shutil.which("ninja") else []
    run("cmake", "-S", ROOT, "-B", build, *generator, "-DKAFKACORE_BUILD_TESTS=OFF",
        "-DKAFKACORE_BUILD_PYTHON=OFF", "-DKAFKACORE_BUILD_BENCH=OFF")
    run("cmake", "--build", build, "-j2", timeout=3600)
    run("cmake", "--install", build, "--prefix", tmp_path / "prefix")
    check_installed_layout(tmp_path / "prefix")
    assert (tmp_path / "prefix/bin/kafkacore-server").is_file()  # the default install has it
    build_and_run_embed(tmp_path / "prefix", tmp_path)
