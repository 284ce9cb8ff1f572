"""Running the synthesizer: `synthesize()` examples from catalogs alone, `write_dataset()` splits and exports them,
`generate_from_catalogs()` is `mcpft data generate`."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from random import Random
from typing import Any

from pydantic import ValidationError

from mcpft_lib.core.fsutil import write_json
from mcpft_lib.core.schema import RESOURCE_TOOL, Example, Server, ToolCall
from mcpft_lib.data import splits as data_splits
from mcpft_lib.data import validate
from mcpft_lib.data.openai_format import write_openai_jsonl
from mcpft_lib.data.synth.builder import Options, Synthesizer, schema_errors
from mcpft_lib.mcp.catalogs import CatalogError, validate_catalog


def synthesize(servers: list[Server], n: int, seed: int, distractors: list[Server] | None = None,
               options: Options | None = None, families: dict[str, str] | None = None,
               fits: Callable[[Example], bool] | None = None) -> tuple[list[Example], list[dict[str, Any]]]:  # fmt: skip
    """`n` distinct examples over `servers` (each server in turn, categories by the options' mix among those that
    apply to it) and the quarantine: every draw that could not become a valid example, with its reason."""
    r = Random(seed)
    syn = Synthesizer(servers, distractors, options, families)
    mix = syn.opt.mix
    apps = {s.name: syn.applicable(s) for s in syn.servers}
    order = [s for s in syn.servers if apps[s.name]]
    if not order:
        raise ValueError("none of the requested categories applies to these servers")
    out: list[Example] = []
    quarantine: list[dict[str, Any]] = []
    seen: set[str] = set()
    attempts, limit = 0, 20 * n + 100
    while len(out) < n and attempts < limit:
        attempts += 1
        server = order[attempts % len(order)] if attempts % 3 else r.choice(order)
        cats = apps[server.name]
        cat = r.choices(cats, [mix.get(c, 0.0) or 1e-3 for c in cats])[0]
        sub = Random(r.getrandbits(64))
        try:
            ex = syn.example(sub, cat, server)
        except (ValueError, IndexError, KeyError) as e:
            quarantine.append({"server": server.name, "category": cat, "reason": f"not built: {e}"})
            continue
        reasons = validate.validate_example(ex)
        if not reasons and fits is not None and not fits(ex):
            reasons = ["longer than data.max_length"]
        if reasons:
            quarantine.append(
                {"id": ex.id, "server": server.name, "category": cat, "reason": "; ".join(reasons)}
            )
            continue
        key = data_splits.dedup_key(ex)
        if key in seen:
            continue
        seen.add(key)
        out.append(ex)
    return out, quarantine


def write_dataset(examples: list[Example], quarantine: list[dict[str, Any]], out_dir: str | Path, seed: int,
                  val_fraction: float = 0.1, test_fraction: float = 0.1,
                  extra_stats: dict[str, Any] | None = None) -> dict[str, Any]:  # fmt: skip
    """train/val/test JSONL (canonical), `<split>.openai.jsonl`, quarantine.json and stats.json in `out_dir`."""
    out_dir = Path(out_dir)
    splits = data_splits.split(examples, seed, val_fraction, test_fraction)
    paths: dict[str, str] = {}
    for name, rows in splits.items():
        paths[name] = str(validate.write_jsonl(out_dir / f"{name}.jsonl", rows))
        paths[f"{name}.openai"] = str(write_openai_jsonl(rows, out_dir / f"{name}.openai.jsonl"))
    write_json(out_dir / "quarantine.json", quarantine)
    reasons = Counter(q["reason"].split(":")[0] for q in quarantine)
    stats = {
        "n_examples": len(examples),
        "counts": {k: len(v) for k, v in splits.items()},
        "categories": dict(sorted(Counter(e.category for e in examples).items())),
        "servers": len({s.name for e in examples for s in e.servers}),
        "called_tools": len({f"{c.server}/{c.tool}" for e in examples for m in e.messages for c in m.calls}),
        "renamed": sum(1 for e in examples if e.meta.get("renamed")),
        "tools_offered": dict(
            sorted(Counter(sum(len(s.tools) for s in e.servers) for e in examples).items())
        ),
        "n_quarantined": len(quarantine),
        "quarantine_reasons": dict(reasons.most_common()),
        **(extra_stats or {}),
        "paths": paths,
    }
    write_json(out_dir / "stats.json", stats)
    return stats


def read_catalog_file(path: str | Path) -> Server:
    """A catalog JSON file (a harvested server); a bad file is a CatalogError naming it."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"--catalog {path}: no such file")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CatalogError(f"{path}: not a JSON catalog: {e}") from None
    if isinstance(data, dict):
        data.pop("harvest", None)  # how it was harvested: not part of the server
    try:
        server = Server.model_validate(data)
    except ValidationError as e:
        first = e.errors()[0]
        raise CatalogError(
            f"{path}: {'.'.join(map(str, first['loc'])) or '<root>'}: {first['msg']}"
        ) from None
    return validate_catalog(server, path)


def generate_from_catalogs(catalog_files: list[str | Path], n: int, out_dir: str | Path, seed: int = 0,
                           distractors: list[Server] | None = None, options: Options | None = None,
                           overwrite: bool = False) -> dict[str, Any]:  # fmt: skip
    """`mcpft data generate`: examples for the tools of the given catalogs, split and written to `out_dir`."""
    servers = [read_catalog_file(p) for p in catalog_files]
    names = [s.name for s in servers]
    if len(set(names)) != len(names):
        raise ValueError(f"--catalog: two catalogs name the same server: {sorted(names)}")
    out = Path(out_dir)
    if (out / "train.jsonl").exists() and not overwrite:
        raise FileExistsError(
            f"{out} already holds a dataset (train.jsonl); choose another --out or --overwrite"
        )
    t0 = time.perf_counter()
    examples, quarantine = synthesize(servers, n, seed, distractors, options)
    seconds = time.perf_counter() - t0
    invalid = sum(1 for e in examples for m in e.messages for c in m.calls if _invalid_call(e, c))
    extra = {"seed": seed, "catalogs": [str(p) for p in catalog_files], "seconds": round(seconds, 3),
             "examples_per_minute": round(60 * len(examples) / max(seconds, 1e-9)),
             "invalid_reference_calls": invalid, "distractor_servers": len(distractors or [])}  # fmt: skip
    return write_dataset(examples, quarantine, out, seed, extra_stats=extra)


def _invalid_call(ex: Example, c: ToolCall) -> bool:
    server = ex.server(c.server)
    if server is None:
        return True
    if c.tool == RESOURCE_TOOL:
        return not any(r.uri == c.arguments.get("uri") for r in server.resources)
    tool = server.tool(c.tool)
    return tool is None or bool(schema_errors(tool, c.arguments))
