"""Injected faults: failing notebooks, dead kernels and runners, concurrent runs, interrupted writes, broken
MCP servers. Each fault must leave earlier results intact, mark what failed, and let the rest go on.
Every case is recorded for docs/reliability.md (`python -m tests.reliability`).
"""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import nbformat
import pytest

from mcpft_lib import runs
from mcpft_lib.config import load_params
from mcpft_lib.core import fsutil
from mcpft_lib.core.schema import ToolCall
from mcpft_lib.mcp import live
from mcpft_lib.report import site
from mcpft_lib.train import trainer
from tests.reliability import Recorder, whole_files_run

from .conftest import mcpft_env

ROOT = Path(__file__).resolve().parent.parent
SMOKE = ROOT / "params" / "smoke.yaml"


@pytest.fixture(scope="module")
def figures(request):
    rec = Recorder("faults")
    yield rec
    rec.save(replace=whole_files_run(request.config))


# ==========================================================================================================
# Runner faults: three `mcpft run` started at the same instant, each meeting a different fault


def _nb(path: Path, code: str) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    params = nbformat.v4.new_code_cell('params_file = ""\noverrides = []\nrun_dir = ""')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(code)]
    nbformat.write(nb, path)


FIRST_NOTEBOOK = """\
from pathlib import Path
from mcpft_lib import runs
run = runs.open_run(run_dir)
run.path("data/train.jsonl").write_text('{"kept": true}\\n')  # an artifact of the first stage
run.record_metrics("data", {"train": 1})
print("first stage done")
"""

SCENARIOS = {
    # name: (notebooks {stem: code}, --only)
    "cell_error": (
        {"00_gpu_check": FIRST_NOTEBOOK, "01_data_exploration": "raise RuntimeError('deliberate failure')",
         "02_training": "print('never runs')"},
        "00,01,02",
    ),
    "kernel_killed": (
        {"00_gpu_check": FIRST_NOTEBOOK, "01_data_exploration": "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)",
         "02_training": "print('never runs')"},
        "00,01,02",
    ),
    "runner_sigkill": (
        {"00_gpu_check": FIRST_NOTEBOOK, "01_data_exploration": "import time\ntime.sleep(300)"},
        "00,01",
    ),
}  # fmt: skip


def _wait_for(pred, timeout: float, what: str):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if value := pred():
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


@pytest.fixture(scope="module")
def concurrent_runs(tmp_path_factory):
    """Start the three scenarios at once (same profile, same second) in one reports folder."""
    tmp = tmp_path_factory.mktemp("faults")
    env = mcpft_env(tmp)
    procs = {}
    for name, (notebooks, only) in SCENARIOS.items():
        nbs = tmp / f"nbs-{name}"
        nbs.mkdir()
        for stem, code in notebooks.items():
            _nb(nbs / f"{stem}.ipynb", code)
        cmd = [sys.executable, "-m", "mcpft_lib.cli", "run", str(SMOKE), "--only", only, "--notebooks", str(nbs),
               "--set", f"run.description={name}"]  # fmt: skip
        procs[name] = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, start_new_session=True
        )

    def run_dir_of(name: str) -> Path | None:
        for p in (tmp / "reports").glob("*-smoke*/run.json"):
            try:
                info = json.loads(p.read_text())
            except ValueError:
                continue
            if info.get("params", {}).get("run", {}).get("description") == name:
                return p.parent
        return None

    # SIGKILL the whole third job (runner + kernel: power loss, OOM killer) while its second notebook runs
    victim = procs["runner_sigkill"]

    def second_running():
        d = run_dir_of("runner_sigkill")
        if d is None:
            return False
        info = json.loads((d / "run.json").read_text())
        return info["notebooks"].get("01_data_exploration", {}).get("status") == "running"

    try:
        _wait_for(second_running, 240, "the runner_sigkill run to reach its second notebook")
        time.sleep(2)
        os.killpg(victim.pid, signal.SIGKILL)
        outputs = {name: p.communicate(timeout=300)[0] for name, p in procs.items()}
    finally:
        for p in procs.values():
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
    dirs = {name: run_dir_of(name) for name in SCENARIOS}
    return tmp, dirs, {n: p.returncode for n, p in procs.items()}, outputs


