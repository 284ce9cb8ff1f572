"""Evaluation: generate each reference assistant turn of the eval sets, parse it, score it against the reference.

Eval sets: the test split, the held-out-servers split and the hand-curated challenge set. Metrics per turn
(DESIGN.md, "Evaluation semantics"): format, tool selection, schema validity, BFCL-style argument match,
live execution (mcpft_lib.live), clarifying questions and answer text; summaries with bootstrap intervals
overall, per set, server and category; exact paired tests base vs fine-tuned; a side-by-side viewer.
"""

from __future__ import annotations

import math
import random
import re
import time
import unicodedata
import warnings
from collections import Counter, defaultdict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from . import dialects
from .schema import RESOURCE_TOOL, Example, Message, ToolCall

METRICS = (
    "well_formed",  # the turn parses; where no call is expected, no broken call markup
    "call_well_formed",  # the rate of well-formed calls, over turns that expect one
    "tool_selection",  # server and tool as in the reference ("no call" where none is expected)
    "schema_valid",  # arguments validate against the tool's inputSchema
    "args_match",  # BFCL-style argument match (see args_match)
    "executed_ok",  # the call ran on a live server without isError (where the reference's server runs)
    "exec_match",  # ... and returned what the reference call returns and left the same state (BFCL's checks)
    "clarifies",  # question turns: asks back, naming what is missing
    "answer_f1",  # answer turns: token F1 against the reference answer
    "answer_rouge_l",  # answer turns: ROUGE-L F1 against the reference answer
)
# the metrics of a call the model card and the report's performance table show
CALL_METRICS = (
    "well_formed",
    "call_well_formed",
    "tool_selection",
    "schema_valid",
    "args_match",
    "executed_ok",
    "exec_match",
)
NO_SERVER = "(none)"  # the `server` of a turn that expects no call
EVAL_SETS = ("test", "held_out_servers", "challenge")


def challenge_path() -> Path:
    """The committed hand-curated challenge set, data/challenge.jsonl in the checkout."""
    from .runs import project_root

    return project_root() / "data" / "challenge.jsonl"


def load_eval_sets(
    data_dir: str | Path,
    sets: list[str],
    n_examples: int | Mapping[str, int] | None = None,
    challenge: str | Path | None = None,
) -> tuple[dict[str, list[Example]], dict]:
    """Examples of each eval set (the first `n_examples` of each, or `n_examples[set]`: a set the mapping does
    not name is used whole) and what was loaded or skipped.

    `test` and `held_out_servers` come from the run's dataset folder, `challenge` from data/challenge.jsonl
    (interleaved by category, so that a cut covers every category).
    Bad lines are quarantined with a reason and counted (data.load_jsonl); a held-out-servers file that
    this dataset does not have is skipped with a note; any other missing file is an error naming it.
    """
    from . import data

    out: dict[str, list[Example]] = {}
    info: dict[str, dict] = {}
    for name in sets:
        if name not in EVAL_SETS:
            raise ValueError(f"unknown eval set {name!r}; known: {list(EVAL_SETS)}")
        path = (
            Path(challenge or challenge_path()) if name == "challenge" else Path(data_dir) / f"{name}.jsonl"
        )
        if not path.is_file():
            if name == "held_out_servers":
                info[name] = {"path": str(path), "skipped": "the dataset has no held-out-servers split"}
                continue
            raise FileNotFoundError(f"eval set {name!r}: no file {path}")
        good, bad = data.load_jsonl(path)
        if name == "challenge":  # the file is grouped by category: a cut must still cover every category
            good = interleave(good)
        n = n_examples.get(name) if isinstance(n_examples, Mapping) else n_examples
        out[name] = good[:n] if n else good
        info[name] = {
            "path": str(path),
            "examples": len(good),
            "used": len(out[name]),
            "quarantined": len(bad),
            "quarantine": [{"line": b["line"], "reason": b["reason"]} for b in bad[:20]],
        }
    return out, info


def interleave(examples: list[Example]) -> list[Example]:
    """Round-robin over categories (first-appearance order), keeping the order inside each category."""
    groups: dict[str, list[Example]] = defaultdict(list)
    for ex in examples:
        groups[ex.category].append(ex)
    out: list[Example] = []
    for k in range(max((len(g) for g in groups.values()), default=0)):
        out += [g[k] for g in groups.values() if k < len(g)]
    return out


