"""Runs: one run-id, one report folder, one artifact folder; the artifact layout; the lineage of upstream runs."""

from __future__ import annotations

import json
import os
import platform
import time
import warnings
from collections.abc import Callable, Iterator
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


class LineageWarning(UserWarning):
    """The upstream chain of a run breaks (a missing or unreadable upstream run, or a cycle); see `Run.lineage`."""


# The layout of a run's artifact folder (the on-disk names are fixed: runs made earlier stay readable):
#   data/                        notebook 01: the dataset (its files are data.stage's)
#   train/                       notebook 02: train_log.jsonl, tensorboard/ (train.trainer's)
#   train/checkpoints/           checkpoint-N/ folders
#   train/adapter/               the trained PEFT adapter
#   export/merged-<dtype>/       notebook 03: the merged safetensors export
#   export/<format>/             int8, nf4, gguf_f16, gguf_q8_0, gguf_q4_k_m (a GGUF folder holds one .gguf file)
# A stage that writes into any folder (the trainer, the exporter: also temporary folders in sweeps, benchmarks
# and tests) names its sub-folders with the `*_of` functions below.
DATA, TRAIN, EXPORT = "data", "train", "export"
# the order Run.gguf_path prefers: q8_0, the smaller one that llama.cpp users deploy, then f16
GGUF_FORMATS = ("gguf_q8_0", "gguf_f16", "gguf_q4_k_m")


def adapter_dir_of(train_dir: str | Path) -> Path:
    """The adapter folder inside a training folder."""
    return Path(train_dir) / "adapter"


CHECKPOINTS = "checkpoints"  # the folder of training checkpoints inside a training folder


def checkpoints_dir_of(train_dir: str | Path) -> Path:
    """The checkpoints folder inside a training folder."""
    return Path(train_dir) / CHECKPOINTS


def export_dir_of(export_root: str | Path, fmt: str, dtype: str | None = None) -> Path:
    """The folder of export format `fmt` inside an export folder: `merged-<dtype>` for safetensors (the merged
    model the other formats are made from), else the format's name."""
    if fmt == "safetensors":
        if not dtype:
            raise ValueError("the safetensors export folder is named by its dtype (merged-<dtype>)")
        return Path(export_root) / f"merged-{dtype}"
    return Path(export_root) / fmt


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

    # --- the artifact layout: every path inside the artifact folder is named in this file -----------------
    # Writers get this run's folder of their stage (`*_out`); readers get an artifact from this run, else from
    # the nearest upstream run that has it (`find`, along `lineage`). tests/test_runs.py fails when a module or
    # a notebook types an artifact path by hand.

    def data_out(self) -> Path:
        """Where notebook 01 writes this run's dataset (`data/`; this run only, parent created)."""
        return self.path(DATA)

    def train_out(self) -> Path:
        """Where notebook 02 trains (`train/`: log, `checkpoints/`, `adapter/`; this run only, parent created)."""
        return self.path(TRAIN)

    def export_out(self) -> Path:
        """Where notebook 03 writes the exports (`export/`, see `export_dir_of`; this run only, parent created)."""
        return self.path(EXPORT)

    def example_out(self, notebook: str) -> Path:
        """Where example notebook `notebook` writes what it makes (`examples/<notebook>/`: a harvested catalog, a
        dataset, an adapter; this run only, created)."""
        p = self.path(f"examples/{notebook}")
        p.mkdir(exist_ok=True)
        return p

    def checkpoints_dir(self) -> Path:
        """This run's training checkpoints (`train/checkpoints/`). This run only: `train.resume` continues this
        run's training, never an upstream run's."""
        return checkpoints_dir_of(self.artifact_dir / TRAIN)

    def data_dir(self) -> Path:
        """The dataset folder notebook 01 wrote, from this run or its upstream runs."""
        return self.find(DATA)

    def adapter_dir(self) -> Path:
        """The trained PEFT adapter (`train/adapter/`), from this run or its upstream runs."""
        return self.find(adapter_dir_of(TRAIN).as_posix())

    def merged_dir(self, dtype: str) -> Path:
        """The merged safetensors export in `dtype` (`export/merged-<dtype>/`), from this run or its upstreams."""
        return self.find(export_dir_of(EXPORT, "safetensors", dtype).as_posix())

    def gguf_path(self, complete: Callable[[Path], bool]) -> Path | None:
        """The GGUF export file (`export/gguf_q8_0/*.gguf`, else `export/gguf_f16/*.gguf`) of the newest run in
        the lineage that has one whose folder passes `complete` (the export layer's `formats.is_complete`:
        manifest written and checksums matching; this layer cannot import it), or None."""
        for run in self.lineage():
            for fmt in GGUF_FORMATS:
                folder = export_dir_of(run.artifact_dir / EXPORT, fmt)
                files = sorted(folder.glob("*.gguf")) if folder.is_dir() else []
                if files and complete(folder):
                    return files[0]
        return None

    def path(self, name: str) -> Path:
        """Where this run writes artifact `name` (created parent). Callers use the typed methods above."""
        p = self.artifact_dir / name
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    def find(self, name: str) -> Path:
        """Artifact `name` from this run, else from the nearest upstream run that has it (`lineage`); a clear
        error if none has it. Callers use the typed methods above."""
        searched = []
        for run in self.lineage():
            p = run.artifact_dir / name
            searched.append(str(p))
            if p.exists():
                return p
        raise FileNotFoundError(
            f"artifact {name!r} not found (looked in {searched}); run the notebook that makes it first, "
            "or start this run with --upstream RUN_ID"
        )

    # --- the lineage ---------------------------------------------------------------------------------------

    def lineage(self) -> Iterator[Run]:
        """This run, then its upstream run (`--upstream`), then that run's upstream, and so on: newest first.

        The one walk of the upstream chain (artifacts, merged metrics, the model card's registration). It
        stops, with a `LineageWarning` and without an error, at an upstream that cannot be followed: a run.json
        that is missing or unreadable (a deleted or half-written run), or a run already yielded (a cycle, which
        only a hand-edited run.json makes). What the chain then lacks is the caller's to report: `find` raises
        FileNotFoundError naming the folders it searched."""
        seen: set[Path] = set()
        run: Run | None = self
        while run is not None:
            seen.add(run.report_dir.resolve())
            yield run
            try:
                up = run.info().get("upstream")
                nxt = open_run(up) if up else None
            except (OSError, ValueError) as e:  # missing run.json, unreadable JSON
                warnings.warn(
                    f"lineage of run {self.id} stops at {run.id}: its upstream cannot be read ({e})",
                    LineageWarning,
                    stacklevel=2,
                )
                return
            if nxt is not None and nxt.report_dir.resolve() in seen:
                warnings.warn(
                    f"lineage of run {self.id} stops at {run.id}: its upstream {up} is already in the chain "
                    "(an upstream cycle)",
                    LineageWarning,
                    stacklevel=2,
                )
                return
            run = nxt

    def lineage_metrics(self) -> dict:
        """metrics.json of this run over those of its upstream runs: each section (data, train, eval, ...) from
        the newest run in the lineage that recorded it (`--only 03 --upstream RUN`: data and training were
        recorded by the upstream run)."""
        out: dict = {}
        for run in self.lineage():
            for section, values in run.metrics().items():
                out.setdefault(section, values)
        return out


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