@pytest.mark.notebook
def test_failing_notebook(figures, request):
    with figures.case("fault", "run", "notebook_cell_error", "notebook 01 raises RuntimeError",
                      "run failed, 01 failed, 02 skipped; 00's artifacts, metrics and report intact; "
                      "run page and index written") as fig:  # fmt: skip
        tmp, dirs, rcs, outs = request.getfixturevalue("concurrent_runs")
        d = dirs["cell_error"]
        info = json.loads((d / "run.json").read_text())
        states = {k: v["status"] for k, v in info["notebooks"].items()}
        fig.outcome = f"exit {rcs['cell_error']}; status {info['status']}; notebooks {states}; " + (
            info["notebooks"]["01_data_exploration"].get("error") or ""
        )
        assert rcs["cell_error"] == 1, outs["cell_error"][-2000:]
        # kernels talk over Unix sockets (report._ipc_kernel_manager): no "running over TCP without encryption"
        # warning per notebook in the runner's terminal, and no interrupt logged at a clean shutdown (00's)
        assert (
            "without encryption" not in outs["cell_error"] and "KeyboardInterrupt" not in outs["cell_error"]
        )
        _assert_first_stage_kept(d, info)
        assert states["01_data_exploration"] == "failed" and states["02_training"] == "skipped"
        assert "deliberate failure" in info["notebooks"]["01_data_exploration"]["error"]
        assert "deliberate failure" in (d / "01_data_exploration.html").read_text()  # the failure is readable


def _assert_first_stage_kept(d: Path, info: dict) -> None:
    assert info["status"] == "failed" and info["notebooks"]["00_gpu_check"]["status"] == "ok"
    art = Path(info["artifact_dir"])
    assert (art / "data" / "train.jsonl").read_text() == '{"kept": true}\n'
    assert json.loads((d / "metrics.json").read_text()) == {"data": {"train": 1}}
    assert (d / "00_gpu_check.html").is_file() and (d / "index.html").is_file()
    assert d.name in (d.parent / "index.html").read_text()


@pytest.mark.notebook
def test_kernel_killed(figures, request):
    with figures.case("fault", "run", "kernel_sigkill", "notebook 01's kernel SIGKILLs itself (OOM killer)",
                      "run failed with a dead-kernel error, 00's results intact, later notebooks skipped") as fig:  # fmt: skip
        tmp, dirs, rcs, outs = request.getfixturevalue("concurrent_runs")
        d = dirs["kernel_killed"]
        info = json.loads((d / "run.json").read_text())
        err = info["notebooks"]["01_data_exploration"].get("error") or ""
        fig.outcome = f"exit {rcs['kernel_killed']}; status {info['status']}; 01: {err}"
        assert rcs["kernel_killed"] == 1, outs["kernel_killed"][-2000:]
        _assert_first_stage_kept(d, info)
        # papermill says DeadKernelError, or "Kernel died before replying" when the kill beats its handshake
        assert info["notebooks"]["01_data_exploration"]["status"] == "failed" and (
            "Dead" in err or "died" in err
        )
        assert info["notebooks"]["02_training"]["status"] == "skipped"


@pytest.mark.notebook
def test_runner_killed(figures, request, monkeypatch):
    with figures.case("fault", "run", "runner_sigkill", "SIGKILL of `mcpft run` and its kernel mid-notebook",
                      "run.json still parses; the run is listed as interrupted; 00's results intact") as fig:  # fmt: skip
        tmp, dirs, rcs, outs = request.getfixturevalue("concurrent_runs")
        d = dirs["runner_sigkill"]
        info = json.loads((d / "run.json").read_text())  # atomic writes: never half a file
        monkeypatch.setenv("MCPFT_REPORTS", str(tmp / "reports"))
        listed = {r["id"]: r["status"] for r in runs.list_runs()}
        site.write_index()
        fig.outcome = (
            f"exit {rcs['runner_sigkill']}; run.json status {info['status']}; listed as {listed[d.name]}"
        )
        assert rcs["runner_sigkill"] == -signal.SIGKILL
        assert info["status"] == "running" and listed[d.name] == "interrupted"
        assert info["notebooks"]["00_gpu_check"]["status"] == "ok"
        assert (Path(info["artifact_dir"]) / "data" / "train.jsonl").is_file()
        assert "interrupted" in (tmp / "reports" / "index.html").read_text()