def eval_items(sets: dict[str, list[Example]], dialect: str = "xml", compact: bool = False) -> list[dict]:
    """Items of every eval set, ids prefixed with the set name."""
    return [it for name, exs in sets.items() for it in turn_items(exs, dialect, compact, name)]


def turn_items(
    examples: list[Example], dialect: str = "xml", compact: bool = False, eval_set: str | None = None
) -> list[dict]:
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
                    "id": f"{eval_set}/{ex.id}#{k}" if eval_set else f"{ex.id}#{k}",
                    "set": eval_set or "test",
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
    """Batched greedy decoding that stops when a call closes: `generation.generate` (shared system-prompt
    prefix computed once and reused through the KV cache; outputs equal one `model.generate` per chat)."""
    from .generation import generate as fast_generate

    return fast_generate(model, tok, chats, max_new_tokens, batch_size, stop)


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


_STOP = frozenset(
    "a an and are as at be but by can could do does for from have how i if in is it me my of on or please "
    "should so that the this to what which who whom whose why will with would you your".split()
)
_WORD = re.compile(r"\w+", re.UNICODE)
MAX_TEXT_TOKENS = 1000  # text metrics look at this many tokens of each side (bounded work on hostile output)


def _norm(v: Any) -> Any:
    """Normalised value for comparison: strings NFKC, case-folded, whitespace collapsed; 5 == 5.0; bools apart."""
    if isinstance(v, bool):  # True == 1 in Python; a boolean argument must stay a boolean
        return ("bool", v)
    if isinstance(v, str):
        return " ".join(unicodedata.normalize("NFKC", v).casefold().split())
    if isinstance(v, dict):
        return {k: _norm(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_norm(x) for x in v]
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v


_TYPES: dict[str, Any] = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: (
        (isinstance(v, int) and not isinstance(v, bool)) or (isinstance(v, float) and v.is_integer())
    ),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),  # an int is a number
    "boolean": lambda v: isinstance(v, bool),
    "array": lambda v: isinstance(v, (list, tuple)),
    "object": lambda v: isinstance(v, dict),
    "null": lambda v: v is None,
}


def type_ok(value: Any, schema: dict) -> bool:
    """Does `value` have a type the property schema allows (BFCL: int accepted for number; unknown: yes)?"""
    t = schema.get("type") if isinstance(schema, dict) else None
    if t is None:
        options = (
            [s for k in ("anyOf", "oneOf") for s in (schema.get(k) or [])] if isinstance(schema, dict) else []
        )
        return not options or any(type_ok(value, s) for s in options if isinstance(s, dict))
    return any(_TYPES.get(x, lambda _v: True)(value) for x in (t if isinstance(t, list) else [t]))


def _for_turn(meta_value: Any, turn: int | None) -> Any:
    """`meta[key]` is either one value for every turn or {"<turn>": value, "*": default}."""
    if isinstance(meta_value, dict) and any(k == "*" or k.isdigit() for k in meta_value):
        return meta_value.get(str(turn), meta_value.get("*"))
    return meta_value


def args_match(
    got: dict[str, Any], want: dict[str, Any], schema: dict | None = None, alternatives: dict | None = None
) -> tuple[bool, str]:
    """BFCL-style argument check; returns (match, reason).

    Rules, in order: every `required` parameter present (`missing_required`); no parameter outside the schema's
    properties or outside the reference and its alternatives (`unexpected_param`); each value of a type the
    schema allows (`type`); each value equal to the reference's after normalisation, or to one of the
    alternatives (`value`); an optional parameter of the reference left out only when its alternatives hold
    `None` (`missing_optional`). `alternatives` maps a parameter to a list of other accepted values.
    """
    schema = schema or {}
    props = schema.get("properties") or {}
    alts = alternatives or {}
    for r in schema.get("required") or []:
        if r not in got:
            return False, f"missing_required:{r}"
    for k in got:
        if (props and k not in props) or (k not in want and k not in alts):
            return False, f"unexpected_param:{k}"
    for k, v in got.items():
        if k in props and not type_ok(v, props[k]):
            return False, f"type:{k}"
        allowed = ([want[k]] if k in want else []) + [a for a in alts.get(k, []) if a is not None]
        if not any(_norm(v) == _norm(a) for a in allowed):
            return False, f"value:{k}"
    for k in want:
        if k not in got and None not in alts.get(k, []):
            return False, f"missing_optional:{k}"
    return True, "ok"


