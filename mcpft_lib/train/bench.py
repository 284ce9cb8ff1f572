"""Benchmarks that measure side by side in one run and print ratios (`mcpft bench train`)."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from mcpft_lib.config import Params, load_params
from mcpft_lib.data import generate, stage
from mcpft_lib.mcp import catalogs
from mcpft_lib.modeling import chat, loaders, peft_setup
from mcpft_lib.modeling.chat import tokenize_rows
from mcpft_lib.train import trainer as train_trainer
from mcpft_lib.train.loss import target_only_loss

VARIANTS = ("trl_defaults", "mcpft")


def _rows_and_chats(p: Params, tok, n: int) -> tuple[list[list[dict]], list[dict], list[list[dict]], Counter]:
    """Training chats, their tokenized rows and held-out chats from the run's generator (same for every
    variant): only chats that fit `data.max_length`, so that both trainers see the same tokens and none is cut;
    the generated chats that did not fit are counted by reason."""

    servers = catalogs.load_catalogs(p.data.servers)
    exs = generate.generate(
        4 * n + 32, p.run.seed, servers, p.data.categories, p.data.max_servers_per_example
    )
    chats, rows, dropped = [], [], Counter()
    for c in stage.chats(exs, p):
        row, reason = chat.tokenize_chat(tok, c, p.data.max_length)
        if row is None:
            dropped[reason] += 1
        else:
            chats.append(c)
            rows.append(row)
    if len(chats) < n + 8:
        raise ValueError(
            f"bench train: {len(chats)} of {len(exs)} generated chats fit data.max_length, {n + 8} needed"
        )
    return chats[:n], rows[:n], chats[n : n + 8], dropped


def _steps_only(tp, steps: int):
    """`train` settings for exactly `steps` optimizer steps, with no validation or checkpoint on the way."""
    return tp.model_copy(
        update={"epochs": None, "max_steps": steps, "eval_every": 10**6, "save_every": 10**6}
    )


def _timer():
    """A callback that keeps the seconds between on_train_begin and on_train_end: the training steps, not the
    set-up before them."""
    from transformers import TrainerCallback

    class Timer(TrainerCallback):
        seconds = None

        def on_train_begin(self, args, state, control, **kw):
            self.t0 = time.perf_counter()

        def on_train_end(self, args, state, control, **kw):
            self.seconds = time.perf_counter() - self.t0

    return Timer()


def _heldout_loss(model, tok, chats: list[list[dict]], max_length: int) -> float:
    """Assistant-token loss on held-out chats, in fp32: one yardstick for every variant."""
    import torch

    rows, _ = tokenize_rows(tok, chats, max_length)
    model.eval()
    total, n = 0.0, 0
    with torch.no_grad():
        for r in rows:
            ids = torch.tensor([r["input_ids"]])
            labels = torch.tensor([r["labels"]])
            k = int((labels[:, 1:] != -100).sum())
            loss = target_only_loss(
                model, {"input_ids": ids, "attention_mask": torch.ones_like(ids), "labels": labels}
            )
            total, n = total + float(loss) * k, n + k
    return total / max(n, 1)


def model_flops_per_token(model, rows: list[dict], n: int = 8) -> float:
    """The useful FLOPs of one training step per token for this set-up, counted by torch's `FlopCounterMode` on
    single unpadded rows through mcpft's loss: the frozen base's forward and activation gradients (no weight
    gradients), the LoRA weights' gradients, attention at the rows' real lengths, the head on loss-bearing rows
    only. The same figure divides both trainers' speed: work a trainer does beyond it (padding, the head on
    every row) lowers its utilisation. Attention runs eagerly while counting so that its matmuls are counted
    (torch's counter does not know the CPU's fused attention kernel)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    base = getattr(model, "get_base_model", lambda: model)()
    attn = getattr(base.config, "_attn_implementation", None)
    flops = tokens = 0
    model.train()
    try:
        if attn and attn != "eager":
            base.set_attn_implementation("eager")
        for r in rows[:n]:
            ids = torch.tensor([r["input_ids"]])
            inputs = {
                "input_ids": ids,
                "attention_mask": torch.ones_like(ids),
                "labels": torch.tensor([r["labels"]]),
            }
            with FlopCounterMode(display=False) as counter:
                target_only_loss(model, inputs).backward()
            flops, tokens = flops + counter.get_total_flops(), tokens + ids.shape[1]
    finally:
        model.zero_grad(set_to_none=True)
        if attn and attn != "eager":
            base.set_attn_implementation(attn)
    return flops / max(tokens, 1)


