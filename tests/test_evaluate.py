"""Evaluation rules, hand-scored: every case states the verdict a careful human gives the turn."""

import json
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mcpft_lib.core.schema import Example, Message, Server, Tool, ToolCall
from mcpft_lib.evaluation import items as evaluation_items
from mcpft_lib.evaluation import metrics, runner, views
from mcpft_lib.evaluation import stats as evaluation_stats
from mcpft_lib.mcp import catalogs, live, xml_calls

TIME = catalogs.load_catalog("time")
SQLITE = catalogs.load_catalog("sqlite")
CALL = ToolCall(server="time", tool="get_current_time", arguments={"timezone": "Europe/Berlin"})
EX = Example(
    id="e",
    servers=[TIME, SQLITE],
    category="single_call",
    messages=[Message(role="user", content="time in Berlin?"), Message(role="assistant", calls=[CALL])],
)
REF = EX.messages[1]
NOCALL = Message(role="assistant", content="Which city do you mean?")


def block(server="time", tool="get_current_time", args='{"timezone": "Europe/Berlin"}'):
    return f"<use_mcp_tool>\n<server_name>{server}</server_name>\n<tool_name>{tool}</tool_name>\n<arguments>\n{args}\n</arguments>\n</use_mcp_tool>"


# --- call turns: format, selection (with the reason), schema, arguments ------------------------------------


@pytest.mark.parametrize(
    "pred, expected",
    [
        (
            block(),
            dict(well_formed=True, tool_selection=True, schema_valid=True, args_match=True, args_reason="ok"),
        ),
        (block(args='{"timezone": " europe/berlin "}'), dict(tool_selection=True, args_match=True)),
        (block(args='{"timezone": "Europe/Berlin"}') + "\n\nDone.", dict(well_formed=True, args_match=True)),
        (
            block(args='{"timezone": "Asia/Tokyo"}'),
            dict(tool_selection=True, schema_valid=True, args_match=False, args_reason="value:timezone"),
        ),
        (
            block(args='{"tz": "Europe/Berlin"}'),
            dict(schema_valid=False, args_match=False, args_reason="missing_required:timezone"),
        ),
        (
            block(args='{"timezone": "Europe/Berlin", "format": "iso"}'),
            dict(schema_valid=True, args_match=False, args_reason="unexpected_param:format"),
        ),
        (
            block(args='{"timezone": 1}'),
            dict(schema_valid=False, args_match=False, args_reason="type:timezone"),
        ),
        (
            block(tool="convert_time"),
            dict(well_formed=True, tool_selection=False, args_match=False, selection_reason="wrong_tool"),
        ),
        (
            block(tool="get_time"),
            dict(tool_selection=False, schema_valid=False, selection_reason="hallucinated_tool"),
        ),
        (
            block(server="git"),
            dict(tool_selection=False, schema_valid=False, selection_reason="hallucinated_tool"),
        ),
        (
            block(args='{"timezone": '),
            dict(well_formed=False, tool_selection=False, selection_reason="no_call"),
        ),
        ("<use_mcp_tool><server_name>time</server_name>", dict(well_formed=False, tool_selection=False)),
        (
            "The time in Berlin is 10:00.",
            dict(well_formed=False, tool_selection=False, schema_valid=False, args_reason="no_call"),
        ),
        (
            block() + block(args='{"timezone": "UTC"}'),
            dict(tool_selection=True, args_match=True),
        ),  # first call
    ],
)
def test_score_call_turns(pred, expected):
    s = metrics.score_turn(pred, REF, EX)
    for k, v in expected.items():
        assert s[k] == v, (k, s)
    assert s["server"] == "time" and s["executed_ok"] is None  # live execution fills executed_ok


def test_wrong_server_with_the_same_tool_name():
    twin = Server(name="clock", tools=[Tool(name="get_current_time", inputSchema=TIME.tools[0].inputSchema)])
    ex = EX.model_copy(update={"servers": [TIME, twin]})
    s = metrics.score_turn(block(server="clock"), REF, ex)
    assert (s["tool_selection"], s["selection_reason"], s["schema_valid"]) == (False, "wrong_server", True)


