"""Dialects: render/parse round trips, hostile inputs, chat rendering."""

from __future__ import annotations

import json
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mcpft_lib import dialects
from mcpft_lib.dialects import parse, parse_native, render_call, system_prompt, to_chat, tools_for
from mcpft_lib.schema import RESOURCE_TOOL, Example, Message, Resource, Server, Tool, ToolCall

TIME = Server(
    name="time",
    tools=[
        Tool(
            name="get_current_time",
            description="Get current time in a specific timezone",
            inputSchema={
                "type": "object",
                "title": "get_current_timeArguments",
                "properties": {
                    "timezone": {"type": "string", "title": "Timezone", "description": "IANA name. More."}
                },
                "required": ["timezone"],
            },
        )
    ],
)
SQLITE = Server(
    name="sqlite",
    tools=[
        Tool(name="read_query", inputSchema={"type": "object", "properties": {"query": {"type": "string"}}})
    ],
    resources=[Resource(uri="memo://insights", name="Memo", description="Insights.")],
)

HAND_CASES = [
    ToolCall(server="time", tool="get_current_time", arguments={"timezone": "Europe/Berlin"}),
    ToolCall(
        server="git",
        tool="git_commit",
        arguments={"repo_path": "/r", "message": 'say "hi"\nsecond line\ttab'},
    ),
    ToolCall(
        server="fs",
        tool="write_file",
        arguments={"path": "/ü/日本.txt", "content": "naïve café 🚀 \\ backslash"},
    ),
    ToolCall(
        server="fs",
        tool="write_file",
        arguments={"path": "/x", "content": "</arguments> inside </arguments>"},
    ),
    ToolCall(
        server="fs", tool="write_file", arguments={"path": "/x", "content": "</use_mcp_tool><use_mcp_tool>"}
    ),
    ToolCall(
        server="gh",
        tool="create_issue",
        arguments={"labels": ["a", "b"], "meta": {"x": [1, 2.5, None, True]}},
    ),
    ToolCall(server="sqlite", tool="list_tables", arguments={}),
    ToolCall(server="html", tool="t", arguments={"s": "&amp; &lt;tag&gt; <b>bold</b> <![CDATA[x]]>"}),
    ToolCall(server="sqlite", tool=RESOURCE_TOOL, arguments={"uri": "memo://insights"}),
]


@pytest.mark.parametrize("c", HAND_CASES, ids=range(len(HAND_CASES)))
def test_round_trip_hand_cases(c: ToolCall) -> None:
    r = parse(render_call(c))
    assert r.well_formed, r.errors
    assert r.calls == [c]
    assert r.has_markup


def test_render_call_exact_format() -> None:
    c = ToolCall(server="time", tool="get_current_time", arguments={"timezone": "Asia/Tokyo"})
    assert render_call(c) == (
        "<use_mcp_tool>\n<server_name>time</server_name>\n<tool_name>get_current_time</tool_name>\n"
        '<arguments>\n{"timezone": "Asia/Tokyo"}\n</arguments>\n</use_mcp_tool>'
    )
    res = ToolCall(server="sqlite", tool=RESOURCE_TOOL, arguments={"uri": "memo://insights"})
    assert render_call(res) == (
        "<access_mcp_resource>\n<server_name>sqlite</server_name>\n<uri>memo://insights</uri>\n</access_mcp_resource>"
    )


def test_text_around_and_several_blocks() -> None:
    a, b = HAND_CASES[0], HAND_CASES[3]
    text = f"Let me check.\n\n{render_call(a)}\nand then\n{render_call(b)}\ntrailing"
    r = parse(text)
    assert r.well_formed and r.calls == [a, b]
    assert "Let me check." in r.text and "trailing" in r.text and "<" not in r.text


def test_field_order_and_whitespace_tolerated() -> None:
    text = '<use_mcp_tool>\n <tool_name> t </tool_name><arguments>  {"a": 1}  </arguments>\n<server_name>s</server_name></use_mcp_tool>'
    r = parse(text)
    assert r.well_formed and r.calls == [ToolCall(server="s", tool="t", arguments={"a": 1})]


