"""The multi-process path: `torchrun` starts 2 CPU processes (gloo) that train the tiny model for one epoch
with DDP through `python -m mcpft_lib.train` (the same entry accelerate launch uses on GPUs)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import free_port

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_two_cpu_processes_train_with_ddp(tmp_path):
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node=2",
        f"--master_port={free_port()}",
        "-m",
        "mcpft_lib.train",
        str(ROOT / "params/smoke.yaml"),
        str(tmp_path / "out"),
        "--set",
        "data.n_examples=20",
        "--set",
        "train.epochs=1",  # replaces the profile's max_steps
        "--set",
        "train.batch_size=1",
    ]
    env = dict(os.environ, OMP_NUM_THREADS="1")  # one thread per process on a 2-core machine
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    (line,) = [x for x in r.stdout.splitlines() if x.startswith("{")]  # rank 0 prints the summary
    summary = json.loads(line)
    # each step takes one row per process: one epoch is half as many steps as there are rows (rounded up)
    n = summary["train_rows"]
    assert summary["processes"] == 2 and summary["steps"] == summary["max_steps"] == -(-n // 2)
    assert (tmp_path / "out/adapter/adapter_model.safetensors").is_file()
    # the Trainer's own count agrees: the last step ends the first epoch
    log = [json.loads(x) for x in (tmp_path / "out/train_log.jsonl").read_text().splitlines()]
    last = [x for x in log if "loss" in x][-1]
    assert last["step"] == summary["steps"] and last["epoch"] == 1.0 == summary["epochs_done"]


def test_accelerate_configs_load_and_are_commented():
    from accelerate.commands.config.config_args import load_config_from_file

    kinds = {}
    for path in sorted((ROOT / "params/accelerate").glob("*.yaml")):
        kinds[path.stem] = load_config_from_file(str(path)).distributed_type.value
        for line in path.read_text().splitlines():
            if line.strip() and not line.lstrip().startswith("#") and not line.rstrip().endswith(":"):
                assert "#" in line, f"{path.name}: uncommented key: {line}"
    assert kinds == {"ddp": "MULTI_GPU", "fsdp_qlora": "FSDP"}
