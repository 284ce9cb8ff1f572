"""MCP tool-use dataset: a seeded deterministic generator, validation with quarantine, splits, versions.

`generate()` builds structured `Example`s from intent templates (several phrasings each, realistic argument
pools, simulated results in the real servers' output formats). Every reference call is checked against the
tool's `inputSchema`. Assistant turns listed in `meta["context_turns"]` hold a deliberately wrong call (bad
arguments that the tool rejects, in error_handling): trainers may mask them and evaluators should not score
them as references. Calls that fail only because of the environment (missing file) are normal references.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from functools import lru_cache
from random import Random
from typing import Any

from mcpft_lib.core.schema import CATEGORIES, RESOURCE_TOOL, Example, Message, Server, ToolCall
from mcpft_lib.data.intents import INTENTS
from mcpft_lib.data.scenario import DEFAULT_CATEGORIES, Clarification, Intent, Scenario, canonical_json
from mcpft_lib.data.splits import dedup_key


def _shares(n: int, w: list[float], r: Random) -> list[int]:
    """Split n into integer shares proportional to w (largest remainder; ties broken at random, seeded)."""
    total = sum(w)
    exact = [n * x / total for x in w]
    out = [int(x) for x in exact]
    rest = n - sum(out)
    tie = [r.random() for _ in w]
    for k in sorted(range(len(w)), key=lambda k: (-(exact[k] - out[k]), tie[k]))[:rest]:
        out[k] += 1
    return out


def supported_categories() -> list[str]:
    """Categories the generator can produce (in CATEGORIES order)."""
    have = {i.category for i in INTENTS}
    return [c for c in CATEGORIES if c in have]


def _applicable(intent: Intent, by_name: dict[str, Server], max_servers: int) -> bool:
    if len(intent.servers) > max_servers:
        return False
    if intent.topic is not None and intent.topic not in by_name:
        return False
    for t in intent.tools:
        server, tool = t.split("/", 1)
        srv = by_name.get(server)
        if srv is None or (srv.tool(tool) is None if tool != RESOURCE_TOOL else not srv.resources):
            return False
    return True


def example_id(ex: Example) -> str:
    """Stable content hash: servers' names + messages (+ a duplicate counter), first 12 hex of sha1."""
    payload = {
        "servers": [s.name for s in ex.servers],
        "messages": [m.model_dump(mode="json", exclude_defaults=True) for m in ex.messages],
    }
    if "dup" in ex.meta:
        payload["dup"] = ex.meta["dup"]
    return hashlib.sha1(canonical_json(payload).encode()).hexdigest()[:12]


def _scenario_messages(s: Scenario) -> tuple[list[Message], list[int]]:
    return _append_steps([Message(role="user", content=s.user)], s)


def _append_steps(msgs: list[Message], s: Scenario) -> tuple[list[Message], list[int]]:
    context: list[int] = []
    for st in s.steps:
        if st.mistake:
            context.append(len(msgs))
        msgs.append(Message(role="assistant", content=st.text, calls=[st.call]))
        msgs.append(Message(role="tool", content=st.result, is_error=st.is_error, call=st.call))
    msgs.append(Message(role="assistant", content=s.answer))
    return msgs, context


@lru_cache(maxsize=512)
def _validator(schema_json: str) -> Any:
    from jsonschema import Draft202012Validator
    from jsonschema.validators import validator_for

    schema = json.loads(schema_json)
    cls = validator_for(schema, default=Draft202012Validator)
    cls.check_schema(schema)
    return cls(schema)


