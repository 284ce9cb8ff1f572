"""Catalogs, generator, validation/quarantine, splits."""

from __future__ import annotations

import importlib.util
import json
import re
import time
from collections import Counter
from pathlib import Path

import pytest

from mcpft_lib.config import load_params
from mcpft_lib.core.schema import CURATED_CATEGORIES, RESOURCE_TOOL, Example
from mcpft_lib.data import card as data_card
from mcpft_lib.data import generate, scenario, stage, validate
from mcpft_lib.data import splits as data_splits
from mcpft_lib.mcp import catalogs
from mcpft_lib.mcp.dialects import to_chat
from mcpft_lib.mcp.xml_calls import parse

ROOT = Path(__file__).resolve().parent.parent
SERVERS = catalogs.load_catalogs()
# the curated dataset the default profile trained on before it became the quick run (900 examples from the
# hand-written intents over four servers, no schema-driven ones): its generator stays pinned here
CURATED_900 = ["data.n_examples=900", "data.synth.n_examples=0", "data.val_fraction=0.08"]
_timeout = pytest.mark.timeout(60) if importlib.util.find_spec("pytest_timeout") else (lambda f: f)


def _jsonl(examples: list[Example]) -> bytes:
    return "".join(e.model_dump_json() + "\n" for e in examples).encode()


# --------------------------------------------------------------------------------------------- generator


def test_generator_is_deterministic() -> None:
    a = generate.generate(300, 7, SERVERS)
    b = generate.generate(300, 7, SERVERS)
    c = generate.generate(300, 8, SERVERS)
    assert _jsonl(a) == _jsonl(b)
    assert _jsonl(a) != _jsonl(c)
    assert data_splits.dataset_version(a, {"seed": 7}) == data_splits.dataset_version(b, {"seed": 7})
    assert data_splits.dataset_version(a, {"seed": 7}) != data_splits.dataset_version(a, {"seed": 8})
    assert data_splits.dataset_version(a, {"seed": 7}) != data_splits.dataset_version(c, {"seed": 7})


def test_generator_covers_categories_and_all_calls_validate() -> None:
    cats = generate.supported_categories()
    assert set(scenario.DEFAULT_CATEGORIES) <= set(cats)
    exs = generate.generate(600, 1, SERVERS, categories=cats)
    counts = {row["category"]: row["n"] for row in data_splits.stats(exs)["by_category"]}
    assert set(counts) == set(cats) and max(counts.values()) - min(counts.values()) <= 1
    assert len({e.id for e in exs}) == len(exs)
    for e in exs:
        assert validate.validate_example(e) == [], e.id
        assert e.id == generate.example_id(e)
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
    exs = generate.generate(200, 3, SERVERS, categories=["multi_step"])
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
    for e in generate.generate(150, 5, SERVERS):
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
    exs = generate.generate(2000, 0, SERVERS)
    assert len(exs) == 2000
    assert time.perf_counter() - t0 < 5.0


def test_generator_arguments_checked() -> None:
    assert generate.supported_categories() == list(CURATED_CATEGORIES)
    with pytest.raises(ValueError, match="balance"):
        generate.generate(10, 0, SERVERS, balance=1.5)
    with pytest.raises(ValueError, match="unknown servers/categories"):
        generate.generate(10, 0, SERVERS, weights={"nope": 2.0})
    with pytest.raises(ValueError, match="positive"):
        generate.generate(10, 0, SERVERS, weights={"git": 0})
    with pytest.raises(ValueError, match="unknown categories"):
        generate.generate(10, 0, SERVERS, categories=["nope"])
    with pytest.raises(ValueError, match="no intent"):
        generate.generate(10, 0, [catalogs.load_catalog("time")], categories=["resource_access"])
    only_time = generate.generate(30, 0, [catalogs.load_catalog("time")], max_servers_per_example=1)
    assert {s.name for e in only_time for s in e.servers} == {"time"}


