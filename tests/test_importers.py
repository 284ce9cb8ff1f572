"""Importers of public function-calling data: small fixtures in each source's real format, including broken rows."""

from __future__ import annotations

import json

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mcpft_lib.core.schema import ToolCall
from mcpft_lib.data import importers
from mcpft_lib.data.importers import input_schema, type_schema
from mcpft_lib.mcp import dialects, xml_calls


@pytest.mark.parametrize(
    ("t", "schema", "optional"),
    [
        ("str", {"type": "string"}, False),
        ("int", {"type": "integer"}, False),
        ("float", {"type": "number"}, False),
        ("bool", {"type": "boolean"}, False),
        ("str, optional", {"type": "string"}, True),
        ("Optional[str]", {"type": "string"}, True),
        ("typing.Optional[int]", {"type": "integer"}, True),
        ("int | None", {"type": "integer"}, True),
        ("list[int]", {"type": "array", "items": {"type": "integer"}}, False),
        (
            "List[Dict[str, int]], optional",
            {"type": "array", "items": {"type": "object", "additionalProperties": {"type": "integer"}}},
            True,
        ),
        ("list", {"type": "array"}, False),
        ("Tuple[int, ...]", {"type": "array"}, False),
        ("dict", {"type": "object"}, False),
        ("Dict[str, Any]", {"type": "object"}, False),
        ("Union[int, str]", {"anyOf": [{"type": "integer"}, {"type": "string"}]}, False),
        ("Literal['a', 'b']", {"enum": ["a", "b"]}, False),
        ("Any", {}, False),
        ("Callable", {"description": "type: Callable"}, False),
        ("string", {"type": "string"}, False),
        (["string", "null"], {"anyOf": [{"type": "string"}, {"type": "null"}]}, False),
    ],
)
def test_type_schema(t, schema, optional) -> None:
    assert type_schema(t) == (schema, optional)
    jsonschema.Draft202012Validator.check_schema(schema)


def test_input_schema_flat_and_json_schema() -> None:
    flat = {
        "type": {"description": "Giveaway type.", "type": "str", "default": "game"},
        "ids": {"description": "IDs.", "type": "List[int]"},
        "page": {"description": "Page.", "type": "int, optional", "default": ""},
    }
    s = input_schema(flat)
    assert s == {
        "type": "object",
        "properties": {
            "type": {"type": "string", "description": "Giveaway type.", "default": "game"},
            "ids": {"type": "array", "items": {"type": "integer"}, "description": "IDs."},
            "page": {"type": "integer", "description": "Page."},
        },
        "required": ["ids"],
    }
    js = {
        "type": "object",
        "properties": {"n": {"type": "int"}, "tags": {"type": "list", "items": {"type": "str"}}},
    }
    assert input_schema(js)["properties"] == {
        "n": {"type": "integer"},
        "tags": {"type": "array", "items": {"type": "string"}},
    }
    assert input_schema(None) == {"type": "object", "properties": {}}
    with pytest.raises(importers.RowError, match="parameter 'x'"):
        input_schema({"x": "str"})


XLAM_ROWS = [
    {
        "id": 1,
        "query": "Where can I find live giveaways for beta access and games?",
        "answers": json.dumps(
            [
                {"name": "live_giveaways_by_type", "arguments": {"type": "beta"}},
                {"name": "live_giveaways_by_type", "arguments": {"type": "game"}},
            ]
        ),
        "tools": json.dumps(
            [
                {
                    "name": "live_giveaways_by_type",
                    "description": "Retrieve live giveaways from the GamerPower API based on the specified type.",
                    "parameters": {
                        "type": {"description": "The type of giveaways.", "type": "str", "default": "game"}
                    },
                }
            ]
        ),
    },
    {  # single-quoted answers, typed list argument
        "id": 2,
        "query": "Sum 1, 2 and 3.",
        "answers": "[{'name': 'sum_list', 'arguments': {'numbers': [1, 2, 3], 'strict': True}}]",
        "tools": [
            {
                "name": "sum_list",
                "description": "Sum numbers.",
                "parameters": {
                    "numbers": {"description": "Numbers.", "type": "List[int]"},
                    "strict": {"description": "Strict?", "type": "Optional[bool]"},
                },
            }
        ],
    },
    {"id": 3, "query": "broken", "answers": "[{'name': ", "tools": "[]"},  # bad JSON
    {  # unknown tool
        "id": 4,
        "query": "q",
        "answers": '[{"name": "nope", "arguments": {}}]',
        "tools": '[{"name": "t", "description": "", "parameters": {}}]',
    },
    {  # schema-invalid call: a string where List[int] is required
        "id": 5,
        "query": "q",
        "answers": '[{"name": "sum_list", "arguments": {"numbers": "1,2"}}]',
        "tools": '[{"name": "sum_list", "parameters": {"numbers": {"type": "List[int]"}}}]',
    },
    {"id": 6, "query": "", "answers": "[]", "tools": "[]"},  # empty conversation
]


