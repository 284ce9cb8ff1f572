"""Evaluation: generate each assistant turn of the test examples, parse it, score it against the reference."""

from __future__ import annotations

import math
import random
import time
from collections import defaultdict
from typing import Any

from . import dialects
from .schema import RESOURCE_TOOL, Example, Message

METRICS = ("well_formed", "call_well_formed", "tool_selection", "schema_valid", "args_match")


def turn_items(examples: list[Example], dialect: str = "xml", compact: bool = False) -> list[dict]:
    """One item per reference assistant turn: the chat up to it, the reference message, the example's servers."""
    items = []
    for ex in examples:
        chat = dialects.to_chat(ex, dialect, compact)
        mistakes = set(ex.meta.get("context_turns", []))
        refs = [(i, m) for i, m in enumerate(ex.messages) if m.role == "assistant"]
        k = 0
        for i, m in enumerate(chat):
            if m["role"] != "assistant":
                continue
            if refs[k][0] in mistakes:  # a deliberate mistake is context, not a reference
                k += 1
                continue
            items.append(
                {
                    "id": f"{ex.id}#{k}",
                    "example": ex,
                    "chat": chat[:i],
                    "ref": refs[k][1],
                    "turn": k,
                    "category": ex.category,
                }
            )
            k += 1
    return items


def generate(
    model,
    tok,
    chats: list[list[dict]],
    max_new_tokens: int = 96,
    batch_size: int = 8,
    stop: list[str] | None = None,
) -> tuple[list[str], dict]:
    """Batched greedy decoding (left padding, longest-first batches) that stops when a call closes."""
    import torch

    prompts = [tok.apply_chat_template(c, tokenize=False, add_generation_prompt=True) for c in chats]
    order = sorted(range(len(prompts)), key=lambda i: -len(prompts[i]))
    outs: list[str] = [""] * len(prompts)
    stop = stop or []
    tok.padding_side = "left"
    t0, new_tokens = time.time(), 0
    device = next(model.parameters()).device
    for b in range(0, len(order), batch_size):
        idx = order[b : b + batch_size]
        enc = tok([prompts[i] for i in idx], return_tensors="pt", padding=True, add_special_tokens=False).to(
            device
        )
        with torch.no_grad():
            gen = model.generate(
                **enc,
                max_new_tokens=max_new_tokens,
                do_sample=False,
                stop_strings=stop or None,
                tokenizer=tok,
                pad_token_id=tok.pad_token_id,
            )
        for j, i in enumerate(idx):
            new = gen[j, enc["input_ids"].shape[1] :]
            new_tokens += int((new != tok.pad_token_id).sum())
            outs[i] = _cut(tok.decode(new, skip_special_tokens=False), stop, tok)
    secs = time.time() - t0
    return outs, {
        "seconds": round(secs, 2),
        "new_tokens": new_tokens,
        "tokens_per_s": new_tokens / max(secs, 1e-9),
    }


def _cut(text: str, stop: list[str], tok) -> str:
    """Trim a decoded reply at the first stop string (kept when it closes a call) and drop padding."""
    for s in (tok.pad_token, tok.eos_token):
        if s:
            text = text.replace(s, "")
    best = None
    for s in stop:
        k = text.find(s)
        if k >= 0 and (best is None or k < best[0]):
            best = (k, s)
    if best:
        k, s = best
        text = text[: k + len(s)] if s.startswith("</") else text[:k]
    return text.strip()


