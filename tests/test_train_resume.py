"""Checkpoints and resume: a training run SIGKILLed after a checkpoint and resumed with `train.resume=auto`
ends with the same adapter as an uninterrupted run.

Tolerance: 1e-6 (max |difference| of any adapter weight), fp32 on CPU. The resumed run reloads the adapter
(safetensors), optimizer, scheduler and RNG states from the checkpoint and the Trainer replays the same
seeded data order, so the arithmetic is the same; 1e-6 only leaves room for summation-order noise.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from mcpft_lib.config import ModelParams, TrainParams
from mcpft_lib.modeling import chat, loaders
from mcpft_lib.train import trainer

TOL = 1e-6
HERE = Path(__file__).resolve().parent
MP = ModelParams(source="tiny_random", device="cpu", dtype="float32")
TP = TrainParams(
    max_steps=12,
    batch_size=2,
    learning_rate=5e-3,
    warmup_ratio=0.1,
    scheduler="cosine",
    logging_steps=1,
    eval_every=4,
    save_every=4,
    save_total_limit=2,
    mixed_precision="fp32",
    lora={"r": 4, "alpha": 8, "dropout": 0.1, "target_modules": ["q_proj", "v_proj"]},
)
KILL_AFTER_STEP = 6  # checkpoint-4 exists, steps 5-6 are done (5 logged): the resumed run must redo them


def chats() -> list[list[dict]]:
    """Eight chats of different lengths (so length grouping and padding matter)."""
    return [
        [
            {"role": "system", "content": "tools: " + "get_time " * (i % 4)},
            {"role": "user", "content": f"question {i} " + "please " * i},
            {"role": "assistant", "content": f"<call>tool_{i % 3}</call>"},
            {"role": "user", "content": "result " * (1 + i % 3)},
            {"role": "assistant", "content": "answer " * (1 + i % 5)},
        ]
        for i in range(8)
    ]


def train_run(out_dir, tp=TP, **kw):
    model, tok = loaders.load_model(MP)
    rows, dropped = chat.tokenize_rows(tok, chats(), 4096)
    assert not dropped
    return trainer.train_lora(model, tok, rows, rows[:2], MP, tp, out_dir, seed=0, **kw)


# Runs in a child process: trains with a callback that, once step KILL_AFTER_STEP is done, leaves a marker and
# waits to be killed, so the SIGKILL always lands at the same point (after checkpoint-4, before checkpoint-8).
CHILD = f"""
import sys, time
from pathlib import Path
sys.path.insert(0, {str(HERE)!r})
from transformers import TrainerCallback
import test_train_resume as T

class Park(TrainerCallback):
    def on_step_end(self, args, state, control, **kw):
        if state.global_step == T.KILL_AFTER_STEP:
            Path(sys.argv[1], "parked").write_text(str(state.global_step))
            time.sleep(600)