def _jsonl(tmp_path, name, rows, extra_lines=()):
    p = tmp_path / name
    p.write_text("\n".join([json.dumps(r) for r in rows] + list(extra_lines)) + "\n")
    return p


def test_xlam(tmp_path) -> None:
    p = _jsonl(tmp_path, "xlam.jsonl", XLAM_ROWS, ["{not json"])
    good, bad = importers.import_source("xlam", str(p))
    assert [e.id for e in good] == ["xlam-1", "xlam-2"]
    ex = good[0]
    server = ex.servers[0]
    assert server.name.startswith("xlam-") and server.tools[0].name == "live_giveaways_by_type"
    assert server.tools[0].inputSchema["properties"]["type"]["type"] == "string"
    assert ex.messages[1].calls == [
        ToolCall(server=server.name, tool="live_giveaways_by_type", arguments={"type": "beta"}),
        ToolCall(server=server.name, tool="live_giveaways_by_type", arguments={"type": "game"}),
    ]
    assert ex.category == "single_call" and ex.provenance == "import:Salesforce/xlam-function-calling-60k"
    assert good[1].messages[1].calls[0].arguments == {"numbers": [1, 2, 3], "strict": True}
    reasons = {q["row"]: q["reason"] for q in bad}
    assert len(bad) == 5 and all(q["source"] == "xlam" and q["raw"] for q in bad)
    assert "answers is not JSON" in reasons["xlam.jsonl:3"]
    assert "unknown tool" in reasons["xlam.jsonl:4"]
    assert "schema" in reasons["xlam.jsonl:5"] or "not of type" in reasons["xlam.jsonl:5"]
    assert "empty query" in reasons["xlam.jsonl:6"]
    assert "bad JSON" in reasons["xlam.jsonl:7"]
    # every imported example renders and round-trips in both dialects
    for e in good:
        chat = dialects.to_chat(e, "xml")
        assert xml_calls.parse(chat[-1]["content"]).calls == e.messages[-1].calls
        assert dialects.to_chat(e, "native")[0]["tools"][0]["function"]["name"].startswith(
            server.name.split("-")[0]
        )
    # limit counts rows read
    good2, bad2 = importers.import_source("xlam", str(p), limit=2)
    assert len(good2) == 2 and bad2 == []


HERMES_SYSTEM = (
    "You are a function calling AI model. You are provided with function signatures within <tools></tools> XML tags."
    " <tools> [{'type': 'function', 'function': {'name': 'get_stock_price', 'description': 'Get the stock price',"
    " 'parameters': {'type': 'object', 'properties': {'symbol': {'type': 'string', 'description': 'Ticker'},"
    " 'exchange': {'type': 'str'}}, 'required': ['symbol']}}}] </tools> Use the following pydantic model json"
    " schema for each tool call you will make."
)
HERMES_ROWS = [
    {
        "id": "h1",
        "conversations": [
            {"from": "system", "value": HERMES_SYSTEM},
            {"from": "human", "value": "What's the price of AAPL?"},
            {
                "from": "gpt",
                "value": "<tool_call>\n{'arguments': {'symbol': 'AAPL'}, 'name': 'get_stock_price'}\n</tool_call>",
            },
            {
                "from": "tool",
                "value": '<tool_response>\n{"name": "get_stock_price", "content": {"price": 189.5}}\n</tool_response>',
            },
            {"from": "gpt", "value": "AAPL trades at $189.50."},
        ],
    },
    {"id": "h2", "conversations": []},  # empty conversation
    {
        "id": "h3",  # call with broken JSON
        "conversations": [
            {"from": "system", "value": HERMES_SYSTEM},
            {"from": "human", "value": "price?"},
            {"from": "gpt", "value": "<tool_call>\n{'arguments': {'symbol': \n</tool_call>"},
        ],
    },
    {
        "id": "h4",  # schema-invalid: symbol must be a string
        "conversations": [
            {"from": "system", "value": HERMES_SYSTEM},
            {"from": "human", "value": "price?"},
            {
                "from": "gpt",
                "value": "<tool_call>\n{'arguments': {'symbol': 42}, 'name': 'get_stock_price'}\n</tool_call>",
            },
        ],
    },
]


