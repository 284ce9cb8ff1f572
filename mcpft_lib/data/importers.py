"""Importers: public function-calling datasets -> canonical `schema.Example`s.

- `xlam`: Salesforce/xlam-function-calling-60k rows `{id, query, answers, tools}` (JSON strings or lists); tool
  parameters are a flat `{name: {type: "str, optional", description, default}}` map, not JSON Schema.
- `hermes`: NousResearch/hermes-function-calling-v1 ShareGPT rows `{id, conversations: [{from, value}]}`; tools
  in `<tools>` of the system turn, calls as `<tool_call>` blocks holding Python-literal dicts, results as
  `<tool_response>` blocks.
- `glaive`: glaiveai/glaive-function-calling-v2 rows `{system, chat}`; functions as JSON objects after the
  system text, the chat as one `USER:` / `ASSISTANT:` / `FUNCTION RESPONSE:` transcript with
  `<functioncall> {"name": ..., "arguments": '<JSON string>'}`.

- `openai`: OpenAI chat rows `{messages, tools}` (`tool_calls` with arguments as an object or a JSON string; the
  legacy `functions` / `function_call` / `role: function` keys too), e.g. mcpft's own `<split>.openai.jsonl`
  (`data/openai_format.py`), whose `mcpft` key restores the exported Example exactly.
- `sharegpt`: LLaMA-Factory's ShareGPT rows `{conversations: [{from, value}], tools, system}` with `from` one of
  human/user, gpt/assistant, function_call (a JSON call or list of calls), observation, system.

Each row's function set becomes one synthetic server (`<source>-<hash of the functions>`) whose tools get JSON
Schema `inputSchema`s (Python-style types such as `str`, `List[int]`, `Optional[str]`, `dict` converted).
A row that cannot be converted, or whose calls do not validate, is quarantined with its reason, never dropped
silently. Rows come from a local .json / .jsonl / .parquet file or a hub id (`datasets.load_dataset`).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from mcpft_lib.core.schema import RESOURCE_TOOL, Example, Message, Server, Tool, ToolCall
from mcpft_lib.data import openai_format, validate
from mcpft_lib.data.param_types import RowError, input_schema
from mcpft_lib.data.param_types import type_schema as type_schema  # where callers have always found it
from mcpft_lib.mcp.lenient_json import loads_lenient

SOURCES = ("xlam", "hermes", "glaive", "openai", "sharegpt")

HUB_IDS = {
    "xlam": "Salesforce/xlam-function-calling-60k",
    "hermes": "NousResearch/hermes-function-calling-v1",
    "glaive": "glaiveai/glaive-function-calling-v2",
}


class ImportError_(ValueError):
    """A source could not be read at all (missing file, hub unreachable); the message says what to do."""


def _tool(fn: Any) -> Tool:
    if isinstance(fn, dict) and isinstance(
        fn.get("function"), dict
    ):  # OpenAI {"type": "function", "function"}
        fn = fn["function"]
    if not isinstance(fn, dict) or not isinstance(fn.get("name"), str) or not fn["name"].strip():
        raise RowError("a function definition without a name")
    return Tool(
        name=fn["name"].strip(),
        description=str(fn.get("description") or ""),
        inputSchema=input_schema(fn.get("parameters")),
    )


def make_server(source: str, functions: list[Any]) -> Server:
    """The synthetic server of one row's function set (name: source + hash of the definitions)."""
    tools = [_tool(f) for f in functions]
    names = [t.name for t in tools]
    if len(set(names)) != len(names):
        raise RowError(f"duplicate function names: {sorted(n for n, c in Counter(names).items() if c > 1)}")
    key = json.dumps([t.model_dump() for t in tools], sort_keys=True, ensure_ascii=False)
    return Server(
        name=f"{source}-{hashlib.sha256(key.encode()).hexdigest()[:8]}",
        description=f"functions of one {source} row",
        package=HUB_IDS.get(source),
        tools=tools,
    )


# ----------------------------------------------------------------------------------------------------------
# Row converters


def _text(v: Any, what: str) -> str:
    if v is None:
        return ""
    if not isinstance(v, str):
        raise RowError(f"{what} must be text, got {type(v).__name__}")
    return v


def _as_json(v: Any, what: str) -> Any:
    if isinstance(v, str):
        try:
            return loads_lenient(v)
        except ValueError as e:
            raise RowError(f"{what} is not JSON: {e}") from None
    return v


