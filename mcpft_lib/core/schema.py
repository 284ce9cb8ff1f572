"""Canonical data: structured MCP tool-use examples, rendered to text late (see dialects)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

CATEGORIES = (
    "single_call",
    "multi_step",
    "error_handling",
    "clarification",
    "no_tool",
    "code_understanding",
    "large_context",
    "reasoning",
    "resource_access",
    "parallel",  # several calls in one assistant turn (native dialect; schema-driven data)
)
# what the curated generator (`data.generate`, hand-written intents) and the challenge set cover: every category
# but the ones only schema-driven synthesis makes (`data.synth`; parallel calls need the native dialect)
SYNTH_ONLY_CATEGORIES = ("parallel",)
CURATED_CATEGORIES = tuple(c for c in CATEGORIES if c not in SYNTH_ONLY_CATEGORIES)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Tool(_Strict):
    """An MCP tool definition as `tools/list` returns it."""

    name: str
    description: str = ""
    inputSchema: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})


class Resource(_Strict):
    uri: str
    name: str = ""
    description: str = ""
    mimeType: str | None = None


class Server(_Strict):
    """A connected MCP server: its catalog of tools (and resources)."""

    name: str
    description: str = ""
    package: str | None = None  # where it comes from, e.g. "mcp-server-time"
    version: str | None = None
    tools: list[Tool] = Field(default_factory=list)
    resources: list[Resource] = Field(default_factory=list)

    def tool(self, name: str) -> Tool | None:
        return next((t for t in self.tools if t.name == name), None)


class ToolCall(_Strict):
    """A structured call. A resource read is `tool="access_mcp_resource"` with `arguments={"uri": ...}`."""

    server: str
    tool: str
    arguments: dict[str, Any] = Field(default_factory=dict)


RESOURCE_TOOL = "access_mcp_resource"


class Message(_Strict):
    role: Literal["user", "assistant", "tool"]
    content: str = ""  # text (assistant: reasoning or answer before/without calls; tool: the result)
    calls: list[ToolCall] = Field(default_factory=list)  # assistant only
    is_error: bool = False  # tool only: the result had isError
    call: ToolCall | None = None  # tool only: which call this result answers


class Example(_Strict):
    id: str
    servers: list[Server]
    messages: list[Message]
    category: str
    difficulty: Literal["easy", "medium", "hard"] = "easy"
    provenance: str = "generator"
    meta: dict[str, Any] = Field(default_factory=dict)

    def server(self, name: str) -> Server | None:
        return next((s for s in self.servers if s.name == name), None)