# ------------------------------------------------------------------------------------------- quarantine


def test_load_jsonl_quarantines_every_bad_line(tmp_path: Path) -> None:
    good = generate.generate(5, 2, SERVERS, categories=["single_call"])

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
    kept, quarantine = validate.load_jsonl(path)
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
    e = generate.generate(1, 0, SERVERS, categories=["single_call"])[0]
    assert validate.validate_example(e) == []
    assert "no assistant turn" in validate.validate_example(e.model_copy(update={"messages": e.messages[:1]}))
    other = e.model_copy(
        update={
            "servers": [s for s in SERVERS if s.name not in {c.server for m in e.messages for c in m.calls}][
                :1
            ]
        }
    )
    assert any("unknown server" in r for r in validate.validate_example(other))
    assert any(
        "unknown category" in r for r in validate.validate_example(e.model_copy(update={"category": "x"}))
    )


def test_write_jsonl_round_trip(tmp_path: Path) -> None:
    exs = generate.generate(20, 4, SERVERS)
    p = validate.write_jsonl(tmp_path / "sub" / "train.jsonl", exs)
    kept, quarantine = validate.load_jsonl(p)
    assert kept == exs and quarantine == []
    assert not [f for f in p.parent.iterdir() if f.name.startswith(".")]  # no temp files left


# ----------------------------------------------------------------------------------------------- splits


def test_split_deterministic_stratified_no_overlap() -> None:
    exs = generate.generate(500, 9, SERVERS)
    exs += exs[:20]  # exact duplicates must not straddle splits
    a = data_splits.split(exs, seed=1)
    b = data_splits.split(exs, seed=1)
    assert {k: [e.id for e in v] for k, v in a.items()} == {k: [e.id for e in v] for k, v in b.items()}
    c = data_splits.split(exs, seed=2)
    assert [e.id for e in a["test"]] != [e.id for e in c["test"]]
    assert sum(len(v) for v in a.values()) == len(exs)
    keys = {k: {data_splits.dedup_key(e) for e in v} for k, v in a.items()}
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
    exs = generate.generate(8, 0, SERVERS, categories=["single_call", "no_tool"])
    s = data_splits.split(exs, seed=0, val_fraction=0.2, test_fraction=0.1)
    for cat in ("single_call", "no_tool"):
        assert any(e.category == cat for e in s["train"]) and any(e.category == cat for e in s["test"])
    one = data_splits.split(exs[:1], seed=0)
    assert len(one["train"]) == 1


def test_split_stratifies_by_server_and_leakage_check() -> None:
    exs = generate.generate(900, 3, SERVERS, categories=["single_call", "multi_step"])
    s = data_splits.split(exs, seed=0, val_fraction=0.2, test_fraction=0.1)
    assert data_splits.leakage(s) == []
    strata: dict[str, Counter] = {}
    for name, v in s.items():
        for stratum in {
            data_splits.dedup_key(e): data_splits.stratum(e) for e in v
        }.values():  # groups, not examples
            strata.setdefault(stratum, Counter())[name] += 1
    big = {k: c for k, c in strata.items() if sum(c.values()) >= 15}
    assert len(big) >= 6
    for k, c in big.items():  # every well-populated server stratum reaches val and test, near its share
        total = sum(c.values())
        assert c["test"] >= 1 and c["val"] >= 1, (k, c)
        assert abs(c["test"] / total - 0.1) < 0.08 and abs(c["val"] / total - 0.2) < 0.1, (k, c)
    leaky = {**s, "test": s["test"] + s["train"][:2]}
    found = data_splits.leakage(leaky)
    assert len(found) == 2 and all(f["splits"] == ["test", "train"] for f in found)