def tokens(text: str) -> list[str]:
    """Lower-cased word tokens (at most MAX_TEXT_TOKENS)."""
    return _WORD.findall(unicodedata.normalize("NFKC", text or "").casefold()[: MAX_TEXT_TOKENS * 30])[
        :MAX_TEXT_TOKENS
    ]


def token_f1(pred: str, ref: str) -> float:
    """SQuAD-style token F1 between two texts (both empty: 1.0)."""
    p, r = tokens(pred), tokens(ref)
    if not p or not r:
        return float(p == r)
    overlap = sum((Counter(p) & Counter(r)).values())
    if not overlap:
        return 0.0
    prec, rec = overlap / len(p), overlap / len(r)
    return 2 * prec * rec / (prec + rec)


def rouge_l(pred: str, ref: str) -> float:
    """ROUGE-L F1 (longest common token subsequence) between two texts (both empty: 1.0)."""
    p, r = tokens(pred), tokens(ref)
    if not p or not r:
        return float(p == r)
    prev = [0] * (len(r) + 1)
    for x in p:
        cur = [0]
        for j, y in enumerate(r):
            cur.append(prev[j] + 1 if x == y else max(prev[j + 1], cur[j]))
        prev = cur
    lcs = prev[-1]
    if not lcs:
        return 0.0
    prec, rec = lcs / len(p), lcs / len(r)
    return 2 * prec * rec / (prec + rec)


def is_question(msg: Message) -> bool:
    """A reference turn that asks the user something (no call, and a question mark)."""
    return not msg.calls and "?" in msg.content


def slot_keywords(ref: Message, ex: Example, turn: int | None = None) -> list[str]:
    """What a clarifying question should ask about: `meta["missing"]` if given, else the reference's content words."""
    given = _for_turn(ex.meta.get("missing"), turn)
    if given:
        return [str(w).casefold() for w in ([given] if isinstance(given, str) else given)]
    return [w for w in dict.fromkeys(tokens(ref.content)) if w not in _STOP and len(w) > 2]


def clarifies(pred_text: str, n_calls: int, ref: Message, ex: Example, turn: int | None = None) -> bool:
    """A clarifying question: no call, a question mark, and at least one missing-slot keyword mentioned."""
    if n_calls or "?" not in pred_text:
        return False
    words = set(tokens(pred_text))
    text = " ".join(tokens(pred_text))
    return any((k in words) if " " not in k else (k in text) for k in slot_keywords(ref, ex, turn))


