"""OpenAI chat-completions requests and replies, and how they map to MCP: validation that names the bad field,
the request's tools as MCP servers, its messages as a canonical conversation rendered in the trained dialect,
and the model's reply parsed back into `tool_calls`.

How tools map (README, "Serve your model"): a function named `<server>__<tool>` is tool `<tool>` of MCP server
`<server>` (the native dialect's own naming, so a catalog sent as OpenAI tools round-trips exactly); any other
name is a tool of one server named `tools`. A function `<server>__access_mcp_resource` whose `uri` parameter
has an `enum` lists that server's resources (the xml dialect shows them as such). Calls go back under the
client's own function names.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from mcpft_lib.core.schema import RESOURCE_TOOL, Example, Message, Resource, Server, Tool, ToolCall
from mcpft_lib.mcp.dialects import parse_turn, to_chat
from mcpft_lib.mcp.lenient_json import NATIVE_SEP, OPEN_TOOL
from mcpft_lib.mcp.native_calls import native_name

DEFAULT_SERVER = "tools"  # the MCP server that holds functions whose name has no `<server>__` prefix

ROLES = ("system", "developer", "user", "assistant", "tool")

# the first line of a reply returned as content although it holds call markup (see `interpret`)
WARNING_PREFIX = "[mcpft warning]"


class RequestError(ValueError):
    """A bad request: HTTP `status` with an OpenAI-style error body whose `param` names the field."""

    def __init__(self, param: str | None, message: str, status: int = 400, code: str | None = None):
        super().__init__(f"{param}: {message}" if param else message)
        self.param, self.message, self.status, self.code = param, message, status, code

    def body(self) -> dict:
        kind = "invalid_request_error" if self.status < 500 else "server_error"
        return {"error": {"message": str(self), "type": kind, "param": self.param, "code": self.code}}


# ----------------------------------------------------------------------------------------------------------
# The request (pydantic, strict types: "1" is not an integer); fields OpenAI defines that change nothing
# here (user, metadata, store, parallel_tool_calls, ...) are accepted and ignored


class _In(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)


def _text(v: Any) -> Any:
    """A message content: a string or a list of `{"type": "text", "text": ...}` parts (joined)."""
    if isinstance(v, list):
        out = []
        for k, part in enumerate(v):
            if not (
                isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str)
            ):
                kind = part.get("type") if isinstance(part, dict) else type(part).__name__
                raise ValueError(f"part {k}: only text parts are supported, got {kind!r}")
            out.append(part["text"])
        return "".join(out)
    if not isinstance(v, str):
        raise ValueError(f"expected a string or a list of text parts, got {type(v).__name__}")
    return v


class FunctionCall(_In):
    name: str = Field(min_length=1)
    arguments: str


class ToolCallIn(_In):
    id: str = Field(min_length=1)
    type: Literal["function"] = "function"
    function: FunctionCall


class _TextMessage(_In):
    content: Any

    @field_validator("content")
    @classmethod
    def _content(cls, v: Any) -> Any:
        return _text(v)


class SystemMessage(_TextMessage):
    role: Literal["system", "developer"]


class UserMessage(_TextMessage):
    role: Literal["user"]


class AssistantMessage(_In):
    role: Literal["assistant"]
    content: Any = None
    tool_calls: list[ToolCallIn] | None = None

    @field_validator("content")
    @classmethod
    def _content(cls, v: Any) -> Any:
        return "" if v is None else _text(v)


class ToolMessage(_In):
    role: Literal["tool"]
    tool_call_id: str = Field(min_length=1)
    content: Any

    @field_validator("content")
    @classmethod
    def _content(cls, v: Any) -> Any:
        return _text(v)


ChatMessage = Annotated[
    SystemMessage | UserMessage | AssistantMessage | ToolMessage, Field(discriminator="role")
]


class FunctionDef(_In):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    description: str = ""
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})
    strict: bool | None = None


class ToolDef(_In):
    type: Literal["function"]
    function: FunctionDef


class StreamOptions(_In):
    include_usage: bool = False


class ChatRequest(_In):
    model: str | None = None
    messages: list[ChatMessage] = Field(min_length=1)
    tools: list[ToolDef] | None = None
    tool_choice: Any = None  # "auto" | "none" | "required" | {"type": "function", "function": {"name"}}
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    n: int | None = None
    stream: bool = False
    stream_options: StreamOptions | None = None
    stop: Any = None
    seed: int | None = None

    @field_validator("tool_choice")
    @classmethod
    def _choice(cls, v: Any) -> Any:
        if v is None or v in ("auto", "none", "required"):
            return v
        if (
            isinstance(v, dict)
            and v.get("type") == "function"
            and isinstance(v.get("function"), dict)
            and isinstance(v["function"].get("name"), str)
        ):
            return v["function"]["name"]  # a named function: its name
        raise ValueError(
            "expected 'auto', 'none', 'required' or {'type': 'function', 'function': {'name': NAME}}"
        )

    @field_validator("stop")
    @classmethod
    def _stop(cls, v: Any) -> Any:
        stops = [v] if isinstance(v, str) else v
        if stops is None:
            return []
        if not isinstance(stops, list) or len(stops) > 4 or not all(isinstance(s, str) and s for s in stops):
            raise ValueError("expected a non-empty string or a list of at most 4 of them")
        return stops

    @field_validator("n")
    @classmethod
    def _n(cls, v: Any) -> Any:
        if v not in (None, 1):
            raise ValueError(f"only n=1 is supported (one choice per request), got {v}")
        return v


def field_path(loc: tuple) -> str:
    """pydantic's error location as the field a client wrote: ('messages', 2, 'tool', 'tool_call_id') ->
    `messages[2].tool_call_id` (the discriminator's tag, 'tool', is pydantic's, not the client's)."""
    out = ""
    prev: Any = None
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif isinstance(prev, int) and part in ROLES:
            pass  # the tagged union's branch
        else:
            out += f".{part}" if out else str(part)
        prev = part
    return out


def parse_request(body: Any) -> ChatRequest:
    """Validate a decoded JSON body; RequestError names the first bad field, before anything is generated."""
    if not isinstance(body, dict):
        raise RequestError(None, f"the body must be a JSON object, got {type(body).__name__}")
    try:
        req = ChatRequest.model_validate(body)
    except ValidationError as e:
        err = e.errors(include_url=False)[0]
        loc = tuple(err["loc"])
        if err["type"] in ("union_tag_invalid", "union_tag_not_found"):
            loc = (*loc, "role")
            msg = f"expected one of {', '.join(ROLES)}, got {err.get('input', {}).get('role')!r}"
            if err["type"] == "union_tag_not_found":
                msg = "missing"
        else:
            msg = err["msg"].removeprefix("Value error, ")
        raise RequestError(field_path(loc), msg) from None
    return req


# ----------------------------------------------------------------------------------------------------------
# Tools <-> MCP servers


@dataclass
class Offer:
    """The request's tools as MCP servers, and the client's function name of each (server, tool)."""

    servers: list[Server] = field(default_factory=list)
    names: dict[tuple[str, str], str] = field(default_factory=dict)

    def name_of(self, call: ToolCall) -> str | None:
        return self.names.get((call.server, call.tool))


def split_name(name: str) -> tuple[str, str]:
    """A function name as (server, tool): `server__tool`, else (DEFAULT_SERVER, name)."""
    server, sep, tool = name.partition(NATIVE_SEP)
    return (server, tool) if sep and server and tool else (DEFAULT_SERVER, name)


def servers_of(tools: list[ToolDef] | None) -> Offer:
    """Group the request's functions into MCP servers (order kept: first appearance of each server)."""
    import jsonschema  # here: importing it costs seconds (rfc3987 grammar), the CLI must start fast

    offer = Offer()
    by_name: dict[str, Server] = {}
    for k, t in enumerate(tools or []):
        f = t.function
        where = f"tools[{k}].function"
        server, tool = split_name(f.name)
        if (server, tool) in offer.names:
            raise RequestError(
                f"{where}.name",
                f"{f.name!r} names the same MCP tool ({server}.{tool}) as {offer.names[server, tool]!r}",
            )
        try:
            jsonschema.validators.validator_for(f.parameters).check_schema(f.parameters)
        except jsonschema.SchemaError as e:
            raise RequestError(f"{where}.parameters", f"not a valid JSON Schema: {e.message}") from None
        if f.parameters.get("type", "object") != "object":
            raise RequestError(f"{where}.parameters", "the parameters of a function must be an object schema")
        s = by_name.get(server)
        if s is None:
            s = by_name[server] = Server(name=server)
            offer.servers.append(s)
        offer.names[server, tool] = f.name
        uris = ((f.parameters.get("properties") or {}).get("uri") or {}).get("enum")
        if tool == RESOURCE_TOOL and isinstance(uris, list) and all(isinstance(u, str) for u in uris):
            s.resources += [Resource(uri=u) for u in uris]
        else:
            s.tools.append(Tool(name=tool, description=f.description, inputSchema=f.parameters))
    return offer


def openai_tools(servers: list[Server]) -> list[dict[str, Any]]:
    """MCP servers as the `tools` of a request (`<server>__<tool>` names; resources as `access_mcp_resource`
    with their URIs): what `servers_of` turns back into the same servers."""
    out = []
    for s in servers:
        for t in s.tools:
            fn = {
                "name": native_name(s.name, t.name),
                "description": t.description,
                "parameters": t.inputSchema,
            }
            out.append({"type": "function", "function": fn})
        if s.resources:
            uri = {"type": "string", "enum": [r.uri for r in s.resources]}
            params = {"type": "object", "properties": {"uri": uri}, "required": ["uri"]}
            fn = {
                "name": native_name(s.name, RESOURCE_TOOL),
                "description": "read a resource",
                "parameters": params,
            }
            out.append({"type": "function", "function": fn})
    return out


# ----------------------------------------------------------------------------------------------------------
# Messages -> the prompt in the trained dialect


@dataclass
class Prompt:
    """What the model is asked: the chat in the dialect (for the backend's chat template), the assistant text
    it is forced to begin with (`prefix`, for `tool_choice` required/named) and the offered tools."""

    chat: list[dict[str, Any]]
    prefix: str
    offer: Offer
    tool_choice: str | None


def conversation(req: ChatRequest, offer: Offer) -> tuple[list[Message], str]:
    """The request's messages as canonical messages, and the client's system text (joined)."""
    system: list[str] = []
    out: list[Message] = []
    calls: dict[str, ToolCall] = {}  # tool_call_id -> the call it answers
    for i, m in enumerate(req.messages):
        if isinstance(m, SystemMessage):
            system.append(m.content)
        elif isinstance(m, UserMessage):
            out.append(Message(role="user", content=m.content))
        elif isinstance(m, AssistantMessage):
            made = []
            for j, tc in enumerate(m.tool_calls or []):
                where = f"messages[{i}].tool_calls[{j}]"
                try:
                    args = json.loads(tc.function.arguments) if tc.function.arguments.strip() else {}
                except ValueError as e:
                    raise RequestError(f"{where}.function.arguments", f"not valid JSON ({e})") from None
                if not isinstance(args, dict):
                    raise RequestError(f"{where}.function.arguments", "must encode a JSON object")
                if tc.id in calls:
                    raise RequestError(f"{where}.id", f"tool call id {tc.id!r} is used twice")
                server, tool = next(
                    (k for k, v in offer.names.items() if v == tc.function.name), split_name(tc.function.name)
                )
                calls[tc.id] = ToolCall(server=server, tool=tool, arguments=args)
                made.append(calls[tc.id])
            out.append(Message(role="assistant", content=m.content or "", calls=made))
        else:
            if m.tool_call_id not in calls:
                raise RequestError(
                    f"messages[{i}].tool_call_id",
                    f"{m.tool_call_id!r} answers no tool call of an earlier assistant message",
                )
            out.append(Message(role="tool", content=m.content, call=calls[m.tool_call_id]))
    if not out:
        raise RequestError("messages", "holds no user message (only system messages)")
    last = len(req.messages) - 1
    if out[-1].role == "assistant":
        raise RequestError(f"messages[{last}].role", "the last message must be a user or tool message")
    return out, "\n\n".join(s for s in system if s.strip())


def call_prefix(dialect: str, family: str | None, name: tuple[str, str] | None) -> str:
    """The start of a call the reply is forced to begin with: up to the arguments for a named tool, up to the
    server (xml) or function name (native) when any tool will do. Matches the text the dialect and chat
    template render for a call (`xml_calls.render_call`, `loaders.CHAT_TEMPLATES`)."""
    if dialect == "xml":
        if name is None:
            return f"{OPEN_TOOL}\n<server_name>"
        return f"{OPEN_TOOL}\n<server_name>{name[0]}</server_name>\n<tool_name>{name[1]}</tool_name>\n<arguments>"
    opener = {"gemma": "```tool_call\n", "chatml": "<tool_call>\n", "mistral": "[TOOL_CALLS][", "llama": ""}
    if family not in opener:
        raise RequestError("tool_choice", f"cannot force a call: unknown chat-template family {family!r}")
    key = "parameters" if family == "llama" else "arguments"
    if name is None:
        return opener[family] + '{"name": "'
    return opener[family] + '{"name": ' + json.dumps(native_name(*name)) + f', "{key}":'


def build_prompt(req: ChatRequest, dialect: str, compact: bool, family: str | None) -> Prompt:
    """The request as the model saw its training data: the request's tools as MCP servers in the dialect's
    system prompt (`dialects.to_chat`, the compactness of the run's params), the client's system text after
    it; `tool_choice: none` offers no tools; `required` / a named function forces the reply to open a call."""
    offer = servers_of(req.tools)
    choice = req.tool_choice
    if choice in ("required",) or (choice not in (None, "auto", "none")):
        if not offer.names:
            raise RequestError("tool_choice", f"{choice!r} needs tools, and the request has none")
    named = None
    if choice not in (None, "auto", "none", "required"):
        named = next((k for k, v in offer.names.items() if v == choice), None)
        if named is None:
            raise RequestError("tool_choice.function.name", f"{choice!r} is not among the request's tools")
    messages, system = conversation(req, offer)
    shown = [] if choice == "none" else offer.servers
    if named is not None:  # only the named tool is shown
        s = next(s for s in offer.servers if s.name == named[0])
        keep = {"tools": [t for t in s.tools if t.name == named[1]], "resources": s.resources}
        if named[1] != RESOURCE_TOOL:
            keep["resources"] = []
        shown = [s.model_copy(update=keep)]
    example = Example(id="serve", servers=shown, messages=messages, category="serve")
    chat = to_chat(example, dialect, compact)
    if system:
        chat[0] = {**chat[0], "content": chat[0]["content"].rstrip() + "\n\n" + system}
    prefix = ""
    if choice == "required" or named is not None:
        prefix = call_prefix(dialect, family, named if named and named[1] != RESOURCE_TOOL else None)
        chat.append({"role": "assistant", "content": prefix})
    return Prompt(chat=chat, prefix=prefix, offer=offer if choice != "none" else Offer(), tool_choice=choice)


# ----------------------------------------------------------------------------------------------------------
# The reply


@dataclass
class Reply:
    content: str | None
    tool_calls: list[dict[str, Any]]
    finish_reason: str
    warning: str | None = None


def interpret(text: str, prompt: Prompt, dialect: str, family: str | None, finish: str) -> Reply:
    """The model's text (after the forced prefix) as an OpenAI message. Calls of offered tools become
    `tool_calls` (the client's function names, arguments as a JSON string) with finish_reason `tool_calls`;
    a reply whose call markup does not parse, or that calls a tool the request did not offer, comes back as
    content: the model's raw text after one line that starts with WARNING_PREFIX and says why (never a
    made-up tool call). Parsing is lenient (`dialects.parse_turn`): JSON slips are repaired."""
    full = prompt.prefix + text
    parsed = parse_turn(full, dialect, family, lenient=True)
    if parsed.well_formed and not parsed.calls:
        if parsed.has_markup:  # e.g. a call block with no tool inside: not a call
            return _warned(full, "the reply holds call markup but no call", finish)
        return Reply(full.strip(), [], finish)
    if not parsed.well_formed:
        return _warned(full, "its call markup does not parse (" + "; ".join(parsed.errors) + ")", finish)
    unknown = [c for c in parsed.calls if prompt.offer.name_of(c) is None]
    if unknown:
        names = ", ".join(f"{c.server}.{c.tool}" for c in unknown)
        why = "no tools were offered" if not prompt.offer.names else "not among the request's tools"
        return _warned(full, f"the model called {names}: {why}", finish)
    calls = [
        {
            "id": f"call_{uuid.uuid4().hex[:24]}",
            "type": "function",
            "function": {
                "name": prompt.offer.name_of(c),
                "arguments": json.dumps(c.arguments, ensure_ascii=False),
            },
        }
        for c in parsed.calls
    ]
    return Reply(parsed.text or None, calls, "tool_calls")


def _warned(full: str, why: str, finish: str) -> Reply:
    warning = f"{WARNING_PREFIX} {why}; the model's raw reply follows."
    return Reply(f"{warning}\n{full.strip()}", [], finish, warning)


def completion_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex}"