def _call(server: Server, obj: Any) -> ToolCall:
    if not isinstance(obj, dict) or not isinstance(obj.get("name"), str):
        raise RowError(f"a call must be an object with a name, got {str(obj)[:80]!r}")
    args = obj.get("arguments", obj.get("parameters", {}))
    if isinstance(args, str):  # glaive / OpenAI: arguments as a (single-quoted) JSON string
        args = _as_json(args, f"arguments of {obj['name']!r}") if args.strip() else {}
    if args is None:
        args = {}
    if not isinstance(args, dict):
        raise RowError(f"arguments of {obj['name']!r} must be an object, got {type(args).__name__}")
    return ToolCall(server=server.name, tool=obj["name"].strip(), arguments=args)


def _category(messages: list[Message]) -> str:
    turns = sum(1 for m in messages if m.role == "assistant" and m.calls)
    if any(m.is_error for m in messages):
        return "error_handling"
    return "no_tool" if turns == 0 else ("single_call" if turns == 1 else "multi_step")


def _result(content: Any, call: ToolCall | None) -> Message:
    if isinstance(content, dict) and "content" in content and set(content) <= {"name", "content"}:
        content = content["content"]
    is_error = isinstance(content, dict) and "error" in content
    text = content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)
    return Message(role="tool", content=text, call=call, is_error=is_error)


def _finish(source: str, rid: str, server: Server, messages: list[Message]) -> Example:
    while (
        messages and messages[-1].role != "assistant"
    ):  # a transcript cut after a result: keep the whole turns
        messages.pop()
    return Example(
        id=f"{source}-{rid}",
        servers=[server],
        messages=messages,
        category=_category(messages),
        difficulty="easy" if len(messages) <= 2 else "medium",
        provenance=f"import:{HUB_IDS.get(source, source)}",
        meta={"source": source, "row_id": rid},
    )


def from_xlam(row: dict, rid: str) -> Example:
    tools = _as_json(row.get("tools"), "tools")
    answers = _as_json(row.get("answers"), "answers")
    query = row.get("query")
    if not isinstance(query, str) or not query.strip():
        raise RowError("empty query")
    if not isinstance(tools, list) or not isinstance(answers, list):
        raise RowError("tools and answers must be lists")
    server = make_server("xlam", tools)
    calls = [_call(server, a) for a in answers]
    if not calls:
        raise RowError("no answer calls")
    return _finish(
        "xlam", rid, server, [Message(role="user", content=query), Message(role="assistant", calls=calls)]
    )


_TOOLS_TAG = re.compile(r"<tools>(.*?)</tools>", re.S)


def _blocks(text: str, open_: str, close: str) -> tuple[list[str], str]:
    """Contents of `open_ ... close` blocks and the text outside them (an unclosed block runs to the end)."""
    inner, outside, pos = [], [], 0
    while (i := text.find(open_, pos)) != -1:
        outside.append(text[pos:i])
        j = text.find(close, i + len(open_))
        inner.append(text[i + len(open_) : j if j != -1 else len(text)])
        pos = j + len(close) if j != -1 else len(text)
    outside.append(text[pos:])
    return inner, "".join(outside).strip()


_HERMES_ROLES = {"user": "human", "assistant": "gpt", "function": "tool", "observation": "tool"}


def from_hermes(row: dict, rid: str) -> Example:
    conv = row.get("conversations")
    if not isinstance(conv, list) or not conv:
        raise RowError("empty conversation")
    system = next((t.get("value") for t in conv if isinstance(t, dict) and t.get("from") == "system"), "")
    functions: list[Any] = []
    for body in (b.strip() for b in _TOOLS_TAG.findall(_text(system, "system value"))):
        if not body:  # "within <tools></tools> XML tags" in the instructions
            continue
        try:
            found = loads_lenient(body)
        except ValueError:  # one definition per line
            found = [_as_json(line, "a <tools> entry") for line in body.splitlines() if line.strip()]
        functions += found if isinstance(found, list) else [found]
    server = make_server("hermes", functions)
    messages: list[Message] = []
    pending: list[ToolCall] = []
    for turn in conv:
        if not isinstance(turn, dict):
            raise RowError("a turn must be an object")
        who = turn.get("from")
        who, value = (
            _HERMES_ROLES.get(who, who) if isinstance(who, str) else who,
            _text(turn.get("value"), "value"),
        )
        if who == "system":
            continue
        if who == "human":
            messages.append(Message(role="user", content=value))
        elif who == "gpt":
            inner, text = _blocks(value, "<tool_call>", "</tool_call>")
            calls = [_call(server, _as_json(b.strip(), "a <tool_call>")) for b in inner]
            messages.append(Message(role="assistant", content=text, calls=calls))
            pending = list(calls)
        elif who == "tool":
            inner, _ = _blocks(value, "<tool_response>", "</tool_response>")
            for b in inner or [value]:
                try:
                    content = loads_lenient(b)
                except ValueError:
                    content = b.strip()
                name = content.get("name") if isinstance(content, dict) else None
                call = next((c for c in pending if c.tool == name), pending[0] if pending else None)
                if call is not None:
                    pending.remove(call)
                messages.append(_result(content, call))
        else:
            raise RowError(f"unknown turn role {who!r}")
    return _finish("hermes", rid, server, messages)


