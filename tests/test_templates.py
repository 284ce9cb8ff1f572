"""Assistant-only labels for every chat template and both dialects: the learned tokens decode to exactly the
assistant turns (text + calls + end of turn); system, user and tool-result tokens are never learned."""

from __future__ import annotations

import json

import pytest

from mcpft_lib.config import ModelParams
from mcpft_lib.core.schema import Example, Message, Server, Tool, ToolCall
from mcpft_lib.mcp import dialects, lenient_json, native_calls, xml_calls
from mcpft_lib.modeling import loaders
from mcpft_lib.modeling.chat import tokenize_chat

TIME = Server(
    name="time",
    tools=[
        Tool(
            name="get_current_time",
            description="Get current time in a specific timezone",
            inputSchema={
                "type": "object",
                "properties": {"timezone": {"type": "string"}},
                "required": ["timezone"],
            },
        )
    ],
)
BAD = ToolCall(server="time", tool="get_current_time", arguments={"timezone": "Not/AZone"})
GOOD = ToolCall(server="time", tool="get_current_time", arguments={"timezone": "Europe/Berlin"})
EXAMPLE = Example(
    id="labels",
    servers=[TIME],
    category="error_handling",
    messages=[
        Message(role="user", content="USER-ONE: time in Berlin?"),
        Message(role="assistant", calls=[BAD]),
        Message(role="tool", content="TOOL-ERR: invalid timezone", is_error=True, call=BAD),
        Message(role="assistant", content="Retrying with the IANA name.", calls=[GOOD]),
        Message(role="tool", content='TOOL-OK: {"datetime": "10:00"}', call=GOOD),
        Message(role="assistant", content="It is 10:00 in Berlin."),
        Message(role="user", content="USER-TWO: and which zone is that?"),
        Message(role="assistant", content="Central European Time (UTC+1)."),
    ],
)
END = {"gemma": "<end_of_turn>\n", "mistral": "<eos>", "llama": "<|eot_id|>", "chatml": "<|im_end|>\n"}


def _expected_native(family: str, content: str, calls: list[ToolCall], ids: list[str]) -> str:
    """The assistant turn written out by hand in each family's tool-call format."""
    dumps = lambda o: json.dumps(o, ensure_ascii=False)  # noqa: E731
    name = native_calls.native_name
    if family == "gemma":
        blocks = [f"```tool_call\n{dumps({'name': name(c), 'arguments': c.arguments})}\n```" for c in calls]
        body = "\n\n".join(([content] if content else []) + (["\n".join(blocks)] if blocks else []))
    elif family == "mistral":
        items = [
            {"name": name(c), "arguments": c.arguments, "id": i} for c, i in zip(calls, ids, strict=True)
        ]
        body = content + (f"[TOOL_CALLS]{dumps(items)}" if calls else "")
    elif family == "llama":
        lines = "\n".join(dumps({"name": name(c), "parameters": c.arguments}) for c in calls)
        body = "\n\n".join(([content] if content else []) + ([lines] if lines else []))
    else:
        blocks = [
            f"<tool_call>\n{dumps({'name': name(c), 'arguments': c.arguments})}\n</tool_call>" for c in calls
        ]
        body = "\n".join(([content] if content else []) + blocks)
    return body + END[family]


@pytest.fixture(scope="module")
def tiny_tok():
    return loaders.load_tokenizer(ModelParams(source="tiny_random", device="cpu"))


def _runs(labels: list[int]) -> list[list[int]]:
    runs, cur = [], []
    for t in labels:
        if t != -100:
            cur.append(t)
        elif cur:
            runs.append(cur)
            cur = []
    return runs + ([cur] if cur else [])


@pytest.mark.parametrize("dialect", lenient_json.DIALECTS)
@pytest.mark.parametrize("family", sorted(loaders.CHAT_TEMPLATES))
def test_learned_tokens_are_exactly_the_assistant_turns(tiny_tok, family: str, dialect: str) -> None:
    tok = tiny_tok
    tok.chat_template = loaders.CHAT_TEMPLATES[family]
    chat = dialects.to_chat(EXAMPLE, dialect, compact=True)
    chat[[i for i, m in enumerate(chat) if m["role"] == "assistant"][0]]["learn"] = (
        False  # a deliberate mistake
    )
    row, reason = tokenize_chat(tok, chat, 100_000)
    assert reason is None
    decode = lambda ids: tok.decode(ids, skip_special_tokens=False, clean_up_tokenization_spaces=False)  # noqa: E731

    # nothing is lost or duplicated: the pieces add up to the whole rendered conversation
    assert decode(row["input_ids"]) == tok.apply_chat_template(
        chat, tools=native_calls.chat_tools(chat), tokenize=False
    )

    asst = [m for m in EXAMPLE.messages if m.role == "assistant"][1:]  # the first one is not learned
    if dialect == "xml":
        expected = [xml_calls.render_assistant(m) + END[family] for m in asst]
    else:
        turns = [m for m in chat if m["role"] == "assistant"][1:]
        expected = [
            _expected_native(family, m.content, m.calls, [tc["id"] for tc in t.get("tool_calls", [])])
            for m, t in zip(asst, turns, strict=True)
        ]
    learned = [decode(r) for r in _runs(row["labels"])]
    assert learned == expected

    context = decode([t for t, lbl in zip(row["input_ids"], row["labels"], strict=True) if lbl == -100])
    for needle in ("USER-ONE", "USER-TWO", "TOOL-ERR", "TOOL-OK", "connected", "Not/AZone"):
        assert needle in context and not any(needle in x for x in learned)
    if dialect == "native":  # the tool list is rendered, in the context only
        assert "get_current_time" in context.split("USER-ONE")[0]
        parsed = [native_calls.parse_native(x.removesuffix(END[family]), family) for x in learned]
        assert [p.calls for p in parsed] == [m.calls for m in asst]
        assert all(p.well_formed and not p.lenient for p in parsed)


def test_tokenize_chat_passes_tools_to_a_shipped_template(tiny_tok) -> None:
    """A tokenizer's own template reads only `tools=` (not our system-message copy): tokenize_chat passes it."""
    tok = tiny_tok
    tok.chat_template = (
        "{% for t in tools or [] %}{{ 'TOOL:' + t['function']['name'] + '\n' }}{% endfor %}"
        "{% for m in messages %}{% if m['role'] == 'assistant' %}{{ 'A:' + m['content'] + '<eos>' }}"
        "{% elif m['role'] != 'system' %}{{ 'U:' + m['content'] + '\n' }}{% endif %}{% endfor %}"
    )
    chat = dialects.to_chat(EXAMPLE, "native", compact=True)
    row, reason = tokenize_chat(tok, chat, 100_000)
    assert reason is None
    text = tok.decode(row["input_ids"], skip_special_tokens=False, clean_up_tokenization_spaces=False)
    assert text.startswith("TOOL:time__get_current_time\nU:USER-ONE")


def test_tiny_tokenizer_uses_the_current_template(tiny_tok) -> None:
    """The tiny model's tokenizer is cached on disk with the template of its build day; loading replaces it."""
    fresh = loaders.load_tokenizer(ModelParams(source="tiny_random", device="cpu"))
    assert fresh.chat_template == loaders.CHAT_TEMPLATES["gemma"]
    assert fresh.init_kwargs["mcpft_template"] == "gemma"