def completion(cid: str, model: str, reply: Reply, usage: dict) -> dict:
    """A `chat.completion` object."""
    msg: dict[str, Any] = {"role": "assistant", "content": reply.content}
    if reply.tool_calls:
        msg["tool_calls"] = reply.tool_calls
    choice = {"index": 0, "message": msg, "logprobs": None, "finish_reason": reply.finish_reason}
    return {"id": cid, "object": "chat.completion", "created": int(time.time()), "model": model,
            "choices": [choice], "usage": usage}  # fmt: skip


_PIECE = re.compile(r"\S+\s*|\s+")


def chunks(cid: str, model: str, reply: Reply, usage: dict | None, piece_words: int = 4) -> Iterator[dict]:
    """The reply as `chat.completion.chunk` objects, as OpenAI streams them: the role, content deltas of a
    few words, each call as a `tool_calls` delta (id, name, then its arguments in pieces), an empty delta with
    the finish reason, and (`usage` given: `stream_options.include_usage`) a last chunk with the usage."""
    created = int(time.time())

    def chunk(delta: dict, finish: str | None = None) -> dict:
        c = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        return {
            "id": cid,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [c],
        }

    yield chunk({"role": "assistant", "content": ""})
    words = _PIECE.findall(reply.content or "")
    for k in range(0, len(words), piece_words):
        yield chunk({"content": "".join(words[k : k + piece_words])})
    for k, tc in enumerate(reply.tool_calls):
        head = {"index": k, "id": tc["id"], "type": "function",
                "function": {"name": tc["function"]["name"], "arguments": ""}}  # fmt: skip
        yield chunk({"tool_calls": [head]})
        args = tc["function"]["arguments"]
        for a in range(0, len(args), 32):
            yield chunk({"tool_calls": [{"index": k, "function": {"arguments": args[a : a + 32]}}]})
    yield chunk({}, reply.finish_reason)
    if usage is not None:
        yield {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
               "choices": [], "usage": usage}  # fmt: skip
