"""The published site: each run's page, the index of runs, performance and limitations read from metrics."""

from __future__ import annotations

import html
import os
from pathlib import Path

from mcpft_lib.config import Params
from mcpft_lib.core.fsutil import atomic_write
from mcpft_lib.evaluation.metrics import CALL_METRICS
from mcpft_lib.runs import Run, list_runs, open_run, reports_root

# --- report pages ---------------------------------------------------------------------------------

_CSS = """body{font-family:system-ui,sans-serif;margin:2rem;max-width:75rem}table{border-collapse:collapse}
td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:left}th{background:#f4f4f4}
.ok{color:#080}.failed{color:#b00}.running{color:#a60}code{font-size:.9em}"""


def key_metrics(metrics: dict) -> dict:
    """The few figures the index shows for a run."""
    out = {}
    ev = metrics.get("eval", {})
    for model in ("base", "fine_tuned"):
        for m in ("call_well_formed", "tool_selection"):
            v = ev.get(model, {}).get(m)
            if isinstance(v, dict):
                v = v.get("value")
            if v is not None:
                out[f"{model}.{m}"] = v
    tr = metrics.get("train", {})
    for k in ("final_loss", "final_val_loss"):
        if k in tr:
            out[f"train.{k}"] = tr[k]
    reg = metrics.get("registry") or {}
    if "version" in reg:
        v = reg["version"]
        out["model"] = f"{reg.get('name', '?')} {'v' if isinstance(v, int) else ''}{v}"
    return out


def _fmt(v) -> str:
    return f"{v:.3f}" if isinstance(v, float) else html.escape(str(v))


def _dig(d, dotted: str):
    for part in dotted.split("."):
        if not isinstance(d, dict) or part not in d:
            return None
        d = d[part]
    return d


def model_versions(info: dict, metrics: dict) -> list[tuple[str, str]]:
    """What the run's model is: registry name and version (when registered), base model and revision,
    dataset version, params hash; then the library versions run.json recorded."""
    reg = metrics.get("registry") or {}
    rows = []
    if reg.get("name") or reg.get("version"):
        v = reg.get("version")
        rows.append(("registered model", f"{reg.get('name', '?')} {'v' if isinstance(v, int) else ''}{v}"))
    base = (
        _dig(reg, "base_model.id")
        or _dig(info, "params.model.card_base_model")
        or _dig(info, "params.model.id")
    )
    rev = _dig(reg, "base_model.revision") or _dig(info, "params.model.revision")
    rows.append(
        ("base model", f"{base} ({_dig(info, 'params.model.source')}" + (f", {rev})" if rev else ")"))
    )
    rows.append(("dataset version", str(_dig(reg, "dataset.version") or _dig(metrics, "data.version"))))
    rows.append(("params hash", str(info.get("params_hash"))))
    rows += [(k, str(v)) for k, v in (info.get("versions") or {}).items() if v]
    return rows


def _notebook_rows(states: dict) -> str:
    out = []
    for nb, s in states.items():
        links = []
        if s.get("html"):
            links.append(f"<a href='{html.escape(s['html'])}'>html</a>")
        ipynb = s.get("ipynb") or (f"{nb}.ipynb" if s.get("html") else None)
        if ipynb:
            links.append(f"<a href='{html.escape(ipynb)}'>ipynb</a>")
        status = html.escape(str(s.get("status")))
        out.append(
            f"<tr><td>{html.escape(nb)}</td><td class='{status}'>{status}</td><td>{s.get('seconds', '')}</td>"
            f"<td>{' · '.join(links)}</td><td>{html.escape(s.get('error') or '')}</td></tr>"
        )
    return "".join(out)


_NB_HEAD = "<tr><th>notebook</th><th>status</th><th>seconds</th><th>report</th><th>error</th></tr>"

# files a run folder may hold, linked from its page when present
RUN_FILES = (
    "run.json",
    "metrics.json",
    "params.yaml",
    "hardware.json",
    "predictions.json",
    "MODEL_CARD.md",
    "DATASET_CARD.md",
    "examples/agent_transcript.json",
    "site.png",
)


