"""Dialects: render structured MCP calls to model text, and parse model text back to structured calls.

`xml` is the Cline/Roo `<use_mcp_tool>` / `<access_mcp_resource>` format with the servers listed in the
system prompt; `native` is the OpenAI-style `tools=` / `tool_calls` format that chat templates consume.
Both parsers are linear-time, use no XML parser (so no entity expansion) and never raise.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

from .schema import RESOURCE_TOOL, Example, Message, Server, ToolCall

DIALECTS = ("xml", "native")
NATIVE_SEP = "__"  # native function name: f"{server}{NATIVE_SEP}{tool}"

OPEN_TOOL, CLOSE_TOOL = "<use_mcp_tool>", "</use_mcp_tool>"
OPEN_RES, CLOSE_RES = "<access_mcp_resource>", "</access_mcp_resource>"
OPEN_ARGS, CLOSE_ARGS = "<arguments>", "</arguments>"
_MARKUP = (
    "<use_mcp_tool",
    "</use_mcp_tool",
    "<access_mcp_resource",
    "</access_mcp_resource",
    "<server_name>",
    "</server_name>",
    "<tool_name>",
    "</tool_name>",
    "<arguments>",
    "</arguments>",
)
_WS = re.compile(r"\s*")
_DECODER = json.JSONDecoder()


@dataclass
class ParseResult:
    """Structured calls found in one model turn; `text` is the prose outside the call blocks."""

    calls: list[ToolCall] = field(default_factory=list)
    well_formed: bool = True
    errors: list[str] = field(default_factory=list)
    has_markup: bool = False
    text: str = ""


# ----------------------------------------------------------------------------------------------------------
# XML dialect: rendering

_INTRO = """TOOL USE

You can use tools provided by connected MCP (Model Context Protocol) servers. Tool use is formatted with XML-style tags.

## use_mcp_tool
Description: Request to use a tool provided by a connected MCP server. Each tool has an input schema that specifies its required and optional parameters.
Parameters:
- server_name: (required) The name of the MCP server providing the tool
- tool_name: (required) The name of the tool to execute
- arguments: (required) A JSON object containing the tool's input parameters, following the tool's input schema
Usage:
<use_mcp_tool>
<server_name>server name here</server_name>
<tool_name>tool name here</tool_name>
<arguments>
{"param1": "value1", "param2": "value2"}
</arguments>
</use_mcp_tool>
"""

_INTRO_RES = """
## access_mcp_resource
Description: Request to access a resource provided by a connected MCP server, such as a file, an API response or system information.
Parameters:
- server_name: (required) The name of the MCP server providing the resource
- uri: (required) The URI identifying the specific resource to access
Usage:
<access_mcp_resource>
<server_name>server name here</server_name>
<uri>resource URI here</uri>
</access_mcp_resource>
"""

_GUIDELINES = """
# Tool Use Guidelines
- Use one tool per message and wait for its result, which arrives in the next user message.
- Only use the servers and tools listed below, with arguments that follow the tool's input schema.
- If a required value is missing or the request is ambiguous, ask a clarifying question instead of calling a tool.
- If no tool is needed, answer directly.
- If a tool returns an error, read it and retry with corrected arguments or another tool.

MCP SERVERS

# Connected MCP Servers

When a server is connected, you can use the server's tools via the `use_mcp_tool` tool, and access the server's resources via the `access_mcp_resource` tool.
"""

_INTRO_COMPACT = """You can call tools of connected MCP servers. Call one tool per message like this:
<use_mcp_tool>
<server_name>SERVER</server_name>
<tool_name>TOOL</tool_name>
<arguments>
{"param": "value"}
</arguments>
</use_mcp_tool>
"""

_INTRO_RES_COMPACT = """Read a resource like this:
<access_mcp_resource>
<server_name>SERVER</server_name>
<uri>URI</uri>
</access_mcp_resource>
"""

_GUIDELINES_COMPACT = """The result comes back in the next user message. Arguments must follow the tool's input schema. Ask a question if a required value is missing; answer directly if no tool is needed; after an error, fix the call.