def test_dedup_key_normalises_user_text() -> None:
    e = generate.generate(1, 0, SERVERS, categories=["single_call"])[0]
    msgs = [m.model_copy() for m in e.messages]
    msgs[0] = msgs[0].model_copy(
        update={"content": "  " + msgs[0].content.upper().replace(" ", "   ") + "!!"}
    )
    assert data_splits.dedup_key(e.model_copy(update={"messages": msgs})) == data_splits.dedup_key(e)
    msgs[1] = msgs[1].model_copy(
        update={"calls": [msgs[1].calls[0].model_copy(update={"arguments": {"x": 1}})]}
    )
    assert data_splits.dedup_key(e.model_copy(update={"messages": msgs})) != data_splits.dedup_key(e)


# ------------------------------------------------------------------------------------- new categories


def test_new_categories_have_their_shape() -> None:
    cats = ["code_understanding", "large_context", "reasoning", "resource_access"]
    exs = generate.generate(800, 11, SERVERS, categories=cats)
    by = {c: [e for e in exs if e.category == c] for c in cats}
    for e in by["reasoning"]:  # brief reasoning text before the first call is part of the target
        first = next(m for m in e.messages if m.calls)
        assert len(first.content) >= 40 or first.calls[0].tool == "sequentialthinking", e.meta
    for e in by["large_context"]:  # a long tool result, or a read of a window (head/tail/offset) of a big one
        longest = max(len(m.content) for m in e.messages if m.role == "tool")
        window = any({"head", "tail", "start_index"} & set(c.arguments) for m in e.messages for c in m.calls)
        assert longest >= 400 or window, (e.meta, longest)
    for e in by["code_understanding"]:  # code comes back from a tool; the answer points into it
        assert any(m.role == "tool" and ("def " in m.content or "function" in m.content or "cid" in m.content
                                         or "diff --git" in m.content or "###" in m.content)
                   for m in e.messages), e.meta  # fmt: skip
    for e in by["code_understanding"]:  # every diff shown really changes a line
        for m in e.messages:
            if m.role == "tool" and "diff --git" in m.content:
                lines = m.content.splitlines()
                assert any(x.startswith("-") and not x.startswith("---") for x in lines), e.meta
                assert any(x.startswith("+") and not x.startswith("+++") for x in lines), e.meta
    for e in by["resource_access"]:
        assert any(c.tool == RESOURCE_TOOL for m in e.messages for c in m.calls), e.meta
    intents = Counter(e.meta["intent"] for e in exs)
    assert len(intents) >= 30  # many intents, not one template per category
    servers = {c.server for e in exs for m in e.messages for c in m.calls}
    assert {"git", "sqlite", "memory", "time", "filesystem", "fetch", "playwright", "slack"} <= servers


def test_every_server_has_intents_and_phrasings_vary() -> None:
    called = {c.server for e in generate.generate(3000, 5, SERVERS, categories=list(CURATED_CATEGORIES)) for m in e.messages
              for c in m.calls}  # fmt: skip
    assert called == {s.name for s in SERVERS}
    users = [e.messages[0].content for e in generate.generate(300, 6, SERVERS, categories=["single_call"])]
    assert len(set(users)) > 0.8 * len(users)


def test_balance_knob_evens_out_servers_and_weights_up_weight() -> None:
    rich = [
        s for s in SERVERS if s.name in ("time", "git", "filesystem", "github", "sqlite", "memory", "slack")
    ]

    def spread(**kw: object) -> Counter:  # servers with many distinct examples (few retries for uniqueness)
        exs = generate.generate(350, 2, rich, categories=["single_call"], max_servers_per_example=1, **kw)
        return Counter(e.servers[0].name for e in exs)

    uniform_intents, uniform_servers = spread(balance=0.0), spread(balance=1.0)
    ratio = lambda c: max(c.values()) / min(c.values())  # noqa: E731
    assert ratio(uniform_servers) < ratio(uniform_intents)
    assert ratio(uniform_servers) < 2.5 and ratio(uniform_intents) > 3 * ratio(uniform_servers)
    boosted = spread(balance=1.0, weights={"time": 4.0})
    assert boosted["time"] > 2.5 * uniform_servers["time"]
    cats = Counter(e.category for e in generate.generate(600, 2, SERVERS, categories=["single_call", "no_tool"],
                                                     weights={"no_tool": 2.0}))  # fmt: skip
    assert cats == {"no_tool": 400, "single_call": 200}


