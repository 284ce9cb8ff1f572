import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from mcpft_lib import runs
from mcpft_lib.config import load_params
from mcpft_lib.core import system
from mcpft_lib.report import runner

from .conftest import mcpft_env

ROOT = Path(__file__).resolve().parent.parent


def test_run_id_and_folders_are_unique(isolated_reports):
    p = load_params(ROOT / "params" / "smoke.yaml")
    a, b = runs.create_run(p, "x"), runs.create_run(p, "x")
    assert a.report_dir != b.report_dir and a.artifact_dir != b.artifact_dir
    assert a.id.endswith("-smoke") and b.id.endswith(("-smoke", "-smoke-2"))
    info = a.info()
    assert info["status"] == "running" and info["params_hash"] == p.hash()
    assert set(system.TRACKED_PACKAGES) <= set(info["versions"])
    assert (a.report_dir / "params.yaml").read_text().startswith("# resolved params")


def test_same_second_gets_a_suffix(isolated_reports, monkeypatch):
    monkeypatch.setattr(runs, "new_run_id", lambda profile, git=None: f"20260101T000000Z-abc1234-{profile}")
    p = load_params(ROOT / "params" / "smoke.yaml")
    a, b = runs.create_run(p, "x"), runs.create_run(p, "x")
    assert (a.id, b.id) == ("20260101T000000Z-abc1234-smoke", "20260101T000000Z-abc1234-smoke-2")


def test_interactive_notebooks_share_one_run(isolated_reports):
    path = ROOT / "params" / "smoke.yaml"
    _, first = runs.attach("", str(path))
    import os

    os.environ.pop("MCPFT_RUN_DIR")  # a second JupyterLab kernel starts without it
    _, second = runs.attach("", str(path))
    assert first.report_dir == second.report_dir and first.info()["status"] == "interactive"
    os.environ.pop("MCPFT_RUN_DIR")
    _, other = runs.attach("", str(path), ["run.seed=5"])  # other params: another run
    os.environ.pop("MCPFT_RUN_DIR")
    assert other.report_dir != first.report_dir


def test_dead_batch_run_shows_interrupted(isolated_reports):
    run = runs.create_run(load_params(ROOT / "params" / "smoke.yaml"), "x")
    run.update(pid=2**22 + 12345)  # no such process
    (info,) = runs.list_runs()
    assert info["status"] == "interrupted"


def test_metrics_sections_merge(isolated_reports):
    run = runs.create_run(load_params(ROOT / "params" / "smoke.yaml"), "x")
    run.record_metrics("a", {"x": 1})
    run.record_metrics("b", {"y": 2})
    assert run.metrics() == {"a": {"x": 1}, "b": {"y": 2}}


def test_find_follows_upstream(isolated_reports):
    p = load_params(ROOT / "params" / "smoke.yaml")
    up = runs.create_run(p, "x")
    up.path("data/train.jsonl").write_text("{}\n")
    down = runs.create_run(p, "x", upstream=up.id)
    assert down.find("data/train.jsonl") == up.artifact_dir / "data/train.jsonl"
    with pytest.raises(FileNotFoundError, match="--upstream"):
        down.find("train/adapter")


def test_select_notebooks():
    assert runner.select_notebooks("00,2") == ["00_gpu_check", "02_training"]
    assert runner.select_notebooks(None) == list(runner.NOTEBOOKS)
    with pytest.raises(ValueError, match="no notebook matches"):
        runner.select_notebooks("09")


def test_secrets_redacted(monkeypatch):
    from mcpft_lib.core.secrets import redact

    monkeypatch.setenv("HF_TOKEN", "hf_abcdefghijklmnopqrstuvwxyz0123")
    assert "abcdefghijklmnop" not in json.dumps(redact({"a": ["token hf_abcdefghijklmnopqrstuvwxyz0123"]}))


def _mcpft_run(nbs, only):
    """Command line of `mcpft run` on the smoke profile with test notebooks from `nbs`."""
    return [
        sys.executable,
        "-m",
        "mcpft_lib.cli",
        "run",
        str(ROOT / "params/smoke.yaml"),
        "--only",
        only,
        "--notebooks",
        str(nbs),
    ]


def _nb(path, code):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    params = nbformat.v4.new_code_cell('params_file = ""\noverrides = []\nrun_dir = ""')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(code)]
    nbformat.write(nb, path)


def test_failing_notebook_marks_run_failed(tmp_path):
    nbs = tmp_path / "nbs"
    nbs.mkdir()
    _nb(nbs / "00_gpu_check.ipynb", "print('first notebook ran')")
    _nb(
        nbs / "01_data_exploration.ipynb",
        "print('before the error')\nraise RuntimeError('deliberate failure')",
    )
    _nb(nbs / "02_training.ipynb", "print('never runs')")
    r = subprocess.run(
        _mcpft_run(nbs, "00,01,02"),
        capture_output=True,
        text=True,
        env=mcpft_env(tmp_path),
        timeout=300,
    )
    assert r.returncode == 1, r.stdout + r.stderr
    (run_dir,) = (tmp_path / "reports").glob("*-smoke")
    info = json.loads((run_dir / "run.json").read_text())
    assert info["status"] == "failed"
    states = info["notebooks"]
    assert states["00_gpu_check"]["status"] == "ok"
    assert states["01_data_exploration"]["status"] == "failed"
    assert "deliberate failure" in states["01_data_exploration"]["error"]
    assert states["02_training"]["status"] == "skipped"
    html = (run_dir / "01_data_exploration.html").read_text()
    assert "before the error" in html and "deliberate failure" in html
    assert (run_dir / "00_gpu_check.html").exists()  # earlier artifacts intact
    index = (tmp_path / "reports" / "index.html").read_text()
    assert run_dir.name in index and "failed" in index


def test_sigterm_marks_run_failed(tmp_path):
    import signal
    import time

    nbs = tmp_path / "nbs"
    nbs.mkdir()
    _nb(nbs / "00_gpu_check.ipynb", "import time\ntime.sleep(60)")
    proc = subprocess.Popen(
        _mcpft_run(nbs, "00"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=mcpft_env(tmp_path),
    )
    deadline = time.time() + 60
    run_json = None
    while time.time() < deadline:
        found = list((tmp_path / "reports").glob("*-smoke/run.json"))
        if (
            found
            and json.loads(found[0].read_text())["notebooks"].get("00_gpu_check", {}).get("status")
            == "running"
        ):
            run_json = found[0]
            break
        time.sleep(0.2)
    assert run_json, "run never started"
    time.sleep(3)  # let the kernel start
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode != 0
    info = json.loads(run_json.read_text())
    assert info["status"] == "failed" and "signal" in info.get("error", ""), out[-2000:]
