"""Statistics over per-turn scores: bootstrap intervals, exact paired tests, comparisons and breakdowns.

The statistics themselves are scipy's (`scipy.stats.bootstrap`, `scipy.stats.binomtest`), imported inside the
functions that use them so `import mcpft_lib` stays fast."""

from __future__ import annotations

from collections import defaultdict

from mcpft_lib.evaluation.metrics import METRICS


def bootstrap_ci(
    values: list[float], n_boot: int = 1000, seed: int = 0, alpha: float = 0.05
) -> tuple[float, float] | tuple[None, None]:
    """Percentile bootstrap interval of the mean (`scipy.stats.bootstrap`, `n_boot` resamples, seeded).

    No values: (None, None). One value, or all values equal: the interval is that value (every resample has
    the same mean; scipy's bootstrap refuses a single observation)."""
    if not values:
        return (None, None)
    lo_v, hi_v = min(values), max(values)
    if lo_v == hi_v:
        return (float(lo_v), float(hi_v))
    import numpy as np
    from scipy.stats import bootstrap

    res = bootstrap(
        (np.asarray(values, dtype=float),),
        np.mean,
        n_resamples=n_boot,
        confidence_level=1 - alpha,
        method="percentile",
        rng=np.random.default_rng(seed),
    )
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


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
    from scipy.stats import binomtest

    n01 = sum(1 for x, y in zip(a, b, strict=True) if y > x)
    n10 = sum(1 for x, y in zip(a, b, strict=True) if x > y)
    if n01 + n10 == 0:
        return {"b_only": 0, "a_only": 0, "p_value": 1.0}
    # exact McNemar: under "no difference" each discordant pair is a fair coin flip
    p = binomtest(n01, n01 + n10, p=0.5, alternative="two-sided").pvalue
    return {"b_only": n01, "a_only": n10, "p_value": min(1.0, float(p))}


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
