"""Dialects: render structured MCP calls to model text, and parse model text back to structured calls.

`xml` is the Cline/Roo `<use_mcp_tool>` / `<access_mcp_resource>` format with the servers listed in the
system prompt; `native` is the OpenAI-style `tools=` / `tool_calls` format that chat templates consume, which
`models.CHAT_TEMPLATES` render in each family's own call format (parsed back by `parse_native`, per family or
detecting all). Both parsers have a strict and a lenient mode (the latter flags what it repaired), are
linear-time, use no XML parser (so no entity expansion) and never raise on model output.
"""

from __future__ import annotations

import ast
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
    lenient: bool = False  # well-formed only thanks to lenient repairs (strict parsing would reject it)


# ----------------------------------------------------------------------------------------------------------
# Lenient JSON: the slips models (and public datasets) make

MAX_LENIENT_CHARS = 200_000  # longer values are not repaired (ast on hostile text is not linear-time)


def _strip_fence(s: str) -> str:
    s = s.strip()
    if s.startswith("```"):
        nl = s.find("\n")
        s = s[nl + 1 :] if nl != -1 else s[3:]
        s = s.rstrip()
        if s.endswith("```"):
            s = s[:-3]
    return s.strip()


def _drop_trailing_commas(s: str) -> str:
    """Remove `,` before `}` / `]` outside JSON strings (one linear pass)."""
    out: list[str] = []
    in_str = esc = False
    n = len(s)
    for i, ch in enumerate(s):
        if in_str:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                in_str = False
        elif ch == '"':
            in_str = True
        elif ch == ",":
            j = i + 1
            while j < n and s[j] in " \t\r\n":
                j += 1
            if j < n and s[j] in "}]":
                continue
        out.append(ch)
    return "".join(out)


_PY_WORDS = re.compile(r"\b(?:True|False|None)\b")


class _JsonNames(ast.NodeTransformer):
    def visit_Name(self, node: ast.Name) -> ast.AST:
        consts = {"true": True, "false": False, "null": None}
        return ast.Constant(consts[node.id]) if node.id in consts else node


def _jsonable(v: Any) -> Any:
    if v is None or isinstance(v, (bool, int, str)):
        return v
    if isinstance(v, float):
        if v != v or v in (float("inf"), float("-inf")):
            raise ValueError("NaN or infinity is not JSON")
        return v
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, dict):
        if not all(isinstance(k, str) for k in v):
            raise ValueError("object keys must be strings")
        return {k: _jsonable(x) for k, x in v.items()}
    raise ValueError(f"{type(v).__name__} is not a JSON value")


def loads_lenient(s: str) -> Any:
    """JSON, or else JSON with common slips: a code fence around it, trailing commas, single quotes and
    Python literals (`True`, `None`, via `ast.literal_eval`, never `eval`). Raises ValueError."""
    if not isinstance(s, str):
        raise ValueError(f"expected str, got {type(s).__name__}")
    s = _strip_fence(s)
    try:
        return json.loads(s)
    except (ValueError, RecursionError):
        pass
    if len(s) > MAX_LENIENT_CHARS:
        raise ValueError(f"not JSON, and too long ({len(s)} chars) to repair")
    try:
        return json.loads(_drop_trailing_commas(s))
    except (ValueError, RecursionError):
        pass
    if "'" not in s and _PY_WORDS.search(s) is None:  # nothing a Python literal would read differently
        raise ValueError("not JSON (and no single quotes or Python literals to repair)")
    try:
        tree = _JsonNames().visit(ast.parse(s, mode="eval"))
        return _jsonable(ast.literal_eval(tree.body))
    except (ValueError, TypeError, SyntaxError, RecursionError, MemoryError) as e:
        raise ValueError(f"not JSON nor a Python literal: {type(e).__name__}") from None


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