_GLAIVE_TURN = re.compile(r"(?:^|\n)[ \t]*(USER|ASSISTANT|FUNCTION RESPONSE):[ \t]?")

_END = "<|endoftext|>"


def _glaive_functions(system: str) -> list[Any]:
    """The JSON objects that follow the glaive system text ("... Use them if required -")."""
    out, dec = [], json.JSONDecoder()
    i = system.find("{")
    while i != -1:
        try:
            obj, end = dec.raw_decode(system, i)
        except ValueError:
            raise RowError(f"function definition at char {i} of the system text is not JSON") from None
        out.append(obj)
        i = system.find("{", end)
    return out


def from_glaive(row: dict, rid: str) -> Example:
    system, chat = _text(row.get("system"), "system"), _text(row.get("chat"), "chat")
    if not chat.strip():
        raise RowError("empty chat")
    server = make_server("glaive", _glaive_functions(system))
    marks = list(_GLAIVE_TURN.finditer(chat))
    if not marks:
        raise RowError("no USER/ASSISTANT turns in the chat")
    messages: list[Message] = []
    pending: list[ToolCall] = []
    for k, mk in enumerate(marks):
        end = marks[k + 1].start() if k + 1 < len(marks) else len(chat)
        body = chat[mk.end() : end].replace(_END, "").strip()
        who = mk.group(1)
        if who == "USER":
            messages.append(Message(role="user", content=body))
        elif who == "ASSISTANT":
            text, _, call_text = body.partition("<functioncall>")
            calls = (
                [_call(server, _as_json(call_text.strip(), "a <functioncall>"))] if call_text.strip() else []
            )
            messages.append(Message(role="assistant", content=text.strip(), calls=calls))
            pending = list(calls)
        else:
            try:
                content: Any = loads_lenient(body)
            except ValueError:
                content = body
            messages.append(_result(content, pending.pop(0) if pending else None))
    return _finish("glaive", rid, server, messages)


def _strict_json(v: Any, what: str) -> Any:
    """A JSON string (strictly: the OpenAI and ShareGPT formats are JSON, not Python literals) or a value as is."""
    if not isinstance(v, str):
        return v
    try:
        return json.loads(v)
    except ValueError as e:
        raise RowError(f"{what} is not JSON: {e}") from None


def _chat_call(fn: Any, declared: dict[str, tuple[str, str]], where: str) -> ToolCall:
    """`{"name", "arguments"}` (arguments an object or a JSON string) -> a call of a declared function."""
    if not isinstance(fn, dict) or not isinstance(fn.get("name"), str):
        raise RowError(f"{where}: a call must be an object with a name, got {str(fn)[:80]!r}")
    name = fn["name"]
    if name not in declared:
        raise RowError(f"{where}: call to undeclared function {name!r}")
    args = _strict_json(fn.get("arguments"), f"{where}: arguments of {name!r}")
    if args in (None, ""):
        args = {}
    if not isinstance(args, dict):
        raise RowError(f"{where}: arguments of {name!r} must be a JSON object, got {type(args).__name__}")
    server, tool = declared[name]
    return ToolCall(server=server, tool=tool, arguments=args)


def _openai_content(v: Any, where: str) -> str:
    if v is None or isinstance(v, str):
        return v or ""
    if isinstance(v, list) and all(isinstance(p, dict) and p.get("type") == "text" for p in v):
        return "".join(_text(p.get("text"), f"{where}: a text part") for p in v)
    raise RowError(f"{where}: content must be text or a list of text parts")