def score_turn(pred: str, ref: Message, ex: Example, dialect: str = "xml", turn: int | None = None) -> dict:
    """Score one generated assistant turn against the reference (see DESIGN.md, evaluation semantics).

    Call turns: well-formed, tool selection (with a reason: no_call, hallucinated_tool, wrong_server,
    wrong_tool), schema validity, BFCL-style argument match (reason as in `args_match`; alternatives from
    `ex.meta["alternatives"]`); `executed_ok` is filled by live execution. No-call turns: no broken markup,
    no call; a question turn is scored by `clarifies`, an answer by token F1 and ROUGE-L against the reference.
    """
    import jsonschema

    parsed = dialects.parse_turn(pred, dialect)
    expect_call = bool(ref.calls)
    out: dict[str, Any] = {m: None for m in METRICS}
    out.update(
        expected_call=expect_call,
        n_pred_calls=len(parsed.calls),
        pred_call=parsed.calls[0].model_dump(mode="json") if parsed.calls else None,
        server=ref.calls[0].server if expect_call else NO_SERVER,
        selection_reason="ok",
        args_reason=None,
    )
    if not expect_call:
        out["well_formed"] = not parsed.has_markup or parsed.well_formed
        out["tool_selection"] = not parsed.calls
        if parsed.calls:
            out["selection_reason"] = "unexpected_call"
        if is_question(ref):
            out["clarifies"] = clarifies(parsed.text, len(parsed.calls), ref, ex, turn)
        else:
            out["answer_f1"] = token_f1(parsed.text, ref.content)
            out["answer_rouge_l"] = rouge_l(parsed.text, ref.content)
        return out
    out["well_formed"] = out["call_well_formed"] = parsed.well_formed and bool(parsed.calls)
    if not parsed.calls:
        out.update(tool_selection=False, schema_valid=False, args_match=False)
        out.update(selection_reason="no_call", args_reason="no_call")
        return out
    got, want = parsed.calls[0], ref.calls[0]
    server = ex.server(got.server)
    tool = server.tool(got.tool) if server else None
    out["tool_selection"] = (got.server, got.tool) == (want.server, want.tool)
    if not out["tool_selection"]:
        hallucinated = tool is None and not (server and got.tool == RESOURCE_TOOL)
        out["selection_reason"] = (
            "hallucinated_tool" if hallucinated else "wrong_server" if got.tool == want.tool else "wrong_tool"
        )
    if got.tool == RESOURCE_TOOL:
        out["schema_valid"] = server is not None and isinstance(got.arguments.get("uri"), str)
        schema = {"type": "object", "properties": {"uri": {"type": "string"}}, "required": ["uri"]}
    elif tool is None:
        out["schema_valid"], schema = False, {}
    else:
        schema = tool.inputSchema
        try:
            jsonschema.validate(got.arguments, schema)
            out["schema_valid"] = True
        except jsonschema.ValidationError:
            out["schema_valid"] = False
        except jsonschema.SchemaError:
            out["schema_valid"] = None
    if out["tool_selection"]:
        alts = _for_turn(ex.meta.get("alternatives"), turn) or {}
        out["args_match"], out["args_reason"] = args_match(got.arguments, want.arguments, schema, alts)
    else:
        out["args_match"], out["args_reason"] = False, "wrong_tool"
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
            groups[s.get(by)].append(s)
        return {g: summarize(rows) for g, rows in sorted(groups.items(), key=lambda kv: str(kv[0]))}
    out = {}
    for m in METRICS:
        vals = [float(s[m]) for s in scores if s.get(m) is not None]
        lo, hi = bootstrap_ci(vals)
        out[m] = {"value": sum(vals) / len(vals) if vals else None, "lo": lo, "hi": hi, "n": len(vals)}
    return out


def mcnemar(a: list[float], b: list[float]) -> dict:
    """Exact paired test on the same items: McNemar for booleans, the sign test for scores (ties dropped).

    Two-sided p-value of "a and b differ"; `b_only` counts items where b is better, `a_only` where a is.
    """
    n01 = sum(1 for x, y in zip(a, b, strict=True) if y > x)
    n10 = sum(1 for x, y in zip(a, b, strict=True) if x > y)
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
    return score_items(items, preds, dialect), stats


def score_items(items: list[dict], preds: list[str], dialect: str = "xml") -> list[dict]:
    """One row per item: ids, set, category, the prompt's last user turn, reference, prediction and verdicts."""
    rows = []
    for it, pred in zip(items, preds, strict=True):
        s = score_turn(pred, it["ref"], it["example"], dialect, it["turn"])
        user = _last_request(it["example"], it["turn"])
        rows.append(
            {
                "id": it["id"],
                "set": it.get("set", "test"),
                "category": it["category"],
                "turn": it["turn"],
                "prompt": user,
                "prediction": pred,
                "reference": dialects.render_assistant(it["ref"]),
                **s,
            }
        )
    return rows


def _last_request(ex: Example, turn: int) -> str:
    """The user's last message before assistant turn `turn` (not a tool result shown as a user turn)."""
    seen, last = -1, ""
    for m in ex.messages:
        if m.role == "assistant":
            seen += 1
            if seen == turn:
                break
        elif m.role == "user":
            last = m.content
    return last