def test_hermes(tmp_path) -> None:
    p = tmp_path / "hermes.json"
    p.write_text(json.dumps(HERMES_ROWS))
    good, bad = importers.import_source("hermes", str(p))
    assert [e.id for e in good] == ["hermes-h1"]
    ex = good[0]
    tool = ex.servers[0].tools[0]
    assert tool.name == "get_stock_price" and tool.inputSchema["properties"]["exchange"] == {"type": "string"}
    call = ToolCall(server=ex.servers[0].name, tool="get_stock_price", arguments={"symbol": "AAPL"})
    assert [m.role for m in ex.messages] == ["user", "assistant", "tool", "assistant"]
    assert ex.messages[1].calls == [call] and ex.messages[1].content == ""
    assert ex.messages[2].call == call and json.loads(ex.messages[2].content) == {"price": 189.5}
    assert ex.category == "single_call"
    reasons = {q["row"]: q["reason"] for q in bad}
    assert "empty conversation" in reasons["hermes.json[1]"]
    assert "not JSON" in reasons["hermes.json[2]"]
    assert "42" in reasons["hermes.json[3]"] or "type" in reasons["hermes.json[3]"]


GLAIVE_SYSTEM = (
    "SYSTEM: You are a helpful assistant with access to the following functions. Use them if required -\n"
    '{\n    "name": "calculate_factorial",\n    "description": "Calculate the factorial",\n    "parameters": {\n'
    '        "type": "object",\n        "properties": {\n            "number": {"type": "integer", "description": "n"}\n'
    '        },\n        "required": ["number"]\n    }\n}\n'
    '{"name": "convert", "description": "", "parameters": {"type": "object", "properties": {"s": {"type": "str"}}}}'
)
GLAIVE_ROWS = [
    {
        "system": GLAIVE_SYSTEM,
        "chat": "USER: What is 5 factorial?\n\n\nASSISTANT: Let me compute it. <functioncall> "
        '{"name": "calculate_factorial", "arguments": \'{"number": 5}\'} <|endoftext|>\n\n\n'
        'FUNCTION RESPONSE: {"result": 120}\n\n\nASSISTANT: 5! is 120. <|endoftext|>\n\n\n',
    },
    {
        "system": "SYSTEM: You are a helpful assistant, with no access to external functions.",
        "chat": "USER: Tell me a joke.\n\n\nASSISTANT: Why did the chicken cross the road? <|endoftext|>\n\n\n",
    },
    {
        "system": GLAIVE_SYSTEM,  # error result -> error_handling
        "chat": "USER: factorial of -1\n\n\nASSISTANT: <functioncall> "
        '{"name": "calculate_factorial", "arguments": \'{"number": -1}\'} <|endoftext|>\n\n\n'
        'FUNCTION RESPONSE: {"error": "negative number"}\n\n\nASSISTANT: Factorials need n >= 0. <|endoftext|>',
    },
    {"system": GLAIVE_SYSTEM, "chat": ""},  # empty
    {
        "system": GLAIVE_SYSTEM,
        "chat": 'USER: hi\n\n\nASSISTANT: <functioncall> {"name": "nope", "arguments": \'{}\'}',
    },
]