def _openai_servers(row: dict, tools: list) -> tuple[list[Server], dict[str, tuple[str, str]], Any]:
    """(servers, function name -> (server, tool), the row's `mcpft` metadata or None)."""
    raw = row.get(openai_format.METADATA_KEY)
    if raw is None:
        server = make_server("openai", tools)
        return [server], {t.name: (server.name, t.name) for t in server.tools}, None
    try:
        info = openai_format.RowMeta.model_validate(_strict_json(raw, "mcpft"))
    except ValidationError as e:
        raise RowError(
            f"mcpft metadata: {validate._pydantic_reason(e).removeprefix('invalid example: ')}"
        ) from None
    found: dict[str, list[Tool]] = {s.name: [] for s in info.servers}
    declared = {}
    for fn in (t.get("function", t) if isinstance(t, dict) else t for t in tools):
        name = fn.get("name") if isinstance(fn, dict) else None
        if name not in info.functions:
            raise RowError(f"tool {name!r} is not in mcpft.functions")
        server, tool = declared[name] = info.functions[name]
        if server not in found:
            raise RowError(f"function {name!r} maps to server {server!r}, which mcpft.servers does not list")
        if tool != RESOURCE_TOOL:
            schema = _strict_json(fn.get("parameters"), f"parameters of {name!r}")
            tool_ = Tool(name=tool, description=fn.get("description") or "")
            found[server].append(
                tool_ if schema is None else tool_.model_copy(update={"inputSchema": schema})
            )
    servers = [Server(**s.model_dump(), tools=found[s.name]) for s in info.servers]
    return servers, declared, info


def from_openai(row: dict, rid: str) -> Example:
    msgs = row.get("messages")
    if not isinstance(msgs, list) or not msgs:
        raise RowError("no `messages` list")
    tools = _strict_json(row["tools"] if row.get("tools") is not None else row.get("functions"), "tools")
    if not tools:
        raise RowError("no tools: the row has neither `tools` nor `functions`")
    if not isinstance(tools, list):
        raise RowError(f"tools must be a list, got {type(tools).__name__}")
    servers, declared, info = _openai_servers(row, tools)
    messages: list[Message] = []
    system: str | None = None
    pending: list[tuple[Any, str, ToolCall]] = []  # (call id, function name, call) awaiting a result
    for i, m in enumerate(msgs):
        where = f"message {i}"
        if not isinstance(m, dict):
            raise RowError(f"{where}: must be an object")
        role, content = m.get("role"), _openai_content(m.get("content"), where)
        if role in ("system", "developer"):
            if messages:
                raise RowError(f"{where}: a {role} message after the conversation started")
            system = content if system is None else f"{system}\n\n{content}"
        elif role == "user":
            messages.append(Message(role="user", content=content))
            pending = []
        elif role == "assistant":
            tcs = m.get("tool_calls") or []
            if m.get("function_call") is not None:  # legacy: one call, its result has role "function"
                tcs = [{"function": m["function_call"]}]
            if not isinstance(tcs, list):
                raise RowError(f"{where}: tool_calls must be a list")
            pending = []
            for tc in tcs:
                fn = tc.get("function", tc) if isinstance(tc, dict) else tc
                call = _chat_call(fn, declared, where)
                pending.append((tc.get("id") if isinstance(tc, dict) else None, fn["name"], call))
            messages.append(Message(role="assistant", content=content, calls=[c for *_, c in pending]))
        elif role in ("tool", "function"):
            cid, name = m.get("tool_call_id"), m.get("name")
            if not pending:
                raise RowError(f"{where}: tool result without a preceding call")
            at = next((k for k, (c, n, _) in enumerate(pending) if (c == cid if cid else n == name)), None)
            if at is None and (cid is not None or role == "function"):
                raise RowError(f"{where}: the result of {cid or name!r} matches no pending call")
            _, _, call = pending.pop(at or 0)
            k = len(messages)
            is_error = k in info.errors if info else content.startswith(openai_format.ERROR_PREFIX)
            if is_error:
                content = content.removeprefix(openai_format.ERROR_PREFIX)
            linked = None if info and k in info.unlinked else call
            messages.append(Message(role="tool", content=content, is_error=is_error, call=linked))
        else:
            raise RowError(f"{where}: unknown role {role!r}")
    if info is None:
        ex = _finish("openai", rid, servers[0], messages)
    else:
        ex = Example(id=info.id, servers=servers, messages=messages, category=info.category,
                     difficulty=info.difficulty, provenance=info.provenance, meta=info.meta)  # fmt: skip
    if system is not None and system != openai_format.system_prompt(ex.servers):
        ex.meta["system"] = system
    return ex


