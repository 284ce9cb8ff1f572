"""`mcpft bench bfcl`: a model answers BFCL v4 entries in the profile's dialect, BFCL's rules score each answer.

Per category: accuracy with a 95% bootstrap interval, and one record per entry (BFCL's `id`, the category, the
raw output, the parsed `calls` as `[{name: arguments}]`, `ok` and BFCL's error type as the reason).
"""

from __future__ import annotations

import json
import random
import time
from pathlib import Path
from typing import Any

from mcpft_lib.config import ModelParams, Params, load_params
from mcpft_lib.evaluation.bfcl import checker, convert, source
from mcpft_lib.evaluation.generation import CALL_STOPS, check_backend, generate, load_for_eval
from mcpft_lib.evaluation.stats import bootstrap_ci, mcnemar
from mcpft_lib.mcp import dialects
from mcpft_lib.modeling import loaders
from mcpft_lib.runs import open_run


def sample(categories: list[str], per_category: int | None = None, seed: int = 0) -> list[source.Item]:
    """Every entry of each category, or a seeded sample of `per_category` (BFCL order kept within a category)."""
    out: list[source.Item] = []
    for c in categories:
        items = list(source.load_category(c))
        if per_category is not None and per_category < len(items):
            keep = set(random.Random(f"{seed}:{c}").sample(range(len(items)), per_category))
            items = [it for k, it in enumerate(items) if k in keep]
        out.extend(items)
    return out


def score(items: list[source.Item], outputs: list[str], dialect: str) -> list[dict[str, Any]]:
    """Parse each output in the dialect (lenient parsing off: BFCL's decoder accepts only well-formed calls)
    and apply BFCL's rules."""
    records = []
    for it, raw in zip(items, outputs, strict=True):
        parsed = dialects.parse_turn(raw, dialect)
        calls = convert.bfcl_calls(parsed.calls) if parsed.well_formed else "undecodable"
        verdict = checker.check(it.category, it.functions, calls, it.ground_truth)
        records.append({"id": it.id, "category": it.category, "raw": raw, "calls": calls,
                        "ok": bool(verdict["valid"]), "reason": verdict.get("error_type")})  # fmt: skip
    return records


def answer(model, tok, items: list[source.Item], dialect: str, max_new_tokens: int = 128,
           batch_size: int = 8, desc: str | None = "BFCL") -> tuple[list[str], dict]:  # fmt: skip
    """Greedy replies to every entry (a progress bar named `desc` counts them; None: none). A turn stops at the
    template's end of turn and, in the xml dialect, when a call closes (so one call per turn there: the
    parallel categories need the native dialect)."""
    turn_end = loaders.TURN_END.get(tok.init_kwargs.get("mcpft_template"))
    stop = (list(CALL_STOPS) if dialect == "xml" else []) + ([turn_end] if turn_end else [])
    return generate(
        model, tok, [convert.prompt(it, dialect) for it in items], max_new_tokens, batch_size, stop, desc=desc
    )