def test_fits_predicate_redraws_long_examples() -> None:
    short = generate.generate(
        200, 4, SERVERS, categories=["large_context"], fits=lambda e: len(e.model_dump_json()) < 9000
    )
    assert sum(len(e.model_dump_json()) >= 9000 for e in short) <= 2
    free = generate.generate(200, 4, SERVERS, categories=["large_context"])
    assert sum(len(e.model_dump_json()) >= 9000 for e in free) > 10


# ------------------------------------------------------------------ the default profile, versions, storage


@pytest.fixture(scope="module")
def default_build(tmp_path_factory: pytest.TempPathFactory) -> tuple:
    p = load_params(Path(__file__).parent.parent / "params" / "default.yaml", CURATED_900)
    out = tmp_path_factory.mktemp("data")
    return p, stage.build_dataset(p, catalogs.load_catalogs(p.data.servers), out), out


def test_default_profile_covers_every_category_in_train_and_test(default_build: tuple) -> None:
    p, built, _ = default_build
    assert set(p.data.categories) == set(CURATED_CATEGORIES)
    for name in ("train", "test"):
        assert {e.category for e in built["splits"][name]} == set(CURATED_CATEGORIES), name
    assert built["leakage"] == 0 and built["n_quarantined"] == 0
    for v in built["splits"].values():
        assert all(validate.validate_example(e) == [] for e in v)


def test_held_out_servers_never_in_training(default_build: tuple) -> None:
    p, built, _ = default_build
    held = built["splits"][stage.HELD_OUT]
    assert held and p.data.held_out_servers
    assert {s.name for e in held for s in e.servers} <= set(p.data.held_out_servers)
    assert any(m.calls for e in held for m in e.messages)
    trained = {s.name for name in ("train", "val", "test") for e in built["splits"][name] for s in e.servers}
    assert not trained & set(p.data.held_out_servers)
    assert set(stage.load_splits(Path(built["paths"]["train"]).parent)) == {
        *stage.SPLITS,
        stage.HELD_OUT,
    }


def test_same_seed_same_bytes_changed_param_new_version(default_build: tuple, tmp_path: Path) -> None:
    p, built, out = default_build
    again = stage.build_dataset(p, catalogs.load_catalogs(p.data.servers), tmp_path / "again")
    assert again["version"] == built["version"]
    for name in built["paths"]:
        if name.endswith("jsonl") or name in (*stage.SPLITS, stage.HELD_OUT):
            assert Path(again["paths"][name]).read_bytes() == Path(built["paths"][name]).read_bytes(), name
    for change in ("data.balance=0.5", "run.seed=7", "data.weights={git: 2.0}"):
        q = load_params(Path(__file__).parent.parent / "params" / "default.yaml", [*CURATED_900, change])
        assert data_splits.dataset_version(
            generate.generate(30, q.run.seed, SERVERS[:3]), stage.gen_params(q)
        ) != data_splits.dataset_version(
            generate.generate(30, q.run.seed, SERVERS[:3]), stage.gen_params(p)
        ), change


def test_dataset_dict_and_card_written(default_build: tuple) -> None:
    p, built, out = default_build
    back = stage.load_dataset_dict(out / "hf")
    assert {k: [e.id for e in v] for k, v in back.items()} == {
        k: [e.id for e in v] for k, v in built["splits"].items()
    }
    assert back["train"][0] == built["splits"]["train"][0]
    card = (out / "README.md").read_text(encoding="utf-8")
    assert built["version"] in card and "## Composition" in card and "code_understanding" in card
    assert "mcp-server-time" in card and "postgres" in card
    from huggingface_hub import DatasetCard

    loaded = DatasetCard.load(out / "README.md")
    assert loaded.data.pretty_name and "mcp" in loaded.data.tags