_SHAREGPT_ROLES = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant",
                   "function_call": "call", "observation": "result", "system": "system"}  # fmt: skip


def from_sharegpt(row: dict, rid: str) -> Example:
    conv = row.get("conversations")
    if not isinstance(conv, list) or not conv:
        hint = " (OpenAI-style `messages`: use source: openai)" if "messages" in row else ""
        raise RowError(f"no `conversations` list{hint}")
    tools = _strict_json(row.get("tools"), "tools")
    if not tools:
        raise RowError("no tools: `tools` is missing or empty")
    if not isinstance(tools, list):
        raise RowError(f"tools must be a JSON list of function definitions, got {type(tools).__name__}")
    server = make_server("sharegpt", tools)
    declared = {t.name: (server.name, t.name) for t in server.tools}
    system = _text(row.get("system"), "system") or None
    messages: list[Message] = []
    pending: list[ToolCall] = []
    for k, turn in enumerate(conv):
        where = f"turn {k}"
        if not isinstance(turn, dict):
            raise RowError(f"{where}: must be an object with `from` and `value`")
        who, value = turn.get("from"), _text(turn.get("value"), f"{where}: value")
        role = _SHAREGPT_ROLES.get(who) if isinstance(who, str) else None
        if role is None:
            raise RowError(f"{where}: unknown role {who!r}")
        if role == "system":
            if messages:
                raise RowError(f"{where}: a system turn after the conversation started")
            system = value
        elif role in ("user", "assistant"):
            messages.append(Message(role=role, content=value))
            pending = []
        elif role == "call":
            found = _strict_json(value, f"{where} (function_call): the value")
            pending = [
                _chat_call(c, declared, where) for c in (found if isinstance(found, list) else [found])
            ]
            last = messages[-1] if messages else None
            if last is not None and last.role == "assistant" and not last.calls:  # text, then its calls
                last.calls = list(pending)
            else:
                messages.append(Message(role="assistant", calls=list(pending)))
        else:
            if not pending:
                raise RowError(f"{where} (observation): tool result without a preceding function_call")
            parts = [value]
            if len(pending) > 1:  # parallel calls: a JSON list with one result per call
                try:
                    found = json.loads(value)
                except ValueError:
                    found = None
                if isinstance(found, list) and len(found) == len(pending):
                    parts = [p if isinstance(p, str) else json.dumps(p, ensure_ascii=False) for p in found]
            for part in parts:
                try:
                    parsed: Any = json.loads(part)
                except ValueError:
                    parsed = None
                is_error = isinstance(parsed, dict) and "error" in parsed
                messages.append(Message(role="tool", content=part, is_error=is_error, call=pending.pop(0)))
    ex = _finish("sharegpt", rid, server, messages)
    if system is not None:
        ex.meta["system"] = system
    return ex


CONVERTERS = {
    "xlam": from_xlam,
    "hermes": from_hermes,
    "glaive": from_glaive,
    "openai": from_openai,
    "sharegpt": from_sharegpt,
}


# ----------------------------------------------------------------------------------------------------------
# Reading sources


def _offline_hint(ident: str, e: Exception) -> ImportError_:
    first = str(e).splitlines()[0][:200] if str(e) else ""
    return ImportError_(
        f"could not load dataset {ident!r} from the Hugging Face hub ({type(e).__name__}: {first}). "
        f"If this machine is offline, download it elsewhere with `hf download {ident} --repo-type dataset "
        "--local-dir DIR` and set data.import[].path_or_id to a .json, .jsonl or .parquet file in DIR."
    )


