"""Schema-driven examples for any MCP tool, zero code per tool: requests, reference calls, results and answers.

From a tool's name, description and `inputSchema` alone, `Synthesizer` writes examples of every category that
applies (single call, several calls in one turn, two-step, error handling, clarification, no tool fits, resource
reads, long context, values stated indirectly, code in the request). The offered tool list mixes the called server
with distractor servers (1-30 tools, shuffled), and a share of examples renames tools and parameters so that only
their descriptions tell them apart. Every reference call is validated against its schema before it is emitted.
"""

from __future__ import annotations

import json
import re
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from random import Random
from typing import Any

from mcpft_lib.core.schema import RESOURCE_TOOL, Example, Message, Server, Tool, ToolCall
from mcpft_lib.data.generate import example_id
from mcpft_lib.data.synth import phrasing as ph
from mcpft_lib.data.synth.values import ValueMaker, resolve, semantic_pool, words

# categories the synthesizer writes, in CATEGORIES order
SYNTH_CATEGORIES = ("single_call", "multi_step", "error_handling", "clarification", "no_tool", "code_understanding",
                    "large_context", "reasoning", "resource_access", "parallel")  # fmt: skip
DEFAULT_MIX = {"single_call": 0.30, "multi_step": 0.10, "error_handling": 0.07, "clarification": 0.08,
               "no_tool": 0.15, "code_understanding": 0.04, "large_context": 0.06, "reasoning": 0.06,
               "resource_access": 0.04, "parallel": 0.10}  # fmt: skip
_CODE_POOLS = {"sql", "code", "command", "selector", "glob"}
_ERRORS = ["{label} '{value}' not found", "404 Not Found: no resource matches {value}", "401 Unauthorized: the API token was rejected",
           "429 Too Many Requests: rate limit exceeded, retry in 30s", "permission denied for {value}",
           "invalid {label}: {value}"]  # fmt: skip


@lru_cache(maxsize=65536)
def _validator(schema_json: str):
    from jsonschema import Draft202012Validator
    from jsonschema.validators import validator_for

    schema = json.loads(schema_json)
    return validator_for(schema, default=Draft202012Validator)(schema)


def schema_errors(tool: Tool, arguments: dict[str, Any]) -> list[str]:
    """Why `arguments` do not satisfy the tool's inputSchema (empty when valid)."""
    v = _validator(json.dumps(tool.inputSchema, sort_keys=True))
    return [e.message for e in v.iter_errors(arguments)][:3]


@dataclass
class Options:
    categories: tuple[str, ...] = SYNTH_CATEGORIES
    mix: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_MIX))
    parallel: bool = (
        True  # several calls in one assistant turn (native dialect); else `parallel` is not written
    )
    rename_fraction: float = 0.2  # examples whose tools and parameters get meaningless names
    max_tools: int = 30  # offered tools per example, distractors included
    distractor_p: float = 0.75  # examples that list other servers beside the called one
    optional_p: float = 0.35  # an optional parameter is set (and stated in the request)
    near_miss_p: float = 0.5  # no_tool examples asking the called server for a tool it does not offer


