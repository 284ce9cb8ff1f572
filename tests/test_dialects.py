"""Dialects: render/parse round trips, hostile inputs, chat rendering."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from mcpft_lib.core.schema import RESOURCE_TOOL, Example, Message, Resource, Server, Tool, ToolCall
from mcpft_lib.mcp import dialects, lenient_json, native_calls, xml_calls
from mcpft_lib.mcp.dialects import to_chat
from mcpft_lib.mcp.native_calls import parse_native, tools_for
from mcpft_lib.mcp.xml_calls import parse, render_call, system_prompt

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


@pytest.mark.timeout(60)  # a quadratic parser takes hours on these; a linear one well under a second each
@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_inputs_never_raise(text: str) -> None:
    for lenient in (False, True):
        r = parse(text, lenient=lenient)
        assert isinstance(r.well_formed, bool) and not any("parser error" in e for e in r.errors)
        assert not any("parser error" in e for e in parse_native(text, None, lenient).errors)


@pytest.mark.timeout(60)
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
    for lenient in (False, True):
        assert not any("parser error" in e for e in parse(text, lenient=lenient).errors)
        assert not any("parser error" in e for e in parse_native(text, None, lenient).errors)
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


@pytest.mark.slow
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_calls, st.text(max_size=40), st.text(max_size=40))
def test_property_round_trip(c: ToolCall, before: str, after: str) -> None:
    r = parse(render_call(c))
    assert r.well_formed, r.errors
    assert r.calls == [c]
    # surrounding prose without markup does not disturb the call
    if not any(tok in before + after for tok in lenient_json._MARKUP + ("<access_mcp_resource>",)):
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
    # one line; a property's description stays (the first sentence, cut at DESCRIPTION_CHARS)
    assert '"timezone":{"type":"string","description":"IANA name."}' in compact
    assert len(compact) < len(full)
    assert "<access_mcp_resource>" not in system_prompt([TIME])  # only when a server has resources


def test_compact_schema_shortens_descriptions() -> None:
    long = "Path of the file to read, relative to the workspace root unless absolute " * 4
    schema = {"type": "object", "description": "Arguments. More words.", "properties": {
        "path": {"type": "string", "description": long},
        "mode": {"type": "string", "description": "Read mode. Either text or binary."},
        "p1": {"type": "integer", "description": "   "}}}  # fmt: skip
    out = xml_calls.compact_schema(schema)
    assert out["description"] == "Arguments."
    assert out["properties"]["mode"]["description"] == "Read mode."
    path = out["properties"]["path"]["description"]
    assert path.endswith("…") and len(path) <= xml_calls.DESCRIPTION_CHARS + 1 and long.startswith(path[:-1])
    assert out["properties"]["p1"] == {"type": "integer"}  # a blank description says nothing: dropped


def test_compact_schema_keeps_property_named_title() -> None:
    schema = {"type": "object", "title": "X", "properties": {"title": {"type": "string", "title": "Title"}}}
    assert xml_calls.compact_schema(schema) == {
        "type": "object",
        "properties": {"title": {"type": "string"}},
    }


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
    assert r.calls == [] and not r.well_formed and "server" in r.errors[0]
    r = parse_native('{"name": "a__b", "arguments": "{bad"}')
    assert r.calls == [] and not r.well_formed
    assert json.loads(json.dumps(parse_native("<tool_call>oops</tool_call>").errors))


# ----------------------------------------------------------------------------------------------------------
# Native dialect: every chat-template family renders calls its own way and parses them back


def _render(family: str, messages: list[dict], gen: bool = False) -> str:
    from transformers.utils.chat_template_utils import render_jinja_template

    from mcpft_lib.modeling.loaders import CHAT_TEMPLATES

    out, _ = render_jinja_template(
        [messages],
        chat_template=CHAT_TEMPLATES[family],
        bos_token="<bos>",
        eos_token="</s>",
        add_generation_prompt=gen,
    )
    return out[0]


_TURN_END = {"gemma": "<end_of_turn>\n", "mistral": "</s>", "llama": "<|eot_id|>", "chatml": "<|im_end|>\n"}


def _emit(family: str, content: str, calls: list[ToolCall]) -> str:
    """What a model that learned `family`'s template emits for an assistant turn (turn end removed)."""
    ctx = [{"role": "system", "content": "S", "tools": tools_for([TIME])}, {"role": "user", "content": "u"}]
    asst: dict = {"role": "assistant", "content": content}
    if calls:
        asst["tool_calls"] = [
            {
                "id": f"call{k:05d}",
                "type": "function",
                "function": {"name": native_calls.native_name(c), "arguments": c.arguments},
            }
            for k, c in enumerate(calls)
        ]
    prompt, full = _render(family, ctx, gen=True), _render(family, [*ctx, asst])
    assert full.startswith(prompt)
    reply = full[len(prompt) :]
    assert reply.endswith(_TURN_END[family])
    return reply[: -len(_TURN_END[family])]