def add_live(results: dict, items: list[dict], runner) -> dict:
    """Replay each model's first call on live servers and set `executed_ok` / `exec_match` / `exec_status` on
    its rows.

    Only turns whose reference is a call on a server the runner runs are scored. The reference call is
    replayed too (same seeded sandbox); where it fails the environment cannot judge the turn and both stay
    None (`exec_status` "ref_<status>"). No call where one is expected scores False. `exec_match` holds where
    the model's call ran, returned the reference call's result (normalised: `live.normalise_result`) and left
    the sandbox in the reference call's state — BFCL's multi-turn response and state checks, on real servers.
    """
    from . import live

    live_names = set(runner.allow)
    by_id = {it["id"]: it for it in items}
    jobs: list = []
    where: list[tuple[str, str, int | None]] = []
    rows_by_id = {name: {row["id"]: k for k, row in enumerate(r["rows"])} for name, r in results.items()}
    for it in items:
        if (
            not it["ref"].calls
            or runner.server_of.get(it["ref"].calls[0].server, it["ref"].calls[0].server) not in live_names
        ):
            continue
        jobs.append(live.Job(it["ref"].calls[0], it["example"], f"ref:{it['id']}"))
        where.append(("ref", it["id"], None))
        for name, r in results.items():
            k = rows_by_id[name].get(it["id"])
            if k is not None and r["rows"][k].get("pred_call"):
                jobs.append(
                    live.Job(ToolCall(**r["rows"][k]["pred_call"]), it["example"], f"{name}:{it['id']}")
                )
                where.append((name, it["id"], k))
    t0 = time.time()
    outcomes = runner.run(jobs)
    ref_out = {iid: o for (who, iid, _), o in zip(where, outcomes, strict=True) if who == "ref"}
    pred_out = {(who, k): o for (who, _, k), o in zip(where, outcomes, strict=True) if who != "ref"}
    stats: dict[str, Any] = {
        "seconds": round(time.time() - t0, 2),
        "calls": len(jobs),
        "starts": dict(runner.starts),
    }
    for name, r in results.items():
        counts: Counter = Counter()
        for k, row in enumerate(r["rows"]):
            it = by_id.get(row["id"])
            ref = ref_out.get(row["id"])
            if it is None or ref is None:
                row.update(executed_ok=None, exec_match=None, exec_status="not_live", exec_result="")
            elif not ref.ok:
                row.update(
                    executed_ok=None,
                    exec_match=None,
                    exec_status=f"ref_{ref.status}",
                    exec_result=ref.text[:300],
                )
            elif (name, k) not in pred_out:
                row.update(executed_ok=False, exec_match=False, exec_status="no_call", exec_result="")
            else:
                o = pred_out[(name, k)]
                keys = (o.result_key, o.state_key, ref.result_key, ref.state_key)
                if o.ok and not all(keys):
                    same = None  # the harness could not take a result or state: not scored
                else:
                    same = o.ok and (o.result_key, o.state_key) == (ref.result_key, ref.state_key)
                row.update(
                    executed_ok=o.ok,
                    exec_match=same,
                    exec_status=o.status,
                    exec_result=o.text[:300],
                    exec_differs=_differs(o, ref) if o.ok and same is False else None,
                )
            counts[row["exec_status"]] += 1
        stats[name] = dict(sorted(counts.items()))
    return stats


def _differs(o, ref) -> str:
    """What made an executed call's outcome differ from the reference call's."""
    result, state = o.result_key != ref.result_key, o.state_key != ref.state_key
    return "result_and_state_differ" if result and state else "result_differs" if result else "state_differs"


def live_runner(params):
    """The LiveRunner for `params.eval.live` (allowlisted servers, per-call timeout), or None when off."""
    from . import live

    lp = params.eval.live
    if not lp.enabled or not lp.servers:
        return None
    return live.LiveRunner(lp.servers, timeout_s=lp.timeout_s)


def evaluate_models(candidates: dict, items: list[dict], params) -> dict:
    """Load each candidate (name -> ModelParams) in `params.eval.dtype`, generate and score every item;
    then replay the calls on the allowlisted live servers (`params.eval.live`)."""
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
    attach_live(results, items, live_runner(params))
    return results


