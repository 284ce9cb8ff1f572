"""The hand-written eval set (data/handwritten.jsonl over data/handwritten/catalogs/): size and coverage, every
reference valid against its tool's schema, the catalogs, the scorer on hand-made outputs, notebook 04's items."""

import json
from pathlib import Path

import jsonschema
import pytest

from mcpft_lib.config import load_params
from mcpft_lib.core.schema import Message, Server, ToolCall
from mcpft_lib.evaluation import handwritten, metrics, runner, stats, views
from mcpft_lib.evaluation import items as evaluation_items
from mcpft_lib.mcp import catalogs, xml_calls

ROOT = Path(__file__).resolve().parents[1]
# the training catalogs (and their variants) the set must stay clear of
TRAINED = {
    "time", "git", "fetch", "filesystem", "github", "sqlite", "memory", "slack", "brave_search", "puppeteer",
    "sequential_thinking", "postgres", "playwright", "context7",
}  # fmt: skip


@pytest.fixture(scope="module")
def rows():
    good, bad = handwritten.load_handwritten()
    assert bad == [], bad[:3]  # every line fits its catalogs
    return good


def block(server: str, tool: str, args: dict) -> str:
    return xml_calls.render_assistant(
        Message(role="assistant", calls=[ToolCall(server=server, tool=tool, arguments=args)])
    )


def test_size_coverage_and_provenance(rows):
    expects = [ex.meta["expect"] for ex in rows]
    assert len(rows) >= 150
    assert expects.count("no_call") / len(rows) >= 0.25
    assert 1 <= expects.count("clarify") <= 15
    targets = {ex.meta["acceptable"][0]["server"] for ex in rows if ex.meta["expect"] == "call"}
    assert len(targets) >= 10
    assert all(ex.provenance == "handwritten" for ex in rows)
    assert all(2 <= len(ex.servers) <= 4 for ex in rows)  # the target plus 1-3 distractors
    assert all(ex.meta["server"] in {s.name for s in ex.servers} for ex in rows)


def test_no_row_duplicated(rows):
    assert len({ex.id for ex in rows}) == len(rows)
    requests = [" ".join(ex.messages[0].content.casefold().split()) for ex in rows]
    assert len(set(requests)) == len(requests)


def test_every_server_file_loads_and_none_was_trained_on():
    files = sorted((ROOT / "data" / "handwritten" / "catalogs").glob("*.json"))
    assert len(files) >= 12
    for f in files:
        server = Server.model_validate_json(f.read_text())
        assert server.name == f.stem and server.package and server.version and server.tools
        assert all(ch.isdigit() or ch == "." for ch in server.version), server.version  # an exact version
    names = {f.stem for f in files}
    assert not names & TRAINED and not names & {p.stem for p in catalogs.CATALOG_DIR.glob("*.json")}
    listed = json.loads((ROOT / "data" / "handwritten" / "servers.json").read_text())["servers"]
    loaded = handwritten.load_catalogs()
    assert {s["name"] for s in listed} == names
    assert all(
        (s["package"], s["version"], s["tools"])
        == (loaded[s["name"]].package, loaded[s["name"]].version, len(loaded[s["name"]].tools))
        for s in listed
    )


def test_every_accepted_call_is_valid_against_its_schema(rows):
    n = 0
    for ex in rows:
        for alt in ex.meta.get("acceptable") or []:
            schema = ex.server(alt["server"]).tool(alt["tool"]).inputSchema
            jsonschema.validate(alt["arguments"], schema)
            n += 1
        if ex.meta["expect"] == "no_call":  # the tempting tool is offered, and the reference makes no call
            server, tool = ex.meta["tempting"].split(".", 1)
            assert ex.server(server).tool(tool) is not None and not ex.messages[1].calls
    assert n >= 150


def test_every_accepted_call_scores_as_right(rows):
    """The reference and each alternative score tool selection, schema and arguments true (1.0 is reachable)."""
    items = evaluation_items.turn_items(rows, eval_set="handwritten")
    for it in items:
        for alt in it["example"].meta.get("acceptable") or []:
            s = metrics.score_turn(
                block(alt["server"], alt["tool"], alt["arguments"]), it["ref"], it["example"]
            )
            assert (s["tool_selection"], s["schema_valid"], s["args_match"]) == (True, True, True), it["id"]
            assert s["hallucinated_tool"] is False
    refs = runner.score_items(items, [xml_calls.render_assistant(it["ref"]) for it in items])
    for it, r in zip(items, refs, strict=True):
        assert r["tool_selection"] is True, it["id"]
        if not r["expected_call"]:
            assert (r["no_call_ok"], r["unexpected_call"]) == (True, False), it["id"]