def write_run_page(run: Run) -> Path:
    """reports/<run>/index.html: status, notebooks and example notebooks with links, key metrics, model and
    library versions, the run's files. Static HTML, no scripts: it opens offline."""
    info, metrics = run.info(), run.metrics()
    km = "".join(
        f"<tr><td>{html.escape(k)}</td><td>{_fmt(v)}</td></tr>" for k, v in key_metrics(metrics).items()
    )
    mv = "".join(
        f"<tr><td>{html.escape(k)}</td><td><code>{html.escape(v)}</code></td></tr>"
        for k, v in model_versions(info, metrics)
    )
    examples = info.get("examples") or {}
    agent = _dig(metrics, "examples.agent_loop")
    agent_p = ""
    if agent:
        agent_p = (
            f"<p>Agent loop on live MCP servers: reference replay round trip "
            f"<b>{'yes' if agent.get('reference_round_trip') else 'no'}</b>; the fine-tuned model made "
            f"{agent.get('model_calls', 0)} call(s), {agent.get('model_calls_ok', 0)} executed without error, "
            f"round trip <b>{'yes' if agent.get('model_round_trip') else 'no'}</b>"
        )
        if "model_tools" in agent:  # a round trip with the wrong tool still answers the wrong question
            mt, rt = agent["model_tools"], agent.get("reference_tools") or []
            agent_p += (
                f"; its tools <b>{'matched' if mt == rt else 'did not match'}</b> the reference's "
                f"({html.escape(', '.join(mt) or 'none')} vs {html.escape(', '.join(rt) or 'none')})"
            )
        agent_p += ".</p>"
    files = " · ".join(f"<a href='{f}'>{f}</a>" for f in RUN_FILES if (run.report_dir / f).is_file())
    git = info.get("git") or {}
    desc = _dig(info, "params.run.description")
    page = (
        f"<!doctype html><html lang=en><meta charset=utf-8><title>{html.escape(run.id)}</title><style>{_CSS}</style>"
        f"<p><a href='../index.html'>all runs</a></p><h1>Run {html.escape(run.id)}</h1>"
        + (f"<p>{html.escape(str(desc))}</p>" if desc else "")
        + f"<p>status <b class='{html.escape(str(info.get('status')))}'>{html.escape(str(info.get('status')))}</b>"
        f" · profile <code>{html.escape(str(info.get('profile')))}</code> · git <code>"
        f"{html.escape(str(git.get('short')))}{'-dirty' if git.get('dirty') else ''}</code> · started "
        f"{html.escape(str(info.get('started', '?')))} · {info.get('seconds', '?')} s</p>"
        + (f"<p class=failed>error: {html.escape(str(info['error']))}</p>" if info.get("error") else "")
        + (
            f"<p>earlier steps (<code>--upstream</code>): <a href='../{html.escape(up)}/index.html'>"
            f"{html.escape(up)}</a></p>"
            if (up := info.get("upstream"))
            else ""
        )
        + f"<h2>Notebooks</h2><table>{_NB_HEAD}{_notebook_rows(info.get('notebooks', {}))}</table>"
        + (
            f"<h2>Example-usage notebooks</h2><p>Executed against this run's model.</p>"
            f"<table>{_NB_HEAD}{_notebook_rows(examples)}</table>{agent_p}"
            if examples
            else ""
        )
        + f"<h2>Key metrics</h2><table>{km or '<tr><td>none recorded</td></tr>'}</table>"
        f"<h2>Model and versions</h2><table>{mv}</table>"
        f"<h2>Files</h2><p>{files}</p>"
    )
    out = run.report_dir / "index.html"
    atomic_write(out, page)
    return out


