"""Catalogs, generator, validation/quarantine, splits."""

from __future__ import annotations

import importlib.util
import json
import re
import time
from pathlib import Path

import pytest

from mcpft_lib import catalogs, data
from mcpft_lib.dialects import parse, to_chat
from mcpft_lib.schema import Example

SERVERS = catalogs.load_catalogs()
_timeout = pytest.mark.timeout(60) if importlib.util.find_spec("pytest_timeout") else (lambda f: f)


def _jsonl(examples: list[Example]) -> bytes:
    return "".join(e.model_dump_json() + "\n" for e in examples).encode()


# --------------------------------------------------------------------------------------------- generator


def test_generator_is_deterministic() -> None:
    a = data.generate(300, 7, SERVERS)
    b = data.generate(300, 7, SERVERS)
    c = data.generate(300, 8, SERVERS)
    assert _jsonl(a) == _jsonl(b)
    assert _jsonl(a) != _jsonl(c)
    assert data.dataset_version(a, {"seed": 7}) == data.dataset_version(b, {"seed": 7})
    assert data.dataset_version(a, {"seed": 7}) != data.dataset_version(a, {"seed": 8})
    assert data.dataset_version(a, {"seed": 7}) != data.dataset_version(c, {"seed": 7})


def test_generator_covers_categories_and_all_calls_validate() -> None:
    cats = data.supported_categories()
    assert set(data.DEFAULT_CATEGORIES) <= set(cats)
    exs = data.generate(600, 1, SERVERS, categories=cats)
    counts = {row["category"]: row["n"] for row in data.stats(exs)["by_category"]}
    assert set(counts) == set(cats) and max(counts.values()) - min(counts.values()) <= 1
    assert len({e.id for e in exs}) == len(exs)
    for e in exs:
        assert data.validate_example(e) == [], e.id
        assert e.id == data.example_id(e)
        assert 1 <= len(e.servers) <= 2
        called = {c.server for m in e.messages for c in m.calls}
        assert called <= {s.name for s in e.servers}
        for i in e.meta.get("context_turns", []):
            assert e.messages[i].role == "assistant" and e.messages[i + 1].is_error
    by_cat = {c: [e for e in exs if e.category == c] for c in cats}
    assert all(not any(m.calls for m in e.messages) for e in by_cat["no_tool"])
    assert all(not e.messages[1].calls and "?" in e.messages[1].content for e in by_cat["clarification"])
    assert all(any(m.is_error for m in e.messages) for e in by_cat["error_handling"])
    assert all(sum(bool(m.calls) for m in e.messages) >= 2 for e in by_cat["multi_step"])


def test_multi_step_uses_a_value_from_the_first_result() -> None:
    exs = data.generate(200, 3, SERVERS, categories=["multi_step"])
    for e in exs:
        calls = [(i, c) for i, m in enumerate(e.messages) for c in m.calls]
        (i1, _), (_, c2) = calls[0], calls[1]
        first_result = e.messages[i1 + 1].content
        values = [
            v for leaf in _leaves(c2.arguments) for v in (leaf, *re.findall(r'"([^"]+)"', leaf)) if len(v) > 2
        ]
        assert any(v in first_result for v in values), e.meta


def _leaves(obj: object) -> list[str]:
    if isinstance(obj, dict):
        return [x for v in obj.values() for x in _leaves(v)]
    if isinstance(obj, list):
        return [x for v in obj for x in _leaves(v)]
    return [str(obj)]


def test_rendered_reference_turns_parse_back() -> None:
    for e in data.generate(150, 5, SERVERS):
        chat = to_chat(e, compact=True)
        ref = [m for m in e.messages if m.role == "assistant"]
        out = [m for m in chat if m["role"] == "assistant"]
        assert len(ref) == len(out)
        for m, o in zip(ref, out, strict=True):
            r = parse(o["content"])
            assert r.well_formed and r.calls == m.calls
            assert r.has_markup == bool(m.calls)


def test_generator_speed() -> None:
    t0 = time.perf_counter()
    exs = data.generate(2000, 0, SERVERS)
    assert len(exs) == 2000
    assert time.perf_counter() - t0 < 5.0


def test_generator_arguments_checked() -> None:
    with pytest.raises(ValueError, match="not produce"):
        data.generate(10, 0, SERVERS, categories=["large_context"])
    with pytest.raises(ValueError, match="unknown categories"):
        data.generate(10, 0, SERVERS, categories=["nope"])
    with pytest.raises(ValueError, match="no intent"):
        data.generate(10, 0, [catalogs.load_catalog("time")], categories=["resource_access"])
    only_time = data.generate(30, 0, [catalogs.load_catalog("time")], max_servers_per_example=1)
    assert {s.name for e in only_time for s in e.servers} == {"time"}