# Connected MCP Servers
"""

# JSON Schema keywords whose values are schemas (maps of / lists of / single), for `_compact_schema`
_SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
_SCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
_SCHEMA_ONE = (
    "items",
    "additionalProperties",
    "not",
    "if",
    "then",
    "else",
    "contains",
    "propertyNames",
    "unevaluatedProperties",
    "unevaluatedItems",
    "additionalItems",
)


def _compact_schema(node: Any) -> Any:
    """Drop `title`/`$schema`/`description` annotations (not properties so named): the short CPU-demo prompt."""
    if isinstance(node, list):
        return [_compact_schema(x) for x in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for k, v in node.items():
        if k in ("title", "$schema") and isinstance(v, str):
            continue
        if k == "description" and isinstance(v, str):
            continue
        if k in _SCHEMA_MAPS and isinstance(v, dict):
            out[k] = {name: _compact_schema(s) for name, s in v.items()}
        elif (k in _SCHEMA_LISTS and isinstance(v, list)) or k in _SCHEMA_ONE:
            out[k] = _compact_schema(v)
        else:
            out[k] = v
    return out


def _first_sentence(text: str) -> str:
    text = " ".join(text.split())
    cut = text.find(". ")
    return text[: cut + 1] if cut != -1 else text


def _indent(text: str, prefix: str) -> str:
    return "\n".join(prefix + line for line in text.splitlines())


def system_prompt(servers: list[Server], compact: bool = False) -> str:
    """The xml-dialect system prompt: how to call tools, then each connected server's tools and schemas."""
    has_res = any(s.resources for s in servers)
    parts = [_INTRO_COMPACT if compact else _INTRO]
    if has_res:
        parts.append(_INTRO_RES_COMPACT if compact else _INTRO_RES)
    parts.append(_GUIDELINES_COMPACT if compact else _GUIDELINES)
    for s in servers:
        lines = [f"\n## {s.name}"]
        if s.description and not compact:
            lines.append(s.description)
        if s.tools:
            lines.append("### Available Tools")
        for t in s.tools:
            if compact:
                desc = _first_sentence(t.description)
                schema = json.dumps(_compact_schema(t.inputSchema), separators=(",", ":"), ensure_ascii=False)
                lines.append(f"- {t.name}: {desc}\n  Input Schema: {schema}")
            else:
                schema = json.dumps(t.inputSchema, indent=2, ensure_ascii=False)
                lines.append(f"- {t.name}: {t.description}\n    Input Schema:\n{_indent(schema, '    ')}")
        if s.resources:
            lines.append("### Direct Resources")
            for r in s.resources:
                name = f" ({r.name})" if r.name else ""
                desc = (
                    f": {_first_sentence(r.description) if compact else r.description}"
                    if r.description
                    else ""
                )
                lines.append(f"- {r.uri}{name}{desc}")
        parts.append("\n".join(lines) + "\n")
    return "".join(parts).rstrip() + "\n"


def render_call(call: ToolCall) -> str:
    """One call as a `<use_mcp_tool>` block (or `<access_mcp_resource>` for a resource read)."""
    if call.tool == RESOURCE_TOOL:
        uri = call.arguments.get("uri", "")
        return f"{OPEN_RES}\n<server_name>{call.server}</server_name>\n<uri>{uri}</uri>\n{CLOSE_RES}"
    args = json.dumps(call.arguments, ensure_ascii=False)
    return (
        f"{OPEN_TOOL}\n<server_name>{call.server}</server_name>\n<tool_name>{call.tool}</tool_name>\n"
        f"{OPEN_ARGS}\n{args}\n{CLOSE_ARGS}\n{CLOSE_TOOL}"
    )


def render_assistant(msg: Message) -> str:
    """An assistant turn: its text (if any), then its calls."""
    parts = [msg.content.strip()] if msg.content.strip() else []
    parts += [render_call(c) for c in msg.calls]
    return "\n\n".join(parts)


def render_tool_result(msg: Message) -> str:
    """A tool result the way Cline feeds it back as a user turn."""
    call = msg.call
    if call is None:
        head = "[use_mcp_tool] Result:"
    elif call.tool == RESOURCE_TOOL:
        head = f"[access_mcp_resource for '{call.server}'] Result:"
    else:
        head = f"[use_mcp_tool for '{call.server}/{call.tool}'] Result:"
    body = msg.content if msg.content.strip() else "(No response)"
    if msg.is_error:
        body = "Error:\n" + body
    return f"{head}\n{body}"


# ----------------------------------------------------------------------------------------------------------
# XML dialect: parsing


