"""Training length: `train.epochs` (or `train.max_steps`) and the validation / checkpoint intervals in optimizer
steps, counted as transformers' Trainer counts them (`mcpft_lib/train/schedule.py`)."""

from pathlib import Path
from types import SimpleNamespace

import pytest

from mcpft_lib.config import ModelParams, TrainParams, load_params
from mcpft_lib.data import stage
from mcpft_lib.mcp import catalogs
from mcpft_lib.modeling import chat, loaders
from mcpft_lib.train import schedule, trainer

ROOT = Path(__file__).resolve().parent.parent
MP = ModelParams(source="tiny_random", device="cpu")
CHAT = [
    {"role": "system", "content": "SYSTEM PROMPT"},
    {"role": "user", "content": "first question"},
    {"role": "assistant", "content": "FIXED CALL"},
    {"role": "user", "content": "tool result"},
    {"role": "assistant", "content": "FINAL ANSWER"},
]


@pytest.fixture(scope="module")
def tiny():
    return loaders.load_model(MP)


def _flow(args, max_steps: int) -> tuple[list[int], list[int]]:
    """The steps at which the Trainer's own DefaultFlowCallback evaluates and saves with these arguments."""
    from transformers.trainer_callback import DefaultFlowCallback, TrainerControl, TrainerState

    state, flow, evals, saves = TrainerState(max_steps=max_steps), DefaultFlowCallback(), [], []
    state.compute_steps(args, max_steps)
    for step in range(1, max_steps + 1):
        state.global_step = step
        control = flow.on_step_end(args, state, TrainerControl())
        evals += [step] if control.should_evaluate else []
        saves += [step] if control.should_save else []
    return evals, saves


@pytest.mark.parametrize(
    "rows, batch, accum, processes, want",
    [
        (782, 4, 1, 1, 196),  # the default profile's train split built without a tokenizer
        (781, 4, 1, 1, 196),  # ... and with Gemma's (notebook 01): the last batch of one row is a step too
        (784, 4, 1, 1, 196),
        (785, 4, 1, 1, 197),
        (10, 2, 2, 1, 3),  # 5 batches accumulated 2 at a time: the last, single batch is an optimizer step
        (9, 2, 4, 1, 2),
        (7, 8, 1, 1, 1),  # fewer rows than a batch: one step
        (15, 1, 1, 2, 8),  # two processes, 8 batches each (accelerate pads the shorter one: even batches)
        (3748, 2, 8, 1, 235),  # the Devstral profile's train split
    ],
)
def test_steps_per_epoch(rows, batch, accum, processes, want):
    assert schedule.steps_per_epoch(rows, batch, accum, processes) == want
    # halving the batch after an out-of-memory error doubles the accumulation and keeps the count
    if batch > 1:
        half, more = trainer.halve_batch(batch, accum)
        assert schedule.steps_per_epoch(rows, half, more, processes) == want


@pytest.mark.parametrize(
    "rows, batch, accum", [(10, 4, 1), (10, 2, 2), (9, 2, 4), (11, 3, 2), (7, 8, 1), (781, 4, 1)]
)
def test_steps_per_epoch_is_the_trainers_own_count(tiny, tmp_path, rows, batch, accum):
    """The Trainer built with the arguments train_lora passes counts the same update steps per epoch, and so
    the same number of epochs in the derived max_steps."""
    from datasets import Dataset

    model, tok = tiny
    tp = TrainParams(epochs=3, batch_size=batch, grad_accum=accum, mixed_precision="fp32")
    sched = schedule.derive(tp, rows, 1)
    args = trainer._sft_config(MP, tp, sched, tmp_path, 0, has_val=False)
    data = Dataset.from_list(
        [{"input_ids": [1, 2, 3 + i % 5], "labels": [1, 2, 3 + i % 5]} for i in range(rows)]
    )
    t = trainer._trainer_class(trainer._sft_trainer())(
        model=model, args=args, train_dataset=data, processing_class=tok
    )
    epochs, per_epoch, *_, max_steps = t.set_initial_training_values(args, t.get_train_dataloader())
    assert per_epoch == sched.steps_per_epoch and (epochs, max_steps) == (3, sched.max_steps)


