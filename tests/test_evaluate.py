import pytest

from mcpft_lib import catalogs, evaluate
from mcpft_lib.schema import Example, Message, ToolCall

TIME = catalogs.load_catalog("time")
CALL = ToolCall(server="time", tool="get_current_time", arguments={"timezone": "Europe/Berlin"})
EX = Example(
    id="e",
    servers=[TIME],
    category="single_call",
    messages=[Message(role="user", content="time in Berlin?"), Message(role="assistant", calls=[CALL])],
)
REF = EX.messages[1]
NOCALL = Message(role="assistant", content="Which city do you mean?")


def block(server="time", tool="get_current_time", args='{"timezone": "Europe/Berlin"}'):
    return f"<use_mcp_tool>\n<server_name>{server}</server_name>\n<tool_name>{tool}</tool_name>\n<arguments>\n{args}\n</arguments>\n</use_mcp_tool>"


@pytest.mark.parametrize(
    "pred, expected",
    [
        (block(), dict(well_formed=True, tool_selection=True, schema_valid=True, args_match=True)),
        (
            block(args='{"timezone": " europe/berlin "}'),
            dict(well_formed=True, tool_selection=True, args_match=True),
        ),
        (
            block(args='{"timezone": "Asia/Tokyo"}'),
            dict(well_formed=True, tool_selection=True, schema_valid=True, args_match=False),
        ),
        (
            block(args='{"tz": "Europe/Berlin"}'),
            dict(well_formed=True, tool_selection=True, schema_valid=False, args_match=False),
        ),
        (block(tool="convert_time"), dict(well_formed=True, tool_selection=False, args_match=False)),
        (block(server="git"), dict(well_formed=True, tool_selection=False, schema_valid=False)),
        (block(args='{"timezone": '), dict(well_formed=False, tool_selection=False)),
        ("<use_mcp_tool><server_name>time</server_name>", dict(well_formed=False, tool_selection=False)),
        ("The time in Berlin is 10:00.", dict(well_formed=False, tool_selection=False, schema_valid=False)),
    ],
)
def test_score_call_turns(pred, expected):
    s = evaluate.score_turn(pred, REF, EX)
    for k, v in expected.items():
        assert s[k] == v, (k, s)


@pytest.mark.parametrize(
    "pred, well_formed, selection",
    [
        ("Which city do you mean?", True, True),
        (block(), True, False),  # a call where none is expected
        ("<use_mcp_tool><server_name>time", False, True),  # broken markup, no call
    ],
)
def test_score_no_call_turns(pred, well_formed, selection):
    s = evaluate.score_turn(pred, NOCALL, EX)
    assert (s["well_formed"], s["tool_selection"], s["args_match"]) == (well_formed, selection, None)


def test_bootstrap_interval_brackets_mean():
    lo, hi = evaluate.bootstrap_ci([1.0] * 30 + [0.0] * 10)
    assert lo < 0.75 < hi and 0.5 < lo and hi < 0.95
    assert evaluate.bootstrap_ci([1.0] * 10) == (1.0, 1.0)


def test_mcnemar():
    assert evaluate.mcnemar([False] * 10, [True] * 10)["p_value"] == pytest.approx(2 / 2**10)
    assert evaluate.mcnemar([True, False], [True, False])["p_value"] == 1.0
    assert evaluate.mcnemar([True] * 5 + [False] * 5, [False] * 5 + [True] * 5)["p_value"] == 1.0


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
    s = evaluate.summarize(rows)
    assert s["well_formed"]["value"] == 0.5 and s["schema_valid"]["n"] == 1
    assert set(evaluate.summarize(rows, by="category")) == {"a", "b"}
    items = evaluate.turn_items([EX])
    assert len(items) == 1 and items[0]["chat"][-1]["content"] == "time in Berlin?"


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
    items = evaluate.turn_items([ex])
    assert len(items) == 1 and items[0]["ref"].calls == [CALL]


def test_compare_pairs_only_scored_items_and_builds_table():
    row = {"category": "a", "schema_valid": None, "args_match": None, "call_well_formed": None}
    results = {
        "base": {"rows": [{**row, "well_formed": False, "tool_selection": False}] * 8},
        "fine_tuned": {"rows": [{**row, "well_formed": True, "tool_selection": True}] * 8},
    }
    summary, tests = evaluate.compare(results)
    assert tests["tool_selection"] == {"b_only": 8, "a_only": 0, "p_value": pytest.approx(2 / 2**8)}
    assert tests["args_match"]["p_value"] == 1.0  # nothing scored: no evidence either way
    table = evaluate.summary_table(summary, tests)
    assert (
        table.loc["tool_selection", "fine_tuned"] == "1.000 [1.000, 1.000]"
        and table.loc["args_match", "base"] == "n/a"
    )
    assert len(evaluate.comparison_chart(summary).data) == 2
