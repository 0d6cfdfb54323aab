"""pykafkacore installed the way a user installs it: a wheel built from the source tree, in a
fresh virtual environment, used from outside the source tree.

The wheel is built by the project's own interpreter (.venv, which has the build requirements)
in the existing build tree, build/py, with that tree's own settings, so only what changed since
scripts/bootstrap is compiled (usually nothing) and the tree keeps the Python and pybind11 paths
bootstrap configured. (Building from the fresh venv would point build/py's cache at that venv's
interpreter, which is deleted after the test.) The editable install in .venv does not use the
build tree at run time, and the test checks it still works afterwards.

The fresh venv then installs the wheel with no index and no build step, and imports, starts a
broker and round-trips a record there. `test_isolated_build_from_scratch` (slow) does what
`pip install .` does on a clean machine: build isolation, build requirements from PyPI, a new
build directory (the whole core is compiled).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TREE_ENV = "KAFKACORE_PY_BUILD_DIR"

# Runs inside the fresh venv, from a directory outside the source tree.
SMOKE = textwrap.dedent("""
    import sys
    from pathlib import Path

    import pykafkacore
    from pykafkacore import Cluster, Consumer, Producer

    location = Path(pykafkacore.__file__).resolve()
    assert Path(sys.prefix) in location.parents, location  # not the source tree
    print("pykafkacore", pykafkacore.__version__, "from", location.parent)

    with Cluster(brokers=1) as cluster:
        cluster.create_topic("installed")
        with Producer(cluster) as producer:
            meta = producer.send("installed", b"from a fresh venv", key=b"k").result(30)
        with Consumer(bootstrap_servers=cluster, auto_offset_reset="earliest") as consumer:
            consumer.assign([("installed", 0)])
            records = []
            while not records:
                records = consumer.poll(timeout=10)
    print(f"round trip: offset {meta.offset} -> {records[0].value.decode()}")
""")


def run(*cmd: object, timeout: float = 600, **kwargs) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True,
                          timeout=timeout, **kwargs)
    assert proc.returncode == 0, (f"{' '.join(map(str, cmd))} exited with {proc.returncode}\n"
                                  f"--- stdout\n{proc.stdout[-6000:]}\n--- stderr\n"
                                  f"{proc.stderr[-6000:]}")
    return proc


@contextlib.contextmanager
def tree_lock(tree: Path):
    """Serialises tests that read or rebuild one build tree (test_examples.py installs the C++
    package from it) across pytest-xdist workers."""
    with open(tree / ".pykafkacore-tests.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def tree_settings(tree: Path) -> list[str]:
    """-C options that keep the tree's own KAFKACORE_* settings (pyproject.toml's defaults would
    switch its tests off, and bootstrap back on: both rebuild), with the Python module on."""
    cache = (tree / "CMakeCache.txt").read_text()
    options = ["-Ccmake.define.KAFKACORE_BUILD_PYTHON=ON"]
    for name in ("KAFKACORE_BUILD_TESTS", "KAFKACORE_BUILD_BENCH"):
        found = re.search(rf"^{name}:BOOL=(\w+)$", cache, re.M)
        if found:
            options.append(f"-Ccmake.define.{name}={found.group(1)}")
    return options


def fresh_venv(path: Path) -> Path:
    # The base interpreter of this one (sys.executable may itself be a venv's).
    run(sys.executable, "-m", "venv", path)
    return path / "bin" / "python"


def check_fresh_venv(python: Path, workdir: Path) -> None:
    out = run(python, "-c", SMOKE, timeout=120, cwd=workdir).stdout
    assert re.search(r"^round trip: offset 0 -> from a fresh venv$", out, re.M), out
    # The console script of [project.scripts] is installed and runs.
    help_text = run(python.parent / "pykafkacore", "--help", cwd=workdir).stdout
    assert "serve" in help_text


def test_wheel_in_a_fresh_venv(tmp_path):
    tree = Path(os.environ.get(TREE_ENV) or ROOT / "build" / "py")
    if not (tree / "CMakeCache.txt").is_file():
        pytest.skip(f"no build tree at {tree} to reuse (run scripts/bootstrap, or set "
                    f"{TREE_ENV}); test_isolated_build_from_scratch builds from nothing")
    wheels = tmp_path / "wheels"
    with tree_lock(tree):
        run(sys.executable, "-m", "pip", "wheel", "--no-build-isolation", "--no-deps",
            "--disable-pip-version-check", "--wheel-dir", wheels, f"-Cbuild-dir={tree}",
            *tree_settings(tree),
            # The wheel's copy of _core without debug info: 3 MB instead of 70 (zipped in
            # seconds rather than ~15); the tree keeps its unstripped module.
            "-Cinstall.strip=true",
            ROOT, timeout=3600,
            # If something must be compiled: at most two jobs (ninja's default is cores + 2).
            env={**os.environ,
                 "CMAKE_BUILD_PARALLEL_LEVEL": os.environ.get("CMAKE_BUILD_PARALLEL_LEVEL", "2")})
    [wheel] = wheels.glob("pykafkacore-*.whl")

    python = fresh_venv(tmp_path / "venv")
    # No index, nothing built here. Its one runtime dependency, msgpack, is imported only
    # when a "msgpack" serde is used (not by this smoke test), hence --no-deps.
    run(python, "-m", "pip", "install", "--no-index", "--no-deps", "--disable-pip-version-check",
        wheel)
    listing = run(python, "-m", "pip", "show", "--files", "pykafkacore").stdout
    assert "pykafkacore/_core." in listing and "pykafkacore/testing/plugin.py" in listing
    assert "editable" not in run(python, "-m", "pip", "list").stdout.lower()
    check_fresh_venv(python, tmp_path)

    # The editable install this suite runs from is untouched.
    out = run(sys.executable, "-c", "import pykafkacore, pykafkacore._core; "
              "print(pykafkacore.__file__)", cwd=tmp_path).stdout
    assert Path(out.strip()).resolve().is_relative_to(ROOT / "python"), out


@pytest.mark.slow
def test_isolated_build_from_scratch(tmp_path):
    """`pip install .` into a fresh venv with build isolation: scikit-build-core and pybind11
    from PyPI, as [build-system] requires them, and a new build directory."""
    python = fresh_venv(tmp_path / "venv")
    run(python, "-m", "pip", "install", "--disable-pip-version-check",
        f"-Cbuild-dir={tmp_path / 'build'}", ROOT, timeout=3600,
        env={**os.environ,
             "CMAKE_BUILD_PARALLEL_LEVEL": os.environ.get("CMAKE_BUILD_PARALLEL_LEVEL", "2")})
    check_fresh_venv(python, tmp_path)
