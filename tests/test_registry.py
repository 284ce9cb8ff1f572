"""Registry: lineage, versions never overwritten, interrupted exports register nothing, concurrent versions."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from mcpft_lib import cli, runs
from mcpft_lib.config import load_params
from mcpft_lib.export import formats, registry

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def reg(isolated_reports, monkeypatch):
    monkeypatch.setenv("MCPFT_REGISTRY", str(isolated_reports / "registry"))
    return isolated_reports / "registry"


def fake_export(path: Path, payload: bytes = b"weights") -> dict:
    """A finished export folder (weights + manifest written last), without loading a model."""
    tmp = formats.staging_dir(path)
    (tmp / "model.safetensors").write_bytes(payload)
    row = {
        "format": "safetensors-float32",
        "path": str(path),
        "bytes": len(payload),
        "sha256": formats.checksums(tmp),
    }
    formats.finalize(tmp, path, row)
    return row


@pytest.fixture
def run_with_metrics(reg, isolated_reports):
    params = load_params(ROOT / "params/smoke.yaml")
    run = runs.create_run(params, "params/smoke.yaml")
    run.record_metrics("data", {"version": "ds-abc123"})
    run.record_metrics("train", {"steps": 3, "final_loss": 2.5})
    adapter = runs.adapter_dir_of(run.train_out())
    adapter.mkdir(parents=True)
    (adapter / "adapter_model.safetensors").write_bytes(b"lora")
    return params, run, adapter


def entry_for(params, run, adapter, tmp: Path, tag: str = "a") -> dict:
    exports = [fake_export(tmp / f"export-{tag}", tag.encode())]
    return registry.lineage(params, run, exports, {"max_abs_logit_diff": 1e-7}, adapter)


def test_lineage_is_complete(run_with_metrics, tmp_path):
    params, run, adapter = run_with_metrics
    e = registry.register("mcp-tiny", entry_for(params, run, adapter, tmp_path))
    assert e["version"] == 1 and registry.missing_lineage(e) == []
    assert e["base_model"]["source"] == "tiny_random" and e["base_model"]["revision"].startswith("tiny-")
    assert e["dataset"]["version"] == "ds-abc123"
    assert e["params_hash"] == params.hash() and e["run_id"] == run.id
    assert e["git"]["sha"] == run.info()["git"]["sha"]
    assert e["metrics"]["train"]["final_loss"] == 2.5 and e["metrics"]["merge"]["max_abs_logit_diff"] == 1e-7
    assert e["adapter"]["sha256"] == {
        "adapter_model.safetensors": formats.sha256_file(adapter / "adapter_model.safetensors")
    }
    assert e["exports"][0]["sha256"] and registry.get("mcp-tiny") == e


def test_lineage_takes_data_and_training_from_the_upstream_run(run_with_metrics, tmp_path):
    """`--only 03 --upstream RUN`: the dataset version and training metrics were recorded by the upstream run;
    a section this run recorded itself wins over the upstream's."""
    params, up, adapter = run_with_metrics
    run = runs.create_run(params, "params/smoke.yaml", upstream=up.id)
    assert run.adapter_dir() == adapter
    e = entry_for(params, run, run.adapter_dir(), tmp_path)
    assert e["run_id"] == run.id and e["dataset"]["version"] == "ds-abc123"
    assert e["metrics"]["train"]["final_loss"] == 2.5
    run.record_metrics("train", {"steps": 4, "final_loss": 1.5})
    assert entry_for(params, run, adapter, tmp_path, "b")["metrics"]["train"]["final_loss"] == 1.5


def test_missing_lineage_is_refused_by_name(run_with_metrics, tmp_path):
    params, run, adapter = run_with_metrics
    entry = entry_for(params, run, adapter, tmp_path)
    entry["dataset"]["version"] = None
    del entry["git"]["sha"]
    with pytest.raises(registry.RegistryError, match=r"missing \['dataset.version', 'git.sha'\]"):
        registry.register("mcp-tiny", entry)
    assert registry.versions("mcp-tiny") == []


