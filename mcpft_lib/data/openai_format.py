"""OpenAI chat format out: each `Example` as a `{"messages", "tools"}` row that TRL, Axolotl and LLaMA-Factory read as
is, plus an `mcpft` key that makes the row convert back to the same Example (`importers.from_openai`).

A row (docs/formats.md has the whole contract):

- `tools`: `[{"type": "function", "function": {"name", "description", "parameters"}}]`, one per MCP tool of every
  connected server (`parameters` is the tool's `inputSchema`, `description` its MCP description, both verbatim),
  and one `<server>__access_mcp_resource` function per server with resources (`{"uri": <one of its URIs>}`).
- function names are `<server>__<tool>` (the native dialect's names), sanitised to OpenAI's
  `^[a-zA-Z0-9_-]{1,64}$`: other characters become `_`; a name that is too long or taken after sanitising keeps 55
  characters plus `_` and 8 hex digits of the original's sha1. `mcpft.functions` maps each name back to
  `[server, tool]`.
- `messages`: a system message (the native dialect's generic MCP assistant line naming the connected servers, or
  the example's own `meta["system"]` when it was imported with one), then `user`, `assistant` (`content` text,
  `""` when the turn only calls; `tool_calls: [{"id", "type": "function", "function": {"name", "arguments"}}]`)
  and `tool` messages (`{"role": "tool", "tool_call_id", "name", "content"}`; an MCP error result's text starts
  with `Error:\\n`, as in the native dialect).
- `arguments` is a JSON object by default: TRL's documented tool-calling rows, transformers' chat templates
  (`tool_call.arguments | tojson`) and LLaMA-Factory's `openai` converter all take an object and would
  double-encode a string. `arguments="string"` writes the OpenAI API's JSON string instead.
- call ids are 9 alphanumeric characters (Mistral's templates require exactly 9), derived from the example id.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from mcpft_lib.core.fsutil import atomic_write
from mcpft_lib.core.schema import RESOURCE_TOOL, Example, Resource, Server, ToolCall
from mcpft_lib.mcp.lenient_json import NATIVE_SEP
from mcpft_lib.mcp.native_calls import NATIVE_SYSTEM

METADATA_KEY = "mcpft"  # the row key that carries what the OpenAI format has no place for

ERROR_PREFIX = "Error:\n"  # how a tool result with isError reads (as in the native dialect)

NAME_RE = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")  # OpenAI's rule for function names

_BAD_CHARS = re.compile(r"[^a-zA-Z0-9_-]")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ServerInfo(_Strict):
    """A connected server without its tools (those are the row's `tools`)."""

    name: str
    description: str = ""
    package: str | None = None
    version: str | None = None
    resources: list[Resource] = Field(default_factory=list)


class RowMeta(_Strict):
    """The `mcpft` key of an exported row: what makes it convert back to the same Example."""

    id: str
    category: str
    difficulty: Literal["easy", "medium", "hard"] = "easy"
    provenance: str = "generator"
    meta: dict[str, Any] = Field(default_factory=dict)
    servers: list[ServerInfo]
    functions: dict[str, tuple[str, str]]  # function name -> (server, tool); resource reads: RESOURCE_TOOL
    errors: list[int] = Field(default_factory=list)  # indices (in Example.messages) of results with is_error
    unlinked: list[int] = Field(default_factory=list)  # tool results whose `call` was not recorded


def function_names(servers: list[Server]) -> dict[str, tuple[str, str]]:
    """Unique OpenAI function names for every tool (and resource read) of `servers`: name -> (server, tool)."""
    out: dict[str, tuple[str, str]] = {}
    for s in servers:
        tools = [t.name for t in s.tools] + ([RESOURCE_TOOL] if s.resources else [])
        for tool in tools:
            raw = f"{s.name}{NATIVE_SEP}{tool}"
            name = _BAD_CHARS.sub("_", raw)
            if len(name) > 64 or name in out:
                name = f"{name[:55]}_{hashlib.sha1(raw.encode()).hexdigest()[:8]}"
            if name in out:  # two tools with the same name on one server: invalid, but never a silent merge
                raise ValueError(f"server {s.name!r}: tool {tool!r} is listed twice")
            out[name] = (s.name, tool)
    return out


def system_prompt(servers: list[Server]) -> str:
    """The generic MCP assistant line of the export (the native dialect's system prompt)."""
    return NATIVE_SYSTEM.format(servers=", ".join(s.name for s in servers))


def call_id(example_id: str, k: int) -> str:
    """Deterministic 9-character call id of an example's k-th call (Mistral templates require exactly 9)."""
    return hashlib.sha1(f"{example_id}:{k}".encode()).hexdigest()[:9]


def openai_tools(servers: list[Server], names: dict[str, tuple[str, str]]) -> list[dict[str, Any]]:
    """The `tools` list: every tool's MCP description and inputSchema verbatim, and the resource-read functions."""
    by_pair = {pair: name for name, pair in names.items()}
    out = []
    for s in servers:
        for t in s.tools:
            fn = {
                "name": by_pair[(s.name, t.name)],
                "description": t.description,
                "parameters": t.inputSchema,
            }
            out.append({"type": "function", "function": fn})
        if s.resources:
            uris = [r.uri for r in s.resources]
            params = {
                "type": "object",
                "properties": {"uri": {"type": "string", "enum": uris}},
                "required": ["uri"],
            }
            desc = f"Read a resource of the {s.name} MCP server: {', '.join(uris)}"
            fn = {"name": by_pair[(s.name, RESOURCE_TOOL)], "description": desc, "parameters": params}
            out.append({"type": "function", "function": fn})
    return out


def to_openai(ex: Example, *, arguments: Literal["object", "string"] = "object", system: bool = True,
              metadata: bool = True) -> dict[str, Any]:  # fmt: skip
    """One example as an OpenAI chat row `{"messages", "tools"}` (+ `mcpft` unless `metadata=False`).

    `arguments="string"` writes each call's arguments as a JSON string (the OpenAI API's form); `system=False`
    leaves the system message out. Raises ValueError naming the example when a call or a result does not fit.
    """
    names = function_names(ex.servers)
    by_pair = {pair: name for name, pair in names.items()}
    messages: list[dict[str, Any]] = []
    if system:
        messages.append({"role": "system", "content": ex.meta.get("system") or system_prompt(ex.servers)})
    pending: list[tuple[ToolCall, str]] = []
    errors, unlinked, k = [], [], 0
    for i, m in enumerate(ex.messages):
        if m.role == "user":
            messages.append({"role": "user", "content": m.content})
            pending = []
        elif m.role == "assistant":
            d: dict[str, Any] = {"role": "assistant", "content": m.content}
            pending = []
            if m.calls:
                d["tool_calls"] = []
                for c in m.calls:
                    name = by_pair.get((c.server, c.tool))
                    if name is None:
                        raise ValueError(
                            f"{ex.id}: message {i} calls {c.server}/{c.tool}, which no server lists"
                        )
                    cid = call_id(ex.id, k)
                    k += 1
                    pending.append((c, cid))
                    args = (
                        c.arguments if arguments == "object" else json.dumps(c.arguments, ensure_ascii=False)
                    )
                    d["tool_calls"].append(
                        {"id": cid, "type": "function", "function": {"name": name, "arguments": args}}
                    )
            messages.append(d)
        else:
            at = next((n for n, (c, _) in enumerate(pending) if m.call is not None and c == m.call), None)
            if at is None and (m.call is not None or not pending):
                raise ValueError(
                    f"{ex.id}: message {i} is a tool result for a call that was not made just before"
                )
            call, cid = pending.pop(at or 0)
            errors += [i] if m.is_error else []
            unlinked += [i] if m.call is None else []
            content = ERROR_PREFIX + m.content if m.is_error else m.content
            name = by_pair[(call.server, call.tool)]
            messages.append({"role": "tool", "tool_call_id": cid, "name": name, "content": content})
    row: dict[str, Any] = {"messages": messages, "tools": openai_tools(ex.servers, names)}
    if metadata:
        servers = [ServerInfo(**s.model_dump(exclude={"tools"})) for s in ex.servers]
        info = RowMeta(id=ex.id, category=ex.category, difficulty=ex.difficulty, provenance=ex.provenance,
                       meta=ex.meta, servers=servers, functions=names, errors=errors, unlinked=unlinked)  # fmt: skip
        row[METADATA_KEY] = info.model_dump(mode="json", exclude_defaults=True)
    return row


def write_openai_jsonl(examples: Iterable[Example], path: str | os.PathLike[str], **options: Any) -> Path:
    """Examples as OpenAI chat rows, one JSON object per line, written atomically; `options` go to `to_openai`."""
    return atomic_write(
        path, (json.dumps(to_openai(ex, **options), ensure_ascii=False) + "\n" for ex in examples)
    )
