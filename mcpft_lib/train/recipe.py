"""The training recipe: params in, dataset built or read, adapter trained. Notebook 02, `python -m
mcpft_lib.train` and `accelerate launch` all call `train_from_params`."""

from __future__ import annotations

import json
from pathlib import Path

from mcpft_lib import config
from mcpft_lib.config import Params, load_params
from mcpft_lib.data import stage
from mcpft_lib.mcp import catalogs
from mcpft_lib.modeling import loaders
from mcpft_lib.modeling.chat import tokenize_rows
from mcpft_lib.train.trainer import train_lora


def train_from_params(p: Params, out_dir: str | Path, data_dir: str | Path | None = None) -> dict:
    """Train as notebook 02 does, without a notebook: the dataset folder notebook 01 wrote (or, without one, the
    same dataset built from the params into a temporary folder), then `train_lora`. Entry of
    `python -m mcpft_lib.train` and so of `accelerate launch` / `torchrun` for multi-process training."""
    import tempfile

    if data_dir is not None:
        splits = stage.load_splits(data_dir)  # a bad file fails here, before the model loads
    else:
        with tempfile.TemporaryDirectory() as d:
            splits = stage.build_dataset(p, catalogs.load_catalogs(p.data.servers), d)["splits"]
    model, tok = loaders.load_model(p.model)
    config.check_against_model(p, loaders.max_positions(model))
    rows = {k: tokenize_rows(tok, stage.chats(splits[k], p), p.data.max_length) for k in ("train", "val")}
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
