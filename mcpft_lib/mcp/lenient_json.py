"""JSON as models write it: fenced, with trailing commas or Python literals, repaired and flagged."""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field
from typing import Any

from mcpft_lib.core.schema import ToolCall

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

WHITESPACE = re.compile(r"\s*")

JSON_DECODER = json.JSONDecoder()


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