def test_second_run_is_next_version_and_refs_resolve(run_with_metrics, tmp_path):
    params, run, adapter = run_with_metrics
    registry.register("mcp-tiny", entry_for(params, run, adapter, tmp_path, "a"))
    e2 = registry.register("mcp-tiny", entry_for(params, run, adapter, tmp_path, "b"))
    assert e2["version"] == 2 and registry.versions("mcp-tiny") == [1, 2]
    assert registry.get("mcp-tiny")["version"] == 2
    assert registry.get("mcp-tiny:latest")["version"] == 2
    assert registry.get("mcp-tiny:v1")["version"] == registry.get("mcp-tiny:1")["version"] == 1
    with pytest.raises(registry.RegistryError, match="has no v7"):
        registry.get("mcp-tiny:v7")
    with pytest.raises(registry.RegistryError, match="no model 'other'.*known: mcp-tiny"):
        registry.get("other")
    with pytest.raises(registry.RegistryError, match="bad version"):
        registry.get("mcp-tiny:seven")


def test_overwrite_attempt_fails_clearly_and_keeps_the_original(run_with_metrics, tmp_path):
    params, run, adapter = run_with_metrics
    registry.register("mcp-tiny", entry_for(params, run, adapter, tmp_path, "a"))
    before = (registry.root() / "mcp-tiny" / "v1.json").read_bytes()
    with pytest.raises(
        registry.RegistryError, match="v1 already exists; registered versions are never overwritten"
    ):
        registry.register("mcp-tiny", entry_for(params, run, adapter, tmp_path, "b"), version=1)
    assert (registry.root() / "mcp-tiny" / "v1.json").read_bytes() == before
    assert not [p for p in (registry.root() / "mcp-tiny").iterdir() if p.name.endswith(".tmp")]


def test_incomplete_or_tampered_exports_register_nothing(run_with_metrics, tmp_path):
    params, run, adapter = run_with_metrics
    entry = entry_for(params, run, adapter, tmp_path)
    partial = tmp_path / ".export-x.partial-1"
    partial.mkdir()
    (partial / "model.safetensors").write_bytes(b"half")
    bad = {**entry, "exports": entry["exports"] + [{"format": "int8", "path": str(partial)}]}
    with pytest.raises(registry.RegistryError, match="exports incomplete"):
        registry.register("mcp-tiny", bad)
    (Path(entry["exports"][0]["path"]) / "model.safetensors").write_bytes(b"changed")
    with pytest.raises(registry.RegistryError, match="exports incomplete"):
        registry.register("mcp-tiny", entry)
    assert registry.versions("mcp-tiny") == []


def test_concurrent_registrations_get_distinct_versions(run_with_metrics, tmp_path):
    params, run, adapter = run_with_metrics
    entries = [entry_for(params, run, adapter, tmp_path, str(i)) for i in range(8)]
    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(lambda e: registry.register("mcp-tiny", e)["version"], entries))
    assert sorted(got) == list(range(1, 9)) and registry.versions("mcp-tiny") == list(range(1, 9))
    paths = {registry.get(f"mcp-tiny:v{v}")["exports"][0]["path"] for v in got}
    assert len(paths) == 8  # each version holds its own entry, none overwritten by another


def test_evaluation_is_added_once(run_with_metrics, tmp_path):
    params, run, adapter = run_with_metrics
    registry.register("mcp-tiny", entry_for(params, run, adapter, tmp_path))
    ev = {"base": {"tool_selection": {"value": 0.2}}, "fine_tuned": {"tool_selection": {"value": 0.6}}}
    e = registry.add_evaluation("mcp-tiny:v1", ev)
    assert e["metrics"]["eval"] == ev and registry.list_models()[0]["tool_selection"] == 0.6
    with pytest.raises(registry.RegistryError, match="already has evaluation"):
        registry.add_evaluation("mcp-tiny:v1", ev)