def test_three_epochs_of_the_curated_set_derive_588_steps_and_an_evaluation_and_checkpoint_each_epoch(
    tmp_path,
):
    """Three epochs of the curated 900-example set (the former default, pinned in tests/test_data.py): 782 training
    rows built without a tokenizer, 781 with the run's; both make 196 steps an epoch at batch 4, 588 in all, and
    the Trainer, given the arguments train_lora builds, validates and saves at 196, 392 and 588. The default
    profile itself gives its length in steps: 30, validated and saved at 30."""
    d = load_params(ROOT / "params/default.yaml")
    assert (d.train.epochs, d.train.max_steps, d.train.eval_every, d.train.save_every) == (None, 30, 30, 30)
    s = schedule.derive(d.train, 200, 1)
    assert (s.length_from, s.max_steps, s.eval_at, s.save_at) == ("max_steps", 30, [30], [30])
    curated = ["data.n_examples=900", "data.synth.n_examples=0", "data.val_fraction=0.08"]
    p = load_params(ROOT / "params/default.yaml", [*curated, "train.epochs=3", "train.eval_every=epoch",
                                                    "train.save_every=epoch"])  # fmt: skip
    assert (p.train.epochs, p.train.max_steps, p.train.eval_every, p.train.save_every) == (
        3,
        None,
        "epoch",
        "epoch",
    )
    built = stage.build_dataset(p, catalogs.load_catalogs(p.data.servers), tmp_path)
    assert len(built["splits"]["train"]) == 782
    for rows in (782, 781):
        s = schedule.derive(p.train, rows, 1)
        assert (s.length_from, s.steps_per_epoch, s.max_steps, s.eval_steps, s.save_steps) == (
            "epochs",
            196,
            588,
            196,
            196,
        )
        args = trainer._sft_config(p.model, p.train, s, tmp_path, p.run.seed, has_val=True)
        assert _flow(args, s.max_steps) == ([196, 392, 588], [196, 392, 588])
        assert s.eval_at == s.save_at == [196, 392, 588]


@pytest.mark.parametrize(
    "profile, want",
    [
        ("smoke", {"length_from": "max_steps", "train_rows": 40, "steps_per_epoch": 20, "max_steps": 3,
                   "eval_at": [2, 3], "save_at": [2, 3]}),
        ("devstral-small-3090", {"length_from": "max_steps", "train_rows": 3748, "steps_per_epoch": 235,
                                 "max_steps": 600, "eval_at": [*range(100, 601, 100)]}),
    ],
)  # fmt: skip
def test_other_profiles_derive(tmp_path, profile, want):
    p = load_params(ROOT / f"params/{profile}.yaml")
    built = stage.build_dataset(p, catalogs.load_catalogs(p.data.servers), tmp_path)
    got = schedule.derive(p.train, len(built["splits"]["train"]), 1).as_dict()
    assert {k: got[k] for k in want} == want


def test_max_steps_and_processes():
    tp = TrainParams(max_steps=50, batch_size=4, grad_accum=2, eval_every=20, save_every="epoch")
    s = schedule.derive(tp, 100, 2)  # 100 rows / (4 x 2 x 2) = 7 steps an epoch
    assert (s.length_from, s.steps_per_epoch, s.max_steps, s.epochs, s.effective_batch) == (
        "max_steps",
        7,
        50,
        round(50 / 7, 4),
        16,
    )
    assert s.eval_at == [20, 40, 50] and s.save_at == [7, 14, 21, 28, 35, 42, 49, 50]
    with pytest.raises(ValueError, match="no training rows"):
        schedule.derive(tp, 0, 1)


def test_early_stopping_between_saves_is_refused_once_the_rows_are_known():
    tp = TrainParams(epochs=2, batch_size=2, eval_every=3, save_every="epoch", early_stopping={"patience": 2})
    with pytest.raises(
        ValueError, match=r"train.save_every='epoch' \(5 steps\) must be a multiple of train.eval_every=3"
    ):
        schedule.derive(tp, 10, 1)
    assert schedule.derive(tp, 12, 1).save_steps == 6


def test_processes_count_dataparallel_gpus(monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "4")
    assert schedule.processes() == 4 and schedule.derive(TrainParams(batch_size=1), 10).steps_per_epoch == 3
    # one process driving two GPUs (the Trainer's DataParallel): a batch per GPU each step
    assert (
        trainer._replicas(SimpleNamespace(world_size=1, train_batch_size=8, per_device_train_batch_size=4))
        == 2
    )


def test_epochs_train_to_the_trainers_epoch_boundaries(tmp_path):
    """Two epochs of 10 rows in batches of 2 accumulated 2 at a time: 3 optimizer steps an epoch (the third on the
    fifth batch alone). The Trainer agrees: it reports epoch 1.0 at step 3 and 2.0 at step 6, where it validated
    and saved (eval_every / save_every: epoch)."""
    model, tok = loaders.load_model(MP)
    rows, _ = chat.tokenize_rows(tok, [CHAT] * 10, 10_000)
    tp = TrainParams(epochs=2, batch_size=2, grad_accum=2, logging_steps=1, save_total_limit=5, warmup_ratio=0.0,
                     mixed_precision="fp32", lora={"r": 4, "alpha": 8})  # fmt: skip
    summary, _ = trainer.train_lora(model, tok, rows, rows[:2], MP, tp, tmp_path)
    assert (summary["length_from"], summary["steps_per_epoch"], summary["max_steps"], summary["steps"]) == (
        "epochs",
        3,
        6,
        6,
    )
    assert summary["epochs"] == 2 and summary["epochs_done"] == 2.0 and summary["eval_at"] == [3, 6]
    evals = {
        r["step"]: r["epoch"] for r in trainer.read_log(summary["log"]) if "eval_loss" in r and r["step"]
    }
    assert evals == {3: 1.0, 6: 2.0}
    assert sorted(d.name for d in (tmp_path / "checkpoints").glob("checkpoint-*")) == [
        "checkpoint-3",
        "checkpoint-6",
    ]
