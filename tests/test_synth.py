"""Schema-driven synthesis: valid values for every schema feature, requests that state them, masked names that
stay consistent, the categories, and `mcpft data generate` on a catalog the project has never seen."""

from __future__ import annotations

import json
from collections import Counter
from random import Random

import jsonschema
import pytest

from mcpft_lib.core.schema import Example, Server, Tool
from mcpft_lib.data.synth import Options, Synthesizer, read_catalog_file, synthesize
from mcpft_lib.data.synth.builder import mask, schema_errors
from mcpft_lib.data.synth.phrasing import base_action, imperative
from mcpft_lib.data.synth.values import ValueMaker
from mcpft_lib.mcp.catalogs import load_catalogs

SCHEMAS = {
    "enum_const": {"type": "object", "properties": {"mode": {"enum": ["fast", "safe"]}, "v": {"const": 2}},
                   "required": ["mode", "v"]},
    "pattern": {"type": "object", "properties": {"key": {"type": "string", "pattern": "^[A-Z]{2,4}-\\d{1,5}$"},
                                                  "sha": {"type": "string", "pattern": "^[0-9a-f]{7,40}$"}},
                "required": ["key", "sha"]},
    "formats": {"type": "object", "required": ["d", "dt", "e", "u", "id", "ip", "t"],
                "properties": {"d": {"type": "string", "format": "date"}, "dt": {"type": "string", "format": "date-time"},
                               "e": {"type": "string", "format": "email"}, "u": {"type": "string", "format": "uri"},
                               "id": {"type": "string", "format": "uuid"}, "ip": {"type": "string", "format": "ipv4"},
                               "t": {"type": "string", "format": "time"}}},
    "ranges": {"type": "object", "required": ["a", "b", "c", "s"],
               "properties": {"a": {"type": "integer", "minimum": 3, "maximum": 7},
                              "b": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
                              "c": {"type": "integer", "multipleOf": 5, "minimum": 10, "maximum": 40},
                              "s": {"type": "string", "minLength": 12, "maxLength": 16}}},
    "nested": {"type": "object", "required": ["items", "filter"],
               "properties": {"items": {"type": "array", "minItems": 2, "maxItems": 4, "uniqueItems": True,
                                        "items": {"type": "object", "required": ["name", "qty"],
                                                  "properties": {"name": {"type": "string"},
                                                                 "qty": {"type": "integer", "minimum": 1}}}},
                              "filter": {"type": "object", "additionalProperties": {"type": "string"}}}},
    "refs_unions": {"type": "object", "required": ["owner", "limit", "when"],
                    "$defs": {"user": {"type": "object", "properties": {"login": {"type": "string"}},
                                       "required": ["login"]}},
                    "properties": {"owner": {"$ref": "#/$defs/user"},
                                   "limit": {"anyOf": [{"type": "integer", "maximum": 50, "minimum": 1}, {"type": "null"}]},
                                   "when": {"type": ["string", "null"], "format": "date"},
                                   "both": {"allOf": [{"type": "object", "properties": {"x": {"type": "boolean"}},
                                                       "required": ["x"]}]}}},
    "untyped": {"type": "object", "properties": {"anything": {}, "flag": {"type": "boolean"}}, "required": ["anything"]},
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_values_are_valid_for_every_schema_feature(name):
    schema = SCHEMAS[name]
    vm = ValueMaker(Random(0))
    for _ in range(200):
        value = vm.obj(schema, schema, 0, optional_p=0.5)
        jsonschema.validate(value, schema)


def test_values_follow_what_the_parameter_is():
    vm = ValueMaker(Random(1))
    s = {"type": "object", "required": ["file_path", "url", "email", "timezone", "per_page"],
         "properties": {"file_path": {"type": "string"}, "url": {"type": "string"}, "email": {"type": "string"},
                        "timezone": {"type": "string"}, "per_page": {"type": "number"}}}  # fmt: skip
    for _ in range(50):
        v = vm.obj(s, s, 0)
        assert "/" in v["file_path"] or v["file_path"].endswith(".md")
        assert v["url"].startswith("https://")
        assert "@" in v["email"]
        assert "/" in v["timezone"] or v["timezone"] == "UTC"
        assert isinstance(v["per_page"], int)  # a "number" that counts is a whole one


def test_every_project_catalog_tool_gets_valid_arguments():
    vm = ValueMaker(Random(2))
    for server in load_catalogs():
        for tool in server.tools:
            for _ in range(10):
                args = vm.obj(tool.inputSchema, tool.inputSchema, 0, optional_p=0.5)
                assert not schema_errors(tool, args), (server.name, tool.name, args)


def test_actions_are_imperative():
    assert (
        imperative("Creates") == "create"
        and imperative("Fetches") == "fetch"
        and imperative("Queries") == "query"
    )
    assert imperative("access") == "access"
    assert base_action("get_x", "Retrieves and queries the docs. Long text.") == "retrieve and query the docs"
    assert base_action("list_open_issues", "") == "list open issues"
    assert base_action("x", "Tool to send an email to a contact") == "send an email to a contact"


WIDGETS = Server(
    name="widgets",
    description="An inventory of widgets.",
    tools=[
        Tool(name="create_widget", description="Creates a widget in the inventory.",
             inputSchema={"type": "object", "required": ["name", "color"],
                          "properties": {"name": {"type": "string", "description": "Widget name"},
                                         "color": {"type": "string", "enum": ["red", "blue"], "description": "Color"},
                                         "count": {"type": "integer", "minimum": 1, "maximum": 9,
                                                   "description": "How many"}}}),
        Tool(name="find_widgets", description="Searches widgets by text.",
             inputSchema={"type": "object", "required": ["query"],
                          "properties": {"query": {"type": "string", "description": "Search text"},
                                         "limit": {"type": "integer", "description": "Most results"}}}),
        Tool(name="run_report", description="Runs a SQL report over the inventory.",
             inputSchema={"type": "object", "required": ["sql"],
                          "properties": {"sql": {"type": "string", "description": "The SQL statement"}}}),
    ],
)  # fmt: skip


def _built(n=400, seed=0, **opt) -> list[Example]:
    ex, _ = synthesize([WIDGETS], n, seed, distractors=load_catalogs(), options=Options(**opt))
    return ex


def test_every_category_that_applies_is_written_and_valid():
    ex = _built()
    cats = Counter(e.category for e in ex)
    assert set(cats) == set(Synthesizer([WIDGETS], load_catalogs()).applicable(WIDGETS)) - {"resource_access"}
    for e in ex:
        for m in e.messages:
            for c in m.calls:
                tool = e.server(c.server).tool(c.tool)
                assert tool is not None and not schema_errors(tool, c.arguments)


def test_requests_state_the_string_values_they_call_with():
    for e in _built(rename_fraction=0.0):
        if e.category not in ("single_call", "large_context", "code_understanding"):
            continue
        user, call = e.messages[0].content.lower(), e.messages[1].calls[0]
        for k, v in call.arguments.items():
            if isinstance(v, str):
                assert v.lower() in user, (k, v, user)


def test_deterministic_and_seed_dependent():
    a, b, c = _built(seed=3), _built(seed=3), _built(seed=4)
    assert [e.id for e in a] == [e.id for e in b]
    assert [e.id for e in a] != [e.id for e in c]


def test_parallel_only_when_the_dialect_allows_it():
    assert any(len(m.calls) == 2 for e in _built() for m in e.messages)
    serial = _built(parallel=False)
    assert all(len(m.calls) <= 1 for e in serial for m in e.messages)
    assert "parallel" not in {e.category for e in serial}


def test_masked_names_are_consistent_and_meaningless():
    ex = _built(rename_fraction=1.0)
    assert all(e.meta.get("renamed") for e in ex if e.category != "resource_access")
    for e in ex:
        names = {t.name for s in e.servers for t in s.tools}
        assert not names & {"create_widget", "find_widgets", "run_report"}
        for m in e.messages:
            for c in m.calls:
                tool = e.server(c.server).tool(c.tool)
                assert tool is not None and not schema_errors(tool, c.arguments)
                props = tool.inputSchema.get("properties", {})
                assert all(k in props for k in c.arguments)


def test_mask_keeps_descriptions():
    from mcpft_lib.core.schema import Message, ToolCall

    c = ToolCall(server="widgets", tool="find_widgets", arguments={"query": "x"})
    msgs, servers = mask(Random(0), [Message(role="assistant", calls=[c])], [WIDGETS])
    t = servers[0].tool(msgs[0].calls[0].tool)
    assert t.description == "Searches widgets by text."
    key = next(iter(msgs[0].calls[0].arguments))
    assert key != "query" and t.inputSchema["properties"][key]["description"] == "Search text"


def test_no_tool_requests_offer_nothing_that_serves_them():
    ex = [e for e in _built(800) if e.category == "no_tool"]
    assert len(ex) > 40
    kinds = {e.meta["irrelevance"] for e in ex}
    assert kinds == {"near_miss", "other_server"}, (
        kinds
    )  # both: a near miss on the called server, another server
    for e in ex:
        server, tool = e.meta["asked"].split("/")
        offered = {s.name: s for s in e.servers}
        if e.meta["irrelevance"] == "other_server":
            assert server not in offered
        else:  # the server is offered without the asked tool (nor one like it: unmasked names checked here)
            assert server in offered
            assert e.meta.get("renamed") or tool not in {t.name for t in offered[server].tools}
        assert not any(m.calls for m in e.messages)


def test_offered_tool_lists_mix_servers_and_respect_the_budget():
    ex = _built(600, max_tools=10)
    sizes = [sum(len(s.tools) for s in e.servers) for e in ex]
    assert max(sizes) <= 10 + 3  # the called server keeps all its called tools
    assert sum(len(e.servers) > 1 for e in ex) > len(ex) * 0.4


@pytest.mark.slow
def test_data_generate_on_a_server_harvested_in_the_test(tmp_path, capsys):
    """`mcpft catalogs harvest` a stdio server the project has never seen, then `mcpft data generate` on its
    catalog alone: >= 1,000 examples over every category that applies, 0 reference calls invalid against the
    schema (re-validated here from the written files), the OpenAI export beside each split, the stats."""
    import sys
    from pathlib import Path

    from mcpft_lib import cli
    from mcpft_lib.data import validate
    from mcpft_lib.mcp import pool

    server = [sys.executable, str(Path(__file__).with_name("harvest_fixture.py"))]
    assert (
        cli.main(
            ["catalogs", "harvest", "fixture_notes", "--out", str(tmp_path), "--timeout", "60", "--", *server]
        )
        == 0
    )
    catalog = tmp_path / "fixture_notes.json"
    assert "fixture_notes" not in pool.pool_names() and catalog.is_file()
    capsys.readouterr()
    out = tmp_path / "data"
    assert (
        cli.main(
            ["data", "generate", "--catalog", str(catalog), "--n", "1000", "--out", str(out), "--seed", "1"]
        )
        == 0
    )
    stats = json.loads((out / "stats.json").read_text())
    syn = Synthesizer([read_catalog_file(catalog)], load_catalogs())
    assert stats["n_examples"] >= 1000 and stats["invalid_reference_calls"] == 0
    assert set(stats["categories"]) == set(syn.applicable(syn.servers[0]))
    rows = 0
    for split in ("train", "val", "test"):
        examples, bad = validate.load_jsonl(out / f"{split}.jsonl")
        assert not bad
        rows += len(examples)
        for e in examples:
            for m in e.messages:
                for c in m.calls:
                    tool = e.server(c.server).tool(c.tool) if c.tool != "access_mcp_resource" else None
                    if tool is not None:
                        jsonschema.validate(c.arguments, tool.inputSchema)
        openai_rows = (out / f"{split}.openai.jsonl").read_text().splitlines()
        assert len(openai_rows) == len(examples) and all("tools" in json.loads(r) for r in openai_rows)
    assert rows == stats["n_examples"]
    assert stats["examples_per_minute"] > 0 and "wrote" in capsys.readouterr().out
    assert (
        cli.main(["data", "generate", "--catalog", str(catalog), "--n", "10", "--out", str(out)]) == 2
    )  # kept


def test_servers_that_train_also_distract_each_other():
    """The pool both trains and distracts (data.synth in a profile): every example's other servers come from the
    same list, never the called server or its family."""
    servers = load_catalogs()
    fam = {s.name: ("vcs" if s.name in ("git", "github") else s.name) for s in servers}
    ex, _ = synthesize(servers, 300, 3, servers, Options(max_tools=12), fam)
    multi = [e for e in ex if len(e.servers) > 1]
    assert len(multi) > len(ex) * 0.4
    for e in multi:
        called = {c.server for m in e.messages for c in m.calls}
        names = [s.name for s in e.servers]
        assert len(names) == len(set(names)), names
        for c in called:  # no other server of the called one's family is offered
            assert [n for n in names if fam[n] == fam[c]] == [c], (c, names)
