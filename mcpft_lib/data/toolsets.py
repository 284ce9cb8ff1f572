"""Tool-set sampling: show each connected server with a sample of its tools instead of its whole catalog.

A CPU run cannot afford every tool's schema in every prompt (the git catalog alone is ~870 Gemma tokens), and a
model that always sees the same list can learn tool names by heart instead of reading the list. With
`data.max_tools_per_server: K` each example keeps, per server, every tool its messages call (reference calls and
deliberate mistakes) and the tools of the intent it was generated from (what a clarifying question is about),
plus seeded random others up to K, in catalog order. Resources are kept. `None` keeps full catalogs, as Cline and Roo show them (the GPU profile).
"""

from __future__ import annotations

import hashlib
from random import Random

from mcpft_lib.core.schema import RESOURCE_TOOL, Example
from mcpft_lib.data.intents import INTENTS


def called_tools(ex: Example) -> dict[str, set[str]]:
    """Tools each server must keep: every call in the messages and any `meta` intent naming a tool."""
    keep: dict[str, set[str]] = {}
    for m in ex.messages:
        calls = list(m.calls) + ([m.call] if m.call else [])
        for c in calls:
            if c.tool != RESOURCE_TOOL:
                keep.setdefault(c.server, set()).add(c.tool)
    for ref in _intent_tools().get(ex.meta.get("intent"), ()):  # e.g. what a clarifying question is about
        server, tool = ref.split("/", 1)
        keep.setdefault(server, set()).add(tool)
    return keep


def _intent_tools() -> dict[str, tuple[str, ...]]:
    return {i.name: i.tools for i in INTENTS}


def sample_tools(ex: Example, max_tools: int | None, seed: int) -> Example:
    """`ex` with each server's tools cut to the called ones plus seeded random others, up to `max_tools`."""
    if max_tools is None:
        return ex
    if max_tools < 1:
        raise ValueError(f"max_tools_per_server must be >= 1 or null, got {max_tools}")
    keep = called_tools(ex)
    rng = Random(int(hashlib.sha256(f"{seed}:{ex.id}".encode()).hexdigest()[:16], 16))
    servers = []
    for s in ex.servers:
        must = keep.get(s.name, set())
        if len(s.tools) <= max_tools:
            servers.append(s)
            continue
        others = [t.name for t in s.tools if t.name not in must]
        extra = rng.sample(others, max(0, min(len(others), max_tools - len(must))))
        chosen = must | set(extra)
        servers.append(s.model_copy(update={"tools": [t for t in s.tools if t.name in chosen]}))
    return ex.model_copy(update={"servers": servers})
