"""Splits, near-duplicate keys, leakage audit, dataset versions and statistics."""

from __future__ import annotations

import hashlib
import re
from random import Random
from typing import Any

from mcpft_lib.core.schema import Example
from mcpft_lib.data.scenario import canonical_json

_SPACE = re.compile(r"\s+")

_PUNCT = re.compile(r"[^\w\s]")


def normalise_text(text: str) -> str:
    """Lower case, punctuation dropped, whitespace collapsed: 'Show me X!' and 'show me  x' are the same request."""
    return _SPACE.sub(" ", _PUNCT.sub(" ", text.lower())).strip()


def dedup_key(ex: Example) -> str:
    """Hash of the normalised user text and the reference calls: equal keys never straddle splits."""
    users = " | ".join(normalise_text(m.content) for m in ex.messages if m.role == "user")
    calls = [c.model_dump(mode="json") for m in ex.messages if m.role == "assistant" for c in m.calls]
    return hashlib.sha1(canonical_json({"user": users, "calls": calls}).encode()).hexdigest()[:16]


def stratum(ex: Example) -> str:
    """`category|servers`: the servers the reference calls use (the connected ones when it makes no call)."""
    used = sorted({c.server for m in ex.messages for c in m.calls}) or sorted(s.name for s in ex.servers)
    return f"{ex.category}|{'+'.join(used)}"


def _spread(n: int, g: int) -> list[int]:
    """n positions spread evenly over range(g) (systematic sampling of a stratum-sorted list)."""
    return [int((j + 0.5) * g / n) for j in range(n)]


def split(examples: list[Example], seed: int, val_fraction: float = 0.2,
          test_fraction: float = 0.1) -> dict[str, list[Example]]:  # fmt: skip
    """Deterministic split stratified by category x server; duplicate groups (dedup_key) stay in one split.

    Inside a category, groups are sorted by server stratum and val/test take evenly spaced positions, so every
    server gets its share of each split. Every category with >= 3 distinct groups gets at least one group in
    train, val (if val_fraction > 0) and test. Examples keep their input order inside each split.
    """
    if not (0 <= val_fraction < 1 and 0 <= test_fraction < 1 and val_fraction + test_fraction < 1):
        raise ValueError("need 0 <= val_fraction, test_fraction and val_fraction + test_fraction < 1")
    groups: dict[str, list[int]] = {}  # key -> example indexes (insertion ordered)
    stratum_of: dict[str, str] = {}
    for i, ex in enumerate(examples):
        k = dedup_key(ex)
        groups.setdefault(k, []).append(i)
        stratum_of.setdefault(k, stratum(ex))
    by_cat: dict[str, list[str]] = {}
    for k in groups:
        by_cat.setdefault(stratum_of[k].split("|", 1)[0], []).append(k)
    assign: dict[str, str] = {}
    for cat in sorted(by_cat):
        keys = sorted(by_cat[cat])
        Random(f"{seed}:{cat}").shuffle(keys)
        keys.sort(key=lambda k: stratum_of[k])  # stable: shuffled inside each server stratum
        g = len(keys)
        n_test = round(g * test_fraction)
        n_val = round(g * val_fraction)
        if g >= 3:
            n_test = max(n_test, 1 if test_fraction > 0 else 0)
            n_val = max(n_val, 1 if val_fraction > 0 else 0)
            while n_test + n_val > g - 1:  # keep >= 1 for train
                if n_val >= n_test and n_val > (1 if val_fraction > 0 else 0):
                    n_val -= 1
                elif n_test > 1:
                    n_test -= 1
                else:
                    n_val -= 1
        else:
            n_test = n_val = 0
        test_pos = set(_spread(n_test, g))
        rest = [j for j in range(g) if j not in test_pos]
        val_pos = {rest[j] for j in _spread(n_val, len(rest))}
        for j, k in enumerate(keys):
            assign[k] = "test" if j in test_pos else "val" if j in val_pos else "train"
    out: dict[str, list[Example]] = {s: [] for s in SPLITS}
    for ex in examples:
        out[assign[dedup_key(ex)]].append(ex)
    return out


def leakage(splits: dict[str, list[Example]]) -> list[dict[str, Any]]:
    """Near-duplicates (same dedup_key) found in more than one split: [{key, splits, ids}] (empty when clean)."""
    where: dict[str, dict[str, list[str]]] = {}
    for name, exs in splits.items():
        for ex in exs:
            where.setdefault(dedup_key(ex), {}).setdefault(name, []).append(ex.id)
    return [
        {"key": k, "splits": sorted(v), "ids": [i for ids in v.values() for i in ids]}
        for k, v in sorted(where.items())
        if len(v) > 1
    ]


def dataset_version(examples: list[Example], gen_params: dict[str, Any]) -> str:
    """Content hash of the examples (including their catalogs) and the generation parameters, 12 hex."""
    h = hashlib.sha256(canonical_json(gen_params).encode())
    server_hash: dict[int, str] = {}
    for ex in examples:
        h.update(canonical_json(ex.model_dump(mode="json", exclude={"servers"})).encode())
        for s in ex.servers:
            if id(s) not in server_hash:
                server_hash[id(s)] = hashlib.sha256(
                    canonical_json(s.model_dump(mode="json")).encode()
                ).hexdigest()
            h.update(server_hash[id(s)].encode())
    return h.hexdigest()[:12]


def stats(examples: list[Example]) -> dict[str, Any]:
    """Counts per category, server, tool, difficulty and turn count, as lists of dicts (DataFrame-ready)."""
    cat: dict[str, int] = {}
    diff: dict[str, int] = {}
    turns: dict[int, int] = {}
    connected: dict[str, int] = {}
    called: dict[str, int] = {}
    tools: dict[tuple[str, str], int] = {}
    for ex in examples:
        cat[ex.category] = cat.get(ex.category, 0) + 1
        diff[ex.difficulty] = diff.get(ex.difficulty, 0) + 1
        k = sum(m.role == "assistant" for m in ex.messages)
        turns[k] = turns.get(k, 0) + 1
        used: set[str] = set()
        for s in ex.servers:
            connected[s.name] = connected.get(s.name, 0) + 1
        for m in ex.messages:
            for c in m.calls:
                tools[(c.server, c.tool)] = tools.get((c.server, c.tool), 0) + 1
                used.add(c.server)
        for s in sorted(used):
            called[s] = called.get(s, 0) + 1
    return {
        "n": len(examples),
        "by_category": [{"category": c, "n": cat[c]} for c in sorted(cat)],
        "by_difficulty": [{"difficulty": d, "n": diff[d]} for d in sorted(diff)],
        "by_assistant_turns": [{"assistant_turns": t, "n": turns[t]} for t in sorted(turns)],
        "by_server": [
            {"server": s, "connected": connected[s], "called": called.get(s, 0)} for s in sorted(connected)
        ],
        "by_tool": [{"server": s, "tool": t, "calls": tools[(s, t)]} for s, t in sorted(tools)],
    }


SPLITS = ("train", "val", "test")