@pytest.mark.parametrize(
    ("text", "error"),
    [
        (
            "<use_mcp_tool><server_name>s</server_name><tool_name>t</tool_name><arguments>{}</arguments>",
            "unclosed",
        ),
        (
            "<use_mcp_tool><tool_name>t</tool_name><arguments>{}</arguments></use_mcp_tool>",
            "missing <server_name>",
        ),
        (
            "<use_mcp_tool><server_name>s</server_name><arguments>{}</arguments></use_mcp_tool>",
            "missing <tool_name>",
        ),
        (
            "<use_mcp_tool><server_name>s</server_name><tool_name>t</tool_name></use_mcp_tool>",
            "missing <arguments>",
        ),
        (
            "<use_mcp_tool><server_name>s</server_name><tool_name>t</tool_name><arguments>{'a': 1}</arguments></use_mcp_tool>",
            "not valid JSON",
        ),
        (
            "<use_mcp_tool><server_name>s</server_name><tool_name>t</tool_name><arguments>[1, 2]</arguments></use_mcp_tool>",
            "JSON object",
        ),
        ("<use_mcp_tool><server_name>s</server_name><tool_name>t</tool_name><arguments>{}", "unclosed"),
        (
            "<use_mcp_tool><server_name></server_name><tool_name>t</tool_name><arguments>{}</arguments></use_mcp_tool>",
            "empty <server_name>",
        ),
        ("<access_mcp_resource><server_name>s</server_name></access_mcp_resource>", "missing <uri>"),
        ("<tool_name>t</tool_name>", "outside"),
        ("</use_mcp_tool>", "outside"),
    ],
)
def test_malformed(text: str, error: str) -> None:
    r = parse(text)
    assert not r.well_formed
    assert r.calls == []
    assert any(error in e for e in r.errors), r.errors
    assert r.has_markup


def test_no_markup() -> None:
    r = parse("The time in Berlin is 10:00. Use <b>bold</b> & stuff.")
    assert r.well_formed and not r.has_markup and r.calls == []


def test_nested_block_is_malformed_but_inner_call_found() -> None:
    inner = render_call(HAND_CASES[0])
    r = parse(f"<use_mcp_tool><server_name>x</server_name>{inner}</use_mcp_tool>")
    assert not r.well_formed
    assert r.calls == [HAND_CASES[0]]


HOSTILE = [
    "<use_mcp_tool>" * 50_000,
    "</use_mcp_tool>" * 50_000,
    "<use_mcp_tool><arguments>" * 30_000 + "</use_mcp_tool>",
    "<use_mcp_tool><server_name>s</server_name><tool_name>t</tool_name><arguments>"
    + "[" * 200_000
    + "</arguments></use_mcp_tool>",
    '<use_mcp_tool><server_name>s</server_name><tool_name>t</tool_name><arguments>{"a": "' + "x" * 500_000,
    '<use_mcp_tool><arguments>{"a": "' * 20_000,
    "<access_mcp_resource>" * 40_000 + "</access_mcp_resource>",
    "&amp;&lt;use_mcp_tool&gt;" * 10_000 + '<!DOCTYPE x [<!ENTITY a "aaaa">]>&a;&a;',
    '<use_mcp_tool><server_name>s</server_name><tool_name>t</tool_name><arguments>{"n": '
    + "9" * 100_000
    + "}</arguments></use_mcp_tool>",
    "\x00\ud800\uffff" * 1000,
    # these were quadratic before (JSON error positions counted from the start of the text; uncached finds)
    '<use_mcp_tool><server_name>s</server_name><tool_name>t</tool_name><arguments>{"a": "x</arguments></use_mcp_tool>'
    * 20_000,
    '<use_mcp_tool><server_name>s</server_name><tool_name>t</tool_name><arguments>{"a": 1}</arguments></use_mcp_tool>'
    * 20_000,
]


@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_inputs_never_raise_and_are_fast(text: str) -> None:
    t0 = time.perf_counter()
    r = parse(text)
    assert time.perf_counter() - t0 < 2.0
    assert isinstance(r.well_formed, bool)
    parse_native(text)


def test_one_megabyte_of_garbage() -> None:
    import random

    rng = random.Random(0)
    alphabet = [
        "<use_mcp_tool>",
        "</use_mcp_tool>",
        "<arguments>",
        "</arguments>",
        "<server_name>",
        "{",
        "}",
        '"',
        "x",
        "\n",
        "&amp;",
    ]
    text = "".join(rng.choice(alphabet) for _ in range(120_000))
    assert len(text) > 500_000
    t0 = time.perf_counter()
    parse(text)
    parse_native(text)
    assert time.perf_counter() - t0 < 5.0
    assert parse(None).well_formed is False  # type: ignore[arg-type]


_names = st.from_regex(r"[a-z][a-z0-9_\-]{0,15}", fullmatch=True)
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
_calls = st.builds(
    ToolCall, server=_names, tool=_names, arguments=st.dictionaries(st.text(max_size=12), _json, max_size=5)
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_calls, st.text(max_size=40), st.text(max_size=40))
def test_property_round_trip(c: ToolCall, before: str, after: str) -> None:
    r = parse(render_call(c))
    assert r.well_formed, r.errors
    assert r.calls == [c]
    # surrounding prose without markup does not disturb the call
    if not any(tok in before + after for tok in dialects._MARKUP + ("<access_mcp_resource>",)):
        r2 = parse(before + render_call(c) + after)
        assert r2.calls == [c]


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_property_never_raises(text: str) -> None:
    assert isinstance(parse(text).errors, list)
    assert isinstance(parse_native(text).errors, list)