def write_index() -> Path:
    """reports/index.html: every run, newest first, with status, key metrics and model version."""
    runs = list_runs()
    rows = []
    for info in runs:
        rid = info.get("id") or Path(info["_dir"]).name
        try:
            metrics = open_run(info["_dir"]).metrics()
        except (FileNotFoundError, ValueError):
            metrics = {}
        km = ", ".join(f"{html.escape(k)}={_fmt(v)}" for k, v in key_metrics(metrics).items())
        link = f"{rid}/index.html" if (Path(info["_dir"]) / "index.html").exists() else f"{rid}/run.json"
        nbs = list((info.get("notebooks") or {}).values()) + list((info.get("examples") or {}).values())
        done = sum(s.get("status") == "ok" for s in nbs)
        model = _dig(info, "params.model.card_base_model") or _dig(info, "params.model.id")
        status = html.escape(str(info.get("status")))
        rows.append(
            f"<tr><td><a href='{html.escape(link)}'>{html.escape(rid)}</a></td>"
            f"<td class='{status}'>{status}</td>"
            f"<td>{html.escape(str(info.get('profile')))}</td><td>{html.escape(str(model))}</td>"
            f"<td>{html.escape(str(info.get('started', '')))}</td>"
            f"<td>{info.get('seconds', '')}</td><td>{done}/{len(nbs)}</td><td>{km}</td></tr>"
        )
    page = (
        f"<!doctype html><html lang=en><meta charset=utf-8><title>mcpft reports</title><style>{_CSS}</style>"
        f"<h1>mcpft reports</h1><p>{len(runs)} run(s). Each run's page links its notebooks, example-usage "
        "notebooks, metrics and model card.</p><table><tr><th>run</th><th>status</th><th>profile</th>"
        "<th>base model</th><th>started (UTC)</th><th>seconds</th><th>notebooks ok</th><th>key metrics</th></tr>"
        f"{''.join(rows)}</table>"
    )
    out = reports_root() / "index.html"
    atomic_write(out, page)
    return out


# --- notebook 05: performance, limitations, links ---------------------------------------------------------

PERF_METRICS = CALL_METRICS


def lineage_metrics(run: Run) -> dict:
    """metrics.json of the run, with the sections it lacks taken from its upstream runs (`--upstream`)."""
    out: dict = {}
    seen = set()
    r: Run | None = run
    while r is not None and r.report_dir not in seen:
        seen.add(r.report_dir)
        for k, v in r.metrics().items():
            out.setdefault(k, v)
        up = r.info().get("upstream")
        try:
            r = open_run(up) if up else None
        except FileNotFoundError:
            r = None
    return out


def performance_table(metrics: dict) -> list[dict]:
    """Base vs fine-tuned on the primary eval set: value [95% CI], change, paired-test p-value, n."""
    ev = metrics.get("eval") or {}
    rows = []
    for m in PERF_METRICS:
        b, f = _dig(ev, f"base.{m}"), _dig(ev, f"fine_tuned.{m}")
        if not isinstance(f, dict) or f.get("value") is None:
            continue
        bv = b.get("value") if isinstance(b, dict) else None
        rows.append(
            {
                "metric": m,
                "base": _ci(b),
                "fine_tuned": _ci(f),
                "change": None if bv is None else round(f["value"] - bv, 3),
                "p_value": _dig(ev, f"tests.{m}.p_value"),
                "n": f.get("n"),
            }
        )
    return rows


def _ci(v) -> str:
    if not isinstance(v, dict) or v.get("value") is None:
        return "n/a"
    lo, hi = v.get("lo"), v.get("hi")
    return f"{v['value']:.3f}" + (f" [{lo:.2f}, {hi:.2f}]" if lo is not None and hi is not None else "")