def test_compare_and_cli(run_with_metrics, tmp_path, capsys):
    params, run, adapter = run_with_metrics
    registry.register("mcp-tiny", entry_for(params, run, adapter, tmp_path, "a"))
    e2 = entry_for(params, run, adapter, tmp_path, "b")
    e2["metrics"]["train"] = {"steps": 3, "final_loss": 1.5}
    registry.register("mcp-tiny", e2)
    rows = {r["field"]: r for r in registry.compare("mcp-tiny:v1", "mcp-tiny:v2")}
    assert (
        rows["metrics.train.final_loss"]["mcp-tiny:v1"] == 2.5
        and rows["metrics.train.final_loss"]["mcp-tiny:v2"] == 1.5
    )
    assert "params_hash" not in rows  # same params
    assert cli.main(["models", "list"]) == 0
    out = capsys.readouterr().out
    assert "mcp-tiny" in out and "v1" in out and "v2" in out
    assert cli.main(["models", "show", "mcp-tiny:v1"]) == 0
    assert json.loads(capsys.readouterr().out)["version"] == 1
    assert cli.main(["models", "compare", "mcp-tiny:v1", "mcp-tiny:v2"]) == 0
    assert "metrics.train.final_loss" in capsys.readouterr().out
    assert cli.main(["models", "show", "nope"]) == 2
    assert "no model 'nope'" in capsys.readouterr().err


KILL_SCRIPT = """
import sys, time
from pathlib import Path
from mcpft_lib import runs
from mcpft_lib.export import formats as export
from mcpft_lib.export import registry
from mcpft_lib.config import load_params
params = load_params(sys.argv[1], ["export.formats=[safetensors, int8]"])
run = runs.create_run(params, sys.argv[1])
run.record_metrics("data", {"version": "ds"})
run.record_metrics("train", {"final_loss": 1.0})
merged, tok, check = export.merge_adapter(params.model, sys.argv[2], ["hello"])
real = export.load_export
def stall(fmt, *a, **k):  # the safetensors export finishes; the int8 one is killed while it is verified
    if fmt == "int8":
        Path(sys.argv[3]).write_text(str(run.artifact_dir))
        time.sleep(120)
    return real(fmt, *a, **k)
export.load_export = stall
registry.export_and_register(params, run, merged, tok, ["hello"], check, sys.argv[2])
"""


@pytest.mark.slow
def test_killed_export_registers_nothing(reg, isolated_reports, tmp_path):
    from tests.test_export import make_adapter

    params = load_params(ROOT / "params/smoke.yaml")
    adapter = make_adapter(params.model, tmp_path / "adapter")
    flag = tmp_path / "flag"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-c", KILL_SCRIPT, str(ROOT / "params/smoke.yaml"), str(adapter), str(flag)], env=env
    )
    deadline = time.time() + 180
    while not flag.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.2)
    assert flag.exists(), f"subprocess ended early (rc={proc.poll()})"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    export_dir = Path(flag.read_text()) / "export"
    names = sorted(p.name for p in export_dir.iterdir())
    assert names[0] == ".int8.partial-" + str(proc.pid) and names[1:] == ["merged-float32"]
    assert registry.versions(params.export.model_name) == []


def test_merge_check_over_tolerance_exports_and_registers_nothing(run_with_metrics):
    params, run, adapter = run_with_metrics
    with pytest.raises(formats.ExportError, match="merge check failed.*nothing exported or registered"):
        registry.export_and_register(params, run, None, None, ["x"], {"max_abs_logit_diff": 1.0}, adapter)
    assert not (run.artifact_dir / "export").exists() and registry.names() == []


def test_lineage_follows_the_upstream_run(run_with_metrics, tmp_path):
    """`mcpft run --only 03 --upstream RUN`: data and training metrics come from the upstream run."""
    params, up, adapter = run_with_metrics
    up.update(status="ok")
    run = runs.create_run(params, "params/smoke.yaml", upstream=up.id)
    e = registry.register("mcp-tiny", entry_for(params, run, adapter, tmp_path))
    assert e["run_id"] == run.id and e["dataset"]["version"] == "ds-abc123"
    assert e["metrics"]["train"]["final_loss"] == 2.5