FAMILIES = native_calls.FAMILIES
EXPECTED_CALL_TEXT = {
    "gemma": '```tool_call\n{"name": "time__get_current_time", "arguments": {"timezone": "UTC"}}\n```',
    "mistral": '[TOOL_CALLS][{"name": "time__get_current_time", "arguments": {"timezone": "UTC"}, "id": "call00000"}]',
    "llama": '{"name": "time__get_current_time", "parameters": {"timezone": "UTC"}}',
    "chatml": '<tool_call>\n{"name": "time__get_current_time", "arguments": {"timezone": "UTC"}}\n</tool_call>',
}
UTC = ToolCall(server="time", tool="get_current_time", arguments={"timezone": "UTC"})


@pytest.mark.parametrize("family", FAMILIES)
def test_native_render_exact_and_parse(family: str) -> None:
    text = _emit(family, "", [UTC])
    assert text == EXPECTED_CALL_TEXT[family]
    for fam in (family, None):
        r = dialects.parse_turn(text, "native", family=fam)
        assert r.well_formed and r.calls == [UTC] and r.text == "" and r.has_markup and not r.lenient, (
            r.errors
        )


@pytest.mark.parametrize("family", FAMILIES)
def test_native_tools_and_results_in_family_format(family: str) -> None:
    chat = to_chat(_example(), "native")
    text = _render(family, chat)
    assert "time__get_current_time" in text.split("Time in Berlin?")[0]  # tools listed before the user turn
    marks = {
        "gemma": ("```tool_output\nError:\nInvalid timezone\n```",),
        "mistral": (
            "[AVAILABLE_TOOLS][{",
            '[TOOL_RESULTS]{"content": "Error:\\nInvalid timezone", "call_id": ',
        ),
        "llama": ("<|start_header_id|>ipython<|end_header_id|>\n\nError:\nInvalid timezone<|eot_id|>",),
        "chatml": (
            "<tools>\n{",
            "<|im_start|>user\n<tool_response>\nError:\nInvalid timezone\n</tool_response><|im_end|>",
        ),
    }[family]
    for m in marks:
        assert m in text
    # passing tools= explicitly renders the same as carrying them on the system message
    from transformers.utils.chat_template_utils import render_jinja_template

    from mcpft_lib.modeling.loaders import CHAT_TEMPLATES

    bare = [{k: v for k, v in m.items() if k != "tools"} for m in chat]
    out, _ = render_jinja_template(
        [bare],
        tools=native_calls.chat_tools(chat),
        chat_template=CHAT_TEMPLATES[family],
        bos_token="<bos>",
        eos_token="</s>",
    )
    assert out[0] == text
    assert "Get current time" not in _render(family, bare)  # no tools: none listed


@pytest.mark.parametrize("family", FAMILIES)
def test_native_templates_prefix_stable(family: str) -> None:
    chat = to_chat(_example(), "native")
    for k in range(1, len(chat) + 1):
        if chat[k - 1]["role"] == "assistant":
            prompt = _render(family, chat[: k - 1], gen=True)
            assert _render(family, chat[:k]).startswith(prompt)
            assert _render(family, chat).startswith(_render(family, chat[:k]))


def test_native_multi_call_and_text_round_trip() -> None:
    c2 = ToolCall(server="fs", tool="read_file", arguments={"path": "/a"})
    for family in FAMILIES:
        text = _emit(family, "Let me look.", [UTC, c2])
        r = native_calls.parse_native(text, family)
        assert r.well_formed and r.calls == [UTC, c2] and r.text == "Let me look.", (family, text, r)


@pytest.mark.parametrize(
    ("family", "text"),
    [
        ("mistral", '[TOOL_CALLS]time__get_current_time[ARGS]{"timezone": "UTC"}'),  # v11 format
        ("mistral", '[TOOL_CALLS]time__get_current_time[CALL_ID]abc123def[ARGS]{"timezone": "UTC"}'),
        ("llama", '<|python_tag|>{"name": "time__get_current_time", "parameters": {"timezone": "UTC"}}'),
        ("llama", '[{"name": "time__get_current_time", "parameters": {"timezone": "UTC"}}]'),
        (
            "chatml",
            '<tool_call>{"name": "time__get_current_time", "arguments": "{\\"timezone\\": \\"UTC\\"}"}</tool_call>',
        ),
    ],
)
def test_native_variants(family: str, text: str) -> None:
    r = native_calls.parse_native(text, family)
    assert r.well_formed and r.calls == [UTC] and not r.lenient, r.errors


