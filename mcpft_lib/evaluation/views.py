"""Tables, charts and the side-by-side viewer of notebook 04."""

from __future__ import annotations

from collections import Counter

from mcpft_lib.evaluation.stats import breakdown, compare

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


# what notebook 04 shows for the hand-written set (docs/evaluation.md, "The hand-written set")
HANDWRITTEN_METRICS = (
    "tool_selection",
    "args_match",
    "schema_valid",
    "no_call_ok",
    "unexpected_call",
    "hallucinated_tool",
    "clarifies",
)


def set_summary_table(results: dict, eval_set: str, metrics: tuple[str, ...] | list[str] | None = None):
    """`summary_table` of one eval set (the paired tests on its items), restricted to `metrics`."""
    summary, tests = compare(results, eval_set=eval_set)
    keep = list(metrics) if metrics else None
    return summary_table(
        {name: {m: v for m, v in s.items() if keep is None or m in keep} for name, s in summary.items()},
        tests,
    )


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
