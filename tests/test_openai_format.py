"""OpenAI chat rows out (`data.openai_format`) and OpenAI / ShareGPT rows in (`importers.from_openai`,
`from_sharegpt`): the export's shape, exact round trips on generated data of every category, each quarantine
reason, the dataset stage's `<split>.openai.jsonl`, and that `datasets`, a real tool-calling chat template and TRL's
SFT preparation read the export as is."""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path

import jsonschema
import pytest

from mcpft_lib.config import load_params
from mcpft_lib.core.schema import (
    CURATED_CATEGORIES,
    RESOURCE_TOOL,
    Example,
    Message,
    Resource,
    Server,
    Tool,
    ToolCall,
)
from mcpft_lib.data import generate, importers, openai_format, stage
from mcpft_lib.data.openai_format import ERROR_PREFIX, METADATA_KEY, NAME_RE, to_openai, write_openai_jsonl
from mcpft_lib.mcp import catalogs

ROOT = Path(__file__).resolve().parent.parent
SERVERS = catalogs.load_catalogs()


@pytest.fixture(scope="module")
def generated() -> list[Example]:
    """Examples of every category, up to two servers each (resources, errors, clarifications, long results)."""
    exs = generate.generate(180, 11, SERVERS, list(CURATED_CATEGORIES), 2)
    assert {e.category for e in exs} == set(CURATED_CATEGORIES)
    assert any(len(e.servers) == 2 for e in exs)
    assert any(c.tool == RESOURCE_TOOL for e in exs for m in e.messages for c in m.calls)
    assert any(m.is_error for e in exs for m in e.messages)
    return exs


def _write(tmp_path: Path, rows: list, name: str = "rows.jsonl") -> Path:
    p = tmp_path / name
    p.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8")
    return p


# ------------------------------------------------------------------------------------------------ export shape


@functools.cache
def _check_schema(schema_json: str) -> None:
    jsonschema.Draft202012Validator.check_schema(json.loads(schema_json))


def _check_openai_row(row: dict, ex: Example) -> None:
    """The OpenAI chat format rules docs/formats.md states, checked on one exported row."""
    assert set(row) == {"messages", "tools", METADATA_KEY}
    names = []
    for t in row["tools"]:
        assert set(t) == {"type", "function"} and t["type"] == "function"
        fn = t["function"]
        assert set(fn) == {"name", "description", "parameters"}
        assert NAME_RE.fullmatch(fn["name"]), fn["name"]
        assert isinstance(fn["description"], str)
        _check_schema(json.dumps(fn["parameters"], sort_keys=True))
        names.append(fn["name"])
    assert len(set(names)) == len(names)
    assert len(names) == sum(len(s.tools) + bool(s.resources) for s in ex.servers)
    msgs = row["messages"]
    assert msgs[0]["role"] == "system" and all(s.name in msgs[0]["content"] for s in ex.servers)
    assert msgs[1]["role"] == "user" and msgs[-1]["role"] == "assistant"
    open_calls: dict[str, str] = {}
    for m in msgs[1:]:
        assert m["role"] in ("user", "assistant", "tool") and isinstance(m["content"], str)
        if m["role"] == "assistant":
            assert set(m) <= {"role", "content", "tool_calls"}
            assert m.get("tool_calls", [None]) != [], "an empty tool_calls list"
            for tc in m.get("tool_calls", []):
                assert set(tc) == {"id", "type", "function"} and tc["type"] == "function"
                assert re.fullmatch(r"[0-9a-z]{9}", tc["id"]) and tc["id"] not in open_calls
                assert tc["function"]["name"] in names and isinstance(tc["function"]["arguments"], dict)
                open_calls[tc["id"]] = tc["function"]["name"]
        elif m["role"] == "tool":
            assert set(m) == {"role", "tool_call_id", "name", "content"}
            assert open_calls.pop(m["tool_call_id"]) == m["name"], "a result for a call that is not open"
        else:
            assert set(m) == {"role", "content"}


def test_export_follows_the_openai_chat_format(generated: list[Example]) -> None:
    for ex in generated:
        _check_openai_row(to_openai(ex), ex)