def test_native_family_mismatch_is_strict_error_lenient_ok() -> None:
    text = EXPECTED_CALL_TEXT["chatml"]
    r = native_calls.parse_native(text, "mistral")
    assert not r.well_formed and r.calls == [] and "not the mistral" in r.errors[0]
    r = native_calls.parse_native(text, "mistral", lenient=True)
    assert r.well_formed and r.lenient and r.calls == [UTC]
    r = native_calls.parse_native(EXPECTED_CALL_TEXT["llama"].replace("parameters", "arguments"), "chatml")
    assert not r.well_formed and "without the chatml" in r.errors[0]
    with pytest.raises(ValueError, match="family"):
        native_calls.parse_native("x", "qwen")


_AWKWARD = [
    '"',
    "'",
    "\\",
    "\n",
    "\t",
    "\u2028",
    "日本",
    "🚀",
    "</arguments>",
    "<arguments>",
    "</use_mcp_tool>",
    "<use_mcp_tool>",
    "[TOOL_CALLS]",
    "[ARGS]",
    "<tool_call>",
    "</tool_call>",
    "```",
    "```tool_call\n",
    "<|eot_id|>",
    "&amp;",
    "]",
    "}",
    "{",
]
_awk_text = st.lists(st.sampled_from(_AWKWARD) | st.text(max_size=6), max_size=6).map("".join)
_awk_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | _awk_text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_awk_text, inner, max_size=3),
    max_leaves=10,
)
_native_names = st.from_regex(r"[a-z][a-z0-9_\-]{0,15}", fullmatch=True).filter(
    lambda s: NATIVE_SEP not in s and not s.endswith("_")
)
NATIVE_SEP = lenient_json.NATIVE_SEP
_awk_calls = st.builds(
    ToolCall, server=_native_names, tool=_names, arguments=st.dictionaries(_awk_text, _awk_json, max_size=4)
)
_MARKERS = lenient_json._MARKUP + native_calls._NATIVE_MARKUP + ("<access_mcp_resource", "```", "{", "[")
_prose = st.text(max_size=30).filter(lambda t: not any(m in t for m in _MARKERS))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(FAMILIES), _prose, st.lists(_awk_calls, min_size=0, max_size=2))
def test_property_native_round_trip(family: str, content: str, calls: list[ToolCall]) -> None:
    text = _emit(family, content, calls)
    for fam in (family, None):
        r = native_calls.parse_native(text, fam)
        assert r.well_formed, (family, text, r.errors)
        assert r.calls == calls
        assert r.text == content.strip()
        assert not r.lenient
        assert native_calls.parse_native(text, fam, lenient=True).calls == calls


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.builds(
        ToolCall, server=_names, tool=_names, arguments=st.dictionaries(_awk_text, _awk_json, max_size=4)
    )
)
@example(
    ToolCall(server="a", tool="a", arguments={"</use_mcp_tool>" * 2: "</use_mcp_tool>" * 3})
)  # 5 in one block
def test_property_xml_round_trip_awkward(c: ToolCall) -> None:
    for lenient in (False, True):
        r = parse(render_call(c), lenient=lenient)
        assert r.well_formed and r.calls == [c] and not r.lenient, r.errors


# ----------------------------------------------------------------------------------------------------------
# Lenient parsing: accepted, and flagged, so metrics count strict and lenient separately

_ARGS_OK = {"timezone": "UTC", "n": 1, "flag": True, "x": None}
_BLOCK = "<use_mcp_tool>\n<server_name>time</server_name>\n<tool_name>get_current_time</tool_name>\n<arguments>\n{}\n</arguments>\n</use_mcp_tool>"


