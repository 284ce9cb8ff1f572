"""The dataset stage: generate, validate (quarantine), split, version and store; read it back for later stages."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from . import data, dialects
from .config import Params
from .runs import read_json, write_json
from .schema import Example, Server

SPLITS = ("train", "val", "test")


def gen_params(p: Params) -> dict:
    """Everything that determines the generated data (its hash is part of the dataset version)."""
    return {
        "seed": p.run.seed,
        "n_examples": p.data.n_examples,
        "servers": p.data.servers,
        "categories": p.data.categories,
        "max_servers_per_example": p.data.max_servers_per_example,
        "val_fraction": p.data.val_fraction,
        "test_fraction": p.data.test_fraction,
    }


def build_dataset(p: Params, servers: list[Server], out_dir: str | Path) -> dict:
    """Generate, validate, split and write the dataset as JSONL (+ quarantine, dataset.json)."""
    out_dir = Path(out_dir)
    examples = data.generate(
        p.data.n_examples, p.run.seed, servers, p.data.categories, p.data.max_servers_per_example
    )
    good, quarantine = [], []
    for ex in examples:
        reasons = data.validate_example(ex)
        if reasons:
            quarantine.append({"id": ex.id, "reason": "; ".join(reasons), "category": ex.category})
        else:
            good.append(ex)
    splits = data.split(good, p.run.seed, p.data.val_fraction, p.data.test_fraction)
    splits = {name: splits.get(name, []) for name in SPLITS}
    version = data.dataset_version(good, gen_params(p))
    paths = {}
    for name, rows in splits.items():
        paths[name] = str(out_dir / f"{name}.jsonl")
        data.write_jsonl(paths[name], rows)
    write_json(out_dir / "quarantine.json", quarantine)
    composition = [
        {"split": name, "category": cat, "count": n}
        for name, rows in splits.items()
        for cat, n in sorted(Counter(ex.category for ex in rows).items())
    ]
    info = {
        "version": version,
        "gen_params": gen_params(p),
        "n_examples": len(good),
        "n_quarantined": len(quarantine),
        "counts": {k: len(v) for k, v in splits.items()},
        "composition": composition,
    }
    write_json(out_dir / "dataset.json", info)
    return {**info, "splits": splits, "quarantine": quarantine, "paths": paths}


def load_splits(data_dir: str | Path) -> dict[str, list[Example]]:
    """Read the split JSONL files back; a bad line is an error naming the file and line."""
    data_dir = Path(data_dir)
    out = {}
    for name in SPLITS:
        examples, bad = data.load_jsonl(data_dir / f"{name}.jsonl")
        if bad:
            first = bad[0]
            raise ValueError(
                f"{data_dir / f'{name}.jsonl'}:{first['line']}: {first['reason']} ({len(bad)} bad rows)"
            )
        out[name] = examples
    return out


def dataset_info(data_dir: str | Path) -> dict:
    return read_json(Path(data_dir) / "dataset.json", {})


def chat(ex: Example, p: Params) -> list[dict]:
    """Chat messages of one example; assistant turns that hold a deliberate mistake get `learn: False`."""
    out = dialects.to_chat(ex, p.data.dialect, p.data.compact_schemas)
    mistakes = set(ex.meta.get("context_turns", []))
    learn = iter([i not in mistakes for i, m in enumerate(ex.messages) if m.role == "assistant"])
    for m in out:
        if m["role"] == "assistant":
            m["learn"] = next(learn, True)
    return out


def chats(examples: list[Example], p: Params) -> list[list[dict]]:
    return [chat(ex, p) for ex in examples]


def sample_prompts(examples: list[Example], p: Params, tok=None, n: int = 4) -> list[str]:
    """Prompts (chat up to the first assistant turn, as text) for merge checks and load-back generation."""
    out = []
    for chat in chats(examples[:n], p):
        k = next(i for i, m in enumerate(chat) if m["role"] == "assistant")
        out.append(chat[:k])
    if tok is None:
        return out
    return [tok.apply_chat_template(c, tokenize=False, add_generation_prompt=True) for c in out]


def token_lengths(tok, splits: dict[str, list[Example]], p: Params) -> list[dict]:
    """Prompt / target / total tokens per example and split with the run's tokenizer."""
    from .train import tokenize_chat

    rows = []
    for name, exs in splits.items():
        for ex, chat in zip(exs, chats(exs, p), strict=True):
            row, reason = tokenize_chat(tok, chat, max_length=10**9)
            if row is None:
                rows.append(
                    {"split": name, "category": ex.category, "total": 0, "target": 0, "dropped": reason}
                )
                continue
            target = sum(1 for x in row["labels"] if x != -100)
            rows.append(
                {
                    "split": name,
                    "category": ex.category,
                    "total": len(row["input_ids"]),
                    "target": target,
                    "prompt": len(row["input_ids"]) - target,
                }
            )
    return rows