class _Next:
    """First index of `tok` at or after a position, cached so monotone queries cost O(len(text)) in total."""

    __slots__ = ("text", "tok", "at", "hit")

    def __init__(self, text: str, tok: str) -> None:
        self.text, self.tok, self.at, self.hit = text, tok, 0, -2

    def __call__(self, pos: int) -> int:
        if pos >= self.at and (self.hit == -1 or self.hit >= pos):
            return self.hit
        self.at, self.hit = pos, self.text.find(self.tok, pos)
        return self.hit


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.open_tool = _Next(text, OPEN_TOOL)
        self.open_res = _Next(text, OPEN_RES)
        self.close_tool = _Next(text, CLOSE_TOOL)
        self.close_res = _Next(text, CLOSE_RES)
        self.open_args = _Next(text, OPEN_ARGS)

    def nested(self, lo: int, hi: int) -> int:
        """Position of a block opener in [lo, hi), or -1."""
        hits = [p for p in (self.open_tool(lo), self.open_res(lo)) if p != -1 and p < hi]
        return min(hits) if hits else -1

    def field(self, tag: str, regions: list[tuple[int, int]], errs: list[str]) -> str | None:
        open_, close = f"<{tag}>", f"</{tag}>"
        for lo, hi in regions:
            s = self.text.find(open_, lo, hi)
            if s == -1:
                continue
            e = self.text.find(close, s, hi)
            if e == -1:
                errs.append(f"unclosed <{tag}>")
                return None
            value = self.text[s + len(open_) : e].strip()
            if not value:
                errs.append(f"empty <{tag}>")
                return None
            return value
        errs.append(f"missing <{tag}>")
        return None

    def json_args(self, j: int, close: int) -> tuple[bool, Any, int]:
        """Decode the JSON value at j followed by `</arguments>`; returns (ok, value, end of `</arguments>`).

        Decodes a slice up to the block's close tag (JSON errors then cost O(block), not O(text)); a string
        cut by a `</use_mcp_tool>` inside it extends the slice to the next close tag, at most 4 times.
        """
        text, limit = self.text, close
        for _ in range(5):
            seg = text[j:limit]
            try:
                value, vend = _DECODER.raw_decode(seg)
            except json.JSONDecodeError as e:
                nxt = self.close_tool(limit + len(CLOSE_TOOL))
                if not e.msg.startswith("Unterminated string") or nxt == -1:
                    return False, None, -1
                limit = nxt
                continue
            except (ValueError, RecursionError):
                return False, None, -1
            m = _WS.match(seg, vend).end()
            if seg.startswith(CLOSE_ARGS, m):
                return True, value, j + m + len(CLOSE_ARGS)
            if m < len(seg):  # junk after the JSON value
                return False, None, -1
            nxt = self.close_tool(limit + len(CLOSE_TOOL))  # value ended right at the cut: look further
            if nxt == -1:
                return False, None, -1
            limit = nxt
        return False, None, -1

    def tool_block(self, i: int) -> tuple[int | None, ToolCall | None, list[str]]:
        """Parse after `<use_mcp_tool>`; returns (resume position or None when unclosed, call, errors)."""
        text, errs = self.text, []
        close = self.close_tool(i)
        if close == -1:
            return None, None, ["unclosed <use_mcp_tool> block"]
        a = self.open_args(i)
        if a >= close:
            a = -1
        nested = self.nested(i, a if a != -1 else close)
        if nested != -1:
            return nested, None, ["nested call block inside <use_mcp_tool>"]
        args: Any = None
        if a == -1:
            errs.append("missing <arguments>")
            regions = [(i, close)]
        else:
            j = _WS.match(text, a + len(OPEN_ARGS)).end()
            ok, args, args_end = self.json_args(j, close)
            if ok:
                if args_end > close:  # a JSON string held "</use_mcp_tool>"
                    close = self.close_tool(args_end)
                    if close == -1:
                        return None, None, ["unclosed <use_mcp_tool> block"]
                if not isinstance(args, dict):
                    errs.append(f"arguments must be a JSON object, got {type(args).__name__}")
            else:
                ae = text.rfind(CLOSE_ARGS, j, close)
                if ae == -1:
                    errs.append("unclosed <arguments>")
                    args_end = close
                else:
                    errs.append("arguments are not valid JSON")
                    args_end = ae + len(CLOSE_ARGS)
            regions = [(i, a), (args_end, close)]
            nested = self.nested(args_end, close)
            if nested != -1:
                return nested, None, errs + ["nested call block inside <use_mcp_tool>"]
        server = self.field("server_name", regions, errs)
        tool = self.field("tool_name", regions, errs)
        end = close + len(CLOSE_TOOL)
        if errs or server is None or tool is None:
            return end, None, errs
        return end, ToolCall(server=server, tool=tool, arguments=args), errs

    def resource_block(self, i: int) -> tuple[int | None, ToolCall | None, list[str]]:
        close = self.close_res(i)
        if close == -1:
            return None, None, ["unclosed <access_mcp_resource> block"]
        nested = self.nested(i, close)
        if nested != -1:
            return nested, None, ["nested call block inside <access_mcp_resource>"]
        errs: list[str] = []
        server = self.field("server_name", [(i, close)], errs)
        uri = self.field("uri", [(i, close)], errs)
        end = close + len(CLOSE_RES)
        if errs or server is None or uri is None:
            return end, None, errs
        return end, ToolCall(server=server, tool=RESOURCE_TOOL, arguments={"uri": uri}), errs