@pytest.mark.parametrize(
    "text",
    [
        _BLOCK.format(json.dumps(_ARGS_OK)).removesuffix("\n</use_mcp_tool>"),  # cut at the end
        _BLOCK.format(json.dumps(_ARGS_OK)).removesuffix("\n</arguments>\n</use_mcp_tool>"),
        _BLOCK.format("{'timezone': 'UTC', 'n': 1, 'flag': True, 'x': None}"),  # Python literal
        _BLOCK.format('{"timezone": "UTC", "n": 1, "flag": true, "x": null,}'),  # trailing comma
        _BLOCK.format('```json\n{"timezone": "UTC", "n": 1, "flag": true, "x": null}\n```'),  # fenced
        "Sure:\n"
        + _BLOCK.format("{'timezone': 'UTC', 'n': 1, 'flag': true, 'x': null}").removesuffix(
            "</use_mcp_tool>"
        ),
    ],
)
def test_xml_lenient(text: str) -> None:
    strict = parse(text)
    assert not strict.well_formed and not strict.lenient
    r = parse(text, lenient=True)
    assert r.well_formed and r.lenient, r.errors
    assert r.calls == [ToolCall(server="time", tool="get_current_time", arguments=_ARGS_OK)]
    assert dialects.parse_turn(text, "xml", lenient=True).lenient


def test_lenient_keeps_strict_results_and_rejects_garbage() -> None:
    good = render_call(UTC)
    r = parse(good, lenient=True)
    assert r.well_formed and not r.lenient
    bad = _BLOCK.format("{'a': set()}")
    r = parse(bad, lenient=True)
    assert not r.well_formed and not r.lenient and r.calls == []
    r = parse(_BLOCK.format("[1, 2,]"), lenient=True)
    assert not r.well_formed and not r.lenient  # a repaired list is still not an arguments object


_NATIVE_CALL = '{"name": "time__get_current_time", "arguments": {"timezone": "UTC"}}'


@pytest.mark.parametrize(
    ("family", "text"),
    [
        ("chatml", "<tool_call>\n" + _NATIVE_CALL),  # closer missing at the end
        (
            "chatml",
            "<tool_call>\n{'name': 'time__get_current_time', 'arguments': {'timezone': 'UTC'}}\n</tool_call>",
        ),
        (
            "chatml",
            '<tool_call>\n{"name": "time__get_current_time", "arguments": {"timezone": "UTC",},}\n</tool_call>',
        ),
        ("chatml", "```json\n" + _NATIVE_CALL + "\n```"),  # fenced JSON, no tags
        ("gemma", "```tool_call\n" + _NATIVE_CALL),
        ("mistral", "[TOOL_CALLS][{'name': 'time__get_current_time', 'arguments': {'timezone': 'UTC'}}]"),
        ("llama", '{"name": "time__get_current_time", "parameters": "{\'timezone\': \'UTC\'}"}'),
    ],
)
def test_native_lenient(family: str, text: str) -> None:
    strict = native_calls.parse_native(text, family)
    assert not strict.well_formed and not strict.lenient
    r = native_calls.parse_native(text, family, lenient=True)
    assert r.well_formed and r.lenient and r.calls == [UTC], r.errors


def test_loads_lenient() -> None:
    ll = lenient_json.loads_lenient
    assert ll('{"a": [1, 2,],}') == {"a": [1, 2]}
    assert ll('{"a": "x,}"}') == {"a": "x,}"}  # commas inside strings untouched
    assert ll("{'a': (1, 2), 'b': False, 'c': null}") == {"a": [1, 2], "b": False, "c": None}
    assert ll("```\n[1]\n```") == [1]
    for bad in (
        "{1: 2}",
        "{'a': {1, 2}}",
        "__import__('os')",
        "{'a': 1e999}",
        "x" * 300_000,
        "[" * 500,
        "9" * 5000,
    ):
        with pytest.raises(ValueError):
            ll(bad)


# ----------------------------------------------------------------------------------------------------------
# Hostile output: never raises, never quadratic. No timings: the 5 MB inputs run under a pytest timeout that
# a quadratic parser would blow by orders of magnitude (each parses in about a second on 2 slow cores).


