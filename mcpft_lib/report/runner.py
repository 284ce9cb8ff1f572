"""The runner: papermill executes the notebooks into a run folder, nbconvert renders HTML, and the run page and
index.html are rewritten as each notebook starts and ends."""

from __future__ import annotations

import os
import re
import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from mcpft_lib.config import Params, example_notebooks, match_examples
from mcpft_lib.core import progressbar
from mcpft_lib.core.fsutil import atomic_write, write_json
from mcpft_lib.report import progress
from mcpft_lib.report.site import write_index, write_run_page
from mcpft_lib.runs import Run, create_run, open_run, project_root

NOTEBOOKS = (
    "00_gpu_check",
    "01_data_exploration",
    "02_training",
    "03_merging",
    "04_evaluation",
    "05_documentation",
)

HIDE_INPUT_TAGS = {"hide-input", "hide_input"}

_REMOTE_SCRIPT = re.compile(r"<script[^>]*\ssrc=[\"']https?://[^\"']*[\"'][^>]*>\s*</script>", re.IGNORECASE)

REMOVE_CELL_TAGS = {"remove-cell", "remove_cell"}


def select_notebooks(only: str | list[str] | None) -> list[str]:
    """`--only 00,02` -> the matching notebook stems, in pipeline order."""
    if not only:
        return list(NOTEBOOKS)
    keys = [k.strip() for k in (only.split(",") if isinstance(only, str) else only) if k.strip()]
    chosen = []
    for k in keys:
        match = [nb for nb in NOTEBOOKS if nb == k or nb.startswith(f"{k}_") or nb[:2] == k.zfill(2)]
        if not match:
            raise ValueError(f"--only: no notebook matches {k!r}; choose from {', '.join(NOTEBOOKS)}")
        chosen.extend(m for m in match if m not in chosen)
    return [nb for nb in NOTEBOOKS if nb in chosen]


def to_html(ipynb: Path) -> Path:
    """Render an executed notebook as standalone HTML (images embedded; tagged inputs hidden)."""
    import nbformat
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import TagRemovePreprocessor

    nb = nbformat.read(ipynb, as_version=4)
    # widget state (tqdm bars, ipywidgets) makes the template load a widget renderer from a CDN; offline, the
    # widgets' text fallback is what can be shown, so the state is left out of the HTML (kept in the ipynb)
    nb.metadata.pop("widgets", None)
    exporter = HTMLExporter(template_name="lab", embed_images=True)
    exporter.register_preprocessor(
        TagRemovePreprocessor(
            remove_input_tags=HIDE_INPUT_TAGS, remove_cell_tags=REMOVE_CELL_TAGS, enabled=True
        ),
        enabled=True,
    )
    body, _ = exporter.from_notebook_node(nb)
    # opens offline: drop remote <script src> tags (require.js, MathJax) that nbconvert's template and
    # plotly's HTML add; plotly.js itself is inlined once by the notebook renderer and needs neither
    body = _REMOTE_SCRIPT.sub("", body)
    out = ipynb.with_suffix(".html")
    atomic_write(out, body)
    return out


def _kernel_env() -> None:
    """Make the kernel papermill starts use this interpreter (a `python3` kernelspec runs `python` from PATH),
    without tqdm bars in the notebooks: in a kernel they are widgets whose stored text is their first frame
    ("Loading weights: 0%"), which is all a batch report's HTML can show. Hub, transformers and datasets bars
    are off; mcpft's own (training, validation, generation, export, live replay: `core.progressbar`) go to the
    terminal."""
    for var in ("HF_HUB_DISABLE_PROGRESS_BARS", "HF_DATASETS_DISABLE_PROGRESS_BARS"):
        os.environ.setdefault(var, "1")
    os.environ.setdefault(progressbar.ENV, progressbar.TERMINAL)
    os.environ.setdefault(
        "JUPYTER_PREFER_ENV_PATH", "1"
    )  # this environment's kernelspec, not a user-level one
    bindir = str(Path(sys.executable).parent)
    if os.environ.get("PATH", "").split(os.pathsep)[:1] != [bindir]:
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")


