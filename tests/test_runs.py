import ast
import json
import re
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


def _chain(n: int, p=None) -> list[runs.Run]:
    """n runs, each the upstream of the next: [oldest, ..., newest]."""
    p = p or load_params(ROOT / "params" / "smoke.yaml")
    out = [runs.create_run(p, "x")]
    for _ in range(n - 1):
        out.append(runs.create_run(p, "x", upstream=out[-1].id))
    return out


def _adapter(run: runs.Run) -> Path:
    d = runs.adapter_dir_of(run.train_out())
    d.mkdir(parents=True)
    (d / "adapter_config.json").write_text("{}")
    return d


def test_layout_on_disk_is_unchanged(isolated_reports):
    """The on-disk names are fixed (runs made before this layout was typed in runs.py stay readable)."""
    (run,) = _chain(1)
    a = run.artifact_dir
    assert (
        run.data_out() == a / "data" and run.train_out() == a / "train" and run.export_out() == a / "export"
    )
    assert run.checkpoints_dir() == a / "train" / "checkpoints"
    assert runs.adapter_dir_of(a / "train") == a / "train" / "adapter"
    assert runs.checkpoints_dir_of("t") == Path("t") / "checkpoints"
    assert runs.export_dir_of(a / "export", "safetensors", "bfloat16") == a / "export" / "merged-bfloat16"
    assert runs.export_dir_of("e", "gguf_q8_0") == Path("e") / "gguf_q8_0"
    with pytest.raises(ValueError, match="merged-<dtype>"):
        runs.export_dir_of("e", "safetensors")
    # an artifact folder written by hand the old way is what the readers return
    for rel in ("data", "train/adapter", "export/merged-float32"):
        (a / rel).mkdir(parents=True)
    assert run.data_dir() == a / "data" and run.adapter_dir() == a / "train" / "adapter"
    assert run.merged_dir("float32") == a / "export" / "merged-float32"


def test_writers_use_this_run_only(isolated_reports):
    up, down = _chain(2)
    for d in (up.data_out(), up.train_out(), up.export_out(), up.checkpoints_dir()):
        d.mkdir(parents=True)
    for d in (down.data_out(), down.train_out(), down.export_out()):
        assert d.parent == down.artifact_dir and d.parent.is_dir() and not d.exists()
    assert down.checkpoints_dir() == down.artifact_dir / "train" / "checkpoints"  # resume never crosses runs


def test_data_dir_found_upstream(isolated_reports):
    up, down = _chain(2)
    up.data_out().mkdir()
    assert down.data_dir() == up.data_out()
    down.data_out().mkdir()
    assert down.data_dir() == down.data_out()  # the newest run's artifact wins


def test_adapter_dir_found_upstream_and_missing(isolated_reports):
    up, mid, down = _chain(3)
    with pytest.raises(FileNotFoundError, match="'train/adapter' not found.*--upstream") as e:
        down.adapter_dir()
    assert all(str(r.artifact_dir) in str(e.value) for r in (up, mid, down))  # every folder it searched
    adapter = _adapter(up)
    assert down.adapter_dir() == adapter and mid.adapter_dir() == adapter


def test_merged_dir_by_dtype(isolated_reports):
    up, down = _chain(2)
    merged = runs.export_dir_of(up.export_out(), "safetensors", "float32")
    merged.mkdir(parents=True)
    assert down.merged_dir("float32") == merged
    with pytest.raises(FileNotFoundError, match="merged-bfloat16"):
        down.merged_dir("bfloat16")


def _gguf(run: runs.Run, fmt: str, complete: bool = True) -> Path:
    from mcpft_lib.export import formats

    folder = runs.export_dir_of(run.export_out(), fmt)
    folder.mkdir(parents=True)
    f = folder / f"model-{fmt}.gguf"
    f.write_bytes(b"GGUF " + fmt.encode())
    if complete:
        (folder / formats.MANIFEST).write_text(json.dumps({"sha256": formats.checksums(folder)}))
    return f


