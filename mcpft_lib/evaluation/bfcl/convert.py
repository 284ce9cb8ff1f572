"""BFCL entries as MCP tool-use prompts: each entry's functions become the tools of one MCP server, with JSON
Schema input schemas converted from BFCL's types the way BFCL does for function-calling models (`.` -> `_` in
names; dict -> object, float -> number, tuple -> array, any -> untyped); the model's reply, parsed in the
profile's dialect, goes back as BFCL's `[{name: {param: value}}]`."""

from __future__ import annotations

from typing import Any

from mcpft_lib.core.schema import Example, Message, Server, Tool, ToolCall
from mcpft_lib.evaluation.bfcl.checker import model_name
from mcpft_lib.evaluation.bfcl.source import Item
from mcpft_lib.mcp import dialects

SERVER = "bfcl"  # the one server an entry's functions are offered on
JSON_TYPES = {"dict": "object", "float": "number", "tuple": "array", "integer": "integer", "string": "string",
              "boolean": "boolean", "array": "array", "object": "object", "number": "number"}  # fmt: skip
KEEP = ("description", "enum", "default", "format", "minimum", "maximum", "pattern")  # schema words BFCL uses


def json_schema(node: dict[str, Any]) -> dict[str, Any]:
    """A BFCL parameter description as JSON Schema (recursively through properties and items)."""
    out: dict[str, Any] = {}
    kind = node.get("type")
    if kind is not None and kind != "any":
        if kind not in JSON_TYPES:
            raise ValueError(f"BFCL type {kind!r} has no JSON Schema equivalent")
        out["type"] = JSON_TYPES[kind]
    for key in KEEP:
        if key in node:
            out[key] = node[key]
    if "properties" in node:
        out["properties"] = {k: json_schema(v) for k, v in node["properties"].items()}
    if node.get("required"):
        out["required"] = list(node["required"])
    if "items" in node:
        out["items"] = json_schema(node["items"])
    return out


def to_server(item: Item) -> Server:
    tools = [
        Tool(
            name=model_name(f["name"]),
            description=f.get("description", ""),
            inputSchema=json_schema(f["parameters"]),
        )
        for f in item.functions
    ]
    return Server(name=SERVER, description="Functions offered for this request.", tools=tools)


def to_example(item: Item) -> Example:
    """The entry's conversation before the answer. BFCL's system messages (some live entries) are kept as text
    at the start of the first user turn, since the dialect's own system prompt lists the tools; its assistant
    turns (a few live_irrelevance entries) stay assistant turns."""
    messages: list[Message] = []
    system = [m["content"] for m in item.messages if m["role"] == "system"]
    for m in item.messages:
        if m["role"] == "system":
            continue
        if m["role"] == "user" and system:
            messages.append(Message(role="user", content="\n\n".join([*system, m["content"]])))
            system = []
        else:
            messages.append(
                Message(role="assistant" if m["role"] == "assistant" else "user", content=m["content"])
            )
    return Example(id=item.id, servers=[to_server(item)], messages=messages, category=item.category,
                   provenance=f"bfcl-eval {item.category}")  # fmt: skip


def prompt(item: Item, dialect: str) -> list[dict[str, Any]]:
    """Chat messages up to the answer, in the dialect, with full schemas (descriptions, units, formats):
    `compact_schemas` would drop what BFCL asks the model to read."""
    return dialects.to_chat(to_example(item), dialect, compact=False)


def bfcl_calls(calls: list[ToolCall]) -> list[dict[str, dict[str, Any]]]:
    """Parsed calls in BFCL's output format (the server name is not part of a BFCL answer)."""
    return [{c.tool: dict(c.arguments)} for c in calls]