def test_resource_reads():
    ref = Message(
        role="assistant",
        calls=[ToolCall(server="sqlite", tool="access_mcp_resource", arguments={"uri": "memo://insights"})],
    )
    good = "<access_mcp_resource>\n<server_name>sqlite</server_name>\n<uri>memo://insights</uri>\n</access_mcp_resource>"
    s = metrics.score_turn(good, ref, EX)
    assert (s["tool_selection"], s["schema_valid"], s["args_match"]) == (True, True, True)
    s = metrics.score_turn(good.replace("insights", "other"), ref, EX)
    assert (s["tool_selection"], s["args_match"], s["args_reason"]) == (True, False, "value:uri")
    s = metrics.score_turn(block(server="sqlite", tool="read_query", args='{"query": "select 1"}'), ref, EX)
    assert (s["tool_selection"], s["selection_reason"]) == (False, "wrong_tool")


def test_alternatives_from_the_reference_meta():
    ex = EX.model_copy(update={"meta": {"alternatives": {"0": {"timezone": ["Europe/Berlin", "CET"]}}}})
    assert metrics.score_turn(block(args='{"timezone": "CET"}'), REF, ex, turn=0)["args_match"] is True
    assert metrics.score_turn(block(args='{"timezone": "CET"}'), REF, ex, turn=1)["args_match"] is False
    ex = EX.model_copy(update={"meta": {"alternatives": {"timezone": ["CET"]}}})  # one entry for every turn
    assert metrics.score_turn(block(args='{"timezone": "CET"}'), REF, ex, turn=3)["args_match"] is True


# --- BFCL-style argument rules, one by one ------------------------------------------------------------------