def test_build_quarantines_too_long_with_a_tokenizer(tmp_path: Path) -> None:
    class CharTok:  # one token per character: no model download, deterministic
        def apply_chat_template(self, messages, tools=None, tokenize=False, add_generation_prompt=False):
            text = "".join(f"<{m['role']}>{m['content']}</{m['role']}>" for m in messages)
            return text + ("<assistant>" if add_generation_prompt else "")

        def __call__(self, text, add_special_tokens=False):
            return {"input_ids": [ord(c) % 97 for c in text]}

    p = load_params(Path(__file__).parent.parent / "params" / "default.yaml",
                    ["data.n_examples=90", "data.synth.n_examples=0", "data.max_length=5000", "data.held_out_servers=[]"])  # fmt: skip
    built = stage.build_dataset(p, catalogs.load_catalogs(p.data.servers), tmp_path, tok=CharTok())
    lengths = [len(stage.chat(e, p)) for v in built["splits"].values() for e in v]
    assert built["n_examples"] + built["n_quarantined"] == 90
    assert all(q["reason"].startswith("too_long") for q in built["quarantine"])
    assert {e.category for e in built["splits"]["train"]} == set(CURATED_CATEGORIES)
    assert lengths


# ----------------------------------------------------------------------------------- statistics and charts


def test_complexity_quality_and_charts(default_build: tuple) -> None:
    _, built, _ = default_build
    splits = built["splits"]
    assert data_card.nesting_depth(1) == 0 and data_card.nesting_depth({"a": [{"b": 1}]}) == 3
    rows = data_card.complexity(splits)
    assert len(rows) == sum(len(v) for v in splits.values())
    assert max(r["calls"] for r in rows) >= 2 and max(r["arg_depth"] for r in rows) >= 3
    assert all(r["schema_chars"] > 0 for r in rows)
    q = data_card.quality(splits, built["quarantine"])
    assert q["schema_valid_rate"] == 1.0 and q["leaking_groups"] == 0 and q["length_unit"] == "characters"
    dup = {**splits, "train": splits["train"] + splits["train"][:3]}
    assert data_card.quality(dup)["duplicate_examples"] == q["duplicate_examples"] + 3
    lengths = [
        {"split": "train", "category": "x", "prompt": 10 * i, "target": i, "total": 11 * i}
        for i in range(1, 40)
    ]
    lengths.append({"split": "train", "category": "x", "prompt": 5000, "target": 10, "total": 5010})
    ql = data_card.quality(splits, None, lengths, max_length=400)
    assert ql["length_outliers"] == 1 and ql["over_max_length"] == 4 and ql["length_unit"] == "tokens"
    figs = [data_card.composition_chart(splits), data_card.server_category_chart(splits), data_card.token_chart(lengths),
            data_card.complexity_chart(rows), data_card.quality_chart(q)]  # fmt: skip
    for f in figs:
        assert f.data and f.to_json()
    assert len(data_card.complexity_chart(rows).data) == 4
    assert {tr.name for tr in data_card.token_chart(lengths).data} == {"prompt", "target"}
    assert list(data_card.token_table(lengths).index) == ["train"]


def test_bench_data_reports_rate(capsys: pytest.CaptureFixture[str]) -> None:
    from mcpft_lib import cli

    assert cli.main(["bench", "data", "params/default.yaml", "--examples", "300"]) == 0
    out = capsys.readouterr().out
    rate = float(re.search(r"examples/second: (\d+)", out).group(1))
    assert "generated 300 examples" in out and rate > 50
    synth = re.search(r"schema-driven: (\d+) examples over (\d+) servers .*: (\d+) examples/minute", out)
    assert synth and int(synth.group(1)) == 300 and int(synth.group(2)) >= 10 and int(synth.group(3)) > 0
    assert out.strip().splitlines()[-1].startswith("schema-driven / target 10,000 per minute: ")