def test_a_bad_line_is_quarantined_with_its_reason(tmp_path, rows):
    ex = next(e for e in rows if e.meta["expect"] == "call")
    obj = json.loads(ex.model_dump_json())
    obj["servers"] = [{"name": s.name} for s in ex.servers]
    wrong = json.loads(json.dumps(obj))
    wrong["meta"]["acceptable"][0]["match"] = {"nonexistent_param": "sometimes"}
    unknown = {**obj, "id": "u", "servers": [{"name": "not_a_server"}]}
    path = tmp_path / "hw.jsonl"
    path.write_text("\n".join(json.dumps(o) for o in (obj, wrong, unknown, "{broken")) + "\n")
    good, bad = handwritten.load_handwritten(path)
    assert [e.id for e in good] == [ex.id]
    reasons = {b["line"]: b["reason"] for b in bad}
    assert "'sometimes' of 'nonexistent_param' is not one of" in reasons[2] and "does not have" in reasons[2]
    assert "no catalog for server 'not_a_server'" in reasons[3]
    assert 4 in reasons


# --- the scorer on hand-made model outputs ------------------------------------------------------------------


def _row(rows, id_):
    ex = next(e for e in rows if e.id == id_)
    return ex, ex.messages[1]


def test_scores_right_alternative_and_wrong_argument_calls(rows):
    ex, ref = _row(rows, "hw-wx-lisbon-weekend")
    right = metrics.score_turn(block("open_meteo", "geocoding", {"name": "lisbon", "count": 1}), ref, ex)
    assert (right["tool_selection"], right["args_match"], right["schema_valid"]) == (True, True, True)
    other_server = metrics.score_turn(
        block("google_maps", "maps_geocode", {"address": "Lisbon, Portugal"}), ref, ex
    )
    assert (other_server["tool_selection"], other_server["args_match"]) == (True, True)
    wrong_arg = metrics.score_turn(block("open_meteo", "geocoding", {"name": "Porto"}), ref, ex)
    assert (wrong_arg["tool_selection"], wrong_arg["args_match"], wrong_arg["args_reason"]) == (
        True,
        False,
        "value:name",
    )
    wrong_tool = metrics.score_turn(
        block("open_meteo", "air_quality", {"latitude": 1, "longitude": 2}), ref, ex
    )
    assert (wrong_tool["tool_selection"], wrong_tool["selection_reason"]) == (False, "wrong_tool")
    assert wrong_tool["hallucinated_tool"] is False and wrong_tool["schema_valid"] is True


def test_match_rules_on_real_rows(rows):
    ex, ref = _row(rows, "hw-cal-create-explicit")  # dates in any ISO form, summary case-insensitive
    got = {
        "calendarId": "primary",
        "summary": "Dentist",
        "start": "2026-03-12 09:00",
        "end": "2026-03-12T09:45:00",
    }
    assert metrics.score_turn(block("google_calendar", "create-event", got), ref, ex)["args_match"] is True
    late = {**got, "start": "2026-03-12T10:00:00"}
    assert (
        metrics.score_turn(block("google_calendar", "create-event", late), ref, ex)["args_reason"]
        == "value:start"
    )
    ex, ref = _row(rows, "hw-cci-why-red")  # a nested object checked key by key, extra context keys accepted
    got = {
        "params": {"projectSlug": "gh/acme/storefront", "branch": "main", "workspaceRoot": "/src/storefront"}
    }
    assert metrics.score_turn(block("circleci", "get_build_failure_logs", got), ref, ex)["args_match"] is True
    got["params"]["branch"] = "develop"
    s = metrics.score_turn(block("circleci", "get_build_failure_logs", got), ref, ex)
    assert (s["args_match"], s["args_reason"]) == (False, "value:params.branch")
    ex, ref = _row(rows, "hw-mongo-find-user")  # "any": the connection id is the model's to choose
    got = {
        "connectionId": "conn-1",
        "database": "app",
        "collection": "users",
        "filter": {"email": "jane@acme.dev"},
    }
    assert metrics.score_turn(block("mongodb", "find", got), ref, ex)["args_match"] is True
    assert metrics.score_turn(block("mongodb", "list-connections", {}), ref, ex)["tool_selection"] is True


