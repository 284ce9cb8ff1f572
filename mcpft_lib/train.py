"""Training: LoRA/QLoRA with PEFT + TRL's SFTTrainer, loss on assistant turns only, JSONL metrics log."""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path

from .config import LoraParams, ModelParams, TrainParams


def tokenize_chat(tok, messages: list[dict], max_length: int) -> tuple[dict | None, str | None]:
    """Token ids + labels for one chat: every assistant turn is learned (labels), everything else is -100.

    An assistant turn marked `learn: False` (a deliberate mistake an error-handling example recovers from)
    stays in the context but is not learned.
    Each piece is tokenized as the model sees it at inference (prompt up to the generation prompt, then the
    reply), so the learned tokens are exactly what generation must produce. Returns (row, None) or
    (None, reason) when the example is dropped: too long (never cut inside a target) or nothing to learn.
    """
    input_ids: list[int] = []
    labels: list[int] = []
    done = ""
    for i, m in enumerate(messages):
        if m["role"] != "assistant":
            continue
        prompt = tok.apply_chat_template(messages[:i], tokenize=False, add_generation_prompt=True)
        full = tok.apply_chat_template(messages[: i + 1], tokenize=False)
        if not prompt.startswith(done) or not full.startswith(prompt):
            return None, "template_not_prefix_stable"
        ctx_ids = tok(prompt[len(done) :], add_special_tokens=False)["input_ids"]
        tgt_ids = tok(full[len(prompt) :], add_special_tokens=False)["input_ids"]
        input_ids += ctx_ids + tgt_ids
        labels += [-100] * len(ctx_ids) + (list(tgt_ids) if m.get("learn", True) else [-100] * len(tgt_ids))
        done = full
    if not any(lbl != -100 for lbl in labels):
        return None, "no_assistant_tokens"
    if len(input_ids) > max_length:
        return None, "too_long"
    return {"input_ids": input_ids, "labels": labels}, None


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

    if mp.quantization != "none":
        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=tp.gradient_checkpointing)
    elif tp.gradient_checkpointing:
        model.gradient_checkpointing_enable()
        model.enable_input_require_grads()
    return get_peft_model(model, lora_config(tp.lora))


