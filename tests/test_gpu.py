"""GPU checks (marker `gpu`; skipped where torch sees no CUDA device), through the GPU benchmarks: a QLoRA nf4
step of a small Mistral-shaped model, and a real CUDA out-of-memory error survived by halving the batch (a ~0.7B
model under an 8 GiB allocator cap). The full-size Devstral run (`python benchmarks/gpu_qlora_devstral.py`) is a
measurement, not a test; the last results are in benchmarks/results/."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.gpu


def _bench(script: str, tmp_path: Path, *args: str) -> tuple[int, str, list[dict]]:
    env = {**os.environ, "OUT": str(tmp_path)}
    r = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), *args], capture_output=True,
                       text=True, env=env, timeout=900, cwd=ROOT)  # fmt: skip
    return (
        r.returncode,
        r.stdout + r.stderr,
        [json.loads(p.read_text()) for p in sorted(tmp_path.glob("*.json"))],
    )


def test_qlora_nf4_step_fits_and_the_planner_is_beside_it(tmp_path):
    rc, out, results = _bench("gpu_qlora_devstral.py", tmp_path, "--tiny")
    assert rc == 0, out[-3000:]
    (res,) = results
    assert res["fits"] is True and res["quantized_linears"] > 0 and res["steps"]
    assert res["peak_allocated_gib"] > 0 and res["planner"]


def test_out_of_memory_halving_on_a_real_cuda_oom(tmp_path):
    rc, out, results = _bench("gpu_oom_halving.py", tmp_path)  # ~0.7B parameters under an 8 GiB cap
    assert rc == 0, out[-3000:]
    (res,) = results
    assert res["oom_retries"], "the cap did not cause an out-of-memory error: nothing was tested"
    assert res["final"]["batch_size"] * res["final"]["grad_accum"] == res["asked"]["batch_size"]
