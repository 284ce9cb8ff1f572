"""The `xml` dialect: Cline/Roo `<use_mcp_tool>` / `<access_mcp_resource>` calls, the system prompt that lists
the servers, and a linear-time parser (strict or lenient; no XML parser, so no entity expansion)."""

from __future__ import annotations

import json
import re
from typing import Any

from mcpft_lib.core.schema import RESOURCE_TOOL, Message, Server, ToolCall
from mcpft_lib.mcp.lenient_json import (
    _MARKUP,
    CLOSE_ARGS,
    CLOSE_RES,
    CLOSE_TOOL,
    JSON_DECODER,
    OPEN_ARGS,
    OPEN_RES,
    OPEN_TOOL,
    WHITESPACE,
    ParseResult,
    loads_lenient,
)

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

# JSON Schema keywords whose values are schemas (maps of / lists of / single), for `compact_schema`
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


def compact_schema(node: Any) -> Any:
    """Drop `title`/`$schema` annotations (not properties so named) and shorten every `description` to its first
    sentence (`short_description`): the short CPU prompt. Descriptions stay because they are what tells a model
    what a parameter takes (units, formats, which of two ids) — most of all when its name says nothing (masked
    names in training, `p1` in the wild)."""
    if isinstance(node, list):
        return [compact_schema(x) for x in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for k, v in node.items():
        if k in ("title", "$schema") and isinstance(v, str):
            continue
        if k == "description" and isinstance(v, str):
            if v.strip():
                out[k] = short_description(v)
            continue
        if k in _SCHEMA_MAPS and isinstance(v, dict):
            out[k] = {name: compact_schema(s) for name, s in v.items()}
        elif (k in _SCHEMA_LISTS and isinstance(v, list)) or k in _SCHEMA_ONE:
            out[k] = compact_schema(v)
        else:
            out[k] = v
    return out


def first_sentence(text: str) -> str:
    text = " ".join(text.split())
    cut = text.find(". ")
    return text[: cut + 1] if cut != -1 else text


DESCRIPTION_CHARS = 120  # a compact schema's descriptions: the first sentence, at most this many characters
TOOL_DESCRIPTION_CHARS = 240  # a compact prompt's tool descriptions, likewise


def short_description(text: str, limit: int = DESCRIPTION_CHARS) -> str:
    """The first sentence of a description, cut at a word boundary (with "…") when it is longer than `limit`."""
    text = first_sentence(text)
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit)
    return text[: cut if cut > limit // 2 else limit].rstrip(" ,;:") + "…"


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
                desc = short_description(t.description, TOOL_DESCRIPTION_CHARS)
                schema = json.dumps(compact_schema(t.inputSchema), separators=(",", ":"), ensure_ascii=False)
                lines.append(f"- {t.name}: {desc}\n  Input Schema: {schema}")
            else:
                schema = json.dumps(t.inputSchema, indent=2, ensure_ascii=False)
                lines.append(f"- {t.name}: {t.description}\n    Input Schema:\n{_indent(schema, '    ')}")
        if s.resources:
            lines.append("### Direct Resources")
            for r in s.resources:
                name = f" ({r.name})" if r.name else ""
                desc = (
                    f": {first_sentence(r.description) if compact else r.description}"
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


class NextToken:
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
        self.open_tool = NextToken(text, OPEN_TOOL)
        self.open_res = NextToken(text, OPEN_RES)
        self.close_tool = NextToken(text, CLOSE_TOOL)
        self.close_res = NextToken(text, CLOSE_RES)
        self.open_args = NextToken(text, OPEN_ARGS)

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
        cut by a `</use_mcp_tool>` inside it extends the slice to the next close tag, at most 4 times; then the
        rest of the text is decoded once (values that hold many close tags cost O(text) once, never O(text²)).
        """
        text, limit = self.text, close
        for attempt in range(6):
            if attempt == 5:
                limit = len(text)
            seg = text[j:limit]
            try:
                value, vend = JSON_DECODER.raw_decode(seg)
            except json.JSONDecodeError as e:
                nxt = self.close_tool(limit + len(CLOSE_TOOL))
                cut = e.msg.startswith("Unterminated string") or e.pos >= len(seg) - 8  # e.g. `"\u001f` + cut
                if not cut or nxt == -1:
                    return False, None, -1
                limit = nxt
                continue
            except (ValueError, RecursionError):
                return False, None, -1
            m = WHITESPACE.match(seg, vend).end()
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
            j = WHITESPACE.match(text, a + len(OPEN_ARGS)).end()
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
