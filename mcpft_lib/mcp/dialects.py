"""Dialects: render structured MCP calls to model text, and parse model text back to structured calls.

`xml` is the Cline/Roo `<use_mcp_tool>` / `<access_mcp_resource>` format with the servers listed in the
system prompt; `native` is the OpenAI-style `tools=` / `tool_calls` format that chat templates consume, which
`models.CHAT_TEMPLATES` render in each family's own call format (parsed back by `parse_native`, per family or
detecting all). Both parsers have a strict and a lenient mode (the latter flags what it repaired), are
linear-time, use no XML parser (so no entity expansion) and never raise on model output.
"""

from __future__ import annotations

from typing import Any

from mcpft_lib.core.schema import Example
from mcpft_lib.mcp.lenient_json import DIALECTS, ParseResult
from mcpft_lib.mcp.native_calls import native_chat, parse_native
from mcpft_lib.mcp.xml_calls import parse, render_assistant, render_tool_result, system_prompt

# ----------------------------------------------------------------------------------------------------------


def to_chat(example: Example, dialect: str = "xml", compact: bool = False) -> list[dict[str, Any]]:
    """Chat messages for a chat template: system/user/assistant in xml (tool results become user turns)."""
    if dialect == "native":
        return native_chat(example, compact)
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