T.train_run(sys.argv[1], callbacks=[Park()], progress_to_stderr=True)
"""


def adapter(path) -> dict:
    return load_file(str(Path(path) / "adapter_model.safetensors"))


@pytest.mark.slow
def test_killed_run_resumes_to_the_same_adapter(tmp_path):
    killed = tmp_path / "killed"
    killed.mkdir()
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(killed)], stderr=subprocess.PIPE, text=True, env=dict(os.environ)
    )
    try:
        deadline = time.time() + 120
        while not (killed / "parked").exists():
            assert child.poll() is None, f"training child died: {child.stderr.read()[-3000:]}"
            assert time.time() < deadline, "training child never reached the kill point"
            time.sleep(0.05)
        assert (killed / "checkpoints" / "checkpoint-4" / "trainer_state.json").is_file()
        child.send_signal(signal.SIGKILL)
        _, err = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == -signal.SIGKILL
    assert "train:" in err  # the text progress bar of headless runs goes to stderr
    assert not (killed / "adapter").exists()
    logged = [r["step"] for r in trainer.read_log(killed / "train_log.jsonl") if "loss" in r]
    assert max(logged) == KILL_AFTER_STEP - 1  # on_step_end comes before the step's log record
    at_kill = adapter(killed / "checkpoints" / "checkpoint-4")

    resumed, _ = train_run(killed)  # train.resume=auto: newest complete checkpoint
    assert resumed["resumed_from"].endswith("checkpoint-4") and resumed["steps"] == TP.max_steps
    whole, _ = train_run(tmp_path / "whole")
    assert whole["resumed_from"] is None

    a, b = adapter(resumed["adapter_dir"]), adapter(whole["adapter_dir"])
    assert a.keys() == b.keys() and a
    diff = max(float((a[k] - b[k]).abs().max()) for k in a)
    assert diff <= TOL, f"resumed adapter differs from the uninterrupted one by {diff:.2e}"
    print(f"max |resumed - uninterrupted| = {diff:.1e}")
    assert any(float((a[k] - at_kill[k]).abs().max()) > 1e-4 for k in a)  # training went on after the resume

    # the log continues where the checkpoint left off: every step once, with the uninterrupted run's losses
    log_r = [r for r in trainer.read_log(resumed["log"]) if "loss" in r]
    log_w = [r for r in trainer.read_log(whole["log"]) if "loss" in r]
    assert [r["step"] for r in log_r] == [r["step"] for r in log_w] == list(range(1, 13))
    assert all(abs(x["loss"] - y["loss"]) <= 1e-5 for x, y in zip(log_r, log_w, strict=True))


def test_incomplete_checkpoint_is_skipped(tmp_path):
    """A kill while saving leaves a checkpoint folder without trainer_state.json (written last): not resumable."""
    for step, state in ((4, {"global_step": 4}), (8, None)):
        d = tmp_path / f"checkpoint-{step}"
        d.mkdir()
        (d / "adapter_model.safetensors").write_bytes(b"")
        if state:
            (d / "trainer_state.json").write_text(json.dumps(state))
    (tmp_path / "checkpoint-12").mkdir()
    (tmp_path / "checkpoint-12" / "trainer_state.json").write_text('{"global_st')  # cut mid-write
    assert trainer.newest_checkpoint(tmp_path) == tmp_path / "checkpoint-4"
    assert trainer.newest_checkpoint(tmp_path / "absent") is None


def test_resume_modes(tmp_path):
    (tmp_path / "checkpoint-2").mkdir()
    (tmp_path / "checkpoint-2" / "trainer_state.json").write_text('{"global_step": 2}')
    assert trainer.resume_checkpoint(TP, tmp_path) == tmp_path / "checkpoint-2"
    with pytest.raises(FileExistsError, match="resume=never"):
        trainer.resume_checkpoint(TP.model_copy(update={"resume": "never"}), tmp_path)
    assert trainer.resume_checkpoint(TP.model_copy(update={"resume": "never"}), tmp_path / "new") is None
    explicit = TrainParams(resume=str(tmp_path / "checkpoint-2"))
    assert trainer.resume_checkpoint(explicit, tmp_path / "elsewhere") == tmp_path / "checkpoint-2"
    with pytest.raises(ValueError, match="not a checkpoint folder"):
        TrainParams(resume=str(tmp_path))


@pytest.mark.slow
def test_checkpoint_files_load_with_safe_loaders(tmp_path):
    """Adapter weights are safetensors; optimizer, scheduler and RNG states load with weights_only=True (the RNG
    state holds numpy arrays: transformers allowlists exactly those types, as here)."""
    from transformers.trainer_pt_utils import safe_globals

    tp = TP.model_copy(update={"max_steps": 2, "save_every": 2, "eval_every": 2})
    summary, _ = train_run(tmp_path, tp=tp)
    ckpt = Path(summary["checkpoints"]) / "checkpoint-2"
    assert adapter(ckpt)
    # the only pickle is training_args.bin (TrainingArguments, kept for reference; resuming never loads it)
    assert [p.name for p in ckpt.glob("*.bin")] == ["training_args.bin"]
    for name in ("optimizer.pt", "scheduler.pt", "rng_state.pth"):
        with safe_globals():
            torch.load(ckpt / name, weights_only=True)


def test_resume_path_is_stored_absolute(tmp_path, monkeypatch):
    (tmp_path / "checkpoint-2").mkdir()
    (tmp_path / "checkpoint-2" / "trainer_state.json").write_text('{"global_step": 2}')
    monkeypatch.chdir(tmp_path)
    assert TrainParams(resume="checkpoint-2").resume == str(tmp_path / "checkpoint-2")
