"""The `native` dialect: OpenAI-style `tools=` / `tool_calls`, rendered by each family's chat template and
parsed back per family (mistral, chatml, gemma, llama) or by detecting all."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from mcpft_lib.core.schema import RESOURCE_TOOL, Example, Server, ToolCall
from mcpft_lib.mcp.lenient_json import JSON_DECODER, NATIVE_SEP, WHITESPACE, ParseResult, loads_lenient
from mcpft_lib.mcp.xml_calls import TOOL_DESCRIPTION_CHARS, NextToken, compact_schema, short_description

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
            desc = t.description if not compact else short_description(t.description, TOOL_DESCRIPTION_CHARS)
            desc = f"{s.name}: {desc}" if desc else s.name
            out.append(
                {
                    "type": "function",
                    "function": {
                        "name": native_name(s.name, t.name),
                        "description": desc,
                        "parameters": compact_schema(t.inputSchema) if compact else t.inputSchema,
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


def native_chat(example: Example, compact: bool = False) -> list[dict[str, Any]]:
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
        self.openers = {tok: NextToken(text, tok) for tok in _OPENERS}
        self.closers = {tok: NextToken(text, tok) for tok in set(_CLOSERS.values())}
        self.args_tag = NextToken(text, "[ARGS]")
        self.bare_at, self.bare_hit = 0, -2  # cached regex search for a bare JSON call start
        self.errors: list[str] = []
        self.items: list[tuple[Any, bool]] = []  # (call object, repaired)
        self.repaired = False
        self.budget = 4 * self.n + 10_000  # characters failed JSON decodes may scan: keeps parsing linear

    def ws(self, i: int) -> int:
        return WHITESPACE.match(self.text, i).end()

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
                value, end = JSON_DECODER.raw_decode(seg)
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