# What decides which call a reply makes, as character spans of the reply (train.decision_weight weighs their
# tokens). xml: a call's opening tag with the whitespace before it (after some text, the token that follows the
# text is where the model calls or ends its turn) and its server, tool and uri names. native: each chat-template
# family's call opener, likewise, and the function name (`server__tool`; a "name" inside the arguments only when
# it has `__` too)
_DECISION = {
    "xml": re.compile(
        r"\s*<use_mcp_tool>|\s*<access_mcp_resource>|(?<=<server_name>)[^<]+|(?<=<tool_name>)[^<]+"
        r"|(?<=<uri>)[^<]+"
    ),
    "native": re.compile(
        r'\s*\[TOOL_CALLS\](?:[^\[{"\s]+(?=\[ARGS\]))?|\s*<tool_call>|\s*```tool_call|\s*<\|python_tag\|>'
        r'|(?<="name": ")[^"]*__[^"]*|(?<="name":")[^"]*__[^"]*'
    ),
}


def decision_spans(reply: str, dialect: str = "xml") -> list[tuple[int, int]]:
    """(start, end) character spans of `reply` that choose whether to call and which server/tool (see above)."""
    return [m.span() for m in _DECISION[dialect].finditer(reply)]


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
    def __init__(self, text: str, lenient: bool = False) -> None:
        self.text, self.lenient, self.repaired = text, lenient, False
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
                cut = e.msg.startswith("Unterminated string") or e.pos >= len(seg) - 8  # e.g. `"\u001f` + cut
                if not cut or nxt == -1:
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
                    args_end = ae + len(CLOSE_ARGS)
                    try:
                        if not self.lenient:
                            raise ValueError
                        args, self.repaired = loads_lenient(text[j:ae]), True
                        if not isinstance(args, dict):
                            errs.append(f"arguments must be a JSON object, got {type(args).__name__}")
                    except ValueError:
                        errs.append("arguments are not valid JSON")
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


def _parse_xml(text: str, lenient: bool = False) -> ParseResult:
    sc = _Scanner(text, lenient)
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
    ok = not errors
    return ParseResult(
        calls=calls,
        well_formed=ok,
        errors=errors,
        has_markup=has_markup,
        text=outside.strip(),
        lenient=ok and sc.repaired,
    )


def _close_dangling(text: str) -> str:
    """Append the closers a call block cut off at the end of the text is missing (lenient parsing)."""
    t, r = text.rfind(OPEN_TOOL), text.rfind(OPEN_RES)
    if t > r and text.find(CLOSE_TOOL, t) == -1:
        fix = "\n" + CLOSE_TOOL
        a = text.find(OPEN_ARGS, t)
        if a != -1 and text.find(CLOSE_ARGS, a) == -1:
            fix = "\n" + CLOSE_ARGS + fix
        return text + fix
    if r > t and text.find(CLOSE_RES, r) == -1:
        u = text.find("<uri>", r)
        return text + ("</uri>" if u != -1 and text.find("</uri>", u) == -1 else "") + "\n" + CLOSE_RES
    return text


def parse(text: str, lenient: bool = False) -> ParseResult:
    """Parse one xml-dialect model turn into structured calls. Never raises.

    `lenient` also accepts a block cut off at the end of the text (missing `</arguments>` /
    `</use_mcp_tool>`) and arguments with JSON slips (code fence, trailing commas, single quotes, Python
    literals); a result that needed them has `lenient=True`.
    """
    if not isinstance(text, str):
        return ParseResult(well_formed=False, errors=[f"expected str, got {type(text).__name__}"])
    try:
        strict = _parse_xml(text)
        if strict.well_formed or not lenient:
            return strict
        fixed = _close_dangling(text)
        loose = _parse_xml(fixed, lenient=True)
        if not loose.well_formed:
            return strict
        loose.lenient = True
        return loose
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