def test_gguf_path_complete_preferred_newest(isolated_reports):
    from mcpft_lib.export import formats

    up, down = _chain(2)
    assert down.gguf_path(formats.is_complete) is None
    f16 = _gguf(up, "gguf_f16")
    assert down.gguf_path(formats.is_complete) == f16  # found upstream
    q8 = _gguf(up, "gguf_q8_0")
    assert down.gguf_path(formats.is_complete) == q8  # q8_0 before f16
    own = _gguf(down, "gguf_f16", complete=False)
    assert down.gguf_path(formats.is_complete) == q8  # no manifest: an interrupted export does not count
    assert (
        down.gguf_path(lambda folder: True) == own
    )  # the newest run's export wins over the preferred format
    q8.write_bytes(b"GGUF changed")
    assert down.gguf_path(formats.is_complete) == f16  # checksum mismatch


def test_lineage_order(isolated_reports):
    up, mid, down = _chain(3)
    assert [r.id for r in down.lineage()] == [down.id, mid.id, up.id]
    assert [r.id for r in up.lineage()] == [up.id]


def test_lineage_stops_at_a_missing_upstream(isolated_reports):
    (run,) = _chain(1)
    run.update(upstream="20990101T000000Z-gone-smoke")
    with pytest.warns(runs.LineageWarning, match="20990101T000000Z-gone-smoke"):
        assert [r.id for r in run.lineage()] == [run.id]
    with pytest.warns(runs.LineageWarning), pytest.raises(FileNotFoundError, match="'data' not found"):
        run.data_dir()
    run.data_out().mkdir()
    assert run.data_dir() == run.data_out()  # found before the broken link: no walk past it


def test_lineage_stops_at_an_unreadable_upstream(isolated_reports):
    up, down = _chain(2)
    up.run_json.write_text("{half written")
    with pytest.warns(runs.LineageWarning, match="cannot be read"):
        assert [r.id for r in down.lineage()] == [down.id]


def test_lineage_stops_on_a_cycle(isolated_reports):
    a, b = _chain(2)
    a.update(upstream=b.id)  # a <- b <- a: only a hand-edited run.json does this
    with pytest.warns(runs.LineageWarning, match="cycle"):
        assert [r.id for r in b.lineage()] == [b.id, a.id]
    with pytest.warns(runs.LineageWarning, match="cycle"), pytest.raises(FileNotFoundError):
        b.adapter_dir()
    a.update(upstream=a.id)  # its own upstream
    with pytest.warns(runs.LineageWarning, match="cycle"):
        assert [r.id for r in a.lineage()] == [a.id]


def test_lineage_metrics_newest_section_wins(isolated_reports):
    up, mid, down = _chain(3)
    up.record_metrics("data", {"version": "d1"})
    up.record_metrics("train", {"steps": 1})
    mid.record_metrics("train", {"steps": 2})
    down.record_metrics("eval", {"n": 3})
    assert down.lineage_metrics() == {"data": {"version": "d1"}, "train": {"steps": 2}, "eval": {"n": 3}}
    assert mid.lineage_metrics() == {"data": {"version": "d1"}, "train": {"steps": 2}}
    up.update(upstream=down.id)  # a cycle: the walk ends, the merge is the same
    with pytest.warns(runs.LineageWarning):
        assert down.lineage_metrics()["train"] == {"steps": 2}


# --- no artifact path typed by hand outside runs.py ---------------------------------------------------------

# `/ "name"` joins that are not inside a run's artifact folder
NOT_ARTIFACTS = {
    ("mcpft_lib/evaluation/items.py", '/ "data"'): "the repository's data/ folder (challenge set)",
    ("mcpft_lib/evaluation/handwritten.py", '/ "data"'): "the repository's data/ folder (hand-written set)",
    (
        "mcpft_lib/data/synth/recipe.py",
        '/ "data"',
    ): "the repository's data/ folder (hand-written set's servers)",
    ("mcpft_lib/report/cards.py", '/ "adapter"'): "the layout of the published hub repository",
}
STAGE_NAMES = {"data", "train", "export", "adapter", "checkpoints"}
ARTIFACT_LITERAL = re.compile(r"^(train|export)/|(^|/)merged-")


