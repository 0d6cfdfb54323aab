"""Every notebook in notebooks/ runs top to bottom without a cell error, on a kernel of this very
interpreter (so it imports the pykafkacore under test), and is committed without outputs."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytest.importorskip("matplotlib")

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))
KERNEL = "pykafkacore-test"


@pytest.fixture
def kernel_of_this_interpreter(tmp_path, monkeypatch):
    """A kernelspec naming sys.executable, found first through JUPYTER_PATH: a "python3" spec
    elsewhere on the machine (user or system Jupyter) could start another interpreter."""
    spec = tmp_path / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "pykafkacore tests",
        "language": "python",
    }))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path))
    # Plots render off-screen; without this ipykernel picks its inline backend.
    monkeypatch.setenv("MPLBACKEND", "Agg")
    return KERNEL


def test_notebooks_exist():
    assert {p.name for p in NOTEBOOKS} >= {"quickstart.ipynb", "consumer_groups.ipynb",
                                           "fault_tolerance.ipynb", "streams.ipynb"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_committed_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, (
                f"{path.name} cell {i} has outputs: strip them before committing "
                "(jupyter nbconvert --clear-output --inplace)")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path, kernel_of_this_interpreter):
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb, kernel_name=kernel_of_this_interpreter, timeout=120,
        resources={"metadata": {"path": str(path.parent)}})  # cwd: the notebook's directory
    start = time.monotonic()
    try:
        client.execute()
    except nbclient.exceptions.CellExecutionError as e:
        pytest.fail(f"{path.name}: {e}", pytrace=False)
    elapsed = time.monotonic() - start
    # The notebooks are meant to run in seconds; a generous bound still catches a hang-like
    # slowdown (a failover that never completes ends in a cell timeout instead).
    assert elapsed < 60, f"{path.name} took {elapsed:.1f} s"
