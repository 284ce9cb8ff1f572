"""Static checks: every notebook is valid, output-free, has exactly one `parameters` cell and passes ruff."""

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("**/*.ipynb"))
# the design fixes these names; the runner's list (mcpft_lib.report.runner.NOTEBOOKS) must match them
NUMBERED = [
    "00_gpu_check",
    "01_data_exploration",
    "02_training",
    "03_merging",
    "04_evaluation",
    "05_documentation",
]


def test_all_six_numbered_notebooks_exist():
    from mcpft_lib.report.runner import NOTEBOOKS as RUNNER_ORDER

    assert (
        [p.stem for p in sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))] == NUMBERED == list(RUNNER_ORDER)
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_valid_and_output_free(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    for c in nb.cells:
        if c.cell_type == "code":
            assert not c.outputs and c.execution_count is None, f"{path.name}: committed outputs"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_one_parameters_cell_with_typed_commented_values(path):
    nb = nbformat.read(path, as_version=4)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, f"{path.name}: {len(tagged)} parameters cells"
    for line in tagged[0].source.splitlines():
        if line.strip():
            assert ":" in line.split("=")[0] and "#" in line, (
                f"{path.name}: parameter not typed+commented: {line}"
            )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_title_and_purpose(path):
    first = nbformat.read(path, as_version=4).cells[0]
    assert first.cell_type == "markdown" and first.source.startswith("# ") and "\n> " in first.source


def test_ruff_clean():
    r = subprocess.run(
        [sys.executable, "-m", "ruff", "check", *map(str, NOTEBOOKS)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert r.returncode == 0, r.stdout + r.stderr
