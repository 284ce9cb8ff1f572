"""BFCL measures functions the model has never seen: no BFCL function trains, no BFCL request is in the
project's data, templates or value pools. Regenerate the committed name list with `python -m tests.test_contamination`."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from mcpft_lib.config import load_params
from mcpft_lib.data import generate
from mcpft_lib.data.synth import recipe, synthesize
from mcpft_lib.evaluation.bfcl import source
from mcpft_lib.mcp.catalogs import load_catalogs

ROOT = Path(__file__).resolve().parent.parent
NAMES = ROOT / "mcpft_lib/data/synth/bfcl_names.txt"
# real tools of the project's own catalogs (harvested from their published servers) that share a BFCL function's
# name: the curated seed data keeps them (the tool exists as such), schema-driven data leaves them out
KNOWN_COLLISIONS = {
    "get_current_time"
}  # mcp-server-time's tool; BFCL's live get_current_time is another function


@lru_cache(maxsize=1)
def bfcl() -> tuple[set[str], list[str]]:
    names, questions = set(), []
    for c in source.CATEGORIES:
        for it in source.load_category(c):
            names |= {f["name"] for f in it.functions}
            questions += [
                m["content"]
                for m in it.messages
                if m.get("role") == "user" and isinstance(m.get("content"), str)
            ]
    return names, questions


def _norm(s: str) -> str:
    return re.sub(r"\W+", " ", s.lower()).strip()


def test_the_committed_name_list_is_bfcls():
    names, _ = bfcl()
    lines = [ln for ln in NAMES.read_text(encoding="utf-8").splitlines() if ln and not ln.startswith("#")]
    assert lines == sorted(names)


def test_no_bfcl_function_trains():
    p = load_params(ROOT / "params/default.yaml", ["data.synth.n_examples=200"])
    train, held, family = recipe.split_servers(p)
    names = recipe.bfcl_names()
    assert not {t.name for s in train for t in s.tools} & names
    examples, _ = synthesize(train, 200, 0, train, recipe.options(p), family)
    offered = {t.name for e in examples for s in e.servers for t in s.tools}
    assert offered and not offered & names
    curated = generate.generate(400, 0, load_catalogs(p.data.servers), p.data.categories, 1)
    called = {c.tool for e in curated for m in e.messages for c in m.calls}
    assert called & names <= KNOWN_COLLISIONS


def test_no_bfcl_request_is_in_the_data_or_templates():
    _, questions = bfcl()
    long_q = {_norm(q) for q in questions if len(_norm(q)) >= 30}
    files = [
        *(ROOT / "mcpft_lib/data").rglob("*.yaml"),
        ROOT / "mcpft_lib/mcp/world.yaml",
        ROOT / "data/challenge.jsonl",
    ]
    text = _norm(" ".join(f.read_text(encoding="utf-8") for f in files))
    assert not [q for q in long_q if q in text]
    p = load_params(ROOT / "params/default.yaml", ["data.synth.n_examples=500"])
    train, _, family = recipe.split_servers(p)
    examples, _ = synthesize(train, 500, 1, train, recipe.options(p), family)
    examples += generate.generate(500, 1, load_catalogs(p.data.servers), p.data.categories, 1)
    users = {_norm(m.content) for e in examples for m in e.messages if m.role == "user"}
    assert not users & long_q


if __name__ == "__main__":
    names, _ = bfcl()
    head = [ln for ln in NAMES.read_text(encoding="utf-8").splitlines() if ln.startswith("#")]
    NAMES.write_text("\n".join([*head, *sorted(names)]) + "\n", encoding="utf-8")
    print(f"wrote {NAMES}: {len(names)} names")