def attach_live(results: dict, items: list[dict], runner) -> None:
    """`add_live`, with each model's live status counts in `stats["live"]`; a failure of the harness itself
    is reported there (and warned about) instead of discarding the generations: executed_ok stays None."""
    if runner is None:
        return
    try:
        live_stats = add_live(results, items, runner)
    except Exception as e:
        warnings.warn(f"live execution failed, executed_ok not scored: {e!r}", stacklevel=2)
        live_stats = {"seconds": 0, "calls": 0, **{name: {"error": repr(e)} for name in results}}
    for name, r in results.items():
        r.setdefault("stats", {})["live"] = {
            "seconds": live_stats["seconds"],
            "calls": live_stats["calls"],
            "status": live_stats[name],
        }


PAIRED = METRICS


def compare(
    results: dict, a: str = "base", b: str = "fine_tuned", eval_set: str | None = None
) -> tuple[dict, dict]:
    """Per-model summaries, and exact paired tests of `a` vs `b` on every metric, over the items both scored.

    `eval_set` restricts both to the rows of one eval set (None: all rows). Booleans get McNemar's test, scores
    (answer F1, ROUGE-L) the sign test.
    """

    def rows(name: str) -> list[dict]:
        return [r for r in results[name]["rows"] if eval_set is None or r.get("set", "test") == eval_set]

    summary = {name: summarize(rows(name)) for name in results}
    tests = {}
    if a in results and b in results:
        by_id = {r["id"]: r for r in rows(b)}
        for m in PAIRED:
            pairs = [
                (x[m], by_id[x["id"]][m])
                for x in rows(a)
                if x["id"] in by_id and x.get(m) is not None and by_id[x["id"]].get(m) is not None
            ]
            tests[m] = {
                **mcnemar([float(x) for x, _ in pairs], [float(y) for _, y in pairs]),
                "n": len(pairs),
            }
    return summary, tests


def breakdown(results: dict, by: str, metric: str, eval_set: str | None = None) -> dict:
    """{model: {group: metric summary}} for `by` in ("server", "category", "set")."""
    return {
        name: {
            g: s[metric]
            for g, s in summarize(
                [row for row in r["rows"] if eval_set is None or row.get("set", "test") == eval_set], by=by
            ).items()
        }
        for name, r in results.items()
    }


def metrics_record(
    results: dict, items: list[dict], sets_info: dict | None = None, primary: str | None = None
) -> dict:
    """The `eval` section of metrics.json.

    `<model>.<metric>` and `tests.<metric>` hold the primary eval set (the first of `eval.sets`, normally
    the test split); `sets.<set>` the same per eval set; `by_server` / `by_category` break the primary set
    down per model and metric; `reasons` counts why turns failed (hallucinated tool, wrong tool, missing
    required argument, execution status, ...).
    """
    present = list(dict.fromkeys(it.get("set", "test") for it in items))
    primary = primary if primary in present else (present[0] if present else None)
    summary, tests = compare(results, eval_set=primary)
    per_set = {}
    for s in present:
        sm, ts = compare(results, eval_set=s)
        per_set[s] = {**sm, "tests": ts, "items": sum(1 for it in items if it.get("set", "test") == s)}
    by = {
        f"by_{key}": {
            name: {
                g: {m: v for m, v in ms.items() if v["value"] is not None}
                for g, ms in summarize(
                    [row for row in r["rows"] if row.get("set", "test") == primary], by=key
                ).items()
            }
            for name, r in results.items()
        }
        for key in ("server", "category")
    }
    return {
        **summary,
        "tests": tests,
        "primary_set": primary,
        "sets": per_set,
        **by,
        "reasons": reasons(results, primary),
        "items": len(items),
        "eval_sets": sets_info or {},
        "generation": {k: v["stats"] for k, v in results.items()},
    }


REASONS = ("selection_reason", "args_reason", "exec_status", "exec_differs")


def reasons(results: dict, eval_set: str | None = None) -> dict:
    """Why turns failed, counted per model: {model: {selection_reason|args_reason|exec_status|exec_differs:
    {reason: n}}}."""
    out = {}
    for name, r in results.items():
        rows = [row for row in r["rows"] if eval_set is None or row.get("set", "test") == eval_set]
        out[name] = {
            k: dict(
                sorted(Counter(str(row.get(k)) for row in rows if row.get(k) not in (None, "ok")).items())
            )
            for k in REASONS
        }
    return out