SCHEMA = {
    "type": "object",
    "properties": {
        "path": {"type": "string"},
        "head": {"type": "number"},
        "count": {"type": "integer"},
        "recursive": {"type": "boolean"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "opts": {"type": "object"},
        "note": {"type": ["string", "null"]},
        "mode": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
    },
    "required": ["path"],
}
WANT = {"path": "/src/App.py", "head": 5, "recursive": True, "tags": ["a", "b"]}


@pytest.mark.parametrize(
    "got, alts, expected",
    [
        ({"path": "/src/App.py", "head": 5, "recursive": True, "tags": ["a", "b"]}, None, "ok"),
        ({"path": " /src/app.py ", "head": 5.0, "recursive": True, "tags": ["A", "b "]}, None, "ok"),
        ({"head": 5, "recursive": True, "tags": ["a", "b"]}, None, "missing_required:path"),
        ({**WANT, "colour": "red"}, None, "unexpected_param:colour"),  # not in the schema
        ({**WANT, "count": 3}, None, "unexpected_param:count"),  # in the schema, not in the reference
        ({**WANT, "count": 3}, {"count": [3]}, "ok"),  # ... unless the reference allows it
        ({**WANT, "head": "5"}, None, "type:head"),
        ({**WANT, "recursive": 1}, None, "type:recursive"),  # 1 is not a boolean
        ({**WANT, "head": 6}, None, "value:head"),
        ({**WANT, "head": 10}, {"head": [10, 20]}, "ok"),
        ({**WANT, "head": 30}, {"head": [10, 20]}, "value:head"),
        ({"path": "/src/App.py", "recursive": True, "tags": ["a", "b"]}, None, "missing_optional:head"),
        ({"path": "/src/App.py", "recursive": True, "tags": ["a", "b"]}, {"head": [None]}, "ok"),
        ({**WANT, "tags": ["b", "a"]}, None, "value:tags"),  # list order matters
        ({**WANT, "path": "/src/App.pyc"}, None, "value:path"),
        ({**WANT, "path": "/src/other.py"}, {"path": ["/src/other.py"]}, "ok"),
        ({**WANT, "count": 3.0}, {"count": [3]}, "ok"),  # 3.0 is an integer value
        ({**WANT, "count": 3.5}, {"count": [3]}, "type:count"),
        ({**WANT, "note": None}, {"note": [None, "x"]}, "value:note"),  # None only means "may be left out"
        ({**WANT, "note": "x"}, {"note": [None, "x"]}, "ok"),
        ({**WANT, "mode": 2}, {"mode": [2]}, "ok"),  # anyOf: integer allowed
        ({**WANT, "mode": [2]}, {"mode": [2]}, "type:mode"),
    ],
)
def test_args_match_rules(got, alts, expected):
    ok, reason = metrics.args_match(got, WANT, SCHEMA, alts)
    assert reason == expected and ok == (expected == "ok")


def test_nested_objects_compare_key_by_key():
    want = {"path": "a", "opts": {"depth": 2, "follow": False}}
    alts = {"opts": []}
    assert metrics.args_match({"path": "a", "opts": {"follow": False, "depth": 2.0}}, want, SCHEMA, alts)[0]
    assert not metrics.args_match({"path": "a", "opts": {"depth": 2}}, want, SCHEMA, alts)[0]
    assert not metrics.args_match({"path": "a", "opts": {"depth": 2, "follow": 0}}, want, SCHEMA, alts)[0]


# --- no-call turns: clarifying questions and answers -----------------------------------------------------


@pytest.mark.parametrize(
    "pred, expected",
    [
        ("Which city do you mean?", True),
        ("Sure — which city?", True),
        ("Could you tell me the location you have in mind?", False),  # asks, but not for the city
        ("Which city do you mean", False),  # no question
        ("The city is Berlin.", False),
        (block(), False),  # calls instead of asking
    ],
)
def test_clarifying_questions(pred, expected):
    s = metrics.score_turn(pred, NOCALL, EX)
    assert s["clarifies"] is expected and s["answer_f1"] is None and s["args_match"] is None


def test_missing_slot_keywords_from_meta():
    ex = EX.model_copy(update={"meta": {"missing": ["timezone", "time zone"]}})
    assert metrics.score_turn("Which time zone is that in?", NOCALL, ex)["clarifies"] is True
    assert metrics.score_turn("Which city do you mean?", NOCALL, ex)["clarifies"] is False
    assert metrics.slot_keywords(NOCALL, EX) == ["city", "mean"]


@pytest.mark.parametrize(
    "pred, ref, f1, rl",
    [
        ("It is 10:00 in Berlin.", "It is 10:00 in Berlin.", 1.0, 1.0),
        ("the cat sat", "the cat", 0.8, 0.8),
        ("a b c d", "a c b d", 1.0, 0.75),  # same bag of words, order differs
        ("completely different", "nothing shared here", 0.0, 0.0),
        ("", "", 1.0, 1.0),
        ("", "something", 0.0, 0.0),
    ],
)
def test_answer_text_metrics(pred, ref, f1, rl):
    assert metrics.token_f1(pred, ref) == pytest.approx(f1)
    assert metrics.rouge_l(pred, ref) == pytest.approx(rl)


def test_answer_turns_and_unexpected_calls():
    ref = Message(role="assistant", content="It is 10:00 in Berlin.")
    s = metrics.score_turn("It's 10:00 in Berlin.", ref, EX)
    assert (
        s["tool_selection"]
        and s["clarifies"] is None
        and 0.5 < s["answer_f1"] < 1
        and s["server"] == "(none)"
    )
    s = metrics.score_turn(block(), ref, EX)
    assert (s["tool_selection"], s["selection_reason"], s["well_formed"]) == (False, "unexpected_call", True)
    t0 = time.time()
    assert metrics.rouge_l("x " * 500_000, "x " * 5000) <= 1.0 and time.time() - t0 < 5  # bounded work


@pytest.mark.parametrize(
    "pred, well_formed, selection",
    [
        ("Which city do you mean?", True, True),
        (block(), True, False),  # a call where none is expected
        ("<use_mcp_tool><server_name>time", False, True),  # broken markup, no call
    ],
)
def test_score_no_call_turns(pred, well_formed, selection):
    s = metrics.score_turn(pred, NOCALL, EX)
    assert (s["well_formed"], s["tool_selection"], s["args_match"]) == (well_formed, selection, None)


# --- statistics ---------------------------------------------------------------------------------------------


def test_bootstrap_interval_brackets_mean():
    lo, hi = evaluation_stats.bootstrap_ci([1.0] * 30 + [0.0] * 10)
    assert lo < 0.75 < hi and 0.5 < lo and hi < 0.95
    assert evaluation_stats.bootstrap_ci([1.0] * 10) == (1.0, 1.0)


def test_bootstrap_interval_narrows_with_n_and_matches_the_normal_approximation():
    small = evaluation_stats.bootstrap_ci([1.0] * 30 + [0.0] * 10)
    big = evaluation_stats.bootstrap_ci([1.0] * 300 + [0.0] * 100)
    assert big[0] < 0.75 < big[1] and big[1] - big[0] < (small[1] - small[0]) / 2  # ~1/sqrt(10) as wide
    # a proportion of 0.75 over 400 turns: 0.75 +- 1.96 * sqrt(0.75 * 0.25 / 400) = [0.708, 0.792]
    assert big == (pytest.approx(0.708, abs=0.01), pytest.approx(0.792, abs=0.01))
    scores = [0.2, 0.5, 0.9, 0.4, 0.7, 0.1, 0.8]
    lo, hi = evaluation_stats.bootstrap_ci(scores)
    assert min(scores) <= lo < sum(scores) / len(scores) < hi <= max(scores)


def test_bootstrap_interval_is_seeded_and_degenerate_inputs_do_not_raise():
    vals = [1.0] * 12 + [0.0] * 9
    first = evaluation_stats.bootstrap_ci(vals)
    assert evaluation_stats.bootstrap_ci(vals) == first  # same seed, same interval
    assert {evaluation_stats.bootstrap_ci(vals, seed=k) for k in range(1, 6)} - {first}  # the seed is used
    assert evaluation_stats.bootstrap_ci([]) == (None, None)
    assert evaluation_stats.bootstrap_ci([0.25]) == (0.25, 0.25)  # one value: scipy needs two, we do not
    assert evaluation_stats.bootstrap_ci([0.0] * 7) == (0.0, 0.0)
    assert evaluation_stats.bootstrap_ci([1.0, 0.0]) == (0.0, 1.0)
    lo, hi = evaluation_stats.bootstrap_ci(vals, alpha=0.5)  # a 50% interval sits inside the 95% one
    lo95, hi95 = evaluation_stats.bootstrap_ci(vals)
    assert lo95 <= lo < hi <= hi95 and (hi - lo) < (hi95 - lo95)
    s = evaluation_stats.summarize([{"well_formed": True}])
    assert s["well_formed"] == {"value": 1.0, "lo": 1.0, "hi": 1.0, "n": 1}
    assert s["tool_selection"] == {"value": None, "lo": None, "hi": None, "n": 0}


def test_mcnemar_and_sign_test():
    assert evaluation_stats.mcnemar([False] * 10, [True] * 10)["p_value"] == pytest.approx(2 / 2**10)
    assert evaluation_stats.mcnemar([True, False], [True, False])["p_value"] == 1.0
    assert evaluation_stats.mcnemar([True] * 5 + [False] * 5, [False] * 5 + [True] * 5)["p_value"] == 1.0
    sign = evaluation_stats.mcnemar([0.2, 0.5, 0.5, 0.1], [0.9, 0.5, 0.7, 0.3])  # scores: ties dropped
    assert (sign["b_only"], sign["a_only"], sign["p_value"]) == (3, 0, pytest.approx(2 / 8))


def test_mcnemar_pins_hand_computed_p_values():
    # 2x2 table: 20 items both right, 1 only a right, 7 only b right, 4 both wrong. Exact McNemar on the 8
    # discordant pairs: p = 2 * P(Binomial(8, 1/2) <= 1) = 2 * (1 + 8) / 2**8 = 0.0703125
    a = [True] * 20 + [True] * 1 + [False] * 7 + [False] * 4
    b = [True] * 20 + [False] * 1 + [True] * 7 + [False] * 4
    t = evaluation_stats.mcnemar(a, b)
    assert (t["b_only"], t["a_only"]) == (7, 1) and t["p_value"] == pytest.approx(18 / 256, rel=1e-12)
    assert evaluation_stats.mcnemar(b, a) == {"b_only": 1, "a_only": 7, "p_value": t["p_value"]}  # symmetric
    # 2 vs 10: p = 2 * (1 + 12 + 66) / 2**12 = 0.03857421875 (significant); 3 vs 9: 2 * 299 / 4096 (not)
    t = evaluation_stats.mcnemar([False] * 10 + [True] * 2, [True] * 10 + [False] * 2)
    assert t["p_value"] == pytest.approx(158 / 4096, rel=1e-12)
    t = evaluation_stats.mcnemar([False] * 9 + [True] * 3, [True] * 9 + [False] * 3)
    assert t["p_value"] == pytest.approx(598 / 4096, rel=1e-12) and t["p_value"] > 0.05
    assert evaluation_stats.mcnemar([], []) == {"b_only": 0, "a_only": 0, "p_value": 1.0}


def test_summarize_and_turn_items():
    rows = [
        {
            "category": "a",
            "well_formed": True,
            "tool_selection": True,
            "schema_valid": None,
            "args_match": None,
        },
        {
            "category": "b",
            "well_formed": False,
            "tool_selection": True,
            "schema_valid": False,
            "args_match": False,
        },
    ]
    s = evaluation_stats.summarize(rows)
    assert s["well_formed"]["value"] == 0.5 and s["schema_valid"]["n"] == 1 and s["executed_ok"]["n"] == 0
    assert set(evaluation_stats.summarize(rows, by="category")) == {"a", "b"}
    items = evaluation_items.turn_items([EX])
    assert len(items) == 1 and items[0]["chat"][-1]["content"] == "time in Berlin?"
    assert evaluation_items.turn_items([EX], eval_set="challenge")[0]["id"] == "challenge/e#0"


def test_mistake_turns_are_not_references():
    ex = EX.model_copy(
        update={
            "messages": [
                Message(role="user", content="time in PST?"),
                Message(
                    role="assistant",
                    calls=[ToolCall(server="time", tool="get_current_time", arguments={"timezone": "PST"})],
                ),
                Message(role="tool", content="Invalid timezone", is_error=True),
                Message(role="assistant", calls=[CALL]),
            ],
            "meta": {"context_turns": [1]},
        }
    )
    items = evaluation_items.turn_items([ex])
    assert len(items) == 1 and items[0]["ref"].calls == [CALL]


def fake_results():
    ask = EX.model_copy(update={"id": "q", "category": "clarification", "messages": [EX.messages[0], NOCALL]})
    items = evaluation_items.eval_items({"test": [EX, ask], "challenge": [EX]})
    good = {"test/e#0": block(), "test/q#0": "Which city?", "challenge/e#0": block()}
    bad = {"test/e#0": "It is noon.", "test/q#0": block(), "challenge/e#0": block(tool="convert_time")}
    results = {
        "base": {"rows": runner.score_items(items, [bad[it["id"]] for it in items]), "stats": {}},
        "fine_tuned": {"rows": runner.score_items(items, [good[it["id"]] for it in items]), "stats": {}},
    }
    return items, results


def test_compare_pairs_by_item_and_set_and_records_metrics():
    items, results = fake_results()
    summary, tests = evaluation_stats.compare(results, eval_set="test")
    assert (
        summary["fine_tuned"]["tool_selection"]["value"] == 1.0
        and summary["base"]["tool_selection"]["value"] == 0
    )
    assert tests["tool_selection"]["b_only"] == 2 and tests["tool_selection"]["n"] == 2
    assert tests["clarifies"]["b_only"] == 1 and tests["executed_ok"]["n"] == 0
    m = runner.metrics_record(results, items, {"test": {"examples": 2}}, primary="test")
    assert m["primary_set"] == "test" and m["base"]["well_formed"]["n"] == 2
    assert (
        m["sets"]["challenge"]["items"] == 1
        and m["sets"]["challenge"]["base"]["tool_selection"]["value"] == 0
    )
    assert (
        set(m["by_server"]["fine_tuned"]) == {"time", "(none)"}
        and "clarification" in m["by_category"]["base"]
    )
    json.dumps(m)  # metrics.json material
    table = views.summary_table(summary, tests)
    assert (
        table.loc["tool_selection", "fine_tuned"] == "1.000 [1.000, 1.000]"
        and table.loc["executed_ok", "base"] == "n/a"
    )
    assert len(views.comparison_chart(summary).data) == 2
    assert len(views.breakdown_chart(results, "server", "tool_selection").data) == 2


def test_side_by_side_viewer_and_filters():
    _, results = fake_results()
    table = views.side_by_side(results)
    assert len(table) == 3 and table.loc[0, "prompt"] == "time in Berlin?"
    assert list(table["fine_tuned: verdict"]) == ["pass", "pass", "pass"]
    assert list(table["base: verdict"]) == ["fail", "fail", "fail"] and "no_call" in table.loc[0, "base: why"]
    assert len(views.filter_rows(table, server="time")) == 2
    assert len(views.filter_rows(table, category="clarification", eval_set="test")) == 1
    assert len(views.filter_rows(table, outcome="base: pass")) == 0
    html = views.viewer(results, interactive=False).data
    assert "<table>" in html and "Which city?" in html and "&lt;use_mcp_tool&gt;" in html
    panel = views.viewer(results, interactive=True)
    dropdowns = panel.children[0].children
    dropdowns[0].value = "(none)"  # server filter
    assert "1 items" in panel.children[1].value


def test_load_eval_sets(tmp_path):
    from mcpft_lib.data import validate

    validate.write_jsonl(tmp_path / "test.jsonl", [EX, EX.model_copy(update={"id": "f"})])
    with open(tmp_path / "test.jsonl", "a") as f:
        f.write('{"id": "broken"}\n')
    ch = tmp_path / "challenge.jsonl"
    validate.write_jsonl(ch, [EX])
    sets, info = evaluation_items.load_eval_sets(
        tmp_path, ["test", "held_out_servers", "challenge"], 1, challenge=ch
    )
    assert [len(sets["test"]), len(sets["challenge"])] == [1, 1] and "held_out_servers" not in sets
    assert info["test"]["quarantined"] == 1 and info["test"]["quarantine"][0]["line"] == 3
    assert "skipped" in info["held_out_servers"]
    # per-set counts: a set the mapping does not name is used whole
    sets, info = evaluation_items.load_eval_sets(
        tmp_path, ["test", "challenge"], {"challenge": 1}, challenge=ch
    )
    assert [info["test"]["used"], info["challenge"]["used"]] == [2, 1]
    with pytest.raises(FileNotFoundError, match="val"):
        evaluation_items.load_eval_sets(tmp_path / "nowhere", ["test"])
    with pytest.raises(ValueError, match="unknown eval set"):
        evaluation_items.load_eval_sets(tmp_path, ["train"])


@pytest.mark.slow
def test_live_execution_scores_turns_on_a_real_server():
    other = Message(role="assistant", content="It is noon.")
    ex2 = EX.model_copy(update={"id": "n", "messages": [EX.messages[0], other]})
    bad_ref = Message(
        role="assistant",
        calls=[ToolCall(server="time", tool="get_current_time", arguments={"timezone": "Nowhere/X"})],
    )
    ex3 = EX.model_copy(update={"id": "r", "messages": [EX.messages[0], bad_ref]})
    items = evaluation_items.eval_items({"test": [EX, ex2, ex3]})
    preds = {
        "good": [block(), "It is noon.", block()],
        "bad_zone": [block(args='{"timezone": "Mars/Olympus"}'), "It is noon.", block()],
        "no_call": ["It is noon.", "It is noon.", "x"],
        "gh": [block(server="github", tool="list_issues", args='{"owner": "a", "repo": "b"}'), "x", "x"],
        "paris": [block(args='{"timezone": "Europe/Paris"}'), "It is noon.", block()],
    }
    results = {k: {"rows": runner.score_items(items, p), "stats": {}} for k, p in preds.items()}
    stats = runner.add_live(results, items, live.LiveRunner(["time"], timeout_s=20))
    first = {k: (r["rows"][0]["executed_ok"], r["rows"][0]["exec_status"]) for k, r in results.items()}
    assert first == {
        "good": (True, "ok"),
        "bad_zone": (False, "is_error"),
        "no_call": (False, "no_call"),
        "gh": (False, "not_allowlisted"),
        "paris": (True, "ok"),
    }
    # exec_match: the reference's result (the clock masked) and state; another zone runs but answers otherwise
    assert {
        k: (r["rows"][0]["exec_match"], r["rows"][0].get("exec_differs")) for k, r in results.items()
    } == {
        "good": (True, None),
        "bad_zone": (False, None),
        "no_call": (False, None),
        "gh": (False, None),
        "paris": (False, "result_differs"),
    }
    assert views.reasons(results)["paris"]["exec_differs"] == {"result_differs": 1}
    assert all(r["rows"][1]["executed_ok"] is None for r in results.values())  # no call expected: not scored
    # the reference itself fails live: the environment cannot judge the turn
    assert {(r["rows"][2]["executed_ok"], r["rows"][2]["exec_status"]) for r in results.values()} == {
        (None, "ref_is_error")
    }
    assert all(r["rows"][2]["exec_match"] is None for r in results.values())
    assert stats["calls"] == 9 and stats["starts"] == {"time": 1}
    assert stats["good"] == {"not_live": 1, "ok": 1, "ref_is_error": 1}
    assert '"timezone": "Europe/Berlin"' in results["good"]["rows"][0]["exec_result"]


def test_exec_match_is_not_scored_where_the_harness_took_no_result_or_state():
    """A result or state the harness could not take (empty key) leaves exec_match None, never a match."""
    items = evaluation_items.eval_items({"test": [EX]})

    class Keyless:
        allow, server_of, starts = ["time"], {}, {}

        def run(self, jobs, desc=None):
            keys = {"ref": ("r", "s"), "same": ("r", "s"), "other": ("x", "s"), "blind": ("", "")}
            return [
                live.Outcome(
                    "ok", "t", result_key=keys[j.key.split(":")[0]][0], state_key=keys[j.key.split(":")[0]][1]
                )
                for j in jobs
            ]

    results = {k: {"rows": runner.score_items(items, [block()])} for k in ("same", "other", "blind")}
    runner.add_live(results, items, Keyless())
    got = {k: (r["rows"][0]["exec_match"], r["rows"][0]["exec_differs"]) for k, r in results.items()}
    assert got == {"same": (True, None), "other": (False, "result_differs"), "blind": (None, None)}
    assert all(r["rows"][0]["executed_ok"] for r in results.values())


def test_rendered_reference_round_trips_through_the_scorer():
    s = metrics.score_turn(xml_calls.render_assistant(REF), REF, EX)
    assert s["args_match"] and s["schema_valid"] and s["call_well_formed"]


def test_breakdown_table_per_server_and_set():
    _, results = fake_results()
    t = views.breakdown_table(results, "server", ["tool_selection", "executed_ok"])
    assert t.index.name == "server" and set(t.index) == {"time", "(none)"}
    assert t.loc["time", ("tool_selection", "fine_tuned")] == "1.00 [1.00, 1.00] (2)"
    assert t.loc["time", ("executed_ok", "base")] == ""  # not executed: no value
    assert set(views.breakdown_table(results, "set").index) == {"test", "challenge"}


def test_registered_versions_join_the_comparison(tmp_path, monkeypatch):
    registry = pytest.importorskip("mcpft_lib.export.registry")
    monkeypatch.setenv("MCPFT_REGISTRY", str(tmp_path))
    _, results = fake_results()
    summary, _ = evaluation_stats.compare(results)
    d = tmp_path / "mcp-x"
    d.mkdir()
    (d / "v1.json").write_text(json.dumps({"name": "mcp-x", "version": 1, "metrics": {"eval": summary}}))
    if registry.versions("mcp-x") != [1]:
        pytest.skip("registry layout differs")
    got = runner.registered_summaries("mcp-x")
    assert (
        list(got) == ["mcp-x v1"]
        and got["mcp-x v1"]["tool_selection"] == summary["fine_tuned"]["tool_selection"]
    )
    assert runner.registered_summaries("nothing-here") == {}


def test_a_broken_live_harness_keeps_the_generations():
    items, results = fake_results()

    class Broken:
        allow, server_of, starts = ["time"], {}, {}

        def run(self, jobs, desc=None):
            raise RuntimeError("no event loop today")

    with pytest.warns(UserWarning, match="live execution failed"):
        runner.attach_live(results, items, Broken())
    assert results["base"]["stats"]["live"]["status"] == {"error": "RuntimeError('no event loop today')"}
    assert all(r["executed_ok"] is None for r in results["fine_tuned"]["rows"])
    runner.attach_live(results, items, None)  # live off: nothing to do


def test_failure_reasons_are_counted():
    _, results = fake_results()
    r = views.reasons(results, "test")
    assert r["base"]["selection_reason"] == {"no_call": 1, "unexpected_call": 1}
    assert r["base"]["args_reason"] == {"no_call": 1} and r["fine_tuned"]["selection_reason"] == {}
    table = views.reason_table(results)
    assert table.loc[("selection_reason", "wrong_tool"), "base"] == 1  # the challenge item
    assert runner.metrics_record(results, fake_results()[0])["reasons"] == views.reasons(results, "test")


CHUNKS = [
    "<use_mcp_tool>", "</use_mcp_tool>", "<server_name>", "</server_name>", "time", "<tool_name>",
    "</tool_name>", "get_current_time", "<arguments>", "</arguments>", '{"timezone": "Europe/Berlin"}',
    "{", "}", '"', "&lt;", "&amp;", "<!ENTITY x 'y'>", "&x;", "<access_mcp_resource>", "<uri>", "?", "\x00",
]  # fmt: skip


@given(st.lists(st.one_of(st.sampled_from(CHUNKS), st.text(max_size=12)), max_size=40))
@settings(max_examples=150, deadline=None)
def test_scoring_never_crashes_on_hostile_text(parts):
    text = "".join(parts)
    for ref in (REF, NOCALL, Message(role="assistant", content="It is 10:00.")):
        s = metrics.score_turn(text, ref, EX)
        assert isinstance(s["well_formed"], bool) and isinstance(s["tool_selection"], bool)
        assert s["args_match"] in (True, False, None)
        assert s["answer_f1"] is None or 0.0 <= s["answer_f1"] <= 1.0


def test_viewer_prompt_is_the_users_request_not_a_tool_result():
    ex = EX.model_copy(
        update={
            "messages": [
                Message(role="user", content="time in Berlin, then Tokyo?"),
                Message(role="assistant", calls=[CALL]),
                Message(role="tool", content='{"datetime": "10:00"}', call=CALL),
                Message(role="assistant", content="10:00 in Berlin."),
            ]
        }
    )
    items = evaluation_items.turn_items([ex])
    assert items[1]["chat"][-1]["role"] == "user"  # the XML dialect shows the result as a user turn
    rows = runner.score_items(items, ["x", "y"])
    assert [r["prompt"] for r in rows] == ["time in Berlin, then Tokyo?"] * 2


def test_a_cut_of_the_challenge_set_covers_every_category():
    sets, info = evaluation_items.load_eval_sets("/nonexistent", ["challenge"], 9)
    assert len({ex.category for ex in sets["challenge"]}) == 9 and info["challenge"]["used"] == 9
    exs = [EX.model_copy(update={"id": f"{c}{i}", "category": c}) for c in "aab" for i in range(2)]
    assert [e.id for e in evaluation_items.interleave(exs)] == ["a0", "b0", "a1", "b1", "a0", "a1"]


@pytest.mark.slow
def test_evaluating_models_shows_generation_and_live_replay_progress(bars):
    """Notebook 04's evaluation: a bar per model over the items it generates, then one over the live calls."""
    from pathlib import Path

    from mcpft_lib.config import load_params

    p = load_params(Path(__file__).resolve().parent.parent / "params/smoke.yaml")
    live_p = p.eval.live.model_copy(update={"servers": ["time"]})
    p = p.model_copy(update={"eval": p.eval.model_copy(update={"live": live_p})})
    answer = EX.model_copy(update={"id": "n", "messages": [EX.messages[0], NOCALL]})
    items = evaluation_items.eval_items({"test": [EX, answer, EX.model_copy(update={"id": "f"})]})
    results = runner.evaluate_models({"base": p.model, "fine_tuned": p.model}, items, p)
    got = [(b["desc"], b["total"], sum(b["steps"]), b["bar"].n) for b in bars]
    calls = results["base"]["stats"]["live"]["calls"]
    assert got == [
        ("generate base", 3, 3, 3),
        ("generate fine_tuned", 3, 3, 3),
        ("live replay", calls, calls, calls),
    ]
    assert calls >= 2  # the two reference calls, and any call the tiny models happened to write