def read_rows(path_or_id: str, limit: int | None = None) -> Iterable[tuple[str, Any]]:
    """(row label, raw row) pairs from a local file or a hub id; a bad JSONL line yields its text (quarantined)."""
    p = Path(path_or_id).expanduser()
    looks_local = (
        p.suffix.lower() in (".json", ".jsonl", ".parquet") or p.exists() or path_or_id.startswith(".")
    )
    if looks_local:
        if p.is_dir():
            raise ImportError_(f"{path_or_id}: is a folder; name a .json, .jsonl or .parquet file in it")
        if not p.is_file():
            raise ImportError_(f"{path_or_id}: no such file (data.import[].path_or_id)")
        suffix = p.suffix.lower()
        if suffix == ".jsonl":
            with open(p, encoding="utf-8", errors="replace") as f:
                n = 0
                for line_no, line in enumerate(f, 1):
                    if not line.strip():
                        continue
                    if limit is not None and n >= limit:
                        return
                    n += 1
                    yield f"{p.name}:{line_no}", line
            return
        if suffix == ".json":
            try:
                rows = json.loads(p.read_text(encoding="utf-8"))
            except (ValueError, RecursionError) as e:
                raise ImportError_(f"{p}: not valid JSON ({e})") from None
            if isinstance(rows, dict):
                rows = next((v for v in rows.values() if isinstance(v, list)), [rows])
            if not isinstance(rows, list):
                raise ImportError_(f"{p}: expected a JSON list of rows")
            for k, row in enumerate(rows[:limit] if limit is not None else rows):
                yield f"{p.name}[{k}]", row
            return
        if suffix == ".parquet":
            from datasets import Dataset

            ds = Dataset.from_parquet(str(p))
            for k in range(len(ds) if limit is None else min(limit, len(ds))):
                yield f"{p.name}[{k}]", ds[k]
            return
        raise ImportError_(f"{p}: unsupported file type {suffix!r} (use .json, .jsonl or .parquet)")
    if "/" not in path_or_id:
        raise ImportError_(
            f"{path_or_id!r} is neither a local .json/.jsonl/.parquet file nor a hub id (owner/name)"
        )
    import datasets

    split = "train" if limit is None else f"train[:{limit}]"
    try:
        ds = datasets.load_dataset(path_or_id, split=split)
    except Exception as e:  # offline, gated, unknown id: one clear message
        raise _offline_hint(path_or_id, e) from None
    for k in range(len(ds)):
        yield f"{path_or_id}[{k}]", ds[k]


def import_source(source: str, path_or_id: str, limit: int | None = None) -> tuple[list[Example], list[dict]]:
    """Convert one source; returns (valid examples, quarantine records {source, row, reason, raw})."""
    if source not in CONVERTERS:
        raise ImportError_(f"unknown import source {source!r}; expected one of {SOURCES}")
    convert = CONVERTERS[source]
    good: list[Example] = []
    quarantine: list[dict] = []
    seen: set[str] = set()
    for label, raw in read_rows(path_or_id, limit):

        def bad(reason: str, label: str = label, raw: Any = raw) -> None:
            text = raw if isinstance(raw, str) else json.dumps(raw, ensure_ascii=False, default=str)
            quarantine.append({"source": source, "row": label, "reason": reason, "raw": text[:500]})

        row = raw
        if isinstance(raw, str):
            try:
                row = json.loads(raw)
            except (ValueError, RecursionError) as e:
                bad(f"bad JSON: {e}")
                continue
        if not isinstance(row, dict):
            bad(f"a row must be an object, got {type(row).__name__}")
            continue
        rid = str(
            row.get("id")
            or hashlib.sha256(json.dumps(row, sort_keys=True, default=str).encode()).hexdigest()[:12]
        )
        try:
            ex = convert(row, rid)
        except RowError as e:
            bad(str(e))
            continue
        except ValueError as e:  # pydantic ValidationError is a ValueError
            bad(f"invalid example: {' '.join(str(e).split())[:300]}")
            continue
        except Exception as e:  # a row shape no converter foresaw: quarantined, never fatal
            bad(f"cannot convert: {type(e).__name__}: {e}"[:300])
            continue
        if reasons := validate.admit(ex, seen):
            bad("; ".join(reasons))
            continue
        good.append(ex)
    return good, quarantine


def import_all(specs: Iterable[Any]) -> tuple[list[Example], list[dict]]:
    """Every `data.import` entry (objects with source, path_or_id, limit) -> (examples, quarantine)."""
    good: list[Example] = []
    quarantine: list[dict] = []
    for spec in specs:
        g, q = import_source(spec.source, spec.path_or_id, spec.limit)
        good += g
        quarantine += q
    return good, quarantine