def test_system_prompt_lists_servers_tools_and_resources() -> None:
    full = system_prompt([TIME, SQLITE])
    compact = system_prompt([TIME, SQLITE], compact=True)
    for p in (full, compact):
        assert "<use_mcp_tool>" in p and "<access_mcp_resource>" in p
        assert "# Connected MCP Servers" in p and "## time" in p and "## sqlite" in p
        assert "- get_current_time: Get current time" in p and "memo://insights" in p
    assert '"title": "Timezone"' in full and '"title"' not in compact  # compact drops schema titles
    assert '"timezone":{"type":"string"}' in compact  # one line, property descriptions dropped
    assert len(compact) < len(full)
    assert "<access_mcp_resource>" not in system_prompt([TIME])  # only when a server has resources


def test_compact_schema_keeps_property_named_title() -> None:
    schema = {"type": "object", "title": "X", "properties": {"title": {"type": "string", "title": "Title"}}}
    assert dialects._compact_schema(schema) == {"type": "object", "properties": {"title": {"type": "string"}}}


def _example() -> Example:
    c1 = ToolCall(server="time", tool="get_current_time", arguments={"timezone": "Not/AZone"})
    c2 = ToolCall(server="time", tool="get_current_time", arguments={"timezone": "Europe/Berlin"})
    return Example(
        id="x",
        servers=[TIME],
        category="error_handling",
        messages=[
            Message(role="user", content="Time in Berlin?"),
            Message(role="assistant", calls=[c1]),
            Message(role="tool", content="Invalid timezone", is_error=True, call=c1),
            Message(role="assistant", content="Retrying.", calls=[c2]),
            Message(role="tool", content='{"datetime": "2025-01-01T10:00:00+01:00"}', call=c2),
            Message(role="assistant", content="It's 10:00."),
        ],
    )


def test_to_chat_xml() -> None:
    chat = to_chat(_example())
    assert [m["role"] for m in chat] == [
        "system",
        "user",
        "assistant",
        "user",
        "assistant",
        "user",
        "assistant",
    ]
    assert all(isinstance(m["content"], str) for m in chat)
    assert (
        chat[3]["content"] == "[use_mcp_tool for 'time/get_current_time'] Result:\nError:\nInvalid timezone"
    )
    assert chat[4]["content"].startswith("Retrying.\n\n<use_mcp_tool>")
    assert parse(chat[4]["content"]).calls == _example().messages[3].calls


def test_to_chat_native_and_tools_for() -> None:
    chat = to_chat(_example(), dialect="native")
    assert [m["role"] for m in chat] == [
        "system",
        "user",
        "assistant",
        "tool",
        "assistant",
        "tool",
        "assistant",
    ]
    tc = chat[2]["tool_calls"][0]
    assert tc["function"] == {"name": "time__get_current_time", "arguments": {"timezone": "Not/AZone"}}
    assert len(tc["id"]) == 9 and chat[3]["tool_call_id"] == tc["id"]
    assert chat[3]["content"].startswith("Error:")
    tools = tools_for([TIME, SQLITE])
    names = [t["function"]["name"] for t in tools]
    assert names == ["time__get_current_time", "sqlite__read_query", f"sqlite__{RESOURCE_TOOL}"]
    assert tools[0]["function"]["parameters"] == TIME.tools[0].inputSchema
    with pytest.raises(ValueError):
        to_chat(_example(), dialect="yaml")


@pytest.mark.parametrize(
    "text",
    [
        '{"name": "time__get_current_time", "arguments": {"timezone": "UTC"}}',
        '<tool_call>\n{"name": "time__get_current_time", "arguments": {"timezone": "UTC"}}\n</tool_call>',
        '[TOOL_CALLS][{"name": "time__get_current_time", "arguments": {"timezone": "UTC"}}]',
        'Sure! {"type": "function", "function": {"name": "time__get_current_time", "arguments": "{\\"timezone\\": \\"UTC\\"}"}}',
    ],
)
def test_parse_native(text: str) -> None:
    r = parse_native(text)
    assert r.well_formed, r.errors
    assert r.calls == [ToolCall(server="time", tool="get_current_time", arguments={"timezone": "UTC"})]


def test_parse_native_lenient_errors() -> None:
    assert parse_native("no call here").calls == []
    r = parse_native('{"name": "get_current_time", "arguments": {}}')
    assert r.calls == [ToolCall(server="", tool="get_current_time")] and not r.well_formed
    r = parse_native('{"name": "a__b", "arguments": "{bad"}')
    assert r.calls == [] and not r.well_formed
    assert json.loads(json.dumps(parse_native("<tool_call>oops</tool_call>").errors))