def test_calls_results_and_errors_read_as_in_the_native_dialect(generated: list[Example]) -> None:
    ex = next(e for e in generated if any(m.is_error for m in e.messages))
    row = to_openai(ex)
    flat = [m for m in row["messages"] if m["role"] != "system"]
    for m, out in zip(ex.messages, flat, strict=True):
        if m.role == "tool":
            assert out["content"] == (ERROR_PREFIX + m.content if m.is_error else m.content)
            assert out["name"] == f"{m.call.server}__{m.call.tool}"
        for c, tc in zip(m.calls, out.get("tool_calls", []), strict=True):
            assert tc["function"] == {"name": f"{c.server}__{c.tool}", "arguments": c.arguments}
    assert row[METADATA_KEY]["errors"] == [i for i, m in enumerate(ex.messages) if m.is_error]


def test_export_options_string_arguments_no_system_no_metadata(generated: list[Example]) -> None:
    ex = next(e for e in generated if any(m.calls and m.calls[0].arguments for m in e.messages))
    obj, text = to_openai(ex), to_openai(ex, arguments="string", system=False, metadata=False)
    assert METADATA_KEY not in text and text["messages"][0]["role"] == "user"
    calls = [tc for m in obj["messages"] for tc in m.get("tool_calls", [])]
    as_text = [tc for m in text["messages"] for tc in m.get("tool_calls", [])]
    assert all(isinstance(tc["function"]["arguments"], str) for tc in as_text)
    assert [json.loads(tc["function"]["arguments"]) for tc in as_text] == [
        tc["function"]["arguments"] for tc in calls
    ]


def test_function_names_are_sanitised_unique_and_reversible() -> None:
    tool = Tool(name="get/value.v2", inputSchema={"type": "object", "properties": {"q": {"type": "string"}}})
    servers = [
        Server(name="my.server", tools=[tool]),
        Server(name="my_server", tools=[tool]),  # sanitises to the same name: gets a hash suffix
        Server(name="s" * 70, tools=[tool], resources=[Resource(uri="memo://x")]),
    ]
    names = openai_format.function_names(servers)
    assert all(NAME_RE.fullmatch(n) for n in names)
    assert names["my_server__get_value_v2"] == ("my.server", "get/value.v2")
    assert len(names) == 4 and set(names.values()) == {
        ("my.server", "get/value.v2"), ("my_server", "get/value.v2"),
        ("s" * 70, "get/value.v2"), ("s" * 70, RESOURCE_TOOL),
    }  # fmt: skip
    assert all(len(n) == 64 for n, (s, _) in names.items() if s == "s" * 70)
    call = ToolCall(server="my_server", tool="get/value.v2", arguments={"q": "x"})
    ex = Example(id="names", servers=servers, category="single_call", messages=[
        Message(role="user", content="q?"), Message(role="assistant", calls=[call]),
        Message(role="tool", content="ok", call=call), Message(role="assistant", content="x"),
    ])  # fmt: skip
    row = to_openai(ex)
    name = row["messages"][2]["tool_calls"][0]["function"]["name"]
    assert name != "my_server__get_value_v2" and NAME_RE.fullmatch(name)
    assert importers.from_openai(json.loads(json.dumps(row)), "r") == ex


def test_export_refuses_a_call_no_server_lists() -> None:
    call = ToolCall(server="time", tool="nope")
    ex = Example(id="x", servers=[Server(name="time")], category="single_call",
                 messages=[Message(role="user", content="q"), Message(role="assistant", calls=[call])])  # fmt: skip
    with pytest.raises(ValueError, match="x: message 1 calls time/nope"):
        to_openai(ex)


# ------------------------------------------------------------------------------------------------- round trip


def test_round_trip_is_exact_for_every_category(generated: list[Example], tmp_path: Path) -> None:
    for options in ({}, {"arguments": "string"}, {"system": False}):
        path = write_openai_jsonl(generated, tmp_path / "rows.openai.jsonl", **options)
        back, quarantine = importers.import_source("openai", str(path))
        assert quarantine == []
        assert back == generated, options


def test_round_trip_keeps_an_imported_examples_system_prompt_and_unlinked_results(tmp_path: Path) -> None:
    row = {
        "messages": [
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "time?"},
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": "a", "type": "function", "function": {"name": "now", "arguments": "{}"}}]},
            {"role": "tool", "content": "10:00"},  # no tool_call_id: answers the open call
            {"role": "assistant", "content": "10:00."},
        ],
        "tools": [{"type": "function", "function": {"name": "now", "parameters": {"type": "object"}}}],
    }  # fmt: skip
    ex = importers.from_openai(row, "r1")
    assert ex.meta["system"] == "You are terse." and ex.category == "single_call"
    assert ex.messages[2].call == ex.messages[1].calls[0]
    again = importers.from_openai(json.loads(json.dumps(to_openai(ex))), "other")
    assert again == ex
    assert to_openai(ex)["messages"][0] == {"role": "system", "content": "You are terse."}
    unlinked = ex.model_copy(deep=True)
    unlinked.messages[2].call = None
    assert importers.from_openai(json.loads(json.dumps(to_openai(unlinked))), "r") == unlinked


