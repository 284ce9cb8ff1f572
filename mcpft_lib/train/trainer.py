"""Training: LoRA/QLoRA with PEFT + TRL's SFTTrainer, loss on assistant turns only, JSONL metrics log."""

from __future__ import annotations

import json
import re
import time
import warnings
from pathlib import Path

from mcpft_lib.config import ModelParams, TrainParams
from mcpft_lib.core import progressbar
from mcpft_lib.core.fsutil import atomic_write
from mcpft_lib.core.system import cpu_has_fast_bf16
from mcpft_lib.modeling.peft_setup import prepare_peft
from mcpft_lib.runs import adapter_dir_of, checkpoints_dir_of
from mcpft_lib.train.loss import WeightsCollator, decision_accuracy, target_only_loss, weighted_rows
from mcpft_lib.train.schedule import Schedule, derive

SELECT_METRIC = "eval_held_out_decisions"  # logged at every evaluation when train.select_by is held_out


def newest_checkpoint(ckpt_dir: str | Path) -> Path | None:
    """Newest complete `checkpoint-N` folder, or None.

    The Trainer writes `trainer_state.json` last, so a folder without a readable one was cut short (a kill
    while saving) and is skipped; `transformers.trainer_utils.get_last_checkpoint` would pick it.
    """
    found = []
    for d in Path(ckpt_dir).glob("checkpoint-*"):
        m = re.fullmatch(r"checkpoint-(\d+)", d.name)
        try:
            json.loads((d / "trainer_state.json").read_text())
        except (OSError, ValueError):
            continue
        if m:
            found.append((int(m[1]), d))
    return max(found)[1] if found else None


def resume_checkpoint(tp: TrainParams, ckpt_dir: str | Path) -> Path | None:
    """The checkpoint `train.resume` asks for: auto = newest complete one in `ckpt_dir` (None: start fresh),
    never = start fresh (refused when `ckpt_dir` already holds checkpoints: they are never overwritten),
    or a checkpoint folder."""
    if tp.resume == "auto":
        return newest_checkpoint(ckpt_dir)
    if tp.resume == "never":
        old = sorted(p.name for p in Path(ckpt_dir).glob("checkpoint-*"))
        if old:
            raise FileExistsError(
                f"train.resume=never but {ckpt_dir} holds {old}: a fresh run would overwrite them; "
                "use train.resume=auto to continue, or a new run folder"
            )
        return None
    ckpt = Path(tp.resume).expanduser()
    if not (ckpt / "trainer_state.json").is_file():
        raise FileNotFoundError(f"train.resume={tp.resume!r}: no trainer_state.json there (not a checkpoint)")
    return ckpt


def _keep_log_until(path: Path, step: int) -> None:
    """On resume: drop log records past the checkpoint's step (the killed run's lost steps are redone)."""
    kept = [r for r in read_log(path) if r.get("step", 0) <= step]
    atomic_write(path, "".join(json.dumps(r) + "\n" for r in kept))


