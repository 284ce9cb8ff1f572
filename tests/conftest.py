import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


@pytest.fixture
def isolated_reports(tmp_path, monkeypatch):
    """Reports and artifacts of a test go to a temporary folder, never into the checkout's reports/."""
    monkeypatch.setenv("MCPFT_REPORTS", str(tmp_path / "reports"))
    monkeypatch.setenv("MCPFT_ARTIFACTS", str(tmp_path / "artifacts"))
    monkeypatch.delenv("MCPFT_RUN_DIR", raising=False)
    return tmp_path


def mcpft_env(tmp_path: Path) -> dict:
    env = dict(os.environ)
    env.update(MCPFT_REPORTS=str(tmp_path / "reports"), MCPFT_ARTIFACTS=str(tmp_path / "artifacts"))
    env.pop("MCPFT_RUN_DIR", None)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory):
    """One `mcpft run params/smoke.yaml` (all six notebooks, then the example notebooks) shared by every test
    that reads a finished run: (tmp folder, run folder)."""
    tmp = tmp_path_factory.mktemp("smoke")
    r = subprocess.run(
        [sys.executable, "-m", "mcpft_lib.cli", "run", str(ROOT / "params/smoke.yaml")],
        capture_output=True,
        text=True,
        env=mcpft_env(tmp),
        timeout=1200,
        cwd=ROOT,
    )
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
    (run_dir,) = (tmp / "reports").glob("*-smoke")
    return tmp, run_dir
