"""The scenario model the intent builders return (steps, clarifications), the intent registry and the
small helpers every builder uses, among them `load_text`, which reads an intent module's data file."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from random import Random
from typing import Any

from mcpft_lib.core.fsutil import read_yaml
from mcpft_lib.core.schema import CATEGORIES, ToolCall

DEFAULT_CATEGORIES = CATEGORIES[:5]  # single_call, multi_step, error_handling, clarification, no_tool


@dataclass
class Step:
    """One assistant call and the tool result it gets back."""

    call: ToolCall
    result: str
    is_error: bool = False
    text: str = ""  # assistant text before the call
    mistake: bool = False  # the call itself is wrong (listed in meta["context_turns"], not a reference)


@dataclass
class Scenario:
    user: str
    steps: list[Step]
    answer: str  # final assistant text after the last result
    difficulty: str = "easy"


@dataclass
class Clarification:
    user: str  # the ambiguous request
    question: str  # the assistant's clarifying question (no call)
    reply: str  # the user's answer
    then: Scenario  # what happens after the answer (its `user` is ignored)


@dataclass
class Intent:
    name: str
    category: str
    tools: tuple[str, ...]  # "server/tool" the scenario uses
    build: Callable[[Random], Any]
    topic: str | None = None  # no_tool: a server the question is about (connected, not needed)

    @property
    def servers(self) -> tuple[str, ...]:
        out: list[str] = []
        for t in self.tools:
            s = t.split("/", 1)[0]
            if s not in out:
                out.append(s)
        return tuple(out)


REGISTERED: list[Intent] = []  # in import order; data.intents.INTENTS puts them in generation order


def intent(category: str, *tools: str, topic: str | None = None) -> Callable[[Callable[[Random], Any]], Any]:
    def deco(fn: Callable[[Random], Any]) -> Callable[[Random], Any]:
        REGISTERED.append(Intent(fn.__name__.lstrip("_"), category, tools, fn, topic))
        return fn

    return deco


def call(server: str, tool: str, **arguments: Any) -> ToolCall:
    """Shorthand for a ToolCall (drops arguments that are None)."""
    return ToolCall(server=server, tool=tool, arguments={k: v for k, v in arguments.items() if v is not None})


def fmt(r: Random, templates: Sequence[str], **slots: Any) -> str:
    """Pick one phrasing and fill its slots."""
    return r.choice(templates).format(**slots)


def random_sha(r: Random) -> str:
    return f"{r.getrandbits(160):040x}"


def random_date(r: Random, start: int = 2024, years: int = 2) -> datetime:
    return datetime(start, 1, 1, tzinfo=UTC) + timedelta(seconds=r.randrange(years * 365 * 86400))


def gh_issue(owner: str, repo: str, number: int, title: str, state: str = "open", labels: Sequence[str] = (),
              body: str = "", user: str = "octocat", comments: int = 0) -> dict[str, Any]:  # fmt: skip
    return {
        "number": number,
        "title": title,
        "state": state,
        "html_url": f"https://github.com/{owner}/{repo}/issues/{number}",
        "user": {"login": user},
        "labels": [{"name": lb} for lb in labels],
        "comments": comments,
        "body": body,
    }


def jdump(obj: Any) -> str:
    return json.dumps(obj, indent=2, ensure_ascii=False)


def load_text(module_file: str) -> dict[str, Any]:
    """The data file next to a module (`intents/time.py` -> `intents/time.yaml`): its tables and phrasings."""
    return read_yaml(Path(module_file).with_suffix(".yaml"))


PREFACES: tuple[str, ...] = tuple(load_text(__file__)["prefaces"])


def preface(r: Random) -> str:
    return r.choice(PREFACES)


def canonical_json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