def _literal(node) -> str | None:
    """A string constant, or an f-string with `{}` for its fields."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
    return None


def hand_typed_artifact_paths(source: str) -> list[str]:
    """What in `source` names a path inside a run's artifact folder by hand: `run.find` / `run.path` (the
    untyped primitives), a join onto `artifact_dir`, a `/ "train"`-style join, or a literal like
    "train/adapter" or f"merged-{dtype}". Docstrings do not count."""
    tree = ast.parse(source)
    docstrings = {
        id(n.body[0].value)
        for n in ast.walk(tree)
        if isinstance(n, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        and n.body
        and isinstance(n.body[0], ast.Expr)
    }
    docstrings |= {id(v) for n in ast.walk(tree) if isinstance(n, ast.JoinedStr) for v in n.values}  # parts
    found = []
    for n in ast.walk(tree):
        where = f"line {getattr(n, 'lineno', '?')}: "
        if isinstance(n, ast.Attribute) and n.attr in ("find", "path"):
            if isinstance(n.value, ast.Name) and re.search(r"(^|_)run$", n.value.id):
                found.append(where + f"{n.value.id}.{n.attr}")
        elif isinstance(n, ast.BinOp) and isinstance(n.op, ast.Div):
            if isinstance(n.left, ast.Attribute) and n.left.attr == "artifact_dir":
                found.append(where + "artifact_dir / ...")
            elif (lit := _literal(n.right)) is not None and lit.split("/")[0] in STAGE_NAMES:
                found.append(where + f'/ "{lit}"')
        elif (lit := _literal(n)) is not None and id(n) not in docstrings and ARTIFACT_LITERAL.search(lit):
            found.append(where + repr(lit))
    return found


def _sources():
    """(file, where, source) of every module of mcpft_lib and every code cell of the notebooks."""
    for f in sorted((ROOT / "mcpft_lib").rglob("*.py")):
        yield f.relative_to(ROOT).as_posix(), "", f.read_text()
    for f in sorted((ROOT / "notebooks").rglob("*.ipynb")):
        for c in nbformat.read(f, as_version=4).cells:
            if c.cell_type == "code":
                yield f.relative_to(ROOT).as_posix(), f"cell {c.get('id')} ", c.source


def test_the_checker_finds_hand_typed_paths():
    bad = (
        'run.find("train/adapter")\nrun.path("export")\nperf.run_artifacts(run.find, "x")\n'
        'x = out_dir / "checkpoints"\ny = run.artifact_dir / "data"\nz = f"merged-{dtype}"\n'
        'w = "export/gguf_q8_0"\n'
    )
    assert {hit.split(":")[0] for hit in hand_typed_artifact_paths(bad)} == {f"line {i}" for i in range(1, 8)}
    good = (
        '"""export/merged-<dtype> in a docstring"""\nrun.adapter_dir()\nrun.merged_dir("float32")\n'
        'runs.export_dir_of(out, "gguf_f16")\nsplits["train"]\nrun.record_metrics("data", {})\n'
        'text.find("x")\n'
    )
    assert hand_typed_artifact_paths(good) == []


def test_no_artifact_path_typed_by_hand():
    found = []
    for rel, where, source in _sources():
        if rel == "mcpft_lib/runs.py":
            continue
        for hit in hand_typed_artifact_paths(source):
            if not any(rel == f and hit.endswith(snippet) for f, snippet in NOT_ARTIFACTS):
                found.append(f"{rel} {where}{hit}")
    assert found == [], (
        "use the Run methods / runs.*_of functions (mcpft_lib/runs.py) instead:\n" + "\n".join(found)
    )


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


@pytest.mark.notebook
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


@pytest.mark.notebook
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