def tools_for(servers: list[Server], compact: bool = False) -> list[dict[str, Any]]:
    """The `tools=` list (OpenAI function format) for the connected servers (`compact`: shorter schemas)."""
    out = []
    for s in servers:
        for t in s.tools:
            desc = t.description if not compact else _first_sentence(t.description)
            desc = f"{s.name}: {desc}" if desc else s.name
            out.append(
                {
                    "type": "function",
                    "function": {
                        "name": native_name(s.name, t.name),
                        "description": desc,
                        "parameters": _compact_schema(t.inputSchema) if compact else t.inputSchema,
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


def chat_tools(chat: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
    """The `tools=` list a native chat carries on its system message (None for xml chats)."""
    return chat[0].get("tools") if chat and chat[0].get("role") == "system" else None


def _native_chat(example: Example, compact: bool = False) -> list[dict[str, Any]]:
    """OpenAI-style messages; the system message also carries `tools` (see `chat_tools`): our templates read
    it there when `apply_chat_template` gets no `tools=`, so every caller renders the tools."""
    names = ", ".join(s.name for s in example.servers)
    system = {
        "role": "system",
        "content": NATIVE_SYSTEM.format(servers=names),
        "tools": tools_for(example.servers, compact),
    }
    out: list[dict[str, Any]] = [system]
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


# Native dialect: parsing. Each chat-template family has its own call markup (see models.CHAT_TEMPLATES):
#   mistral  `[TOOL_CALLS][{"name": ..., "arguments": {...}, "id": ...}]`  (also v11 `[TOOL_CALLS]name[ARGS]{...}`)
#   chatml   `<tool_call>\n{"name": ..., "arguments": {...}}\n</tool_call>`  (Qwen / Hermes)
#   gemma    ```` ```tool_call\n{"name": ..., "arguments": {...}}\n``` ````
#   llama    bare `{"name": ..., "parameters": {...}}` objects, one per line (Llama 3.1 JSON tool calling)

FAMILIES = ("gemma", "mistral", "llama", "chatml")
_OPENERS = {"[TOOL_CALLS]": "mistral", "<tool_call>": "chatml", "```tool_call": "gemma"}
_CLOSERS = {"chatml": "</tool_call>", "gemma": "```"}
_PY_TAG = "<|python_tag|>"
_NATIVE_MARKUP = ("[TOOL_CALLS]", "<tool_call>", "</tool_call>", "```tool_call", "[ARGS]", _PY_TAG)
_BARE_START = re.compile(r'(?:\[\s*)?\{\s*"')  # where a bare JSON call (or a list of them) may start


def _native_call(obj: Any, errors: list[str], lenient: bool) -> tuple[ToolCall | None, bool]:
    """A call object (`{"name", "arguments"|"parameters"}`, or OpenAI's `{"function": {...}}`) -> (call, repaired)."""
    repaired = False
    if isinstance(obj.get("function"), dict):
        obj = obj["function"]
    name = obj.get("name")
    if not isinstance(name, str) or not name:
        errors.append("call object without a function name")
        return None, False
    args = obj.get("arguments", obj.get("parameters", {}))
    if isinstance(args, str):  # OpenAI style: arguments as a JSON string
        try:
            args = json.loads(args) if args.strip() else {}
        except (ValueError, RecursionError):
            try:
                if not lenient:
                    raise ValueError
                args, repaired = loads_lenient(args), True
            except ValueError:
                errors.append(f"arguments of {name!r} are not valid JSON")
                return None, False
    if not isinstance(args, dict):
        errors.append(f"arguments of {name!r} must be a JSON object, got {type(args).__name__}")
        return None, False
    server, sep, tool = name.partition(NATIVE_SEP)
    if not sep or not server or not tool:
        errors.append(f"function name {name!r} is not '<server>{NATIVE_SEP}<tool>'")
        return None, False
    return ToolCall(server=server, tool=tool, arguments=args), repaired


def _looks_like_call(o: Any) -> bool:
    """A bare JSON object that is meant as a call (not any JSON with a "name" key in an answer)."""
    if not isinstance(o, dict):
        return False
    return isinstance(o.get("function"), dict) or ("name" in o and ("arguments" in o or "parameters" in o))


class _NativeScanner:
    def __init__(self, text: str, family: str | None, lenient: bool) -> None:
        self.text, self.family, self.lenient = text, family, lenient
        self.n = len(text)
        self.openers = {tok: _Next(text, tok) for tok in _OPENERS}
        self.closers = {tok: _Next(text, tok) for tok in set(_CLOSERS.values())}
        self.args_tag = _Next(text, "[ARGS]")
        self.bare_at, self.bare_hit = 0, -2  # cached regex search for a bare JSON call start
        self.errors: list[str] = []
        self.items: list[tuple[Any, bool]] = []  # (call object, repaired)
        self.repaired = False
        self.budget = 4 * self.n + 10_000  # characters failed JSON decodes may scan: keeps parsing linear

    def ws(self, i: int) -> int:
        return _WS.match(self.text, i).end()

    def bare_start(self, pos: int) -> int:
        if not (pos >= self.bare_at and (self.bare_hit == -1 or self.bare_hit >= pos)):
            m = _BARE_START.search(self.text, pos)
            self.bare_at, self.bare_hit = pos, (m.start() if m else -1)
        return self.bare_hit

    def decode(self, i: int) -> tuple[bool, Any, int]:
        """raw_decode of the JSON value at i -> (ok, value, end).

        Decodes growing slices (a JSONDecodeError counts lines up to its position, so decoding the whole
        text would cost O(position) per error); a failure is charged to the budget by the characters it
        sliced, and a RecursionError (absurd nesting) spends it all.
        """
        w, spent = 256, 0
        while True:
            hi = min(self.n, i + w)
            seg = self.text[i:hi]
            spent += len(seg)
            try:
                value, end = _DECODER.raw_decode(seg)
                return True, value, i + end
            except json.JSONDecodeError as e:
                cut = hi < self.n and (e.pos >= len(seg) - 8 or e.msg.startswith("Unterminated string"))
                if not cut:
                    self.budget -= spent
                    return False, None, -1
                w *= 4
            except (ValueError, RecursionError):
                self.budget -= 2 * self.n + spent
                return False, None, -1

    def lenient_value(self, lo: int, hi: int) -> tuple[bool, Any]:
        if not self.lenient:
            return False, None
        try:
            return True, loads_lenient(self.text[lo:hi])
        except ValueError:
            return False, None

    def tagged(self, i: int, family: str) -> int:
        """After `<tool_call>` / ```` ```tool_call ````: one JSON object, then the closer. Returns the resume position."""
        close_tok = _CLOSERS[family]
        close = self.closers[close_tok]
        k = self.ws(i)
        ok, value, vend = self.decode(k)
        if ok:
            m = self.ws(vend)
            if self.text.startswith(close_tok, m):
                self.items.append((value, False))
                return m + len(close_tok)
            if m == self.n:  # the text ends without the closer
                if self.lenient:
                    self.items.append((value, True))
                else:
                    self.errors.append(f"unclosed {family} tool-call block (no {close_tok})")
                return self.n
            self.errors.append(f"text after the JSON call in a {family} tool-call block")
            c = close(vend)
            return c + len(close_tok) if c != -1 else self.n
        c = close(k)
        hi = c if c != -1 else self.n
        good, value = self.lenient_value(k, hi)
        if good:
            self.items.append((value, True))
        else:
            self.errors.append(f"{family} tool-call block does not hold a JSON call object")
        return c + len(close_tok) if c != -1 else self.n

    def mistral(self, i: int) -> int:
        """After `[TOOL_CALLS]`: a JSON list (or object) of calls, or v11's `name[ARGS]{...}`."""
        text = self.text
        k = self.ws(i)
        if k < self.n and text[k] in "[{":
            ok, value, vend = self.decode(k)
            if ok:
                self.items += [(v, False) for v in (value if isinstance(value, list) else [value])]
                return vend
            nxt = self.openers["[TOOL_CALLS]"](k)
            good, value = self.lenient_value(k, nxt if nxt != -1 else self.n)
            if good:
                self.items += [(v, True) for v in (value if isinstance(value, list) else [value])]
                return nxt if nxt != -1 else self.n
            self.errors.append("[TOOL_CALLS] is not followed by a JSON list of calls")
            return k
        a = self.args_tag(k)
        name = text[k:a] if a != -1 and a - k <= 256 else ""
        name = name.split("[CALL_ID]")[0]
        if not name or any(ch.isspace() or ch in "[]{}" for ch in name):
            self.errors.append("[TOOL_CALLS] is not followed by a JSON list of calls or name[ARGS]{...}")
            return k
        j = self.ws(a + len("[ARGS]"))
        ok, value, vend = self.decode(j)
        if ok:
            self.items.append(({"name": name, "arguments": value}, False))
            return vend
        self.errors.append(f"[ARGS] of {name!r} are not valid JSON")
        return j

    def bare(self, start: int, prose: list[str], pos: int) -> int:
        """A bare JSON call object or list of them (Llama 3.1) at `start`; returns the resume position."""
        text = self.text
        ok, value, end = self.decode(start)
        if not ok:
            prose.append(text[pos : start + 1])
            return start + 1
        objs = value if isinstance(value, list) else [value]
        if not (objs and all(_looks_like_call(o) for o in objs)):
            prose.append(text[pos:end])  # JSON that is not a call: prose
            return end
        prose.append(text[pos:start])
        if self.family in (None, "llama"):
            self.items += [(o, False) for o in objs]
        elif self.lenient:
            self.items += [(o, True) for o in objs]
        else:
            self.errors.append(f"call JSON without the {self.family} tool-call markup")
        return end

    def run(self) -> ParseResult:
        text, family = self.text, self.family
        prose: list[str] = []
        pos = 0
        while True:
            if self.budget <= 0:
                self.errors.append("gave up: too much malformed tool-call JSON")
                prose.append(text[pos:])
                break
            hits = [(p, tok) for tok, f in self.openers.items() if (p := f(pos)) != -1]
            if (b := self.bare_start(pos)) != -1:
                hits.append((b, ""))
            if not hits:
                prose.append(text[pos:])
                break
            start, tok = min(hits)
            if not tok:
                pos = self.bare(start, prose, pos)
                continue
            prose.append(text[pos:start])
            fam = _OPENERS[tok]
            before = len(self.items)
            if fam == "mistral":
                pos = self.mistral(start + len(tok))
            else:
                pos = self.tagged(start + len(tok), fam)
            if family is not None and fam != family and len(self.items) > before:
                if self.lenient:
                    self.items[before:] = [(v, True) for v, _ in self.items[before:]]
                else:
                    self.errors.append(f"{tok} is not the {family} tool-call format")
                    del self.items[before:]
        outside = "".join(prose).replace(_PY_TAG, "")
        calls: list[ToolCall] = []
        for value, rep in self.items:
            if not isinstance(value, dict):
                self.errors.append(f"a tool call must be a JSON object, got {type(value).__name__}")
                continue
            call, rep2 = _native_call(value, self.errors, self.lenient)
            if call is not None:
                calls.append(call)
                self.repaired |= rep or rep2
        if any(tok in outside for tok in ("</tool_call>", "[ARGS]")):
            self.errors.append("tool-call markup outside a complete call block")
        has_markup = bool(self.items) or any(tok in text for tok in _NATIVE_MARKUP)
        ok = not self.errors
        return ParseResult(
            calls=calls,
            well_formed=ok,
            errors=self.errors,
            has_markup=has_markup,
            text=outside.strip(),
            lenient=ok and self.repaired,
        )


def parse_native(text: str, family: str | None = None, lenient: bool = False) -> ParseResult:
    """Parse a native-dialect model turn. Never raises.

    `family` (gemma / mistral / llama / chatml, as `models.CHAT_TEMPLATES`) makes other families' markup an
    error; None accepts any of them (tagged blocks win over bare JSON). `lenient` also accepts a missing
    closer at the end of the text, code-fenced or bare JSON where tags are expected, another family's
    markup, and JSON slips (trailing commas, single quotes, Python literals); a result that needed any of
    these has `lenient=True`, so metrics can count strict and lenient separately.
    """
    if not isinstance(text, str):
        return ParseResult(well_formed=False, errors=[f"expected str, got {type(text).__name__}"])
    if family is not None and family not in FAMILIES:
        raise ValueError(f"unknown chat-template family {family!r}; expected one of {FAMILIES}")
    try:
        return _NativeScanner(text, family, lenient).run()
    except Exception as exc:  # scoring must never crash on model output
        return ParseResult(well_formed=False, errors=[f"parser error: {exc!r}"], has_markup=True)


# ----------------------------------------------------------------------------------------------------------


def to_chat(example: Example, dialect: str = "xml", compact: bool = False) -> list[dict[str, Any]]:
    """Chat messages for a chat template: system/user/assistant in xml (tool results become user turns)."""
    if dialect == "native":
        return _native_chat(example, compact)
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


def parse_turn(
    text: str, dialect: str = "xml", family: str | None = None, lenient: bool = False
) -> ParseResult:
    """Parse a model turn in the given dialect (`family`: the chat template's, for native; None detects it)."""
    if dialect == "native":
        return parse_native(text, family, lenient)
    if dialect != "xml":
        raise ValueError(f"unknown dialect {dialect!r}; expected one of {DIALECTS}")
    return parse(text, lenient)