def test_glaive(tmp_path) -> None:
    p = _jsonl(tmp_path, "glaive.jsonl", GLAIVE_ROWS)
    good, bad = importers.import_source("glaive", str(p))
    assert len(good) == 3 and len(bad) == 2
    ex = good[0]
    assert [t.name for t in ex.servers[0].tools] == ["calculate_factorial", "convert"]
    assert ex.servers[0].tools[1].inputSchema["properties"]["s"] == {"type": "string"}
    a = ex.messages[1]
    assert a.content == "Let me compute it." and a.calls[0].arguments == {"number": 5}
    assert ex.messages[2].call == a.calls[0] and json.loads(ex.messages[2].content) == {"result": 120}
    assert ex.messages[3].content == "5! is 120."
    assert good[1].category == "no_tool" and good[1].servers[0].tools == []
    assert good[2].category == "error_handling" and good[2].messages[2].is_error
    reasons = [q["reason"] for q in bad]
    assert "empty chat" in reasons[0] and "unknown tool" in reasons[1]


def test_parquet_and_missing_sources(tmp_path, monkeypatch) -> None:
    import datasets

    p = tmp_path / "x.parquet"
    datasets.Dataset.from_list([XLAM_ROWS[0], XLAM_ROWS[3]]).to_parquet(str(p))
    good, bad = importers.import_source("xlam", str(p))
    assert len(good) == 1 and len(bad) == 1
    with pytest.raises(importers.ImportError_, match="no such file"):
        importers.import_source("xlam", str(tmp_path / "missing.jsonl"))
    with pytest.raises(importers.ImportError_, match="is a folder"):
        importers.import_source("xlam", str(tmp_path))
    with pytest.raises(importers.ImportError_, match="unknown import source"):
        importers.import_source("toolace", str(p))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    with pytest.raises(importers.ImportError_, match=r"mcpft-tests/no-such-dataset.*hf download"):
        importers.import_source("xlam", "mcpft-tests/no-such-dataset", limit=3)


def test_import_all_is_deterministic(tmp_path) -> None:
    from types import SimpleNamespace as NS

    x = _jsonl(tmp_path, "xlam.jsonl", XLAM_ROWS)
    g = _jsonl(tmp_path, "glaive.jsonl", GLAIVE_ROWS)
    specs = [
        NS(source="xlam", path_or_id=str(x), limit=None),
        NS(source="glaive", path_or_id=str(g), limit=3),
    ]
    good, bad = importers.import_all(specs)
    assert len(good) == 2 + 3 and len(bad) == 4 + 0
    again, _ = importers.import_all(specs)
    assert [e.model_dump() for e in again] == [e.model_dump() for e in good]
    assert importers.import_all([]) == ([], [])


def test_params_import_feeds_build_dataset(tmp_path) -> None:
    from pathlib import Path

    from mcpft_lib.config import load_params
    from mcpft_lib.data.stage import build_dataset
    from mcpft_lib.mcp.catalogs import load_catalogs

    x = _jsonl(tmp_path, "xlam.jsonl", XLAM_ROWS)
    root = Path(__file__).resolve().parent.parent
    p = load_params(root / "params" / "smoke.yaml", [f"data.import=[{{source: xlam, path_or_id: '{x}'}}]"])
    assert p.data.imports[0].source == "xlam" and "import" in p.to_yaml()
    built = build_dataset(p, load_catalogs(p.data.servers), tmp_path / "data")
    ids = {e.id for rows in built["splits"].values() for e in rows}
    assert {"xlam-1", "xlam-2"} <= ids
    reasons = [q["reason"] for q in built["quarantine"]]
    assert sum("unknown tool" in r for r in reasons) == 1 and sum("empty query" in r for r in reasons) == 1
    assert built["n_quarantined"] >= 4


def test_hermes_role_aliases() -> None:
    row = {
        "conversations": [
            {"from": "system", "value": HERMES_SYSTEM},
            {"from": "user", "value": "price of MSFT?"},
            {
                "from": "assistant",
                "value": "<tool_call>\n{'name': 'get_stock_price', 'arguments': {'symbol': 'MSFT'}}",
            },
        ]
    }
    ex = importers.from_hermes(row, "r")
    assert [m.role for m in ex.messages] == ["user", "assistant"]
    assert ex.messages[1].calls[0].arguments == {
        "symbol": "MSFT"
    }  # an unclosed <tool_call> at the end is read