def reason_table(results: dict, eval_set: str | None = None):
    """A DataFrame of `reasons`: one row per (kind, reason), one count column per model."""
    import pandas as pd

    counts = reasons(results, eval_set)
    table = pd.DataFrame(
        {
            name: {(k, reason): n for k, d in by.items() for reason, n in d.items()}
            for name, by in counts.items()
        }
    )
    return table.fillna(0).astype(int).sort_index() if len(table) else table


def summary_table(summary: dict, tests: dict):
    """A DataFrame: metric rows, one `value [lo, hi]` column per model, and the paired test's p-value."""
    import pandas as pd

    def cell(v: dict) -> str:
        return "n/a" if v["value"] is None else f"{v['value']:.3f} [{v['lo']:.3f}, {v['hi']:.3f}]"

    table = pd.DataFrame({name: {m: cell(v) for m, v in s.items()} for name, s in summary.items()})
    table["n"] = [max((s.get(m, {}).get("n") or 0 for s in summary.values()), default=0) for m in table.index]
    table["p (paired)"] = [tests.get(m, {}).get("p_value", "") for m in table.index]
    return table


def comparison_chart(summary: dict, title: str = "per assistant turn (95% bootstrap CI)"):
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
    return fig.update_layout(barmode="group", title=title, yaxis_range=[0, 1.05])


def breakdown_chart(results: dict, by: str, metric: str, eval_set: str | None = None):
    """Grouped bars of one metric per server / category / set, one bar per model, with 95% CIs (plotly)."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for name, groups in breakdown(results, by, metric, eval_set).items():
        gs = [g for g, v in groups.items() if v["value"] is not None]
        fig.add_bar(
            name=name,
            x=[str(g) for g in gs],
            y=[groups[g]["value"] for g in gs],
            error_y={
                "type": "data",
                "symmetric": False,
                "array": [groups[g]["hi"] - groups[g]["value"] for g in gs],
                "arrayminus": [groups[g]["value"] - groups[g]["lo"] for g in gs],
            },
            customdata=[groups[g]["n"] for g in gs],
            hovertemplate="%{x}: %{y:.3f} (n=%{customdata})",
        )
    return fig.update_layout(
        barmode="group", title=f"{metric} per {by} (95% bootstrap CI)", yaxis_range=[0, 1.05]
    )


VERDICTS = (
    "well_formed",
    "tool_selection",
    "schema_valid",
    "args_match",
    "executed_ok",
    "exec_match",
    "clarifies",
)


def side_by_side(results: dict):
    """One row per item: prompt, reference, and per model its output and verdicts (a DataFrame)."""
    import pandas as pd

    names = list(results)
    lookup = {name: {r["id"]: r for r in results[name]["rows"]} for name in names}
    out = []
    for iid, r0 in (lookup[names[0]] if names else {}).items():
        row = {k: r0.get(k) for k in ("id", "set", "category", "server", "prompt", "reference")}
        for name in names:
            r = lookup[name].get(iid)
            if r is None:
                continue
            row[f"{name}: output"] = r["prediction"]
            for v in VERDICTS:
                row[f"{name}: {v}"] = r.get(v)
            row[f"{name}: verdict"] = verdict(r)
            row[f"{name}: why"] = _why(r)
        out.append(row)
    return pd.DataFrame(out)


def _why(r: dict) -> str:
    parts = [r.get(k) or "" for k in REASONS]
    return " · ".join(p for p in parts if p and p != "ok")


def verdict(r: dict) -> str:
    """pass / fail for a row: every verdict that applies holds (answers: ROUGE-L >= 0.5)."""
    vals = [r.get(v) for v in VERDICTS if r.get(v) is not None]
    if r.get("answer_rouge_l") is not None:
        vals.append(r["answer_rouge_l"] >= 0.5)
    return "pass" if vals and all(vals) else "fail"


def filter_rows(
    table, server: str = "all", category: str = "all", eval_set: str = "all", outcome: str = "all"
):
    """Rows of a `side_by_side` table matching the filters; `outcome` is "<model>: pass|fail" or "all"."""
    t = table
    if server != "all":
        t = t[t["server"] == server]
    if category != "all":
        t = t[t["category"] == category]
    if eval_set != "all":
        t = t[t["set"] == eval_set]
    if outcome != "all":
        name, _, want = outcome.rpartition(": ")
        t = t[t[f"{name}: verdict"] == want]
    return t


def viewer(results: dict, interactive: bool | None = None, limit: int = 50):
    """Prompt, reference, each model's output and verdicts, filterable by server, category, set and verdict.

    An ipywidgets panel in a live kernel; a static HTML table (first `limit` rows) under papermill or when
    `interactive` is False (widgets have no state in an executed notebook).
    """
    import html as _html

    table = side_by_side(results)
    names = list(results)
    if interactive is None:
        interactive = _live_kernel()

    def render(t) -> str:
        cols = ["id", "category", "server", "prompt", "reference"] + [
            c for n in names for c in (f"{n}: output", f"{n}: verdict", f"{n}: why")
        ]
        head = "".join(f"<th>{_html.escape(c)}</th>" for c in cols)
        body = "".join(
            "<tr>"
            + "".join(
                f"<td style='white-space:pre-wrap;vertical-align:top;font-size:12px'>{_html.escape(str(row[c])[:600])}</td>"
                for c in cols
            )
            + "</tr>"
            for _, row in t.head(limit).iterrows()
        )
        return f"<p>{len(t)} items (showing {min(limit, len(t))})</p><table><tr>{head}</tr>{body}</table>"

    if not interactive:
        from IPython.display import HTML

        return HTML(render(table))
    import ipywidgets as w

    def options(col: str) -> list[str]:
        return ["all"] + sorted({str(x) for x in table[col].dropna()})

    server = w.Dropdown(options=options("server"), description="server")
    category = w.Dropdown(options=options("category"), description="category")
    eval_set = w.Dropdown(options=options("set"), description="set")
    outcome = w.Dropdown(
        options=["all"] + [f"{n}: {v}" for n in names for v in ("pass", "fail")], description="verdict"
    )
    out = w.HTML()

    def update(*_):
        out.value = render(filter_rows(table, server.value, category.value, eval_set.value, outcome.value))

    for d in (server, category, eval_set, outcome):
        d.observe(update, names="value")
    update()
    return w.VBox([w.HBox([server, category, eval_set, outcome]), out])


def _live_kernel() -> bool:
    """True inside a Jupyter kernel (the notebook passes `interactive=not run_dir` to rule out papermill)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    ip = get_ipython()
    return ip is not None and "IPKernelApp" in getattr(ip, "config", {})