def call_errors(server: Server | None, c: ToolCall) -> list[str]:
    """Why a call is invalid for a connected server (unknown server/tool/resource, schema violations)."""
    if server is None:
        return [f"unknown server {c.server!r}"]
    if c.tool == RESOURCE_TOOL:
        uri = c.arguments.get("uri")
        if set(c.arguments) != {"uri"} or not isinstance(uri, str):
            return [f"{c.server}/{RESOURCE_TOOL}: arguments must be exactly {{'uri': <string>}}"]
        if uri not in {res.uri for res in server.resources}:
            return [f"unknown resource {uri!r} on server {c.server!r}"]
        return []
    tool = server.tool(c.tool)
    if tool is None:
        return [f"unknown tool {c.server}/{c.tool}"]
    from jsonschema.exceptions import SchemaError

    try:
        v = _validator(canonical_json(tool.inputSchema))
    except SchemaError as e:
        return [f"invalid inputSchema for {c.server}/{c.tool}: {e.message}"]
    errs = sorted(v.iter_errors(c.arguments), key=lambda e: (list(map(str, e.absolute_path)), e.message))
    return [
        f"arguments of {c.server}/{c.tool} invalid: {e.message}"
        + (f" at {'/'.join(map(str, e.absolute_path))}" if e.absolute_path else "")
        for e in errs[:3]
    ]


def _group(intent: Intent) -> str:
    """The server(s) an intent is about: the unit that `balance` equalises inside a category."""
    return "+".join(intent.servers) or (intent.topic or "(general)")


def _picker(pool: list[Intent], balance: float, weights: dict[str, float]) -> Callable[[Random], Intent]:
    """Choose an intent: a server group with weight n_intents**(1 - balance) x its servers' weights, then an intent.

    balance=0 picks intents uniformly (servers with many intents dominate); balance=1 gives every server group of
    the category the same share, which up-weights servers with few intents. `weights` multiplies a server's share.
    """
    groups: dict[str, list[Intent]] = {}
    for i in pool:
        groups.setdefault(_group(i), []).append(i)
    keys = list(groups)
    w = []
    for k in keys:
        x = len(groups[k]) ** (1.0 - balance)
        for srv in k.split("+"):
            x *= weights.get(srv, 1.0)
        w.append(x)
    if len(keys) == 1:
        only = groups[keys[0]]
        return lambda r: r.choice(only)
    return lambda r: r.choice(groups[r.choices(keys, weights=w)[0]])


def _build(r: Random, category: str, pick: Callable[[Random], Intent], servers: list[Server],
           by_name: dict[str, Server], max_servers: int) -> Example:  # fmt: skip
    intent = pick(r)
    obj = intent.build(r)
    meta: dict[str, Any] = {"intent": intent.name}
    if isinstance(obj, Clarification):
        msgs = [Message(role="user", content=obj.user), Message(role="assistant", content=obj.question)]
        context: list[int] = []
        if r.random() < 0.5:
            msgs.append(Message(role="user", content=obj.reply))
            msgs, context = _append_steps(msgs, obj.then)
        difficulty = "medium"
    else:
        msgs, context = _scenario_messages(obj)
        difficulty = obj.difficulty
    if context:
        meta["context_turns"] = context
    needed = list(intent.servers) or ([intent.topic] if intent.topic else [])
    room = max_servers - len(needed)
    if needed:
        n_extra = room
    else:  # nothing needed: 1..max servers connected, all of them "distractors"
        n_extra = r.randint(1, max_servers)
    others = [s.name for s in servers if s.name not in needed]
    names = needed + r.sample(others, min(max(n_extra, 0), len(others)))
    r.shuffle(names)
    ex = Example(id="", servers=[by_name[n] for n in names], messages=msgs, category=category,
                 difficulty=difficulty, meta=meta)  # fmt: skip
    for m in msgs:
        for c in m.calls:
            errs = call_errors(by_name.get(c.server), c)
            if errs:
                raise RuntimeError(f"generator bug in intent {intent.name!r}: {errs}")
    ex.id = example_id(ex)
    return ex


