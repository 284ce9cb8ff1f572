"""Benchmarks that measure side by side in one run and print ratios (`mcpft bench train`)."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path

from mcpft_lib.config import Params, load_params
from mcpft_lib.data import generate, stage
from mcpft_lib.mcp import catalogs
from mcpft_lib.modeling import chat, loaders, peft_setup
from mcpft_lib.modeling.chat import tokenize_rows
from mcpft_lib.train import trainer as train_trainer
from mcpft_lib.train.loss import target_only_loss

VARIANTS = ("trl_defaults", "mcpft")


def _rows_and_chats(p: Params, n: int) -> tuple[list[list[dict]], list[list[dict]]]:
    """Training chats and held-out chats from the run's generator (same for every variant)."""

    servers = catalogs.load_catalogs(p.data.servers)
    exs = generate.generate(n + 8, p.run.seed, servers, p.data.categories, p.data.max_servers_per_example)
    chats = stage.chats(exs, p)
    return chats[:n], chats[n:]


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


def train_variant(variant: str, params_file: str, overrides: list[str], steps: int, out_dir: str) -> dict:
    """Train one variant for `steps` steps; report tokens/s, peak RSS, held-out loss (run in its own process)."""
    from datasets import Dataset

    p = load_params(params_file, overrides)
    n = steps * p.train.batch_size * p.train.grad_accum
    chats, heldout = _rows_and_chats(p, n)
    model, tok = loaders.load_model(p.model)
    rows, dropped = chat.tokenize_rows(tok, chats, p.data.max_length)
    tokens = sum(len(r["input_ids"]) for r in rows)
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.time()
    if variant == "mcpft":
        tp = p.train.model_copy(
            update={"epochs": None, "max_steps": steps, "eval_every": 10**6, "save_every": 10**6}
        )
        _, trained = train_trainer.train_lora(model, tok, rows, [], p.model, tp, out_dir, seed=p.run.seed)
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
            peft_config=peft_setup.lora_config(p.train.lora),
        )
        trainer.train()
        trained = trainer.model
    seconds = time.time() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
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
    }


def bench_train(params_file: str, overrides: list[str] | None = None, steps: int = 6, log=print) -> dict:
    """Train the same model on the same data for the same steps with TRL defaults and with mcpft; ratio last."""
    import tempfile

    load_params(params_file, overrides)  # fail fast on bad params
    results = {}
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
    for v in VARIANTS:
        r = results[v]
        log(
            f"{v:14} {r['tokens_per_s']:8.1f} tokens/s  peak RSS {r['peak_rss_gib']:.2f} GiB  "
            f"held-out loss {r['heldout_loss']:.4f}  ({r['seconds']:.1f} s)"
        )
    log(f"speed ratio (mcpft / TRL defaults): {results['speed_ratio']:.2f}x")
    return results


if __name__ == "__main__":  # one variant per process: clean peak-memory figures
    variant, params_file, steps, out_dir, overrides = sys.argv[1:6]
    res = train_variant(variant, params_file, json.loads(overrides), int(steps), out_dir)
    print(json.dumps(res))