def limitations(metrics: dict, params: Params | None = None) -> list[str]:
    """Plain-language limits drawn from the run's own numbers (evaluation, training, speed)."""
    ev = metrics.get("eval") or {}
    out = []
    if not _dig(ev, "fine_tuned"):
        return [
            "No evaluation was recorded for this run (notebook 04 did not run): nothing is known about quality."
        ]
    ts = _dig(ev, "fine_tuned.tool_selection") or {}
    if ts.get("n") is not None and ts.get("lo") is not None:
        out.append(
            f"Evaluated on {ts['n']} assistant turns ({ev.get('primary_set', 'test')} set): tool selection "
            f"{ts['value']:.2f} with a 95% interval of [{ts['lo']:.2f}, {ts['hi']:.2f}]; small differences are noise."
        )
    same = []
    for m in PERF_METRICS:
        p, f, b = (
            _dig(ev, f"tests.{m}.p_value"),
            _dig(ev, f"fine_tuned.{m}.value"),
            _dig(ev, f"base.{m}.value"),
        )
        if p is not None and f is not None and b is not None:
            if p >= 0.05:
                same.append(m)
            elif f < b:
                out.append(f"{m}: worse than the base model ({f:.2f} vs {b:.2f}, p={p:.2g}).")
    if same:
        out.append(
            f"No significant difference from the base model (paired test, p >= 0.05) in: {', '.join(same)}."
        )
    am = _dig(ev, "fine_tuned.args_match.value")
    if am is not None and am < 0.9:
        out.append(
            f"Arguments match the reference in {am:.0%} of call turns: validate arguments (and confirm writes) "
            "before executing a call."
        )
    cats = {c: _dig(v, "tool_selection.value") for c, v in (_dig(ev, "by_category.fine_tuned") or {}).items()}
    cats = {c: v for c, v in cats.items() if v is not None}
    if len(cats) > 1:
        worst = min(cats, key=cats.get)
        out.append(f"Weakest category: {worst} (tool selection {cats[worst]:.2f}).")
    ex = _dig(ev, "fine_tuned.executed_ok") or {}
    if ex.get("n"):
        xm = _dig(ev, "fine_tuned.exec_match") or {}
        same = (
            f"; {xm['value']:.0%} returned the reference call's result and left the same state"
            if xm.get("n")
            else ""
        )
        out.append(
            f"Live execution: {ex['value']:.0%} of {ex['n']} call turns ran without error on local MCP servers"
            f"{same} (only servers that run locally are scored)."
        )
    tps = _dig(ev, "generation.fine_tuned.tokens_per_s")
    if tps:
        out.append(f"Decoding speed in evaluation: {tps:.1f} tokens/s on this run's hardware.")
    if params is not None:
        out.append(
            f"Trained and evaluated on the servers {', '.join(params.data.servers)} in the {params.data.dialect} "
            "dialect; other servers, dialects and languages are untested."
        )
    return out


def artifact_links(run: Run) -> list[dict]:
    """Every file of the run: report files (relative links) and artifacts (adapter, exports, data), with sizes.
    Checkpoints are summarised as one folder row."""
    rows = []
    for p in sorted(run.report_dir.rglob("*")):
        if p.is_file() and not p.name.startswith("."):
            rel = p.relative_to(run.report_dir).as_posix()
            rows.append({"kind": "report", "name": rel, "href": rel, "bytes": p.stat().st_size})
    roots, seen = [], set()
    r: Run | None = run
    while r is not None and r.artifact_dir not in seen:  # this run's artifacts, then its upstream runs'
        seen.add(r.artifact_dir)
        roots.append(r)
        up = r.info().get("upstream")
        try:
            r = open_run(up) if up else None
        except FileNotFoundError:
            r = None
    for owner in roots:
        base = owner.artifact_dir
        if not base.is_dir():
            continue
        for p in sorted(base.rglob("*")):
            rel = p.relative_to(base)
            if "checkpoints" in rel.parts[:-1] or p.name.startswith("."):
                continue  # inside a checkpoints folder (one row for the folder) or a staging leftover
            if p.is_dir():
                if p.name != "checkpoints":
                    continue
                size = sum(f.stat().st_size for f in p.rglob("*") if f.is_file())
            elif p.is_file():
                size = p.stat().st_size
            else:
                continue
            rel = rel.as_posix()
            name = rel if owner is run else f"{owner.id}/{rel}"
            href = Path(os.path.relpath(p, run.report_dir)).as_posix()
            rows.append({"kind": "artifact", "name": name, "href": href, "bytes": size})
    return rows


def links_html(rows: list[dict]) -> str:
    """A table of `artifact_links` rows as HTML links (for IPython.display.HTML)."""
    body = "".join(
        f"<tr><td>{r['kind']}</td><td><a href='{html.escape(r['href'])}'>{html.escape(r['name'])}</a></td>"
        f"<td style='text-align:right'>{r['bytes'] / 1e6:.2f}</td></tr>"
        for r in rows
    )
    return f"<table><tr><th>kind</th><th>file</th><th>MB</th></tr>{body}</table>"


def rebuild_site() -> Path:
    """Rewrite every run's page and reports/index.html (after an upgrade, or when a run died mid-way)."""
    for info in list_runs():
        if info.get("status") != "unreadable":
            try:
                write_run_page(open_run(info["_dir"]))
            except (FileNotFoundError, ValueError, OSError):
                continue  # a half-written run folder: listed in the index, no page
    return write_index()