def breakdown_table(results: dict, by: str, metrics: list[str] | None = None, eval_set: str | None = None):
    """A DataFrame: one row per server / category / set, a `value [lo, hi] (n)` column per model and metric."""
    import pandas as pd

    metrics = metrics or ["call_well_formed", "tool_selection", "args_match", "executed_ok", "exec_match"]
    cols = {}
    for m in metrics:
        for name, groups in breakdown(results, by, m, eval_set).items():
            cols[(m, name)] = {
                str(g): ""
                if v["value"] is None
                else f"{v['value']:.2f} [{v['lo']:.2f}, {v['hi']:.2f}] ({v['n']})"
                for g, v in groups.items()
            }
    table = pd.DataFrame(cols)
    table.index.name = by
    return table


def registered_summaries(name: str, metric_model: str = "fine_tuned") -> dict:
    """Summaries of earlier registered versions of `name` (`NAME vN` -> metrics), if a registry is there.

    Each version was scored on its own run's eval items, so these columns are context, not a paired test.
    """
    try:
        from . import registry
    except ImportError:
        return {}
    out = {}
    try:
        for v in registry.versions(name):
            ev = registry.get(f"{name}:v{v}").get("metrics", {}).get("eval", {}).get(metric_model)
            if isinstance(ev, dict) and all(
                isinstance(ev.get(m), dict) for m in ("well_formed", "tool_selection")
            ):
                out[f"{name} v{v}"] = {
                    m: ev.get(m, {"value": None, "lo": None, "hi": None, "n": 0}) for m in METRICS
                }
    except (OSError, ValueError):
        return out
    return out