def summarize(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Accuracy per category (and over all entries) with a 95% percentile-bootstrap interval."""
    groups: dict[str, list[float]] = {}
    for r in records:
        groups.setdefault(r["category"], []).append(float(r["ok"]))
    groups["all"] = [float(r["ok"]) for r in records]
    out = {}
    for name, vals in groups.items():
        lo, hi = bootstrap_ci(vals)
        out[name] = {"value": sum(vals) / len(vals) if vals else None, "lo": lo, "hi": hi, "n": len(vals)}
    return out


def evaluate_models(candidates: dict[str, ModelParams], p: Params) -> dict[str, list[dict[str, Any]]]:
    """Notebook 04's BFCL section: each model (name -> ModelParams, loaded for `eval.backend`) answers the same
    seeded sample (`eval.bfcl`); records per model, in the same order."""
    check_backend(p)
    items = sample(list(p.eval.bfcl.categories), p.eval.bfcl.per_category or None, p.run.seed)
    out = {}
    for name, mp in candidates.items():
        model, tok = load_for_eval(mp, p)
        outputs, _ = answer(
            model, tok, items, p.data.dialect, p.eval.max_new_tokens, p.eval.batch_size, f"BFCL {name}"
        )
        out[name] = score(items, outputs, p.data.dialect)
        del model
    return out


def report_record(candidates: dict[str, ModelParams], p: Params) -> dict[str, Any]:
    """Notebook 04: `record(evaluate_models(...))`, or `{"skipped": reason}` when the BFCL data cannot be had
    (offline with no cached wheel, a changed file): the run goes on and the report says why BFCL is missing."""
    try:
        source.wheel_path()
    except source.BFCLSourceError as e:
        return {"skipped": str(e)}
    return record(evaluate_models(candidates, p))


def record(
    results: dict[str, list[dict[str, Any]]], a: str = "base", b: str = "fine_tuned"
) -> dict[str, Any]:
    """metrics.json `eval.bfcl`: `<model>.<category>` accuracy with intervals (and `all`), exact McNemar tests
    of b against a per category, and the version of the data."""
    out: dict[str, Any] = {name: summarize(recs) for name, recs in results.items()}
    if a in results and b in results:
        tests = {}
        for cat in out[a]:
            pa = [float(r["ok"]) for r in results[a] if cat in ("all", r["category"])]
            pb = [float(r["ok"]) for r in results[b] if cat in ("all", r["category"])]
            tests[cat] = mcnemar(pa, pb)
        out["tests"] = tests
    out["bfcl_eval"] = source.VERSION
    out["entries"] = len(next(iter(results.values()), []))
    return out


def table(rec: dict[str, Any], a: str = "base", b: str = "fine_tuned"):
    """One row per category: each model's accuracy [95% interval], the entries, and the paired test's p."""
    import pandas as pd

    def cell(s: dict) -> str:
        return f"{s['value']:.3f} [{s['lo']:.3f}, {s['hi']:.3f}]" if s.get("value") is not None else "n/a"

    models = [m for m in (a, b) if m in rec]
    rows = []
    for cat in rec[models[0]]:
        row = {"category": cat, **{m: cell(rec[m][cat]) for m in models}, "n": rec[models[0]][cat]["n"]}
        if "tests" in rec:
            row["p (McNemar)"] = round(rec["tests"][cat]["p_value"], 4)
        rows.append(row)
    return pd.DataFrame(rows).set_index("category")


def model_params(p: Params, which: str, run_id: str | None) -> ModelParams:
    """The profile's base model, or the merged model of a run (`--run`) for `fine_tuned`."""
    if which == "base":
        return p.model
    if not run_id:
        raise ValueError(
            "--model fine_tuned needs --run RUN_ID (a run whose notebook 03 exported a merged model)"
        )
    merged = open_run(run_id).merged_dir(p.export.dtype)
    return p.model.model_copy(update={"source": "local", "id": str(merged)})


def run_bench(params_file: str, overrides: list[str] | None = None, which: str = "base", run_id: str | None = None,
              categories: list[str] | None = None, per_category: int | None = None, out: str | None = None,
              log=print) -> dict[str, Any]:  # fmt: skip
    """Load the model once, answer the sampled entries, score them; print a table and write the JSON."""
    p = load_params(params_file, overrides)
    categories = categories or list(source.CATEGORIES)
    unknown = [c for c in categories if c not in source.CATEGORIES]
    if unknown:
        raise ValueError(
            f"--categories: unknown {unknown}; BFCL v4 single-turn categories: {', '.join(source.CATEGORIES)}"
        )
    check_backend(p)
    items = sample(categories, per_category, p.run.seed)
    mp = model_params(p, which, run_id)
    t0 = time.perf_counter()
    model, tok = load_for_eval(mp, p)
    outputs, stats = answer(model, tok, items, p.data.dialect, p.eval.max_new_tokens, p.eval.batch_size)
    records = score(items, outputs, p.data.dialect)
    summary = summarize(records)
    result = {"bfcl_eval": source.VERSION, "model": which, "model_id": mp.id, "dialect": p.data.dialect,
              "backend": p.eval.backend,
              "seconds": round(time.perf_counter() - t0, 1), "generation": stats, "summary": summary,
              "records": records}  # fmt: skip
    for name, s in summary.items():
        log(f"{name:24} {s['value']:.3f}  [{s['lo']:.3f}, {s['hi']:.3f}]  n={s['n']}")
    log(f"{len(items)} entries in {result['seconds']} s ({which}: {mp.id})")
    if out:
        Path(out).write_text(json.dumps(result, indent=1, default=str))
        log(f"wrote {out}")
    return result


def compare_files(a_file: str, b_file: str, log=print) -> dict[str, Any]:
    """Two `mcpft bench bfcl --out` files (e.g. base and fine-tuned) paired on the entries both answered:
    per category, each model's accuracy with its interval and the exact McNemar test of the second against
    the first."""
    a, b = (json.loads(Path(f).read_text()) for f in (a_file, b_file))
    ids = {r["id"] for r in a["records"]} & {r["id"] for r in b["records"]}
    if not ids:
        raise ValueError(f"{a_file} and {b_file} share no BFCL entry: nothing to pair")
    pick = lambda res: sorted((r for r in res["records"] if r["id"] in ids), key=lambda r: r["id"])  # noqa: E731
    rec = record({"a": pick(a), "b": pick(b)}, "a", "b")
    log(
        f"a = {a_file} ({a.get('model')}: {a.get('model_id')}); b = {b_file} ({b.get('model')}: {b.get('model_id')})"
    )
    log(f"{len(ids)} entries answered by both (bfcl-eval {rec['bfcl_eval']})")
    log(table(rec, "a", "b").to_string())
    return rec