def _hostile_native(k: int) -> list[str]:
    """Hostile native-dialect outputs of about k characters each."""
    return [
        "<tool_call>" * (k // 11),
        "</tool_call>" * (k // 12),
        "[TOOL_CALLS]" * (k // 12),
        "[TOOL_CALLS][" * (k // 13),
        "[TOOL_CALLS]x[ARGS]" * (k // 19),
        "```tool_call\n" * (k // 13),
        "{" * k,
        "[{" * (k // 2),
        '{"name": "a__b", "arguments": {' * (k // 31),
        '<tool_call>{"name": "a__b", "arguments": {"x": "' * (k // 48),
        "<tool_call>" + "[" * k,
        '[TOOL_CALLS][{"name": "a__b", "arguments": {"x": "' + "y" * k,
        (EXPECTED_CALL_TEXT["chatml"] + "\n") * (k // 94),
        (EXPECTED_CALL_TEXT["llama"] + "\n") * (k // 70),
        "<tool_call>{'name': 'a__b', 'arguments': {'x': '" * (k // 48),
        "&lt;tool_call&gt;&amp;" * (k // 22) + '<!DOCTYPE x [<!ENTITY a "aaaa">]>&a;',
    ]


@pytest.mark.parametrize("i", range(16))
def test_hostile_native(i: int) -> None:
    text = _hostile_native(300_000)[i]
    for family, lenient in ((None, False), (None, True), (FAMILIES[i % 4], True)):
        r = native_calls.parse_native(text, family, lenient)
        assert isinstance(r.well_formed, bool) and not any("parser error" in e for e in r.errors)


def _hostile_xml(k: int) -> list[str]:
    blk = "<use_mcp_tool><server_name>s</server_name><tool_name>t</tool_name><arguments>"
    return [
        "<use_mcp_tool>" * (k // 14),
        "<use_mcp_tool><arguments>" * (k // 25),
        (blk + '{"a": "x') * (k // 85),
        (blk + "{'a': 1,}</arguments></use_mcp_tool>") * (k // 113),
        blk + "(" * k,
    ]


@pytest.mark.parametrize("i", range(5))
def test_hostile_xml_lenient(i: int) -> None:
    text = _hostile_xml(300_000)[i]
    for lenient in (False, True):
        r = parse(text, lenient=lenient)
        assert isinstance(r.well_formed, bool) and not any("parser error" in e for e in r.errors)


@pytest.mark.timeout(120)
def test_five_megabytes_complete() -> None:
    native, xml = _hostile_native(5_000_000), _hostile_xml(5_000_000)
    for text in (native[0], native[6], native[9], native[10], native[11], native[15]):
        assert len(text) >= 4_000_000
        assert not any("parser error" in e for e in native_calls.parse_native(text, None, True).errors)
    for text in (xml[1], xml[2], xml[4]):
        assert len(text) >= 4_000_000
        assert not any("parser error" in e for e in parse(text, lenient=True).errors)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.sampled_from(_AWKWARD + ["<server_name>", "time", "a__b", '"name"', ":", ","]) | _awk_text,
        max_size=30,
    ).map("".join)
)
def test_property_fuzz_never_raises(text: str) -> None:
    for lenient in (False, True):
        assert isinstance(parse(text, lenient=lenient).errors, list)
        for family in (None, *FAMILIES):
            r = native_calls.parse_native(text, family, lenient)
            assert not any("parser error" in e for e in r.errors), r.errors


def test_native_json_answer_is_not_a_call() -> None:
    r = native_calls.parse_native('Here it is: {"name": "Alice", "age": 3}')
    assert r.well_formed and r.calls == [] and not r.has_markup
    assert r.text == 'Here it is: {"name": "Alice", "age": 3}'


def test_decision_spans_are_openers_and_names_not_arguments():
    from mcpft_lib.mcp.xml_calls import decision_spans

    xml = (
        "Checking.\n\n<use_mcp_tool>\n<server_name>memory</server_name>\n<tool_name>create_entities</tool_name>\n"
        '<arguments>\n{"entities": [{"name": "a__b"}]}\n</arguments>\n</use_mcp_tool>'
    )
    assert [xml[a:b] for a, b in decision_spans(xml)] == ["\n\n<use_mcp_tool>", "memory", "create_entities"]
    res = "<access_mcp_resource>\n<server_name>s</server_name>\n<uri>file:///a</uri>\n</access_mcp_resource>"
    assert [res[a:b] for a, b in decision_spans(res)] == ["<access_mcp_resource>", "s", "file:///a"]
    native = {
        '[TOOL_CALLS][{"name": "git__git_status", "arguments": {"name": "x"}}]': [
            "[TOOL_CALLS]",
            "git__git_status",
        ],
        "[TOOL_CALLS]git__git_log[ARGS]{}": ["[TOOL_CALLS]git__git_log"],
        'Ok.\n<tool_call>\n{"name":"time__now","arguments":{}}\n</tool_call>': ["\n<tool_call>", "time__now"],
        '```tool_call\n{"name": "a__b", "arguments": {"name": "c__d"}}\n```': [
            "```tool_call",
            "a__b",
            "c__d",
        ],
    }
    for text, want in native.items():
        assert [text[a:b] for a, b in decision_spans(text, "native")] == want, text
    assert decision_spans("Just an answer.") == [] == decision_spans("Just an answer.", "native")