def generate(n: int, seed: int, servers: list[Server], categories: list[str] | None = None,
             max_servers_per_example: int = 2, balance: float = 1.0, weights: dict[str, float] | None = None,
             fits: Callable[[Example], bool] | None = None) -> list[Example]:  # fmt: skip
    """`n` examples, deterministic in all arguments, ids unique.

    Categories get equal shares (±1) times `weights[category]`; inside a category, `balance` (0..1) moves from
    uniform over intents to uniform over servers, and `weights[server]` up-weights a server (see `_picker`).
    `fits` (e.g. "at most max_length tokens") makes the generator draw again, up to 30 times, for a candidate that
    fails it; one that never fits is still returned, for the caller to quarantine.
    """
    if n < 0:
        raise ValueError("n must be >= 0")
    if max_servers_per_example < 1:
        raise ValueError("max_servers_per_example must be >= 1")
    if not 0.0 <= balance <= 1.0:
        raise ValueError(f"balance must be in [0, 1], got {balance}")
    weights = dict(weights or {})
    bad_w = {k: v for k, v in weights.items() if not (isinstance(v, int | float) and v > 0)}
    if bad_w:
        raise ValueError(f"weights must be positive numbers: {bad_w}")
    unknown_w = sorted(set(weights) - set(CATEGORIES) - {s.name for s in servers})
    if unknown_w:
        raise ValueError(f"weights for unknown servers/categories {unknown_w}")
    by_name: dict[str, Server] = {}
    for s in servers:
        if s.name in by_name:
            raise ValueError(f"duplicate server name {s.name!r}")
        by_name[s.name] = s
    pools = {
        c: [i for i in INTENTS if i.category == c and _applicable(i, by_name, max_servers_per_example)]
        for c in CATEGORIES
    }
    if categories is None:
        cats = [c for c in DEFAULT_CATEGORIES if pools[c]]
    else:
        cats = list(dict.fromkeys(categories))
        unknown = [c for c in cats if c not in CATEGORIES]
        if unknown:
            raise ValueError(f"unknown categories {unknown}; known: {list(CATEGORIES)}")
        missing = [c for c in cats if c not in supported_categories()]
        if missing:
            raise ValueError(
                f"the generator does not produce {missing} yet; supported: {supported_categories()}"
            )
        empty = [c for c in cats if not pools[c]]
        if empty:
            raise ValueError(f"no intent for {empty} with servers {sorted(by_name)} "
                             f"and max_servers_per_example={max_servers_per_example}")  # fmt: skip
    if not cats:
        raise ValueError(f"no category can be generated with servers {sorted(by_name)}")
    r = Random(seed)
    order = [
        c
        for c, k in zip(cats, _shares(n, [weights.get(c, 1.0) for c in cats], r), strict=True)
        for _ in range(k)
    ]
    r.shuffle(order)
    picks = {c: _picker(pools[c], balance, weights) for c in cats}
    out: list[Example] = []
    seen: set[str] = set()
    seen_keys: set[str] = set()  # dedup_key: also avoid near-duplicates (same request and calls) while we can
    for cat in order:
        fallback = None
        for attempt in range(30):
            ex = _build(r, cat, picks[cat], servers, by_name, max_servers_per_example)
            ok = ex.id not in seen and (fits is None or fits(ex))
            if ok and (attempt >= 8 or dedup_key(ex) not in seen_keys):  # 8 tries for a new request, then any
                break
            if ok and fallback is None:
                fallback = ex
        else:  # nothing new fits: a near-duplicate that fits, else a duplicate with a unique id
            ex = fallback or ex
            dup = 1
            while ex.id in seen:
                ex.meta["dup"] = dup
                ex.id = example_id(ex)
                dup += 1
        seen.add(ex.id)
        seen_keys.add(dedup_key(ex))
        out.append(ex)
    return out


def available_categories(
    servers: list[Server], categories: Iterable[str], max_servers_per_example: int = 1
) -> list[str]:
    """The categories (of those asked) that the generator can produce with these servers."""
    by_name = {s.name: s for s in servers}
    return [c for c in categories
            if any(i.category == c and _applicable(i, by_name, max_servers_per_example) for i in INTENTS)]  # fmt: skip