class _JsonlLogger:
    """TrainerCallback writing every log event (loss, lr, grad norm, tokens/s, memory) to a JSONL file."""

    def __new__(cls, path: Path):
        from transformers import TrainerCallback

        class Cb(TrainerCallback):
            def __init__(self):
                self.path = path
                self.t0 = time.time()

            def on_log(self, args, state, control, logs=None, **kw):
                import torch

                rec = {
                    "step": state.global_step,
                    "epoch": state.epoch,
                    "time": round(time.time() - self.t0, 2),
                }
                rec.update({k: v for k, v in (logs or {}).items() if isinstance(v, int | float)})
                if torch.cuda.is_available():
                    rec["gpu_mem_gib"] = torch.cuda.max_memory_allocated() / 2**30
                else:
                    import resource

                    rec["rss_max_gib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
                with open(self.path, "a") as f:
                    f.write(json.dumps(rec) + "\n")

        return Cb()


def train_lora(
    model,
    tok,
    train_rows: list[dict],
    val_rows: list[dict],
    mp: ModelParams,
    tp: TrainParams,
    out_dir: str | Path,
    seed: int = 42,
) -> tuple[dict, object]:
    """Fine-tune a LoRA adapter with TRL's SFTTrainer on pre-tokenized rows; save the adapter; return a summary."""
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    log_path = out_dir / "train_log.jsonl"
    log_path.unlink(missing_ok=True)  # a re-run starts a fresh log
    peft_model = prepare_peft(model, mp, tp)
    args = SFTConfig(
        output_dir=str(out_dir / "checkpoints"),
        max_steps=tp.max_steps,
        per_device_train_batch_size=tp.batch_size,
        per_device_eval_batch_size=tp.batch_size,
        gradient_accumulation_steps=tp.grad_accum,
        learning_rate=tp.learning_rate,
        lr_scheduler_type=tp.scheduler,
        warmup_steps=tp.warmup_ratio,
        optim=tp.optimizer,
        weight_decay=tp.weight_decay,
        max_grad_norm=tp.max_grad_norm,
        logging_steps=tp.logging_steps,
        eval_strategy="steps" if val_rows else "no",
        eval_steps=tp.eval_steps,
        save_strategy="steps",
        save_steps=tp.save_steps,
        save_total_limit=tp.save_total_limit,
        seed=seed,
        report_to="none",
        max_length=None,  # rows are already within data.max_length (too-long ones were dropped and counted)
        dataset_kwargs={"skip_prepare_dataset": True},
        train_sampling_strategy="group_by_length",
        use_cpu=not _cuda(),
        bf16=use_bf16(mp, tp),
        fp16=tp.mixed_precision == "fp16",
        disable_tqdm=False,
        remove_unused_columns=False,
    )
    ds_train = Dataset.from_list(train_rows)
    ds_val = Dataset.from_list(val_rows) if val_rows else None
    trainer = _trainer_class(SFTTrainer)(
        model=peft_model,
        args=args,
        train_dataset=ds_train,
        eval_dataset=ds_val,
        processing_class=tok,
        callbacks=[_JsonlLogger(log_path)],
    )
    t0 = time.time()
    result = trainer.train()
    seconds = time.time() - t0
    adapter_dir = out_dir / "adapter"
    peft_model.save_pretrained(adapter_dir)
    tok.save_pretrained(adapter_dir)
    log = read_log(log_path)
    losses = [r["loss"] for r in log if "loss" in r]
    val_losses = [r["eval_loss"] for r in log if "eval_loss" in r]
    n_tokens = sum(len(r["input_ids"]) for r in train_rows)
    n_target = sum(sum(1 for x in r["labels"] if x != -100) for r in train_rows)
    return {
        "steps": result.global_step,
        "seconds": round(seconds, 1),
        "train_loss": result.training_loss,
        "first_loss": losses[0] if losses else None,
        "final_loss": losses[-1] if losses else None,
        "final_val_loss": val_losses[-1] if val_losses else None,
        "train_rows": len(train_rows),
        "target_token_fraction": n_target / max(n_tokens, 1),
        "adapter_dir": str(adapter_dir),
        "log": str(log_path),
    }, peft_model


def target_only_loss(model, inputs: dict, num_items_in_batch=None):
    """Causal-LM loss that applies the LM head only at positions whose next token is learned.

    With a 262k vocabulary the head dominates compute; prompts and tool results (label -100) never reach it.
    """
    import torch
    import torch.nn.functional as F

    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    labels = inputs["labels"]
    body_inputs = {k: v for k, v in inputs.items() if k in ("input_ids", "attention_mask", "position_ids")}
    hidden = base.get_decoder()(**body_inputs, use_cache=False).last_hidden_state
    shift = labels[:, 1:]
    mask = shift != -100
    head = base.get_output_embeddings()
    # the head runs in fp32 even under bf16 autocast: bf16 logits (8-bit mantissa) cannot tell <end_of_turn>
    # from the near-identical unused-token embeddings of a 262k vocabulary, and the model learns to end turns
    # with the wrong token
    with torch.autocast(device_type=hidden.device.type, enabled=False):
        h = hidden[:, :-1][mask].float()
        logits = F.linear(h, head.weight.float(), None if head.bias is None else head.bias.float())
    cap = getattr(base.config.get_text_config(), "final_logit_softcapping", None)
    if cap:
        logits = torch.tanh(logits / cap) * cap
    total = F.cross_entropy(logits, shift[mask], reduction="sum")
    n = num_items_in_batch if num_items_in_batch is not None else mask.sum()
    return total / torch.as_tensor(n, device=total.device).clamp(min=1)


def _trainer_class(base):
    """SFTTrainer whose loss runs the LM head on target positions only (see `target_only_loss`)."""

    class TargetOnlySFTTrainer(base):
        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            with self.accelerator.autocast():
                loss = target_only_loss(model, inputs, num_items_in_batch)
            if self.args.average_tokens_across_devices and num_items_in_batch is not None:
                loss = loss * self.accelerator.num_processes
            return (loss, None) if return_outputs else loss

    return TargetOnlySFTTrainer


def read_log(path: str | Path) -> list[dict]:
    path = Path(path)
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


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