def test_example_browser_static_and_widget(default_build: tuple) -> None:
    _, built, _ = default_build
    splits = {"train": built["splits"]["train"][:3], "empty": []}
    static = data_card.example_browser(splits, None, interactive=False)
    assert static.startswith("train[0]") and "=== xml ===" in static and "=== native ===" in static
    assert "<use_mcp_tool>" in static or built["splits"]["train"][0].category in ("no_tool", "clarification")
    box = data_card.example_browser(splits, None, interactive=True)
    split, dialect = box.children[0].children
    index, meta, text = box.children[1:]
    assert split.options == ("train",) and index.max == 2 and built["splits"]["train"][0].id in meta.value
    dialect.value = "native"
    assert text.value == data_card.render_example(built["splits"]["train"][0], "native")
    index.value = 2
    assert built["splits"]["train"][2].id in meta.value
    assert data_card.example_browser({"x": []}, interactive=False) == "no examples"


def test_invalid_utf8_row_is_quarantined_not_replaced(tmp_path) -> None:
    good = generate.generate(2, 1, SERVERS, categories=["single_call"])
    lines = [g.model_dump_json().encode() for g in good]
    broken = lines[1].replace(b'"content":"', b'"content":"\xff\xfe', 1)
    path = tmp_path / "rows.jsonl"
    path.write_bytes(lines[0] + b"\n" + broken + b"\n")
    kept, quarantine = validate.load_jsonl(path)
    assert [e.id for e in kept] == [good[0].id]
    assert quarantine[0]["line"] == 2 and "invalid UTF-8" in quarantine[0]["reason"]


# The curated dataset (CURATED_900), pinned: a refactor that changes one generated byte fails here. When a change to
# the generator is meant to change the data, update these values in the same commit and say why.
DEFAULT_VERSION = "f3901987879d"
DEFAULT_SHA256 = {
    "train.jsonl": "6f17ffb088e62577b212beef0a25cd00a04bdce28b2239fbf39345604cb17f8d",
    "val.jsonl": "c8d52f6993ee3cc1c4e205eb34d9c4a61b89bdbd19ab7dc455728709aa8e3aa4",
    "test.jsonl": "7b7fc68c4d7d8912fe541aef9bbdad927853936c7fe8afbb137496a46527d8d7",
    "held_out_servers.jsonl": "a3b38bd635efc26bb2a2644afdbc596ad039588975d6ab63f2bc5c925fef36f4",
}
# every server and category at once (4,000 examples, seed 7): covers the intents the default profile does not use
ALL_INTENTS_SHA256 = "4e2a7c776c793a8147ae788b00d3735d24243e63685608ecaad17154e87221a3"


def test_default_dataset_is_pinned(tmp_path: Path) -> None:
    import hashlib

    p = load_params(ROOT / "params" / "default.yaml", CURATED_900)
    built = stage.build_dataset(
        p, catalogs.load_catalogs(p.data.servers), tmp_path, catalogs.load_catalogs(p.data.held_out_servers)
    )
    assert built["version"] == DEFAULT_VERSION
    got = {name: hashlib.sha256((tmp_path / name).read_bytes()).hexdigest() for name in DEFAULT_SHA256}
    assert got == DEFAULT_SHA256


def test_every_intent_is_pinned() -> None:
    import hashlib

    servers = catalogs.load_catalogs(catalogs.catalog_names())
    exs = generate.generate(4000, 7, servers, generate.supported_categories(), 3, 0.5, {})
    text = "\n".join(e.model_dump_json() for e in exs)
    assert hashlib.sha256(text.encode()).hexdigest() == ALL_INTENTS_SHA256