MATMUL_OPS = ("aten::mm", "aten::addmm", "aten::bmm", "aten::baddbmm", "aten::_scaled_dot_product")


def profile_by_op(
    model, tok, rows: list[dict], mp, tp, out_dir: str, seed: int, steps: int = 3, top: int = 8
) -> dict:
    """Where a training step's time goes: `steps` more optimizer steps of the same trainer under torch's
    profiler (the first is left out as warm-up), self CPU time per op, the matmuls (GEMMs, attention) summed."""
    import torch
    from transformers import TrainerCallback

    class Profile(TrainerCallback):
        prof = None

        def on_step_begin(self, args, state, control, **kw):
            if state.global_step == 1 and self.prof is None:
                self.prof = torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU])
                self.prof.__enter__()

        def on_step_end(self, args, state, control, **kw):
            if self.prof is not None and state.global_step == steps:
                self.prof.__exit__(None, None, None)

    cb = Profile()
    tp = _steps_only(tp, steps)
    fresh = model.unload() if hasattr(model, "unload") else model  # the base again, a fresh adapter on it
    train_trainer.train_lora(fresh, tok, rows, [], mp, tp, out_dir, seed=seed, callbacks=[cb])
    events = [e for e in cb.prof.key_averages() if e.self_cpu_time_total > 0]
    total = sum(e.self_cpu_time_total for e in events)
    events.sort(key=lambda e: -e.self_cpu_time_total)
    matmul = sum(e.self_cpu_time_total for e in events if e.key.startswith(MATMUL_OPS))
    return {
        "steps_profiled": steps - 1,
        "seconds_per_step": total / 1e6 / (steps - 1),
        "matmul_share": matmul / total,
        "top_ops": [
            {"op": e.key, "share": e.self_cpu_time_total / total, "calls": e.count} for e in events[:top]
        ],
    }


def train_variant(variant: str, params_file: str, overrides: list[str], steps: int, out_dir: str) -> dict:
    """Train one variant for `steps` steps; report tokens/s, peak RSS, held-out loss (run in its own process)."""
    from datasets import Dataset

    p = load_params(params_file, overrides)
    n = steps * p.train.batch_size * p.train.grad_accum
    model, tok = loaders.load_model(p.model)
    chats, rows, heldout, dropped = _rows_and_chats(p, tok, n)
    tokens = sum(len(r["input_ids"]) for r in rows)
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    timer = _timer()
    if variant == "mcpft":
        _, trained = train_trainer.train_lora(
            model,
            tok,
            rows,
            [],
            p.model,
            _steps_only(p.train, steps),
            out_dir,
            seed=p.run.seed,
            callbacks=[timer],
        )
    else:  # what a user gets from TRL's SFTTrainer with its defaults on the same chats and LoRA
        from trl import SFTConfig, SFTTrainer

        plain = [[{k: v for k, v in m.items() if k != "learn"} for m in c] for c in chats]
        args = SFTConfig(
            output_dir=out_dir,
            max_steps=steps,
            per_device_train_batch_size=p.train.batch_size,
            gradient_accumulation_steps=p.train.grad_accum,
            learning_rate=p.train.learning_rate,
            seed=p.run.seed,
            report_to="none",
            save_strategy="no",
            logging_steps=1,
            use_cpu=not train_trainer._cuda(),
        )
        trainer = SFTTrainer(
            model=model,
            args=args,
            train_dataset=Dataset.from_list([{"messages": c} for c in plain]),
            processing_class=tok,
            peft_config=peft_setup.lora_config(p.train.lora, model),
            callbacks=[timer],
        )
        trainer.train()
        trained = trainer.model
        bf16 = bool(trainer.args.bf16)
    seconds = timer.seconds  # the training steps only (model load and trainer set-up excluded, for both)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    extra = {}
    if variant == "mcpft":  # after the timed steps: the model FLOPs per token and a profile by op
        bf16 = train_trainer.use_bf16(p.model, p.train)
        extra["flops_per_token"] = model_flops_per_token(trained, rows)
        extra["profile"] = profile_by_op(
            trained, tok, rows, p.model, p.train, out_dir + "-profile", p.run.seed
        )
    return {
        "variant": variant,
        "steps": steps,
        "seconds": round(seconds, 2),
        "tokens": tokens,
        "tokens_per_s": tokens / seconds,
        "peak_rss_gib": peak / 2**20,
        "train_rss_growth_gib": (peak - rss0) / 2**20,
        "heldout_loss": _heldout_loss(trained, tok, heldout, p.data.max_length),
        "dropped": dict(dropped),
        "dtype": "bfloat16" if bf16 else "float32",
        **extra,
    }