def _ipc_kernel_manager():
    """nbclient's kernel manager over Unix sockets in a private temporary folder instead of TCP ports on
    localhost: no port another local user can reach, and ipykernel's "running over TCP without encryption"
    warning is not printed for every notebook."""
    import shutil
    import tempfile

    from jupyter_client.manager import AsyncKernelManager

    class IPCKernelManager(AsyncKernelManager):
        def __init__(self, **kw):
            super().__init__(**kw)
            self._sock_dir = tempfile.mkdtemp(prefix="mcpft-kernel-")  # 0700; short: sun_path holds 107 bytes
            self.transport = "ipc"
            self.ip = os.path.join(self._sock_dir, "k")

        async def _async_interrupt_kernel(self) -> None:
            # shutdown_kernel interrupts first; over ipc the idle kernel then logs "ERROR | KeyboardInterrupt
            # caught in kernel" now and then. A finished notebook has nothing to interrupt (a cell that timed out
            # was interrupted by nbclient before shutdown; the shutdown request and then a kill still follow)
            if not self.shutting_down:
                await super()._async_interrupt_kernel()

        async def _async_cleanup_resources(self, restart: bool = False) -> None:  # shutdown_kernel's cleanup
            await super()._async_cleanup_resources(restart)
            if not restart:
                shutil.rmtree(self._sock_dir, ignore_errors=True)

    return IPCKernelManager


def publish(run: Run, log=print) -> None:
    """Rewrite the run's page and reports/index.html from run.json as it is now: after each change of a
    notebook's state, so that both pages show a run's progress while it goes. A page that cannot be written is
    reported and the run goes on (the pages are written again at the next change and when the run ends)."""
    try:
        write_run_page(run)
        write_index()
    except Exception as e:  # a progress page must not stop a training run
        log(f"  run page not updated: {type(e).__name__}: {e}", flush=True)


def execute(
    run: Run,
    notebooks: list[str],
    notebooks_dir: Path | None = None,
    timeout: int | None = None,
    log=print,
    subdir: str = "",
    key: str = "notebooks",
) -> bool:
    """Execute `notebooks` in order into `run` (its `subdir`; states under run.json's `key`); stop at the
    first failure and mark the rest skipped. The run page and the index are rewritten (`publish`) when the
    notebooks are listed and as each one starts and ends. True when all succeeded."""
    import papermill as pm

    _kernel_env()
    os.environ["MCPFT_RUN_DIR"] = str(run.report_dir)
    nb_dir = Path(notebooks_dir or project_root() / "notebooks")
    out_dir = run.report_dir / subdir
    out_dir.mkdir(parents=True, exist_ok=True)
    prefix = f"{subdir}/" if subdir else ""
    states = run.info().get(key, {})
    for nb in notebooks:
        states[nb] = {"status": "pending"}
    run.update(**{key: states})
    publish(run, log)
    for i, nb in enumerate(notebooks, 1):
        src = nb_dir / f"{nb}.ipynb"
        out = out_dir / f"{nb}.ipynb"
        log(f"[{i}/{len(notebooks)}] {prefix}{nb} ...", flush=True)
        t0 = time.time()
        states[nb] = {"status": "running", "started": datetime.now(UTC).isoformat(timespec="seconds")}
        run.update(**{key: states})
        publish(run, log)
        error = None
        try:
            pm.execute_notebook(
                str(src),
                str(out),
                parameters={
                    "params_file": str(run.params_file),
                    "overrides": [],
                    "run_dir": str(run.report_dir),
                },
                cwd=str(nb_dir),
                progress_bar=sys.stderr.isatty(),
                execution_timeout=timeout,
                kernel_name="python3",
                kernel_manager_class=_ipc_kernel_manager(),
            )
        except (
            Exception
        ) as e:  # papermill wraps cell errors; anything else (missing notebook) is a failure too
            error = f"{type(e).__name__}: {str(e).strip().splitlines()[-1] if str(e).strip() else ''}"
        elapsed = round(time.time() - t0, 1)
        html_path = None
        if out.exists():
            try:
                html_path = prefix + to_html(out).name
            except Exception as e:  # a broken render must not hide the notebook's own status
                error = (error or "") + f" (HTML render failed: {e})"
        states[nb] = {
            "status": "ok" if error is None else "failed",
            "started": states[nb]["started"],
            "seconds": elapsed,
            "html": html_path,
            "ipynb": prefix + out.name if out.exists() else None,
            "error": error,
        }
        if error is not None:
            for later in notebooks[i:]:
                states[later] = {"status": "skipped"}
        run.update(**{key: states})
        publish(run, log)
        log(
            f"[{i}/{len(notebooks)}] {prefix}{nb} {'ok' if error is None else 'FAILED'} in {elapsed:.1f}s"
            + (f": {error}" if error else ""),
            flush=True,
        )
        if error is not None:
            return False
    return True