# -------------------------------------------------------------------------------------------- foreign rows in

TOOLS = [
    {"type": "function", "function": {"name": "get_weather", "description": "Weather of a city", "parameters": {
        "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}},
    {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object", "properties": {}}}},
]  # fmt: skip


def _call(name: str, args, cid: str = "c1") -> dict:
    return {"id": cid, "type": "function", "function": {"name": name, "arguments": args}}


def test_openai_rows_from_elsewhere(tmp_path: Path) -> None:
    rows = [
        {  # arguments as the OpenAI API's JSON string, text parts, parallel calls, results by id out of order
            "messages": [
                {"role": "user", "content": [{"type": "text", "text": "Weather "}, {"type": "text", "text": "and time?"}]},
                {"role": "assistant", "content": "Checking.", "tool_calls": [
                    _call("get_weather", '{"city": "Oslo"}', "w"), _call("get_time", {}, "t")]},
                {"role": "tool", "tool_call_id": "t", "content": "09:00"},
                {"role": "tool", "tool_call_id": "w", "content": "{\"error\": \"offline\"}"},
                {"role": "assistant", "content": "09:00; the weather service is down."},
            ],
            "tools": TOOLS,
        },
        {  # the legacy functions / function_call / role: function keys
            "messages": [
                {"role": "user", "content": "Weather in Rome?"},
                {"role": "assistant", "content": None,
                 "function_call": {"name": "get_weather", "arguments": "{\"city\": \"Rome\"}"}},
                {"role": "function", "name": "get_weather", "content": "Error:\nno such city"},
                {"role": "assistant", "content": "I could not find Rome."},
            ],
            "functions": [t["function"] for t in TOOLS],
        },
    ]  # fmt: skip
    (a, b), quarantine = importers.import_source("openai", str(_write(tmp_path, rows)))
    assert quarantine == []
    assert a.servers == b.servers and a.servers[0].name.startswith("openai-")
    assert [t.name for t in a.servers[0].tools] == ["get_weather", "get_time"]
    assert a.messages[0].content == "Weather and time?" and a.category == "single_call"
    weather, time_ = a.messages[1].calls
    assert (
        weather.arguments == {"city": "Oslo"}
        and a.messages[2].call == time_
        and a.messages[3].call == weather
    )
    assert not a.messages[
        3
    ].is_error  # only the exported `Error:` prefix marks an error without mcpft metadata
    assert b.messages[1].calls[0].arguments == {"city": "Rome"}
    assert (
        b.messages[2].is_error and b.messages[2].content == "no such city" and b.category == "error_handling"
    )
    assert a.provenance == "import:openai" and a.meta == {
        "source": "openai",
        "row_id": a.id.removeprefix("openai-"),
    }


def test_sharegpt_rows_as_llamafactory_documents_them(tmp_path: Path) -> None:
    fns = [t["function"] for t in TOOLS]
    rows = [
        {  # LLaMA-Factory's glaive_toolcall demo shape: tools as a JSON string, function_call / observation turns
            "conversations": [
                {"from": "human", "value": "Weather in Oslo?"},
                {"from": "function_call", "value": json.dumps({"name": "get_weather", "arguments": {"city": "Oslo"}})},
                {"from": "observation", "value": "{\"temp\": 3}"},
                {"from": "gpt", "value": "3 degrees."},
                {"from": "human", "value": "Thanks"},
                {"from": "gpt", "value": "You're welcome."},
            ],
            "tools": json.dumps(fns),
            "system": "Be brief.",
        },
        {  # tools as a list in OpenAI's wrapper, a system turn, text then calls, parallel calls and results
            "conversations": [
                {"from": "system", "value": "Be kind."},
                {"from": "user", "value": "Weather and time in Rome?"},
                {"from": "gpt", "value": "Let me look."},
                {"from": "function_call", "value": json.dumps([
                    {"name": "get_weather", "arguments": "{\"city\": \"Rome\"}"}, {"name": "get_time", "arguments": {}}])},
                {"from": "observation", "value": json.dumps([{"temp": 20}, "12:00"])},
                {"from": "gpt", "value": "20 degrees at 12:00."},
            ],
            "tools": TOOLS,
        },
    ]  # fmt: skip
    (a, b), quarantine = importers.import_source("sharegpt", str(_write(tmp_path, rows)))
    assert quarantine == []
    assert [m.role for m in a.messages] == ["user", "assistant", "tool", "assistant", "user", "assistant"]
    assert a.messages[1].calls == [
        ToolCall(server=a.servers[0].name, tool="get_weather", arguments={"city": "Oslo"})
    ]
    assert a.messages[2].call == a.messages[1].calls[0] and a.messages[2].content == '{"temp": 3}'
    assert (
        a.meta["system"] == "Be brief." and a.category == "single_call" and a.provenance == "import:sharegpt"
    )
    assert b.meta["system"] == "Be kind." and [m.role for m in b.messages] == [
        "user",
        "assistant",
        "tool",
        "tool",
        "assistant",
    ]
    assert b.messages[1].content == "Let me look." and [c.tool for c in b.messages[1].calls] == [
        "get_weather",
        "get_time",
    ]
    assert [(m.content, m.call.tool) for m in b.messages[2:4]] == [
        ('{"temp": 20}', "get_weather"),
        ("12:00", "get_time"),
    ]
    assert a.servers == b.servers  # the same function set is the same synthetic server


# ------------------------------------------------------------------------------------------ quarantine reasons

_USER = {"role": "user", "content": "Weather?"}
_END = {"role": "assistant", "content": "Done."}

OPENAI_BAD = {
    "no `messages` list": {"tools": TOOLS},
    "no tools: the row has neither `tools` nor `functions`": {"messages": [_USER, _END]},
    "message 1: call to undeclared function 'get_news'": {
        "messages": [_USER, {"role": "assistant", "tool_calls": [_call("get_news", {})]}], "tools": TOOLS},
    "message 1: arguments of 'get_weather' is not JSON": {
        "messages": [_USER, {"role": "assistant", "tool_calls": [_call("get_weather", "{city: Oslo")]}], "tools": TOOLS},
    "message 1: arguments of 'get_weather' must be a JSON object, got list": {
        "messages": [_USER, {"role": "assistant", "tool_calls": [_call("get_weather", "[1]")]}], "tools": TOOLS},
    "message 1: tool result without a preceding call": {
        "messages": [_USER, {"role": "tool", "tool_call_id": "c1", "content": "x"}, _END], "tools": TOOLS},
    "message 2: the result of 'zz' matches no pending call": {
        "messages": [_USER, {"role": "assistant", "tool_calls": [_call("get_time", {})]},
                     {"role": "tool", "tool_call_id": "zz", "content": "x"}, _END], "tools": TOOLS},
    "message 1: unknown role 'robot'": {"messages": [_USER, {"role": "robot", "content": "x"}], "tools": TOOLS},
    "message 1: a system message after the conversation started": {
        "messages": [_USER, {"role": "system", "content": "x"}, _END], "tools": TOOLS},
    "message 0: content must be text or a list of text parts": {
        "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}, _END],
        "tools": TOOLS},
    "mcpft metadata: id: Field required": {"messages": [_USER, _END], "tools": TOOLS, "mcpft": {"category": "x"}},
    "tool 'get_weather' is not in mcpft.functions": {
        "messages": [_USER, _END], "tools": TOOLS,
        "mcpft": {"id": "x", "category": "no_tool", "servers": [{"name": "s"}], "functions": {}}},
    "arguments of time/get_current_time invalid": {  # a declared call whose arguments break the tool's schema
        "messages": [_USER, {"role": "assistant", "tool_calls": [_call("time__get_current_time", {"tz": 1})]}],
        "tools": [{"type": "function", "function": {"name": "time__get_current_time", "parameters": {
            "type": "object", "properties": {"timezone": {"type": "string"}}, "required": ["timezone"]}}}],
        "mcpft": {"id": "x", "category": "single_call", "servers": [{"name": "time"}],
                  "functions": {"time__get_current_time": ["time", "get_current_time"]}}},
}  # fmt: skip

SHAREGPT_BAD = {
    "no `conversations` list (OpenAI-style `messages`: use source: openai)": {"messages": [_USER], "tools": TOOLS},
    "no tools: `tools` is missing or empty": {"conversations": [{"from": "human", "value": "x"}], "tools": "[]"},
    "tools is not JSON": {"conversations": [{"from": "human", "value": "x"}], "tools": "[{name: x}"},
    "turn 1: call to undeclared function 'get_news'": {"conversations": [
        {"from": "human", "value": "x"}, {"from": "function_call", "value": '{"name": "get_news", "arguments": {}}'}],
        "tools": TOOLS},
    "turn 1 (function_call): the value is not JSON": {"conversations": [
        {"from": "human", "value": "x"}, {"from": "function_call", "value": "get_time()"}], "tools": TOOLS},
    "turn 1 (observation): tool result without a preceding function_call": {"conversations": [
        {"from": "human", "value": "x"}, {"from": "observation", "value": "1"}, {"from": "gpt", "value": "y"}],
        "tools": TOOLS},
    "turn 1: unknown role 'bot'": {"conversations": [{"from": "human", "value": "x"}, {"from": "bot", "value": "y"}],
                                   "tools": TOOLS},
    "turn 0: value must be text, got int": {"conversations": [{"from": "human", "value": 3}], "tools": TOOLS},
}  # fmt: skip


@pytest.mark.parametrize(("source", "cases"), [("openai", OPENAI_BAD), ("sharegpt", SHAREGPT_BAD)])
def test_each_bad_row_is_quarantined_with_a_reason_naming_its_line(
    source: str, cases: dict, tmp_path: Path
) -> None:
    good = {"openai": to_openai(generate.generate(1, 0, SERVERS[:1])[0]), "sharegpt": {"conversations": [
        {"from": "human", "value": "Time?"}, {"from": "function_call", "value": '{"name": "get_time", "arguments": {}}'},
        {"from": "observation", "value": "09:00"}, {"from": "gpt", "value": "09:00."}], "tools": TOOLS}}[source]  # fmt: skip
    rows = [good, *cases.values(), "{not json"]
    examples, quarantine = importers.import_source(source, str(_write(tmp_path, rows)))
    assert len(examples) == 1
    assert [q["row"] for q in quarantine] == [f"rows.jsonl:{n}" for n in range(2, len(rows) + 1)]
    for q, expected in zip(quarantine, [*cases, "bad JSON"], strict=True):
        assert q["source"] == source and expected in q["reason"], (q["reason"], expected)


def test_config_accepts_the_new_sources(tmp_path: Path) -> None:
    p = load_params(
        ROOT / "params" / "smoke.yaml", ["data.import=[{source: openai, path_or_id: x.openai.jsonl}]"]
    )
    assert p.data.imports[0].source == "openai"
    with pytest.raises(ValueError, match="sharegpt"):
        load_params(ROOT / "params" / "smoke.yaml", ["data.import=[{source: openaix, path_or_id: x.jsonl}]"])


# --------------------------------------------------------------------------------------- the dataset stage


@pytest.fixture(scope="module")
def smoke_build(tmp_path_factory: pytest.TempPathFactory) -> tuple:
    p = load_params(ROOT / "params" / "smoke.yaml")
    out = tmp_path_factory.mktemp("data")
    return stage.build_dataset(p, catalogs.load_catalogs(p.data.servers), out), out


def test_stage_writes_every_split_as_openai_jsonl(smoke_build: tuple) -> None:
    built, out = smoke_build
    for name, examples in built["splits"].items():
        path = out / f"{name}.openai.jsonl"
        assert built["paths"][f"{name}.openai"] == str(path)
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        assert rows == [to_openai(ex) for ex in examples]
        back, quarantine = importers.import_source("openai", str(path))
        assert quarantine == [] and back == examples == stage.load_splits(out)[name]
    card = (out / "README.md").read_text(encoding="utf-8")
    assert "## Formats" in card and "config_name: openai" in card and "path: train.openai.jsonl" in card
    for key in ("field_messages: messages", "field_tools: tools", '"formatting": "openai"', "SFTTrainer"):
        assert key in card


def test_dataset_card_without_openai_files_has_no_formats_section(smoke_build: tuple) -> None:
    built, _ = smoke_build
    paths = {k: v for k, v in built["paths"].items() if not k.endswith(".openai")}
    from mcpft_lib.data import card as data_card

    assert data_card.formats_section(paths) == "" and "train.openai.jsonl" in data_card.formats_section(
        built["paths"]
    )


# ------------------------------------------------------------------------------- read as is by the tools


def _qwen_tokenizer(texts: list[str], training: bool = False):
    """A small BPE tokenizer built here with the Qwen2.5 chat template TRL ships (the hub is not reachable)."""
    import trl
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE(unk_token="<unk>"))
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    special = ["<pad>", "<unk>", "<|im_start|>", "<|im_end|>"]
    bpe.train_from_iterator(texts, trainers.BpeTrainer(vocab_size=400, special_tokens=special, show_progress=False,
                                                       initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))  # fmt: skip
    tok = PreTrainedTokenizerFast(tokenizer_object=bpe, pad_token="<pad>", unk_token="<unk>", eos_token="<|im_end|>",
                                  additional_special_tokens=special[2:])  # fmt: skip
    name = "qwen2_5_training.jinja" if training else "qwen2_5.jinja"
    tok.chat_template = (Path(trl.__file__).parent / "chat_templates" / name).read_text(encoding="utf-8")
    return tok


def test_datasets_loads_the_export_unchanged_and_a_tool_template_renders_it(smoke_build: tuple) -> None:
    from datasets import load_dataset

    _, out = smoke_build
    path = out / "train.openai.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    ds = load_dataset("json", data_files=str(path), split="train")
    assert ds.to_list() == rows  # no struct padding: every row comes back as written
    tok = _qwen_tokenizer([path.read_text(encoding="utf-8")])
    row = next(r for r in ds if any(m["role"] == "tool" for m in r["messages"]))
    text = tok.apply_chat_template(row["messages"], tools=row["tools"], tokenize=False)
    assert text.startswith("<|im_start|>system\n" + row["messages"][0]["content"] + "\n\n# Tools")
    for t in row["tools"]:
        assert json.dumps(t, ensure_ascii=False) in text  # the tool list, as the template writes it
    for m in row["messages"]:
        for tc in m.get("tool_calls", []):
            call = {"name": tc["function"]["name"], "arguments": tc["function"]["arguments"]}
            assert f"<tool_call>\n{json.dumps(call, ensure_ascii=False)}\n</tool_call>" in text  # an object
        if m["role"] == "tool":
            assert f"<tool_response>\n{m['content']}\n</tool_response>" in text


@pytest.mark.slow
def test_trl_prepares_the_export_for_sft_with_assistant_only_loss(smoke_build: tuple, tmp_path: Path) -> None:
    """TRL's SFTTrainer tokenises the rows with their tools; the learned tokens are the assistant turns and calls."""
    import torch
    from datasets import load_dataset
    from transformers import LlamaConfig, LlamaForCausalLM
    from trl import SFTConfig, SFTTrainer

    _, out = smoke_build
    path = out / "train.openai.jsonl"
    ds = load_dataset("json", data_files=str(path), split="train")
    tok = _qwen_tokenizer([path.read_text(encoding="utf-8")], training=True)
    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=len(tok), hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                      num_attention_heads=2, num_key_value_heads=1, pad_token_id=tok.pad_token_id)  # fmt: skip
    args = SFTConfig(output_dir=str(tmp_path / "sft"), assistant_only_loss=True, report_to=[], max_length=None,
                     bf16=False, use_cpu=True)  # fmt: skip
    trainer = SFTTrainer(model=LlamaForCausalLM(cfg), args=args, train_dataset=ds, processing_class=tok)
    prepared = trainer.train_dataset
    assert len(prepared) == len(ds) and {"input_ids", "labels"} <= set(prepared.column_names)
    for row, raw in zip(prepared, ds, strict=True):
        learned = tok.decode([t for t in row["labels"] if t != -100])  # TRL's labels from the assistant masks
        full = tok.apply_chat_template(raw["messages"], tools=raw["tools"], tokenize=False)
        assert row["input_ids"] == tok(full, add_special_tokens=False)["input_ids"]
        calls = [tc for m in raw["messages"] for tc in m.get("tool_calls", [])]
        assert learned.count("<tool_call>") == len(calls)
        assert learned.count("<|im_end|>") == sum(m["role"] == "assistant" for m in raw["messages"])
        for m in raw["messages"]:
            if m["role"] == "assistant":
                assert m["content"] in learned
        for tc in calls:
            assert f'"name": "{tc["function"]["name"]}", "arguments": ' in learned
        for never in (
            "<|im_start|>",
            "<tool_response>",
            "# Tools",
        ):  # prompts, user turns, results, the tools
            assert never not in learned