# ------------------------------------------------------------------------------------------- quarantine


def test_load_jsonl_quarantines_every_bad_line(tmp_path: Path) -> None:
    good = data.generate(5, 2, SERVERS, categories=["single_call"])

    def row(e: Example, **changes: object) -> str:
        d = json.loads(e.model_dump_json())
        d.update(changes)
        return json.dumps(d)

    unknown_tool = json.loads(good[0].model_dump_json())
    unknown_tool["id"] = "unknowntool1"
    unknown_tool["messages"][1]["calls"][0]["tool"] = "no_such_tool"
    bad_args = json.loads(good[1].model_dump_json())
    bad_args["id"] = "badargs00001"
    bad_args["messages"][1]["calls"][0]["arguments"] = {"unexpected": 1}
    lines = [
        row(good[0]),
        "{not json",
        json.dumps(unknown_tool),
        json.dumps(bad_args),
        row(good[2], id="empty0000001", messages=[]),
        row(good[3]),
        "",
        json.dumps({"id": "x", "servers": "oops"}),
        row(good[3]),  # duplicate id
        row(good[4]),
    ]
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    kept, quarantine = data.load_jsonl(path)
    assert [e.id for e in kept] == [good[0].id, good[3].id, good[4].id]
    reasons = {q["line"]: q["reason"] for q in quarantine}
    assert sorted(reasons) == [2, 3, 4, 5, 8, 9]
    assert "bad JSON" in reasons[2]
    assert "unknown tool" in reasons[3]
    assert "invalid" in reasons[4] and "arguments of" in reasons[4]
    assert "empty conversation" in reasons[5]
    assert "invalid example" in reasons[8]
    assert "duplicate id" in reasons[9]
    assert all(len(q["raw"]) <= 500 for q in quarantine)
    assert quarantine[0]["raw"] == "{not json"


def test_validate_example_reasons() -> None:
    e = data.generate(1, 0, SERVERS, categories=["single_call"])[0]
    assert data.validate_example(e) == []
    assert "no assistant turn" in data.validate_example(e.model_copy(update={"messages": e.messages[:1]}))
    other = e.model_copy(
        update={
            "servers": [s for s in SERVERS if s.name not in {c.server for m in e.messages for c in m.calls}][
                :1
            ]
        }
    )
    assert any("unknown server" in r for r in data.validate_example(other))
    assert any("unknown category" in r for r in data.validate_example(e.model_copy(update={"category": "x"})))


def test_write_jsonl_round_trip(tmp_path: Path) -> None:
    exs = data.generate(20, 4, SERVERS)
    p = data.write_jsonl(tmp_path / "sub" / "train.jsonl", exs)
    kept, quarantine = data.load_jsonl(p)
    assert kept == exs and quarantine == []
    assert not [f for f in p.parent.iterdir() if f.name.startswith(".")]  # no temp files left


# ----------------------------------------------------------------------------------------------- splits


def test_split_deterministic_stratified_no_overlap() -> None:
    exs = data.generate(500, 9, SERVERS)
    exs += exs[:20]  # exact duplicates must not straddle splits
    a = data.split(exs, seed=1)
    b = data.split(exs, seed=1)
    assert {k: [e.id for e in v] for k, v in a.items()} == {k: [e.id for e in v] for k, v in b.items()}
    c = data.split(exs, seed=2)
    assert [e.id for e in a["test"]] != [e.id for e in c["test"]]
    assert sum(len(v) for v in a.values()) == len(exs)
    keys = {k: {data.dedup_key(e) for e in v} for k, v in a.items()}
    assert (
        not keys["train"] & keys["val"]
        and not keys["train"] & keys["test"]
        and not keys["val"] & keys["test"]
    )
    for cat in {e.category for e in exs}:
        for name in ("train", "val", "test"):
            assert any(e.category == cat for e in a[name]), (cat, name)
    assert 0.05 < len(a["test"]) / len(exs) < 0.2


def test_split_small_categories() -> None:
    exs = data.generate(8, 0, SERVERS, categories=["single_call", "no_tool"])
    s = data.split(exs, seed=0, val_fraction=0.2, test_fraction=0.1)
    for cat in ("single_call", "no_tool"):
        assert any(e.category == cat for e in s["train"]) and any(e.category == cat for e in s["test"])
    one = data.split(exs[:1], seed=0)
    assert len(one["train"]) == 1