def _parse_xml(text: str) -> ParseResult:
    sc = _Scanner(text)
    calls: list[ToolCall] = []
    errors: list[str] = []
    prose: list[str] = []
    pos = 0
    while True:
        hits = [p for p in (sc.open_tool(pos), sc.open_res(pos)) if p != -1]
        if not hits:
            prose.append(text[pos:])
            break
        start = min(hits)
        prose.append(text[pos:start])
        if text.startswith(OPEN_TOOL, start):
            end, call, errs = sc.tool_block(start + len(OPEN_TOOL))
        else:
            end, call, errs = sc.resource_block(start + len(OPEN_RES))
        errors += errs
        if call is not None:
            calls.append(call)
        if end is None:
            break
        pos = end
    outside = "".join(prose)
    if any(tok in outside for tok in _MARKUP):
        errors.append("call markup outside a complete <use_mcp_tool>/<access_mcp_resource> block")
    has_markup = any(tok in text for tok in _MARKUP)
    return ParseResult(
        calls=calls, well_formed=not errors, errors=errors, has_markup=has_markup, text=outside.strip()
    )


def parse(text: str) -> ParseResult:
    """Parse one xml-dialect model turn into structured calls. Never raises."""
    if not isinstance(text, str):
        return ParseResult(well_formed=False, errors=[f"expected str, got {type(text).__name__}"])
    try:
        return _parse_xml(text)
    except Exception as exc:  # belt and braces: scoring must never crash on model output
        return ParseResult(well_formed=False, errors=[f"parser error: {exc!r}"], has_markup=True)


# ----------------------------------------------------------------------------------------------------------
# Native dialect

NATIVE_SYSTEM = (
    "You are a coding assistant connected to MCP servers ({servers}). Call their tools when a request needs "
    "them, with arguments that follow each tool's schema; ask a question if a required value is missing; answer "
    "directly if no tool is needed; after a tool error, fix the call."
)


def native_name(call_or_server: ToolCall | str, tool: str | None = None) -> str:
    """Function name for a call in the native dialect: `server__tool`."""
    if isinstance(call_or_server, ToolCall):
        return f"{call_or_server.server}{NATIVE_SEP}{call_or_server.tool}"
    return f"{call_or_server}{NATIVE_SEP}{tool}"


def tools_for(servers: list[Server]) -> list[dict[str, Any]]:
    """The `tools=` list (OpenAI function format) for the connected servers."""
    out = []
    for s in servers:
        for t in s.tools:
            desc = f"{s.name}: {t.description}" if t.description else s.name
            out.append(
                {
                    "type": "function",
                    "function": {
                        "name": native_name(s.name, t.name),
                        "description": desc,
                        "parameters": t.inputSchema,
                    },
                }
            )
        if s.resources:
            uris = ", ".join(r.uri for r in s.resources)
            out.append(
                {
                    "type": "function",
                    "function": {
                        "name": native_name(s.name, RESOURCE_TOOL),
                        "description": f"{s.name}: read a resource ({uris})",
                        "parameters": {
                            "type": "object",
                            "properties": {"uri": {"type": "string", "enum": [r.uri for r in s.resources]}},
                            "required": ["uri"],
                        },
                    },
                }
            )
    return out


def _call_id(seed: str, k: int) -> str:
    """Deterministic 9-character alphanumeric call id (Mistral templates require exactly 9)."""
    return hashlib.sha1(f"{seed}:{k}".encode()).hexdigest()[:9]


