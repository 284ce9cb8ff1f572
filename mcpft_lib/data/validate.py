"""Validation with quarantine and JSONL IO: a bad row gets a reason, never a silent drop."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from mcpft_lib.core.fsutil import atomic_write
from mcpft_lib.core.schema import CATEGORIES, Example, ToolCall
from mcpft_lib.data.generate import call_errors


def validate_example(ex: Example) -> list[str]:
    """Reasons an example is unusable (empty list when it is fine)."""
    reasons: list[str] = []
    if ex.category not in CATEGORIES:
        reasons.append(f"unknown category {ex.category!r}")
    names = [s.name for s in ex.servers]
    if len(set(names)) != len(names):
        reasons.append("duplicate server names")
    if not ex.messages:
        return reasons + ["empty conversation"]
    if ex.messages[0].role != "user":
        reasons.append("conversation must start with a user turn")
    if not any(m.role == "assistant" for m in ex.messages):
        reasons.append("no assistant turn")
    elif ex.messages[-1].role != "assistant":
        reasons.append("last message must be an assistant turn")
    by_name = {s.name: s for s in ex.servers}
    pending: list[ToolCall] = []
    for i, m in enumerate(ex.messages):
        if m.role != "assistant" and m.calls:
            reasons.append(f"message {i}: calls on a {m.role} turn")
        if m.role != "tool" and (m.is_error or m.call is not None):
            reasons.append(f"message {i}: tool-result fields on a {m.role} turn")
        if m.role == "assistant":
            if not m.content.strip() and not m.calls:
                reasons.append(f"message {i}: empty assistant turn")
            for c in m.calls:
                reasons += [f"message {i}: {e}" for e in call_errors(by_name.get(c.server), c)]
            pending = list(m.calls)
        elif m.role == "tool":
            if not pending:
                reasons.append(f"message {i}: tool result without a pending call")
            elif m.call is not None and m.call not in pending:
                reasons.append(f"message {i}: tool result for a call that was not made")
            elif pending:
                pending.remove(m.call if m.call is not None else pending[0])
        else:
            pending = []
    return reasons


def _pydantic_reason(e: ValidationError) -> str:
    parts = [f"{'.'.join(map(str, err['loc'])) or '<root>'}: {err['msg']}" for err in e.errors()[:3]]
    more = f" (+{e.error_count() - 3} more)" if e.error_count() > 3 else ""
    return "invalid example: " + "; ".join(parts) + more


def load_jsonl(path: str | os.PathLike[str]) -> tuple[list[Example], list[dict[str, Any]]]:
    """Read examples; every bad line becomes a quarantine record {line, reason, raw} (none silently dropped)."""
    good: list[Example] = []
    quarantine: list[dict[str, Any]] = []
    seen: set[str] = set()
    with open(path, "rb") as f:
        for n, blob in enumerate(f, 1):
            raw = blob.decode("utf-8", errors="replace").rstrip("\r\n")
            if not raw.strip():
                continue

            def bad(reason: str, n: int = n, raw: str = raw) -> None:
                quarantine.append({"line": n, "reason": reason, "raw": raw[:500]})

            try:
                blob.decode("utf-8")
            except UnicodeDecodeError as e:  # never let U+FFFD stand in for bytes we could not read
                bad(f"invalid UTF-8 at byte {e.start}: {e.reason}")
                continue
            try:
                obj = json.loads(raw)
            except (ValueError, RecursionError) as e:
                bad(f"bad JSON: {e}")
                continue
            try:
                ex = Example.model_validate(obj)
            except ValidationError as e:
                bad(_pydantic_reason(e))
                continue
            if reasons := admit(ex, seen):
                bad("; ".join(reasons))
                continue
            good.append(ex)
    return good, quarantine


def admit(ex: Example, seen: set[str]) -> list[str]:
    """Why `ex` cannot join rows whose ids are `seen` (invalid, duplicate id); when it can, its id joins `seen`."""
    reasons = validate_example(ex)
    if ex.id in seen:
        reasons.append(f"duplicate id {ex.id!r}")
    if not reasons:
        seen.add(ex.id)
    return reasons


def _atomic_write(path: str | os.PathLike[str], lines: Iterable[str]) -> Path:
    return atomic_write(path, lines)


def write_jsonl(path: str | os.PathLike[str], examples: Iterable[Example | dict[str, Any]]) -> Path:
    """Write examples (or plain dicts, e.g. quarantine records) one JSON per line, atomically."""
    return _atomic_write(
        path,
        (
            (e.model_dump_json() if isinstance(e, Example) else json.dumps(e, ensure_ascii=False)) + "\n"
            for e in examples
        ),
    )