def _norm(v: Any) -> Any:
    if isinstance(v, bool):  # True == 1 in Python; a boolean argument must stay a boolean
        return ("bool", v)
    if isinstance(v, str):
        return " ".join(v.strip().split()).lower()
    if isinstance(v, dict):
        return {k: _norm(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_norm(x) for x in v]
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v


def score_turn(pred: str, ref: Message, ex: Example, dialect: str = "xml") -> dict:
    """Score one generated assistant turn against the reference (see DESIGN.md, evaluation semantics)."""
    import jsonschema

    parsed = dialects.parse_turn(pred, dialect)
    expect_call = bool(ref.calls)
    out: dict[str, Any] = {"expected_call": expect_call, "n_pred_calls": len(parsed.calls)}
    if not expect_call:
        out["well_formed"] = not parsed.has_markup or parsed.well_formed
        out["call_well_formed"] = None  # the rate of well-formed calls counts turns that expect one
        out["tool_selection"] = not parsed.calls
        out["schema_valid"] = None
        out["args_match"] = None
        return out
    out["well_formed"] = out["call_well_formed"] = parsed.well_formed and bool(parsed.calls)
    if not parsed.calls:
        out.update(tool_selection=False, schema_valid=False, args_match=False)
        return out
    got, want = parsed.calls[0], ref.calls[0]
    out["tool_selection"] = (got.server, got.tool) == (want.server, want.tool)
    server = ex.server(got.server)
    tool = server.tool(got.tool) if server else None
    if got.tool == RESOURCE_TOOL:
        out["schema_valid"] = isinstance(got.arguments.get("uri"), str)
    elif tool is None:
        out["schema_valid"] = False
    else:
        try:
            jsonschema.validate(got.arguments, tool.inputSchema)
            out["schema_valid"] = True
        except jsonschema.ValidationError:
            out["schema_valid"] = False
        except jsonschema.SchemaError:
            out["schema_valid"] = None
    out["args_match"] = out["tool_selection"] and _norm(got.arguments) == _norm(want.arguments)
    return out


def bootstrap_ci(
    values: list[float], n_boot: int = 1000, seed: int = 0, alpha: float = 0.05
) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean."""
    if not values:
        return (None, None)
    rng = random.Random(seed)
    n = len(values)
    means = sorted(sum(values[rng.randrange(n)] for _ in range(n)) / n for _ in range(n_boot))
    return means[int(alpha / 2 * n_boot)], means[min(n_boot - 1, int((1 - alpha / 2) * n_boot))]


def summarize(scores: list[dict], by: str | None = None) -> dict:
    """Mean of each metric with a 95% bootstrap interval (overall, or per value of `by`)."""
    if by:
        groups = defaultdict(list)
        for s in scores:
            groups[s[by]].append(s)
        return {g: summarize(rows) for g, rows in sorted(groups.items())}
    out = {}
    for m in METRICS:
        vals = [float(s[m]) for s in scores if s.get(m) is not None]
        lo, hi = bootstrap_ci(vals)
        out[m] = {"value": sum(vals) / len(vals) if vals else None, "lo": lo, "hi": hi, "n": len(vals)}
    return out


def mcnemar(a: list[bool], b: list[bool]) -> dict:
    """Exact McNemar test on paired outcomes (same items): two-sided p-value of 'a and b differ'."""
    n01 = sum(1 for x, y in zip(a, b, strict=True) if not x and y)
    n10 = sum(1 for x, y in zip(a, b, strict=True) if x and not y)
    n = n01 + n10
    if n == 0:
        return {"b_only": 0, "a_only": 0, "p_value": 1.0}
    k = min(n01, n10)
    p = min(1.0, 2 * sum(math.comb(n, i) for i in range(k + 1)) / 2**n)
    return {"b_only": n01, "a_only": n10, "p_value": p}


def evaluate_model(
    model,
    tok,
    items: list[dict],
    dialect: str = "xml",
    max_new_tokens: int = 96,
    batch_size: int = 8,
    turn_end: str | None = None,
) -> tuple[list[dict], dict]:
    """Generate and score every item; returns per-item rows and generation stats."""
    stop = ["</use_mcp_tool>", "</access_mcp_resource>"] + ([turn_end] if turn_end else [])
    preds, stats = generate(model, tok, [it["chat"] for it in items], max_new_tokens, batch_size, stop)
    rows = []
    for it, pred in zip(items, preds, strict=True):
        s = score_turn(pred, it["ref"], it["example"], dialect)
        rows.append(
            {
                "id": it["id"],
                "category": it["category"],
                "turn": it["turn"],
                "prediction": pred,
                "reference": dialects.render_assistant(it["ref"]),
                **s,
            }
        )
    return rows, stats


def evaluate_models(candidates: dict, items: list[dict], params) -> dict:
    """Load each candidate (name -> ModelParams) in `params.eval.dtype`, generate and score every item."""
    from . import models

    results = {}
    for name, mp in candidates.items():
        model, tok = models.load_model(mp, dtype=params.eval.dtype)
        turn_end = models.TURN_END.get(tok.init_kwargs.get("mcpft_template"))
        rows, stats = evaluate_model(
            model,
            tok,
            items,
            params.data.dialect,
            params.eval.max_new_tokens,
            params.eval.batch_size,
            turn_end,
        )
        results[name] = {"rows": rows, "stats": stats}
        del model
    return results


PAIRED = ("call_well_formed", "well_formed", "tool_selection", "schema_valid", "args_match")


def compare(results: dict, a: str = "base", b: str = "fine_tuned") -> tuple[dict, dict]:
    """Per-model summaries, and exact McNemar tests of `a` vs `b` on the items both scored."""
    summary = {name: summarize(r["rows"]) for name, r in results.items()}
    tests = {}
    for m in PAIRED:
        pairs = [
            (x[m], y[m])
            for x, y in zip(results[a]["rows"], results[b]["rows"], strict=True)
            if x[m] is not None and y[m] is not None
        ]
        tests[m] = mcnemar([bool(x) for x, _ in pairs], [bool(y) for _, y in pairs])
    return summary, tests


def summary_table(summary: dict, tests: dict):
    """A DataFrame: metric rows, one `value [lo, hi]` column per model, and the McNemar p-value."""
    import pandas as pd

    def cell(v: dict) -> str:
        return "n/a" if v["value"] is None else f"{v['value']:.3f} [{v['lo']:.3f}, {v['hi']:.3f}]"

    table = pd.DataFrame({name: {m: cell(v) for m, v in s.items()} for name, s in summary.items()})
    table["p (McNemar)"] = [tests.get(m, {}).get("p_value", "") for m in table.index]
    return table


def comparison_chart(summary: dict):
    """Grouped bars of each metric per model with 95% bootstrap error bars (plotly)."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for name, s in summary.items():
        ms = [m for m in s if s[m]["value"] is not None]
        fig.add_bar(
            name=name,
            x=ms,
            y=[s[m]["value"] for m in ms],
            error_y={
                "type": "data",
                "symmetric": False,
                "array": [s[m]["hi"] - s[m]["value"] for m in ms],
                "arrayminus": [s[m]["value"] - s[m]["lo"] for m in ms],
            },
        )
    return fig.update_layout(
        barmode="group", title="per assistant turn (95% bootstrap CI)", yaxis_range=[0, 1.05]
    )