def _native_chat(example: Example) -> list[dict[str, Any]]:
    names = ", ".join(s.name for s in example.servers)
    out: list[dict[str, Any]] = [{"role": "system", "content": NATIVE_SYSTEM.format(servers=names)}]
    pending: list[tuple[ToolCall, str]] = []
    k = 0
    for m in example.messages:
        if m.role == "user":
            out.append({"role": "user", "content": m.content})
        elif m.role == "assistant":
            d: dict[str, Any] = {"role": "assistant", "content": m.content}
            if m.calls:
                d["tool_calls"] = []
                for c in m.calls:
                    cid = _call_id(example.id, k)
                    k += 1
                    pending.append((c, cid))
                    d["tool_calls"].append(
                        {
                            "id": cid,
                            "type": "function",
                            "function": {"name": native_name(c), "arguments": c.arguments},
                        }
                    )
            out.append(d)
        else:
            idx = next(
                (n for n, (c, _) in enumerate(pending) if m.call is not None and c == m.call),
                0 if pending else -1,
            )
            call, cid = pending.pop(idx) if idx >= 0 else (m.call, _call_id(example.id, -1))
            content = ("Error:\n" + m.content) if m.is_error else m.content
            d = {"role": "tool", "tool_call_id": cid, "content": content}
            if call is not None:
                d["name"] = native_name(call)
            out.append(d)
    return out


def _native_call(obj: Any, errors: list[str]) -> ToolCall | None:
    if not isinstance(obj, dict):
        return None
    if isinstance(obj.get("function"), dict):
        obj = obj["function"]
    name = obj.get("name")
    if not isinstance(name, str) or not name:
        return None
    args = obj.get("arguments", obj.get("parameters", {}))
    if isinstance(args, str):
        try:
            args = json.loads(args) if args.strip() else {}
        except (ValueError, RecursionError):
            errors.append(f"arguments of {name!r} are not valid JSON")
            return None
    if not isinstance(args, dict):
        errors.append(f"arguments of {name!r} must be a JSON object")
        return None
    server, sep, tool = name.partition(NATIVE_SEP)
    if not sep:
        errors.append(f"function name {name!r} has no '{NATIVE_SEP}' server prefix")
        server, tool = "", name
    return ToolCall(server=server, tool=tool, arguments=args)


def _parse_native(text: str) -> ParseResult:
    calls: list[ToolCall] = []
    errors: list[str] = []
    pos, failures, n = 0, 0, len(text)
    has_markup = "<tool_call>" in text or "[TOOL_CALLS]" in text
    next_obj, next_list = _Next(text, "{"), _Next(text, "[{")
    while pos < n and failures < 64:
        starts = [p for p in (next_obj(pos), next_list(pos)) if p != -1]
        if not starts:
            break
        start = min(starts)
        try:
            value, end = _DECODER.raw_decode(text, start)
        except (ValueError, RecursionError):
            failures += 1
            pos = start + 1
            continue
        items = value if isinstance(value, list) else [value]
        for item in items:
            if isinstance(item, dict) and ("name" in item or "function" in item):
                has_markup = True
                call = _native_call(item, errors)
                if call is not None:
                    calls.append(call)
        pos = end
    if "<tool_call>" in text and not calls and not errors:
        errors.append("<tool_call> without a JSON call object")
    return ParseResult(calls=calls, well_formed=not errors, errors=errors, has_markup=has_markup)


def parse_native(text: str) -> ParseResult:
    """Leniently read JSON tool-call objects (`{"name": ..., "arguments": ...}`, bare, in lists or tags)."""
    if not isinstance(text, str):
        return ParseResult(well_formed=False, errors=[f"expected str, got {type(text).__name__}"])
    try:
        return _parse_native(text)
    except Exception as exc:
        return ParseResult(well_formed=False, errors=[f"parser error: {exc!r}"], has_markup=True)


# ----------------------------------------------------------------------------------------------------------


def to_chat(example: Example, dialect: str = "xml", compact: bool = False) -> list[dict[str, Any]]:
    """Chat messages for a chat template: system/user/assistant in xml (tool results become user turns)."""
    if dialect == "native":
        return _native_chat(example)
    if dialect != "xml":
        raise ValueError(f"unknown dialect {dialect!r}; expected one of {DIALECTS}")
    out: list[dict[str, Any]] = [{"role": "system", "content": system_prompt(example.servers, compact)}]
    for m in example.messages:
        if m.role == "assistant":
            role, content = "assistant", render_assistant(m)
        else:
            role, content = "user", (m.content if m.role == "user" else render_tool_result(m))
        if out[-1]["role"] == role == "user":
            out[-1]["content"] += "\n\n" + content
        else:
            out.append({"role": role, "content": content})
    return out


def parse_turn(text: str, dialect: str = "xml") -> ParseResult:
    """Parse a model turn in the given dialect."""
    return parse_native(text) if dialect == "native" else parse(text)
