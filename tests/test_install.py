"""The install the README gives is the one CI runs and the one `just setup` runs, and it brings what the
recipes need: the `lab` extra provides JupyterLab, so `just lab` starts after the quickstart's install."""

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
# `pip install [-q] -e ".[dev,lab]"` (also `-e .[dev,lab]`): the extras it names
INSTALL = re.compile(r"pip install (?:-q )?-e \"?\.\[([^\]]*)\]\"?")


def _extras(text: str, where: str) -> set[str]:
    found = {frozenset(e.strip() for e in m.group(1).split(",")) for m in INSTALL.finditer(text)}
    assert len(found) == 1, f"{where}: expected one project install with extras, found {found or 'none'}"
    return set(found.pop())


def readme_extras() -> set[str]:
    """The extras of the README quickstart's install command (its first code block)."""
    readme = (ROOT / "README.md").read_text()
    quickstart = readme.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    first_block = quickstart.split("```bash", 1)[1].split("```", 1)[0]
    return _extras(first_block, "README quickstart")


def test_extras_pattern_reads_install_lines():
    line = 'python3 -m venv .venv && .venv/bin/pip install -e ".[dev,lab]" && .venv/bin/mcpft run x'
    assert _extras(line, "a") == {"dev", "lab"}
    assert _extras('.venv/bin/pip install -q -e ".[dev]"', "b") == {"dev"}
    with pytest.raises(AssertionError, match="found none"):
        _extras("pip install mcpft", "c")
    with pytest.raises(AssertionError, match="expected one"):
        _extras('pip install -e ".[dev]"\npip install -e ".[dev,lab]"', "d")


def test_ci_and_just_setup_install_the_readme_way():
    """.ci/run installs "the README's way": the quickstart's extras, no more, no fewer (and so does `just
    setup`); they include `lab`, which `just lab` needs."""
    readme = readme_extras()
    assert readme == _extras((ROOT / ".ci" / "run").read_text(), ".ci/run")
    setup = (ROOT / "justfile").read_text().split("\nsetup:", 1)[1].split("\n\n", 1)[0]
    assert readme == _extras(setup, "justfile setup")
    assert {"dev", "lab"} <= readme


def test_lab_extra_provides_jupyterlab():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = meta["optional-dependencies"]
    assert readme_extras() <= set(extras)  # every extra the README names exists
    lab = [Requirement(r) for r in extras["lab"]]
    assert any(r.name == "jupyterlab" for r in lab), extras["lab"]
    justfile = (ROOT / "justfile").read_text()
    assert "jupyter lab" in justfile.split("\nlab:", 1)[1].split("\n\n", 1)[0]  # what `just lab` runs


@pytest.mark.slow
def test_jupyter_lab_runs():
    """`just lab` runs `.venv/bin/jupyter lab`: after the README's install that command exists and starts."""
    jupyter = Path(sys.executable).parent / "jupyter"
    if not (Path(sys.executable).parent / "jupyter-lab").exists():
        if os.environ.get("CI"):
            pytest.fail("jupyter-lab is missing in CI (.ci/run installs the README's extras, lab among them)")
        pytest.skip('jupyter-lab is missing (pip install -e ".[dev,lab]", the README\'s install)')
    r = subprocess.run([str(jupyter), "lab", "--version"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert int(r.stdout.strip().split(".")[0]) >= 4, r.stdout