def memory_stats() -> dict:
    """Memory in GiB: on a GPU the CUDA max allocated since this training started; on CPU the process's
    resident set now (`rss_gib`) and its high-water mark since the process started (`rss_max_gib`)."""
    import resource

    import torch

    if torch.cuda.is_available():
        return {"gpu_mem_gib": torch.cuda.max_memory_allocated() / 2**30}
    out = {"rss_max_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20}
    try:
        import psutil

        out["rss_gib"] = psutil.Process().memory_info().rss / 2**30
    except ImportError:
        pass
    return out


def _callbacks():
    """TrainerCallback classes, built on first use (transformers is imported lazily)."""
    from tqdm.std import tqdm
    from transformers import ProgressCallback, TrainerCallback
    from transformers.trainer_utils import has_length

    class JsonlLogger(TrainerCallback):
        """Every log event (loss, eval loss, lr, grad norm, tokens/s, memory) as one JSON line."""

        def __init__(self, path: Path, t_offset: float = 0.0):
            self.path, self.t0 = path, time.time() - t_offset

        def on_log(self, args, state, control, logs=None, **kw):
            if not state.is_world_process_zero:
                return
            rec = {"step": state.global_step, "epoch": state.epoch, "time": round(time.time() - self.t0, 2)}
            rec.update({k: v for k, v in (logs or {}).items() if isinstance(v, int | float)})
            with open(self.path, "a") as f:
                f.write(json.dumps(rec) + "\n")

    class StepClock(TrainerCallback):
        """Seconds spent inside optimizer steps (not evaluation or saving): the denominator of tokens/s."""

        def __init__(self, counters: dict):
            self.c = counters

        def on_step_begin(self, args, state, control, **kw):
            self.c["t"] = time.perf_counter()

        def on_step_end(self, args, state, control, **kw):
            self.c["seconds"] += time.perf_counter() - self.c.pop("t", time.perf_counter())

    class StderrProgress(ProgressCallback):
        """Text progress bars on the process's terminal: visible in the terminal of a headless (papermill) run
        instead of stored in the notebook (widget or stream). Training steps, and each validation pass (the
        step-0 one before training too) batch by batch."""

        def __init__(self):
            super().__init__()
            self.out = progressbar.terminal_stderr()

        def on_train_begin(self, args, state, control, **kw):
            if state.is_world_process_zero:
                self.training_bar = progressbar.bar(
                    total=state.max_steps,
                    initial=state.global_step,
                    desc="train",
                    unit="step",
                    to_terminal=True,
                    file=self.out,
                )
            self.current_step = state.global_step

        def on_prediction_step(self, args, state, control, eval_dataloader=None, **kw):
            if state.is_world_process_zero and has_length(eval_dataloader):
                if self.prediction_bar is None:
                    self.prediction_bar = progressbar.bar(
                        total=len(eval_dataloader),
                        desc="validation",
                        unit="batch",
                        to_terminal=True,
                        file=self.out,
                        leave=self.training_bar is None,  # a pass during training: cleared when done
                    )
                self.prediction_bar.update(1)

        def on_log(self, args, state, control, logs=None, **kw):
            if state.is_world_process_zero and self.training_bar is not None:
                short = {k: round(v, 4) if isinstance(v, float) else v for k, v in (logs or {}).items()}
                tqdm.write(str(short), file=self.out)

    return JsonlLogger, StepClock, StderrProgress


def _sft_config(mp: ModelParams, tp: TrainParams, sched: Schedule, out_dir: Path, seed: int, has_val: bool):
    from trl import SFTConfig

    return SFTConfig(
        output_dir=str(checkpoints_dir_of(out_dir)),
        max_steps=sched.max_steps,  # train.epochs in steps (train.schedule): the Trainer counts the same epochs
        per_device_train_batch_size=tp.batch_size,
        per_device_eval_batch_size=tp.batch_size,
        gradient_accumulation_steps=tp.grad_accum,
        learning_rate=tp.learning_rate,
        lr_scheduler_type=tp.scheduler,
        warmup_steps=tp.warmup_ratio,  # a float < 1 is a fraction of max_steps (transformers 5)
        optim=tp.optimizer,
        weight_decay=tp.weight_decay,
        max_grad_norm=tp.max_grad_norm,
        # TRL turns activation checkpointing on by default (recomputing every layer's activations in the
        # backward pass); only train.gradient_checkpointing does here
        gradient_checkpointing=tp.gradient_checkpointing,
        activation_checkpointing=tp.gradient_checkpointing,
        activation_checkpointing_kwargs={"use_reentrant": False},
        logging_steps=tp.logging_steps,
        eval_strategy="steps" if has_val else "no",
        eval_steps=sched.eval_steps,
        save_strategy="steps",
        save_steps=sched.save_steps,
        save_total_limit=tp.save_total_limit,
        # best checkpoint tracked and kept: by validation loss, or by held-out decisions (train.select_by)
        metric_for_best_model=(SELECT_METRIC if tp.select_by == "held_out" else "eval_loss")
        if has_val
        else None,
        greater_is_better=tp.select_by == "held_out",
        load_best_model_at_end=bool(tp.early_stopping.patience),
        seed=seed,
        data_seed=seed,
        report_to="none",  # TensorBoard is added as a callback writing to <out_dir>/tensorboard
        max_length=None,  # rows are already within data.max_length (too-long ones were dropped and counted)
        dataset_kwargs={"skip_prepare_dataset": True},
        padding_free=tp.batching == "packed",
        pad_to_multiple_of=None if tp.batching == "packed" else tp.pad_to_multiple_of,
        train_sampling_strategy="group_by_length" if tp.batching == "grouped" else "random",
        use_cpu=not _cuda(),
        bf16=use_bf16(mp, tp),
        fp16=tp.mixed_precision == "fp16",
        disable_tqdm=False,
        remove_unused_columns=False,
        ddp_find_unused_parameters=False,
    )


def train_lora(
    model,
    tok,
    train_rows: list[dict],
    val_rows: list[dict],
    mp: ModelParams,
    tp: TrainParams,
    out_dir: str | Path,
    seed: int = 42,
    callbacks: list | tuple = (),
    progress_to_stderr: bool | None = None,
    select_rows: list[dict] | None = None,
) -> tuple[dict, object]:
    """Fine-tune a LoRA adapter with TRL's SFTTrainer on pre-tokenized rows; save the adapter; return a summary.

    The length (`train.epochs` or `train.max_steps`) and the intervals (`train.eval_every`, `train.save_every`:
    per epoch or every N steps) become optimizer steps for these rows and this launch's processes
    (`schedule.derive`); the summary records them.
    Checkpoints (adapter safetensors + optimizer, scheduler and RNG states, reloaded by transformers with
    `torch.load(weights_only=True)`) go to `<out_dir>/checkpoints` every `save_every`, `save_total_limit` kept
    (plus the best by validation loss). `train.resume` continues from one: in fp32 on CPU a run killed and
    resumed ends with the same adapter as an uninterrupted one to ~1e-6 (tests/test_train_resume.py).
    Early stopping (`train.early_stopping.patience` > 0) stops when the validation loss has not fallen by
    `min_delta` for `patience` evaluations and saves the best checkpoint's adapter.
    `train.select_by: held_out` picks the best checkpoint (and drives early stopping) by the teacher-forced decision
    accuracy on `select_rows` (tokenized held_out_servers examples, `loss.decision_accuracy`), logged as
    `eval_held_out_decisions` at every evaluation, instead of the validation loss.
    `progress_to_stderr` (default: `core.progressbar.headless()`, a notebook run by the report runner) shows the
    training and validation bars as text on the process's terminal instead of transformers' notebook bar.
    """
    from datasets import Dataset
    from transformers import EarlyStoppingCallback, set_seed

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    ckpt_dir = checkpoints_dir_of(out_dir)
    resume = resume_checkpoint(tp, ckpt_dir)  # before any heavy work: a bad path fails here
    sched = derive(tp, len(train_rows))  # no rows, or early stopping between saves: fails here too
    if tp.early_stopping.patience and not val_rows:
        raise ValueError("train.early_stopping.patience > 0 needs validation rows (the val split is empty)")
    if tp.select_by == "held_out" and not select_rows:
        raise ValueError(
            "train.select_by: held_out needs held_out_servers rows to score (set data.held_out_servers or "
            "data.synth.held_out_servers), or train.select_by: val_loss"
        )
    if tp.report_to == "tensorboard":
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise ImportError(
                "train.report_to=tensorboard needs the tensorboard package: pip install -e '.[tensorboard]'"
            ) from None
    log_path = out_dir / "train_log.jsonl"
    t_offset = 0.0
    if resume is None:
        log_path.unlink(missing_ok=True)  # a fresh run starts a fresh log
    else:
        step = json.loads((resume / "trainer_state.json").read_text())["global_step"]
        _keep_log_until(log_path, step)
        t_offset = max((r.get("time", 0.0) for r in read_log(log_path)), default=0.0)
    set_seed(seed)  # the LoRA initialisation is random: same seed, same adapter
    if _cuda():
        import torch

        torch.cuda.reset_peak_memory_stats()  # gpu_mem_gib: the peak of this training
    n_decision = (
        sum(sum(r["decision"]) for r in train_rows) if all("decision" in r for r in train_rows) else None
    )
    train_rows, val_rows = weighted_rows(train_rows, tp.decision_weight), weighted_rows(val_rows, 1.0)
    peft_model = prepare_peft(model, mp, tp)
    JsonlLogger, StepClock, StderrProgress = _callbacks()
    counters = {"real": 0, "processed": 0, "seconds": 0.0}
    cbs = [JsonlLogger(log_path, t_offset), StepClock(counters), *callbacks]
    if tp.early_stopping.patience:
        cbs.append(EarlyStoppingCallback(tp.early_stopping.patience, tp.early_stopping.min_delta))
    if tp.report_to == "tensorboard":
        from transformers.integrations import TensorBoardCallback

        cbs.append(TensorBoardCallback(SummaryWriter(log_dir=str(out_dir / "tensorboard"))))

    def make_trainer(batch_size: int, grad_accum: int):
        step_tp = tp.model_copy(update={"batch_size": batch_size, "grad_accum": grad_accum})
        trainer = _trainer_class(_sft_trainer())(
            model=peft_model,
            args=_sft_config(mp, step_tp, sched, out_dir, seed, bool(val_rows)),
            train_dataset=Dataset.from_list(train_rows),
            eval_dataset=Dataset.from_list(val_rows) if val_rows else None,
            processing_class=tok,
            callbacks=cbs,
        )
        trainer.counters = counters
        trainer.select_rows = select_rows if tp.select_by == "held_out" else None
        trainer.data_collator = WeightsCollator(trainer.data_collator)
        if progressbar.headless() if progress_to_stderr is None else progress_to_stderr:
            from transformers import ProgressCallback
            from transformers.trainer import DEFAULT_PROGRESS_CALLBACK

            # inside a kernel the default bar is transformers' NotebookProgressCallback (HTML redrawn at every
            # step and stored in the executed notebook), not a ProgressCallback subclass: remove both
            for cb in {ProgressCallback, DEFAULT_PROGRESS_CALLBACK}:
                trainer.remove_callback(cb)
            trainer.add_callback(StderrProgress())
        return trainer

    initial = {
        k: v.detach().to("cpu", copy=True) for k, v in peft_model.named_parameters() if v.requires_grad
    }
    batch_size, grad_accum, oom_retries = tp.batch_size, tp.grad_accum, []
    trainer = make_trainer(batch_size, grad_accum)
    # several GPUs in one process (the Trainer's DataParallel): each step takes a batch per GPU
    if (replicas := _replicas(trainer.args)) != sched.processes:
        sched = derive(tp, len(train_rows), replicas)
        trainer = make_trainer(batch_size, grad_accum)
    t0 = time.time()
    if val_rows and resume is None:
        trainer.evaluate()  # the base model's validation loss: the step-0 point of the curve
    while True:
        try:
            result = trainer.train(resume_from_checkpoint=str(resume) if resume else None)
            break
        except Exception as e:  # only out-of-memory is retried; anything else is re-raised
            if not (tp.oom_halving and _is_oom(e) and batch_size > 1):
                raise
            step, too_big = trainer.state.global_step, batch_size
            del trainer
            _free_memory()
            batch_size, grad_accum = halve_batch(batch_size, grad_accum)
            resume = newest_checkpoint(ckpt_dir)
            if resume is None:  # the steps before the OOM changed the adapter: start again from its init
                peft_model.load_state_dict(initial, strict=False)
            kept = json.loads((resume / "trainer_state.json").read_text())["global_step"] if resume else 0
            _keep_log_until(log_path, kept)
            event = {"step": kept, "event": "oom_halving", "oom_at_step": step, "batch_size": batch_size,
                     "grad_accum": grad_accum, "resumed_from": str(resume) if resume else None}  # fmt: skip
            with log_path.open("a") as f:
                f.write(json.dumps(event) + "\n")
            oom_retries.append(event)
            warnings.warn(
                f"out of memory at step {step} with batch {too_big}: retrying with "
                f"batch {batch_size} x {grad_accum} accumulation steps (effective batch kept)",
                stacklevel=2,
            )
            trainer = make_trainer(batch_size, grad_accum)
    seconds = time.time() - t0
    adapter_dir = _save_adapter(trainer, adapter_dir_of(out_dir))
    st = trainer.state
    log = read_log(log_path)
    losses = [r["loss"] for r in log if "loss" in r]
    val_losses = [r["eval_loss"] for r in log if "eval_loss" in r]
    n_tokens = sum(len(r["input_ids"]) for r in train_rows)
    n_target = sum(sum(1 for x in r["labels"] if x != -100) for r in train_rows)
    return {
        "steps": result.global_step,
        **sched.as_dict(),  # length_from, epochs, steps_per_epoch, max_steps, eval_steps, save_steps, ...
        "epochs_done": st.epoch,  # the Trainer's own count: epochs, if it counts steps per epoch as we do
        "stopped_early": bool(tp.early_stopping.patience) and result.global_step < sched.max_steps,
        "resumed_from": str(resume) if resume else None,
        "batch_size": batch_size,
        "grad_accum": grad_accum,
        "oom_retries": oom_retries,
        "seconds": round(seconds, 1),
        "train_loss": result.training_loss,
        "first_loss": losses[0] if losses else None,
        "final_loss": losses[-1] if losses else None,
        "first_val_loss": val_losses[0] if val_losses else None,
        "final_val_loss": val_losses[-1] if val_losses else None,
        "select_by": tp.select_by,
        "best_metric": st.best_metric,
        "best_val_loss": st.best_metric if tp.select_by == "val_loss" else None,
        "held_out_decisions": [r[SELECT_METRIC] for r in log if SELECT_METRIC in r],
        "best_step": st.best_global_step,
        "best_checkpoint": st.best_model_checkpoint,
        "adapter_is_best": bool(tp.early_stopping.patience) and st.best_global_step is not None,
        "batching": tp.batching,
        "pad_to_multiple_of": trainer.args.pad_to_multiple_of,
        "decision_weight": tp.decision_weight,
        "real_token_fraction": counters["real"] / max(counters["processed"], 1),
        "tokens_per_s": counters["real"] / counters["seconds"] if counters["seconds"] else None,
        "target_token_fraction": n_target / max(n_tokens, 1),
        "decision_token_fraction": None if n_decision is None else n_decision / max(n_target, 1),
        **memory_stats(),
        "adapter_dir": str(adapter_dir),
        "checkpoints": str(ckpt_dir),
        "log": str(log_path),
    }, peft_model


def summary_line(s: dict) -> str:
    """One line for the notebook and the run note: steps, minutes, train and validation loss before/after,
    the real-token fraction and throughput."""

    def f(x):
        return "n/a" if x is None else f"{x:.3f}"

    line = (
        f"{s['steps']} steps in {s['seconds'] / 60:.1f} min · loss {f(s['first_loss'])} → {f(s['final_loss'])} · "
        f"validation {f(s['first_val_loss'])} → {f(s['final_val_loss'])} · {s['real_token_fraction']:.1%} of "
        f"processed tokens real ({s['batching']} batches) · {s['tokens_per_s'] or 0:.0f} tokens/s"
    )
    if s.get("decision_weight", 1.0) != 1.0:  # a weighted training loss: not comparable with validation's
        frac = s.get("decision_token_fraction")
        share = f" ({frac:.1%} of targets)" if frac is not None else ""
        line += f" · decision tokens weighted x{s['decision_weight']:g}{share}"
    if s.get("stopped_early"):
        line += f" · stopped early; best step {s['best_step']} (validation {f(s['best_val_loss'])})"
    if s.get("resumed_from"):
        line += f" · resumed from {Path(s['resumed_from']).name}"
    return line


def _save_adapter(trainer, adapter_dir: Path) -> Path:
    """Adapter + tokenizer (safetensors) into `adapter_dir`, written aside then moved in (no half-written adapter)."""
    import os
    import shutil

    tmp = adapter_dir.with_name(f".{adapter_dir.name}.tmp{os.getpid()}")
    if trainer.is_fsdp_enabled:  # checkpoints are sharded; the adapter is saved whole (PEFT's FSDP recipe)
        trainer.accelerator.state.fsdp_plugin.set_state_dict_type("FULL_STATE_DICT")
    trainer.save_model(str(tmp))  # the main process writes; the others return
    if trainer.is_world_process_zero():
        if adapter_dir.exists():
            shutil.rmtree(adapter_dir)
        os.replace(tmp, adapter_dir)
    trainer.accelerator.wait_for_everyone()
    return adapter_dir


def _replicas(args) -> int:
    """Model copies that each take a batch per optimizer step: the processes (DDP, FSDP), times the GPUs of one
    process where the Trainer falls back to DataParallel."""
    return args.world_size * (args.train_batch_size // args.per_device_train_batch_size)


def _sft_trainer():
    from trl import SFTTrainer

    return SFTTrainer


def _trainer_class(base):
    """SFTTrainer whose loss runs the LM head on target positions only (see `target_only_loss`), counting real
    and processed tokens, and adding tokens/s, the real-token fraction and memory to every training log."""

    class TargetOnlySFTTrainer(base):
        counters: dict = {}
        select_rows: list[dict] | None = None

        def evaluation_loop(self, dataloader, description, prediction_loss_only=None, ignore_keys=None,
                            metric_key_prefix="eval"):  # fmt: skip
            out = super().evaluation_loop(
                dataloader, description, prediction_loss_only, ignore_keys, metric_key_prefix
            )
            if self.select_rows and metric_key_prefix == "eval":
                with self.accelerator.autocast():
                    acc = decision_accuracy(
                        self.model, self.select_rows, self.args.per_device_eval_batch_size
                    )
                if acc is not None:
                    out.metrics[SELECT_METRIC] = acc
            return out

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            if model.training and self.counters:
                ids = inputs["input_ids"]
                am = inputs.get("attention_mask")
                self.counters["real"] += int(am.sum()) if am is not None else ids.numel()
                self.counters["processed"] += ids.numel()
            if not model.training:  # validation loss stays plain cross-entropy, comparable across weights
                inputs = {k: v for k, v in inputs.items() if k != "loss_weights"}
            with self.accelerator.autocast():
                loss = target_only_loss(
                    model, inputs, num_items_in_batch, head_in_forward=self.is_fsdp_enabled
                )
            if self.args.average_tokens_across_devices and num_items_in_batch is not None:
                loss = loss * self.accelerator.num_processes
            return (loss, None) if return_outputs else loss

        def log(self, logs: dict, start_time: float | None = None) -> None:
            c = self.counters
            if "loss" in logs and c:
                last = c.setdefault("last", {"real": 0, "seconds": 0.0})
                dt = c["seconds"] - last["seconds"]
                if dt > 0:
                    logs["tokens_per_s"] = (c["real"] - last["real"]) / dt
                logs["real_token_fraction"] = c["real"] / max(c["processed"], 1)
                c["last"] = {"real": c["real"], "seconds": c["seconds"]}
            logs.update(memory_stats())
            super().log(logs, start_time)

    return TargetOnlySFTTrainer


def read_log(path: str | Path) -> list[dict]:
    """The JSONL training log; a last line cut short by a kill mid-write is skipped (every complete one kept)."""
    path = Path(path)
    if not path.is_file():
        return []
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    out = []
    for i, line in enumerate(lines):
        try:
            out.append(json.loads(line))
        except ValueError:
            if i < len(lines) - 1:  # damage before the end is not a kill mid-write: say where
                raise ValueError(f"{path}:{i + 1}: not a JSON line: {line[:80]!r}") from None
    return out


def halve_batch(batch_size: int, grad_accum: int) -> tuple[int, int]:
    """The next smaller batch after an out-of-memory error, with gradient accumulation raised so that
    batch x accumulation (the effective batch) stays the same: 8x1 -> 4x2, 6x1 -> 3x2, 3x2 -> 1x6."""
    if batch_size <= 1:
        raise ValueError("batch size 1 cannot be halved")
    smaller = max(d for d in range(1, batch_size // 2 + 1) if batch_size % d == 0)
    return smaller, grad_accum * (batch_size // smaller)


def _is_oom(e: BaseException) -> bool:
    import torch

    return isinstance(e, torch.OutOfMemoryError) or (
        isinstance(e, RuntimeError) and "out of memory" in str(e)
    )


def _free_memory() -> None:
    import gc

    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def use_bf16(mp: ModelParams, tp: TrainParams) -> bool:
    """bf16 autocast: as asked, or (auto) on a bf16-capable GPU or a CPU with AMX/AVX512-BF16."""
    if tp.mixed_precision != "auto":
        return tp.mixed_precision == "bf16"
    import torch

    if _cuda():
        return torch.cuda.is_bf16_supported()
    return mp.dtype == "float32" and cpu_has_fast_bf16()


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()