_TYPE_WORDS = [
    "str",
    "int",
    "List",
    "Dict",
    "Optional",
    "Union",
    "Literal",
    "None",
    "Any",
    "[",
    "]",
    ",",
    "|",
    " ",
    "'a'",
]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(_TYPE_WORDS) | st.text(max_size=4), max_size=8).map("".join))
def test_property_type_schema_is_valid_json_schema(t: str) -> None:
    schema, optional = type_schema(t)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert isinstance(optional, bool)


_rowish = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(max_size=30)
    | st.sampled_from(
        ["gpt", "human", "tool", "system", "str", "List[int]", "<tool_call>{'name': 'x'}</tool_call>"]
    ),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "name",
                    "arguments",
                    "parameters",
                    "type",
                    "from",
                    "value",
                    "query",
                    "answers",
                    "tools",
                    "conversations",
                    "chat",
                    "system",
                    "description",
                    "x",
                ]
            ),
            inner,
            max_size=4,
        )
    ),
    max_leaves=12,
)


_leaf = _rowish | st.sampled_from(
    [
        "<tool_call>\n{'name': 'get_stock_price', 'arguments': {'symbol': 1}}\n</tool_call>",
        "<tool_call>{'name': 'x'",
        '<tool_response>{"name": "x", "content": 1}</tool_response>',
        "USER: hi\nASSISTANT: <functioncall> {'name': 'x', 'arguments': 5}\nFUNCTION RESPONSE: {",
        'SYSTEM: - {"name": "x", "parameters": {"type": "object", "properties": {"a": {"type": 3}}}}',
        HERMES_SYSTEM,
        '[{"name": "x", "arguments": []}]',
        '[{"name": "x", "parameters": {"a": {"type": "List[int]"}}}]',
    ]
)
_ROWS = {
    "xlam": st.fixed_dictionaries(
        {}, optional={"query": _leaf, "answers": _leaf, "tools": _leaf, "id": _leaf}
    ),
    "hermes": st.fixed_dictionaries(
        {},
        optional={
            "conversations": st.lists(
                st.fixed_dictionaries(
                    {},
                    optional={
                        "from": st.sampled_from(["system", "human", "gpt", "tool", "user", "x"]) | _leaf,
                        "value": _leaf,
                    },
                )
                | _leaf,
                max_size=5,
            )
            | _leaf
        },
    ),
    "glaive": st.fixed_dictionaries({}, optional={"system": _leaf, "chat": _leaf}),
    "openai": st.fixed_dictionaries(
        {},
        optional={
            "messages": st.lists(
                st.fixed_dictionaries(
                    {},
                    optional={
                        "role": st.sampled_from(["system", "user", "assistant", "tool", "function", "x"])
                        | _leaf,
                        "content": _leaf,
                        "tool_calls": st.lists(
                            st.fixed_dictionaries({}, optional={"function": _leaf, "id": _leaf})
                        )
                        | _leaf,
                        "function_call": _leaf,
                        "tool_call_id": _leaf,
                        "name": _leaf,
                    },
                )
                | _leaf,
                max_size=5,
            )
            | _leaf,
            "tools": _leaf,
            "functions": _leaf,
            "mcpft": _leaf,
        },
    ),
    "sharegpt": st.fixed_dictionaries(
        {},
        optional={
            "conversations": st.lists(
                st.fixed_dictionaries(
                    {},
                    optional={
                        "from": st.sampled_from(
                            ["system", "human", "gpt", "function_call", "observation", "x"]
                        )
                        | _leaf,
                        "value": _leaf,
                    },
                )
                | _leaf,
                max_size=5,
            )
            | _leaf,
            "tools": _leaf,
            "system": _leaf,
        },
    ),
}


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(importers.SOURCES).flatmap(lambda src: st.tuples(st.just(src), _ROWS[src])))
def test_property_converters_fail_only_with_a_reason(case: tuple) -> None:
    """Arbitrary rows convert or raise a ValueError whose message becomes the quarantine reason."""
    source, row = case
    try:
        importers.CONVERTERS[source](row, "r")
    except ValueError as e:
        assert str(e)