@pytest.mark.notebook
def test_runs_started_at_once(figures, request):
    with figures.case("fault", "run", "three_runs_at_once", "three `mcpft run` processes started together on "
                      "one profile", "three distinct report and artifact folders; each run.json its own") as fig:  # fmt: skip
        tmp, dirs, rcs, outs = request.getfixturevalue("concurrent_runs")
        found = sorted((tmp / "reports").glob("*-smoke*/run.json"))
        infos = [json.loads(p.read_text()) for p in found]
        fig.outcome = f"{len(found)} run folders: " + ", ".join(p.parent.name.split("-", 1)[1] for p in found)
        assert len(found) == 3 and None not in dirs.values() and len(set(dirs.values())) == 3
        assert len({i["artifact_dir"] for i in infos}) == 3 and len({i["id"] for i in infos}) == 3
        assert {i["params"]["run"]["description"] for i in infos} == set(SCENARIOS)


def test_many_runs_created_in_the_same_second(figures, isolated_reports, monkeypatch):
    """Eight threads ask for a run folder with the very same run-id: each gets its own."""
    monkeypatch.setattr(runs, "new_run_id", lambda profile, git=None: f"20260101T000000Z-abc1234-{profile}")
    p = load_params(SMOKE)
    made, errors, barrier = [], [], threading.Barrier(8)

    def make():
        try:
            barrier.wait()
            made.append(runs.create_run(p, "x"))
        except Exception as e:  # reported below
            errors.append(e)

    with figures.case("fault", "run", "same_run_id_8_threads", "8 threads create a run with one run-id at once",
                      "8 distinct folders (-2 … -8 suffixes), every run.json valid") as fig:  # fmt: skip
        threads = [threading.Thread(target=make) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        fig.outcome = f"{len(made)} runs, {len({r.report_dir for r in made})} folders, errors {errors}"
        assert not errors and len({r.report_dir for r in made}) == 8
        assert len({r.artifact_dir for r in made}) == 8
        assert all(r.info()["id"] == r.id for r in made)


def test_corrupt_run_json_does_not_break_the_index(figures, isolated_reports):
    p = load_params(SMOKE)
    good, bad = runs.create_run(p, "x"), runs.create_run(p, "x")
    with figures.case("fault", "run", "corrupt_run_json", "another run's run.json truncated to half",
                      "listed as unreadable; index and other runs unaffected") as fig:  # fmt: skip
        text = bad.run_json.read_text()
        bad.run_json.write_text(text[: len(text) // 2])
        listed = {Path(r["_dir"]).name: r["status"] for r in runs.list_runs()}
        index = site.write_index().read_text()
        fig.outcome = f"listed: {sorted(listed.values())}"
        assert listed[bad.id] == "unreadable" and listed[good.id] == "running"
        assert good.id in index and bad.id in index


# ==========================================================================================================
# Interrupted writes: atomic_write leaves the old file or the new one, never half of one

WRITER = textwrap.dedent("""\
    import sys, time
    from mcpft_lib.core.fsutil import atomic_write

    def chunks():
        for i in range(10_000):
            yield f"new line {i}\\n" * 100
            if i == 5:
                print("writing", flush=True)
            time.sleep(0.01)

    atomic_write(sys.argv[1], chunks())
""")


def test_sigkill_during_atomic_write(figures, tmp_path):
    target = tmp_path / "metrics.json"
    target.write_text('{"old": true}\n')
    with figures.case("fault", "files", "sigkill_in_atomic_write", "SIGKILL while atomic_write streams 10 000 "
                      "chunks", "old file intact; the partial data only in a hidden .tmp file") as fig:  # fmt: skip
        proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(target)], stdout=subprocess.PIPE, text=True
        )
        assert proc.stdout.readline().strip() == "writing"
        proc.kill()
        proc.wait()
        leftovers = sorted(p.name for p in tmp_path.iterdir() if p != target)
        fig.outcome = f"target: {target.read_text().strip()}; leftovers: {leftovers}"
        assert target.read_text() == '{"old": true}\n'
        assert all(n.startswith(".metrics.json.") and n.endswith(".tmp") for n in leftovers)


def test_error_during_atomic_write(figures, tmp_path):
    target = tmp_path / "run.json"
    target.write_text("old\n")

    def chunks():
        yield "new, half"
        raise RuntimeError("producer failed")

    with figures.case("fault", "files", "error_in_atomic_write", "the producer raises half-way through a write",
                      "error propagates; old file intact; no temp file left") as fig:  # fmt: skip
        with pytest.raises(RuntimeError, match="producer failed"):
            fsutil.atomic_write(target, chunks())
        fig.outcome = (
            f"target: {target.read_text().strip()}; files: {sorted(p.name for p in tmp_path.iterdir())}"
        )
        assert target.read_text() == "old\n" and [p.name for p in tmp_path.iterdir()] == ["run.json"]


def test_disk_full_during_atomic_write(figures, tmp_path, monkeypatch):
    target = tmp_path / "metrics.json"
    target.write_text("old\n")

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    with figures.case("fault", "files", "disk_full_in_atomic_write", "ENOSPC when the new file is flushed",
                      "OSError reaches the caller; old file intact; no temp file left") as fig:  # fmt: skip
        monkeypatch.setattr(fsutil.os, "fsync", full)
        with pytest.raises(OSError) as e:
            fsutil.atomic_write(target, "new\n")
        monkeypatch.undo()
        fig.outcome = f"{e.value}; target: {target.read_text().strip()}"
        assert e.value.errno == errno.ENOSPC
        assert target.read_text() == "old\n" and [p.name for p in tmp_path.iterdir()] == ["metrics.json"]


# ==========================================================================================================
# MCP servers that crash, hang or flood during live evaluation: that item scored, evaluation goes on

FAULTY = {"faulty": live.ServerSpec("mcpft_lib.mcp.servers.faulty")}
FLOOD_CHARS = 2_000_000


def _call(tool: str, **arguments) -> live.Job:
    return live.Job(ToolCall(server="faulty", tool=tool, arguments=arguments))


@pytest.fixture(scope="module")
def live_faults():
    jobs = [
        _call("echo", text="before"),
        _call("crash"),
        _call("echo", text="after crash"),
        _call("hang"),
        _call("echo", text="after hang"),
        _call("echo", text="x" * FLOOD_CHARS),
        _call("echo", text="after flood"),
    ]
    runner = live.LiveRunner(["faulty"], timeout_s=2.0, specs=FAULTY)
    t0 = time.time()
    out = runner.run(jobs)
    return out, runner.starts, time.time() - t0


@pytest.mark.slow
@pytest.mark.parametrize(
    "case, index, status",
    [("server_crashes", 1, "crashed"), ("server_hangs", 3, "timeout"), ("server_floods_output", 5, "ok")],
)
def test_live_server_faults(figures, request, case, index, status):
    tried = {
        "server_crashes": "the server process exits mid-call",
        "server_hangs": "the server blocks forever on a call (timeout 2 s)",
        "server_floods_output": f"the server answers with {FLOOD_CHARS // 1_000_000} MB of text",
    }[case]
    with figures.case("fault", "live evaluation", case, tried, "that call scored; the next call is answered "
                      "(server restarted if needed)") as fig:  # fmt: skip
        out, starts, seconds = request.getfixturevalue("live_faults")
        o, nxt = out[index], out[index + 1]
        fig.outcome = (f"call: {o.status} ({o.text[:60]}…, {len(o.text)} chars kept), next call: {nxt.status}; "
                       f"{starts['faulty']} server starts, {seconds:.1f} s for 7 calls")  # fmt: skip
        assert o.status == status and nxt.status == "ok" and nxt.text.startswith("after")
        assert len(o.text) <= live.RESULT_CHARS  # a flood is cut to the stored size
        assert out[0].status == "ok" and starts["faulty"] == 3  # restarted after the crash and the hang


# ==========================================================================================================
# SIGKILL at an arbitrary moment of training, then resume (train.resume=auto)

TRAIN_CHILD = textwrap.dedent("""\
    import json, sys
    from pathlib import Path
    from mcpft_lib.config import load_params
    from mcpft_lib.data import generate, stage
    from mcpft_lib.mcp import catalogs
    from mcpft_lib.modeling import chat, loaders
    from mcpft_lib.train import trainer

    p = load_params(sys.argv[2], ["train.max_steps=9", "train.save_every=3", "train.eval_every=3", "train.batch_size=1",
                                  "train.save_total_limit=2", "train.logging_steps=1", "train.mixed_precision=fp32"])
    exs = generate.generate(8, 0, catalogs.load_catalogs(p.data.servers), p.data.categories)
    model, tok = loaders.load_model(p.model)
    rows, dropped = chat.tokenize_rows(tok, stage.chats(exs, p), p.data.max_length)
    import time
    from transformers import TrainerCallback

    class Pace(TrainerCallback):  # >= 0.3 s a step: steps 5..9 outlast the test's random kill delay (<= 1 s)
        def on_step_end(self, *args, **kwargs):
            time.sleep(0.3)

    summary, _ = trainer.train_lora(model, tok, rows, [], p.model, p.train, sys.argv[1], seed=0, callbacks=[Pace()])
    Path(sys.argv[1], "summary.json").write_text(json.dumps(summary))
""")


@pytest.mark.slow
def test_sigkill_during_training_then_resume(figures, tmp_path):
    import random

    out = tmp_path / "train"
    cmd = [sys.executable, "-c", TRAIN_CHILD, str(out), str(SMOKE)]
    delay = random.uniform(0.0, 1.0)  # anywhere in the next step(s), a checkpoint save included
    with figures.case("fault", "training", "sigkill_then_resume", "SIGKILL of a 9-step training process at a "
                      "random moment after step 4 (checkpoints every 3 steps), then the same command again",
                      "resumes from the newest complete checkpoint; at most one checkpoint interval of steps "
                      "redone; finishes all 9 steps") as fig:  # fmt: skip
        child = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:

            def past_first_checkpoint():  # step 4 logged: at least one step is lost when the kill lands
                try:
                    steps = [r["step"] for r in trainer.read_log(out / "train_log.jsonl") if "loss" in r]
                except ValueError:  # a line being written
                    return False
                return (steps and max(steps) >= 4) or child.poll() is not None

            _wait_for(past_first_checkpoint, 300, "step 4, past the first checkpoint")
            assert child.poll() is None, child.stdout.read()[-3000:]
            time.sleep(delay)
            child.kill()
            child.wait()
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
        logged = max(r["step"] for r in trainer.read_log(out / "train_log.jsonl")
                     if "loss" in r)  # fmt: skip
        assert child.returncode == -signal.SIGKILL and not (out / "summary.json").exists()
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
        summary = json.loads((out / "summary.json").read_text())
        resumed_at = int(Path(summary["resumed_from"]).name.split("-")[1])
        lost = logged - resumed_at
        fig.outcome = (f"killed after {delay:.2f} s with step {logged} logged; resumed from checkpoint-{resumed_at} "
                       f"({lost} step(s) redone); finished {summary['steps']}/9 steps")  # fmt: skip
        # 0 lost when the kill lands just after a checkpoint; never more than one interval (3 steps)
        assert summary["steps"] == 9 and resumed_at % 3 == 0 and 0 <= lost <= 3
        assert (Path(summary["adapter_dir"]) / "adapter_model.safetensors").is_file()
        steps = [x["step"] for x in trainer.read_log(summary["log"]) if "loss" in x]
        assert steps == list(range(1, 10))  # the log has every step once: the redone ones replace the lost


# ==========================================================================================================
# SIGKILL during export; concurrent registrations

EXPORT_CHILD = textwrap.dedent("""\
    import sys, time
    from pathlib import Path
    from mcpft_lib.config import load_params
    from mcpft_lib.export import formats
    from mcpft_lib.modeling import loaders

    out, params, mode = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
    p = load_params(params)
    model, tok = loaders.load_model(p.model)
    if mode == "park":  # every weight file written, manifest not yet: the most dangerous moment to die
        write = formats.write_safetensors

        def parked(*a, **kw):
            write(*a, **kw)
            (out / "parked").write_text("weights written")
            time.sleep(600)

        formats.write_safetensors = parked
    formats.export_all(model, tok, p.model, ["safetensors"], out / "exports", ["What time is it in Paris?"], "float32")
""")


def _lineage(exports: list[dict]) -> dict:
    return {"base_model": {"id": "tiny", "revision": "spec"}, "dataset": {"version": "d1"}, "params_hash": "h",
            "git": {"sha": "abc"}, "run_id": "r1", "metrics": {"train": {"steps": 1}}, "exports": exports}  # fmt: skip


@pytest.mark.slow
def test_sigkill_during_export(figures, tmp_path, monkeypatch):
    from mcpft_lib.export import formats, registry

    monkeypatch.setenv("MCPFT_REGISTRY", str(tmp_path / "registry"))
    final = tmp_path / "exports" / "merged-float32"
    with figures.case("fault", "export", "sigkill_during_export", "SIGKILL of an export after every weight file "
                      "is written, before its manifest; then the export again", "no folder that looks valid; "
                      "registering the partial export refused; the rerun exports and registers v1") as fig:  # fmt: skip
        child = subprocess.Popen([sys.executable, "-c", EXPORT_CHILD, str(tmp_path), str(SMOKE), "park"],
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip
        try:
            _wait_for(lambda: (tmp_path / "parked").exists() or child.poll() is not None, 300, "the weights")
            assert child.poll() is None, child.stdout.read()[-3000:]
            child.kill()
            child.wait()
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
        partial = sorted((tmp_path / "exports").glob(".merged-float32.partial-*"))
        weights = [p.name for d in partial for p in d.glob("*.safetensors")]
        assert not final.exists() and partial and weights  # the weights are there, but only in staging
        assert not any(formats.is_complete(d) for d in partial)
        with pytest.raises(registry.RegistryError) as refused:
            registry.register("m", _lineage([{"path": str(partial[0])}]))
        assert registry.versions("m") == []

        r = subprocess.run([sys.executable, "-c", EXPORT_CHILD, str(tmp_path), str(SMOKE), "run"],
                           capture_output=True, text=True, timeout=600)  # fmt: skip
        assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
        entry = registry.register("m", _lineage([{"path": str(final)}]))
        fig.outcome = (f"after the kill: final folder absent, staging holds {weights} without manifest; "
                       f"register: {refused.value}; rerun: complete={formats.is_complete(final)}, registered "
                       f"v{entry['version']}")  # fmt: skip
        assert formats.is_complete(final) and entry["version"] == 1 and registry.versions("m") == [1]


def test_concurrent_registrations(figures, tmp_path, monkeypatch):
    """Eight runs finishing at once register eight distinct versions; no entry is overwritten or torn."""
    from mcpft_lib.export import formats, registry

    monkeypatch.setenv("MCPFT_REGISTRY", str(tmp_path / "registry"))
    src = tmp_path / ".staging"
    src.mkdir()
    (src / "model.safetensors").write_bytes(b"weights")
    done = formats.finalize(src, tmp_path / "export", {"sha256": formats.checksums(src)})
    entries, errors, barrier = [], [], threading.Barrier(8)

    def reg(i):
        try:
            barrier.wait()
            entries.append(registry.register("m", {**_lineage([{"path": str(done)}]), "run_id": f"run{i}"}))
        except Exception as e:  # reported below
            errors.append(e)

    with figures.case("fault", "export", "eight_registrations_at_once", "8 threads register the same model name "
                      "at the same instant", "versions 1..8, one per run; every entry intact") as fig:  # fmt: skip
        threads = [threading.Thread(target=reg, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        on_disk = {registry.get(f"m:v{v}")["run_id"] for v in registry.versions("m")}
        fig.outcome = f"versions {registry.versions('m')}, {len(on_disk)} distinct runs, errors {errors}"
        assert not errors and registry.versions("m") == list(range(1, 9))
        assert on_disk == {f"run{i}" for i in range(8)}