def test_scores_hallucinated_tools_and_no_call_rows(rows):
    ex, ref = _row(rows, "hw-dd-incident")
    made_up = metrics.score_turn(block("datadog", "get_incident_timeline", {"id": "4821"}), ref, ex)
    assert made_up["hallucinated_tool"] is True and made_up["selection_reason"] == "hallucinated_tool"
    assert (made_up["tool_selection"], made_up["schema_valid"], made_up["args_match"]) == (
        False,
        False,
        False,
    )
    ex, ref = _row(rows, "hw-wx-stock")  # no offered tool gives stock prices
    called = metrics.score_turn(
        block("open_meteo", "weather_forecast", {"latitude": 0, "longitude": 0}), ref, ex
    )
    assert (called["no_call_ok"], called["unexpected_call"], called["tool_selection"]) == (False, True, False)
    assert called["hallucinated_tool"] is False and called["selection_reason"] == "unexpected_call"
    text = metrics.score_turn("Stock prices aren't available with these tools.", ref, ex)
    assert (text["no_call_ok"], text["unexpected_call"], text["tool_selection"]) == (True, False, True)
    assert text["hallucinated_tool"] is None and text["answer_f1"] > 0
    assert metrics.score_turn("", ref, ex)["no_call_ok"] is False  # silence is not an answer
    ex, ref = _row(rows, "hw-k8s-scale-howmany")
    ask = metrics.score_turn("How many replicas do you want?", ref, ex)
    assert (ask["clarifies"], ask["no_call_ok"]) == (True, True)


def test_metrics_over_a_model_on_the_set(rows):
    """Per-model summaries, paired tests and metrics.json keys for the set, from hand-made outputs."""
    cut = evaluation_items.mix_handwritten(rows)[:26]
    items = evaluation_items.eval_items({"handwritten": cut})
    good = [
        xml_calls.render_assistant(it["ref"]) if it["ref"].calls else it["ref"].content or "ok"
        for it in items
    ]
    bad = [block("exa", "web_search_exa", {"query": "x"}) if k % 2 else "no idea" for k in range(len(items))]
    results = {
        "base": {"rows": runner.score_items(items, bad), "stats": {}},
        "fine_tuned": {"rows": runner.score_items(items, good), "stats": {}},
    }
    record = runner.metrics_record(results, items, primary="test")
    hw = record["sets"]["handwritten"]
    assert record["primary_set"] == "handwritten" and hw["items"] == 26
    assert (
        hw["fine_tuned"]["tool_selection"]["value"] == 1.0 and hw["fine_tuned"]["no_call_ok"]["value"] == 1.0
    )
    assert hw["fine_tuned"]["unexpected_call"]["value"] == 0.0 and hw["base"]["unexpected_call"]["value"] > 0
    assert hw["tests"]["tool_selection"]["b_only"] > 0 and hw["tests"]["tool_selection"]["p_value"] < 0.05
    summary, _ = stats.compare(results, eval_set="handwritten")
    assert set(metrics.METRICS) <= set(summary["base"])
    table = views.set_summary_table(results, "handwritten", views.HANDWRITTEN_METRICS)  # notebook 04's table
    assert (
        set(table.index) == set(views.HANDWRITTEN_METRICS) and table.loc["unexpected_call", "p (paired)"] < 1
    )
    json.dumps(record)


def test_notebook_04_items_of_the_smoke_profile_include_the_set(tmp_path):
    """What notebook 04 builds for the smoke profile (load_eval_sets, eval_items), without a model."""
    p = load_params(ROOT / "params" / "smoke.yaml")
    assert "handwritten" in p.eval.sets
    (tmp_path / "test.jsonl").write_text(
        (ROOT / "data" / "challenge.jsonl").read_text(encoding="utf-8").splitlines()[0] + "\n"
    )
    sets, info = evaluation_items.load_eval_sets(tmp_path, p.eval.sets, p.eval.n_examples)
    items = evaluation_items.eval_items(sets, p.data.dialect, p.data.compact_schemas)
    hw = [it for it in items if it["set"] == "handwritten"]
    assert len(hw) == p.eval.n_examples == info["handwritten"]["used"]
    assert info["handwritten"]["examples"] >= 150 and info["handwritten"]["quarantined"] == 0
    assert len({it["example"].meta["server"] for it in hw}) == len(hw)  # a cut covers different servers
    for it in hw:
        system = it["chat"][0]["content"]
        assert all(f"## {s.name}" in system for s in it["example"].servers)
        assert it["chat"][-1] == {"role": "user", "content": it["example"].messages[0].content}
    quality = load_params(ROOT / "params" / "quality.yaml")  # the profile the quality targets are measured on
    assert "handwritten" in quality.eval.sets
    cut, _ = evaluation_items.load_eval_sets(tmp_path, ["handwritten"], quality.eval.n_examples)
    cut = cut["handwritten"]
    assert len(cut) == quality.eval.n_examples["handwritten"] == 188  # the whole set
    cut, _ = evaluation_items.load_eval_sets(tmp_path, ["handwritten"], {"handwritten": 52})
    cut = cut["handwritten"]  # four rows per server keep the servers and the no-call share
    assert len({ex.meta["server"] for ex in cut}) >= 12
    assert 0.2 <= sum(ex.meta["expect"] == "no_call" for ex in cut) / len(cut) <= 0.35