def bench_train(
    params_file: str, overrides: list[str] | None = None, steps: int = 6, log=print, peaks: dict | None = None
) -> dict:
    """Train the same model on the same data for the same steps with TRL defaults and with mcpft; ratio last.
    `peaks` (matmul TFLOP/s per dtype, measured on this machine just before: `mcpft bench train` passes
    `hardware.micro_benchmark`'s) turn each trainer's tokens/s into model FLOPs utilisation."""
    import tempfile

    load_params(params_file, overrides)  # fail fast on bad params
    peaks = peaks or {}
    results = {"matmul_peak_tflops": peaks}
    with tempfile.TemporaryDirectory() as tmp:
        for v in VARIANTS:
            log(f"bench train: {v} ({steps} steps) ...", flush=True)
            cmd = [
                sys.executable,
                "-m",
                "mcpft_lib.train.bench",
                v,
                params_file,
                str(steps),
                str(Path(tmp) / v),
                json.dumps(overrides or []),
            ]
            out = subprocess.run(cmd, capture_output=True, text=True)
            if out.returncode != 0:
                raise RuntimeError(f"bench variant {v} failed:\n{out.stderr[-3000:]}")
            results[v] = json.loads(out.stdout.strip().splitlines()[-1])
    base, ours = results["trl_defaults"], results["mcpft"]
    results["speed_ratio"] = ours["tokens_per_s"] / base["tokens_per_s"]
    fpt = ours["flops_per_token"]
    log(
        f"model FLOPs per training token {fpt / 1e9:.3f} GFLOP (counted for this set-up); matmul peak "
        + ", ".join(f"{d} {t:.3f} TFLOP/s" for d, t in peaks.items())
    )
    for v in VARIANTS:
        r = results[v]
        peak = peaks.get(r["dtype"])
        r["mfu"] = fpt * r["tokens_per_s"] / (peak * 1e12) if peak else None
        mfu = f"MFU {r['mfu']:.3g} ({r['dtype']})" if peak else f"MFU n/a (no {r['dtype']} peak)"
        log(
            f"{v:14} {r['tokens_per_s']:8.1f} tokens/s  {mfu}  peak RSS {r['peak_rss_gib']:.2f} GiB  "
            f"held-out loss {r['heldout_loss']:.4f}  ({r['seconds']:.1f} s)"
        )
    prof = ours["profile"]
    log(
        f"mcpft step by op ({prof['steps_profiled']} profiled steps, {prof['seconds_per_step']:.2f} s each): "
        f"matmuls {prof['matmul_share']:.0%}; "
        + ", ".join(f"{o['op']} {o['share']:.0%}" for o in prof["top_ops"])
    )
    log(f"speed ratio (mcpft / TRL defaults): {results['speed_ratio']:.2f}x")
    return results


if __name__ == "__main__":  # one variant per process: clean peak-memory figures
    variant, params_file, steps, out_dir, overrides = sys.argv[1:6]
    res = train_variant(variant, params_file, json.loads(overrides), int(steps), out_dir)
    print(json.dumps(res))
