"""Runs: one run-id, one report folder, one artifact folder; atomic JSON writes; artifact lookup."""

from __future__ import annotations

import json
import os
import platform
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mcpft_lib.config import Params, load_params
from mcpft_lib.core import secrets
from mcpft_lib.core.fsutil import atomic_write, read_json, write_json
from mcpft_lib.core.system import git_info, hardware_summary, project_root, versions


def reports_root() -> Path:
    return Path(os.environ.get("MCPFT_REPORTS", project_root() / "reports")).resolve()


def artifacts_root() -> Path:
    return Path(os.environ.get("MCPFT_ARTIFACTS", project_root() / "artifacts")).resolve()


def new_run_id(profile: str, git: dict | None = None) -> str:
    git = git or git_info()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{git['short']}{'-dirty' if git['dirty'] else ''}-{profile}"


@dataclass
class Run:
    """A run's two folders: light outputs (reports/<id>) and heavy artifacts (artifacts/<id>)."""

    report_dir: Path
    artifact_dir: Path

    @property
    def id(self) -> str:
        return self.report_dir.name

    @property
    def run_json(self) -> Path:
        return self.report_dir / "run.json"

    @property
    def params_file(self) -> Path:
        return self.report_dir / "params.yaml"

    def info(self) -> dict:
        return read_json(self.run_json, {})

    def update(self, **fields: Any) -> dict:
        """Merge fields into run.json (atomic)."""
        info = self.info()
        info.update(fields)
        write_json(self.run_json, info)
        return info

    def metrics(self) -> dict:
        return read_json(self.report_dir / "metrics.json", {})

    def record_metrics(self, section: str, values: dict) -> dict:
        """Store a stage's metrics under `section` in metrics.json (atomic, other sections kept)."""
        m = self.metrics()
        m[section] = values
        write_json(self.report_dir / "metrics.json", m)
        return m

    def path(self, name: str) -> Path:
        """Where this run writes artifact `name` (created parent)."""
        p = self.artifact_dir / name
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    def find(self, name: str) -> Path:
        """Artifact `name` from this run, else from its upstream runs (``--upstream``); clear error if absent."""
        searched = []
        run: Run | None = self
        while run is not None:
            p = run.artifact_dir / name
            searched.append(str(p))
            if p.exists():
                return p
            up = run.info().get("upstream")
            run = open_run(up) if up else None
        raise FileNotFoundError(
            f"artifact {name!r} not found (looked in {searched}); run the notebook that makes it first, "
            "or start this run with --upstream RUN_ID"
        )


def _exclusive_dir(parent: Path, name: str) -> Path:
    parent.mkdir(parents=True, exist_ok=True)
    for i in range(1, 1000):
        cand = parent / (name if i == 1 else f"{name}-{i}")
        try:
            cand.mkdir()
            return cand
        except FileExistsError:
            continue
    raise RuntimeError(f"could not create a fresh run folder for {name} in {parent}")


def create_run(
    params: Params,
    source: str,
    overrides: list[str] | None = None,
    mode: str = "batch",
    upstream: str | None = None,
) -> Run:
    """Make a fresh run folder pair (never shared), save resolved params and an initial run.json."""
    git = git_info()
    report_dir = _exclusive_dir(reports_root(), new_run_id(params.run.profile, git))
    artifact_dir = artifacts_root() / report_dir.name
    artifact_dir.mkdir(parents=True, exist_ok=True)
    run = Run(report_dir, artifact_dir)

    atomic_write(run.params_file, "# resolved params of this run\n" + secrets.redact(params.to_yaml()))
    run.update(
        id=run.id,
        status="running",
        mode=mode,
        profile=params.run.profile,
        params_source=str(source),
        overrides=secrets.redact(list(overrides or [])),
        params=secrets.redact(params.model_dump(mode="json")),
        params_hash=params.hash(),
        git=git,
        versions=versions(),
        upstream=upstream,
        artifact_dir=str(artifact_dir),
        started=datetime.now(UTC).isoformat(timespec="seconds"),
        notebooks={},
        hardware=hardware_summary(),
        pid=os.getpid(),
        host=platform.node(),
        created_unix=time.time(),
    )
    return run


def open_run(run_id_or_dir: str | Path) -> Run:
    p = Path(run_id_or_dir)
    report_dir = p if p.is_dir() else reports_root() / str(run_id_or_dir)
    if not (report_dir / "run.json").is_file():
        raise FileNotFoundError(f"no run at {report_dir} (missing run.json)")
    info = read_json(report_dir / "run.json")
    return Run(report_dir.resolve(), Path(info.get("artifact_dir") or artifacts_root() / report_dir.name))


def list_runs() -> list[dict]:
    """run.json of every run under reports/, newest first."""
    root = reports_root()
    out = []
    for d in sorted(root.glob("*/run.json"), reverse=True):
        try:
            info = json.loads(d.read_text())
        except (OSError, json.JSONDecodeError):
            info = {"id": d.parent.name, "status": "unreadable"}
        if info.get("status") == "running" and info.get("mode") == "batch" and not _alive(info):
            info["status"] = "interrupted"  # its runner died without a word (SIGKILL, OOM killer, power)
        info["_dir"] = str(d.parent)
        out.append(info)
    return out


def _alive(info: dict) -> bool:
    if info.get("host") != platform.node() or not info.get("pid"):
        return True  # cannot tell from here
    try:
        os.kill(int(info["pid"]), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def attach(run_dir: str, params_file: str, overrides: list[str] | None = None) -> tuple[Params, Run]:
    """Entry point of every notebook: validate params, then join the run (papermill) or start one (lab).

    With `run_dir` empty (interactive use) the folder comes from $MCPFT_RUN_DIR if set; otherwise the notebook
    joins the newest interactive run with the same params (each JupyterLab notebook has its own kernel, so
    this is how 02 finds what 01 built), or starts one whose upstream is the newest finished batch run.
    """
    params = load_params(params_file, overrides)
    run_dir = run_dir or os.environ.get("MCPFT_RUN_DIR", "")
    if run_dir:
        return params, open_run(run_dir)
    runs = list_runs()
    same = [r for r in runs if r.get("profile") == params.run.profile]
    joined = next(
        (r for r in same if r.get("mode") == "interactive" and r.get("params_hash") == params.hash()), None
    )
    if joined:
        run = open_run(joined["_dir"])
    else:
        upstream = next((r["id"] for r in same if r.get("status") == "ok"), None)
        run = create_run(params, params_file, overrides, mode="interactive", upstream=upstream)
        run.update(status="interactive")
    os.environ["MCPFT_RUN_DIR"] = str(run.report_dir)
    return params, run


def setup_notebook() -> None:
    """Call at the top of every notebook: plotly charts that work in JupyterLab and in offline HTML."""
    import warnings

    import plotly.io as pio

    # peft reads transformers' deprecated `is_gradient_checkpointing`: a warning no user of ours can act on
    warnings.filterwarnings(
        "ignore", message="`is_gradient_checkpointing` is deprecated", category=FutureWarning
    )
    # mimetype for JupyterLab, plus an embedded plotly.js (no CDN) so nbconvert's HTML works offline
    pio.renderers.default = "plotly_mimetype+notebook"
