import os
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
