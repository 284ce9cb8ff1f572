import json
import os
import random
import string
import subprocess
import sys
from pathlib import Path

import pytest


def pytest_collection_modifyitems(config, items):
    """`gpu` tests need a CUDA device: skipped with the reason where torch sees none."""
    gpu = [it for it in items if it.get_closest_marker("gpu")]
    if not gpu:
        return
    import torch

    if not torch.cuda.is_available():
        skip = pytest.mark.skip(reason="needs a CUDA GPU (torch.cuda.is_available() is False)")
        for it in gpu:
            it.add_marker(skip)


ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


@pytest.fixture
def isolated_reports(tmp_path, monkeypatch):
    """Reports and artifacts of a test go to a temporary folder, never into the checkout's reports/."""
    monkeypatch.setenv("MCPFT_REPORTS", str(tmp_path / "reports"))
    monkeypatch.setenv("MCPFT_ARTIFACTS", str(tmp_path / "artifacts"))
    monkeypatch.delenv("MCPFT_RUN_DIR", raising=False)
    # the report runner sets these for its kernels in this process: put them back after the test
    for var in ("HF_HUB_DISABLE_PROGRESS_BARS", "HF_DATASETS_DISABLE_PROGRESS_BARS", "JUPYTER_PREFER_ENV_PATH",
                "MCPFT_PROGRESS"):  # fmt: skip
        if var in os.environ:
            monkeypatch.setenv(var, os.environ[var])
        else:
            monkeypatch.setenv(var, "")  # recorded as unset, so monkeypatch deletes it again at the end
            monkeypatch.delenv(var)
    return tmp_path


@pytest.fixture
def paused_pipeline(isolated_reports, monkeypatch):
    """`mcpft run params/smoke.yaml` in this process (`report.runner.run_pipeline`) with a stand-in for
    papermill that records, as each notebook starts, run.json, the run page and the index (the pages between
    notebooks); a notebook named in `fail` raises its exception. Notebooks come from an empty folder (add
    `notebooks/examples/*.ipynb` under the test's folder for example notebooks)."""
    import papermill  # here: the fast tier's conftest stays light

    from mcpft_lib.config import load_params
    from mcpft_lib.report.runner import run_pipeline

    # the runner sets these for the kernels; monkeypatch puts them back after the test
    for var in ("MCPFT_RUN_DIR", "HF_HUB_DISABLE_PROGRESS_BARS", "HF_DATASETS_DISABLE_PROGRESS_BARS",
                "JUPYTER_PREFER_ENV_PATH"):  # fmt: skip
        monkeypatch.setenv(var, "")
    monkeypatch.setenv("PATH", os.environ["PATH"])
    nbs = isolated_reports / "notebooks"
    nbs.mkdir()

    def go(fail: dict | None = None, log=None, params=None):
        seen: dict[str, dict] = {}

        def execute_notebook(src, out, parameters, **kw):
            nb = Path(src).stem
            run_dir = Path(parameters["run_dir"])
            seen[nb] = {
                "info": json.loads((run_dir / "run.json").read_text()),
                "page": (run_dir / "index.html").read_text(),
                "index": (run_dir.parent / "index.html").read_text(),
            }
            if fail and nb in fail:
                raise fail[nb]

        monkeypatch.setattr(papermill, "execute_notebook", execute_notebook)
        logged = []

        def capture(*args, **kw):
            logged.append(" ".join(map(str, args)))
            if log:
                log(" ".join(map(str, args)))

        run = run_pipeline(
            params or load_params(ROOT / "params" / "smoke.yaml"),
            "smoke.yaml",
            notebooks_dir=nbs,
            log=capture,
        )
        return run, seen, logged

    return go


def mcpft_env(tmp_path: Path) -> dict:
    env = dict(os.environ)
    env.update(MCPFT_REPORTS=str(tmp_path / "reports"), MCPFT_ARTIFACTS=str(tmp_path / "artifacts"))
    env.pop("MCPFT_RUN_DIR", None)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


def fake_token(tag: str) -> str:
    """A Hugging Face-shaped token that is fresh per session, so it never matches anything by accident."""
    rnd = random.Random()
    return f"hf_{tag}" + "".join(
        rnd.choice(string.ascii_letters + string.digits) for _ in range(34 - len(tag))
    )


@pytest.fixture(scope="session")
def smoke_session(tmp_path_factory):
    """The one `mcpft run params/smoke.yaml` of the suite (all six notebooks, then the example notebooks), run
    the way a careless user would: a token in HF_TOKEN, another in the hub's login files ($HF_HOME/token and
    stored_tokens) and a third pasted into a param. Every test that reads a finished run shares it, and the
    security suite scans all of its outputs for the tokens."""
    tmp = tmp_path_factory.mktemp("smoke")
    tokens = {"env": fake_token("Env"), "login": fake_token("Login"), "pasted": fake_token("Pasted")}
    hf_home = tmp / "hf_home"
    hf_home.mkdir()
    (hf_home / "token").write_text(tokens["login"])
    (hf_home / "stored_tokens").write_text(f"[work]\nhf_token = {tokens['login']}\n")
    env = mcpft_env(tmp)
    env.update(HF_TOKEN=tokens["env"], HF_HOME=str(hf_home), HF_HUB_OFFLINE="1")
    env.pop("HF_TOKEN_PATH", None)
    cmd = [sys.executable, "-m", "mcpft_lib.cli", "run", str(ROOT / "params/smoke.yaml"),
           "--set", f"run.description=debugging with {tokens['pasted']}"]  # fmt: skip
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1200, cwd=ROOT)
    failed = [ln for ln in r.stdout.splitlines() if "FAILED" in ln]  # the reason first
    assert r.returncode == 0, (
        "smoke run failed: " + "\n".join(failed) + "\n" + r.stdout[-4000:] + r.stderr[-4000:]
    )
    (tmp / "console.log").write_text(r.stdout + r.stderr)  # the run's console output is scanned too
    (run_dir,) = (tmp / "reports").glob("*-smoke")
    return {"tmp": tmp, "run_dir": run_dir, "tokens": tokens, "hf_home": hf_home}


@pytest.fixture(scope="session")
def smoke_run(smoke_session):
    """(tmp folder, run folder) of the shared smoke run."""
    return smoke_session["tmp"], smoke_session["run_dir"]


@pytest.fixture
def bars(monkeypatch):
    """Every progress bar `core.progressbar.bar` makes during the test, as {"desc", "total", "steps", "bar"}:
    `steps` lists each `update(n)`. The bars are real tqdm bars, written as text into a buffer."""
    import io

    from mcpft_lib.core import progressbar

    made, real = [], progressbar.bar

    def spy(iterable=None, **kw):
        kw.update(to_terminal=True, file=io.StringIO())
        b = real(iterable, **kw)
        rec = {"desc": kw.get("desc"), "total": b.total, "steps": [], "bar": b}
        update = b.update

        def counted(n=1):
            rec["steps"].append(n)
            return update(n)

        b.update = counted
        made.append(rec)
        return b

    monkeypatch.setattr(progressbar, "bar", spy)
    return made


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (for a server a test starts)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
