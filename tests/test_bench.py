import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_bench_train_prints_both_variants_and_ratio_last(tmp_path):
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "mcpft_lib.cli",
            "bench",
            "train",
            str(ROOT / "params/smoke.yaml"),
            "--steps",
            "2",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    lines = [line for line in r.stdout.splitlines() if line.strip()]
    assert lines[-1].startswith("speed ratio (mcpft / TRL defaults): ") and lines[-1].endswith("x")
    assert float(lines[-1].split(": ")[1].rstrip("x")) > 0
    for variant in ("trl_defaults", "mcpft"):
        (row,) = [line for line in lines if line.startswith(variant) and "tokens/s" in line]
        assert "tokens/s" in row and "peak RSS" in row and "held-out loss" in row
        mfu = float(row.split("MFU ")[1].split()[0])
        assert 0 < mfu < 1, row  # useful FLOPs x tokens/s over the matmul peak measured in the same run
    (flops,) = [line for line in lines if line.startswith("model FLOPs per training token")]
    assert float(flops.split("token ")[1].split()[0]) > 0 and "TFLOP/s" in flops
    (prof,) = [line for line in lines if line.startswith("mcpft step by op")]
    assert "matmuls" in prof and "aten::" in prof