class Synthesizer:
    """Writes examples for the tools of `servers`; `distractors` are other servers to offer beside them."""

    def __init__(self, servers: list[Server], distractors: list[Server] | None = None, options: Options | None = None,
                 families: dict[str, str] | None = None):  # fmt: skip
        self.servers = [s for s in servers if s.tools]
        if not self.servers:
            raise ValueError("no server with tools to synthesize examples for")
        self.opt = options or Options()
        self.family = families or {}
        # the servers themselves may distract too (the pool trains and distracts): `offer` leaves out the called
        # server and its family per example
        self.distractors = [s for s in (distractors or []) if s.tools]
        names = {s.name for s in self.distractors}
        self.others = self.distractors + [
            s for s in self.servers if s.name not in names
        ]  # irrelevant requests

    # -- categories ---------------------------------------------------------------------------------------------
    def applicable(self, server: Server) -> list[str]:
        out = ["single_call", "multi_step", "error_handling", "reasoning", "large_context"]
        if any(_required_stated(t) for t in server.tools):
            out.append("clarification")
        if len(self.others) > 1:
            out.append("no_tool")
        if any(_code_param(t) for t in server.tools):
            out.append("code_understanding")
        if server.resources:
            out.append("resource_access")
        if self.opt.parallel and any(t.inputSchema.get("properties") for t in server.tools):
            out.append("parallel")
        return [c for c in out if c in self.opt.categories]

    def example(self, r: Random, category: str, server: Server) -> Example:
        build: Callable[[Random, Server], tuple[list[Message], list[Server], dict]] = getattr(
            self, f"_{category}"
        )
        messages, offered, meta = build(r, server)
        ex = Example(id="", servers=offered, messages=messages, category=category,
                     difficulty=meta.pop("difficulty", "easy"), provenance="synth", meta=meta)  # fmt: skip
        return ex.model_copy(update={"id": "synth-" + example_id(ex)})

    # -- building blocks ----------------------------------------------------------------------------------------
    def args_for(self, r: Random, tool: Tool, vm: ValueMaker, force_optional: bool = False) -> dict[str, Any]:
        s = tool.inputSchema
        for _ in range(4):
            args = vm.obj(s, s, 0, optional_p=1.0 if force_optional else self.opt.optional_p)
            if not schema_errors(tool, args):
                return args
        raise ValueError(f"no schema-valid arguments for {tool.name}: {schema_errors(tool, args)}")

    def mentions(self, r: Random, tool: Tool, args: dict[str, Any], in_words: bool = False) -> list[str]:
        props = tool.inputSchema.get("properties") or {}
        keys = list(args)
        r.shuffle(keys)
        return [
            ph.mention(k, resolve(props.get(k, {}), tool.inputSchema), args[k], r, in_words) for k in keys
        ]

    def offer(self, r: Random, server: Server, must: set[str], n_tools: int | None = None,
              exclude: set[str] | None = None) -> list[Server]:  # fmt: skip
        """The called server (its called tools + others) and distractor servers, shuffled, ≤ max_tools tools."""
        budget = n_tools or _tool_budget(r, self.opt.max_tools)
        own = [t for t in server.tools if t.name in must]
        rest = [t for t in server.tools if t.name not in must]
        r.shuffle(rest)
        keep_own = max(len(own), min(len(server.tools), r.randint(max(1, len(own)), max(len(own), budget))))
        own_tools = own + rest[: keep_own - len(own)]
        offered = [_with_tools(server, own_tools, r)]
        left = budget - len(own_tools)
        fam = self.family.get(server.name, server.name)
        banned = (exclude or set()) | {server.name}
        pool = [
            d for d in self.distractors if d.name not in banned and self.family.get(d.name, d.name) != fam
        ]
        if pool and left > 0 and r.random() < self.opt.distractor_p:
            for d in r.sample(pool, min(len(pool), r.randint(1, 4))):
                if left <= 0:
                    break
                tools = list(d.tools)
                r.shuffle(tools)
                k = min(left, len(tools), r.randint(1, max(1, min(8, left))))
                offered.append(_with_tools(d, tools[:k], r))
                left -= k
        r.shuffle(offered)
        return offered

    def result(self, r: Random, tool: Tool, args: dict[str, Any], vm: ValueMaker) -> str:
        return json.dumps(_result_value(r, tool, args, vm), ensure_ascii=False)

    def _pick_tool(self, r: Random, server: Server, pred: Callable[[Tool], bool] | None = None) -> Tool:
        tools = [t for t in server.tools if pred is None or pred(t)] or server.tools
        return r.choice(tools)

    def _call_turn(self, r: Random, server: Server, tool: Tool, args: dict[str, Any], vm: ValueMaker,
                   answer: bool = True) -> list[Message]:  # fmt: skip
        c = ToolCall(server=server.name, tool=tool.name, arguments=args)
        res = self.result(r, tool, args, vm)
        msgs = [Message(role="assistant", calls=[c]), Message(role="tool", content=res, call=c)]
        if answer:
            msgs.append(Message(role="assistant", content=_answer(r, tool, json.loads(res))))
        return msgs

    # -- one builder per category -------------------------------------------------------------------------------
    def _single_call(self, r: Random, server: Server, in_words: bool = False, context: str = "",
                     pred: Callable[[Tool], bool] | None = None, n_tools: int | None = None):  # fmt: skip
        vm = ValueMaker(r)
        tool = self._pick_tool(r, server, pred)
        args = self.args_for(r, tool, vm)
        ments = self.mentions(r, tool, args, in_words)
        req = ph.request(ph.action(tool.name, tool.description, r), ments, r)
        req = ph.noisy(req, r, [str(v) for v in args.values()])
        offered = self.offer(r, server, {tool.name}, n_tools)
        msgs = [Message(role="user", content=context + req), *self._call_turn(r, server, tool, args, vm)]
        return self._masked(r, msgs, offered, {"tool": f"{server.name}/{tool.name}"})

    def _reasoning(self, r: Random, server: Server):
        """Values stated indirectly: counts in words, flags as phrases."""
        msgs, offered, meta = self._single_call(r, server, in_words=True)
        return msgs, offered, {**meta, "difficulty": "medium"}

    def _large_context(self, r: Random, server: Server):
        ctx = r.choice(ph.text()["contexts"])
        msgs, offered, meta = self._single_call(
            r, server, context=ctx, n_tools=max(12, self.opt.max_tools // 2)
        )
        return msgs, offered, {**meta, "difficulty": "hard"}

    def _code_understanding(self, r: Random, server: Server):
        msgs, offered, meta = self._single_call(r, server, pred=_code_param)
        return msgs, offered, {**meta, "difficulty": "medium"}

    def _multi_step(self, r: Random, server: Server):
        vm = ValueMaker(r)
        if len(server.tools) > 1:
            t1, t2 = r.sample(server.tools, 2)
        else:
            t1 = t2 = server.tools[0]
        a1, a2 = self.args_for(r, t1, vm), self.args_for(r, t2, vm)
        r1 = ph.join(self.mentions(r, t1, a1), r)
        r2 = ph.join(self.mentions(r, t2, a2), r)
        s1 = f"{ph.action(t1.name, t1.description, r)} {r1}".strip()
        s2 = f"{ph.action(t2.name, t2.description, r)} {r2}".strip()
        req = r.choice(ph.text()["multi"]).format(A=ph.cap(s1), a=s1, b=s2)
        req = ph.noisy(req, r, [str(v) for v in (*a1.values(), *a2.values())])
        steps = self._call_turn(r, server, t1, a1, vm, answer=False) + self._call_turn(r, server, t2, a2, vm)
        offered = self.offer(r, server, {t1.name, t2.name})
        meta = {"tool": f"{server.name}/{t1.name}", "difficulty": "medium"}
        return self._masked(r, [Message(role="user", content=req), *steps], offered, meta)

    def _parallel(self, r: Random, server: Server):
        vm = ValueMaker(r)
        tool = self._pick_tool(r, server, lambda t: bool(t.inputSchema.get("properties")))
        a1 = self.args_for(r, tool, vm)
        for _ in range(6):
            a2 = self.args_for(r, tool, vm)
            diff = [k for k in a1 if a2.get(k) != a1[k]]
            if a2 != a1 and set(a2) == set(a1) and diff:
                break
        else:
            raise ValueError(f"no second distinct call for {tool.name}")
        same = {k: a1[k] for k in a1 if k not in diff}
        key = diff[0]
        props = tool.inputSchema.get("properties") or {}
        rest = [k for k in diff if k != key]
        if rest:  # values that differ beyond the first key: state them per call
            v1 = ph.join([ph.mention(k, props.get(k, {}), a1[k], r) for k in diff], r)
            v2 = ph.join([ph.mention(k, props.get(k, {}), a2[k], r) for k in diff], r)
        else:
            v1, v2 = ph.show(a1[key], r), ph.show(a2[key], r)
            if isinstance(a1[key], bool):
                v1, v2 = (
                    ph.mention(key, props.get(key, {}), a1[key], r),
                    ph.mention(key, props.get(key, {}), a2[key], r),
                )
        base = ph.action(tool.name, tool.description, r)
        shared = ph.join([ph.mention(k, props.get(k, {}), v, r) for k, v in same.items()], r)
        act = f"{base} ({shared})" if shared else base
        req = r.choice(ph.text()["parallel"]).format(A=ph.cap(act), a=act, v1=v1, v2=v2)
        req = ph.noisy(req, r, [str(v) for v in (*a1.values(), *a2.values())])
        c1 = ToolCall(server=server.name, tool=tool.name, arguments=a1)
        c2 = ToolCall(server=server.name, tool=tool.name, arguments=a2)
        res1, res2 = self.result(r, tool, a1, vm), self.result(r, tool, a2, vm)
        msgs = [Message(role="user", content=req), Message(role="assistant", calls=[c1, c2]),
                Message(role="tool", content=res1, call=c1), Message(role="tool", content=res2, call=c2),
                Message(role="assistant", content=_answer(r, tool, json.loads(res2), multi=True))]  # fmt: skip
        return self._masked(r, msgs, self.offer(r, server, {tool.name}), {"tool": f"{server.name}/{tool.name}",
                                                                          "difficulty": "medium"})  # fmt: skip

    def _clarification(self, r: Random, server: Server):
        vm = ValueMaker(r)
        tool = self._pick_tool(r, server, _required_stated)
        args = self.args_for(r, tool, vm)
        props = tool.inputSchema.get("properties") or {}
        missing = r.choice(
            [
                k
                for k in tool.inputSchema.get("required", [])
                if k in args and _stateable(props.get(k, {}), args[k])
            ]
        )
        lab = ph.label(missing, props.get(missing, {}))
        told = {k: v for k, v in args.items() if k != missing}
        req = ph.request(ph.action(tool.name, tool.description, r), self.mentions(r, tool, told), r)
        req = ph.noisy(req, r, [str(v) for v in told.values()])
        c = ph.text()["clarify"]
        msgs = [Message(role="user", content=req),
                Message(role="assistant", content=r.choice(c["question"]).format(label=lab)),
                Message(role="user", content=r.choice(c["reply"]).format(label=lab, value=ph.show(args[missing], r))),
                *self._call_turn(r, server, tool, args, vm)]  # fmt: skip
        meta = {"tool": f"{server.name}/{tool.name}", "missing": missing, "difficulty": "medium"}
        return self._masked(r, msgs, self.offer(r, server, {tool.name}), meta)

    def _error_handling(self, r: Random, server: Server):
        vm = ValueMaker(r)
        tool = self._pick_tool(r, server)
        args = self.args_for(r, tool, vm)
        req = ph.request(ph.action(tool.name, tool.description, r), self.mentions(r, tool, args), r)
        req = ph.noisy(req, r, [str(v) for v in args.values()])
        key = next(iter(args), "")
        err = r.choice(_ERRORS).format(
            label=ph.label(key, {}) if key else "resource", value=args.get(key, tool.name)
        )
        c = ToolCall(server=server.name, tool=tool.name, arguments=args)
        a = ph.text()["answers"]
        answer = r.choice(a["error"]).format(error=err, Advice=r.choice(a["advice"]))
        msgs = [Message(role="user", content=req), Message(role="assistant", calls=[c]),
                Message(role="tool", content=f"Error: {err}", is_error=True, call=c),
                Message(role="assistant", content=answer)]  # fmt: skip
        return self._masked(r, msgs, self.offer(r, server, {tool.name}), {"tool": f"{server.name}/{tool.name}",
                                                                          "difficulty": "hard"})  # fmt: skip

    def _no_tool(self, r: Random, server: Server):
        """A request no offered tool can serve: for a tool of the called server that is left out of the offer (a
        near miss, as in BFCL's irrelevance: the right server, no tool that does it; `near_miss_p` of them, where
        the server's other tools are unlike it), else for a tool of a server that is not offered."""
        vm = ValueMaker(r)
        if len(server.tools) > 1 and r.random() < self.opt.near_miss_p:
            tool = r.choice(server.tools)
            rest = server.model_copy(update={"tools": [t for t in server.tools if t.name != tool.name]})
            offered = self.offer(r, rest, set())
            if not _overlaps(tool, offered):
                return self._irrelevant(r, tool, server, offered, vm, "near_miss")
        fam = self.family.get(server.name, server.name)
        others = [s for s in self.others if s.name != server.name and self.family.get(s.name, s.name) != fam]
        src = r.choice(others)
        tool = r.choice(src.tools)
        offered = self.offer(
            r,
            server,
            set(),
            exclude={src.name}
            | {
                s.name
                for s in others
                if self.family.get(s.name, s.name) == self.family.get(src.name, src.name)
            },
        )
        if _overlaps(tool, offered):
            raise ValueError("an offered tool may serve the irrelevant request")
        return self._irrelevant(r, tool, src, offered, vm, "other_server")

    def _irrelevant(
        self, r: Random, tool: Tool, src: Server, offered: list[Server], vm: ValueMaker, kind: str
    ):
        args = self.args_for(r, tool, vm)
        act = ph.action(tool.name, tool.description, r)
        req = ph.noisy(ph.request(act, self.mentions(r, tool, args), r), r, [str(v) for v in args.values()])
        listed = ", ".join(s.name for s in offered)
        answer = r.choice(ph.text()["answers"]["irrelevant"]).format(
            action=ph.base_action(tool.name, tool.description), offered=listed
        )
        msgs = [Message(role="user", content=req), Message(role="assistant", content=answer)]
        meta = {"kind": "irrelevance", "asked": f"{src.name}/{tool.name}", "irrelevance": kind}
        return self._masked(r, msgs, offered, meta)

    def _resource_access(self, r: Random, server: Server):
        res = r.choice(server.resources)
        what = res.name or res.uri
        req = r.choice(
            [f"Show me {what}.", f"what's in {res.uri}?", f"Read the {what} resource.", f"open {res.uri}"]
        )
        c = ToolCall(server=server.name, tool=RESOURCE_TOOL, arguments={"uri": res.uri})
        body = res.description or f"contents of {what}"
        a = r.choice(ph.text()["answers"]["resource"]).format(name=what, Name=ph.cap(what), summary=body)
        msgs = [Message(role="user", content=req), Message(role="assistant", calls=[c]),
                Message(role="tool", content=body, call=c), Message(role="assistant", content=a)]  # fmt: skip
        return msgs, self.offer(r, server, set()), {"tool": f"{server.name}/{RESOURCE_TOOL}"}

    # -- masking ------------------------------------------------------------------------------------------------
    def _masked(self, r: Random, msgs: list[Message], offered: list[Server], meta: dict):
        if r.random() >= self.opt.rename_fraction:
            return msgs, offered, meta
        return (*mask(r, msgs, offered), {**meta, "renamed": True})


def mask(r: Random, msgs: list[Message], offered: list[Server]) -> tuple[list[Message], list[Server]]:
    """Tools and described parameters renamed to meaningless identifiers (function masking), consistently."""
    tool_map: dict[tuple[str, str], str] = {}
    param_map: dict[tuple[str, str], dict[str, str]] = {}
    servers = []
    for s in offered:
        tools = []
        for t in s.tools:
            new = _token(r, "fn")
            tool_map[(s.name, t.name)] = new
            props = t.inputSchema.get("properties") or {}
            pm = {k: _token(r, "p") for k, v in props.items() if isinstance(v, dict) and v.get("description")}
            param_map[(s.name, t.name)] = pm
            schema = dict(t.inputSchema)
            if pm:
                schema["properties"] = {pm.get(k, k): v for k, v in props.items()}
                if "required" in schema:
                    schema["required"] = [pm.get(k, k) for k in schema["required"]]
            tools.append(Tool(name=new, description=t.description, inputSchema=schema))
        servers.append(s.model_copy(update={"tools": tools}))

    def call(c: ToolCall) -> ToolCall:
        key = (c.server, c.tool)
        if key not in tool_map:
            return c
        pm = param_map[key]
        return ToolCall(
            server=c.server, tool=tool_map[key], arguments={pm.get(k, k): v for k, v in c.arguments.items()}
        )

    out = [m.model_copy(update={"calls": [call(c) for c in m.calls], "call": call(m.call) if m.call else None})
           for m in msgs]  # fmt: skip
    return out, servers


def _token(r: Random, prefix: str) -> str:
    return f"{prefix}_" + "".join(r.choice(string.ascii_lowercase + string.digits) for _ in range(5))


def _tool_budget(r: Random, max_tools: int) -> int:
    """Tools offered in one example: mostly a handful, sometimes many (1..max_tools)."""
    return min(
        max_tools,
        max(1, int(round(r.choice([2, 3, 4, 5, 6, 8, 10, 12, 16, 20, 25, 30]) * r.uniform(0.7, 1.1)))),
    )


def _with_tools(server: Server, tools: list[Tool], r: Random) -> Server:
    tools = list(tools)
    r.shuffle(tools)
    return server.model_copy(update={"tools": tools, "resources": server.resources})


def _stateable(schema: dict[str, Any], value: Any) -> bool:
    return isinstance(value, (str, int, float)) and not isinstance(value, bool) and "enum" not in schema


def _required_stated(tool: Tool) -> bool:
    props = tool.inputSchema.get("properties") or {}
    return any(k in props and props[k].get("type") in ("string", "integer", "number") and "enum" not in props[k]
               for k in tool.inputSchema.get("required", []))  # fmt: skip


def _code_param(tool: Tool) -> bool:
    props = tool.inputSchema.get("properties") or {}
    return any(semantic_pool(k, (v or {}).get("description", "") if isinstance(v, dict) else "") in _CODE_POOLS
               for k, v in props.items())  # fmt: skip


_CONTENT = re.compile(r"[a-z]{4,}")
_COMMON = {"with", "from", "that", "this", "list", "file", "name", "data", "into", "when", "your", "given", "using",
           "specified", "specific", "returns", "return", "about"}  # fmt: skip


def _content_words(tool: Tool) -> set[str]:
    return {w for w in _CONTENT.findall((words(tool.name) + " " + ph.base_action(tool.name, tool.description)).lower())
            if w not in _COMMON}  # fmt: skip


def _overlaps(tool: Tool, offered: list[Server]) -> bool:
    """Whether an offered tool looks like it does what `tool` does (same name, or most content words shared)."""
    mine = _content_words(tool)
    for s in offered:
        for t in s.tools:
            if t.name == tool.name:
                return True
            theirs = _content_words(t)
            if mine and theirs and len(mine & theirs) / min(len(mine), len(theirs)) >= 0.5:
                return True
    return False


_LIST_VERBS = {"list", "search", "find", "query", "browse", "lookup", "look", "filter", "fetch", "get"}
_CREATE_VERBS = {"create", "add", "new", "post", "send", "insert", "upload", "write", "make", "open", "save"}
_CHANGE_VERBS = {
    "update",
    "set",
    "edit",
    "modify",
    "rename",
    "move",
    "change",
    "patch",
    "close",
    "merge",
    "assign",
}
_DELETE_VERBS = {"delete", "remove", "drop", "archive", "cancel", "clear"}


def _result_value(r: Random, tool: Tool, args: dict[str, Any], vm: ValueMaker) -> Any:
    out_schema = getattr(tool, "outputSchema", None)
    if isinstance(out_schema, dict) and out_schema.get("properties"):
        return vm.obj(out_schema, out_schema, 0, optional_p=0.6)
    verb = (words(tool.name).split() or ["run"])[0]
    ident = r.choice(["a3f9c2e", "1042", "INV-2041", "PROJ-318", "58213", "cus_9Xk2LmQ", "evt_77Qa", "3141"])
    echo = {k: v for k, v in list(args.items())[:2] if isinstance(v, (str, int, float, bool))}
    if verb in _CREATE_VERBS:
        return {"id": ident, "status": "created", **echo}
    if verb in _CHANGE_VERBS:
        return {"id": ident, "status": "updated", **echo}
    if verb in _DELETE_VERBS:
        return {"status": "deleted", **echo}
    if verb in {"list", "search", "find", "query", "browse"} or verb.endswith("s"):
        n = r.randint(0, 3)
        names = r.sample(["alpha", "billing-report", "Q3 roadmap", "onboarding", "incident-4821", "release-2.4",
                          "customer-feedback", "infra-costs"], n)  # fmt: skip
        return {"results": [{"id": f"{ident}-{i}", "name": nm} for i, nm in enumerate(names)], "total": n}
    return {
        "ok": True,
        **echo,
        "value": r.choice(["42", "active", "3 items", "healthy", "2025-03-14T09:30:00Z"]),
    }


def _answer(r: Random, tool: Tool, result: Any, multi: bool = False) -> str:
    if isinstance(result, dict) and "results" in result:
        items = [x.get("name", x.get("id")) for x in result["results"]]
        summary = f"found {len(items)}: {', '.join(map(str, items))}." if items else "nothing matched."
    elif isinstance(result, dict):
        shown = ", ".join(f"{k} {json.dumps(v, ensure_ascii=False)}" for k, v in list(result.items())[:4])
        summary = f"{shown}."
    else:
        summary = json.dumps(result, ensure_ascii=False)[:200]
    a = ph.text()["answers"]
    tpl = r.choice(a["multi"] if multi else a["done"])
    return tpl.format(summary=summary, Summary=ph.cap(summary))
