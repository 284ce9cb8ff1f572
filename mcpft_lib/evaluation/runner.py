"""Scoring models: generate every item, score each turn, replay calls on the live servers, and the
record that goes to metrics.json."""

from __future__ import annotations

import time
import warnings
from collections import Counter
from typing import Any

from mcpft_lib.core.schema import Example, ToolCall
from mcpft_lib.evaluation.generation import check_backend, generate, load_for_eval
from mcpft_lib.evaluation.metrics import METRICS, score_turn
from mcpft_lib.evaluation.stats import compare, summarize
from mcpft_lib.evaluation.views import reasons
from mcpft_lib.export import registry
from mcpft_lib.mcp import live, live_commands, xml_calls
from mcpft_lib.modeling import loaders


def evaluate_model(
    model,
    tok,
    items: list[dict],
    dialect: str = "xml",
    max_new_tokens: int = 96,
    batch_size: int = 8,
    turn_end: str | None = None,
    desc: str | None = None,
) -> tuple[list[dict], dict]:
    """Generate and score every item; returns per-item rows and generation stats. With `desc` a progress bar
    of that name counts the items generated."""
    stop = ["</use_mcp_tool>", "</access_mcp_resource>"] + ([turn_end] if turn_end else [])
    chats = [it["chat"] for it in items]
    preds, stats = generate(model, tok, chats, max_new_tokens, batch_size, stop, desc=desc)
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
                "reference": xml_calls.render_assistant(it["ref"]),
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
    outcomes = runner.run(jobs, desc="live replay")
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


def live_runner(params, probe: bool = True):
    """The LiveRunner for `params.eval.live` (allowlisted servers and the user's own `commands`, per-call
    timeout), or None when off. With `probe` each of `commands` is started once first: one that does not start
    is a ValueError naming its key (`live_commands.probe`), before any model is loaded."""

    lp = params.eval.live
    if not lp.enabled or not (lp.servers or lp.commands):
        return None
    own = {
        name: live.ServerSpec("", kind="command", command=tuple(argv)) for name, argv in lp.commands.items()
    }
    if probe:
        for name, argv in lp.commands.items():
            live_commands.probe(name, argv)
    return live.LiveRunner([*lp.servers, *own], timeout_s=lp.timeout_s, specs={**live.LIVE_SERVERS, **own})


def evaluate_models(candidates: dict, items: list[dict], params) -> dict:
    """Load each candidate (name -> ModelParams) in `params.eval.dtype`, generate and score every item;
    then replay the calls on the allowlisted live servers (`params.eval.live`; the user's own servers are
    started once before the first model loads, so a broken command fails first)."""

    check_backend(params)
    live_replay = live_runner(params)
    results = {}
    for name, mp in candidates.items():
        model, tok = load_for_eval(mp, params)
        turn_end = loaders.TURN_END.get(tok.init_kwargs.get("mcpft_template"))
        rows, stats = evaluate_model(
            model,
            tok,
            items,
            params.data.dialect,
            params.eval.max_new_tokens,
            params.eval.batch_size,
            turn_end,
            desc=f"generate {name}",
        )
        results[name] = {"rows": rows, "stats": stats}
        del model
    attach_live(results, items, live_replay)
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


def registered_summaries(name: str, metric_model: str = "fine_tuned") -> dict:
    """Summaries of earlier registered versions of `name` (`NAME vN` -> metrics), if a registry is there.

    Each version was scored on its own run's eval items, so these columns are context, not a paired test.
    """
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
