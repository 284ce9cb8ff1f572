"""The training recipe: params in, dataset built or read, adapter trained. Notebook 02, `python -m
mcpft_lib.train` and `accelerate launch` all call `train_from_params`; the notebook shows what it returns."""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mcpft_lib import config
from mcpft_lib.config import Params, load_params
from mcpft_lib.data import stage
from mcpft_lib.mcp import catalogs
from mcpft_lib.modeling import loaders
from mcpft_lib.modeling.chat import tokenize_rows
from mcpft_lib.train.trainer import read_log, train_lora


@dataclass
class Training:
    """What `train_from_params` did. `summary` is the training summary (metrics.json `train`: the derived steps,
    losses, throughput, memory, the rows dropped and the model's parameter counts); `rows` the tokenized train and
    val rows it trained and validated on; `tokenizer` and `model` (the PEFT model) for a look at them."""

    summary: dict
    rows: dict[str, list[dict]]
    tokenizer: Any
    model: Any

    def log(self) -> list[dict]:
        """The JSONL training log (loss, validation loss, learning rate, grad norm, tokens/s, memory per step)."""
        return read_log(self.summary["log"])

    def rows_table(self) -> list[dict]:
        """Per split: rows trained (or validated) on and the chats dropped, by reason."""
        dropped = self.summary["dropped"]
        return [
            {"split": k, "rows": len(v), **{f"dropped: {r}": n for r, n in dropped[k].items()}}
            for k, v in self.rows.items()
        ]

    def learned_text(self, i: int = 0) -> str:
        """The tokens the loss learns in training row `i` (labels not -100), decoded: the assistant's replies."""
        return self.tokenizer.decode([t for t in self.rows["train"][i]["labels"] if t != -100])

    def schedule(self) -> dict:
        """The training length and intervals in steps, as derived from the profile (train.schedule)."""
        keys = ("length_from", "epochs", "train_rows", "processes", "effective_batch", "steps_per_epoch",
                "max_steps", "eval_at", "save_at", "steps", "epochs_done")  # fmt: skip
        return {k: self.summary[k] for k in keys}

    def memory(self) -> dict:
        """Parameters (base, trainable LoRA) and the memory this training took (GPU peak, or process RSS)."""
        s = self.summary
        mem = {k: s[k] for k in ("gpu_mem_gib", "rss_gib", "rss_max_gib") if k in s}
        return {**{f"parameters: {k}": v for k, v in s["parameters"].items()}, **mem}


def train_from_params(
    p: Params,
    out_dir: str | Path,
    data_dir: str | Path | None = None,
    *,
    source: str = "params",
    progress_to_stderr: bool = True,
) -> Training:
    """Train a LoRA adapter from a profile: the dataset folder notebook 01 wrote (or, without one, the same
    dataset built from the params with the run's tokenizer into a temporary folder), the model, the chats
    tokenized with labels on the assistant turns (too-long ones dropped and counted), then `train_lora` into
    `out_dir`. Entry of notebook 02, of `python -m mcpft_lib.train` and so of `accelerate launch` / `torchrun`
    for multi-process training. `source` names the params in errors; `progress_to_stderr` puts a text
    progress bar on the process's terminal (a headless run) instead of the notebook."""
    import tempfile

    if data_dir is not None:
        splits = stage.load_splits(data_dir)  # a bad file fails here, before the model loads
    else:  # as notebook 01 builds it: the run's tokenizer redraws examples longer than data.max_length
        with tempfile.TemporaryDirectory() as d:
            tok = loaders.load_tokenizer(p.model)
            splits = stage.build_dataset(p, catalogs.load_catalogs(p.data.servers), d, tok=tok)["splits"]
    t0 = time.time()
    model, tok = loaders.load_model(p.model)
    config.check_against_model(p, loaders.max_positions(model), source)
    parameters = {**loaders.param_count(model), "load_seconds": round(time.time() - t0, 1)}
    rows = {k: tokenize_rows(tok, stage.chats(splits[k], p), p.data.max_length) for k in ("train", "val")}
    select = None
    if p.train.select_by == "held_out":  # checkpoints chosen on servers never trained on (train.select_by)
        held = splits.get(stage.HELD_OUT) or []
        if not held:
            raise ValueError(
                f"{source}: train.select_by: held_out needs a held_out_servers split; the dataset has none "
                "(set data.held_out_servers or data.synth.held_out_servers)"
            )
        sample = random.Random(p.run.seed).sample(held, min(p.train.select_rows, len(held)))
        select = tokenize_rows(tok, stage.chats(sample, p), p.data.max_length)[0]
    summary, peft_model = train_lora(
        model,
        tok,
        rows["train"][0],
        rows["val"][0],
        p.model,
        p.train,
        out_dir,
        p.run.seed,
        progress_to_stderr=progress_to_stderr,
        select_rows=select,
    )
    trainable = sum(q.numel() for q in peft_model.parameters() if q.requires_grad)
    parameters.update(trainable=trainable, trainable_pct=100.0 * trainable / max(parameters["total"], 1))
    return Training(
        summary={**summary, "parameters": parameters, "dropped": {k: dict(v[1]) for k, v in rows.items()}},
        rows={k: v[0] for k, v in rows.items()},
        tokenizer=tok,
        model=peft_model,
    )


def main(argv: list[str] | None = None) -> int:
    import argparse
    import os

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
    result = train_from_params(load_params(a.params, a.set), a.out_dir, a.data, source=a.params)
    if int(os.environ.get("RANK", "0")) == 0:
        print(json.dumps(result.summary, default=str))
    return 0
