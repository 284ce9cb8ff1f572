"""The eval sets (test split, held-out servers, challenge and hand-written sets) and the per-turn items generated
from them."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Mapping
from pathlib import Path

from mcpft_lib.core.schema import Example
from mcpft_lib.data import validate
from mcpft_lib.evaluation import handwritten as handwritten_set
from mcpft_lib.mcp import dialects
from mcpft_lib.runs import project_root

NO_SERVER = "(none)"  # the `server` of a turn that expects no call

EVAL_SETS = ("test", "held_out_servers", "challenge", "handwritten")


def challenge_path() -> Path:
    """The committed hand-curated challenge set, data/challenge.jsonl in the checkout."""

    return project_root() / "data" / "challenge.jsonl"


def load_eval_sets(
    data_dir: str | Path,
    sets: list[str],
    n_examples: int | Mapping[str, int] | None = None,
    challenge: str | Path | None = None,
    handwritten: str | Path | None = None,
) -> tuple[dict[str, list[Example]], dict]:
    """Examples of each eval set (the first `n_examples` of each, or `n_examples[set]`: a set the mapping does
    not name is used whole) and what was loaded or skipped.

    `test` and `held_out_servers` come from the run's dataset folder, `challenge` from data/challenge.jsonl
    (interleaved by category, so that a cut covers every category), `handwritten` from data/handwritten.jsonl
    with its servers' catalogs (`evaluation.handwritten`; spread over servers and kinds of answer, so that a
    cut keeps each server's and each kind's share: `mix_handwritten`).
    Bad lines are quarantined with a reason and counted (data.load_jsonl); a held-out-servers file that
    this dataset does not have is skipped with a note; any other missing file is an error naming it.
    """

    out: dict[str, list[Example]] = {}
    info: dict[str, dict] = {}
    for name in sets:
        if name not in EVAL_SETS:
            raise ValueError(f"unknown eval set {name!r}; known: {list(EVAL_SETS)}")
        path = {
            "challenge": Path(challenge or challenge_path()),
            "handwritten": Path(handwritten or handwritten_set.handwritten_path()),
        }.get(name, Path(data_dir) / f"{name}.jsonl")
        if not path.is_file():
            if name == "held_out_servers":
                info[name] = {"path": str(path), "skipped": "the dataset has no held-out-servers split"}
                continue
            raise FileNotFoundError(f"eval set {name!r}: no file {path}")
        if name == "handwritten":  # grouped by the servers offered: a cut must still cover every server
            good, bad = handwritten_set.load_handwritten(path)
            good = mix_handwritten(good)
        else:
            good, bad = validate.load_jsonl(path)
        if name == "challenge":  # the file is grouped by category: a cut must still cover every category
            good = interleave(good)
        n = n_examples.get(name) if isinstance(n_examples, Mapping) else n_examples
        out[name] = good[:n] if n else good
        info[name] = {
            "path": str(path),
            "examples": len(good),
            "used": len(out[name]),
            "quarantined": len(bad),
            "quarantine": [{"line": b["line"], "reason": b["reason"]} for b in bad[:20]],
        }
    return out, info


def interleave(examples: list[Example], key: Callable[[Example], str] | None = None) -> list[Example]:
    """Round-robin over categories, or over `key(example)` (first-appearance order), keeping the order inside
    each group."""
    groups: dict[str, list[Example]] = defaultdict(list)
    for ex in examples:
        groups[key(ex) if key else ex.category].append(ex)
    out: list[Example] = []
    for k in range(max((len(g) for g in groups.values()), default=0)):
        out += [g[k] for g in groups.values() if k < len(g)]
    return out


def spread(examples: list[Example], key: Callable[[Example], str]) -> list[Example]:
    """A stable stratified order: the members of each `key` group spread evenly over the list (the k-th of n
    sits at (k + 0.5) / n), so that any first cut holds each group in about its share."""
    sizes = Counter(key(ex) for ex in examples)
    seen: Counter = Counter()
    ranked = []
    for i, ex in enumerate(examples):
        ranked.append(((seen[key(ex)] + 0.5) / sizes[key(ex)], i, ex))
        seen[key(ex)] += 1
    return [ex for _, _, ex in sorted(ranked, key=lambda t: t[:2])]


def mix_handwritten(examples: list[Example]) -> list[Example]:
    """The hand-written rows spread over the kinds of answer (call, no_call, clarify) inside each server they
    are about, then over servers: a cut of the set keeps both mixes."""
    by_server: dict[str, list[Example]] = defaultdict(list)
    for ex in examples:
        by_server[ex.meta.get("server", "")].append(ex)
    mixed = [ex for group in by_server.values() for ex in spread(group, lambda e: e.meta.get("expect", ""))]
    return spread(mixed, lambda e: e.meta.get("server", ""))


def eval_items(sets: dict[str, list[Example]], dialect: str = "xml", compact: bool = False) -> list[dict]:
    """Items of every eval set, ids prefixed with the set name."""
    return [it for name, exs in sets.items() for it in turn_items(exs, dialect, compact, name)]


def turn_items(
    examples: list[Example], dialect: str = "xml", compact: bool = False, eval_set: str | None = None
) -> list[dict]:
    """One item per reference assistant turn: the chat up to it, the reference message, the example's servers."""
    items = []
    for ex in examples:
        chat = dialects.to_chat(ex, dialect, compact)
        mistakes = set(ex.meta.get("context_turns", []))
        refs = [(i, m) for i, m in enumerate(ex.messages) if m.role == "assistant"]
        k = 0
        for i, m in enumerate(chat):
            if m["role"] != "assistant":
                continue
            if refs[k][0] in mistakes:  # a deliberate mistake is context, not a reference
                k += 1
                continue
            items.append(
                {
                    "id": f"{eval_set}/{ex.id}#{k}" if eval_set else f"{ex.id}#{k}",
                    "set": eval_set or "test",
                    "example": ex,
                    "chat": chat[:i],
                    "ref": refs[k][1],
                    "turn": k,
                    "category": ex.category,
                }
            )
            k += 1
    return items
