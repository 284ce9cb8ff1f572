"""Training: LoRA/QLoRA with PEFT + TRL's SFTTrainer, loss on assistant turns only, JSONL metrics log."""

from __future__ import annotations

import json
import re
import time
import warnings
from collections import Counter
from pathlib import Path

from .config import LoraParams, ModelParams, Params, TrainParams
from .fsutil import atomic_write


def tokenize_chat(tok, messages: list[dict], max_length: int) -> tuple[dict | None, str | None]:
    """Token ids + labels for one chat: every assistant turn is learned (labels), everything else is -100.

    An assistant turn marked `learn: False` (a deliberate mistake an error-handling example recovers from)
    stays in the context but is not learned. With a fast tokenizer the row also carries `decision`: 1 for each
    learned token that decides the call (the reply's first token; the call opener with the separator before it,
    the server and tool names; in a reply without a call, the end of turn after its text), which
    `train.decision_weight` weighs in the loss.
    Each piece is tokenized as the model sees it at inference (prompt up to the generation prompt, then the
    reply), so the learned tokens are exactly what generation must produce. Returns (row, None) or
    (None, reason) when the example is dropped: too long (never cut inside a target) or nothing to learn.
    """
    from .dialects import decision_spans

    input_ids: list[int] = []
    labels: list[int] = []
    decision: list[int] = []  # 1 where a learned token decides the call (see dialects.decision_spans)
    done = ""
    tools = messages[0].get("tools") if messages and messages[0]["role"] == "system" else None  # native
    offsets = bool(getattr(tok, "is_fast", False))  # character offsets need a fast (Rust) tokenizer
    for i, m in enumerate(messages):
        if m["role"] != "assistant":
            continue
        prompt = tok.apply_chat_template(
            messages[:i], tools=tools, tokenize=False, add_generation_prompt=True
        )
        full = tok.apply_chat_template(messages[: i + 1], tools=tools, tokenize=False)
        if not prompt.startswith(done) or not full.startswith(prompt):
            return None, "template_not_prefix_stable"
        ctx_ids = tok(prompt[len(done) :], add_special_tokens=False)["input_ids"]
        reply = full[len(prompt) :]
        enc = tok(reply, add_special_tokens=False, **({"return_offsets_mapping": True} if offsets else {}))
        tgt_ids = enc["input_ids"]
        input_ids += ctx_ids + tgt_ids
        learn = m.get("learn", True)
        labels += [-100] * len(ctx_ids) + (list(tgt_ids) if learn else [-100] * len(tgt_ids))
        if offsets:
            spans = decision_spans(reply, "native" if tools else "xml")
            text = (m.get("content") or "").rstrip()
            if not spans and text and (at := reply.find(text)) >= 0:  # no call: the turn ends after its text
                spans = [(at + len(text), at + len(text) + 1)]
            # the first token (call or talk) and every token overlapping a deciding span
            marks = [int(learn and (k == 0 or any(a < e and s < b for s, e in spans)))
                     for k, (a, b) in enumerate(enc["offset_mapping"])]  # fmt: skip
            decision += [0] * len(ctx_ids) + marks
        done = full
    if not any(lbl != -100 for lbl in labels):
        return None, "no_assistant_tokens"
    if len(input_ids) > max_length:
        return None, "too_long"
    row = {"input_ids": input_ids, "labels": labels}
    if offsets:
        row["decision"] = decision
    return row, None


def tokenize_rows(tok, chats: list[list[dict]], max_length: int) -> tuple[list[dict], Counter]:
    """Tokenize many chats; dropped ones are counted by reason (never silently lost)."""
    rows, dropped = [], Counter()
    for chat in chats:
        row, reason = tokenize_chat(tok, chat, max_length)
        if row is None:
            dropped[reason] += 1
        else:
            rows.append(row)
    return rows, dropped


def lora_config(lp: LoraParams):
    from peft import LoraConfig

    return LoraConfig(
        r=lp.r,
        lora_alpha=lp.alpha,
        lora_dropout=lp.dropout,
        target_modules=lp.target_modules,
        use_rslora=lp.use_rslora,
        use_dora=lp.use_dora,
        bias="none",
        task_type="CAUSAL_LM",
    )