def settle(run: Run, error: str | None = None) -> None:
    """At the end of a run, no notebook is left pending or running: a pending one was skipped (an earlier
    notebook failed, or the run was stopped), a running one failed with `error` (the run was stopped)."""
    info = run.info()
    changed = {}
    for key in ("notebooks", "examples"):
        states = dict(info.get(key) or {})
        for nb, s in states.items():
            if s.get("status") == "pending":
                states[nb] = {"status": "skipped"}
            elif s.get("status") == "running":
                ran = progress.since(s.get("started"), datetime.now(UTC))
                seconds = None if ran is None else round(ran, 1)
                states[nb] = {**s, "status": "failed", "seconds": seconds, "error": error or "stopped"}
            else:
                continue
            changed[key] = states
    if changed:
        run.update(**changed)


def _example_names(notebooks_dir: Path | None, wanted: list[str] | None = None) -> list[str]:
    """The example notebooks to execute: all of them, or those `run.examples` names."""
    ex_dir = Path(notebooks_dir or project_root() / "notebooks") / "examples"
    names = example_notebooks(ex_dir) if ex_dir.is_dir() else []
    return names if wanted is None else match_examples(wanted, names)


def run_examples(
    run: Run,
    notebooks_dir: Path | None = None,
    timeout: int | None = None,
    log=print,
    wanted: list[str] | None = None,
) -> bool:
    """Execute the example-usage notebooks (notebooks/examples/; `wanted`: those `run.examples` names) against the
    run's model into reports/<run>/examples/ (ipynb + HTML; states under run.json's `examples`). True when all
    succeeded."""

    names = _example_names(notebooks_dir, wanted)
    if not names:
        return True
    ex_dir = Path(notebooks_dir or project_root() / "notebooks") / "examples"
    return execute(run, names, ex_dir, timeout=timeout, log=log, subdir="examples", key="examples")


def run_pipeline(
    params: Params,
    params_source: str,
    overrides: list[str] | None = None,
    only: str | None = None,
    upstream: str | None = None,
    notebooks_dir: Path | None = None,
    timeout: int | None = None,
    log=print,
) -> Run:
    """Create a run folder, execute the selected notebooks, write run.json/metrics.json and the index."""
    notebooks = select_notebooks(only)
    if upstream:
        open_run(upstream)  # fail early on a wrong id
    run = create_run(params, params_source, overrides, mode="batch", upstream=upstream)
    log(f"run {run.id}\n  reports:   {run.report_dir}\n  artifacts: {run.artifact_dir}", flush=True)
    t0 = time.time()
    # the whole run is listed before it starts, the example notebooks (after 05) too: the pages show what is
    # left and the ETA covers all of it
    examples = _example_names(notebooks_dir, params.run.examples) if "05_documentation" in notebooks else []
    run.update(
        notebooks={nb: {"status": "pending"} for nb in notebooks},
        **({"examples": {nb: {"status": "pending"} for nb in examples}} if examples else {}),
    )
    publish(run, log)

    def on_signal(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    old = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        ok = execute(run, notebooks, notebooks_dir=notebooks_dir, timeout=timeout, log=log)
        if ok and examples:
            ok = run_examples(run, notebooks_dir, timeout, log, params.run.examples)
    except BaseException as e:
        error = f"{type(e).__name__}: {e}"
        settle(run, error)
        run.update(
            status="failed",
            error=error,
            finished=datetime.now(UTC).isoformat(timespec="seconds"),
            seconds=round(time.time() - t0, 1),
        )
        write_run_page(run)
        write_index()
        raise
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)
    settle(run)
    if not (run.report_dir / "metrics.json").exists():
        write_json(run.report_dir / "metrics.json", {})
    run.update(
        status="ok" if ok else "failed",
        finished=datetime.now(UTC).isoformat(timespec="seconds"),
        seconds=round(time.time() - t0, 1),
    )
    write_run_page(run)
    write_index()
    log(
        f"run {run.id}: {'ok' if ok else 'FAILED'} in {time.time() - t0:.0f}s -> {run.report_dir / 'index.html'}"
    )
    return run