def prepare_peft(model, mp: ModelParams, tp: TrainParams):
    """Wrap `model` with a LoRA adapter (k-bit preparation for QLoRA); returns the PEFT model."""
    from peft import get_peft_model, prepare_model_for_kbit_training

    gc_kwargs = {"use_reentrant": False}
    if mp.quantization != "none":
        model = prepare_model_for_kbit_training(
            model,
            use_gradient_checkpointing=tp.gradient_checkpointing,
            gradient_checkpointing_kwargs=gc_kwargs,
        )
    elif tp.gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs=gc_kwargs)
        model.enable_input_require_grads()
    return get_peft_model(model, lora_config(tp.lora))


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


def terminal_stderr():
    """The process's own stderr, not the notebook's. Inside a kernel ipykernel redirects fd 2 into a pipe that
    it copies into the notebook (so `sys.__stderr__` lands in the report too); `sys.stderr.fileno()` is its
    duplicate of the original descriptor: the terminal the kernel was started from."""
    import io
    import sys

    try:
        return open(sys.stderr.fileno(), "w", buffering=1, closefd=False)
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return sys.__stderr__


def _callbacks():
    """TrainerCallback classes, built on first use (transformers is imported lazily)."""
    from tqdm.std import tqdm
    from transformers import ProgressCallback, TrainerCallback

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
        """Text progress bar on the process's terminal: visible in the terminal of a headless (papermill) run
        instead of stored in the notebook (widget or stream)."""

        def on_train_begin(self, args, state, control, **kw):
            if state.is_world_process_zero:
                self.out = terminal_stderr()
                self.training_bar = tqdm(
                    total=state.max_steps, initial=state.global_step, desc="train", file=self.out
                )
            self.current_step = state.global_step

        def on_prediction_step(self, args, state, control, eval_dataloader=None, **kw):
            pass  # a bar per evaluation would only clutter the terminal

        def on_log(self, args, state, control, logs=None, **kw):
            if state.is_world_process_zero and self.training_bar is not None:
                short = {k: round(v, 4) if isinstance(v, float) else v for k, v in (logs or {}).items()}
                tqdm.write(str(short), file=self.out)

    return JsonlLogger, StepClock, StderrProgress


def _sft_config(mp: ModelParams, tp: TrainParams, out_dir: Path, seed: int, has_val: bool):
    from trl import SFTConfig

    return SFTConfig(
        output_dir=str(out_dir / "checkpoints"),
        max_steps=tp.max_steps,
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
        eval_steps=tp.eval_steps,
        save_strategy="steps",
        save_steps=tp.save_steps,
        save_total_limit=tp.save_total_limit,
        metric_for_best_model="eval_loss" if has_val else None,  # best checkpoint tracked and kept
        greater_is_better=False,
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
    progress_to_stderr: bool = False,
) -> tuple[dict, object]:
    """Fine-tune a LoRA adapter with TRL's SFTTrainer on pre-tokenized rows; save the adapter; return a summary.

    Checkpoints (adapter safetensors + optimizer, scheduler and RNG states, reloaded by transformers with
    `torch.load(weights_only=True)`) go to `<out_dir>/checkpoints` every `save_steps`, `save_total_limit` kept
    (plus the best by validation loss). `train.resume` continues from one: in fp32 on CPU a run killed and
    resumed ends with the same adapter as an uninterrupted one to ~1e-6 (tests/test_train_resume.py).
    Early stopping (`train.early_stopping.patience` > 0) stops when the validation loss has not fallen by
    `min_delta` for `patience` evaluations and saves the best checkpoint's adapter.
    """
    from datasets import Dataset
    from transformers import EarlyStoppingCallback, set_seed

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    ckpt_dir = out_dir / "checkpoints"
    resume = resume_checkpoint(tp, ckpt_dir)  # before any heavy work: a bad path fails here
    if tp.early_stopping.patience and not val_rows:
        raise ValueError("train.early_stopping.patience > 0 needs validation rows (the val split is empty)")
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
    train_rows, val_rows = _weighted(train_rows, tp.decision_weight), _weighted(val_rows, 1.0)
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
            args=_sft_config(mp, step_tp, out_dir, seed, bool(val_rows)),
            train_dataset=Dataset.from_list(train_rows),
            eval_dataset=Dataset.from_list(val_rows) if val_rows else None,
            processing_class=tok,
            callbacks=cbs,
        )
        trainer.counters = counters
        trainer.data_collator = _WeightsCollator(trainer.data_collator)
        if progress_to_stderr:
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
    adapter_dir = _save_adapter(trainer, out_dir / "adapter")
    st = trainer.state
    log = read_log(log_path)
    losses = [r["loss"] for r in log if "loss" in r]
    val_losses = [r["eval_loss"] for r in log if "eval_loss" in r]
    n_tokens = sum(len(r["input_ids"]) for r in train_rows)
    n_target = sum(sum(1 for x in r["labels"] if x != -100) for r in train_rows)
    return {
        "steps": result.global_step,
        "max_steps": tp.max_steps,
        "stopped_early": bool(tp.early_stopping.patience) and result.global_step < tp.max_steps,
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
        "best_val_loss": st.best_metric,
        "best_step": st.best_global_step,
        "best_checkpoint": st.best_model_checkpoint,
        "adapter_is_best": bool(tp.early_stopping.patience) and st.best_global_step is not None,
        "batching": tp.batching,
        "pad_to_multiple_of": trainer.args.pad_to_multiple_of,
        "decision_weight": tp.decision_weight,
        "real_token_fraction": counters["real"] / max(counters["processed"], 1),
        "tokens_per_s": counters["real"] / counters["seconds"] if counters["seconds"] else None,
        "train_rows": len(train_rows),
        "processes": trainer.args.world_size,
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


CURVES = (
    ("loss", ("loss", "eval_loss")),
    ("learning rate", ("learning_rate",)),
    ("grad norm", ("grad_norm",)),
    ("tokens/s", ("tokens_per_s",)),
)


def training_curves(log: list[dict]):
    """Plotly panels from the JSONL log: train and validation loss, learning rate, grad norm, tokens/s."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=2, cols=2, subplot_titles=[title for title, _ in CURVES])
    for i, (_, keys) in enumerate(CURVES):
        for key in keys:
            pts = [(r["step"], r[key]) for r in log if key in r]
            if pts:
                x, y = zip(*pts, strict=True)
                fig.add_trace(go.Scatter(x=x, y=y, name=key, mode="lines+markers"), i // 2 + 1, i % 2 + 1)
    fig.update_xaxes(title_text="step")
    fig.update_layout(title="training curves", height=600)
    return fig


def rank_sweep(
    p: Params, train_rows: list[dict], val_rows: list[dict], ranks=None, steps: int | None = None, log=print
) -> tuple[list[dict], object]:
    """Short runs of the same data, seed and steps at several LoRA ranks (alpha scaled to keep the profile's
    alpha/r); returns one row per rank (trainable parameters, final train/val loss, tokens/s, peak memory)
    and a plotly chart. Each run starts from a freshly loaded base model; nothing is kept on disk."""
    import tempfile

    from . import models

    ranks = list(ranks or p.train.rank_sweep)
    steps = steps or p.train.rank_sweep_steps
    if not ranks:
        raise ValueError("no ranks to sweep: set train.rank_sweep, e.g. [4, 8, 16, 32]")
    ratio = p.train.lora.alpha / p.train.lora.r
    table = []
    for r in ranks:
        lora = LoraParams.model_validate(
            {**p.train.lora.model_dump(), "r": r, "alpha": max(1, round(r * ratio))}
        )
        tp = TrainParams.model_validate(
            {
                **p.train.model_dump(),
                "lora": lora.model_dump(),
                "max_steps": steps,
                "logging_steps": min(p.train.logging_steps, steps),
                "eval_steps": steps,
                "save_steps": steps,
                "resume": "never",
                "early_stopping": {},
                "report_to": "none",
                "rank_sweep": [],
            }
        )
        log(f"rank sweep: r={r} alpha={lora.alpha} ({steps} steps) ...", flush=True)
        model, tok = models.load_model(p.model)
        with tempfile.TemporaryDirectory() as d:
            s, peft_model = train_lora(model, tok, train_rows, val_rows, p.model, tp, d, seed=p.run.seed)
            recs = read_log(s["log"])
        mem = [x.get("gpu_mem_gib", x.get("rss_gib")) for x in recs]
        table.append(
            {
                "rank": r,
                "alpha": lora.alpha,
                "trainable_params": sum(q.numel() for q in peft_model.parameters() if q.requires_grad),
                "final_train_loss": s["final_loss"],
                "final_val_loss": s["final_val_loss"],
                "tokens_per_s": s["tokens_per_s"],
                "peak_mem_gib": max((m for m in mem if m is not None), default=None),
                "seconds": s["seconds"],
            }
        )
        del model, peft_model
    return table, rank_sweep_chart(table)


def rank_sweep_chart(table: list[dict]):
    """Loss (train and validation) and tokens/s against the LoRA rank, side by side."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    ranks = [t["rank"] for t in table]
    fig = make_subplots(rows=1, cols=2, subplot_titles=("final loss", "tokens/s"))
    for key, name in (("final_train_loss", "train"), ("final_val_loss", "validation")):
        fig.add_trace(go.Scatter(x=ranks, y=[t[key] for t in table], name=name, mode="lines+markers"), 1, 1)
    fig.add_trace(
        go.Bar(x=[str(r) for r in ranks], y=[t["tokens_per_s"] for t in table], name="tokens/s"), 1, 2
    )
    fig.update_xaxes(title_text="LoRA rank", type="log", row=1, col=1)
    fig.update_xaxes(title_text="LoRA rank", row=1, col=2)
    fig.update_layout(title="LoRA rank sweep")
    return fig


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


def _weighted(rows: list[dict], weight: float) -> list[dict]:
    """Rows as the trainer takes them: `loss_weights` (`weight` on decision tokens, 1 elsewhere) when `weight`
    is not 1, the `decision` marks dropped either way."""
    if weight != 1.0 and rows and any("decision" not in r for r in rows):
        raise ValueError(
            "train.decision_weight needs rows with decision marks: tokenize with a fast tokenizer "
            "(tokenizer.is_fast), or set train.decision_weight: 1"
        )
    out = []
    for r in rows:
        row = {k: v for k, v in r.items() if k != "decision"}
        if weight != 1.0:
            row["loss_weights"] = [weight if d else 1.0 for d in r["decision"]]
        out.append(row)
    return out


class _WeightsCollator:
    """TRL's collator plus the rows' `loss_weights`, padded with 1 (or concatenated, padding-free) to the batch."""

    def __init__(self, inner):
        self.inner = inner

    def __call__(self, examples: list[dict]) -> dict:
        import torch

        batch = self.inner(examples)
        if examples and "loss_weights" in examples[0]:
            ws = [torch.as_tensor(e["loss_weights"], dtype=torch.float32) for e in examples]
            n = batch["labels"].shape[1]
            if batch["labels"].shape[0] == 1 and len(ws) > 1:  # padding-free: one flattened row
                ws = [torch.cat(ws)]
            w = torch.ones(len(ws), n)
            for i, x in enumerate(ws):
                w[i, : len(x)] = x
            batch["loss_weights"] = w
        return batch


def _sft_trainer():
    from trl import SFTTrainer

    return SFTTrainer


def target_only_loss(model, inputs: dict, num_items_in_batch=None, head_in_forward: bool = False):
    """Causal-LM loss that applies the LM head only at positions whose next token is learned.

    With a 262k vocabulary the head dominates compute; prompts and tool results (label -100) never reach it.
    The body runs through `model`'s own forward (so DDP/FSDP wrappers synchronise gradients), asked for its
    hidden states and the logits of one position only; the head is then applied, in fp32, to the target rows.
    `head_in_forward` (FSDP, whose head weight is whole only inside the wrapped forward): the forward computes
    the logits itself at the positions where any row of the batch has a target.
    Packed (padding-free) batches carry `position_ids` restarting at 0 for each example and no attention mask:
    transformers then builds a block-diagonal causal mask (sdpa/eager) or uses varlen kernels (flash
    attention), so examples never attend to each other.
    """
    import torch
    import torch.nn.functional as F

    base = _unwrap(model)
    labels = inputs["labels"]
    keys = ("input_ids", "attention_mask", "position_ids")
    if "flash" in str(getattr(base.config, "_attn_implementation", "")):
        keys += ("cu_seq_lens_q", "cu_seq_lens_k", "max_length_q", "max_length_k")
    body_inputs = {k: v for k, v in inputs.items() if k in keys}
    shift = labels[:, 1:]
    mask = shift != -100
    weights = inputs.get("loss_weights")  # train.decision_weight on the decision tokens, 1 elsewhere
    wshift = None if weights is None else weights[:, 1:].to(torch.float32)
    if head_in_forward:
        keep = mask.any(0).nonzero().flatten()
        logits = model(**body_inputs, use_cache=False, logits_to_keep=keep).logits.float()
        tgt = shift[:, keep]
        ce = F.cross_entropy(logits[tgt != -100], tgt[tgt != -100], reduction="none")
        total = ce.sum() if wshift is None else (ce * wshift[:, keep][tgt != -100]).sum()
    else:
        out = model(**body_inputs, use_cache=False, output_hidden_states=True, logits_to_keep=1)
        hidden = out.hidden_states[-1]  # after the final norm, as the head sees it
        head = base.get_output_embeddings()
        # the head runs in fp32 even under bf16 autocast: bf16 logits (8-bit mantissa) cannot tell <end_of_turn>
        # from the near-identical unused-token embeddings of a 262k vocabulary, and the model learns to end
        # turns with the wrong token
        with torch.autocast(device_type=hidden.device.type, enabled=False):
            h = hidden[:, :-1][mask].float()
            logits = F.linear(h, head.weight.float(), None if head.bias is None else head.bias.float())
        cap = getattr(base.config.get_text_config(), "final_logit_softcapping", None)
        if cap:
            logits = torch.tanh(logits / cap) * cap
        ce = F.cross_entropy(logits, shift[mask], reduction="none")
        total = ce.sum() if wshift is None else (ce * wshift[mask]).sum()
    n = num_items_in_batch if num_items_in_batch is not None else mask.sum()
    return total / torch.as_tensor(n, device=total.device).clamp(min=1)


def _unwrap(model):
    """The transformers model inside DDP/FSDP (`.module`) and PEFT (`get_base_model`) wrappers."""
    while hasattr(model, "module"):
        model = model.module
    return model.get_base_model() if hasattr(model, "get_base_model") else model


def _trainer_class(base):
    """SFTTrainer whose loss runs the LM head on target positions only (see `target_only_loss`), counting real
    and processed tokens, and adding tokens/s, the real-token fraction and memory to every training log."""

    class TargetOnlySFTTrainer(base):
        counters: dict = {}

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

    from .hardware import cpu_has_fast_bf16

    if _cuda():
        return torch.cuda.is_bf16_supported()
    return mp.dtype == "float32" and cpu_has_fast_bf16()


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def train_from_params(p: Params, out_dir: str | Path, data_dir: str | Path | None = None) -> dict:
    """Train as notebook 02 does, without a notebook: the dataset folder notebook 01 wrote (or, without one, the
    same dataset built from the params into a temporary folder), then `train_lora`. Entry of
    `python -m mcpft_lib.train` and so of `accelerate launch` / `torchrun` for multi-process training."""
    import tempfile

    from . import catalogs, config, dataset, models

    if data_dir is not None:
        splits = dataset.load_splits(data_dir)  # a bad file fails here, before the model loads
    else:
        with tempfile.TemporaryDirectory() as d:
            splits = dataset.build_dataset(p, catalogs.load_catalogs(p.data.servers), d)["splits"]
    model, tok = models.load_model(p.model)
    config.check_against_model(p, models.max_positions(model))
    rows = {k: tokenize_rows(tok, dataset.chats(splits[k], p), p.data.max_length) for k in ("train", "val")}
    summary, _ = train_lora(
        model,
        tok,
        rows["train"][0],
        rows["val"][0],
        p.model,
        p.train,
        out_dir,
        p.run.seed,
        progress_to_stderr=True,
    )
    return {**summary, "dropped": {k: dict(v[1]) for k, v in rows.items()}}


def main(argv: list[str] | None = None) -> int:
    import argparse
    import os

    from .config import load_params

    ap = argparse.ArgumentParser(
        prog="python -m mcpft_lib.train",
        description="Fine-tune a LoRA adapter as notebook 02 does; under accelerate launch / torchrun, one "
        "process per device (see params/accelerate/).",
    )
    ap.add_argument("params", help="params YAML profile, e.g. params/smoke.yaml")
    ap.add_argument("out_dir", help="folder for checkpoints, the log and the adapter")
    ap.add_argument(
        "--data", help="dataset folder written by notebook 01 (default: build it from the params)"
    )
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a param")
    a = ap.parse_args(argv)
    summary = train_from_params(load_params(a.params, a.set), a.out_dir, a.data)
    if int(os.environ.get("RANK", "0")) == 0:
        print(json.dumps(summary, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
